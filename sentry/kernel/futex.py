"""Futexes (gVisor ``kernel/futex/futex.go``, Linux ``kernel/futex``).

A :class:`FutexManager` (one per kernel) keeps waiters by key:

* private (``FUTEX_PRIVATE_FLAG``): ``("p", mm, addr)``, no memory lookup
  at all (a NULL address is fine for WAKE/WAKE_OP);
* shared on a private mapping: ``("sp", mm, addr)`` (Linux adds
  ``FUT_OFF_MMSHARED``, so it never matches a private key);
* shared on a ``MAP_SHARED`` mapping: ``("m", mappable, offset)``, which
  matches across address spaces.

The sentry runs one task at a time and a syscall handler is never
interrupted, so "check the value under the bucket lock" is simply "check
the value, then enqueue, before returning". Waiting tasks block through
``Kernel.block``; a wake removes the waiter and wakes its task with 0.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sentry.abi.futex import FUTEX_BITSET_MATCH_ANY as BITSET_MATCH_ANY
from sentry.abi.futex import (
    FUTEX_OP_ADD,
    FUTEX_OP_ANDN,
    FUTEX_OP_OPARG_SHIFT,
    FUTEX_OP_OR,
    FUTEX_OP_SET,
    FUTEX_OP_XOR,
    FUTEX_OWNER_DIED,
    FUTEX_TID_MASK,
    FUTEX_WAITERS,
)
from sentry.linuxerr import EAGAIN, EDEADLK, EFAULT, EINVAL, ENOSYS, EPERM, ETIMEDOUT, Errno
from sentry.usermem import DEFAULT_OPTS

if TYPE_CHECKING:
    from sentry.kernel.kernel import Kernel
    from sentry.kernel.task import Task


# FUTEX_WAKE_OP encoding.
_M32 = 0xFFFFFFFF

Key = tuple[str, int, int]


class Waiter:
    """One task waiting on a key; ``bitmask`` filters WAKE_BITSET."""

    __slots__ = ("bitmask", "key", "pi", "task")

    def __init__(self, task: Task, key: Key, bitmask: int, pi: bool = False) -> None:
        self.task = task
        self.key = key
        self.bitmask = bitmask
        self.pi = pi


def _s32(v: int) -> int:
    v &= _M32
    return v - (1 << 32) if v & 0x80000000 else v


class FutexManager:
    """Waiters by key, FIFO per key (wake order is wait order)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.buckets: dict[Key, list[Waiter]] = {}

    # -- keys and memory ------------------------------------------------------

    def key(self, t: Task, addr: int, private: bool) -> Key:
        """The key of ``addr`` (EINVAL if not 4-byte aligned; EFAULT for a
        shared key without a readable mapping)."""
        if addr & 3:
            raise EINVAL
        if private:
            return ("p", id(t.mm), addr)
        vma = t.mm.vmas.find(addr)
        if vma is None or not vma.effective_perms.read:
            raise EFAULT
        if vma.private or vma.mappable is None:
            return ("sp", id(t.mm), addr)
        return ("m", id(vma.mappable), vma.off + (addr - vma.start))

    @staticmethod
    def load(t: Task, addr: int) -> int:
        v, err = t.mm.load_uint32(addr, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT
        return v

    @staticmethod
    def cas(t: Task, addr: int, old: int, new: int) -> int:
        prev, err = t.mm.compare_and_swap_uint32(addr, old, new, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT
        return prev

    # -- queues -------------------------------------------------------------------

    def _enqueue(self, w: Waiter) -> None:
        self.buckets.setdefault(w.key, []).append(w)

    def _remove(self, w: Waiter) -> None:
        q = self.buckets.get(w.key)
        if q is not None and w in q:
            q.remove(w)
            if not q:
                del self.buckets[w.key]

    def _wake_key(self, key: Key, bitmask: int, n: int) -> int:
        q = self.buckets.get(key)
        if not q:
            return 0
        woken = 0
        for w in list(q):
            if woken >= n:
                break
            if w.bitmask & bitmask:
                self._remove(w)
                self.kernel.wake(w.task, 0)
                woken += 1
        return woken

    # -- operations -----------------------------------------------------------------

    def wait(self, t: Task, addr: int, private: bool, val: int, bitmask: int, deadline_ns: int | None) -> int:
        """FUTEX_WAIT(_BITSET): EAGAIN unless ``*addr == val``, else block
        until woken (0) or the deadline passes (ETIMEDOUT)."""
        key = self.key(t, addr, private)
        if self.load(t, addr) != val & _M32:
            raise EAGAIN
        if deadline_ns is not None and deadline_ns <= time.monotonic_ns():
            raise ETIMEDOUT
        w = Waiter(t, key, bitmask)
        self._enqueue(w)
        self.kernel.block(
            t,
            "futex_wait",
            lambda: 0,
            deadline_ns=deadline_ns,
            cancel=lambda: self._remove(w),
            restartable=deadline_ns is None,
        )

    def wake(self, t: Task, addr: int, private: bool, bitmask: int, n: int) -> int:
        """FUTEX_WAKE(_BITSET): wake up to ``n`` matching waiters."""
        key = self.key(t, addr, private)
        return self._wake_key(key, bitmask, n)

    def wake_key_of(self, t: Task, addr: int, private: bool, n: int) -> int:
        """A wake that ignores key errors (clear_child_tid, robust lists:
        Linux ignores a bad address there); a sentry bug still raises."""
        try:
            return self.wake(t, addr, private, BITSET_MATCH_ANY, n)
        except Errno:
            return 0

    def requeue(self, t: Task, addr: int, naddr: int, private: bool, nwake: int, nreq: int, cmp: int | None) -> int:
        """FUTEX_(CMP_)REQUEUE: wake ``nwake`` on addr, move up to ``nreq``
        more to naddr. Returns woken + requeued (Linux)."""
        k1 = self.key(t, addr, private)
        k2 = self.key(t, naddr, private)
        if cmp is not None and self.load(t, addr) != cmp & _M32:
            raise EAGAIN
        woken = self._wake_key(k1, BITSET_MATCH_ANY, nwake)
        moved = 0
        q = self.buckets.get(k1)
        if q and k1 != k2:
            for w in list(q):
                if moved >= nreq:
                    break
                self._remove(w)
                w.key = k2
                self._enqueue(w)
                moved += 1
        elif q:
            moved = min(nreq, len(q))
        return woken + moved

    def wake_op(self, t: Task, addr: int, addr2: int, private: bool, nwake: int, nwake2: int, op: int) -> int:
        """FUTEX_WAKE_OP: atomically ``*addr2 = *addr2 OP oparg``, wake
        ``nwake`` on addr, and ``nwake2`` on addr2 if the old value
        compares true against cmparg."""
        k1 = self.key(t, addr, private)
        k2 = self.key(t, addr2, private)
        optype = (op >> 28) & 0xF
        cmp = (op >> 24) & 0xF
        oparg = _s32(((op >> 12) & 0xFFF) << 20) >> 20
        cmparg = _s32((op & 0xFFF) << 20) >> 20
        if optype & FUTEX_OP_OPARG_SHIFT:
            optype &= ~FUTEX_OP_OPARG_SHIFT
            oparg = 1 << (oparg & 31)
        if optype > FUTEX_OP_XOR:
            raise ENOSYS
        while True:
            old = self.load(t, addr2)
            if optype == FUTEX_OP_SET:
                new = oparg
            elif optype == FUTEX_OP_ADD:
                new = old + oparg
            elif optype == FUTEX_OP_OR:
                new = old | oparg
            elif optype == FUTEX_OP_ANDN:
                new = old & ~oparg
            else:
                new = old ^ oparg
            if self.cas(t, addr2, old, new & _M32) == old:
                break
        if cmp > 5:
            raise ENOSYS
        o = _s32(old)
        cond = (o == cmparg, o != cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg)[cmp]
        n = self._wake_key(k1, BITSET_MATCH_ANY, nwake)
        if cond:
            n += self._wake_key(k2, BITSET_MATCH_ANY, nwake2)
        return n

    # -- priority inheritance (ownership transfer, no boosting) ----------------------

    def lock_pi(self, t: Task, addr: int, private: bool, deadline_ns: int | None, try_only: bool) -> int:
        """FUTEX_LOCK_PI / TRYLOCK_PI: take the lock word (0 -> tid), or
        set FUTEX_WAITERS and wait for UNLOCK_PI to hand it over."""
        key = self.key(t, addr, private)
        tid = t.tid
        while True:
            val = self.load(t, addr)
            owner = val & FUTEX_TID_MASK
            if owner == 0:
                new = tid | (val & FUTEX_WAITERS if self.buckets.get(key) else 0)
                if self.cas(t, addr, val, new) == val:
                    return 0
                continue
            if owner == tid:
                raise EDEADLK
            if try_only:
                raise EAGAIN
            owner_task = self.kernel.tasks.get(owner)
            if owner_task is None or owner_task.exited:
                # The owner died without cleaning up: take it over.
                new = tid | FUTEX_OWNER_DIED | (val & FUTEX_WAITERS)
                if self.cas(t, addr, val, new) == val:
                    return 0
                continue
            if not val & FUTEX_WAITERS and self.cas(t, addr, val, val | FUTEX_WAITERS) != val:
                continue
            break
        w = Waiter(t, key, BITSET_MATCH_ANY, pi=True)
        self._enqueue(w)
        self.kernel.block(t, "futex_lock_pi", lambda: 0, deadline_ns=deadline_ns, cancel=lambda: self._remove(w))

    def unlock_pi(self, t: Task, addr: int, private: bool) -> int:
        """FUTEX_UNLOCK_PI: EPERM unless the caller owns the lock; hand it
        to the first waiter (tid | WAITERS if more wait) or set it to 0."""
        key = self.key(t, addr, private)
        while True:
            val = self.load(t, addr)
            if val & FUTEX_TID_MASK != t.tid:
                raise EPERM
            q = [w for w in self.buckets.get(key, []) if w.pi]
            if q:
                w = q[0]
                new = w.task.tid | (FUTEX_WAITERS if len(q) > 1 else 0)
                if self.cas(t, addr, val, new) != val:
                    continue
                self._remove(w)
                self.kernel.wake(w.task, 0)
                return 0
            if self.cas(t, addr, val, 0) == val:
                return 0
