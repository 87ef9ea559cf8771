"""The fast register path: Unicorn's C register API through ctypes, directly.

The Python binding's register access is slow: ``uc.reg_read`` builds a ctypes
object, resolves the register class and converts arguments on every call.
Here every buffer and argument is built once per engine and the C functions
(``uc_reg_read_batch``, ``uc_reg_write``, ...) are called through ctypes
prototypes of our own, with argtypes set, on the engine handle of the
binding's ``Uc`` object (``uc._uch``, a ``c_void_p``). The prototypes are
``PYFUNCTYPE`` (the GIL stays held: these calls take well under a
microsecond and never call back into Python) bound to the very library
object the binding loaded (``unicorn.unicorn_py3.unicorn.uclib`` in 2.1.4,
``unicorn.unicorn._uc`` in older bindings), so the binding's own prototypes
are left untouched.

Measured on the development machine (Python 3.11, unicorn 2.1.4; per call,
loop of 200k-500k calls):

=====================================  ==============
``read_syscall_regs()`` (7 registers)   0.40-0.43 us
``uc.reg_read_batch`` (7 registers)     12.4-16.3 us
``uc.reg_read`` (1 register)            1.5-2.1 us
``write_rax(v)``                        0.32-0.42 us
``uc.reg_write`` (1 register)           1.7-1.9 us
=====================================  ==============

(``tests/platform/bench_platform.py``; ranges over runs on a loaded
two-core machine.)

All values are unsigned 64-bit ints. Writes accept negative ints and store
them in two's complement (``-1`` reads back as ``2**64 - 1``), like ctypes'
``c_uint64`` does.

Two accessors exist:

* ``FastRegs(uc)``: on the live engine (the running thread's registers);
* ``context_read``/``context_write``: on a saved ``UcContext`` (a thread
  that is switched out), via ``uc_context_reg_read_batch``/``..._write_batch``.

Precondition for every call: the ``Uc`` (and the context) is still open. A
``FastRegs`` keeps a reference to its ``Uc`` so the engine cannot be
garbage-collected under it, but an explicit close would leave it dangling;
the address space drops its ``FastRegs`` when it releases the engine.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Sequence
from typing import Any

from unicorn import UcError
from unicorn import x86_const as x86

__all__ = [
    "GENERAL_REGS",
    "SYSCALL_REGS",
    "FastRegs",
    "context_read",
    "context_write",
    "uc_library",
]

SYSCALL_REGS: tuple[int, ...] = (
    x86.UC_X86_REG_RAX,
    x86.UC_X86_REG_RDI,
    x86.UC_X86_REG_RSI,
    x86.UC_X86_REG_RDX,
    x86.UC_X86_REG_R10,
    x86.UC_X86_REG_R8,
    x86.UC_X86_REG_R9,
)
"""Syscall number and six arguments, in the x86-64 Linux ABI order."""

GENERAL_REGS: dict[str, int] = {
    "rax": x86.UC_X86_REG_RAX,
    "rbx": x86.UC_X86_REG_RBX,
    "rcx": x86.UC_X86_REG_RCX,
    "rdx": x86.UC_X86_REG_RDX,
    "rsi": x86.UC_X86_REG_RSI,
    "rdi": x86.UC_X86_REG_RDI,
    "rbp": x86.UC_X86_REG_RBP,
    "rsp": x86.UC_X86_REG_RSP,
    "r8": x86.UC_X86_REG_R8,
    "r9": x86.UC_X86_REG_R9,
    "r10": x86.UC_X86_REG_R10,
    "r11": x86.UC_X86_REG_R11,
    "r12": x86.UC_X86_REG_R12,
    "r13": x86.UC_X86_REG_R13,
    "r14": x86.UC_X86_REG_R14,
    "r15": x86.UC_X86_REG_R15,
    "rip": x86.UC_X86_REG_RIP,
    "eflags": x86.UC_X86_REG_EFLAGS,
    "fs_base": x86.UC_X86_REG_FS_BASE,
    "gs_base": x86.UC_X86_REG_GS_BASE,
}
"""The general registers of a thread (names as in Linux's
``user_regs_struct``), mapped to Unicorn register ids. All are 64-bit."""

_RAX = x86.UC_X86_REG_RAX
_V = ctypes.c_void_p
_I = ctypes.c_int


def uc_library() -> ctypes.CDLL:
    """Return the ``CDLL`` object the unicorn binding loaded the library with."""
    try:
        from unicorn.unicorn_py3 import unicorn as binding

        lib = binding.uclib
    except (ImportError, AttributeError):  # older bindings
        from unicorn import unicorn as binding_old

        lib = binding_old._uc
    assert isinstance(lib, ctypes.CDLL)
    return lib


_LIB = uc_library()


def _proto(name: str, *argtypes: Any) -> Callable[..., int]:
    """A GIL-holding prototype for library function ``name`` returning uc_err."""
    return ctypes.PYFUNCTYPE(ctypes.c_int, *argtypes)((name, _LIB))


_uc_reg_read = _proto("uc_reg_read", _V, _I, _V)
_uc_reg_write = _proto("uc_reg_write", _V, _I, _V)
_uc_reg_read_batch = _proto("uc_reg_read_batch", _V, _V, _V, _I)
_uc_reg_write_batch = _proto("uc_reg_write_batch", _V, _V, _V, _I)
_uc_context_reg_read_batch = _proto("uc_context_reg_read_batch", _V, _V, _V, _I)
_uc_context_reg_write_batch = _proto("uc_context_reg_write_batch", _V, _V, _V, _I)


class _Batch:
    """Preallocated id and value buffers for reading/writing ``ids`` at once."""

    __slots__ = ("count", "ids", "ids_p", "ptrs", "ptrs_p", "unpack", "vals")

    def __init__(self, ids: Sequence[int]) -> None:
        n = len(ids)
        self.ids = (ctypes.c_int * n)(*ids)
        self.vals = (ctypes.c_uint64 * n)()
        base = ctypes.addressof(self.vals)
        self.ptrs = (ctypes.c_void_p * n)(*(base + 8 * i for i in range(n)))
        self.ids_p = _V(ctypes.addressof(self.ids))
        self.ptrs_p = _V(ctypes.addressof(self.ptrs))
        self.count = _I(n)
        self.unpack = struct.Struct(f"<{n}Q").unpack_from


def _check(err: int) -> None:
    if err:
        raise UcError(err)


class FastRegs:
    """Register access on one live engine, with buffers allocated once.

    The hot methods are closures stored on the instance (no bound-method
    overhead); bind them to locals in loops and hooks:

    * ``read_syscall_regs() -> tuple[int, ...]``: ``(nr, a0, ..., a5)``, i.e.
      RAX, RDI, RSI, RDX, R10, R8, R9, unsigned;
    * ``write_rax(value)``: RAX = ``value`` (negative ints in two's complement);
    * ``read_reg(reg_id) -> int`` / ``write_reg(reg_id, value)``: any 64-bit
      register by Unicorn id.

    ``read_regs(ids)``/``write_regs(pairs)`` are the general batch forms
    (they allocate buffers per call: fine outside the syscall path).
    """

    __slots__ = ("_handle", "_uc", "read_reg", "read_syscall_regs", "write_rax", "write_reg")

    def __init__(self, uc: Any) -> None:
        self._uc = uc
        handle = _V(uc._uch.value)
        self._handle = handle
        sys_batch = _Batch(SYSCALL_REGS)
        read_batch = _uc_reg_read_batch
        ids_p, ptrs_p, count = sys_batch.ids_p, sys_batch.ptrs_p, sys_batch.count
        vals, unpack = sys_batch.vals, sys_batch.unpack

        # The pointers above are raw addresses: the default argument keeps
        # the batch's arrays alive for as long as the closure lives.
        def read_syscall_regs(_keep: _Batch = sys_batch) -> tuple[int, ...]:
            err = read_batch(handle, ids_p, ptrs_p, count)
            if err:
                raise UcError(err)
            return unpack(vals)

        rax_buf = ctypes.c_uint64()
        rax_p = _V(ctypes.addressof(rax_buf))
        rax_id = _I(_RAX)
        reg_write = _uc_reg_write

        def write_rax(value: int, _keep: ctypes.c_uint64 = rax_buf) -> None:
            rax_buf.value = value
            err = reg_write(handle, rax_id, rax_p)
            if err:
                raise UcError(err)

        one_buf = ctypes.c_uint64()
        one_p = _V(ctypes.addressof(one_buf))
        reg_read = _uc_reg_read

        def read_reg(reg_id: int, _keep: ctypes.c_uint64 = one_buf) -> int:
            _check(reg_read(handle, reg_id, one_p))
            return one_buf.value

        def write_reg(reg_id: int, value: int, _keep: ctypes.c_uint64 = one_buf) -> None:
            one_buf.value = value
            _check(reg_write(handle, reg_id, one_p))

        self.read_syscall_regs = read_syscall_regs
        self.write_rax = write_rax
        self.read_reg = read_reg
        self.write_reg = write_reg

    def read_regs(self, ids: Sequence[int]) -> tuple[int, ...]:
        """Read 64-bit registers ``ids`` in one library call."""
        b = _Batch(ids)
        _check(_uc_reg_read_batch(self._handle, b.ids_p, b.ptrs_p, b.count))
        return b.unpack(b.vals)

    def write_regs(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Write ``(reg_id, value)`` pairs of 64-bit registers in one call."""
        b = _Batch([rid for rid, _ in pairs])
        for i, (_, value) in enumerate(pairs):
            b.vals[i] = value
        _check(_uc_reg_write_batch(self._handle, b.ids_p, b.ptrs_p, b.count))


def context_read(context: Any, ids: Sequence[int]) -> tuple[int, ...]:
    """Read 64-bit registers ``ids`` from a saved ``UcContext``."""
    b = _Batch(ids)
    handle = _V(context.context.value)
    _check(_uc_context_reg_read_batch(handle, b.ids_p, b.ptrs_p, b.count))
    return b.unpack(b.vals)


def context_write(context: Any, pairs: Sequence[tuple[int, int]]) -> None:
    """Write ``(reg_id, value)`` pairs of 64-bit registers into a saved ``UcContext``."""
    b = _Batch([rid for rid, _ in pairs])
    for i, (_, value) in enumerate(pairs):
        b.vals[i] = value
    handle = _V(context.context.value)
    _check(_uc_context_reg_write_batch(handle, b.ids_p, b.ptrs_p, b.count))
