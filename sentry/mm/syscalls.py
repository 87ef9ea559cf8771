"""mmap, munmap, mprotect, brk, mremap and madvise (gVisor ``mm/syscalls.go``).

Each method validates in Linux's order (mm/mmap.c, mm/mprotect.c,
mm/mremap.c, mm/madvise.c) and raises an ``Errno``; the syscall layer turns
that into ``-errno``. Argument decoding (flag bits, fds) happens in
``sentry.syscalls.linux.sys_mmap``; here everything is already typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentry.hostarch import ANY_ACCESS, PAGE_SIZE, READ_WRITE, AccessType
from sentry.linuxerr import EACCES, EEXIST, EFAULT, EINVAL, ENOMEM, EOVERFLOW
from sentry.memmap.mappable import Mappable
from sentry.mm.io import MemoryManagerIO
from sentry.mm.vma import Vma

_PAGE_MASK = ~(PAGE_SIZE - 1)
_U64 = 1 << 64

# madvise advice values (include/uapi/asm-generic/mman-common.h).
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = 0, 1, 2, 3, 4
MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK = 8, 9, 10, 11
_MADV_HINTS = {0, 1, 2, 3, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25}

MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4


@dataclass
class MMapOpts:
    """A decoded mmap request (gVisor ``memmap.MMapOpts``)."""

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


def _round_up(x: int) -> int:
    """Page round-up; the result is >= 2**64 on overflow."""
    return (x + PAGE_SIZE - 1) & _PAGE_MASK


class MemoryManagerSyscalls(MemoryManagerIO):
    """The mm system calls."""

    # -- placement ------------------------------------------------------------

    def _find_available(self, length: int, opts: MMapOpts) -> int:
        """Choose where a new mapping goes (gVisor ``findAvailableLocked``,
        Linux ``get_unmapped_area``). Raises ENOMEM/EEXIST/EINVAL."""
        lay = self.layout
        if length > lay.max_addr:
            raise ENOMEM
        addr = opts.addr
        if opts.fixed:
            if addr > lay.max_addr - length:
                raise ENOMEM
            if opts.no_replace and self.vmas.overlapping(addr, addr + length):
                raise EEXIST
            return addr
        lo, hi = lay.min_addr, lay.top_down_base
        if opts.map32bit:
            lo, hi = 0x40000000, 0x80000000
        if addr:
            addr = max(addr, lay.min_addr)
            if addr <= lay.max_addr - length and not self.vmas.overlapping(addr, addr + length):
                return addr
        # Top-down: the highest gap below the base that fits.
        gaps = self.vmas.gaps(lo, hi)
        for gs, ge in reversed(gaps):
            if ge - gs >= length:
                return ge - length
        raise ENOMEM

    def _new_vma(self, addr: int, length: int, opts: MMapOpts) -> Vma:
        v = Vma(
            addr,
            addr + length,
            real_perms=opts.perms,
            max_perms=opts.max_perms,
            private=opts.private,
            mappable=opts.mappable,
            off=opts.offset,
            grows_down=opts.grows_down,
            name=opts.name,
        )
        self.vmas.insert(v)
        self.vmas.merge_range(addr, addr + length)
        return v

    def _unmap(self, start: int, end: int) -> None:
        """Remove vmas and pmas in ``[start, end)`` (holes allowed)."""
        self._invalidate(start, end)
        self.vmas.remove_range(start, end)

    # -- mmap ------------------------------------------------------------------

    def mmap(self, opts: MMapOpts) -> int:
        """Create a mapping; returns its address (Linux ``do_mmap`` order).

        Raises EINVAL (zero length, misaligned fixed address or offset, bad
        flag combination), ENOMEM (length overflow, no room), EOVERFLOW
        (file offset overflow), EACCES (permissions beyond the file's),
        EEXIST (MAP_FIXED_NOREPLACE over a mapping).
        """
        if opts.length == 0:
            raise EINVAL
        length = _round_up(opts.length)
        if length >= _U64:
            raise ENOMEM
        if opts.mappable is not None:
            if opts.offset & ~_PAGE_MASK:
                raise EINVAL
            if opts.offset + length >= _U64:
                raise EOVERFLOW
        else:
            opts.offset = 0
        if opts.addr & ~_PAGE_MASK:
            if opts.fixed:
                raise EINVAL
            opts.addr &= _PAGE_MASK
        if (opts.unmap and not opts.fixed) or (opts.no_replace and (not opts.fixed or opts.unmap)):
            raise EINVAL
        if opts.grows_down and opts.mappable is not None:
            raise EINVAL
        addr = self._find_available(length, opts)
        if not opts.max_perms.superset_of(opts.perms):
            raise EACCES
        if opts.unmap:
            self._unmap(addr, addr + length)
        self._new_vma(addr, length, opts)
        if opts.populate and opts.perms.any():
            good, _ = self._get_pmas(addr, addr + length, AccessType(True, False, False))
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

        Raises EINVAL (misaligned), ENOMEM (overflow, or a hole: vmas before
        the hole keep their new permissions, as on Linux), EACCES (beyond a
        mapping's maximum permissions). Zero length succeeds. A downgrade
        takes effect in the address space at once; contents are kept.
        """
        if addr & ~_PAGE_MASK:
            raise EINVAL
        if length == 0:
            return
        end = addr + _round_up(length)
        if end >= _U64 or end <= addr:
            raise ENOMEM
        i = self.vmas.first_after(addr)
        if i >= len(self.vmas):
            raise ENOMEM
        first = self.vmas.segs[i]
        if grows_down:
            if first.start >= end:
                raise ENOMEM
            if not first.grows_down:
                raise EINVAL
            addr = first.start
        elif first.start > addr:
            raise ENOMEM
        cur = addr
        effective = perms.effective()
        while cur < end:
            v = self.vmas.find(cur)
            if v is None:
                self.vmas.merge_range(addr, end)
                raise ENOMEM
            if not v.max_perms.superset_of(effective):
                self.vmas.merge_range(addr, end)
                raise EACCES
            seg_end = min(v.end, end)
            i, _ = self.vmas.isolate(cur, seg_end)
            v = self.vmas.segs[i]
            v.set_perms(perms)
            self._reprotect_pmas(v, cur, seg_end)
            cur = seg_end
        self.vmas.merge_range(addr, end)

    def _reprotect_pmas(self, v: Vma, start: int, end: int) -> None:
        """Bring pmas and their address-space mappings in ``[start, end)`` in
        line with ``v``'s permissions."""
        if not self.pmas.overlapping(start, end):
            return
        i, j = self.pmas.isolate(start, end)
        for p in self.pmas.segs[i:j]:
            p.set_vma_perms(v.effective_perms, v.max_perms)
        # Re-map with the new permissions (a downgrade must bite at once;
        # an upgrade saves a fault). map_file replaces what is there.
        self.address_space.unmap(start, end - start)
        self.pmas.merge_range(start, end)
        self._map_as(start, end)

    # -- brk -------------------------------------------------------------------

    def set_brk_start(self, addr: int) -> None:
        """Loader: the heap starts (empty) at ``addr``."""
        self.brk_start = self.brk_end = addr

    def brk(self, addr: int) -> int:
        """Move the break; returns the resulting break (the old one on any
        failure, as brk(2) does)."""
        old = self.brk_end
        if addr < self.brk_start:
            return old
        new_top = _round_up(addr)
        old_top = _round_up(old)
        if new_top > self.layout.max_addr:
            return old
        if new_top > old_top:
            if self.vmas.overlapping(old_top, new_top):
                return old
            self._new_vma(old_top, new_top - old_top,
                          MMapOpts(length=new_top - old_top, perms=READ_WRITE, name="[heap]"))
        elif new_top < old_top:
            self._unmap(new_top, old_top)
        self.brk_end = addr
        return addr

    # -- mremap ----------------------------------------------------------------

    def mremap(self, old_addr: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
        """Resize or move a mapping (Linux ``mremap``); returns its address.

        Contents are kept: pmas move with the mapping, so private memory
        keeps its bytes and copy-on-write state.
        """
        if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP):
            raise EINVAL
        if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
            raise EINVAL
        if flags & MREMAP_DONTUNMAP:
            raise EINVAL  # not supported yet: documented divergence
        if old_addr & ~_PAGE_MASK:
            raise EINVAL
        old_size = _round_up(old_size)
        new_size = _round_up(new_size)
        if new_size == 0 or new_size >= _U64 or old_size >= _U64:
            raise EINVAL
        max_addr = self.layout.max_addr
        if flags & MREMAP_FIXED:
            if new_addr & ~_PAGE_MASK:
                raise EINVAL
            if new_size > max_addr or new_addr > max_addr - new_size:
                raise EINVAL
            if new_addr < old_addr + old_size and old_addr < new_addr + new_size:
                raise EINVAL
            self._unmap(new_addr, new_addr + new_size)
            if old_size > new_size:
                self._unmap(old_addr + new_size, old_addr + old_size)
                old_size = new_size
            v = self._vma_to_resize(old_addr, old_size, new_size)
            self._move(v, old_addr, old_size, new_addr, new_size)
            return new_addr
        if old_size >= new_size:
            if old_size > new_size:
                self._unmap(old_addr + new_size, old_addr + old_size)
            return old_addr
        v = self._vma_to_resize(old_addr, old_size, new_size)
        old_end = old_addr + old_size
        grow_end = old_addr + new_size
        if old_end == v.end and grow_end <= max_addr and not self.vmas.overlapping(old_end, grow_end):
            self._grow_in_place(v, old_end, grow_end)
            return old_addr
        if not flags & MREMAP_MAYMOVE:
            raise ENOMEM
        dest = self._find_available(new_size, MMapOpts(length=new_size))
        self._move(v, old_addr, old_size, dest, new_size)
        return dest

    def _vma_to_resize(self, addr: int, old_size: int, new_size: int) -> Vma:
        v = self.vmas.find(addr)
        if v is None:
            raise EFAULT
        if old_size == 0 and v.private:
            raise EINVAL
        if addr + old_size > v.end:
            raise EFAULT
        return v

    def _grow_in_place(self, v: Vma, old_end: int, new_end: int) -> None:
        nv = v.copy()
        nv.start, nv.end = old_end, new_end
        if nv.mappable is not None:
            nv.off = v.off + (old_end - v.start)
        self.vmas.insert(nv)
        self.vmas.merge_range(v.start, new_end)

    def _move(self, v: Vma, old_addr: int, old_size: int, new_addr: int, new_size: int) -> None:
        """Move ``[old_addr, +old_size)`` (inside ``v``) to ``new_addr`` with
        ``new_size``, carrying pmas along."""
        nv = v.copy()
        nv.start, nv.end = new_addr, new_addr + new_size
        if nv.mappable is not None:
            nv.off = v.off + (old_addr - v.start)
        moved = []
        if old_size:
            self.address_space.unmap(old_addr, old_size)
            moved = self.pmas.remove_range(old_addr, old_addr + old_size)
            self.vmas.remove_range(old_addr, old_addr + old_size)
        self.vmas.insert(nv)
        self.vmas.merge_range(nv.start, nv.end)
        delta = new_addr - old_addr
        for p in moved:
            p.start += delta
            p.end += delta
            self.pmas.insert(p)
        self.pmas.merge_range(nv.start, nv.end)

    # -- madvise ---------------------------------------------------------------

    def madvise(self, addr: int, length: int, advice: int) -> None:
        """Apply advice (Linux ``madvise``). MADV_DONTNEED drops pages: private
        anonymous memory reads back as zero, private file memory as the
        file's contents, shared memory is unchanged. Other valid advice is a
        hint and accepted. Raises EINVAL (bad advice or alignment) and ENOMEM
        (the range has unmapped holes; mapped parts are still advised)."""
        if advice not in _MADV_HINTS and advice not in (MADV_DONTNEED, MADV_REMOVE):
            raise EINVAL
        if addr & ~_PAGE_MASK:
            raise EINVAL
        rounded = _round_up(length)
        if length and (rounded == 0 or rounded >= _U64):
            raise EINVAL
        end = addr + rounded
        if end >= _U64:
            raise EINVAL
        if end == addr:
            return
        if advice == MADV_REMOVE:
            raise EINVAL if any(v.private for v in self.vmas.overlapping(addr, end)) else ENOMEM
        if advice == MADV_DONTNEED:
            for v in self.vmas.overlapping(addr, end):
                self._invalidate(max(v.start, addr), min(v.end, end))
        if self.vmas.gaps(addr, end):
            raise ENOMEM
