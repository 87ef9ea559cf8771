"""AddrRangeSeq: ports of gVisor's addr_range_seq_test.go plus a model-based property test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry.hostarch import ADDR_MAX, AddrRange, AddrRangeSeq

R = AddrRange

ADDR_RANGE_SEQ_TESTS: list[tuple[str, list[AddrRange]]] = [
    ("Empty sequence", []),
    ("Single empty AddrRange", [R(0x10, 0x10)]),
    ("Single non-empty AddrRange of length 1", [R(0x10, 0x11)]),
    ("Single non-empty AddrRange of length 2", [R(0x10, 0x12)]),
    ("Multiple non-empty AddrRanges", [R(0x10, 0x11), R(0x20, 0x22)]),
    (
        "Multiple AddrRanges including empty AddrRanges",
        [
            R(0x10, 0x10),
            R(0x20, 0x20),
            R(0x30, 0x33),
            R(0x40, 0x44),
            R(0x50, 0x50),
            R(0x60, 0x60),
            R(0x70, 0x77),
            R(0x80, 0x88),
            R(0x90, 0x90),
            R(0xA0, 0xA0),
        ],
    ),
]
IDS = [desc for desc, _ in ADDR_RANGE_SEQ_TESTS]


def check_equal_with_tail_iteration(ars: AddrRangeSeq, want: list[AddrRange]) -> None:
    want_len = sum(ar.length() for ar in want)
    i = 0
    while not ars.is_empty():
        assert ars.num_bytes() == want_len, f"iteration {i}: {ars}"
        assert ars.num_ranges() == len(want) - i, f"iteration {i}: {ars}"
        got = ars.head()
        assert i < len(want), f"iteration {i}: {ars}.head() = {got}, wanted end of sequence"
        assert got == want[i], f"iteration {i}: {ars}"
        ars = ars.tail()
        want_len -= got.length()
        i += 1
    assert ars.num_bytes() == 0 and want_len == 0
    assert ars.num_ranges() == 0
    assert i == len(want)


@pytest.mark.parametrize(("desc", "ranges"), ADDR_RANGE_SEQ_TESTS, ids=IDS)
def test_tail_iteration(desc: str, ranges: list[AddrRange]) -> None:
    check_equal_with_tail_iteration(AddrRangeSeq.from_ranges(ranges), ranges)


@pytest.mark.parametrize(("desc", "ranges"), ADDR_RANGE_SEQ_TESTS, ids=IDS)
def test_python_iteration(desc: str, ranges: list[AddrRange]) -> None:
    ars = AddrRangeSeq.from_ranges(ranges)
    assert list(ars) == ranges
    assert ars == AddrRangeSeq.from_ranges(list(ranges))


def test_drop_first_empty() -> None:
    ars = AddrRangeSeq()
    assert ars.drop_first(1) == ars
    assert ars.drop_first(0).is_empty()


@pytest.mark.parametrize(("desc", "ranges"), ADDR_RANGE_SEQ_TESTS, ids=IDS)
def test_drop_single_byte_iteration(desc: str, ranges: list[AddrRange]) -> None:
    # Head/DropFirst iteration simulating one byte of I/O per step (0 bytes
    # for a zero-length range, which DropFirst(0) must still advance past).
    want_len = sum(ar.length() for ar in ranges)
    want: list[AddrRange] = []
    for ar in ranges:
        want.append(ar)
        if ar.length() == 0:
            continue
        start = ar.start + 1
        while start != ar.end:
            want.append(R(start, ar.end))
            start += 1

    ars = AddrRangeSeq.from_ranges(ranges)
    i = 0
    while not ars.is_empty():
        assert ars.num_bytes() == want_len, f"iteration {i}: {ars}"
        got = ars.head()
        assert i < len(want)
        assert got == want[i], f"iteration {i}: {ars}"
        if got.length() == 0:
            ars = ars.drop_first(0)
        else:
            ars = ars.drop_first(1)
            want_len -= 1
        i += 1
    assert ars.num_bytes() == 0 and want_len == 0
    assert i == len(want)


def test_take_first_empty() -> None:
    ars = AddrRangeSeq()
    assert ars.take_first(1) == ars
    assert ars.take_first(1).is_empty()


def test_take_first() -> None:
    ranges = [
        R(0x10, 0x11),
        R(0x20, 0x22),
        R(0x30, 0x30),
        R(0x40, 0x44),
        R(0x50, 0x55),
        R(0x60, 0x60),
        R(0x70, 0x77),
    ]
    ars = AddrRangeSeq.from_ranges(ranges).take_first(5)
    want = [
        R(0x10, 0x11),  # +1 byte (total 1 byte), not truncated
        R(0x20, 0x22),  # +2 bytes (total 3 bytes), not truncated
        R(0x30, 0x30),  # +0 bytes (total 3 bytes), no change
        R(0x40, 0x42),  # +2 bytes (total 5 bytes), partially truncated
        R(0x50, 0x50),  # +0 bytes (total 5 bytes), fully truncated
        R(0x60, 0x60),  # +0 bytes (total 5 bytes), "fully truncated" (no change)
        R(0x70, 0x70),  # +0 bytes (total 5 bytes), fully truncated
    ]
    check_equal_with_tail_iteration(ars, want)
    assert list(ars) == want
    assert ars.num_ranges() == 7


def test_is_empty_differs_from_zero_bytes() -> None:
    ars = AddrRangeSeq.from_ranges([R(0x10, 0x10), R(0x20, 0x20)])
    assert not ars.is_empty()
    assert ars.num_bytes() == 0
    assert AddrRangeSeq.of(R(ADDR_MAX, ADDR_MAX)).num_ranges() == 1
    assert AddrRangeSeq().is_empty() and AddrRangeSeq.from_ranges([]).is_empty()


def test_drop_first_zero_length_head_even_for_zero() -> None:
    ars = AddrRangeSeq.from_ranges([R(0x10, 0x10), R(0x20, 0x22)])
    assert list(ars.drop_first(0)) == [R(0x20, 0x22)]
    assert ars.drop_first(0).drop_first(0) == AddrRangeSeq.of(R(0x20, 0x22))
    assert AddrRangeSeq.of(R(0x10, 0x10)).drop_first(0).is_empty()
    # A non-empty head is left alone by drop_first(0).
    assert AddrRangeSeq.of(R(0x10, 0x12)).drop_first(0) == AddrRangeSeq.of(R(0x10, 0x12))


def test_drop_first_to_range_end_keeps_following_zero_length_ranges() -> None:
    ars = AddrRangeSeq.from_ranges([R(0x10, 0x12), R(0x20, 0x20)])
    dropped = ars.drop_first(2)
    assert not dropped.is_empty()
    assert list(dropped) == [R(0x20, 0x20)]
    assert ars.drop_first(3).is_empty(), "n > num_bytes() gives the empty sequence"


def test_drop_first_head_clipped_to_zero_by_take_first() -> None:
    # gVisor documents that a zero-length head (as head() reports it) is
    # always dropped; its implementation only checks the raw range.
    ars = AddrRangeSeq.from_ranges([R(0x10, 0x12), R(0x20, 0x23)]).take_first(0)
    assert ars.head() == R(0x10, 0x10)
    assert list(ars.drop_first(0)) == [R(0x20, 0x20)]
    assert ars.drop_first(0).drop_first(0).is_empty()


def test_drop_first_uses_clipped_lengths() -> None:
    # Dropping exactly the clipped length of a range removes that range, in
    # both the inline single-range and the windowed representation.
    ars = AddrRangeSeq.from_ranges([R(0x10, 0x10), R(0x20, 0x22), R(0x30, 0x31)]).take_first(1)
    assert list(ars) == [R(0x10, 0x10), R(0x20, 0x21), R(0x30, 0x30)]
    assert list(ars.drop_first(1)) == [R(0x30, 0x30)]
    two = AddrRangeSeq.from_ranges([R(0x10, 0x10), R(0x20, 0x22)]).take_first(1)
    assert two.drop_first(1).is_empty()


def test_drop_first_across_ranges() -> None:
    ars = AddrRangeSeq.from_ranges([R(0x10, 0x13), R(0x20, 0x20), R(0x30, 0x34), R(0x40, 0x42)])
    assert list(ars.drop_first(4)) == [R(0x31, 0x34), R(0x40, 0x42)]
    assert list(ars.drop_first(3)) == [R(0x20, 0x20), R(0x30, 0x34), R(0x40, 0x42)]
    assert list(ars.drop_first(7)) == [R(0x40, 0x42)]
    assert list(ars.drop_first(8)) == [R(0x41, 0x42)]
    assert ars.drop_first(9).is_empty()


def test_negative_n_raises() -> None:
    ars = AddrRangeSeq.of(R(0, 10))
    with pytest.raises(ValueError):
        ars.drop_first(-1)
    with pytest.raises(ValueError):
        ars.take_first(-1)


def test_head_tail_of_empty_raise() -> None:
    with pytest.raises(IndexError):
        AddrRangeSeq().head()
    with pytest.raises(IndexError):
        AddrRangeSeq().tail()


def test_from_ranges_validation() -> None:
    with pytest.raises(ValueError):
        AddrRangeSeq.from_ranges([R(0, 2**62), R(2**62, 2**63), R(0, 1)])
    with pytest.raises(ValueError):
        AddrRangeSeq.from_ranges([R(5, 4)])
    assert AddrRangeSeq.from_ranges([R(0, 2**63 - 1)]).num_bytes() == 2**63 - 1
    # Plain tuples are accepted.
    assert list(AddrRangeSeq.from_ranges([(1, 2), (3, 3)])) == [R(1, 2), R(3, 3)]


def test_str() -> None:
    assert str(AddrRangeSeq()) == "[]"
    assert str(AddrRangeSeq.from_ranges([R(0x10, 0x11), R(0x20, 0x20)])) == (
        "[[0x10, 0x11) [0x20, 0x20)]"
    )


def test_equality_and_hash() -> None:
    a = AddrRangeSeq.from_ranges([R(0x10, 0x14), R(0x20, 0x22)]).drop_first(4)
    b = AddrRangeSeq.of(R(0x20, 0x22))
    assert a == b and hash(a) == hash(b)
    assert a != AddrRangeSeq.of(R(0x20, 0x21))
    assert AddrRangeSeq.of(R(1, 1)) != AddrRangeSeq.of(R(2, 2))


# --- model-based property test -------------------------------------------
#
# The model is a plain list of (start, length) pairs: the ranges exactly as
# head() would report them one after another.

Model = list[tuple[int, int]]


def model_total(m: Model) -> int:
    return sum(length for _, length in m)


def model_drop_first(m: Model, n: int) -> Model:
    if n > model_total(m):
        return []
    m = list(m)
    if m and m[0][1] == 0:
        m.pop(0)
    while n:
        start, length = m[0]
        if n < length:
            m[0] = (start + n, length - n)
            return m
        n -= length
        m.pop(0)
    return m


def model_take_first(m: Model, n: int) -> Model:
    out = []
    for start, length in m:
        take = min(length, n)
        n -= take
        out.append((start, take))
    return out


def to_model(ars: AddrRangeSeq) -> Model:
    return [(ar.start, ar.length()) for ar in ars]


range_lists = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 0x1000), st.integers(ADDR_MAX - 0x1000, ADDR_MAX)),
        st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 100)),
    ),
    max_size=8,
)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("drop"), st.integers(0, 60)),
        st.tuples(st.just("take"), st.integers(0, 60)),
        st.tuples(st.just("tail"), st.just(0)),
        st.tuples(st.just("drop0"), st.just(0)),
    ),
    max_size=12,
)


def check_against_model(ars: AddrRangeSeq, m: Model) -> None:
    assert to_model(ars) == m
    assert ars.num_bytes() == model_total(m)
    assert ars.num_ranges() == len(m)
    assert ars.is_empty() == (not m)
    if m:
        head = ars.head()
        assert (head.start, head.length()) == m[0]
        assert to_model(ars.tail()) == m[1:]


@settings(max_examples=400)
@given(range_lists, ops)
def test_ops_match_list_model(spec: list[tuple[int, int]], op_list: list[tuple[str, int]]) -> None:
    ranges = [R(start, start + length) for start, length in spec]
    ars = AddrRangeSeq.from_ranges(ranges)
    m: Model = [(start, length) for start, length in spec]
    check_against_model(ars, m)
    for op, n in op_list:
        if op == "drop":
            ars, m = ars.drop_first(n), model_drop_first(m, n)
        elif op == "drop0":
            ars, m = ars.drop_first(0), model_drop_first(m, 0)
        elif op == "take":
            ars, m = ars.take_first(n), model_take_first(m, n)
        else:
            if not m:
                continue
            ars, m = ars.tail(), m[1:]
        check_against_model(ars, m)


@given(range_lists)
def test_drop_first_loop_terminates(spec: list[tuple[int, int]]) -> None:
    # The canonical I/O loop visits every range once and always terminates.
    ars = AddrRangeSeq.from_ranges([R(s, s + n) for s, n in spec])
    seen = []
    steps = 0
    while not ars.is_empty():
        head = ars.head()
        seen.append(head)
        ars = ars.drop_first(head.length())
        steps += 1
        assert steps <= len(spec)
    assert seen == [R(s, s + n) for s, n in spec]
