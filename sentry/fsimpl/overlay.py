"""A private writable directory over a read-only one, one level deep: the
guest's ``/tmp`` in the default setup (see ``sentry.fsimpl.root``).

Names are looked up in the writable *upper* directory first, then in the
read-only *lower* one (the host's /tmp), so host files stay visible and
unchanged while everything the guest creates at the top level goes to the
upper directory, which the runner discards at exit. Only the top level is
merged (as a one-level overlayfs without copy-up): a child is either the
upper layer's, and fully writable, or the lower layer's, with the lower
file system's rules (read-only, except the host working directory and
below when it lies inside /tmp). Modifying a lower name (unlink, rename,
writing a lower file) fails with EROFS as before; links and renames
between the layers are EXDEV, as between two mounts.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sentry.fsimpl.kernfs import KDirFile
from sentry.linuxerr import ENOENT, EROFS, EXDEV
from sentry.vfs.dentry import Dentry, Dirent

if TYPE_CHECKING:
    from sentry.vfs.context import FSContext
    from sentry.vfs.file_description import FileDescription


class OverlayDir(Dentry):
    """``upper`` over ``lower`` (both directories). Its attributes are the
    upper directory's; ``upper`` takes this directory's place in paths."""

    __slots__ = ("lower", "upper")

    def __init__(self, upper: Dentry, lower: Dentry) -> None:
        super().__init__(lower.parent, lower.name, upper.mode)
        self.upper = upper
        self.lower = lower
        # Upper children's paths and ".." then read as this directory's.
        upper.parent, upper.name = lower.parent, lower.name

    def key(self) -> tuple[object, ...]:
        return ("overlay", *self.upper.key())

    @property
    def writable(self) -> bool:
        return True

    def _is_upper(self, child: Dentry) -> bool:
        return child.parent is self.upper

    # -- lookups -------------------------------------------------------------------

    def lookup(self, name: bytes, ctx: FSContext) -> Dentry:
        try:
            return self.upper.lookup(name, ctx)
        except type(ENOENT) as e:
            if e is not ENOENT:
                raise
        return self.lower.lookup(name, ctx)

    def list_entries(self, ctx: FSContext) -> list[Dirent]:
        upper = self.upper.list_entries(ctx)
        names = {e.name for e in upper}
        return upper + [e for e in self.lower.list_entries(ctx) if e.name not in names]

    # -- attributes: the upper directory's ----------------------------------------

    def stat(self) -> os.stat_result:
        return self.upper.stat()

    def access(self, mode: int, effective: bool) -> None:
        self.upper.access(mode, effective)

    def chmod(self, mode: int) -> None:
        self.upper.chmod(mode)

    def chown(self, uid: int, gid: int) -> None:
        self.upper.chown(uid, gid)

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        self.upper.utimens(atime, mtime)

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        return KDirFile(flags, self, ctx)

    def getxattr(self, name: bytes) -> bytes:
        return self.upper.getxattr(name)

    def listxattr(self) -> list[bytes]:
        return self.upper.listxattr()

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        self.upper.setxattr(name, value, flags)

    def removexattr(self, name: bytes) -> None:
        self.upper.removexattr(name)

    # -- changes go to the upper directory -------------------------------------------

    def create(self, name: bytes, flags: int, mode: int, ctx: FSContext) -> FileDescription:
        return self.upper.create(name, flags, mode, ctx)

    def mkdir(self, name: bytes, mode: int) -> None:
        self.upper.mkdir(name, mode)

    def symlink(self, name: bytes, target: bytes) -> None:
        self.upper.symlink(name, target)

    def link(self, name: bytes, target: Dentry) -> None:
        if not self.upper.same_filesystem(target):
            raise EXDEV
        self.upper.link(name, target)

    def unlink(self, name: bytes, child: Dentry) -> None:
        if not self._is_upper(child):
            raise EROFS
        self.upper.unlink(name, child)

    def rmdir(self, name: bytes, child: Dentry) -> None:
        if not self._is_upper(child):
            raise EROFS
        self.upper.rmdir(name, child)

    def rename(self, name: bytes, child: Dentry, new_parent: Dentry, new_name: bytes, flags: int) -> None:
        if not self._is_upper(child):
            raise EROFS
        target = self.upper if new_parent is self else new_parent
        self.upper.rename(name, child, target, new_name, flags)

    def same_filesystem(self, other: Dentry) -> bool:
        return other is self or self.upper.same_filesystem(other)
