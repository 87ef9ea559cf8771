"""Pseudo-terminals: /dev/ptmx, /dev/pts/N and /dev/tty (Linux
``drivers/tty/pty.c``, ``fs/devpts``; gVisor ``fsimpl/devpts``).

Opening /dev/ptmx makes a :class:`Terminal` and returns its master; the
replica /dev/pts/N (character device 136:N) can be opened once TIOCSPTLCK
unlocked it (EIO before). Data the master writes is input for the
replica (through the line discipline, ``ldisc``); what the replica writes
is output for the master. A session leader without a controlling terminal
that opens a replica without O_NOCTTY acquires it (Linux
``tty_open_proc_set_tty``); /dev/tty opens the caller's controlling
terminal (ENXIO without one).

Hangups: once every replica descriptor is closed a master read is EIO
(after the queued output); once the master is closed a replica read is
end of file, a write EIO, and the session's foreground group and leader
get SIGHUP and SIGCONT.

Job control checks need the calling task and live in the syscall layer
(``sentry.syscalls.linux.sys_tty``); the terminal records its session
and foreground process group and sends the line discipline's signals to
that group.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any

from sentry.abi import termios
from sentry.abi.fcntl import O_NOCTTY, S_IFCHR
from sentry.abi.signals import SIGCONT, SIGHUP, SIGWINCH
from sentry.abi.stat import make_stat
from sentry.fsimpl.devpts.ldisc import LineDiscipline
from sentry.fsimpl.kernfs import BOOT_NS, KDentry
from sentry.linuxerr import EAGAIN, EINVAL, EIO, ENOTTY
from sentry.usermem import IOSequence
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription, ReadArg
from sentry.vfs.waiter import (
    EVENT_ERR,
    EVENT_HUP,
    EVENT_IN,
    EVENT_OUT,
    EVENT_RD_NORM,
    EVENT_WR_NORM,
    Entry,
    Queue,
)

if TYPE_CHECKING:
    from sentry.vfs.context import FSContext

PTS_MAJOR, TTYAUX_MAJOR = 136, 5
DEVPTS_DEV = os.makedev(0, 0x1F)
TTY_GID = 5
_PTS_MAX = 4096


class Terminal:
    """One pseudo-terminal pair: the line discipline, the replica's state,
    the session it controls and its foreground group."""

    def __init__(self, index: int, registry: PtsRegistry, uid: int, gid: int) -> None:
        self.index = index
        self.registry = registry
        self.ld = LineDiscipline()
        self.winsize = bytes(termios.WINSIZE.size)
        self.locked = True
        self.master_open = True
        self.replica_opens = 0
        self.replica_ever_opened = False
        self.master_q = Queue()
        self.replica_q = Queue()
        self.session: Any = None  # sentry.kernel.pgroups.Session
        self.foreground: Any = None  # sentry.kernel.pgroups.ProcessGroup
        self.node = PtsNode(self, uid, gid)

    @property
    def device(self) -> tuple[int, int]:
        """(major, minor) of the replica (what /proc/[pid]/stat's tty_nr encodes)."""
        return PTS_MAJOR, self.index

    def name(self) -> str:
        return f"/dev/pts/{self.index}"

    def signal_foreground(self, sig: int) -> None:
        """A signal from the terminal (SI_KERNEL) to its foreground group."""
        from sentry.kernel import pgroups

        fg = self.foreground
        if fg is None:
            return
        for tg in fg.live_members():
            pgroups.signal_process(_kernel_of(tg), tg, sig, 0, code=pgroups.SI_KERNEL)

    def hang_up(self) -> None:
        """The master closed (Linux ``tty_vhangup``): SIGHUP and SIGCONT to
        the session leader and the foreground group; no more controlling."""
        from sentry.kernel import pgroups

        s = self.session
        if s is not None:
            targets = [s.leader]
            if self.foreground is not None:
                targets += [tg for tg in self.foreground.live_members() if tg is not s.leader]
            for tg in targets:
                kernel = _kernel_of(tg)
                pgroups.signal_process(kernel, tg, SIGHUP, 0, code=pgroups.SI_KERNEL)
                pgroups.signal_process(kernel, tg, SIGCONT, 0, code=pgroups.SI_KERNEL)
            s.terminal = None
        self.session = None
        self.foreground = None

    def hang_up_session(self) -> None:
        """The session leader gave the terminal up (TIOCNOTTY, Linux
        ``disassociate_ctty``): its foreground group gets SIGHUP and
        SIGCONT, and the terminal controls no session any more."""
        from sentry.kernel import pgroups

        fg = self.foreground
        if fg is not None:
            for tg in fg.live_members():
                kernel = _kernel_of(tg)
                pgroups.signal_process(kernel, tg, SIGHUP, 0, code=pgroups.SI_KERNEL)
                pgroups.signal_process(kernel, tg, SIGCONT, 0, code=pgroups.SI_KERNEL)
        if self.session is not None:
            self.session.terminal = None
        self.session = None
        self.foreground = None

    # -- ioctls both sides share ---------------------------------------------------

    def termios_ioctl(self, request: int, read_arg: ReadArg | None) -> tuple[int, bytes | None] | None:
        """TCGETS/TCSETS*, TCGETS2/TCSETS2*, window size, FIONREAD-free
        requests both sides answer the same; None if not one of them."""
        ld = self.ld
        if request == termios.TCGETS:
            return 0, ld.termios.pack()
        if request == termios.TCGETS2:
            return 0, ld.termios.pack2()
        if request in (termios.TCSETS, termios.TCSETSW, termios.TCSETSF,
                       termios.TCSETS2, termios.TCSETSW2, termios.TCSETSF2):
            assert read_arg is not None
            new = termios.Termios.unpack(read_arg(termios.IN_SIZES[request]))
            if request in (termios.TCSETS, termios.TCSETSW, termios.TCSETSF):
                new.ispeed, new.ospeed = ld.termios.ispeed, ld.termios.ospeed
            if request in (termios.TCSETSF, termios.TCSETSF2):
                ld.flush_input()
            ld.set_termios(new)
            self.notify()
            return 0, None
        if request == termios.TIOCGWINSZ:
            return 0, self.winsize
        if request == termios.TIOCSWINSZ:
            assert read_arg is not None
            new_ws = read_arg(termios.WINSIZE.size)
            if new_ws != self.winsize:
                self.winsize = new_ws
                self.signal_foreground(SIGWINCH)
            return 0, None
        if request == termios.TCFLSH:
            return None  # needs the argument value: handled by the sides
        return None

    def flush(self, arg: int, master: bool) -> tuple[int, bytes | None]:
        """TCFLSH: 0 input, 1 output, 2 both (as seen from the replica)."""
        if arg not in (0, 1, 2):
            raise EINVAL
        ld = self.ld
        if arg in (0, 2):
            ld.flush_input()
        if arg in (1, 2):
            ld.flush_output()
        self.notify()
        return 0, None

    def notify(self) -> None:
        self.master_q.notify(EVENT_IN | EVENT_OUT | EVENT_HUP)
        self.replica_q.notify(EVENT_IN | EVENT_OUT | EVENT_HUP)


def _kernel_of(tg: Any) -> Any:
    return tg.tasks[0].kernel


def _read_into(dst: IOSequence, data: bytes) -> tuple[int, Exception | None]:
    n, err = dst.copy_out(data)
    return n, err


def _take(src: IOSequence) -> tuple[bytes, Exception | None]:
    buf = bytearray(src.num_bytes())
    n, err = src.copy_in(buf)
    return bytes(buf[:n]), err


class MasterFile(FileDescription):
    """The master side (/dev/ptmx): reads the replica's output, writes input."""

    terminal: Terminal

    def __init__(self, term: Terminal, flags: int, dentry: Dentry | None) -> None:
        super().__init__(flags, dentry)
        self.terminal = term
        self.is_master = True

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        term = self.terminal
        want = dst.num_bytes()
        if want == 0:
            return 0, None
        if term.ld.output:
            data = term.ld.output[:want]
            n, err = _read_into(dst, bytes(data))
            del term.ld.output[:n]
            return n, err
        if term.replica_ever_opened and term.replica_opens == 0:
            return 0, EIO
        return 0, EAGAIN

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        term = self.terminal
        data, err = _take(src)
        if data:
            sigs = term.ld.write_input(data)
            for sig in sigs:
                term.signal_foreground(sig)
            term.notify()
        return len(data), err

    def readiness(self, mask: int) -> int:
        term = self.terminal
        ready = EVENT_OUT | EVENT_WR_NORM
        if term.ld.output:
            ready |= EVENT_IN | EVENT_RD_NORM
        if term.replica_ever_opened and term.replica_opens == 0:
            ready |= EVENT_HUP | EVENT_IN | EVENT_RD_NORM
        return ready & (mask | EVENT_HUP | EVENT_ERR)

    def event_register(self, e: Entry) -> None:
        self.terminal.master_q.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.terminal.master_q.event_unregister(e)

    def ioctl(self, request: int, arg: int, read_arg: ReadArg | None = None) -> tuple[int, bytes | None]:
        term = self.terminal
        if request == termios.TIOCGPTN:
            return 0, struct.pack("<I", term.index)
        if request == termios.TIOCSPTLCK:
            assert read_arg is not None
            (lock,) = struct.unpack("<i", read_arg(4))
            term.locked = lock != 0
            return 0, None
        if request == termios.FIONREAD:
            return 0, struct.pack("<i", len(term.ld.output))
        if request == termios.TCFLSH:
            return term.flush(arg & 0xFFFFFFFF, True)
        r = term.termios_ioctl(request, read_arg)
        if r is not None:
            return r
        raise ENOTTY

    def stat(self) -> os.stat_result:
        return make_stat(mode=S_IFCHR | 0o666, ino=2, dev=DEVPTS_DEV, rdev=os.makedev(TTYAUX_MAJOR, 2),
                         atime_ns=BOOT_NS, mtime_ns=BOOT_NS, ctime_ns=BOOT_NS)

    def path_name(self) -> str:
        return "/dev/ptmx"

    def release(self) -> None:
        term = self.terminal
        term.master_open = False
        term.hang_up()
        term.registry.remove(term)
        term.notify()


class ReplicaFile(FileDescription):
    """An open replica (/dev/pts/N, or /dev/tty naming it)."""

    terminal: Terminal

    def __init__(self, term: Terminal, flags: int, dentry: Dentry | None) -> None:
        super().__init__(flags, dentry)
        self.terminal = term
        self.is_master = False
        term.replica_opens += 1
        term.replica_ever_opened = True

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        term = self.terminal
        want = dst.num_bytes()
        if want == 0:
            return 0, None
        data = term.ld.read_input(want)
        if data is None:
            if not term.master_open:
                return 0, None
            return 0, EAGAIN
        n, err = _read_into(dst, data)
        term.notify()
        return n, err

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        term = self.terminal
        if not term.master_open:
            return 0, EIO
        data, err = _take(src)
        if data:
            term.ld.write_output(data)
            term.master_q.notify(EVENT_IN | EVENT_RD_NORM)
        return len(data), err

    def readiness(self, mask: int) -> int:
        term = self.terminal
        ready = 0
        if term.master_open:
            ready |= EVENT_OUT | EVENT_WR_NORM
        else:
            ready |= EVENT_HUP | EVENT_IN | EVENT_RD_NORM
        if term.ld.has_input() or (not term.ld.canonical and term.ld.termios.cc[termios.VMIN] == 0):
            ready |= EVENT_IN | EVENT_RD_NORM
        return ready & (mask | EVENT_HUP | EVENT_ERR)

    def event_register(self, e: Entry) -> None:
        self.terminal.replica_q.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.terminal.replica_q.event_unregister(e)

    def ioctl(self, request: int, arg: int, read_arg: ReadArg | None = None) -> tuple[int, bytes | None]:
        term = self.terminal
        if request == termios.FIONREAD:
            return 0, struct.pack("<i", term.ld.fionread())
        if request == termios.TCFLSH:
            return term.flush(arg & 0xFFFFFFFF, False)
        if request == termios.TIOCGPTN:
            raise ENOTTY
        r = term.termios_ioctl(request, read_arg)
        if r is not None:
            return r
        raise ENOTTY

    def path_name(self) -> str:
        return self.terminal.name()

    def release(self) -> None:
        term = self.terminal
        term.replica_opens -= 1
        if term.replica_opens == 0:
            term.master_q.notify(EVENT_IN | EVENT_HUP)


class PtsNode(KDentry):
    """/dev/pts/N: character device 136:N, mode 0600 (devpts' default
    ``mode=``), group tty."""

    def __init__(self, term: Terminal, uid: int, gid: int) -> None:
        super().__init__(str(term.index).encode(), S_IFCHR | 0o600, dev=DEVPTS_DEV,
                         rdev=os.makedev(PTS_MAJOR, term.index), uid=uid, gid=gid)
        self.terminal = term

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        term = self.terminal
        if term.locked or not term.master_open:
            raise EIO
        f = ReplicaFile(term, flags, self)
        if not flags & O_NOCTTY:
            acquire_controlling(term, getattr(ctx, "owner", None))
        return f


def acquire_controlling(term: Terminal, tg: Any) -> None:
    """A session leader without a controlling terminal opening ``term``
    (free of any session) makes it its controlling terminal."""
    pg = getattr(tg, "pgrp", None)
    if pg is None:
        return
    s = pg.session
    if s.leader is tg and s.terminal is None and term.session is None:
        s.terminal = term
        term.session = s
        term.foreground = pg


class PtsRegistry:
    """The terminals of one devpts instance, by index (lowest free first)."""

    def __init__(self) -> None:
        self.terminals: dict[int, Terminal] = {}

    def new(self, uid: int, gid: int) -> Terminal:
        for i in range(_PTS_MAX):
            if i not in self.terminals:
                term = Terminal(i, self, uid, gid)
                self.terminals[i] = term
                return term
        raise EIO

    def remove(self, term: Terminal) -> None:
        if self.terminals.get(term.index) is term:
            del self.terminals[term.index]
