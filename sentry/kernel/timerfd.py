"""timerfd (Linux ``fs/timerfd.c``; gVisor ``fsimpl/timerfd``).

A :class:`TimerFile` is an interval timer on one clock (CLOCK_REALTIME,
CLOCK_MONOTONIC or CLOCK_BOOTTIME; the alarm clocks count as their base
clocks). Expirations are counted lazily from the clock whenever the file
is asked (read, readiness, gettime), so no timer has to fire for a read or
a poll with a zero timeout to see them. To wake waiters (a blocked read,
poll, an epoll watching the file) the file arms a kernel timer
(``Kernel.add_timer``) for the next expiry while anybody is registered on
its wait queue; the timer's callback notifies the queue.

An absolute CLOCK_REALTIME timer does not follow changes of the host's
clock (the sentry never changes it), so TFD_TIMER_CANCEL_ON_SET is
accepted and never cancels (ECANCELED is never reported).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Protocol

from sentry.abi.fcntl import O_NONBLOCK, O_RDWR
from sentry.fsimpl.anon import AnonFile
from sentry.linuxerr import EAGAIN, EFAULT, EINVAL
from sentry.usermem import IOSequence
from sentry.vfs.waiter import EVENT_IN, Entry, Queue

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
# The host clock each timerfd clock reads.
TIMERFD_CLOCKS = {
    CLOCK_REALTIME: time.CLOCK_REALTIME,
    CLOCK_MONOTONIC: time.CLOCK_MONOTONIC,
    CLOCK_BOOTTIME: time.CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM: time.CLOCK_REALTIME,
    CLOCK_BOOTTIME_ALARM: time.CLOCK_BOOTTIME,
}
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2
TFD_NONBLOCK = O_NONBLOCK
TFD_CLOEXEC = 0o2000000
_U64 = struct.Struct("<Q")


class Timers(Protocol):
    """What a timerfd needs of the kernel (``Kernel.add_timer``)."""

    def add_timer(self, deadline_ns: int, callback: Callable[[], None]) -> int: ...

    def cancel_timer(self, handle: int) -> None: ...


class TimerFile(AnonFile):
    """One timerfd: ``expiry`` is the next expiry on the file's clock (None
    while disarmed), ``interval`` the period (0: one-shot), ``ticks`` the
    expirations not read yet."""

    kind = "timerfd"

    def __init__(self, timers: Timers, clock: int, nonblocking: bool) -> None:
        super().__init__(O_RDWR | (O_NONBLOCK if nonblocking else 0))
        self._timers = timers
        self.clock = clock
        self._host_clock = TIMERFD_CLOCKS[clock]
        self.expiry: int | None = None
        self.interval = 0
        self.ticks = 0
        self.queue = Queue()
        self._armed: int | None = None  # the kernel timer's handle

    def now(self) -> int:
        return time.clock_gettime_ns(self._host_clock)

    def _advance(self) -> None:
        """Count the expirations up to now into ``ticks``."""
        if self.expiry is None:
            return
        now = self.now()
        if now < self.expiry:
            return
        if self.interval:
            n = 1 + (now - self.expiry) // self.interval
            self.ticks += n
            self.expiry += n * self.interval
        else:
            self.ticks += 1
            self.expiry = None

    def get(self) -> tuple[int, int]:
        """timerfd_gettime: (time left to the next expiry, interval)."""
        self._advance()
        left = 0 if self.expiry is None else max(1, self.expiry - self.now())
        return left, self.interval

    def set(self, value: int, interval: int, absolute: bool) -> tuple[int, int]:
        """timerfd_settime: arm (``value`` > 0) or disarm (0); discards
        unread expirations; returns the old setting as ``get`` would."""
        old = self.get()
        self.ticks = 0
        self.interval = interval
        if value == 0:
            self.expiry = None
        else:
            self.expiry = value if absolute else self.now() + value
        self._rearm()
        return old

    # -- waking waiters ------------------------------------------------------------

    def _rearm(self) -> None:
        """Keep one kernel timer at the next expiry while anyone waits."""
        if self._armed is not None:
            self._timers.cancel_timer(self._armed)
            self._armed = None
        if self.expiry is None or self.queue.is_empty() or self.ticks:
            return
        delay = max(0, self.expiry - self.now())
        self._armed = self._timers.add_timer(time.monotonic_ns() + delay, self._fire)

    def _fire(self) -> None:
        self._armed = None
        self._advance()
        if self.ticks:
            self.queue.notify(EVENT_IN)
        else:
            self._rearm()  # early (a realtime clock behind the monotonic one)

    def event_register(self, e: Entry) -> None:
        self.queue.event_register(e)
        if self._armed is None:
            self._advance()
            self._rearm()

    def event_unregister(self, e: Entry) -> None:
        self.queue.event_unregister(e)
        if self.queue.is_empty() and self._armed is not None:
            self._timers.cancel_timer(self._armed)
            self._armed = None

    # -- the file ------------------------------------------------------------------------

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """The expirations since the last read or settime, as 8 bytes;
        EINVAL below 8 bytes, EAGAIN while there are none."""
        if dst.num_bytes() < 8:
            return 0, EINVAL
        self._advance()
        if not self.ticks:
            return 0, EAGAIN
        ticks, self.ticks = self.ticks, 0
        self._rearm()
        # Linux consumes the count before copying it: a fault loses it.
        n, _ = dst.copy_out(_U64.pack(ticks))
        return (8, None) if n == 8 else (0, EFAULT)

    def readiness(self, mask: int) -> int:
        self._advance()
        return mask & EVENT_IN if self.ticks else 0

    def release(self) -> None:
        if self._armed is not None:
            self._timers.cancel_timer(self._armed)
            self._armed = None
