"""The region table of an address space: pure bookkeeping, no engine.

The table mirrors the engine's region list one to one: each row is a
region the address space installed, ``(start, end, perms, host address,
file)``. Unicorn splits a region on a partial unmap or protect exactly as
:meth:`RegionTable.cut` and :meth:`RegionTable.reprotect` split rows, so
``len(table)`` equals Unicorn's region count. Unicorn refuses to unmap or
protect a range with holes, so those methods return the engine calls to
make over the mapped parts only: ``cut`` one unmap per contiguous run of
regions, ``reprotect`` one protect per region whose permissions change.
The table also keeps each mapped ``File`` alive (the engine points into
its host memory).

Permissions are bit sets of Linux's ``PROT_*`` values, which are also
Unicorn's, so the engine takes them as they are.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import NamedTuple

from sentry.abi.mm import PROT_EXEC, PROT_READ, PROT_WRITE
from sentry.hostarch import AccessType
from sentry.memmap.file import File

__all__ = ["PERMS_OF", "PROT_EXEC", "PROT_READ", "PROT_WRITE", "Cut", "Region", "RegionTable", "access_of"]

PERMS_OF: dict[AccessType, int] = {
    AccessType(r, w, x): (PROT_READ if r else 0) | (PROT_WRITE if w else 0) | (PROT_EXEC if x else 0)
    for r in (False, True)
    for w in (False, True)
    for x in (False, True)
}
"""The permission bits of each AccessType."""


def access_of(perms: int) -> AccessType:
    """The AccessType of permission bits."""
    return AccessType(bool(perms & PROT_READ), bool(perms & PROT_WRITE), bool(perms & PROT_EXEC))


class Region(NamedTuple):
    """A row of the table."""

    start: int
    end: int
    perms: int
    host: int
    file: File


class Cut(NamedTuple):
    """What removing a range from the table asks of the engine."""

    invalidate: list[tuple[int, int]]
    """Executable pieces removed: translated code to drop, in order."""
    unmap: list[tuple[int, int]]
    """Contiguous runs of removed pieces, one engine unmap each."""


class RegionTable:
    """Regions sorted by start, disjoint (parallel lists, for bisect)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._perms: list[int] = []
        self._hosts: list[int] = []
        self._files: list[File] = []

    def __len__(self) -> int:
        return len(self._starts)

    def __iter__(self) -> Iterator[Region]:
        return self._rows(0, len(self._starts))

    def regions(self) -> list[tuple[int, int, AccessType]]:
        """``(start, end, perms)`` of every region, sorted."""
        return [(s, e, access_of(p)) for s, e, p in zip(self._starts, self._ends, self._perms, strict=True)]

    def clear(self) -> None:
        """Forget every region (the engine is gone)."""
        for column in (self._starts, self._ends, self._perms, self._hosts, self._files):
            column.clear()

    def _overlapping(self, start: int, end: int) -> tuple[int, int]:
        """Indices ``[i, j)`` of the regions overlapping ``[start, end)``."""
        i = bisect_right(self._starts, start) - 1
        if i < 0 or self._ends[i] <= start:
            i += 1
        j = bisect_left(self._starts, end, lo=i)
        return i, j

    def _rows(self, i: int, j: int) -> Iterator[Region]:
        return map(Region._make, zip(self._starts[i:j], self._ends[i:j], self._perms[i:j], self._hosts[i:j],
                                     self._files[i:j], strict=True))

    def _replace(self, i: int, j: int, new: list[Region]) -> None:
        """Replace rows ``[i, j)`` by ``new`` (sorted, disjoint)."""
        self._starts[i:j] = [n.start for n in new]
        self._ends[i:j] = [n.end for n in new]
        self._perms[i:j] = [n.perms for n in new]
        self._hosts[i:j] = [n.host for n in new]
        self._files[i:j] = [n.file for n in new]

    # -- queries ------------------------------------------------------------------

    def exact(self, start: int, end: int, host: int) -> Region | None:
        """The region that is exactly ``[start, end)`` over host memory at
        ``host`` (the same mapping again), if there is one."""
        i, j = self._overlapping(start, end)
        if j - i == 1 and self._starts[i] == start and self._ends[i] == end and self._hosts[i] == host:
            return Region(start, end, self._perms[i], host, self._files[i])
        return None

    def overlaps(self, start: int, end: int) -> bool:
        """Whether any region overlaps ``[start, end)``."""
        i, j = self._overlapping(start, end)
        return i < j

    # -- changes ------------------------------------------------------------------

    def insert(self, start: int, end: int, perms: int, host: int, file: File) -> None:
        """Add a region. Precondition: nothing overlaps ``[start, end)``."""
        i = bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)
        self._perms.insert(i, perms)
        self._hosts.insert(i, host)
        self._files.insert(i, file)

    def update(self, start: int, perms: int, file: File) -> None:
        """Give the region starting at ``start`` new perms and file
        (a remap of the same memory, see :meth:`exact`)."""
        i = bisect_left(self._starts, start)
        assert i < len(self._starts) and self._starts[i] == start, f"no region at {start:#x}"
        self._perms[i] = perms
        self._files[i] = file

    def cut(self, start: int, end: int) -> Cut:
        """Remove ``[start, end)`` from every region (holes allowed),
        keeping the parts outside it (their host addresses follow)."""
        i, j = self._overlapping(start, end)
        cut = Cut([], [])
        if i >= j:
            return cut
        new: list[Region] = []
        run_start = run_end = -1
        for rs, re, rp, rh, rf in self._rows(i, j):
            cs, ce = max(rs, start), min(re, end)
            if rp & PROT_EXEC:
                cut.invalidate.append((cs, ce))
            if cs == run_end:
                run_end = ce
            else:
                if run_start >= 0:
                    cut.unmap.append((run_start, run_end))
                run_start, run_end = cs, ce
            if rs < cs:
                new.append(Region(rs, cs, rp, rh, rf))
            if ce < re:
                new.append(Region(ce, re, rp, rh + (ce - rs), rf))
        cut.unmap.append((run_start, run_end))
        self._replace(i, j, new)
        return cut

    def reprotect(self, start: int, end: int, perms: int) -> list[tuple[int, int, int]]:
        """Give the mapped parts of ``[start, end)`` permissions ``perms``,
        splitting regions at the edges. Returns ``(start, end, old perms)``
        of each piece that changed, in order: one engine protect each."""
        i, j = self._overlapping(start, end)
        changed: list[tuple[int, int, int]] = []
        if i >= j:
            return changed
        new: list[Region] = []
        for r in self._rows(i, j):
            rs, re, rp, rh, rf = r
            if rp == perms:
                new.append(r)
                continue
            cs, ce = max(rs, start), min(re, end)
            changed.append((cs, ce, rp))
            if rs < cs:
                new.append(Region(rs, cs, rp, rh, rf))
            new.append(Region(cs, ce, perms, rh + (cs - rs), rf))
            if ce < re:
                new.append(Region(ce, re, rp, rh + (ce - rs), rf))
        self._replace(i, j, new)
        return changed
