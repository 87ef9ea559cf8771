"""The harness catches a real divergence in the real sentry: a syscall
handler patched to return a wrong errno (issue 6's self-test). The patched
sentry is an ordinary run-guest started through a tiny wrapper script."""

from __future__ import annotations

import sys
from pathlib import Path

from sentry.testing import compare

PROGRAM = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    printf("getpid_positive: %d\n", getpid() > 0);
    errno = 0;
    long r = write(-1, "x", 1);
    printf("write_badfd: ret=%ld errno=%s\n", r, errno == EBADF ? "EBADF" : strerror(errno));
    printf("after: ok\n");
    return 0;
}
"""

WRAPPER = """
import sys
from sentry.linuxerr import EINVAL
from sentry.syscalls.linux import sys_read_write

def wrong_errno(*_args):
    raise EINVAL  # Linux says EBADF

sys_read_write.sys_write = wrong_errno
from sentry.cli import main
sys.exit(main())
"""


def test_patched_handler_is_caught_and_the_line_named(tmp_path: Path) -> None:
    wrapper = tmp_path / "patched_run_guest.py"
    wrapper.write_text(WRAPPER)
    c = compare(PROGRAM, [], toolchain="musl", runner=[sys.executable, str(wrapper)])
    assert not c.agree
    assert "stdout line 2" in c.diff
    assert "native: 'write_badfd: ret=-1 errno=EBADF'" in c.diff
    assert "sentry: 'write_badfd: ret=-1 errno=Invalid argument'" in c.diff


def test_unpatched_sentry_agrees() -> None:
    c = compare(PROGRAM, [], toolchain="musl")
    assert c.agree, c.report()
