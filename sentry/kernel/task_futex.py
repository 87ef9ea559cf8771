"""The kernel's side of futexes (gVisor ``kernel/task_futex.go``): a task's
memory as a futex :class:`~sentry.kernel.futex.Target`, and the
operations that block and wake tasks around the kernel's
:class:`~sentry.kernel.futex.FutexManager`.

Waiting tasks block through ``Kernel.block``; a wake dequeues the waiter
and wakes its task with 0.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sentry.abi.futex import FUTEX_BITSET_MATCH_ANY
from sentry.kernel.futex import Key
from sentry.linuxerr import EFAULT, ETIMEDOUT, Errno
from sentry.usermem import DEFAULT_OPTS

if TYPE_CHECKING:
    from sentry.kernel.task import Task
    from sentry.mm import MemoryManager


class MMTarget:
    """A MemoryManager as a futex target: words through the mm's atomic
    accessors (Linux's permission checks), shared keys from its vmas."""

    __slots__ = ("mm",)

    def __init__(self, mm: MemoryManager) -> None:
        self.mm = mm

    @property
    def space(self) -> object:
        return self.mm

    def load_uint32(self, addr: int) -> int:
        v, err = self.mm.load_uint32(addr, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT
        return v

    def swap_uint32(self, addr: int, new: int) -> int:
        v, err = self.mm.swap_uint32(addr, new, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT
        return v

    def compare_and_swap_uint32(self, addr: int, old: int, new: int) -> int:
        v, err = self.mm.compare_and_swap_uint32(addr, old, new, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT
        return v

    def shared_key(self, addr: int) -> Key:
        """EFAULT without a readable vma; keyed by the mappable and file
        offset for MAP_SHARED mappings, by the mm and address otherwise."""
        vma = self.mm.vmas.find(addr)
        if vma is None or not vma.effective_perms.read:
            raise EFAULT
        if vma.private or vma.mappable is None:
            return ("sp", id(self.mm), addr)
        return ("m", id(vma.mappable), vma.off + (addr - vma.start))


def _wake_all(t: Task, woken: list[Task]) -> int:
    for w in woken:
        t.kernel.wake(w, 0)
    return len(woken)


def futex_wait(t: Task, addr: int, private: bool, val: int, bitmask: int, deadline_ns: int | None) -> int:
    """FUTEX_WAIT(_BITSET): EAGAIN unless ``*addr == val``, else block
    until woken (0) or the deadline passes (ETIMEDOUT)."""
    fx = t.kernel.futexes
    w = fx.wait(MMTarget(t.mm), addr, private, val, bitmask, t, t.tid)
    if deadline_ns is not None and deadline_ns <= time.monotonic_ns():
        fx.remove(w)
        raise ETIMEDOUT
    t.kernel.block(
        t,
        "futex_wait",
        lambda: 0,
        deadline_ns=deadline_ns,
        cancel=lambda: fx.remove(w),
        restartable=deadline_ns is None,
    )


def futex_wake(t: Task, addr: int, private: bool, bitmask: int, n: int) -> int:
    """FUTEX_WAKE(_BITSET): wake up to ``n`` matching waiters."""
    return _wake_all(t, t.kernel.futexes.wake(MMTarget(t.mm), addr, private, bitmask, n))


def futex_wake_quietly(t: Task, addr: int, private: bool, n: int) -> int:
    """A wake that ignores key errors (clear_child_tid, robust lists:
    Linux ignores a bad address there); a sentry bug still raises."""
    try:
        woken = t.kernel.futexes.wake(MMTarget(t.mm), addr, private, FUTEX_BITSET_MATCH_ANY, n)
    except Errno:
        return 0
    return _wake_all(t, woken)


def futex_requeue(t: Task, addr: int, naddr: int, private: bool, nwake: int, nreq: int, cmp: int | None) -> int:
    """FUTEX_(CMP_)REQUEUE: woken + requeued (Linux)."""
    woken, moved = t.kernel.futexes.requeue(MMTarget(t.mm), addr, naddr, private, nwake, nreq, cmp)
    return _wake_all(t, woken) + moved


def futex_wake_op(t: Task, addr: int, addr2: int, private: bool, nwake: int, nwake2: int, op: int) -> int:
    """FUTEX_WAKE_OP (see ``FutexManager.wake_op``)."""
    return _wake_all(t, t.kernel.futexes.wake_op(MMTarget(t.mm), addr, addr2, private, nwake, nwake2, op))


def futex_lock_pi(t: Task, addr: int, private: bool, deadline_ns: int | None, try_only: bool) -> int:
    """FUTEX_LOCK_PI / TRYLOCK_PI: 0 once the lock is the caller's,
    blocking until UNLOCK_PI hands it over."""
    k = t.kernel
    fx = k.futexes

    def alive(tid: int) -> bool:
        owner = k.tasks.get(tid)
        return owner is not None and not owner.exited

    w = fx.lock_pi(MMTarget(t.mm), addr, private, t, t.tid, try_only, alive)
    if w is None:
        return 0
    k.block(t, "futex_lock_pi", lambda: 0, deadline_ns=deadline_ns, cancel=lambda: fx.remove(w))


def futex_unlock_pi(t: Task, addr: int, private: bool) -> int:
    """FUTEX_UNLOCK_PI: hand the lock to the first waiter, if any."""
    heir = t.kernel.futexes.unlock_pi(MMTarget(t.mm), addr, private, t.tid)
    if heir is not None:
        t.kernel.wake(heir, 0)
    return 0
