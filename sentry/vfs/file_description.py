"""``FileDescription``: an open file, the object fds point at.

File descriptions see only an ``IOSequence`` for data (never a task or a
Unicorn instance): ``read`` fills it with ``dst.copy_out_from(reader)``, so
bytes land straight in guest memory.

Contract of ``read``/``write`` (gVisor ``vfs.FileDescriptionImpl``): return
``(n, err)``; ``n`` counts bytes actually moved, ``err`` may accompany a
partial count (the syscall layer reports the count then, as Linux does).
``offset`` is -1 for the file's own position (read/write) or a position
(pread/pwrite); implementations that cannot seek raise ESPIPE for it.
"""

from __future__ import annotations

import os

from sentry.linuxerr import EBADF, EINVAL, ENOTTY, ESPIPE, Errno
from sentry.usermem import IOSequence

O_ACCMODE = 0o3
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_CLOEXEC = 0o2000000
O_PATH = 0o10000000


class FileDescription:
    """Base class: an open file with status flags.

    Subclasses override the operations they support; the defaults return
    what Linux returns for a file lacking the operation.
    """

    def __init__(self, flags: int) -> None:
        self.flags = flags
        self.refs = 1
        # Whether pread/pwrite/lseek work (false for pipes, sockets, ttys).
        self.seekable = False

    @property
    def readable(self) -> bool:
        acc = self.flags & O_ACCMODE
        return acc in (O_RDONLY, O_RDWR) and not self.flags & O_PATH

    @property
    def writable(self) -> bool:
        acc = self.flags & O_ACCMODE
        return acc in (O_WRONLY, O_RDWR) and not self.flags & O_PATH

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Read into ``dst``; see the module docstring."""
        return 0, EINVAL

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Write from ``src``; see the module docstring."""
        return 0, EINVAL

    def seek(self, offset: int, whence: int) -> int:
        """Reposition; returns the new offset (raises Errno)."""
        raise ESPIPE

    def stat(self) -> os.stat_result:
        """The file's attributes (raises Errno)."""
        raise EBADF

    def ioctl(self, request: int, arg: int) -> tuple[int, bytes | None]:
        """Returns ``(result, bytes to copy out to arg or None)``."""
        raise ENOTTY

    def inc_ref(self) -> None:
        self.refs += 1

    def dec_ref(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            self.release()

    def release(self) -> None:
        """The last reference is gone."""


def check_readable(fd: FileDescription) -> Errno | None:
    return None if fd.readable else EBADF
