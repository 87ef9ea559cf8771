"""Per-thread CPU state: ``CPUContext``.

All threads of one address space share that address space's single Unicorn
engine; each thread's registers live in a ``CPUContext``. At any moment at
most one context of an address space is *live* (loaded into the engine);
the others are saved Unicorn contexts (``uc.context_save``, a copy of the
emulated CPU: general registers, RIP, RFLAGS, segment state including the
FS and GS bases, x87/SSE state, CPL). ``UnicornAddressSpace.run(cpu, ...)``
switches: it saves the live context into its owner and restores ``cpu``
(measured: 0.4 us each way, about 1 us per switch).

RIP always reads as Linux shows it: inside the syscall hook (an inline
syscall) Unicorn's RIP still points at the ``syscall`` instruction, so the
live accessors add its length on reads and subtract it on writes; a clone
made inside the hook resumes after the ``syscall``. A handler may thus read
RIP for a signal frame or set it (``rt_sigreturn``, signal delivery) and the
thread continues exactly there when the hook returns.

Register access works in either state: on a live context it goes through
the fast register path (``regs.FastRegs``), on a saved one through
``uc_context_reg_*_batch`` on the saved copy. So the kernel can read and
write a switched-out thread's registers (signal delivery, ptrace-like
inspection, clone) without switching.

Register names are those of Linux's ``user_regs_struct``: ``rax`` ...
``r15``, ``rip``, ``eflags``, ``fs_base``, ``gs_base`` (see
``regs.GENERAL_REGS``); values are unsigned 64-bit ints, writes accept
negative ints (two's complement).

A fresh context (``UnicornAddressSpace.new_context()``) is the state Linux
gives a new process: all general registers zero, RFLAGS 0x202, x87 control
word 0x37f with an empty register stack (``fninit``), MXCSR 0x1f80, user
mode (CPL 3, CS 0x33, SS 0x2b).
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sentry.platform.regs import GENERAL_REGS, context_read, context_write

if TYPE_CHECKING:
    from sentry.platform.address_space import AddressSpace
    from sentry.platform.unicorn_as import UnicornAddressSpace

__all__ = ["CPUContext"]

_NAMES = tuple(GENERAL_REGS)
_IDS = tuple(GENERAL_REGS.values())
_RIP = GENERAL_REGS["rip"]
_MASK64 = (1 << 64) - 1


class _Reg:
    """A general register as a read-write attribute of a CPUContext
    (``cpu.rip``, ``cpu.rip = addr``): ``get_reg``/``set_reg`` by the
    attribute's name."""

    __slots__ = ("name",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, cpu: CPUContext, owner: type | None = None) -> int:
        return cpu.get_reg(self.name)

    def __set__(self, cpu: CPUContext, value: int) -> None:
        cpu.set_reg(self.name, value)


class CPUContext:
    """One thread's CPU state within a ``UnicornAddressSpace``.

    Create with ``aspace.new_context()`` (a fresh thread) or
    ``cpu.clone(...)`` (a copy for clone/fork). Invariant: the context is
    live iff ``aspace`` reports it as the active context; then the engine
    holds the authoritative state and ``_saved`` is stale.
    """

    __slots__ = ("__weakref__", "_aspace", "_interrupt_pending", "_saved")

    def __init__(self, aspace: UnicornAddressSpace, saved: Any) -> None:
        """Internal: use ``UnicornAddressSpace.new_context`` or ``clone``."""
        self._aspace = aspace
        self._saved = saved
        self._interrupt_pending = False

    @property
    def aspace(self) -> UnicornAddressSpace:
        """The address space (engine) this context runs in."""
        return self._aspace

    @property
    def is_live(self) -> bool:
        """True if this context is currently loaded in the engine."""
        return self._aspace._active is self

    # -- registers -------------------------------------------------------------

    def get_regs(self) -> dict[str, int]:
        """Return all general registers as ``{name: value}``."""
        fast = self._aspace._live_regs(self)
        values = fast.read_regs(_IDS) if fast is not None else context_read(self._saved, _IDS)
        regs = dict(zip(_NAMES, values, strict=True))
        bias = self._aspace._syscall_bias(self)
        if bias:
            regs["rip"] = (regs["rip"] + bias) & _MASK64
        return regs

    def set_regs(self, regs: Mapping[str, int] | None = None, /, **kwargs: int) -> None:
        """Write some general registers: ``set_regs({"rax": 0}, rsp=...)``.

        Unknown names raise ``KeyError`` before anything is written. Writing
        ``rip`` from inside a syscall handler redirects the running thread
        (Unicorn restarts translation at the new RIP when the hook returns).
        """
        items = dict(regs or {})
        items.update(kwargs)
        pairs = [(GENERAL_REGS[name], value) for name, value in items.items()]
        if not pairs:
            return
        bias = self._aspace._syscall_bias(self)
        if bias and "rip" in items:
            pairs = [(rid, (v - bias) & _MASK64 if rid == _RIP else v) for rid, v in pairs]
        fast = self._aspace._live_regs(self)
        if fast is not None:
            fast.write_regs(pairs)
        else:
            context_write(self._saved, pairs)

    def get_reg(self, name: str) -> int:
        """Return one general register by name."""
        return self.read_raw(GENERAL_REGS[name])

    def set_reg(self, name: str, value: int) -> None:
        """Write one general register by name."""
        self.set_regs({name: value})

    rip = _Reg()
    """The instruction pointer."""

    rsp = _Reg()
    """The stack pointer."""

    fs_base = _Reg()
    """The FS segment base (the TLS pointer; ``arch_prctl(ARCH_SET_FS)``)."""

    gs_base = _Reg()
    """The GS segment base."""

    def read_raw(self, reg_id: int) -> int:
        """Read any 64-bit Unicorn register by id (``unicorn.x86_const``)."""
        fast = self._aspace._live_regs(self)
        if fast is None:
            return context_read(self._saved, (reg_id,))[0]
        value = fast.read_reg(reg_id)
        if reg_id == _RIP:
            value = (value + self._aspace._syscall_bias(self)) & _MASK64
        return value

    # -- lifecycle -------------------------------------------------------------

    def clone(self, aspace: AddressSpace | None = None) -> CPUContext:
        """Return a copy of this context's complete CPU state.

        With ``aspace=None`` the copy runs in the same address space (a new
        thread: ``clone(CLONE_VM)``); otherwise in ``aspace`` (``fork``: the
        child's address space). The caller then adjusts the copy (RAX = 0,
        new RSP, ...). This context is unaffected.
        """
        from sentry.platform.unicorn_as import UnicornAddressSpace

        if aspace is not None and not isinstance(aspace, UnicornAddressSpace):
            raise TypeError(f"clone into a foreign address space {aspace!r}")
        target = self._aspace if aspace is None else aspace
        self._aspace._sync_saved(self)
        saved = target._alloc_context()
        if saved.size != self._saved.size:
            raise RuntimeError("incompatible Unicorn context sizes")
        ctypes.memmove(saved.context, self._saved.context, saved.size)
        bias = self._aspace._syscall_bias(self)
        if bias:
            # Cloned from inside the syscall hook: the copy resumes after it.
            rip = context_read(saved, (_RIP,))[0]
            context_write(saved, [(_RIP, (rip + bias) & _MASK64)])
        return CPUContext(target, saved)

    def copy_state_from(self, other: CPUContext) -> None:
        """Make this context's complete CPU state (registers, x87/SSE, segment
        state) a copy of ``other``'s, which must belong to the same address
        space. Used by ``rt_sigreturn`` to restore the floating-point state a
        signal frame's owner had; RIP follows this context's hook bias rules
        when the caller then sets registers.
        """
        if other._aspace is not self._aspace:
            raise ValueError("contexts of different address spaces")
        bias = self._aspace._syscall_bias(self)
        rip = self.rip if bias else None
        other._aspace._sync_saved(other)
        ctypes.memmove(self._saved.context, other._saved.context, self._saved.size)
        if self._aspace.active_context is self:
            self._aspace.uc.context_restore(self._saved)
        if rip is not None:
            self.rip = rip

    def interrupt(self) -> None:
        """Make this thread's current or next ``run`` return INTERRUPTED.

        If the thread is running now, emulation stops at the next
        translation-block boundary; otherwise the request is remembered and
        consumed by the next ``run`` of this context. Safe to call from
        another Python thread and from inside a hook.
        """
        self._interrupt_pending = True
        aspace = self._aspace
        if aspace._active is self:
            aspace._stop_if_running()

    def release(self) -> None:
        """Forget this context (the thread exited). Idempotent."""
        aspace = self._aspace
        if aspace._active is self:
            aspace._active = None

    def __repr__(self) -> str:
        state = "live" if self.is_live else "saved"
        return f"<CPUContext {state} of {self._aspace!r}>"
