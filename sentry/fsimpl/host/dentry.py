"""Host dentries: one per looked-up name of a host tree, directories
holding an ``O_PATH`` fd (see ``sentry.fsimpl.host.fs`` for the model:
``*at`` calls with one name and O_NOFOLLOW, canonical directories,
writability)."""

from __future__ import annotations

import os
import stat as statmod
import weakref
from typing import TYPE_CHECKING

from sentry.abi.fcntl import (
    AT_SYMLINK_NOFOLLOW,
    O_ACCMODE,
    O_APPEND,
    O_DSYNC,
    O_NOATIME,
    O_NONBLOCK,
    O_RDONLY,
    O_SYNC,
    O_TRUNC,
    RENAME_EXCHANGE,
)
from sentry.fsimpl.host import hostcalls
from sentry.hostfd import room
from sentry.linuxerr import (
    EINVAL,
    EISDIR,
    ENXIO,
    EOPNOTSUPP,
    EPERM,
    EROFS,
    ETXTBSY,
    errno_of,
)
from sentry.memmap.write_access import write_denied
from sentry.vfs.dentry import Dentry, Dirent

if TYPE_CHECKING:
    from sentry.fsimpl.host.fs import HostFilesystem
    from sentry.vfs.context import FSContext
    from sentry.vfs.file_description import FileDescription

from sentry.fsimpl.host.hostcalls import list_host_dir, truncated

_FILE_FLAGS_PASSED = O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME
_ALWAYS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY

_close = os.close


class HostDentry(Dentry):
    """A name in a host directory tree. ``fd`` is an O_PATH fd for
    directories and None for everything else (reached as ``parent.fd`` +
    ``name``)."""

    __slots__ = ("_children", "_key", "_writable", "dead", "fd", "fs", "hkey")

    def __init__(
        self,
        fs: HostFilesystem,
        parent: HostDentry | None,
        name: bytes,
        mode: int,
        fd: int | None,
        hkey: tuple[int, int],
        writable: bool,
    ) -> None:
        super().__init__(parent, name, mode)
        self.fs = fs
        self.fd = fd
        self.hkey = hkey
        self._key: tuple[object, ...] = ("host", id(fs), *hkey)
        self._writable = writable
        self.dead = False
        # Child directories looked up through this one (directories only).
        self._children: weakref.WeakValueDictionary[bytes, HostDentry] | None = None

    def __del__(self) -> None:
        # Plain try/except: at interpreter shutdown module globals (such
        # as contextlib) may already be gone; ``_close`` is bound early.
        fd = self.fd
        if fd is not None:
            self.fd = None
            try:  # noqa: SIM105
                _close(fd)
            except Exception:
                pass

    # -- identity ---------------------------------------------------------------

    def key(self) -> tuple[object, ...]:
        return self._key

    def cache_child(self, name: bytes, child: HostDentry) -> None:
        ch = self._children
        if ch is None:
            ch = self._children = weakref.WeakValueDictionary()
        ch[name] = child

    def uncache_child(self, name: bytes, child: HostDentry | None = None) -> None:
        ch = self._children
        if ch is not None:
            cur = ch.get(name)
            if cur is not None and (child is None or cur is child):
                del ch[name]

    @property
    def writable(self) -> bool:
        return self._writable

    def is_dead(self) -> bool:
        return self.dead

    def _pfd(self) -> int:
        """The host fd of the parent directory (for non-directories)."""
        p = self.parent
        assert isinstance(p, HostDentry) and p.fd is not None
        return p.fd

    def _at(self) -> tuple[int, bytes]:
        """``(dirfd, name)`` naming this file on the host without
        following symlinks: the O_PATH fd with "." for directories."""
        if self.fd is not None:
            return self.fd, b"."
        return self._pfd(), self.name

    def same_filesystem(self, other: Dentry) -> bool:
        return isinstance(other, HostDentry) and other.fs is self.fs

    # -- extended attributes: the host file's, never following a final symlink ----

    def _xattr_path(self) -> str:
        fd, name = self._at()
        return f"/proc/self/fd/{fd}/{os.fsdecode(name)}"

    def getxattr(self, name: bytes) -> bytes:
        return hostcalls.getxattr(self._xattr_path(), name, follow=False)

    def listxattr(self) -> list[bytes]:
        return hostcalls.listxattr(self._xattr_path(), follow=False)

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        self._check_writable()
        hostcalls.setxattr(self._xattr_path(), name, value, flags, follow=False)

    def removexattr(self, name: bytes) -> None:
        self._check_writable()
        hostcalls.removexattr(self._xattr_path(), name, follow=False)

    # -- lookups -------------------------------------------------------------------

    def lookup(self, name: bytes, ctx: FSContext) -> Dentry:
        ch = self._children
        if ch is not None:
            c = ch.get(name)
            if c is not None and c.parent is self and not c.dead:
                self.fs.touch(c)
                return c
        assert self.fd is not None
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except OSError as e:
            raise errno_of(e) from None
        if statmod.S_ISDIR(st.st_mode):
            return self.fs.dir_child(self, name, st)
        return HostDentry(self.fs, self, name, st.st_mode, None, (st.st_dev, st.st_ino), self._writable)

    def readlink(self, ctx: FSContext) -> bytes:
        if not self.is_symlink():
            raise EINVAL
        try:
            return os.readlink(self.name, dir_fd=self._pfd())
        except OSError as e:
            raise errno_of(e) from None

    def list_entries(self, ctx: FSContext) -> list[Dirent]:
        assert self.fd is not None
        room()
        try:
            fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None
        try:
            return list_host_dir(fd)
        finally:
            os.close(fd)

    # -- attributes ----------------------------------------------------------------

    def stat(self) -> os.stat_result:
        try:
            if self.fd is not None:
                return os.fstat(self.fd)
            return os.stat(self.name, dir_fd=self._pfd(), follow_symlinks=False)
        except OSError as e:
            raise errno_of(e) from None

    def access(self, mode: int, effective: bool) -> None:
        dirfd, name = self._at()
        try:
            ok = os.access(name, mode, dir_fd=dirfd, effective_ids=effective, follow_symlinks=False)
        except OSError as e:
            raise errno_of(e) from None
        if not ok:
            from sentry.linuxerr import EACCES

            raise EACCES

    def _check_writable(self) -> None:
        if not self._writable:
            raise EROFS

    def chmod(self, mode: int) -> None:
        self._check_writable()
        if self.is_symlink():
            raise EOPNOTSUPP
        dirfd, name = self._at()
        try:
            os.chmod(name, mode, dir_fd=dirfd)
        except OSError as e:
            raise errno_of(e) from None

    def chown(self, uid: int, gid: int) -> None:
        self._check_writable()
        dirfd, name = self._at()
        try:
            os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
        except OSError as e:
            raise errno_of(e) from None

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        self._check_writable()
        dirfd, name = self._at()
        try:
            hostcalls.utimensat(dirfd, name, atime, mtime, AT_SYMLINK_NOFOLLOW)
        except OSError as e:
            raise errno_of(e) from None

    def truncate(self, size: int) -> None:
        if self.is_dir():
            raise EISDIR
        if not self.is_regular():
            raise EINVAL
        self._check_writable()
        room()
        try:
            fd = os.open(self.name, os.O_WRONLY | os.O_NONBLOCK | _ALWAYS, dir_fd=self._pfd())
        except OSError as e:
            raise errno_of(e) from None
        try:
            if write_denied(self.hkey):
                raise ETXTBSY  # a running executable (Linux get_write_access)
            os.ftruncate(fd, size)
            truncated(fd)
        except OSError as e:
            raise errno_of(e) from None
        finally:
            os.close(fd)

    # -- opening -------------------------------------------------------------------

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        from sentry.fsimpl.host.file import HostDirectory, HostFile

        if self.fd is not None:
            room()
            try:
                hfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.fd)
            except OSError as e:
                raise errno_of(e) from None
            return HostDirectory(hfd, flags, self, ctx)
        if not self.is_regular():
            raise ENXIO
        hflags = (flags & _FILE_FLAGS_PASSED) | _ALWAYS
        deny = (flags & O_ACCMODE != O_RDONLY or flags & O_TRUNC) and write_denied(self.hkey)
        if deny:
            hflags &= ~O_TRUNC  # permission errors first, as Linux; never truncate
        room()
        try:
            hfd = os.open(self.name, hflags, dir_fd=self._pfd())
        except OSError as e:
            raise errno_of(e) from None
        st = os.fstat(hfd)
        if not statmod.S_ISREG(st.st_mode):  # replaced since the lookup
            os.close(hfd)
            raise ENXIO
        if deny:
            os.close(hfd)
            raise ETXTBSY  # a running executable (Linux do_dentry_open)
        if flags & O_TRUNC:
            truncated(hfd)
        return HostFile(hfd, flags, dentry=self)

    # -- directory modifications ---------------------------------------------------------

    def create(self, name: bytes, flags: int, mode: int, ctx: FSContext) -> FileDescription:
        from sentry.fsimpl.host.file import HostFile

        self._check_writable()
        assert self.fd is not None
        hflags = (flags & (_FILE_FLAGS_PASSED & ~O_TRUNC)) | os.O_CREAT | os.O_EXCL | _ALWAYS
        room()
        try:
            hfd = os.open(name, hflags, mode, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None
        st = os.fstat(hfd)
        if st.st_mode & 0o7777 != mode:  # the host's umask interfered
            os.fchmod(hfd, mode)
        child = HostDentry(self.fs, self, name, st.st_mode, None, (st.st_dev, st.st_ino), self._writable)
        return HostFile(hfd, flags, dentry=child)

    def mkdir(self, name: bytes, mode: int) -> None:
        self._check_writable()
        try:
            os.mkdir(name, mode, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None

    def unlink(self, name: bytes, child: Dentry) -> None:
        self._check_writable()
        try:
            os.unlink(name, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None
        self.uncache_child(name)
        if isinstance(child, HostDentry):
            child.dead = True

    def rmdir(self, name: bytes, child: Dentry) -> None:
        self._check_writable()
        try:
            os.rmdir(name, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None
        if isinstance(child, HostDentry):
            self.fs.forget(child)

    def mknod(self, name: bytes, mode: int) -> None:
        self._check_writable()
        if mode & 0o170000 != 0o140000:
            raise EPERM
        try:
            os.mknod(name, mode, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None

    def symlink(self, name: bytes, target: bytes) -> None:
        self._check_writable()
        try:
            os.symlink(target, name, dir_fd=self.fd)
        except OSError as e:
            raise errno_of(e) from None

    def link(self, name: bytes, target: Dentry) -> None:
        self._check_writable()
        if not isinstance(target, HostDentry) or target.fd is not None:
            raise EPERM
        try:
            os.link(target.name, name, src_dir_fd=target._pfd(), dst_dir_fd=self.fd, follow_symlinks=False)
        except OSError as e:
            raise errno_of(e) from None

    def rename(self, name: bytes, child: Dentry, new_parent: Dentry, new_name: bytes, flags: int) -> None:
        self._check_writable()
        if not isinstance(new_parent, HostDentry) or new_parent.fd is None:
            from sentry.linuxerr import EXDEV

            raise EXDEV
        new_parent._check_writable()
        victim: HostDentry | None = None
        try:
            vst = os.stat(new_name, dir_fd=new_parent.fd, follow_symlinks=False)
            if statmod.S_ISDIR(vst.st_mode):
                victim = self.fs.cached_dir((vst.st_dev, vst.st_ino))
        except OSError:
            pass
        try:
            assert self.fd is not None
            hostcalls.renameat2(self.fd, name, new_parent.fd, new_name, flags)
        except OSError as e:
            raise errno_of(e) from None
        self.uncache_child(name)
        new_parent.uncache_child(new_name)
        if victim is not None and victim is not child:
            if flags & RENAME_EXCHANGE:
                victim.parent = self
                victim.name = name
                victim._writable = self.fs._writable_for(self, victim.hkey)
                self.cache_child(name, victim)
            else:
                self.fs.forget(victim)
        if isinstance(child, HostDentry) and child.fd is not None:
            child.parent = new_parent
            child.name = new_name
            child._writable = self.fs._writable_for(new_parent, child.hkey)
            new_parent.cache_child(new_name, child)
