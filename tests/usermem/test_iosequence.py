"""IOSequence, IOSequenceReadWriter and IOReadWriter (ports of gVisor's IOSequence tests)."""

from __future__ import annotations

import io

from sentry.hostarch import ADDR_MAX, AddrRange, AddrRangeSeq
from sentry.linuxerr import EFAULT
from sentry.safemem import EOF, FromIOReader, FromIOWriter
from sentry.usermem import (
    DEFAULT_OPTS,
    ERR_END_OF_IO_SEQUENCE,
    BytesIO,
    IOOpts,
    IOReadWriter,
    IOSequence,
    bytes_io_sequence,
)

R = AddrRange


def test_copy_out() -> None:
    buf = bytearray(b"ABCD")
    s = bytes_io_sequence(buf)
    # Limited by len(src).
    assert s.copy_out(b"fo") == (2, None)
    assert buf == b"foCD"
    s = s.drop_first(2)
    assert s.num_bytes() == 2
    # Limited by s.num_bytes().
    assert s.copy_out(b"obar") == (2, None)
    assert buf == b"foob"
    s = s.drop_first(2)
    assert s.num_bytes() == 0


def test_copy_in() -> None:
    s = bytes_io_sequence(bytearray(b"foob"))
    dst = bytearray(b"ABCDEF")
    assert s.copy_in(memoryview(dst)[:2]) == (2, None)
    assert dst == b"foCDEF"
    s = s.drop_first(2)
    assert s.num_bytes() == 2
    assert s.copy_in(memoryview(dst)[2:]) == (2, None)
    assert dst == b"foobEF"
    s = s.drop_first(2)
    assert s.num_bytes() == 0


def test_zero_out() -> None:
    buf = bytearray(b"ABCD")
    s = bytes_io_sequence(buf)
    assert s.zero_out(2) == (2, None)
    assert buf == b"\0\0CD"
    s = s.drop_first(2)
    assert s.num_bytes() == 2
    assert s.zero_out(4) == (2, None)
    assert buf == b"\0\0\0\0"
    s = s.drop_first(2)
    assert s.num_bytes() == 0


def test_take_first() -> None:
    s = bytes_io_sequence(bytearray(b"foobar"))
    assert s.num_bytes() == 6
    s = s.take_first(3)
    assert s.num_bytes() == 3
    # take_first(n) with n > num_bytes() is a no-op.
    s = s.take_first(9)
    assert s.num_bytes() == 3
    dst = bytearray(3)
    assert s.copy_in(dst) == (3, None)
    assert dst == b"foo"
    s = s.drop_first(3)
    assert s.num_bytes() == 0


def test_zero_length_ranges_keep_sequence_non_empty() -> None:
    b = BytesIO(bytearray(4))
    s = IOSequence(b, AddrRangeSeq.from_ranges([R(0, 0), R(8, 8)]))
    assert s.num_bytes() == 0
    assert not s.addrs.is_empty()
    assert s.opts is DEFAULT_OPTS


def test_copy_out_from_and_copy_in_to() -> None:
    buf = bytearray(b"ABCDEFGH")
    s = IOSequence(BytesIO(buf), AddrRangeSeq.from_ranges([R(4, 7), R(1, 4)]), IOOpts())
    assert s.copy_out_from(FromIOReader(io.BytesIO(b"barfoo"))) == (6, None)
    assert buf == b"AfoobarH"
    out = io.BytesIO()
    assert s.copy_in_to(FromIOWriter(out)) == (6, None)
    assert out.getvalue() == b"barfoo"


def test_reader_returns_eof_once_exhausted() -> None:
    r = bytes_io_sequence(bytearray(b"foobar")).reader()
    dst = bytearray(4)
    assert r.read(dst) == (4, None)
    assert dst == b"foob"
    assert len(r) == 2
    assert r.read(dst) == (2, EOF), "EOF comes with the last bytes, like io.Reader"
    assert dst[:2] == b"ar"
    assert r.read(dst) == (0, EOF)


def test_writer_returns_end_of_io_sequence_on_short_write() -> None:
    buf = bytearray(5)
    w = bytes_io_sequence(buf).writer()
    assert w.write(b"abc") == (3, None)
    assert w.write(b"defg") == (2, ERR_END_OF_IO_SEQUENCE)
    assert buf == b"abcde"
    assert w.write(b"x") == (0, ERR_END_OF_IO_SEQUENCE)
    assert w.write(b"") == (0, None)


def test_reader_passes_io_errors() -> None:
    s = IOSequence(BytesIO(bytearray(b"ab")), AddrRangeSeq.of(R(0, 5)))
    dst = bytearray(5)
    assert s.reader().read(dst) == (2, EFAULT)


def test_io_read_writer() -> None:
    buf = bytearray(b"0123456789")
    rw = IOReadWriter(BytesIO(buf), 2)
    dst = bytearray(3)
    assert rw.read(dst) == (3, None)
    assert dst == b"234" and rw.addr == 5
    assert rw.write(b"ab") == (2, None)
    assert buf == b"01234ab789" and rw.addr == 7
    assert rw.write(b"xyzw") == (3, EFAULT)
    assert rw.addr == 10
    assert rw.read(dst) == (0, EFAULT)
    assert rw.addr == 10


class TopIO:
    """copy_in/copy_out of a BytesIO whose buffer is mapped at ``2**64 - len(buf)``."""

    def __init__(self, buf: bytearray) -> None:
        self.inner = BytesIO(buf)
        self.base = 2**64 - len(buf)

    def copy_in(self, addr: int, dst: bytearray, opts: IOOpts) -> tuple[int, Exception | None]:
        return self.inner.copy_in(addr - self.base, dst, opts)

    def copy_out(self, addr: int, src: bytes, opts: IOOpts) -> tuple[int, Exception | None]:
        return self.inner.copy_out(addr - self.base, src, opts)


def test_io_read_writer_refuses_wraparound() -> None:
    buf = bytearray(b"abcd")
    rw = IOReadWriter(TopIO(buf), 2**64 - 4)
    dst = bytearray(4)
    # Reading right up to 2**64 succeeds, and the cursor parks at ADDR_MAX.
    assert rw.read(dst) == (4, None)
    assert rw.addr == ADDR_MAX
    rw2 = IOReadWriter(TopIO(buf), 2**64 - 2)
    # A failing copy whose end would wrap reports EFAULT.
    assert rw2.write(b"xyz") == (2, EFAULT)
    assert rw2.addr == ADDR_MAX
    assert buf == b"abxy"
