"""futex_wake_quietly, the wake of exit paths (clear_child_tid, robust
lists): a bad address is ignored as Linux does, a bug is not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sentry.kernel.futex import BITSET_MATCH_ANY, FutexManager, Waiter
from sentry.kernel.task_futex import MMTarget, futex_wake_quietly


def _task(wake: Any = None) -> Any:
    # An mm with no vmas: every shared key is EFAULT.
    kernel = SimpleNamespace(futexes=FutexManager(), wake=wake)
    return SimpleNamespace(kernel=kernel, mm=SimpleNamespace(vmas=SimpleNamespace(find=lambda addr: None)))


def test_bad_addresses_wake_nobody() -> None:
    t = _task()
    assert futex_wake_quietly(t, 0x1000, False, 1) == 0  # unmapped: EFAULT
    assert futex_wake_quietly(t, 0x1002, True, 1) == 0  # unaligned: EINVAL


def test_a_waiter_is_woken() -> None:
    woken: list[Any] = []
    t, waiter = _task(lambda task, result: woken.append(task)), object()
    fx = t.kernel.futexes
    fx.enqueue(Waiter(waiter, 2, fx.key(MMTarget(t.mm), 0x1000, True), BITSET_MATCH_ANY))
    assert futex_wake_quietly(t, 0x1000, True, 1) == 1
    assert woken == [waiter]


def test_a_bug_in_the_wake_path_is_not_swallowed() -> None:
    def broken(task: Any, result: int) -> None:
        raise RuntimeError("bug while waking")

    t = _task(broken)
    fx = t.kernel.futexes
    fx.enqueue(Waiter(object(), 2, fx.key(MMTarget(t.mm), 0x1000, True), BITSET_MATCH_ANY))
    with pytest.raises(RuntimeError, match="bug while waking"):
        futex_wake_quietly(t, 0x1000, True, 1)
