"""fs_more.c natively and under the sentry (both C libraries): statx,
the access/readlink/chmod/utimes families, rename flags, links,
sendfile, legacy getdents, record locks, ioctls, truncate/fsync, file
mmap, /dev/std* and /proc/self/fd. stdout and exit status must match."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.testing.harness import compare

pytestmark = pytest.mark.differential

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("toolchain", ["musl", "glibc"])
def test_fs_more_matches_native(toolchain: str) -> None:
    c = compare(HERE / "fs_more.c", toolchain=toolchain, stdin=b"input from stdin\n")  # type: ignore[arg-type]
    assert c.agree, c.report()
