"""Character devices of ``drivers/char/mem.c`` and ``random.c``:
/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom.

All of them allow pread/pwrite and answer every lseek with 0, as Linux
does. Data moves through the IOSequence without intermediate buffers:
/dev/zero zeroes the destination blocks of guest memory in place, the
random devices ``readv`` the host's /dev/urandom straight into them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import ENOSPC
from sentry.safemem import BlockSeq, FromVecReaderFunc, ReaderFunc, WriterFunc, zero_seq
from sentry.usermem import IOSequence
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

if TYPE_CHECKING:
    from sentry.mm import MMapOpts

_ZERO_READER = ReaderFunc(zero_seq)


def _discard(srcs: BlockSeq) -> tuple[int, Exception | None]:
    return srcs.num_bytes(), None


_DISCARD_WRITER = WriterFunc(_discard)


class _Device(FileDescription):
    """Common parts: positional I/O allowed, every seek lands at 0."""

    def __init__(self, flags: int, dentry: Dentry | None) -> None:
        super().__init__(flags, dentry)
        self.seekable = True

    def seek(self, offset: int, whence: int) -> int:
        return 0


class NullFile(_Device):
    """/dev/null: reads see end of file; writes succeed without reading
    the buffer (Linux ``write_null`` returns the count untouched)."""

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return 0, None

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return src.num_bytes(), None


class ZeroFile(_Device):
    """/dev/zero: reads zero the destination in place; writes are
    discarded unread; MAP_PRIVATE maps anonymous memory and MAP_SHARED
    shared anonymous memory (Linux ``mmap_zero``)."""

    def __init__(self, flags: int, dentry: Dentry | None, mf: Any = None) -> None:
        super().__init__(flags, dentry)
        self._mf = mf

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        if dst.num_bytes() == 0:
            return 0, None
        return dst.copy_out_from(_ZERO_READER)

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return src.num_bytes(), None

    def configure_mmap(self, opts: MMapOpts) -> None:
        if opts.private:
            opts.mappable = None
            return
        from sentry.memmap.mappable import SharedAnonMappable

        size = (opts.length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        opts.mappable = SharedAnonMappable(self._mf, size)


class FullFile(_Device):
    """/dev/full: reads like /dev/zero; every write fails with ENOSPC,
    zero-length ones included."""

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        if dst.num_bytes() == 0:
            return 0, None
        return dst.copy_out_from(_ZERO_READER)

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return 0, ENOSPC


_urandom_fd: int | None = None


def _host_urandom() -> int | None:
    global _urandom_fd
    if _urandom_fd is None:
        try:
            _urandom_fd = os.open("/dev/urandom", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            _urandom_fd = -1
    return None if _urandom_fd < 0 else _urandom_fd


def _read_random(bufs: list[memoryview]) -> tuple[int, Exception | None]:
    fd = _host_urandom()
    if fd is not None:
        return os.readv(fd, bufs), None
    n = 0
    for b in bufs:
        b[:] = os.urandom(len(b))
        n += len(b)
    return n, None


_RANDOM_READER = FromVecReaderFunc(_read_random)


class RandomFile(_Device):
    """/dev/random and /dev/urandom: the host's urandom bytes, read
    straight into guest memory (Linux 5.6+ /dev/random never blocks once
    the pool is initialised). Writes are accepted and discarded (Linux
    mixes them into the pool without crediting entropy)."""

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        if dst.num_bytes() == 0:
            return 0, None
        return dst.copy_out_from(_RANDOM_READER)

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        if src.num_bytes() == 0:
            return 0, None
        return src.copy_in_to(_DISCARD_WRITER)
