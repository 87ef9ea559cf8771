"""``BlockSeq``: an immutable sequence of non-empty Blocks.

Compare gVisor's ``pkg/safemem/seq_unsafe.go``. Unlike AddrRangeSeq, a
BlockSeq never holds zero-length Blocks (they are dropped on construction),
so ``is_empty() == (num_blocks() == 0) == (num_bytes() == 0)``.

Representation: ``(blocks, idx, offset, limit)``: the Blocks
``blocks[idx:]`` (all non-empty), starting ``offset`` bytes into
``blocks[idx]`` and limited to the following ``limit`` bytes. Invariants:
``limit == 0`` iff the sequence is empty (then ``blocks == ()``);
``offset < len(blocks[idx])``; ``offset + limit`` <= the combined length of
``blocks[idx:]``. A single Block is stored as a 1-tuple with offset 0, and
:meth:`head` then returns that very Block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sentry.safemem.block import Block, zero_view

_new = object.__new__
_block_of = Block._of


class BlockSeq:
    """An immutable sequence of non-empty Blocks.

    Build one with :meth:`of`, :meth:`from_blocks` or ``BlockSeq()`` (empty).
    """

    __slots__ = ("_blocks", "_idx", "_limit", "_offset")

    _blocks: tuple[Block, ...]
    _idx: int
    _offset: int
    _limit: int

    def __init__(self) -> None:
        """Create an empty sequence (prefer :meth:`of` / :meth:`from_blocks`)."""
        self._blocks = ()
        self._idx = 0
        self._offset = 0
        self._limit = 0

    @classmethod
    def of(cls, b: Block) -> BlockSeq:
        """Return a sequence holding the single Block ``b`` (empty if ``len(b) == 0``)."""
        n = len(b._mv)
        if n == 0:
            return _EMPTY
        s = _new(cls)
        s._blocks = (b,)
        s._idx = 0
        s._offset = 0
        s._limit = n
        return s

    @classmethod
    def from_blocks(cls, blocks: Iterable[Block]) -> BlockSeq:
        """Return a sequence holding ``blocks`` in order, skipping empty ones."""
        bs = tuple(b for b in blocks if len(b._mv))
        total = 0
        for b in bs:
            total += len(b._mv)
        if total == 0:
            return _EMPTY
        s = _new(cls)
        s._blocks = bs
        s._idx = 0
        s._offset = 0
        s._limit = total
        return s

    def is_empty(self) -> bool:
        """Return True if the sequence holds no Blocks (equivalently, no bytes)."""
        return self._limit == 0

    def num_blocks(self) -> int:
        """Return the number of (non-empty) Blocks in the sequence."""
        remaining = self._limit
        if remaining == 0:
            return 0
        blocks = self._blocks
        i = self._idx
        remaining -= len(blocks[i]._mv) - self._offset
        count = 1
        while remaining > 0:
            i += 1
            remaining -= len(blocks[i]._mv)
            count += 1
        return count

    def num_bytes(self) -> int:
        """Return the total length of all Blocks."""
        return self._limit

    def head(self) -> Block:
        """Return the first Block. Raises IndexError if the sequence is empty."""
        limit = self._limit
        if limit == 0:
            raise IndexError("head of empty BlockSeq")
        b = self._blocks[self._idx]
        off = self._offset
        mv = b._mv
        if off == 0:
            if len(mv) <= limit:
                return b
            return _block_of(mv[:limit])
        return _block_of(mv[off : off + limit])

    def tail(self) -> BlockSeq:
        """Return the sequence without its first Block. Raises IndexError if empty."""
        limit = self._limit
        if limit == 0:
            raise IndexError("tail of empty BlockSeq")
        blocks = self._blocks
        i = self._idx
        head_len = len(blocks[i]._mv) - self._offset
        if head_len >= limit:
            return _EMPTY
        s = _new(BlockSeq)
        s._blocks = blocks
        s._idx = i + 1
        s._offset = 0
        s._limit = limit - head_len
        return s

    def drop_first(self, n: int) -> BlockSeq:
        """Return the sequence without its first ``n`` bytes; ``n >= num_bytes()`` gives empty.

        Raises ValueError if ``n < 0``.
        """
        limit = self._limit
        if n >= limit:
            return _EMPTY
        if n <= 0:
            if n == 0:
                return self
            raise ValueError(f"invalid n: {n}")
        blocks = self._blocks
        i = self._idx
        off = self._offset
        while True:
            head_len = len(blocks[i]._mv) - off
            if n < head_len:
                s = _new(BlockSeq)
                s._blocks = blocks
                s._idx = i
                s._offset = off + n
                s._limit = limit - n
                return s
            n -= head_len
            limit -= head_len
            i += 1
            off = 0


    def take_first(self, n: int) -> BlockSeq:
        """Return the first ``n`` bytes of the sequence; ``n == 0`` gives empty and
        ``n >= num_bytes()`` the sequence unchanged. Raises ValueError if ``n < 0``.
        """
        if n >= self._limit:
            return self
        if n <= 0:
            if n == 0:
                return _EMPTY
            raise ValueError(f"invalid n: {n}")
        s = _new(BlockSeq)
        s._blocks = self._blocks
        s._idx = self._idx
        s._offset = self._offset
        s._limit = n
        return s


    def views(self) -> Iterator[memoryview]:
        """Yield the memoryview of each Block in order (cheaper than iterating Blocks)."""
        remaining = self._limit
        if remaining == 0:
            return
        blocks = self._blocks
        i = self._idx
        off = self._offset
        while remaining > 0:
            mv = blocks[i]._mv
            n = len(mv) - off
            if n > remaining:
                yield mv[off : off + remaining]
                return
            yield mv[off:] if off else mv
            remaining -= n
            off = 0
            i += 1

    def __iter__(self) -> Iterator[Block]:
        # views() yields a stored Block's own memoryview where the Block is
        # whole: yield that Block itself, and a new Block over any part.
        for b, mv in zip(islice(self._blocks, self._idx, None), self.views(), strict=False):
            yield b if mv is b._mv else _block_of(mv)

    def to_bytes(self) -> bytes:
        """Return a copy of all bytes in the sequence (for tests and diagnostics)."""
        return b"".join(self.views())

    def __str__(self) -> str:
        return "[" + " ".join(f"Block(len={n})" for n in map(len, self.views())) + "]"

    def __repr__(self) -> str:
        return f"BlockSeq({self})"


_EMPTY = BlockSeq()


def copy_seq(dsts: BlockSeq, srcs: BlockSeq) -> tuple[int, Exception | None]:
    """Copy ``min(dsts.num_bytes(), srcs.num_bytes())`` bytes from ``srcs`` to ``dsts``.

    Returns ``(bytes copied, err)``. Host memory cannot fault, so the copy is
    never partial and ``err`` is always None; the tuple keeps gVisor's shape.
    If ``dsts`` and ``srcs`` overlap, the data stored in ``dsts`` is
    unspecified.
    """
    # Fast path: one block each (the common single-buffer read/write).
    if len(dsts._blocks) == 1 and len(srcs._blocks) == 1:
        d = dsts._blocks[0]._mv
        s = srcs._blocks[0]._mv
        doff = dsts._offset
        soff = srcs._offset
        n = dsts._limit
        if srcs._limit < n:
            n = srcs._limit
        if n:
            d[doff : doff + n] = s[soff : soff + n]
        return n, None
    done = 0
    dit = dsts.views()
    sit = srcs.views()
    dv: memoryview | None = next(dit, None)
    sv: memoryview | None = next(sit, None)
    while dv is not None and sv is not None:
        nd = len(dv)
        ns = len(sv)
        if nd == ns:
            dv[:] = sv
            done += nd
            dv = next(dit, None)
            sv = next(sit, None)
        elif nd < ns:
            dv[:] = sv[:nd]
            done += nd
            sv = sv[nd:]
            dv = next(dit, None)
        else:
            dv[:ns] = sv
            done += ns
            dv = dv[ns:]
            sv = next(sit, None)
    return done, None


def zero_seq(dsts: BlockSeq) -> tuple[int, Exception | None]:
    """Set every byte of ``dsts`` to 0; return ``(dsts.num_bytes(), None)`` (never partial)."""
    done = 0
    for mv in dsts.views():
        done += zero_view(mv)
    return done, None
