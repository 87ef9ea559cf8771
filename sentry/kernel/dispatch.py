"""Syscall dispatch (gVisor ``kernel/task_syscall.go``): the syscall
table, and the function Unicorn's syscall hook calls for each task.

A handler takes the task and the six raw 64-bit arguments and returns the
value for RAX; it may raise an Errno (returned as ``-errno``) or
``TaskStop`` (leave the run loop: the task blocked or exited). Unknown
numbers return ENOSYS, logged once; a Python error in a handler is an
internal error: logged, counted, and EIO for the guest, never a
traceback on the user's terminal.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sentry.kernel.core import KernelCore
from sentry.kernel.task import Task, TaskStop
from sentry.linuxerr import EIO, ENOSYS, Errno
from sentry.logs import get_logger

log = get_logger("sentry.kernel")

Handler = Callable[[Task, int, int, int, int, int, int], int]
"""A syscall handler: (task, six raw 64-bit args) -> return value."""


class SyscallTracer(Protocol):
    """Wraps dispatch for --strace (see ``sentry.strace``)."""

    def wrap(self, task: Task, nr: int, name: str, handler: Handler | None) -> Handler: ...


@dataclass
class SyscallTable:
    """Handlers by syscall number, and names for logs and strace."""

    handlers: list[Handler | None] = field(default_factory=lambda: [None] * 512)
    names: dict[int, str] = field(default_factory=dict)

    def register(self, nr: int, name: str, handler: Handler) -> None:
        self.handlers[nr] = handler
        self.names[nr] = name

    def name(self, nr: int) -> str:
        return self.names.get(nr, f"syscall_{nr}")


class Dispatch(KernelCore):
    """The Kernel's syscall entry (a part of :class:`~sentry.kernel.kernel.Kernel`)."""

    def make_syscall_dispatcher(self, task: Task) -> Callable[[int, int, int, int, int, int, int], int | None]:
        """The function Unicorn's syscall hook calls for ``task``.

        Returns the value for RAX, or None when the task must leave the run
        loop. Never raises: an Errno becomes ``-errno``; a Python error in a
        handler is logged as an internal error and the guest gets EIO.
        """
        handlers = self.syscalls.handlers
        if self.tracer is not None:
            tracer = self.tracer
            handlers = [tracer.wrap(task, nr, self.syscalls.name(nr), h) for nr, h in enumerate(handlers)]
        nhandlers = len(handlers)
        unknown = self.unknown_syscall
        internal_error = self.internal_error
        deliver = self.deliver_at_syscall_exit
        sched = self.sched
        preempt = self.preempt
        timers = self.timers
        fire_due = self.fire_due_timers

        def on_syscall(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
            # Linux do_syscall_x64 dispatches on the low 32 bits of RAX
            # (``unsigned int unr = nr``): high bits are ignored.
            nr &= 0xFFFFFFFF
            h = handlers[nr] if nr < nhandlers else None
            try:
                if timers:
                    fire_due()
                ret = unknown(task, nr) if h is None else h(task, a0, a1, a2, a3, a4, a5)
            except Errno as e:
                ret = -e.errno
            except TaskStop:
                task.stopped_syscall = nr
                return None
            except Exception as exc:
                ret = internal_error(task, nr, exc)
            if sched[0]:
                sched[0] -= 1
                if not sched[0]:
                    preempt(task)
            if task.sig_pending:
                return deliver(task, ret)
            return ret

        return on_syscall

    def unknown_syscall(self, task: Task, nr: int) -> int:
        """ENOSYS, logged once per syscall number."""
        if nr not in self.unknown_syscalls_seen:
            self.unknown_syscalls_seen.add(nr)
            log.warning("unimplemented syscall", nr=nr, name=self.syscalls.name(nr), tid=task.tid)
        return -ENOSYS.errno

    def internal_error(self, task: Task, nr: int, exc: BaseException) -> int:
        """A bug in the sentry: log it (never a traceback on the user's
        terminal unless SENTRY_DEBUG is set), count it, and fail the syscall
        with EIO so the guest sees an error rather than a silent success."""
        where = self.syscalls.name(nr)
        text = "".join(traceback.format_exception(exc))
        self.internal_errors.append(f"{where}: {exc!r}")
        log.error("internal error in syscall handler", syscall=where, error=repr(exc), tid=task.tid)
        log.debug("internal error traceback", syscall=where, traceback=text)
        return -EIO.errno
