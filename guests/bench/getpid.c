/* getpid: N raw getpid syscalls (syscall(SYS_getpid), so no libc caching).
 * usage: getpid [N=1000000] */
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    long n = arg_count(argc, argv, 1, 1000000);
    long first = syscall(SYS_getpid);
    for (long i = 0; i < n; i++) {
        if (syscall(SYS_getpid) != first)
            DIE("getpid changed");
    }
    printf("getpid: %ld calls\n", n);
    return 0;
}
