"""The Kernel: tasks and thread groups, and the parts that run them
(gVisor ``kernel/kernel.go``). Each concern has its own module, mixed
into :class:`Kernel`:

* ``dispatch``: the syscall table and the per-task syscall entry;
* ``scheduler``: the run queue, blocking and waking, timers, the run loop
  and how faults and CPU exceptions become signals;
* ``task_signals``: sending and delivering signals;
* ``task_exit``: task and process exit (robust lists, clear_child_tid,
  the parent's notification);
* ``task_exec`` and ``task_futex``: execve's point of no return, and the
  kernel's side of futexes.

The state they share is :class:`sentry.kernel.core.KernelCore`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentry.kernel import pgroups
from sentry.kernel.dispatch import Dispatch, Handler, SyscallTable, SyscallTracer
from sentry.kernel.fd_table import FDTable
from sentry.kernel.scheduler import Scheduler
from sentry.kernel.task import Task, ThreadGroup
from sentry.kernel.task_exit import TaskExit
from sentry.kernel.task_signals import SignalDelivery
from sentry.mm import MemoryManager
from sentry.platform import AddressSpace, CPUContext
from sentry.platform import new_address_space as _new_address_space

if TYPE_CHECKING:
    pass

__all__ = ["Handler", "Kernel", "SyscallTable", "SyscallTracer"]


class Kernel(Dispatch, Scheduler, SignalDelivery, TaskExit):
    """One sentry kernel: its tasks, thread groups and syscall table."""

    # -- tasks ----------------------------------------------------------------

    def allocate_tid(self) -> int:
        tid = self._next_tid
        self._next_tid += 1
        return tid

    def last_tid(self) -> int:
        """The id most recently handed out (0 before any)."""
        return self._next_tid - 1

    def new_address_space(self) -> AddressSpace:
        return _new_address_space()

    def new_memory_manager(self) -> MemoryManager:
        return MemoryManager(self.mf, self.new_address_space)

    def create_process(
        self, mm: MemoryManager, fd_table: FDTable, cpu: CPUContext, *, parent_tgid: int = 0
    ) -> Task:
        """A new thread group with one task running in ``mm``."""
        tid = self.allocate_tid()
        tg = ThreadGroup(tid, fd_table, parent_tgid)
        t = Task(self, tid, tg, mm, cpu)
        tg.tasks.append(t)
        pgroups.new_session(self, tg)
        self.tasks[tid] = t
        self.thread_groups[tid] = tg
        self.run_queue.append(t)
        return t
