"""``MemoryFile``: host memory behind guest anonymous and COW pages.

Compare gVisor's ``pkg/sentry/pgalloc.MemoryFile``. The "file" is an offset
space ``[0, file_size)`` carved out of large anonymous host mappings
(*chunks*), each ``mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)``,
created lazily when allocation first reaches it. Nothing is committed until
touched, so a reservation costs only address space.

Layout and invariants:

* Chunk ``i`` covers file offsets ``[i * chunk_size, (i + 1) * chunk_size)``
  and is one host mapping, so the host memory of any range inside one chunk
  is contiguous. ``allocate`` never returns a range crossing a chunk
  boundary; ``map_internal`` still accepts a crossing range (pmas may merge
  file ranges that happen to be host-contiguous) and raises ``ValueError``
  if the host memory of the two chunks is not adjacent.
* Every page is either *free* (in the free list or at/after the bump
  pointer; its host memory reads as zero) or *allocated* with a reference
  count >= 1. Counts are stored as sorted runs ``[start, end) -> count``,
  with adjacent equal runs merged, so operations cost O(runs touched), never
  O(pages): a 2 MiB range with one count is one run.
* A page whose count drops to zero is freed at once: its host memory goes
  back to the host with ``madvise(MADV_DONTNEED)`` (a private anonymous
  mapping then reads back as zeros) and its offsets join the free list,
  coalesced with neighbours within the chunk, for reuse by later
  allocations. A free extent touching the bump pointer lowers it instead.

Allocation is first fit over the free list (lowest offset first), honouring
the alignment, then the bump pointer. Huge-page-aligned requests come out
2 MiB-aligned in the file; they are 2 MiB-aligned on the host too when the
host placed the chunk on a 2 MiB boundary (recent Linux does for large
anonymous mappings; correctness does not depend on it).

Not thread-safe: the sentry calls it from one thread.
"""

from __future__ import annotations

import ctypes
import mmap
from bisect import bisect_right

from sentry.hostarch import HUGE_PAGE_SIZE, PAGE_SIZE, AccessType
from sentry.memmap.file import FileRange

MAP_NORESERVE: int = getattr(mmap, "MAP_NORESERVE", 0x4000)

DEFAULT_CHUNK_SIZE = 1 << 34
"""16 GiB per chunk. Chunks are only address space until touched; large
chunks keep big COW copies (``allocate(pma_length)``) inside one chunk and
make the crossing case of ``map_internal`` practically unreachable."""


class _Chunk:
    """One host mapping backing ``[start, start + size)`` of the file."""

    __slots__ = ("base", "map", "start", "view")

    def __init__(self, start: int, size: int) -> None:
        self.start = start
        self.map = mmap.mmap(
            -1,
            size,
            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE,
            prot=mmap.PROT_READ | mmap.PROT_WRITE,
        )
        # Take the address through a temporary ctypes export (released at
        # once); the mapping never moves while the mmap object lives.
        anchor = ctypes.c_char.from_buffer(self.map)
        self.base: int = ctypes.addressof(anchor)
        del anchor
        self.view = memoryview(self.map)


class MemoryFile:
    """Page allocator with per-page reference counts over host memory.

    Implements ``sentry.memmap.File``. All offsets and lengths are in bytes
    and must be page-aligned; violations raise ``ValueError`` (except in
    ``map_internal``/``host_address``, which are hot and trust the caller).

    Counters (plain int attributes, cheap to read):

    * ``bytes_allocated``: total bytes ever returned by ``allocate``;
    * ``bytes_freed``: total bytes whose count dropped to zero;
    * ``bytes_in_use``: bytes currently with a count >= 1
      (``bytes_allocated - bytes_freed``);
    * ``allocations``: number of ``allocate`` calls.

    Properties ``file_size`` (the bump pointer: offsets ever handed out lie
    below it) and ``reserved_bytes`` (host address space reserved).
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if chunk_size < HUGE_PAGE_SIZE or chunk_size & (chunk_size - 1):
            raise ValueError(f"chunk_size must be a power of two >= 2 MiB, got {chunk_size:#x}")
        self._chunk_size = chunk_size
        self._chunk_shift = chunk_size.bit_length() - 1
        self._chunks: list[_Chunk] = []
        self._bump = 0
        # Free extents below the bump pointer, sorted, never crossing a chunk.
        self._free_starts: list[int] = []
        self._free_ends: list[int] = []
        # Reference-count runs over allocated pages, sorted and disjoint.
        self._run_starts: list[int] = []
        self._run_ends: list[int] = []
        self._run_counts: list[int] = []
        self.bytes_allocated = 0
        self.bytes_freed = 0
        self.bytes_in_use = 0
        self.allocations = 0

    # -- sizes ---------------------------------------------------------------

    @property
    def chunk_size(self) -> int:
        """Bytes per host mapping; the largest possible allocation."""
        return self._chunk_size

    @property
    def file_size(self) -> int:
        """The bump pointer: every allocated or free-listed offset is below it."""
        return self._bump

    @property
    def reserved_bytes(self) -> int:
        """Host address space reserved by chunks (committed only when touched)."""
        return len(self._chunks) * self._chunk_size

    # -- allocation ----------------------------------------------------------

    def allocate(self, length: int, alignment: int = PAGE_SIZE) -> FileRange:
        """Allocate ``length`` bytes of zeroed memory, each page with count 1.

        Preconditions: ``length`` is a positive multiple of ``PAGE_SIZE``
        and at most ``chunk_size``; ``alignment`` is a power of two between
        ``PAGE_SIZE`` and ``chunk_size``.

        Postconditions: the returned range is ``alignment``-aligned, lies in
        one chunk (host-contiguous), reads as zeros, and every page in it has
        a reference count of exactly 1 (the caller owns that reference).
        """
        if length <= 0 or length % PAGE_SIZE or length > self._chunk_size:
            raise ValueError(f"bad allocation length {length:#x}")
        if alignment < PAGE_SIZE or alignment & (alignment - 1) or alignment > self._chunk_size:
            raise ValueError(f"bad allocation alignment {alignment:#x}")
        start = self._take_free(length, alignment)
        if start < 0:
            start = self._take_bump(length, alignment)
        end = start + length
        self._insert_run(start, end)
        self.bytes_allocated += length
        self.bytes_in_use += length
        self.allocations += 1
        return FileRange(start, end)

    def _take_free(self, length: int, alignment: int) -> int:
        """Carve an aligned range from the first free extent that fits, or -1."""
        fs, fe = self._free_starts, self._free_ends
        mask = alignment - 1
        for k in range(len(fs)):
            a, b = fs[k], fe[k]
            if b - a < length:
                continue
            s = (a + mask) & ~mask
            e = s + length
            if e > b:
                continue
            starts: list[int] = []
            ends: list[int] = []
            if a < s:
                starts.append(a)
                ends.append(s)
            if e < b:
                starts.append(e)
                ends.append(b)
            fs[k : k + 1] = starts
            fe[k : k + 1] = ends
            return s
        return -1

    def _take_bump(self, length: int, alignment: int) -> int:
        """Allocate at the bump pointer, creating chunks as it advances."""
        mask = alignment - 1
        shift = self._chunk_shift
        s = (self._bump + mask) & ~mask
        if s >> shift != (s + length - 1) >> shift:
            # Would cross a chunk boundary: start at the next chunk.
            s = ((s >> shift) + 1) << shift
        if self._bump < s:
            # The alignment gap is fresh (zero) memory: keep it for later.
            self._add_free(self._bump, s)
        e = s + length
        self._bump = e
        while len(self._chunks) << shift < e:
            self._chunks.append(_Chunk(len(self._chunks) << shift, self._chunk_size))
        return s

    def _add_free(self, start: int, end: int) -> None:
        """Add zero-filled ``[start, end)`` (within one chunk) to the free list."""
        fs, fe = self._free_starts, self._free_ends
        i = bisect_right(fs, start)
        boundary = self._chunk_size - 1
        # Coalesce with the left neighbour, but never across a chunk boundary.
        if i > 0 and fe[i - 1] == start and start & boundary:
            i -= 1
            start = fs[i]
            del fs[i], fe[i]
        if i < len(fs) and fs[i] == end and end & boundary:
            end = fe[i]
            del fs[i], fe[i]
        if end == self._bump:
            self._bump = start
            return
        fs.insert(i, start)
        fe.insert(i, end)

    def _release(self, start: int, end: int) -> None:
        """Return freed pages ``[start, end)`` to the host and the free list."""
        self.bytes_freed += end - start
        self.bytes_in_use -= end - start
        shift = self._chunk_shift
        # Split at chunk boundaries: each piece is one host mapping.
        pieces: list[tuple[int, int]] = []
        s = start
        while s < end:
            e = min(end, ((s >> shift) + 1) << shift)
            pieces.append((s, e))
            s = e
        for s, e in pieces:
            chunk = self._chunks[s >> shift]
            chunk.map.madvise(mmap.MADV_DONTNEED, s - chunk.start, e - s)
        # Insert highest first so bump retraction can cascade downwards.
        for s, e in reversed(pieces):
            self._add_free(s, e)
        # A free extent left just below a lowered bump pointer folds into it.
        fs, fe = self._free_starts, self._free_ends
        while fs and fe[-1] == self._bump:
            self._bump = fs.pop()
            fe.pop()

    # -- reference counts ------------------------------------------------------

    def _insert_run(self, start: int, end: int) -> None:
        """Record a fresh allocation ``[start, end)`` with count 1."""
        rs, re, rc = self._run_starts, self._run_ends, self._run_counts
        i = bisect_right(rs, start)
        if i > 0 and re[i - 1] == start and rc[i - 1] == 1:
            re[i - 1] = end
            if i < len(rs) and rs[i] == end and rc[i] == 1:
                re[i - 1] = re[i]
                del rs[i], re[i], rc[i]
            return
        if i < len(rs) and rs[i] == end and rc[i] == 1:
            rs[i] = start
            return
        rs.insert(i, start)
        re.insert(i, end)
        rc.insert(i, 1)

    def _isolate(self, start: int, end: int) -> tuple[int, int]:
        """Split runs so ``[start, end)`` is exactly runs ``[i, j)``.

        Raises ``ValueError`` if some page in the range is not allocated.
        """
        if start >= end or start % PAGE_SIZE or end % PAGE_SIZE:
            raise ValueError(f"bad file range [{start:#x}, {end:#x})")
        rs, re, rc = self._run_starts, self._run_ends, self._run_counts
        i = bisect_right(rs, start) - 1
        if i < 0 or re[i] <= start:
            raise ValueError(f"file range [{start:#x}, {end:#x}) is not allocated")
        if rs[i] < start:
            rs.insert(i + 1, start)
            re.insert(i + 1, re[i])
            rc.insert(i + 1, rc[i])
            re[i] = start
            i += 1
        k = i
        n = len(rs)
        while re[k] < end:
            if k + 1 >= n or rs[k + 1] != re[k]:
                raise ValueError(f"file range [{start:#x}, {end:#x}) is not allocated")
            k += 1
        if re[k] > end:
            rs.insert(k + 1, end)
            re.insert(k + 1, re[k])
            rc.insert(k + 1, rc[k])
            re[k] = end
        return i, k + 1

    def _merge_window(self, i: int, j: int) -> None:
        """Merge equal adjacent runs among indices ``[i - 1, j + 1)``."""
        rs, re, rc = self._run_starts, self._run_ends, self._run_counts
        lo = max(i - 1, 0)
        hi = min(j + 1, len(rs))
        if hi - lo < 2:
            return
        ns, ne, nc = [rs[lo]], [re[lo]], [rc[lo]]
        for k in range(lo + 1, hi):
            if rs[k] == ne[-1] and rc[k] == nc[-1]:
                ne[-1] = re[k]
            else:
                ns.append(rs[k])
                ne.append(re[k])
                nc.append(rc[k])
        if len(ns) != hi - lo:
            rs[lo:hi] = ns
            re[lo:hi] = ne
            rc[lo:hi] = nc

    def inc_ref(self, fr: FileRange) -> None:
        """Take one more reference on every page of ``fr``.

        Precondition: every page in ``fr`` is allocated (``ValueError``
        otherwise; counts are unchanged except for harmless run splits).
        """
        i, j = self._isolate(fr.start, fr.end)
        rc = self._run_counts
        for k in range(i, j):
            rc[k] += 1
        self._merge_window(i, j)

    def dec_ref(self, fr: FileRange) -> None:
        """Drop one reference on every page of ``fr``; free pages reaching zero.

        Precondition: every page in ``fr`` is allocated. Freed pages are
        ``MADV_DONTNEED``-ed (their contents are lost) and reused by later
        allocations.
        """
        i, j = self._isolate(fr.start, fr.end)
        rs, re, rc = self._run_starts, self._run_ends, self._run_counts
        freed: list[tuple[int, int]] = []
        for k in range(i, j):
            rc[k] -= 1
            if rc[k] == 0:
                if freed and freed[-1][1] == rs[k]:
                    freed[-1] = (freed[-1][0], re[k])
                else:
                    freed.append((rs[k], re[k]))
        if freed:
            keep = [k for k in range(i, j) if rc[k]]
            rs[i:j] = [rs[k] for k in keep]
            re[i:j] = [re[k] for k in keep]
            rc[i:j] = [rc[k] for k in keep]
            j = i + len(keep)
        self._merge_window(i, j)
        for s, e in freed:
            self._release(s, e)

    def has_unique_ref(self, fr: FileRange) -> bool:
        """Return True if every page of ``fr`` is allocated with count exactly 1.

        This is the COW "sole owner" test: such pages may be written in
        place instead of copied.
        """
        start, end = fr
        rs, re, rc = self._run_starts, self._run_ends, self._run_counts
        i = bisect_right(rs, start) - 1
        if i < 0 or re[i] <= start:
            return False
        pos = start
        n = len(rs)
        while pos < end:
            if i >= n or rs[i] > pos or rc[i] != 1:
                return False
            pos = re[i]
            i += 1
        return True

    def ref_count(self, offset: int) -> int:
        """Return the reference count of the page containing ``offset`` (0 if free)."""
        rs = self._run_starts
        i = bisect_right(rs, offset) - 1
        if i >= 0 and self._run_ends[i] > offset:
            return self._run_counts[i]
        return 0

    def runs(self) -> list[tuple[int, int, int]]:
        """Return the reference-count runs ``(start, end, count)`` (for tests, debugging)."""
        return list(zip(self._run_starts, self._run_ends, self._run_counts, strict=True))

    def free_extents(self) -> list[tuple[int, int]]:
        """Return the free list ``(start, end)`` below the bump pointer."""
        return list(zip(self._free_starts, self._free_ends, strict=True))

    # -- access ----------------------------------------------------------------

    def map_internal(self, fr: FileRange, at: AccessType) -> memoryview:
        """Return a writable ``'B'`` memoryview over the host bytes of ``fr``.

        A slice of the chunk's view: O(1), no copy. Precondition: ``fr`` is
        non-empty and lies below ``file_size`` (not checked: this is hot).
        A range crossing chunks is served if the chunks are host-adjacent,
        else ``ValueError``.
        """
        start, end = fr
        chunk = self._chunks[start >> self._chunk_shift]
        off = start - chunk.start
        if end - chunk.start <= self._chunk_size:
            return chunk.view[off : end - chunk.start]
        return self._crossing_view(start, end)

    def _crossing_view(self, start: int, end: int) -> memoryview:
        shift = self._chunk_shift
        for idx in range((start >> shift) + 1, ((end - 1) >> shift) + 1):
            prev, cur = self._chunks[idx - 1], self._chunks[idx]
            if prev.base + self._chunk_size != cur.base:
                raise ValueError(f"file range [{start:#x}, {end:#x}) is not host-contiguous")
        array = (ctypes.c_char * (end - start)).from_address(self.host_address(start))
        return memoryview(array).cast("B")

    def host_address(self, offset: int) -> int:
        """Return the host address of file offset ``offset``.

        ``offset`` may equal the end of the last chunk (one past the end).
        """
        idx = offset >> self._chunk_shift
        chunks = self._chunks
        if idx < len(chunks):
            chunk = chunks[idx]
            return chunk.base + (offset - chunk.start)
        if idx == len(chunks) and idx > 0 and offset == idx << self._chunk_shift:
            last = chunks[-1]
            return last.base + self._chunk_size
        raise ValueError(f"offset {offset:#x} is beyond the memory file")
