"""``struct stat`` for x86-64 (arch/x86/include/uapi/asm/stat.h) and
``struct statx`` (include/uapi/linux/stat.h).

The sentry's currency for file attributes is ``os.stat_result``: host files
produce one from ``os.stat``; synthetic files build one with
:func:`make_stat`. Times are taken from the ``st_*time_ns`` fields.
"""

from __future__ import annotations

import os
import struct

# dev, ino, nlink, mode, uid, gid, pad, rdev, size, blksize, blocks,
# atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns, 3 reserved.
_STAT = struct.Struct("<QQQIIIiQqqqqqqqqq24x")
STAT_SIZE = _STAT.size  # 144

# struct statx: mask, blksize, attributes, nlink, uid, gid, mode, spare,
# ino, size, blocks, attributes_mask, atime, btime, ctime, mtime (each
# {s64 sec, u32 nsec, s32 pad}), rdev major/minor, dev major/minor,
# mnt_id, dio_mem_align, dio_offset_align, then spare up to 256 bytes.
_STATX = struct.Struct("<IIQIIIHHQQQQ" + "qIi" * 4 + "IIIIQII")
STATX_SIZE = 256
_STATX_PAD = bytes(STATX_SIZE - _STATX.size)

STATX_TYPE = 0x1
STATX_MODE = 0x2
STATX_NLINK = 0x4
STATX_UID = 0x8
STATX_GID = 0x10
STATX_ATIME = 0x20
STATX_MTIME = 0x40
STATX_CTIME = 0x80
STATX_INO = 0x100
STATX_SIZE_ = 0x200
STATX_BLOCKS = 0x400
STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800
STATX_MNT_ID = 0x1000
STATX__RESERVED = 0x80000000

_NS = 1_000_000_000


def _split_ns(ns: int) -> tuple[int, int]:
    sec, nsec = divmod(ns, _NS)
    return sec, nsec


def pack_stat(st: os.stat_result) -> bytes:
    """The guest's ``struct stat`` for a stat result."""
    asec, ansec = _split_ns(st.st_atime_ns)
    msec, mnsec = _split_ns(st.st_mtime_ns)
    csec, cnsec = _split_ns(st.st_ctime_ns)
    return _STAT.pack(
        st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid, st.st_gid, 0,
        st.st_rdev, st.st_size, st.st_blksize, st.st_blocks,
        asec, ansec, msec, mnsec, csec, cnsec,
    )


def dev_major(dev: int) -> int:
    """glibc's ``major()`` of a 64-bit dev_t."""
    return ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF & 0xFFFFFFFF)


def dev_minor(dev: int) -> int:
    """glibc's ``minor()`` of a 64-bit dev_t."""
    return (dev & 0xFF) | ((dev >> 12) & ~0xFF & 0xFFFFFFFF)


def pack_statx(st: os.stat_result, mask: int = STATX_BASIC_STATS, mnt_id: int = 1) -> bytes:
    """The guest's ``struct statx``: every basic field is filled (Linux may
    return more than asked for); birth time is not reported."""
    del mask
    asec, ansec = _split_ns(st.st_atime_ns)
    msec, mnsec = _split_ns(st.st_mtime_ns)
    csec, cnsec = _split_ns(st.st_ctime_ns)
    body = _STATX.pack(
        STATX_BASIC_STATS | STATX_MNT_ID, st.st_blksize, 0, st.st_nlink, st.st_uid, st.st_gid,
        st.st_mode & 0xFFFF, 0, st.st_ino, st.st_size, st.st_blocks, 0,
        asec, ansec, 0, 0, 0, 0, csec, cnsec, 0, msec, mnsec, 0,
        dev_major(st.st_rdev), dev_minor(st.st_rdev), dev_major(st.st_dev), dev_minor(st.st_dev),
        mnt_id, 0, 0,
    )
    return body + _STATX_PAD


def make_stat(
    *,
    mode: int,
    ino: int,
    dev: int,
    nlink: int = 1,
    uid: int = 0,
    gid: int = 0,
    size: int = 0,
    rdev: int = 0,
    blksize: int = 4096,
    blocks: int = 0,
    atime_ns: int = 0,
    mtime_ns: int = 0,
    ctime_ns: int = 0,
) -> os.stat_result:
    """An ``os.stat_result`` for a synthetic file."""
    return os.stat_result(
        (mode, ino, dev, nlink, uid, gid, size, atime_ns // _NS, mtime_ns // _NS, ctime_ns // _NS),
        {
            "st_atime": atime_ns / _NS,
            "st_mtime": mtime_ns / _NS,
            "st_ctime": ctime_ns / _NS,
            "st_atime_ns": atime_ns,
            "st_mtime_ns": mtime_ns,
            "st_ctime_ns": ctime_ns,
            "st_blksize": blksize,
            "st_blocks": blocks,
            "st_rdev": rdev,
        },
    )
