/* cpu-loop: integer mixing with no syscalls; prints the result so the loop
 * cannot be optimised away.
 * usage: cpu-loop [N=600000000] */
#include <stdint.h>

#include "bench.h"

int main(int argc, char **argv)
{
    long n = arg_count(argc, argv, 1, 600000000);
    uint64_t x = 0x9e3779b97f4a7c15ull, acc = 0;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x * 0xbf58476d1ce4e5b9ull + (uint64_t)i;
    }
    printf("cpu-loop: %ld iterations, result %016llx\n", n, (unsigned long long)acc);
    return 0;
}
