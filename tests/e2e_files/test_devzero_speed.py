"""/dev/zero end to end: a guest's 1 MiB reads come back zeroed and
complete (the device zeroes guest memory in place). Its speed is measured
by scripts/bench, never asserted here: the machines are noisy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sentry.testing.guests import guest

pytestmark = pytest.mark.differential

MIB = 1 << 20


def test_devzero_1mib_reads_complete() -> None:
    n = 64
    prog = str(guest("bench/devzero-read"))
    r = subprocess.run([sys.executable, "-m", "sentry.cli", prog, str(n)], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"devzero-read: {n} reads of {MIB} bytes\n".encode()
