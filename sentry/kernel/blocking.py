"""Blocking a task on a file, and deadlock detection.

A syscall whose file answers "would block" (EAGAIN on a blocking
description) calls :func:`wait_for`. Three outcomes:

1. The file is served by the host (``FileDescription.host_wait`` exists
   and returns True after the host fd became ready): the caller retries.
   Input from outside the sandbox can always arrive, so this is never a
   deadlock.
2. Another task could still make progress (and the kernel can park
   tasks: ``kernel.park_task``): the task is parked on the file's wait
   queue until an event of ``mask`` arrives. ``park_task(task, file,
   mask)`` must register a ``sentry.vfs.waiter.Entry`` with the file and
   raise ``TaskStop`` (restarting the syscall when woken); it arrives with
   the threads/fork work.
3. Nothing else can run, so nothing can ever wake this task: a
   :class:`Deadlock`. The kernel reports it (``kernel.on_deadlock(exc)``
   if it defines it); until it does, :func:`report_deadlock` prints
   ``run-guest: deadlock: ...`` on stderr and ends every thread group
   with exit status 1, and the handler raises the Deadlock (a TaskStop, so
   the run loop leaves the task without writing RAX).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from sentry.kernel.task import TaskStop

if TYPE_CHECKING:
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


def _others_can_run(t: Task) -> bool:
    for other in getattr(t.kernel, "tasks", {}).values():
        if other is t or getattr(other, "exited", False) or getattr(other, "blocked", False):
            continue
        return True
    return False


def wait_for(t: Task, file: FileDescription, mask: int, what: str) -> None:
    """Block ``t`` until ``file`` may be ready for ``mask`` (see the
    module docstring). Returns when the caller should retry; raises
    Deadlock (after reporting it) or TaskStop (parked)."""
    host_wait = getattr(file, "host_wait", None)
    if host_wait is not None and host_wait(mask):
        return
    park = getattr(t.kernel, "park_task", None)
    if park is not None and _others_can_run(t):
        park(t, file, mask)
        raise TaskStop
    exc = Deadlock(f"tid {t.tid} {what} {file.path_name()}")
    handler = getattr(t.kernel, "on_deadlock", None)
    if handler is not None:
        handler(exc)
    else:
        report_deadlock(t.kernel, exc)
    raise exc


def report_deadlock(kernel: Any, exc: Deadlock) -> None:
    """Print the deadlock and end every thread group with status 1 (the
    fallback until the kernel's run loop reports deadlocks itself)."""
    print(exc.message(), file=sys.stderr, flush=True)
    for tg in list(getattr(kernel, "thread_groups", {}).values()):
        if tg.exit_status is None or not tg.exiting:
            kernel.exit_thread_group(tg, DEADLOCK_EXIT_STATUS << 8)
