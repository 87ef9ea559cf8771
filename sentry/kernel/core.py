"""The state every part of the Kernel shares, and what the parts call of
each other (``KernelCore``). :class:`sentry.kernel.kernel.Kernel` mixes
the parts in; each part (``dispatch``, ``scheduler``, ``task_signals``,
``task_exit``) subclasses this core, so it sees the state and the other
parts' entry points with their types, and the methods below are
overridden by the part that implements them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sentry.kernel.futex import FutexManager
from sentry.kernel.task import Task, ThreadGroup

if TYPE_CHECKING:
    from sentry.kernel.blocking import Deadlock
    from sentry.kernel.dispatch import SyscallTable, SyscallTracer
    from sentry.kernel.signals import SignalInfo


class KernelCore:
    """Tasks, thread groups, queues and counters of one kernel."""

    def __init__(self, syscalls: SyscallTable, mf: Any, *, tracer: SyscallTracer | None = None) -> None:
        self.syscalls = syscalls
        self.mf = mf
        self.tracer = tracer
        self.tasks: dict[int, Task] = {}
        self.thread_groups: dict[int, ThreadGroup] = {}
        self.run_queue: deque[Task] = deque()
        # Blocked tasks by tid, in the order they blocked.
        self.blocked: dict[int, Task] = {}
        # Kernel timers (timerfds): handle -> (CLOCK_MONOTONIC deadline,
        # callback). They fire at syscall entry and, like blocked tasks'
        # deadlines, from the run loop while a task is blocked.
        self.timers: dict[int, tuple[int, Callable[[], None]]] = {}
        self._next_timer = 0
        # The task on the CPU and whether its run has no slice timer.
        self.current: Task | None = None
        # The task whose woken syscall ``_complete_syscall`` is finishing
        # (no task is on the CPU then): files that read the caller's state
        # (signalfd) ask ``syscall_task()``.
        self.resuming: Task | None = None
        self._unbounded = False
        # [syscalls left in the running task's slice]; 0: no budget.
        self.sched = [0]
        self.futexes: FutexManager[Task] = FutexManager()
        # Bound AF_UNIX sockets by name (gVisor's AbstractSocketNamespace
        # plus the endpoints its socket inodes hold): see sentry.socket.unix.
        self.unix_socket_names: dict[object, object] = {}
        self._next_tid = 1
        self.unknown_syscalls_seen: set[int] = set()
        self.internal_errors: list[str] = []
        # Process groups by pgid (``sentry.kernel.pgroups``).
        self.process_groups: dict[int, Any] = {}
        # Host input the guest waits for (``sentry.fsimpl.devpts.host``):
        # objects with ``ready`` (an Event), ``pump()`` and ``alive``; the
        # idle loop waits on ``idle_wakeup`` instead of sleeping.
        self.input_sources: list[Any] = []
        self.idle_wakeup = threading.Event()
        # Who hears of a deadlock (tests); None: ``report_deadlock``.
        self.on_deadlock: Callable[[Deadlock], None] | None = None

    # -- implemented by the parts ---------------------------------------------------

    def internal_error(self, task: Task, nr: int, exc: BaseException) -> int:
        """``dispatch``: log a sentry bug; the syscall's result (-EIO)."""
        raise NotImplementedError

    def preempt(self, task: Task) -> None:
        """``scheduler``: end ``task``'s run after the current syscall."""
        raise NotImplementedError

    def wake(self, task: Task, result: int | None = None) -> None:
        """``scheduler``: end ``task``'s wait."""
        raise NotImplementedError

    def make_runnable(self, task: Task) -> None:
        """``scheduler``: put ``task`` on the run queue."""
        raise NotImplementedError

    def fire_due_timers(self, now: int | None = None) -> None:
        """``scheduler``: run the kernel timers that are due."""
        raise NotImplementedError

    def send_signal(self, task: Task, info: SignalInfo) -> None:
        """``task_signals``: make ``info`` pending for ``task``."""
        raise NotImplementedError

    def force_signal(self, task: Task, info: SignalInfo) -> None:
        """``task_signals``: deliver a synchronous signal now."""
        raise NotImplementedError

    def deliver_pending(self, task: Task) -> bool:
        """``task_signals``: deliver unblocked signals; False if the task died."""
        raise NotImplementedError

    def deliver_at_syscall_exit(self, task: Task, ret: int) -> int | None:
        """``task_signals``: deliver as the syscall returns ``ret``."""
        raise NotImplementedError

    def exit_task(self, task: Task) -> None:
        """``task_exit``: end one task."""
        raise NotImplementedError

    def exit_thread_group(self, tg: ThreadGroup, status: int) -> None:
        """``task_exit``: end every task of ``tg``."""
        raise NotImplementedError
