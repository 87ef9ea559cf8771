"""Tasks (threads) and thread groups (processes), with the task copy helpers
syscall handlers use (gVisor ``kernel/task.go``, ``task_usermem.go``).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

from sentry.abi.signals import SIGCHLD
from sentry.hostarch import MAX_RW_COUNT, UIO_MAXIOV, AddrRange, AddrRangeSeq
from sentry.kernel.auth import Credentials
from sentry.linuxerr import EFAULT, EINVAL, Errno
from sentry.usermem import DEFAULT_OPTS, IOOpts, IOSequence, copy_string_in
from sentry.vfs.waiter import Queue

if TYPE_CHECKING:
    from sentry.kernel.fd_table import FDTable
    from sentry.kernel.kernel import Kernel
    from sentry.kernel.pgroups import ProcessGroup
    from sentry.kernel.scheduler import Wait
    from sentry.kernel.signals import SignalInfo
    from sentry.mm import MemoryManager
    from sentry.platform import CPUContext
    from sentry.vfs.context import FSContext

TASK_COMM_LEN = 16
"""Linux's bound on a task name, NUL included."""

_IOVEC = struct.Struct("<QQ")
_INT64_MAX = (1 << 63) - 1


class TaskStop(Exception):
    """Raised by a syscall handler to leave the run loop after the syscall
    (the task exited, or must block). RAX is not written."""


class SigAction:
    """A recorded ``struct sigaction`` (delivery arrives with signals work)."""

    __slots__ = ("flags", "handler", "mask", "restorer")

    def __init__(self, handler: int = 0, flags: int = 0, restorer: int = 0, mask: int = 0) -> None:
        self.handler = handler
        self.flags = flags
        self.restorer = restorer
        self.mask = mask


class ThreadGroup:
    """A process: tasks sharing signal handlers, an fd table, an exit status."""

    def __init__(self, tgid: int, fd_table: FDTable, parent_tgid: int = 0) -> None:
        self.tgid = tgid
        self.parent_tgid = parent_tgid
        self.tasks: list[Task] = []
        self.fd_table = fd_table
        self.sigactions: dict[int, SigAction] = {}
        self.exiting = False
        # Exit status as wait(2) encodes it: (code << 8) or the signal number.
        self.exit_status: int | None = None
        self.leader_status: int | None = None  # set when the leader exit(2)s
        self.exit_signal = SIGCHLD  # sent to the parent on exit
        self.reaped = False  # wait4 collected the exit status
        self.child_waiters: list[Task] = []  # tasks blocked in wait4
        self.fatal_signal: int = 0
        self.fault_addr: int | None = None
        self.cwd = "/"  # the guest path of fs.cwd, kept in step by chdir
        self.umask = 0o022
        # Root and working directory (``sentry.vfs.context``); the runner
        # sets it, fork copies it with ``fs.fork(child_tg)``.
        self.fs: FSContext | None = None
        self.rlimits: dict[int, tuple[int, int]] = {}
        self.dumpable = 1  # prctl PR_SET_DUMPABLE
        self.oom_score_adj = 0
        # Signalfd readers wait here; a signal sent to any of the group's
        # tasks notifies it (Linux ``sighand->signalfd_wqh``).
        self.signalfd_queue = Queue()
        # Pidfds wait here for the process to exit.
        self.exit_queue = Queue()
        # Job control (``sentry.kernel.pgroups``): the process group, whether
        # the process has exec'd since fork (setpgid by the parent is then
        # EACCES), and whether a stop signal stopped the whole group.
        self.pgrp: ProcessGroup | None = None
        self.execed = False
        self.group_stopped = False
        self.stop_signal = 0
        self.stop_unreported = False  # a WUNTRACED wait has a stop to report
        self.continue_unreported = False  # a WCONTINUED wait has one to report

    @property
    def pgid(self) -> int:
        return self.pgrp.pgid if self.pgrp is not None else self.tgid

    @property
    def sid(self) -> int:
        return self.pgrp.session.sid if self.pgrp is not None else self.tgid


class Task:
    """A thread: registers (in its CPU context), tid, the MemoryManager it
    runs in, and per-thread state syscalls set."""

    def __init__(self, kernel: Kernel, tid: int, tg: ThreadGroup, mm: MemoryManager, cpu: CPUContext) -> None:
        self.kernel = kernel
        self.tid = tid
        self.tg = tg
        self.mm = mm
        self.cpu = cpu
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.rseq = (0, 0, 0)  # (address, length, signature) once registered
        # The parent waiting in vfork until this task execs or exits.
        self.vfork_parent: Task | None = None
        self.signal_mask = 0
        # The mask a temporary one (ppoll, pselect6, epoll_pwait) replaced,
        # while the call runs: the next signal frame saves it instead of
        # the current mask, so sigreturn reinstates it (Linux
        # TIF_RESTORE_SIGMASK and ``saved_sigmask``).
        self.saved_signal_mask: int | None = None
        # Pending signals: a bitmask plus the siginfo of each (standard
        # signals do not queue). ``sig_pending`` caches "some pending signal
        # is unblocked" so the syscall path tests one attribute.
        self.pending = 0
        self.pending_info: dict[int, SignalInfo] = {}
        self.sig_pending = False
        self.alt_stack = (0, 0, 2)  # (ss_sp, ss_size, ss_flags): SS_DISABLE
        # Signals rt_sigtimedwait is waiting for: their arrival wakes it.
        self.sigwait_mask = 0
        self.signal_frames: list[tuple[int, CPUContext]] = []  # (frame, saved CPU) per live handler
        self.exited = False
        # The scheduler's record of a blocked (or just woken) syscall.
        self.wait: Wait | None = None
        # The syscall that left the run loop last (a parked one's number,
        # for logs when its ``resume`` fails).
        self.stopped_syscall = 0
        self.comm = b""
        # The guest's ids and capabilities; clone and fork share the value.
        self.creds = Credentials.of_host()
        self.on_syscall = kernel.make_syscall_dispatcher(self)

    @property
    def blocked(self) -> bool:
        """Parked in a blocking syscall and not yet woken."""
        w = self.wait
        return w is not None and not w.woken

    def name(self) -> bytes:
        """The task's name: what PR_SET_NAME or a comm write set, else the
        basename of the executable (Linux ``__set_task_comm(kbasename(filename))``
        at exec), at most 15 bytes."""
        c = self.comm or os.fsencode(os.path.basename(self.mm.metadata.executable))
        return c[: TASK_COMM_LEN - 1]

    def set_signal_mask(self, mask: int) -> None:
        """Block ``mask`` (SIGKILL and SIGSTOP can never be blocked)."""
        self.signal_mask = mask & ~((1 << 8) | (1 << 18)) & ((1 << 64) - 1)
        self.sig_pending = bool(self.pending & ~self.signal_mask)

    # -- copy helpers (gVisor task_usermem.go) ------------------------------

    def copy_in_bytes(self, addr: int, n: int) -> bytes:
        """``n`` bytes of guest memory at ``addr``; raises EFAULT unless all
        of them could be read."""
        buf = bytearray(n)
        _, err = self.mm.copy_in(addr, buf, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT
        return bytes(buf)

    def copy_out_bytes(self, addr: int, data: bytes) -> None:
        """Write ``data`` at ``addr``; raises EFAULT unless all of it landed."""
        _, err = self.mm.copy_out(addr, data, DEFAULT_OPTS)
        if err is not None:
            raise EFAULT

    def copy_in_string(self, addr: int, maxlen: int) -> bytes:
        """A NUL-terminated guest string (without the NUL); raises EFAULT or
        ENAMETOOLONG like Linux ``strncpy_from_user`` callers."""
        s, err = copy_string_in(self.mm, addr, maxlen, DEFAULT_OPTS)
        if err is not None:
            raise err if isinstance(err, Errno) else EFAULT
        return s

    def single_io_sequence(self, addr: int, length: int, opts: IOOpts = DEFAULT_OPTS) -> IOSequence:
        """An IOSequence over ``[addr, addr+length)`` (Linux ``import_single_range``).

        The whole requested range is checked first, as Linux's ``vfs_read``
        does with ``access_ok`` (EFAULT if it wraps or passes the top of user
        memory), then ``length`` is clamped to MAX_RW_COUNT. gVisor clamps
        before checking; Linux is the reference here. Unmapped memory inside
        the range is only found during the copy.
        """
        if not self.mm.check_io_range(addr, length):
            raise EFAULT
        if length > MAX_RW_COUNT:
            length = MAX_RW_COUNT
        return IOSequence(self.mm, AddrRangeSeq.of(AddrRange(addr, addr + length)), opts)

    def iovecs_io_sequence(self, addr: int, iovcnt: int, opts: IOOpts = DEFAULT_OPTS) -> IOSequence:
        """An IOSequence over a guest iovec array (Linux ``import_iovec``).

        Raises EINVAL for a count outside ``[0, UIO_MAXIOV]`` or an iov_len
        above SSIZE_MAX, EFAULT for an unreadable array or an iovec failing
        the range check (zero-length ones included). The total is clamped to
        MAX_RW_COUNT by shortening later iovecs, silently.
        """
        if iovcnt > UIO_MAXIOV:  # unsigned long in Linux: "negative" is huge
            raise EINVAL
        if iovcnt == 0:
            return IOSequence(self.mm, AddrRangeSeq.from_ranges([]), opts)
        raw = self.copy_in_bytes(addr, iovcnt * 16)
        ranges = []
        total = 0
        check = self.mm.check_io_range
        for base, ln in _IOVEC.iter_unpack(raw):
            if ln > _INT64_MAX:
                raise EINVAL
            if not check(base, ln):
                raise EFAULT
            if total + ln > MAX_RW_COUNT:
                ln = MAX_RW_COUNT - total
            total += ln
            ranges.append(AddrRange(base, base + ln))
        if len(ranges) == 1:
            return IOSequence(self.mm, AddrRangeSeq.of(ranges[0]), opts)
        return IOSequence(self.mm, AddrRangeSeq.from_ranges(ranges), opts)
