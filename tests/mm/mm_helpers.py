"""Helpers for the MemoryManager tests: assembling guest code, running it in
Unicorn over a MemoryManager exactly as ``Kernel._run_task`` does, and
checking that the address space is a faithful cache of the pmas.

``asm(src)`` assembles Intel-syntax x86-64 with ``gcc -c`` and extracts
``.text`` with ``objcopy -O binary`` (cached per source text).
``Guest(mm)`` maps the snippets below once per MemoryManager and runs
them: ``guest.store8(addr, value)``, ``guest.load8(addr)``,
``guest.loop(...)``; each returns an ``Outcome``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest

from sentry.abi.signals import BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV
from sentry.hostarch import PAGE_SIZE, READ_EXECUTE, READ_WRITE, AccessType
from sentry.linuxerr import EPERM
from sentry.memmap.mappable import BusError
from sentry.mm import MemoryManager, MMapOpts
from sentry.platform import StopKind
from sentry.usermem import IOOpts

HAVE_GCC = shutil.which("gcc") is not None and shutil.which("objcopy") is not None
requires_gcc = pytest.mark.skipif(not HAVE_GCC, reason="gcc/objcopy not installed")

IGNORE = IOOpts(ignore_permissions=True)
PLAIN = IOOpts()

CODE = 0x10000000
"""Where ``Guest`` maps its code (one page, read+execute, private anon)."""

SNIPPETS = {
    # rdi = address: rax = the byte there.
    "load8": "movzx eax, byte ptr [rdi]\n syscall",
    # rdi = address, sil = value.
    "store8": "mov byte ptr [rdi], sil\n xor eax, eax\n syscall",
    # rdi = address: rax = the 32-bit value there (an unaligned access may
    # straddle pages).
    "load32": "mov eax, dword ptr [rdi]\n syscall",
    # A loop over rsi addresses from rdi with stride rdx; r8 != 0 writes
    # the byte in cl first; every byte read is added to rax. r10 counts
    # completed iterations (it survives faults: the instruction restarts).
    "loop": """
        xor eax, eax
        xor r10d, r10d
        test rsi, rsi
        jz 3f
    1:  test r8, r8
        jz 2f
        mov byte ptr [rdi], cl
    2:  movzx r9d, byte ptr [rdi]
        add rax, r9
        add rdi, rdx
        inc r10
        dec rsi
        jnz 1b
    3:  syscall
    """,
    # Write one byte per page: rdi = start, rsi = pages.
    "touch": """
    1:  mov byte ptr [rdi], 1
        add rdi, 4096
        dec rsi
        jnz 1b
        syscall
    """,
    # Jump to rdi (an execute fault if nothing executable is there).
    "jump": "jmp rdi",
}


@functools.cache
def asm(src: str) -> bytes:
    """Assemble ``src`` (Intel syntax, 64-bit, position independent)."""
    with tempfile.TemporaryDirectory() as d:
        s, o, b = (os.path.join(d, n) for n in ("a.S", "a.o", "a.bin"))
        with open(s, "w") as f:
            f.write(f".intel_syntax noprefix\n.text\n{src}\n")
        subprocess.run(["gcc", "-c", "-o", o, s], check=True, capture_output=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", o, b], check=True, capture_output=True)
        with open(b, "rb") as f:
            return f.read()


@dataclass
class Outcome:
    """How a guest run ended: ``signal`` 0 (it reached its ``syscall``),
    SIGSEGV or SIGBUS with ``code`` (si_code) and ``addr``; ``rax`` and
    ``regs`` (r10) at the end; ``faults`` resolved along the way."""

    signal: int
    code: int = 0
    addr: int = 0
    rax: int = 0
    r10: int = 0
    faults: int = 0
    err: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.signal == 0


def run_guest(mm: MemoryManager, cpu: Any, max_stops: int = 100_000) -> Outcome:
    """Run ``cpu`` in ``mm`` until its ``syscall`` or a fatal fault,
    resolving FAULT stops with ``mm.handle_user_fault`` exactly as
    ``Kernel._run_task`` does (EPERM -> SEGV_ACCERR, other errors ->
    SEGV_MAPERR, BusError -> SIGBUS)."""
    asp: Any = mm.address_space
    faults = 0
    for _ in range(max_stops):
        stop = asp.run(cpu, lambda *a: None)
        if stop.kind is StopKind.SYSCALL_STOP:
            return Outcome(0, rax=cpu.get_reg("rax"), r10=cpu.get_reg("r10"), faults=faults)
        if stop.kind is StopKind.FAULT:
            err = mm.handle_user_fault(stop.addr, stop.access)
            if err is None:
                faults += 1
                continue
            rax, r10 = cpu.get_reg("rax"), cpu.get_reg("r10")
            if isinstance(err, BusError):
                return Outcome(SIGBUS, BUS_ADRERR, stop.addr, rax, r10, faults, err)
            code = SEGV_ACCERR if err is EPERM else SEGV_MAPERR
            return Outcome(SIGSEGV, code, stop.addr, rax, r10, faults, err)
        if stop.kind is StopKind.INTERRUPTED:
            continue
        raise AssertionError(f"guest stopped: {stop} at rip {cpu.rip:#x}")
    raise AssertionError("guest did not finish")


class Guest:
    """The test snippets mapped into ``mm`` at ``CODE``, and one thread."""

    def __init__(self, mm: MemoryManager, code_addr: int = CODE) -> None:
        self.mm = mm
        self.cpu: Any = mm.address_space.new_context()  # type: ignore[attr-defined]
        self.entries: dict[str, int] = {}
        blob = bytearray()
        for name, src in SNIPPETS.items():
            self.entries[name] = code_addr + len(blob)
            blob += asm(src)
            blob += b"\xcc" * (-len(blob) % 16)
        assert len(blob) <= PAGE_SIZE
        mm.mmap(MMapOpts(length=PAGE_SIZE, addr=code_addr, fixed=True, unmap=True, perms=READ_EXECUTE))
        n, err = mm.copy_out(code_addr, bytes(blob), IGNORE)
        assert err is None and n == len(blob)

    def call(self, name: str, **regs: int) -> Outcome:
        """Run snippet ``name`` with these registers."""
        self.cpu.set_regs(rip=self.entries[name], **regs)
        return run_guest(self.mm, self.cpu)

    def store8(self, addr: int, value: int) -> Outcome:
        return self.call("store8", rdi=addr, rsi=value)

    def load8(self, addr: int) -> Outcome:
        return self.call("load8", rdi=addr)

    def loop(self, addr: int, count: int, stride: int, write: bool, value: int = 0) -> Outcome:
        return self.call("loop", rdi=addr, rsi=count, rdx=stride, r8=int(write), rcx=value)

    def warm(self) -> None:
        """Fault the code page in, so later fault counts are the data's."""
        out = self.load8(self.entries["load8"])
        assert out.ok, out

    def for_mm(self, mm: MemoryManager) -> Guest:
        """The same code in a forked child ``mm`` (already mapped there)."""
        g = Guest.__new__(Guest)
        g.mm = mm
        g.cpu = mm.address_space.new_context()  # type: ignore[attr-defined]
        g.entries = dict(self.entries)
        return g


def check_cache(mm: MemoryManager) -> None:
    """``mm.check_invariants()`` plus: every Unicorn region points at the
    host memory its pmas say backs it (a stale region after a COW break
    or a move would alias the wrong pages)."""
    mm.check_invariants()
    asp: Any = mm.address_space
    starts, ends, hosts = getattr(asp, "_starts", None), getattr(asp, "_ends", None), getattr(asp, "_hosts", None)
    if starts is None or ends is None or hosts is None:
        return
    for rs, re_, rh in zip(starts, ends, hosts, strict=True):
        for p in mm.pmas.overlapping(rs, re_):
            a = max(p.start, rs)
            want = p.file.host_address(p.off + (a - p.start))
            assert rh + (a - rs) == want, f"region [{rs:#x}, {re_:#x}) maps stale memory at {a:#x}"


def anon(mm: MemoryManager, addr: int, length: int, perms: AccessType = READ_WRITE) -> int:
    """Map private anonymous memory at exactly ``[addr, addr + length)``."""
    return mm.mmap(MMapOpts(length=length, addr=addr, fixed=True, unmap=True, perms=perms))


def region_count(mm: MemoryManager) -> int:
    return int(getattr(mm.address_space, "region_count"))  # noqa: B009


def perms(s: str) -> AccessType:
    """``"rw-"`` -> AccessType."""
    return AccessType("r" in s, "w" in s, "x" in s)
