"""File syscalls over the fd table: close, ioctl, fstat, newfstatat,
getcwd, readlink (gVisor ``sys_file.go``, ``sys_stat.go``). Path-based
calls resolve against the host root until the sandboxed VFS arrives; only
/proc/self/exe is synthesised."""

from __future__ import annotations

import os

from sentry.abi.stat import pack_stat
from sentry.kernel.kernel import SyscallTable
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, ENOENT, ENOSYS, ERANGE, from_errno
from sentry.syscalls.linux.args import s32

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_SYMLINK_NOFOLLOW = 0x100
PATH_MAX = 4096


def sys_close(t: Task, fd: int, *_: int) -> int:
    t.tg.fd_table.remove(s32(fd))
    return 0


def sys_ioctl(t: Task, fd: int, request: int, arg: int, *_: int) -> int:
    f = t.tg.fd_table.get(s32(fd))
    result, out = f.ioctl(request & 0xFFFFFFFF, arg)
    if out is not None:
        t.copy_out_bytes(arg, out)
    return result


def sys_fstat(t: Task, fd: int, statbuf: int, *_: int) -> int:
    f = t.tg.fd_table.get(s32(fd))
    t.copy_out_bytes(statbuf, pack_stat(f.stat()))
    return 0


def _host_path(t: Task, dirfd: int, path: bytes) -> bytes:
    if path.startswith(b"/"):
        return path
    if dirfd != AT_FDCWD:
        raise ENOSYS
    return os.path.join(t.tg.cwd.encode(), path)


def sys_newfstatat(t: Task, dirfd: int, pathname: int, statbuf: int, flags: int, *_: int) -> int:
    dirfd = s32(dirfd)
    flags = s32(flags)
    path = t.copy_in_string(pathname, PATH_MAX)
    if not path:
        if not flags & AT_EMPTY_PATH:
            raise ENOENT
        if dirfd == AT_FDCWD:
            st = os.stat(t.tg.cwd)
        else:
            st = t.tg.fd_table.get(dirfd).stat()
    else:
        try:
            st = os.stat(_host_path(t, dirfd, path), follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW)
        except OSError as e:
            raise from_errno(e.errno or 2) from None
    t.copy_out_bytes(statbuf, pack_stat(st))
    return 0


def sys_getcwd(t: Task, buf: int, size: int, *_: int) -> int:
    cwd = t.tg.cwd.encode() + b"\0"
    if size < len(cwd):
        raise ERANGE
    t.copy_out_bytes(buf, cwd)
    return len(cwd)


def _readlink(t: Task, path: bytes) -> bytes:
    if path in (b"/proc/self/exe", f"/proc/{t.tg.tgid}/exe".encode()):
        return t.mm.metadata.executable.encode()
    try:
        return os.readlink(_host_path(t, AT_FDCWD, path))
    except OSError as e:
        raise from_errno(e.errno or 2) from None


def sys_readlink(t: Task, pathname: int, buf: int, size: int, *_: int) -> int:
    size = s32(size)
    if size <= 0:
        raise EINVAL
    target = _readlink(t, t.copy_in_string(pathname, PATH_MAX))[:size]
    t.copy_out_bytes(buf, target)
    return len(target)


def sys_readlinkat(t: Task, dirfd: int, pathname: int, buf: int, size: int, *_: int) -> int:
    path = t.copy_in_string(pathname, PATH_MAX)
    if not path.startswith(b"/") and s32(dirfd) != AT_FDCWD:
        raise ENOSYS
    size = s32(size)
    if size <= 0:
        raise EINVAL
    target = _readlink(t, path)[:size]
    t.copy_out_bytes(buf, target)
    return len(target)


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
FD_CLOEXEC = 1
_SETFL_MASK = 0o2000 | 0o4000 | 0o20000 | 0o40000 | 0o1000000  # APPEND NONBLOCK ASYNC DIRECT NOATIME


def sys_fcntl(t: Task, fd: int, cmd: int, arg: int, *_: int) -> int:
    table = t.tg.fd_table
    fd = s32(fd)
    f = table.get(fd)
    cmd = s32(cmd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        lowest = s32(arg)
        if lowest < 0 or lowest >= table.limit:
            raise EINVAL
        return table.new_fd(f, min_fd=lowest, cloexec=cmd == F_DUPFD_CLOEXEC)
    if cmd == F_GETFD:
        return FD_CLOEXEC if table.cloexec(fd) else 0
    if cmd == F_SETFD:
        table.set_cloexec(fd, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.flags & ~0o2000000  # O_CLOEXEC is a descriptor flag, not a status flag
    if cmd == F_SETFL:
        f.flags = (f.flags & ~_SETFL_MASK) | (arg & _SETFL_MASK)
        return 0
    raise EINVAL


def register(table: SyscallTable) -> None:
    table.register(72, "fcntl", sys_fcntl)
    table.register(3, "close", sys_close)
    table.register(5, "fstat", sys_fstat)
    table.register(16, "ioctl", sys_ioctl)
    table.register(79, "getcwd", sys_getcwd)
    table.register(89, "readlink", sys_readlink)
    table.register(262, "newfstatat", sys_newfstatat)
    table.register(267, "readlinkat", sys_readlinkat)
