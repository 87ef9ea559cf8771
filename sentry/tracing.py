"""Switches for the structured trace views, checked before building events.

Every layer logs through ``structlog`` under a logger named after its
package (``sentry.mm``, ``sentry.platform``). Syscalls have their own
view, ``--strace``. Building
an event costs microseconds, so hot paths test a flag first::

    if TRACE.mm:
        log.debug("fault", addr=hex(addr), access=str(at))

All flags are off by default; ``run-guest --trace mm`` and friends turn them
on. A flag test is one attribute load, negligible next to a syscall.
"""

from __future__ import annotations


class TraceFlags:
    """Which trace categories are on. Attributes are plain bools."""

    __slots__ = ("mm", "platform")

    def __init__(self) -> None:
        self.mm = False
        self.platform = False

    def enable(self, *categories: str) -> None:
        """Turn on the named categories (``mm``, ``platform``, ``all``)."""
        for c in categories:
            if c == "all":
                for name in self.__slots__:
                    setattr(self, name, True)
            elif c in self.__slots__:
                setattr(self, c, True)
            else:
                raise ValueError(f"unknown trace category {c!r}")


TRACE = TraceFlags()
