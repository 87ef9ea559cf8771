"""Address constants and helpers, AddrRange, AccessType (gVisor pkg/hostarch)."""

from __future__ import annotations

import mmap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentry.hostarch import (
    ADDR_MAX,
    ANY_ACCESS,
    EXECUTE,
    HUGE_PAGE_SHIFT,
    HUGE_PAGE_SIZE,
    MAX_RW_COUNT,
    NO_ACCESS,
    PAGE_SHIFT,
    PAGE_SIZE,
    READ,
    READ_EXECUTE,
    READ_WRITE,
    UIO_MAXIOV,
    WRITE,
    AccessType,
    AddrRange,
    add_length,
    huge_page_round_down,
    huge_page_round_up,
    is_page_aligned,
    must_page_round_up,
    must_to_range,
    page_offset,
    page_round_down,
    page_round_up,
    to_pages_round_up,
    to_range,
)

addrs = st.one_of(
    st.integers(0, ADDR_MAX),
    st.integers(0, 3 * PAGE_SIZE),
    st.integers(ADDR_MAX - 3 * PAGE_SIZE, ADDR_MAX),
)


def test_constants() -> None:
    assert PAGE_SHIFT == 12
    assert PAGE_SIZE == 4096
    assert HUGE_PAGE_SHIFT == 21
    assert HUGE_PAGE_SIZE == 2 << 20
    assert MAX_RW_COUNT == 0x7FFFF000
    assert UIO_MAXIOV == 1024
    assert ADDR_MAX == 2**64 - 1


@pytest.mark.parametrize(
    ("x", "down", "up", "ok"),
    [
        (0, 0, 0, True),
        (1, 0, PAGE_SIZE, True),
        (PAGE_SIZE - 1, 0, PAGE_SIZE, True),
        (PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, True),
        (PAGE_SIZE + 1, PAGE_SIZE, 2 * PAGE_SIZE, True),
        (2**64 - PAGE_SIZE, 2**64 - PAGE_SIZE, 2**64 - PAGE_SIZE, True),
        (2**64 - PAGE_SIZE + 1, 2**64 - PAGE_SIZE, 0, False),
        (ADDR_MAX, 2**64 - PAGE_SIZE, 0, False),
    ],
)
def test_page_rounding(x: int, down: int, up: int, ok: bool) -> None:
    assert page_round_down(x) == down
    assert page_round_up(x) == (up, ok)
    if ok:
        assert must_page_round_up(x) == up
    else:
        with pytest.raises(ValueError):
            must_page_round_up(x)


@given(addrs)
def test_page_rounding_properties(x: int) -> None:
    down = page_round_down(x)
    assert down <= x < down + PAGE_SIZE
    assert is_page_aligned(down)
    assert page_offset(x) == x - down
    up, ok = page_round_up(x)
    assert ok == (x <= 2**64 - PAGE_SIZE)
    if ok:
        assert x <= up < x + PAGE_SIZE and is_page_aligned(up)
        assert to_pages_round_up(x) == (up // PAGE_SIZE, True)
    hdown = huge_page_round_down(x)
    assert hdown <= x < hdown + HUGE_PAGE_SIZE and hdown % HUGE_PAGE_SIZE == 0
    hup, hok = huge_page_round_up(x)
    assert hok == (x <= 2**64 - HUGE_PAGE_SIZE)
    if hok:
        assert x <= hup < x + HUGE_PAGE_SIZE and hup % HUGE_PAGE_SIZE == 0


@pytest.mark.parametrize(
    ("addr", "n", "end", "ok"),
    [
        (0, 0, 0, True),
        (0x1000, 0x10, 0x1010, True),
        (ADDR_MAX, 0, ADDR_MAX, True),
        (ADDR_MAX - 1, 1, ADDR_MAX, True),
        # An end of exactly 2**64 wraps to 0 and is not ok (gVisor's rule).
        (ADDR_MAX, 1, 0, False),
        (2**64 - 0x1000, 0x1000, 0, False),
        (ADDR_MAX, ADDR_MAX, ADDR_MAX - 1, False),
    ],
)
def test_add_length_and_to_range(addr: int, n: int, end: int, ok: bool) -> None:
    assert add_length(addr, n) == (end, ok)
    assert to_range(addr, n) == (AddrRange(addr, end), ok)
    if ok:
        assert must_to_range(addr, n) == AddrRange(addr, end)
    else:
        with pytest.raises(ValueError):
            must_to_range(addr, n)


def test_addr_range_methods() -> None:
    r = AddrRange(0x1000, 0x3000)
    assert r.well_formed() and not AddrRange(2, 1).well_formed()
    assert r.length() == 0x2000
    assert r.contains(0x1000) and r.contains(0x2FFF)
    assert not r.contains(0x3000) and not r.contains(0xFFF)
    assert r.overlaps(AddrRange(0x2FFF, 0x4000))
    assert not r.overlaps(AddrRange(0x3000, 0x4000))
    # gVisor's formula (start < r2.end and r2.start < end), not the notes'
    # "zero-length ranges never overlap": an empty range strictly inside
    # overlaps, one at either edge does not.
    assert r.overlaps(AddrRange(0x2000, 0x2000))
    assert not r.overlaps(AddrRange(0x1000, 0x1000))
    assert not r.overlaps(AddrRange(0x3000, 0x3000))
    assert r.is_superset_of(AddrRange(0x1000, 0x3000))
    assert r.is_superset_of(AddrRange(0x2000, 0x2000))
    assert not r.is_superset_of(AddrRange(0x1000, 0x3001))
    assert r.intersect(AddrRange(0x2000, 0x5000)) == AddrRange(0x2000, 0x3000)
    assert r.intersect(AddrRange(0, 0x1800)) == AddrRange(0x1000, 0x1800)
    assert r.intersect(AddrRange(0x5000, 0x6000)).length() == 0
    assert r.can_split_at(0x2000)
    assert not r.can_split_at(0x1000) and not r.can_split_at(0x3000)
    assert r.is_page_aligned() and not AddrRange(0x1000, 0x1001).is_page_aligned()
    assert AddrRange(0, HUGE_PAGE_SIZE).is_huge_page_aligned()
    assert not r.is_huge_page_aligned()
    assert str(r) == "[0x1000, 0x3000)"
    assert str(AddrRange(0, 0)) == "[0x0, 0x0)"
    assert r == (0x1000, 0x3000)
    start, end = r
    assert (start, end) == (r.start, r.end)


@given(addrs, addrs, addrs, addrs)
def test_addr_range_intersect_properties(a: int, b: int, c: int, d: int) -> None:
    r1 = AddrRange(min(a, b), max(a, b))
    r2 = AddrRange(min(c, d), max(c, d))
    i = r1.intersect(r2)
    assert i.well_formed()
    if r1.length() and r2.length():
        assert r1.overlaps(r2) == (i.length() > 0)
    if i.length():
        assert r1.is_superset_of(i) and r2.is_superset_of(i)


def test_access_type() -> None:
    assert str(ANY_ACCESS) == "rwx"
    assert str(READ_EXECUTE) == "r-x"
    assert str(NO_ACCESS) == "---"
    assert str(WRITE) == "-w-"
    assert WRITE.effective() == READ_WRITE
    assert EXECUTE.effective() == READ_EXECUTE
    assert NO_ACCESS.effective() == NO_ACCESS
    assert READ.effective() == READ
    assert not NO_ACCESS.any() and READ.any() and EXECUTE.any()
    assert READ_WRITE.prot() == mmap.PROT_READ | mmap.PROT_WRITE
    assert NO_ACCESS.prot() == 0
    assert ANY_ACCESS.prot() == mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
    assert ANY_ACCESS.superset_of(READ_WRITE)
    assert not READ.superset_of(READ_WRITE)
    assert NO_ACCESS.superset_of(NO_ACCESS)
    assert READ_WRITE.intersect(READ_EXECUTE) == READ
    assert READ.union(WRITE) == READ_WRITE
    assert AccessType(read=True) == READ


@given(st.integers(0, 7))
def test_access_type_prot_round_trip(prot: int) -> None:
    at = AccessType.from_prot(prot)
    assert at.prot() == prot
    assert AccessType.from_prot(prot | 0x100) == at
    assert at.effective().superset_of(at)
    assert at.union(at) == at and at.intersect(at) == at
