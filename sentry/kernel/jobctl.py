"""Job control: group stop and continue, and what wait reports about them
(Linux ``kernel/signal.c`` do_signal_stop/prepare_signal; gVisor
``kernel/task_stop.go``, ``task_exit.go`` waits).

Stopping. When a thread takes the default action of SIGSTOP, SIGTSTP,
SIGTTIN or SIGTTOU, its whole thread group stops (``tg.group_stopped``):
the scheduler runs none of its tasks (a running one ends its run at the
syscall's return; a blocked one stays blocked, and once woken it waits in
the stopped state before its syscall completes). The parent gets SIGCHLD
with CLD_STOPPED (unless its SIGCHLD action has SA_NOCLDSTOP) and a
WUNTRACED/WSTOPPED wait reports the stop once. SIGTSTP, SIGTTIN and
SIGTTOU are discarded for a process in an orphaned process group (POSIX:
nobody could continue it).

Continuing. Sending SIGCONT (whatever its action) continues a stopped
group and discards its pending stop signals; sending a stop signal
discards a pending SIGCONT (Linux ``prepare_signal``). A continued group
reports CLD_CONTINUED to its parent and to a WCONTINUED wait, once.
SIGKILL continues a stopped group silently so it can die.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentry.abi.signals import SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU

if TYPE_CHECKING:
    from sentry.kernel.core import KernelCore as Kernel
    from sentry.kernel.signals import SignalInfo
    from sentry.kernel.task import Task, ThreadGroup

STOP_SIGNALS = frozenset({SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU})
_STOP_MASK = sum(1 << (s - 1) for s in STOP_SIGNALS)
_CONT_BIT = 1 << (SIGCONT - 1)
SA_NOCLDSTOP = 1
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6


def _discard(tasks: list[Task], mask: int) -> None:
    for t in tasks:
        if t.pending & mask:
            t.pending &= ~mask
            for sig in list(t.pending_info):
                if mask & (1 << (sig - 1)):
                    del t.pending_info[sig]
            t.sig_pending = bool(t.pending & ~t.signal_mask)


def prepare_signal(k: Kernel, task: Task, sig: int) -> None:
    """Side effects of *sending* ``sig`` to ``task``'s process, before it
    is queued (or discarded as ignored)."""
    tg = task.tg
    if sig == SIGCONT:
        _discard(tg.tasks, _STOP_MASK)
        if tg.group_stopped:
            continue_group(k, tg, report=True)
    elif sig in STOP_SIGNALS:
        _discard(tg.tasks, _CONT_BIT)
    elif sig == SIGKILL and tg.group_stopped:
        continue_group(k, tg, report=False)


def do_group_stop(k: Kernel, task: Task, info: SignalInfo) -> bool:
    """``task`` takes the default action of stop signal ``info.signo``.
    Returns False if the signal was discarded (an orphaned group), True
    once the group is stopped."""
    from sentry.kernel import pgroups

    sig = info.signo
    tg = task.tg
    if sig != SIGSTOP and tg.pgrp is not None and pgroups.is_orphaned(k, tg.pgrp):
        return False
    if tg.group_stopped:
        return True
    tg.group_stopped = True
    tg.stop_signal = sig
    tg.stop_unreported = True
    tg.continue_unreported = False
    # The running task leaves the CPU at this syscall's return.
    cur = k.current
    if cur is not None and cur.tg is tg:
        cur.mm.address_space.interrupt()
    _notify_parent(k, tg, CLD_STOPPED, sig)
    return True


def continue_group(k: Kernel, tg: ThreadGroup, *, report: bool) -> None:
    """End ``tg``'s group stop: its runnable tasks go back on the queue."""
    tg.group_stopped = False
    tg.stop_unreported = False
    for t in tg.tasks:
        # The running task (it may continue its own group) is requeued by
        # the scheduler when its run ends.
        if not t.exited and not t.blocked and t is not k.current and t not in k.run_queue:
            k.make_runnable(t)
    if report:
        tg.continue_unreported = True
        _notify_parent(k, tg, CLD_CONTINUED, SIGCONT)


def _notify_parent(k: Kernel, tg: ThreadGroup, code: int, status: int) -> None:
    """Linux ``do_notify_parent_cldstop``: wake the parent's waiters and
    send it SIGCHLD unless its action has SA_NOCLDSTOP."""
    from sentry.kernel.signals import SignalInfo

    parent = k.thread_groups.get(tg.parent_tgid)
    if parent is None or parent is tg:
        return
    for w in list(parent.child_waiters):
        parent.child_waiters.remove(w)
        k.wake(w)
    action = parent.sigactions.get(SIGCHLD)
    if action is not None and action.flags & SA_NOCLDSTOP:
        return
    live = [x for x in parent.tasks if not x.exited]
    if live:
        k.send_signal(live[0], SignalInfo(SIGCHLD, code=code, pid=tg.tgid, status=status))


def stopped_groups(k: Kernel) -> list[ThreadGroup]:
    """Thread groups that are stopped with tasks left to run."""
    return [tg for tg in k.thread_groups.values()
            if tg.group_stopped and any(not t.exited for t in tg.tasks)]


def runnable(task: Task) -> bool:
    """The scheduler may run ``task`` (not exited, blocked or stopped)."""
    return not (task.exited or task.blocked or task.tg.group_stopped)
