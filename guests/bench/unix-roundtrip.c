/* unix-roundtrip: one process writes SIZE bytes into an AF_UNIX stream
 * socketpair and reads them back from the other end, N times. SO_SNDBUF
 * is raised to SIZE so a whole message fits; otherwise the transfer goes
 * in chunks that do.
 * usage: unix-roundtrip [SIZE=1048576] [N=1000] */
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    long size = arg_count(argc, argv, 1, 1048576);
    long n = arg_count(argc, argv, 2, 1000);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        DIE("socketpair");
    int want = (int)size;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    long chunk = 65536;  /* what always fits in a default SO_SNDBUF */
    int got = 0;
    socklen_t len = sizeof got;
    if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &got, &len) == 0 && got / 4 > chunk)
        chunk = got / 4;
    if (chunk > size)
        chunk = size;
    char *out = malloc(size), *in = malloc(size);
    if (!out || !in)
        DIE("malloc");
    for (long i = 0; i < size; i++)
        out[i] = (char)(i * 7 + 1);
    for (long it = 0; it < n; it++) {
        for (long off = 0; off < size; off += chunk) {
            long len = size - off < chunk ? size - off : chunk;
            for (long done = 0; done < len;) {
                ssize_t w = write(sv[0], out + off + done, len - done);
                if (w <= 0)
                    DIE("write");
                done += w;
            }
            for (long done = 0; done < len;) {
                ssize_t r = read(sv[1], in + off + done, len - done);
                if (r <= 0)
                    DIE("read");
                done += r;
            }
        }
    }
    if (memcmp(in, out, size) != 0)
        DIE("data mismatch");
    printf("unix-roundtrip: %ld round trips of %ld bytes\n", n, size);
    return 0;
}
