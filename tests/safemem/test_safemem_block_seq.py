"""safemem.BlockSeq: ports of gVisor's seq_test.go plus a model-based property test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry.safemem import Block, BlockSeq, copy, copy_seq, zero_seq


def test_of_empty_block() -> None:
    bs = BlockSeq.of(Block())
    assert bs.is_empty()
    assert bs.num_blocks() == 0 and bs.num_bytes() == 0


def test_of_nonempty_block() -> None:
    b = Block(bytearray(1))
    bs = BlockSeq.of(b)
    assert not bs.is_empty()
    assert bs.head() is b
    assert bs.tail().is_empty()


@dataclass
class SeqCase:
    desc: str
    pieces: list[bytes]
    offset: int | None = None
    limit: int | None = None
    want: bytes = b""

    def non_empty_byte_slices(self) -> list[bytes]:
        offset = self.offset
        limit = self.limit
        out = []
        for piece in self.pieces:
            if offset is not None:
                off = min(offset, len(piece))
                piece = piece[off:]
                offset -= off
            if limit is not None:
                lim = min(limit, len(piece))
                piece = piece[:lim]
                limit -= lim
            if piece:
                out.append(piece)
        return out

    def block_seq(self) -> BlockSeq:
        bs = BlockSeq.from_blocks(Block(bytearray(p)) for p in self.pieces)
        if self.offset is not None:
            bs = bs.drop_first(self.offset)
        if self.limit is not None:
            bs = bs.take_first(self.limit)
        return bs


CASES = [
    SeqCase("Empty sequence", []),
    SeqCase("Sequence of length 1", [b"foobar"], want=b"foobar"),
    SeqCase("Sequence of length 2", [b"foo", b"bar"], want=b"foobar"),
    SeqCase("Empty Blocks", [b"", b"foo", b"", b"", b"bar", b""], want=b"foobar"),
    SeqCase("Sequence with non-zero offset", [b"foo", b"bar"], offset=2, want=b"obar"),
    SeqCase("Sequence with non-maximal limit", [b"foo", b"bar"], limit=5, want=b"fooba"),
    SeqCase("Sequence with offset and limit", [b"foo", b"bar"], offset=2, limit=3, want=b"oba"),
]
IDS = [c.desc for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_num_bytes(case: SeqCase) -> None:
    assert case.block_seq().num_bytes() == len(case.want)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_iter_blocks(case: SeqCase) -> None:
    srcs = case.block_seq()
    slices = []
    while not srcs.is_empty():
        src = srcs.head()
        slices.append(bytes(src))
        next_srcs = srcs.tail()
        assert next_srcs.num_bytes() == srcs.num_bytes() - len(src)
        srcs = next_srcs
    assert slices == case.non_empty_byte_slices()
    assert [bytes(b) for b in case.block_seq()] == slices
    assert case.block_seq().num_blocks() == len(slices)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_iter_bytes(case: SeqCase) -> None:
    srcs = case.block_seq()
    out = bytearray()
    while not srcs.is_empty():
        b = bytearray(1)
        assert copy(Block(b), srcs.head()) == 1
        out += b
        next_srcs = srcs.drop_first(1)
        assert next_srcs.num_bytes() == srcs.num_bytes() - 1
        srcs = next_srcs
    assert bytes(out) == case.want
    assert case.block_seq().to_bytes() == case.want


def test_drop_beyond_limit() -> None:
    bs = BlockSeq.from_blocks([Block(b"123"), Block(b"4")])
    assert bs.num_bytes() == 4
    bs = bs.take_first(1)
    assert bs.num_bytes() == 1
    bs = bs.drop_first(2)
    assert bs.num_bytes() == 0
    assert bs.is_empty()


def test_take_first_zero_and_negative() -> None:
    bs = BlockSeq.of(Block(b"abc"))
    assert bs.take_first(0).is_empty()
    assert bs.take_first(3) is bs
    with pytest.raises(ValueError):
        bs.take_first(-1)
    with pytest.raises(ValueError):
        bs.drop_first(-1)
    with pytest.raises(IndexError):
        BlockSeq().head()
    with pytest.raises(IndexError):
        BlockSeq().tail()


def test_copy_seq_and_zero_seq() -> None:
    d1, d2 = bytearray(2), bytearray(5)
    dsts = BlockSeq.from_blocks([Block(d1), Block(), Block(d2)])
    srcs = BlockSeq.from_blocks([Block(b"foo"), Block(b"ba")])
    assert copy_seq(dsts, srcs) == (5, None)
    assert (d1, d2) == (b"fo", b"oba\0\0")
    d3 = bytearray(3)
    assert copy_seq(BlockSeq.of(Block(d3)), BlockSeq.of(Block(b"xyz")).drop_first(1)) == (2, None)
    assert d3 == b"yz\0"
    assert copy_seq(BlockSeq(), srcs) == (0, None)
    assert zero_seq(dsts.drop_first(1).take_first(5)) == (5, None)
    assert (d1, d2) == (b"f\0", b"\0\0\0\0\0")


# --- model-based property test -------------------------------------------

pieces_st = st.lists(st.binary(max_size=6), max_size=6)
seq_ops = st.lists(
    st.one_of(
        st.tuples(st.just("drop"), st.integers(0, 30)),
        st.tuples(st.just("take"), st.integers(0, 30)),
        st.tuples(st.just("tail"), st.just(0)),
    ),
    max_size=8,
)


def check(bs: BlockSeq, model: list[bytes]) -> None:
    assert [bytes(b) for b in bs] == model
    assert all(len(b) for b in bs), "never holds empty blocks"
    assert bs.num_bytes() == sum(map(len, model))
    assert bs.num_blocks() == len(model)
    assert bs.is_empty() == (not model) == (bs.num_bytes() == 0)
    if model:
        assert bytes(bs.head()) == model[0]


@settings(max_examples=300)
@given(pieces_st, seq_ops)
def test_block_seq_ops_match_model(pieces: list[bytes], ops: list[tuple[str, int]]) -> None:
    bs = BlockSeq.from_blocks(Block(bytearray(p)) for p in pieces)
    model = [p for p in pieces if p]
    check(bs, model)
    for op, n in ops:
        if op == "drop":
            bs = bs.drop_first(n)
            flat = b"".join(model)
            rest = flat[n:] if n < len(flat) else b""
            model = split_like(model, len(flat) - len(rest), rest)
        elif op == "take":
            bs = bs.take_first(n)
            out, left = [], n
            for p in model:
                if left == 0:
                    break
                out.append(p[:left])
                left -= len(out[-1])
            model = out
        else:
            if not model:
                continue
            bs, model = bs.tail(), model[1:]
        check(bs, model)


def split_like(model: list[bytes], dropped: int, rest: bytes) -> list[bytes]:
    out = []
    for p in model:
        if dropped >= len(p):
            dropped -= len(p)
            continue
        out.append(p[dropped:])
        dropped = 0
    assert b"".join(out) == rest
    return out


@given(pieces_st, pieces_st)
def test_copy_seq_matches_flat_copy(dst_pieces: list[bytes], src_pieces: list[bytes]) -> None:
    dst_bufs = [bytearray(len(p)) for p in dst_pieces]
    dsts = BlockSeq.from_blocks(Block(b) for b in dst_bufs)
    srcs = BlockSeq.from_blocks(Block(p) for p in src_pieces)
    flat_src = b"".join(src_pieces)
    n, err = copy_seq(dsts, srcs)
    want_n = min(len(flat_src), sum(map(len, dst_pieces)))
    assert (n, err) == (want_n, None)
    assert b"".join(dst_bufs)[:n] == flat_src[:n]
    assert b"".join(dst_bufs)[n:] == bytes(sum(map(len, dst_pieces)) - n)
