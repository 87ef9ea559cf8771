"""usermem.BytesIO: ports of gVisor's usermem_test.go BytesIO tests and rangeCheck edges."""

from __future__ import annotations

import io
import struct

import pytest

from sentry.hostarch import ADDR_MAX, AddrRange, AddrRangeSeq
from sentry.linuxerr import EFAULT, EINVAL, EIO
from sentry.safemem import (
    EOF,
    Block,
    BlockSeq,
    BlockSeqReader,
    FromIOReader,
    FromIOWriter,
    ReaderFunc,
    WriterFunc,
)
from sentry.usermem import DEFAULT_OPTS, IO, BytesIO, IOOpts, bytes_io_sequence

R = AddrRange


def new_bytes_io(s: bytes) -> BytesIO:
    return BytesIO(bytearray(s))


def test_implements_io_protocol() -> None:
    assert isinstance(new_bytes_io(b""), IO)
    assert DEFAULT_OPTS == IOOpts() == IOOpts(ignore_permissions=False)


def test_copy_out_success() -> None:
    b = new_bytes_io(b"ABCDE")
    assert b.copy_out(1, b"foo", IOOpts()) == (3, None)
    assert b.bytes == b"AfooE"


def test_copy_out_failure() -> None:
    b = new_bytes_io(b"ABC")
    assert b.copy_out(1, b"foo", IOOpts()) == (2, EFAULT)
    assert b.bytes == b"Afo"


def test_copy_in_success() -> None:
    b = new_bytes_io(b"AfooE")
    dst = bytearray(3)
    assert b.copy_in(1, dst, IOOpts()) == (3, None)
    assert dst == b"foo"


def test_copy_in_failure() -> None:
    b = new_bytes_io(b"Afo")
    dst = bytearray(3)
    assert b.copy_in(1, dst, IOOpts()) == (2, EFAULT)
    assert dst == b"fo\0"


def test_zero_out_success() -> None:
    b = new_bytes_io(b"ABCD")
    assert b.zero_out(1, 2, IOOpts()) == (2, None)
    assert b.bytes == b"A\0\0D"


def test_zero_out_failure() -> None:
    b = new_bytes_io(b"ABC")
    assert b.zero_out(1, 3, IOOpts()) == (2, EFAULT)
    assert b.bytes == b"A\0\0"


def test_copy_out_from_success() -> None:
    b = new_bytes_io(b"ABCDEFGH")
    ars = AddrRangeSeq.from_ranges([R(4, 7), R(1, 4)])
    assert b.copy_out_from(ars, FromIOReader(io.BytesIO(b"barfoo")), IOOpts()) == (6, None)
    assert b.bytes == b"AfoobarH"


def test_copy_out_from_failure() -> None:
    b = new_bytes_io(b"ABCDE")
    ars = AddrRangeSeq.from_ranges([R(1, 4), R(4, 7)])
    assert b.copy_out_from(ars, FromIOReader(io.BytesIO(b"foobar")), IOOpts()) == (4, EFAULT)
    assert b.bytes == b"Afoob"


def test_copy_in_to_success() -> None:
    b = new_bytes_io(b"AfoobarH")
    dst = io.BytesIO()
    ars = AddrRangeSeq.from_ranges([R(4, 7), R(1, 4)])
    assert b.copy_in_to(ars, FromIOWriter(dst), IOOpts()) == (6, None)
    assert dst.getvalue() == b"barfoo"


def test_copy_in_to_failure() -> None:
    b = new_bytes_io(b"Afoob")
    dst = io.BytesIO()
    ars = AddrRangeSeq.from_ranges([R(1, 4), R(4, 7)])
    assert b.copy_in_to(ars, FromIOWriter(dst), IOOpts()) == (4, EFAULT)
    assert dst.getvalue() == b"foob"


@pytest.mark.parametrize(
    ("addr", "length", "want"),
    [
        (0, 0, (0, None)),
        (100, 0, (0, None)),  # zero length is fine anywhere
        (ADDR_MAX, 0, (0, None)),
        (0, -1, (0, EINVAL)),
        (4, 1, (0, EFAULT)),  # start at the end
        (5, 1, (0, EFAULT)),  # start beyond the end
        (2, 5, (2, EFAULT)),  # runs past the end
        (0, 4, (4, None)),
        (3, 2**64, (1, EFAULT)),  # end past 2**64
    ],
)
def test_range_check(addr: int, length: int, want: tuple[int, Exception | None]) -> None:
    assert new_bytes_io(b"ABCD")._range_check(addr, length) == want


def test_zero_length_and_out_of_range_addresses() -> None:
    b = new_bytes_io(b"ABCD")
    assert b.copy_out(10, b"", IOOpts()) == (0, None)
    assert b.copy_in(10, bytearray(), IOOpts()) == (0, None)
    assert b.copy_out(10, b"x", IOOpts()) == (0, EFAULT)
    assert b.copy_in(ADDR_MAX, bytearray(1), IOOpts()) == (0, EFAULT)
    assert b.zero_out(4, 1, IOOpts()) == (0, EFAULT)
    assert b.zero_out(0, -1, IOOpts()) == (0, EINVAL)
    assert b.bytes == b"ABCD"


def test_copy_accepts_any_buffer() -> None:
    b = new_bytes_io(b"ABCDEFGH")
    assert b.copy_out(0, memoryview(b"xy"), IOOpts()) == (2, None)
    dst = bytearray(8)
    assert b.copy_in(0, memoryview(dst)[2:6], IOOpts()) == (4, None)
    assert dst == b"\0\0xyCD\0\0"


def test_copy_out_from_calls_reader_once_and_passes_errors_through() -> None:
    b = new_bytes_io(b"ABCDEFGH")
    calls: list[bytes] = []

    def read(dsts: BlockSeq) -> tuple[int, Exception | None]:
        calls.append(dsts.to_bytes())
        return 1, EIO

    ars = AddrRangeSeq.from_ranges([R(0, 2), R(5, 5), R(6, 10)])
    assert b.copy_out_from(ars, ReaderFunc(read), IOOpts()) == (1, EIO)
    assert calls == [b"ABGH"], "one call with the in-range prefix of every range"


def test_copy_out_from_partial_read_without_error() -> None:
    b = new_bytes_io(b"ABCDEFGH")
    r = BlockSeqReader(BlockSeq.of(Block(b"xyz")))
    ars = AddrRangeSeq.from_ranges([R(0, 2), R(4, 8)])
    # The reader reports (3, EOF): EOF passes through unchanged.
    assert b.copy_out_from(ars, r, IOOpts()) == (3, EOF)
    assert b.bytes == b"xyCDzFGH"


def test_copy_out_from_range_error_stops_at_first_bad_range() -> None:
    b = new_bytes_io(b"ABCDEFGH")
    seen: list[int] = []

    def write(srcs: BlockSeq) -> tuple[int, Exception | None]:
        seen.append(srcs.num_bytes())
        return srcs.num_bytes(), None

    ars = AddrRangeSeq.from_ranges([R(6, 10), R(0, 4)])
    assert b.copy_in_to(ars, WriterFunc(write), IOOpts()) == (2, EFAULT)
    assert seen == [2]
    # Nothing in range: the writer is still called, once, with no blocks.
    assert b.copy_in_to(AddrRangeSeq.of(R(20, 24)), WriterFunc(write), IOOpts()) == (0, EFAULT)
    assert seen == [2, 0]
    assert b.copy_in_to(AddrRangeSeq(), WriterFunc(write), IOOpts()) == (0, None)


def test_atomics() -> None:
    b = BytesIO(bytearray(struct.pack("<II", 5, 0xFFFFFFFF)))
    assert b.load_uint32(0, IOOpts()) == (5, None)
    assert b.swap_uint32(0, 9, IOOpts()) == (5, None)
    assert b.compare_and_swap_uint32(0, 1, 2, IOOpts()) == (9, None)
    assert b.compare_and_swap_uint32(0, 9, 2, IOOpts()) == (9, None)
    assert b.load_uint32(0, IOOpts()) == (2, None)
    assert b.load_uint32(4, IOOpts()) == (0xFFFFFFFF, None)
    # All four bytes must be in range.
    assert b.load_uint32(5, IOOpts()) == (0, EFAULT)
    assert b.swap_uint32(6, 1, IOOpts()) == (0, EFAULT)
    assert b.compare_and_swap_uint32(8, 0, 1, IOOpts()) == (0, EFAULT)
    assert b.bytes == struct.pack("<II", 2, 0xFFFFFFFF)


def test_bytes_io_sequence() -> None:
    buf = bytearray(b"hello")
    s = bytes_io_sequence(buf)
    assert s.num_bytes() == 5
    assert list(s.addrs) == [R(0, 5)]
    assert s.copy_out(b"J") == (1, None)
    assert buf == b"Jello"
