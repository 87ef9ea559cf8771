"""Pipes end to end: a single-threaded guest that blocks on a pipe nobody
else can serve is reported as a deadlock (one line, status 1) instead of
hanging; SIGPIPE ends a writer without readers unless ignored, as
natively."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sentry.testing.build import build_c

pytestmark = pytest.mark.differential

BLOCKED_READ = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int p[2]; pipe(p);
    printf("before\n"); fflush(stdout);
    char c; long n = read(p[0], &c, 1);
    printf("after %ld\n", n);
    return 0;
}
"""

BLOCKED_WRITE = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char big[100000];
int main(void) {
    int p[2]; pipe(p);
    memset(big, 'x', sizeof big);
    long n = write(p[1], big, 1000);
    printf("first %ld\n", n); fflush(stdout);
    n = write(p[1], big, sizeof big);   /* 64 KiB fit, then it blocks forever */
    printf("second %ld\n", n);
    return 0;
}
"""

SIGPIPE_WRITER = r"""
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int p[2]; pipe(p); close(p[0]);
    if (argc > 1) signal(SIGPIPE, SIG_IGN);
    long n = write(p[1], "x", 1);
    printf("write %ld %s\n", n, n < 0 ? strerror(errno) : "");
    return 0;
}
"""


def run(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentry.cli", str(program), *args], capture_output=True, text=True, timeout=120
    )


def test_blocked_read_is_a_deadlock() -> None:
    r = run(build_c(BLOCKED_READ, "musl", name="pipe_blocked_read"))
    assert r.returncode == 1
    assert r.stdout == "before\n"
    assert r.stderr.startswith("run-guest: deadlock: every task is blocked (")
    assert "reads pipe:[" in r.stderr


def test_blocked_write_is_a_deadlock_after_filling_the_pipe() -> None:
    r = run(build_c(BLOCKED_WRITE, "musl", name="pipe_blocked_write"))
    assert r.returncode == 1
    assert r.stdout == "first 1000\n"
    assert "run-guest: deadlock: every task is blocked (" in r.stderr and "writes pipe:[" in r.stderr


@pytest.mark.parametrize("args", [[], ["ignore"]], ids=["default", "ignored"])
def test_sigpipe_matches_native(args: list[str]) -> None:
    prog = build_c(SIGPIPE_WRITER, "musl", name="pipe_sigpipe")
    native = subprocess.run([str(prog), *args], capture_output=True, text=True)
    r = run(prog, *args)
    status = 128 - native.returncode if native.returncode < 0 else native.returncode
    assert r.returncode == status
    assert r.stdout == native.stdout
