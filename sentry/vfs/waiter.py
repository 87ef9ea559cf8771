"""Wait queues (gVisor ``pkg/waiter``).

A :class:`Queue` belongs to something that can become ready (a pipe, a
socket); an :class:`Entry` is a waiter's registration with an event mask and
a callback. ``Queue.notify(mask)`` calls the callback of every entry whose
mask intersects ``mask``. Nothing here blocks: parking a task is the
kernel's business (``sentry.kernel.blocking``); files only report readiness
and notify.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

EVENT_IN = 0x01  # POLLIN
EVENT_PRI = 0x02  # POLLPRI
EVENT_OUT = 0x04  # POLLOUT
EVENT_ERR = 0x08  # POLLERR
EVENT_HUP = 0x10  # POLLHUP
EVENT_RD_NORM = 0x40  # POLLRDNORM
EVENT_WR_NORM = 0x100  # POLLWRNORM
EVENT_WR_BAND = 0x200  # POLLWRBAND
EVENT_RD_HUP = 0x2000  # POLLRDHUP
READABLE_EVENTS = EVENT_IN | EVENT_RD_NORM
WRITABLE_EVENTS = EVENT_OUT | EVENT_WR_NORM


class Entry:
    """One waiter's registration: ``callback(mask)`` runs on a matching notify."""

    __slots__ = ("callback", "mask")

    def __init__(self, callback: Callable[[int], None] | None = None, mask: int = 0) -> None:
        self.callback = callback
        self.mask = mask


class Queue:
    """Entries waiting for events on one object."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: list[Entry] = []

    def event_register(self, e: Entry) -> None:
        """Add ``e`` (its ``mask`` says which events it wants)."""
        self._entries.append(e)

    def event_unregister(self, e: Entry) -> None:
        """Remove ``e``; unknown entries are ignored."""
        with contextlib.suppress(ValueError):
            self._entries.remove(e)

    def notify(self, mask: int) -> None:
        """Run the callback of every entry interested in ``mask``."""
        for e in list(self._entries):
            if e.mask & mask and e.callback is not None:
                e.callback(mask)

    def events(self) -> int:
        """The union of all registered masks."""
        m = 0
        for e in self._entries:
            m |= e.mask
        return m

    def is_empty(self) -> bool:
        return not self._entries
