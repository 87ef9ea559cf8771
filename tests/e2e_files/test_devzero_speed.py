"""/dev/zero end to end: 1 MiB reads by a guest must run at >= 2 GB/s
(the device zeroes guest memory in place). Measured as the difference of
two runs so run-guest's start-up cost cancels out."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from sentry.testing.guests import guest

pytestmark = pytest.mark.differential

MIB = 1 << 20


def _time(n: int) -> float:
    prog = str(guest("bench/devzero-read"))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sentry.cli", prog, str(n)], capture_output=True, timeout=300)
    dt = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"devzero-read: {n} reads of {MIB} bytes\n".encode()
    return dt


def test_devzero_1mib_reads_at_least_2gb_per_second() -> None:
    small, big = 10, 3010
    base = min(_time(small) for _ in range(2))
    full = min(_time(big) for _ in range(2))
    rate = (big - small) * MIB / max(full - base, 1e-3)
    assert rate >= 2e9, f"{rate / 1e9:.2f} GB/s"
