"""mremap and madvise (gVisor ``mm/syscalls.go``, Linux ``mm/mremap.c``,
``mm/madvise.c``); the module docstring of ``sentry.mm.syscalls`` lists
the divergences kept."""

from __future__ import annotations

from collections.abc import Callable

from sentry.abi.mm import (
    MADV_COLD,
    MADV_DOFORK,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_KEEPONFORK,
    MADV_PAGEOUT,
    MADV_REMOVE,
    MADV_WIPEONFORK,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
)
from sentry.hostarch import NO_ACCESS, PAGE_SIZE
from sentry.linuxerr import EACCES, EFAULT, EINVAL, ENOMEM, ENOSYS
from sentry.mm.syscalls import _PAGE_MASK, _U64, MemoryManagerSyscalls, _round_up
from sentry.mm.vma import Vma

# Accepted as hints (no effect on what the guest observes here).
_MADV_HINTS = frozenset({0, 1, 2, 3, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25})
# Advice that sets or clears a vma flag for fork: the vma's new
# (dont_fork, wipe_on_fork).
_MADV_FORK_FLAGS: dict[int, Callable[[Vma], tuple[bool, bool]]] = {
    MADV_DONTFORK: lambda v: (True, v.wipe_on_fork),
    MADV_DOFORK: lambda v: (False, v.wipe_on_fork),
    MADV_WIPEONFORK: lambda v: (v.dont_fork, True),
    MADV_KEEPONFORK: lambda v: (v.dont_fork, False),
}
# Advice Linux refuses on [vvar] (VM_PFNMAP | VM_IO: DONTNEED, FREE, REMOVE,
# DOFORK, WIPEONFORK, COLD, PAGEOUT, DONTNEED_LOCKED); see madvise.
_MADV_STOPPED_BY_VVAR = frozenset({
    MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DOFORK, MADV_WIPEONFORK, MADV_COLD, MADV_PAGEOUT,
    MADV_DONTNEED_LOCKED,
})


class MemoryManagerRemap(MemoryManagerSyscalls):
    """mremap, madvise and the probes tests use."""

    # -- mremap ----------------------------------------------------------------

    def mremap(self, old_addr: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
        """Resize or move a mapping (Linux ``do_mremap``); returns its address.

        Contents are kept: pmas move with the mapping, so private memory
        keeps its bytes and copy-on-write state. With MREMAP_DONTUNMAP the
        old range stays mapped but empty (anonymous memory reads zero, file
        mappings show the file again). Raises EINVAL (flags, alignment,
        sizes, overlap, duplicating a private mapping), EFAULT (no vma at
        ``old_addr`` or the range leaves it), ENOMEM (cannot grow in place
        without MREMAP_MAYMOVE, or no room), EPERM (fixed target below
        ``vm.mmap_min_addr``).
        """
        if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP):
            raise EINVAL
        if old_addr & ~_PAGE_MASK:
            raise EINVAL
        old_size = _round_up(old_size) % _U64
        new_size = _round_up(new_size) % _U64
        max_addr = self.layout.max_addr
        if new_size == 0 or new_size > max_addr:
            raise EINVAL
        if old_size > new_size and (old_size > max_addr or old_addr > max_addr - old_size):
            # Linux shrinks first with do_vmi_munmap, whose range check
            # refuses a tail past the top before anything is unmapped.
            raise EINVAL
        implies_new = bool(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))
        if implies_new:
            if new_addr > max_addr - new_size or new_addr & ~_PAGE_MASK:
                raise EINVAL
            if not flags & MREMAP_MAYMOVE:
                raise EINVAL
            if flags & MREMAP_DONTUNMAP and old_size != new_size:
                raise EINVAL
            if old_addr + old_size > new_addr and new_addr + new_size > old_addr:
                raise EINVAL
        v = self.vmas.find(old_addr)
        if v is None:
            raise EFAULT
        if implies_new:
            if flags & MREMAP_FIXED:
                self._unmap(new_addr, new_addr + new_size)
                v = self.vmas.find(old_addr)
                if v is None:
                    raise EFAULT
            if old_size > new_size:
                self._unmap(old_addr + new_size, old_addr + old_size)
                old_size = new_size
                v = self.vmas.find(old_addr)
                if v is None:
                    raise EFAULT
            self._check_remap(v, old_addr, old_size, new_size)
            dest = self._get_unmapped_area(new_addr, new_size, bool(flags & MREMAP_FIXED))
            self._move(v, old_addr, old_size, dest, new_size, unmap_old=not flags & MREMAP_DONTUNMAP)
            return dest
        if old_size == new_size:
            return old_addr
        if old_size > new_size:
            self._unmap(old_addr + new_size, old_addr + old_size)
            return old_addr
        self._check_remap(v, old_addr, old_size, new_size)
        old_end = old_addr + old_size
        if old_end == v.end and self._can_expand(v, new_size - old_size):
            self._grow_in_place(v, old_end, old_addr + new_size)
            return old_addr
        if not flags & MREMAP_MAYMOVE:
            raise ENOMEM
        dest = self._get_unmapped_area(0, new_size, False)
        self._move(v, old_addr, old_size, dest, new_size, unmap_old=True)
        return dest

    def _check_remap(self, v: Vma, addr: int, old_size: int, new_size: int) -> None:
        """Linux ``remap_is_valid``."""
        if old_size == 0 and v.private:
            raise EINVAL  # duplicating a private mapping makes no sense
        if old_size > v.end - addr:
            raise EFAULT  # cannot remap across vma boundaries
        if new_size != old_size and v.mappable is not None:
            pages = v.mappable_offset(addr) // PAGE_SIZE
            if pages + new_size // PAGE_SIZE >= _U64:
                raise EINVAL

    def _can_expand(self, v: Vma, delta: int) -> bool:
        """Linux ``vma_expandable``: the range after ``v`` is free and the
        grown vma still fits below the top."""
        end = v.end + delta
        if self.vmas.overlapping(v.end, end):
            return False
        return end <= self.layout.max_addr

    def _grow_in_place(self, v: Vma, old_end: int, new_end: int) -> None:
        nv = v.copy()
        nv.start, nv.end = old_end, new_end
        if nv.mappable is not None:
            nv.off = v.off + (old_end - v.start)
        self._insert_vma(nv)

    def _move(self, v: Vma, old_addr: int, old_size: int, new_addr: int, new_size: int,
              unmap_old: bool) -> None:
        """Move ``[old_addr, +old_size)`` (inside ``v``) to ``new_addr`` with
        ``new_size``, carrying pmas along. With ``unmap_old`` False
        (MREMAP_DONTUNMAP) the old vma stays, emptied of pmas."""
        nv = v.copy()
        nv.start, nv.end = new_addr, new_addr + new_size
        m = nv.mappable
        if m is None:
            self._move_vma(nv, old_addr, old_size, unmap_old)
            return
        nv.off = v.off + (old_addr - v.start)
        m.inc_ref()  # the old vma may hold the last reference
        try:
            self._move_vma(nv, old_addr, old_size, unmap_old)
        finally:
            m.dec_ref()

    def _move_vma(self, nv: Vma, old_addr: int, old_size: int, unmap_old: bool) -> None:
        moved = []
        if old_size:
            self.address_space.unmap(old_addr, old_size)
            moved = self.pmas.remove_range(old_addr, old_addr + old_size)
            if unmap_old:
                self._remove_vmas(old_addr, old_addr + old_size)
        self._insert_vma(nv)
        delta = nv.start - old_addr
        for p in moved:
            p.start += delta
            p.end += delta
            self.pmas.insert(p)
        self.pmas.merge_range(nv.start, nv.end)

    # -- madvise ---------------------------------------------------------------

    def madvise(self, addr: int, length: int, advice: int) -> None:
        """Apply advice (Linux ``madvise``). MADV_DONTNEED drops pages: private
        anonymous memory reads back as zero, private file memory as the
        file's contents, shared memory is unchanged. MADV_DONTFORK/DOFORK
        and MADV_WIPEONFORK/KEEPONFORK set what a forked child gets (split
        vmas as on Linux). MADV_FREE (private anonymous only) and the other
        valid advice values are hints. Raises EINVAL (bad advice or
        alignment, MADV_FREE/MADV_WIPEONFORK on other than private anonymous
        memory, MADV_REMOVE on private anonymous memory), EACCES
        (MADV_REMOVE on a private file mapping), ENOSYS (MADV_REMOVE on
        shared memory: not supported) and ENOMEM (the range has unmapped
        holes; mapped parts are still advised)."""
        known = advice in _MADV_HINTS or advice in _MADV_FORK_FLAGS or advice in (
            MADV_DONTNEED, MADV_FREE, MADV_REMOVE)
        if not known:
            raise EINVAL
        if addr & ~_PAGE_MASK:
            raise EINVAL
        rounded = _round_up(length)
        if length and (rounded % _U64 == 0):
            raise EINVAL
        end = addr + rounded
        if end >= _U64:
            raise EINVAL
        if end == addr:
            return
        if addr < self.layout.max_addr < end and advice in _MADV_STOPPED_BY_VVAR:
            # On Linux a range from below the top to past it reaches the
            # [vvar] mapping above the mmap area (VM_PFNMAP: EINVAL) before
            # the stack. The sentry has no vvar; it refuses before acting so
            # the stack survives, where Linux first drops the vmas below vvar.
            raise EINVAL
        fork_flags = _MADV_FORK_FLAGS.get(advice)
        for v in self.vmas.overlapping(addr, end):
            anon_private = v.mappable is None and v.private
            if advice in (MADV_FREE, MADV_WIPEONFORK) and not anon_private:
                raise EINVAL
            if advice == MADV_REMOVE:
                if v.mappable is None:
                    raise EINVAL
                if v.private or not v.max_perms.write:
                    raise EACCES
                raise ENOSYS  # punching holes in shared memory: not supported
            if advice in (MADV_DONTNEED, MADV_FREE) and v.locked:
                raise EINVAL  # locked pages cannot be dropped (can_madv_lru_vma)
            if advice == MADV_DONTNEED:
                self._invalidate(max(v.start, addr), min(v.end, end))
            elif fork_flags is not None and (v.dont_fork, v.wipe_on_fork) != fork_flags(v):
                s, e = max(v.start, addr), min(v.end, end)
                i, _ = self.vmas.isolate(s, e)
                seg = self.vmas.segs[i]
                seg.dont_fork, seg.wipe_on_fork = fork_flags(seg)
        if fork_flags is not None:
            self.vmas.merge_range(addr, end)
        if self.vmas.gaps(addr, end):
            raise ENOMEM

    # -- probes ------------------------------------------------------------------

    def is_mapped(self, addr: int) -> bool:
        """True if a vma covers ``addr`` (tests, /proc)."""
        return self.vmas.find(addr) is not None

    def pages_present(self, start: int, end: int) -> int:
        """Bytes of ``[start, end)`` backed by pmas (resident, in Linux terms)."""
        return sum(min(p.end, end) - max(p.start, start) for p in self.pmas.overlapping(start, end))

    # -- checking ----------------------------------------------------------------

    def check_invariants(self) -> None:
        """Raise AssertionError if an invariant in the module docstring is
        broken (``sentry.mm.mm``'s docstring; for tests and debugging;
        O(vmas + pmas + regions))."""
        prev_end = -1
        for v in self.vmas:
            assert v.start < v.end and not (v.start | v.end) & ~_PAGE_MASK, v
            assert v.start >= prev_end, f"vmas overlap at {v!r}"
            prev_end = v.end
        prev_end = -1
        for p in self.pmas:
            assert p.start < p.end and not (p.start | p.end) & ~_PAGE_MASK, p
            assert p.start >= prev_end, f"pmas overlap at {p!r}"
            prev_end = p.end
            assert not self.vmas.gaps(p.start, p.end), f"pma outside vmas: {p!r}"
            host = p.file.host_address(p.off)
            view = p.file.map_internal(p.file_range(), NO_ACCESS)
            assert len(view) == p.end - p.start, p
            if p.need_cow:
                assert not p.effective_perms.write, p
            for v in self.vmas.overlapping(p.start, p.end):
                allowed = v.effective_perms.intersect(p.translate_perms)
                assert allowed.superset_of(p.effective_perms), (p, v)
            del host, view
        for rs, re_, rperms in self.address_space.regions():
            cur = rs
            for p in self.pmas.overlapping(rs, re_):
                assert p.start <= cur, f"region [{rs:#x}, {re_:#x}) maps a pma gap at {cur:#x}"
                assert p.effective_perms.superset_of(rperms), (
                    f"region [{rs:#x}, {re_:#x}) {rperms} exceeds {p!r}")
                cur = p.end
            assert cur >= re_, f"region [{rs:#x}, {re_:#x}) extends past pmas at {cur:#x}"
