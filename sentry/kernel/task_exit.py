"""Task and process exit (Linux ``do_exit``, ``exit_robust_list``,
``do_notify_parent``; gVisor ``kernel/task_exit.go``).

A task's exit cancels its wait, writes 0 to ``clear_child_tid`` and wakes
a waiter there, and releases the robust futexes it still holds (none of
this when a fatal signal ends the process). The last task of a thread
group releases the fd table and the mm and notifies the parent: its
wait4 callers wake and it gets the exit signal.
"""

from __future__ import annotations

import struct

from sentry.abi.futex import FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, ROBUST_LIST_LIMIT
from sentry.abi.signals import CLD_EXITED, CLD_KILLED, NSIG
from sentry.kernel import pgroups
from sentry.kernel.core import KernelCore
from sentry.kernel.signals import SignalInfo
from sentry.kernel.task import Task, ThreadGroup
from sentry.kernel.task_futex import MMTarget, futex_wake_quietly
from sentry.linuxerr import Errno
from sentry.usermem import DEFAULT_OPTS
from sentry.vfs.waiter import EVENT_IN

_ROBUST_HEAD = struct.Struct("<QqQ")  # next, futex_offset, list_op_pending
_U64 = struct.Struct("<Q")


class TaskExit(KernelCore):
    """The Kernel's exit paths (a part of :class:`~sentry.kernel.kernel.Kernel`)."""

    def exit_thread_group(self, tg: ThreadGroup, status: int) -> None:
        """End every task of ``tg`` with wait status ``status``."""
        if tg.exit_status is None:
            tg.exit_status = status
        tg.exiting = True
        for t in tg.tasks:
            self.exit_task(t)

    def exit_task(self, task: Task) -> None:
        """End one task (Linux ``do_exit``): cancel its wait, write 0 to
        clear_child_tid and wake one shared waiter (unless a fatal signal
        ends the process), release robust futexes, and when it was the
        last task of its group release the fd table and the mm."""
        if task.exited:
            return
        tg = task.tg
        self.release_vfork_parent(task)
        w = task.wait
        if w is not None and not w.woken:
            self.blocked.pop(task.tid, None)
            task.wait = None
            if w.cancel is not None:
                w.cancel()
        if not tg.fatal_signal and task.mm.users > 0:
            self._exit_robust_list(task)
            ctid = task.clear_child_tid
            if ctid:
                _, err = task.mm.copy_out(ctid, b"\0\0\0\0", DEFAULT_OPTS)
                if err is None:
                    futex_wake_quietly(task, ctid, False, 1)
        task.exited = True
        if task in self.run_queue:
            self.run_queue.remove(task)
        if all(t.exited for t in tg.tasks):
            if tg.exit_status is None:
                tg.exit_status = 0
            tg.fd_table.release()
            task.mm.users -= 1
            if task.mm.users == 0:
                task.mm.release()
            tg.exit_queue.notify(EVENT_IN)
            pgroups.on_exit(self, tg)
            self._notify_parent(tg)

    def release_vfork_parent(self, task: Task) -> None:
        """The vfork child execs or exits: its parent's vfork returns."""
        parent = task.vfork_parent
        if parent is not None:
            task.vfork_parent = None
            self.wake(parent)

    def _notify_parent(self, tg: ThreadGroup) -> None:
        """A process ended: wake its parent's wait4 callers and send the
        parent its exit signal (SIGCHLD, ignored by default)."""
        parent = self.thread_groups.get(tg.parent_tgid)
        if parent is None or parent is tg:
            return
        for w in list(parent.child_waiters):
            parent.child_waiters.remove(w)
            self.wake(w)
        live = [x for x in parent.tasks if not x.exited]
        # Legacy clone takes any byte as the exit signal; Linux's
        # do_notify_parent sends it only if it is a valid signal.
        if 0 < tg.exit_signal <= NSIG and live:
            code = CLD_KILLED if tg.fatal_signal else CLD_EXITED
            st = tg.exit_status or 0
            status = st & 0x7F if code == CLD_KILLED else (st >> 8) & 0xFF
            self.send_signal(live[0], SignalInfo(tg.exit_signal, code=code, pid=tg.tgid, status=status))

    def _exit_robust_list(self, task: Task) -> None:
        """Linux ``exit_robust_list``: mark each lock the task still owns
        FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wake one waiter."""
        head, _ = task.robust_list
        if not head:
            return
        try:
            nxt, off, pending = _ROBUST_HEAD.unpack(task.copy_in_bytes(head, 24))
            off = off - (1 << 64) if off & (1 << 63) else off
            entry, limit = nxt, ROBUST_LIST_LIMIT
            while entry != head and entry and limit:
                (following,) = _U64.unpack(task.copy_in_bytes(entry, 8))
                if entry != pending:
                    self._robust_death(task, (entry + off) & ((1 << 64) - 1))
                entry = following
                limit -= 1
            if pending:
                self._robust_death(task, (pending + off) & ((1 << 64) - 1))
        except Errno:
            return

    def _robust_death(self, task: Task, addr: int) -> None:
        mem = MMTarget(task.mm)
        for _ in range(64):
            val = mem.load_uint32(addr)
            if val & FUTEX_TID_MASK != task.tid:
                return
            new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED
            if mem.compare_and_swap_uint32(addr, val, new) == val:
                if val & FUTEX_WAITERS:
                    futex_wake_quietly(task, addr, False, 1)
                return
