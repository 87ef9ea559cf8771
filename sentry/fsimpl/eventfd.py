"""eventfd (Linux ``fs/eventfd.c``; gVisor ``fsimpl/eventfd``).

An eventfd is a 64-bit counter. ``write`` adds an 8-byte value to it;
``read`` returns the counter and resets it to 0, or in semaphore mode
returns 1 and decrements it. The counter never exceeds 2**64 - 2: a write
that would pass it would block, as does a read of 0. Both transfer exactly
8 bytes: a read needs at least 8, a write exactly 8, else EINVAL; writing 2**64 - 1 is EINVAL.

Blocking is the syscall layer's: ``read``/``write`` answer EAGAIN and the
file notifies its wait queue when the counter changes (IN after a write,
OUT after a read), so ``read_file``/``write_file`` can park the task.
"""

from __future__ import annotations

import struct

from sentry.abi.fcntl import O_NONBLOCK, O_RDWR
from sentry.fsimpl.anon import AnonFile
from sentry.linuxerr import EAGAIN, EFAULT, EINVAL
from sentry.usermem import IOSequence
from sentry.vfs.waiter import EVENT_ERR, EVENT_IN, EVENT_OUT, Entry, Queue

EFD_SEMAPHORE = 1
EFD_NONBLOCK = O_NONBLOCK
EFD_CLOEXEC = 0o2000000
MAX_COUNTER = (1 << 64) - 2
_U64 = struct.Struct("<Q")


class EventFile(AnonFile):
    """One eventfd description (the counter lives here: dup and fork share it)."""

    kind = "eventfd"

    def __init__(self, initval: int, semaphore: bool, nonblocking: bool) -> None:
        super().__init__(O_RDWR | (O_NONBLOCK if nonblocking else 0))
        self.counter = initval
        self.semaphore = semaphore
        self.queue = Queue()

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """8 bytes of counter; EINVAL below 8 bytes, EAGAIN at 0. A buffer
        that faults gets EFAULT with the value consumed (as Linux)."""
        if dst.num_bytes() < 8:
            return 0, EINVAL
        if self.counter == 0:
            return 0, EAGAIN
        value = 1 if self.semaphore else self.counter
        self.counter -= value
        self.queue.notify(EVENT_OUT)
        n, _ = dst.copy_out(_U64.pack(value))
        return (8, None) if n == 8 else (0, EFAULT)

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Add an 8-byte value: EINVAL for any other size (Linux 6.18
        refuses longer buffers too) or for 2**64 - 1, EFAULT for an
        unreadable buffer, EAGAIN while it does not fit."""
        if src.num_bytes() != 8:
            return 0, EINVAL
        buf = bytearray(8)
        n, _ = src.copy_in(buf)
        if n != 8:
            return 0, EFAULT
        (value,) = _U64.unpack(buf)
        if value == (1 << 64) - 1:
            return 0, EINVAL
        if value > MAX_COUNTER - self.counter:
            return 0, EAGAIN
        self.counter += value
        # Linux wakes readers even for 0: an edge-triggered epoll sees it.
        self.queue.notify(EVENT_IN)
        return 8, None

    def readiness(self, mask: int) -> int:
        ready = 0
        if self.counter:
            ready |= EVENT_IN
        if self.counter < MAX_COUNTER:
            ready |= EVENT_OUT
        if self.counter > MAX_COUNTER:
            ready |= EVENT_ERR
        return ready & (mask | EVENT_ERR)

    def event_register(self, e: Entry) -> None:
        self.queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.queue.event_unregister(e)
