"""The fd table: lowest free fd, close-on-exec flags, references (a
description is released when its last fd closes), dup2-style
replacement, close_on_exec."""

from __future__ import annotations

import pytest

from sentry.kernel.fd_table import FDTable
from sentry.linuxerr import EBADF, EMFILE
from sentry.vfs import FileDescription


class Counted(FileDescription):
    released = 0

    def release(self) -> None:
        Counted.released += 1


def test_lowest_free_and_cloexec() -> None:
    t = FDTable()
    f = Counted(0)
    assert [t.new_fd(f) for _ in range(3)] == [0, 1, 2]
    t.remove(1)
    assert t.new_fd(f, cloexec=True) == 1
    assert t.cloexec(1) and not t.cloexec(0)
    assert t.new_fd(f, min_fd=10) == 10
    assert t.lowest_free() == 3 and t.lowest_free(10) == 11
    t.set_cloexec(10, True)
    t.close_on_exec()
    assert t.fds() == [0, 2]


def test_references_and_replacement() -> None:
    Counted.released = 0
    t = FDTable()
    a, b = Counted(0), Counted(0)
    t.new_fd(a)
    t.new_fd(a)
    a.dec_ref()  # the creator's reference
    t.new_fd(b)
    b.dec_ref()
    t.set_fd(1, b)  # dup2(2, 1): a keeps fd 0
    assert Counted.released == 0
    t.remove(0)
    assert Counted.released == 1  # a's last fd
    t.remove(1)
    t.remove(2)
    assert Counted.released == 2


def test_errors() -> None:
    t = FDTable()
    t.limit = 2
    f = Counted(0)
    t.new_fd(f)
    t.new_fd(f)
    with pytest.raises(type(EMFILE)) as e:
        t.new_fd(f)
    assert e.value is EMFILE
    with pytest.raises(type(EBADF)) as e2:
        t.remove(5)
    assert e2.value is EBADF
    with pytest.raises(type(EBADF)):
        t.get(7)
    with pytest.raises(type(EBADF)):
        t.cloexec(7)
