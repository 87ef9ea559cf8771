"""Helpers for the platform tests: a tiny assembler and a guest harness.

``asm(src)`` assembles Intel-syntax x86-64 with GNU ``as`` and extracts
``.text`` with ``objcopy`` (cached per source text). ``Guest`` bundles a
``MemoryFile``, a ``UnicornAddressSpace`` and one ``CPUContext``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile

import pytest

from sentry.hostarch import PAGE_SIZE, READ_EXECUTE, READ_WRITE, AccessType
from sentry.memfile import MemoryFile
from sentry.memmap.file import FileRange
from sentry.platform import StopKind, StopReason
from sentry.platform.unicorn_as import OnSyscall, UnicornAddressSpace

CODE = 0x400000
DATA = 0x600000
STACK = 0x7FFF0000

HAVE_AS = shutil.which("as") is not None and shutil.which("objcopy") is not None
requires_as = pytest.mark.skipif(not HAVE_AS, reason="GNU as/objcopy not installed")


@functools.cache
def asm(src: str, base: int = CODE) -> bytes:
    """Assemble ``src`` (Intel syntax, 64-bit) as if loaded at ``base``."""
    with tempfile.TemporaryDirectory() as d:
        s, o, b = (os.path.join(d, n) for n in ("a.S", "a.o", "a.bin"))
        with open(s, "w") as f:
            f.write(f".intel_syntax noprefix\n.text\n.org 0\n{src}\n")
        subprocess.run(["as", "--64", "-o", o, s], check=True, capture_output=True)
        subprocess.run(
            ["objcopy", "-O", "binary", "-j", ".text", o, b], check=True, capture_output=True
        )
        with open(b, "rb") as f:
            return f.read()


def no_syscalls(nr: int, *args: int) -> int | None:
    """An on_syscall that stops at every syscall."""
    return None


class Guest:
    """One address space with one thread and a memory file."""

    def __init__(self, mf: MemoryFile | None = None) -> None:
        self.mf = mf if mf is not None else MemoryFile()
        self.aspace = UnicornAddressSpace()
        self.cpu = self.aspace.new_context()
        self.backing: dict[int, FileRange] = {}

    def map(
        self, addr: int, length: int, at: AccessType = READ_WRITE, data: bytes = b""
    ) -> memoryview:
        """Allocate, fill and map ``length`` bytes at ``addr``; return the view."""
        fr = self.mf.allocate(length)
        view = self.mf.map_internal(fr, at)
        view[: len(data)] = data
        self.aspace.map_file(addr, self.mf, fr, at, False)
        self.backing[addr] = fr
        return view

    def load(self, src: str, addr: int = CODE, at: AccessType = READ_EXECUTE) -> bytes:
        """Assemble ``src`` and map it at ``addr``; point RIP at it."""
        code = asm(src)
        length = max(PAGE_SIZE, -(-len(code) // PAGE_SIZE) * PAGE_SIZE)
        self.map(addr, length, at, code)
        self.cpu.rip = addr
        return code

    def run(self, on_syscall: OnSyscall = no_syscalls, timeout_us: int = 0) -> StopReason:
        return self.aspace.run(self.cpu, on_syscall, timeout_us)

    def reg(self, name: str) -> int:
        return self.cpu.get_reg(name)


def assert_fault(stop: StopReason, addr: int, access: AccessType) -> None:
    assert stop.kind is StopKind.FAULT, stop
    assert stop.addr == addr, f"{stop.addr:#x} != {addr:#x}"
    assert stop.access == access, f"{stop.access} != {access}"


def end_of(code: bytes, base: int = CODE) -> int:
    return base + len(code)
