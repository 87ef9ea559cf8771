"""Host system calls Python's ``os`` module lacks: ``renameat2`` with
flags and ``utimensat`` with UTIME_NOW/UTIME_OMIT. Both raise ``OSError``
like ``os`` functions do."""

from __future__ import annotations

import ctypes
import os

from sentry.abi.fcntl import DT_DIR, DT_LNK, DT_REG, DT_UNKNOWN, dt_from_mode
from sentry.linuxerr import errno_of
from sentry.memmap.mappable import host_file_truncated
from sentry.vfs.dentry import Dirent

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_RENAMEAT2 = 316

_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

_utimensat = _libc.utimensat
_utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
_utimensat.restype = ctypes.c_int
_futimens = _libc.futimens
_futimens.argtypes = [ctypes.c_int, ctypes.c_void_p]
_futimens.restype = ctypes.c_int


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _raise(path: bytes | None = None) -> None:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err), path)


def renameat2(olddirfd: int, old: bytes, newdirfd: int, new: bytes, flags: int) -> None:
    """``renameat2(2)``; plain ``os.rename`` when ``flags`` is 0."""
    if flags == 0:
        os.rename(old, new, src_dir_fd=olddirfd, dst_dir_fd=newdirfd)
        return
    r = _syscall(
        ctypes.c_long(_SYS_RENAMEAT2), ctypes.c_long(olddirfd), ctypes.c_char_p(old),
        ctypes.c_long(newdirfd), ctypes.c_char_p(new), ctypes.c_long(flags),
    )
    if r < 0:
        _raise(old)


def utimensat(dirfd: int, path: bytes | None, atime: tuple[int, int], mtime: tuple[int, int], flags: int) -> None:
    """``utimensat(2)``: each time is ``(sec, nsec)``; nsec may be
    UTIME_NOW or UTIME_OMIT. ``path`` None operates on ``dirfd`` itself
    (``futimens``)."""
    ts = (_Timespec * 2)(_Timespec(*atime), _Timespec(*mtime))
    if path is None:
        if _futimens(dirfd, ctypes.addressof(ts)) != 0:
            _raise()
        return
    if _utimensat(dirfd, path, ctypes.addressof(ts), flags) != 0:
        _raise(path)


# Extended attributes on a host path (a /proc/self/fd/N[/name] path, so a
# dirfd or an O_PATH fd names the file). Host errors become Errnos.


def getxattr(path: str, name: bytes, *, follow: bool) -> bytes:
    try:
        return os.getxattr(path, name, follow_symlinks=follow)
    except OSError as e:
        raise errno_of(e) from None


def listxattr(path: str, *, follow: bool) -> list[bytes]:
    try:
        return [os.fsencode(n) for n in os.listxattr(path, follow_symlinks=follow)]
    except OSError as e:
        raise errno_of(e) from None


def setxattr(path: str, name: bytes, value: bytes, flags: int, *, follow: bool) -> None:
    try:
        os.setxattr(path, name, value, flags, follow_symlinks=follow)
    except OSError as e:
        raise errno_of(e) from None


def removexattr(path: str, name: bytes, *, follow: bool) -> None:
    try:
        os.removexattr(path, name, follow_symlinks=follow)
    except OSError as e:
        raise errno_of(e) from None


def truncated(fd: int) -> None:
    """The sentry just truncated the host file open as ``fd``: mappings of
    it drop their pages past the new end (SIGBUS for the guest, never for
    the sentry; see memmap.mappable)."""
    st = os.fstat(fd)
    host_file_truncated(st.st_dev, st.st_ino, st.st_size)


def list_host_dir(fd: int) -> list[Dirent]:
    """The entries of the open host directory ``fd`` (without ``.`` and
    ``..``), read from its start. The fd's offset is left rewound."""
    out: list[Dirent] = []
    try:
        it = os.scandir(fd)
    except OSError as e:
        raise errno_of(e) from None
    with it:
        for ent in it:
            try:
                if ent.is_symlink():
                    t = DT_LNK
                elif ent.is_dir(follow_symlinks=False):
                    t = DT_DIR
                elif ent.is_file(follow_symlinks=False):
                    t = DT_REG
                else:
                    t = dt_from_mode(ent.stat(follow_symlinks=False).st_mode)
            except OSError:
                t = DT_UNKNOWN
            out.append(Dirent(os.fsencode(ent.name), ent.inode(), t))
    return out
