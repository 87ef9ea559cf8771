"""handle_io_error, the rule that turns a transfer's (count, error) into a
read/write result: a partial count wins over the "partial" errors, EOF is
no error, and an error with nothing transferred is the result: never a
0 the guest would read as end of file."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sentry.linuxerr import EBADF, EFAULT, EINTR, EPIPE
from sentry.safemem import EOF
from sentry.syscalls.linux.sys_read_write import handle_io_error, read_file


def test_counts_and_eof() -> None:
    assert handle_io_error(7, None) == 7
    assert handle_io_error(0, EOF) == 0
    assert handle_io_error(3, EOF) == 3


@pytest.mark.parametrize("err", [EFAULT, EINTR, EPIPE])
def test_partial_count_wins_over_partial_errors(err: Exception) -> None:
    assert handle_io_error(5, err) == 5
    with pytest.raises(type(err)) as info:
        handle_io_error(0, err)
    assert info.value is err


def test_other_errno_is_raised_even_after_a_partial_transfer() -> None:
    with pytest.raises(type(EBADF)) as info:
        handle_io_error(4, EBADF)
    assert info.value is EBADF


def test_non_errno_error_with_nothing_transferred_is_raised_not_eof() -> None:
    """A sentry bug (any exception that is not an Errno) reported by a file
    reaches the dispatcher, which logs it and returns EIO."""
    bug = RuntimeError("a file implementation bug")
    with pytest.raises(RuntimeError) as info:
        handle_io_error(0, bug)
    assert info.value is bug
    assert handle_io_error(2, bug) == 2  # the partial count still wins


def test_read_file_raises_a_non_errno_error() -> None:
    bug = OSError("an unconverted host error")
    f = SimpleNamespace(readable=True, nonblocking=True, terminal=None, read=lambda dst, off: (0, bug))
    with pytest.raises(OSError):
        read_file(None, f, None, -1)  # type: ignore[arg-type]
