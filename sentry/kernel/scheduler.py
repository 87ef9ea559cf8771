"""The scheduler (gVisor ``kernel/task_block.go``, ``task_run.go``): the
run queue, blocking and waking, timers, and the run loop.

The run loop runs one task at a time on its address space until the task
stops: a syscall handler asked to leave (exit, block), a page fault the
MemoryManager must resolve, a CPU exception, or the end of its time slice.
Syscalls are serviced inline in the platform's syscall hook; only those
that change which task runs leave the loop.

Scheduling policy (deterministic round robin, one virtual CPU):

* ``run_queue`` is FIFO. The task at its head runs until it blocks, exits,
  or its slice ends; then it goes to the back. A fault or a syscall stop
  that leaves the task runnable keeps it at the head.
* A slice is ``SYSCALL_SLICE`` syscalls: with another task runnable, the
  syscall that uses up the budget returns and then the run ends. Slices
  are counted, so a guest's interleaving at syscalls is reproducible. A
  task that makes few or no syscalls is also preempted after
  ``TIME_SLICE_US`` of CPU time (the platform stops it between
  translation blocks, so atomics stay exact; CPU time, so a loaded host
  does not cut slices short). A sleeper's deadline arms a wall-clock stop
  as well. A lone task runs with no budget and no timer, at full speed.
  When a lone task makes another runnable (clone, a futex wake, a pipe
  write) its run ends after that syscall.
* New and woken tasks join the back of the queue in the order they were
  created or woken. Output is therefore reproducible whenever the guest
  synchronises (futexes, pipes, joins); a guest that spins without
  syscalls waiting for another task is preempted and finishes.

Blocking model: a blocking syscall calls :meth:`Scheduler.block`, which
parks the task (``task.wait``, a :class:`Wait`: what it waits for, how the
syscall completes when woken, its deadline and how signals end it) and
raises ``TaskStop``. RIP is already past the ``syscall``; once the task is
woken the scheduler calls the wait's ``resume`` (which may block again)
and writes the result into RAX before the task's CPU resumes. A deadline
makes the task a timer; a signal wakes an interruptible task with EINTR.
When no task is runnable and no timer is pending, the blocked tasks form a
deadlock (``sentry.kernel.blocking``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from sentry.abi.signals import SA_RESTART, SIG_DFL, SIG_IGN, signal_name
from sentry.kernel import jobctl
from sentry.kernel.core import KernelCore
from sentry.kernel.signals import exception_signal_info, fault_signal_info
from sentry.kernel.task import Task, TaskStop
from sentry.linuxerr import EINTR, EPERM, ERESTARTSYS, ETIMEDOUT, Errno
from sentry.logs import get_logger
from sentry.platform import StopKind
from sentry.tracing import TRACE

log = get_logger("sentry.kernel")

# With other tasks runnable, the running task is preempted after this many
# syscalls (at the syscall's return), or after TIME_SLICE_US microseconds of
# CPU time (environment variable SENTRY_TIME_SLICE_US; 0 disables it, and a
# task spinning without syscalls while another must run then hangs). The
# time slice is long against SYSCALL_SLICE syscalls (about 1-2 ms), so
# guests that make syscalls keep their reproducible interleaving. The stop
# lands between translation blocks (``sentry.platform.preempt``): Unicorn's
# own timed stop re-executes read-modify-write instructions, which corrupted
# CPython's reference counts and glibc's malloc in threaded Python.
SYSCALL_SLICE = 64
TIME_SLICE_US = int(os.environ.get("SENTRY_TIME_SLICE_US", "10000") or 0)


@dataclass(slots=True)
class Wait:
    """A blocked task's wait (``Task.wait``); only the scheduler reads it.

    ``resume()`` completes the syscall once the task is woken; ``cancel``
    undoes its registrations (wait queues, futex buckets) when the wait
    ends other than through them; ``deadline_ns`` (CLOCK_MONOTONIC) ends
    it with ``timeout_result``; ``interruptible`` waits end with EINTR
    (``restartable`` ones with ERESTARTSYS) when a signal arrives.
    ``woken``: the wait is over and ``resume`` is still to run.
    """

    what: str
    resume: Callable[[], int]
    deadline_ns: int | None
    timeout_result: int | None
    cancel: Callable[[], None] | None
    interruptible: bool
    restartable: bool
    woken: bool = False


def _wait_of(task: Task) -> Wait:
    """``task``'s wait; precondition: it has one (blocked or just woken)."""
    w = task.wait
    assert w is not None, f"tid {task.tid} has no wait"
    return w


def interrupted_result(task: Task) -> int:
    """The result of a wait a signal ends: ERESTARTSYS (handled in
    ``_complete_syscall``) if the wait is restartable, else EINTR."""
    return -ERESTARTSYS.errno if _wait_of(task).restartable else -EINTR.errno


class Scheduler(KernelCore):
    """The Kernel's scheduler (a part of :class:`~sentry.kernel.kernel.Kernel`)."""

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
            cur.mm.address_space.interrupt()

    def preempt(self, task: Task) -> None:
        """End ``task``'s run after the current syscall (to the queue's back)."""
        task.mm.address_space.interrupt()

    def yield_current(self) -> None:
        """sched_yield: give the CPU to the next runnable task, if any."""
        cur = self.current
        if cur is not None and self.run_queue:
            cur.mm.address_space.interrupt()

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
        task.wait = Wait(what, resume, deadline_ns, timeout_result, cancel, interruptible, restartable)
        self.blocked[task.tid] = task
        if interruptible and task.sig_pending:
            self.wake(task, interrupted_result(task))
        raise TaskStop

    def wake(self, task: Task, result: int | None = None) -> None:
        """End ``task``'s wait. With ``result`` the syscall returns it (its
        registrations are cancelled); without, the wait's ``resume`` decides."""
        w = task.wait
        if w is None or w.woken:
            return
        w.woken = True
        self.blocked.pop(task.tid, None)
        if result is not None:
            if w.cancel is not None:
                w.cancel()
            w.resume = lambda: result
        w.cancel = None
        w.deadline_ns = None
        self.make_runnable(task)

    def syscall_task(self) -> Task | None:
        """The task whose syscall is running: the one on the CPU, or the
        one whose woken syscall is being completed."""
        return self.current if self.current is not None else self.resuming

    def add_timer(self, deadline_ns: int, callback: Callable[[], None]) -> int:
        """Call ``callback()`` once CLOCK_MONOTONIC reaches ``deadline_ns``
        (from the run loop, between task runs, or at a syscall entry).
        Returns a handle for :meth:`cancel_timer`."""
        self._next_timer += 1
        self.timers[self._next_timer] = (deadline_ns, callback)
        return self._next_timer

    def cancel_timer(self, handle: int) -> None:
        """Forget a timer (fired or unknown handles are ignored)."""
        self.timers.pop(handle, None)

    def _next_deadline(self) -> int | None:
        best = None
        for t in self.blocked.values():
            d = _wait_of(t).deadline_ns
            if d is not None and (best is None or d < best):
                best = d
        for d, _ in self.timers.values():
            if best is None or d < best:
                best = d
        return best

    def fire_due_timers(self, now: int | None = None) -> None:
        """Run the callbacks of the kernel timers that are due: from the run
        loop, and at each syscall entry so that a running task sees a
        timer expire (and its notification) at its next syscall."""
        if now is None:
            now = time.monotonic_ns()
        for handle in [h for h, (d, _) in self.timers.items() if d <= now]:
            entry = self.timers.pop(handle, None)
            if entry is not None:
                entry[1]()

    def _fire_timers(self, now: int) -> None:
        self.fire_due_timers(now)
        due = [(t, w) for t in self.blocked.values()
               if (w := _wait_of(t)).deadline_ns is not None and w.deadline_ns <= now]
        for t, w in due:
            self.wake(t, w.timeout_result)

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
                        continue  # woken early by input, or a kernel timer fired
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
            if task.wait is not None:
                if not self._complete_syscall(task):
                    continue
            elif task.sig_pending and not self.deliver_pending(task):
                continue
            if not jobctl.runnable(task):
                continue
            # Preemption when others are runnable: after SYSCALL_SLICE
            # syscalls (deterministic, at a syscall boundary) or TIME_SLICE_US
            # of CPU time; a wall-clock stop to meet a sleeper's deadline.
            self.sched[0] = SYSCALL_SLICE if queue else 0
            cpu_slice = TIME_SLICE_US if queue else 0
            timeout = 0
            if self.blocked:
                deadline = self._next_deadline()
                if deadline is not None:
                    timeout = max(1, (deadline - time.monotonic_ns()) // 1000)
            self.current = task
            self._unbounded = not queue
            try:
                requeue = self._run_task(task, timeout, cpu_slice)
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
            cur.mm.address_space.interrupt()

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
        """Finish a woken task's syscall (its wait's ``resume``) and deliver
        its signals. False if the task blocked again or died."""
        resume = _wait_of(task).resume
        task.wait = None
        self.resuming = task
        try:
            ret = resume()
        except Errno as e:
            ret = -e.errno
        except TaskStop:
            return False
        except Exception as exc:
            ret = self.internal_error(task, task.stopped_syscall, exc)
        finally:
            self.resuming = None
        if ret == -ERESTARTSYS.errno:
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

        detail = "; ".join([f"tid {t.tid} {_wait_of(t).what}" for t in self.blocked.values()]
                           + [f"pid {tg.tgid} stopped" for tg in jobctl.stopped_groups(self)])
        exc = Deadlock(detail)
        handler = self.on_deadlock
        if handler is not None:
            handler(exc)
        else:
            report_deadlock(self, exc)
        for t in list(self.blocked.values()):
            self.exit_task(t)

    def _run_task(self, task: Task, timeout_us: int = 0, cpu_slice_us: int = 0) -> bool:
        """One run of ``task``; True if it should go to the back of the
        queue (its slice ended or it was asked to yield)."""
        stop = task.mm.address_space.run(task.cpu, task.on_syscall, timeout_us, cpu_slice_us)
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
