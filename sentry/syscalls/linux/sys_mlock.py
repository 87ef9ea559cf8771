"""msync, mincore, mlock, mlock2, munlock, mlockall, munlockall (Linux
``mm/msync.c``, ``mm/mincore.c``, ``mm/mlock.c``): argument decoding and
the RLIMIT_MEMLOCK/CAP_IPC_LOCK policy; the semantics live in
``sentry.mm.residency``."""

from __future__ import annotations

import resource

from sentry.abi.misc import CAP_IPC_LOCK
from sentry.abi.mm import MLOCK_ONFAULT
from sentry.kernel.task import Task
from sentry.linuxerr import EFAULT, EINVAL, ENOMEM
from sentry.syscalls.linux.args import s32

_RLIM_INFINITY = (1 << 64) - 1


def memlock_policy(t: Task) -> tuple[int | None, bool]:
    """(the byte limit on locked memory, None for unlimited; whether the
    task may lock at all): RLIMIT_MEMLOCK, lifted by CAP_IPC_LOCK (Linux
    ``can_do_mlock`` and the limit checks)."""
    if t.creds.capable(CAP_IPC_LOCK):
        return None, True
    lim = t.tg.rlimits.get(resource.RLIMIT_MEMLOCK)
    soft = lim[0] if lim is not None else resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    if soft < 0 or soft >= _RLIM_INFINITY:
        return None, True
    return soft, soft != 0


def sys_msync(t: Task, addr: int, length: int, flags: int, *_: int) -> int:
    t.mm.msync(addr, length, s32(flags))
    return 0


def sys_mincore(t: Task, addr: int, length: int, vec: int, *_: int) -> int:
    """Linux's order: EINVAL for an unaligned address, ENOMEM past the top
    of the address space, EFAULT when ``vec`` cannot hold the answer (a
    zero-length query writes nothing), then the pages."""
    if addr & 4095:
        raise EINVAL
    if addr + length > t.mm.layout.max_addr:
        raise ENOMEM
    pages = (length + 4095) // 4096
    if pages and vec + pages > t.mm.layout.max_addr:
        raise EFAULT
    t.copy_out_bytes(vec, t.mm.mincore(addr, length))
    return 0


def sys_mlock(t: Task, addr: int, length: int, *_: int) -> int:
    t.mm.mlock(addr, length, *memlock_policy(t))
    return 0


def sys_mlock2(t: Task, addr: int, length: int, flags: int, *_: int) -> int:
    if s32(flags) & ~MLOCK_ONFAULT:
        raise EINVAL
    return sys_mlock(t, addr, length)


def sys_munlock(t: Task, addr: int, length: int, *_: int) -> int:
    t.mm.set_locked(addr, length, False)
    return 0


def sys_mlockall(t: Task, flags: int, *_: int) -> int:
    t.mm.mlockall(s32(flags), *memlock_policy(t))
    return 0


def sys_munlockall(t: Task, *_: int) -> int:
    t.mm.munlockall()
    return 0
