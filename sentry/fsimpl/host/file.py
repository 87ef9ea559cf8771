"""File descriptions over host file descriptors.

Data moves with ``readv``/``writev`` (or ``preadv``/``pwritev``) straight
between the host fd and memoryviews of guest memory: no intermediate copy.
The host fd's own offset is the file position, so it advances by exactly
the bytes the host moved, and descriptions shared by dup share it.

``HostFile`` serves regular files opened through the guest's tree and the
host stdio the guest inherits (``owns_fd=False``: never closed, and
F_SETFL never changes the host's shared description). ``HostDirectory``
serves open directories (getdents, fchdir, ``*at`` calls).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat as statmod
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.abi import termios
from sentry.abi.fcntl import (
    DT_DIR,
    FIONREAD,
    O_ACCMODE,
    O_APPEND,
    O_NOATIME,
    O_NONBLOCK,
    O_RDONLY,
    O_TRUNC,
    O_WRONLY,
    SEEK_CUR,
)
from sentry.fsimpl.host import hostcalls
from sentry.fsimpl.host.hostcalls import truncated
from sentry.hostarch import AccessType
from sentry.hostfd import room
from sentry.linuxerr import (
    EACCES,
    EAGAIN,
    EBADF,
    EINVAL,
    ENOENT,
    ENOMEM,
    ENOTTY,
    EROFS,
    ESPIPE,
    Errno,
    errno_of,
)
from sentry.memmap.write_access import get_write_access, put_write_access
from sentry.safemem import FromVecReaderFunc, FromVecWriterFunc
from sentry.usermem import IOSequence
from sentry.vfs.dentry import Dentry, Dirent
from sentry.vfs.file_description import DirectoryFileDescription, FileDescription, ReadArg
from sentry.vfs.waiter import EVENT_IN, EVENT_OUT

if TYPE_CHECKING:
    from sentry.mm import MMapOpts
    from sentry.vfs.context import FSContext

# Terminal requests passed through to a host terminal: the kernel structs'
# sizes (asm-generic/termbits.h), never libc's. Requests about process
# groups and sessions are the guest's own business and are not forwarded.
_HOST_GET = {r: termios.OUT_SIZES[r] for r in (termios.TCGETS, termios.TCGETS2, termios.TIOCGWINSZ,
                                               termios.TIOCOUTQ, FIONREAD)}
_HOST_SET = frozenset({termios.TCSETS, termios.TCSETSW, termios.TCSETSF, termios.TCSETS2,
                       termios.TCSETSW2, termios.TCSETSF2, termios.TIOCSWINSZ})
_HOST_SETFL = O_APPEND | O_NONBLOCK | O_NOATIME


def _host_vec(
    fd: int,
    offset: int,
    at_position: Callable[[int, list[memoryview]], int],
    at_offset: Callable[[int, list[memoryview], int], int],
) -> Callable[[list[memoryview]], tuple[int, Exception | None]]:
    """One readv/writev-style call on ``fd`` as a ``(n, err)`` function:
    ``at_position`` (readv, writev) for ``offset < 0``, else ``at_offset``
    (preadv, pwritev) at ``offset``; a host would-block is EAGAIN."""

    def call(bufs: list[memoryview]) -> tuple[int, Exception | None]:
        try:
            if offset < 0:
                return at_position(fd, bufs), None
            return at_offset(fd, bufs, offset), None
        except BlockingIOError:
            return 0, EAGAIN
        except OSError as e:
            return 0, errno_of(e)

    return call


class _HostFDFile(FileDescription):
    """What HostFile and HostDirectory share: metadata calls on ``host_fd``,
    and closing it on release unless ``owns_fd`` is False."""

    host_fd: int
    owns_fd = True
    # (device, inode) while this description may write a regular file.
    _writer_key: tuple[int, int] | None = None

    def stat(self) -> os.stat_result:
        try:
            return os.fstat(self.host_fd)
        except OSError as e:
            raise errno_of(e) from None

    @property
    def in_writable_tree(self) -> bool:
        return self.dentry is not None and self.dentry.writable

    def _check_writable_tree(self) -> None:
        """EROFS unless the file lies in the guest's writable tree. A host
        fd without a dentry is inherited stdio whose file the guest has no
        writable name for (a tty, a pipe, a file outside the tree): the
        sentry never changes its metadata on the host."""
        if not self.in_writable_tree:
            raise EROFS

    # -- extended attributes, through the fd (inherited stdio has no dentry) ---

    def getxattr(self, name: bytes) -> bytes:
        return hostcalls.getxattr(f"/proc/self/fd/{self.host_fd}", name, follow=True)

    def listxattr(self) -> list[bytes]:
        return hostcalls.listxattr(f"/proc/self/fd/{self.host_fd}", follow=True)

    def setxattr(self, name: bytes, value: bytes, flags: int) -> None:
        self._check_writable_tree()
        hostcalls.setxattr(f"/proc/self/fd/{self.host_fd}", name, value, flags, follow=True)

    def removexattr(self, name: bytes) -> None:
        self._check_writable_tree()
        hostcalls.removexattr(f"/proc/self/fd/{self.host_fd}", name, follow=True)

    def sync(self, data_only: bool) -> None:
        try:
            (os.fdatasync if data_only else os.fsync)(self.host_fd)
        except OSError as e:
            raise errno_of(e) from None

    def chmod(self, mode: int) -> None:
        self._check_writable_tree()
        try:
            os.fchmod(self.host_fd, mode)
        except OSError as e:
            raise errno_of(e) from None

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        self._check_writable_tree()
        try:
            hostcalls.utimensat(self.host_fd, None, atime, mtime, 0)
        except OSError as e:
            raise errno_of(e) from None

    def release(self) -> None:
        if self._writer_key is not None:
            put_write_access(self._writer_key)
        if self.owns_fd:
            with contextlib.suppress(OSError):
                os.close(self.host_fd)


class HostFile(_HostFDFile):
    """An open host fd. ``owns_fd`` False for the inherited stdio fds,
    which the sentry must never close on the host."""

    def __init__(self, host_fd: int, flags: int, *, owns_fd: bool = True, dentry: Dentry | None = None) -> None:
        super().__init__(flags, dentry)
        self.host_fd = host_fd
        self.owns_fd = owns_fd
        st = os.fstat(host_fd)
        self.is_regular = statmod.S_ISREG(st.st_mode)
        self.seekable = self.is_regular or statmod.S_ISBLK(st.st_mode)
        # A writer of a regular file: executing it is ETXTBSY meanwhile.
        self._writer_key = (st.st_dev, st.st_ino) if self.is_regular and self.writable else None
        if self._writer_key is not None:
            get_write_access(self._writer_key)

    # -- data ---------------------------------------------------------------------

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Read from the host fd straight into guest memory; returns
        ``(n, err)`` with ``n`` the bytes the host delivered."""
        if offset >= 0 and not self.seekable:
            return 0, ESPIPE
        if dst.num_bytes() == 0:
            return 0, None
        return dst.copy_out_from(FromVecReaderFunc(_host_vec(self.host_fd, offset, os.readv, os.preadv)))

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Write guest memory straight to the host fd; returns ``(n, err)``
        with ``n`` the bytes the host accepted."""
        if offset >= 0 and not self.seekable:
            return 0, ESPIPE
        if src.num_bytes() == 0:
            return 0, None
        return src.copy_in_to(FromVecWriterFunc(_host_vec(self.host_fd, offset, os.writev, os.pwritev)))

    def seek(self, offset: int, whence: int) -> int:
        if not self.seekable:
            raise ESPIPE
        try:
            return os.lseek(self.host_fd, offset, whence)
        except OSError as e:
            raise errno_of(e) from None

    def readiness(self, mask: int) -> int:
        """Regular files are always ready; other host fds (a terminal or
        pipe on stdin) are asked with a host poll that does not wait."""
        if self.seekable:
            return super().readiness(mask)
        import select

        p = select.poll()
        p.register(self.host_fd, mask)
        got = p.poll(0)
        return got[0][1] if got else 0

    def host_wait(self, mask: int) -> bool:
        """Block in the host until the host fd is ready for ``mask``
        (``sentry.kernel.blocking``): input from outside can always come."""
        import select

        events = (select.POLLIN if mask & EVENT_IN else 0) | (select.POLLOUT if mask & EVENT_OUT else 0)
        p = select.poll()
        p.register(self.host_fd, events or select.POLLIN)
        p.poll()
        return True

    # -- flags --------------------------------------------------------------------

    def set_status_flags(self, flags: int) -> None:
        super().set_status_flags(flags)
        if not self.owns_fd:
            return
        try:
            cur = fcntl.fcntl(self.host_fd, fcntl.F_GETFL)
            fcntl.fcntl(self.host_fd, fcntl.F_SETFL, (cur & ~_HOST_SETFL) | (self.flags & _HOST_SETFL))
        except OSError as e:
            raise errno_of(e) from None

    # -- metadata (stat, sync, chmod, utimens: _HostFDFile) -------------------------

    def truncate(self, length: int) -> None:
        """EINVAL unless a regular file open for writing (Linux's order),
        then EROFS outside the writable tree: an inherited stdout redirected
        to a host file may be written, never resized."""
        if not self.is_regular or not self.writable:
            raise EINVAL
        self._check_writable_tree()
        try:
            os.ftruncate(self.host_fd, length)
        except OSError as e:
            raise errno_of(e) from None
        truncated(self.host_fd)

    def chown(self, uid: int, gid: int) -> None:
        self._check_writable_tree()
        try:
            os.fchown(self.host_fd, uid, gid)
        except OSError as e:
            raise errno_of(e) from None

    def ioctl(self, request: int, arg: int, read_arg: ReadArg | None = None) -> tuple[int, bytes | None]:
        """FIONREAD on a regular file is the bytes left before end of file;
        termios and window-size requests pass through to the host fd with
        the kernel's struct sizes (ENOTTY when it is not a terminal, exactly
        as the host answers). Setting a host terminal's modes is allowed:
        run-guest restores its own terminal's settings when it ends."""
        if request == FIONREAD and self.is_regular:
            st = self.stat()
            pos = os.lseek(self.host_fd, 0, SEEK_CUR)
            return 0, struct.pack("<i", max(0, min(st.st_size - pos, 0x7FFFFFFF)))
        try:
            size = _HOST_GET.get(request)
            if size is not None:
                out = fcntl.ioctl(self.host_fd, request, bytes(size))
                assert len(out) == size
                return 0, out
            if request in _HOST_SET and read_arg is not None:
                # Only a terminal takes these: ask the host with a query
                # first, so a non-tty is ENOTTY before arg is read.
                fcntl.ioctl(self.host_fd, termios.TCGETS, bytes(termios.TERMIOS.size))
                fcntl.ioctl(self.host_fd, request, read_arg(termios.IN_SIZES[request]))
                return 0, None
        except OSError as e:
            raise errno_of(e) from None
        raise ENOTTY

    def path_name(self) -> str:
        if self.dentry is not None:
            name = super().path_name()
            if not name.endswith(" (deleted)") and self.is_regular and self.stat().st_nlink == 0:
                name += " (deleted)"
            return name
        try:
            return os.readlink(f"/proc/self/fd/{self.host_fd}")
        except OSError:
            return "anon_inode:[host]"

    def reopen(self, flags: int) -> FileDescription:
        """Open the same host file again (/dev/stdout, /proc/self/fd/N).

        Only inherited stdio (no dentry) is reopened this way, and never
        with more access than its own description: reading what was opened
        write-only is EACCES; writing what was opened read-only, or
        O_TRUNC, is EROFS for a regular file (Linux's answer on a read-only
        mount) and EACCES for anything else (a tty or pipe the guest was
        given one end of)."""
        if self.dentry is None:
            wants = flags & O_ACCMODE
            if wants != O_WRONLY and not self.readable:
                raise EACCES
            if wants != O_RDONLY and not self.writable:
                raise EROFS if self.is_regular else EACCES
            if flags & O_TRUNC and self.is_regular:
                raise EROFS
        hflags = (flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_TRUNC)) | os.O_CLOEXEC | os.O_NOCTTY
        room()
        try:
            hfd = os.open(f"/proc/self/fd/{self.host_fd}", hflags)
        except OSError as e:
            raise errno_of(e) from None
        return HostFile(hfd, flags, dentry=self.dentry)

    # -- memory mapping -------------------------------------------------------------

    def configure_mmap(self, opts: MMapOpts) -> None:
        """mmap of a regular host file: the mapping is the host's mmap of
        the fd. MAP_SHARED needs a writable fd to allow PROT_WRITE (the
        MemoryManager then fails a write mapping with EACCES)."""
        from sentry.linuxerr import ENODEV
        from sentry.memmap.mappable import HostFileMappable

        if not self.is_regular:
            raise ENODEV
        shared = not opts.private
        writable = self.writable and shared
        if shared and not self.writable:
            opts.max_perms = AccessType(True, False, True)
        try:
            opts.mappable = HostFileMappable(self.host_fd, self.path_name(), writable=writable)
        except Errno:
            raise ENOMEM from None  # no host fd left for the mapping: Linux's "too many maps"


class HostDirectory(_HostFDFile, DirectoryFileDescription):
    """An open host directory; getdents lists the host's entries, then the
    mount points the host directory lacks (see DirectoryFileDescription).
    Positions index a snapshot, so SEEK_END is EINVAL (as tmpfs)."""

    seek_end_allowed = False

    def __init__(self, host_fd: int, flags: int, dentry: Dentry, ctx: FSContext) -> None:
        super().__init__(flags, dentry, ctx)
        self.host_fd = host_fd

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return 0, EBADF

    def dir_entries(self) -> tuple[list[Dirent], int]:
        """All entries (``.``, ``..``, the host's, then mount points the host
        directory lacks) and the current index. ENOENT once the directory
        was removed, as Linux reports for a dead directory."""
        if self.stat().st_nlink == 0:
            raise ENOENT
        return super().dir_entries()

    def _children(self) -> list[Dirent]:
        from sentry.fsimpl.host.hostcalls import list_host_dir

        assert self.dentry is not None
        entries = list_host_dir(self.host_fd)
        names = {e.name for e in entries}
        for name, root in self._ctx.vfs.mounts_in(self.dentry):
            if name not in names:
                try:
                    ino = root.stat().st_ino
                except Errno:
                    ino = 1
                entries.append(Dirent(name, ino, DT_DIR))
        return entries

