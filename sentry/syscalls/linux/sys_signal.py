"""kill, tkill, tgkill (gVisor ``sys_signal.go``).

Signal delivery to guest handlers arrives with the signals work; until
then a signal sent to the caller's own process takes its default action:
ignored signals (SIG_IGN, or default-ignore like SIGCHLD) do nothing, the
rest end the process as Linux's default action would. A handler the guest
installed cannot run yet: that is logged and the default action is taken.
"""

from __future__ import annotations

from sentry.abi.signals import NSIG, SIGCHLD
from sentry.kernel.kernel import SyscallTable
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, ESRCH
from sentry.syscalls.linux.args import s32

_SIG_IGN = 1
# Signals whose default action is to ignore (SIGCHLD, SIGCONT, SIGURG, SIGWINCH).
_DEFAULT_IGNORE = {SIGCHLD, 18, 23, 28}
# Stop signals: no job control here, treated as ignored.
_STOP = {19, 20, 21, 22}


def _send_to_self(t: Task, sig: int) -> int:
    if sig == 0:
        return 0
    action = t.tg.sigactions.get(sig)
    handler = action.handler if action is not None else 0
    if handler == _SIG_IGN or (handler == 0 and (sig in _DEFAULT_IGNORE or sig in _STOP)):
        return 0
    t.kernel.force_fatal_signal(t, sig, 0, None)
    from sentry.kernel.task import TaskStop

    raise TaskStop


def _check_sig(sig: int) -> int:
    sig = s32(sig)
    if not 0 <= sig <= NSIG:
        raise EINVAL
    return sig


def sys_kill(t: Task, pid: int, sig: int, *_: int) -> int:
    sig = _check_sig(sig)
    pid = s32(pid)
    if pid in (0, -1, t.tg.tgid, -t.tg.tgid):
        return _send_to_self(t, sig)
    raise ESRCH


def sys_tkill(t: Task, tid: int, sig: int, *_: int) -> int:
    tid = s32(tid)
    if tid <= 0:
        raise EINVAL
    sig = _check_sig(sig)
    if tid != t.tid:
        raise ESRCH
    return _send_to_self(t, sig)


def sys_tgkill(t: Task, tgid: int, tid: int, sig: int, *_: int) -> int:
    tgid, tid = s32(tgid), s32(tid)
    if tgid <= 0 or tid <= 0:
        raise EINVAL
    sig = _check_sig(sig)
    if tgid != t.tg.tgid or tid != t.tid:
        raise ESRCH
    return _send_to_self(t, sig)


def register(table: SyscallTable) -> None:
    table.register(62, "kill", sys_kill)
    table.register(200, "tkill", sys_tkill)
    table.register(234, "tgkill", sys_tgkill)
