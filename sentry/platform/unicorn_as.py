"""The Unicorn platform: ``UnicornAddressSpace``, one Unicorn engine per
address space (guest process), and its run loop.

Guest memory is never copied: ``map_file`` hands Unicorn the host address
of the backing ``File`` range (``uc.mem_map_ptr``), so the sentry's
memoryviews and the emulated CPU see the same bytes. The regions installed
are tracked in a :class:`~sentry.platform.regions.RegionTable`; the engine
is set up by :mod:`sentry.platform.engine`. ``docs/unicorn.md`` has the
measured Unicorn facts (faults, syscalls, CPU exceptions, costs) this
relies on and the tests in ``tests/platform`` pin down.

Run loop: ``run(cpu, on_syscall, timeout_us, cpu_slice_us)`` never installs
per-instruction hooks. Emulation runs with Unicorn's exit addresses
enabled and empty, so no guest address ends it silently (a jump to 0 is a
fetch fault, not a clean stop). Preemption never uses Unicorn's
``emu_start`` timeout nor an ``emu_stop`` from another thread (Unicorn
2.1.4 would re-execute a read-modify-write instruction whose store already
happened): an engine that needs timed stops gets a block hook
(``enable_preemption``, done by the first run with a time bound; a
single-task process never pays its cost) that stops emulation at the next
translation-block start once its stop flag is raised, by the shared
``SliceTimer`` (``timeout_us`` wall time, ``cpu_slice_us`` CPU time) or by
``interrupt()`` from any thread or hook.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from unicorn import UC_ERR_INSN_INVALID, UcError
from unicorn import x86_const as x86

from sentry.hostarch import NO_ACCESS, PAGE_SIZE, AccessType
from sentry.logs import get_logger
from sentry.memmap.file import File, FileRange
from sentry.platform.address_space import (
    INTERRUPTED,
    VECTOR_UD,
    OnSyscall,
    StopKind,
    StopReason,
)
from sentry.platform.cpu import CPUContext
from sentry.platform.engine import (
    SYSCALL_INSN_LEN,
    Counters,
    V,
    emu_start,
    emu_stop,
    enter_user_mode,
    install_block_stop,
    install_hooks,
    new_engine,
)
from sentry.platform.preempt import SLICE_TIMER, StopFlag
from sentry.platform.regions import PERMS_OF, PROT_EXEC, RegionTable
from sentry.platform.regs import FastRegs
from sentry.tracing import TRACE

__all__ = [
    "Counters",
    "OnSyscall",
    "UnicornAddressSpace",
]

_PAGE_MASK = PAGE_SIZE - 1

_log = get_logger("sentry.platform")


def _logger() -> Any:
    """The ``sentry.platform`` logger (structlog is imported on first event)."""
    return _log


class UnicornAddressSpace:
    """An ``AddressSpace`` backed by one Unicorn engine, plus its run loop.

    Not thread-safe except for ``interrupt``/``CPUContext.interrupt``.
    """

    def __init__(self) -> None:
        uc: Any = new_engine()
        self._uc: Any = uc
        self._handle = V(uc._uch.value)
        self._fast: FastRegs | None = FastRegs(uc)
        self.counters = Counters()
        self._table = RegionTable()
        self._active: CPUContext | None = None
        self._running = False
        self._interrupt_pending = False
        self._release_pending = False
        # Raised (by interrupt or the slice timer) to stop at the next block.
        self._stop_flag = StopFlag()
        self._timed_out = False
        self._expire = self._slice_expired
        self._preemptible = False
        self._run_thread = 0
        # [an interrupt() from another thread is waiting for a safe point]
        self._async_interrupt = [False]
        # Hook state shared with the closures (see sentry.platform.engine).
        self._state: list[Any] = [None, -1, NO_ACCESS, None, False]
        self._handler: list[Any] = [None]
        enter_user_mode(uc)
        self._pristine = uc.context_save()
        self._callbacks = install_hooks(uc, self._handle, self._fast, self._state, self._handler,
                                        self._async_interrupt)
        # No exit address: emulation ends only on stop, fault or timeout.
        uc.ctl_exits_enabled(True)
        uc.ctl_set_exits([])

    # -- contexts --------------------------------------------------------------

    @property
    def uc(self) -> Any:
        """The Unicorn engine (tests and debugging; do not map through it)."""
        if self._uc is None:
            raise RuntimeError("address space released")
        return self._uc

    def new_context(self) -> CPUContext:
        """Return a context for a new thread, in the initial Linux user state."""
        saved = self._alloc_context()
        ctypes.memmove(saved.context, self._pristine.context, saved.size)
        return CPUContext(self, saved)

    def _alloc_context(self) -> Any:
        """A fresh ``UcContext`` of this engine (contents unspecified)."""
        return self.uc.context_save()

    def _syscall_bias(self, cpu: CPUContext) -> int:
        """2 if ``cpu`` is live and inside the syscall hook, else 0.

        Inside the hook Unicorn's RIP still points at the ``syscall``
        instruction (it adds the instruction's length, 2, when the hook
        returns); the kernel must see and set the Linux view, RIP past the
        instruction, so ``CPUContext`` adds this bias on reads of RIP and
        subtracts it on writes.
        """
        if self._active is cpu and self._state[4]:
            return SYSCALL_INSN_LEN
        return 0

    def _live_regs(self, cpu: CPUContext) -> FastRegs | None:
        """The fast register accessor if ``cpu`` is live, else None."""
        if self._active is cpu:
            return self._fast
        return None

    def _sync_saved(self, cpu: CPUContext) -> None:
        """Bring ``cpu``'s saved copy up to date if it is live."""
        if self._active is cpu:
            self.uc.context_update(cpu._saved)

    def _switch_to(self, cpu: CPUContext) -> None:
        """Make ``cpu`` the live context (save the current one first)."""
        if cpu._aspace is not self:
            raise ValueError("CPU context belongs to another address space")
        uc = self.uc
        cur = self._active
        if cur is not None:
            uc.context_update(cur._saved)
        uc.context_restore(cpu._saved)
        self._active = cpu

    @property
    def active_context(self) -> CPUContext | None:
        """The context currently loaded in the engine, if any."""
        return self._active

    # -- the run loop ----------------------------------------------------------

    def run(
        self, cpu: CPUContext, on_syscall: OnSyscall, timeout_us: int = 0, cpu_slice_us: int = 0
    ) -> StopReason:
        """Run ``cpu`` from its RIP until it must return to the kernel.

        Returns a ``StopReason`` (see ``address_space``). ``timeout_us > 0``
        bounds the run in wall time, ``cpu_slice_us > 0`` in CPU time of the
        calling thread (INTERRUPTED when the first bound is reached; the
        stop lands between translation blocks, never inside an
        instruction). Restarting with ``run`` after any stop resumes
        correctly at RIP. Re-raises a non-``Exception`` ``BaseException``
        from ``on_syscall``.
        """
        if self._running:
            raise RuntimeError("run is not reentrant (called from inside a hook?)")
        if self._active is not cpu:
            self._switch_to(cpu)
        state = self._state
        if (timeout_us > 0 or cpu_slice_us > 0) and not self._preemptible:
            self.enable_preemption()
        self._running = True
        try:
            if cpu._interrupt_pending or self._interrupt_pending:
                cpu._interrupt_pending = False
                self._interrupt_pending = False
                return INTERRUPTED
            self._handler[0] = on_syscall
            state[0] = None
            state[1] = -1
            fast = self._fast
            assert fast is not None
            rip = fast.read_reg(x86.UC_X86_REG_RIP)
            self.counters.runs += 1
            self._run_thread = threading.get_ident()
            self._timed_out = False
            if timeout_us > 0 or cpu_slice_us > 0:
                key = SLICE_TIMER.arm(self._expire, timeout_us, cpu_slice_us)
                try:
                    err = emu_start(self._handle, rip, 0, 0, 0)
                finally:
                    SLICE_TIMER.disarm(key)
            else:
                err = emu_start(self._handle, rip, 0, 0, 0)
        finally:
            self._running = False
            self._stop_flag.clear()
            self._async_interrupt[0] = False
        cpu._interrupt_pending = False
        self._interrupt_pending = False
        if self._release_pending:
            self._release_now()
        stop: StopReason | None = state[0]
        if stop is not None:
            if state[3] is not None:
                exc, state[3] = state[3], None
                raise exc
            return stop
        if err:
            if state[1] >= 0:
                self.counters.faults += 1
                return StopReason(StopKind.FAULT, state[1], state[2])
            if err == UC_ERR_INSN_INVALID:
                return StopReason(StopKind.EXCEPTION, vector=VECTOR_UD)
            return StopReason(StopKind.INTERNAL_ERROR, exc=UcError(err))
        return INTERRUPTED

    def _slice_expired(self) -> None:
        """The slice timer's callback (timer thread): stop at the next block."""
        self._timed_out = True
        self._stop_flag.raise_()

    def timed_out(self) -> bool:
        """True if the last ``run`` ended because its time slice expired."""
        return self._timed_out

    def interrupt(self) -> None:
        """Make the current (or, if none is running, the next) ``run`` return.

        Safe from another Python thread or from inside a hook. A running
        engine stops at the next translation-block start (from the syscall
        hook: right after the ``syscall``); from another thread before
        ``enable_preemption``, at the next syscall. A request racing with
        the very end of a run may be lost (the run ends anyway).
        """
        self._interrupt_pending = True
        self._stop_if_running()

    def _stop_if_running(self) -> None:
        if not self._running:
            return
        if self._preemptible:
            self._stop_flag.raise_()
        elif self._state[4] and threading.get_ident() == self._run_thread:
            # Inside the syscall hook: the syscall ends its block, so the
            # stop lands between instructions.
            emu_stop(self._handle)
        else:
            self._async_interrupt[0] = True

    def enable_preemption(self) -> None:
        """Instrument every translation block so that ``interrupt()`` from
        any thread and timed runs stop between blocks. Idempotent; the first
        run with a time bound calls it. Until then the engine runs without
        the block hook (it costs one C call per executed block: 17% on a
        one-block CPU loop), and an ``interrupt()`` from another thread
        lands only at the next syscall. Not from inside a hook.
        """
        if self._preemptible:
            return
        if self._running:
            raise RuntimeError("enable_preemption from inside a run")
        install_block_stop(self.uc, self._stop_flag)
        self._preemptible = True

    # -- mappings --------------------------------------------------------------

    @property
    def region_count(self) -> int:
        """Number of Unicorn regions (equal to ``len(list(uc.mem_regions()))``)."""
        return len(self._table)

    def regions(self) -> list[tuple[int, int, AccessType]]:
        """The mapped regions ``(start, end, perms)``, sorted."""
        return self._table.regions()

    def map_file(
        self, addr: int, file: File, fr: FileRange, at: AccessType, precommit: bool = False
    ) -> None:
        """Map ``fr`` of ``file`` at ``addr`` with ``at``; replaces what is there.

        See ``AddressSpace.map_file`` for the contract. One Unicorn region
        per call. Remapping the same host memory at the same place with new
        permissions is a ``mem_protect``.
        """
        start, fend = fr
        length = fend - start
        if length <= 0 or (addr | start | fend) & _PAGE_MASK or not at.any():
            raise ValueError(f"map_file: bad arguments addr={addr:#x} fr={fr} at={at}")
        uc = self.uc
        end = addr + length
        perms = PERMS_OF[at]
        host = file.host_address(start)
        table = self._table
        same = table.exact(addr, end, host)
        if same is not None:
            table.update(addr, perms, file)
            if same.perms != perms:
                if (same.perms | perms) & PROT_EXEC:
                    self._invalidate(addr, end)
                uc.mem_protect(addr, length, perms)
                self.counters.protects += 1
            return
        self._cut(addr, end)
        uc.mem_map_ptr(addr, length, perms, host)
        self.counters.maps += 1
        table.insert(addr, end, perms, host, file)
        if len(table) > self.counters.max_regions:
            self.counters.max_regions = len(table)
        if perms & PROT_EXEC:
            # Python may have written this memory: drop stale translations.
            self._invalidate(addr, end)
        if TRACE.platform:
            _logger().debug(
                "map",
                addr=hex(addr),
                end=hex(end),
                perms=str(at),
                file_range=str(fr),
                host=hex(host),
                regions=len(table),
            )

    def unmap(self, addr: int, length: int) -> None:
        """Remove mappings in ``[addr, addr + length)``; holes allowed; never fails."""
        if length <= 0 or self._uc is None:
            return
        end = addr + length
        self._cut(addr, end)
        if TRACE.platform:
            _logger().debug("unmap", addr=hex(addr), end=hex(end), regions=len(self._table))

    def _cut(self, addr: int, end: int) -> None:
        """Unmap the mapped parts of ``[addr, end)`` from the engine and the table."""
        cut = self._table.cut(addr, end)
        for s, e in cut.invalidate:
            self._invalidate(s, e)
        uc = self._uc
        for s, e in cut.unmap:
            uc.mem_unmap(s, e - s)
            self.counters.unmaps += 1

    def protect(self, addr: int, length: int, at: AccessType) -> None:
        """Set permissions ``at`` on the mapped parts of ``[addr, addr + length)``.

        For mprotect downgrades and COW write-protection at fork: holes are
        skipped; ``at`` may be NO_ACCESS (the pages stay mapped but any
        access faults). Translations are flushed where code was or becomes
        executable.
        """
        if length <= 0 or self._uc is None:
            return
        if (addr | length) & _PAGE_MASK:
            raise ValueError(f"protect: unaligned range {addr:#x}+{length:#x}")
        uc = self._uc
        end = addr + length
        new_perms = PERMS_OF[at]
        for cs, ce, old in self._table.reprotect(addr, end, new_perms):
            if (old | new_perms) & PROT_EXEC:
                self._invalidate(cs, ce)
            uc.mem_protect(cs, ce - cs, new_perms)
            self.counters.protects += 1
        if TRACE.platform:
            _logger().debug(
                "protect", addr=hex(addr), end=hex(end), perms=str(at), regions=len(self._table)
            )

    def invalidate_code(self, addr: int, length: int) -> None:
        """Drop translated code for ``[addr, addr + length)``.

        Call after the sentry writes into guest memory that may hold code
        (Unicorn does not notice host-side writes). ``map_file``, ``unmap``
        and ``protect`` already do this for executable ranges.
        """
        if length > 0 and self._uc is not None:
            self._invalidate(addr, addr + length)

    def _invalidate(self, start: int, end: int) -> None:
        self._uc.ctl_remove_cache(start, end)
        self.counters.invalidations += 1

    # -- lifecycle -------------------------------------------------------------

    def release(self) -> None:
        """Drop every mapping and close the engine. Idempotent.

        Called from inside a hook of this address space (an inline exit or
        execve), the engine is closed when ``run`` regains control: emulation
        is stopped first and ``run`` returns the hook's stop reason.
        """
        if self._uc is None:
            return
        if self._running:
            self._release_pending = True
            emu_stop(self._handle)
            return
        self._release_now()

    def _release_now(self) -> None:
        self._release_pending = False
        self._handler[0] = None
        # Drop everything that refers to the engine; the binding's finalizer
        # closes it when the last reference goes (now: no cycles hold it).
        self._fast = None
        self._active = None
        self._pristine = None
        self._uc = None
        self._table.clear()

    @property
    def released(self) -> bool:
        """True once ``release`` has taken effect."""
        return self._uc is None

    def __repr__(self) -> str:
        if self._uc is None:
            return "<UnicornAddressSpace released>"
        return f"<UnicornAddressSpace regions={len(self._table)}>"
