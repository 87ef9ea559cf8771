/* Shared helpers for the benchmark guests (static musl). */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>

/* argv[i] as a positive count, or def when absent. */
static inline long arg_count(int argc, char **argv, int i, long def)
{
    if (argc <= i)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 0);
    if (*end != '\0' || v <= 0) {
        fprintf(stderr, "%s: bad count %s\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

#define DIE(what) do { perror(what); exit(1); } while (0)

#endif
