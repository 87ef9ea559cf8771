"""``FileDescription``: an open file, the object fds point at (gVisor
``vfs.FileDescription``).

File descriptions see only an ``IOSequence`` for data (never a task or a
Unicorn instance): ``read`` fills it with ``dst.copy_out_from(reader)``, so
bytes land straight in guest memory; ``write`` drains it with
``src.copy_in_to(writer)``.

Contract of ``read``/``write`` (gVisor ``vfs.FileDescriptionImpl``):

* they return ``(n, err)``; ``n`` counts bytes actually moved and the
  file position (if any) advances by exactly ``n``;
* ``err`` is None on full success; with ``n`` short it says why: EFAULT
  (bad guest memory; the syscall layer reports ``n`` if ``n > 0``),
  EAGAIN (would block: nothing more can move now), EPIPE, ENOSPC, or
  :data:`sentry.safemem.EOF`-like conditions reported as ``(n, None)``;
* ``offset`` is -1 for the file's own position (read/write) or a position
  (pread/pwrite); implementations that cannot seek return ESPIPE for it.

The syscall layer checks ``readable``/``writable`` (EBADF) before calling
``read``/``write``; zero-length transfers return ``(0, None)`` before any
would-block check unless the file type says otherwise (/dev/full).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sentry.abi.fcntl import (
    DT_DIR,
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_NONBLOCK,
    O_PATH,
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
    OPEN_ONLY_FLAGS,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    SETFL_MASK,
)
from sentry.linuxerr import (
    EBADF,
    EINVAL,
    EISDIR,
    ENODEV,
    ENOTDIR,
    ENOTTY,
    ENXIO,
    EOPNOTSUPP,
    EPERM,
    EROFS,
    ESPIPE,
    Errno,
)
from sentry.usermem import IOSequence
from sentry.vfs.dentry import Dirent
from sentry.vfs.waiter import EVENT_IN, EVENT_OUT, EVENT_RD_NORM, EVENT_WR_NORM, Entry

#: ``read_arg(n)``: the ``n`` bytes an ioctl's argument points at (EFAULT).
ReadArg = Callable[[int], bytes]

if TYPE_CHECKING:
    from sentry.mm import MMapOpts
    from sentry.vfs.context import FSContext
    from sentry.vfs.dentry import Dentry

__all__ = [
    "O_ACCMODE",
    "O_APPEND",
    "O_CLOEXEC",
    "O_NONBLOCK",
    "O_PATH",
    "O_RDONLY",
    "O_RDWR",
    "O_WRONLY",
    "DirectoryFileDescription",
    "FileDescription",
    "check_readable",
]


class FileDescription:
    """Base class: an open file with status flags and a reference count.

    ``flags`` are the open flags as F_GETFL reports them (access mode and
    status flags; open-only flags such as O_CREAT and O_CLOEXEC are
    stripped). ``dentry`` is the file's place in the tree, or None for
    anonymous files (pipes, the host's stdio). Subclasses override the
    operations they support; the defaults answer what Linux answers for a
    file lacking the operation.
    """

    #: The host fd behind a file the host backs (host files and
    #: directories); None for the sentry's own files (pipes, /proc, /dev).
    host_fd: int | None = None
    #: Whether a write failing with EPIPE raises SIGPIPE (pipes and stream
    #: sockets; datagram and seqpacket sockets only fail).
    epipe_signals = True

    #: The pseudo-terminal behind a /dev/ptmx or /dev/pts file
    #: (``sentry.fsimpl.devpts.Terminal``); None for everything else.
    terminal: Any = None
    #: Whether ``terminal`` is reached through its master side (/dev/ptmx).
    is_master = False

    def __init__(self, flags: int, dentry: Dentry | None = None) -> None:
        self.flags = flags & ~OPEN_ONLY_FLAGS
        self.dentry = dentry
        self.refs = 1
        # Whether pread/pwrite work (false for pipes, sockets, ttys).
        self.seekable = False
        self._released = False

    # -- access -----------------------------------------------------------------------

    @property
    def readable(self) -> bool:
        acc = self.flags & O_ACCMODE
        return acc in (O_RDONLY, O_RDWR) and not self.flags & O_PATH

    @property
    def writable(self) -> bool:
        acc = self.flags & O_ACCMODE
        return acc in (O_WRONLY, O_RDWR) and not self.flags & O_PATH

    @property
    def in_writable_tree(self) -> bool:
        """False where the file's metadata must not change (EROFS): a file
        on a read-only tree, or a host file the guest inherited without a
        writable name for it. Files that are the sentry's own (pipes,
        synthetic files) answer True and refuse changes themselves."""
        return self.dentry is None or self.dentry.writable

    @property
    def is_path(self) -> bool:
        """An O_PATH descriptor: only good as a name (fstat, *at, fchdir)."""
        return bool(self.flags & O_PATH)

    @property
    def nonblocking(self) -> bool:
        return bool(self.flags & O_NONBLOCK)

    def status_flags(self) -> int:
        """What F_GETFL returns."""
        return self.flags

    def set_status_flags(self, flags: int) -> None:
        """F_SETFL: only SETFL_MASK bits change (the access mode never)."""
        self.flags = (self.flags & ~SETFL_MASK) | (flags & SETFL_MASK)

    # -- data -----------------------------------------------------------------------------

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Read into ``dst``; see the module docstring."""
        return 0, EINVAL

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Write from ``src``; see the module docstring."""
        return 0, EINVAL

    def seek(self, offset: int, whence: int) -> int:
        """Reposition; returns the new offset (raises Errno)."""
        raise ESPIPE

    # -- readiness (poll, blocking) -----------------------------------------------------

    def readiness(self, mask: int) -> int:
        """The events of ``mask`` that are ready now. The default is Linux's
        DEFAULT_POLLMASK for files without a poll method: always readable
        and writable, never an error or hangup."""
        return mask & (EVENT_IN | EVENT_OUT | EVENT_RD_NORM | EVENT_WR_NORM)

    def event_register(self, e: Entry) -> None:
        """Ask to be notified (``e.callback``) when an event of ``e.mask``
        may have become ready. Files that are always ready ignore it."""

    def event_unregister(self, e: Entry) -> None:
        """Undo ``event_register``."""

    def host_wait(self, mask: int) -> bool:
        """Wait in the host until the file may be ready for ``mask``; True
        if it did (the caller retries at once). Files the host serves
        (stdio, host pipes and ttys) do this, since input from outside the
        sandbox wakes no waiter queue; the default is False: the sentry's
        own files notify ``event_register`` entries instead
        (``sentry.kernel.blocking``)."""
        return False

    # -- memory mapping -------------------------------------------------------------------

    def configure_mmap(self, opts: MMapOpts) -> None:
        """Complete ``opts`` for mmap of this file (set ``mappable``, maybe
        narrow ``max_perms``); raises Errno. The syscall layer has checked
        the fd is readable. Default: ENODEV, Linux's answer for a file
        without an ``mmap`` operation (pipes, directories, /proc files)."""
        raise ENODEV

    def needs_polling(self) -> bool:
        """True when the file cannot notify every readiness change, so a
        waiter must re-check it on a timer: a host fd that is not a regular
        file (a terminal or pipe the host feeds), or an epoll instance
        watching one. Its ``readiness`` then asks the host."""
        return self.host_fd is not None and not self.seekable

    # -- metadata -------------------------------------------------------------------------

    def stat(self) -> os.stat_result:
        """The file's attributes (raises Errno)."""
        if self.dentry is not None:
            return self.dentry.stat()
        raise EBADF

    def ioctl(self, request: int, arg: int, read_arg: ReadArg | None = None) -> tuple[int, bytes | None]:
        """Returns ``(result, bytes to copy out to arg or None)``. ``read_arg(n)``
        returns the ``n`` bytes at ``arg`` (raising EFAULT) for requests that
        read a struct (``sentry.abi.termios.IN_SIZES``: exactly the
        struct's size); call it only once the request is known to be the
        file's, so a foreign request is ENOTTY whatever ``arg`` is."""
        raise ENOTTY

    def truncate(self, length: int) -> None:
        """ftruncate: EINVAL unless a writable regular file."""
        raise EINVAL

    def sync(self, data_only: bool) -> None:
        """fsync/fdatasync: EINVAL for files that cannot be synced."""
        raise EINVAL

    def chmod(self, mode: int) -> None:
        """fchmod."""
        if self.dentry is not None:
            self.dentry.chmod(mode)
            return
        raise EPERM

    def chown(self, uid: int, gid: int) -> None:
        """fchown."""
        if self.dentry is not None:
            self.dentry.chown(uid, gid)
            return
        raise EPERM

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        """futimens; see ``Dentry.utimens``."""
        if self.dentry is not None:
            self.dentry.utimens(atime, mtime)
            return
        raise EROFS

    def path_name(self) -> str:
        """What readlink of /proc/self/fd/N shows."""
        if self.dentry is not None:
            from sentry.vfs.context import absolute_path

            return absolute_path(self.dentry)
        return "anon_inode:[unknown]"

    # -- directories ------------------------------------------------------------------------

    def dir_entries(self) -> tuple[list[Dirent], int]:
        """``(entries, position)``: every entry of an open directory, and the
        index of the next one getdents returns. ENOTDIR for non-directories."""
        raise ENOTDIR

    def set_dir_position(self, pos: int) -> None:
        """Advance the getdents position (an index into ``dir_entries``)."""
        raise ENOTDIR

    # -- pipes ------------------------------------------------------------------------------

    def pipe_size(self) -> int:
        """F_GETPIPE_SZ; EBADF for anything but a pipe."""
        raise EBADF

    def set_pipe_size(self, size: int) -> int:
        """F_SETPIPE_SZ; returns the new size."""
        raise EBADF

    # -- seals (memfds) ---------------------------------------------------------------------

    def add_seals(self, seals: int) -> None:
        """F_ADD_SEALS; EPERM unless open for writing (Linux checks that
        first), else EINVAL for files that cannot be sealed."""
        if not self.writable:
            raise EPERM
        raise EINVAL

    def get_seals(self) -> int:
        """F_GET_SEALS; EINVAL for files that cannot be sealed."""
        raise EINVAL

    # -- reopening through /proc/self/fd ---------------------------------------------------------

    def reopen(self, flags: int) -> FileDescription:
        """A new description of the same file (opening /proc/self/fd/N of an
        anonymous file, /dev/stdin and friends); ENXIO if impossible."""
        raise ENXIO

    # -- references ---------------------------------------------------------------------------

    #: Called when the last reference goes, before ``release`` (epoll
    #: items forget the file then, Linux ``eventpoll_release``).
    _release_hooks: list[Callable[[], None]] | None = None

    def inc_ref(self) -> None:
        self.refs += 1

    def dec_ref(self) -> None:
        self.refs -= 1
        if self.refs == 0 and not self._released:
            self._released = True
            for hook in list(self._release_hooks or ()):
                hook()
            self.release()

    def on_release(self, hook: Callable[[], None]) -> None:
        """Run ``hook()`` when the last reference goes."""
        if self._release_hooks is None:
            self._release_hooks = []
        self._release_hooks.append(hook)

    def cancel_on_release(self, hook: Callable[[], None]) -> None:
        """Undo ``on_release`` (unknown hooks are ignored)."""
        if self._release_hooks is not None and hook in self._release_hooks:
            self._release_hooks.remove(hook)

    def release(self) -> None:
        """The last reference is gone (called once)."""

    # -- extended attributes: the dentry's, as f*xattr reach the inode ------------

    def getxattr(self, name: bytes) -> bytes:
        if self.dentry is None:
            raise EOPNOTSUPP
        return self.dentry.getxattr(name)

    def listxattr(self) -> list[bytes]:
        return self.dentry.listxattr() if self.dentry is not None else []

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        if self.dentry is None:
            raise EOPNOTSUPP
        self.dentry.setxattr(name, value, flags)

    def removexattr(self, name: bytes) -> None:
        if self.dentry is None:
            raise EOPNOTSUPP
        self.dentry.removexattr(name)


class PathFile(FileDescription):
    """An O_PATH descriptor: names ``dentry`` without opening it."""

    def __init__(self, flags: int, dentry: Dentry) -> None:
        super().__init__(flags, dentry)

    def stat(self) -> os.stat_result:
        assert self.dentry is not None
        return self.dentry.stat()


class DirectoryFileDescription(FileDescription):
    """An open directory (compare gVisor's ``vfs.DirectoryFileDescriptionDefaultImpl``).

    read is EISDIR. getdents is served from a snapshot of the entries
    (``.``, ``..``, then :meth:`_children`) taken when reading starts at
    position 0 (after open or a rewind); the position is an index into it,
    ``d_off`` of an entry is the index of the next one, and lseek moves it
    with SEEK_SET or SEEK_CUR.
    """

    #: SEEK_END from a size of 0, as /proc and /sys directories allow;
    #: False answers EINVAL, as tmpfs directories do.
    seek_end_allowed = True

    def __init__(self, flags: int, dentry: Dentry, ctx: FSContext) -> None:
        super().__init__(flags, dentry)
        self.seekable = True
        self._ctx = ctx
        self._pos = 0
        self._entries: list[Dirent] | None = None

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return 0, EISDIR

    def seek(self, offset: int, whence: int) -> int:
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self._pos + offset
        elif whence == SEEK_END and self.seek_end_allowed:
            new = offset  # a synthetic directory's size is 0 (Linux's default_llseek)
        else:
            raise EINVAL
        if new < 0:
            raise EINVAL
        self._pos = new
        if new == 0:
            self._entries = None
        return new

    def dir_entries(self) -> tuple[list[Dirent], int]:
        if self._entries is None or self._pos == 0:
            assert self.dentry is not None
            me = self.stat().st_ino
            try:
                up = self._ctx.parent_of(self.dentry).stat().st_ino
            except Errno:
                up = me
            self._entries = [Dirent(b".", me, DT_DIR), Dirent(b"..", up, DT_DIR), *self._children()]
        return self._entries, self._pos

    def _children(self) -> list[Dirent]:
        """The directory's entries after ``.`` and ``..``, for a new snapshot."""
        raise NotImplementedError

    def set_dir_position(self, pos: int) -> None:
        self._pos = pos


def check_readable(fd: FileDescription) -> Errno | None:
    return None if fd.readable else EBADF
