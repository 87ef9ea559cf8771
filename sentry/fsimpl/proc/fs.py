"""The nodes of /proc (see the package docstring)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.abi.fcntl import S_IFLNK, S_IFREG
from sentry.fsimpl.kernfs import KDentry, KDir, KFile, KSymlink
from sentry.fsimpl.proc import array, system
from sentry.fsimpl.proc import generators as gen
from sentry.fsimpl.proc.files import MemFile, SeqFile
from sentry.kernel.task import ThreadGroup
from sentry.linuxerr import EINVAL, ENOENT, EROFS, Errno
from sentry.vfs.context import FSContext
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

if TYPE_CHECKING:
    from sentry.kernel.kernel import Kernel
    from sentry.kernel.task import Task

PROC_DEV = os.makedev(0, 22)

Generator = Callable[["ThreadGroup", "Task | None"], bytes]
"""A file's contents from the thread group and the task (None: the group's view)."""


def _owner(ctx: FSContext) -> ThreadGroup | None:
    """The thread group looking at /proc (``FSContext.owner``), if any."""
    owner = ctx.owner
    return owner if isinstance(owner, ThreadGroup) else None


def _tgid_of(ctx: FSContext) -> int:
    owner = _owner(ctx)
    return owner.tgid if owner is not None else 1


def _name_to_int(name: bytes) -> int | None:
    """Linux ``name_to_int``: decimal digits, no sign, no leading zero."""
    if not name.isdigit() or (len(name) > 1 and name[:1] == b"0"):
        return None
    v = int(name)
    return v if v < 2**31 else None


class AnonDentry(Dentry):
    """What a magic link to a file without a dentry (a pipe, inherited
    host stdio) resolves to: stat is the file's, open reopens it."""

    __slots__ = ("file",)

    def __init__(self, file: FileDescription) -> None:
        try:
            mode = file.stat().st_mode
        except Errno:
            mode = 0
        super().__init__(None, b"", mode)
        self.file = file

    def key(self) -> tuple[object, ...]:
        return ("anon", id(self.file))

    @property
    def writable(self) -> bool:
        return True

    def stat(self) -> os.stat_result:
        return self.file.stat()

    def access(self, mode: int, effective: bool) -> None:
        return None

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        return self.file.reopen(flags)

    def truncate(self, size: int) -> None:
        """truncate(2) through the link: EROFS for a host file outside the
        writable tree whatever the description's access, else ftruncate's
        answer."""
        if self.is_regular() and not self.file.in_writable_tree:
            raise EROFS
        self.file.truncate(size)

    # Metadata changes through the magic link are the description's own
    # (fchmod, fchown, futimens, f*xattr), which refuse what they must.
    def chmod(self, mode: int) -> None:
        self.file.chmod(mode)

    def chown(self, uid: int, gid: int) -> None:
        self.file.chown(uid, gid)

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        self.file.utimens(atime, mtime)

    def getxattr(self, name: bytes) -> bytes:
        return self.file.getxattr(name)

    def listxattr(self) -> list[bytes]:
        return self.file.listxattr()

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        self.file.setxattr(name, value, flags)

    def removexattr(self, name: bytes) -> None:
        self.file.removexattr(name)


class ProcFdLink(KDentry):
    """``/proc/<pid>/fd/<n>``: readlink shows the file's path, following
    it lands on the file."""

    __slots__ = ("file",)

    def __init__(self, name: bytes, file: FileDescription, dev: int) -> None:
        perm = 0o100 | (0o400 if file.readable else 0) | (0o200 if file.writable else 0)
        super().__init__(name, S_IFLNK | perm, dev=dev, uid=os.geteuid(), gid=os.getegid())
        self.file = file

    def follow_link(self, ctx: FSContext) -> bytes | Dentry:
        d = self.file.dentry
        return d if d is not None else AnonDentry(self.file)

    def readlink(self, ctx: FSContext) -> bytes:
        return self.file.path_name().encode("utf-8", "surrogateescape")

    def size(self) -> int:
        return 64


class ProcFdDir(KDir):
    """``/proc/<pid>/fd``: one magic link per open fd."""

    __slots__ = ("_tg",)

    def __init__(self, tg: ThreadGroup, dev: int) -> None:
        super().__init__(b"fd", 0o500, dev=dev, uid=os.geteuid(), gid=os.getegid())
        self._tg = tg

    def get_child(self, name: bytes, ctx: FSContext) -> Dentry | None:
        n = _name_to_int(name)
        if n is None:
            return None
        f = self._tg.fd_table.get_or_none(n)
        if f is None:
            return None
        link = ProcFdLink(name, f, self.dev)
        link.parent = self
        return link

    def child_names(self, ctx: FSContext) -> list[bytes]:
        return [str(fd).encode() for fd in self._tg.fd_table.fds()]


class ProcFile(KFile):
    """A generated /proc/[pid] file: regular, ``size`` 0 like Linux's;
    writable (no EROFS) when the file takes writes (comm, mem)."""

    __slots__ = ("_open_fn", "_rw")

    def __init__(
        self, name: bytes, mode: int, open_fn: Callable[[int, Dentry, FSContext], FileDescription],
        *, dev: int, rw: bool = False,
    ) -> None:
        super().__init__(name, S_IFREG | mode, lambda flags, d: open_fn(flags, d, None),  # type: ignore[arg-type]
                         dev=dev, uid=os.geteuid(), gid=os.getegid())
        self._open_fn = open_fn
        self._rw = rw

    @property
    def writable(self) -> bool:
        return self._rw

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        return self._open_fn(flags, self, ctx)


_GENERATED: tuple[tuple[bytes, int, Generator], ...] = (
    (b"auxv", 0o400, gen.auxv),
    (b"cgroup", 0o444, gen.cgroup),
    (b"cmdline", 0o444, gen.cmdline),
    (b"environ", 0o400, gen.environ),
    (b"io", 0o400, gen.io),
    (b"limits", 0o444, gen.limits),
    (b"maps", 0o444, gen.maps),
    (b"mountinfo", 0o444, gen.mountinfo),
    (b"mounts", 0o444, gen.mounts),
    (b"oom_score", 0o444, gen.oom_score),
    (b"oom_score_adj", 0o644, gen.oom_score_adj),
    (b"smaps", 0o444, gen.smaps),
    (b"stat", 0o444, array.stat),
    (b"statm", 0o444, array.statm),
    (b"status", 0o444, array.status),
)
"""Read-only generated files of /proc/[pid] and /proc/[pid]/task/[tid]:
(name, mode, generator(thread group, task or None))."""


def _populate(d: KDir, tg: ThreadGroup, task: Task | None, dev: int) -> None:
    """Add the files and links every /proc/[pid] and /proc/[pid]/task/[tid]
    directory has; ``task`` is None for the thread group's directory."""
    uid, gid = os.geteuid(), os.getegid()
    d.add(ProcFdDir(tg, dev))

    for name, mode, fn in _GENERATED:
        def factory(flags: int, dent: Dentry, ctx: FSContext,
                    fn: Generator = fn) -> FileDescription:
            return SeqFile(flags, dent, lambda: fn(tg, task))

        d.add(ProcFile(name, mode, factory, dev=dev))

    def comm_factory(flags: int, dent: Dentry, ctx: FSContext) -> FileDescription:
        same_group = ctx is not None and ctx.owner is tg

        def write(data: bytes) -> int:
            if not same_group:
                raise EINVAL
            return _write_comm(tg, task, data)

        return SeqFile(flags, dent, lambda: gen.comm(tg, task), write, max_write=gen.TASK_COMM_LEN - 1)

    def mem_factory(flags: int, dent: Dentry, ctx: FSContext) -> FileDescription:
        return MemFile(flags, dent, gen.mm_of(tg, task))

    d.add(ProcFile(b"comm", 0o644, comm_factory, dev=dev, rw=True))
    d.add(ProcFile(b"mem", 0o600, mem_factory, dev=dev, rw=True))

    def exe(ctx: FSContext) -> bytes:
        for t in tg.tasks:
            path = t.mm.metadata.executable
            if path:
                return path.encode("utf-8", "surrogateescape")
        raise ENOENT

    def cwd(ctx: FSContext) -> bytes | Dentry:
        fs = tg.fs
        if fs is None:
            raise ENOENT
        return fs.cwd

    def root(ctx: FSContext) -> bytes | Dentry:
        fs = tg.fs
        if fs is None:
            raise ENOENT
        return fs.root

    d.add(KSymlink(b"exe", exe, dev=dev, uid=uid, gid=gid))
    d.add(KSymlink(b"cwd", cwd, dev=dev, uid=uid, gid=gid))
    d.add(KSymlink(b"root", root, dev=dev, uid=uid, gid=gid))


def _write_comm(tg: ThreadGroup, task: Task | None, data: bytes) -> int:
    """A write to comm (Linux ``comm_write``): the bytes up to the first
    NUL (at most 15: the caller passes no more) become the task's name.
    Only the thread group itself may rename (checked at open)."""
    t = task if task is not None else gen.leader(tg)
    if t is None:
        raise EINVAL
    t.comm = data.split(b"\0", 1)[0]
    return len(data)


class ProcThreadDir(KDir):
    """``/proc/<tgid>/task/<tid>``: the per-thread view."""

    __slots__ = ()

    def __init__(self, tg: ThreadGroup, task: Task, dev: int) -> None:
        super().__init__(str(task.tid).encode(), 0o555, dev=dev, uid=os.geteuid(), gid=os.getegid())
        _populate(self, tg, task, dev)


class ProcTasksDir(KDir):
    """``/proc/<tgid>/task``: one directory per live thread."""

    __slots__ = ("_dirs", "_tg")

    def __init__(self, tg: ThreadGroup, dev: int) -> None:
        super().__init__(b"task", 0o555, dev=dev, uid=os.geteuid(), gid=os.getegid())
        self._tg = tg
        self._dirs: dict[int, tuple[Task, ProcThreadDir]] = {}

    def _task(self, tid: int) -> Task | None:
        for t in gen.live_tasks(self._tg):
            if t.tid == tid:
                return t
        return None

    def get_child(self, name: bytes, ctx: FSContext) -> Dentry | None:
        n = _name_to_int(name)
        t = self._task(n) if n is not None else None
        if t is None:
            return None
        cached = self._dirs.get(t.tid)
        if cached is not None and cached[0] is t:
            return cached[1]
        d = ProcThreadDir(self._tg, t, self.dev)
        d.parent = self
        self._dirs[t.tid] = (t, d)
        return d

    def child_names(self, ctx: FSContext) -> list[bytes]:
        return [str(t.tid).encode() for t in gen.live_tasks(self._tg)]


class ProcTaskDir(KDir):
    """``/proc/<tgid>``: fd/, task/, exe, cwd, root and the generated files."""

    __slots__ = ()

    def __init__(self, tg: ThreadGroup, dev: int) -> None:
        super().__init__(str(tg.tgid).encode(), 0o555, dev=dev, uid=os.geteuid(), gid=os.getegid())
        _populate(self, tg, None, dev)
        self.add(ProcTasksDir(tg, dev))


def _current_tid(ctx: FSContext) -> int:
    """The calling thread's tid: the kernel's running task when it belongs
    to the caller's thread group, else the group's first live task."""
    tg = _owner(ctx)
    tasks = gen.live_tasks(tg) if tg is not None else []
    if not tasks:
        return _tgid_of(ctx)
    kernel = tasks[0].kernel
    cur = kernel.current
    if cur is not None and cur.tg is tg:
        return cur.tid
    queue = kernel.run_queue
    if queue and queue[0].tg is tg:
        return queue[0].tid
    return tasks[0].tid


def _kernel_of(ctx: FSContext) -> Kernel:
    """The kernel of the process looking (ENOENT for a context without
    one, which only unit tests build)."""
    tg = _owner(ctx)
    if tg is None or not tg.tasks:
        raise ENOENT
    return tg.tasks[0].kernel


_SYSTEM_FILES: tuple[tuple[bytes, Callable[[FSContext], bytes]], ...] = (
    (b"cpuinfo", lambda ctx: system.cpuinfo()),
    (b"filesystems", system.filesystems),
    (b"loadavg", lambda ctx: system.loadavg(_kernel_of(ctx))),
    (b"meminfo", lambda ctx: system.meminfo(_kernel_of(ctx))),
    (b"mounts", system.mounts),
    (b"stat", lambda ctx: system.stat(_kernel_of(ctx))),
    (b"uptime", lambda ctx: system.uptime()),
)
"""/proc's system-wide files: (name, generator(the reader's context))."""


def _system_file(name: bytes, fn: Callable[[FSContext], bytes], dev: int) -> ProcFile:
    def factory(flags: int, dent: Dentry, ctx: FSContext) -> FileDescription:
        return SeqFile(flags, dent, lambda: fn(ctx))

    return ProcFile(name, 0o444, factory, dev=dev)


class ProcRoot(KDir):
    """``/proc``: ``self``, the system-wide files and one directory per
    thread group."""

    __slots__ = ("_self", "_tasks", "_thread_self")

    def __init__(self, dev: int = PROC_DEV) -> None:
        super().__init__(b"proc", 0o555, dev=dev)
        for name, fn in _SYSTEM_FILES:
            self.add(_system_file(name, fn, dev))
        self._self = KSymlink(b"self", lambda ctx: str(_tgid_of(ctx)).encode(), dev=dev)
        self._self.parent = self
        self._thread_self = KSymlink(
            b"thread-self", lambda ctx: b"%d/task/%d" % (_tgid_of(ctx), _current_tid(ctx)), dev=dev)
        self._thread_self.parent = self
        self._tasks: weakref.WeakKeyDictionary[ThreadGroup, ProcTaskDir] = weakref.WeakKeyDictionary()

    def _task_dir(self, tg: ThreadGroup) -> ProcTaskDir:
        d = self._tasks.get(tg)
        if d is None:
            d = ProcTaskDir(tg, self.dev)
            d.parent = self
            self._tasks[tg] = d
        return d

    def _thread_groups(self, ctx: FSContext) -> dict[int, ThreadGroup]:
        owner = _owner(ctx)
        if owner is None:
            return {}
        groups: dict[int, ThreadGroup] = {}
        if owner.tasks:
            groups.update(owner.tasks[0].kernel.thread_groups)
        groups.setdefault(owner.tgid, owner)
        return groups

    def get_child(self, name: bytes, ctx: FSContext) -> Dentry | None:
        static = super().get_child(name, ctx)
        if static is not None:
            return static
        if name == b"self":
            return self._self
        if name == b"thread-self":
            return self._thread_self
        n = _name_to_int(name)
        if n is None:
            return None
        tg = self._thread_groups(ctx).get(n)
        if tg is None or (tg.exit_status is not None and tg.exiting):
            return None
        return self._task_dir(tg)

    def child_names(self, ctx: FSContext) -> list[bytes]:
        return ([b"self", b"thread-self", *super().child_names(ctx)]
                + [str(n).encode() for n in sorted(self._thread_groups(ctx))])


def new_procfs() -> ProcRoot:
    """A fresh /proc tree."""
    return ProcRoot()
