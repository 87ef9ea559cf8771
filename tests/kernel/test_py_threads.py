"""Debian's python3 with threads, under the sentry and natively.

``py_threads_queue.py`` (4 workers draining a ``queue.Queue``) and
``py_threads_lock.py`` (4 threads incrementing under one
``threading.Lock``) failed in 20-30% of runs before preemption stopped
landing inside instructions (double frees, SIGSEGV, false deadlocks: the
GIL's timed waits armed Unicorn's timer, whose stops re-ran CPython's
reference-count increments). Each program runs ``SENTRY_STRESS_RUNS``
times (default 5, a CI-sized count; 100 by hand) and must print exactly
what it prints natively every time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentry.testing.harness import compare

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3"),
]

HERE = Path(__file__).parent
RUNS = int(os.environ.get("SENTRY_STRESS_RUNS", "5"))


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("script", ["py_threads_queue.py", "py_threads_lock.py"])
def test_python_threads_agree_with_native(script: str, run: int) -> None:
    c = compare("/usr/bin/python3", ["-S", str(HERE / script)], compare_stderr=True, sentry_timeout=120)
    assert c.agree, c.report()
