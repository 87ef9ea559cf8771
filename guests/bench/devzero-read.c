/* devzero-read: N reads of 1 MiB from /dev/zero into one buffer.
 * usage: devzero-read [N=1000] */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#define SIZE (1 << 20)

int main(int argc, char **argv)
{
    long n = arg_count(argc, argv, 1, 1000);
    char *buf = malloc(SIZE);
    if (!buf)
        DIE("malloc");
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0)
        DIE("open /dev/zero");
    for (long i = 0; i < n; i++) {
        buf[0] = 1;
        if (read(fd, buf, SIZE) != SIZE || buf[0] != 0)
            DIE("read");
    }
    printf("devzero-read: %ld reads of %d bytes\n", n, SIZE);
    return 0;
}
