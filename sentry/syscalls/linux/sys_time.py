"""Clocks and sleeps (gVisor ``sys_time.go``). Clocks read the host's;
sleeps park only the calling task (a timer for the scheduler)."""

from __future__ import annotations

import struct
import time

from sentry.abi.misc import TIMER_ABSTIME
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, EOPNOTSUPP, EPERM
from sentry.syscalls.linux.args import copy_in_timespec, s32, s64
from sentry.usermem import DEFAULT_OPTS

_TIMESPEC = struct.Struct("<qq")
_NSEC = 1_000_000_000

CLOCK_REALTIME, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 2, 3
# Linux clock ids (include/uapi/linux/time.h) the sentry reads from the
# host's clock of the same id. 8 and 9 (the alarm clocks) behave as on a
# Linux without an RTC, 10 (SGI_CYCLE) is gone, ids from 12 are unused.
_READABLE = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 11})
_ALARM = frozenset({8, 9})
# The clocks with an nsleep operation (Linux ``k_clock.nsleep``).
_NSLEEP = frozenset({0, 1, 2, 7, 11})
_CLOCKFD, _CLOCKFD_MASK = 3, 7


def _cpu_clock(clock: int) -> int:
    """The host clock for a negative (CPU-time) clock id: EINVAL for an
    invalid kind or any process but the caller's, which the sentry cannot
    measure (Linux ``posix_cpu_clock_get`` looks the pid up)."""
    which, per_thread, pid = clock & 3, bool(clock & 4), ~(clock >> 3)
    if which >= 3 or pid != 0:
        raise EINVAL
    return CLOCK_THREAD_CPUTIME_ID if per_thread else CLOCK_PROCESS_CPUTIME_ID


def _host_clock(clock: int) -> int:
    """The host clock id serving the guest's ``clock`` (a 32-bit signed
    id). Our own check, so no unknown id ever reaches the host: EINVAL for
    unused ids, the alarm clocks and fd-based (posix clock device) ids."""
    if clock in _READABLE:
        return clock
    if clock < 0 and clock & _CLOCKFD_MASK != _CLOCKFD:
        return _cpu_clock(clock)
    raise EINVAL


def _clock_ns(clock: int) -> int:
    return time.clock_gettime_ns(_host_clock(clock))


def sys_clock_gettime(t: Task, clock: int, tp: int, *_: int) -> int:
    ns = _clock_ns(s32(clock))
    t.copy_out_bytes(tp, _TIMESPEC.pack(ns // _NSEC, ns % _NSEC))
    return 0


def sys_clock_getres(t: Task, clock: int, tp: int, *_: int) -> int:
    c = _host_clock(s32(clock))
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
    return copy_in_timespec(t, addr)


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
    """Linux ``clock_nanosleep``: EINVAL for an unknown clock, EOPNOTSUPP
    for one that cannot sleep (the raw and coarse clocks, thread CPU time,
    fd clocks, the alarm clocks without an RTC), then the request."""
    c = s32(clock)
    if c < 0 and c & _CLOCKFD_MASK == _CLOCKFD:
        raise EOPNOTSUPP
    if c in _ALARM:
        raise EOPNOTSUPP
    host = _host_clock(c)
    if c < 0:
        if host == CLOCK_THREAD_CPUTIME_ID:
            raise EINVAL  # posix_cpu_nsleep refuses per-thread clocks
    elif c not in _NSLEEP:
        raise EOPNOTSUPP
    ns = _read_timespec(t, req)
    if s64(flags) & TIMER_ABSTIME:
        return _sleep(t, ns - time.clock_gettime_ns(host))
    return _sleep(t, ns, rem)


def sys_clock_settime(t: Task, clock: int, tp: int, *_: int) -> int:
    """Linux ``clock_settime``: EINVAL for a clock that cannot be set (all
    but CLOCK_REALTIME, the CPU clocks and fd clocks), EFAULT, then EINVAL
    for a bad time and EPERM: the sentry never sets the host's clock (as
    Linux for a caller without CAP_SYS_TIME)."""
    c = s32(clock)
    if c < 0 and c & _CLOCKFD_MASK == _CLOCKFD:
        raise EINVAL  # no posix clock devices
    if c < 0:
        t.copy_in_bytes(tp, _TIMESPEC.size)
        _cpu_clock(c)  # posix_cpu_clock_set: validate, then EPERM
    elif c != CLOCK_REALTIME:
        raise EINVAL
    else:
        _read_timespec(t, tp)
    raise EPERM

