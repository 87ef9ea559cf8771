"""The region table: map/unmap/protect mirror Unicorn; sharing; release."""

from __future__ import annotations

import gc
import random
import weakref

import pytest
from platform_helpers import CODE, DATA, Guest, asm, requires_as

from sentry.hostarch import (
    ANY_ACCESS,
    HUGE_PAGE_SIZE,
    NO_ACCESS,
    PAGE_SIZE,
    READ,
    READ_EXECUTE,
    READ_WRITE,
    AccessType,
)
from sentry.memfile import MemoryFile
from sentry.memmap.file import FileRange
from sentry.platform import StopKind
from sentry.platform.unicorn_as import UnicornAddressSpace

UC_R, UC_W, UC_X = 1, 2, 4


def uc_perms(at: AccessType) -> int:
    return (UC_R if at.read else 0) | (UC_W if at.write else 0) | (UC_X if at.execute else 0)


def check_mirror(aspace: UnicornAddressSpace) -> None:
    """The table equals Unicorn's own region list."""
    theirs = sorted((s, e + 1, p) for s, e, p in aspace.uc.mem_regions())
    ours = [(s, e, uc_perms(at)) for s, e, at in aspace.regions()]
    assert ours == theirs
    assert aspace.region_count == len(theirs)


def test_guest_and_sentry_share_memory() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    fr = mf.allocate(HUGE_PAGE_SIZE, HUGE_PAGE_SIZE)
    view = mf.map_internal(fr, READ_WRITE)
    aspace.map_file(DATA, mf, fr, READ_WRITE, False)
    view[0x1234:0x1238] = b"abcd"
    assert aspace.uc.mem_read(DATA + 0x1234, 4) == b"abcd"
    aspace.uc.mem_write(DATA + HUGE_PAGE_SIZE - 4, b"WXYZ")
    assert bytes(view[-4:]) == b"WXYZ"
    assert aspace.region_count == 1
    assert aspace.counters.maps == 1


@requires_as
def test_guest_stores_visible_in_memory_file() -> None:
    g = Guest()
    view = g.map(DATA, PAGE_SIZE)
    view[8:16] = (41).to_bytes(8, "little")
    g.load(f"mov rax, [{DATA + 8:#x}]\ninc rax\nmov [{DATA:#x}], rax\nmov eax, 60\nsyscall\n")
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert int.from_bytes(view[:8], "little") == 42


def test_unmap_over_holes() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    for k in range(3):
        aspace.map_file(DATA + k * 4 * PAGE_SIZE, mf, mf.allocate(2 * PAGE_SIZE), READ_WRITE, False)
    assert aspace.region_count == 3
    aspace.unmap(DATA - 16 * PAGE_SIZE, 8 * PAGE_SIZE)  # entirely a hole
    assert aspace.region_count == 3
    # From inside region 0 to inside region 2, across two holes.
    aspace.unmap(DATA + PAGE_SIZE, 8 * PAGE_SIZE)
    check_mirror(aspace)
    assert [(s - DATA, e - DATA) for s, e, _ in aspace.regions()] == [
        (0, PAGE_SIZE),
        (9 * PAGE_SIZE, 10 * PAGE_SIZE),
    ]
    aspace.unmap(0, 1 << 47)
    assert aspace.region_count == 0
    check_mirror(aspace)


def test_unmap_keeps_host_offsets_of_remainders() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    fr = mf.allocate(8 * PAGE_SIZE)
    view = mf.map_internal(fr, READ_WRITE)
    for p in range(8):
        view[p * PAGE_SIZE] = p + 1
    aspace.map_file(DATA, mf, fr, READ_WRITE, False)
    aspace.unmap(DATA + 2 * PAGE_SIZE, 3 * PAGE_SIZE)
    check_mirror(aspace)
    for p in (0, 1, 5, 6, 7):
        assert aspace.uc.mem_read(DATA + p * PAGE_SIZE, 1)[0] == p + 1


def test_map_replaces_partially_overlapping_regions() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    a = mf.allocate(4 * PAGE_SIZE)
    b = mf.allocate(2 * PAGE_SIZE)
    mf.map_internal(a, READ_WRITE)[:] = b"A" * a.length()
    mf.map_internal(b, READ_WRITE)[:] = b"B" * b.length()
    aspace.map_file(DATA, mf, a, READ_WRITE, False)
    aspace.map_file(DATA + PAGE_SIZE, mf, b, READ, False)
    check_mirror(aspace)
    assert (
        aspace.uc.mem_read(DATA, 4 * PAGE_SIZE)
        == b"A" * PAGE_SIZE + b"B" * 2 * PAGE_SIZE + b"A" * PAGE_SIZE
    )
    assert aspace.region_count == 3


def test_same_host_remap_is_a_protect() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    fr = mf.allocate(PAGE_SIZE)
    aspace.map_file(DATA, mf, fr, READ, False)
    aspace.map_file(DATA, mf, fr, READ_WRITE, False)
    aspace.map_file(DATA, mf, fr, READ_WRITE, False)  # no-op
    assert aspace.counters.maps == 1
    assert aspace.counters.protects == 1
    check_mirror(aspace)


def test_protect_splits_and_skips_holes() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    aspace.map_file(DATA, mf, mf.allocate(4 * PAGE_SIZE), READ_WRITE, False)
    aspace.map_file(DATA + 6 * PAGE_SIZE, mf, mf.allocate(2 * PAGE_SIZE), READ_WRITE, False)
    aspace.protect(DATA + PAGE_SIZE, 6 * PAGE_SIZE, READ)
    check_mirror(aspace)
    perms = [(s - DATA, e - DATA, str(at)) for s, e, at in aspace.regions()]
    assert perms == [
        (0, PAGE_SIZE, "rw-"),
        (PAGE_SIZE, 4 * PAGE_SIZE, "r--"),
        (6 * PAGE_SIZE, 7 * PAGE_SIZE, "r--"),
        (7 * PAGE_SIZE, 8 * PAGE_SIZE, "rw-"),
    ]
    aspace.protect(DATA, 8 * PAGE_SIZE, NO_ACCESS)
    check_mirror(aspace)


def test_map_file_rejects_bad_arguments() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    fr = mf.allocate(PAGE_SIZE)
    with pytest.raises(ValueError):
        aspace.map_file(DATA + 1, mf, fr, READ, False)
    with pytest.raises(ValueError):
        aspace.map_file(DATA, mf, fr, NO_ACCESS, False)
    with pytest.raises(ValueError):
        aspace.map_file(DATA, mf, FileRange(0, 0), READ, False)
    assert aspace.region_count == 0


def test_random_operations_mirror_unicorn() -> None:
    rng = random.Random(7)
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    perms = [READ, READ_WRITE, READ_EXECUTE, ANY_ACCESS]
    pages = 64
    for _ in range(300):
        op = rng.random()
        start = DATA + rng.randrange(pages) * PAGE_SIZE
        n = rng.randrange(1, 12)
        if op < 0.45:
            aspace.map_file(start, mf, mf.allocate(n * PAGE_SIZE), rng.choice(perms), False)
        elif op < 0.75:
            aspace.unmap(start, n * PAGE_SIZE)
        else:
            aspace.protect(start, n * PAGE_SIZE, rng.choice([*perms, NO_ACCESS]))
        check_mirror(aspace)


@requires_as
def test_remapping_executable_memory_drops_stale_code() -> None:
    g = Guest()
    g.load("mov rbx, 1\nmov eax, 60\nsyscall\n")
    assert g.run().kind is StopKind.SYSCALL_STOP
    fr = g.mf.allocate(PAGE_SIZE)
    code = asm("mov rbx, 2\nmov eax, 60\nsyscall\n")
    g.mf.map_internal(fr, READ_WRITE)[: len(code)] = code
    g.aspace.map_file(CODE, g.mf, fr, READ_EXECUTE, False)
    g.cpu.rip = CODE
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 2
    # Protect away execute: the cached translation must not run.
    g.aspace.protect(CODE, PAGE_SIZE, READ)
    g.cpu.rip = CODE
    stop = g.run()
    assert stop.kind is StopKind.FAULT and stop.addr == CODE


def test_release_closes_engine() -> None:
    mf = MemoryFile()
    aspace = UnicornAddressSpace()
    cpu = aspace.new_context()
    aspace.map_file(DATA, mf, mf.allocate(PAGE_SIZE), READ_WRITE, False)
    ref = weakref.ref(aspace.uc)
    aspace.release()
    gc.collect()
    assert ref() is None
    assert aspace.released
    assert aspace.region_count == 0
    aspace.unmap(DATA, PAGE_SIZE)  # no-op after release
    aspace.release()  # idempotent
    with pytest.raises(RuntimeError):
        aspace.run(cpu, lambda *a: None)
    with pytest.raises(RuntimeError):
        aspace.map_file(DATA, mf, mf.allocate(PAGE_SIZE), READ, False)


@requires_as
def test_release_inside_hook_is_deferred() -> None:
    g = Guest()
    g.load("mov eax, 231\nsyscall\nud2\n")

    def handler(nr: int, *args: int) -> int | None:
        g.aspace.release()
        return 0

    stop = g.run(handler)
    assert stop.kind is StopKind.INTERRUPTED
    assert g.aspace.released
