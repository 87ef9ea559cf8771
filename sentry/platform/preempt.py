"""Preemption that lands only between instructions: a stop flag checked at
every translation-block start, and the slice timer that raises it.

Why not Unicorn's own timeout
-----------------------------
Unicorn 2.1.4 checks for a pending stop (``check_exit_request``) at the
start of every translation block *and after every guest memory access*.
An asynchronous ``uc_emu_stop`` (its ``emu_start`` timeout thread, or a
call from another host thread) noticed after the store of a
read-modify-write instruction leaves the store done and restores RIP to
the start of that instruction, so the instruction runs again when
emulation resumes: a ``lock xadd`` adds twice, an ``inc qword [m]`` (a
CPython reference count) counts twice. Measured on a loop of
``inc qword [m]`` / ``lock xadd [m], rdx`` with 10 ms ``emu_start``
timeouts: 30-45 extra increments of each per 170 stops. Python threads
(whose GIL waits with a timeout, so a timer was armed for the sleeper's
deadline) died in 20-30% of runs with double frees and SIGSEGV.

The stop used here
------------------
An engine that needs timed stops (``UnicornAddressSpace.enable_preemption``,
done by its first run with a time bound; the translation cache is flushed
then, since Unicorn instruments only blocks translated while the hook
exists) gets a ``UC_HOOK_BLOCK`` hook whose callback is not Python but 18 bytes of machine code
(``_STUB``)::

    cmp byte ptr [rcx], 0   ; rcx = user_data = this engine's stop flag
    jne 1f
    ret
 1: movabs rax, uc_emu_stop
    jmp rax                 ; uc_emu_stop(uc): rdi is still the engine

The block hook runs before the block's own exit check, so a stop it
requests ends emulation with RIP at the start of the block, before any of
its instructions executed. The flag is a plain byte that any thread may set
(``StopFlag.raise_``); only the emulation thread ever calls
``uc_emu_stop``. Cost: one C helper call per executed block. Measured
(CPU time, loaded two-core machine): the cpu-loop benchmark (one block
per iteration, the worst case), 300M iterations, 0.88-0.93 s without
the hook and 1.06-1.10 s with it (+17%); a Python block callback would
cost 6x. Hence the hook only where timed stops are needed: a
single-task process never pays it (cpu-loop 0.80-0.81 s, getpid 1M
1.80 s, against 0.83-0.90 s and 1.85-1.89 s before this module).

``SliceTimer`` is one daemon host thread that raises stop flags when a
run's budget is used up: a wall-clock deadline (a sleeping task's timer)
and/or a budget of CPU time of the emulating host thread (a time slice:
CPU time, so a host that deschedules the sentry does not shorten slices
and change a guest's interleaving at syscalls).
"""

from __future__ import annotations

import ctypes
import mmap
import struct
import threading
import time
from typing import Any

from sentry.platform.regs import uc_library

__all__ = ["SLICE_TIMER", "SliceTimer", "StopFlag", "block_stop_callback"]

_STOP_ADDR_PLACEHOLDER = 0x1122334455667788
_STUB = (
    b"\x80\x39\x00"  # cmp byte ptr [rcx], 0
    b"\x75\x01"  # jne +1
    b"\xc3"  # ret
    b"\x48\xb8" + struct.pack("<Q", _STOP_ADDR_PLACEHOLDER)  # movabs rax, uc_emu_stop
    + b"\xff\xe0"  # jmp rax
)

_BLOCK_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)
_callback: Any = None
_code: mmap.mmap | None = None


def block_stop_callback() -> Any:
    """The native ``UC_HOOK_BLOCK`` callback (a ctypes function pointer).

    Its ``user_data`` must be the address of a ``StopFlag``'s byte. Built
    once per process: the stub is written into a private anonymous page
    that is then made read+execute (never writable and executable at once).
    """
    global _callback, _code
    if _callback is None:
        libc = ctypes.CDLL(None, use_errno=True)
        mprotect = libc.mprotect
        mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        mprotect.restype = ctypes.c_int
        stop = ctypes.cast(uc_library().uc_emu_stop, ctypes.c_void_p).value
        assert stop is not None
        code = _STUB.replace(struct.pack("<Q", _STOP_ADDR_PLACEHOLDER), struct.pack("<Q", stop))
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        page.write(code)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
        if mprotect(addr, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise OSError(ctypes.get_errno(), "mprotect of the block-stop stub failed")
        _code = page  # kept alive (and mapped) for the life of the process
        _callback = _BLOCK_CB(addr)
    return _callback


class StopFlag:
    """One engine's stop flag: a byte the block hook reads.

    ``raise_`` may be called from any thread; emulation then stops at the
    next block start. ``clear`` is for the emulation thread, between runs.
    """

    __slots__ = ("_byte", "address")

    def __init__(self) -> None:
        self._byte = (ctypes.c_uint8 * 8)()
        self.address: int = ctypes.addressof(self._byte)
        """The address to pass as the hook's ``user_data``."""

    def raise_(self) -> None:
        self._byte[0] = 1

    def clear(self) -> None:
        self._byte[0] = 0

    @property
    def raised(self) -> bool:
        return bool(self._byte[0])


class _Target:
    __slots__ = ("clock", "cpu_budget", "cpu_start", "deadline", "fire")

    def __init__(self, fire: Any, deadline: float | None, clock: int | None, cpu_budget: float) -> None:
        self.fire = fire
        self.deadline = deadline
        self.clock = clock
        self.cpu_budget = cpu_budget
        self.cpu_start = time.clock_gettime(clock) if clock is not None else 0.0

    def remaining(self, now: float) -> float:
        """Seconds until this target may be due (<= 0: due now). Never
        more than the true remaining time: CPU time cannot run faster
        than the wall clock."""
        left = float("inf")
        if self.deadline is not None:
            left = self.deadline - now
        if self.clock is not None:
            try:
                used = time.clock_gettime(self.clock) - self.cpu_start
            except OSError:  # the emulating thread is gone
                used = self.cpu_budget
            left = min(left, self.cpu_budget - used)
        return left


class SliceTimer:
    """A single host thread that calls ``fire()`` of each armed target when
    its budget is used up, unless it was disarmed first.

    ``disarm`` returns only once the target can no longer fire (both run
    under one lock), so a run that disarmed its target never sees a late
    stop. Arming costs a lock round trip; the thread is woken only when a
    new target may be due before the time it sleeps to.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._targets: dict[int, _Target] = {}
        self._next_key = 0
        self._wake_at: float | None = None  # None: waiting without timeout
        self._thread: threading.Thread | None = None
        self._clocks: dict[int, int] = {}

    def arm(self, fire: Any, wall_us: int = 0, cpu_us: int = 0) -> int:
        """Call ``fire()`` (from the timer thread, under its lock: keep it
        tiny) after ``wall_us`` microseconds of wall time or ``cpu_us``
        microseconds of CPU time of the calling thread, whichever comes
        first (0: no such bound; at least one must be set). Returns a key
        for ``disarm``."""
        if wall_us <= 0 and cpu_us <= 0:
            raise ValueError("arm needs a wall or a CPU budget")
        now = time.monotonic()
        deadline = now + wall_us / 1e6 if wall_us > 0 else None
        clock = None
        if cpu_us > 0:
            ident = threading.get_ident()
            clock = self._clocks.get(ident)
            if clock is None:
                clock = self._clocks[ident] = time.pthread_getcpuclockid(ident)
        target = _Target(fire, deadline, clock, cpu_us / 1e6)
        due = now + target.remaining(now)
        with self._cond:
            key = self._next_key
            self._next_key += 1
            self._targets[key] = target
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="sentry-slice-timer", daemon=True)
                self._thread.start()
            elif self._wake_at is None or due < self._wake_at:
                self._cond.notify()
        return key

    def disarm(self, key: int) -> None:
        """Forget target ``key`` (a no-op if it already fired)."""
        with self._cond:
            self._targets.pop(key, None)

    def _loop(self) -> None:
        cond = self._cond
        with cond:
            while True:
                wait: float | None = None
                now = time.monotonic()
                for key, target in list(self._targets.items()):
                    left = target.remaining(now)
                    if left <= 0:
                        del self._targets[key]
                        target.fire()
                    elif wait is None or left < wait:
                        wait = left
                self._wake_at = None if wait is None else now + wait
                cond.wait(wait)


SLICE_TIMER = SliceTimer()
"""The process's slice timer (one thread for every engine)."""
