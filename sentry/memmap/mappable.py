"""Mappables: what a file-backed or shared vma maps (gVisor's ``memmap.Mappable``).

A ``Mappable`` turns offsets within itself into ranges of a ``File`` (host
memory the sentry and Unicorn can both reach). The MemoryManager asks for a
translation when a pma is missing and caches the result in pmas.

Lifetime (gVisor's ``MappingIdentity`` ``IncRef``/``DecRef``): every vma
that maps a mappable holds one reference on it, taken when the vma is
created, split or copied for fork and dropped when the vma is removed or
absorbed by a merge. A fresh mappable has no references; the first
``MemoryManager.mmap`` that maps it takes one, and if that mmap fails a
mappable nobody references is released at once. When the count returns
to zero the mappable releases what it holds (a host fd, MemoryFile pages)
and must not be mapped again; a caller that wants to keep a mappable
across several mmaps holds its own reference with ``inc_ref``.

Implementations here:

* ``SharedAnonMappable``: MAP_SHARED|MAP_ANONYMOUS memory (Linux backs it
  with a shmem file); pages come from the MemoryFile, allocated on first
  translation and shared by every mapping, including across fork.
* ``HostFileMappable``: a regular host file mapped with ``mmap(2)`` of the
  host fd, so the guest's MAP_SHARED writes reach the file and the sentry
  reads what the file holds. Pages wholly beyond end of file translate to a
  ``BusError`` (SIGBUS for the guest, EFAULT for syscall copies) exactly as
  on Linux.

Host files the sentry itself truncates (``host_file_truncated``, called by
the host file system for ftruncate, truncate and O_TRUNC) have their pages
past the new end dropped from every address space that faulted them in
(Linux ``truncate_pagecache``, private copies included), so the next guest
access faults and gets SIGBUS: no stale host mapping past end of file is
ever touched (that would be a SIGBUS of the sentry itself). Other host
processes changing the files is outside the sandbox's assumption of
exclusive access (docs/vfs.md).

Executables being run are write-denied (``deny_write``/``allow_write``,
Linux ``exe_file_deny_write_access``): opening one for writing or
truncating it is ETXTBSY (``write_denied``). Conversely files open for
writing (``get_write_access``/``put_write_access``: host file descriptions
and shared writable mappings) cannot be executed (``has_writers``).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import weakref
from typing import Any, NamedTuple, Protocol

from sentry.hostarch import ANY_ACCESS, HUGE_PAGE_SIZE, PAGE_SIZE, READ_WRITE, AccessType
from sentry.hostfd import room
from sentry.memmap.file import File, FileRange
from sentry.memmap.write_access import get_write_access, put_write_access


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

    def inc_ref(self) -> None:
        """Take a reference (one per vma mapping this)."""
        ...

    def dec_ref(self) -> None:
        """Drop a reference; at zero the mappable releases its resources.

        Precondition: a reference is held.
        """
        ...

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

    def add_space(self, space: MappingSpace) -> None:
        """``space`` now holds (or may hold) translations of this mappable;
        a mappable whose memory can vanish (a truncated host file) tells
        it later through ``invalidate_mappable``."""
        ...


class MappingSpace(Protocol):
    """What holds translations of a mappable (a MemoryManager)."""

    def invalidate_mappable(self, mappable: object, start: int) -> None:
        """Drop every translation of ``mappable`` at offsets >= ``start``
        (page-aligned), private copies included."""
        ...


_HOST_MAPPABLES: dict[tuple[int, int], weakref.WeakSet[HostFileMappable]] = {}


def host_file_truncated(dev: int, ino: int, size: int) -> None:
    """The host file (``dev``, ``ino``) now has ``size`` bytes: every
    address space drops its translations of the pages wholly past the new
    end of file (see the module docstring)."""
    for m in list(_HOST_MAPPABLES.get((dev, ino), ())):
        m.truncated(size)


def has_shared_writable_mappings(key: tuple[int, int]) -> bool:
    """Whether a shared mapping that may write the host file ``key``
    exists (Linux ``mapping_writably_mapped``: VM_MAYWRITE, whatever its
    current protection): memfd's F_SEAL_WRITE is EBUSY then."""
    return any(m._writable and not m.released for m in _HOST_MAPPABLES.get(key, ()))


class RefCounted:
    """A reference count starting at zero; ``_release`` runs when it
    returns to zero (see the module docstring for the protocol)."""

    _refs: int = 0
    _released: bool = False

    @property
    def refs(self) -> int:
        """The number of references held (vmas mapping this)."""
        return self._refs

    @property
    def released(self) -> bool:
        """True once the count returned to zero and resources were freed."""
        return self._released

    def inc_ref(self) -> None:
        """Take a reference. Raises RuntimeError on a released object."""
        if self._released:
            raise RuntimeError(f"{self!r} was released and cannot be mapped again")
        self._refs += 1

    def dec_ref(self) -> None:
        """Drop a reference; release at zero. Raises RuntimeError if none is held."""
        if self._refs <= 0:
            raise RuntimeError(f"{self!r}: dec_ref without a reference")
        self._refs -= 1
        if self._refs == 0:
            self._released = True
            self._release()

    def release_if_unreferenced(self) -> None:
        """Release now if nobody holds a reference (a fresh mappable whose
        mmap failed, or one its creator never mapped). Idempotent."""
        if self._refs == 0 and not self._released:
            self._released = True
            self._release()

    def _release(self) -> None:
        """Free what the object holds (subclasses)."""


class SharedAnonMappable(RefCounted):
    """Shared anonymous memory: page offsets map to MemoryFile pages that
    every mapper shares. Allocated in huge-page units on first touch; the
    mappable's own references on them go when the last vma does."""

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

    def _release(self) -> None:
        """Drop the mappable's own references on its pages (pmas hold
        their own, so pages still mapped somewhere stay allocated)."""
        for fr in self._chunks.values():
            self._mf.dec_ref(fr)
        self._chunks.clear()

    def release(self) -> None:
        """Release now if unreferenced (kept for callers of the old API)."""
        self.release_if_unreferenced()

    def mapped_name(self) -> str:
        return "/dev/zero (deleted)"

    def add_space(self, space: MappingSpace) -> None:
        """Nothing to tell mappers: shared anonymous memory never shrinks."""

    def device_inode(self) -> tuple[int, int]:
        return (1, 4)


#: Host files are mapped in windows of this many bytes (file-offset
#: aligned), so mapping one page of a huge sparse file costs one window,
#: never the whole file (issue 19). A multiple of the fault window.
HOST_WINDOW_SIZE = 8 * HUGE_PAGE_SIZE
_MAP_NORESERVE = 0x4000


class HostMapError(Exception):
    """The host refused to map a window of a file (ENOMEM, EMFILE...): the
    fault becomes SIGBUS for the guest, a copy EFAULT; never a sentry
    death."""


class HostFileMapping:
    """A ``File`` over ``mmap(2)`` of a host fd, one window at a time.

    Offsets are file offsets. Each ``HOST_WINDOW_SIZE`` window is mapped on
    first translation and stays mapped while this object lives; host memory
    is contiguous within a window only (``translate`` never crosses one, and
    pmas merge only across contiguous host addresses). Writable mappings
    are MAP_SHARED (writes reach the host file); read-only ones MAP_PRIVATE
    with MAP_NORESERVE (no commit charge) and never written by the sentry,
    so they see the file's current contents.

    Pages are not reference counted: the host page cache owns them. The fd
    is the mappable's; windows are only created while it is open.
    """

    def __init__(self, fd: int, size: int, writable: bool) -> None:
        self.size = size
        self._fd = fd
        self._writable = writable
        self._windows: dict[int, Any] = {}  # window index -> ctypes array (keeps its mmap alive)

    def window(self, index: int) -> Any:
        """The ctypes array over window ``index`` (mapped now if needed).
        Raises HostMapError if the host refuses."""
        w = self._windows.get(index)
        if w is not None:
            return w
        start = index * HOST_WINDOW_SIZE
        length = min(HOST_WINDOW_SIZE, self.size - start)
        if length <= 0:
            raise HostMapError(f"window {index} lies past end of file")
        flags = mmap.MAP_SHARED if self._writable else mmap.MAP_PRIVATE | _MAP_NORESERVE
        try:
            # Python refuses lengths past EOF; map the file's bytes and reach
            # the rest of the last page (zero-filled by the host) by address.
            m = mmap.mmap(self._fd, length, flags=flags, prot=mmap.PROT_READ | mmap.PROT_WRITE, offset=start)
        except (OSError, ValueError) as e:
            raise HostMapError(str(e)) from None
        base = ctypes.addressof(ctypes.c_char.from_buffer(m))
        w = (ctypes.c_char * (-(-length // PAGE_SIZE) * PAGE_SIZE)).from_address(base)
        w.host_map = m  # type: ignore[attr-defined]  # views of w keep w, and so the mapping, alive
        self._windows[index] = w
        return w

    def map_internal(self, fr: FileRange, at: AccessType) -> memoryview:
        """The host bytes of ``fr``. Precondition: within one window that
        ``translate`` mapped, and within the file's pages."""
        index = fr.start // HOST_WINDOW_SIZE
        base = index * HOST_WINDOW_SIZE
        return memoryview(self.window(index)).cast("B")[fr.start - base : fr.end - base]

    def host_address(self, offset: int) -> int:
        index = offset // HOST_WINDOW_SIZE
        return ctypes.addressof(self.window(index)) + offset - index * HOST_WINDOW_SIZE

    def inc_ref(self, fr: FileRange) -> None:
        return None

    def dec_ref(self, fr: FileRange) -> None:
        return None

    @property
    def mapped_pages_end(self) -> int:
        """File offset just past the last page that exists (EOF rounded up)."""
        return -(-self.size // PAGE_SIZE) * PAGE_SIZE


class HostFileMappable(RefCounted):
    """A host regular file as a Mappable. ``path`` is what /proc/pid/maps
    shows; the mappable owns a dup of ``fd``, closed (and its host mapping
    dropped) when the last vma goes, or by ``close()`` if never mapped.

    The host mapping objects themselves are freed by garbage collection
    once no pma or address-space region refers to them: Unicorn may still
    point into them until the address space drops its regions.
    """

    def __init__(self, fd: int, path: str, writable: bool) -> None:
        room()  # EMFILE rather than eat the sentry's reserve (see sentry.hostfd)
        self._fd = os.dup(fd)
        st = os.fstat(self._fd)
        self.path = path
        self._dev_ino = (st.st_dev, st.st_ino)
        self._writable = writable
        self._mapping: HostFileMapping | None = None
        self._spaces: weakref.WeakSet[MappingSpace] = weakref.WeakSet()
        if writable:
            get_write_access(self._dev_ino)  # a shared writable mapping writes the file
        _HOST_MAPPABLES.setdefault(self._dev_ino, weakref.WeakSet()).add(self)

    def add_space(self, space: MappingSpace) -> None:
        """``space`` now holds (or may hold) translations of this file."""
        self._spaces.add(space)

    def truncated(self, size: int) -> None:
        """The file shrank (or grew) to ``size``: spaces drop what lies past
        its last page; the next translation maps the file afresh."""
        start = -(-size // PAGE_SIZE) * PAGE_SIZE
        for space in list(self._spaces):
            space.invalidate_mappable(self, start)
        self._mapping = None

    def _current(self) -> HostFileMapping:
        if self._fd < 0:
            raise RuntimeError(f"{self.path}: mappable used after release")
        size = os.fstat(self._fd).st_size
        m = self._mapping
        if m is None or m.size != size:
            # The file changed size: map it afresh; old pmas keep the old
            # mapping object alive through their references.
            m = HostFileMapping(self._fd, size, self._writable)
            self._mapping = m
        return m

    def translate(self, start: int, end: int, at: AccessType) -> tuple[list[Translation], Exception | None]:
        """Translate ``[start, end)``, one translation per host window;
        pages past end of file, or a window the host cannot map, are a
        BusError."""
        m = self._current()
        limit = min(end, m.mapped_pages_end)
        if limit <= start:
            return [], BusError()
        perms = READ_WRITE if self._writable else AccessType(True, False, True)
        perms = AccessType(perms.read, perms.write, True)
        out: list[Translation] = []
        off = start
        while off < limit:
            index = off // HOST_WINDOW_SIZE
            piece_end = min((index + 1) * HOST_WINDOW_SIZE, limit)
            try:
                m.window(index)
            except HostMapError as e:
                return out, BusError(str(e))
            out.append(Translation(off, piece_end, m, off, perms))
            off = piece_end
        return out, (BusError() if limit < end else None)

    def mapped_name(self) -> str:
        return self.path

    def device_inode(self) -> tuple[int, int]:
        dev, ino = self._dev_ino
        # Linux prints the device as major:minor of the new encoding.
        return dev, ino

    @property
    def fd(self) -> int:
        """The owned host descriptor (-1 once released)."""
        return self._fd

    def _release(self) -> None:
        fd, self._fd = self._fd, -1
        self._mapping = None
        if self._writable:
            put_write_access(self._dev_ino)
        if fd >= 0:
            os.close(fd)

    def close(self) -> None:
        """Creator-side release of a mappable that may never have been
        mapped: closes the fd now if no vma holds a reference (otherwise
        the last vma's removal does). Idempotent."""
        self.release_if_unreferenced()

    def __repr__(self) -> str:
        return f"HostFileMappable({self.path!r}, refs={self._refs})"
