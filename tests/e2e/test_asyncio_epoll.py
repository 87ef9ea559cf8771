"""A CPython asyncio event loop on the sentry's epoll, compared with a
native run: pipe transports, stdin (a host pipe, which epoll polls),
call_later timers, wait_for timeouts, a worker thread waking the loop and
a bare selectors.EpollSelector (tests/e2e/asyncio_loop.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.testing.harness import compare

PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("asyncio_loop.py")


@pytest.mark.skipif(not Path(PYTHON).exists(), reason="needs Debian's python3")
def test_asyncio_loop_matches_native() -> None:
    stdin = "".join(f"{i}\n" for i in range(1, 5001)).encode()
    c = compare(PYTHON, ["-S", str(SCRIPT)], stdin=stdin)
    assert c.agree, c.report()
    assert b"done" in c.sentry.stdout
