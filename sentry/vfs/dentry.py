"""``Dentry``: a name in a file system tree, the node path resolution walks.

Compare gVisor's ``vfs.Dentry`` + ``vfs.FilesystemImpl``. Here one object
plays both parts: a dentry knows its parent and name (for ``..`` and for
the paths ``getcwd`` and ``/proc/self/fd`` show), the type of what it
names, and performs the operations on it. File systems subclass it (host
directory trees, synthetic trees such as /dev and /proc).

Contracts every implementation keeps:

* ``lookup(name, ctx)`` is only called on directories, with a single
  component: never empty, never ``.`` or ``..``, never containing ``/``
  (the resolver handles those). It returns the child without following a
  symlink and raises ENOENT when there is none.
* Operations that change a directory (``create``, ``mkdir``, ``unlink``,
  ``rmdir``, ``symlink``, ``link``, ``rename``) are called on the parent
  with the final component, after the resolver checked the name kind.
* Errors are raised as ``Errno``. Nothing here writes guest memory.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from sentry.abi.fcntl import S_IFDIR, S_IFLNK, S_IFMT, S_IFREG
from sentry.linuxerr import EINVAL, ENOTDIR, EOPNOTSUPP, EPERM, EROFS

if TYPE_CHECKING:
    from sentry.vfs.context import FSContext
    from sentry.vfs.file_description import FileDescription


class Dirent(NamedTuple):
    """One directory entry as getdents reports it."""

    name: bytes
    ino: int
    type: int  # DT_*


class Dentry:
    """Base class; the defaults are what Linux answers for a node that
    lacks the operation. ``mode`` holds at least the file type bits."""

    __slots__ = ("__weakref__", "mode", "name", "parent")

    def __init__(self, parent: Dentry | None, name: bytes, mode: int) -> None:
        self.parent = parent
        self.name = name
        self.mode = mode

    # -- identity ----------------------------------------------------------------

    def key(self) -> tuple[object, ...]:
        """A hashable identity: two dentries with equal keys name the same
        file (used for mount points and for "is this the root")."""
        return (id(self),)

    @property
    def writable(self) -> bool:
        """False where modifications fail with EROFS."""
        return False

    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR

    def is_symlink(self) -> bool:
        return self.mode & S_IFMT == S_IFLNK

    def is_regular(self) -> bool:
        return self.mode & S_IFMT == S_IFREG

    def is_dead(self) -> bool:
        """True once the file was removed (getdents on a removed directory
        fails with ENOENT; paths of unlinked files read "(deleted)")."""
        return False

    # -- lookups -------------------------------------------------------------------

    def lookup(self, name: bytes, ctx: FSContext) -> Dentry:
        """The child ``name`` (not following symlinks); raises ENOENT."""
        raise ENOTDIR

    def readlink(self, ctx: FSContext) -> bytes:
        """A symlink's target; EINVAL for anything else."""
        raise EINVAL

    def follow_link(self, ctx: FSContext) -> bytes | Dentry:
        """What following this symlink leads to: target text to walk, or
        (for /proc magic links) a dentry to jump to."""
        return self.readlink(ctx)

    def list_entries(self, ctx: FSContext) -> list[Dirent]:
        """All entries of a directory except ``.`` and ``..``."""
        raise ENOTDIR

    # -- attributes ----------------------------------------------------------------

    def stat(self) -> os.stat_result:
        raise EPERM

    def access(self, mode: int, effective: bool) -> None:
        """Raise EACCES unless the caller may access the file for ``mode``
        (R_OK/W_OK/X_OK bits). EROFS checks are the caller's."""
        st = self.stat()
        _check_mode_bits(st, mode)

    def chmod(self, mode: int) -> None:
        raise EROFS if not self.writable else EPERM

    def chown(self, uid: int, gid: int) -> None:
        raise EROFS if not self.writable else EPERM

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        """Set times; each is ``(sec, nsec)`` with nsec possibly UTIME_NOW
        or UTIME_OMIT."""
        raise EROFS if not self.writable else EPERM

    def truncate(self, size: int) -> None:
        raise EROFS if not self.writable else EINVAL

    # -- opening ---------------------------------------------------------------------

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        """A new file description (the resolver has checked O_DIRECTORY,
        EISDIR for writable directories and EROFS)."""
        raise EPERM

    # -- directory modifications (self is the parent) ----------------------------------

    def create(self, name: bytes, flags: int, mode: int, ctx: FSContext) -> FileDescription:
        """Create and open the regular file ``name`` (O_EXCL semantics: it
        does not exist); ``mode`` already has the umask applied."""
        raise EROFS if not self.writable else EPERM

    def mkdir(self, name: bytes, mode: int) -> None:
        raise EROFS if not self.writable else EPERM

    def unlink(self, name: bytes, child: Dentry) -> None:
        raise EROFS if not self.writable else EPERM

    def rmdir(self, name: bytes, child: Dentry) -> None:
        raise EROFS if not self.writable else EPERM

    def symlink(self, name: bytes, target: bytes) -> None:
        raise EROFS if not self.writable else EPERM

    def link(self, name: bytes, target: Dentry) -> None:
        raise EROFS if not self.writable else EPERM

    def rename(self, name: bytes, child: Dentry, new_parent: Dentry, new_name: bytes, flags: int) -> None:
        raise EROFS if not self.writable else EPERM

    def same_filesystem(self, other: Dentry) -> bool:
        """Whether link/rename between the two is possible (else EXDEV)."""
        return False

    # -- extended attributes (names already validated by the syscall layer) -------

    def getxattr(self, name: bytes) -> bytes:
        """The value of attribute ``name``: ENODATA when unset; a file
        system without attributes answers EOPNOTSUPP (Linux)."""
        raise EOPNOTSUPP

    def listxattr(self) -> list[bytes]:
        """Every attribute name (empty where there are none)."""
        return []

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        """Set ``name`` (XATTR_CREATE: EEXIST if set; XATTR_REPLACE:
        ENODATA if not). The sentry's synthetic trees are not read-only
        mounts on Linux: EOPNOTSUPP, not EROFS."""
        raise EOPNOTSUPP

    def removexattr(self, name: bytes) -> None:
        raise EOPNOTSUPP

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _check_mode_bits(st: os.stat_result, mode: int) -> None:
    """Unix permission bits for the sentry's own credentials (root may read
    and write anything and execute whatever has an x bit or is a directory)."""
    from sentry.linuxerr import EACCES

    uid = os.geteuid()
    perm = st.st_mode
    if uid == 0:
        if mode & 1 and not (perm & 0o111 or perm & S_IFMT == S_IFDIR):
            raise EACCES
        return
    if st.st_uid == uid:
        bits = (perm >> 6) & 7
    elif st.st_gid in (os.getegid(), *os.getgroups()):
        bits = (perm >> 3) & 7
    else:
        bits = perm & 7
    if mode & ~bits & 7:
        raise EACCES
