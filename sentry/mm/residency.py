"""msync, mincore and memory locking (Linux ``mm/msync.c``,
``mm/mincore.c``, ``mm/mlock.c``; gVisor ``mm/syscalls.go``).

Guest memory never leaves the memory file or the host file behind it, so
locking changes nothing about paging: what it records is the vma flag the
guest can observe (msync's EBUSY for MS_INVALIDATE, /proc's VmLck) and the
RLIMIT_MEMLOCK accounting. A page is resident when a pma backs it (it was
touched); file pages never touched count as not resident, as on Linux
with a cold page cache.
"""

from __future__ import annotations

from sentry.abi.mm import (
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MS_ASYNC,
    MS_INVALIDATE,
    MS_SYNC,
)
from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import EAGAIN, EBUSY, EINVAL, ENOMEM, EPERM
from sentry.mm.remap import MemoryManagerRemap

_PAGE_MASK = ~(PAGE_SIZE - 1)
_U64 = 1 << 64


def _page_range(addr: int, length: int) -> tuple[int, int]:
    """``[addr rounded down, end rounded up)``, as mlock rounds its range."""
    start = addr & _PAGE_MASK
    end = (addr + length + PAGE_SIZE - 1) & _PAGE_MASK
    return start, end


class MemoryManagerResidency(MemoryManagerRemap):
    """msync, mincore, mlock and friends over the vmas and pmas."""

    #: mlockall(MCL_FUTURE): new mappings are locked.
    lock_future = False

    def msync(self, addr: int, length: int, flags: int) -> None:
        """Linux ``msync``: EINVAL for unknown or conflicting flags or an
        unaligned address; ENOMEM for a wrapping range, or (after the
        mapped parts) one with unmapped pages, at once for MS_SYNC; EBUSY
        for MS_INVALIDATE over locked memory. The data is already in the
        memory file or the host file, so nothing is written back."""
        if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or addr & ~_PAGE_MASK:
            raise EINVAL
        if flags & MS_ASYNC and flags & MS_SYNC:
            raise EINVAL
        end = addr + ((length + PAGE_SIZE - 1) & _PAGE_MASK)
        if end >= _U64 or end < addr:
            raise ENOMEM
        if end == addr:
            return
        pos, unmapped = addr, False
        for v in self.vmas.overlapping(addr, end):
            if pos < v.start:
                if flags == MS_SYNC:
                    raise ENOMEM
                unmapped = True
            if flags & MS_INVALIDATE and v.locked:
                raise EBUSY
            pos = v.end
            if pos >= end:
                break
        if pos < end or unmapped:
            raise ENOMEM

    def mincore(self, addr: int, length: int) -> bytes:
        """One byte per page of ``[addr, addr + length)``: 1 where a pma
        backs it. EINVAL for an unaligned address, ENOMEM past the top of
        the address space or for an unmapped page."""
        if addr & ~_PAGE_MASK:
            raise EINVAL
        end = addr + length
        if end > self.layout.max_addr or end < addr:
            raise ENOMEM
        end = (end + PAGE_SIZE - 1) & _PAGE_MASK
        if end == addr:
            return b""
        if self.vmas.gaps(addr, end):
            raise ENOMEM
        out = bytearray((end - addr) // PAGE_SIZE)
        for p in self.pmas.overlapping(addr, end):
            for page in range(max(p.start, addr), min(p.end, end), PAGE_SIZE):
                out[(page - addr) // PAGE_SIZE] = 1
        return bytes(out)

    def locked_bytes(self) -> int:
        """Bytes in locked vmas (Linux ``mm->locked_vm``, VmLck)."""
        return sum(v.end - v.start for v in self.vmas if v.locked)

    def _locked_in(self, start: int, end: int) -> int:
        return sum(min(v.end, end) - max(v.start, start) for v in self.vmas.overlapping(start, end) if v.locked)

    def check_lock_limit(self, new_bytes: int, limit: int | None, *, start: int = 0, end: int = 0) -> bool:
        """Whether locking ``new_bytes`` more (of which ``[start, end)``
        may already be locked) stays within ``limit`` (None: unlimited, as
        with CAP_IPC_LOCK)."""
        if limit is None:
            return True
        total = self.locked_bytes() + new_bytes - (self._locked_in(start, end) if end > start else 0)
        return total <= limit

    def set_locked(self, addr: int, length: int, locked: bool) -> None:
        """Lock or unlock the vmas of the page-rounded range (splitting
        them); ENOMEM for unmapped pages (the mapped ones still change),
        EINVAL for a wrapping range."""
        start, end = _page_range(addr, length)
        if end < start or end > _U64:
            raise EINVAL
        if end == start:
            return
        first = self.vmas.find(start)
        if first is None:
            raise ENOMEM
        for v in self.vmas.overlapping(start, end):
            if v.locked != locked:
                i, _ = self.vmas.isolate(max(v.start, start), min(v.end, end))
                self.vmas.segs[i].locked = locked
        self.vmas.merge_range(start, end)
        if self.vmas.gaps(start, end):
            raise ENOMEM

    def mlock(self, addr: int, length: int, limit: int | None, may_lock: bool) -> None:
        """mlock/mlock2: EPERM when locking is not allowed at all (a zero
        RLIMIT_MEMLOCK without CAP_IPC_LOCK: ``may_lock`` False), ENOMEM
        past the limit, then :meth:`set_locked`."""
        if not may_lock:
            raise EPERM
        start, end = _page_range(addr, length)
        if not self.check_lock_limit(end - start, limit, start=start, end=end):
            raise ENOMEM
        self.set_locked(addr, length, True)
        if any(not v.effective_perms.any() for v in self.vmas.overlapping(start, end)):
            raise ENOMEM  # Linux cannot populate PROT_NONE pages: locked, but ENOMEM

    def mlockall(self, flags: int, limit: int | None, may_lock: bool) -> None:
        """mlockall: EINVAL for no or unknown flags or MCL_ONFAULT alone,
        EPERM as mlock, ENOMEM when MCL_CURRENT would pass the limit."""
        if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
            raise EINVAL
        if not may_lock:
            raise EPERM
        if flags & MCL_CURRENT:
            total = sum(v.end - v.start for v in self.vmas)
            if limit is not None and total > limit:
                raise ENOMEM
            for v in self.vmas:
                v.locked = True
        self.lock_future = bool(flags & MCL_FUTURE)

    def munlockall(self) -> None:
        for v in self.vmas:
            v.locked = False
        self.lock_future = False

    def locked_at(self, addr: int) -> bool:
        """Whether the vma holding ``addr`` is locked."""
        v = self.vmas.find(addr)
        return v is not None and v.locked

    def check_remap_locked(self, growth: int, limit: int | None) -> None:
        """mremap growing a locked vma by ``growth`` bytes: EAGAIN past the
        limit (Linux ``mlock_future_ok``)."""
        if not self.check_lock_limit(growth, limit):
            raise EAGAIN

    def check_map_locked(self, length: int, limit: int | None, may_lock: bool) -> None:
        """mmap's checks for a mapping that will be locked (MAP_LOCKED or
        MCL_FUTURE): EPERM as mlock, EAGAIN past the limit."""
        if not may_lock:
            raise EPERM
        if not self.check_lock_limit((length + PAGE_SIZE - 1) & _PAGE_MASK, limit):
            raise EAGAIN

