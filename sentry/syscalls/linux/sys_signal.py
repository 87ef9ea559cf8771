"""Signals: kill, tkill, tgkill, rt_sigaction, rt_sigprocmask, rt_sigreturn,
rt_sigpending, sigaltstack (gVisor ``sys_signal.go``).

Signals sent to the caller's own process become pending and are delivered
with a real frame as the syscall returns (``sentry.kernel.signals``);
tkill/tgkill reach any thread of the kernel; kill reaches a process, a
process group (``sentry.kernel.pgroups``) or every process.
"""

from __future__ import annotations

import struct
import time

from sentry.abi.signals import (
    MINSIGSTKSZ,
    NSIG,
    SI_TKILL,
    SI_USER,
    SIG_BLOCK,
    SIG_SETMASK,
    SIG_UNBLOCK,
    SIGKILL,
    SIGSTOP,
    SS_AUTODISARM,
    SS_DISABLE,
    SS_ONSTACK,
)
from sentry.kernel import pgroups
from sentry.kernel.signals import (
    SignalInfo,
    on_alt_stack,
    sigreturn,
)
from sentry.kernel.task import SigAction, Task, TaskStop, ThreadGroup
from sentry.linuxerr import EAGAIN, EINTR, EINVAL, ENOMEM, EPERM, ESRCH, Errno
from sentry.syscalls.linux.args import copy_in_timespec, s32

_SIGACTION = struct.Struct("<QQQQ")  # handler, flags, restorer, mask
_STACK_T = struct.Struct("<QiiQ")


def _check_sig(sig: int) -> int:
    sig = s32(sig)
    if not 0 <= sig <= NSIG:
        raise EINVAL
    return sig


def _send(t: Task, target: Task, sig: int, code: int) -> int:
    if sig:
        t.kernel.send_signal(target, SignalInfo(sig, code=code, pid=t.tg.tgid, uid=t.creds.ruid))
    return 0


def sys_kill(t: Task, pid: int, sig: int, *_: int) -> int:
    """kill(pid, sig) (Linux ``kill_something_info``): pid > 0 one process,
    0 the caller's process group, -1 every process but init and the
    caller's own, < -1 the group -pid. ESRCH when nothing matched, checked
    before EINVAL for a bad signal (Linux looks targets up first and
    checks the signal per target)."""
    pid = s32(pid)
    k = t.kernel
    if pid > 0:
        if pid == t.tg.tgid:
            targets = [t.tg]
        else:
            other = k.thread_groups.get(pid)
            targets = [] if other is None or all(x.exited for x in other.tasks) else [other]
    elif pid == -1:
        targets = [tg for tg in k.thread_groups.values()
                   if tg.tgid > 1 and tg is not t.tg and not all(x.exited for x in tg.tasks)]
    else:
        targets = pgroups.group_members(k, t.tg.pgid if pid == 0 else -pid)
    if not targets:
        raise ESRCH
    sig = _check_sig(sig)
    for tg in targets:
        if tg is t.tg:
            _send(t, process_target(t, tg, sig), sig, SI_USER)
        else:
            pgroups.signal_process(k, tg, sig, t.tg.tgid, t.creds.ruid)
    return 0


def process_target(t: Task, tg: ThreadGroup, sig: int) -> Task:
    """The thread of ``tg`` that takes a process-directed ``sig``: the
    caller if it belongs to ``tg``, else the first live thread, preferring
    one that does not block the signal (Linux ``complete_signal``)."""
    live = [x for x in tg.tasks if not x.exited]
    target = t if t in live else live[0]
    if sig and target.signal_mask & (1 << (sig - 1)):
        for other in live:
            if not other.signal_mask & (1 << (sig - 1)):
                target = other
                break
    return target


def _thread(t: Task, tid: int, tgid: int | None) -> Task:
    target = t.kernel.tasks.get(tid)
    if target is None or target.exited or (tgid is not None and target.tg.tgid != tgid):
        raise ESRCH
    return target


def sys_tkill(t: Task, tid: int, sig: int, *_: int) -> int:
    tid = s32(tid)
    if tid <= 0:
        raise EINVAL
    target = _thread(t, tid, None)  # ESRCH before EINVAL, as kill
    return _send(t, target, _check_sig(sig), SI_TKILL)


def sys_tgkill(t: Task, tgid: int, tid: int, sig: int, *_: int) -> int:
    tgid, tid = s32(tgid), s32(tid)
    if tgid <= 0 or tid <= 0:
        raise EINVAL
    target = _thread(t, tid, tgid)
    return _send(t, target, _check_sig(sig), SI_TKILL)


def sys_rt_sigaction(t: Task, sig: int, act: int, oldact: int, sigsetsize: int, *_: int) -> int:
    sig = s32(sig)
    if sigsetsize != 8 or not 1 <= sig <= NSIG:
        raise EINVAL
    if act and sig in (SIGKILL, SIGSTOP):
        raise EINVAL
    new = None
    if act:
        handler, flags, restorer, mask = _SIGACTION.unpack(t.copy_in_bytes(act, 32))
        new = SigAction(handler, flags, restorer, mask & ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))))
    if oldact:
        cur = t.tg.sigactions.get(sig) or SigAction()
        t.copy_out_bytes(oldact, _SIGACTION.pack(cur.handler, cur.flags, cur.restorer, cur.mask))
    if new is not None:
        t.tg.sigactions[sig] = new
        if new.handler == 1 or (new.handler == 0 and sig in (17, 18, 23, 28)):
            # Setting SIG_IGN (or a default of ignore) discards a pending one.
            t.pending &= ~(1 << (sig - 1))
            t.pending_info.pop(sig, None)
            t.set_signal_mask(t.signal_mask)
    return 0


def sys_rt_sigprocmask(t: Task, how: int, set_: int, oldset: int, sigsetsize: int, *_: int) -> int:
    if sigsetsize != 8:
        raise EINVAL
    old = t.signal_mask
    new = old
    if set_:
        how = s32(how)
        (mask,) = struct.unpack("<Q", t.copy_in_bytes(set_, 8))
        if how == SIG_BLOCK:
            new = old | mask
        elif how == SIG_UNBLOCK:
            new = old & ~mask
        elif how == SIG_SETMASK:
            new = mask
        else:
            raise EINVAL
    if oldset:
        t.copy_out_bytes(oldset, struct.pack("<Q", old))
    t.set_signal_mask(new)
    return 0


def sys_rt_sigpending(t: Task, set_: int, sigsetsize: int, *_: int) -> int:
    if sigsetsize > 8:
        raise EINVAL
    t.copy_out_bytes(set_, struct.pack("<Q", t.pending & t.signal_mask)[:sigsetsize])
    return 0


def _take_signal(t: Task, mask: int, info: int) -> int:
    """Dequeue the lowest pending signal in ``mask`` (0 if none), writing
    its siginfo to ``info`` when non-zero."""
    ready = t.pending & mask
    if not ready:
        return 0
    sig = (ready & -ready).bit_length()
    t.pending &= ~(1 << (sig - 1))
    si = t.pending_info.pop(sig, None) or SignalInfo(sig)
    t.set_signal_mask(t.signal_mask)  # recompute sig_pending
    if info:
        t.copy_out_bytes(info, si.pack())
    return sig


def sys_rt_sigtimedwait(t: Task, set_: int, info: int, timeout: int, sigsetsize: int, *_: int) -> int:
    """Linux ``do_sigtimedwait``: EINVAL unless ``sigsetsize`` is 8; wait
    for a signal in the set (SIGKILL and SIGSTOP never count), take it
    from the pending set without running its handler and return its
    number; EAGAIN when ``timeout`` passes (at once for a zero timeout),
    EINTR when another signal interrupts the wait, EINVAL for a bad
    timespec, EFAULT."""
    if sigsetsize != 8:
        raise EINVAL
    (mask,) = struct.unpack("<Q", t.copy_in_bytes(set_, 8))
    mask &= ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)))
    deadline = None
    if timeout:
        deadline = time.monotonic_ns() + copy_in_timespec(t, timeout)
    sig = _take_signal(t, mask, info)
    if sig:
        return sig
    if deadline is not None and deadline <= time.monotonic_ns():
        raise EAGAIN

    def resume() -> int:
        t.sigwait_mask = 0
        got = _take_signal(t, mask, info)
        if got:
            return got
        t.sigwait_mask = mask
        t.kernel.block(t, "rt_sigtimedwait", resume, deadline_ns=deadline, timeout_result=-EAGAIN.errno,
                       cancel=cancel)

    def cancel() -> None:
        t.sigwait_mask = 0

    t.sigwait_mask = mask
    t.kernel.block(t, "rt_sigtimedwait", resume, deadline_ns=deadline, timeout_result=-EAGAIN.errno,
                   cancel=cancel)


def sys_rt_sigreturn(t: Task, *_: int) -> int:
    """Restore the interrupted context from the signal frame; a bad frame
    kills the task with SIGSEGV (Linux ``signal_fault``)."""
    try:
        return sigreturn(t)
    except Errno:
        t.kernel.force_signal(t, SignalInfo(11, code=0x80, fault=True))
        if t.exited:
            raise TaskStop from None
        return t.cpu.get_reg("rax")


def sys_sigaltstack(t: Task, ss: int, old_ss: int, *_: int) -> int:
    """Linux ``do_sigaltstack``: EPERM while running on the alternate stack,
    EINVAL for unknown flags, ENOMEM below MINSIGSTKSZ."""
    base, size, flags = t.alt_stack
    sp = t.cpu.rsp
    new = None
    if ss:
        ss_sp, ss_flags, _pad, ss_size = _STACK_T.unpack(t.copy_in_bytes(ss, 24))
        if on_alt_stack(t, sp):
            raise EPERM
        mode = ss_flags & ~SS_AUTODISARM
        if mode not in (0, SS_DISABLE, SS_ONSTACK):
            raise EINVAL
        if mode == SS_DISABLE:
            new = (0, 0, SS_DISABLE)
        else:
            if ss_size < MINSIGSTKSZ:
                raise ENOMEM
            new = (ss_sp, ss_size, ss_flags & SS_AUTODISARM)
    if old_ss:
        cur_flags = SS_DISABLE if not size else (SS_ONSTACK if on_alt_stack(t, sp) else 0) | (flags & SS_AUTODISARM)
        t.copy_out_bytes(old_ss, _STACK_T.pack(base, cur_flags, 0, size))
    if new is not None:
        t.alt_stack = new
    return 0


def sys_rt_sigsuspend(t: Task, mask: int, sigsetsize: int, *_: int) -> int:
    """Wait for a signal with ``mask`` blocked meanwhile: EINVAL unless the
    set is 8 bytes, EFAULT for an unreadable set, else EINTR once a signal
    was delivered. The handler's frame records the mask from before the
    call, so its return restores that (Linux ``saved_sigmask``)."""
    if sigsetsize != 8:
        raise EINVAL
    (new,) = struct.unpack("<Q", t.copy_in_bytes(mask, 8))
    old = t.signal_mask if t.saved_signal_mask is None else t.saved_signal_mask
    t.saved_signal_mask = old
    t.set_signal_mask(new)

    def done() -> int:
        if not t.sig_pending and t.saved_signal_mask is not None:
            t.set_signal_mask(t.saved_signal_mask)
            t.saved_signal_mask = None
        return -EINTR.errno

    if t.sig_pending:
        return -EINTR.errno
    t.kernel.block(t, "sigsuspend", done)


def sys_pause(t: Task, *_: int) -> int:
    """Sleep until a signal is delivered; then EINTR."""
    t.kernel.block(t, "pauses", lambda: -EINTR.errno)
