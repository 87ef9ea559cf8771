"""``AddrRange``: a half-open range of addresses.

Compare gVisor's ``pkg/segment/range.go`` (instantiated as
``hostarch.AddrRange``) and ``pkg/hostarch/addr.go``.
"""

from __future__ import annotations

from typing import NamedTuple

from sentry.hostarch.addr import ADDR_MAX, HUGE_PAGE_MASK, PAGE_MASK


class AddrRange(NamedTuple):
    """The addresses ``[start, end)``.

    All methods except :meth:`well_formed` assume the range is well formed
    (``start <= end``). Ends are ints in ``[0, 2**64]``; unlike Go, an end of
    exactly ``2**64`` is representable, but :func:`to_range` never produces one
    (it reports such ranges as overflowing, like gVisor).
    """

    start: int
    end: int

    def well_formed(self) -> bool:
        """Return True if ``start <= end``."""
        return self.start <= self.end

    def length(self) -> int:
        """Return ``end - start``."""
        return self.end - self.start

    def contains(self, x: int) -> bool:
        """Return True if ``start <= x < end``."""
        return self.start <= x < self.end

    def overlaps(self, r2: AddrRange) -> bool:
        """Return True if the ranges share an address (zero-length ranges never overlap)."""
        return self.start < r2.end and r2.start < self.end

    def is_superset_of(self, r2: AddrRange) -> bool:
        """Return True if ``r2`` lies within this range."""
        return self.start <= r2.start and self.end >= r2.end

    def intersect(self, r2: AddrRange) -> AddrRange:
        """Return the intersection; if disjoint, a range of length 0 with unspecified bounds."""
        start = self.start if self.start >= r2.start else r2.start
        end = self.end if self.end <= r2.end else r2.end
        if end < start:
            end = start
        return AddrRange(start, end)

    def can_split_at(self, x: int) -> bool:
        """Return True if splitting at ``x`` gives two non-empty ranges."""
        return self.start < x < self.end

    def is_page_aligned(self) -> bool:
        """Return True if both ends are page-aligned."""
        return (self.start | self.end) & PAGE_MASK == 0

    def is_huge_page_aligned(self) -> bool:
        """Return True if both ends are huge-page-aligned."""
        return (self.start | self.end) & HUGE_PAGE_MASK == 0

    def __str__(self) -> str:
        return f"[{self.start:#x}, {self.end:#x})"

    def __repr__(self) -> str:
        return f"AddrRange({self.start:#x}, {self.end:#x})"


def to_range(addr: int, length: int) -> tuple[AddrRange, bool]:
    """Return ``(AddrRange(addr, addr + length), ok)``.

    ``ok`` is False if ``addr + length`` reaches or passes ``2**64`` (see
    :func:`sentry.hostarch.add_length`); the range then carries the wrapped end.
    """
    end = addr + length
    if end > ADDR_MAX:
        return AddrRange(addr, end & ADDR_MAX), False
    return AddrRange(addr, end), True


def must_to_range(addr: int, length: int) -> AddrRange:
    """Return ``AddrRange(addr, addr + length)``; raise ValueError on overflow."""
    ar, ok = to_range(addr, length)
    if not ok:
        raise ValueError(f"to_range({addr:#x}, {length:#x}) overflows")
    return ar
