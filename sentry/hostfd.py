"""The sentry's host descriptors: a reserve the guest can never take.

Before every host fd the sentry opens on a guest's behalf (host files,
O_PATH directory handles, mapping dups) it calls :func:`room`, which
refuses with EMFILE when fewer than ``reserve()`` descriptors are left under
the host's RLIMIT_NOFILE (before anything is created or truncated, as
Linux allocates the fd first). The sentry's own work (lazy imports,
logging, error reporting) therefore always finds descriptors: a guest
exhausting host fds gets EMFILE, never a sentry traceback (issue 19).

Host fds are allocated lowest-first, so the number a dup would get is
the lowest free one: ``fd >= limit - reserve()`` means at most
``reserve()`` are left.
"""

from __future__ import annotations

import contextlib
import os
import resource

from sentry.linuxerr import EMFILE

RESERVE = 32
"""Descriptors kept for the sentry's own use (fewer under a tiny limit:
see :func:`reserve`)."""

_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def reserve() -> int:
    """The reserve under the current limit: ``RESERVE``, or an eighth of a
    small limit (at least 4), so a tiny ``ulimit -n`` still runs programs."""
    return min(RESERVE, max(4, _limit // 8))


def limit() -> int:
    """The host's soft RLIMIT_NOFILE as last read."""
    return _limit


def refresh_limit() -> int:
    """Re-read the host's soft RLIMIT_NOFILE (after the sentry changed it);
    returns it."""
    global _limit
    _limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return _limit


def raise_limit() -> int:
    """Raise the sentry's soft RLIMIT_NOFILE to its hard limit (at most
    2**20) so the guest's own limit, the original soft one, is reached
    before the host's; returns the original soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    target = min(target, 1 << 20)
    if target > soft:
        with contextlib.suppress(OSError, ValueError):  # keep the old limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    refresh_limit()
    return soft


def room() -> None:
    """EMFILE unless a new host fd would leave the reserve intact."""
    try:
        fd = os.dup(_probe)
    except OSError:
        raise EMFILE from None
    os.close(fd)
    if fd >= _limit - reserve():
        raise EMFILE


_probe = os.open("/", os.O_PATH | os.O_CLOEXEC)
