"""eventfd and eventfd2 (Linux ``fs/eventfd.c``; gVisor ``sys_eventfd.go``)."""

from __future__ import annotations

from sentry.fsimpl.eventfd import EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EventFile
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL
from sentry.syscalls.linux.args import u32
from sentry.syscalls.linux.fs_util import install_file


def sys_eventfd2(t: Task, initval: int, flags: int, *_: int) -> int:
    """EINVAL for flags other than EFD_CLOEXEC, EFD_NONBLOCK and
    EFD_SEMAPHORE; the initial value is an unsigned int."""
    flags = u32(flags)
    if flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE):
        raise EINVAL
    f = EventFile(u32(initval), bool(flags & EFD_SEMAPHORE), bool(flags & EFD_NONBLOCK))
    return install_file(t, f, bool(flags & EFD_CLOEXEC))


def sys_eventfd(t: Task, initval: int, *_: int) -> int:
    return sys_eventfd2(t, initval, 0)
