"""MemoryFile: allocation, reference counts, DONTNEED reuse, host views."""

from __future__ import annotations

import ctypes
import itertools
import random

import pytest

from sentry.hostarch import HUGE_PAGE_SIZE, PAGE_SIZE, READ_WRITE
from sentry.memfile import MemoryFile
from sentry.memmap.file import File, FileRange

MiB = 1 << 20


def test_allocate_zeroed_and_counted() -> None:
    mf = MemoryFile()
    fr = mf.allocate(3 * PAGE_SIZE)
    assert fr == FileRange(0, 3 * PAGE_SIZE)
    assert fr.length() == 3 * PAGE_SIZE
    view = mf.map_internal(fr, READ_WRITE)
    assert len(view) == fr.length() and view.format == "B"
    assert not any(view)
    assert mf.has_unique_ref(fr)
    assert mf.ref_count(PAGE_SIZE) == 1
    assert mf.bytes_in_use == mf.bytes_allocated == 3 * PAGE_SIZE


def test_huge_alignment() -> None:
    mf = MemoryFile()
    mf.allocate(PAGE_SIZE)
    fr = mf.allocate(HUGE_PAGE_SIZE, HUGE_PAGE_SIZE)
    assert fr.start % HUGE_PAGE_SIZE == 0 and fr.length() == HUGE_PAGE_SIZE
    # The alignment gap is not lost: small allocations fill it.
    small = mf.allocate(PAGE_SIZE)
    assert small.end <= fr.start


def test_bad_arguments() -> None:
    mf = MemoryFile()
    with pytest.raises(ValueError):
        mf.allocate(0)
    with pytest.raises(ValueError):
        mf.allocate(100)
    with pytest.raises(ValueError):
        mf.allocate(PAGE_SIZE, 3 * PAGE_SIZE)
    with pytest.raises(ValueError):
        mf.inc_ref(FileRange(0, PAGE_SIZE))  # not allocated
    with pytest.raises(ValueError):
        MemoryFile(chunk_size=3 * MiB)


def test_refcounts_and_unique_ref() -> None:
    mf = MemoryFile()
    fr = mf.allocate(4 * PAGE_SIZE)
    mid = FileRange(PAGE_SIZE, 3 * PAGE_SIZE)
    mf.inc_ref(mid)
    assert not mf.has_unique_ref(fr)
    assert mf.has_unique_ref(FileRange(0, PAGE_SIZE))
    assert not mf.has_unique_ref(mid)
    assert [mf.ref_count(p * PAGE_SIZE) for p in range(4)] == [1, 2, 2, 1]
    mf.dec_ref(mid)
    assert mf.has_unique_ref(fr)
    assert mf.runs() == [(0, 4 * PAGE_SIZE, 1)]  # merged back into one run


def test_dec_ref_frees_partially_and_reads_back_zero() -> None:
    mf = MemoryFile()
    fr = mf.allocate(4 * PAGE_SIZE)
    view = mf.map_internal(fr, READ_WRITE)
    view[:] = b"\xaa" * len(view)
    mf.dec_ref(FileRange(PAGE_SIZE, 2 * PAGE_SIZE))
    assert mf.ref_count(PAGE_SIZE) == 0
    assert mf.bytes_in_use == 3 * PAGE_SIZE
    assert mf.bytes_freed == PAGE_SIZE
    assert not mf.has_unique_ref(fr)  # a hole now
    # MADV_DONTNEED gave the page back: it reads as zero, neighbours intact.
    assert not any(view[PAGE_SIZE : 2 * PAGE_SIZE])
    assert view[0] == 0xAA and view[2 * PAGE_SIZE] == 0xAA
    # The freed page is reused by the next allocation, zeroed.
    again = mf.allocate(PAGE_SIZE)
    assert again == FileRange(PAGE_SIZE, 2 * PAGE_SIZE)
    assert not any(mf.map_internal(again, READ_WRITE))


def test_long_run_does_not_leak() -> None:
    mf = MemoryFile()
    rng = random.Random(3)
    live: list[FileRange] = []
    for _ in range(2000):
        if live and rng.random() < 0.5:
            mf.dec_ref(live.pop(rng.randrange(len(live))))
        else:
            n = rng.choice([1, 1, 2, 16, 512])
            align = HUGE_PAGE_SIZE if n == 512 else PAGE_SIZE
            fr = mf.allocate(n * PAGE_SIZE, align)
            view = mf.map_internal(fr, READ_WRITE)
            assert view[0] == 0 and view[-1] == 0
            view[0] = view[-1] = 1
            live.append(fr)
    in_use = sum(fr.length() for fr in live)
    assert mf.bytes_in_use == in_use
    assert mf.file_size <= 4 * in_use + 64 * MiB
    for fr in live:
        mf.dec_ref(fr)
    assert mf.bytes_in_use == 0
    assert mf.runs() == []
    assert mf.file_size == 0  # everything folded back into the bump pointer
    assert mf.free_extents() == []


def test_no_allocation_crosses_a_chunk() -> None:
    chunk = 4 * MiB
    mf = MemoryFile(chunk_size=chunk)
    frs = [mf.allocate(3 * MiB), mf.allocate(2 * MiB), mf.allocate(PAGE_SIZE)]
    for fr in frs:
        assert fr.start // chunk == (fr.end - 1) // chunk
        view = mf.map_internal(fr, READ_WRITE)
        view[-1] = 7
        # host_address and the view are the same bytes.
        assert ctypes.string_at(mf.host_address(fr.end - 1), 1) == b"\x07"
    assert frs[1].start == chunk
    assert frs[2].end <= chunk  # filled the tail of chunk 0
    assert mf.reserved_bytes == 2 * chunk


def test_crossing_view_requires_host_contiguity() -> None:
    chunk = 2 * MiB
    mf = MemoryFile(chunk_size=chunk)
    a = mf.allocate(chunk)
    b = mf.allocate(chunk)
    crossing = FileRange(a.end - PAGE_SIZE, b.start + PAGE_SIZE)
    if mf.host_address(a.end - 1) + 1 == mf.host_address(b.start):
        assert len(mf.map_internal(crossing, READ_WRITE)) == 2 * PAGE_SIZE
    else:
        with pytest.raises(ValueError):
            mf.map_internal(crossing, READ_WRITE)


def test_views_are_the_host_memory() -> None:
    mf = MemoryFile()
    fr = mf.allocate(2 * PAGE_SIZE)
    view = mf.map_internal(fr, READ_WRITE)
    ctypes.memmove(mf.host_address(fr.start) + 10, b"hello", 5)
    assert bytes(view[10:15]) == b"hello"
    sub = mf.map_internal(FileRange(fr.start + PAGE_SIZE, fr.end), READ_WRITE)
    sub[0] = 9
    assert view[PAGE_SIZE] == 9


def _touch(f: File, fr: FileRange) -> int:
    """Use a MemoryFile through the File protocol only."""
    f.inc_ref(fr)
    f.map_internal(fr, READ_WRITE)[0] = 1
    f.dec_ref(fr)
    return f.host_address(fr.start)


def test_is_a_file() -> None:
    mf = MemoryFile()
    fr = mf.allocate(PAGE_SIZE)
    assert _touch(mf, fr) == mf.host_address(0)
    assert mf.ref_count(0) == 1


def test_huge_range_operations_are_run_based() -> None:
    """2 MiB ranges are kept as runs, not pages: the run table stays one
    entry through 1,920 reference changes (counted, not timed)."""
    mf = MemoryFile()
    frs = [mf.allocate(HUGE_PAGE_SIZE, HUGE_PAGE_SIZE) for _ in range(64)]
    assert len(mf.runs()) == 1  # adjacent count-1 runs merge
    for _ in range(10):
        for fr in frs:
            mf.inc_ref(fr)
        for fr in frs:
            assert not mf.has_unique_ref(fr)
        for fr in frs:
            mf.dec_ref(fr)
            assert len(mf.runs()) <= 64  # one run per range at most, never per page
    assert all(mf.has_unique_ref(fr) for fr in frs)
    assert len(mf.runs()) == 1


def check_partition(mf: MemoryFile) -> None:
    """Below the bump pointer every page is either free or counted, never both."""
    pieces = [(s, e, "run") for s, e, c in mf.runs()] + [
        (s, e, "free") for s, e in mf.free_extents()
    ]
    pieces.sort()
    pos = 0
    for s, e, _ in pieces:
        assert s == pos, f"gap or overlap at {pos:#x}"
        assert s < e
        pos = e
    assert pos == mf.file_size
    runs = mf.runs()
    for (_, e1, c1), (s2, _, c2) in itertools.pairwise(runs):
        assert not (e1 == s2 and c1 == c2), "unmerged runs"
    assert all(c >= 1 for _, _, c in runs)
    for s, e in mf.free_extents():
        assert (s // mf.chunk_size) == ((e - 1) // mf.chunk_size)
    assert mf.bytes_in_use == sum(e - s for s, e, _ in runs)


def test_random_refcount_operations_keep_invariants() -> None:
    rng = random.Random(11)
    mf = MemoryFile(chunk_size=4 * MiB)
    owned: list[FileRange] = []  # one entry per reference held
    for _ in range(3000):
        r = rng.random()
        if r < 0.35 or not owned:
            n = rng.choice([1, 2, 3, 8, 64, 512])
            owned.append(mf.allocate(n * PAGE_SIZE, HUGE_PAGE_SIZE if n == 512 else PAGE_SIZE))
        elif r < 0.6:
            fr = rng.choice(owned)
            pages = fr.length() // PAGE_SIZE
            a = rng.randrange(pages)
            b = rng.randrange(a + 1, pages + 1)
            sub = FileRange(fr.start + a * PAGE_SIZE, fr.start + b * PAGE_SIZE)
            mf.inc_ref(sub)
            owned.append(sub)
        else:
            fr = owned.pop(rng.randrange(len(owned)))
            mf.dec_ref(fr)
        if rng.random() < 0.1:
            check_partition(mf)
            if owned:
                probe = rng.choice(owned)
                holders = sum(1 for o in owned if o.overlaps(probe))
                assert mf.has_unique_ref(probe) == (holders == 1)
    check_partition(mf)
    for fr in owned:
        mf.dec_ref(fr)
    assert mf.runs() == [] and mf.file_size == 0
