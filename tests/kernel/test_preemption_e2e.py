"""Preemption of threads that make no syscalls, against native runs.

Four threads hammer shared counters with ``lock``-prefixed instructions
(``lock xadd`` through ``__atomic_fetch_add``, a ``lock cmpxchg`` loop) and
a private counter with a plain ``add`` to memory, never entering the
kernel: the sentry can only switch between them with its time slice, and
every switch must leave the totals exact (Unicorn's own timed stop re-ran
such instructions). Four threads pass a baton by spinning on a shared
word: the sentry must preempt the spinner for the holder to run, or the
program never ends. Both print only what the native run prints.
"""

from __future__ import annotations

import pytest

from sentry.testing.harness import Differential

pytestmark = pytest.mark.differential

LOCKED_COUNTERS = r"""
#include <pthread.h>
#include <stdio.h>
#define THREADS 4
#define ITERS 1500000L
static long xadd_total, cas_total;
static volatile long mine[THREADS][8];   /* one cache line each */
static void *worker(void *arg) {
    long k = (long)arg;
    for (long i = 0; i < ITERS; i++) {
        __atomic_fetch_add(&xadd_total, 1, __ATOMIC_SEQ_CST);      /* lock xadd */
        long old = __atomic_load_n(&cas_total, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas_total, &old, old + 1, 0,
                                            __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            ;                                                      /* lock cmpxchg */
        mine[k][0] += 1;                                           /* add [m], 1 */
    }
    return NULL;
}
int main(void) {
    pthread_t t[THREADS];
    for (long k = 0; k < THREADS; k++) pthread_create(&t[k], NULL, worker, (void *)k);
    for (int k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    long own = 0;
    for (int k = 0; k < THREADS; k++) own += mine[k][0];
    printf("xadd %ld cas %ld own %ld\n", xadd_total, cas_total, own);
    return 0;
}
"""

SPIN_BATON = r"""
#include <pthread.h>
#include <stdio.h>
#define THREADS 4
#define ROUNDS 5
static int baton;        /* whose turn: 0..THREADS-1 */
static long passes;
static void *runner(void *arg) {
    int me = (int)(long)arg;
    for (int r = 0; r < ROUNDS; r++) {
        while (__atomic_load_n(&baton, __ATOMIC_ACQUIRE) != me)
            ;            /* no syscall: only preemption lets the holder run */
        passes++;
        __atomic_store_n(&baton, (me + 1) % THREADS, __ATOMIC_RELEASE);
    }
    return NULL;
}
int main(void) {
    pthread_t t[THREADS];
    for (long k = 0; k < THREADS; k++) pthread_create(&t[k], NULL, runner, (void *)k);
    for (int k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    printf("passes %ld baton %d\n", passes, baton);
    return 0;
}
"""


def test_locked_counters_exact_across_preemption(differential: Differential) -> None:
    differential.check(LOCKED_COUNTERS, toolchains=("glibc", "musl"), sentry_timeout=120)


def test_spin_wait_on_a_flag_finishes(differential: Differential) -> None:
    differential.check(SPIN_BATON, toolchains=("glibc", "musl"), sentry_timeout=120)
