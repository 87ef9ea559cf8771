"""The Kernel: tasks, the run loop, syscall dispatch, and how faults and CPU
exceptions become signals (gVisor ``kernel/kernel.go``, ``task_run.go``,
``task_syscall.go``).

The run loop runs one task at a time on its address space until the task
stops: a syscall handler asked to leave (exit, block), a page fault the
MemoryManager must resolve, or a CPU exception. Syscalls are serviced
inline in Unicorn's syscall hook; only those that change which task runs
leave the loop. Many tasks and many address spaces per kernel are the
model even while only one task exists.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sentry.abi.signals import (
    BUS_ADRERR,
    SEGV_ACCERR,
    SEGV_MAPERR,
    SIGBUS,
    SIGFPE,
    SIGILL,
    SIGSEGV,
    SIGTRAP,
    signal_name,
)
from sentry.kernel.fd_table import FDTable
from sentry.kernel.task import Task, TaskStop, ThreadGroup
from sentry.linuxerr import EIO, ENOSYS, EPERM, Errno
from sentry.logs import get_logger
from sentry.memmap.mappable import BusError
from sentry.mm import MemoryManager
from sentry.platform import StopKind, UnicornAddressSpace

log = get_logger("sentry.kernel")

# A syscall handler: (task, six raw 64-bit args) -> return value. It may raise
# an Errno (returned as -errno) or TaskStop (leave the run loop).
Handler = Callable[[Task, int, int, int, int, int, int], int]


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


# x86 exception vector -> (signal, si_code name) for a faulting instruction.
_EXCEPTION_SIGNALS = {0: SIGFPE, 1: SIGTRAP, 3: SIGTRAP, 4: SIGSEGV, 5: SIGSEGV, 6: SIGILL, 13: SIGSEGV, 16: SIGFPE, 19: SIGFPE}


class Kernel:
    """One sentry kernel: its tasks, thread groups and syscall table."""

    def __init__(self, syscalls: SyscallTable, mf: Any, *, tracer: SyscallTracer | None = None) -> None:
        self.syscalls = syscalls
        self.mf = mf
        self.tracer = tracer
        self.tasks: dict[int, Task] = {}
        self.thread_groups: dict[int, ThreadGroup] = {}
        self.run_queue: list[Task] = []
        self._next_tid = 1
        self.unknown_syscalls_seen: set[int] = set()
        self.internal_errors: list[str] = []
        self.boot_time_ns = 0

    # -- tasks ----------------------------------------------------------------

    def allocate_tid(self) -> int:
        tid = self._next_tid
        self._next_tid += 1
        return tid

    def new_address_space(self) -> UnicornAddressSpace:
        return UnicornAddressSpace()

    def new_memory_manager(self) -> MemoryManager:
        return MemoryManager(self.mf, self.new_address_space)

    def create_process(self, mm: MemoryManager, fd_table: FDTable, cpu: Any, *, parent_tgid: int = 0) -> Task:
        """A new thread group with one task running in ``mm``."""
        tid = self.allocate_tid()
        tg = ThreadGroup(tid, fd_table, parent_tgid)
        t = Task(self, tid, tg, mm, cpu)
        tg.tasks.append(t)
        self.tasks[tid] = t
        self.thread_groups[tid] = tg
        self.run_queue.append(t)
        return t

    # -- syscall dispatch ---------------------------------------------------------

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

        def on_syscall(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
            h = handlers[nr] if nr < nhandlers else None
            if h is None:
                return unknown(task, nr)
            try:
                return h(task, a0, a1, a2, a3, a4, a5)
            except Errno as e:
                return -e.errno
            except TaskStop:
                return None
            except Exception as exc:
                return internal_error(task, nr, exc)

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

    # -- the run loop ------------------------------------------------------------

    def run(self) -> None:
        """Run until no task is runnable."""
        while self.run_queue:
            task = self.run_queue[0]
            if task.exited:
                self.run_queue.pop(0)
                continue
            self._run_task(task)

    def _run_task(self, task: Task) -> None:
        asp = cast(UnicornAddressSpace, task.mm.address_space)
        stop = asp.run(task.cpu, task.on_syscall)
        kind = stop.kind
        if kind is StopKind.SYSCALL_STOP or kind is StopKind.INTERRUPTED:
            return
        if kind is StopKind.FAULT:
            err = task.mm.handle_user_fault(stop.addr, stop.access)
            if err is None:
                return
            if isinstance(err, BusError):
                self.force_fatal_signal(task, SIGBUS, BUS_ADRERR, stop.addr)
            else:
                code = SEGV_ACCERR if err is EPERM else SEGV_MAPERR
                self.force_fatal_signal(task, SIGSEGV, code, stop.addr)
            return
        if kind is StopKind.EXCEPTION:
            sig = _EXCEPTION_SIGNALS.get(stop.vector, SIGSEGV)
            self.force_fatal_signal(task, sig, 0, None)
            return
        # INTERNAL_ERROR: a bug escaped a hook. Kill the guest cleanly.
        self.internal_errors.append(f"platform: {stop.exc!r}")
        log.error("internal error in the run loop", error=repr(stop.exc))
        print(f"run-guest: internal error: {stop.exc!r}", file=sys.stderr)
        self.exit_thread_group(task.tg, status=(255 << 8))

    # -- exits and signals ----------------------------------------------------------

    def force_fatal_signal(self, task: Task, sig: int, code: int, addr: int | None) -> None:
        """A synchronous signal the task cannot handle yet: its default action
        ends the thread group (signal delivery to handlers comes later)."""
        tg = task.tg
        if tg.sigactions.get(sig) is not None and tg.sigactions[sig].handler not in (0, 1):
            log.warning("signal handlers are not delivered yet; default action taken",
                        signal=signal_name(sig))
        tg.fatal_signal = sig
        tg.fault_addr = addr
        self.exit_thread_group(tg, status=sig)

    def exit_thread_group(self, tg: ThreadGroup, status: int) -> None:
        """End every task of ``tg`` with wait status ``status``."""
        if tg.exit_status is None:
            tg.exit_status = status
        tg.exiting = True
        for t in tg.tasks:
            self.exit_task(t)

    def exit_task(self, task: Task) -> None:
        if task.exited:
            return
        task.exited = True
        if task in self.run_queue:
            self.run_queue.remove(task)
        tg = task.tg
        if all(t.exited for t in tg.tasks):
            if tg.exit_status is None:
                tg.exit_status = 0
            tg.fd_table.release()
            task.mm.users -= 1
            if task.mm.users == 0:
                task.mm.release()
