"""Terminal job control (Linux ``drivers/tty/tty_jobctrl.c``): the ioctls
that need the caller (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP,
TIOCGSID) and the background checks of reads, writes and settings
changes. The terminals themselves are ``sentry.fsimpl.devpts``.

Background checks apply to a process using its controlling terminal
from a group other than the foreground one: a read gets SIGTTIN, a write
with TOSTOP and a settings change get SIGTTOU (sent to the caller's whole
group, which then stops; the call is restarted once it continues). When
the signal is ignored or blocked a write or change goes ahead and a read
fails with EIO; in an orphaned group both fail with EIO.
"""

from __future__ import annotations

import struct
from typing import Any

from sentry.abi import termios
from sentry.abi.signals import SIG_IGN, SIGTTIN, SIGTTOU
from sentry.kernel import pgroups
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, EIO, ENOTTY, EPERM, ESRCH, Errno
from sentry.syscalls.linux.args import s32

ERESTARTSYS = 512

#: Requests that change a terminal's settings: SIGTTOU from the background.
_CHANGES = frozenset({termios.TCSETS, termios.TCSETSW, termios.TCSETSF, termios.TCSETS2,
                      termios.TCSETSW2, termios.TCSETSF2, termios.TIOCSWINSZ, termios.TCFLSH,
                      termios.TIOCSPGRP})
JOB_IOCTLS = frozenset({termios.TIOCSCTTY, termios.TIOCNOTTY, termios.TIOCGPGRP, termios.TIOCSPGRP,
                        termios.TIOCGSID})


def terminal_of(f: Any) -> Any:
    """The devpts Terminal behind file description ``f``, or None."""
    return f.terminal


def _is_ctty(t: Task, term: Any) -> bool:
    pg = t.tg.pgrp
    return pg is not None and pg.session.terminal is term


def _restart_after_stop(t: Task) -> int:
    """The caller's group was sent a stop signal: leave the CPU and redo
    the syscall once the group continues (Linux ERESTARTSYS)."""
    k = t.kernel
    try:
        k.block(t, "stopped by job control", lambda: -ERESTARTSYS, interruptible=False)
    finally:
        k.wake(t, -ERESTARTSYS)
    raise AssertionError("unreachable")


def check_background(t: Task, term: Any, sig: int) -> None:
    """Linux ``__tty_check_change``/``job_control`` for ``sig`` (SIGTTOU
    for writes and changes, SIGTTIN for reads); returns when the caller
    may go ahead."""
    if term is None or not _is_ctty(t, term):
        return
    pg = t.tg.pgrp
    fg = term.foreground
    if pg is None or fg is None or pg is fg:
        return
    action = t.tg.sigactions.get(sig)
    ignored = (action is not None and action.handler == SIG_IGN) or bool(t.signal_mask & (1 << (sig - 1)))
    if ignored:
        if sig == SIGTTIN:
            raise EIO
        return
    if pgroups.is_orphaned(t.kernel, pg):
        raise EIO
    for tg in pg.live_members():
        pgroups.signal_process(t.kernel, tg, sig, 0, code=pgroups.SI_KERNEL)
    _restart_after_stop(t)


def check_read(t: Task, f: Any) -> None:
    term = terminal_of(f)
    if term is not None and not f.is_master:
        check_background(t, term, SIGTTIN)


def check_write(t: Task, f: Any) -> None:
    term = terminal_of(f)
    if term is not None and not f.is_master and term.ld.termios.lflag & termios.TOSTOP:
        check_background(t, term, SIGTTOU)


def ioctl(t: Task, f: Any, request: int, arg: int) -> int | None:
    """The job-control part of ioctl on a terminal: the result of a
    request handled here, or None to let the file answer it (after the
    background check of a settings change)."""
    term = terminal_of(f)
    if term is None:
        return None
    master = f.is_master
    if request in _CHANGES and not master:
        try:
            check_background(t, term, SIGTTOU)
        except Errno as e:
            # Linux tiocspgrp: "if (retval == -EIO) return -ENOTTY".
            if e is EIO and request == termios.TIOCSPGRP:
                raise ENOTTY from None
            raise
    if request not in JOB_IOCTLS:
        return None
    pg = t.tg.pgrp
    assert pg is not None
    session = pg.session
    if request == termios.TIOCSCTTY:
        if session.terminal is term:
            return 0
        if session.leader is not t.tg or session.terminal is not None:
            raise EPERM
        if term.session is not None:
            # Stealing needs arg 1 and CAP_SYS_ADMIN, which guests lack.
            raise EPERM
        session.terminal = term
        term.session = session
        term.foreground = pg
        return 0
    if request == termios.TIOCNOTTY:
        if session.terminal is not term:
            raise ENOTTY
        if session.leader is t.tg:
            term.hang_up_session()
        return 0
    if not master and session.terminal is not term:
        raise ENOTTY
    if request == termios.TIOCGPGRP:
        fg = term.foreground
        t.copy_out_bytes(arg, struct.pack("<i", fg.pgid if fg is not None else 0))
        return 0
    if request == termios.TIOCGSID:
        if term.session is None:
            raise ENOTTY
        t.copy_out_bytes(arg, struct.pack("<i", term.session.sid))
        return 0
    # TIOCSPGRP
    (pgid,) = struct.unpack("<i", t.copy_in_bytes(arg, 4))
    if term.session is None or term.session is not session:
        raise ENOTTY
    if pgid < 0:
        raise EINVAL
    target = t.kernel.process_groups.get(s32(pgid))
    if target is None or not target.live_members():
        raise ESRCH
    if target.session is not session:
        raise EPERM
    term.foreground = target
    return 0
