"""Open /proc/[pid] files (gVisor ``vfs.DynamicBytesFileDescriptionImpl``,
``fsimpl/proc/task_files.go``).

* :class:`SeqFile`: generated text. The contents are generated when a
  read starts at offset 0 (or nothing was generated yet, or a pread asks
  for an offset other than the one the last read stopped at) and reused
  for the reads that follow, so a sequence of short reads sees one
  consistent snapshot, like Linux's seq_file. lseek takes SEEK_SET and
  SEEK_CUR (EINVAL otherwise and for negative results).
* :class:`MemFile`: /proc/[pid]/mem, the address space itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.abi.fcntl import SEEK_CUR, SEEK_SET
from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import EFAULT, EINVAL, EIO
from sentry.usermem import IOOpts, IOSequence
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

if TYPE_CHECKING:
    from sentry.mm import MemoryManager

_FORCE = IOOpts(ignore_permissions=True)
_CHUNK = 1 << 20


class SeqFile(FileDescription):
    """A file whose bytes come from ``generate()`` (see module docstring).

    ``write_fn(data)``, when given, receives each write's bytes and returns
    the count to report (or raises an Errno); without it writes are EINVAL.
    """

    def __init__(
        self,
        flags: int,
        dentry: Dentry | None,
        generate: Callable[[], bytes],
        write_fn: Callable[[bytes], int] | None = None,
        max_write: int = PAGE_SIZE,
    ) -> None:
        super().__init__(flags, dentry)
        self.seekable = True
        self._generate = generate
        self._write_fn = write_fn
        self._max_write = max_write
        self._data: bytes | None = None
        self._pos = 0
        self._end = 0  # where the last read stopped

    def contents(self, offset: int) -> bytes:
        """The snapshot a read at ``offset`` is served from."""
        if self._data is None or offset == 0 or offset != self._end:
            self._data = self._generate()
        return self._data

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        pos = self._pos if offset < 0 else offset
        if dst.num_bytes() == 0:
            return 0, None
        data = self.contents(pos)
        chunk = data[pos : pos + dst.num_bytes()] if pos < len(data) else b""
        if not chunk:
            return 0, None
        n, err = dst.copy_out(chunk)
        if offset < 0:
            self._pos += n
        self._end = pos + n
        return n, err

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        if self._write_fn is None:
            return 0, EINVAL
        total = src.num_bytes()
        buf = bytearray(min(total, self._max_write))
        n, err = src.copy_in(buf)
        if n < len(buf):
            return 0, err or EFAULT
        written = self._write_fn(bytes(buf))
        reported = total if written == len(buf) else written
        if offset < 0:
            self._pos += reported
        return reported, None

    def seek(self, offset: int, whence: int) -> int:
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self._pos + offset
        else:
            raise EINVAL
        if new < 0:
            raise EINVAL
        self._pos = new
        return new


class MemFile(FileDescription):
    """/proc/[pid]/mem: the file offset is a virtual address of ``mm``.

    Reads and writes go through the MemoryManager with
    ``ignore_permissions`` (Linux FOLL_FORCE: read-only and PROT_NONE
    memory can be read, read-only private memory written, copy-on-write).
    A transfer stops at the first page it cannot reach and returns the
    bytes before it; reaching nothing is EIO. lseek takes SEEK_SET and
    SEEK_CUR only and may set any position (Linux ``mem_lseek``).
    """

    def __init__(self, flags: int, dentry: Dentry | None, mm: MemoryManager | None) -> None:
        super().__init__(flags, dentry)
        self.seekable = True
        self.mm = mm
        self._pos = 0

    def _transfer(self, seq: IOSequence, offset: int, write: bool) -> tuple[int, Exception | None]:
        pos = self._pos if offset < 0 else offset
        if seq.num_bytes() == 0:
            return 0, None
        mm = self.mm
        if mm is None or mm.users <= 0:
            return 0, None
        done = 0
        err: Exception | None = None
        while seq.num_bytes() > 0:
            buf = bytearray(min(seq.num_bytes(), _CHUNK))
            if write:
                got, err = seq.copy_in(buf)
                n, _ = mm.copy_out(pos + done, bytes(buf[:got]), _FORCE)
                short = n < len(buf)
            else:
                n, _ = mm.copy_in(pos + done, buf, _FORCE)
                short = n < len(buf)
                if n:
                    got, err = seq.copy_out(bytes(buf[:n]))
                    short = short or got < n
                    n = got
            done += n
            seq = seq.drop_first(n)
            if short or n == 0:
                break
        if done == 0:
            return 0, err if err is not None else EIO
        if offset < 0:
            self._pos += done
        return done, None

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return self._transfer(dst, offset, False)

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return self._transfer(src, offset, True)

    def seek(self, offset: int, whence: int) -> int:
        if whence == SEEK_SET:
            self._pos = offset
        elif whence == SEEK_CUR:
            self._pos += offset
        else:
            raise EINVAL
        return self._pos
