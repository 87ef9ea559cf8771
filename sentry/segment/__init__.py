"""A sorted set of non-overlapping address segments (gVisor's ``pkg/segment``).

Used for vmas and pmas alike. A segment is any object with ``start`` and
``end`` attributes plus two operations:

* ``split(at) -> right``: shrink ``self`` to ``[start, at)`` and return a new
  segment for ``[at, end)`` (file offsets advanced accordingly);
* ``mergeable(right) -> bool`` and ``absorb(right)``: whether ``right``
  (which starts at ``self.end``) can join ``self``, and extend ``self`` over
  it.

Lookups are O(log n) by bisection; inserts and removals are O(n) list
operations, which is cheap for the few hundred segments a process has.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Segment(Protocol):
    start: int
    end: int

    def split(self: _S, at: int) -> _S: ...

    def mergeable(self: _S, right: _S) -> bool: ...

    def absorb(self: _S, right: _S) -> None: ...


_S = TypeVar("_S", bound=Segment)


class SegmentSet(Generic[_S]):
    """Segments sorted by start; ``starts`` mirrors them for bisection.

    Invariant: segments are non-empty, sorted and non-overlapping.
    """

    __slots__ = ("segs", "starts")

    def __init__(self) -> None:
        self.segs: list[_S] = []
        self.starts: list[int] = []

    def __len__(self) -> int:
        return len(self.segs)

    def __iter__(self) -> Iterator[_S]:
        return iter(self.segs)

    def first_after(self, addr: int) -> int:
        """Index of the first segment with ``end > addr`` (len(self) if none)."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0 and self.segs[i].end > addr:
            return i
        return i + 1

    def find(self, addr: int) -> _S | None:
        """The segment containing ``addr``, or None."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0:
            s = self.segs[i]
            if s.end > addr:
                return s
        return None

    def overlapping(self, start: int, end: int) -> list[_S]:
        """Segments overlapping ``[start, end)``, in order."""
        i = self.first_after(start)
        segs = self.segs
        out = []
        while i < len(segs) and segs[i].start < end:
            out.append(segs[i])
            i += 1
        return out

    def isolate(self, start: int, end: int) -> tuple[int, int]:
        """Split segments at ``start`` and ``end``; return the index span
        ``[i, j)`` of the segments now lying inside ``[start, end)``."""
        i = self.first_after(start)
        if i < len(self.segs) and self.segs[i].start < start < self.segs[i].end:
            self._insert_at(i + 1, self.segs[i].split(start))
            i += 1
        j = i
        segs = self.segs
        while j < len(segs) and segs[j].start < end:
            if segs[j].end > end:
                self._insert_at(j + 1, segs[j].split(end))
            j += 1
        return i, j

    def insert(self, seg: _S) -> int:
        """Insert a segment that overlaps none; return its index."""
        i = bisect_right(self.starts, seg.start)
        self._insert_at(i, seg)
        return i

    def _insert_at(self, i: int, seg: _S) -> None:
        self.segs.insert(i, seg)
        self.starts.insert(i, seg.start)

    def remove_span(self, i: int, j: int) -> list[_S]:
        """Remove and return segments ``[i, j)``."""
        removed = self.segs[i:j]
        del self.segs[i:j]
        del self.starts[i:j]
        return removed

    def remove_range(self, start: int, end: int) -> list[_S]:
        """Remove ``[start, end)`` from the set (splitting at the edges) and
        return the removed pieces."""
        i, j = self.isolate(start, end)
        return self.remove_span(i, j)

    def merge_range(self, start: int, end: int) -> None:
        """Merge mergeable neighbours among segments touching ``[start, end]``."""
        i = max(self.first_after(start) - 1, 0)
        segs = self.segs
        while i + 1 < len(segs) and segs[i].start <= end:
            left, right = segs[i], segs[i + 1]
            if left.end == right.start and left.mergeable(right):
                left.absorb(right)
                del segs[i + 1]
                del self.starts[i + 1]
            else:
                i += 1

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The unoccupied sub-ranges of ``[start, end)``, in order."""
        out = []
        cur = start
        for s in self.overlapping(start, end):
            if s.start > cur:
                out.append((cur, s.start))
            cur = max(cur, s.end)
        if cur < end:
            out.append((cur, end))
        return out
