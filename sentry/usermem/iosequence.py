"""``IOSequence``: an IO plus address ranges consumed in order (an ``iov_iter``).

Compare gVisor's ``pkg/usermem/usermem.go``. File systems receive
IOSequences, never tasks or Unicorn handles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentry.safemem.io import EOF
from sentry.usermem.copy import copy_in_vec, copy_out_vec, zero_out_vec
from sentry.usermem.io import DEFAULT_OPTS, IO, IOOpts

if TYPE_CHECKING:
    from sentry.hostarch import AddrRangeSeq
    from sentry.safemem import ReadableBuffer, Reader, WritableBuffer, Writer


class EndOfIOSequence(Exception):
    """The class of :data:`ERR_END_OF_IO_SEQUENCE`."""


ERR_END_OF_IO_SEQUENCE = EndOfIOSequence("write beyond end of IOSequence")
"""Returned by ``IOSequence.writer().write`` when asked to write beyond the end."""


class IOSequence:
    """An IO, the address ranges to operate on in order, and IOOpts.

    An immutable value: ``drop_first``/``take_first`` return new
    IOSequences. The attributes ``io``, ``addrs`` and ``opts`` are public
    but must not be reassigned.
    """

    __slots__ = ("addrs", "io", "opts")

    io: IO
    addrs: AddrRangeSeq
    opts: IOOpts

    def __init__(self, io: IO, addrs: AddrRangeSeq, opts: IOOpts = DEFAULT_OPTS) -> None:
        self.io = io
        self.addrs = addrs
        self.opts = opts

    def num_bytes(self) -> int:
        """Return ``addrs.num_bytes()``.

        This may be 0 although ``addrs`` is not empty (zero-length ranges).
        File implementations usually return ``(0, None)`` for
        ``num_bytes() == 0`` before any would-block check; the access_ok
        checks on zero-length ranges were already made when the sequence was
        built.
        """
        return self.addrs.num_bytes()

    def drop_first(self, n: int) -> IOSequence:
        """Return a copy with ``addrs.drop_first(n)`` (see AddrRangeSeq.drop_first)."""
        return IOSequence(self.io, self.addrs.drop_first(n), self.opts)


    def take_first(self, n: int) -> IOSequence:
        """Return a copy with ``addrs.take_first(n)`` (see AddrRangeSeq.take_first)."""
        return IOSequence(self.io, self.addrs.take_first(n), self.opts)


    def copy_out(self, src: ReadableBuffer) -> tuple[int, Exception | None]:
        """Copy ``src`` to the ranges (``copy_out_vec``); return ``(n, err)``.

        If ``num_bytes() < len(src)`` the copy is truncated to ``num_bytes()``
        with ``err`` None; a shorter ``n`` comes with the IO's error.
        """
        return copy_out_vec(self.io, self.addrs, src, self.opts)

    def copy_in(self, dst: WritableBuffer) -> tuple[int, Exception | None]:
        """Copy from the ranges into ``dst`` (``copy_in_vec``); return ``(n, err)``.

        If ``num_bytes() < len(dst)`` the copy is truncated to ``num_bytes()``
        with ``err`` None; a shorter ``n`` comes with the IO's error.
        """
        return copy_in_vec(self.io, self.addrs, dst, self.opts)

    def zero_out(self, to_zero: int) -> tuple[int, Exception | None]:
        """Zero up to ``to_zero`` bytes of the ranges (``zero_out_vec``); return ``(n, err)``.

        Truncation to ``num_bytes()`` is not an error.
        """
        return zero_out_vec(self.io, self.addrs, to_zero, self.opts)

    def copy_out_from(self, src: Reader) -> tuple[int, Exception | None]:
        """Return ``io.copy_out_from(addrs, src, opts)``: ``src`` is called at most once.

        A partial copy without an error happens iff ``src`` returned a
        partial read without an error; ``src``'s errors pass through.
        """
        return self.io.copy_out_from(self.addrs, src, self.opts)

    def copy_in_to(self, dst: Writer) -> tuple[int, Exception | None]:
        """Return ``io.copy_in_to(addrs, dst, opts)``: ``dst`` is called at most once.

        A partial copy without an error happens iff ``dst`` returned a
        partial write without an error; ``dst``'s errors pass through.
        """
        return self.io.copy_in_to(self.addrs, dst, self.opts)

    def reader(self) -> IOSequenceReadWriter:
        """Return a cursor whose ``read`` consumes the sequence (EOF once exhausted)."""
        return IOSequenceReadWriter(self)

    def writer(self) -> IOSequenceReadWriter:
        """Return a cursor whose ``write`` consumes the sequence
        (ERR_END_OF_IO_SEQUENCE on a short write)."""
        return IOSequenceReadWriter(self)

    def __repr__(self) -> str:
        return f"IOSequence({self.io!r}, {self.addrs}, {self.opts})"


class IOSequenceReadWriter:
    """A read/write cursor over an IOSequence (gVisor's IOSequenceReadWriter).

    ``s`` is the part of the sequence not consumed yet.
    """

    __slots__ = ("s",)

    def __init__(self, s: IOSequence) -> None:
        self.s = s

    def read(self, dst: WritableBuffer) -> tuple[int, Exception | None]:
        """Copy from the sequence into ``dst`` and consume what was copied.

        Returns ``(n, err)``: the IO's error on a failed copy; otherwise
        :data:`~sentry.safemem.EOF` once the sequence is exhausted (possibly
        together with ``n > 0``, like Go's io.Reader), else None.
        """
        n, err = self.s.copy_in(dst)
        self.s = self.s.drop_first(n)
        if err is None and self.s.num_bytes() == 0:
            err = EOF
        return n, err

    def write(self, src: ReadableBuffer) -> tuple[int, Exception | None]:
        """Copy ``src`` into the sequence and consume what was copied.

        Returns ``(n, err)``: the IO's error on a failed copy; otherwise
        ERR_END_OF_IO_SEQUENCE if the sequence ran out before all of ``src``
        was written, else None.
        """
        n, err = self.s.copy_out(src)
        self.s = self.s.drop_first(n)
        if err is None and n < memoryview(src).nbytes:
            err = ERR_END_OF_IO_SEQUENCE
        return n, err

    def __len__(self) -> int:
        """Return the number of bytes left in the sequence."""
        return self.s.num_bytes()
