"""copy_out_vec / copy_in_vec / zero_out_vec and the int32-string helpers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry.hostarch import AddrRange, AddrRangeSeq
from sentry.linuxerr import EFAULT, EINVAL, Errno
from sentry.usermem import (
    BytesIO,
    IOOpts,
    bytes_io_sequence,
    copy_in_vec,
    copy_int32_string_in_vec,
    copy_int32_strings_in_vec,
    copy_out_vec,
    zero_out_vec,
)

R = AddrRange
TOP = 2**64

# --- examples ------------------------------------------------------------


def test_copy_out_vec_scatters_in_order() -> None:
    b = BytesIO(bytearray(b"........"))
    ars = AddrRangeSeq.from_ranges([R(6, 8), R(3, 3), R(0, 3)])
    assert copy_out_vec(b, ars, b"ABCDE", IOOpts()) == (5, None)
    assert b.bytes == b"CDE...AB"


def test_copy_vec_truncated_by_ars_without_error() -> None:
    b = BytesIO(bytearray(b"abcdef"))
    ars = AddrRangeSeq.from_ranges([R(0, 2), R(4, 5)])
    assert copy_out_vec(b, ars, b"XYZW", IOOpts()) == (3, None)
    assert b.bytes == b"XYcdZf"
    dst = bytearray(10)
    assert copy_in_vec(b, ars, dst, IOOpts()) == (3, None)
    assert dst[:3] == b"XYZ"
    assert zero_out_vec(b, ars, 100, IOOpts()) == (3, None)
    assert b.bytes == b"\0\0cd\0f"


def test_copy_vec_stops_at_first_error() -> None:
    b = BytesIO(bytearray(b"abcdef"))
    ars = AddrRangeSeq.from_ranges([R(4, 8), R(0, 2)])
    assert copy_out_vec(b, ars, b"123456", IOOpts()) == (2, EFAULT)
    assert b.bytes == b"abcd12"
    dst = bytearray(6)
    assert copy_in_vec(b, ars, dst, IOOpts()) == (2, EFAULT)
    assert zero_out_vec(b, ars, 6, IOOpts()) == (2, EFAULT)
    assert b.bytes == b"abcd\0\0"


def test_zero_length_range_at_top_of_address_space() -> None:
    b = BytesIO(bytearray(b"abcd"))
    ars = AddrRangeSeq.from_ranges([R(TOP - 1, TOP - 1), R(0, 2)])
    assert copy_out_vec(b, ars, b"xy", IOOpts()) == (2, None)
    assert b.bytes == b"xycd"
    ars2 = AddrRangeSeq.from_ranges([R(TOP - 2, TOP), R(0, 2)])
    assert copy_out_vec(b, ars2, b"zz", IOOpts()) == (0, EFAULT)


def test_empty_source_touches_nothing() -> None:
    b = BytesIO(bytearray(b"ab"))
    ars = AddrRangeSeq.of(R(100, 200))
    assert copy_out_vec(b, ars, b"", IOOpts()) == (0, None)
    assert copy_in_vec(b, ars, bytearray(), IOOpts()) == (0, None)
    assert zero_out_vec(b, ars, 0, IOOpts()) == (0, None)
    assert copy_out_vec(b, AddrRangeSeq(), b"abc", IOOpts()) == (0, None)


# --- flat-bytes model ----------------------------------------------------

SIZE = 48

range_specs = st.lists(
    st.one_of(
        # In or around the buffer, zero-length ones frequent.
        st.tuples(st.integers(0, SIZE + 4), st.sampled_from([0, 0, 1, 2, 3, 7, 16])),
        # Ranges ending exactly at 2**64 (and zero-length ones at the top).
        st.integers(0, 8).map(lambda n: (TOP - n, n)),
    ),
    max_size=6,
)


def flat_addresses(ars: AddrRangeSeq) -> list[int]:
    return [a for ar in ars for a in range(ar.start, ar.end)]


def fault_prefix(addrs: list[int], size: int) -> int:
    """Number of leading addresses inside [0, size)."""
    for i, a in enumerate(addrs):
        if a >= size:
            return i
    return len(addrs)


def build(spec: list[tuple[int, int]], drop: int, take: int | None) -> AddrRangeSeq:
    ars = AddrRangeSeq.from_ranges([R(s, s + n) for s, n in spec])
    ars = ars.drop_first(min(drop, ars.num_bytes()))
    if take is not None:
        ars = ars.take_first(take)
    return ars


vec_args = (
    range_specs,
    st.integers(0, 5),
    st.one_of(st.none(), st.integers(0, 40)),
    st.binary(min_size=SIZE, max_size=SIZE),
)


@settings(max_examples=300)
@given(*vec_args, st.binary(max_size=60))
def test_copy_out_vec_matches_flat_model(
    spec: list[tuple[int, int]], drop: int, take: int | None, init: bytes, src: bytes
) -> None:
    ars = build(spec, drop, take)
    addrs = flat_addresses(ars)[: len(src)]
    assert len(flat_addresses(ars)) == ars.num_bytes()
    good = fault_prefix(addrs, SIZE)
    want_err = EFAULT if good < len(addrs) else None
    mem = bytearray(init)
    for i in range(good):
        mem[addrs[i]] = src[i]
    b = BytesIO(bytearray(init))
    assert copy_out_vec(b, ars, src, IOOpts()) == (good, want_err)
    assert b.bytes == mem


@settings(max_examples=300)
@given(*vec_args, st.integers(0, 60))
def test_copy_in_vec_matches_flat_model(
    spec: list[tuple[int, int]], drop: int, take: int | None, init: bytes, dst_len: int
) -> None:
    ars = build(spec, drop, take)
    addrs = flat_addresses(ars)[:dst_len]
    good = fault_prefix(addrs, SIZE)
    want_err = EFAULT if good < len(addrs) else None
    dst = bytearray(b"\xee" * dst_len)
    b = BytesIO(bytearray(init))
    assert copy_in_vec(b, ars, dst, IOOpts()) == (good, want_err)
    assert dst[:good] == bytes(init[a] for a in addrs[:good])
    assert dst[good:] == b"\xee" * (dst_len - good)
    assert b.bytes == init


@settings(max_examples=300)
@given(*vec_args, st.integers(0, 60))
def test_zero_out_vec_matches_flat_model(
    spec: list[tuple[int, int]], drop: int, take: int | None, init: bytes, to_zero: int
) -> None:
    ars = build(spec, drop, take)
    addrs = flat_addresses(ars)[:to_zero]
    good = fault_prefix(addrs, SIZE)
    want_err = EFAULT if good < len(addrs) else None
    mem = bytearray(init)
    for a in addrs[:good]:
        mem[a] = 0
    b = BytesIO(bytearray(init))
    assert zero_out_vec(b, ars, to_zero, IOOpts()) == (good, want_err)
    assert b.bytes == mem


# --- int32 strings (ports of gVisor's TestCopyInt32StringsInVec*) ---------


@pytest.mark.parametrize(
    ("text", "n", "initial", "final"),
    [
        (b"100 200", len(b"100 200"), [1, 2], [100, 200]),
        (b"100", len(b"100"), [1, 2], [100, 2]),  # fewer values ok
        (b"100 200 300", len(b"100 200 "), [1, 2], [100, 200]),  # extra values ok
        (b" 100\t200\n", len(b" 100\t200\n"), [1, 2], [100, 200]),  # whitespace ok
        (b"-5 +7", 5, [0, 0], [-5, 7]),
        (b"2147483647 -2147483648", 22, [0, 0], [2**31 - 1, -(2**31)]),
    ],
)
def test_copy_int32_strings_in_vec(text: bytes, n: int, initial: list[int], final: list[int]) -> None:
    src = bytes_io_sequence(bytearray(text))
    dsts = list(initial)
    assert copy_int32_strings_in_vec(src.io, src.addrs, dsts, src.opts) == (n, None)
    assert dsts == final


@pytest.mark.parametrize("text", [b"", b"\n", b"a123"])
def test_copy_int32_strings_in_vec_requires_one_valid_value(text: bytes) -> None:
    src = bytes_io_sequence(bytearray(text))
    dsts = [1, 2]
    _, err = copy_int32_strings_in_vec(src.io, src.addrs, dsts, src.opts)
    assert err is EINVAL
    assert dsts == [1, 2]


@pytest.mark.parametrize(
    ("text", "n", "final"),
    [
        (b"2147483648", 0, [1, 2]),  # overflow
        (b"-2147483649", 0, [1, 2]),
        (b"12 3x4", 3, [12, 2]),  # invalid char: count is where the bad value starts
        (b"1_000", 0, [1, 2]),  # no underscores (strconv.ParseInt base 10)
        (b"0x10", 0, [1, 2]),
        (b"+", 0, [1, 2]),
        (b"\xd9\xa1", 0, [1, 2]),  # non-ASCII digits are not digits
    ],
)
def test_copy_int32_strings_in_vec_invalid(text: bytes, n: int, final: list[int]) -> None:
    src = bytes_io_sequence(bytearray(text))
    dsts = [1, 2]
    assert copy_int32_strings_in_vec(src.io, src.addrs, dsts, src.opts) == (n, EINVAL)
    assert dsts == final


def test_copy_int32_strings_in_vec_copy_error_and_empty_dsts() -> None:
    b = BytesIO(bytearray(b"7 8"))
    ars = AddrRangeSeq.from_ranges([R(0, 2), R(10, 12)])
    dsts = [0, 0]
    n, err = copy_int32_strings_in_vec(b, ars, dsts, IOOpts())
    assert (n, err) == (2, EFAULT), "values before the fault are parsed; the IO error wins"
    assert dsts == [7, 0]
    assert copy_int32_strings_in_vec(b, ars, [], IOOpts()) == (0, None)


def test_copy_int32_string_in_vec() -> None:
    src = bytes_io_sequence(bytearray(b"  42 \n"))
    assert copy_int32_string_in_vec(src.io, src.addrs, 9, src.opts) == (6, 42, None)
    bad = bytes_io_sequence(bytearray(b"x"))
    _, value, err = copy_int32_string_in_vec(bad.io, bad.addrs, 9, bad.opts)
    assert (value, err) == (9, EINVAL)
    assert isinstance(err, Errno)
