"""read, write and their vector/positional forms (gVisor
``syscalls/linux/sys_read_write.go``), in Linux's check order:
EBADF, EINVAL for counts/offsets, EFAULT from the range check, then the
file's own checks (EBADF when not open for that direction, ESPIPE for
positional I/O on pipes). A partial transfer returns its count; EFAULT is
reported only when nothing moved.
"""

from __future__ import annotations

from sentry.kernel.kernel import SyscallTable
from sentry.kernel.task import Task
from sentry.linuxerr import (
    EAGAIN,
    EBADF,
    EFAULT,
    EINTR,
    EINVAL,
    ENOSPC,
    EOPNOTSUPP,
    EPIPE,
    ESPIPE,
    Errno,
)
from sentry.safemem import EOF
from sentry.syscalls.linux.args import s32, s64
from sentry.usermem import IOSequence
from sentry.vfs import FileDescription

_PARTIAL_OK = (EINTR, EFAULT, EPIPE, ENOSPC, EAGAIN)


def handle_io_error(n: int, err: Exception | None) -> int:
    """Linux's rule for a transfer's result (gVisor ``HandleIOError``): a
    partial count wins over EFAULT/EINTR/EPIPE/ENOSPC/EAGAIN; EOF is no
    error; otherwise the error is raised."""
    if err is None or err is EOF:
        return n
    if n > 0 and (err in _PARTIAL_OK or not isinstance(err, Errno)):
        return n
    if isinstance(err, Errno):
        raise err
    return n


def _file(t: Task, fd: int) -> FileDescription:
    return t.tg.fd_table.get(s32(fd))


def _read(f: FileDescription, dst: IOSequence, offset: int) -> int:
    if not f.readable:
        raise EBADF
    n, err = f.read(dst, offset)
    return handle_io_error(n, err)


def _write(f: FileDescription, src: IOSequence, offset: int) -> int:
    if not f.writable:
        raise EBADF
    n, err = f.write(src, offset)
    return handle_io_error(n, err)


def _positional(t: Task, fd: int, offset: int) -> tuple[FileDescription, int]:
    """Linux ``ksys_pread64`` order: EINVAL for a negative offset, EBADF,
    ESPIPE for files without positional I/O."""
    off = s64(offset)
    if off < 0:
        raise EINVAL
    f = _file(t, fd)
    if not f.seekable:
        raise ESPIPE
    return f, off


def sys_read(t: Task, fd: int, buf: int, count: int, *_: int) -> int:
    f = _file(t, fd)
    if not f.readable:
        raise EBADF
    return _read(f, t.single_io_sequence(buf, count), -1)


def sys_write(t: Task, fd: int, buf: int, count: int, *_: int) -> int:
    f = _file(t, fd)
    if not f.writable:
        raise EBADF
    return _write(f, t.single_io_sequence(buf, count), -1)


def sys_readv(t: Task, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    f = _file(t, fd)
    return _read(f, t.iovecs_io_sequence(iov, iovcnt), -1)


def sys_writev(t: Task, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    f = _file(t, fd)
    return _write(f, t.iovecs_io_sequence(iov, iovcnt), -1)


def sys_pread64(t: Task, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    f, off = _positional(t, fd, offset)
    if not f.readable:
        raise EBADF
    return _read(f, t.single_io_sequence(buf, count), off)


def sys_pwrite64(t: Task, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    f, off = _positional(t, fd, offset)
    if not f.writable:
        raise EBADF
    return _write(f, t.single_io_sequence(buf, count), off)


def sys_preadv(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, *_: int) -> int:
    f, off = _positional(t, fd, pos_l)
    return _read(f, t.iovecs_io_sequence(iov, iovcnt), off)


def sys_pwritev(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, *_: int) -> int:
    f, off = _positional(t, fd, pos_l)
    return _write(f, t.iovecs_io_sequence(iov, iovcnt), off)


def _v2(t: Task, fd: int, pos: int, flags: int) -> tuple[FileDescription, int]:
    """preadv2/pwritev2: offset -1 means the file position."""
    if s64(pos) == -1:
        f = _file(t, fd)
        off = -1
    else:
        f, off = _positional(t, fd, pos)
    if flags & ~0x1F:
        raise EOPNOTSUPP
    return f, off


def sys_preadv2(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int, flags: int) -> int:
    f, off = _v2(t, fd, pos_l, flags)
    return _read(f, t.iovecs_io_sequence(iov, iovcnt), off)


def sys_pwritev2(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int, flags: int) -> int:
    f, off = _v2(t, fd, pos_l, flags)
    return _write(f, t.iovecs_io_sequence(iov, iovcnt), off)


def register(table: SyscallTable) -> None:
    table.register(0, "read", sys_read)
    table.register(1, "write", sys_write)
    table.register(17, "pread64", sys_pread64)
    table.register(18, "pwrite64", sys_pwrite64)
    table.register(19, "readv", sys_readv)
    table.register(20, "writev", sys_writev)
    table.register(295, "preadv", sys_preadv)
    table.register(296, "pwritev", sys_pwritev)
    table.register(327, "preadv2", sys_preadv2)
    table.register(328, "pwritev2", sys_pwritev2)
