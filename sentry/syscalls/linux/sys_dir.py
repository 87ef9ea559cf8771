"""Directories and names: getdents, getdents64, mkdir(at), unlink(at),
rmdir, rename(at/at2), link(at), symlink(at), chdir, fchdir, getcwd
(gVisor ``sys_getdents.go``, ``sys_file.go``; Linux ``fs/readdir.c``,
``fs/namei.c``, ``fs/d_path.c``)."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from sentry.abi.fcntl import (
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_REMOVEDIR,
    AT_SYMLINK_FOLLOW,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RENAME_WHITEOUT,
)
from sentry.kernel.task import Task
from sentry.linuxerr import EFAULT, EINVAL, ENOENT, ERANGE
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import copy_path, empty_path_target, fs_of, get_file, start_of
from sentry.vfs.dentry import Dirent
from sentry.vfs.resolve import (
    chdir_to,
    link_at,
    lookup_at,
    mkdir_at,
    rename_at,
    rmdir_at,
    symlink_at,
    unlink_at,
)

_DIRENT64_HEAD = struct.Struct("<QqHB")  # d_ino, d_off, d_reclen, d_type (19 bytes)
_DIRENT_HEAD = struct.Struct("<QQH")  # d_ino, d_off, d_reclen (18 bytes)


def _dirent64(e: Dirent, off: int) -> bytes:
    reclen = (_DIRENT64_HEAD.size + len(e.name) + 1 + 7) & ~7
    rec = _DIRENT64_HEAD.pack(e.ino, off, reclen, e.type) + e.name
    return rec + bytes(reclen - len(rec))


def _dirent(e: Dirent, off: int) -> bytes:
    reclen = (_DIRENT_HEAD.size + len(e.name) + 2 + 7) & ~7
    rec = _DIRENT_HEAD.pack(e.ino, off, reclen) + e.name
    rec += bytes(reclen - len(rec) - 1)
    return rec + bytes((e.type,))


def _getdents(t: Task, fd: int, buf: int, count: int, packer: Callable[[Dirent, int], bytes]) -> int:
    """Linux ``getdents64``: EFAULT when the buffer range is bad, EBADF,
    ENOTDIR, ENOENT for a removed directory, EINVAL when not even one
    entry fits. Entries are copied out whole; a copy that faults part-way
    returns the entries before the fault (EFAULT if none), and only those
    are consumed."""
    count = u32(count)
    if not t.mm.check_io_range(buf, count):
        raise EFAULT
    f = get_file(t, fd)
    entries, pos = f.dir_entries()
    out = bytearray()
    ends: list[int] = []
    i = pos
    while i < len(entries):
        rec = packer(entries[i], i + 1)
        if len(out) + len(rec) > count:
            if not out:
                raise EINVAL
            break
        out += rec
        ends.append(len(out))
        i += 1
    if not out:
        return 0
    n, _err = t.single_io_sequence(buf, len(out)).copy_out(out)
    whole = [e for e in ends if e <= n]
    if not whole:
        raise EFAULT
    f.set_dir_position(pos + len(whole))
    return whole[-1]


def sys_getdents64(t: Task, fd: int, buf: int, count: int, *_: int) -> int:
    return _getdents(t, fd, buf, count, _dirent64)


def sys_getdents(t: Task, fd: int, buf: int, count: int, *_: int) -> int:
    return _getdents(t, fd, buf, count, _dirent)


# -- creating and removing names ------------------------------------------------------------


def sys_mkdirat(t: Task, dirfd: int, pathname: int, mode: int, *_: int) -> int:
    fs = fs_of(t)
    path = copy_path(t, pathname)
    mkdir_at(fs, start_of(t, fs, dirfd, path), path, u32(mode), t.tg.umask)
    return 0


def sys_mkdir(t: Task, pathname: int, mode: int, *_: int) -> int:
    return sys_mkdirat(t, AT_FDCWD, pathname, mode)


def sys_unlinkat(t: Task, dirfd: int, pathname: int, flags: int, *_: int) -> int:
    """EINVAL for flags other than AT_REMOVEDIR, then unlink or rmdir."""
    flags = s32(flags)
    if flags & ~AT_REMOVEDIR:
        raise EINVAL
    fs = fs_of(t)
    path = copy_path(t, pathname)
    start = start_of(t, fs, dirfd, path)
    if flags & AT_REMOVEDIR:
        rmdir_at(fs, start, path)
    else:
        unlink_at(fs, start, path)
    return 0


def sys_unlink(t: Task, pathname: int, *_: int) -> int:
    return sys_unlinkat(t, AT_FDCWD, pathname, 0)


def sys_rmdir(t: Task, pathname: int, *_: int) -> int:
    return sys_unlinkat(t, AT_FDCWD, pathname, AT_REMOVEDIR)


def sys_renameat2(t: Task, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int, *_: int) -> int:
    """EINVAL for unknown or conflicting flags, then both paths."""
    flags = u32(flags)
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise EINVAL
    if flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) and flags & RENAME_EXCHANGE:
        raise EINVAL
    fs = fs_of(t)
    old = copy_path(t, oldpath)
    new = copy_path(t, newpath)
    rename_at(fs, start_of(t, fs, olddirfd, old), old, start_of(t, fs, newdirfd, new), new, flags)
    return 0


def sys_renameat(t: Task, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, *_: int) -> int:
    return sys_renameat2(t, olddirfd, oldpath, newdirfd, newpath, 0)


def sys_rename(t: Task, oldpath: int, newpath: int, *_: int) -> int:
    return sys_renameat2(t, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)


def sys_linkat(t: Task, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int, *_: int) -> int:
    """EINVAL for unknown flags; the old path is not followed unless
    AT_SYMLINK_FOLLOW; AT_EMPTY_PATH links the file ``olddirfd`` names
    (needs privilege: ENOENT otherwise, as Linux)."""
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    fs = fs_of(t)
    empty_ok = bool(flags & AT_EMPTY_PATH) and os.geteuid() == 0
    old = copy_path(t, oldpath, allow_empty=empty_ok)
    if not old:
        target = empty_path_target(t, fs, olddirfd)[0]
    else:
        target = lookup_at(fs, start_of(t, fs, olddirfd, old), old, follow=bool(flags & AT_SYMLINK_FOLLOW))
    new = copy_path(t, newpath)
    link_at(fs, target, start_of(t, fs, newdirfd, new), new)
    return 0


def sys_link(t: Task, oldpath: int, newpath: int, *_: int) -> int:
    return sys_linkat(t, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)


def sys_symlinkat(t: Task, target: int, newdirfd: int, linkpath: int, *_: int) -> int:
    fs = fs_of(t)
    text = copy_path(t, target)
    path = copy_path(t, linkpath)
    symlink_at(fs, text, start_of(t, fs, newdirfd, path), path)
    return 0


def sys_symlink(t: Task, target: int, linkpath: int, *_: int) -> int:
    return sys_symlinkat(t, target, AT_FDCWD, linkpath)


# -- working directory -------------------------------------------------------------------------


def _set_cwd(t: Task) -> None:
    fs = fs_of(t)
    t.tg.cwd = fs.path_of(fs.cwd).decode("utf-8", "surrogateescape")


def sys_chdir(t: Task, pathname: int, *_: int) -> int:
    fs = fs_of(t)
    path = copy_path(t, pathname)
    chdir_to(fs, lookup_at(fs, start_of(t, fs, AT_FDCWD, path), path))
    _set_cwd(t)
    return 0


def sys_fchdir(t: Task, fd: int, *_: int) -> int:
    from sentry.linuxerr import ENOTDIR

    f = get_file(t, fd, allow_path=True)
    if f.dentry is None:
        raise ENOTDIR
    chdir_to(fs_of(t), f.dentry)
    _set_cwd(t)
    return 0


def sys_getcwd(t: Task, buf: int, size: int, *_: int) -> int:
    """ENOENT once the working directory was removed, ERANGE when the
    path and its NUL do not fit, EFAULT; returns the length with NUL."""
    fs = fs_of(t)
    if fs.cwd.is_dead():
        raise ENOENT
    path = fs.path_of(fs.cwd) + b"\0"
    if u32(size) < len(path):
        raise ERANGE
    t.copy_out_bytes(buf, path)
    return len(path)
