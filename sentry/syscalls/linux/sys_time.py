"""Clocks and sleeps (gVisor ``sys_time.go``). Clocks read the host's;
sleeps park only the calling task (a timer for the scheduler)."""

from __future__ import annotations

import struct
import time

from sentry.abi.misc import TIMER_ABSTIME
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL
from sentry.syscalls.linux.args import s32, s64
from sentry.usermem import DEFAULT_OPTS

_TIMESPEC = struct.Struct("<qq")
# Linux clock ids the host can read directly.
_CLOCKS = {0, 1, 2, 3, 4, 5, 6, 7, 9, 11}
_NSEC = 1_000_000_000


def _clock_ns(clock: int) -> int:
    if clock not in _CLOCKS:
        raise EINVAL
    return time.clock_gettime_ns(clock)


def sys_clock_gettime(t: Task, clock: int, tp: int, *_: int) -> int:
    ns = _clock_ns(s32(clock))
    t.copy_out_bytes(tp, _TIMESPEC.pack(ns // _NSEC, ns % _NSEC))
    return 0


def sys_clock_getres(t: Task, clock: int, tp: int, *_: int) -> int:
    c = s32(clock)
    _clock_ns(c)
    if tp:
        res = time.clock_getres(c)
        ns = round(res * _NSEC)
        t.copy_out_bytes(tp, _TIMESPEC.pack(ns // _NSEC, ns % _NSEC))
    return 0


def sys_gettimeofday(t: Task, tv: int, tz: int, *_: int) -> int:
    if tv:
        ns = time.time_ns()
        t.copy_out_bytes(tv, _TIMESPEC.pack(ns // _NSEC, (ns % _NSEC) // 1000))
    if tz:
        t.copy_out_bytes(tz, bytes(8))
    return 0


def sys_time(t: Task, tloc: int, *_: int) -> int:
    now = time.time_ns() // _NSEC
    if tloc:
        t.copy_out_bytes(tloc, struct.pack("<q", now))
    return now


def _read_timespec(t: Task, addr: int) -> int:
    sec, nsec = _TIMESPEC.unpack(t.copy_in_bytes(addr, 16))
    if sec < 0 or not 0 <= nsec < _NSEC:
        raise EINVAL
    return sec * _NSEC + nsec


def _sleep(t: Task, ns: int, rem: int = 0) -> int:
    """Block ``t`` for ``ns`` (a timer for the scheduler). A signal ends
    the sleep early with EINTR and, if ``rem`` is non-zero, the time left
    written there (Linux ``hrtimer_nanosleep``; an unwritable ``rem`` is
    ignored here, Linux reports EFAULT)."""
    if ns <= 0:
        return 0
    deadline = time.monotonic_ns() + ns

    def cancel() -> None:
        left = deadline - time.monotonic_ns()
        if rem and left > 0:
            t.mm.copy_out(rem, _TIMESPEC.pack(left // _NSEC, left % _NSEC), DEFAULT_OPTS)

    t.kernel.block(t, "sleeps", lambda: 0, deadline_ns=deadline, timeout_result=0, cancel=cancel)


def sys_nanosleep(t: Task, req: int, rem: int, *_: int) -> int:
    return _sleep(t, _read_timespec(t, req), rem)


def sys_clock_nanosleep(t: Task, clock: int, flags: int, req: int, rem: int, *_: int) -> int:
    c = s32(clock)
    if c not in (0, 1, 7, 9, 2):
        raise EINVAL
    ns = _read_timespec(t, req)
    if s64(flags) & TIMER_ABSTIME:
        return _sleep(t, ns - time.clock_gettime_ns(c))
    return _sleep(t, ns, rem)
