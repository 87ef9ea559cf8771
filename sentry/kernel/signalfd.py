"""signalfd (Linux ``fs/signalfd.c``; gVisor ``fsimpl/signalfd``).

A :class:`SignalFile` reads, as 128-byte ``struct signalfd_siginfo``
records, the pending signals of the reading task that are in its mask
(SIGKILL and SIGSTOP never are), dequeuing them as delivery would; a read
needs room for one record (EINVAL) and returns as many as fit. The
signals are normally blocked, so nothing else consumes them.

"The reading task" is the task in a syscall (``Kernel.current``); when a
blocked read resumes (no task is current then) it is the task that
created the file. Waiters wait on the creating process's
``ThreadGroup.signalfd_queue``, which every signal sent to one of its
tasks notifies: a signalfd inherited across fork is woken by the
parent's signals, not the child's (a gap; Linux wakes by the reader's).
ssi_status, ssi_utime/stime, ssi_int/ptr (sigqueue values) are 0: the
kernel does not record them.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from sentry.abi.fcntl import O_NONBLOCK, O_RDWR
from sentry.fsimpl.anon import AnonFile
from sentry.kernel.signals import SignalInfo
from sentry.linuxerr import EAGAIN, EFAULT, EINVAL
from sentry.usermem import IOSequence
from sentry.vfs.waiter import EVENT_IN, Entry

if TYPE_CHECKING:
    from sentry.kernel.task import Task

SFD_NONBLOCK = O_NONBLOCK
SFD_CLOEXEC = 0o2000000
SIGINFO_SIZE = 128
_UNBLOCKABLE = (1 << 8) | (1 << 18)  # SIGKILL, SIGSTOP
# signo, errno, code, pid, uid, fd, tid, band, overrun, trapno, status,
# int, ptr, utime, stime, addr, addr_lsb, pad, syscall, call_addr, arch.
_SIGINFO = struct.Struct("<IiiIIiIIIIiiQQQQHHiQI28x")
assert _SIGINFO.size == SIGINFO_SIZE


class SignalFile(AnonFile):
    """One signalfd: ``mask`` is the set of signals it reads."""

    kind = "signalfd"

    def __init__(self, owner: Task, mask: int, nonblocking: bool) -> None:
        super().__init__(O_RDWR | (O_NONBLOCK if nonblocking else 0))
        self._owner = owner
        self.mask = 0
        self.set_mask(mask)

    def set_mask(self, mask: int) -> None:
        """A new mask (signalfd on an existing fd) wakes the waiters."""
        self.mask = mask & ~_UNBLOCKABLE & ((1 << 64) - 1)
        self._owner.tg.signalfd_queue.notify(EVENT_IN)

    def _reader(self) -> Task:
        cur = self._owner.kernel.current
        return cur if cur is not None else self._owner

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        room = dst.num_bytes() // SIGINFO_SIZE
        if room == 0:
            return 0, EINVAL
        t = self._reader()
        records: list[bytes] = []
        while len(records) < room:
            ready = t.pending & self.mask
            if not ready:
                break
            sig = (ready & -ready).bit_length()
            t.pending &= ~(1 << (sig - 1))
            info = t.pending_info.pop(sig, None)
            records.append(_pack(sig, info))
        t.sig_pending = bool(t.pending & ~t.signal_mask)
        if not records:
            return 0, EAGAIN
        data = b"".join(records)
        n, _ = dst.copy_out(data)
        if n < SIGINFO_SIZE:
            return 0, EFAULT
        return n - n % SIGINFO_SIZE, None

    def readiness(self, mask: int) -> int:
        return mask & EVENT_IN if self._reader().pending & self.mask else 0

    def event_register(self, e: Entry) -> None:
        self._owner.tg.signalfd_queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self._owner.tg.signalfd_queue.event_unregister(e)


def _pack(sig: int, info: SignalInfo | None) -> bytes:
    """A signalfd_siginfo from the kernel's record of the signal."""
    if info is None:
        info = SignalInfo(sig, code=0)
    addr = info.addr if info.fault else 0
    return _SIGINFO.pack(sig, 0, info.code, info.pid & 0xFFFFFFFF, info.uid & 0xFFFFFFFF, 0, 0, 0, 0,
                         info.trapno, 0, 0, 0, 0, 0, addr, 0, 0, 0, 0, 0)
