"""Attributes: stat, lstat, fstat, newfstatat, statx; access, faccessat,
faccessat2; readlink, readlinkat; chmod, chown and utimes families; umask
(gVisor ``sys_stat.go``, Linux ``fs/stat.c``, ``fs/open.c``,
``fs/utimes.c``)."""

from __future__ import annotations

import os
import struct

from sentry.abi.fcntl import (
    AT_EACCESS,
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_NO_AUTOMOUNT,
    AT_STATX_SYNC_TYPE,
    AT_SYMLINK_NOFOLLOW,
    S_IALLUGO,
    UTIME_NOW,
    UTIME_OMIT,
)
from sentry.abi.stat import STATX__RESERVED, pack_stat, pack_statx
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, ENOENT
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import copy_path, empty_path_target, fs_of, get_file, start_of
from sentry.vfs.dentry import Dentry
from sentry.vfs.resolve import check_access, lookup_at, readlink_at

_STAT_FLAGS = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE


def _resolve(t: Task, dirfd: int, path: bytes, *, follow: bool, empty_ok: bool) -> Dentry:
    """The dentry a ``*at`` path names; an empty path (allowed only with
    ``empty_ok``) names ``dirfd`` itself."""
    fs = fs_of(t)
    if not path:
        if not empty_ok:
            raise ENOENT
        d, _ = empty_path_target(t, fs, dirfd)
        return d
    return lookup_at(fs, start_of(t, fs, dirfd, path), path, follow=follow)


def _stat_at(t: Task, dirfd: int, pathname: int, flags: int) -> os.stat_result:
    """Linux ``vfs_fstatat``/``vfs_statx`` for newfstatat and statx: the
    path first (a NULL path with AT_EMPTY_PATH is empty), then EINVAL for
    unknown flags, then the walk."""
    empty_ok = bool(flags & AT_EMPTY_PATH)
    path = b"" if empty_ok and pathname == 0 else copy_path(t, pathname, allow_empty=empty_ok)
    if flags & ~_STAT_FLAGS:
        raise EINVAL
    if not path:
        fs = fs_of(t)
        d, f = empty_path_target(t, fs, dirfd)
        return f.stat() if f is not None else d.stat()
    return _resolve(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW, empty_ok=False).stat()


def sys_stat(t: Task, pathname: int, statbuf: int, *_: int) -> int:
    st = _resolve(t, AT_FDCWD, copy_path(t, pathname), follow=True, empty_ok=False).stat()
    t.copy_out_bytes(statbuf, pack_stat(st))
    return 0


def sys_lstat(t: Task, pathname: int, statbuf: int, *_: int) -> int:
    st = _resolve(t, AT_FDCWD, copy_path(t, pathname), follow=False, empty_ok=False).stat()
    t.copy_out_bytes(statbuf, pack_stat(st))
    return 0


def sys_fstat(t: Task, fd: int, statbuf: int, *_: int) -> int:
    st = get_file(t, fd, allow_path=True).stat()
    t.copy_out_bytes(statbuf, pack_stat(st))
    return 0


def sys_newfstatat(t: Task, dirfd: int, pathname: int, statbuf: int, flags: int, *_: int) -> int:
    st = _stat_at(t, dirfd, pathname, s32(flags))
    t.copy_out_bytes(statbuf, pack_stat(st))
    return 0


def sys_statx(t: Task, dirfd: int, pathname: int, flags: int, mask: int, statxbuf: int, *_: int) -> int:
    """statx: the path, then EINVAL for STATX__RESERVED in ``mask`` or
    both sync types, then as newfstatat. Every basic field is reported;
    birth time is not."""
    flags = s32(flags)
    mask = u32(mask)
    empty_ok = bool(flags & AT_EMPTY_PATH)
    if not (empty_ok and pathname == 0):
        copy_path(t, pathname, allow_empty=empty_ok)
    if mask & STATX__RESERVED or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
        raise EINVAL
    st = _stat_at(t, dirfd, pathname, flags)
    t.copy_out_bytes(statxbuf, pack_statx(st, mask))
    return 0


# -- access --------------------------------------------------------------------------------


def _access(t: Task, dirfd: int, pathname: int, mode: int, flags: int) -> int:
    """Linux ``do_faccessat``: EINVAL for mode bits beyond 7 or unknown
    flags, then the path, EROFS for W_OK on a read-only tree, EACCES."""
    mode = s32(mode)
    if mode & ~7:
        raise EINVAL
    if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    empty_ok = bool(flags & AT_EMPTY_PATH)
    path = copy_path(t, pathname, allow_empty=empty_ok)
    d = _resolve(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW, empty_ok=empty_ok)
    check_access(d, mode, bool(flags & AT_EACCESS))
    return 0


def sys_access(t: Task, pathname: int, mode: int, *_: int) -> int:
    return _access(t, AT_FDCWD, pathname, mode, 0)


def sys_faccessat(t: Task, dirfd: int, pathname: int, mode: int, *_: int) -> int:
    return _access(t, dirfd, pathname, mode, 0)


def sys_faccessat2(t: Task, dirfd: int, pathname: int, mode: int, flags: int, *_: int) -> int:
    return _access(t, dirfd, pathname, mode, s32(flags))


# -- readlink ----------------------------------------------------------------------------------


def _readlink(t: Task, dirfd: int, pathname: int, buf: int, size: int) -> int:
    """Linux ``do_readlinkat``: EINVAL for size <= 0, the path (empty
    allowed: it names ``dirfd``), then EINVAL for a non-symlink (ENOENT
    for an empty path). Copies ``min(len, size)`` bytes, no NUL."""
    size = s32(size)
    if size <= 0:
        raise EINVAL
    path = copy_path(t, pathname, allow_empty=True)
    fs = fs_of(t)
    if not path:
        d, _ = empty_path_target(t, fs, dirfd)
        if not d.is_symlink():
            raise ENOENT
        target = d.readlink(fs)
    else:
        target = readlink_at(fs, start_of(t, fs, dirfd, path), path)
    target = target[:size]
    t.copy_out_bytes(buf, target)
    return len(target)


def sys_readlink(t: Task, pathname: int, buf: int, size: int, *_: int) -> int:
    return _readlink(t, AT_FDCWD, pathname, buf, size)


def sys_readlinkat(t: Task, dirfd: int, pathname: int, buf: int, size: int, *_: int) -> int:
    return _readlink(t, dirfd, pathname, buf, size)


# -- chmod, chown ----------------------------------------------------------------------------


def _chmod_at(t: Task, dirfd: int, pathname: int, mode: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    empty_ok = bool(flags & AT_EMPTY_PATH)
    path = copy_path(t, pathname, allow_empty=empty_ok)
    d = _resolve(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW, empty_ok=empty_ok)
    d.chmod(u32(mode) & S_IALLUGO)
    return 0


def sys_chmod(t: Task, pathname: int, mode: int, *_: int) -> int:
    return _chmod_at(t, AT_FDCWD, pathname, mode, 0)


def sys_fchmod(t: Task, fd: int, mode: int, *_: int) -> int:
    get_file(t, fd).chmod(u32(mode) & S_IALLUGO)
    return 0


def sys_fchmodat(t: Task, dirfd: int, pathname: int, mode: int, *_: int) -> int:
    return _chmod_at(t, dirfd, pathname, mode, 0)


def sys_fchmodat2(t: Task, dirfd: int, pathname: int, mode: int, flags: int, *_: int) -> int:
    return _chmod_at(t, dirfd, pathname, mode, s32(flags))


def _ids(uid: int, gid: int) -> tuple[int, int]:
    u, g = u32(uid), u32(gid)
    return (-1 if u == 0xFFFFFFFF else u), (-1 if g == 0xFFFFFFFF else g)


def _chown_at(t: Task, dirfd: int, pathname: int, uid: int, gid: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    empty_ok = bool(flags & AT_EMPTY_PATH)
    path = copy_path(t, pathname, allow_empty=empty_ok)
    d = _resolve(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW, empty_ok=empty_ok)
    d.chown(*_ids(uid, gid))
    return 0


def sys_chown(t: Task, pathname: int, uid: int, gid: int, *_: int) -> int:
    return _chown_at(t, AT_FDCWD, pathname, uid, gid, 0)


def sys_lchown(t: Task, pathname: int, uid: int, gid: int, *_: int) -> int:
    return _chown_at(t, AT_FDCWD, pathname, uid, gid, AT_SYMLINK_NOFOLLOW)


def sys_fchown(t: Task, fd: int, uid: int, gid: int, *_: int) -> int:
    get_file(t, fd).chown(*_ids(uid, gid))
    return 0


def sys_fchownat(t: Task, dirfd: int, pathname: int, uid: int, gid: int, flags: int, *_: int) -> int:
    return _chown_at(t, dirfd, pathname, uid, gid, s32(flags))


# -- times -----------------------------------------------------------------------------------


def _nsec_valid(ns: int) -> bool:
    return 0 <= ns <= 999_999_999 or ns in (UTIME_NOW, UTIME_OMIT)


def _utimes(t: Task, dirfd: int, pathname: int, times: tuple[tuple[int, int], tuple[int, int]] | None, flags: int) -> int:
    """Linux ``do_utimes``: EINVAL for bad nanoseconds; a NULL path with a
    real dirfd is futimens (flags must be 0); else the path walk
    (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH)."""
    if times is not None:
        if not (_nsec_valid(times[0][1]) and _nsec_valid(times[1][1])):
            raise EINVAL
        if times[0][1] == UTIME_OMIT and times[1][1] == UTIME_OMIT:
            return 0
    atime, mtime = times if times is not None else ((0, UTIME_NOW), (0, UTIME_NOW))
    if pathname == 0 and s32(dirfd) != AT_FDCWD:
        if flags:
            raise EINVAL
        get_file(t, dirfd).utimens(atime, mtime)
        return 0
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    empty_ok = bool(flags & AT_EMPTY_PATH)
    path = copy_path(t, pathname, allow_empty=empty_ok)
    d = _resolve(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW, empty_ok=empty_ok)
    d.utimens(atime, mtime)
    return 0


_TIMESPEC2 = struct.Struct("<qqqq")


def sys_utimensat(t: Task, dirfd: int, pathname: int, times: int, flags: int, *_: int) -> int:
    ts = None
    if times:
        a_s, a_ns, m_s, m_ns = _TIMESPEC2.unpack(t.copy_in_bytes(times, 32))
        ts = ((a_s, a_ns), (m_s, m_ns))
    return _utimes(t, dirfd, pathname, ts, s32(flags))


def _from_timevals(t: Task, addr: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    if not addr:
        return None
    a_s, a_us, m_s, m_us = _TIMESPEC2.unpack(t.copy_in_bytes(addr, 32))
    if not (0 <= a_us < 1_000_000 and 0 <= m_us < 1_000_000):
        raise EINVAL
    return (a_s, a_us * 1000), (m_s, m_us * 1000)


def sys_utimes(t: Task, pathname: int, times: int, *_: int) -> int:
    return _utimes(t, AT_FDCWD, pathname, _from_timevals(t, times), 0)


def sys_futimesat(t: Task, dirfd: int, pathname: int, times: int, *_: int) -> int:
    return _utimes(t, dirfd, pathname, _from_timevals(t, times), 0)


def sys_utime(t: Task, pathname: int, times: int, *_: int) -> int:
    ts = None
    if times:
        a, m = struct.unpack("<qq", t.copy_in_bytes(times, 16))
        ts = ((a, 0), (m, 0))
    return _utimes(t, AT_FDCWD, pathname, ts, 0)


# -- umask ------------------------------------------------------------------------------------


def sys_umask(t: Task, mask: int, *_: int) -> int:
    old = t.tg.umask
    t.tg.umask = u32(mask) & 0o777
    return old
