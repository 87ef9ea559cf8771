"""A FileDescription over a host file descriptor.

Data moves with ``readv``/``writev`` (or ``preadv``/``pwritev``) straight
between the host fd and memoryviews of guest memory: no intermediate copy.
"""

from __future__ import annotations

import fcntl
import os
import stat as statmod
import struct

from sentry.linuxerr import EAGAIN, ENOTTY, ESPIPE, Errno, from_errno
from sentry.safemem import FromVecReaderFunc, FromVecWriterFunc
from sentry.usermem import IOSequence
from sentry.vfs.file_description import FileDescription

TCGETS = 0x5401
TIOCGWINSZ = 0x5413
FIONREAD = 0x541B
_IOCTL_SIZES = {TCGETS: 60, TIOCGWINSZ: 8}  # sizeof(struct termios), sizeof(struct winsize)


def _host_errno(e: OSError) -> Errno:
    return from_errno(e.errno or 5)


class HostFile(FileDescription):
    """An open host fd. ``owns_fd`` False for the inherited stdio fds, which
    the sentry must never close on the host."""

    def __init__(self, host_fd: int, flags: int, *, owns_fd: bool = True) -> None:
        super().__init__(flags)
        self.host_fd = host_fd
        self.owns_fd = owns_fd
        mode = os.fstat(host_fd).st_mode
        self.seekable = statmod.S_ISREG(mode) or statmod.S_ISBLK(mode)

    def _readv(self, bufs: list[memoryview], offset: int) -> int:
        if offset < 0:
            return os.readv(self.host_fd, bufs)
        return os.preadv(self.host_fd, bufs, offset)

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Read from the host fd straight into guest memory."""
        if offset >= 0 and not self.seekable:
            return 0, ESPIPE
        if dst.num_bytes() == 0:
            return 0, None
        def read_vec(bufs: list[memoryview]) -> tuple[int, Exception | None]:
            try:
                return self._readv(bufs, offset), None
            except BlockingIOError:
                return 0, EAGAIN
            except OSError as e:
                return 0, _host_errno(e)

        return dst.copy_out_from(FromVecReaderFunc(read_vec))

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        """Write guest memory straight to the host fd."""
        if offset >= 0 and not self.seekable:
            return 0, ESPIPE
        if src.num_bytes() == 0:
            return 0, None
        def write_vec(bufs: list[memoryview]) -> tuple[int, Exception | None]:
            try:
                if offset < 0:
                    return os.writev(self.host_fd, bufs), None
                return os.pwritev(self.host_fd, bufs, offset), None
            except BlockingIOError:
                return 0, EAGAIN
            except OSError as e:
                return 0, _host_errno(e)

        return src.copy_in_to(FromVecWriterFunc(write_vec))

    def seek(self, offset: int, whence: int) -> int:
        if not self.seekable:
            raise ESPIPE
        try:
            return os.lseek(self.host_fd, offset, whence)
        except OSError as e:
            raise _host_errno(e) from None

    def stat(self) -> os.stat_result:
        try:
            return os.fstat(self.host_fd)
        except OSError as e:
            raise _host_errno(e) from None

    def ioctl(self, request: int, arg: int) -> tuple[int, bytes | None]:
        """Terminal queries pass through to the host fd (ENOTTY when it is
        not a terminal, exactly as the host answers)."""
        size = _IOCTL_SIZES.get(request)
        try:
            if size is not None:
                return 0, fcntl.ioctl(self.host_fd, request, bytes(size))
            if request == FIONREAD:
                out = fcntl.ioctl(self.host_fd, request, bytes(4))
                return 0, out
        except OSError as e:
            raise _host_errno(e) from None
        raise ENOTTY

    def release(self) -> None:
        if self.owns_fd:
            os.close(self.host_fd)


def pack_int(v: int) -> bytes:
    return struct.pack("<i", v)
