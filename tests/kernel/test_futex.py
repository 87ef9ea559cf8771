"""FutexManager over plain memory, without a Kernel (the shape of gVisor's
``kernel/futex/futex_test.go``): a :class:`Memory` is a bytearray that two
"address spaces" can map at different addresses, so shared keys match
across them while private keys stay per address space."""

from __future__ import annotations

import struct

import pytest

from sentry.abi.futex import FUTEX_OWNER_DIED, FUTEX_WAITERS
from sentry.kernel.futex import BITSET_MATCH_ANY, FutexManager, Key
from sentry.linuxerr import EAGAIN, EDEADLK, EFAULT, EINVAL, EPERM

_U32 = struct.Struct("<I")


class Memory:
    """Shared backing bytes (a memfd, say)."""

    def __init__(self, size: int = 4096) -> None:
        self.data = bytearray(size)


class Space:
    """An address space mapping ``mem`` at ``base``: a futex Target."""

    def __init__(self, mem: Memory, base: int) -> None:
        self.mem = mem
        self.base = base

    @property
    def space(self) -> object:
        return self

    def _off(self, addr: int) -> int:
        off = addr - self.base
        if not 0 <= off <= len(self.mem.data) - 4:
            raise EFAULT
        return off

    def load_uint32(self, addr: int) -> int:
        return int(_U32.unpack_from(self.mem.data, self._off(addr))[0])

    def swap_uint32(self, addr: int, new: int) -> int:
        old = self.load_uint32(addr)
        _U32.pack_into(self.mem.data, self._off(addr), new)
        return old

    def compare_and_swap_uint32(self, addr: int, old: int, new: int) -> int:
        cur = self.load_uint32(addr)
        if cur == old:
            _U32.pack_into(self.mem.data, self._off(addr), new)
        return cur

    def shared_key(self, addr: int) -> Key:
        return ("m", id(self.mem), self._off(addr))

    def store(self, addr: int, v: int) -> None:
        _U32.pack_into(self.mem.data, self._off(addr), v)


A = 0x10000
B = 0x70000  # where the second space maps the same memory


@pytest.fixture
def fx() -> FutexManager[str]:
    return FutexManager()


def test_wait_checks_the_value(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    s.store(A, 1)
    with pytest.raises(type(EAGAIN)) as e:
        fx.wait(s, A, True, 2, BITSET_MATCH_ANY, "t1", 1)
    assert e.value is EAGAIN
    assert not fx.buckets


def test_wait_then_wake_returns_waiters_in_order(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    for private in (True, False):
        fx.wait(s, A, private, 0, BITSET_MATCH_ANY, "t1", 1)
        fx.wait(s, A, private, 0, BITSET_MATCH_ANY, "t2", 2)
        fx.wait(s, A, private, 0, BITSET_MATCH_ANY, "t3", 3)
        assert fx.wake(s, A, private, BITSET_MATCH_ANY, 2) == ["t1", "t2"]
        assert fx.wake(s, A, private, BITSET_MATCH_ANY, 5) == ["t3"]
        assert fx.wake(s, A, private, BITSET_MATCH_ANY, 5) == []
    assert not fx.buckets


def test_private_keys_are_per_address_space(fx: FutexManager[str]) -> None:
    mem = Memory()
    s1, s2 = Space(mem, A), Space(mem, A)
    fx.wait(s1, A, True, 0, BITSET_MATCH_ANY, "t1", 1)
    assert fx.wake(s2, A, True, BITSET_MATCH_ANY, 1) == []
    assert fx.wake(s1, A, True, BITSET_MATCH_ANY, 1) == ["t1"]


def test_shared_keys_match_across_address_spaces(fx: FutexManager[str]) -> None:
    mem = Memory()
    s1, s2 = Space(mem, A), Space(mem, B)
    fx.wait(s1, A + 8, False, 0, BITSET_MATCH_ANY, "t1", 1)
    assert fx.wake(s2, B + 4, False, BITSET_MATCH_ANY, 1) == []  # another word
    assert fx.wake(s2, B + 8, True, BITSET_MATCH_ANY, 1) == []  # private never matches shared
    assert fx.wake(s2, B + 8, False, BITSET_MATCH_ANY, 1) == ["t1"]


def test_bitset_filters_wakes(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    fx.wait(s, A, True, 0, 0b01, "low", 1)
    fx.wait(s, A, True, 0, 0b10, "high", 2)
    assert fx.wake(s, A, True, 0b10, 5) == ["high"]
    assert fx.wake(s, A, True, 0b11, 5) == ["low"]


def test_removed_waiter_is_not_woken(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    w = fx.wait(s, A, True, 0, BITSET_MATCH_ANY, "t1", 1)
    fx.remove(w)
    fx.remove(w)  # idempotent: a wait can end twice (wake, then cancel)
    assert fx.wake(s, A, True, BITSET_MATCH_ANY, 1) == []


def test_key_errors(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    with pytest.raises(type(EINVAL)) as e:
        fx.wake(s, A + 2, True, BITSET_MATCH_ANY, 1)
    assert e.value is EINVAL
    with pytest.raises(type(EFAULT)) as e:
        fx.wake(s, A - 4, False, BITSET_MATCH_ANY, 1)  # shared: the target looks up memory
    assert e.value is EFAULT
    assert fx.wake(s, 0, True, BITSET_MATCH_ANY, 1) == []  # private: no lookup, NULL is fine


def test_requeue_moves_waiters(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    for i in range(4):
        fx.wait(s, A, False, 0, BITSET_MATCH_ANY, f"t{i}", i)
    s.store(A, 7)
    with pytest.raises(type(EAGAIN)):
        fx.requeue(s, A, A + 4, False, 1, 1, cmp=6)
    assert fx.requeue(s, A, A + 4, False, 1, 2, cmp=7) == (["t0"], 2)
    assert fx.wake(s, A + 4, False, BITSET_MATCH_ANY, 5) == ["t1", "t2"]
    assert fx.wake(s, A, False, BITSET_MATCH_ANY, 5) == ["t3"]


def test_wake_op_updates_memory_and_wakes_on_condition(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    fx.wait(s, A, True, 0, BITSET_MATCH_ANY, "one", 1)
    fx.wait(s, A + 4, True, 0, BITSET_MATCH_ANY, "two", 2)
    # op ADD 5, then wake addr2's waiters if old == 0 (cmp EQ, cmparg 0).
    op = (1 << 28) | (0 << 24) | (5 << 12) | 0
    assert fx.wake_op(s, A, A + 4, True, 1, 1, op) == ["one", "two"]
    assert s.load_uint32(A + 4) == 5
    fx.wait(s, A + 4, True, 5, BITSET_MATCH_ANY, "three", 3)
    assert fx.wake_op(s, A, A + 4, True, 1, 1, op) == []  # old 5 != 0: no wake on addr2
    assert s.load_uint32(A + 4) == 10


def test_pi_lock_handoff(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    alive = {10, 20, 30}.__contains__
    assert fx.lock_pi(s, A, True, "t10", 10, False, alive) is None
    assert s.load_uint32(A) == 10
    with pytest.raises(type(EDEADLK)):
        fx.lock_pi(s, A, True, "t10", 10, False, alive)
    with pytest.raises(type(EAGAIN)):
        fx.lock_pi(s, A, True, "t20", 20, True, alive)
    assert fx.lock_pi(s, A, True, "t20", 20, False, alive) is not None
    assert fx.lock_pi(s, A, True, "t30", 30, False, alive) is not None
    assert s.load_uint32(A) == 10 | FUTEX_WAITERS
    with pytest.raises(type(EPERM)):
        fx.unlock_pi(s, A, True, 20)
    assert fx.unlock_pi(s, A, True, 10) == "t20"
    assert s.load_uint32(A) == 20 | FUTEX_WAITERS  # t30 still waits
    assert fx.unlock_pi(s, A, True, 20) == "t30"
    assert s.load_uint32(A) == 30
    assert fx.unlock_pi(s, A, True, 30) is None
    assert s.load_uint32(A) == 0


def test_pi_lock_of_a_dead_owner_is_taken_over(fx: FutexManager[str]) -> None:
    s = Space(Memory(), A)
    s.store(A, 99)
    assert fx.lock_pi(s, A, True, "t1", 1, False, lambda tid: False) is None
    assert s.load_uint32(A) == 1 | FUTEX_OWNER_DIED
