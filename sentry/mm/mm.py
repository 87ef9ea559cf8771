"""The MemoryManager's state and its vma/pma machinery (gVisor ``mm/mm.go``,
``vma.go``, ``pma.go``, ``address_space.go``).

Vocabulary, as in gVisor: a *vma* records what the guest mapped; a *pma*
records what backs it (a range of a ``memmap.File``). pmas exist only where
vmas do and appear lazily: on a guest page fault, or when a syscall copies
through the range. The platform ``AddressSpace`` (one Unicorn instance) is
a cache of pmas: whatever it maps can be dropped and re-faulted at any
time.

The guest runs in one host thread and the sentry is single-threaded, so
gVisor's mappingMu/activeMu have no counterpart here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sentry.hostarch import (
    ANY_ACCESS,
    HUGE_PAGE_SIZE,
    PAGE_SIZE,
    AccessType,
)
from sentry.linuxerr import EFAULT, EPERM, Errno
from sentry.logs import get_logger
from sentry.memfile import MemoryFile
from sentry.memmap.mappable import BusError
from sentry.mm.pma import Pma
from sentry.mm.vma import Vma
from sentry.platform import AddressSpace
from sentry.segment import SegmentSet
from sentry.tracing import TRACE

log = get_logger("sentry.mm")

_PAGE_MASK = ~(PAGE_SIZE - 1)
_HUGE_MASK = ~(HUGE_PAGE_SIZE - 1)


@dataclass
class MmapLayout:
    """Where things go in a 47-bit x86-64 address space.

    Addresses follow Linux with address-space randomisation off (as under
    ``setarch -R``): the stack ends at ``TASK_SIZE``, top-down mmap starts
    below ``top_down_base``, PIE executables load at ``pie_base``.
    """

    min_addr: int = 0x10000  # vm.mmap_min_addr
    max_addr: int = 0x7FFFFFFFF000  # TASK_SIZE
    top_down_base: int = 0x7FFFF7FFF000
    pie_base: int = 0x555555554000
    stack_top: int = 0x7FFFFFFFF000


@dataclass
class Metadata:
    """Loader-provided facts /proc needs later (gVisor ``mm/metadata.go``)."""

    argv_start: int = 0
    argv_end: int = 0
    envv_start: int = 0
    envv_end: int = 0
    auxv: list[tuple[int, int]] = field(default_factory=list)
    executable: str = ""


@dataclass
class Counters:
    """Memory-path statistics (the benchmark and trace views read them)."""

    faults: int = 0
    cow_breaks: int = 0
    cow_reclaims: int = 0
    pmas_created: int = 0


def _page_down(x: int) -> int:
    return x & _PAGE_MASK


def _page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & _PAGE_MASK


class MemoryManagerCore:
    """State and internal operations shared by the MemoryManager's parts."""

    def __init__(
        self,
        mf: MemoryFile,
        new_address_space: Callable[[], AddressSpace],
        layout: MmapLayout | None = None,
    ) -> None:
        self.mf = mf
        self.new_address_space = new_address_space
        self.address_space: AddressSpace = new_address_space()
        self.layout = layout or MmapLayout()
        self.vmas: SegmentSet[Vma] = SegmentSet()
        self.pmas: SegmentSet[Pma] = SegmentSet()
        self.brk_start = 0
        self.brk_end = 0
        self.metadata = Metadata()
        self.counters = Counters()
        self.users = 1

    # -- vmas ---------------------------------------------------------------

    def _check_vmas(self, start: int, end: int, at: AccessType, ignore_permissions: bool) -> tuple[int, Errno | None]:
        """Check that vmas cover ``[start, end)`` with ``at`` allowed.

        Returns ``(good_end, err)``: ``good_end`` is where the good prefix
        stops (``end`` on success); ``err`` is EFAULT at a hole and EPERM at a
        vma lacking the permission (gVisor ``getVMAsLocked``). Precondition:
        start < end.
        """
        segs = self.vmas.segs
        i = self.vmas.first_after(start)
        cur = start
        n = len(segs)
        while cur < end:
            if i >= n or segs[i].start > cur:
                return cur, EFAULT
            v = segs[i]
            perms = v.max_perms if ignore_permissions else v.effective_perms
            if not perms.superset_of(at):
                return cur, EPERM
            cur = v.end
            i += 1
        return end, None

    # -- pmas ---------------------------------------------------------------

    def _get_pmas(self, start: int, end: int, at: AccessType) -> tuple[int, Exception | None]:
        """Make pmas exist over ``[start, end)`` and be usable for ``at``.

        Allocates zeroed memory for anonymous gaps, translates file-backed
        gaps, and breaks copy-on-write where ``at.write``. Returns
        ``(good_end, err)`` where ``[start, good_end)`` is ready and ``err``
        explains a short result (a BusError past end of file, EFAULT where
        no vma exists). Preconditions: page-aligned, vmas checked.
        """
        cur = start
        for v in self.vmas.overlapping(start, end):
            if v.start > cur:
                return cur, EFAULT
            vs, ve = max(v.start, start), min(v.end, end)
            for gs, ge in self.pmas.gaps(vs, ve):
                filled, err = self._fill_gap(v, gs, ge, at)
                if err is not None:
                    return (filled if filled > cur else cur), err
            if at.write:
                self._break_cow_range(v, vs, ve)
            cur = ve
        if cur < end:
            return cur, EFAULT
        return end, None

    def _fill_gap(self, v: Vma, start: int, end: int, at: AccessType) -> tuple[int, Exception | None]:
        """Create pmas for the pma gap ``[start, end)`` inside vma ``v``."""
        if v.mappable is None:
            # Private anonymous memory: fresh zeroed pages, at most one huge
            # page per allocation so pmas stay aligned units.
            cur = start
            while cur < end:
                piece_end = min((cur & _HUGE_MASK) + HUGE_PAGE_SIZE, end)
                length = piece_end - cur
                align = HUGE_PAGE_SIZE if length == HUGE_PAGE_SIZE else PAGE_SIZE
                fr = self.mf.allocate(length, align)
                self._insert_pma(
                    Pma(cur, piece_end, self.mf, fr.start, translate_perms=ANY_ACCESS,
                        vma_effective=v.effective_perms, vma_max=v.max_perms,
                        need_cow=False, private=True)
                )
                cur = piece_end
            return end, None
        want = AccessType(at.read or True, at.write and not v.private, at.execute)
        translations, err = v.mappable.translate(v.mappable_offset(start), v.mappable_offset(end), want)
        cur = start
        for t in translations:
            ts = v.start + (t.source_start - v.off)
            te = v.start + (t.source_end - v.off)
            p = Pma(ts, te, t.file, t.offset, translate_perms=t.perms,
                    vma_effective=v.effective_perms, vma_max=v.max_perms,
                    need_cow=v.private, private=False)
            t.file.inc_ref(p.file_range())
            self._insert_pma(p)
            cur = te
        return cur, err

    def _insert_pma(self, p: Pma) -> None:
        self.pmas.insert(p)
        self.counters.pmas_created += 1
        if TRACE.mm:
            log.debug("pma created", range=f"[{p.start:#x}, {p.end:#x})", file_offset=hex(p.off),
                      perms=str(p.effective_perms), cow=p.need_cow)

    def _break_cow_range(self, v: Vma, start: int, end: int) -> None:
        """Break copy-on-write for pmas in ``[start, end)`` (inside ``v``)."""
        if not any(p.need_cow for p in self.pmas.overlapping(start, end)):
            return
        i, j = self.pmas.isolate(start, end)
        for p in self.pmas.segs[i:j]:
            if p.need_cow:
                self._break_cow(v, p)
        self.address_space.unmap(start, end - start)
        self.pmas.merge_range(start, end)

    def _break_cow(self, v: Vma, p: Pma) -> None:
        """Give ``p`` its own writable copy (or reclaim it if sole owner)."""
        fr = p.file_range()
        if p.private and p.file is self.mf and self.mf.has_unique_ref(fr):
            # Nobody else holds these pages: take them back without copying.
            self.counters.cow_reclaims += 1
        else:
            new = self.mf.allocate(fr.length(), PAGE_SIZE)
            self.mf.map_internal(new, ANY_ACCESS)[:] = p.file.map_internal(fr, ANY_ACCESS)
            p.file.dec_ref(fr)
            p.file = self.mf
            p.off = new.start
            p.private = True
            p.translate_perms = ANY_ACCESS
            self.counters.cow_breaks += 1
        p.need_cow = False
        p.set_vma_perms(v.effective_perms, v.max_perms)
        if TRACE.mm:
            log.debug("cow break", range=f"[{p.start:#x}, {p.end:#x})", copied=p.file is self.mf)

    def _invalidate(self, start: int, end: int) -> None:
        """Drop pmas in ``[start, end)`` and unmap them from the address space."""
        self.address_space.unmap(start, end - start)
        for p in self.pmas.remove_range(start, end):
            p.file.dec_ref(p.file_range())

    # -- internal mappings -------------------------------------------------

    def _views(self, start: int, end: int) -> list[memoryview]:
        """Memoryviews of the backing memory of ``[start, end)``.

        Precondition: pmas cover the range.
        """
        out = []
        for p in self.pmas.overlapping(start, end):
            a, b = max(p.start, start), min(p.end, end)
            pa = _page_down(a)
            view = p.file.map_internal(p.file_range_of(pa, _page_up(b)), ANY_ACCESS)
            out.append(view[a - pa : b - pa])
        return out

    def _io_views(self, addr: int, end: int, at: AccessType, ignore_permissions: bool) -> tuple[list[memoryview], int, Exception | None]:
        """Views of the good prefix of ``[addr, end)`` for an access ``at``.

        Returns ``(views, good_end, err)``; ``err`` (EFAULT, or a BusError
        for the caller to translate) is set when ``good_end < end``.
        Precondition: ``addr < end <= layout.max_addr``.
        """
        p = self.pmas.find(addr)
        if p is not None and p.end >= end:
            perms = p.max_perms if ignore_permissions else p.effective_perms
            if perms.superset_of(at):
                pa = _page_down(addr)
                view = p.file.map_internal(p.file_range_of(pa, _page_up(end)), ANY_ACCESS)
                return [view[addr - pa : end - pa]], end, None
        vend, _verr = self._check_vmas(addr, end, at, ignore_permissions)
        if vend <= addr:
            return [], addr, EFAULT
        pend, _perr = self._get_pmas(_page_down(addr), _page_up(vend), at)
        good = min(vend, pend)
        if good <= addr:
            return [], addr, EFAULT
        return self._views(addr, good), good, (None if good == end else EFAULT)

    # -- the address space --------------------------------------------------

    def _map_as(self, start: int, end: int) -> None:
        """Map the pmas in ``[start, end)`` into the address space."""
        for p in self.pmas.overlapping(start, end):
            a, b = max(p.start, start), min(p.end, end)
            if p.effective_perms.any():
                self.address_space.map_file(a, p.file, p.file_range_of(a, b), p.effective_perms, False)

    def handle_user_fault(self, addr: int, at: AccessType) -> Exception | None:
        """Resolve a guest page fault at ``addr`` for access ``at``.

        Returns None when the page is now mapped (resume the guest at the
        faulting instruction), EFAULT when no vma covers it (SIGSEGV with
        SEGV_MAPERR), EPERM when the vma forbids the access (SEGV_ACCERR), or
        a BusError past end of file (SIGBUS). Mirrors gVisor's
        ``HandleUserFault``, mapping a huge-page-aligned window around the
        fault (clipped to the vma) so sequential touches fault once per
        2 MiB. Executable vmas fault page by page so COW copies stay small.
        """
        self.counters.faults += 1
        page = addr & _PAGE_MASK
        v = self.vmas.find(page)
        if TRACE.mm:
            log.debug("fault", addr=hex(addr), access=str(at), vma=repr(v))
        if v is None:
            return EFAULT
        if not v.effective_perms.superset_of(at):
            return EPERM
        if v.effective_perms.execute or v.grows_down:
            ws, we = page, page + PAGE_SIZE
        else:
            ws = max(page & _HUGE_MASK, v.start)
            we = min((page & _HUGE_MASK) + HUGE_PAGE_SIZE, v.end)
        good, err = self._get_pmas(ws, we, at)
        if good <= page:
            return err if isinstance(err, BusError) else (err or EFAULT)
        self._map_as(ws, good)
        return None
