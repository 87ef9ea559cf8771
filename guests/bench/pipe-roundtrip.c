/* pipe-roundtrip: one process writes SIZE bytes into a pipe and reads them
 * back, N times. The pipe is enlarged to SIZE with F_SETPIPE_SZ when
 * possible; otherwise the transfer goes in chunks of the pipe's capacity.
 * usage: pipe-roundtrip [SIZE=65536] [N=10000]   (1 MiB case: 1048576 1000) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    long size = arg_count(argc, argv, 1, 65536);
    long n = arg_count(argc, argv, 2, 10000);
    int p[2];
    if (pipe(p) != 0)
        DIE("pipe");
    long cap = fcntl(p[1], F_GETPIPE_SZ);
    if (cap < size) {
        long got = fcntl(p[1], F_SETPIPE_SZ, (int)size);
        if (got > 0)
            cap = got;
    }
    if (cap <= 0)
        cap = 4096;
    long chunk = cap < size ? cap : size;
    char *out = malloc(size), *in = malloc(size);
    if (!out || !in)
        DIE("malloc");
    for (long i = 0; i < size; i++)
        out[i] = (char)(i * 7 + 1);
    for (long it = 0; it < n; it++) {
        for (long off = 0; off < size; off += chunk) {
            long len = size - off < chunk ? size - off : chunk;
            for (long done = 0; done < len;) {
                ssize_t w = write(p[1], out + off + done, len - done);
                if (w <= 0)
                    DIE("write");
                done += w;
            }
            for (long done = 0; done < len;) {
                ssize_t r = read(p[0], in + off + done, len - done);
                if (r <= 0)
                    DIE("read");
                done += r;
            }
        }
    }
    if (memcmp(in, out, size) != 0)
        DIE("data mismatch");
    printf("pipe-roundtrip: %ld round trips of %ld bytes\n", n, size);
    return 0;
}
