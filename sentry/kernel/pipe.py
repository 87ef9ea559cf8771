"""Pipes implemented in the sentry (Linux ``fs/pipe.c``; gVisor
``kernel/pipe``).

A :class:`Pipe` is a ring of page-sized slots, as in Linux: 16 slots by
default (64 KiB), resized with F_SETPIPE_SZ to a power-of-two number of
pages. Linux's packing rules are kept so capacities match byte for byte:

* a write first merges ``len % PAGE_SIZE`` bytes into the last slot if
  they fit there, then fills fresh slots a page at a time;
* a write of at most PIPE_BUF (4096) bytes therefore lands in one slot or
  merges whole: it is never split (atomicity);
* reads consume from the oldest slot; a slot is freed when empty.

Semantics: a read of an empty pipe returns 0 (end of file) once every
writer is gone, else would block (EAGAIN); a write with no reader left
fails with EPIPE (the syscall layer raises SIGPIPE); a write into a full
pipe moves what fits and then would block. Blocking itself is the
syscall layer's business (``sentry.kernel.blocking``): pipe ends report
readiness and notify a wait queue (``sentry.vfs.waiter``) whenever data,
space, readers or writers change, so a parked task can be woken.

Memory faults follow Linux: a slot's worth of data that cannot be copied
completely is not consumed (read) or not committed (write); the bytes
moved before it are reported, EFAULT only when nothing moved.
"""

from __future__ import annotations

import os
import struct
import time
from collections import deque

from sentry.abi.fcntl import FIONREAD, O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, S_IFIFO
from sentry.abi.stat import make_stat
from sentry.fsimpl.kernfs import next_ino
from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import EAGAIN, EBUSY, EINVAL, ENOTTY, EPERM, EPIPE
from sentry.safemem import BlockSeq, ReaderFunc, WriterFunc
from sentry.usermem import IOSequence
from sentry.vfs.file_description import FileDescription, ReadArg
from sentry.vfs.waiter import (
    EVENT_ERR,
    EVENT_HUP,
    EVENT_IN,
    EVENT_OUT,
    EVENT_RD_NORM,
    EVENT_WR_NORM,
    Entry,
    Queue,
)

PIPE_BUF = 4096
DEFAULT_PIPE_SLOTS = 16
DEFAULT_PIPE_SIZE = DEFAULT_PIPE_SLOTS * PAGE_SIZE  # 65536
MAX_PIPE_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size
PIPEFS_DEV = os.makedev(0, 14)


class _Slot:
    """One page of a pipe: ``data`` holds what was written into the page,
    ``start`` how much of it was read already."""

    __slots__ = ("data", "start")

    def __init__(self, data: bytearray) -> None:
        self.data = data
        self.start = 0

    def __len__(self) -> int:
        return len(self.data) - self.start


def _views(blocks: BlockSeq) -> tuple[list[memoryview], int]:
    views = list(blocks.views())
    return views, blocks.num_bytes()


class Pipe:
    """The shared buffer of a pipe and its reader/writer counts."""

    def __init__(self) -> None:
        self.slots: deque[_Slot] = deque()
        self.max_slots = DEFAULT_PIPE_SLOTS
        self.readers = 0
        self.writers = 0
        self.queue = Queue()
        self.ino = next_ino()
        self.mode = S_IFIFO | 0o600
        self.ctime_ns = time.time_ns()
        self.uid = os.geteuid()
        self.gid = os.getegid()
        self._size = 0

    # -- state ----------------------------------------------------------------------

    def size(self) -> int:
        """Bytes waiting to be read (FIONREAD)."""
        return self._size

    def capacity(self) -> int:
        """F_GETPIPE_SZ."""
        return self.max_slots * PAGE_SIZE

    def is_full(self) -> bool:
        return len(self.slots) >= self.max_slots

    def readiness(self, mask: int, reader: bool, writer: bool) -> int:
        # Linux pipe_poll: POLLRDNORM and POLLWRNORM come with POLLIN and
        # POLLOUT.
        ready = 0
        if reader:
            if self._size:
                ready |= EVENT_IN | EVENT_RD_NORM
            if self.writers == 0:
                ready |= EVENT_HUP
        if writer:
            # Linux pipe_poll: writable while there is room, with POLLERR
            # besides once the readers are gone.
            if self.readers == 0:
                ready |= EVENT_ERR
            if not self.is_full():
                ready |= EVENT_OUT | EVENT_WR_NORM
        return ready & (mask | EVENT_ERR | EVENT_HUP)

    # -- data ----------------------------------------------------------------------

    def read(self, dst: IOSequence) -> tuple[int, Exception | None]:
        """Read into ``dst``. Returns ``(n, None)`` for data or end of file
        (``n == 0`` when every writer is gone), ``(0, EAGAIN)`` when empty
        with writers left, and ``(n, EFAULT)`` from the memory layer when
        a slot could not be copied (``n`` counts whole slots' bytes before
        it; the failed slot's bytes that fit before the fault are copied
        but nothing of it is consumed, as in Linux)."""
        want = dst.num_bytes()
        if want == 0:
            return 0, None
        if not self.slots:
            return (0, None) if self.writers == 0 else (0, EAGAIN)

        def read_to_blocks(dsts: BlockSeq) -> tuple[int, Exception | None]:
            views, room = _views(dsts)
            vi = 0
            voff = 0
            done = 0
            slots = self.slots
            while slots and done < want:
                slot = slots[0]
                chars = min(len(slot), want - done)
                partial = done + chars > room
                src = memoryview(slot.data)[slot.start : slot.start + min(chars, room - done)]
                pos = 0
                nsrc = len(src)
                while pos < nsrc:
                    v = views[vi]
                    k = min(len(v) - voff, nsrc - pos)
                    v[voff : voff + k] = src[pos : pos + k]
                    pos += k
                    voff += k
                    if voff == len(v):
                        vi += 1
                        voff = 0
                if partial:
                    # Linux copies what fits before the fault but consumes
                    # nothing of this slot (``copy_page_to_iter`` short).
                    break
                done += chars
                slot.start += chars
                self._size -= chars
                if not len(slot):
                    slots.popleft()
            return done, None

        n, err = dst.copy_out_from(ReaderFunc(read_to_blocks))
        if n:
            self.queue.notify(EVENT_OUT | EVENT_WR_NORM)
        return n, err

    def write(self, src: IOSequence) -> tuple[int, Exception | None]:
        """Write from ``src``. Returns ``(n, None)`` when everything was
        written, ``(0, EPIPE)`` without readers, ``(n, EAGAIN)`` when the
        pipe filled up after ``n`` bytes (0 for a write of at most
        PIPE_BUF that does not fit whole), and ``(n, EFAULT)`` from the
        memory layer when a page could not be copied."""
        total = src.num_bytes()
        if total == 0:
            return 0, None
        if self.readers == 0:
            return 0, EPIPE

        def write_from_blocks(srcs: BlockSeq) -> tuple[int, Exception | None]:
            views, avail = _views(srcs)
            cursor = [0, 0]  # view index, offset in view

            def take(n: int, into: bytearray) -> None:
                vi, voff = cursor
                left = n
                while left:
                    v = views[vi]
                    k = min(len(v) - voff, left)
                    into += v[voff : voff + k]
                    left -= k
                    voff += k
                    if voff == len(v):
                        vi += 1
                        voff = 0
                cursor[0], cursor[1] = vi, voff

            written = 0
            chars = total & (PAGE_SIZE - 1)
            slots = self.slots
            if chars and slots:
                last = slots[-1].data
                if len(last) + chars <= PAGE_SIZE:
                    if avail < chars:
                        return 0, None  # Linux: EFAULT, nothing committed
                    take(chars, last)
                    written = chars
                    self._size += chars
                    if written == total:
                        return written, None
            while written < total:
                if len(slots) >= self.max_slots:
                    return written, EAGAIN
                n = min(PAGE_SIZE, total - written)
                if written + n > avail:
                    return written, None  # the page faults: not committed
                page = bytearray()
                take(n, page)
                slots.append(_Slot(page))
                written += n
                self._size += n
            return written, None

        n, err = src.copy_in_to(WriterFunc(write_from_blocks))
        if n:
            self.queue.notify(EVENT_IN | EVENT_RD_NORM)
        return n, err

    # -- ends ----------------------------------------------------------------------

    def open_end(self, reader: bool, writer: bool) -> None:
        if reader:
            self.readers += 1
        if writer:
            self.writers += 1

    def close_end(self, reader: bool, writer: bool) -> None:
        if reader:
            self.readers -= 1
            if self.readers == 0:
                self.queue.notify(EVENT_ERR | EVENT_OUT | EVENT_WR_NORM)
        if writer:
            self.writers -= 1
            if self.writers == 0:
                self.queue.notify(EVENT_HUP | EVENT_IN | EVENT_RD_NORM)

    def set_capacity(self, size: int) -> int:
        """F_SETPIPE_SZ (Linux ``pipe_set_size``): round up to a power of
        two pages (at least one); EINVAL above 2**31, EPERM above
        pipe-max-size without privilege, EBUSY if the data would not fit."""
        size &= 0xFFFFFFFF
        if size > 1 << 31:
            raise EINVAL
        new = PAGE_SIZE if size < PAGE_SIZE else 1 << (size - 1).bit_length()
        if new > MAX_PIPE_SIZE and os.geteuid() != 0:
            raise EPERM
        slots = new // PAGE_SIZE
        if len(self.slots) > slots:
            raise EBUSY
        self.max_slots = slots
        self.queue.notify(EVENT_OUT | EVENT_WR_NORM)
        return new

    def stat(self) -> os.stat_result:
        return make_stat(
            mode=self.mode, ino=self.ino, dev=PIPEFS_DEV, uid=self.uid, gid=self.gid, blksize=PAGE_SIZE,
            atime_ns=self.ctime_ns, mtime_ns=self.ctime_ns, ctime_ns=self.ctime_ns,
        )


class PipeFile(FileDescription):
    """One end of a pipe: O_RDONLY (read end), O_WRONLY (write end), or
    O_RDWR (both, when reopened through /proc/self/fd like a FIFO)."""

    def __init__(self, pipe: Pipe, flags: int) -> None:
        super().__init__(flags)
        self.pipe = pipe
        acc = flags & O_ACCMODE
        self._reader = acc in (O_RDONLY, O_RDWR)
        self._writer = acc in (O_WRONLY, O_RDWR)
        pipe.open_end(self._reader, self._writer)

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return self.pipe.read(dst)

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return self.pipe.write(src)

    def readiness(self, mask: int) -> int:
        return self.pipe.readiness(mask, self._reader, self._writer)

    def event_register(self, e: Entry) -> None:
        self.pipe.queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.pipe.queue.event_unregister(e)

    def stat(self) -> os.stat_result:
        return self.pipe.stat()

    def chmod(self, mode: int) -> None:
        self.pipe.mode = S_IFIFO | (mode & 0o7777)

    def chown(self, uid: int, gid: int) -> None:
        if uid != -1 and uid != 0xFFFFFFFF:
            self.pipe.uid = uid
        if gid != -1 and gid != 0xFFFFFFFF:
            self.pipe.gid = gid

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        return None

    def ioctl(self, request: int, arg: int, read_arg: ReadArg | None = None) -> tuple[int, bytes | None]:
        if request == FIONREAD:
            return 0, struct.pack("<i", min(self.pipe.size(), 0x7FFFFFFF))
        raise ENOTTY

    def pipe_size(self) -> int:
        return self.pipe.capacity()

    def set_pipe_size(self, size: int) -> int:
        return self.pipe.set_capacity(size)

    def path_name(self) -> str:
        return f"pipe:[{self.pipe.ino}]"

    def reopen(self, flags: int) -> FileDescription:
        return PipeFile(self.pipe, flags)

    def release(self) -> None:
        self.pipe.close_end(self._reader, self._writer)


def new_pipe(flags: int = 0) -> tuple[PipeFile, PipeFile]:
    """A fresh pipe's (read end, write end); ``flags`` may hold O_NONBLOCK
    (and O_DIRECT, accepted but not packet mode). Each end holds one
    reference."""
    p = Pipe()
    status = flags & O_NONBLOCK
    return PipeFile(p, O_RDONLY | status), PipeFile(p, O_WRONLY | status)

