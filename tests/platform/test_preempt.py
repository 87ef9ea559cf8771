"""Preemption lands between instructions (``sentry.platform.preempt``).

Unicorn's own timed stop can land after the store of a read-modify-write
instruction and run it again (``lock xadd`` adding twice). These tests stop
a loop of such instructions hundreds of times by each way the sentry stops
a run (a CPU-time slice, a wall-clock deadline, ``interrupt`` from another
thread) and check that every counter is exact and the loop really was
stopped many times.
"""

from __future__ import annotations

import struct
import threading

import pytest
from platform_helpers import DATA, Guest, requires_as

from sentry.hostarch import PAGE_SIZE
from sentry.platform import StopKind
from sentry.platform.preempt import SliceTimer

pytestmark = requires_as

OUTER, INNER = 1000, 1000
ITERATIONS = OUTER * INNER
MIN_STOPS = 20

# r8 counts outer iterations, each ending with getpid; rcx counts down the
# inner loop: [DATA] gets an inc, [DATA+8] a lock xadd of 1, [DATA+16] a
# lock cmpxchg increment, [DATA+24] an add through a push/pop.
RMW_LOOP = f"""
    mov r8, {OUTER}
    mov rdi, {DATA:#x}
outer:
    mov rcx, {INNER}
top:
    inc qword ptr [rdi]
    mov edx, 1
    lock xadd [rdi + 8], rdx
    mov rax, [rdi + 16]
retry:
    lea rdx, [rax + 1]
    lock cmpxchg [rdi + 16], rdx
    jne retry
    push qword ptr [rdi + 24]
    pop rax
    add rax, 3
    mov [rdi + 24], rax
    dec rcx
    jnz top
    mov eax, 39
    syscall
    dec r8
    jnz outer
    mov eax, 60
    syscall
"""


def getpid(nr: int, *args: int) -> int | None:
    """on_syscall: getpid returns 1; anything else (exit) stops."""
    return 1 if nr == 39 else None


def run_loop(how: str) -> tuple[tuple[int, ...], int, int]:
    """Run RMW_LOOP to its exit syscall, stopped repeatedly ``how``.
    The first outer iteration runs unbounded, so the loop is translated
    before the engine is made preemptible (its translations must be
    dropped). Returns the four counters, the number of stops and of
    timed-out stops."""
    g = Guest()
    data = g.map(DATA, PAGE_SIZE)
    g.map(0x7FFF0000, PAGE_SIZE)
    g.cpu.set_reg("rsp", 0x7FFF0000 + PAGE_SIZE)
    g.load(RMW_LOOP)
    assert g.aspace.run(g.cpu, lambda *a: None).kind is StopKind.SYSCALL_STOP
    if how == "interrupt":
        g.aspace.enable_preemption()
    stops = timed = 0
    done = threading.Event()

    def interrupter() -> None:
        while not done.wait(0.0005):
            g.aspace.interrupt()

    thread = threading.Thread(target=interrupter) if how == "interrupt" else None
    if thread is not None:
        thread.start()
    try:
        while True:
            if how == "cpu_slice":
                stop = g.aspace.run(g.cpu, getpid, cpu_slice_us=300)
            elif how == "wall":
                stop = g.aspace.run(g.cpu, getpid, timeout_us=300)
            else:
                stop = g.aspace.run(g.cpu, getpid)
            if stop.kind is not StopKind.INTERRUPTED:
                break
            stops += 1
            timed += g.aspace.timed_out()
    finally:
        done.set()
        if thread is not None:
            thread.join()
    assert stop.kind is StopKind.SYSCALL_STOP, stop
    assert g.reg("rax") == 60
    counters = struct.unpack_from("<4Q", data)
    return counters, stops, timed


@pytest.mark.parametrize("how", ["cpu_slice", "wall", "interrupt"])
def test_stops_never_replay_read_modify_write(how: str) -> None:
    counters, stops, timed = run_loop(how)
    assert counters == (ITERATIONS, ITERATIONS, ITERATIONS, 3 * ITERATIONS)
    assert stops >= MIN_STOPS, f"only {stops} stops: the test proves nothing"
    if how == "interrupt":
        assert timed == 0
    else:
        assert timed == stops


def test_slice_timer_disarmed_target_never_fires() -> None:
    fired = threading.Event()
    timer = SliceTimer()
    key = timer.arm(fired.set, wall_us=200_000)  # disarmed long before it is due, even on a loaded host
    timer.disarm(key)
    assert not fired.wait(0.5)


def test_slice_timer_wall_budget_fires() -> None:
    fired = threading.Event()
    SliceTimer().arm(fired.set, wall_us=1000)
    assert fired.wait(10)


def test_slice_timer_cpu_budget_counts_cpu_time_not_sleep() -> None:
    """A CPU-time slice does not expire while the thread sleeps (a host
    that deschedules the sentry does not shorten it), and expires once the
    thread has computed for that long."""
    fired = threading.Event()
    timer = SliceTimer()
    key = timer.arm(fired.set, cpu_us=20_000)
    assert not fired.wait(0.1)
    spins = 0
    while not fired.is_set() and spins < 10**9:
        spins += 1
    timer.disarm(key)
    assert fired.is_set()


def test_interrupt_from_another_thread_lands_at_a_syscall_until_preemptible() -> None:
    """Without the block hook a foreign interrupt waits for a safe point:
    the next syscall (whose result is still written)."""
    g = Guest()
    g.load("mov eax, 39\nsyscall\ntop:\ninc rbx\ncmp rbx, 50000000\njne top\nmov eax, 39\nsyscall\nud2\n")
    assert g.aspace.run(g.cpu, lambda *a: None).kind is StopKind.SYSCALL_STOP
    t = threading.Timer(0.01, g.aspace.interrupt)
    t.start()
    stop = g.aspace.run(g.cpu, getpid)
    t.join()
    assert stop.kind is StopKind.INTERRUPTED
    assert (g.reg("rbx"), g.reg("rax")) == (50_000_000, 1)
