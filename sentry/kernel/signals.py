"""Signal delivery with real x86-64 frames (Linux ``arch/x86/kernel/signal.c``,
``kernel/signal.c``; gVisor ``kernel/task_signals.go``, ``arch/signal_amd64.go``).

A signal is delivered by building an ``rt_sigframe`` on the guest's stack
(or its alternate signal stack) exactly as Linux lays it out::

    frame -> pretcode (sa_restorer)      8
             ucontext                  304   uc_flags, uc_link, uc_stack,
                                              sigcontext (256), uc_sigmask
             siginfo                   128
    fpstate (64-byte aligned, above)   512   an FXSAVE image

and pointing the registers at the handler: RDI = signal, RSI = &siginfo,
RDX = &ucontext, RAX = 0, RSP = frame (so RSP+8 is 16-byte aligned, as
after a call). ``rt_sigreturn`` reads the (possibly modified) sigcontext
and mask back.

The x87/SSE registers of the interrupted code are kept by the kernel (a
copy of the CPU context per live frame) and restored at ``rt_sigreturn``,
so a handler using SSE cannot corrupt them. The FXSAVE image in the frame
holds Linux's initial control words only; a handler that edits the saved
floating-point state in the frame is not honoured (documented divergence).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sentry.abi.signals import (
    BUS_ADRERR,
    FPE_INTDIV,
    ILL_ILLOPN,
    SA_ONSTACK,
    SEGV_ACCERR,
    SEGV_MAPERR,
    SI_KERNEL,
    SI_USER,
    SIGBUS,
    SIGFPE,
    SIGILL,
    SIGSEGV,
    SIGTRAP,
    SS_AUTODISARM,
    SS_DISABLE,
    SS_ONSTACK,
    TRAP_BRKPT,
)
from sentry.hostarch import AccessType
from sentry.linuxerr import EFAULT, EPERM
from sentry.memmap.mappable import BusError
from sentry.usermem import DEFAULT_OPTS as _OPTS

if TYPE_CHECKING:
    from sentry.kernel.task import Task


# Default actions (Linux kernel/signal.c sig_kernel_*). Stop signals stop
# the thread group (``sentry.kernel.jobctl``).
_DEFAULT_IGNORE = frozenset({17, 18, 23, 28})  # CHLD, CONT, URG, WINCH
_DEFAULT_STOP = frozenset({19, 20, 21, 22})

_UC_SIGCONTEXT_SS, _UC_STRICT_RESTORE_SS = 0x2, 0x4
_USER_CS, _USER_DS = 0x33, 0x2B
_FIX_EFLAGS = 0x50DD5  # AC OF DF TF SF ZF AF PF CF RF: what sigreturn may change
_CLEAR_ON_ENTRY = 0x10000 | 0x400 | 0x100  # RF, DF, TF
_FRAME_SIZE = 8 + 304 + 128
_UC_OFF, _INFO_OFF = 8, 8 + 304
_SC_OFF = _UC_OFF + 40  # after uc_flags, uc_link, uc_stack
_MASK_OFF = _SC_OFF + 256
_FXSAVE_SIZE = 512
_GP_ORDER = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
             "rdi", "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip", "eflags")
_SIGCONTEXT = struct.Struct("<18Q4H5Q64x")  # gp..eflags, cs gs fs ss, err trapno oldmask cr2 fpstate
_STACK_T = struct.Struct("<QiiQ")
_MAX_SAVED_FRAMES = 64


@dataclass
class SignalInfo:
    """What ``siginfo_t`` says, plus the fault details sigcontext records."""

    signo: int
    code: int = SI_USER
    addr: int = 0  # si_addr for faults
    pid: int = 0  # si_pid/si_uid for kill
    uid: int = 0
    status: int = 0  # si_status of SIGCHLD
    trapno: int = 0
    err: int = 0
    fault: bool = False

    def pack(self) -> bytes:
        head = struct.pack("<iii4x", self.signo, 0, self.code)
        body = struct.pack("<Q", self.addr) if self.fault else struct.pack("<iIi", self.pid, self.uid, self.status)
        return (head + body).ljust(128, b"\0")


def fault_signal_info(err: Exception, addr: int, access: AccessType) -> SignalInfo:
    """The signal for an unresolvable page fault (Linux ``do_user_addr_fault``):
    SIGBUS/BUS_ADRERR past end of file, else SIGSEGV with SEGV_ACCERR when
    a vma forbade the access (EPERM) and SEGV_MAPERR when none covers it.
    ``err`` in sigcontext is the x86 page-fault error code."""
    code_bits = 4 | (2 if access.write else 0) | (16 if access.execute else 0)
    if isinstance(err, BusError):
        return SignalInfo(SIGBUS, BUS_ADRERR, addr, trapno=14, err=code_bits | 1, fault=True)
    if err is EPERM:
        return SignalInfo(SIGSEGV, SEGV_ACCERR, addr, trapno=14, err=code_bits | 1, fault=True)
    return SignalInfo(SIGSEGV, SEGV_MAPERR, addr, trapno=14, err=code_bits, fault=True)


# x86 exception vector -> (signal, si_code, whether si_addr is the faulting RIP)
_EXCEPTIONS = {
    0: (SIGFPE, FPE_INTDIV, True),
    1: (SIGTRAP, TRAP_BRKPT, True),
    3: (SIGTRAP, SI_KERNEL, False),
    4: (SIGSEGV, SI_KERNEL, False),
    5: (SIGSEGV, SI_KERNEL, False),
    6: (SIGILL, ILL_ILLOPN, True),
    13: (SIGSEGV, SI_KERNEL, False),
    16: (SIGFPE, 0, True),
    19: (SIGFPE, 0, True),
}


def exception_signal_info(vector: int, rip: int) -> SignalInfo:
    """The signal Linux's trap handlers send for CPU exception ``vector``
    raised by the instruction at ``rip``."""
    sig, code, addr_is_rip = _EXCEPTIONS.get(vector, (SIGSEGV, SI_KERNEL, False))
    return SignalInfo(sig, code, rip if addr_is_rip else 0, trapno=vector, fault=True)


def _fxsave_image() -> bytes:
    """FXSAVE layout with Linux's initial x87 control word and MXCSR."""
    img = bytearray(_FXSAVE_SIZE)
    struct.pack_into("<H", img, 0, 0x37F)
    struct.pack_into("<II", img, 24, 0x1F80, 0xFFFF)  # MXCSR, MXCSR_MASK
    return bytes(img)


_FXSAVE = _fxsave_image()


def default_is_ignore(sig: int) -> bool:
    return sig in _DEFAULT_IGNORE


def default_is_stop(sig: int) -> bool:
    return sig in _DEFAULT_STOP


def on_alt_stack(t: Task, sp: int) -> bool:
    base, size, _flags = t.alt_stack
    return size != 0 and base < sp <= base + size


def setup_frame(t: Task, info: SignalInfo, handler: int, flags: int, restorer: int, mask: int) -> None:
    """Build the rt_sigframe for ``info`` and point the CPU at ``handler``.

    The interrupted state is read from the task's CPU context (inside the
    syscall hook that includes the syscall's result in RAX, set by the
    caller). Raises EFAULT if the frame cannot be written (the caller then
    kills the task with SIGSEGV, as Linux's ``force_sigsegv`` does).
    """
    cpu = t.cpu
    regs = cpu.get_regs()
    sp = regs["rsp"]
    # A syscall's temporary mask interrupted by this signal: the frame
    # saves the caller's own mask (Linux ``sigmask_to_save``).
    saved_mask = t.signal_mask if t.saved_signal_mask is None else t.saved_signal_mask
    t.saved_signal_mask = None
    base, size, ss_flags = t.alt_stack
    on_alt = on_alt_stack(t, sp)
    if flags & SA_ONSTACK and size and not on_alt and not ss_flags & SS_DISABLE:
        sp = base + size
    elif not on_alt:
        sp -= 128  # the x86-64 red zone
    fpstate = (sp - _FXSAVE_SIZE) & ~63
    frame = ((fpstate - _FRAME_SIZE) & ~15) - 8
    stack_flags = SS_DISABLE if not size else (SS_ONSTACK if on_alt_stack(t, regs["rsp"]) else 0)
    sc = _SIGCONTEXT.pack(
        *(regs[name] for name in _GP_ORDER),
        _USER_CS, 0, 0, _USER_DS,
        info.err, info.trapno, saved_mask, info.addr if info.fault else 0, fpstate,
    )
    uc = (
        struct.pack("<QQ", _UC_SIGCONTEXT_SS | _UC_STRICT_RESTORE_SS, 0)
        + _STACK_T.pack(base, stack_flags, 0, size)
        + sc
        + struct.pack("<Q", saved_mask)
    )
    data = struct.pack("<Q", restorer) + uc + info.pack()
    _, err = t.mm.copy_out(frame, data, _OPTS)
    _, err2 = t.mm.copy_out(fpstate, _FXSAVE, _OPTS)
    if err is not None or err2 is not None:
        raise EFAULT
    _remember_fp_state(t, frame)
    if flags & SA_ONSTACK and ss_flags & SS_AUTODISARM:
        t.alt_stack = (0, 0, SS_DISABLE)
    cpu.set_regs(
        rip=handler, rsp=frame, rdi=info.signo, rsi=frame + _INFO_OFF, rdx=frame + _UC_OFF, rax=0,
        eflags=regs["eflags"] & ~_CLEAR_ON_ENTRY,
    )
    t.set_signal_mask(mask)


def _remember_fp_state(t: Task, frame: int) -> None:
    saved: list[tuple[int, Any]] = t.signal_frames
    # Frames at or below the new one were abandoned (siglongjmp out of a
    # handler); drop them, and bound the list for handlers on other stacks.
    saved[:] = [(addr, ctx) for addr, ctx in saved if addr > frame][-_MAX_SAVED_FRAMES:]
    saved.append((frame, t.cpu.clone()))


def sigreturn(t: Task) -> int:
    """``rt_sigreturn``: restore the state saved in the frame at RSP-8.

    Returns the restored RAX (the dispatcher writes it back). Raises EFAULT
    when the frame is unreadable (the caller forces SIGSEGV).
    """
    cpu = t.cpu
    frame = (cpu.rsp - 8) & ((1 << 64) - 1)
    buf = bytearray(_FRAME_SIZE)
    _, err = t.mm.copy_in(frame, buf, _OPTS)
    if err is not None:
        raise EFAULT
    fields = _SIGCONTEXT.unpack_from(buf, _SC_OFF)
    (mask,) = struct.unpack_from("<Q", buf, _MASK_OFF)
    for i, (addr, ctx) in enumerate(t.signal_frames):
        if addr == frame:
            cpu.copy_state_from(ctx)
            for _, old in t.signal_frames[i:]:
                old.release()
            del t.signal_frames[i:]
            break
    regs: dict[str, int] = dict(zip(_GP_ORDER, fields[:18], strict=True))
    eflags = (cpu.get_reg("eflags") & ~_FIX_EFLAGS) | (regs.pop("eflags") & _FIX_EFLAGS)
    cpu.set_regs(regs, eflags=eflags)
    t.set_signal_mask(mask)
    return regs["rax"]
