"""execve's point of no return (Linux ``begin_new_exec``; gVisor
``kernel/task_exec.go``).

The syscall layer resolves and loads the new program into a fresh
MemoryManager; once that succeeded it hands the image to
:func:`begin_new_exec`, which makes it the process's: the other threads
end, the old image's ``clear_child_tid`` is written and woken as on exit,
a vfork parent resumes, the task switches to the new mm with a new CPU
context at the entry point, close-on-exec fds close, handled signals
revert to their default action (ignored ones stay ignored), and the
alternate signal stack, robust list and rseq registration are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentry.abi.signals import SIG_DFL, SIG_IGN, SS_DISABLE
from sentry.kernel.task import TASK_COMM_LEN
from sentry.kernel.task_futex import futex_wake_quietly
from sentry.usermem import DEFAULT_OPTS

if TYPE_CHECKING:
    from sentry.kernel.task import Task
    from sentry.mm import MemoryManager


def begin_new_exec(t: Task, mm: MemoryManager, entry: int, sp: int, name: str) -> None:
    """Replace ``t``'s process image by ``mm`` (loaded; ``entry`` and the
    initial stack pointer ``sp`` from the loader). ``name`` is the path
    whose basename becomes the task's name. Never fails."""
    kernel = t.kernel
    tg = t.tg
    for other in list(tg.tasks):
        if other is not t and not other.exited:
            kernel.exit_task(other)
    if t.clear_child_tid:
        # mm_release: the old image's clear_child_tid is zeroed and woken.
        _, err = t.mm.copy_out(t.clear_child_tid, b"\0\0\0\0", DEFAULT_OPTS)
        if err is None:
            futex_wake_quietly(t, t.clear_child_tid, False, 1)
        t.clear_child_tid = 0
    kernel.release_vfork_parent(t)
    old = t.mm
    t.mm = mm
    t.cpu = mm.address_space.new_context()
    t.cpu.rip = entry
    t.cpu.rsp = sp
    old.users -= 1
    if old.users == 0:
        old.release()
    tg.fd_table.close_on_exec()
    for sig, action in list(tg.sigactions.items()):
        if action.handler not in (SIG_DFL, SIG_IGN):
            del tg.sigactions[sig]
    t.alt_stack = (0, 0, SS_DISABLE)
    t.signal_frames.clear()
    t.robust_list = (0, 0)
    t.rseq = (0, 0, 0)
    tg.execed = True  # the parent's setpgid is now EACCES
    t.comm = name.rsplit("/", 1)[-1].encode("utf-8", "surrogateescape")[: TASK_COMM_LEN - 1]
