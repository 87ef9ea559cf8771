"""mmap, munmap, mprotect, brk, mremap and madvise (gVisor ``mm/syscalls.go``).

Each method validates in Linux's order (mm/mmap.c ``do_mmap``,
mm/mprotect.c, mm/mremap.c, mm/madvise.c, ``brk``) and raises an
``Errno``; the syscall layer turns that into ``-errno``. Argument decoding
(flag bits, fds) happens in ``sentry.syscalls.linux.sys_mmap``; here
everything is already typed. Linux is the reference where it and gVisor
differ; ``tests/mm/test_mm_differential.py`` runs the same calls on the
host and here.

Host policy followed: ``vm.mmap_min_addr`` and CAP_SYS_RAWIO of the user
running the sentry (MAP_FIXED below the sysctl is EPERM without the
capability; hints below Linux's effective minimum, at least 64 KiB, are
raised to it), and ``vm.overcommit_memory`` for brk.

Divergences kept, and why:

* Overcommit accounting (``__vm_enough_memory``) applies to brk always but
  to mmap only when ``MMapOpts.noreserve`` is False; None (what the syscall
  layer passes until it decodes MAP_NORESERVE) skips it, so reservations
  with MAP_NORESERVE keep working. mremap growth and mprotect making memory
  writable are not accounted. Guest memory is committed lazily anyway.
* RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK and ``vm.max_map_count`` are not
  enforced (setrlimit records limits per process; the mm does not read them).
* Grows-down vmas do not grow on faults below them: stacks are mapped whole
  up front, as in gVisor. The stack guard gap is honoured by hints,
  searches and brk.
* Placement is deterministic (Linux with randomisation off): top-down
  below ``layout.top_down_base``, MAP_32BIT bottom-up in [1 GiB, 2 GiB),
  and anonymous mappings of 2 MiB multiples without a hint 2 MiB-aligned
  (as THP-enabled Linux 6.7+ does).
* MADV_REMOVE on shared memory fails with ENOSYS (gVisor's choice: no hole
  punching); MADV_FREE is a hint (contents stay, as Linux keeps them until
  memory pressure); other advice except DONTNEED, DONTFORK/DOFORK and
  WIPEONFORK/KEEPONFORK is accepted and ignored.
* PROT_EXEC-only memory is readable, as on x86 without protection keys
  (Linux on PKU hardware makes it execute-only).
* There is no [vvar]/[vdso]. Linux's destructive madvise walks (DONTNEED,
  FREE, ...) from below the top of the address space to past it stop with
  EINVAL at vvar (VM_PFNMAP), after dropping the vmas below it; the sentry
  refuses such a range up front (EINVAL, nothing dropped), so the stack
  survives either way (tests/semantics sys_validation).
"""

from __future__ import annotations

from dataclasses import dataclass

from sentry.hostarch import ANY_ACCESS, HUGE_PAGE_SIZE, PAGE_SIZE, READ_WRITE, AccessType
from sentry.linuxerr import EACCES, EEXIST, EINVAL, ENOMEM, EOVERFLOW, EPERM
from sentry.memmap.mappable import Mappable
from sentry.mm.io import MemoryManagerIO
from sentry.mm.layout import STACK_GUARD_GAP
from sentry.mm.vma import Vma

_PAGE_MASK = ~(PAGE_SIZE - 1)
_U64 = 1 << 64
_MAX_LFS_FILESIZE = (1 << 63) - 1


@dataclass
class MMapOpts:
    """A decoded mmap request (gVisor ``memmap.MMapOpts``).

    ``noreserve`` is MAP_NORESERVE: True or False when the caller decoded
    it, None when it does not know (then no overcommit accounting is
    done, so MAP_NORESERVE reservations keep working).
    """

    length: int
    addr: int = 0
    offset: int = 0
    fixed: bool = False
    unmap: bool = False  # MAP_FIXED: replace what is there
    no_replace: bool = False  # MAP_FIXED_NOREPLACE
    map32bit: bool = False
    grows_down: bool = False
    private: bool = True
    perms: AccessType = READ_WRITE
    max_perms: AccessType = ANY_ACCESS
    mappable: Mappable | None = None
    populate: bool = False
    name: str = ""
    noreserve: bool | None = None


def _round_up(x: int) -> int:
    """Page round-up; the result is >= 2**64 on overflow."""
    return (x + PAGE_SIZE - 1) & _PAGE_MASK


class MemoryManagerSyscalls(MemoryManagerIO):
    """The mm system calls."""

    # -- placement ------------------------------------------------------------

    def _start_gap(self, v: Vma) -> int:
        """Linux ``vm_start_gap``: a grows-down vma keeps the stack guard
        gap below it free."""
        if v.grows_down:
            return max(v.start - STACK_GUARD_GAP, 0)
        return v.start

    def _hint_fits(self, addr: int, length: int) -> bool:
        """x86 ``arch_get_unmapped_area_topdown`` hint test: the range fits
        below the top and ends at or before the next vma's start gap."""
        if addr > self.layout.max_addr - length:
            return False
        i = self.vmas.first_after(addr)
        if i >= len(self.vmas):
            return True
        return addr + length <= self._start_gap(self.vmas.segs[i])

    def _search(self, length: int, lo: int, hi: int, align: int, top_down: bool) -> int:
        """Find ``length`` free bytes in ``[lo, hi)`` respecting stack guard
        gaps, highest (top-down) or lowest first; returns -1 if none."""
        mask = align - 1
        segs = self.vmas.segs
        n = len(segs)
        # Gaps: between vma i-1 and vma i, for i in [0, n].
        gaps: list[tuple[int, int]] = []
        prev_end = 0
        for i in range(n + 1):
            gap_end = self._start_gap(segs[i]) if i < n else self.layout.max_addr
            s, e = max(prev_end, lo), min(gap_end, hi)
            if e - s >= length:
                gaps.append((s, e))
            if i < n:
                prev_end = segs[i].end
        if top_down:
            for s, e in reversed(gaps):
                cand = (e - length) & ~mask
                if cand >= s:
                    return cand
        else:
            for s, e in gaps:
                cand = (s + mask) & ~mask
                if cand + length <= e:
                    return cand
        return -1

    def _get_unmapped_area(self, addr: int, length: int, fixed: bool, *, map32bit: bool = False,
                           huge_align: bool = False) -> int:
        """Linux ``__get_unmapped_area``: where a mapping of ``length``
        (page-aligned) goes. Raises ENOMEM (too long, no room, fixed range
        past the top), EINVAL (misaligned fixed address), EPERM (fixed below
        ``vm.mmap_min_addr`` without CAP_SYS_RAWIO, as the host's LSM
        ``security_mmap_addr`` decides)."""
        lay = self.layout
        if length > lay.max_addr:
            raise ENOMEM
        if not fixed:
            addr = self._place(addr, length, map32bit, huge_align)
        if addr > lay.max_addr - length:
            raise ENOMEM
        if addr & ~_PAGE_MASK:
            raise EINVAL
        if addr < lay.policy.dac_min_addr and not lay.policy.cap_sys_rawio:
            raise EPERM
        return addr

    def _place(self, hint: int, length: int, map32bit: bool, huge_align: bool) -> int:
        """Choose an address for a non-fixed mapping (x86 top-down policy)."""
        lay = self.layout
        if map32bit:
            lo, hi = 0x40000000, 0x80000000
            if hint and hint <= hi - length and self._hint_fits(hint, length):
                return hint
            found = self._search(length, lo, hi, PAGE_SIZE, top_down=False)
            if found < 0:
                raise ENOMEM
            return found
        if hint and self._hint_fits(hint, length):
            return hint
        align = HUGE_PAGE_SIZE if huge_align and not hint else PAGE_SIZE
        found = self._search(length, PAGE_SIZE, lay.top_down_base, align, top_down=True)
        if found < 0:
            # Linux falls back to a bottom-up search above the mmap base.
            found = self._search(length, lay.top_down_base, lay.max_addr, PAGE_SIZE, top_down=False)
        if found < 0:
            raise ENOMEM
        return found

    def _enough_memory(self, pages: int) -> bool:
        """Linux ``__vm_enough_memory`` for the host's overcommit mode
        (heuristic: one request may not exceed RAM + swap)."""
        policy = self.layout.policy
        if policy.overcommit_mode == 1:
            return True
        return pages <= policy.commit_pages

    def _new_vma(self, addr: int, length: int, opts: MMapOpts, offset: int) -> Vma:
        v = Vma(
            addr,
            addr + length,
            real_perms=opts.perms,
            max_perms=opts.max_perms,
            private=opts.private,
            mappable=opts.mappable,
            off=offset,
            grows_down=opts.grows_down,
            name=opts.name,
        )
        self._insert_vma(v)
        return v

    def _unmap(self, start: int, end: int) -> None:
        """Remove vmas and pmas in ``[start, end)`` (holes allowed)."""
        if start >= end:
            return
        self._invalidate(start, end)
        self._remove_vmas(start, end)

    # -- mmap ------------------------------------------------------------------

    def mmap(self, opts: MMapOpts) -> int:
        """Create a mapping; returns its address (Linux ``do_mmap`` order).

        Raises EINVAL (zero length, misaligned fixed address or offset, bad
        flag combination, grows-down file or shared mapping), ENOMEM (length
        overflow, no room, overcommit refused), EOVERFLOW (file offset
        overflow), EPERM (MAP_FIXED below ``vm.mmap_min_addr`` without
        CAP_SYS_RAWIO), EEXIST (MAP_FIXED_NOREPLACE over a mapping), EACCES
        (permissions beyond the file's). ``opts`` is not modified.

        Takes a reference on ``opts.mappable`` for the new vma. If the call
        fails and nothing else references the mappable, it is released.
        """
        m = opts.mappable
        if m is None:
            return self._mmap(opts)
        m.inc_ref()  # keeps a MAP_FIXED replacement of m's own vmas from releasing it
        try:
            return self._mmap(opts)
        finally:
            m.dec_ref()

    def _mmap(self, opts: MMapOpts) -> int:
        if opts.length == 0:
            raise EINVAL
        if (opts.unmap and not opts.fixed) or (opts.no_replace and (not opts.fixed or opts.unmap)):
            raise EINVAL
        m = opts.mappable
        offset = opts.offset if m is not None else 0
        if offset & ~_PAGE_MASK:
            raise EINVAL  # the syscall layer checks this first, as Linux does
        addr = opts.addr
        if not opts.fixed:
            addr &= _PAGE_MASK  # round_hint_to_min
            if addr and addr < self.layout.min_addr:
                addr = self.layout.min_addr
        length = _round_up(opts.length)
        if length >= _U64:
            raise ENOMEM
        addr = self._get_unmapped_area(
            addr, length, opts.fixed, map32bit=opts.map32bit and not opts.fixed,
            huge_align=m is None and length % HUGE_PAGE_SIZE == 0 and not opts.grows_down,
        )
        if opts.no_replace and self.vmas.overlapping(addr, addr + length):
            raise EEXIST
        if m is not None:
            if length > _MAX_LFS_FILESIZE or offset >> 12 > (_MAX_LFS_FILESIZE - length) >> 12:
                raise EOVERFLOW
            if not opts.max_perms.superset_of(opts.perms):
                raise EACCES
            if opts.grows_down:
                raise EINVAL
        elif not opts.max_perms.superset_of(opts.perms):
            raise EACCES
        if (opts.noreserve is False and opts.private and opts.perms.write
                and not self._enough_memory(length // PAGE_SIZE)):
            raise ENOMEM
        if opts.unmap:
            self._unmap(addr, addr + length)
        self._new_vma(addr, length, opts, offset)
        if opts.populate and opts.perms.any():
            at = AccessType(True, opts.perms.write and opts.private, False)
            good, _ = self._get_pmas(addr, addr + length, at)
            if good > addr:
                self._map_as(addr, good)
        return addr

    def munmap(self, addr: int, length: int) -> None:
        """Unmap ``[addr, addr+length)``; holes are fine. Raises EINVAL for a
        misaligned address, zero length, or a range past the top."""
        if addr & ~_PAGE_MASK or addr > self.layout.max_addr or length > self.layout.max_addr - addr:
            raise EINVAL
        length = _round_up(length)
        if length == 0:
            raise EINVAL
        self._unmap(addr, addr + length)

    # -- mprotect --------------------------------------------------------------

    def mprotect(self, addr: int, length: int, perms: AccessType, grows_down: bool = False) -> None:
        """Change permissions (Linux ``do_mprotect_pkey``).

        Raises EINVAL (misaligned; PROT_GROWSDOWN on a vma that does not grow
        down), ENOMEM (overflow, or a hole: vmas before the hole keep their
        new permissions, as on Linux), EACCES (beyond a mapping's maximum
        permissions). Zero length succeeds. The address space follows at
        once (mapped pages get the new permissions); contents are kept.
        """
        if addr & ~_PAGE_MASK:
            raise EINVAL
        if length == 0:
            return
        end = addr + _round_up(length)
        if end >= _U64 or end <= addr:
            raise ENOMEM
        i = self.vmas.first_after(addr)
        if i >= len(self.vmas) or self.vmas.segs[i].start >= end:
            raise ENOMEM
        first = self.vmas.segs[i]
        if grows_down:
            if not first.grows_down:
                raise EINVAL
            addr = first.start
        elif first.start > addr:
            raise ENOMEM
        cur = addr
        try:
            while cur < end:
                v = self.vmas.find(cur)
                if v is None:
                    raise ENOMEM
                if not v.max_perms.superset_of(perms):
                    raise EACCES
                seg_end = min(v.end, end)
                if v.real_perms != perms:
                    i, _ = self.vmas.isolate(cur, seg_end)
                    v = self.vmas.segs[i]
                    v.set_perms(perms)
                    self._reprotect_pmas(v, cur, seg_end)
                cur = seg_end
        finally:
            self.vmas.merge_range(addr, cur)
            self.pmas.merge_range(addr, cur)
            self._maybe_compact_as()

    def _reprotect_pmas(self, v: Vma, start: int, end: int) -> None:
        """Bring pmas in ``[start, end)`` and the address space in line with
        ``v``'s new permissions: each pma piece's mapped pages get its new
        effective permissions (``protect``: no region is added or dropped
        except splits at the edges; a downgrade bites at once and an upgrade
        saves a fault)."""
        if not self.pmas.overlapping(start, end):
            return
        i, j = self.pmas.isolate(start, end)
        for p in self.pmas.segs[i:j]:
            old = p.effective_perms
            p.set_vma_perms(v.effective_perms, v.max_perms)
            if p.effective_perms != old:
                self._protect_as(p.start, p.end, old, p.effective_perms)

    # -- brk -------------------------------------------------------------------

    def set_brk_start(self, addr: int) -> None:
        """Loader: the heap starts (empty) at ``addr``."""
        self.brk_start = self.brk_end = addr

    def brk(self, addr: int) -> int:
        """Move the break; returns the resulting break (the old one on any
        failure, as brk(2) does). Linux ``brk``: growth must stay a page
        plus the stack guard gap clear of the next mapping and pass the
        overcommit check; shrinking always works."""
        old = self.brk_end
        if addr < self.brk_start:
            return old
        new_top = _round_up(addr)
        old_top = _round_up(old)
        if new_top == old_top:
            self.brk_end = addr
            return addr
        if addr <= old:
            if not self.vmas.overlapping(new_top, old_top):
                return old  # the heap was unmapped behind brk's back
            self._unmap(new_top, old_top)
            self.brk_end = addr
            return addr
        if new_top > self.layout.max_addr:
            return old
        i = self.vmas.first_after(old_top)
        if i < len(self.vmas) and new_top + PAGE_SIZE > self._start_gap(self.vmas.segs[i]):
            return old
        if not self._enough_memory((new_top - old_top) // PAGE_SIZE):
            return old
        self._new_vma(old_top, new_top - old_top,
                      MMapOpts(length=new_top - old_top, perms=READ_WRITE, name="[heap]"), 0)
        self.brk_end = addr
        return addr

