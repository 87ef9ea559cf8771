"""epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
epoll_pwait2 (Linux ``fs/eventpoll.c``; gVisor ``sys_epoll.go``).

The instance and its rules are ``sentry.kernel.epoll``; this module copies
arguments in Linux's order and waits as poll does (``sys_poll._wait``: the
task is parked on the instance's wait queue, with a timer for instances
that watch host fds).
"""

from __future__ import annotations

import struct
import time

from sentry.abi.fcntl import O_CLOEXEC
from sentry.kernel.epoll import EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EpollInstance, can_poll
from sentry.kernel.task import Task
from sentry.linuxerr import EFAULT, EINVAL, EPERM, Errno
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import install_file
from sentry.syscalls.linux.sys_poll import (
    _deadline_from_timespec,
    _wait,
    _with_sigmask,
    restore_sigmask,
)
from sentry.vfs.waiter import EVENT_IN

EPOLL_CLOEXEC = O_CLOEXEC
# struct epoll_event is packed on x86-64: __u32 events; __u64 data.
_EVENT = struct.Struct("<IQ")
EP_MAX_EVENTS = 0x7FFFFFFF // _EVENT.size


def sys_epoll_create1(t: Task, flags: int, *_: int) -> int:
    """EINVAL for any flag but EPOLL_CLOEXEC."""
    flags = u32(flags)
    if flags & ~EPOLL_CLOEXEC:
        raise EINVAL
    return install_file(t, EpollInstance(), bool(flags & EPOLL_CLOEXEC))


def sys_epoll_create(t: Task, size: int, *_: int) -> int:
    """EINVAL unless ``size`` > 0 (it is otherwise ignored)."""
    if s32(size) <= 0:
        raise EINVAL
    return sys_epoll_create1(t, 0)


def sys_epoll_ctl(t: Task, epfd: int, op: int, fd: int, event: int, *_: int) -> int:
    """Linux order: EFAULT for the event (every op but DEL reads it), EBADF
    for either fd, EPERM for a file without poll, EINVAL (same file, not
    an epoll, EPOLLEXCLUSIVE misuse, unknown op), ELOOP, then EEXIST or
    ENOENT."""
    op = s32(op)
    events = data = 0
    if op != EPOLL_CTL_DEL:
        events, data = _EVENT.unpack(t.copy_in_bytes(event, _EVENT.size))
    table = t.tg.fd_table
    ep = table.get(s32(epfd))
    target = table.get(s32(fd))
    if not isinstance(ep, EpollInstance):
        raise EINVAL if can_poll(target) else EPERM
    ep.check_target(target, op, events)
    if op == EPOLL_CTL_ADD:
        ep.add(target, s32(fd), events, data)
    elif op == EPOLL_CTL_DEL:
        ep.delete(target, s32(fd))
    elif op == EPOLL_CTL_MOD:
        ep.modify(target, s32(fd), events, data)
    else:
        raise EINVAL
    return 0


def _do_wait(t: Task, epfd: int, events: int, maxevents: int, deadline: int | None,
             restore: int | None) -> int:
    """Linux ``do_epoll_wait``: EINVAL for maxevents, EFAULT if the array
    passes the top of user memory, EBADF, EINVAL for a non-epoll fd; then
    wait until something is ready or the deadline passes. An array that
    cannot be written is EFAULT once there is an event for it. ``restore``
    is the signal mask to reinstate when the call returns (epoll_pwait):
    on every result but EINTR, as Linux's
    ``restore_saved_sigmask_unless``."""

    def put_back_mask() -> None:
        restore_sigmask(t, restore)

    try:
        maxevents = s32(maxevents)
        if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
            raise EINVAL
        if not t.mm.check_io_range(events, maxevents * _EVENT.size):
            raise EFAULT
        ep = t.tg.fd_table.get(s32(epfd))
        if not isinstance(ep, EpollInstance):
            raise EINVAL
    except Errno:
        put_back_mask()
        raise
    got: list[tuple[int, int]] = []

    def check() -> int:
        if not ep.readiness(EVENT_IN):
            return 0
        # Linux puts an event back when its copy faults; probing the first
        # slot before harvesting keeps edge and one-shot state intact.
        try:
            t.copy_out_bytes(events, bytes(_EVENT.size))
        except Errno:
            put_back_mask()
            raise
        got[:] = ep.harvest(maxevents)
        return len(got)

    def finish(n: int) -> int:
        put_back_mask()
        if got:
            t.copy_out_bytes(events, b"".join(_EVENT.pack(ev, data) for ev, data in got))
        return n

    return _wait(t, "epoll_wait", [ep], [EVENT_IN], deadline, check, finish)


def _ms_deadline(timeout: int) -> int | None:
    ms = s32(timeout)
    return None if ms < 0 else time.monotonic_ns() + ms * 1_000_000


def sys_epoll_wait(t: Task, epfd: int, events: int, maxevents: int, timeout: int, *_: int) -> int:
    return _do_wait(t, epfd, events, maxevents, _ms_deadline(timeout), None)


def sys_epoll_pwait(t: Task, epfd: int, events: int, maxevents: int, timeout: int, sigmask: int,
                    sigsetsize: int) -> int:
    """epoll_wait with a temporary signal mask (EINVAL unless the set is 8
    bytes), installed before the other checks as Linux does."""
    old = _with_sigmask(t, sigmask, sigsetsize)
    return _do_wait(t, epfd, events, maxevents, _ms_deadline(timeout), old)


def sys_epoll_pwait2(t: Task, epfd: int, events: int, maxevents: int, timeout: int, sigmask: int,
                     sigsetsize: int) -> int:
    """epoll_pwait with a timespec timeout (NULL waits forever; EINVAL for
    a negative or unnormalised one, checked first)."""
    deadline = _deadline_from_timespec(t, timeout)
    old = _with_sigmask(t, sigmask, sigsetsize)
    return _do_wait(t, epfd, events, maxevents, deadline, old)
