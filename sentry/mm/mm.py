"""The MemoryManager's state and its vma/pma machinery (gVisor ``mm/mm.go``,
``vma.go``, ``pma.go``, ``address_space.go``).

Vocabulary, as in gVisor: a *vma* records what the guest mapped; a *pma*
records what backs it (a range of a ``memmap.File``). pmas exist only where
vmas do and appear lazily: on a guest page fault, or when a syscall copies
through the range. The platform ``AddressSpace`` (one Unicorn instance) is
a cache of pmas: whatever it maps can be dropped and re-faulted at any
time.

Invariants kept by every operation here (``check_invariants`` verifies
them; the tests call it):

* vmas and pmas are page-aligned, sorted and non-overlapping; every pma
  lies inside vmas (gVisor: "a pma can only exist where a vma exists");
* a pma's file range is host-contiguous (pmas merge only when their host
  addresses are adjacent, never across MemoryFile chunks that are not);
* a pma holds one reference on each page of its file range; a vma holds
  one reference on its mappable;
* the address space maps nothing outside pmas, and never with more
  permissions than the pma's ``effective_perms`` (Write is absent while a
  pma is copy-on-write).

Faults map a *window*: the 2 MiB-aligned range around the faulting page,
clipped to its vma, is backed by pmas and mapped whole, each pma piece as
one Unicorn region (replacing whatever fragments were mapped there). So
touching memory sequentially costs one fault and one region per 2 MiB, and
a window's regions are renormalised whenever it faults again.

The guest runs in one host thread and the sentry is single-threaded, so
gVisor's mappingMu/activeMu have no counterpart here.
"""

from __future__ import annotations

from collections.abc import Callable

from sentry.hostarch import (
    ANY_ACCESS,
    HUGE_PAGE_SIZE,
    PAGE_SIZE,
    READ,
    AccessType,
)
from sentry.linuxerr import EFAULT, EPERM, Errno
from sentry.logs import get_logger
from sentry.memfile import MemoryFile
from sentry.memmap.mappable import BusError
from sentry.memmap.write_access import allow_write, deny_write
from sentry.mm.layout import Counters, Metadata, MmapLayout
from sentry.mm.pma import Pma
from sentry.mm.vma import Vma
from sentry.platform import AddressSpace
from sentry.segment import SegmentSet
from sentry.tracing import TRACE

log = get_logger("sentry.mm")

_PAGE_MASK = ~(PAGE_SIZE - 1)
_HUGE_MASK = ~(HUGE_PAGE_SIZE - 1)

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

    def _insert_vma(self, v: Vma) -> None:
        """Insert the new vma ``v`` (taking its mappable reference) and
        merge it with compatible neighbours. Precondition: the range is free."""
        if v.mappable is not None:
            v.mappable.inc_ref()
        self.vmas.insert(v)
        self.vmas.merge_range(v.start, v.end)

    def _remove_vmas(self, start: int, end: int) -> None:
        """Remove vmas in ``[start, end)`` (splitting at the edges) and drop
        their mappable references. pmas must already be gone."""
        for v in self.vmas.remove_range(start, end):
            if v.mappable is not None:
                v.mappable.dec_ref()

    def _check_vmas(self, start: int, end: int, at: AccessType, ignore_permissions: bool) -> tuple[int, Errno | None]:
        """Check that vmas cover ``[start, end)`` with ``at`` allowed.

        Returns ``(good_end, err)``: ``good_end`` is where the good prefix
        stops (``end`` on success); ``err`` is EFAULT at a hole and EPERM at a
        vma lacking the permission (gVisor ``getVMAsLocked``). With
        ``ignore_permissions`` the vma's maximum permissions are checked
        instead of its effective ones. Precondition: start < end.
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
        gaps, and breaks copy-on-write over the whole range if
        ``at.write``. Returns ``(good_end, err)`` where ``[start, good_end)``
        is ready and ``err`` explains a short result (a BusError past end of
        file, EFAULT where no vma exists). Preconditions: page-aligned,
        ``start < end``; vmas checked by the caller.
        """
        cur = start
        for v in self.vmas.overlapping(start, end):
            if v.start > cur:
                return cur, EFAULT
            vs, ve = max(v.start, start), min(v.end, end)
            for gs, ge in self.pmas.gaps(vs, ve):
                filled, err = self._fill_gap(v, gs, ge, at)
                if err is not None:
                    # pmas cover [vs, filled): earlier gaps were filled.
                    if at.write and filled > vs:
                        self._break_cow_range(v, vs, filled)
                    return filled, err
            if at.write:
                self._break_cow_range(v, vs, ve)
            cur = ve
        if cur < end:
            return cur, EFAULT
        return end, None

    def _fill_gap(self, v: Vma, start: int, end: int, at: AccessType) -> tuple[int, Exception | None]:
        """Create pmas for the pma gap ``[start, end)`` inside vma ``v``.

        Returns ``(filled_end, err)``: pmas now cover ``[start, filled_end)``.
        """
        if v.mappable is None:
            # Private anonymous memory: fresh zeroed pages, at most one huge
            # page per allocation so pmas stay aligned units. (No shared zero
            # page: even a read allocates, as in gVisor.)
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
        # The mappable may later ask this MM to drop what it translated
        # (a host file truncated: see memmap.mappable.host_file_truncated).
        v.mappable.add_space(self)
        # Private mappings translate read-only and copy on the first write.
        want = AccessType(True, at.write and not v.private, at.execute)
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
        self.pmas.merge_range(p.start, p.end)
        self.counters.pmas_created += 1
        if TRACE.mm:
            log.debug("pma created", range=f"[{p.start:#x}, {p.end:#x})", file_offset=hex(p.off),
                      perms=str(p.effective_perms), cow=p.need_cow)

    def _break_cow_range(self, v: Vma, start: int, end: int) -> None:
        """Break copy-on-write for pmas in ``[start, end)`` (inside ``v``).

        Each COW pma piece is either reclaimed (this MM holds the only
        reference on its private pages: no copy, gVisor's
        ``isPMACopyOnWriteLocked``) or copied into fresh memory. The
        address space loses its mapping of the broken pieces so stale
        read-only regions cannot linger; the caller maps them again.
        """
        if not any(p.need_cow for p in self.pmas.overlapping(start, end)):
            return
        i, j = self.pmas.isolate(start, end)
        for p in self.pmas.segs[i:j]:
            if p.need_cow:
                self._break_cow(v, p)
                self.address_space.unmap(p.start, p.end - p.start)
        self.pmas.merge_range(start, end)

    def _break_cow(self, v: Vma, p: Pma) -> None:
        """Give ``p`` its own writable copy (or reclaim it if sole owner)."""
        fr = p.file_range()
        copied = False
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
            copied = True
        p.need_cow = False
        p.set_vma_perms(v.effective_perms, v.max_perms)
        if TRACE.mm:
            log.debug("cow break", range=f"[{p.start:#x}, {p.end:#x})", copied=copied)

    def _invalidate(self, start: int, end: int) -> None:
        """Drop pmas in ``[start, end)``: unmap them from the address space
        first, then release their pages (gVisor ``invalidateLocked``)."""
        self.address_space.unmap(start, end - start)
        for p in self.pmas.remove_range(start, end):
            p.file.dec_ref(p.file_range())

    def set_executable_file(self, key: tuple[int, int] | None) -> None:
        """Record the host file (device, inode) this MM runs: while the MM
        lives, opening it for writing or truncating it is ETXTBSY (Linux
        ``set_mm_exe_file`` denies write access). None forgets it."""
        old, self.metadata.exe_key = self.metadata.exe_key, key
        if key is not None:
            deny_write(key)
        if old is not None:
            allow_write(old)

    def invalidate_mappable(self, mappable: object, start: int) -> None:
        """Drop the pmas of every vma mapping ``mappable`` at mappable
        offsets from ``start`` on, private copy-on-write copies included
        (Linux ``unmap_mapping_range(..., even_cows=1)`` on truncation): the
        next access faults and translates again (SIGBUS past end of file)."""
        for v in list(self.vmas):
            if v.mappable is not mappable:
                continue
            lo = v.start + max(0, start - v.off)
            if lo < v.end:
                self._invalidate(lo, v.end)

    # -- internal mappings -------------------------------------------------

    def _views(self, start: int, end: int) -> list[memoryview]:
        """Memoryviews of the backing memory of ``[start, end)``, one per pma.

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
                if TRACE.mm:
                    self._trace_io(addr, end, at, end, None)
                return [view[addr - pa : end - pa]], end, None
        views, good, err = self._io_views_slow(addr, end, at, ignore_permissions)
        if TRACE.mm:
            self._trace_io(addr, end, at, good, err)
        return views, good, err

    def _trace_io(self, addr: int, end: int, at: AccessType, good: int, err: Exception | None) -> None:
        """The teaching view of one copy: the range, then each vma and pma
        it crosses and the backing memory (file and offset) it lands in."""
        steps = []
        for v in self.vmas.overlapping(addr, max(good, addr + 1)):
            steps.append(f"vma {v!r}")
        for p in self.pmas.overlapping(addr, good):
            a, b = max(p.start, addr), min(p.end, good)
            steps.append(f"pma [{a:#x}, {b:#x}) -> {type(p.file).__name__}+{p.off + (a - p.start):#x}")
        log.debug("usermem copy", range=f"[{addr:#x}, {end:#x})", access=str(at),
                  copied=good - addr, error=repr(err) if err is not None else None, path=steps)

    def _io_views_slow(self, addr: int, end: int, at: AccessType, ignore_permissions: bool) -> tuple[list[memoryview], int, Exception | None]:
        """``_io_views`` when no single pma already serves the range."""
        vend, verr = self._check_vmas(addr, end, at, ignore_permissions)
        if vend <= addr:
            return [], addr, verr
        pend, perr = self._get_pmas(_page_down(addr), _page_up(vend), at)
        good = min(vend, pend)
        if good <= addr:
            return [], addr, perr or EFAULT
        if good == end:
            return self._views(addr, good), good, None
        return self._views(addr, good), good, (perr if pend < vend else verr) or EFAULT

    # -- the address space --------------------------------------------------

    def _map_as(self, start: int, end: int) -> None:
        """Map the pmas in ``[start, end)`` into the address space, one
        region per pma piece (``map_file`` replaces what was there, which
        also renormalises fragmented regions). Pieces without permissions
        are unmapped instead."""
        for p in self.pmas.overlapping(start, end):
            a, b = max(p.start, start), min(p.end, end)
            if p.effective_perms.any():
                self.address_space.map_file(a, p.file, p.file_range_of(a, b), p.effective_perms, False)
            else:
                self.address_space.unmap(a, b - a)

    def _protect_as(self, start: int, end: int, old: AccessType, new: AccessType) -> None:
        """Change the address space's permissions on the mapped parts of
        ``[start, end)`` from the pma's ``old`` effective permissions to
        ``new``, keeping the regions (``protect``).

        Removing Read is done by unmapping instead (the next access faults
        and maps again): Unicorn 2.1.4 does not flush its TLB when a
        region that was already read-only loses Read, so a page read
        before stays readable. Removing Write flushes it (the region turns
        read-only), and Execute removal is checked when code is fetched.
        """
        if old.read and not new.read:
            self.address_space.unmap(start, end - start)
        else:
            self.address_space.protect(start, end - start, new)

    def _maybe_compact_as(self) -> None:
        """Drop every address-space mapping if the regions fragmented far
        beyond what the pmas need (permission changes split Unicorn regions
        that only a later fault in the same window would renormalise).
        The address space is a cache: faults re-map what is used."""
        count = self.address_space.region_count
        limit = 64 + 2 * len(self.pmas)
        for p in self.pmas:
            limit += ((p.end - 1) >> 21) - (p.start >> 21)
        if count > limit:
            self.counters.as_compactions += 1
            self.address_space.unmap(0, self.layout.max_addr)

    def handle_user_fault(self, addr: int, at: AccessType) -> Exception | None:
        """Resolve a guest page fault at ``addr`` for access ``at``.

        Returns None when the page is now mapped (resume the guest at the
        faulting instruction), EFAULT when no vma covers it (SIGSEGV with
        SEGV_MAPERR), EPERM when the vma forbids the access (SEGV_ACCERR), or
        a BusError past end of file (SIGBUS). Mirrors gVisor's
        ``HandleUserFault``: the huge-page-aligned window around the fault,
        clipped to the vma, gets pmas and is mapped whole, so sequential
        touches fault once per 2 MiB. A write breaks copy-on-write over the
        window, except in executable vmas (only the faulting page) and
        stacks (the page and its neighbours), as gVisor narrows COW copies.
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
        ws = max(page & _HUGE_MASK, v.start)
        we = min((page & _HUGE_MASK) + HUGE_PAGE_SIZE, v.end)
        good, err = self._get_pmas(ws, we, READ if at.write else at)
        if good <= page:
            return err if isinstance(err, BusError) else (err or EFAULT)
        if at.write:
            if v.effective_perms.execute:
                cs, ce = page, page + PAGE_SIZE
            elif v.grows_down:
                cs, ce = max(page - PAGE_SIZE, ws), min(page + 2 * PAGE_SIZE, good)
            else:
                cs, ce = ws, good
            self._break_cow_range(v, cs, ce)
        self._map_as(ws, good)
        return None
