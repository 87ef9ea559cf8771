"""wait4 and waitid (Linux ``kernel/exit.c`` do_wait; gVisor
``kernel/task_exit.go`` Wait).

A wait considers the caller's children matching a selector (a pid, a
process group, or any), filtered by __WCLONE/__WALL (a "clone" child is one
whose exit signal is not SIGCHLD), and reports the first of them with an
event the options ask for: an exit (reaped, unless WNOWAIT), a stop not yet
reported (WUNTRACED/WSTOPPED) or a continue not yet reported (WCONTINUED;
``sentry.kernel.jobctl``). ECHILD when no child matches; with WNOHANG 0
when none has an event; otherwise the caller blocks until a child's exit,
stop or continue wakes it (a signal interrupts the wait, restarted under
SA_RESTART).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from sentry.abi.signals import SIGCHLD, SIGCONT
from sentry.kernel import pgroups
from sentry.kernel.jobctl import CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED
from sentry.kernel.task import Task, ThreadGroup
from sentry.linuxerr import EBADF, ECHILD, EFAULT, EINVAL, ESRCH
from sentry.syscalls.linux.args import s32
from sentry.usermem import DEFAULT_OPTS

WNOHANG, WUNTRACED, WSTOPPED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 2, 4, 8, 0x01000000
__WNOTHREAD, __WALL, __WCLONE = 0x20000000, 0x40000000, 0x80000000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
_WAIT4_OPTIONS = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL
_WAITID_OPTIONS = WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WCLONE | __WALL
_RUSAGE_SIZE = 144

# (pid, si_code, si_status, wait4 status) of a reported event.
Event = tuple[int, int, int, int]


def _select(t: Task, which: int, ident: int) -> Callable[[ThreadGroup], bool]:
    if which == P_PID:
        return lambda tg: tg.tgid == ident
    if which == P_PGID:
        return lambda tg: tg.pgid == ident
    return lambda tg: True


def _clone_ok(tg: ThreadGroup, options: int) -> bool:
    if options & __WALL:
        return True
    return (tg.exit_signal != SIGCHLD) == bool(options & __WCLONE)


def _event(t: Task, tg: ThreadGroup, options: int) -> Event | None:
    """The event ``tg`` has to report under ``options`` (consumed unless
    WNOWAIT), or None."""
    keep = bool(options & WNOWAIT)
    if tg.exit_status is not None and all(x.exited for x in tg.tasks):
        if not options & WEXITED:
            return None
        st = tg.exit_status
        if st & 0x7F == 0:
            ev = (tg.tgid, CLD_EXITED, (st >> 8) & 0xFF, st)
        else:
            ev = (tg.tgid, CLD_DUMPED if st & 0x80 else CLD_KILLED, st & 0x7F, st)
        if not keep:
            tg.reaped = True
            t.kernel.thread_groups.pop(tg.tgid, None)
            pgroups.on_reap(t.kernel, tg)
        return ev
    if options & WSTOPPED and tg.group_stopped and tg.stop_unreported:
        if not keep:
            tg.stop_unreported = False
        return (tg.tgid, CLD_STOPPED, tg.stop_signal, (tg.stop_signal << 8) | 0x7F)
    if options & WCONTINUED and tg.continue_unreported:
        if not keep:
            tg.continue_unreported = False
        return (tg.tgid, CLD_CONTINUED, SIGCONT, 0xFFFF)
    return None


def do_wait(t: Task, which: int, ident: int, options: int, report: Callable[[Event | None], int]) -> int:
    """Find a child with an event, block for one, or fail (module doc).
    ``report(event)`` writes the caller's out-parameters and returns the
    syscall's result; it gets None for WNOHANG with nothing to report."""
    k = t.kernel
    match = _select(t, which, ident)
    children = [
        tg for tg in list(k.thread_groups.values())
        if tg.parent_tgid == t.tg.tgid and tg is not t.tg and not tg.reaped and match(tg) and _clone_ok(tg, options)
    ]
    if not children:
        raise ECHILD
    for tg in children:
        ev = _event(t, tg, options)
        if ev is not None:
            return report(ev)
    if options & WNOHANG:
        return report(None)
    waiters = t.tg.child_waiters
    waiters.append(t)

    def cancel() -> None:
        if t in waiters:
            waiters.remove(t)

    k.block(t, "waits", lambda: do_wait(t, which, ident, options, report), cancel=cancel, restartable=True)


def sys_wait4(t: Task, pid: int, wstatus: int, options: int, rusage: int, *_: int) -> int:
    """wait4(pid, wstatus, options, rusage): pid > 0 that child, 0 the
    caller's process group, -1 any child, < -1 the group -pid. rusage is
    reported as zeros."""
    pid = s32(pid)
    options &= 0xFFFFFFFF
    if options & ~_WAIT4_OPTIONS:
        raise EINVAL
    if pid == -(1 << 31):
        raise ESRCH  # Linux: -INT_MIN has no group
    if pid > 0:
        which, ident = P_PID, pid
    elif pid == 0:
        which, ident = P_PGID, t.tg.pgid
    elif pid == -1:
        which, ident = P_ALL, 0
    else:
        which, ident = P_PGID, -pid

    def report(ev: Event | None) -> int:
        if ev is None:
            return 0
        if wstatus:
            t.copy_out_bytes(wstatus, struct.pack("<i", ev[3]))
        if rusage:
            t.copy_out_bytes(rusage, bytes(_RUSAGE_SIZE))
        return ev[0]

    return do_wait(t, which, ident, options | WEXITED, report)


def sys_waitid(t: Task, idtype: int, ident: int, infop: int, options: int, rusage: int, *_: int) -> int:
    """waitid(idtype, id, infop, options, rusage): P_ALL, P_PID (id > 0),
    P_PGID (id >= 0, 0 the caller's group), P_PIDFD (EBADF: the sentry has
    no pidfds). options need one of WEXITED, WSTOPPED, WCONTINUED. The
    siginfo's si_signo, si_errno, si_code, si_pid, si_uid and si_status are
    written (all zero with WNOHANG and nothing to report), as Linux does."""
    idtype = s32(idtype)
    ident = s32(ident)
    options &= 0xFFFFFFFF
    if options & ~_WAITID_OPTIONS or not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise EINVAL
    if idtype == P_PID:
        if ident <= 0:
            raise EINVAL
    elif idtype == P_PGID:
        if ident < 0:
            raise EINVAL
        if ident == 0:
            ident = t.tg.pgid
    elif idtype == P_PIDFD:
        if ident < 0:
            raise EINVAL
        raise EBADF
    elif idtype != P_ALL:
        raise EINVAL
    uid = t.creds.ruid

    def report(ev: Event | None) -> int:
        if rusage and ev is not None:
            t.copy_out_bytes(rusage, bytes(_RUSAGE_SIZE))
        if infop:
            signo, code, pid, status = (SIGCHLD, ev[1], ev[0], ev[2]) if ev is not None else (0, 0, 0, 0)
            data = struct.pack("<iii4xiIi", signo, 0, code, pid, uid if ev is not None else 0, status)
            _, err = t.mm.copy_out(infop, data, DEFAULT_OPTS)
            if err is not None:
                raise EFAULT
        return 0

    return do_wait(t, idtype, ident, options, report)
