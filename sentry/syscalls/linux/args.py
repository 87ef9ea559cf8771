"""Decoding raw 64-bit syscall arguments the way Linux's C prototypes do."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from sentry.linuxerr import EINVAL

if TYPE_CHECKING:
    from sentry.kernel.task import Task


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


NSEC_PER_SEC = 1_000_000_000
_TIMESPEC = struct.Struct("<qq")


def copy_in_timespec(t: Task, addr: int) -> int:
    """A guest ``struct timespec`` as nanoseconds: EFAULT if unreadable,
    EINVAL for a negative ``tv_sec`` or ``tv_nsec`` outside [0, 1e9)
    (Linux ``timespec64_valid``)."""
    sec, nsec = _TIMESPEC.unpack(t.copy_in_bytes(addr, 16))
    if sec < 0 or not 0 <= nsec < NSEC_PER_SEC:
        raise EINVAL
    return int(sec * NSEC_PER_SEC + nsec)
