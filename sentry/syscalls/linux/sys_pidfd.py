"""pidfd_open and pidfd_send_signal (Linux ``kernel/pid.c``,
``kernel/signal.c``)."""

from __future__ import annotations

import struct

from sentry.abi.signals import SI_TKILL, SI_USER
from sentry.kernel.pidfd import PIDFD_NONBLOCK, PidFile
from sentry.kernel.signals import SignalInfo
from sentry.kernel.task import Task
from sentry.linuxerr import EBADF, EINVAL, EPERM, ESRCH
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import install_file
from sentry.syscalls.linux.sys_signal import _check_sig, process_target

PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4


def sys_pidfd_open(t: Task, pid: int, flags: int, *_: int) -> int:
    """EINVAL for flags other than PIDFD_NONBLOCK (PIDFD_THREAD, pidfds
    of single threads, is refused) or a pid <= 0; ESRCH unless ``pid`` is
    a process not yet reaped; EINVAL for a thread that does not lead its
    process. The fd is always close-on-exec."""
    flags = u32(flags)
    pid = s32(pid)
    if flags & ~PIDFD_NONBLOCK or pid <= 0:
        raise EINVAL
    tg = t.kernel.thread_groups.get(pid)
    if tg is None or tg.reaped:
        if pid in t.kernel.tasks and not t.kernel.tasks[pid].exited:
            raise EINVAL
        raise ESRCH
    return install_file(t, PidFile(tg, bool(flags & PIDFD_NONBLOCK)), True)


_SIGINFO_HEAD = struct.Struct("<iii")


def sys_pidfd_send_signal(t: Task, pidfd: int, sig: int, info: int, flags: int, *_: int) -> int:
    """Linux order: EINVAL for unknown or several scope flags, EBADF for
    a bad fd or one that is no pidfd, EFAULT/EINVAL/EPERM for ``info``
    (its signal must match; only the caller's own process may pass a
    non-negative si_code or SI_TKILL), ESRCH once reaped, EINVAL for a
    bad signal. A process that exited but was not reaped takes the
    signal silently. PIDFD_SIGNAL_PROCESS_GROUP signals the process (no
    process groups yet)."""
    flags = u32(flags)
    if flags & ~(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP):
        raise EINVAL
    if bin(flags).count("1") > 1:
        raise EINVAL
    f = t.tg.fd_table.get_or_none(s32(pidfd))
    if not isinstance(f, PidFile):
        raise EBADF
    tg = f.tg
    code = SI_USER
    if info:
        signo, _errno, code = _SIGINFO_HEAD.unpack(t.copy_in_bytes(info, _SIGINFO_HEAD.size))
        if signo != s32(sig):
            raise EINVAL
        if tg is not t.tg and (code >= 0 or code == SI_TKILL):
            raise EPERM
    if tg.reaped:
        raise ESRCH
    sig = _check_sig(sig)
    if f.exited() or not sig:
        return 0
    if flags & PIDFD_SIGNAL_THREAD:
        target = tg.tasks[0]
        if target.exited:
            raise ESRCH
    else:
        target = process_target(t, tg, sig)
    t.kernel.send_signal(target, SignalInfo(sig, code=code, pid=t.tg.tgid, uid=t.creds.ruid))
    return 0
