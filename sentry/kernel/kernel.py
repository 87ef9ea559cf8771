"""The Kernel: tasks, the run loop, syscall dispatch, and how faults and CPU
exceptions become signals (gVisor ``kernel/kernel.go``, ``task_run.go``,
``task_syscall.go``).

The run loop runs one task at a time on its address space until the task
stops: a syscall handler asked to leave (exit, block), a page fault the
MemoryManager must resolve, a CPU exception, or the end of its time slice.
Syscalls are serviced inline in Unicorn's syscall hook; only those that
change which task runs leave the loop.

Scheduling policy (deterministic round robin, one virtual CPU):

* ``run_queue`` is FIFO. The task at its head runs until it blocks, exits,
  or its slice ends; then it goes to the back. A fault or a syscall stop
  that leaves the task runnable keeps it at the head.
* A slice is ``SYSCALL_SLICE`` syscalls: with another task runnable, the
  syscall that uses up the budget returns and then the run ends. Slices
  are counted, not timed, so a guest's interleaving at syscalls is
  reproducible. A task that makes no syscalls is not preempted (Unicorn's
  timed stops can re-execute atomic instructions, see ``SYSCALL_SLICE``)
  unless ``SENTRY_SAFETY_SLICE_US`` asks for a timer; Unicorn's timer is
  otherwise armed only to meet a sleeper's deadline. A lone task runs with
  no budget and no timer, at full speed. When a lone task makes another runnable (clone,
  a futex wake, a pipe write) its run ends after that syscall.
* New and woken tasks join the back of the queue in the order they were
  created or woken. Output is therefore reproducible whenever the guest
  synchronises (futexes, pipes, joins); a guest that spins without
  syscalls waiting for another task hangs (unless the safety timer is on).

Blocking model: a blocking syscall calls :meth:`Kernel.block`, which parks
the task (``task.blocked``), records how the syscall completes when woken
(``task.resume``: a function returning the syscall's result, run by the
scheduler before the task's CPU resumes; it may block again) and raises
``TaskStop``. RIP is already past the ``syscall``; the scheduler writes the
result into RAX. A deadline makes the task a timer; a signal wakes an
interruptible task with EINTR. When no task is runnable and no timer is
pending, the blocked tasks form a deadlock (``sentry.kernel.blocking``).
"""

from __future__ import annotations

import os
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, cast

from sentry.abi.signals import NSIG, SIGKILL, SIGSEGV, signal_name
from sentry.kernel import jobctl, pgroups
from sentry.kernel.fd_table import FDTable
from sentry.kernel.futex import FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, FutexManager
from sentry.kernel.signals import (
    SA_NODEFER,
    SA_RESETHAND,
    SA_RESTART,
    SI_KERNEL,
    SIG_DFL,
    SIG_IGN,
    SignalInfo,
    default_is_ignore,
    default_is_stop,
    exception_signal_info,
    fault_signal_info,
    setup_frame,
)
from sentry.kernel.task import Task, TaskStop, ThreadGroup
from sentry.linuxerr import EINTR, EIO, ENOSYS, EPERM, ETIMEDOUT, Errno
from sentry.logs import get_logger
from sentry.mm import MemoryManager
from sentry.platform import StopKind, UnicornAddressSpace
from sentry.tracing import TRACE
from sentry.usermem import DEFAULT_OPTS

log = get_logger("sentry.kernel")

ROBUST_LIST_LIMIT = 2048
_ROBUST_HEAD = struct.Struct("<QqQ")  # next, futex_offset, list_op_pending
_U64 = struct.Struct("<Q")

# With other tasks runnable, the running task is preempted after this many
# syscalls (at the syscall's return). Unicorn's asynchronous timer is not
# used for time slices by default: Unicorn 2.1 can re-execute a
# ``lock``-prefixed instruction whose store already happened when a timed
# stop lands on it (measured: a ``lock xadd`` loop over-counts by ~0.01%
# with 200 us slices, and mutex-counter 1000000 4 with 100 ms slices
# corrupts its mutex and deadlocks). SAFETY_SLICE_US > 0 (environment
# variable SENTRY_SAFETY_SLICE_US) arms such a timer anyway, for guests that
# spin without syscalls while another task must run; a sleeper's deadline
# always arms one (a single stop, not a periodic one).
SYSCALL_SLICE = 64
CLD_EXITED, CLD_KILLED = 1, 2  # si_code of SIGCHLD
ERESTARTSYS = 512  # Linux's internal "restart if SA_RESTART"
SAFETY_SLICE_US = int(os.environ.get("SENTRY_SAFETY_SLICE_US", "0") or 0)

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
        self.run_queue: deque[Task] = deque()
        # Blocked tasks by tid, in the order they blocked.
        self.blocked: dict[int, Task] = {}
        # The task on the CPU and whether its run has no slice timer.
        self.current: Task | None = None
        self._unbounded = False
        # [syscalls left in the running task's slice]; 0: no budget.
        self.sched = [0]
        self.futexes = FutexManager(self)
        # Process groups by pgid (``sentry.kernel.pgroups``).
        self.process_groups: dict[int, Any] = {}
        # Host input the guest waits for (``sentry.fsimpl.devpts.host``):
        # objects with ``ready`` (an Event), ``pump()`` and ``alive``; the
        # idle loop waits on ``idle_wakeup`` instead of sleeping.
        self.input_sources: list[Any] = []
        self.idle_wakeup = threading.Event()
        self._next_tid = 1
        self.unknown_syscalls_seen: set[int] = set()
        self.internal_errors: list[str] = []

    # -- tasks ----------------------------------------------------------------

    def allocate_tid(self) -> int:
        tid = self._next_tid
        self._next_tid += 1
        return tid

    def last_tid(self) -> int:
        """The id most recently handed out (0 before any)."""
        return self._next_tid - 1

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
        pgroups.new_session(self, tg)
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
        sched = self.sched
        preempt = self.preempt

        def on_syscall(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
            # Linux do_syscall_x64 dispatches on the low 32 bits of RAX
            # (``unsigned int unr = nr``): high bits are ignored.
            nr &= 0xFFFFFFFF
            h = handlers[nr] if nr < nhandlers else None
            try:
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

    # -- the scheduler -------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        """Register a new runnable task (clone) at the back of the queue."""
        self.tasks[task.tid] = task
        self.make_runnable(task)

    def make_runnable(self, task: Task) -> None:
        """Queue ``task``; if the running task has no slice timer, end its
        run after the current syscall so the queue gets a turn."""
        self.run_queue.append(task)
        cur = self.current
        if cur is not None and self._unbounded and cur is not task:
            cast(UnicornAddressSpace, cur.mm.address_space).interrupt()

    def preempt(self, task: Task) -> None:
        """End ``task``'s run after the current syscall (to the queue's back)."""
        cast(UnicornAddressSpace, task.mm.address_space).interrupt()

    def yield_current(self) -> None:
        """sched_yield: give the CPU to the next runnable task, if any."""
        cur = self.current
        if cur is not None and self.run_queue:
            cast(UnicornAddressSpace, cur.mm.address_space).interrupt()

    def block(
        self,
        task: Task,
        what: str,
        resume: Callable[[], int],
        *,
        deadline_ns: int | None = None,
        timeout_result: int | None = -ETIMEDOUT.errno,
        cancel: Callable[[], None] | None = None,
        interruptible: bool = True,
        restartable: bool = False,
    ) -> NoReturn:
        """Park ``task`` and leave the run loop (raises ``TaskStop``).

        ``resume()`` is called by the scheduler once the task is woken
        (``wake``) and returns the syscall's result (or raises an Errno, or
        blocks again through this method). ``deadline_ns`` (CLOCK_MONOTONIC)
        makes the wait time out with ``timeout_result`` (None: ``resume``
        decides, for waits that re-check on a timer); ``cancel`` undoes
        the task's registrations (wait queues, futex buckets) whenever the
        wait ends other than through the registration itself;
        ``interruptible`` waits end with EINTR when a signal arrives;
        ``restartable`` ones (Linux ERESTARTSYS) are restarted instead when
        the signal's handler has SA_RESTART or no handler runs.
        """
        task.blocked = True
        task.block_what = what
        task.resume = resume
        task.block_deadline = deadline_ns
        task.block_timeout_result = timeout_result
        task.block_cancel = cancel
        task.block_interruptible = interruptible
        task.block_restartable = restartable
        self.blocked[task.tid] = task
        if interruptible and task.sig_pending:
            self.wake(task, self._interrupted(task))
        raise TaskStop

    def wake(self, task: Task, result: int | None = None) -> None:
        """End ``task``'s wait. With ``result`` the syscall returns it (its
        registrations are cancelled); without, ``task.resume`` decides."""
        if not task.blocked:
            return
        task.blocked = False
        self.blocked.pop(task.tid, None)
        if result is not None:
            cancel = task.block_cancel
            if cancel is not None:
                cancel()
            task.resume = lambda: result
        task.block_cancel = None
        task.block_deadline = None
        self.make_runnable(task)

    def _next_deadline(self) -> int | None:
        best = None
        for t in self.blocked.values():
            d = t.block_deadline
            if d is not None and (best is None or d < best):
                best = d
        return best

    def _fire_timers(self, now: int) -> None:
        for t in [t for t in self.blocked.values() if t.block_deadline is not None and t.block_deadline <= now]:
            self.wake(t, t.block_timeout_result)

    def run(self) -> None:
        """Run until no task is runnable and none can be woken."""
        queue = self.run_queue
        sources = self.input_sources
        while True:
            for src in sources:
                if src.ready.is_set():
                    src.pump()
            if self.blocked:
                deadline = self._next_deadline()
                if deadline is not None:
                    now = time.monotonic_ns()
                    if not queue and deadline > now:
                        self._idle((deadline - now) / 1e9)
                        now = time.monotonic_ns()
                    self._fire_timers(now)
                    if not queue:
                        continue  # woken early by input, or timers to go
                elif not queue:
                    if any(src.alive for src in sources):
                        self._idle(None)  # input may still wake someone
                        continue
                    self._deadlock()
                    continue
            if not queue:
                if jobctl.stopped_groups(self):
                    self._deadlock()  # nothing left that could continue them
                    continue
                return
            task = queue.popleft()
            if not jobctl.runnable(task):
                continue
            if task.resume is not None:
                if not self._complete_syscall(task):
                    continue
            elif task.sig_pending and not self.deliver_pending(task):
                continue
            if not jobctl.runnable(task):
                continue
            # Preemption: after SYSCALL_SLICE syscalls when others are
            # runnable (deterministic, at a syscall boundary); a host timer
            # only to meet a sleeper's deadline, or if SAFETY_SLICE_US asks.
            self.sched[0] = SYSCALL_SLICE if queue else 0
            timeout = 0
            if queue:
                timeout = SAFETY_SLICE_US
            if self.blocked:
                deadline = self._next_deadline()
                if deadline is not None:
                    left = max(1, (deadline - time.monotonic_ns()) // 1000)
                    timeout = min(timeout, left) if timeout else left
            self.current = task
            self._unbounded = not queue
            try:
                requeue = self._run_task(task, timeout)
            finally:
                self.current = None
            if not jobctl.runnable(task):
                continue
            if requeue:
                queue.append(task)
            else:
                queue.appendleft(task)

    def _idle(self, timeout: float | None) -> None:
        """Nothing to run: sleep until ``timeout`` (None: for ever) or,
        with host input sources, until one has input."""
        if not self.input_sources:
            time.sleep(timeout or 0)
            return
        self.idle_wakeup.wait(timeout)
        self.idle_wakeup.clear()

    def poke(self) -> None:
        """From any thread: end the running task's run soon, so the loop
        looks at its input sources."""
        cur = self.current
        if cur is not None:
            cast(UnicornAddressSpace, cur.mm.address_space).interrupt()

    @staticmethod
    def _interrupted(task: Task) -> int:
        """The result of a wait a signal ends: ERESTARTSYS (handled in
        ``_complete_syscall``) if the wait is restartable, else EINTR."""
        return -ERESTARTSYS if task.block_restartable else -EINTR.errno

    def _restart_or_eintr(self, task: Task) -> int | None:
        """Linux ``handle_signal`` for ERESTARTSYS: EINTR if the signal
        about to be delivered runs a handler without SA_RESTART; otherwise
        rewind RIP onto the ``syscall`` (RAX still holds its number, the
        hook never wrote it) and return None."""
        ready = task.pending & ~task.signal_mask
        if ready:
            sig = (ready & -ready).bit_length()
            action = task.tg.sigactions.get(sig)
            if action is not None and action.handler not in (SIG_DFL, SIG_IGN) and not action.flags & SA_RESTART:
                return -EINTR.errno
        task.cpu.rip = task.cpu.rip - 2
        return None

    def _complete_syscall(self, task: Task) -> bool:
        """Finish a woken task's syscall (``task.resume``) and deliver its
        signals. False if the task blocked again or died."""
        resume = task.resume
        assert resume is not None
        task.resume = None
        try:
            ret = resume()
        except Errno as e:
            ret = -e.errno
        except TaskStop:
            return False
        except Exception as exc:
            ret = self.internal_error(task, task.stopped_syscall, exc)
        if ret == -ERESTARTSYS:
            r = self._restart_or_eintr(task)
            if r is not None:
                task.cpu.set_reg("rax", r & ((1 << 64) - 1))
        else:
            task.cpu.set_reg("rax", ret & ((1 << 64) - 1))
        if task.sig_pending and not self.deliver_pending(task):
            return False
        return jobctl.runnable(task)

    def _deadlock(self) -> None:
        from sentry.kernel.blocking import Deadlock, report_deadlock

        detail = "; ".join([f"tid {t.tid} {t.block_what}" for t in self.blocked.values()]
                           + [f"pid {tg.tgid} stopped" for tg in jobctl.stopped_groups(self)])
        exc = Deadlock(detail)
        handler = getattr(self, "on_deadlock", None)
        if handler is not None:
            handler(exc)
        else:
            report_deadlock(self, exc)
        for t in list(self.blocked.values()):
            self.exit_task(t)

    def _run_task(self, task: Task, timeout_us: int = 0) -> bool:
        """One run of ``task``; True if it should go to the back of the
        queue (its slice ended or it was asked to yield)."""
        asp = cast(UnicornAddressSpace, task.mm.address_space)
        stop = asp.run(task.cpu, task.on_syscall, timeout_us)
        kind = stop.kind
        if kind is StopKind.INTERRUPTED:
            return True
        if kind is StopKind.SYSCALL_STOP:
            return False
        if kind is StopKind.FAULT:
            err = task.mm.handle_user_fault(stop.addr, stop.access)
            if err is None:
                return False
            info = fault_signal_info(err, stop.addr, stop.access)
            if TRACE.mm:
                why = "beyond end of file" if info.signo == 7 else (
                    "the vma forbids this access" if err is EPERM else "no vma covers the address")
                log.debug("fault becomes a signal", addr=hex(stop.addr), access=str(stop.access),
                          signal=signal_name(info.signo), code=info.code, reason=why)
            self.force_signal(task, info)
            return False
        if kind is StopKind.EXCEPTION:
            self.force_signal(task, exception_signal_info(stop.vector, task.cpu.rip))
            return False
        # INTERNAL_ERROR: a bug escaped a hook. Kill the guest cleanly.
        self.internal_errors.append(f"platform: {stop.exc!r}")
        log.error("internal error in the run loop", error=repr(stop.exc))
        print(f"run-guest: internal error: {stop.exc!r}", file=sys.stderr)
        self.exit_thread_group(task.tg, status=(255 << 8))
        return False

    # -- exits and signals ----------------------------------------------------------

    def send_signal(self, task: Task, info: SignalInfo) -> None:
        """Make ``info`` pending for ``task`` (Linux ``send_signal``). A
        signal whose action is to ignore it is discarded at once. Delivery
        happens when the task next returns to user mode with the signal
        unblocked (``deliver_pending``)."""
        sig = info.signo
        jobctl.prepare_signal(self, task, sig)
        action = task.tg.sigactions.get(sig)
        handler = action.handler if action is not None else SIG_DFL
        if sig != SIGKILL and (handler == SIG_IGN or (handler == SIG_DFL and default_is_ignore(sig))):
            return
        bit = 1 << (sig - 1)
        if handler == SIG_DFL and default_is_stop(sig) and not task.signal_mask & bit:
            # Stop now (a blocked task stays blocked: its syscall carries on
            # once the group continues, as Linux restarts it).
            jobctl.do_group_stop(self, task, info)
            return
        if not task.pending & bit:
            task.pending_info[sig] = info
        task.pending |= bit
        task.sig_pending = bool(task.pending & ~task.signal_mask) or sig == SIGKILL
        if task.blocked and task.sig_pending and task.block_interruptible:
            self.wake(task, self._interrupted(task))

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
            if handler == SIG_DFL and default_is_stop(sig):
                if jobctl.do_group_stop(self, task, info):
                    break  # the rest waits until the group continues
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
        if task.saved_sigmask is not None and not task.tg.group_stopped:
            # No handler ran: the temporary mask (rt_sigsuspend) ends here.
            task.set_signal_mask(task.saved_sigmask)
            task.saved_sigmask = None
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
        """End one task (Linux ``do_exit``): cancel its wait, write 0 to
        clear_child_tid and wake one shared waiter (unless a fatal signal
        ends the process), release robust futexes, and when it was the
        last task of its group release the fd table and the mm."""
        if task.exited:
            return
        tg = task.tg
        self.release_vfork_parent(task)
        if task.blocked:
            task.blocked = False
            self.blocked.pop(task.tid, None)
            cancel = task.block_cancel
            task.block_cancel = None
            task.resume = None
            if cancel is not None:
                cancel()
        if not tg.fatal_signal and task.mm.users > 0:
            self._exit_robust_list(task)
            ctid = task.clear_child_tid
            if ctid:
                _, err = task.mm.copy_out(ctid, b"\0\0\0\0", DEFAULT_OPTS)
                if err is None:
                    self.futexes.wake_key_of(task, ctid, False, 1)
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
        fx = self.futexes
        for _ in range(64):
            val = fx.load(task, addr)
            if val & FUTEX_TID_MASK != task.tid:
                return
            new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED
            if fx.cas(task, addr, val, new) == val:
                if val & FUTEX_WAITERS:
                    fx.wake_key_of(task, addr, False, 1)
                return
