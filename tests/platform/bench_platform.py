"""Platform micro-benchmarks (not collected by pytest).

Run: ``python tests/platform/bench_platform.py``. Prints the figures quoted
in the docstrings of ``sentry.platform.unicorn_as`` and ``regs``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(__file__))

from platform_helpers import DATA, Guest
from unicorn import UC_ARCH_X86, UC_MODE_64, Uc
from unicorn import x86_const as x86

from sentry.hostarch import PAGE_SIZE, READ_WRITE
from sentry.memfile import MemoryFile
from sentry.platform import StopKind
from sentry.platform.regs import SYSCALL_REGS, FastRegs


def per_call(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def bench_regs() -> None:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    fast = FastRegs(uc)
    read7, write_rax = fast.read_syscall_regs, fast.write_rax
    ids = list(SYSCALL_REGS)
    print(f"read_syscall_regs          {per_call(read7, 300_000):6.2f} us")
    print(f"uc.reg_read_batch (7)      {per_call(lambda: uc.reg_read_batch(ids), 30_000):6.2f} us")
    print(
        f"uc.reg_read (1)            {per_call(lambda: uc.reg_read(x86.UC_X86_REG_RAX), 100_000):6.2f} us"
    )
    print(f"write_rax                  {per_call(lambda: write_rax(-1), 300_000):6.2f} us")
    print(
        f"uc.reg_write (1)           {per_call(lambda: uc.reg_write(x86.UC_X86_REG_RAX, 1), 100_000):6.2f} us"
    )


def bench_syscalls(n: int = 1_000_000) -> None:
    g = Guest()
    g.load("top:\nmov eax, 39\nsyscall\njmp top\n")
    count = 0

    def getpid(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
        nonlocal count
        count += 1
        if count >= n:
            return None
        return 0

    t0 = time.perf_counter()
    stop = g.run(getpid)
    dt = time.perf_counter() - t0
    assert stop.kind is StopKind.SYSCALL_STOP
    print(
        f"getpid loop                {count / dt:,.0f} syscalls/s ({dt / count * 1e6:.2f} us each)"
    )

    # The same with a 10 ms time slice around each run (preemptible).
    count = 0
    g.cpu.rip = 0x400000
    t0 = time.perf_counter()
    while True:
        stop = g.run(getpid, timeout_us=10_000)
        if stop.kind is StopKind.SYSCALL_STOP:
            break
    dt = time.perf_counter() - t0
    print(f"getpid loop, 10 ms slices  {count / dt:,.0f} syscalls/s")


def bench_faults(n: int = 20_000) -> None:
    g = Guest()
    g.load(f"mov rax, [{DATA:#x}]\nmov eax, 60\nsyscall\n")
    run = g.run
    t0 = time.perf_counter()
    for _ in range(n):
        stop = run()
    dt = time.perf_counter() - t0
    assert stop.kind is StopKind.FAULT
    print(f"fault stop + restart       {dt / n * 1e6:6.2f} us")

    # Realistic: fault, map a fresh page, retry (completes), unmap again.
    mf = g.mf
    aspace = g.aspace
    fr = mf.allocate(PAGE_SIZE)
    t0 = time.perf_counter()
    for _ in range(n // 4):
        g.cpu.rip = 0x400000
        stop = run()
        assert stop.kind is StopKind.FAULT
        aspace.map_file(DATA, mf, fr, READ_WRITE, False)
        stop = run()
        assert stop.kind is StopKind.SYSCALL_STOP
        aspace.unmap(DATA, PAGE_SIZE)
    dt = time.perf_counter() - t0
    print(f"fault + map + retry + unmap {dt / (n // 4) * 1e6:5.2f} us")


def bench_switch(n: int = 50_000) -> None:
    g = Guest()
    g.load("top:\nmov eax, 24\nsyscall\njmp top\n")
    t1, t2 = g.cpu, g.aspace.new_context()
    t2.rip = 0x400000
    aspace = g.aspace

    def stop(*a: int) -> int | None:
        return None

    t0 = time.perf_counter()
    for _ in range(n):
        aspace.run(t1, stop)
        aspace.run(t2, stop)
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n):
        aspace.run(t1, stop)
        aspace.run(t1, stop)
    same = time.perf_counter() - t0
    print(f"syscall stop + rerun       {same / (2 * n) * 1e6:6.2f} us")
    print(f"thread switch (extra)      {(dt - same) / (2 * n) * 1e6:6.2f} us")


def bench_memfile(n: int = 50_000) -> None:
    mf = MemoryFile()

    def cycle() -> None:
        fr = mf.allocate(PAGE_SIZE)
        mf.inc_ref(fr)
        mf.has_unique_ref(fr)
        mf.dec_ref(fr)
        mf.dec_ref(fr)

    print(f"memfile alloc/inc/uniq/dec/dec(free) {per_call(cycle, n):6.2f} us")


if __name__ == "__main__":
    bench_regs()
    bench_syscalls()
    bench_faults()
    bench_switch()
    bench_memfile()
