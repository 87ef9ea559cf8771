"""Blocking a task on a file, and deadlock detection.

A syscall whose file answers "would block" (EAGAIN on a blocking
description) calls :func:`wait_for` with a ``retry`` function that redoes
the operation. Two outcomes:

1. The file is served by the host (``FileDescription.host_wait`` returns
   True after the host fd became ready): the caller retries
   at once. Input from outside the sandbox can always arrive, so this is
   never a deadlock.
2. Otherwise the task is parked (``Kernel.block``): a
   ``sentry.vfs.waiter.Entry`` is registered with the file for ``mask``;
   the first matching notify makes the task runnable, and before its CPU
   resumes the scheduler calls ``retry()``, whose result (or a new wait)
   completes the syscall. ``TaskStop`` is raised.

When no task is runnable and no blocked task has a deadline, nothing can
ever wake them: the kernel's run loop raises a :class:`Deadlock`,
reports it (``kernel.on_deadlock(exc)`` if set, else
:func:`report_deadlock` prints ``run-guest: deadlock: every task is
blocked (...)`` on stderr and ends every thread group with status 1).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.kernel.task import TaskStop
from sentry.vfs.waiter import Entry

if TYPE_CHECKING:
    from sentry.kernel.core import KernelCore
    from sentry.kernel.task import Task
    from sentry.vfs.file_description import FileDescription

DEADLOCK_EXIT_STATUS = 1


class Deadlock(TaskStop):
    """Every task is blocked and nothing can wake them. ``detail`` names
    the blocked operations."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def message(self) -> str:
        return f"run-guest: deadlock: every task is blocked ({self.detail})"


def wait_for(t: Task, file: FileDescription, mask: int, what: str, retry: Callable[[], int]) -> None:
    """Wait until ``file`` may be ready for ``mask`` (see the module
    docstring). Returns when the caller should retry now (host files);
    otherwise parks ``t`` and raises TaskStop, ``retry()`` completing the
    syscall once woken."""
    if file.host_wait(mask):
        return
    k = t.kernel
    entry = Entry(None, mask)

    def cancel() -> None:
        file.event_unregister(entry)

    def notify(_events: int) -> None:
        cancel()
        k.wake(t)

    entry.callback = notify
    file.event_register(entry)
    k.block(t, f"{what} {file.path_name()}", retry, cancel=cancel, restartable=True)


def report_deadlock(kernel: KernelCore, exc: Deadlock) -> None:
    """Print the deadlock and end every thread group with status 1."""
    print(exc.message(), file=sys.stderr, flush=True)
    for tg in list(kernel.thread_groups.values()):
        if tg.exit_status is None or not tg.exiting:
            kernel.exit_thread_group(tg, DEADLOCK_EXIT_STATUS << 8)
