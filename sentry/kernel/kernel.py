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

from sentry.abi.signals import SIGKILL, SIGSEGV
from sentry.kernel.fd_table import FDTable
from sentry.kernel.signals import (
    SA_NODEFER,
    SA_RESETHAND,
    SI_KERNEL,
    SIG_DFL,
    SIG_IGN,
    SignalInfo,
    default_is_ignore,
    exception_signal_info,
    fault_signal_info,
    setup_frame,
)
from sentry.kernel.task import Task, TaskStop, ThreadGroup
from sentry.linuxerr import EIO, ENOSYS, Errno
from sentry.logs import get_logger
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
        deliver = self.deliver_at_syscall_exit

        def on_syscall(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
            h = handlers[nr] if nr < nhandlers else None
            if h is None:
                return unknown(task, nr)
            try:
                ret = h(task, a0, a1, a2, a3, a4, a5)
            except Errno as e:
                ret = -e.errno
            except TaskStop:
                return None
            except Exception as exc:
                ret = internal_error(task, nr, exc)
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
            self.force_signal(task, fault_signal_info(err, stop.addr, stop.access))
            return
        if kind is StopKind.EXCEPTION:
            self.force_signal(task, exception_signal_info(stop.vector, task.cpu.rip))
            return
        # INTERNAL_ERROR: a bug escaped a hook. Kill the guest cleanly.
        self.internal_errors.append(f"platform: {stop.exc!r}")
        log.error("internal error in the run loop", error=repr(stop.exc))
        print(f"run-guest: internal error: {stop.exc!r}", file=sys.stderr)
        self.exit_thread_group(task.tg, status=(255 << 8))

    # -- exits and signals ----------------------------------------------------------

    def send_signal(self, task: Task, info: SignalInfo) -> None:
        """Make ``info`` pending for ``task`` (Linux ``send_signal``). A
        signal whose action is to ignore it is discarded at once. Delivery
        happens when the task next returns to user mode with the signal
        unblocked (``deliver_pending``)."""
        sig = info.signo
        action = task.tg.sigactions.get(sig)
        handler = action.handler if action is not None else SIG_DFL
        if sig != SIGKILL and (handler == SIG_IGN or (handler == SIG_DFL and default_is_ignore(sig))):
            return
        bit = 1 << (sig - 1)
        if not task.pending & bit:
            task.pending_info[sig] = info
        task.pending |= bit
        task.sig_pending = bool(task.pending & ~task.signal_mask) or sig == SIGKILL

    def force_signal(self, task: Task, info: SignalInfo) -> None:
        """A synchronous signal from the task's own instruction (Linux
        ``force_sig_info``): if blocked or ignored, its action is reset to
        the default and it is unblocked, then it is delivered now."""
        sig = info.signo
        bit = 1 << (sig - 1)
        action = task.tg.sigactions.get(sig)
        if task.signal_mask & bit or (action is not None and action.handler == SIG_IGN):
            task.tg.sigactions.pop(sig, None)
            task.set_signal_mask(task.signal_mask & ~bit)
        task.pending &= ~bit
        task.pending_info[sig] = info
        task.pending |= bit
        task.sig_pending = True
        self.deliver_pending(task)

    def deliver_pending(self, task: Task) -> bool:
        """Deliver the lowest unblocked pending signal (Linux
        ``get_signal``/``handle_signal``). Returns False when the default
        action ended the thread group, True otherwise."""
        while task.pending & ~task.signal_mask:
            ready = task.pending & ~task.signal_mask
            sig = (ready & -ready).bit_length()
            task.pending &= ~(1 << (sig - 1))
            info = task.pending_info.pop(sig)
            action = task.tg.sigactions.get(sig)
            handler = action.handler if action is not None else SIG_DFL
            if handler == SIG_IGN or (handler == SIG_DFL and default_is_ignore(sig)):
                continue
            if handler == SIG_DFL or action is None:
                self._fatal(task, info)
                return False
            mask = task.signal_mask | action.mask
            if not action.flags & SA_NODEFER:
                mask |= 1 << (sig - 1)
            if action.flags & SA_RESETHAND:
                task.tg.sigactions.pop(sig, None)
            try:
                setup_frame(task, info, handler, action.flags, action.restorer, mask)
            except Errno:
                # Linux force_sigsegv: a frame that cannot be written kills.
                self._fatal(task, SignalInfo(SIGSEGV, code=SI_KERNEL, fault=True))
                return False
            break
        task.sig_pending = bool(task.pending & ~task.signal_mask)
        return True

    def deliver_at_syscall_exit(self, task: Task, ret: int) -> int | None:
        """Deliver pending signals as the syscall returns ``ret``. Returns the
        value for RAX (0 when a handler now runs), or None if the task died."""
        task.cpu.set_reg("rax", ret)
        if not self.deliver_pending(task):
            return None
        return task.cpu.get_reg("rax")

    def _fatal(self, task: Task, info: SignalInfo) -> None:
        tg = task.tg
        tg.fatal_signal = info.signo
        tg.fault_addr = info.addr if info.fault else None
        self.exit_thread_group(tg, status=info.signo)

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
