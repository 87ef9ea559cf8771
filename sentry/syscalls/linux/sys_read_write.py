"""read, write and their vector/positional forms (gVisor
``syscalls/linux/sys_read_write.go``), in Linux's check order:
EBADF, EINVAL for counts/offsets, EFAULT from the range check, then the
file's own checks (EBADF when not open for that direction, ESPIPE for
positional I/O on pipes). A partial transfer returns its count; EFAULT is
reported only when nothing moved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from sentry.abi.signals import SI_KERNEL, SIGPIPE
from sentry.kernel.blocking import wait_for
from sentry.kernel.signals import SignalInfo
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
from sentry.syscalls.linux import sys_tty as tty
from sentry.syscalls.linux.args import s32, s64
from sentry.usermem import IOSequence
from sentry.vfs import FileDescription
from sentry.vfs.waiter import READABLE_EVENTS, WRITABLE_EVENTS

_PARTIAL_OK = (EINTR, EFAULT, EPIPE, ENOSPC, EAGAIN)


def handle_io_error(n: int, err: Exception | None) -> int:
    """Linux's rule for a transfer's result (gVisor ``HandleIOError``): a
    partial count wins over EFAULT/EINTR/EPIPE/ENOSPC/EAGAIN; EOF is no
    error; otherwise the error is raised (an exception that is not an
    Errno too: the dispatcher reports it as an internal error)."""
    if err is None or err is EOF:
        return n
    if n > 0 and (err in _PARTIAL_OK or not isinstance(err, Errno)):
        return n
    # With nothing transferred the error is the result; an error that is
    # not an Errno is a sentry bug and reaches the dispatcher (logged, EIO),
    # never a silent 0 that the guest would take for end of file.
    raise err


def _file(t: Task, fd: int) -> FileDescription:
    """The open file at ``fd``: EBADF also for an O_PATH descriptor, which
    Linux's ``fdget`` does not hand to I/O calls (so pread on one is EBADF
    before ESPIPE)."""
    f = t.tg.fd_table.get(s32(fd))
    if f.is_path:
        raise EBADF
    return f


def read_file(
    t: Task, f: FileDescription, dst: IOSequence, offset: int, retry: Callable[[], int] | None = None
) -> int:
    """Read from ``f`` into ``dst`` as read(2) does: EBADF unless readable;
    on a blocking description that would block (EAGAIN) with nothing read,
    wait for input (``sentry.kernel.blocking.wait_for``: host fds are
    polled, other files park the task until notified, then the read is
    retried, or ``retry()`` completes the syscall if given). Returns the
    count, or raises the error when nothing was read."""
    if not f.readable:
        raise EBADF
    if f.terminal is not None:
        tty.check_read(t, f)
    n, err = f.read(dst, offset)
    while err is EAGAIN and n == 0 and not f.nonblocking:
        wait_for(t, f, READABLE_EVENTS, "reads", retry or (lambda: read_file(t, f, dst, offset)))
        n, err = f.read(dst, offset)
    return handle_io_error(n, err)


def write_file(t: Task, f: FileDescription, src: IOSequence, offset: int, done: int = 0) -> int:
    """Write ``src`` to ``f`` as write(2) does: EBADF unless writable; a
    blocking description that fills up (EAGAIN) waits for room and goes on
    with the rest, so the whole buffer is written (Linux ``pipe_write``);
    ``done`` counts what earlier attempts of this syscall wrote. EPIPE
    raises SIGPIPE first (see :func:`send_sigpipe`). Returns the count, or
    raises the error when nothing was written."""
    if not f.writable:
        raise EBADF
    if f.terminal is not None:
        tty.check_write(t, f)
    n, err = f.write(src, offset)
    if err is EAGAIN and not f.nonblocking:
        while err is EAGAIN:
            done += n
            rest = src.drop_first(n)
            wait_for(t, f, WRITABLE_EVENTS, "writes", functools.partial(write_file, t, f, rest, offset, done))
            src = rest
            n, err = f.write(src, offset)
    n += done
    if err is EPIPE and f.epipe_signals:
        send_sigpipe(t)
    return handle_io_error(n, err)


def send_sigpipe(t: Task) -> None:
    """SIGPIPE for a write to a pipe (or socket) without readers (Linux
    ``pipe_write``: ``send_sig(SIGPIPE, current, 0)``). The write still
    fails with EPIPE; the signal is delivered as the syscall returns."""
    t.kernel.send_signal(t, SignalInfo(SIGPIPE, code=SI_KERNEL))


def _read(t: Task, f: FileDescription, dst: IOSequence, offset: int) -> int:
    from sentry.socket import SocketFile
    from sentry.syscalls.linux import sys_socket_msg

    if isinstance(f, SocketFile):
        return sys_socket_msg.read_socket(t, f, dst)
    return read_file(t, f, dst, offset)


def _write(t: Task, f: FileDescription, src: IOSequence, offset: int) -> int:
    from sentry.socket import SocketFile
    from sentry.syscalls.linux import sys_socket_msg

    if isinstance(f, SocketFile):
        return sys_socket_msg.write_socket(t, f, src)
    return write_file(t, f, src, offset)


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
    return _read(t, f, t.single_io_sequence(buf, count), -1)


def sys_write(t: Task, fd: int, buf: int, count: int, *_: int) -> int:
    f = _file(t, fd)
    if not f.writable:
        raise EBADF
    return _write(t, f, t.single_io_sequence(buf, count), -1)


def _direction(f: FileDescription, read: bool) -> FileDescription:
    """EBADF unless ``f`` is open for the transfer's direction: checked
    before the iovec array is read (Linux ``vfs_readv``/``vfs_writev``)."""
    if not (f.readable if read else f.writable):
        raise EBADF
    return f


def sys_readv(t: Task, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    f = _direction(_file(t, fd), read=True)
    return _read(t, f, t.iovecs_io_sequence(iov, iovcnt), -1)


def sys_writev(t: Task, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    f = _direction(_file(t, fd), read=False)
    return _write(t, f, t.iovecs_io_sequence(iov, iovcnt), -1)


def sys_pread64(t: Task, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    f, off = _positional(t, fd, offset)
    if not f.readable:
        raise EBADF
    return _read(t, f, t.single_io_sequence(buf, count), off)


def sys_pwrite64(t: Task, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    f, off = _positional(t, fd, offset)
    if not f.writable:
        raise EBADF
    return _write(t, f, t.single_io_sequence(buf, count), off)


def sys_preadv(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, *_: int) -> int:
    f, off = _positional(t, fd, pos_l)
    _direction(f, read=True)
    return _read(t, f, t.iovecs_io_sequence(iov, iovcnt), off)


def sys_pwritev(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, *_: int) -> int:
    f, off = _positional(t, fd, pos_l)
    _direction(f, read=False)
    return _write(t, f, t.iovecs_io_sequence(iov, iovcnt), off)


def _v2(t: Task, fd: int, pos: int, flags: int, read: bool) -> tuple[FileDescription, int]:
    """preadv2/pwritev2: offset -1 means the file position."""
    if s64(pos) == -1:
        f = _file(t, fd)
        off = -1
    else:
        f, off = _positional(t, fd, pos)
    _direction(f, read)
    if flags & ~0x1F:
        raise EOPNOTSUPP
    return f, off


def sys_preadv2(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int, flags: int) -> int:
    f, off = _v2(t, fd, pos_l, flags, read=True)
    return _read(t, f, t.iovecs_io_sequence(iov, iovcnt), off)


def sys_pwritev2(t: Task, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int, flags: int) -> int:
    f, off = _v2(t, fd, pos_l, flags, read=False)
    return _write(t, f, t.iovecs_io_sequence(iov, iovcnt), off)
