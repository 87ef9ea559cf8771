"""``BytesIO``: an IO over a byte buffer where the address is the offset.

Compare gVisor's ``pkg/usermem/bytes_io.go`` and ``bytes_io_unsafe.go``.
Used by tests and by code that needs an IOSequence over sentry memory.
Accesses beyond the end of the buffer fail with EFAULT, so the end of the
buffer behaves like the start of an unmapped region.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.hostarch.addr import ADDR_MAX
from sentry.hostarch.addr_range import AddrRange
from sentry.hostarch.addr_range_seq import AddrRangeSeq
from sentry.linuxerr import EFAULT, EINVAL
from sentry.safemem.block import Block, byte_view, zero_view
from sentry.safemem.block_seq import BlockSeq
from sentry.usermem.io import DEFAULT_OPTS, IOOpts
from sentry.usermem.iosequence import IOSequence

if TYPE_CHECKING:
    from sentry.safemem import ReadableBuffer, Reader, WritableBuffer, Writer

_EMPTY_BLOCKS = BlockSeq()


class BytesIO:
    """An IO over the writable buffer ``bytes``; addresses are offsets into it.

    ``bytes`` is usually a ``bytearray`` (kept by reference: the caller sees
    every write); any writable C-contiguous buffer works. Permissions and
    ``opts`` are ignored.
    """

    __slots__ = ("bytes",)

    def __init__(self, buf: WritableBuffer) -> None:
        self.bytes = buf

    def _range_check(self, addr: int, length: int) -> tuple[int, Exception | None]:
        """Return how many of ``length`` bytes at ``addr`` are in range, and why not all.

        Length 0 -> ``(0, None)``; negative -> ``(0, EINVAL)``; start at or
        beyond the end -> ``(0, EFAULT)``; running past the end (or past
        ``2**64``) -> ``(bytes available, EFAULT)``.
        """
        if length == 0:
            return 0, None
        if length < 0:
            return 0, EINVAL
        size = memoryview(self.bytes).nbytes
        if addr >= size:
            return 0, EFAULT
        end = addr + length
        if end > ADDR_MAX or end > size:
            return size - addr, EFAULT
        return length, None

    def copy_out(
        self, addr: int, src: ReadableBuffer, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.copy_out``: writes the in-range prefix; short -> EFAULT."""
        data = byte_view(src)
        n, err = self._range_check(addr, len(data))
        if n == 0:
            return 0, err
        byte_view(self.bytes)[addr : addr + n] = data[:n]
        return n, err

    def copy_in(
        self, addr: int, dst: WritableBuffer, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.copy_in``: reads the in-range prefix; short -> EFAULT."""
        out = byte_view(dst)
        n, err = self._range_check(addr, len(out))
        if n == 0:
            return 0, err
        out[:n] = byte_view(self.bytes)[addr : addr + n]
        return n, err

    def zero_out(
        self, addr: int, to_zero: int, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.zero_out``: zeroes the in-range prefix; short -> EFAULT."""
        n, err = self._range_check(addr, to_zero)
        if n == 0:
            return 0, err
        zero_view(byte_view(self.bytes)[addr : addr + n])
        return n, err

    def _block_from_addr_range(self, ar: AddrRange) -> tuple[Block, Exception | None]:
        n, err = self._range_check(ar[0], ar[1] - ar[0])
        if n == 0:
            return Block(), err
        return Block._of(byte_view(self.bytes)[ar[0] : ar[0] + n]), err

    def blocks_from_addr_ranges(self, ars: AddrRangeSeq) -> tuple[BlockSeq, Exception | None]:
        """Return the Blocks for the in-range prefix of ``ars`` and the range error.

        Stops at the first range that is not fully in range (its in-range
        prefix included) and returns EFAULT for it.
        """
        nr = ars.num_ranges()
        if nr == 0:
            return _EMPTY_BLOCKS, None
        if nr == 1:
            b, err = self._block_from_addr_range(ars.head())
            return BlockSeq.of(b), err
        blocks: list[Block] = []
        for ar in ars:
            b, err = self._block_from_addr_range(ar)
            if len(b):
                blocks.append(b)
            if err is not None:
                return BlockSeq.from_blocks(blocks), err
        return BlockSeq.from_blocks(blocks), None

    def copy_out_from(
        self, ars: AddrRangeSeq, src: Reader, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.copy_out_from``.

        Calls ``src.read_to_blocks`` exactly once with the Blocks of the
        in-range prefix of ``ars``; returns ``(n, src's error)`` if it
        returned one, else ``(n, range error or None)``.
        """
        return self._with_blocks(ars, src.read_to_blocks)

    def copy_in_to(
        self, ars: AddrRangeSeq, dst: Writer, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.copy_in_to``.

        Calls ``dst.write_from_blocks`` exactly once with the Blocks of the
        in-range prefix of ``ars``; returns ``(n, dst's error)`` if it
        returned one, else ``(n, range error or None)``.
        """
        return self._with_blocks(ars, dst.write_from_blocks)

    def _with_blocks(
        self, ars: AddrRangeSeq, op: Callable[[BlockSeq], tuple[int, Exception | None]]
    ) -> tuple[int, Exception | None]:
        """Call ``op`` once with the Blocks of the in-range prefix of ``ars``;
        returns ``(n, op's error)`` if it returned one, else ``(n, range
        error or None)``."""
        blocks, rng_err = self.blocks_from_addr_ranges(ars)
        n, err = op(blocks)
        if err is not None:
            return n, err
        return n, rng_err

    def _atomic_block(self, addr: int) -> tuple[Block | None, Exception | None]:
        _, err = self._range_check(addr, 4)
        if err is not None:
            return None, err
        return Block._of(byte_view(self.bytes)[addr : addr + 4]), None

    def swap_uint32(
        self, addr: int, new: int, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.swap_uint32``: ``(0, EFAULT)`` unless all 4 bytes are in range."""
        b, err = self._atomic_block(addr)
        if b is None:
            return 0, err
        return b.swap_uint32(new), None

    def compare_and_swap_uint32(
        self, addr: int, old: int, new: int, opts: IOOpts = DEFAULT_OPTS
    ) -> tuple[int, Exception | None]:
        """Implement ``IO.compare_and_swap_uint32``: ``(0, EFAULT)`` unless all 4 bytes are in range."""
        b, err = self._atomic_block(addr)
        if b is None:
            return 0, err
        return b.compare_and_swap_uint32(old, new), None

    def load_uint32(self, addr: int, opts: IOOpts = DEFAULT_OPTS) -> tuple[int, Exception | None]:
        """Implement ``IO.load_uint32``: ``(0, EFAULT)`` unless all 4 bytes are in range."""
        b, err = self._atomic_block(addr)
        if b is None:
            return 0, err
        return b.load_uint32(), None

    def __repr__(self) -> str:
        return f"BytesIO(len={memoryview(self.bytes).nbytes})"


def bytes_io_sequence(buf: WritableBuffer) -> IOSequence:
    """Return an IOSequence covering all of ``buf`` through a BytesIO."""
    return IOSequence(
        BytesIO(buf), AddrRangeSeq.of(AddrRange(0, memoryview(buf).nbytes)), DEFAULT_OPTS
    )
