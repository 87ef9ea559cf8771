"""CPU contexts: switching threads on one engine, clone and fork copies."""

from __future__ import annotations

import struct

from platform_helpers import CODE, DATA, Guest, asm, requires_as

from sentry.hostarch import PAGE_SIZE, READ, READ_EXECUTE, READ_WRITE
from sentry.platform import StopKind
from sentry.platform.unicorn_as import UnicornAddressSpace

pytestmark = requires_as

# Each call adds RDI to RBX and yields (syscall 24, sched_yield, stops).
YIELD_LOOP = "top:\nadd rbx, rdi\nmovq xmm0, rbx\nmov eax, 24\nsyscall\njmp top\n"


def stop_all(nr: int, *args: int) -> int | None:
    return None


def test_two_threads_on_one_engine_keep_their_state() -> None:
    g = Guest()
    g.load(YIELD_LOOP)
    t1 = g.cpu
    t2 = g.aspace.new_context()
    t1.set_regs(rdi=1, rip=CODE)
    t2.set_regs(rdi=100, rip=CODE)  # set while saved (not live)
    assert not t2.is_live
    for _ in range(5):
        assert g.aspace.run(t1, stop_all).kind is StopKind.SYSCALL_STOP
        assert t1.is_live and not t2.is_live
        assert g.aspace.run(t2, stop_all).kind is StopKind.SYSCALL_STOP
    assert t1.get_reg("rbx") == 5
    assert t2.get_reg("rbx") == 500  # read from the saved copy
    assert t2.is_live and not t1.is_live
    assert t1.get_regs()["rdi"] == 1


def test_fresh_context_state() -> None:
    aspace = UnicornAddressSpace()
    cpu = aspace.new_context()
    regs = cpu.get_regs()
    assert regs["eflags"] == 0x202
    assert all(v == 0 for k, v in regs.items() if k != "eflags")
    cpu.set_regs({"rax": -1}, fs_base=0x1000)
    assert cpu.get_reg("rax") == 2**64 - 1
    assert cpu.fs_base == 0x1000
    # Another fresh context is unaffected.
    assert aspace.new_context().get_reg("rax") == 0


def test_clone_in_same_address_space() -> None:
    g = Guest()
    g.load(YIELD_LOOP)
    g.cpu.set_regs(rdi=3)
    assert g.run(stop_all).kind is StopKind.SYSCALL_STOP
    child = g.cpu.clone()
    assert child.get_regs() == g.cpu.get_regs()
    child.set_regs(rdi=1000)
    assert g.aspace.run(child, stop_all).kind is StopKind.SYSCALL_STOP
    assert child.get_reg("rbx") == 1003
    assert g.run(stop_all).kind is StopKind.SYSCALL_STOP
    assert g.cpu.get_reg("rbx") == 6


def test_clone_inside_the_syscall_hook_resumes_after_syscall() -> None:
    g = Guest()
    g.load("mov eax, 56\nsyscall\nmov rbx, rax\nmov eax, 60\nsyscall\n")
    after = CODE + len(asm("mov eax, 56\nsyscall\n"))
    children = []
    seen_rip = []

    def handler(nr: int, *args: int) -> int | None:
        if nr == 56:
            seen_rip.append(g.cpu.rip)
            child = g.cpu.clone()
            child.set_regs(rax=0)
            children.append(child)
            return 4242
        return None

    assert g.run(handler).kind is StopKind.SYSCALL_STOP
    assert seen_rip == [after]
    assert g.reg("rbx") == 4242
    (child,) = children
    assert child.rip == after
    assert g.aspace.run(child, handler).kind is StopKind.SYSCALL_STOP
    assert child.get_reg("rbx") == 0


def test_fork_copy_into_another_address_space() -> None:
    parent = Guest()
    parent.load(YIELD_LOOP)
    parent.cpu.set_regs(rdi=2)
    assert parent.run(stop_all).kind is StopKind.SYSCALL_STOP
    parent.cpu.fs_base = DATA
    # The child address space maps its own copy of the code.
    child_as = UnicornAddressSpace()
    fr = parent.mf.allocate(PAGE_SIZE)
    parent.mf.map_internal(fr, READ_WRITE)[:] = parent.mf.map_internal(parent.backing[CODE], READ)
    child_as.map_file(CODE, parent.mf, fr, READ_EXECUTE, False)
    data = parent.mf.allocate(PAGE_SIZE)
    parent.mf.map_internal(data, READ_WRITE)[0x28:0x30] = struct.pack("<Q", 99)
    child_as.map_file(DATA, parent.mf, data, READ, False)
    child = parent.cpu.clone(child_as)
    assert child.aspace is child_as
    assert child.get_regs() == parent.cpu.get_regs()
    assert child_as.run(child, stop_all).kind is StopKind.SYSCALL_STOP
    assert child.get_reg("rbx") == 4
    # XMM state travelled too (movq xmm0, rbx executed in both).
    from unicorn.x86_const import UC_X86_REG_CS

    assert child.read_raw(UC_X86_REG_CS) == 0x33  # still user mode
    # The child's FS base works in the child's engine.
    child_as.unmap(CODE, PAGE_SIZE)
    code2 = parent.mf.allocate(PAGE_SIZE)
    prog = asm("mov rbx, fs:[0x28]\nmov eax, 60\nsyscall\n")
    parent.mf.map_internal(code2, READ_WRITE)[: len(prog)] = prog
    child_as.map_file(CODE, parent.mf, code2, READ_EXECUTE, False)
    child.rip = CODE
    assert child_as.run(child, stop_all).kind is StopKind.SYSCALL_STOP
    assert child.get_reg("rbx") == 99
    # The parent is untouched.
    assert parent.cpu.get_reg("rbx") == 2


def test_release_context() -> None:
    g = Guest()
    g.load(YIELD_LOOP)
    assert g.run(stop_all).kind is StopKind.SYSCALL_STOP
    other = g.aspace.new_context()
    g.cpu.release()
    assert g.aspace.active_context is None
    other.rip = CODE
    assert g.aspace.run(other, stop_all).kind is StopKind.SYSCALL_STOP
