"""kill(-1, sig) under the sentry: every process but init (the guest's
first process, pid 1) and the caller's own (Linux kill_something_info).
Not compared natively: on the host, kill(-1) reaches every process of
the user."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = (
    "sleep 30 & victim=$!; "
    "(kill -TERM -1; echo caller-alive) ; "
    "wait $victim; echo victim=$?; echo init-alive"
)


def test_kill_minus_one_spares_init_and_caller() -> None:
    p = subprocess.run([sys.executable, "-m", "sentry.cli", "/bin/busybox", "sh", "-c", SCRIPT],
                       capture_output=True, timeout=120, check=False)
    assert p.returncode == 0, p
    assert p.stdout == b"caller-alive\nvictim=143\ninit-alive\n"
