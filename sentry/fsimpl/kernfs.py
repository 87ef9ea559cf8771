"""Synthetic trees built in the sentry (gVisor ``fsimpl/kernfs``): the
nodes of /dev and /proc.

* :class:`KDir`: a directory with static children (``add``) or dynamic
  ones (override ``get_child``/``child_names``);
* :class:`KSymlink`: a symlink whose target is fixed or computed; a
  computed target may be a dentry (a /proc "magic link");
* :class:`KFile`: a file whose ``open`` calls a factory.

Synthetic trees are read-only: creating, removing or renaming entries
fails with EROFS, and so do chmod/chown/utimes (a documented divergence
from devtmpfs, where root may do these).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.abi.fcntl import S_IFDIR, S_IFLNK, dt_from_mode
from sentry.abi.stat import make_stat
from sentry.linuxerr import ENOENT, Errno
from sentry.vfs.dentry import Dentry, Dirent
from sentry.vfs.file_description import DirectoryFileDescription, FileDescription

if TYPE_CHECKING:
    from sentry.vfs.context import FSContext

_inos = itertools.count(2)
BOOT_NS = time.time_ns()


def next_ino() -> int:
    """A fresh inode number for a synthetic node."""
    return next(_inos)


class KDentry(Dentry):
    """A synthetic node: fixed mode (type and permissions), owner, device."""

    __slots__ = ("dev", "gid", "ino", "nlink", "rdev", "uid")

    def __init__(self, name: bytes, mode: int, *, dev: int, rdev: int = 0, uid: int = 0, gid: int = 0) -> None:
        super().__init__(None, name, mode)
        self.dev = dev
        self.ino = next_ino()
        self.rdev = rdev
        self.uid = uid
        self.gid = gid
        self.nlink = 1

    def key(self) -> tuple[object, ...]:
        return ("kernfs", id(self))

    def stat(self) -> os.stat_result:
        return make_stat(
            mode=self.mode, ino=self.ino, dev=self.dev, nlink=self.nlink, uid=self.uid, gid=self.gid,
            rdev=self.rdev, size=self.size(), atime_ns=BOOT_NS, mtime_ns=BOOT_NS, ctime_ns=BOOT_NS,
        )

    def size(self) -> int:
        return 0


class KDir(KDentry):
    """A synthetic directory."""

    __slots__ = ("_children",)

    def __init__(self, name: bytes, mode: int = 0o755, *, dev: int, uid: int = 0, gid: int = 0) -> None:
        super().__init__(name, S_IFDIR | mode, dev=dev, uid=uid, gid=gid)
        self._children: dict[bytes, Dentry] = {}
        self.nlink = 2

    def add(self, child: Dentry) -> Dentry:
        """Add a static child (its parent becomes this directory)."""
        child.parent = self
        self._children[child.name] = child
        return child

    def get_child(self, name: bytes, ctx: FSContext) -> Dentry | None:
        return self._children.get(name)

    def child_names(self, ctx: FSContext) -> list[bytes]:
        return list(self._children)

    def lookup(self, name: bytes, ctx: FSContext) -> Dentry:
        c = self.get_child(name, ctx)
        if c is None:
            raise ENOENT
        return c

    def list_entries(self, ctx: FSContext) -> list[Dirent]:
        out = []
        for name in self.child_names(ctx):
            c = self.get_child(name, ctx)
            if c is None:
                continue
            try:
                st = c.stat()
            except Errno:
                continue
            out.append(Dirent(name, st.st_ino, dt_from_mode(st.st_mode)))
        return out

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        return KDirFile(flags, self, ctx)


class KSymlink(KDentry):
    """A synthetic symlink; ``target`` is its text or a function of the
    caller's view returning text or (for a magic link) a dentry."""

    __slots__ = ("_target",)

    def __init__(
        self,
        name: bytes,
        target: bytes | Callable[[FSContext], bytes | Dentry],
        *,
        dev: int,
        mode: int = 0o777,
        uid: int = 0,
        gid: int = 0,
    ) -> None:
        super().__init__(name, S_IFLNK | mode, dev=dev, uid=uid, gid=gid)
        self._target = target

    def follow_link(self, ctx: FSContext) -> bytes | Dentry:
        t = self._target
        return t if isinstance(t, bytes) else t(ctx)

    def readlink(self, ctx: FSContext) -> bytes:
        t = self.follow_link(ctx)
        if isinstance(t, Dentry):
            return ctx.path_of(t)
        return t

    def size(self) -> int:
        t = self._target
        return len(t) if isinstance(t, bytes) else 0


class KFile(KDentry):
    """A synthetic non-directory whose ``open`` calls ``factory(flags, self)``."""

    __slots__ = ("_factory",)

    def __init__(
        self,
        name: bytes,
        mode: int,
        factory: Callable[[int, Dentry], FileDescription],
        *,
        dev: int,
        rdev: int = 0,
        uid: int = 0,
        gid: int = 0,
    ) -> None:
        super().__init__(name, mode, dev=dev, rdev=rdev, uid=uid, gid=gid)
        self._factory = factory

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        return self._factory(flags, self)


class KDirFile(DirectoryFileDescription):
    """An open synthetic directory (see DirectoryFileDescription)."""

    def _children(self) -> list[Dirent]:
        assert self.dentry is not None
        return self.dentry.list_entries(self._ctx)
