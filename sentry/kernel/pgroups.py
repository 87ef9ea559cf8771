"""Sessions and process groups (Linux ``kernel/sys.c`` setpgid/setsid,
``kernel/exit.c`` orphaned groups; gVisor ``kernel/sessions.go``).

Every thread group is in exactly one process group (``tg.pgrp``), every
process group in one session. The first process of the kernel leads a new
session (as gVisor's init does); ``fork`` puts the child in its parent's
group. A group lives while it has members; a process stays in its group
until it is reaped (a zombie still holds its group id, as in Linux).

Orphaned groups (POSIX): a group is orphaned when no member has a parent
in a different group of the same session. When a process exit makes a
group orphaned and the group has stopped members, every member gets
SIGHUP then SIGCONT (Linux ``kill_orphaned_pgrp``).

Controlling terminals: a session may have one (``Session.terminal``, an
object with ``foreground`` and ``session`` attributes owned by the tty
layer); the tty layer sets and clears it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentry.abi.signals import SIGCONT, SIGHUP
from sentry.linuxerr import EACCES, EINVAL, EPERM, ESRCH

if TYPE_CHECKING:
    from sentry.kernel.core import KernelCore as Kernel
    from sentry.kernel.task import Task, ThreadGroup


class Session:
    """A session: its id (the leader's pid), groups, controlling terminal."""

    def __init__(self, sid: int, leader: ThreadGroup) -> None:
        self.sid = sid
        self.leader = leader
        self.groups: dict[int, ProcessGroup] = {}
        self.terminal: Any = None  # the controlling terminal, if any


class ProcessGroup:
    """A process group: its id (its first leader's pid), session, members."""

    def __init__(self, pgid: int, session: Session) -> None:
        self.pgid = pgid
        self.session = session
        self.members: list[ThreadGroup] = []

    def live_members(self) -> list[ThreadGroup]:
        """Members that have not exited (zombies hold the group, not count)."""
        return [tg for tg in self.members if not all(t.exited for t in tg.tasks) or not tg.tasks]


def registry(k: Kernel) -> dict[int, ProcessGroup]:
    """The kernel's process groups by pgid."""
    groups: dict[int, ProcessGroup] = k.process_groups
    return groups


def _join(k: Kernel, tg: ThreadGroup, pg: ProcessGroup) -> None:
    old = tg.pgrp
    if old is pg:
        return
    if old is not None:
        _leave(k, tg)
    pg.members.append(tg)
    tg.pgrp = pg


def _leave(k: Kernel, tg: ThreadGroup) -> None:
    pg = tg.pgrp
    if pg is None:
        return
    if tg in pg.members:
        pg.members.remove(tg)
    tg.pgrp = None
    if not pg.members:
        registry(k).pop(pg.pgid, None)
        pg.session.groups.pop(pg.pgid, None)


def new_session(k: Kernel, tg: ThreadGroup) -> Session:
    """Make ``tg`` the leader of a new session and of a new group in it."""
    s = Session(tg.tgid, tg)
    pg = ProcessGroup(tg.tgid, s)
    s.groups[pg.pgid] = pg
    registry(k)[pg.pgid] = pg
    _join(k, tg, pg)
    return s


def on_fork(k: Kernel, parent: ThreadGroup, child: ThreadGroup) -> None:
    """``child`` starts in ``parent``'s process group."""
    pg = parent.pgrp
    if pg is None:
        new_session(k, child)
    else:
        _join(k, child, pg)


def on_reap(k: Kernel, tg: ThreadGroup) -> None:
    """``tg`` was reaped: it leaves its group (which may then end)."""
    _leave(k, tg)


def _process(k: Kernel, pid: int) -> ThreadGroup | None:
    """The thread group of the task with id ``pid`` (any thread's id finds
    its process, as ``find_task_by_vpid``), unless reaped."""
    task = k.tasks.get(pid)
    tg = task.tg if task is not None else k.thread_groups.get(pid)
    if tg is None or tg.reaped:
        return None
    return tg


def getpgid(t: Task, pid: int) -> int:
    """getpgid(pid): ESRCH unless ``pid`` (0: the caller) is a process."""
    tg = t.tg if pid == 0 else _process(t.kernel, pid)
    if tg is None or tg.pgrp is None:
        raise ESRCH
    return tg.pgrp.pgid


def getsid(t: Task, pid: int) -> int:
    """getsid(pid): ESRCH unless ``pid`` (0: the caller) is a process."""
    tg = t.tg if pid == 0 else _process(t.kernel, pid)
    if tg is None or tg.pgrp is None:
        raise ESRCH
    return tg.pgrp.session.sid


def setpgid(t: Task, pid: int, pgid: int) -> int:
    """Linux ``setpgid`` in its order: EINVAL for a negative pgid; ESRCH
    for no such process; EINVAL if ``pid`` names a non-leader thread;
    for a child: EPERM in another session, EACCES once it has exec'd;
    ESRCH for anything but the caller or its child; EPERM for a session
    leader; EPERM when ``pgid`` names no group of the caller's session."""
    k = t.kernel
    me = t.tg
    if pid == 0:
        pid = me.tgid
    if pgid == 0:
        pgid = pid
    if pgid < 0:
        raise EINVAL
    task = k.tasks.get(pid)
    if task is None or task.tg.reaped or (task.exited and all(x.exited for x in task.tg.tasks)):
        raise ESRCH
    tg = task.tg
    if task.tid != tg.tgid:
        raise EINVAL
    assert me.pgrp is not None and tg.pgrp is not None
    my_session = me.pgrp.session
    if tg.parent_tgid == me.tgid and tg is not me:
        if tg.pgrp.session is not my_session:
            raise EPERM
        if tg.execed:
            raise EACCES
    elif tg is not me:
        raise ESRCH
    if tg.pgrp.session.leader is tg:
        raise EPERM
    if pgid == pid:
        target = registry(k).get(pgid)
        if target is None:
            target = ProcessGroup(pgid, my_session)
            my_session.groups[pgid] = target
            registry(k)[pgid] = target
    else:
        target = registry(k).get(pgid)
        if target is None or target.session is not my_session:
            raise EPERM
    if target.session is not my_session:
        raise EPERM
    _join(k, tg, target)
    return 0


def setsid(t: Task) -> int:
    """EPERM if the caller leads a process group (any group with its pid);
    else a new session and group led by it, with no controlling terminal."""
    k = t.kernel
    me = t.tg
    if me.tgid in registry(k):
        raise EPERM
    new_session(k, me)
    return me.tgid


def group_members(k: Kernel, pgid: int) -> list[ThreadGroup]:
    """The live processes of group ``pgid`` (empty if there is none)."""
    pg = registry(k).get(pgid)
    return [] if pg is None else pg.live_members()


def _parent(k: Kernel, tg: ThreadGroup) -> ThreadGroup | None:
    p = k.thread_groups.get(tg.parent_tgid)
    if p is None or p is tg or all(x.exited for x in p.tasks):
        return None
    return p


def is_orphaned(k: Kernel, pg: ProcessGroup, ignore: ThreadGroup | None = None) -> bool:
    """POSIX: no live member (other than ``ignore``, which is exiting) has a
    live parent in a different group of the same session."""
    for tg in pg.live_members():
        if tg is ignore:
            continue
        p = _parent(k, tg)
        if p is None or p is ignore:
            continue
        if p.pgrp is not None and p.pgrp is not pg and p.pgrp.session is pg.session:
            return False
    return True


def _has_stopped(pg: ProcessGroup) -> bool:
    return any(tg.group_stopped for tg in pg.live_members())


def on_exit(k: Kernel, tg: ThreadGroup) -> None:
    """``tg`` is exiting (Linux ``exit_notify`` + ``kill_orphaned_pgrp``):
    its own group and its children's groups that become orphaned with
    stopped members get SIGHUP and SIGCONT."""
    candidates: list[ProcessGroup] = []
    pg = tg.pgrp
    if pg is not None and pg.session.leader is tg and pg.session.terminal is not None:
        _leader_exit_hangup(k, tg, pg.session)
    parent = _parent(k, tg)
    if (pg is not None and parent is not None and parent.pgrp is not pg
            and parent.pgrp is not None and parent.pgrp.session is pg.session):
        candidates.append(pg)
    for child in list(k.thread_groups.values()):
        cpg = child.pgrp
        if (child.parent_tgid == tg.tgid and child is not tg and cpg is not None and cpg is not pg
                and pg is not None and cpg.session is pg.session and cpg not in candidates):
            candidates.append(cpg)
    for c in candidates:
        if _has_stopped(c) and is_orphaned(k, c, ignore=tg):
            for member in c.live_members():
                if member is tg:
                    continue
                signal_process(k, member, SIGHUP, 0)
                signal_process(k, member, SIGCONT, 0)


SI_USER, SI_KERNEL = 0, 0x80


def _leader_exit_hangup(k: Kernel, tg: ThreadGroup, s: Session) -> None:
    """The session leader exits (Linux ``disassociate_ctty(1)``): the
    terminal's foreground group gets SIGHUP and the terminal controls no
    session any more."""
    term = s.terminal
    fg = term.foreground if term is not None else None
    if fg is not None:
        for member in fg.live_members():
            if member is not tg:
                signal_process(k, member, SIGHUP, 0, code=SI_KERNEL)
    term.session = None
    term.foreground = None
    s.terminal = None


def signal_process(k: Kernel, tg: ThreadGroup, sig: int, sender_pid: int, uid: int = 0,
                   code: int = SI_USER) -> None:
    """Send ``sig`` (``code``, SI_USER from ``sender_pid`` by default) to process ``tg``: to a
    thread that does not block it if there is one (Linux
    ``complete_signal``'s choice), else to the first live thread."""
    from sentry.kernel.signals import SignalInfo

    live = [x for x in tg.tasks if not x.exited]
    if not live or not sig:
        return
    target = live[0]
    bit = 1 << (sig - 1)
    if target.signal_mask & bit:
        for other in live:
            if not other.signal_mask & bit:
                target = other
                break
    k.send_signal(target, SignalInfo(sig, code=code, pid=sender_pid, uid=uid))
