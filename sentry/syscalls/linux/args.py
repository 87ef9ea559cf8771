"""Decoding raw 64-bit syscall arguments the way Linux's C prototypes do."""

from __future__ import annotations


def s32(x: int) -> int:
    """An ``int`` argument: the low 32 bits, sign-extended."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def u32(x: int) -> int:
    """An ``unsigned int`` argument."""
    return x & 0xFFFFFFFF


def s64(x: int) -> int:
    """A ``long``/``ssize_t``/``off_t`` argument."""
    return x - (1 << 64) if x & (1 << 63) else x
