"""usermem semantics of the MemoryManager's IO (gVisor ``mm/io.go``):
partial copies with EFAULT, ``ignore_permissions`` bounded by maximum
permissions, ``access_ok`` on zero-length ranges, atomics needing one
block, readers/writers called at most once with their errors passed
through."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mm_helpers import IGNORE, PLAIN, anon, check_cache

from sentry.hostarch import (
    NO_ACCESS,
    PAGE_SIZE,
    READ,
    READ_WRITE,
    AccessType,
    AddrRange,
    AddrRangeSeq,
)
from sentry.linuxerr import EACCES, EFAULT
from sentry.memmap.mappable import HostFileMappable
from sentry.mm import MemoryManager, MMapOpts
from sentry.safemem import EOF, BlockSeq

A = 0x30000000
RWX = AccessType(True, True, True)


# -- partial copies ------------------------------------------------------------


@pytest.mark.parametrize("second", ["unmapped", "prot_none"])
def test_copy_out_stops_at_bad_page(mm: MemoryManager, second: str) -> None:
    anon(mm, A, PAGE_SIZE)
    if second == "prot_none":
        anon(mm, A + PAGE_SIZE, PAGE_SIZE, NO_ACCESS)
    start = A + PAGE_SIZE - 10
    assert mm.copy_out(start, b"x" * 100, PLAIN) == (10, EFAULT)
    buf = bytearray(100)
    assert mm.copy_in(start, buf, PLAIN) == (10, EFAULT)
    assert bytes(buf[:10]) == b"x" * 10 and bytes(buf[10:]) == bytes(90)
    assert mm.zero_out(start, 100, PLAIN) == (10, EFAULT)
    assert mm.copy_in(start, buf, PLAIN) == (10, EFAULT) and bytes(buf[:10]) == bytes(10)


def test_copy_starting_in_bad_page_moves_nothing(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE, NO_ACCESS)
    assert mm.copy_out(A, b"abc", PLAIN) == (0, EFAULT)
    assert mm.copy_in(A + 5, bytearray(3), PLAIN) == (0, EFAULT)
    assert mm.copy_out(A + 16 * PAGE_SIZE, b"abc", PLAIN) == (0, EFAULT)


def test_write_to_read_only_is_efault_read_ok(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE, READ)
    assert mm.copy_out(A, b"z", PLAIN) == (0, EFAULT)
    assert mm.copy_in(A, bytearray(1), PLAIN) == (1, None)
    # PROT_WRITE alone is readable (x86: write implies read).
    anon(mm, A + PAGE_SIZE, PAGE_SIZE, AccessType(False, True, False))
    assert mm.copy_out(A + PAGE_SIZE, b"w", PLAIN) == (1, None)
    buf = bytearray(1)
    assert mm.copy_in(A + PAGE_SIZE, buf, PLAIN) == (1, None) and buf == b"w"


def test_copy_spanning_vmas_with_different_perms(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE, READ_WRITE)
    anon(mm, A + PAGE_SIZE, PAGE_SIZE, RWX)
    data = (bytes(range(256)) * 32)[:2 * PAGE_SIZE - 200]
    assert mm.copy_out(A + 100, data, PLAIN) == (len(data), None)
    buf = bytearray(len(data))
    assert mm.copy_in(A + 100, buf, PLAIN) == (len(data), None) and buf == data


# -- ignore_permissions --------------------------------------------------------------


def test_ignore_permissions_reads_and_writes_prot_none(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE, NO_ACCESS)
    assert mm.copy_out(A, b"hidden", IGNORE) == (6, None)
    buf = bytearray(6)
    assert mm.copy_in(A, buf, IGNORE) == (6, None) and buf == b"hidden"
    assert mm.copy_in(A, buf, PLAIN) == (0, EFAULT)


@pytest.fixture
def ro_file(tmp_path: Path) -> Iterator[int]:
    path = tmp_path / "ro"
    path.write_bytes(b"R" * PAGE_SIZE)
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


def test_ignore_permissions_never_exceeds_max_perms(mm: MemoryManager, ro_file: int) -> None:
    """A MAP_SHARED mapping of a read-only fd: max perms lack Write, so even
    ignore_permissions cannot write (ptrace/proc-mem style access)."""
    max_perms = AccessType(True, False, True)
    m = HostFileMappable(ro_file, "ro", writable=False)
    with pytest.raises(type(EACCES)) as exc:
        mm.mmap(MMapOpts(length=PAGE_SIZE, addr=A, fixed=True, unmap=True, private=False,
                         perms=READ_WRITE, max_perms=max_perms, mappable=m))
    assert exc.value is EACCES
    assert m.released, "a failed mmap releases the fresh mappable"
    m = HostFileMappable(ro_file, "ro", writable=False)
    mm.mmap(MMapOpts(length=PAGE_SIZE, addr=A, fixed=True, unmap=True, private=False,
                     perms=NO_ACCESS, max_perms=max_perms, mappable=m))
    buf = bytearray(4)
    assert mm.copy_in(A, buf, PLAIN) == (0, EFAULT)
    assert mm.copy_in(A, buf, IGNORE) == (4, None) and buf == b"RRRR"
    assert mm.copy_out(A, b"W", IGNORE) == (0, EFAULT)
    assert mm.zero_out(A, 1, IGNORE) == (0, EFAULT)
    assert os.pread(ro_file, 1, 0) == b"R"
    # A private mapping of the same fd may be written with ignore_permissions
    # (a copy-on-write copy, as FOLL_FORCE does): the file is unchanged.
    m2 = HostFileMappable(ro_file, "ro", writable=False)
    mm.mmap(MMapOpts(length=PAGE_SIZE, addr=A + PAGE_SIZE, fixed=True, unmap=True,
                     perms=READ, mappable=m2))
    assert mm.copy_out(A + PAGE_SIZE, b"W", IGNORE) == (1, None)
    assert mm.copy_in(A + PAGE_SIZE, buf, PLAIN) == (4, None) and buf == b"WRRR"
    assert os.pread(ro_file, 1, 0) == b"R"


# -- range checks --------------------------------------------------------------------


def test_zero_length_range_checks(mm: MemoryManager) -> None:
    top = mm.layout.max_addr
    for addr in (2**64 - 1, top + 1):
        assert mm.copy_out(addr, b"", PLAIN) == (0, EFAULT)
        assert mm.copy_in(addr, bytearray(), PLAIN) == (0, EFAULT)
        assert mm.zero_out(addr, 0, PLAIN) == (0, EFAULT)
    for addr in (0, top, A):
        assert mm.copy_out(addr, b"", PLAIN) == (0, None)
        assert mm.zero_out(addr, 0, PLAIN) == (0, None)
    assert mm.copy_in(top - 1, bytearray(2), PLAIN) == (0, EFAULT)


def test_vector_zero_length_range_at_top_is_efault(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE)
    calls: list[int] = []

    class Reader:
        def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
            calls.append(dsts.num_bytes())
            return 0, None

    bad = AddrRangeSeq.from_ranges([AddrRange(2**64 - 1, 2**64 - 1), AddrRange(A, A + 8)])
    assert mm.copy_out_from(bad, Reader(), PLAIN) == (0, EFAULT)
    null = AddrRangeSeq.from_ranges([AddrRange(0, 0), AddrRange(A, A + 8)])
    assert mm.copy_out_from(null, Reader(), PLAIN) == (0, None)
    assert calls == [8]


# -- atomics ---------------------------------------------------------------------------


def test_atomic_straddling_two_pmas_is_efault(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE, READ_WRITE)
    anon(mm, A + PAGE_SIZE, PAGE_SIZE, RWX)  # different perms: never one pma
    mm.copy_out(A + PAGE_SIZE - 2, b"\x01\x02\x03\x04", PLAIN)
    assert len(mm.pmas.overlapping(A, A + 2 * PAGE_SIZE)) == 2
    boundary = A + PAGE_SIZE - 2
    assert mm.load_uint32(boundary, PLAIN) == (0, EFAULT)
    assert mm.swap_uint32(boundary, 7, PLAIN) == (0, EFAULT)
    assert mm.compare_and_swap_uint32(boundary, 0x04030201, 7, PLAIN) == (0, EFAULT)
    buf = bytearray(4)
    assert mm.copy_in(boundary, buf, PLAIN) == (4, None) and buf == b"\x01\x02\x03\x04"
    assert mm.load_uint32(A + PAGE_SIZE - 4, PLAIN) == (0x02010000, None)


def test_atomics_permissions(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE, READ_WRITE)
    assert mm.swap_uint32(A, 5, PLAIN) == (0, None)
    assert mm.compare_and_swap_uint32(A, 5, 6, PLAIN) == (5, None)
    assert mm.compare_and_swap_uint32(A, 5, 7, PLAIN) == (6, None)
    assert mm.load_uint32(A, PLAIN) == (6, None)
    mm.mprotect(A, PAGE_SIZE, READ)
    assert mm.load_uint32(A, PLAIN) == (6, None)
    assert mm.swap_uint32(A, 1, PLAIN) == (0, EFAULT), "swap needs write permission"
    assert mm.compare_and_swap_uint32(A, 6, 1, PLAIN) == (0, EFAULT)
    assert mm.swap_uint32(A, 1, IGNORE) == (6, None)
    assert mm.load_uint32(A + 16 * PAGE_SIZE, PLAIN) == (0, EFAULT)
    assert mm.load_uint32(2**64 - 2, PLAIN) == (0, EFAULT)


# -- readers and writers ---------------------------------------------------------------


class OnceReader:
    """Fills what it is given (up to ``limit``) and returns ``err``."""

    def __init__(self, limit: int = 1 << 30, err: Exception | None = None) -> None:
        self.calls: list[int] = []
        self.limit = limit
        self.err = err

    def read_to_blocks(self, dsts: BlockSeq) -> tuple[int, Exception | None]:
        self.calls.append(dsts.num_bytes())
        n = 0
        for v in dsts.views():
            k = min(len(v), self.limit - n)
            v[:k] = b"r" * k
            n += k
        return n, self.err


class OnceWriter:
    def __init__(self, limit: int = 1 << 30, err: Exception | None = None) -> None:
        self.calls: list[bytes] = []
        self.limit = limit
        self.err = err

    def write_from_blocks(self, srcs: BlockSeq) -> tuple[int, Exception | None]:
        data = srcs.to_bytes()[: self.limit]
        self.calls.append(data)
        return len(data), self.err


def test_copy_out_from_calls_reader_once_with_reachable_prefix(mm: MemoryManager) -> None:
    anon(mm, A, 2 * PAGE_SIZE)
    anon(mm, A + 3 * PAGE_SIZE, PAGE_SIZE)
    ars = AddrRangeSeq.from_ranges([
        AddrRange(A + 10, A + 20),
        AddrRange(A + PAGE_SIZE, A + 3 * PAGE_SIZE + 10),  # runs into the hole at page 2
        AddrRange(A + 3 * PAGE_SIZE, A + 3 * PAGE_SIZE + 5),
    ])
    r = OnceReader()
    assert mm.copy_out_from(ars, r, PLAIN) == (10 + PAGE_SIZE, EFAULT)
    assert r.calls == [10 + PAGE_SIZE]
    w = OnceWriter()
    assert mm.copy_in_to(ars, w, PLAIN) == (10 + PAGE_SIZE, EFAULT)
    assert w.calls == [b"r" * (10 + PAGE_SIZE)]


def test_reader_and_writer_errors_pass_through(mm: MemoryManager) -> None:
    anon(mm, A, PAGE_SIZE)
    ars = AddrRangeSeq.of(AddrRange(A, A + 100))
    boom = OSError("reader failed")
    r = OnceReader(limit=30, err=boom)
    n, err = mm.copy_out_from(ars, r, PLAIN)
    assert (n, err) == (30, boom) and err is boom and r.calls == [100]
    r = OnceReader(limit=30, err=EOF)
    assert mm.copy_out_from(ars, r, PLAIN) == (30, EOF)
    w = OnceWriter(limit=20, err=boom)
    n, err = mm.copy_in_to(ars, w, PLAIN)
    assert n == 20 and err is boom and len(w.calls) == 1
    # The reader's error wins over the MM's EFAULT for an unreachable tail.
    ars = AddrRangeSeq.of(AddrRange(A + PAGE_SIZE - 4, A + PAGE_SIZE + 4))
    r = OnceReader(limit=2, err=boom)
    n, err = mm.copy_out_from(ars, r, PLAIN)
    assert n == 2 and err is boom
    # A short read without error plus an unreachable tail: EFAULT.
    r = OnceReader()
    assert mm.copy_out_from(ars, r, PLAIN) == (4, EFAULT)


def test_reader_not_called_when_nothing_reachable(mm: MemoryManager) -> None:
    r = OnceReader()
    assert mm.copy_out_from(AddrRangeSeq.of(AddrRange(A, A + 8)), r, PLAIN) == (0, EFAULT)
    assert r.calls == []
    assert mm.copy_out_from(AddrRangeSeq.of(AddrRange(A, A)), r, PLAIN) == (0, None)
    assert r.calls == []


# -- files ---------------------------------------------------------------------------------


def test_copy_from_mapping_past_eof_is_partial(mm: MemoryManager, tmp_path: Path) -> None:
    """gVisor MMapFileTest.InternalSigBus: I/O beyond EOF is EFAULT, not SIGBUS."""
    path = tmp_path / "short"
    path.write_bytes(b"s" * 10)
    fd = os.open(path, os.O_RDONLY)
    try:
        m = HostFileMappable(fd, "short", writable=False)
        mm.mmap(MMapOpts(length=2 * PAGE_SIZE, addr=A, fixed=True, unmap=True, perms=READ, mappable=m))
        buf = bytearray(PAGE_SIZE + 10)
        n, err = mm.copy_in(A + PAGE_SIZE - 5, buf, PLAIN)
        assert (n, err) == (5, EFAULT)
        assert mm.copy_in(A + PAGE_SIZE, buf, PLAIN) == (0, EFAULT)
        assert mm.copy_in(A, memoryview(buf)[:PAGE_SIZE], PLAIN) == (PAGE_SIZE, None)
        assert bytes(buf[:10]) == b"s" * 10 and bytes(buf[10:PAGE_SIZE]) == bytes(PAGE_SIZE - 10)
    finally:
        os.close(fd)


def test_fork_copy_out_breaks_cow_for_the_writer_only(mm: MemoryManager) -> None:
    anon(mm, A, 2 * PAGE_SIZE)
    mm.copy_out(A, b"parent", PLAIN)
    child = mm.fork()
    try:
        assert child.copy_out(A, b"child!", PLAIN) == (6, None)
        buf = bytearray(6)
        assert mm.copy_in(A, buf, PLAIN) == (6, None) and buf == b"parent"
        assert child.copy_in(A, buf, PLAIN) == (6, None) and buf == b"child!"
        assert mm.swap_uint32(A + 8, 1, PLAIN) == (0, None)
        assert child.load_uint32(A + 8, PLAIN) == (0, None)
        check_cache(child)
    finally:
        child.release()
