"""Faults: exact address and access, RIP at the faulting instruction, resume."""

from __future__ import annotations

import struct

from platform_helpers import CODE, DATA, STACK, Guest, asm, assert_fault, requires_as

from sentry.hostarch import EXECUTE, PAGE_SIZE, READ, READ_EXECUTE, READ_WRITE, WRITE, AccessType
from sentry.platform import StopKind

pytestmark = requires_as

EXIT = "mov eax, 60\nsyscall\n"


def test_unmapped_read_then_resume() -> None:
    g = Guest()
    g.load(f"nop\nmov rbx, [{DATA + 8:#x}]\n{EXIT}")
    stop = g.run()
    assert_fault(stop, DATA + 8, READ)
    assert g.reg("rip") == CODE + 1
    assert g.reg("rbx") == 0
    g.map(DATA, PAGE_SIZE, READ_WRITE, b"\0" * 8 + struct.pack("<Q", 0x1122334455667788))
    stop = g.run()
    assert stop.kind is StopKind.SYSCALL_STOP
    assert g.reg("rbx") == 0x1122334455667788
    assert g.reg("rax") == 60  # RAX untouched by the stop: still the syscall number


def test_unmapped_write_then_resume() -> None:
    g = Guest()
    g.load(f"nop\nmov qword ptr [{DATA + 0x10:#x}], 0x5a\n{EXIT}")
    assert_fault(g.run(), DATA + 0x10, WRITE)
    assert g.reg("rip") == CODE + 1
    view = g.map(DATA, PAGE_SIZE)
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert view[0x10] == 0x5A


def test_unmapped_fetch_reports_target() -> None:
    g = Guest()
    target = 0x500000
    g.load(f"mov rax, {target:#x}\njmp rax\n")
    assert_fault(g.run(), target, EXECUTE)
    assert g.reg("rip") == target
    g.map(target, PAGE_SIZE, READ_EXECUTE, asm(EXIT))
    assert g.run().kind is StopKind.SYSCALL_STOP


def test_jump_to_zero_is_a_fetch_fault() -> None:
    g = Guest()
    g.load("xor eax, eax\njmp rax\n")
    assert_fault(g.run(), 0, EXECUTE)


def test_fetch_from_non_executable_page() -> None:
    g = Guest()
    g.map(DATA, PAGE_SIZE, READ_WRITE, asm(EXIT))
    g.load(f"mov rax, {DATA:#x}\njmp rax\n")
    assert_fault(g.run(), DATA, EXECUTE)
    # Granting execute (same host memory) resumes into the page.
    g.aspace.map_file(DATA, g.mf, g.backing[DATA], AccessType(True, True, True), False)
    assert g.run().kind is StopKind.SYSCALL_STOP


def test_write_to_read_only_page_is_write_fault() -> None:
    g = Guest()
    view = g.map(DATA, PAGE_SIZE, READ)
    g.load(f"nop\nmov dword ptr [{DATA + 4:#x}], 7\n{EXIT}")
    assert_fault(g.run(), DATA + 4, WRITE)
    assert g.reg("rip") == CODE + 1
    maps = g.aspace.counters.maps
    g.aspace.map_file(DATA, g.mf, g.backing[DATA], READ_WRITE, False)
    assert g.aspace.counters.maps == maps  # same host memory: a protect, not a remap
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert view[4] == 7


def test_read_of_prot_none_page_is_read_fault() -> None:
    g = Guest()
    g.map(DATA, PAGE_SIZE, READ_WRITE)
    g.aspace.protect(DATA, PAGE_SIZE, AccessType())
    g.load(f"mov rax, [{DATA:#x}]\n{EXIT}")
    assert_fault(g.run(), DATA, READ)


def test_push_onto_unmapped_stack_keeps_rsp() -> None:
    g = Guest()
    top = STACK + PAGE_SIZE
    g.load(f"mov rsp, {top:#x}\nmov rax, 0x77\npush rax\n{EXIT}")
    assert_fault(g.run(), top - 8, WRITE)
    assert g.reg("rsp") == top
    assert g.reg("rip") == CODE + len(asm(f"mov rsp, {top:#x}\nmov rax, 0x77\n"))
    view = g.map(STACK, PAGE_SIZE)
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rsp") == top - 8  # pushed exactly once
    assert struct.unpack_from("<Q", view, PAGE_SIZE - 8)[0] == 0x77


def test_call_onto_unmapped_stack_keeps_rsp() -> None:
    g = Guest()
    top = STACK + PAGE_SIZE
    code = g.load(f"mov rsp, {top:#x}\ncall f\nf:\n{EXIT}")
    assert_fault(g.run(), top - 8, WRITE)
    assert g.reg("rsp") == top
    view = g.map(STACK, PAGE_SIZE)
    assert g.run().kind is StopKind.SYSCALL_STOP
    ret = struct.unpack_from("<Q", view, PAGE_SIZE - 8)[0]
    assert CODE < ret < CODE + len(code)


def test_rep_movsb_partially_done_resumes() -> None:
    g = Guest()
    src = g.map(DATA, 2 * PAGE_SIZE, READ_WRITE, bytes(range(256)) * 32)
    dst_addr = 0x700000
    dst_view = g.map(dst_addr, PAGE_SIZE)  # the second destination page is missing
    start = dst_addr + PAGE_SIZE - 0x100
    prefix = f"mov rsi, {DATA:#x}\nmov rdi, {start:#x}\nmov rcx, 0x300\n"
    g.load(f"{prefix}rep movsb\n{EXIT}")
    assert_fault(g.run(), dst_addr + PAGE_SIZE, WRITE)
    assert g.reg("rip") == CODE + len(asm(prefix))
    assert g.reg("rcx") == 0x200  # 0x100 bytes done
    assert g.reg("rdi") == dst_addr + PAGE_SIZE
    assert bytes(dst_view[PAGE_SIZE - 0x100 :]) == bytes(src[:0x100])
    second = g.map(dst_addr + PAGE_SIZE, PAGE_SIZE)
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rcx") == 0
    assert bytes(second[:0x200]) == bytes(src[0x100:0x300])


def test_straddling_write_reports_first_unmapped_byte() -> None:
    g = Guest()
    g.map(DATA, PAGE_SIZE)
    g.load(f"mov rax, -1\nmov [{DATA + PAGE_SIZE - 4:#x}], rax\n{EXIT}")
    assert_fault(g.run(), DATA + PAGE_SIZE, WRITE)
    second = g.map(DATA + PAGE_SIZE, PAGE_SIZE)
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert bytes(second[:4]) == b"\xff" * 4


def test_fault_counter_and_repeat() -> None:
    g = Guest()
    g.load(f"mov rax, [{DATA:#x}]\n{EXIT}")
    for _ in range(3):
        assert_fault(g.run(), DATA, READ)
    assert g.aspace.counters.faults == 3


def test_instruction_straddling_into_unmapped_page() -> None:
    g = Guest()
    # A 10-byte instruction starting 4 bytes before the end of the code page.
    insn = asm("movabs rax, 0x1122334455667788")
    assert len(insn) == 10
    pad = PAGE_SIZE - 4
    view = g.map(CODE, PAGE_SIZE, READ_EXECUTE)
    view[pad:] = insn[:4]
    g.cpu.rip = CODE + pad
    assert_fault(g.run(), CODE + PAGE_SIZE, EXECUTE)
    assert g.reg("rip") == CODE + pad
    g.map(CODE + PAGE_SIZE, PAGE_SIZE, READ_EXECUTE, insn[4:] + asm(EXIT))
    assert g.run().kind is StopKind.SYSCALL_STOP
    assert g.reg("rax") == 60
