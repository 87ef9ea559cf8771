"""Streaming byte sources and sinks over BlockSeqs.

Compare gVisor's ``pkg/safemem/io.go``. Every function returns
``(n, err)`` like Go: ``err`` is None on full success; it may be a
``linuxerr`` Errno, :data:`EOF`, :data:`ERR_END_OF_BLOCK_SEQ`, an ``OSError``
from a host file, or any error a caller's Reader/Writer returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from sentry.linuxerr import Errno
from sentry.safemem.block_seq import BlockSeq, copy_seq

__all__ = [
    "EOF",
    "ERR_END_OF_BLOCK_SEQ",
    "BlockSeqReader",
    "BlockSeqWriter",
    "EndOfBlockSeq",
    "EndOfFile",
    "FromIOReader",
    "FromIOWriter",
    "FromVecReaderFunc",
    "FromVecWriterFunc",
    "Reader",
    "ReaderFunc",
    "Writer",
    "WriterFunc",
    "read_full_to_blocks",
    "write_full_from_blocks",
]


class EndOfFile(Exception):
    """The class of :data:`EOF` (Go's ``io.EOF``); compare the instance with ``is``."""


class EndOfBlockSeq(Exception):
    """The class of :data:`ERR_END_OF_BLOCK_SEQ`."""


EOF = EndOfFile("EOF")
"""No more input is available (Go's ``io.EOF``). Returned, never raised."""

ERR_END_OF_BLOCK_SEQ = EndOfBlockSeq("write beyond end of BlockSeq")
"""Returned by :class:`BlockSeqWriter` when asked to write beyond its end."""

# Errors a host file object may raise that FromIOReader/FromIOWriter turn
# into returned errors.
_IO_ERRORS = (OSError, Errno)


@runtime_checkable
class Reader(Protocol):
    """A streaming byte source (gVisor's ``safemem.Reader``)."""

    def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
        """Read up to ``dsts.num_bytes()`` bytes into ``dsts``; return ``(n, err)``.

        Contract:

        * A partial read without an error is allowed: ``(n, None)`` with
          ``0 <= n < dsts.num_bytes()``.
        * A full read must not come with an error: never
          ``(dsts.num_bytes(), err)`` with ``err is not None``. In particular
          :data:`EOF` is not returned after a full read (unlike Python/Go
          readers that signal EOF together with the last bytes).
        * ``dsts`` must not be retained after the call returns.
        """
        ...


@runtime_checkable
class Writer(Protocol):
    """A streaming byte sink (gVisor's ``safemem.Writer``)."""

    def write_from_blocks(self, srcs: BlockSeq) -> tuple[int, Exception | None]:
        """Write up to ``srcs.num_bytes()`` bytes from ``srcs``; return ``(n, err)``.

        Contract:

        * A partial write without an error is allowed: ``(n, None)`` with
          ``0 <= n < srcs.num_bytes()``.
        * A full write must not come with an error.
        * ``srcs`` must not be retained after the call returns (copy the
          bytes out if they are needed later).
        """
        ...


ReadToBlocksFunc = Callable[[BlockSeq], tuple[int, Exception | None]]
WriteFromBlocksFunc = Callable[[BlockSeq], tuple[int, Exception | None]]


def read_full_to_blocks(r: Reader, dsts: BlockSeq) -> tuple[int, Exception | None]:
    """Call ``r.read_to_blocks`` until ``dsts`` is full or it returns an error.

    Returns ``(bytes read, err)``; ``err`` is None iff all of ``dsts`` was
    filled, else the Reader's error. (A Reader that keeps returning
    ``(0, None)`` makes this loop forever, as in gVisor.)
    """
    return _until_done(r.read_to_blocks, dsts)


def write_full_from_blocks(w: Writer, srcs: BlockSeq) -> tuple[int, Exception | None]:
    """Call ``w.write_from_blocks`` until all of ``srcs`` is written or it returns an error.

    Returns ``(bytes written, err)``; ``err`` is None iff everything was
    written, else the Writer's error.
    """
    return _until_done(w.write_from_blocks, srcs)


def _until_done(op: Callable[[BlockSeq], tuple[int, Exception | None]], bs: BlockSeq) -> tuple[int, Exception | None]:
    """Call ``op`` on what is left of ``bs`` until all of it is done or
    ``op`` returns an error; returns ``(bytes done, err)``."""
    done = 0
    while not bs.is_empty():
        n, err = op(bs)
        done += n
        if err is not None:
            return done, err
        bs = bs.drop_first(n)
    return done, None


class _BlockSeqStream:
    """What BlockSeqReader and BlockSeqWriter share: ``blocks``, consumed
    from the front by each copy."""

    __slots__ = ("blocks",)

    def __init__(self, blocks: BlockSeq) -> None:
        self.blocks = blocks

    def _consume(self, n: int, err: Exception | None, wanted: int, short: Exception) -> tuple[int, Exception | None]:
        """Drop the ``n`` bytes just copied from ``blocks``; returns
        ``(n, err)``, or ``(n, short)`` if fewer than ``wanted`` were copied."""
        self.blocks = self.blocks.drop_first(n)
        if err is not None:
            return n, err
        if n < wanted:
            return n, short
        return n, None


class BlockSeqReader(_BlockSeqStream):
    """A Reader that consumes the BlockSeq ``blocks``.

    ``read_to_blocks`` returns ``(n, EOF)`` when ``blocks`` runs out before
    ``dsts`` is full (including ``(0, EOF)`` once exhausted).
    """

    __slots__ = ()

    def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
        """Copy from ``self.blocks`` into ``dsts``; short copy -> ``(n, EOF)``."""
        n, err = copy_seq(dsts, self.blocks)
        return self._consume(n, err, dsts.num_bytes(), EOF)


class BlockSeqWriter(_BlockSeqStream):
    """A Writer that fills the BlockSeq ``blocks``.

    ``write_from_blocks`` returns ``(n, ERR_END_OF_BLOCK_SEQ)`` when
    ``blocks`` runs out before all of ``srcs`` is written.
    """

    __slots__ = ()

    def write_from_blocks(self, srcs: BlockSeq) -> tuple[int, Exception | None]:
        """Copy ``srcs`` into ``self.blocks``; short copy -> ``(n, ERR_END_OF_BLOCK_SEQ)``."""
        n, err = copy_seq(self.blocks, srcs)
        return self._consume(n, err, srcs.num_bytes(), ERR_END_OF_BLOCK_SEQ)


class ReaderFunc:
    """A Reader calling ``fn(dsts) -> (n, err)``, which must honour Reader's contract."""

    __slots__ = ("fn",)

    def __init__(self, fn: ReadToBlocksFunc) -> None:
        self.fn = fn

    def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
        """Return ``self.fn(dsts)`` (partial-read semantics are ``fn``'s)."""
        return self.fn(dsts)


class WriterFunc:
    """A Writer calling ``fn(srcs) -> (n, err)``, which must honour Writer's contract."""

    __slots__ = ("fn",)

    def __init__(self, fn: WriteFromBlocksFunc) -> None:
        self.fn = fn

    def write_from_blocks(self, srcs: BlockSeq) -> tuple[int, Exception | None]:
        """Return ``self.fn(srcs)`` (partial-write semantics are ``fn``'s)."""
        return self.fn(srcs)


class _SupportsReadinto(Protocol):
    def readinto(self, buf: memoryview, /) -> int | None: ...


class _SupportsWrite(Protocol):
    def write(self, buf: memoryview, /) -> int | None: ...


class FromIOReader:
    """A Reader over a Python file-like object with ``readinto`` (gVisor's FromIOReader).

    ``read_to_blocks`` calls ``readinto`` once per Block, in order:

    * a short ``readinto`` (fewer bytes than the Block) returns
      ``(done, None)`` at once: a successful partial read;
    * ``readinto`` returning 0 for a non-empty Block is end of file:
      ``(done, EOF)``;
    * ``readinto`` returning None (non-blocking file, no data) is a partial
      read ``(done, None)``;
    * an ``OSError`` (or Errno) raised by ``readinto`` is returned as
      ``(done, exc)``.

    (gVisor also swallows io.EOF returned together with a full last Block;
    ``readinto`` cannot report that combination.) Not thread-safe.
    """

    __slots__ = ("reader",)

    def __init__(self, reader: _SupportsReadinto) -> None:
        self.reader = reader

    def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
        """Fill ``dsts`` Block by Block; see the class docstring for partial reads."""
        return _block_by_block(self.reader.readinto, dsts, EOF)


class FromIOWriter:
    """A Writer over a Python file-like object with ``write`` (gVisor's FromIOWriter).

    ``write_from_blocks`` calls ``write`` once per Block, in order, and
    returns ``(done, None)`` at once on a short write (``write`` returning
    fewer bytes, or None for a non-blocking file), and ``(done, exc)`` if
    ``write`` raises ``OSError`` (or Errno). The file must not retain the
    memoryview it is given.
    """

    __slots__ = ("writer",)

    def __init__(self, writer: _SupportsWrite) -> None:
        self.writer = writer

    def write_from_blocks(self, srcs: BlockSeq) -> tuple[int, Exception | None]:
        """Write ``srcs`` Block by Block; see the class docstring for partial writes."""
        return _block_by_block(self.writer.write, srcs, None)


def _block_by_block(
    op: Callable[[memoryview], int | None], bs: BlockSeq, at_zero: Exception | None
) -> tuple[int, Exception | None]:
    """Call the file method ``op`` (readinto, write) once per Block of
    ``bs``, in order, stopping after a short transfer; returns ``(done,
    err)``: ``at_zero`` if ``op`` moved nothing of a Block, the exception
    if it raised ``OSError`` (or Errno), else None."""
    done = 0
    for mv in bs.views():
        try:
            n = op(mv)
        except _IO_ERRORS as e:
            return done, e
        if n is None:
            return done, None
        done += n
        if n != len(mv):
            return done, (at_zero if n == 0 else None)
    return done, None


ReadVecFunc = Callable[[list[memoryview]], tuple[int, Exception | None]]
WriteVecFunc = Callable[[list[memoryview]], tuple[int, Exception | None]]


class FromVecReaderFunc:
    """A Reader over a readv-style function ``read_vec(views) -> (n, err)``.

    ``read_vec`` receives a writable memoryview per Block and is called at
    most once per ``read_to_blocks`` (not at all if ``dsts`` is empty).
    """

    __slots__ = ("read_vec",)

    def __init__(self, read_vec: ReadVecFunc) -> None:
        self.read_vec = read_vec

    def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
        """Return ``(min(n, dsts.num_bytes()), err)`` from one ``read_vec`` call."""
        if dsts.is_empty():
            return 0, None
        n, err = self.read_vec(list(dsts.views()))
        total = dsts.num_bytes()
        return (n if n < total else total), err


class FromVecWriterFunc:
    """A Writer over a writev-style function ``write_vec(views) -> (n, err)``.

    ``write_vec`` receives a memoryview per Block and is called at most once
    per ``write_from_blocks`` (not at all if ``srcs`` is empty).
    """

    __slots__ = ("write_vec",)

    def __init__(self, write_vec: WriteVecFunc) -> None:
        self.write_vec = write_vec

    def write_from_blocks(self, srcs: BlockSeq) -> tuple[int, Exception | None]:
        """Return ``write_vec``'s ``(n, err)`` from one call (partial iff it is)."""
        if srcs.is_empty():
            return 0, None
        return self.write_vec(list(srcs.views()))
