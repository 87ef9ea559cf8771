"""Threads end to end under the sentry: pipes block one task, not the
sentry (a writer thread fills a pipe a reader drains); every task blocked
with nothing to wake them is a deadlock; a sleeping task is a timer, not a
deadlock; exit_group from a non-leader ends the process; the mutex-counter
benchmark gets the exact count with both C libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sentry.testing.build import Toolchain, build_c
from sentry.testing.guests import guest

pytestmark = pytest.mark.differential

PIPE_BETWEEN_THREADS = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static int p[2];
static char buf[300000];
static void *writer(void *a) {
    (void)a;
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (char)(i % 251);
    long n = write(p[1], buf, sizeof buf);   /* blocks several times */
    close(p[1]);
    return (void *)n;
}
int main(void) {
    pthread_t t; pipe(p);
    pthread_create(&t, NULL, writer, NULL);
    long total = 0, sum = 0; char c[4096]; long n;
    while ((n = read(p[0], c, sizeof c)) > 0) {
        for (long i = 0; i < n; i++) sum += (unsigned char)c[i];
        total += n;
    }
    void *w; pthread_join(t, &w);
    printf("wrote %ld read %ld sum %ld\n", (long)w, total, sum);
    return 0;
}
"""

THREADS_DEADLOCK = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static int p[2];
static void *reader(void *a) { (void)a; char c; read(p[0], &c, 1); return NULL; }
int main(void) {
    pthread_t t; pipe(p);
    pthread_create(&t, NULL, reader, NULL);
    printf("joining\n"); fflush(stdout);
    pthread_join(t, NULL);
    printf("never\n");
    return 0;
}
"""

SLEEPER = r"""
#include <pthread.h>
#include <stdio.h>
#include <time.h>
static void *sleeper(void *a) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return a;
}
int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, sleeper, (void *)(i + 1));
    long sum = 0;
    for (int i = 0; i < 3; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("slept %ld\n", sum);
    return 0;
}
"""

EXIT_GROUP_FROM_THREAD = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void *quitter(void *a) { (void)a; printf("bye\n"); fflush(stdout); exit(7); }
int main(void) {
    pthread_t t; int p[2]; pipe(p);
    pthread_create(&t, NULL, quitter, NULL);
    char c; read(p[0], &c, 1);   /* blocked until the process ends */
    return 0;
}
"""


ATOMICS_WITHOUT_SYSCALLS = r"""
#include <pthread.h>
#include <stdio.h>
static long counter;
static void *w(void *a) {
    for (long i = 0; i < 2000000; i++) __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    return a;
}
int main(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, w, NULL);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("%ld\n", counter);
    return 0;
}
"""


UNSYNCHRONISED_WRITERS = r"""
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void *w(void *a) {
    char line[32];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(line, sizeof line, "%c%d\n", (int)(long)a, i);
        write(1, line, (size_t)n);
    }
    return NULL;
}
int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, w, (void *)('a' + i));
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    return 0;
}
"""


def run(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentry.cli", str(program), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("toolchain", ["glibc", "musl"])
def test_pipe_between_threads_blocks_per_task(toolchain: Toolchain) -> None:
    r = run(build_c(PIPE_BETWEEN_THREADS, toolchain, name="thr_pipe"))
    expected = sum(i % 251 for i in range(300000))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"wrote 300000 read 300000 sum {expected}\n", "")


@pytest.mark.parametrize("toolchain", ["glibc", "musl"])
def test_all_threads_blocked_is_a_deadlock(toolchain: Toolchain) -> None:
    r = run(build_c(THREADS_DEADLOCK, toolchain, name="thr_deadlock"))
    assert r.returncode == 1
    assert r.stdout == "joining\n"
    assert r.stderr.startswith("run-guest: deadlock: every task is blocked (")
    assert "futex_wait" in r.stderr and "reads pipe:[" in r.stderr


@pytest.mark.parametrize("toolchain", ["glibc", "musl"])
def test_sleeping_threads_are_timers_not_deadlocks(toolchain: Toolchain) -> None:
    r = run(build_c(SLEEPER, toolchain, name="thr_sleeper"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "slept 6\n", "")


@pytest.mark.parametrize("toolchain", ["glibc", "musl"])
def test_exit_group_from_a_thread_ends_blocked_leader(toolchain: Toolchain) -> None:
    r = run(build_c(EXIT_GROUP_FROM_THREAD, toolchain, name="thr_exit_group"))
    assert (r.returncode, r.stdout, r.stderr) == (7, "bye\n", "")


def test_cpu_bound_atomics_are_exact() -> None:
    """Threads that make no syscalls are preempted by the CPU-time slice,
    between translation blocks: no ``lock``-prefixed instruction runs twice."""
    r = run(build_c(ATOMICS_WITHOUT_SYSCALLS, "musl", name="thr_atomics"))
    assert (r.returncode, r.stdout) == (0, "4000000\n")


def test_interleaving_at_syscalls_is_reproducible() -> None:
    """Slices are counted in syscalls, so even unsynchronised writers
    interleave the same way on every run (and they do interleave)."""
    exe = build_c(UNSYNCHRONISED_WRITERS, "musl", name="thr_writers")
    first, second = run(exe), run(exe)
    assert first.returncode == 0 and first.stdout == second.stdout
    lines = first.stdout.splitlines()
    assert sorted(lines) == sorted(f"{c}{i}" for c in "abc" for i in range(300))
    assert lines != [f"{c}{i}" for c in "abc" for i in range(300)]


def test_mutex_counter_bench_exact_count() -> None:
    r = run(guest("bench/mutex-counter"), "20000", "4")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "mutex-counter: 4 threads x 20000 increments = 80000\n"
