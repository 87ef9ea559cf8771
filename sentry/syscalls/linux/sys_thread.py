"""exit, exit_group, set_tid_address, set_robust_list, arch_prctl and the
scheduler queries (gVisor ``sys_thread.go``, ``sys_tls_amd64.go``)."""

from __future__ import annotations

import os
import struct

from sentry.kernel.kernel import SyscallTable
from sentry.kernel.task import Task, TaskStop
from sentry.linuxerr import EBUSY, EFAULT, EINVAL, EPERM
from sentry.syscalls.linux.args import s32

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
_ROBUST_LIST_HEAD_SIZE = 24
_CANONICAL_LIMIT = 1 << 47


def sys_exit(t: Task, status: int, *_: int) -> int:
    """End the calling thread; the process ends with its last thread."""
    tg = t.tg
    if len([x for x in tg.tasks if not x.exited]) == 1 and tg.exit_status is None:
        tg.exit_status = (status & 0xFF) << 8
    t.kernel.exit_task(t)
    raise TaskStop


def sys_exit_group(t: Task, status: int, *_: int) -> int:
    t.kernel.exit_thread_group(t.tg, (status & 0xFF) << 8)
    raise TaskStop


def sys_set_tid_address(t: Task, tidptr: int, *_: int) -> int:
    t.clear_child_tid = tidptr
    return t.tid


def sys_set_robust_list(t: Task, head: int, length: int, *_: int) -> int:
    if length != _ROBUST_LIST_HEAD_SIZE:
        raise EINVAL
    t.robust_list = (head, length)
    return 0


def sys_arch_prctl(t: Task, code: int, addr: int, *_: int) -> int:
    code = s32(code)
    cpu = t.cpu
    if code == ARCH_SET_FS:
        if addr >= _CANONICAL_LIMIT:
            raise EPERM
        cpu.fs_base = addr
        return 0
    if code == ARCH_SET_GS:
        if addr >= _CANONICAL_LIMIT:
            raise EPERM
        cpu.gs_base = addr
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        value = cpu.fs_base if code == ARCH_GET_FS else cpu.gs_base
        t.copy_out_bytes(addr, struct.pack("<Q", value))
        return 0
    raise EINVAL


def sys_sched_getaffinity(t: Task, pid: int, size: int, mask: int, *_: int) -> int:
    """The host's CPU set, as Linux reports it: the kernel's cpumask size in
    bytes is returned (at least 8), EINVAL when ``size`` is too small or not
    a multiple of 8."""
    cpus = os.sched_getaffinity(0)
    nbytes = max(8, ((max(cpus) // 64) + 1) * 8)
    if size < nbytes or size & 7:
        raise EINVAL
    bits = 0
    for c in cpus:
        bits |= 1 << c
    t.copy_out_bytes(mask, bits.to_bytes(nbytes, "little"))
    return nbytes


def sys_sched_yield(t: Task, *_: int) -> int:
    return 0


RSEQ_FLAG_UNREGISTER = 1
_RSEQ_ORIG_SIZE = 32
_RSEQ_CPU_ID_UNINITIALIZED = 0xFFFFFFFF


def _rseq_write_ids(t: Task, addr: int, cpu_id: int) -> None:
    """cpu_id_start, cpu_id, then node_id and mm_cid (struct rseq)."""
    t.copy_out_bytes(addr, struct.pack("<II", 0 if cpu_id == _RSEQ_CPU_ID_UNINITIALIZED else cpu_id, cpu_id))
    t.copy_out_bytes(addr + 20, struct.pack("<II", 0, 0))


def sys_rseq(t: Task, addr: int, length: int, flags: int, sig: int, *_: int) -> int:
    """Restartable sequences (Linux kernel/rseq.c). The sentry has one CPU
    (0) and preempts only at syscalls, so a registered area just reports
    CPU 0; critical sections never need an abort."""
    length &= 0xFFFFFFFF
    flags = s32(flags)
    sig &= 0xFFFFFFFF
    cur_addr, cur_len, cur_sig = t.rseq
    if flags & RSEQ_FLAG_UNREGISTER:
        if flags & ~RSEQ_FLAG_UNREGISTER or cur_addr == 0 or cur_addr != addr or length != cur_len:
            raise EINVAL
        if sig != cur_sig:
            raise EPERM
        _rseq_write_ids(t, addr, _RSEQ_CPU_ID_UNINITIALIZED)
        t.rseq = (0, 0, 0)
        return 0
    if flags:
        raise EINVAL
    if cur_addr:
        if cur_addr != addr or length != cur_len:
            raise EINVAL
        if sig != cur_sig:
            raise EPERM
        raise EBUSY
    if length < _RSEQ_ORIG_SIZE or addr % _RSEQ_ORIG_SIZE:
        raise EINVAL
    if not t.mm.check_io_range(addr, length):
        raise EFAULT
    _rseq_write_ids(t, addr, 0)
    t.rseq = (addr, length, sig)
    return 0


def sys_getcpu(t: Task, cpu: int, node: int, *_: int) -> int:
    """The sentry runs every task on CPU 0 of node 0."""
    if cpu:
        t.copy_out_bytes(cpu, struct.pack("<I", 0))
    if node:
        t.copy_out_bytes(node, struct.pack("<I", 0))
    return 0


def register(table: SyscallTable) -> None:
    table.register(24, "sched_yield", sys_sched_yield)
    table.register(60, "exit", sys_exit)
    table.register(158, "arch_prctl", sys_arch_prctl)
    table.register(204, "sched_getaffinity", sys_sched_getaffinity)
    table.register(218, "set_tid_address", sys_set_tid_address)
    table.register(231, "exit_group", sys_exit_group)
    table.register(273, "set_robust_list", sys_set_robust_list)
    table.register(309, "getcpu", sys_getcpu)
    table.register(334, "rseq", sys_rseq)


