"""safemem.Block, copy, zero and the 32-bit atomics."""

from __future__ import annotations

import array
import mmap
import struct

import pytest

from sentry.safemem import (
    ZERO_CHUNK,
    Block,
    byte_view,
    compare_and_swap_uint32,
    copy,
    load_uint32,
    swap_uint32,
    zero,
)


def test_block_basics() -> None:
    buf = bytearray(b"foobar")
    b = Block(buf)
    assert len(b) == 6
    assert bytes(b) == b"foobar"
    assert b.to_memoryview().obj is buf
    assert len(Block()) == 0
    assert not b.readonly() and Block(b"x").readonly()


def test_drop_first_take_first() -> None:
    b = Block(bytearray(b"foobar"))
    assert bytes(b.drop_first(2)) == b"obar"
    assert b.drop_first(0) is b
    assert len(b.drop_first(6)) == 0
    assert len(b.drop_first(100)) == 0, "n >= len gives an empty Block, no error"
    assert bytes(b.take_first(3)) == b"foo"
    assert len(b.take_first(0)) == 0
    assert b.take_first(6) is b and b.take_first(100) is b
    with pytest.raises(ValueError):
        b.drop_first(-1)
    with pytest.raises(ValueError):
        b.take_first(-1)


def test_views_share_memory() -> None:
    buf = bytearray(b"foobar")
    Block(buf).drop_first(3).to_memoryview()[0] = ord("B")
    assert buf == b"fooBar"


def test_non_byte_buffers_are_cast() -> None:
    arr = array.array("I", [1, 2])
    b = Block(arr)
    assert len(b) == 8
    assert b.to_memoryview().format == "B"
    with mmap.mmap(-1, 4096) as m:
        blk = Block(m)
        assert len(blk) == 4096
        blk.to_memoryview()[:3] = b"abc"
        assert m[:3] == b"abc"
        del blk
    with pytest.raises(TypeError):
        byte_view(memoryview(bytearray(8))[::2])


def test_copy() -> None:
    dst = bytearray(4)
    assert copy(Block(dst), Block(b"foobar")) == 4
    assert dst == b"foob"
    dst2 = bytearray(b"xxxxxx")
    assert copy(Block(dst2), Block(b"ab")) == 2
    assert dst2 == b"abxxxx"
    assert copy(Block(dst2), Block()) == 0


def test_zero() -> None:
    buf = bytearray(b"\xff" * 100)
    assert zero(Block(buf).drop_first(10).take_first(80)) == 80
    assert buf == b"\xff" * 10 + bytes(80) + b"\xff" * 10
    big = bytearray(b"\x01" * (2 * ZERO_CHUNK + 123))
    assert zero(Block(big)) == len(big)
    assert big.count(0) == len(big)
    assert zero(Block()) == 0


def test_atomics() -> None:
    buf = bytearray(struct.pack("<II", 0xDEADBEEF, 7))
    b = Block(buf)
    assert b.load_uint32() == 0xDEADBEEF
    assert load_uint32(b.drop_first(4)) == 7
    assert b.swap_uint32(1) == 0xDEADBEEF
    assert struct.unpack_from("<I", buf)[0] == 1
    assert swap_uint32(b, 0xFFFFFFFF) == 1
    assert b.compare_and_swap_uint32(5, 6) == 0xFFFFFFFF, "mismatch returns the value found"
    assert b.load_uint32() == 0xFFFFFFFF
    assert compare_and_swap_uint32(b, 0xFFFFFFFF, 6) == 0xFFFFFFFF
    assert b.load_uint32() == 6
    assert buf[4:] == struct.pack("<I", 7), "only 4 bytes are touched"
    with pytest.raises(struct.error):
        Block(bytearray(3)).load_uint32()
