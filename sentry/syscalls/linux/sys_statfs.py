"""statfs and fstatfs (Linux ``fs/statfs.c``).

For files of the host tree the host's own ``fstatfs`` answers (through the
O_PATH fd of the directory holding the file), with ST_RDONLY added where
the sandbox makes the tree read-only. /proc and /dev answer with Linux's
magic numbers for procfs and devtmpfs.
"""

from __future__ import annotations

import ctypes
import struct

from sentry.abi.fcntl import AT_FDCWD
from sentry.fsimpl.host.fs import HostDentry
from sentry.kernel.task import Task
from sentry.linuxerr import EIO, from_errno
from sentry.syscalls.linux.fs_util import copy_path, fs_of, get_file, start_of
from sentry.vfs.dentry import Dentry
from sentry.vfs.resolve import lookup_at

_STATFS_SIZE = 120  # struct statfs on x86-64, same for the kernel and libc
_ST_RDONLY = 1
_FLAGS_OFF = 88
PROC_SUPER_MAGIC, TMPFS_MAGIC = 0x9FA0, 0x01021994
_libc = ctypes.CDLL(None, use_errno=True)
_libc.fstatfs.argtypes = (ctypes.c_int, ctypes.c_void_p)


def _host_statfs(d: HostDentry) -> bytes:
    fd = d.fd if d.fd is not None else d.parent.fd  # type: ignore[union-attr]
    buf = ctypes.create_string_buffer(_STATFS_SIZE)
    if _libc.fstatfs(fd, buf) != 0:
        err = ctypes.get_errno()
        raise from_errno(err) if err else EIO
    raw = bytearray(buf.raw)
    if not d.writable:
        (flags,) = struct.unpack_from("<Q", raw, _FLAGS_OFF)
        struct.pack_into("<Q", raw, _FLAGS_OFF, flags | _ST_RDONLY)
    return bytes(raw)


def _synthetic_statfs(magic: int) -> bytes:
    # type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen, frsize, flags
    return struct.pack("<qqQQQQQ8xqqq32x", magic, 4096, 0, 0, 0, 0, 0, 255, 4096, 0x20 | 0x2 | 0x4 | 0x8)


def statfs_of(t: Task, d: Dentry) -> bytes:
    if isinstance(d, HostDentry):
        return _host_statfs(d)
    path = fs_of(t).path_of(d)
    return _synthetic_statfs(PROC_SUPER_MAGIC if path.startswith(b"/proc") else TMPFS_MAGIC)


def sys_statfs(t: Task, pathname: int, buf: int, *_: int) -> int:
    path = copy_path(t, pathname)
    fs = fs_of(t)
    d = lookup_at(fs, start_of(t, fs, AT_FDCWD, path), path)
    t.copy_out_bytes(buf, statfs_of(t, d))
    return 0


def sys_fstatfs(t: Task, fd: int, buf: int, *_: int) -> int:
    f = get_file(t, fd, allow_path=True)
    d = f.dentry
    data = statfs_of(t, d) if d is not None else _synthetic_statfs(0x50495045)  # PIPEFS_MAGIC
    t.copy_out_bytes(buf, data)
    return 0
