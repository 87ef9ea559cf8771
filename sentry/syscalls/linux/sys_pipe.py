"""pipe and pipe2 (gVisor ``sys_pipe.go``, Linux ``fs/pipe.c``)."""

from __future__ import annotations

import struct

from sentry.abi.fcntl import O_CLOEXEC, O_DIRECT, O_NONBLOCK
from sentry.kernel.pipe import new_pipe
from sentry.kernel.task import Task
from sentry.linuxerr import EFAULT, EINVAL, EMFILE, Errno
from sentry.syscalls.linux.args import u32
from sentry.syscalls.linux.fs_util import nofile_limit


def sys_pipe2(t: Task, fds: int, flags: int, *_: int) -> int:
    """EINVAL for flags other than O_CLOEXEC, O_NONBLOCK and O_DIRECT;
    EMFILE unless two fds are free; EFAULT (both fds closed again) when
    the array cannot be written. O_DIRECT (packet mode) is accepted and
    behaves as a byte stream."""
    flags = u32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise EINVAL
    table = t.tg.fd_table
    limit = nofile_limit(t)
    r, w = new_pipe(flags & O_NONBLOCK)
    try:
        cloexec = bool(flags & O_CLOEXEC)
        rfd = table.new_fd(r, cloexec=cloexec)
        try:
            if table.lowest_free() >= limit:
                raise EMFILE
            wfd = table.new_fd(w, cloexec=cloexec)
        except Errno:
            table.remove(rfd)
            raise
    finally:
        r.dec_ref()
        w.dec_ref()
    try:
        t.copy_out_bytes(fds, struct.pack("<ii", rfd, wfd))
    except Errno:
        table.remove(rfd)
        table.remove(wfd)
        raise EFAULT from None
    return 0


def sys_pipe(t: Task, fds: int, *_: int) -> int:
    return sys_pipe2(t, fds, 0)
