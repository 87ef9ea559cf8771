"""Real guest instructions in Unicorn over a MemoryManager: lazy faults,
SIGSEGV codes, mprotect taking effect, fork copy-on-write, SIGBUS past end
of file. Faults are resolved with ``mm.handle_user_fault`` exactly as
``Kernel._run_task`` does (see ``mm_helpers.run_guest``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mm_helpers import IGNORE, PLAIN, Guest, anon, check_cache, region_count, requires_gcc

from sentry.abi.signals import SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV
from sentry.hostarch import (
    EXECUTE,
    HUGE_PAGE_SIZE,
    NO_ACCESS,
    PAGE_SIZE,
    READ,
    READ_WRITE,
    WRITE,
)
from sentry.linuxerr import EFAULT, EPERM
from sentry.memfile import MemoryFile
from sentry.memmap.mappable import HostFileMappable, SharedAnonMappable
from sentry.mm import MemoryManager, MMapOpts

pytestmark = requires_gcc

DATA = 0x20000000


@pytest.fixture
def guest(mm: MemoryManager) -> Guest:
    g = Guest(mm)
    g.warm()
    return g


def test_lazy_fault_on_first_touch(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, 4 * PAGE_SIZE)
    assert mm.pages_present(DATA, DATA + 4 * PAGE_SIZE) == 0, "mmap must not allocate"
    before = mm.counters.faults
    out = guest.store8(DATA + 0x1234, 0x5A)
    assert out.ok and out.faults == 1, out
    assert mm.counters.faults == before + 1
    assert mm.pages_present(DATA, DATA + 4 * PAGE_SIZE) == 4 * PAGE_SIZE  # the whole window (the vma)
    buf = bytearray(1)
    assert mm.copy_in(DATA + 0x1234, buf, PLAIN) == (1, None) and buf[0] == 0x5A
    # A second touch of the same window does not fault.
    out = guest.load8(DATA + 3 * PAGE_SIZE + 7)
    assert out.ok and out.faults == 0 and out.rax == 0
    assert mm.counters.faults == before + 1
    check_cache(mm)


def test_read_fault_allocates_zeroed_memory(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE, READ)
    out = guest.load8(DATA + 100)
    assert out.ok and out.rax == 0 and out.faults == 1
    assert mm.pages_present(DATA, DATA + PAGE_SIZE) == PAGE_SIZE


def test_write_to_read_only_page_is_segv_accerr(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE, READ)
    out = guest.store8(DATA + 8, 1)
    assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_ACCERR, DATA + 8)
    assert out.err is EPERM
    assert mm.handle_user_fault(DATA + 8, WRITE) is EPERM
    # Reads still work.
    assert guest.load8(DATA + 8).ok


def test_prot_none_read_is_segv_accerr(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE, NO_ACCESS)
    out = guest.load8(DATA)
    assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_ACCERR, DATA)


def test_unmapped_access_is_segv_maperr(mm: MemoryManager, guest: Guest) -> None:
    for out, addr in ((guest.store8(DATA + 5, 1), DATA + 5), (guest.load8(DATA + 9), DATA + 9)):
        assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_MAPERR, addr)
        assert out.err is EFAULT
    assert mm.handle_user_fault(DATA, READ) is EFAULT
    # Null pointer, and the top of the address space.
    assert guest.load8(0).code == SEGV_MAPERR
    assert guest.load8(0x7FFFFFFFEFFF).code == SEGV_MAPERR


def test_execute_faults(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE, READ_WRITE)
    out = guest.call("jump", rdi=DATA)  # present but not executable
    assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_ACCERR, DATA)
    out = guest.call("jump", rdi=DATA + 16 * PAGE_SIZE)
    assert (out.signal, out.code) == (SIGSEGV, SEGV_MAPERR)
    assert mm.handle_user_fault(DATA, EXECUTE) is EPERM


def test_access_straddling_into_unmapped_page(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE)
    mm.copy_out(DATA + PAGE_SIZE - 2, b"\x11\x22", PLAIN)
    out = guest.call("load32", rdi=DATA + PAGE_SIZE - 2)
    assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_MAPERR, DATA + PAGE_SIZE)
    anon(mm, DATA + PAGE_SIZE, PAGE_SIZE)
    mm.copy_out(DATA + PAGE_SIZE, b"\x33\x44", PLAIN)
    out = guest.call("load32", rdi=DATA + PAGE_SIZE - 2)
    assert out.ok and out.rax == 0x44332211


def test_mprotect_downgrade_takes_effect_on_present_page(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, 2 * PAGE_SIZE)
    assert guest.store8(DATA, 7).ok  # present and mapped writable now
    regions = region_count(mm)
    mm.mprotect(DATA, PAGE_SIZE, READ)
    out = guest.store8(DATA, 8)
    assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_ACCERR, DATA)
    out = guest.load8(DATA)
    assert out.ok and out.rax == 7
    mm.mprotect(DATA, PAGE_SIZE, NO_ACCESS)
    out = guest.load8(DATA)
    assert (out.signal, out.code) == (SIGSEGV, SEGV_ACCERR)
    # The neighbouring page kept its permissions.
    assert guest.store8(DATA + PAGE_SIZE, 1).ok
    mm.mprotect(DATA, PAGE_SIZE, READ_WRITE)
    out = guest.load8(DATA)
    assert out.ok and out.rax == 7, "contents survive PROT_NONE"
    assert guest.store8(DATA, 9).ok
    # protect() splits at most at the range edges.
    assert region_count(mm) <= regions + 2
    check_cache(mm)


def test_mprotect_upgrade_needs_no_fault(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE, READ)
    assert guest.load8(DATA).ok
    mm.mprotect(DATA, PAGE_SIZE, READ_WRITE)
    out = guest.store8(DATA, 1)
    assert out.ok and out.faults == 0


def test_munmap_present_page_faults_maperr(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, 2 * PAGE_SIZE)
    assert guest.store8(DATA + PAGE_SIZE, 1).ok
    mm.munmap(DATA + PAGE_SIZE, PAGE_SIZE)
    out = guest.load8(DATA + PAGE_SIZE)
    assert (out.signal, out.code) == (SIGSEGV, SEGV_MAPERR)
    assert guest.load8(DATA).ok
    check_cache(mm)


def test_fork_writes_stay_private_on_both_sides(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, 4 * PAGE_SIZE)
    assert guest.store8(DATA, ord("P")).ok
    assert guest.store8(DATA + 3 * PAGE_SIZE, ord("p")).ok
    regions = region_count(mm)
    child = mm.fork()
    try:
        assert region_count(mm) == regions, "fork write-protects in place"
        cg = guest.for_mm(child)
        out = cg.load8(DATA)
        assert out.ok and out.rax == ord("P")
        breaks = mm.counters.cow_breaks + child.counters.cow_breaks
        out = cg.store8(DATA, ord("C"))
        assert out.ok and out.faults == 1
        assert child.counters.cow_breaks == 1, "the child copies: the parent still shares the pages"
        assert guest.load8(DATA).rax == ord("P")
        out = guest.store8(DATA, ord("Q"))
        assert out.ok and out.faults == 1
        assert cg.load8(DATA).rax == ord("C")
        assert guest.load8(DATA).rax == ord("Q")
        # The parent was the last sharer of that window: it took it back.
        assert mm.counters.cow_reclaims == 1 and mm.counters.cow_breaks + child.counters.cow_breaks == breaks + 1
        # Untouched pages still read the pre-fork contents on both sides.
        assert cg.load8(DATA + 3 * PAGE_SIZE).rax == ord("p")
        assert guest.load8(DATA + 3 * PAGE_SIZE).rax == ord("p")
        check_cache(mm)
        check_cache(child)
    finally:
        child.release()


def test_fork_sole_owner_does_not_copy(mm: MemoryManager, guest: Guest, mf: MemoryFile) -> None:
    anon(mm, DATA, 2 * PAGE_SIZE)
    assert guest.store8(DATA, 1).ok
    child = mm.fork()
    child.release()
    allocated = mf.bytes_allocated
    out = guest.store8(DATA, 2)
    assert out.ok and out.faults == 1
    assert mm.counters.cow_reclaims == 1 and mm.counters.cow_breaks == 0
    assert mf.bytes_allocated == allocated, "reclaiming must not allocate"
    assert guest.load8(DATA).rax == 2


def test_fork_shared_memory_stays_shared(mm: MemoryManager, guest: Guest, mf: MemoryFile) -> None:
    mm.mmap(MMapOpts(length=PAGE_SIZE, addr=DATA, fixed=True, unmap=True, private=False,
                     mappable=SharedAnonMappable(mf, PAGE_SIZE)))
    assert guest.store8(DATA, 1).ok
    child = mm.fork()
    try:
        cg = guest.for_mm(child)
        assert cg.load8(DATA).rax == 1
        assert cg.store8(DATA, 2).ok
        assert guest.load8(DATA).rax == 2
        assert guest.store8(DATA, 3).ok
        assert cg.load8(DATA).rax == 3
        assert mm.counters.cow_breaks == child.counters.cow_breaks == 0
    finally:
        child.release()


def test_fork_then_syscall_write_into_cow_page(mm: MemoryManager, guest: Guest) -> None:
    """gVisor's AccessCOWInvalidatesCachedSegments: a syscall writing into
    a page shared copy-on-write must not change the other side."""
    anon(mm, DATA, PAGE_SIZE)
    assert guest.store8(DATA, 1).ok
    child = mm.fork()
    try:
        assert child.copy_out(DATA, b"\x07", PLAIN) == (1, None)
        assert guest.load8(DATA).rax == 1
        cg = guest.for_mm(child)
        assert cg.load8(DATA).rax == 7
        assert mm.copy_out(DATA, b"\x09", PLAIN) == (1, None)
        assert guest.load8(DATA).rax == 9 and cg.load8(DATA).rax == 7
        check_cache(mm)
        check_cache(child)
    finally:
        child.release()


def test_fork_child_of_child(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE)
    assert guest.store8(DATA, 1).ok
    c1 = mm.fork()
    c2 = c1.fork()
    try:
        g1, g2 = guest.for_mm(c1), guest.for_mm(c2)
        assert g2.store8(DATA, 3).ok and g1.store8(DATA, 2).ok
        assert [g.load8(DATA).rax for g in (guest, g1, g2)] == [1, 2, 3]
        assert guest.store8(DATA, 4).ok
        assert [g.load8(DATA).rax for g in (guest, g1, g2)] == [4, 2, 3]
    finally:
        c2.release()
        c1.release()


@pytest.fixture
def data_file(tmp_path: Path) -> Iterator[int]:
    path = tmp_path / "data"
    path.write_bytes(bytes(i % 251 for i in range(PAGE_SIZE + 100)))
    fd = os.open(path, os.O_RDWR)
    yield fd
    os.close(fd)


def test_sigbus_past_end_of_file(mm: MemoryManager, guest: Guest, data_file: int) -> None:
    m = HostFileMappable(data_file, "data", writable=False)
    mm.mmap(MMapOpts(length=3 * PAGE_SIZE, addr=DATA, fixed=True, unmap=True, perms=READ, mappable=m))
    out = guest.load8(DATA + PAGE_SIZE + 99)
    assert out.ok and out.rax == (PAGE_SIZE + 99) % 251
    out = guest.load8(DATA + PAGE_SIZE + 100)
    assert out.ok and out.rax == 0, "the tail of the last page reads zero"
    out = guest.load8(DATA + 2 * PAGE_SIZE)
    assert (out.signal, out.addr) == (SIGBUS, DATA + 2 * PAGE_SIZE)


def test_private_file_write_is_copy_on_write(mm: MemoryManager, guest: Guest, data_file: int) -> None:
    m = HostFileMappable(data_file, "data", writable=False)
    mm.mmap(MMapOpts(length=PAGE_SIZE, addr=DATA, fixed=True, unmap=True, mappable=m))
    assert guest.load8(DATA + 1).rax == 1
    assert guest.store8(DATA + 1, 0xEE).ok
    assert guest.load8(DATA + 1).rax == 0xEE
    assert os.pread(data_file, 2, 0) == b"\x00\x01", "the file is untouched"
    assert mm.counters.cow_breaks == 1


def test_shared_file_write_reaches_the_file(mm: MemoryManager, guest: Guest, data_file: int) -> None:
    m = HostFileMappable(data_file, "data", writable=True)
    mm.mmap(MMapOpts(length=PAGE_SIZE, addr=DATA, fixed=True, unmap=True, private=False, mappable=m))
    assert guest.store8(DATA + 2, 0xAB).ok
    assert os.pread(data_file, 1, 2) == b"\xab"
    os.pwrite(data_file, b"\xcd", 3)
    assert guest.load8(DATA + 3).rax == 0xCD


def test_mremap_move_keeps_contents_and_unmaps_old(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, 2 * PAGE_SIZE)
    assert guest.store8(DATA + PAGE_SIZE + 5, 0x77).ok
    new = mm.mremap(DATA, 2 * PAGE_SIZE, 2 * PAGE_SIZE, 3, DATA + 64 * PAGE_SIZE)
    assert new == DATA + 64 * PAGE_SIZE
    assert guest.load8(new + PAGE_SIZE + 5).rax == 0x77
    assert guest.load8(DATA + PAGE_SIZE + 5).code == SEGV_MAPERR
    check_cache(mm)


def test_madvise_dontneed_zeroes_present_page(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, PAGE_SIZE)
    assert guest.store8(DATA, 5).ok
    mm.madvise(DATA, PAGE_SIZE, 4)
    out = guest.load8(DATA)
    assert out.ok and out.rax == 0 and out.faults == 1


def test_sequential_touch_faults_once_per_huge_page(mm: MemoryManager, guest: Guest) -> None:
    base = 0x40000000
    length = 8 * HUGE_PAGE_SIZE
    anon(mm, base, length)
    regions = region_count(mm)
    out = guest.call("touch", rdi=base, rsi=length // PAGE_SIZE)
    assert out.ok and out.faults == 8
    assert region_count(mm) - regions <= 8
    check_cache(mm)


def test_loop_reports_progress_at_fault(mm: MemoryManager, guest: Guest) -> None:
    anon(mm, DATA, 3 * PAGE_SIZE)
    mm.mprotect(DATA + 2 * PAGE_SIZE, PAGE_SIZE, READ)
    out = guest.loop(DATA, 12, PAGE_SIZE // 4, write=True, value=3)
    assert (out.signal, out.code, out.addr) == (SIGSEGV, SEGV_ACCERR, DATA + 2 * PAGE_SIZE)
    assert out.r10 == 8 and out.rax == 8 * 3
    ignore = bytearray(1)
    assert mm.copy_in(DATA + 2 * PAGE_SIZE, ignore, IGNORE) == (1, None) and ignore[0] == 0
