"""Mappables: what a file-backed or shared vma maps (gVisor's ``memmap.Mappable``).

A ``Mappable`` turns offsets within itself into ranges of a ``File`` (host
memory the sentry and Unicorn can both reach). The MemoryManager asks for a
translation when a pma is missing and caches the result in pmas.

Implementations here:

* ``SharedAnonMappable``: MAP_SHARED|MAP_ANONYMOUS memory (Linux backs it
  with a shmem file); pages come from the MemoryFile, allocated on first
  translation and shared by every mapping, including across fork.
* ``HostFileMappable``: a regular host file mapped with ``mmap(2)`` of the
  host fd, so the guest's MAP_SHARED writes reach the file and the sentry
  reads what the file holds. Pages wholly beyond end of file translate to a
  ``BusError`` (SIGBUS for the guest, EFAULT for syscall copies) exactly as
  on Linux.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from typing import NamedTuple, Protocol

from sentry.hostarch import ANY_ACCESS, HUGE_PAGE_SIZE, PAGE_SIZE, READ_WRITE, AccessType
from sentry.memmap.file import File, FileRange


class BusError(Exception):
    """A translation failed because the backing object has no page there
    (access beyond end of file): SIGBUS for a fault, EFAULT for I/O."""


class Translation(NamedTuple):
    """``[source_start, source_end)`` of a mappable is backed by ``file`` at
    ``offset``, with at most ``perms`` allowed."""

    source_start: int
    source_end: int
    file: File
    offset: int
    perms: AccessType


class Mappable(Protocol):
    """Something a vma maps. Offsets are page-aligned."""

    def translate(self, start: int, end: int, at: AccessType) -> tuple[list[Translation], Exception | None]:
        """Translate mappable offsets ``[start, end)``.

        Returns translations covering a prefix of the range, in order and
        without holes; when that prefix is short, the error says why
        (``BusError`` beyond end of file). ``at`` is the access wanted;
        implementations may grant more.
        """
        ...

    def mapped_name(self) -> str:
        """The path /proc/pid/maps shows ("" for none)."""
        ...

    def device_inode(self) -> tuple[int, int]:
        """(device number, inode number) for /proc/pid/maps."""
        ...


class SharedAnonMappable:
    """Shared anonymous memory: page offsets map to MemoryFile pages that
    every mapper shares. Allocated in huge-page units on first touch."""

    def __init__(self, mf: File, size: int) -> None:
        self._mf = mf
        self.size = size
        self._chunks: dict[int, FileRange] = {}  # huge-page index -> backing

    def _chunk(self, index: int) -> FileRange:
        fr = self._chunks.get(index)
        if fr is None:
            fr = self._mf.allocate(HUGE_PAGE_SIZE, HUGE_PAGE_SIZE)  # type: ignore[attr-defined]
            self._chunks[index] = fr
        return fr

    def translate(self, start: int, end: int, at: AccessType) -> tuple[list[Translation], Exception | None]:
        """Translate ``[start, end)``; beyond ``size`` is a BusError."""
        limit = min(end, -(-self.size // PAGE_SIZE) * PAGE_SIZE)
        out: list[Translation] = []
        off = start
        while off < limit:
            index = off // HUGE_PAGE_SIZE
            chunk_end = min((index + 1) * HUGE_PAGE_SIZE, limit)
            fr = self._chunk(index)
            out.append(
                Translation(off, chunk_end, self._mf, fr.start + off - index * HUGE_PAGE_SIZE, ANY_ACCESS)
            )
            off = chunk_end
        return out, (BusError() if limit < end else None)

    def release(self) -> None:
        """Drop the mappable's own references on its pages."""
        for fr in self._chunks.values():
            self._mf.dec_ref(fr)
        self._chunks.clear()

    def mapped_name(self) -> str:
        return "/dev/zero (deleted)"

    def device_inode(self) -> tuple[int, int]:
        return (1, 4)


class HostFileMapping:
    """A ``File`` over ``mmap(2)`` of a host fd: host pointer and internal
    view of the same pages. Writable mappings are MAP_SHARED (writes reach
    the host file); read-only ones are MAP_PRIVATE and never written by the
    sentry, so they see the file's current contents.

    Pages are not reference counted: the host page cache owns them.
    """

    def __init__(self, fd: int, size: int, writable: bool) -> None:
        self.size = size
        self._length = max(-(-size // PAGE_SIZE) * PAGE_SIZE, PAGE_SIZE)
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_COPY
        # Python refuses lengths past EOF; map the file's bytes and reach the
        # rest of the last page (zero-filled by the host) through the pointer.
        self._map = mmap.mmap(fd, size, access=access) if size > 0 else None
        if self._map is not None:
            self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._map))
            self._view = memoryview((ctypes.c_char * self._length).from_address(self._base)).cast("B")
        else:
            self._base = 0
            self._view = memoryview(bytearray(0))

    def map_internal(self, fr: FileRange, at: AccessType) -> memoryview:
        """The host bytes of ``fr`` (precondition: within the mapped pages)."""
        return self._view[fr.start : fr.end]

    def host_address(self, offset: int) -> int:
        return self._base + offset

    def inc_ref(self, fr: FileRange) -> None:
        return None

    def dec_ref(self, fr: FileRange) -> None:
        return None

    @property
    def mapped_pages_end(self) -> int:
        """File offset just past the last page that exists (EOF rounded up)."""
        return -(-self.size // PAGE_SIZE) * PAGE_SIZE


class HostFileMappable:
    """A host regular file as a Mappable. ``path`` is what /proc/pid/maps
    shows; ``fd`` is a host descriptor the mappable owns (dup'ed)."""

    def __init__(self, fd: int, path: str, writable: bool) -> None:
        self._fd = os.dup(fd)
        st = os.fstat(self._fd)
        self.path = path
        self._dev_ino = (st.st_dev, st.st_ino)
        self._writable = writable
        self._mapping: HostFileMapping | None = None

    def _current(self) -> HostFileMapping:
        size = os.fstat(self._fd).st_size
        m = self._mapping
        if m is None or m.size != size:
            # The file changed size: map it afresh; old pmas keep the old
            # mapping object alive through their references.
            m = HostFileMapping(self._fd, size, self._writable)
            self._mapping = m
        return m

    def translate(self, start: int, end: int, at: AccessType) -> tuple[list[Translation], Exception | None]:
        """Translate ``[start, end)``; pages past end of file are a BusError."""
        m = self._current()
        limit = min(end, m.mapped_pages_end)
        if limit <= start:
            return [], BusError()
        perms = READ_WRITE if self._writable else AccessType(True, False, True)
        perms = AccessType(perms.read, perms.write, True)
        tr = [Translation(start, limit, m, start, perms)]
        return tr, (BusError() if limit < end else None)

    def mapped_name(self) -> str:
        return self.path

    def device_inode(self) -> tuple[int, int]:
        dev, ino = self._dev_ino
        # Linux prints the device as major:minor of the new encoding.
        return dev, ino

    def close(self) -> None:
        os.close(self._fd)
