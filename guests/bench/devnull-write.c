/* devnull-write: N writes of 64 bytes to /dev/null.
 * usage: devnull-write [N=1000000] */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    long n = arg_count(argc, argv, 1, 1000000);
    char buf[64];
    memset(buf, 'x', sizeof buf);
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        DIE("open /dev/null");
    for (long i = 0; i < n; i++) {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            DIE("write");
    }
    printf("devnull-write: %ld writes of %zu bytes\n", n, sizeof buf);
    return 0;
}
