"""signalfd and signalfd4 (Linux ``fs/signalfd.c``; gVisor ``sys_signalfd.go``)."""

from __future__ import annotations

import struct

from sentry.kernel.signalfd import SFD_CLOEXEC, SFD_NONBLOCK, SignalFile
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import install_file


def sys_signalfd4(t: Task, fd: int, mask: int, sizemask: int, flags: int, *_: int) -> int:
    """Linux order: EINVAL unless the set is 8 bytes, EFAULT, EINVAL for
    flags other than SFD_CLOEXEC and SFD_NONBLOCK; ``fd`` -1 makes a new
    signalfd, any other fd must be one (EBADF, EINVAL) and gets the new
    mask (its flags are then ignored, as Linux ignores them)."""
    if sizemask != 8:
        raise EINVAL
    (sigset,) = struct.unpack("<Q", t.copy_in_bytes(mask, 8))
    flags = u32(flags)
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK):
        raise EINVAL
    ufd = s32(fd)
    if ufd == -1:
        return install_file(t, SignalFile(t, sigset, bool(flags & SFD_NONBLOCK)), bool(flags & SFD_CLOEXEC))
    f = t.tg.fd_table.get(ufd)
    if not isinstance(f, SignalFile):
        raise EINVAL
    f.set_mask(sigset)
    return ufd


def sys_signalfd(t: Task, fd: int, mask: int, sizemask: int, *_: int) -> int:
    return sys_signalfd4(t, fd, mask, sizemask, 0)
