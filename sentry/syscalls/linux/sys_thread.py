"""exit, exit_group, set_tid_address, set_robust_list, arch_prctl and the
scheduler queries (gVisor ``sys_thread.go``, ``sys_tls_amd64.go``)."""

from __future__ import annotations

import struct

from sentry.abi.sched import (
    ARCH_GET_FS,
    ARCH_GET_GS,
    ARCH_SET_FS,
    ARCH_SET_GS,
    CLONE_CHILD_CLEARTID,
    CLONE_CHILD_SETTID,
    CLONE_CLEAR_SIGHAND,
    CLONE_DETACHED,
    CLONE_FILES,
    CLONE_FS,
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_PARENT,
    CLONE_PARENT_SETTID,
    CLONE_PIDFD,
    CLONE_SETTLS,
    CLONE_SIGHAND,
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
    CSIGNAL,
    RSEQ_FLAG_UNREGISTER,
)
from sentry.kernel import pgroups
from sentry.kernel.resources import GUEST_CPUS
from sentry.kernel.task import SigAction, Task, TaskStop, ThreadGroup
from sentry.linuxerr import E2BIG, EBUSY, EFAULT, EINVAL, ENOSYS, EPERM, ESRCH
from sentry.syscalls.linux.args import s32
from sentry.usermem import DEFAULT_OPTS

_CANONICAL_LIMIT = 1 << 47


_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
_CLONE_ARGS = struct.Struct("<11Q")  # struct clone_args, CLONE_ARGS_SIZE_VER2
_CLONE_ARGS_SIZE_VER0 = 64


def do_clone(t: Task, flags: int, exit_signal: int, stack: int, ptid: int, ctid: int, tls: int, *, clone3: bool = False) -> int:
    """Linux ``kernel_clone``/``copy_process`` for new threads.

    Validation follows Linux's order (all EINVAL): PIDFD with
    PARENT_SETTID (legacy clone) or DETACHED; NEWNS or NEWUSER with FS;
    THREAD without SIGHAND; SIGHAND without VM; SIGHAND with CLEAR_SIGHAND;
    THREAD with NEWUSER or NEWPID. Namespaces then need privileges the
    guest lacks (EPERM). Only threads (CLONE_THREAD, which here implies
    a shared fd table and fs context), fork, and vfork-style processes
    sharing the address space (CLONE_VM, with CLONE_VFORK the parent
    waits until the child execs or exits) are implemented; processes
    sharing fd tables or fs contexts return ENOSYS. The child resumes after the syscall with RAX = 0, on
    ``stack`` if non-zero, with FS base ``tls`` under CLONE_SETTLS.
    Returns the new tid.
    """
    if flags & CLONE_PIDFD and (flags & CLONE_DETACHED or (not clone3 and flags & CLONE_PARENT_SETTID)):
        raise EINVAL
    if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS:
        raise EINVAL
    if flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS:
        raise EINVAL
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise EINVAL
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise EINVAL
    if flags & CLONE_SIGHAND and flags & CLONE_CLEAR_SIGHAND:
        raise EINVAL
    if flags & CLONE_THREAD and flags & (CLONE_NEWUSER | CLONE_NEWPID):
        raise EINVAL
    if flags & _NAMESPACES:
        raise EPERM
    if flags & CLONE_PIDFD:
        raise ENOSYS
    if flags & CLONE_SETTLS and tls >= _CANONICAL_LIMIT:
        raise EPERM
    if not flags & CLONE_THREAD:
        if flags & (CLONE_FILES | CLONE_FS | CLONE_PARENT):
            raise ENOSYS  # processes sharing fd tables or fs contexts: not yet
        return _fork(t, flags, exit_signal, stack, ptid, ctid, tls)
    k = t.kernel
    cpu = t.cpu.clone()
    regs = {"rax": 0}
    if stack:
        regs["rsp"] = stack
    cpu.set_regs(regs)
    if flags & CLONE_SETTLS:
        cpu.fs_base = tls
    tid = k.allocate_tid()
    nt = Task(k, tid, t.tg, t.mm, cpu)
    nt.signal_mask = t.signal_mask
    nt.comm = t.comm
    nt.creds = t.creds
    t.tg.tasks.append(nt)
    if flags & CLONE_CHILD_CLEARTID:
        nt.clear_child_tid = ctid
    tid_bytes = struct.pack("<i", tid)
    if flags & CLONE_CHILD_SETTID:
        t.mm.copy_out(ctid, tid_bytes, DEFAULT_OPTS)
    if flags & CLONE_PARENT_SETTID:
        t.mm.copy_out(ptid, tid_bytes, DEFAULT_OPTS)
    k.add_task(nt)
    return tid


def _fork(t: Task, flags: int, exit_signal: int, stack: int, ptid: int, ctid: int, tls: int) -> int:
    """A new process (fork, or clone without CLONE_VM): a copy-on-write
    copy of the mm, a copy of the fd table, fs context and signal
    actions; one task resuming after the syscall with RAX 0. The robust
    list is not inherited (Linux). Returns the child's pid."""
    k = t.kernel
    parent = t.tg
    if flags & CLONE_VM:
        # vfork/posix_spawn: the child borrows the parent's address space
        # until it execs or exits (the parent waits under CLONE_VFORK).
        mm = t.mm
        mm.users += 1
        cpu = t.cpu.clone()
    else:
        mm = t.mm.fork()
        cpu = t.cpu.clone(mm.address_space)
    regs = {"rax": 0}
    if stack:
        regs["rsp"] = stack
    cpu.set_regs(regs)
    if flags & CLONE_SETTLS:
        cpu.fs_base = tls
    tid = k.allocate_tid()
    tg = ThreadGroup(tid, parent.fd_table.fork(), parent.tgid)
    tg.exit_signal = exit_signal
    tg.sigactions = {sig: SigAction(a.handler, a.flags, a.restorer, a.mask) for sig, a in parent.sigactions.items()}
    tg.cwd, tg.umask, tg.rlimits = parent.cwd, parent.umask, dict(parent.rlimits)
    if parent.fs is not None:
        tg.fs = parent.fs.fork(tg)
    nt = Task(k, tid, tg, mm, cpu)
    pgroups.on_fork(k, parent, tg)
    nt.signal_mask = t.signal_mask
    nt.comm = t.comm
    nt.creds = t.creds
    nt.alt_stack = t.alt_stack
    nt.rseq = t.rseq
    tg.tasks.append(nt)
    k.thread_groups[tid] = tg
    if flags & CLONE_CHILD_CLEARTID:
        nt.clear_child_tid = ctid
    tid_bytes = struct.pack("<i", tid)
    if flags & CLONE_CHILD_SETTID:
        mm.copy_out(ctid, tid_bytes, DEFAULT_OPTS)
    if flags & CLONE_PARENT_SETTID:
        t.mm.copy_out(ptid, tid_bytes, DEFAULT_OPTS)
    k.add_task(nt)
    if flags & CLONE_VFORK:
        nt.vfork_parent = t
        k.block(t, f"vfork (until pid {tid} execs or exits)", lambda: tid, interruptible=False)
    return tid


def sys_fork(t: Task, *_: int) -> int:
    return _fork(t, 0, 17, 0, 0, 0, 0)


def sys_vfork(t: Task, *_: int) -> int:
    return _fork(t, CLONE_VM | CLONE_VFORK, 17, 0, 0, 0, 0)


def sys_clone(t: Task, flags: int, stack: int, ptid: int, ctid: int, tls: int, *_: int) -> int:
    """clone(flags, stack, parent_tid, child_tid, tls) (x86-64 order);
    the low byte of ``flags`` is the exit signal."""
    flags &= 0xFFFFFFFF
    return do_clone(t, flags & ~CSIGNAL, flags & CSIGNAL, stack, ptid, ctid, tls)


def sys_clone3(t: Task, uargs: int, size: int, *_: int) -> int:
    """clone3(struct clone_args *, size): E2BIG above a page, EINVAL below
    CLONE_ARGS_SIZE_VER0; the child's stack is ``stack + stack_size``."""
    if size > 4096:
        raise E2BIG
    if size < _CLONE_ARGS_SIZE_VER0:
        raise EINVAL
    raw = t.copy_in_bytes(uargs, min(size, _CLONE_ARGS.size)).ljust(_CLONE_ARGS.size, b"\0")
    if size > _CLONE_ARGS.size and any(t.copy_in_bytes(uargs + _CLONE_ARGS.size, size - _CLONE_ARGS.size)):
        raise E2BIG
    flags, _pidfd, ctid, ptid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, _cg = _CLONE_ARGS.unpack(raw)
    if exit_signal > 64 or set_tid_size or set_tid or flags & CLONE_DETACHED:
        raise EINVAL
    if (stack == 0) != (stack_size == 0):
        raise EINVAL
    sp = stack + stack_size if stack else 0
    return do_clone(t, flags, exit_signal, sp, ptid, ctid, tls, clone3=True)


def sys_exit(t: Task, status: int, *_: int) -> int:
    """End the calling thread; the process ends with its last thread, with
    the status the leader exited with (Linux reports the leader's)."""
    tg = t.tg
    code = (status & 0xFF) << 8
    if t.tid == tg.tgid:
        tg.leader_status = code
    if len([x for x in tg.tasks if not x.exited]) == 1 and tg.exit_status is None:
        tg.exit_status = tg.leader_status if tg.leader_status is not None else code
    t.kernel.exit_task(t)
    raise TaskStop


def sys_exit_group(t: Task, status: int, *_: int) -> int:
    t.kernel.exit_thread_group(t.tg, (status & 0xFF) << 8)
    raise TaskStop


def sys_set_tid_address(t: Task, tidptr: int, *_: int) -> int:
    t.clear_child_tid = tidptr
    return t.tid


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
    """The guest's CPUs (``resources.GUEST_CPUS``), as Linux reports a CPU
    set: the kernel's cpumask size in bytes is returned (8 here), EINVAL
    when ``size`` is too small or not a multiple of 8, then ESRCH unless
    ``pid`` (a thread id, 0 for the caller) names a live task."""
    cpus = range(GUEST_CPUS)
    nbytes = max(8, ((max(cpus) // 64) + 1) * 8)
    if size < nbytes or size & 7:
        raise EINVAL
    tid = s32(pid)
    if tid != 0:
        target = t.kernel.tasks.get(tid)
        if target is None or target.exited:
            raise ESRCH
    bits = 0
    for c in cpus:
        bits |= 1 << c
    t.copy_out_bytes(mask, bits.to_bytes(nbytes, "little"))
    return nbytes


def sys_sched_setaffinity(t: Task, pid: int, size: int, mask: int, *_: int) -> int:
    """Linux ``sched_setaffinity``: the mask is read first (up to the
    kernel's 8-byte cpumask; EFAULT), then ESRCH unless ``pid`` names a
    live task, then EINVAL unless the mask holds one of the guest's CPUs.
    Every task runs on the one virtual CPU whatever it asks for."""
    size = size & 0xFFFFFFFF
    data = t.copy_in_bytes(mask, min(size, 8)) if size else b""
    bits = int.from_bytes(data.ljust(8, b"\0"), "little")
    tid = s32(pid)
    if tid != 0:
        target = t.kernel.tasks.get(tid)
        if target is None or target.exited:
            raise ESRCH
    if not bits & ((1 << GUEST_CPUS) - 1):
        raise EINVAL
    return 0


def sys_sched_yield(t: Task, *_: int) -> int:
    """Give the CPU to the next runnable task, if any."""
    t.kernel.yield_current()
    return 0


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
