"""signalfd (Linux ``fs/signalfd.c``; gVisor ``fsimpl/signalfd``).

A :class:`SignalFile` reads, as 128-byte ``struct signalfd_siginfo``
records, the pending signals of the reading task that are in its mask
(SIGKILL and SIGSTOP never are), dequeuing them as delivery would; a read
needs room for one record (EINVAL) and returns as many as fit. The
signals are normally blocked, so nothing else consumes them.

"The reading task" is the task in a syscall (``Kernel.syscall_task``,
also while a woken read completes); outside a syscall (a kernel timer's
notification) it is the task that created the file. Waiters wait on the creating process's
``ThreadGroup.signalfd_queue``, which every signal sent to one of its
tasks notifies: a signalfd inherited across fork is woken by the
parent's signals, not the child's (a gap; Linux wakes by the reader's).
ssi_status, ssi_utime/stime, ssi_int/ptr (sigqueue values) are 0: the
kernel does not record them. The kernel has no process-wide pending queue:
a read also takes signals pending on the reader's other threads unless
tkill/tgkill sent them (see ``_next``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from sentry.abi.fcntl import O_NONBLOCK, O_RDWR
from sentry.abi.signals import SI_TKILL
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
        cur = self._owner.kernel.syscall_task()
        return cur if cur is not None else self._owner

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        room = dst.num_bytes() // SIGINFO_SIZE
        if room == 0:
            return 0, EINVAL
        reader = self._reader()
        records: list[bytes] = []
        while len(records) < room:
            found = self._next(reader)
            if found is None:
                break
            t, sig = found
            t.pending &= ~(1 << (sig - 1))
            info = t.pending_info.pop(sig, None)
            t.sig_pending = bool(t.pending & ~t.signal_mask)
            records.append(_pack(sig, info))
        if not records:
            return 0, EAGAIN
        data = b"".join(records)
        n, _ = dst.copy_out(data)
        if n < SIGINFO_SIZE:
            return 0, EFAULT
        return n - n % SIGINFO_SIZE, None

    def _next(self, reader: Task) -> tuple[Task, int] | None:
        """The (task, signal) a read takes next: the reader's own pending
        signals in the mask, lowest first, then process-directed ones
        pending on its other threads (the kernel keeps no shared queue:
        a signal not sent by tkill/tgkill counts as the process's)."""
        ready = reader.pending & self.mask
        if ready:
            return reader, (ready & -ready).bit_length()
        for t in reader.tg.tasks:
            if t is reader or t.exited:
                continue
            ready = t.pending & self.mask
            while ready:
                sig = (ready & -ready).bit_length()
                info = t.pending_info.get(sig)
                if info is None or info.code != SI_TKILL:
                    return t, sig
                ready &= ~(1 << (sig - 1))
        return None

    def readiness(self, mask: int) -> int:
        return mask & EVENT_IN if self._next(self._reader()) is not None else 0

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
