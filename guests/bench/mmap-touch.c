/* mmap-touch: map MIB MiB of fresh anonymous memory, write one byte per
 * 4 KiB page, unmap; N times.
 * usage: mmap-touch [MIB=256] [N=1] */
#include <sys/mman.h>

#include "bench.h"

int main(int argc, char **argv)
{
    long mib = arg_count(argc, argv, 1, 256);
    long n = arg_count(argc, argv, 2, 1);
    size_t len = (size_t)mib << 20;
    long pages = 0;
    for (long it = 0; it < n; it++) {
        volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            DIE("mmap");
        for (size_t off = 0; off < len; off += 4096) {
            p[off] = 1;
            pages++;
        }
        if (munmap((void *)p, len) != 0)
            DIE("munmap");
    }
    printf("mmap-touch: %ld pages touched in %ld mappings of %ld MiB\n", pages, n, mib);
    return 0;
}
