"""The run loop: inline syscalls, stops, exceptions, interrupts, ISA setup."""

from __future__ import annotations

import struct
import threading
import time

import pytest
from platform_helpers import CODE, DATA, Guest, asm, requires_as

from sentry.hostarch import PAGE_SIZE, READ, READ_EXECUTE, READ_WRITE, AccessType
from sentry.platform import (
    VECTOR_BP,
    VECTOR_DE,
    VECTOR_GP,
    VECTOR_INT80,
    VECTOR_UD,
    StopKind,
)

pytestmark = requires_as

EXIT = "mov eax, 60\nsyscall\n"
GETPID_LOOP = "top:\nmov eax, 39\nsyscall\njmp top\n"


class Counter:
    """getpid returns a fixed value; stop after ``limit`` calls."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, nr: int, *args: int) -> int | None:
        self.calls.append((nr, *args))
        if len(self.calls) >= self.limit:
            return None
        return 1234


def test_inline_syscalls_then_stop() -> None:
    g = Guest()
    code = g.load(GETPID_LOOP)
    c = Counter(100)
    stop = g.run(c)
    assert stop.kind is StopKind.SYSCALL_STOP
    assert len(c.calls) == 100
    assert all(call[0] == 39 for call in c.calls)
    # RIP is past the syscall (at the jmp), RAX untouched (the number).
    assert g.reg("rip") == CODE + len(asm("top:\nmov eax, 39\nsyscall\n"))
    assert g.reg("rax") == 39
    assert g.reg("rip") < CODE + len(code)


def test_syscall_arguments_and_return_value() -> None:
    g = Guest()
    g.load(
        "mov rdi, 1\nmov rsi, 2\nmov rdx, 3\nmov r10, 4\nmov r8, 5\nmov r9, -1\n"
        "mov eax, 7\nsyscall\nmov rbx, rax\n"
        "mov eax, 8\nsyscall\nmov rcx, rax\n" + EXIT
    )
    seen: list[tuple[int, ...]] = []

    def handler(nr: int, *args: int) -> int | None:
        seen.append((nr, *args))
        return {7: -14, 8: 2**63}.get(nr)

    assert g.run(handler).kind is StopKind.SYSCALL_STOP
    assert seen[0] == (7, 1, 2, 3, 4, 5, 2**64 - 1)
    assert g.reg("rbx") == 2**64 - 14  # -EFAULT, two's complement
    assert g.reg("rcx") == 2**63
    assert seen[-1][0] == 60


def test_handler_exception_is_internal_error_and_resumable() -> None:
    g = Guest()
    g.load(f"mov eax, 1\nsyscall\nmov rbx, 5\n{EXIT}")

    def broken(nr: int, *args: int) -> int | None:
        if nr == 1:
            raise ValueError("bug in a handler")
        return None

    stop = g.run(broken)
    assert stop.kind is StopKind.INTERNAL_ERROR
    assert isinstance(stop.exc, ValueError)
    assert g.reg("rax") == 1  # untouched
    assert g.reg("rbx") == 0  # nothing after the syscall ran
    stop = g.run(broken)
    assert stop.kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 5


def test_handler_returning_garbage_is_internal_error() -> None:
    g = Guest()
    g.load(f"mov eax, 1\nsyscall\n{EXIT}")
    stop = g.run(lambda nr, *a: "nope")  # type: ignore[arg-type, return-value]
    assert stop.kind is StopKind.INTERNAL_ERROR
    assert isinstance(stop.exc, TypeError)


def test_keyboard_interrupt_is_reraised_outside_the_hook() -> None:
    g = Guest()
    g.load(f"mov eax, 1\nsyscall\n{EXIT}")

    def handler(nr: int, *args: int) -> int | None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        g.run(handler)
    assert g.run().kind is StopKind.SYSCALL_STOP  # the engine is fine afterwards


@pytest.mark.parametrize(
    ("src", "vector", "after"),
    [
        ("ud2", VECTOR_UD, False),
        (".byte 0x0f, 0xff", VECTOR_UD, False),
        (".byte 0xce", VECTOR_UD, False),  # into: invalid in 64-bit mode
        ("vmovdqu ymm0, [rsp]", VECTOR_UD, False),  # no AVX
        ("hlt", VECTOR_GP, False),
        ("cli", VECTOR_GP, False),
        ("mov rax, cr0", VECTOR_GP, False),
        ("wrmsr", VECTOR_GP, False),
        ("swapgs", VECTOR_GP, False),
        ("xor ecx, ecx\ndiv ecx", VECTOR_DE, False),
        ("int3", VECTOR_BP, True),
        ("int 0x80", VECTOR_INT80, True),
    ],
)
def test_cpu_exceptions(src: str, vector: int, after: bool) -> None:
    g = Guest()
    *prefix, insn = src.split("\n")
    pre = "nop\n" + "".join(p + "\n" for p in prefix)
    g.load(pre + insn + "\n" + EXIT)
    stop = g.run()
    assert stop.kind is StopKind.EXCEPTION, stop
    assert stop.vector == vector
    at = CODE + len(asm(pre))
    expected = at + len(asm(insn)) if after else at
    assert g.reg("rip") == expected


def test_time_slice_interrupts_and_resumes() -> None:
    g = Guest()
    g.load("top:\ninc rbx\njmp top\n")
    stop = g.run(timeout_us=2000)
    assert stop.kind is StopKind.INTERRUPTED
    assert g.aspace.timed_out()
    first = g.reg("rbx")
    assert first > 0
    stop = g.run(timeout_us=2000)
    assert stop.kind is StopKind.INTERRUPTED
    assert g.reg("rbx") > first


@pytest.mark.parametrize("target", ["aspace", "cpu"])
def test_interrupt_before_run_is_not_lost(target: str) -> None:
    """An interrupt of the address space or of the thread (CPUContext)
    made while nothing runs stops the next run at once, and only that one."""
    g = Guest()
    g.load(EXIT)
    getattr(g, target).interrupt()
    assert g.run().kind is StopKind.INTERRUPTED
    assert g.run().kind is StopKind.SYSCALL_STOP


def test_interrupt_from_inside_a_handler() -> None:
    g = Guest()
    g.load(GETPID_LOOP)
    calls = []

    def handler(nr: int, *args: int) -> int | None:
        calls.append(nr)
        if len(calls) == 3:
            g.aspace.interrupt()
        return 0

    stop = g.run(handler)
    assert stop.kind is StopKind.INTERRUPTED
    assert len(calls) == 3
    assert g.reg("rax") == 0  # the third syscall still got its result


def test_interrupt_from_another_thread() -> None:
    g = Guest()
    g.load("top:\ninc rbx\njmp top\n")
    g.aspace.enable_preemption()
    t = threading.Timer(0.05, g.aspace.interrupt)
    t.start()
    t0 = time.monotonic()
    stop = g.run()
    t.join()
    assert stop.kind is StopKind.INTERRUPTED
    assert time.monotonic() - t0 < 5
    assert not g.aspace.timed_out()


def test_handler_maps_and_replaces_running_code() -> None:
    """A handler may change mappings inline, even the page it runs on."""
    g = Guest()
    g.load(
        f"mov eax, 1\nsyscall\nmov rbx, [{DATA:#x}]\nmov eax, 2\nsyscall\nnop\nnop\nmov ecx, 0xaa\n{EXIT}"
    )
    replacement = bytearray(g.backing[CODE].length())
    original = asm(
        f"mov eax, 1\nsyscall\nmov rbx, [{DATA:#x}]\nmov eax, 2\nsyscall\nnop\nnop\nmov ecx, 0xaa\n{EXIT}"
    )
    replacement[: len(original)] = original.replace(
        b"\xb9\xaa\x00\x00\x00", b"\xb9\xbb\x00\x00\x00"
    )
    data = g.mf.allocate(PAGE_SIZE)
    g.mf.map_internal(data, READ)[:8] = struct.pack("<Q", 0x77)
    code2 = g.mf.allocate(PAGE_SIZE)
    g.mf.map_internal(code2, READ)[:] = replacement

    def handler(nr: int, *args: int) -> int | None:
        if nr == 1:
            g.aspace.map_file(DATA, g.mf, data, READ, False)
        elif nr == 2:
            g.aspace.unmap(DATA, PAGE_SIZE)
            g.aspace.map_file(CODE, g.mf, code2, READ_EXECUTE, False)
        else:
            return None
        return 0

    assert g.run(handler).kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 0x77
    assert g.reg("rcx") == 0xBB  # the new code ran
    assert g.aspace.region_count == 1


def test_handler_redirects_rip() -> None:
    g = Guest()
    code = g.load(f"mov eax, 1\nsyscall\nmov rbx, 1\n{EXIT}\nalt:\nmov rbx, 2\n{EXIT}")
    alt = CODE + len(asm(f"mov eax, 1\nsyscall\nmov rbx, 1\n{EXIT}"))
    assert alt < CODE + len(code)

    def handler(nr: int, *args: int) -> int | None:
        if nr == 1:
            g.cpu.rip = alt
            return 0
        return None

    assert g.run(handler).kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 2


def test_invalidate_code_after_host_write() -> None:
    g = Guest()
    g.load(f"mov rbx, 1\n{EXIT}")
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 1
    view = g.mf.map_internal(g.backing[CODE], READ_WRITE)
    new = asm(f"mov rbx, 2\n{EXIT}")
    view[: len(new)] = new
    g.aspace.invalidate_code(CODE, PAGE_SIZE)
    g.cpu.rip = CODE
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 2


def test_sse_x87_and_initial_fpu_state() -> None:
    g = Guest()
    g.map(DATA, PAGE_SIZE, READ_WRITE, struct.pack("<4f", 1.5, 2.5, 3.5, 4.5))
    g.load(
        f"movaps xmm0, [{DATA:#x}]\naddps xmm0, xmm0\nmovaps [{DATA + 16:#x}], xmm0\n"
        f"fnstcw [{DATA + 32:#x}]\nstmxcsr [{DATA + 36:#x}]\n"
        f"fld1\nfld1\nfaddp\nfistp dword ptr [{DATA + 40:#x}]\n"
        # 1/3 in double precision proves the x87 precision control is 64-bit.
        f"fld1\nmov dword ptr [{DATA + 48:#x}], 3\nfidiv dword ptr [{DATA + 48:#x}]\n"
        f"fstp qword ptr [{DATA + 56:#x}]\n"
        # SSE division by zero is masked (MXCSR 0x1f80): no exception, +inf.
        f"xorps xmm1, xmm1\nmovss xmm2, [{DATA:#x}]\ndivss xmm2, xmm1\nmovss [{DATA + 64:#x}], xmm2\n"
        + EXIT
    )
    assert g.run().kind is StopKind.SYSCALL_STOP
    view = g.mf.map_internal(g.backing[DATA], READ)
    assert struct.unpack_from("<4f", view, 16) == (3.0, 5.0, 7.0, 9.0)
    assert struct.unpack_from("<H", view, 32)[0] == 0x37F
    assert struct.unpack_from("<I", view, 36)[0] == 0x1F80
    assert struct.unpack_from("<i", view, 40)[0] == 2
    assert struct.unpack_from("<d", view, 56)[0] == 1 / 3
    assert struct.unpack_from("<f", view, 64)[0] == float("inf")


def test_fs_base_reads_through_fs_segment() -> None:
    g = Guest()
    g.map(DATA, PAGE_SIZE, READ_WRITE, b"\0" * 0x28 + struct.pack("<Q", 0xDEADBEEFCAFEF00D))
    g.load(f"mov rbx, fs:[0x28]\nrdfsbase rcx\n{EXIT}")
    g.cpu.fs_base = DATA
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 0xDEADBEEFCAFEF00D
    assert g.reg("rcx") == DATA
    assert g.cpu.fs_base == DATA


def test_user_mode_selectors() -> None:
    from unicorn.x86_const import UC_X86_REG_CS, UC_X86_REG_SS

    g = Guest()
    assert g.cpu.read_raw(UC_X86_REG_CS) == 0x33
    assert g.cpu.read_raw(UC_X86_REG_SS) == 0x2B
    assert g.cpu.get_reg("eflags") == 0x202


def test_write_through_executable_writable_mapping() -> None:
    """Guest self-modifying code on an RWX page is picked up by Unicorn."""
    g = Guest()
    patch = int.from_bytes(asm("mov rbx, 2").ljust(8, b"\x90"), "little")
    g.load(
        f"lea rdi, [rip + target]\nmov rax, {patch:#x}\n"
        f"mov [rdi], rax\ntarget:\nmov rbx, 1\nnop\n{EXIT}",
        at=AccessType(True, True, True),
    )
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 2


def test_syscall_rate_sanity() -> None:
    """Guards against accidental per-instruction hooks or a slow hot path."""
    g = Guest()
    g.load(GETPID_LOOP)
    n = 0
    limit = 50_000

    def getpid(nr: int, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int | None:
        nonlocal n
        n += 1
        return None if n >= limit else 0

    t0 = time.perf_counter()
    assert g.run(getpid).kind is StopKind.SYSCALL_STOP
    rate = limit / (time.perf_counter() - t0)
    assert rate > 100_000, f"{rate:,.0f} syscalls/s"


def test_trace_events_do_not_break_mapping() -> None:
    from sentry.tracing import TRACE

    g = Guest()
    old = TRACE.platform
    TRACE.platform = True
    try:
        g.map(DATA, PAGE_SIZE)
        g.aspace.protect(DATA, PAGE_SIZE, READ)
        g.aspace.unmap(DATA, PAGE_SIZE)
    finally:
        TRACE.platform = old
    assert g.aspace.region_count == 0
