"""A seeded random stress test of the MemoryManager against a model.

Thousands of mmap/munmap/mprotect/mremap/madvise operations over a 4 MiB
arena that straddles 2 MiB windows, interleaved with guest code (a small
loop reading or writing addresses given in registers), syscall-path
copies, and a forked child whose memory must keep its own contents. After
every operation the outcome is compared with a page-level model of Linux
semantics; periodically the whole arena's contents, the MM's invariants
and the Unicorn region table (every region inside pmas, never with more
permissions, pointing at the right host memory, and bounded in number)
are checked.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mm_helpers import IGNORE, PLAIN, Guest, check_cache, region_count, requires_gcc

from sentry.abi.signals import SEGV_ACCERR, SEGV_MAPERR, SIGSEGV
from sentry.hostarch import NO_ACCESS, PAGE_SIZE, AccessType
from sentry.linuxerr import EFAULT, EINVAL, ENOMEM, Errno
from sentry.memfile import MemoryFile
from sentry.memmap.mappable import HostFileMappable
from sentry.mm import MemoryManager, MMapOpts
from sentry.platform import UnicornAddressSpace

pytestmark = requires_gcc

P = PAGE_SIZE
BASE = 0x50000000 + 0x123000  # not 2 MiB-aligned: windows straddle the arena
PAGES = 1024
SEED = 20261125
OPS = 20000
MAX_REGIONS = 400
FILE_PAGES = 80

PERMS = [
    NO_ACCESS,
    AccessType(True, False, False),
    AccessType(True, True, False),
    AccessType(False, True, False),
    AccessType(True, False, True),
    AccessType(True, True, True),
]


@dataclass
class Model:
    """Per-page state: None (unmapped) or the page's permissions; what
    backs it (``ident``: None for anonymous memory, else ``(file mapping
    number, file page)``); and the bytes of every page (meaningful where
    mapped)."""

    perms: list[AccessType | None] = field(default_factory=lambda: [None] * PAGES)
    ident: list[tuple[int, int] | None] = field(default_factory=lambda: [None] * PAGES)
    data: bytearray = field(default_factory=lambda: bytearray(PAGES * P))

    def copy(self) -> Model:
        return Model(list(self.perms), list(self.ident), bytearray(self.data))

    def can(self, page: int, write: bool) -> int:
        """0 if allowed, else the si_code of the fault."""
        if not 0 <= page < PAGES or self.perms[page] is None:
            return SEGV_MAPERR
        eff = self.perms[page].effective()  # type: ignore[union-attr]
        return 0 if (eff.write if write else eff.read) else SEGV_ACCERR

    def same_vma(self, a: int, b: int) -> bool:
        """Whether adjacent pages ``a`` and ``b = a + 1`` lie in one vma:
        vmas merge when permissions match and both are anonymous, or both
        map the same file at consecutive offsets."""
        if self.perms[a] is None or self.perms[a] != self.perms[b]:
            return False
        ia, ib = self.ident[a], self.ident[b]
        if ia is None or ib is None:
            return ia is ib
        return ia[0] == ib[0] and ib[1] == ia[1] + 1

    def vma_end(self, page: int) -> int:
        """End (page index) of the vma holding ``page``."""
        end = page + 1
        while end < PAGES and self.same_vma(end - 1, end):
            end += 1
        return end

    def unmap(self, page: int, n: int) -> None:
        for i in range(page, page + n):
            self.perms[i] = None
            self.ident[i] = None


class Stress:
    def __init__(self, rng: random.Random, file_fd: int, file_data: bytes) -> None:
        self.rng = rng
        self.file_fd = file_fd
        self.file_data = file_data
        self.mappables: list[HostFileMappable] = []
        self.mf = MemoryFile()
        self.mm = MemoryManager(self.mf, UnicornAddressSpace)
        self.guest = Guest(self.mm)
        self.model = Model()
        self.child: MemoryManager | None = None
        self.child_guest: Guest | None = None
        self.child_model: Model | None = None
        self.max_regions = 0

    # -- helpers ----------------------------------------------------------------

    def rand_range(self, max_pages: int = 64) -> tuple[int, int]:
        n = self.rng.randint(1, max_pages)
        page = self.rng.randrange(0, PAGES - n + 1)
        return page, n

    def addr(self, page: int) -> int:
        return BASE + page * P

    # -- operations -------------------------------------------------------------

    def op_mmap(self) -> None:
        page, n = self.rand_range()
        perms = self.rng.choice(PERMS)
        opts = MMapOpts(length=n * P, addr=self.addr(page), fixed=True, unmap=True, perms=perms)
        m = self.model
        if self.rng.random() < 0.25:
            # A private mapping of the file (copy-on-write), a new mappable.
            fpage = self.rng.randrange(0, FILE_PAGES - n + 1)
            opts.mappable = HostFileMappable(self.file_fd, "stress-file", writable=False)
            opts.offset = fpage * P
            self.mappables.append(opts.mappable)
            got = self.mm.mmap(opts)
            number = len(self.mappables)
            for i in range(n):
                m.ident[page + i] = (number, fpage + i)
            m.data[page * P : (page + n) * P] = self.file_data[fpage * P : (fpage + n) * P]
        else:
            got = self.mm.mmap(opts)
            for i in range(page, page + n):
                m.ident[i] = None
            m.data[page * P : (page + n) * P] = bytes(n * P)
        assert got == self.addr(page)
        for i in range(page, page + n):
            m.perms[i] = perms

    def op_munmap(self) -> None:
        page, n = self.rand_range()
        self.mm.munmap(self.addr(page), n * P)
        self.model.unmap(page, n)

    def op_mprotect(self) -> None:
        page, n = self.rand_range()
        perms = self.rng.choice(PERMS)
        want: Errno | None = None
        if self.model.perms[page] is None:
            want = ENOMEM
        else:
            for i in range(page, page + n):
                if self.model.perms[i] is None:
                    want = ENOMEM
                    break
                self.model.perms[i] = perms
        try:
            self.mm.mprotect(self.addr(page), n * P, perms)
            got = None
        except Errno as e:
            got = e
        assert got is want, (page, n, got, want)

    def op_mremap(self) -> None:
        page, n = self.rand_range(16)
        m = self.model
        if self.rng.random() < 0.3:
            # Resize in place (shrink, or grow if the pages after are free).
            new_n = self.rng.randint(1, 32)
            if page + new_n > PAGES:
                return  # growth past the arena is outside the model
            want: int | Errno
            if m.perms[page] is None:
                want = EFAULT
            elif new_n <= n:
                want = self.addr(page)
            elif page + n > m.vma_end(page):
                want = EFAULT
            elif page + n == m.vma_end(page) and all(p is None for p in m.perms[page + n : page + new_n]):
                want = self.addr(page)
            else:
                want = ENOMEM
            grow_ident: list[tuple[int, int] | None] = []
            if isinstance(want, int) and new_n > n:
                last = m.ident[page + n - 1]
                if last is not None and last[1] + new_n - n >= FILE_PAGES:
                    return  # would expose pages past the end of the file
                grow_ident = [None if last is None else (last[0], last[1] + k) for k in range(1, new_n - n + 1)]
            try:
                got: int | Errno = self.mm.mremap(self.addr(page), n * P, new_n * P, 0, 0)
            except Errno as e:
                got = e
            assert got == want, (page, n, new_n, got, want)
            if isinstance(want, int):
                if new_n < n:
                    m.unmap(page + new_n, n - new_n)
                elif new_n > n:
                    for k, ident in enumerate(grow_ident):
                        i = page + n + k
                        m.perms[i] = m.perms[page]
                        m.ident[i] = ident
                        m.data[i * P : (i + 1) * P] = (
                            bytes(P) if ident is None else self.file_data[ident[1] * P : (ident[1] + 1) * P]
                        )
            return
        # Move with MREMAP_MAYMOVE|MREMAP_FIXED. Linux rejects overlapping
        # ranges (EINVAL), looks the source vma up (EFAULT), unmaps the
        # destination, then checks that the source range lies in one vma.
        dest = self.rng.randrange(0, PAGES - n + 1)
        if dest < page + n and page < dest + n:
            want = EINVAL
        elif m.perms[page] is None:
            want = EFAULT
        else:
            m.unmap(dest, n)
            want = EFAULT if page + n > m.vma_end(page) else self.addr(dest)
        try:
            got = self.mm.mremap(self.addr(page), n * P, n * P, 3, self.addr(dest))
        except Errno as e:
            got = e
        assert got == want, ("move", page, n, dest, got, want)
        if isinstance(want, int):
            perms = m.perms[page]
            idents = m.ident[page : page + n]
            data = bytes(m.data[page * P : (page + n) * P])
            m.unmap(page, n)
            for k in range(n):
                m.perms[dest + k] = perms
                m.ident[dest + k] = idents[k]
            m.data[dest * P : (dest + n) * P] = data

    def op_madvise(self) -> None:
        page, n = self.rand_range(16)
        want = None
        for i in range(page, page + n):
            if self.model.perms[i] is None:
                want = ENOMEM
            else:
                ident = self.model.ident[i]
                self.model.data[i * P : (i + 1) * P] = (
                    bytes(P) if ident is None else self.file_data[ident[1] * P : (ident[1] + 1) * P]
                )
        try:
            self.mm.madvise(self.addr(page), n * P, 4)
            got = None
        except Errno as e:
            got = e
        assert got is want

    def op_guest(self, mm: MemoryManager | None = None) -> None:
        child = mm is not None
        guest = self.child_guest if child else self.guest
        model = self.child_model if child else self.model
        assert guest is not None and model is not None
        start = self.rng.randrange(0, PAGES * P)
        stride = self.rng.choice([1, 7, 64, P - 1, P, P + 3, 3 * P])
        count = self.rng.randint(1, 24)
        write = self.rng.random() < 0.5
        value = self.rng.randint(1, 255)
        want_sum = done = 0
        fault: tuple[int, int] | None = None
        written: list[int] = []
        a = start
        for _ in range(count):
            code = model.can(a // P, write) if a < PAGES * P else SEGV_MAPERR
            if code:
                fault = (BASE + a, code)
                break
            if write:
                written.append(a)
            want_sum += value if write else model.data[a]
            done += 1
            a += stride
        if fault is not None and not 0 <= fault[0] - BASE < PAGES * P:
            return  # runs past the arena: what is there is outside the model
        for a in written:
            model.data[a] = value
        out = guest.loop(BASE + start, count, stride, write, value)
        if fault is None:
            assert out.ok, (out, start, stride, count, write)
        else:
            assert (out.signal, out.addr, out.code) == (SIGSEGV, *fault), (out, fault, start, stride, count, write)
        assert (out.rax, out.r10) == (want_sum, done), (out, want_sum, done)

    def op_io(self) -> None:
        page = self.rng.randrange(0, PAGES)
        off = self.rng.randrange(0, P)
        length = self.rng.randint(1, 3 * P)
        start = page * P + off
        end = min(start + length, PAGES * P)
        write = self.rng.random() < 0.5
        good = start
        while good < end and not self.model.can(good // P, write):
            good = min((good // P + 1) * P, end)
        want = (good - start, None if good == end else EFAULT)
        if write:
            data = self.rng.randbytes(end - start)
            assert self.mm.copy_out(BASE + start, data, PLAIN) == want
            self.model.data[start:good] = data[: good - start]
        else:
            buf = bytearray(end - start)
            assert self.mm.copy_in(BASE + start, buf, PLAIN) == want
            assert buf[: good - start] == self.model.data[start:good]

    def op_fork(self) -> None:
        if self.child is not None:
            self.child.release()
            self.child = self.child_guest = self.child_model = None
            return
        self.child = self.mm.fork()
        self.child_guest = self.guest.for_mm(self.child)
        self.child_model = self.model.copy()

    # -- checks -----------------------------------------------------------------

    def check_contents(self, mm: MemoryManager, model: Model) -> None:
        for page in range(PAGES):
            if model.perms[page] is None:
                assert not mm.is_mapped(self.addr(page)), page
                continue
            v = mm.vmas.find(self.addr(page))
            assert v is not None and v.real_perms == model.perms[page], (page, v)
        # Contents, run by run (ignore_permissions reads PROT_NONE too).
        page = 0
        while page < PAGES:
            if model.perms[page] is None:
                page += 1
                continue
            end = page
            while end < PAGES and model.perms[end] is not None:
                end += 1
            buf = bytearray((end - page) * P)
            assert mm.copy_in(self.addr(page), buf, IGNORE) == (len(buf), None)
            if buf != model.data[page * P : end * P]:
                bad = next(i for i in range(len(buf)) if buf[i] != model.data[page * P + i])
                raise AssertionError(f"contents differ at page {page + bad // P} offset {bad % P:#x}")
            page = end

    def check(self) -> None:
        for mm in (self.mm, self.child):
            if mm is None:
                continue
            check_cache(mm)
            count = region_count(mm)
            self.max_regions = max(self.max_regions, count)
            assert count <= MAX_REGIONS, f"{count} Unicorn regions"
            # Regions are pma pieces per 2 MiB window, plus a few fragments.
            assert count <= 2 * len(mm.pmas) + 16, (count, len(mm.pmas))
        self.check_contents(self.mm, self.model)
        if self.child is not None and self.child_model is not None:
            self.check_contents(self.child, self.child_model)


@pytest.fixture
def backing_file(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    data = random.Random(7).randbytes(FILE_PAGES * P)
    path = tmp_path / "stress-file"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


def run(s: Stress, ops: list[tuple[object, int]], count: int, check_every: int) -> dict[str, int]:
    funcs = [f for f, _ in ops]
    weights = [w for _, w in ops]
    counts: dict[str, int] = {}
    rng = s.rng
    try:
        for i in range(count):
            f = rng.choices(funcs, weights)[0]
            name = getattr(f, "__name__", "")
            counts[name] = counts.get(name, 0) + 1
            if f == s.op_guest and s.child is not None and rng.random() < 0.3:
                s.op_guest(s.child)
            else:
                f()  # type: ignore[operator]
            if i % check_every == check_every - 1:
                s.check()
        s.check()
    finally:
        if s.child is not None:
            s.child.release()
        s.mm.release()
    assert s.mf.bytes_in_use == 0, "every page is freed when both address spaces go"
    assert all(m.released and m.fd == -1 for m in s.mappables), "every file mappable is released"
    return counts


def test_random_operations_against_model(backing_file: tuple[int, bytes]) -> None:
    fds = len(os.listdir("/proc/self/fd"))
    s = Stress(random.Random(SEED), *backing_file)
    s.guest.warm()
    ops: list[tuple[object, int]] = [
        (s.op_mmap, 14),
        (s.op_munmap, 6),
        (s.op_mprotect, 12),
        (s.op_mremap, 8),
        (s.op_madvise, 3),
        (s.op_guest, 40),
        (s.op_io, 12),
        (s.op_fork, 1),
    ]
    counts = run(s, ops, OPS, 250)
    assert counts["op_guest"] > 5000 and counts["op_mmap"] > 2000 and s.max_regions > 0
    assert len(os.listdir("/proc/self/fd")) == fds
    stats = s.mm.counters
    assert stats.faults > 1000 and stats.cow_breaks > 50 and stats.cow_reclaims > 10, stats


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_short_runs_other_seeds(seed: int, backing_file: tuple[int, bytes]) -> None:
    s = Stress(random.Random(seed), *backing_file)
    ops: list[tuple[object, int]] = [
        (s.op_mmap, 1), (s.op_munmap, 1), (s.op_mprotect, 1), (s.op_mremap, 1),
        (s.op_madvise, 1), (s.op_guest, 2), (s.op_io, 1), (s.op_fork, 1),
    ]
    run(s, ops, 600, 100)
