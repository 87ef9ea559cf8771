"""The Unicorn platform: ``UnicornAddressSpace`` and its run loop.

One ``Uc(UC_ARCH_X86, UC_MODE_64)`` per address space (guest process). Guest
memory is never copied: ``map_file`` hands Unicorn the host address of the
backing ``File`` range (``uc.mem_map_ptr``), so the sentry's memoryviews and
the emulated CPU see the same bytes.

Region table
------------
The address space keeps its own sorted table of the regions it installed
(start -> end, Unicorn perms, host address, file), mirroring Unicorn's
region list one to one (Unicorn splits a region on partial unmap/protect
exactly as the table does; ``region_count`` equals
``len(list(uc.mem_regions()))``). Unicorn refuses to unmap or protect
ranges with holes, so ``unmap``/``protect`` act only on the intersections
with tracked regions, one Unicorn call per contiguous run of regions.
Mapping cost grows with Unicorn's region count, so the MM maps whole pmas
(never page by page). The table also keeps each mapped ``File`` alive: host
memory Unicorn points into cannot be unmapped under it.

Measured costs: ``map_file`` and ``protect`` take 8-30 us whatever the
size; Unicorn's ``mem_unmap`` is proportional to the size unmapped, about
16 us per MiB (36 us for 2 MiB, 0.8 ms for 64 MiB, 17 ms for 1 GiB) and
about six times that for executable ranges (translated code is dropped
page by page). ``invalidate_code`` costs 5 us for a page, 8 us for 2 MiB.

Faults
------
All memory faults go through one ``UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT``
hook that records the first faulting address and the exact access from the
hook type (``*_READ_*`` -> READ, ``*_WRITE_*`` -> WRITE, ``*_FETCH_*`` ->
EXECUTE) and returns False, never touching mappings inside the hook
(re-mapping inside a WRITE_PROT hook crashes the process). ``uc_emu_start``
then fails and ``run`` returns ``FAULT(addr, access)``; the MM fixes the
mapping outside any hook and runs again from the RIP Unicorn reports.

Measured with unicorn 2.1.4 (tests in ``tests/platform`` pin these down):

* unmapped read, unmapped write, write to a read-only page, read of a
  PROT_NONE page: RIP is the faulting instruction; ``addr`` is the first
  byte that is not accessible (for an access straddling into an unmapped
  page, the first byte of that page, like CR2 on hardware).
* unmapped fetch (jump/call/fallthrough): RIP is the target address (the
  instruction that could not be fetched), ``addr`` its first unmapped byte;
  for an instruction straddling into an unmapped page, RIP is its first
  byte and ``addr`` the start of the missing page.
* ``push``/``call`` onto an unmapped stack page: RIP is the push, RSP is
  unchanged; retrying after mapping pushes exactly once.
* ``rep movsb`` running into an unmapped page: RIP is the ``rep movsb``,
  RCX/RSI/RDI reflect the bytes already copied; retrying completes the copy.
* Cost of a fault round trip (``tests/platform/bench_platform.py``):
  2.2-3.1 us for the stop and restart alone (hook, ``uc_emu_start``
  returning the error, ``run`` building the FAULT, ``run`` again), and
  24-27 us for fault + ``map_file`` of one page + retry + ``unmap`` with a
  handful of regions (the Unicorn map/unmap calls dominate).

Syscalls
--------
A ``UC_HOOK_INSN`` hook on ``syscall`` reads RAX, RDI, RSI, RDX, R10, R8, R9
through the fast register path and calls ``on_syscall(nr, a0, ..., a5)``
inline. An int result goes to RAX and emulation continues without leaving
``uc_emu_start``; None stops emulation (``SYSCALL_STOP``: RIP past the
``syscall``, RAX untouched). The handler may map, unmap and protect memory
of this address space (including the page holding the ``syscall`` itself:
verified) and may write registers, RIP included, through the live
``CPUContext``. Exceptions never cross the hook: an ``Exception`` becomes
``INTERNAL_ERROR`` (emulation stopped, RAX untouched); a ``BaseException``
that is not an ``Exception`` (KeyboardInterrupt, SystemExit) stops emulation
and is re-raised by ``run`` once the engine is out of the hook.

Unicorn's ``syscall`` does not set RCX/RFLAGS-into-R11 as the CPU does;
programs do not depend on that (the ABI declares both clobbered).

Inside the hook Unicorn's RIP still points at the ``syscall`` (it adds the
instruction's length when the hook returns); ``CPUContext`` hides this, so
handlers read and write RIP as Linux shows it (past the ``syscall``).

Measured: a guest loop ``mov eax, 39; syscall; jmp`` with an on_syscall
returning 0 runs 870,000-950,000 syscalls per second (1.06 us per
syscall, hook to hook). (With Unicorn's own 10 ms ``emu_start``
timeouts, no longer used, 580,000-940,000: its timer thread polled every
2 us and competed for a core.) A syscall stop
plus re-entering ``run`` costs 2.3 us; switching to another thread's
context adds 1.1-1.8 us.

CPU exceptions
--------------
Unicorn runs guest code at CPL 0 by default, where ``hlt``, ``cli``,
``mov cr0`` and ``wrmsr`` silently execute (``hlt`` just ends emulation).
The engine therefore drops to user mode once at creation: a five-byte
trampoline executes ``fninit; sysretq`` (EFER.SCE set, STAR selecting
Linux's user selectors), leaving CPL 3 with CS 0x33 and SS 0x2b; the saved
context carries CPL 3 into every ``CPUContext``. Then, exactly like Linux:

* ``hlt``, ``cli``, ``mov cr0``, ``wrmsr``, ``swapgs``, ``lgdt``: #GP
  (vector 13), RIP at the instruction;
* ``div``/``idiv`` by zero: #DE (0), RIP at the instruction;
* ``int3``: #BP (3), RIP after it; ``int N``: vector N, RIP after it
  (``int 0x80`` is vector 0x80). Linux lets user mode reach only vectors
  3, 4 and 0x80 with ``int N``; for any other N it raises #GP (SIGSEGV)
  with RIP at the instruction, which the kernel must emulate (RIP - 2);
* ``ud2``, undefined opcodes, ``into`` and ``int1`` (0xf1), AVX/AVX2
  instructions: ``UC_ERR_INSN_INVALID`` -> #UD (6), RIP at the instruction
  (Linux would report ``int1`` as #DB/SIGTRAP);
* ``in``/``out`` still execute silently (Unicorn emulates port I/O without
  checking IOPL); a known difference.

Unicorn delivers exceptions to a ``UC_HOOK_INTR`` hook and, without one,
would continue after the instruction; the hook records the vector and
stops emulation.

ISA notes: SSE through SSE4.2, AES, BMI1/2, ADX, RDRAND, RDTSC, x87 and
FXSAVE/XSAVE work with no CR4/XCR0 setup (CR4 has OSFXSR and OSXSAVE,
XCR0 = x87|SSE). AVX is neither implemented nor advertised by CPUID (the
QEMU 5 TCG core has none), so glibc/musl pick their SSE2 string functions.
Unaligned ``movaps`` does not fault (Linux would #GP). Non-canonical
addresses are not checked: bit 63 is ignored (``0x8000000000600000``
aliases ``0x600000``). FS base is ``UC_X86_REG_FS_BASE``;
``mov rax, fs:[0x28]`` reads through it; ``rdfsbase``/``wrfsbase`` work
(CR4.FSGSBASE is set, as on Linux 5.9+).

Run loop
--------
``run(cpu, on_syscall, timeout_us, cpu_slice_us)`` never installs
per-instruction hooks. Emulation runs with Unicorn's exit addresses
enabled and empty, so no guest address ends it silently (a jump to 0 is a
fetch fault, not a clean stop).

Preemption never uses Unicorn's ``emu_start`` timeout nor an ``emu_stop``
from another thread: Unicorn 2.1.4 notices such a stop after any memory
access and re-executes a read-modify-write instruction whose store already
happened (``lock xadd`` counts twice; see ``sentry.platform.preempt``).
Instead every engine has, from its creation, a native block hook that stops
emulation at the next translation-block start once the engine's stop flag
is raised. ``timeout_us > 0`` (wall time) and ``cpu_slice_us > 0`` (CPU
time of the emulating thread) arm the shared ``SliceTimer`` to raise it;
the run then ends with INTERRUPTED and ``timed_out()`` is True.
``interrupt()`` raises it from any thread or hook; from the syscall hook
the stop lands right after the ``syscall`` (which ends its block).
"""

from __future__ import annotations

import ctypes
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

from unicorn import (
    UC_ARCH_X86,
    UC_ERR_INSN_INVALID,
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
from sentry.logs import get_logger
from sentry.memmap.file import File, FileRange
from sentry.platform.address_space import (
    INTERRUPTED,
    SYSCALL_STOP,
    VECTOR_UD,
    OnSyscall,
    StopKind,
    StopReason,
)
from sentry.platform.cpu import CPUContext
from sentry.platform.preempt import SLICE_TIMER, StopFlag, block_stop_callback
from sentry.platform.regs import FastRegs, uc_library
from sentry.tracing import TRACE

__all__ = [
    "Counters",
    "OnSyscall",
    "UnicornAddressSpace",
]

_PAGE_MASK = PAGE_SIZE - 1

_Region = tuple[int, int, int, int, File]
"""A row of the region table: ``(start, end, Unicorn perms, host address, file)``."""

_UC_PERMS: dict[AccessType, int] = {
    AccessType(r, w, x): (UC_PROT_READ if r else 0)
    | (UC_PROT_WRITE if w else 0)
    | (UC_PROT_EXEC if x else 0)
    for r in (False, True)
    for w in (False, True)
    for x in (False, True)
}

_FAULT_ACCESS: dict[int, AccessType] = {
    UC_MEM_READ_UNMAPPED: READ,
    UC_MEM_READ_PROT: READ,
    UC_MEM_WRITE_UNMAPPED: WRITE,
    UC_MEM_WRITE_PROT: WRITE,
    UC_MEM_FETCH_UNMAPPED: EXECUTE,
    UC_MEM_FETCH_PROT: EXECUTE,
}

_HOOK_MEM_FAULTS = (
    UC_HOOK_MEM_READ_UNMAPPED
    | UC_HOOK_MEM_WRITE_UNMAPPED
    | UC_HOOK_MEM_FETCH_UNMAPPED
    | UC_HOOK_MEM_READ_PROT
    | UC_HOOK_MEM_WRITE_PROT
    | UC_HOOK_MEM_FETCH_PROT
)

_LIB = uc_library()
_V = ctypes.c_void_p
# uc_emu_start releases the GIL (the binding's CDLL prototype): hooks
# re-acquire it, and other threads can call interrupt() meanwhile.
_uc_emu_start = _LIB.uc_emu_start
_uc_emu_stop = ctypes.PYFUNCTYPE(ctypes.c_int, _V)(("uc_emu_stop", _LIB))
_uc_hook_add = _LIB.uc_hook_add

_SYSCALL_CB = ctypes.CFUNCTYPE(None, _V, _V)
_MEM_CB = ctypes.CFUNCTYPE(
    ctypes.c_bool, _V, ctypes.c_int, ctypes.c_uint64, ctypes.c_int, ctypes.c_int64, _V
)
_INTR_CB = ctypes.CFUNCTYPE(None, _V, ctypes.c_uint32, _V)

_MSR_EFER = 0xC0000080
_MSR_STAR = 0xC0000081
_USER32_CS = 0x23  # STAR[63:48]: sysret loads CS = 0x23 + 16 | 3, SS = 0x23 + 8 | 3
_TRAMPOLINE_ADDR = 0x1000
_TRAMPOLINE = b"\xdb\xe3\x48\x0f\x07"  # fninit; sysretq
_INITIAL_RFLAGS = 0x202
_INITIAL_MXCSR = 0x1F80
_SYSCALL_INSN_LEN = 2  # 0f 05

_log = get_logger("sentry.platform")


def _logger() -> Any:
    """The ``sentry.platform`` logger (structlog is imported on first event)."""
    return _log


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


class UnicornAddressSpace:
    """An ``AddressSpace`` backed by one Unicorn engine, plus its run loop.

    Not thread-safe except for ``interrupt``/``CPUContext.interrupt``.
    """

    def __init__(self) -> None:
        uc: Any = Uc(UC_ARCH_X86, UC_MODE_64)
        self._uc: Any = uc
        self._handle = _V(uc._uch.value)
        self._fast: FastRegs | None = FastRegs(uc)
        self.counters = Counters()
        # Region table, sorted by start: parallel lists.
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._perms: list[int] = []
        self._hosts: list[int] = []
        self._files: list[File] = []
        self._active: CPUContext | None = None
        self._running = False
        self._interrupt_pending = False
        self._release_pending = False
        # Raised (by interrupt or the slice timer) to stop at the next block.
        self._stop_flag = StopFlag()
        self._timed_out = False
        self._expire = self._slice_expired
        # Hook state shared with the closures: [stop reason, fault addr,
        # fault access, BaseException to re-raise, inside the syscall hook]
        # and [on_syscall].
        self._state: list[Any] = [None, -1, NO_ACCESS, None, False]
        self._handler: list[Any] = [None]
        self._enter_user_mode()
        self._pristine = uc.context_save()
        self._install_hooks()
        # No exit address: emulation ends only on stop, fault or timeout.
        uc.ctl_exits_enabled(True)
        uc.ctl_set_exits([])

    # -- setup ---------------------------------------------------------------

    def _enter_user_mode(self) -> None:
        """Drop the engine to CPL 3 with a ``fninit; sysretq`` trampoline."""
        uc = self._uc
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

    def _install_hooks(self) -> None:
        handle = self._handle
        state = self._state
        handler = self._handler
        fast = self._fast
        assert fast is not None
        read_syscall_regs = fast.read_syscall_regs
        write_rax = fast.write_rax
        emu_stop = _uc_emu_stop
        syscall_stop = SYSCALL_STOP
        internal_error = StopKind.INTERNAL_ERROR

        def syscall_hook(_uch: int, _user_data: int) -> None:
            state[4] = True
            try:
                nr, a0, a1, a2, a3, a4, a5 = read_syscall_regs()
                ret = handler[0](nr, a0, a1, a2, a3, a4, a5)
                if ret is None:
                    state[0] = syscall_stop
                    emu_stop(handle)
                else:
                    write_rax(ret)
            except Exception as e:
                state[0] = StopReason(internal_error, exc=e)
                emu_stop(handle)
            except BaseException as e:
                state[0] = StopReason(internal_error, exc=e)
                state[3] = e
                emu_stop(handle)
            state[4] = False

        fault_access = _FAULT_ACCESS

        def mem_hook(
            _uch: int, access: int, address: int, _size: int, _value: int, _ud: int
        ) -> bool:
            if state[1] < 0:
                state[1] = address
                state[2] = fault_access.get(access, NO_ACCESS)
            return False

        exception = StopKind.EXCEPTION

        def intr_hook(_uch: int, intno: int, _ud: int) -> None:
            state[0] = StopReason(exception, vector=intno)
            emu_stop(handle)

        self._callbacks = (_SYSCALL_CB(syscall_hook), _MEM_CB(mem_hook), _INTR_CB(intr_hook))
        cb_sys, cb_mem, cb_intr = self._callbacks
        self._hook_add(UC_HOOK_INSN, cb_sys, ctypes.c_int(x86.UC_X86_INS_SYSCALL))
        self._hook_add(_HOOK_MEM_FAULTS, cb_mem)
        self._hook_add(UC_HOOK_INTR, cb_intr)
        # Before any translation: Unicorn only instruments blocks translated
        # while a block hook exists.
        self._hook_add(UC_HOOK_BLOCK, block_stop_callback(), user_data=self._stop_flag.address)

    def _hook_add(self, kind: int, callback: Any, *extra: Any, user_data: int | None = None) -> None:
        hh = ctypes.c_size_t()
        err = _uc_hook_add(
            self._uc._uch,
            ctypes.byref(hh),
            kind,
            callback,
            _V(user_data),
            ctypes.c_uint64(1),
            ctypes.c_uint64(0),
            *extra,
        )
        if err:
            raise UcError(err)

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
            return _SYSCALL_INSN_LEN
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
            self._timed_out = False
            if timeout_us > 0 or cpu_slice_us > 0:
                key = SLICE_TIMER.arm(self._expire, timeout_us, cpu_slice_us)
                try:
                    err = _uc_emu_start(self._handle, rip, 0, 0, 0)
                finally:
                    SLICE_TIMER.disarm(key)
            else:
                err = _uc_emu_start(self._handle, rip, 0, 0, 0)
        finally:
            self._running = False
            self._stop_flag.clear()
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

        Safe from another Python thread or from inside a hook; a running
        engine stops at the next translation-block start. A request racing
        with the very end of a run may be lost (the run ends anyway).
        """
        self._interrupt_pending = True
        self._stop_if_running()

    def _stop_if_running(self) -> None:
        if self._running:
            self._stop_flag.raise_()

    # -- mappings --------------------------------------------------------------

    @property
    def region_count(self) -> int:
        """Number of Unicorn regions (equal to ``len(list(uc.mem_regions()))``)."""
        return len(self._starts)

    def regions(self) -> list[tuple[int, int, AccessType]]:
        """The mapped regions ``(start, end, perms)``, sorted."""
        return [
            (
                s,
                e,
                AccessType(bool(p & UC_PROT_READ), bool(p & UC_PROT_WRITE), bool(p & UC_PROT_EXEC)),
            )
            for s, e, p in zip(self._starts, self._ends, self._perms, strict=True)
        ]

    def _overlapping(self, start: int, end: int) -> tuple[int, int]:
        """Indices ``[i, j)`` of tracked regions overlapping ``[start, end)``."""
        i = bisect_right(self._starts, start) - 1
        if i < 0 or self._ends[i] <= start:
            i += 1
        j = bisect_left(self._starts, end, lo=i)
        return i, j

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
        perms = _UC_PERMS[at]
        host = file.host_address(start)
        i, j = self._overlapping(addr, end)
        if (
            j - i == 1
            and self._starts[i] == addr
            and self._ends[i] == end
            and self._hosts[i] == host
        ):
            old = self._perms[i]
            self._files[i] = file
            if old != perms:
                if (old | perms) & UC_PROT_EXEC:
                    self._invalidate(addr, end)
                uc.mem_protect(addr, length, perms)
                self._perms[i] = perms
                self.counters.protects += 1
            return
        if i < j:
            self._unmap_span(addr, end, i, j)
            i = bisect_left(self._starts, addr)
        uc.mem_map_ptr(addr, length, perms, host)
        self.counters.maps += 1
        self._starts.insert(i, addr)
        self._ends.insert(i, end)
        self._perms.insert(i, perms)
        self._hosts.insert(i, host)
        self._files.insert(i, file)
        if len(self._starts) > self.counters.max_regions:
            self.counters.max_regions = len(self._starts)
        if perms & UC_PROT_EXEC:
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
                regions=len(self._starts),
            )

    def unmap(self, addr: int, length: int) -> None:
        """Remove mappings in ``[addr, addr + length)``; holes allowed; never fails."""
        if length <= 0 or self._uc is None:
            return
        end = addr + length
        i, j = self._overlapping(addr, end)
        if i < j:
            self._unmap_span(addr, end, i, j)
        if TRACE.platform:
            _logger().debug("unmap", addr=hex(addr), end=hex(end), regions=len(self._starts))

    def _unmap_span(self, addr: int, end: int, i: int, j: int) -> None:
        """Unmap ``[addr, end)`` from regions ``[i, j)`` (which overlap it)."""
        uc = self._uc
        new: list[_Region] = []
        run_start = run_end = -1
        for rs, re, rp, rh, rf in self._regions(i, j):
            cs, ce = max(rs, addr), min(re, end)
            if rp & UC_PROT_EXEC:
                self._invalidate(cs, ce)
            if cs == run_end:
                run_end = ce
            else:
                if run_start >= 0:
                    uc.mem_unmap(run_start, run_end - run_start)
                    self.counters.unmaps += 1
                run_start, run_end = cs, ce
            if rs < cs:
                new.append((rs, cs, rp, rh, rf))
            if ce < re:
                new.append((ce, re, rp, rh + (ce - rs), rf))
        uc.mem_unmap(run_start, run_end - run_start)
        self.counters.unmaps += 1
        self._replace_regions(i, j, new)

    def _regions(self, i: int, j: int) -> Iterator[_Region]:
        """Regions ``[i, j)`` of the table as ``(start, end, perms, host, file)``."""
        return zip(
            self._starts[i:j], self._ends[i:j], self._perms[i:j], self._hosts[i:j], self._files[i:j], strict=True
        )

    def _replace_regions(self, i: int, j: int, new: list[_Region]) -> None:
        """Replace regions ``[i, j)`` of the table by ``new`` (sorted, disjoint)."""
        self._starts[i:j] = [n[0] for n in new]
        self._ends[i:j] = [n[1] for n in new]
        self._perms[i:j] = [n[2] for n in new]
        self._hosts[i:j] = [n[3] for n in new]
        self._files[i:j] = [n[4] for n in new]

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
        new_perms = _UC_PERMS[at]
        i, j = self._overlapping(addr, end)
        if i >= j:
            return
        new: list[_Region] = []
        for rs, re, rp, rh, rf in self._regions(i, j):
            cs, ce = max(rs, addr), min(re, end)
            if rp == new_perms:
                new.append((rs, re, rp, rh, rf))
                continue
            if (rp | new_perms) & UC_PROT_EXEC:
                self._invalidate(cs, ce)
            uc.mem_protect(cs, ce - cs, new_perms)
            self.counters.protects += 1
            if rs < cs:
                new.append((rs, cs, rp, rh, rf))
            new.append((cs, ce, new_perms, rh + (cs - rs), rf))
            if ce < re:
                new.append((ce, re, rp, rh + (ce - rs), rf))
        self._replace_regions(i, j, new)
        if TRACE.platform:
            _logger().debug(
                "protect", addr=hex(addr), end=hex(end), perms=str(at), regions=len(self._starts)
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
            _uc_emu_stop(self._handle)
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
        self._starts.clear()
        self._ends.clear()
        self._perms.clear()
        self._hosts.clear()
        self._files.clear()

    @property
    def released(self) -> bool:
        """True once ``release`` has taken effect."""
        return self._uc is None

    def __repr__(self) -> str:
        if self._uc is None:
            return "<UnicornAddressSpace released>"
        return f"<UnicornAddressSpace regions={len(self._starts)}>"
