"""Setting up one Unicorn engine (``docs/unicorn.md`` has the measured
facts this relies on): the direct ctypes entry points, the drop to user
mode through a ``fninit; sysretq`` trampoline, and the hooks (syscall,
memory faults, interrupts, and, once an engine needs timed stops, the
block hook that preempts between translation blocks,
``sentry.platform.preempt``).

The hooks share state with the run loop through two lists, so the hot
paths touch no attributes: ``state`` is ``[stop reason, fault address,
fault access, BaseException to re-raise, inside the syscall hook]`` and
``handler`` is ``[on_syscall]``.
"""

from __future__ import annotations

import ctypes
from typing import Any

from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_BLOCK,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_FETCH_UNMAPPED,
    UC_HOOK_MEM_READ_PROT,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import x86_const as x86

from sentry.hostarch import EXECUTE, NO_ACCESS, PAGE_SIZE, READ, WRITE, AccessType
from sentry.platform.address_space import SYSCALL_STOP, StopKind, StopReason
from sentry.platform.preempt import StopFlag, block_stop_callback
from sentry.platform.regions import PROT_EXEC, PROT_READ, PROT_WRITE
from sentry.platform.regs import FastRegs, uc_library

# The region table's permission bits are Unicorn's.
assert (PROT_READ, PROT_WRITE, PROT_EXEC) == (UC_PROT_READ, UC_PROT_WRITE, UC_PROT_EXEC)

FAULT_ACCESS: dict[int, AccessType] = {
    UC_MEM_READ_UNMAPPED: READ,
    UC_MEM_READ_PROT: READ,
    UC_MEM_WRITE_UNMAPPED: WRITE,
    UC_MEM_WRITE_PROT: WRITE,
    UC_MEM_FETCH_UNMAPPED: EXECUTE,
    UC_MEM_FETCH_PROT: EXECUTE,
}
"""The access of each memory-fault hook type."""

_HOOK_MEM_FAULTS = (
    UC_HOOK_MEM_READ_UNMAPPED
    | UC_HOOK_MEM_WRITE_UNMAPPED
    | UC_HOOK_MEM_FETCH_UNMAPPED
    | UC_HOOK_MEM_READ_PROT
    | UC_HOOK_MEM_WRITE_PROT
    | UC_HOOK_MEM_FETCH_PROT
)

_LIB = uc_library()
V = ctypes.c_void_p
# uc_emu_start releases the GIL (the binding's CDLL prototype): hooks
# re-acquire it, and other threads can call interrupt() meanwhile.
emu_start = _LIB.uc_emu_start
emu_stop = ctypes.PYFUNCTYPE(ctypes.c_int, V)(("uc_emu_stop", _LIB))
_uc_hook_add = _LIB.uc_hook_add

_SYSCALL_CB = ctypes.CFUNCTYPE(None, V, V)
_MEM_CB = ctypes.CFUNCTYPE(ctypes.c_bool, V, ctypes.c_int, ctypes.c_uint64, ctypes.c_int, ctypes.c_int64, V)
_INTR_CB = ctypes.CFUNCTYPE(None, V, ctypes.c_uint32, V)

_MSR_EFER = 0xC0000080
_MSR_STAR = 0xC0000081
_USER32_CS = 0x23  # STAR[63:48]: sysret loads CS = 0x23 + 16 | 3, SS = 0x23 + 8 | 3
_TRAMPOLINE_ADDR = 0x1000
_TRAMPOLINE = b"\xdb\xe3\x48\x0f\x07"  # fninit; sysretq
_INITIAL_RFLAGS = 0x202
_INITIAL_MXCSR = 0x1F80
SYSCALL_INSN_LEN = 2  # 0f 05


def new_engine() -> Any:
    """A new x86-64 engine (``Uc``), not yet in user mode."""
    return Uc(UC_ARCH_X86, UC_MODE_64)


def enter_user_mode(uc: Any) -> None:
    """Drop the engine to CPL 3 with a ``fninit; sysretq`` trampoline, and
    leave Linux's initial user state (MXCSR, clean RCX/R11/RIP)."""
    uc.mem_map(_TRAMPOLINE_ADDR, PAGE_SIZE, UC_PROT_ALL)
    uc.mem_write(_TRAMPOLINE_ADDR, _TRAMPOLINE)
    uc.msr_write(_MSR_EFER, uc.msr_read(_MSR_EFER) | 1)  # EFER.SCE
    uc.msr_write(_MSR_STAR, _USER32_CS << 48)
    end = _TRAMPOLINE_ADDR + len(_TRAMPOLINE)
    uc.reg_write(x86.UC_X86_REG_RCX, end)  # sysret: RIP = RCX
    uc.reg_write(x86.UC_X86_REG_R11, _INITIAL_RFLAGS)  # sysret: RFLAGS = R11
    uc.emu_start(_TRAMPOLINE_ADDR, end)
    uc.ctl_remove_cache(_TRAMPOLINE_ADDR, _TRAMPOLINE_ADDR + PAGE_SIZE)
    uc.mem_unmap(_TRAMPOLINE_ADDR, PAGE_SIZE)
    if uc.reg_read(x86.UC_X86_REG_CS) & 3 != 3:
        raise RuntimeError("could not switch the Unicorn engine to user mode")
    uc.reg_write(x86.UC_X86_REG_RCX, 0)
    uc.reg_write(x86.UC_X86_REG_R11, 0)
    uc.reg_write(x86.UC_X86_REG_RIP, 0)
    uc.reg_write(x86.UC_X86_REG_MXCSR, _INITIAL_MXCSR)


def install_hooks(uc: Any, handle: Any, fast: FastRegs, state: list[Any], handler: list[Any],
                  async_interrupt: list[bool]) -> tuple[Any, ...]:
    """Install the syscall, fault and interrupt hooks; returns the ctypes
    callbacks, which the caller must keep alive as long as the engine.
    ``async_interrupt[0]`` set (an ``interrupt()`` from another thread
    while no block hook is installed) makes the next syscall stop the run:
    the syscall ends its block, a safe point."""
    read_syscall_regs = fast.read_syscall_regs
    write_rax = fast.write_rax
    stop = emu_stop
    syscall_stop = SYSCALL_STOP
    internal_error = StopKind.INTERNAL_ERROR

    def syscall_hook(_uch: int, _user_data: int) -> None:
        state[4] = True
        try:
            nr, a0, a1, a2, a3, a4, a5 = read_syscall_regs()
            ret = handler[0](nr, a0, a1, a2, a3, a4, a5)
            if ret is None:
                state[0] = syscall_stop
                stop(handle)
            else:
                write_rax(ret)
                if async_interrupt[0]:
                    stop(handle)
        except Exception as e:
            state[0] = StopReason(internal_error, exc=e)
            stop(handle)
        except BaseException as e:
            state[0] = StopReason(internal_error, exc=e)
            state[3] = e
            stop(handle)
        state[4] = False

    fault_access = FAULT_ACCESS

    def mem_hook(_uch: int, access: int, address: int, _size: int, _value: int, _ud: int) -> bool:
        if state[1] < 0:
            state[1] = address
            state[2] = fault_access.get(access, NO_ACCESS)
        return False

    exception = StopKind.EXCEPTION

    def intr_hook(_uch: int, intno: int, _ud: int) -> None:
        state[0] = StopReason(exception, vector=intno)
        stop(handle)

    callbacks = (_SYSCALL_CB(syscall_hook), _MEM_CB(mem_hook), _INTR_CB(intr_hook))
    cb_sys, cb_mem, cb_intr = callbacks
    _hook_add(uc, UC_HOOK_INSN, cb_sys, ctypes.c_int(x86.UC_X86_INS_SYSCALL))
    _hook_add(uc, _HOOK_MEM_FAULTS, cb_mem)
    _hook_add(uc, UC_HOOK_INTR, cb_intr)
    return callbacks


def install_block_stop(uc: Any, stop_flag: StopFlag) -> None:
    """Instrument every translation block to stop once ``stop_flag`` is
    raised (``sentry.platform.preempt``), and flush the translations made
    before: Unicorn instruments only blocks translated while a hook exists."""
    _hook_add(uc, UC_HOOK_BLOCK, block_stop_callback(), user_data=stop_flag.address)
    uc.ctl_flush_tb()


def _hook_add(uc: Any, kind: int, callback: Any, *extra: Any, user_data: int | None = None) -> None:
    hh = ctypes.c_size_t()
    err = _uc_hook_add(
        uc._uch,
        ctypes.byref(hh),
        kind,
        callback,
        V(user_data),
        ctypes.c_uint64(1),
        ctypes.c_uint64(0),
        *extra,
    )
    if err:
        raise UcError(err)


class Counters:
    """Operation counts of one address space (plain ints)."""

    __slots__ = ("faults", "invalidations", "maps", "max_regions", "protects", "runs", "unmaps")

    def __init__(self) -> None:
        self.maps = 0
        """``mem_map_ptr`` calls."""
        self.unmaps = 0
        """``mem_unmap`` calls."""
        self.protects = 0
        """``mem_protect`` calls."""
        self.invalidations = 0
        """translation-cache flushes."""
        self.runs = 0
        """``run`` calls that entered the engine."""
        self.faults = 0
        """FAULT stops."""
        self.max_regions = 0
        """The largest number of Unicorn regions seen (the table is empty
        once the address space is released, so the peak is kept here)."""

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a dict."""
        return {name: getattr(self, name) for name in self.__slots__}
