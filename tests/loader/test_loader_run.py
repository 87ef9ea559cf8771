"""Loaded programs run: glibc's and musl's startup code (static and
static-pie) accept the initial stack, find TLS through AT_PHDR, seed their
canaries from AT_RANDOM, and main sees argv, environ and auxv as given.

Runs on the Unicorn platform with a deliberately tiny syscall layer (just
what libc startup and stdio need), so only the loader, mm and platform are
involved."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from loader_support import INFO_C, TOOLCHAINS

from sentry.linuxerr import Errno
from sentry.loader import load
from sentry.mm import MMapOpts, access_from_prot
from sentry.usermem import IOOpts

if TYPE_CHECKING:
    from sentry.memfile import MemoryFile

pytest.importorskip("unicorn")

ENOSYS, ENOTTY = 38, 25
ARCH_SET_FS = 0x1002
MAP_FIXED, MAP_ANONYMOUS, MAP_PRIVATE = 0x10, 0x20, 0x02


@dataclass
class Outcome:
    exit_code: int | None = None
    output: bytearray = field(default_factory=bytearray)
    unhandled: list[int] = field(default_factory=list)


def run_guest(memory_file: MemoryFile, path: Path, argv: list[bytes], envv: list[bytes], rng: bytes) -> Outcome:
    from sentry.mm import MemoryManager
    from sentry.platform import StopKind, UnicornAddressSpace

    mm = MemoryManager(memory_file, UnicornAddressSpace)
    r = load(mm, str(path), argv, envv, rng=lambda n: rng[:n])
    aspace = mm.address_space
    cpu = aspace.new_context()  # type: ignore[attr-defined]
    cpu.rip, cpu.rsp = r.entry, r.stack_pointer
    out = Outcome()
    opts = IOOpts()

    def read(addr: int, n: int) -> bytes:
        buf = bytearray(n)
        got, err = mm.copy_in(addr, buf, opts)
        assert err is None and got == n
        return bytes(buf)

    def on_syscall(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
        try:
            if nr == 1:  # write
                out.output += read(a1, a2)
                return a2
            if nr == 20:  # writev
                total = 0
                for i in range(a2):
                    base, ln = struct.unpack("<QQ", read(a1 + 16 * i, 16))
                    out.output += read(base, ln)
                    total += ln
                return total
            if nr == 9:  # mmap, anonymous only
                if not a3 & MAP_ANONYMOUS:
                    return -ENOSYS
                fixed = bool(a3 & MAP_FIXED)
                return mm.mmap(MMapOpts(length=a1, addr=a0, fixed=fixed, unmap=fixed,
                                        private=bool(a3 & MAP_PRIVATE), perms=access_from_prot(a2)))
            if nr == 10:
                mm.mprotect(a0, a1, access_from_prot(a2))
                return 0
            if nr == 11:
                mm.munmap(a0, a1)
                return 0
            if nr == 12:
                return mm.brk(a0)
            if nr == 16:
                return -ENOTTY
            if nr == 158 and a0 == ARCH_SET_FS:
                cpu.fs_base = a1
                return 0
            if nr in (60, 231):
                out.exit_code = a0 & 0xFF
                return None
        except Errno as e:
            return -e.errno
        out.unhandled.append(nr)
        return -ENOSYS

    try:
        for _ in range(100000):
            stop = aspace.run(cpu, on_syscall)  # type: ignore[attr-defined]
            if stop.kind is StopKind.SYSCALL_STOP:
                return out
            if stop.kind is StopKind.FAULT:
                err = mm.handle_user_fault(stop.addr, stop.access)
                assert err is None, f"guest fault at {stop.addr:#x} ({stop.access}): {err!r}"
                continue
            if stop.kind is StopKind.INTERRUPTED:
                continue
            raise AssertionError(f"guest stopped: {stop} at rip {cpu.rip:#x}")
        raise AssertionError("guest did not finish")
    finally:
        mm.release()


@pytest.mark.parametrize("toolchain", TOOLCHAINS)
def test_libc_startup_accepts_the_stack(
    build: Callable[..., Path], memory_file: MemoryFile, toolchain: str
) -> None:
    prog = build(INFO_C, toolchain, "info")
    argv = [b"info", b"two words", b""]
    envv = [b"A=1", b"LONG=" + b"x" * 500]
    rng = bytes(range(0xC0, 0xD0))
    out = run_guest(memory_file, prog, argv, envv, rng)
    assert out.exit_code == 3, (out.output.decode(errors="replace"), out.unhandled)
    expected = [
        "argc=3",
        "argv[0]=info",
        "argv[1]=two words",
        "argv[2]=",
        "env=A=1",
        "env=LONG=" + "x" * 500,
        f"execfn={prog}",
        "platform=x86_64",
        "pagesz=4096",
        "clktck=100",
        "secure=0",
        "random=" + rng.hex(),
        "tls=42",
        "initialized=7",
        "bss=0",
        "heap ok",
    ]
    assert out.output.decode().splitlines() == expected
