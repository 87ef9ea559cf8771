"""The memory devices with BytesIO-backed IOSequences (Linux
drivers/char/mem.c): /dev/null, /dev/zero, /dev/full, /dev/random,
/dev/urandom, and the /dev tree itself."""

from __future__ import annotations

import os

import pytest

from sentry.abi.fcntl import O_RDONLY, O_RDWR, S_IFCHR, S_IFLNK, SEEK_END, SEEK_SET
from sentry.fsimpl.dev import FullFile, NullFile, RandomFile, ZeroFile, new_devfs
from sentry.hostarch import AddrRange, AddrRangeSeq
from sentry.linuxerr import EFAULT, ENOSPC, ENOTTY
from sentry.usermem import BytesIO, IOSequence, bytes_io_sequence


def seq_past_end(buf: bytearray, length: int) -> IOSequence:
    return IOSequence(BytesIO(buf), AddrRangeSeq.of(AddrRange(0, length)))


def test_null_reads_eof_and_writes_without_touching_memory() -> None:
    f = NullFile(O_RDWR, None)
    assert f.read(bytes_io_sequence(bytearray(10)), -1) == (0, None)
    # 1 GiB "buffer" that does not exist: /dev/null never reads it.
    assert f.write(seq_past_end(bytearray(0), 1 << 30), -1) == (1 << 30, None)
    assert f.write(seq_past_end(bytearray(0), 100), 1000) == (100, None)
    assert f.seek(123, SEEK_SET) == 0 and f.seek(0, SEEK_END) == 0
    assert f.seekable


def test_zero_read_zeroes_in_place() -> None:
    f = ZeroFile(O_RDONLY, None)
    buf = bytearray(b"x" * 8192)
    assert f.read(bytes_io_sequence(buf), -1) == (8192, None)
    assert buf == bytes(8192)
    assert f.read(bytes_io_sequence(bytearray()), -1) == (0, None)


def test_zero_read_partial_and_fault() -> None:
    f = ZeroFile(O_RDONLY, None)
    buf = bytearray(b"x" * 10)
    n, err = f.read(seq_past_end(buf, 100), -1)
    assert n == 10 and err is EFAULT and buf == bytes(10)
    n, err = f.read(seq_past_end(bytearray(), 10), -1)
    assert (n, err) == (0, EFAULT)


def test_zero_vectored_read() -> None:
    f = ZeroFile(O_RDONLY, None)
    buf = bytearray(b"y" * 200)
    seq = IOSequence(BytesIO(buf), AddrRangeSeq.from_ranges([AddrRange(0, 5), AddrRange(100, 107)]))
    assert f.read(seq, -1) == (12, None)
    assert buf[:5] == bytes(5) and buf[100:107] == bytes(7) and buf[5:100] == b"y" * 95


def test_full_refuses_writes_and_reads_zeros() -> None:
    f = FullFile(O_RDWR, None)
    assert f.write(bytes_io_sequence(bytearray(10)), -1) == (0, ENOSPC)
    assert f.write(bytes_io_sequence(bytearray()), -1) == (0, ENOSPC)
    buf = bytearray(b"z" * 16)
    assert f.read(bytes_io_sequence(buf), -1) == (16, None)
    assert buf == bytes(16)


def test_random_fills_buffer() -> None:
    f = RandomFile(O_RDWR, None)
    buf = bytearray(64)
    assert f.read(bytes_io_sequence(buf), -1) == (64, None)
    assert buf != bytes(64)
    assert f.read(seq_past_end(bytearray(), 16), -1) == (0, EFAULT)
    assert f.write(bytes_io_sequence(bytearray(b"entropy")), -1) == (7, None)


def test_devices_have_no_ioctls() -> None:
    with pytest.raises(type(ENOTTY)):
        NullFile(O_RDWR, None).ioctl(0x5401, 0)


def test_devfs_nodes() -> None:
    dev = new_devfs()
    names = {e.name for e in dev.list_entries(None)}  # type: ignore[arg-type]
    assert {b"null", b"zero", b"full", b"random", b"urandom", b"stdin", b"stdout", b"stderr", b"fd"} <= names
    for name, minor in ((b"null", 3), (b"zero", 5), (b"full", 7), (b"random", 8), (b"urandom", 9)):
        st = dev.lookup(name, None).stat()  # type: ignore[arg-type]
        assert st.st_mode == S_IFCHR | 0o666
        assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, minor)
    link = dev.lookup(b"stdout", None)  # type: ignore[arg-type]
    assert link.stat().st_mode & 0o170000 == S_IFLNK
    assert link.readlink(None) == b"/proc/self/fd/1"  # type: ignore[arg-type]
    null = dev.lookup(b"null", None).open(O_RDWR, None)  # type: ignore[arg-type]
    assert isinstance(null, NullFile) and null.status_flags() == O_RDWR
