"""poll, ppoll, select, pselect6 (Linux ``fs/select.c``; gVisor ``sys_poll.go``).

Readiness comes from each file (``FileDescription.readiness``); sentry
files (pipes) notify their wait queues, so a waiting task is parked and
woken by the event. Host descriptors that are not regular files (a
terminal or pipe on stdin) cannot notify the sentry: they are polled on
the host without blocking, and a wait that includes one re-checks every
10 ms. Timeouts are CLOCK_MONOTONIC deadlines; select and pselect6 write
back the time left, as Linux does.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from sentry.abi.misc import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    POLLRDBAND,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
)
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, Errno
from sentry.syscalls.linux.args import copy_in_timespec, s32
from sentry.vfs import FileDescription
from sentry.vfs.waiter import Entry

_ALWAYS = POLLERR | POLLHUP
_HOST_RECHECK_NS = 10_000_000
_POLLFD = struct.Struct("<ihh")
_TIMESPEC = struct.Struct("<qq")
_NSEC = 1_000_000_000


def readiness(f: FileDescription, events: int) -> tuple[int, bool]:
    """(ready events, whether the file can notify waiters)."""
    return f.readiness(events), not f.needs_polling()


def _wait(t: Task, what: str, files: list[FileDescription], masks: list[int], deadline: int | None,
          check: Callable[[], int], finish: Callable[[int], int]) -> int:
    """Return ``finish(n)`` as soon as ``check()`` finds ``n > 0`` ready or
    the deadline passes; otherwise park the task until a file notifies or
    a timer fires, then check again."""
    n = check()
    now = time.monotonic_ns()
    if n or (deadline is not None and now >= deadline):
        return finish(n)
    k = t.kernel
    entries: list[tuple[FileDescription, Entry]] = []
    notifiable = True
    for f, mask in zip(files, masks, strict=True):
        if f.needs_polling():
            notifiable = False
            continue
        e = Entry(None, mask | _ALWAYS)
        entries.append((f, e))

    def cancel() -> None:
        for f, e in entries:
            f.event_unregister(e)

    def notify(_events: int) -> None:
        cancel()
        k.wake(t)

    for f, e in entries:
        e.callback = notify
        f.event_register(e)
    wake_at = deadline
    if not notifiable:
        recheck = now + _HOST_RECHECK_NS
        wake_at = recheck if wake_at is None else min(wake_at, recheck)

    def resume() -> int:
        cancel()
        return _wait(t, what, files, masks, deadline, check, finish)

    k.block(t, what, resume, deadline_ns=wake_at, timeout_result=None, cancel=cancel)


def _deadline_from_timespec(t: Task, addr: int) -> int | None:
    if addr == 0:
        return None
    return time.monotonic_ns() + copy_in_timespec(t, addr)


def _do_poll(t: Task, fds_addr: int, nfds: int, deadline: int | None, restore: int | None = None) -> int:
    if nfds > t.tg.fd_table.limit:
        raise EINVAL
    raw = bytearray(t.copy_in_bytes(fds_addr, nfds * 8)) if nfds else bytearray()
    polls = [list(p) for p in _POLLFD.iter_unpack(raw)]
    table = t.tg.fd_table
    files: list[FileDescription] = []
    masks: list[int] = []
    for fd, events, _ in polls:
        if fd >= 0:
            f = table.get_or_none(fd)
            if f is not None:
                files.append(f)
                masks.append(events & 0xFFFF)

    def check() -> int:
        count = 0
        for p in polls:
            fd, events = p[0], p[1] & 0xFFFF
            if fd < 0:
                p[2] = 0
                continue
            f = table.get_or_none(fd)
            if f is None:
                p[2] = POLLNVAL
            else:
                ready, _ = readiness(f, events | _ALWAYS)
                p[2] = ready & (events | _ALWAYS)
            count += p[2] != 0
        return count

    def finish(n: int) -> int:
        out = b"".join(_POLLFD.pack(fd, ev, rev) for fd, ev, rev in polls)
        if out:
            t.copy_out_bytes(fds_addr, out)
        restore_sigmask(t, restore)
        return n

    return _wait(t, "poll", files, masks, deadline, check, finish)


def sys_poll(t: Task, fds: int, nfds: int, timeout: int, *_: int) -> int:
    ms = s32(timeout)
    deadline = None if ms < 0 else time.monotonic_ns() + ms * 1_000_000
    return _do_poll(t, fds, nfds & 0xFFFFFFFF, deadline)


def _with_sigmask(t: Task, sigmask: int, size: int) -> int | None:
    """Install the call's temporary signal mask; returns the old one to
    reinstate with :func:`restore_sigmask` when the call returns (None when
    no mask was given). A signal that interrupts the wait runs its handler
    with the temporary mask and the old one comes back at sigreturn
    (``Task.saved_signal_mask``), as Linux does."""
    if not sigmask:
        return None
    if size != 8:
        raise EINVAL
    (mask,) = struct.unpack("<Q", t.copy_in_bytes(sigmask, 8))
    old = t.signal_mask
    t.saved_signal_mask = old
    t.set_signal_mask(mask)
    return old


def restore_sigmask(t: Task, old: int | None) -> None:
    """Reinstate the mask :func:`_with_sigmask` replaced (None: nothing to do)."""
    if old is not None:
        t.set_signal_mask(old)
        t.saved_signal_mask = None


def sys_ppoll(t: Task, fds: int, nfds: int, tsp: int, sigmask: int, sigsetsize: int, *_: int) -> int:
    deadline = _deadline_from_timespec(t, tsp)
    old = _with_sigmask(t, sigmask, sigsetsize)
    try:
        return _do_poll(t, fds, nfds & 0xFFFFFFFF, deadline, old)
    except Errno:
        restore_sigmask(t, old)
        raise


def _do_select(t: Task, nfds: int, sets: tuple[int, int, int], deadline: int | None,
               write_back: Callable[[], None]) -> int:
    nfds = s32(nfds)
    if nfds < 0:
        raise EINVAL
    nfds = min(nfds, t.tg.fd_table.limit)
    nbytes = ((nfds + 63) // 64) * 8
    bits = [int.from_bytes(t.copy_in_bytes(a, nbytes), "little") if a and nbytes else 0 for a in sets]
    table = t.tg.fd_table
    wanted: dict[int, int] = {}
    for which, mask in ((0, POLLIN | POLLRDNORM | POLLRDBAND), (1, POLLOUT | POLLWRNORM | POLLWRBAND), (2, POLLPRI)):
        b = bits[which]
        while b:
            low = b & -b
            fd = low.bit_length() - 1
            b ^= low
            wanted[fd] = wanted.get(fd, 0) | mask
    files = []
    for fd in wanted:
        f = table.get_or_none(fd)
        if f is None:
            from sentry.linuxerr import EBADF

            raise EBADF
        files.append(f)
    result = [0, 0, 0]

    def check() -> int:
        result[:] = [0, 0, 0]
        count = 0
        for fd, mask in wanted.items():
            ready, _ = readiness(table.get(fd), mask | _ALWAYS)
            bit = 1 << fd
            if bits[0] & bit and ready & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR):
                result[0] |= bit
                count += 1
            if bits[1] & bit and ready & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR):
                result[1] |= bit
                count += 1
            if bits[2] & bit and ready & POLLPRI:
                result[2] |= bit
                count += 1
        return count

    def finish(n: int) -> int:
        for addr, value in zip(sets, result, strict=True):
            if addr and nbytes:
                t.copy_out_bytes(addr, value.to_bytes(nbytes, "little"))
        write_back()
        return n

    return _wait(t, "select", files, list(wanted.values()), deadline, check, finish)


def sys_select(t: Task, nfds: int, r: int, w: int, e: int, tvp: int, *_: int) -> int:
    deadline = None
    if tvp:
        sec, usec = _TIMESPEC.unpack(t.copy_in_bytes(tvp, 16))
        if sec < 0 or not 0 <= usec < 1_000_000:
            raise EINVAL
        deadline = time.monotonic_ns() + sec * _NSEC + usec * 1000

    def write_back() -> None:
        if tvp and deadline is not None:
            left = max(0, deadline - time.monotonic_ns())
            t.copy_out_bytes(tvp, _TIMESPEC.pack(left // _NSEC, (left % _NSEC) // 1000))

    return _do_select(t, nfds, (r, w, e), deadline, write_back)


def sys_pselect6(t: Task, nfds: int, r: int, w: int, e: int, tsp: int, sig: int) -> int:
    deadline = _deadline_from_timespec(t, tsp)
    old = None
    if sig:
        mask_ptr, size = struct.unpack("<QQ", t.copy_in_bytes(sig, 16))
        old = _with_sigmask(t, mask_ptr, size)

    def write_back() -> None:
        if tsp and deadline is not None:
            left = max(0, deadline - time.monotonic_ns())
            t.copy_out_bytes(tsp, _TIMESPEC.pack(left // _NSEC, left % _NSEC))
        restore_sigmask(t, old)

    try:
        return _do_select(t, nfds, (r, w, e), deadline, write_back)
    except Errno:
        restore_sigmask(t, old)
        raise
