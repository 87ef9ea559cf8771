"""timerfd_create, timerfd_settime, timerfd_gettime (Linux
``fs/timerfd.c``; gVisor ``sys_timerfd.go``)."""

from __future__ import annotations

import struct

from sentry.kernel.task import Task
from sentry.kernel.timerfd import (
    TFD_CLOEXEC,
    TFD_NONBLOCK,
    TFD_TIMER_ABSTIME,
    TFD_TIMER_CANCEL_ON_SET,
    TIMERFD_CLOCKS,
    TimerFile,
)
from sentry.linuxerr import EINVAL
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import install_file

_ITIMERSPEC = struct.Struct("<qqqq")  # it_interval, it_value: (sec, nsec) each
_NSEC = 1_000_000_000


def sys_timerfd_create(t: Task, clockid: int, flags: int, *_: int) -> int:
    """EINVAL for flags other than TFD_NONBLOCK and TFD_CLOEXEC, or a clock
    other than REALTIME, MONOTONIC, BOOTTIME and their alarm forms."""
    clock = s32(clockid)
    flags = u32(flags)
    if flags & ~(TFD_NONBLOCK | TFD_CLOEXEC) or clock not in TIMERFD_CLOCKS:
        raise EINVAL
    f = TimerFile(t.kernel, clock, bool(flags & TFD_NONBLOCK))
    return install_file(t, f, bool(flags & TFD_CLOEXEC))


def _timer(t: Task, fd: int) -> TimerFile:
    f = t.tg.fd_table.get(s32(fd))
    if not isinstance(f, TimerFile):
        raise EINVAL
    return f


def _ns(sec: int, nsec: int) -> int:
    """A valid timespec in ns (Linux ``timespec64_valid``), else EINVAL."""
    if sec < 0 or not 0 <= nsec < _NSEC:
        raise EINVAL
    return sec * _NSEC + nsec


def _pack(value: int, interval: int) -> bytes:
    return _ITIMERSPEC.pack(interval // _NSEC, interval % _NSEC, value // _NSEC, value % _NSEC)


def sys_timerfd_settime(t: Task, fd: int, flags: int, new: int, old: int, *_: int) -> int:
    """Linux order: EFAULT for ``new``, EINVAL for flags or an invalid
    itimerspec, EBADF, EINVAL for a non-timerfd; the old setting is
    written last (EFAULT then, with the new one already in force)."""
    isec, insec, vsec, vnsec = _ITIMERSPEC.unpack(t.copy_in_bytes(new, _ITIMERSPEC.size))
    flags = u32(flags)
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise EINVAL
    interval, value = _ns(isec, insec), _ns(vsec, vnsec)
    f = _timer(t, fd)
    prev = f.set(value, interval, bool(flags & TFD_TIMER_ABSTIME))
    if old:
        t.copy_out_bytes(old, _pack(*prev))
    return 0


def sys_timerfd_gettime(t: Task, fd: int, cur: int, *_: int) -> int:
    """EBADF, EINVAL for a non-timerfd, EFAULT."""
    f = _timer(t, fd)
    t.copy_out_bytes(cur, _pack(*f.get()))
    return 0
