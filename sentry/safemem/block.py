"""``Block``: a contiguous span of host memory the sentry can read and write.

Compare gVisor's ``pkg/safemem/block_unsafe.go``. In gVisor a Block is a raw
pointer + length that may need fault-tolerant "safecopy" access. Here a Block
wraps a 1-D, C-contiguous ``memoryview`` of format ``'B'`` (a slice of a
``bytearray``, an ``mmap``, a ctypes buffer, ...). Python memory accesses
cannot fault, so :func:`copy` and :func:`zero` return plain byte counts.

Blocks over read-only buffers (``bytes``) are allowed as copy sources; writing
into one raises TypeError (a programming error, not a guest error).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from typing_extensions import Buffer

    ReadableBuffer: TypeAlias = Buffer
    """Any object exporting the buffer protocol (bytes, bytearray, memoryview, mmap)."""
    WritableBuffer: TypeAlias = Buffer
    """A writable buffer (bytearray, writable memoryview, mmap); not checked statically."""
else:  # Annotation-only aliases: typing_extensions is not a runtime dependency.
    ReadableBuffer = WritableBuffer = object

_new = object.__new__

_U32 = struct.Struct("<I")
_u32_unpack_from = _U32.unpack_from
_u32_pack_into = _U32.pack_into

# Source for zeroing: slice-assigning from a preallocated zero buffer is far
# faster than building ``bytes(n)`` per call. ``bytes(n)`` of this size is
# calloc'ed, so untouched pages cost the host nothing.
ZERO_CHUNK = 2 << 20
_ZEROS = memoryview(bytes(ZERO_CHUNK))


def byte_view(buf: ReadableBuffer) -> memoryview:
    """Return ``buf`` as a 1-D memoryview of unsigned bytes (format ``'B'``).

    Raises TypeError if ``buf`` is not C-contiguous.
    """
    mv = buf if type(buf) is memoryview else memoryview(buf)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    elif not mv.c_contiguous:
        raise TypeError("buffer is not C-contiguous")
    return mv


class Block:
    """A contiguous, non-growable span of host memory (a byte memoryview).

    Blocks are immutable values: ``drop_first``/``take_first`` return new
    Blocks viewing the same memory. ``len(block)`` is its length in bytes.
    """

    __slots__ = ("_mv",)

    _mv: memoryview

    def __init__(self, buf: ReadableBuffer = b"") -> None:
        """Create a Block viewing all of ``buf`` (any C-contiguous buffer)."""
        self._mv = byte_view(buf)

    @staticmethod
    def _of(mv: memoryview) -> Block:
        """Wrap an already-validated byte memoryview without checks."""
        b = _new(Block)
        b._mv = mv
        return b

    def __len__(self) -> int:
        return len(self._mv)

    def to_memoryview(self) -> memoryview:
        """Return the memoryview the Block spans (writable if the memory is)."""
        return self._mv

    def __bytes__(self) -> bytes:
        return self._mv.tobytes()

    def drop_first(self, n: int) -> Block:
        """Return the Block without its first ``n`` bytes; ``n >= len`` gives an empty Block.

        Raises ValueError if ``n < 0``.
        """
        if n < 0:
            raise ValueError(f"invalid n: {n}")
        if n == 0:
            return self
        b = _new(Block)
        b._mv = self._mv[n:]
        return b


    def take_first(self, n: int) -> Block:
        """Return the first ``n`` bytes; ``n >= len`` returns the Block unchanged.

        Raises ValueError if ``n < 0``.
        """
        if n >= len(self._mv):
            return self
        if n < 0:
            raise ValueError(f"invalid n: {n}")
        b = _new(Block)
        b._mv = self._mv[:n]
        return b


    # Atomics. The guest runs in the same single host thread as the sentry
    # (Unicorn executes guest code synchronously inside emu_start), so guest
    # code never runs while these execute: a plain read-modify-write is
    # atomic with respect to the guest. Other host threads touching the same
    # memory concurrently are not supported.

    def load_uint32(self) -> int:
        """Return the little-endian uint32 at the start of the Block.

        Atomic with respect to the guest (one host thread runs both).
        Precondition: ``len(self) >= 4`` (``struct.error`` otherwise).
        """
        v: int = _u32_unpack_from(self._mv)[0]
        return v

    def swap_uint32(self, new: int) -> int:
        """Store ``new`` as a little-endian uint32 at the start; return the old value.

        Atomic with respect to the guest (one host thread runs both).
        Preconditions: ``len(self) >= 4``; ``0 <= new < 2**32``.
        """
        mv = self._mv
        old: int = _u32_unpack_from(mv)[0]
        _u32_pack_into(mv, 0, new)
        return old

    def compare_and_swap_uint32(self, old: int, new: int) -> int:
        """If the uint32 at the start equals ``old``, store ``new``.

        Returns the value found before the operation in either case. Atomic
        with respect to the guest (one host thread runs both).
        Preconditions: ``len(self) >= 4``; ``0 <= new < 2**32``.
        """
        mv = self._mv
        prev: int = _u32_unpack_from(mv)[0]
        if prev == old:
            _u32_pack_into(mv, 0, new)
        return prev

    def readonly(self) -> bool:
        """Return True if the underlying memory cannot be written."""
        return self._mv.readonly

    def __repr__(self) -> str:
        return f"Block(len={len(self._mv)})"


def copy(dst: Block, src: Block) -> int:
    """Copy ``min(len(dst), len(src))`` bytes from ``src`` to ``dst``; return that count.

    Never partial: host memory accesses cannot fail. If the blocks overlap,
    the data stored in ``dst`` is unspecified.
    """
    d = dst._mv
    s = src._mv
    n = len(d)
    ns = len(s)
    if ns < n:
        n = ns
    if n:
        d[:n] = s[:n]
    return n


def zero_view(mv: memoryview) -> int:
    """Set every byte of the byte memoryview ``mv`` to 0; return ``len(mv)``."""
    n = len(mv)
    if n <= ZERO_CHUNK:
        if n:
            mv[:] = _ZEROS[:n]
        return n
    for off in range(0, n, ZERO_CHUNK):
        end = off + ZERO_CHUNK
        if end > n:
            end = n
        mv[off:end] = _ZEROS[: end - off]
    return n


def zero(dst: Block) -> int:
    """Set every byte of ``dst`` to 0 and return ``len(dst)`` (never partial)."""
    return zero_view(dst._mv)


def load_uint32(b: Block) -> int:
    """Return ``b.load_uint32()`` (gVisor's ``safemem.LoadUint32``)."""
    return b.load_uint32()


def swap_uint32(b: Block, new: int) -> int:
    """Return ``b.swap_uint32(new)`` (gVisor's ``safemem.SwapUint32``)."""
    return b.swap_uint32(new)


def compare_and_swap_uint32(b: Block, old: int, new: int) -> int:
    """Return ``b.compare_and_swap_uint32(old, new)`` (gVisor's ``safemem.CompareAndSwapUint32``)."""
    return b.compare_and_swap_uint32(old, new)
