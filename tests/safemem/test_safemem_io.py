"""safemem Reader/Writer adapters: ports of gVisor's io_test.go and more."""

from __future__ import annotations

import io

from sentry.linuxerr import EIO
from sentry.safemem import (
    EOF,
    ERR_END_OF_BLOCK_SEQ,
    Block,
    BlockSeq,
    BlockSeqReader,
    BlockSeqWriter,
    EndOfFile,
    FromIOReader,
    FromIOWriter,
    FromVecReaderFunc,
    FromVecWriterFunc,
    Reader,
    ReaderFunc,
    Writer,
    WriterFunc,
    read_full_to_blocks,
    write_full_from_blocks,
)


def make_blocks(*bufs: bytes | bytearray) -> list[Block]:
    return [Block(b) for b in bufs]


def test_from_io_reader_full_read() -> None:
    r = FromIOReader(io.BytesIO(b"foobar"))
    dsts = [bytearray(3), bytearray(3)]
    n, err = r.read_to_blocks(BlockSeq.from_blocks(make_blocks(*dsts)))
    assert (n, err) == (6, None)
    assert dsts == [b"foo", b"bar"]


def test_from_io_reader_partial_read() -> None:
    # io.BytesIO.readinto returns a short count (no error) at the end, like
    # gVisor's eofHidingReader: FromIOReader stops after the short read.
    r = FromIOReader(io.BytesIO(b"foob"))
    dsts = [bytearray(3), bytearray(3)]
    n, err = r.read_to_blocks(BlockSeq.from_blocks(make_blocks(*dsts)))
    assert (n, err) == (4, None)
    assert dsts == [b"foo", b"b\0\0"]


class SingleByteReader:
    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readinto(self, buf: memoryview) -> int:
        return self.inner.readinto(buf[:1])


def test_single_byte_reader() -> None:
    r = FromIOReader(SingleByteReader(b"foobar"))
    dsts = [bytearray(3), bytearray(3)]
    n, err = r.read_to_blocks(BlockSeq.from_blocks(make_blocks(*dsts)))
    assert (n, err) == (1, None)
    assert dsts == [b"f\0\0", b"\0\0\0"]


def test_read_full_to_blocks() -> None:
    r = FromIOReader(SingleByteReader(b"foobar"))
    dsts = [bytearray(3), bytearray(3)]
    n, err = read_full_to_blocks(r, BlockSeq.from_blocks(make_blocks(*dsts)))
    assert (n, err) == (6, None)
    assert dsts == [b"foo", b"bar"]


def test_from_io_reader_eof() -> None:
    r = FromIOReader(io.BytesIO(b"foo"))
    dsts = [bytearray(3), bytearray(3)]
    n, err = r.read_to_blocks(BlockSeq.from_blocks(make_blocks(*dsts)))
    assert (n, err) == (3, EOF)
    assert isinstance(err, EndOfFile)
    assert r.read_to_blocks(BlockSeq.of(Block(bytearray(1)))) == (0, EOF)
    # An empty BlockSeq reads nothing, without error.
    assert r.read_to_blocks(BlockSeq()) == (0, None)
    # read_full_to_blocks stops at EOF.
    r2 = FromIOReader(io.BytesIO(b"abcd"))
    assert read_full_to_blocks(r2, BlockSeq.of(Block(bytearray(6)))) == (4, EOF)


class FailingReader:
    def __init__(self, good: bytes) -> None:
        self.good = good

    def readinto(self, buf: memoryview) -> int:
        if not self.good:
            raise OSError(5, "boom")
        n = min(len(buf), len(self.good))
        buf[:n] = self.good[:n]
        self.good = self.good[n:]
        return n


def test_from_io_reader_error_after_full_block() -> None:
    dsts = [bytearray(3), bytearray(3)]
    n, err = FromIOReader(FailingReader(b"abc")).read_to_blocks(
        BlockSeq.from_blocks(make_blocks(*dsts))
    )
    assert n == 3
    assert isinstance(err, OSError) and err.errno == 5


def test_from_io_writer_full_write() -> None:
    dst = io.BytesIO()
    w = FromIOWriter(dst)
    n, err = w.write_from_blocks(BlockSeq.from_blocks(make_blocks(b"foo", b"bar")))
    assert (n, err) == (6, None)
    assert dst.getvalue() == b"foobar"


class LimitedWriter:
    def __init__(self, limit: int) -> None:
        self.out = bytearray()
        self.limit = limit

    def write(self, src: memoryview) -> int:
        count = min(len(src), self.limit - len(self.out))
        self.out += src[:count]
        return count


def test_from_io_writer_partial_write() -> None:
    w = LimitedWriter(4)
    n, err = FromIOWriter(w).write_from_blocks(BlockSeq.from_blocks(make_blocks(b"foo", b"bar")))
    assert (n, err) == (4, None)
    assert w.out == b"foob"


class SingleByteWriter:
    def __init__(self) -> None:
        self.out = bytearray()

    def write(self, src: memoryview) -> int:
        self.out += src[:1]
        return min(len(src), 1)


def test_single_byte_writer() -> None:
    w = SingleByteWriter()
    n, err = FromIOWriter(w).write_from_blocks(BlockSeq.from_blocks(make_blocks(b"foo", b"bar")))
    assert (n, err) == (1, None)
    assert w.out == b"f"


def test_write_full_from_blocks() -> None:
    w = SingleByteWriter()
    n, err = write_full_from_blocks(
        FromIOWriter(w), BlockSeq.from_blocks(make_blocks(b"foo", b"bar"))
    )
    assert (n, err) == (6, None)
    assert w.out == b"foobar"


class RaisingWriter:
    def write(self, src: memoryview) -> int:
        raise EIO


def test_from_io_writer_error() -> None:
    n, err = FromIOWriter(RaisingWriter()).write_from_blocks(BlockSeq.of(Block(b"x")))
    assert (n, err) == (0, EIO)


def test_block_seq_reader() -> None:
    r = BlockSeqReader(BlockSeq.from_blocks(make_blocks(b"foo", b"ba")))
    d = bytearray(4)
    assert r.read_to_blocks(BlockSeq.of(Block(d))) == (4, None)
    assert d == b"foob"
    d2 = bytearray(4)
    assert r.read_to_blocks(BlockSeq.of(Block(d2))) == (1, EOF)
    assert d2[:1] == b"a"
    assert r.read_to_blocks(BlockSeq.of(Block(d2))) == (0, EOF)
    assert r.read_to_blocks(BlockSeq()) == (0, None)


def test_block_seq_writer() -> None:
    a, b = bytearray(2), bytearray(2)
    w = BlockSeqWriter(BlockSeq.from_blocks([Block(a), Block(b)]))
    assert w.write_from_blocks(BlockSeq.of(Block(b"xyz"))) == (3, None)
    assert w.write_from_blocks(BlockSeq.of(Block(b"pq"))) == (1, ERR_END_OF_BLOCK_SEQ)
    assert (a, b) == (b"xy", b"zp")
    assert w.write_from_blocks(BlockSeq.of(Block(b"q"))) == (0, ERR_END_OF_BLOCK_SEQ)


def test_reader_writer_func_and_protocols() -> None:
    calls: list[int] = []

    def read(dsts: BlockSeq) -> tuple[int, Exception | None]:
        calls.append(dsts.num_bytes())
        return 0, EOF

    rf = ReaderFunc(read)
    assert rf.read_to_blocks(BlockSeq.of(Block(bytearray(5)))) == (0, EOF)
    assert calls == [5]
    wf = WriterFunc(lambda srcs: (srcs.num_bytes(), None))
    assert wf.write_from_blocks(BlockSeq.of(Block(b"abc"))) == (3, None)
    assert isinstance(rf, Reader) and isinstance(wf, Writer)
    assert isinstance(BlockSeqReader(BlockSeq()), Reader)
    assert isinstance(FromIOWriter(io.BytesIO()), Writer)


def test_from_vec_reader_func() -> None:
    seen: list[list[int]] = []

    def read_vec(views: list[memoryview]) -> tuple[int, Exception | None]:
        seen.append([len(v) for v in views])
        views[0][:] = b"ab"
        views[1][:1] = b"c"
        return 3, None

    a, b = bytearray(2), bytearray(3)
    r = FromVecReaderFunc(read_vec)
    assert r.read_to_blocks(BlockSeq.from_blocks([Block(a), Block(), Block(b)])) == (3, None)
    assert seen == [[2, 3]], "called once with one view per non-empty block"
    assert (a, b) == (b"ab", b"c\0\0")
    assert r.read_to_blocks(BlockSeq()) == (0, None)
    assert len(seen) == 1, "not called for an empty BlockSeq"


def test_from_vec_writer_func() -> None:
    got: list[bytes] = []

    def write_vec(views: list[memoryview]) -> tuple[int, Exception | None]:
        got.extend(bytes(v) for v in views)
        return 2, EIO

    w = FromVecWriterFunc(write_vec)
    assert w.write_from_blocks(BlockSeq.from_blocks(make_blocks(b"foo", b"bar"))) == (2, EIO)
    assert got == [b"foo", b"bar"]
    assert w.write_from_blocks(BlockSeq()) == (0, None)
