"""Pidfds (Linux ``kernel/pid.c`` ``pidfd_create``, ``fs/pidfs.c``).

A :class:`PidFile` refers to a process (its thread group). It is readable
(POLLIN) once every thread has exited, and also hung up (POLLHUP) once the
parent has reaped it; the thread group's ``exit_queue`` is notified when
the last thread exits. read and write are EINVAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentry.abi.fcntl import O_NONBLOCK, O_RDWR
from sentry.fsimpl.anon import AnonFile
from sentry.vfs.waiter import EVENT_HUP, EVENT_IN, EVENT_RD_NORM, Entry

if TYPE_CHECKING:
    from sentry.kernel.task import ThreadGroup

PIDFD_NONBLOCK = O_NONBLOCK


class PidFile(AnonFile):
    """A pidfd of ``tg``."""

    kind = "pidfd"

    def __init__(self, tg: ThreadGroup, nonblocking: bool) -> None:
        super().__init__(O_RDWR | (O_NONBLOCK if nonblocking else 0))
        self.tg = tg

    def exited(self) -> bool:
        return all(x.exited for x in self.tg.tasks)

    def readiness(self, mask: int) -> int:
        if self.tg.reaped:
            return (mask & (EVENT_IN | EVENT_RD_NORM)) | EVENT_HUP
        return mask & (EVENT_IN | EVENT_RD_NORM) if self.exited() else 0

    def event_register(self, e: Entry) -> None:
        self.tg.exit_queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.tg.exit_queue.event_unregister(e)
