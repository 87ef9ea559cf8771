"""The nodes of the minimal /proc (see the package docstring)."""

from __future__ import annotations

import os
import weakref
from typing import Any

from sentry.abi.fcntl import S_IFLNK
from sentry.fsimpl.kernfs import KDentry, KDir, KSymlink
from sentry.linuxerr import ENOENT, Errno
from sentry.vfs.context import FSContext
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

PROC_DEV = os.makedev(0, 22)


def _tgid_of(ctx: FSContext) -> int:
    owner = ctx.owner
    return int(getattr(owner, "tgid", 1))


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
        self.file.truncate(size)


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

    def __init__(self, tg: Any, dev: int) -> None:
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


class ProcTaskDir(KDir):
    """``/proc/<tgid>``: fd/, exe, cwd, root."""

    __slots__ = ()

    def __init__(self, tg: Any, dev: int) -> None:
        uid, gid = os.geteuid(), os.getegid()
        super().__init__(str(tg.tgid).encode(), 0o555, dev=dev, uid=uid, gid=gid)
        self.add(ProcFdDir(tg, dev))

        def exe(ctx: FSContext) -> bytes:
            for t in getattr(tg, "tasks", []):
                path = getattr(getattr(getattr(t, "mm", None), "metadata", None), "executable", None)
                if path:
                    return str(path).encode("utf-8", "surrogateescape")
            raise ENOENT

        def cwd(ctx: FSContext) -> bytes | Dentry:
            fs = getattr(tg, "fs", None)
            if fs is None:
                raise ENOENT
            return fs.cwd

        def root(ctx: FSContext) -> bytes | Dentry:
            fs = getattr(tg, "fs", None)
            if fs is None:
                raise ENOENT
            return fs.root

        self.add(KSymlink(b"exe", exe, dev=dev, uid=uid, gid=gid))
        self.add(KSymlink(b"cwd", cwd, dev=dev, uid=uid, gid=gid))
        self.add(KSymlink(b"root", root, dev=dev, uid=uid, gid=gid))


class ProcRoot(KDir):
    """``/proc``: ``self`` and one directory per thread group."""

    __slots__ = ("_self", "_tasks")

    def __init__(self, dev: int = PROC_DEV) -> None:
        super().__init__(b"proc", 0o555, dev=dev)
        self._self = KSymlink(b"self", lambda ctx: str(_tgid_of(ctx)).encode(), dev=dev)
        self._self.parent = self
        self._tasks: weakref.WeakKeyDictionary[Any, ProcTaskDir] = weakref.WeakKeyDictionary()

    def _task_dir(self, tg: Any) -> ProcTaskDir:
        d = self._tasks.get(tg)
        if d is None:
            d = ProcTaskDir(tg, self.dev)
            d.parent = self
            self._tasks[tg] = d
        return d

    def _thread_groups(self, ctx: FSContext) -> dict[int, Any]:
        owner = ctx.owner
        groups: dict[int, Any] = {}
        for t in getattr(owner, "tasks", []):
            kernel = getattr(t, "kernel", None)
            if kernel is not None:
                groups.update(getattr(kernel, "thread_groups", {}))
                break
        if owner is not None and hasattr(owner, "tgid"):
            groups.setdefault(owner.tgid, owner)
        return groups

    def get_child(self, name: bytes, ctx: FSContext) -> Dentry | None:
        if name == b"self":
            return self._self
        n = _name_to_int(name)
        if n is None:
            return None
        tg = self._thread_groups(ctx).get(n)
        if tg is None or (getattr(tg, "exit_status", None) is not None and getattr(tg, "exiting", False)):
            return None
        return self._task_dir(tg)

    def child_names(self, ctx: FSContext) -> list[bytes]:
        return [b"self"] + [str(n).encode() for n in sorted(self._thread_groups(ctx))]


def new_procfs() -> ProcRoot:
    """A fresh /proc tree."""
    return ProcRoot()
