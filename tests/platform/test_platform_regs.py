"""The fast register path agrees with the binding's own register access."""

from __future__ import annotations

import random

from unicorn import UC_ARCH_X86, UC_MODE_64, Uc
from unicorn import x86_const as x86

from sentry.platform.regs import GENERAL_REGS, SYSCALL_REGS, FastRegs, context_read, context_write

MASK = (1 << 64) - 1


def test_read_syscall_regs_matches_binding() -> None:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    fast = FastRegs(uc)
    rng = random.Random(1)
    for _ in range(50):
        values = [rng.getrandbits(64) for _ in SYSCALL_REGS]
        for reg, v in zip(SYSCALL_REGS, values, strict=True):
            uc.reg_write(reg, v)
        got = fast.read_syscall_regs()
        assert isinstance(got, tuple)
        assert list(got) == values
        assert list(got) == [uc.reg_read(r) for r in SYSCALL_REGS]


def test_write_rax_matches_binding() -> None:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    fast = FastRegs(uc)
    for v in (0, 1, 2**63, MASK, -1, -14, -(2**63), 0x1234_5678_9ABC_DEF0):
        fast.write_rax(v)
        assert uc.reg_read(x86.UC_X86_REG_RAX) == v & MASK
        assert fast.read_reg(x86.UC_X86_REG_RAX) == v & MASK
    # Only RAX changes.
    uc.reg_write(x86.UC_X86_REG_RDI, 7)
    fast.write_rax(5)
    assert uc.reg_read(x86.UC_X86_REG_RDI) == 7


def test_general_registers_batch_roundtrip() -> None:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    fast = FastRegs(uc)
    rng = random.Random(2)
    ids = [rid for name, rid in GENERAL_REGS.items() if name != "eflags"]
    values = [rng.getrandbits(47) for _ in ids]
    fast.write_regs(list(zip(ids, values, strict=True)))
    assert [uc.reg_read(r) for r in ids] == values
    assert list(fast.read_regs(ids)) == values
    for rid, v in zip(ids, values, strict=True):
        assert fast.read_reg(rid) == v
        fast.write_reg(rid, v + 1)
        assert uc.reg_read(rid) == v + 1


def test_context_accessors_match_binding() -> None:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.reg_write(x86.UC_X86_REG_RBX, 0xABC)
    ctx = uc.context_save()
    assert context_read(ctx, [x86.UC_X86_REG_RBX])[0] == ctx.reg_read(x86.UC_X86_REG_RBX) == 0xABC
    context_write(ctx, [(x86.UC_X86_REG_RBX, -2), (x86.UC_X86_REG_FS_BASE, 0x7000)])
    assert ctx.reg_read(x86.UC_X86_REG_RBX) == MASK - 1
    uc.context_restore(ctx)
    assert uc.reg_read(x86.UC_X86_REG_RBX) == MASK - 1
    assert uc.reg_read(x86.UC_X86_REG_FS_BASE) == 0x7000
