"""Lifetimes: vmas reference-count their mappables (host fds are closed
when the last vma goes), release frees everything, MAP_FIXED below
``vm.mmap_min_addr`` follows the host's policy, and pmas never merge
across host memory that is not contiguous."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mm_helpers import PLAIN, Guest, check_cache, requires_gcc

from sentry.hostarch import HUGE_PAGE_SIZE, NO_ACCESS, PAGE_SIZE, READ, READ_WRITE
from sentry.linuxerr import EEXIST, EPERM, Errno
from sentry.loader.loader import load
from sentry.memfile import MemoryFile
from sentry.memmap.mappable import HostFileMappable, SharedAnonMappable
from sentry.mm import MemoryManager, MmapLayout, MMapOpts
from sentry.mm.layout import HostMmapPolicy, host_mmap_policy
from sentry.platform import UnicornAddressSpace

A = 0x30000000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def host_fd(tmp_path: Path) -> Iterator[int]:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 64)  # 4 pages
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


def fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def map_file(mm: MemoryManager, m: HostFileMappable, addr: int, length: int, offset: int = 0) -> int:
    return mm.mmap(MMapOpts(length=length, addr=addr, offset=offset, fixed=True, unmap=True,
                            perms=READ, mappable=m))


def test_mappable_fd_closed_with_last_vma(mm: MemoryManager, host_fd: int) -> None:
    m = HostFileMappable(host_fd, "f", writable=False)
    map_file(mm, m, A, 4 * PAGE_SIZE)
    assert m.refs == 1 and fd_open(m.fd)
    mm.mprotect(A + PAGE_SIZE, PAGE_SIZE, NO_ACCESS)  # split into three vmas
    assert m.refs == 3
    mm.mprotect(A + PAGE_SIZE, PAGE_SIZE, READ)  # merged again
    assert m.refs == 1
    buf = bytearray(2)
    assert mm.copy_in(A + PAGE_SIZE, buf, PLAIN) == (2, None) and buf == b"\x00\x01"
    child = mm.fork()
    assert m.refs == 2
    mm.munmap(A, PAGE_SIZE)
    mm.munmap(A + 2 * PAGE_SIZE, 2 * PAGE_SIZE)
    assert m.refs == 2  # [A+P, A+2P) in the parent, the whole range in the child
    fd = m.fd
    child.release()
    assert m.refs == 1 and fd_open(fd)
    mm.munmap(A, 4 * PAGE_SIZE)
    assert m.refs == 0 and m.released and m.fd == -1
    check_cache(mm)


def test_map_fixed_over_own_mapping_keeps_mappable(mm: MemoryManager, host_fd: int) -> None:
    """The loader maps several segments of one mappable, MAP_FIXED over
    each other's pages: the vma being replaced must not release it."""
    m = HostFileMappable(host_fd, "f", writable=False)
    map_file(mm, m, A, PAGE_SIZE)
    map_file(mm, m, A, PAGE_SIZE, offset=PAGE_SIZE)
    assert m.refs == 1 and not m.released
    buf = bytearray(1)
    assert mm.copy_in(A, buf, PLAIN) == (1, None)
    mm.release()
    assert m.released


def test_failed_mmap_releases_fresh_mappable(mm: MemoryManager, host_fd: int) -> None:
    mm.mmap(MMapOpts(length=PAGE_SIZE, addr=A, fixed=True, unmap=True))
    m = HostFileMappable(host_fd, "f", writable=False)
    with pytest.raises(Errno) as e:
        mm.mmap(MMapOpts(length=PAGE_SIZE, addr=A, fixed=True, no_replace=True, perms=READ, mappable=m))
    assert e.value is EEXIST
    assert m.released and m.fd == -1
    with pytest.raises(RuntimeError):
        map_file(mm, m, A + PAGE_SIZE, PAGE_SIZE)


def test_unmapped_mappable_closed_by_creator(host_fd: int) -> None:
    m = HostFileMappable(host_fd, "f", writable=False)
    fd = m.fd
    m.close()
    assert not fd_open(fd) or fd == host_fd
    m.close()  # idempotent


def test_shared_anon_pages_freed_with_last_vma(mm: MemoryManager, mf: MemoryFile) -> None:
    in_use = mf.bytes_in_use
    m = SharedAnonMappable(mf, 2 * PAGE_SIZE)
    mm.mmap(MMapOpts(length=2 * PAGE_SIZE, addr=A, fixed=True, unmap=True, private=False, mappable=m))
    assert mm.copy_out(A, b"shared", PLAIN) == (6, None)
    child = mm.fork()
    buf = bytearray(6)
    assert child.copy_in(A, buf, PLAIN) == (6, None) and buf == b"shared"
    mm.munmap(A, 2 * PAGE_SIZE)
    assert mf.bytes_in_use > in_use
    child.release()
    assert mf.bytes_in_use == in_use and m.released


def test_release_frees_all_memory(mf: MemoryFile) -> None:
    in_use = mf.bytes_in_use
    mm = MemoryManager(mf, UnicornAddressSpace)
    mm.mmap(MMapOpts(length=4 * HUGE_PAGE_SIZE, addr=A, fixed=True))
    mm.copy_out(A, b"x" * (3 * HUGE_PAGE_SIZE), PLAIN)
    child = mm.fork()
    child.copy_out(A, b"y" * PAGE_SIZE, PLAIN)
    mm.release()
    child.release()
    assert mf.bytes_in_use == in_use


@requires_gcc
def test_loader_fds_do_not_leak(mf: MemoryFile) -> None:
    prog = ROOT / "guests" / "build" / "hello-musl"
    if not prog.exists():
        pytest.skip("guests not built")
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        mm = MemoryManager(mf, UnicornAddressSpace)
        load(mm, str(prog), [b"hello"], [])
        child = mm.fork()
        mm.release()
        child.release()
    assert len(os.listdir("/proc/self/fd")) == fds


# -- vm.mmap_min_addr ------------------------------------------------------------------


def test_host_policy_matches_proc() -> None:
    p = host_mmap_policy()
    with open("/proc/sys/vm/mmap_min_addr") as f:
        assert p.dac_min_addr == int(f.read())
    assert MmapLayout().min_addr == max(p.dac_min_addr, 0x10000)


@pytest.mark.parametrize("rawio", [False, True])
def test_map_fixed_below_mmap_min_addr(mf: MemoryFile, rawio: bool) -> None:
    layout = MmapLayout(policy=HostMmapPolicy(dac_min_addr=0x10000, cap_sys_rawio=rawio))
    mm = MemoryManager(mf, UnicornAddressSpace, layout)
    try:
        opts = MMapOpts(length=PAGE_SIZE, addr=0x1000, fixed=True, unmap=True)
        if rawio:
            assert mm.mmap(opts) == 0x1000
        else:
            with pytest.raises(Errno) as e:
                mm.mmap(opts)
            assert e.value is EPERM
        # A hint below the minimum is raised to it, whoever asks.
        assert mm.mmap(MMapOpts(length=PAGE_SIZE, addr=0x2000)) == 0x10000
        # mremap to a fixed low address follows the same rule.
        if not rawio:
            with pytest.raises(Errno) as e:
                mm.mremap(0x10000, PAGE_SIZE, PAGE_SIZE, 3, 0x3000)
            assert e.value is EPERM
    finally:
        mm.release()


# -- host contiguity ---------------------------------------------------------------------


@requires_gcc
def test_pmas_never_merge_across_non_contiguous_chunks() -> None:
    """A MemoryFile with 2 MiB chunks: each huge-page allocation is its own
    host mapping. pmas over them must stay separate unless the host
    happened to place the chunks next to each other."""
    small = MemoryFile(chunk_size=HUGE_PAGE_SIZE)
    mm = MemoryManager(small, UnicornAddressSpace)
    try:
        base = 0x40000000
        mm.mmap(MMapOpts(length=4 * HUGE_PAGE_SIZE, addr=base, fixed=True, perms=READ_WRITE))
        g = Guest(mm)
        out = g.loop(base + 4096, 4 * HUGE_PAGE_SIZE // PAGE_SIZE - 2, PAGE_SIZE, write=True, value=9)
        assert out.ok and out.rax == 9 * (4 * HUGE_PAGE_SIZE // PAGE_SIZE - 2)
        data_pmas = mm.pmas.overlapping(base, base + 4 * HUGE_PAGE_SIZE)
        for p in data_pmas:
            view = p.file.map_internal(p.file_range(), READ)  # raises if not host-contiguous
            assert len(view) == p.end - p.start
        for left, right in itertools.pairwise(data_pmas):
            assert left.file.host_address(left.off) + (left.end - left.start) != right.file.host_address(
                right.off
            ), "adjacent host memory should have merged"
        hosts = [p.file.host_address(p.off) for p in data_pmas]
        if hosts != sorted(hosts):
            assert len(data_pmas) == 4, "file-contiguous chunks that are not host-contiguous merged"
        data = bytes(range(200)) * 100
        at = base + HUGE_PAGE_SIZE - 7000
        assert mm.copy_out(at, data, PLAIN) == (len(data), None)
        buf = bytearray(len(data))
        assert mm.copy_in(at, buf, PLAIN) == (len(data), None) and buf == data
        out = g.load8(base + HUGE_PAGE_SIZE + 13)
        assert out.ok and out.rax == data[7000 + 13]
        check_cache(mm)
    finally:
        mm.release()


def test_madvise_dontfork_and_wipeonfork(mm: MemoryManager) -> None:
    mm.mmap(MMapOpts(length=4 * PAGE_SIZE, addr=A, fixed=True))
    for i in range(4):
        assert mm.copy_out(A + i * PAGE_SIZE, bytes([65 + i]), PLAIN) == (1, None)
    mm.madvise(A + PAGE_SIZE, PAGE_SIZE, 10)  # MADV_DONTFORK
    mm.madvise(A + 2 * PAGE_SIZE, PAGE_SIZE, 18)  # MADV_WIPEONFORK
    assert len(mm.vmas.overlapping(A, A + 4 * PAGE_SIZE)) == 4
    child = mm.fork()
    try:
        assert not child.is_mapped(A + PAGE_SIZE)
        buf = bytearray(1)
        got = []
        for i in (0, 2, 3):
            assert child.copy_in(A + i * PAGE_SIZE, buf, PLAIN) == (1, None)
            got.append(buf[0])
        assert got == [65, 0, 68]
        for i in range(4):
            assert mm.copy_in(A + i * PAGE_SIZE, buf, PLAIN) == (1, None) and buf[0] == 65 + i
        check_cache(mm)
        check_cache(child)
    finally:
        child.release()
    mm.madvise(A, 4 * PAGE_SIZE, 11)  # MADV_DOFORK
    mm.madvise(A, 4 * PAGE_SIZE, 19)  # MADV_KEEPONFORK
    assert len(mm.vmas.overlapping(A, A + 4 * PAGE_SIZE)) == 1
