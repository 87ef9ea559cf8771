"""Signal delivery (Linux ``send_signal``, ``force_sig_info``,
``get_signal``; gVisor ``kernel/task_signals.go``): pending signals,
their default actions, and handler frames (built by
``sentry.kernel.signals.setup_frame``) at the return to user mode.
"""

from __future__ import annotations

from sentry.abi.signals import (
    SA_NODEFER,
    SA_RESETHAND,
    SI_KERNEL,
    SIG_DFL,
    SIG_IGN,
    SIGKILL,
    SIGSEGV,
)
from sentry.kernel import jobctl
from sentry.kernel.core import KernelCore
from sentry.kernel.scheduler import interrupted_result
from sentry.kernel.signals import SignalInfo, default_is_ignore, default_is_stop, setup_frame
from sentry.kernel.task import Task
from sentry.linuxerr import Errno
from sentry.vfs.waiter import EVENT_IN


class SignalDelivery(KernelCore):
    """The Kernel's signal delivery (a part of :class:`~sentry.kernel.kernel.Kernel`)."""

    def send_signal(self, task: Task, info: SignalInfo) -> None:
        """Make ``info`` pending for ``task`` (Linux ``send_signal``). A
        signal whose action is to ignore it is discarded at once. Delivery
        happens when the task next returns to user mode with the signal
        unblocked (``deliver_pending``)."""
        sig = info.signo
        jobctl.prepare_signal(self, task, sig)
        action = task.tg.sigactions.get(sig)
        handler = action.handler if action is not None else SIG_DFL
        bit = 1 << (sig - 1)
        # Linux ``sig_ignored``: a blocked signal is kept even if ignored
        # (its action may change before it is unblocked; a signalfd reads it).
        ignored = handler == SIG_IGN or (handler == SIG_DFL and default_is_ignore(sig))
        if sig != SIGKILL and ignored and not task.signal_mask & bit:
            return
        if handler == SIG_DFL and default_is_stop(sig) and not task.signal_mask & bit:
            # Stop now (a blocked task stays blocked: its syscall carries on
            # once the group continues, as Linux restarts it).
            jobctl.do_group_stop(self, task, info)
            return
        if not task.pending & bit:
            task.pending_info[sig] = info
        task.pending |= bit
        task.sig_pending = bool(task.pending & ~task.signal_mask) or sig == SIGKILL
        task.tg.signalfd_queue.notify(EVENT_IN)
        w = task.wait
        if w is None or w.woken:
            return
        if bit & task.sigwait_mask and sig != SIGKILL:
            self.wake(task)  # rt_sigtimedwait takes it (its resume dequeues)
        elif task.sig_pending and w.interruptible:
            self.wake(task, interrupted_result(task))

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
        if task.saved_signal_mask is not None and not task.tg.group_stopped:
            # No handler frame took the mask a temporary one replaced (the
            # signal was ignored): put it back now (Linux
            # ``restore_saved_sigmask``).
            task.set_signal_mask(task.saved_signal_mask)
            task.saved_signal_mask = None
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
