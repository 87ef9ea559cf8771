"""``File``: host memory that pmas point into (gVisor's ``memmap.File``).

A pma (platform mapping area) says "guest range ``[a, b)`` is backed by
``file`` at offsets ``fr``". Two parties then reach those bytes:

* the sentry itself, through ``map_internal(fr, at)``: a ``memoryview`` over
  the host bytes (syscall I/O, the loader, COW copies; the caller wraps it
  into ``safemem`` blocks);
* the emulated CPU, through ``host_address(fr.start)``: a host pointer the
  platform hands to ``uc.mem_map_ptr``, so guest stores and the sentry's
  views are the same memory.

Reference counts (``inc_ref``/``dec_ref``) are per page; a pma holds one
reference on each page it covers for as long as it exists. Files without
counted pages (a host file's page cache) accept and ignore them.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from sentry.hostarch import PAGE_SIZE, AccessType


class FileRange(NamedTuple):
    """Offsets ``[start, end)`` within a ``File``.

    Invariant for ranges handed between layers: page-aligned and
    ``start <= end``. Plain ints; the tuple is immutable and cheap.
    """

    start: int
    end: int

    def length(self) -> int:
        """Return ``end - start``."""
        return self.end - self.start

    def well_formed(self) -> bool:
        """Return True if ``start <= end``."""
        return self.start <= self.end

    def is_page_aligned(self) -> bool:
        """Return True if both bounds are multiples of ``PAGE_SIZE``."""
        return self.start % PAGE_SIZE == 0 and self.end % PAGE_SIZE == 0

    def contains(self, offset: int) -> bool:
        """Return True if ``start <= offset < end``."""
        return self.start <= offset < self.end

    def overlaps(self, other: FileRange) -> bool:
        """Return True if the two ranges share at least one offset."""
        return self.start < other.end and other.start < self.end

    def is_superset_of(self, other: FileRange) -> bool:
        """Return True if ``other`` lies within this range."""
        return self.start <= other.start and other.end <= self.end

    def intersect(self, other: FileRange) -> FileRange:
        """Return the overlap; an empty range (``start == end``) if none."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        if end < start:
            end = start
        return FileRange(start, end)

    def __str__(self) -> str:
        return f"[{self.start:#x}, {self.end:#x})"


class File(Protocol):
    """Something pmas map: host memory reachable by the sentry and the CPU.

    Contracts shared by every method: ``fr`` is page-aligned, non-empty and
    lies within memory the file has handed out (for a ``MemoryFile``: pages
    with a reference count of at least one).
    """

    def map_internal(self, fr: FileRange, at: AccessType) -> memoryview:
        """Return one contiguous ``'B'`` memoryview over the host bytes of ``fr``.

        ``len(view) == fr.length()``. ``at`` is the access the caller
        intends (informational; views are always writable host memory).
        The view stays valid while the caller holds references on the pages.
        Postcondition: a range a pma covers is host-contiguous, so one view
        always suffices.
        """
        ...

    def host_address(self, offset: int) -> int:
        """Return the host address of the byte at ``offset``.

        For a range ``fr`` that ``map_internal`` accepts,
        ``host_address(fr.start) + i`` is the address of byte ``i`` of the
        view (the range is host-contiguous), which is what
        ``uc.mem_map_ptr`` needs.
        """
        ...

    def inc_ref(self, fr: FileRange) -> None:
        """Take one more reference on every page of ``fr``."""
        ...

    def dec_ref(self, fr: FileRange) -> None:
        """Drop one reference on every page of ``fr``; pages reaching zero
        are freed (their contents are gone)."""
        ...
