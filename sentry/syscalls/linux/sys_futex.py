"""futex, set_robust_list/get_robust_list (gVisor ``sys_futex.go``,
Linux ``kernel/futex/syscalls.c``); the waiting itself is in
``sentry.kernel.futex``."""

from __future__ import annotations

import struct
import time

from sentry.abi.futex import (
    FUTEX_BITSET_MATCH_ANY,
    FUTEX_CLOCK_REALTIME,
    FUTEX_CMP_REQUEUE,
    FUTEX_LOCK_PI,
    FUTEX_LOCK_PI2,
    FUTEX_PRIVATE_FLAG,
    FUTEX_REQUEUE,
    FUTEX_TRYLOCK_PI,
    FUTEX_UNLOCK_PI,
    FUTEX_WAIT,
    FUTEX_WAIT_BITSET,
    FUTEX_WAIT_REQUEUE_PI,
    FUTEX_WAKE,
    FUTEX_WAKE_BITSET,
    FUTEX_WAKE_OP,
)
from sentry.kernel.task import Task
from sentry.kernel.task_futex import (
    futex_lock_pi,
    futex_requeue,
    futex_unlock_pi,
    futex_wait,
    futex_wake,
    futex_wake_op,
)
from sentry.linuxerr import EINVAL, ENOSYS, ESRCH
from sentry.syscalls.linux.args import copy_in_timespec, s32

_ROBUST_LIST_HEAD_SIZE = 24


def _timeout(t: Task, addr: int, cmd: int, realtime: bool) -> int | None:
    """The CLOCK_MONOTONIC deadline in ns for a futex wait, or None to wait
    forever (Linux ``futex_init_timeout``): FUTEX_WAIT's timeout is
    relative, WAIT_BITSET's and LOCK_PI2's absolute on CLOCK_MONOTONIC (or
    CLOCK_REALTIME with the flag), LOCK_PI's absolute CLOCK_REALTIME."""
    if not addr:
        return None
    ns = copy_in_timespec(t, addr)
    now = time.monotonic_ns()
    if cmd == FUTEX_WAIT:
        return now + ns
    if cmd == FUTEX_LOCK_PI:
        realtime = True
    if realtime:
        return ns - time.clock_gettime_ns(time.CLOCK_REALTIME) + now
    return ns


def _n(v: int) -> int:
    """A wake count: Linux wakes at least one even for 0 or a negative."""
    v = s32(v)
    return v if v > 0 else 1


def sys_futex(t: Task, addr: int, op: int, val: int, a3: int, addr2: int, val3: int) -> int:
    """Decode and dispatch in Linux's order (``do_futex``)."""
    op &= 0xFFFFFFFF
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    realtime = bool(op & FUTEX_CLOCK_REALTIME)
    if realtime and cmd not in (FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2):
        raise ENOSYS
    mask = val3 & 0xFFFFFFFF
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        deadline = _timeout(t, a3, cmd, realtime)
        if cmd == FUTEX_WAIT:
            mask = FUTEX_BITSET_MATCH_ANY
        if not mask:
            raise EINVAL
        return futex_wait(t, addr, private, val, mask, deadline)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        if cmd == FUTEX_WAKE:
            mask = FUTEX_BITSET_MATCH_ANY
        if not mask:
            raise EINVAL
        return futex_wake(t, addr, private, mask, _n(val))
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        nwake, nreq = s32(val), s32(a3)
        if nwake < 0 or nreq < 0:
            raise EINVAL
        return futex_requeue(t, addr, addr2, private, nwake, nreq, val3 if cmd == FUTEX_CMP_REQUEUE else None)
    if cmd == FUTEX_WAKE_OP:
        return futex_wake_op(t, addr, addr2, private, _n(val), _n(a3), val3 & 0xFFFFFFFF)
    if cmd in (FUTEX_LOCK_PI, FUTEX_LOCK_PI2):
        deadline = _timeout(t, a3, cmd, realtime)
        return futex_lock_pi(t, addr, private, deadline, try_only=False)
    if cmd == FUTEX_TRYLOCK_PI:
        return futex_lock_pi(t, addr, private, None, try_only=True)
    if cmd == FUTEX_UNLOCK_PI:
        return futex_unlock_pi(t, addr, private)
    raise ENOSYS


def sys_set_robust_list(t: Task, head: int, length: int, *_: int) -> int:
    """EINVAL unless ``length`` is sizeof(struct robust_list_head)."""
    if length != _ROBUST_LIST_HEAD_SIZE:
        raise EINVAL
    t.robust_list = (head, length)
    return 0


def sys_get_robust_list(t: Task, tid: int, headp: int, lenp: int, *_: int) -> int:
    """The robust list head of ``tid`` (0: the caller); ESRCH if unknown
    (a negative tid too, as in Linux; gVisor says EINVAL)."""
    tid = s32(tid)
    target = t if tid == 0 else t.kernel.tasks.get(tid) if tid > 0 else None
    if target is None or target.exited:
        raise ESRCH
    head, length = target.robust_list
    t.copy_out_bytes(headp, struct.pack("<Q", head))
    t.copy_out_bytes(lenp, struct.pack("<Q", length or _ROBUST_LIST_HEAD_SIZE))
    return 0
