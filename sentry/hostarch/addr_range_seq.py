"""``AddrRangeSeq``: an immutable sequence of AddrRanges (an iovec array).

Compare gVisor's ``pkg/hostarch/addr_range_seq_unsafe.go`` (and Linux's
``struct iov_iter``).

Zero-length AddrRanges are kept and are significant: the MM must still
bounds-check them (Linux's access_ok() checks even zero-length iovecs), so
``is_empty()`` (no ranges at all) is not the same as ``num_bytes() == 0``.

Representation (like gVisor's): ``(ranges, idx, n, offset, limit)``.

* ``n == 0``: empty. ``ranges == ()``, ``offset == limit == 0``.
* ``n == 1``: the single range ``[offset, offset + limit)`` stored inline;
  ``ranges == ()``. This is the syscall hot path (read/write build one).
* ``n >= 2``: a window over the tuple ``ranges``: the ranges
  ``ranges[idx:]`` (``n == len(ranges) - idx``), starting ``offset`` bytes
  into ``ranges[idx]`` and limited to the following ``limit`` bytes. Ranges
  beyond ``limit`` are still iterated, clipped to length 0. Invariants:
  ``offset <= ranges[idx].length()``; ``offset + limit`` <= the combined
  length of ``ranges[idx:]``.

Objects are never mutated after construction; every operation returns a new
sequence (or ``self``), so sequences may be shared freely.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sentry.hostarch.addr_range import AddrRange

_INT64_MAX = (1 << 63) - 1

_new = object.__new__
_mk_range = tuple.__new__


class AddrRangeSeq:
    """An immutable sequence of AddrRanges; zero-length ranges are significant.

    Build one with :meth:`of`, :meth:`from_ranges` or ``AddrRangeSeq()``
    (empty). Iterating yields each range as :meth:`head` would see it
    (advanced by the offset, clipped to the limit), zero-length ones
    included.
    """

    __slots__ = ("_idx", "_limit", "_n", "_offset", "_ranges")

    _ranges: tuple[AddrRange, ...]
    _idx: int
    _n: int
    _offset: int
    _limit: int

    def __init__(self) -> None:
        """Create an empty sequence (prefer :meth:`of` / :meth:`from_ranges`)."""
        self._ranges = ()
        self._idx = 0
        self._n = 0
        self._offset = 0
        self._limit = 0

    # -- construction -----------------------------------------------------

    @classmethod
    def of(cls, ar: AddrRange) -> AddrRangeSeq:
        """Return a sequence holding the single range ``ar``.

        Preconditions: ``ar.well_formed()``; ``ar.length() <= 2**63 - 1``
        (not checked: this is the hot path).
        """
        s = _new(cls)
        s._ranges = ()
        s._idx = 0
        s._n = 1
        s._offset = ar[0]
        s._limit = ar[1] - ar[0]
        return s

    @classmethod
    def from_ranges(cls, ranges: Iterable[AddrRange | tuple[int, int]]) -> AddrRangeSeq:
        """Return a sequence holding ``ranges`` in order (zero-length ones kept).

        Plain ``(start, end)`` tuples are accepted and converted to
        AddrRange. Raises ValueError if a range is not well formed or the
        combined length overflows int64 (gVisor panics in both cases).
        """
        rs = tuple(r if type(r) is AddrRange else AddrRange(r[0], r[1]) for r in ranges)
        total = 0
        for r in rs:
            length = r[1] - r[0]
            if length < 0:
                raise ValueError(f"AddrRange {r} is not well formed")
            total += length
        if total > _INT64_MAX:
            raise ValueError(f"total length of AddrRanges {list(rs)} overflows int64")
        return _from_tuple_limited(rs, 0, total)

    # -- queries ------------------------------------------------------------

    def is_empty(self) -> bool:
        """Return True if the sequence holds no ranges (``num_ranges() == 0``).

        A sequence of only zero-length ranges is *not* empty although its
        ``num_bytes()`` is 0.
        """
        return self._n == 0

    def num_ranges(self) -> int:
        """Return the number of ranges, including zero-length (and clipped) ones."""
        return self._n

    def num_bytes(self) -> int:
        """Return the number of bytes the sequence covers."""
        return self._limit

    def head(self) -> AddrRange:
        """Return the first range, advanced by the offset and clipped to the limit.

        Raises IndexError if the sequence is empty (gVisor panics).
        """
        n = self._n
        if n == 1:
            off = self._offset
            return _mk_range(AddrRange, (off, off + self._limit))
        if n == 0:
            raise IndexError("head of empty AddrRangeSeq")
        r = self._ranges[self._idx]
        off = self._offset
        limit = self._limit
        if off == 0 and r[1] - r[0] <= limit:
            return r
        start = r[0] + off
        end = r[1]
        if end - start > limit:
            end = start + limit
        return _mk_range(AddrRange, (start, end))

    def tail(self) -> AddrRangeSeq:
        """Return the sequence without its first range.

        The remaining limit is reduced by the head's length (never below 0).
        Raises IndexError if the sequence is empty (gVisor panics).
        """
        n = self._n
        if n == 1:
            return _EMPTY
        if n == 0:
            raise IndexError("tail of empty AddrRangeSeq")
        ranges = self._ranges
        i = self._idx
        r = ranges[i]
        tail_limit = self._limit - (r[1] - r[0] - self._offset)
        if tail_limit < 0:
            tail_limit = 0
        return _from_tuple_limited(ranges, i + 1, tail_limit)

    def drop_first(self, n: int) -> AddrRangeSeq:
        """Return the sequence with its first ``n`` bytes omitted.

        * ``n > num_bytes()``: the empty sequence.
        * If the head (as :meth:`head` returns it) has length 0, at least the
          head is dropped, even for ``n == 0``; so the loop
          ``while not ars.is_empty(): ars = ars.drop_first(do_io(ars.head()))``
          terminates even with zero-length ranges.
        * Otherwise ``n`` bytes are consumed across range boundaries, range
          lengths being those :meth:`head` reports (clipped by
          :meth:`take_first`); dropping exactly to the end of a range
          removes that range but keeps the following (possibly zero-length)
          ranges: ``[A(2), B(0)].drop_first(2)`` is ``[B(0)]``, not empty.

        Raises ValueError if ``n < 0`` (gVisor panics).
        """
        limit = self._limit
        if n > limit:
            return _EMPTY
        if n < 0:
            raise ValueError(f"invalid n: {n}")
        nr = self._n
        if nr == 1:
            # limit > 0 here unless the single range is zero-length, which is
            # then dropped; n == limit consumes the whole range.
            if n == limit:
                return _EMPTY
            s = _new(AddrRangeSeq)
            s._ranges = ()
            s._idx = 0
            s._n = 1
            s._offset = self._offset + n
            s._limit = limit - n
            return s
        if nr == 0:
            return _EMPTY
        ranges = self._ranges
        i = self._idx
        off = self._offset
        r = ranges[i]
        # Lengths are those head() reports: clipped to the limit.
        head_len = r[1] - r[0] - off
        if head_len > limit:
            head_len = limit
        if head_len == 0:
            # Drop a zero-length head unconditionally.
            i += 1
            off = 0
            if n == 0:
                return _window(ranges, i, 0, limit)
        elif n == 0:
            return self
        last = len(ranges)
        while n:
            r = ranges[i]
            head_len = r[1] - r[0] - off
            if head_len > limit:
                head_len = limit
            if n < head_len:
                # Dropping ends partway through this range.
                off += n
                limit -= n
                s = _new(AddrRangeSeq)
                if last - i == 1:
                    s._ranges = ()
                    s._idx = 0
                    s._n = 1
                    s._offset = r[0] + off
                    s._limit = limit
                    return s
                s._ranges = ranges
                s._idx = i
                s._n = last - i
                s._offset = off
                s._limit = limit
                return s
            n -= head_len
            limit -= head_len
            i += 1
            off = 0
        return _window(ranges, i, off, limit)


    def take_first(self, n: int) -> AddrRangeSeq:
        """Return the sequence limited to its first ``n`` bytes.

        Never removes ranges: ranges beyond the first ``n`` bytes are clipped
        to length 0 but still iterated. ``n >= num_bytes()`` returns the
        sequence unchanged. Raises ValueError if ``n < 0``.
        """
        if n >= self._limit:
            return self
        if n < 0:
            raise ValueError(f"invalid n: {n}")
        s = _new(AddrRangeSeq)
        s._ranges = self._ranges
        s._idx = self._idx
        s._n = self._n
        s._offset = self._offset
        s._limit = n
        return s


    # -- Python protocol ----------------------------------------------------

    def __iter__(self) -> Iterator[AddrRange]:
        n = self._n
        if n == 0:
            return
        off = self._offset
        limit = self._limit
        if n == 1:
            yield _mk_range(AddrRange, (off, off + limit))
            return
        ranges = self._ranges
        for i in range(self._idx, len(ranges)):
            r = ranges[i]
            start = r[0] + off
            off = 0
            length = r[1] - start
            if length > limit:
                length = limit
            limit -= length
            yield _mk_range(AddrRange, (start, start + length))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AddrRangeSeq):
            return NotImplemented
        return self._limit == other._limit and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __str__(self) -> str:
        return "[" + " ".join(str(ar) for ar in self) + "]"

    def __repr__(self) -> str:
        return f"AddrRangeSeq({self})"


def _window(ranges: tuple[AddrRange, ...], i: int, off: int, limit: int) -> AddrRangeSeq:
    """Build the sequence ``ranges[i:]`` starting ``off`` bytes in, limited to ``limit``."""
    n = len(ranges) - i
    s = _new(AddrRangeSeq)
    if n == 1:
        s._ranges = ()
        s._idx = 0
        s._n = 1
        s._offset = ranges[i][0] + off
        s._limit = limit
        return s
    if n <= 0:
        return _EMPTY
    s._ranges = ranges
    s._idx = i
    s._n = n
    s._offset = off
    s._limit = limit
    return s


def _from_tuple_limited(ranges: tuple[AddrRange, ...], i: int, limit: int) -> AddrRangeSeq:
    """Build the sequence ``ranges[i:]`` limited to ``limit`` bytes (offset 0)."""
    return _window(ranges, i, 0, limit)


_EMPTY = AddrRangeSeq()
