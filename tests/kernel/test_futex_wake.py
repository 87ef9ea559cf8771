"""FutexManager.wake_key_of, the wake of exit paths (clear_child_tid,
robust lists): a bad address is ignored as Linux does, a bug is not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sentry.kernel.futex import BITSET_MATCH_ANY, FutexManager, Waiter


def _task() -> Any:
    # An mm with no vmas: every shared key is EFAULT.
    return SimpleNamespace(mm=SimpleNamespace(vmas=SimpleNamespace(find=lambda addr: None)))


def test_bad_addresses_wake_nobody() -> None:
    fx = FutexManager(SimpleNamespace(wake=None))  # type: ignore[arg-type]
    t = _task()
    assert fx.wake_key_of(t, 0x1000, False, 1) == 0  # unmapped: EFAULT
    assert fx.wake_key_of(t, 0x1002, True, 1) == 0  # unaligned: EINVAL


def test_a_waiter_is_woken() -> None:
    woken: list[Any] = []
    fx = FutexManager(SimpleNamespace(wake=lambda task, result: woken.append(task)))  # type: ignore[arg-type]
    t, waiter = _task(), object()
    fx._enqueue(Waiter(waiter, fx.key(t, 0x1000, True), BITSET_MATCH_ANY))  # type: ignore[arg-type]
    assert fx.wake_key_of(t, 0x1000, True, 1) == 1
    assert woken == [waiter]


def test_a_bug_in_the_wake_path_is_not_swallowed() -> None:
    def broken(task: Any, result: int) -> None:
        raise RuntimeError("bug while waking")

    fx = FutexManager(SimpleNamespace(wake=broken))  # type: ignore[arg-type]
    t = _task()
    fx._enqueue(Waiter(object(), fx.key(t, 0x1000, True), BITSET_MATCH_ANY))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="bug while waking"):
        fx.wake_key_of(t, 0x1000, True, 1)
