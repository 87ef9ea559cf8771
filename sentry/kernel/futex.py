"""Futexes (gVisor ``kernel/futex/futex.go``, Linux ``kernel/futex``).

A :class:`FutexManager` (one per kernel) keeps waiters by key, FIFO per
key (wake order is wait order). It knows no kernel and no task: the memory
a futex word lives in is a :class:`Target` (load, swap, compare-and-swap,
shared key), a waiter carries an opaque payload (the kernel's task), and
the operations *return* waiters for the caller to block or wake
(``sentry.kernel.task_futex`` is the kernel's side). Keys:

* private (``FUTEX_PRIVATE_FLAG``): ``("p", id(target.space), addr)``, no
  memory lookup at all (a NULL address is fine for WAKE/WAKE_OP);
* shared: ``target.shared_key(addr)``; for the MemoryManager that is
  ``("sp", id(mm), addr)`` on a private mapping (Linux adds
  ``FUT_OFF_MMSHARED``, so it never matches a private key) and
  ``("m", id(mappable), offset)`` on a ``MAP_SHARED`` one, which matches
  across address spaces.

The sentry runs one task at a time and a syscall handler is never
interrupted, so "check the value under the bucket lock" is simply "check
the value, then enqueue, before returning".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

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
from sentry.linuxerr import EAGAIN, EDEADLK, EINVAL, ENOSYS, EPERM

__all__ = ["BITSET_MATCH_ANY", "FutexManager", "Key", "Target", "Waiter"]

_M32 = 0xFFFFFFFF

Key = tuple[str, int, int]
"""``(kind, identity, address or offset)``; equal keys name the same futex."""

T = TypeVar("T")


class Target(Protocol):
    """The memory futex words live in (gVisor ``futex.Target``). Every
    method raises EFAULT when the word cannot be accessed."""

    @property
    def space(self) -> object:
        """What private keys are relative to: one object per address
        space (threads sharing memory share private futexes)."""
        ...

    def load_uint32(self, addr: int) -> int:
        """The 32-bit word at ``addr``."""
        ...

    def swap_uint32(self, addr: int, new: int) -> int:
        """Store ``new`` at ``addr``; return the old word."""
        ...

    def compare_and_swap_uint32(self, addr: int, old: int, new: int) -> int:
        """Store ``new`` at ``addr`` if it holds ``old``; return the word found."""
        ...

    def shared_key(self, addr: int) -> Key:
        """The key of a shared futex at ``addr`` (matching wherever the same
        memory is mapped)."""
        ...


class Waiter(Generic[T]):
    """One waiter on a key: ``who`` is the caller's payload (the task),
    ``tid`` its thread id (PI ownership), ``bitmask`` filters WAKE_BITSET."""

    __slots__ = ("bitmask", "key", "pi", "tid", "who")

    def __init__(self, who: T, tid: int, key: Key, bitmask: int, pi: bool = False) -> None:
        self.who = who
        self.tid = tid
        self.key = key
        self.bitmask = bitmask
        self.pi = pi


def _s32(v: int) -> int:
    v &= _M32
    return v - (1 << 32) if v & 0x80000000 else v


class FutexManager(Generic[T]):
    """Waiters by key; see the module docstring."""

    def __init__(self) -> None:
        self.buckets: dict[Key, list[Waiter[T]]] = {}

    # -- keys ---------------------------------------------------------------------

    @staticmethod
    def key(target: Target, addr: int, private: bool) -> Key:
        """The key of ``addr`` (EINVAL if not 4-byte aligned; the target's
        EFAULT for a shared key without a readable mapping)."""
        if addr & 3:
            raise EINVAL
        if private:
            return ("p", id(target.space), addr)
        return target.shared_key(addr)

    # -- queues -------------------------------------------------------------------

    def enqueue(self, w: Waiter[T]) -> None:
        """Add ``w`` at the back of its key's queue."""
        self.buckets.setdefault(w.key, []).append(w)

    def remove(self, w: Waiter[T]) -> None:
        """Take ``w`` off its queue (a cancelled wait); no-op if woken."""
        q = self.buckets.get(w.key)
        if q is not None and w in q:
            q.remove(w)
            if not q:
                del self.buckets[w.key]

    def _wake_key(self, key: Key, bitmask: int, n: int) -> list[T]:
        q = self.buckets.get(key)
        if not q:
            return []
        woken: list[T] = []
        for w in list(q):
            if len(woken) >= n:
                break
            if w.bitmask & bitmask:
                self.remove(w)
                woken.append(w.who)
        return woken

    # -- operations -----------------------------------------------------------------

    def wait(self, target: Target, addr: int, private: bool, val: int, bitmask: int,
             who: T, tid: int) -> Waiter[T]:
        """FUTEX_WAIT(_BITSET): EAGAIN unless ``*addr == val``; otherwise
        queue and return a waiter, which the caller blocks on (and
        ``remove``s if the wait ends any other way than a wake)."""
        key = self.key(target, addr, private)
        if target.load_uint32(addr) != val & _M32:
            raise EAGAIN
        w = Waiter(who, tid, key, bitmask)
        self.enqueue(w)
        return w

    def wake(self, target: Target, addr: int, private: bool, bitmask: int, n: int) -> list[T]:
        """FUTEX_WAKE(_BITSET): dequeue up to ``n`` matching waiters and
        return them, oldest first, for the caller to wake."""
        return self._wake_key(self.key(target, addr, private), bitmask, n)

    def requeue(self, target: Target, addr: int, naddr: int, private: bool, nwake: int, nreq: int,
                cmp: int | None) -> tuple[list[T], int]:
        """FUTEX_(CMP_)REQUEUE: dequeue ``nwake`` waiters of addr (returned)
        and move up to ``nreq`` more to naddr; returns ``(woken, moved)``
        (Linux's result is their sum). EAGAIN if ``cmp`` is given and
        ``*addr`` differs."""
        k1 = self.key(target, addr, private)
        k2 = self.key(target, naddr, private)
        if cmp is not None and target.load_uint32(addr) != cmp & _M32:
            raise EAGAIN
        woken = self._wake_key(k1, BITSET_MATCH_ANY, nwake)
        moved = 0
        q = self.buckets.get(k1)
        if q and k1 != k2:
            for w in list(q):
                if moved >= nreq:
                    break
                self.remove(w)
                w.key = k2
                self.enqueue(w)
                moved += 1
        elif q:
            moved = min(nreq, len(q))
        return woken, moved

    def wake_op(self, target: Target, addr: int, addr2: int, private: bool, nwake: int, nwake2: int,
                op: int) -> list[T]:
        """FUTEX_WAKE_OP: atomically ``*addr2 = *addr2 OP oparg``, dequeue
        ``nwake`` waiters on addr, and ``nwake2`` on addr2 if the old value
        compares true against cmparg; returns the waiters to wake."""
        k1 = self.key(target, addr, private)
        k2 = self.key(target, addr2, private)
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
            old = target.load_uint32(addr2)
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
            if target.compare_and_swap_uint32(addr2, old, new & _M32) == old:
                break
        if cmp > 5:
            raise ENOSYS
        o = _s32(old)
        cond = (o == cmparg, o != cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg)[cmp]
        woken = self._wake_key(k1, BITSET_MATCH_ANY, nwake)
        if cond:
            woken += self._wake_key(k2, BITSET_MATCH_ANY, nwake2)
        return woken

    # -- priority inheritance (ownership transfer, no boosting) ----------------------

    def lock_pi(self, target: Target, addr: int, private: bool, who: T, tid: int, try_only: bool,
                owner_alive: Callable[[int], bool]) -> Waiter[T] | None:
        """FUTEX_LOCK_PI / TRYLOCK_PI: take the lock word (0 -> tid) and
        return None, or set FUTEX_WAITERS and return a queued waiter that
        ``unlock_pi`` hands the lock to. A lock whose owner is not
        ``owner_alive`` is taken over with FUTEX_OWNER_DIED."""
        key = self.key(target, addr, private)
        while True:
            val = target.load_uint32(addr)
            owner = val & FUTEX_TID_MASK
            if owner == 0:
                new = tid | (val & FUTEX_WAITERS if self.buckets.get(key) else 0)
                if target.compare_and_swap_uint32(addr, val, new) == val:
                    return None
                continue
            if owner == tid:
                raise EDEADLK
            if try_only:
                raise EAGAIN
            if not owner_alive(owner):
                # The owner died without cleaning up: take it over.
                new = tid | FUTEX_OWNER_DIED | (val & FUTEX_WAITERS)
                if target.compare_and_swap_uint32(addr, val, new) == val:
                    return None
                continue
            if not val & FUTEX_WAITERS and target.compare_and_swap_uint32(addr, val, val | FUTEX_WAITERS) != val:
                continue
            break
        w = Waiter(who, tid, key, BITSET_MATCH_ANY, pi=True)
        self.enqueue(w)
        return w

    def unlock_pi(self, target: Target, addr: int, private: bool, tid: int) -> T | None:
        """FUTEX_UNLOCK_PI: EPERM unless ``tid`` owns the lock; hand it to
        the first PI waiter (tid | WAITERS if more wait), dequeued and
        returned for the caller to wake, or set it to 0 (None)."""
        key = self.key(target, addr, private)
        while True:
            val = target.load_uint32(addr)
            if val & FUTEX_TID_MASK != tid:
                raise EPERM
            q = [w for w in self.buckets.get(key, []) if w.pi]
            if q:
                w = q[0]
                new = w.tid | (FUTEX_WAITERS if len(q) > 1 else 0)
                if target.compare_and_swap_uint32(addr, val, new) != val:
                    continue
                self.remove(w)
                return w.who
            if target.compare_and_swap_uint32(addr, val, 0) == val:
                return None
