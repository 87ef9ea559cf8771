"""Sockets owned by the sentry (gVisor ``pkg/sentry/socket``).

:class:`SocketFile` is the family-neutral part: a file description whose
read/write are recvmsg/sendmsg without flags, that stats as S_IFSOCK on
sockfs and shows as ``socket:[ino]`` in /proc/self/fd. Each family
(``sentry.socket.unix``) subclasses it. The syscall layer
(``sentry.syscalls.linux.sys_socket``) parses guest arguments, builds a
:class:`SocketEnv` and does the blocking; sockets see IOSequences, byte
strings and the env, never a task.

Results follow the file-description contract: data operations return
``(n, err)`` (EAGAIN meaning "would block"); the others raise Errno.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from sentry.abi.stat import make_stat
from sentry.fsimpl.kernfs import next_ino
from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import EOPNOTSUPP
from sentry.usermem import IOSequence
from sentry.vfs.file_description import FileDescription
from sentry.vfs.waiter import Entry, Queue

AF_UNSPEC = 0
AF_UNIX = 1
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_SEQPACKET = 5
SOCK_NONBLOCK = 0o4000
SOCK_CLOEXEC = 0o2000000
S_IFSOCK = 0o140000
SOCKFS_DEV = os.makedev(0, 8)

# send/recv flags (include/linux/socket.h).
MSG_OOB = 0x1
MSG_PEEK = 0x2
MSG_DONTROUTE = 0x4
MSG_CTRUNC = 0x8
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_EOR = 0x80
MSG_WAITALL = 0x100
MSG_NOSIGNAL = 0x4000
MSG_MORE = 0x8000
MSG_CMSG_CLOEXEC = 0x40000000

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
RCV_SHUTDOWN, SEND_SHUTDOWN = 1, 2


@dataclass(frozen=True)
class Ucred:
    """``struct ucred``: a process's pid, uid and gid."""

    pid: int
    uid: int
    gid: int


@dataclass
class SocketEnv:
    """What a socket operation needs from its caller besides data: the
    file-system context and umask (binding and connecting to paths), the
    caller's credentials (SO_PEERCRED: effective ids; SCM_CREDENTIALS:
    real ids) and the kernel-wide name table (``names``)."""

    fs: Any = None
    start: Any = None
    umask: int = 0o022
    peer_cred: Ucred = field(default_factory=lambda: Ucred(0, 0, 0))
    scm_cred: Ucred = field(default_factory=lambda: Ucred(0, 0, 0))
    names: dict[object, Any] = field(default_factory=dict)


@dataclass
class ControlMessages:
    """Ancillary data travelling with a message: passed descriptions
    (SCM_RIGHTS; each holds one reference while in flight) and the
    sender's credentials (SCM_CREDENTIALS)."""

    rights: list[FileDescription] | None = None
    cred: Ucred | None = None
    #: Set once a message carrying these was queued: the receiver owns them.
    queued: bool = False

    def release(self) -> None:
        """Drop the references of undelivered descriptions."""
        if self.rights:
            for f in self.rights:
                f.dec_ref()
            self.rights = None


@dataclass
class RecvResult:
    """What recvmsg reports besides the count: the sender's address
    (sockaddr bytes, or None), the msg_flags bits (MSG_TRUNC, MSG_EOR) and
    the control messages, the sender's credentials (reported as
    SCM_CREDENTIALS when the receiver has SO_PASSCRED), and for MSG_TRUNC
    datagrams the full length."""

    addr: bytes | None = None
    cred: Ucred | None = None
    flags: int = 0
    control: ControlMessages | None = None
    full_length: int | None = None


class SocketFile(FileDescription):
    """An open socket. Subclasses implement the operations; the defaults
    are what Linux answers for a family lacking them (EOPNOTSUPP)."""

    family = AF_UNSPEC

    def __init__(self, sock_type: int, protocol: int, flags: int, queue: Queue) -> None:
        from sentry.abi.fcntl import O_RDWR

        super().__init__(O_RDWR | flags)
        self.sock_type = sock_type
        self.protocol = protocol
        self.queue = queue
        self.ino = next_ino()
        self.ctime_ns = time.time_ns()
        self.uid = os.geteuid()
        self.gid = os.getegid()
        # Set by a send that would block until another socket's queue has
        # room (a datagram receiver's): the caller waits there, not here.
        self.send_wait: Queue | None = None
        self.epipe_signals = sock_type == SOCK_STREAM
        # SO_PASSCRED: received messages carry SCM_CREDENTIALS.
        self.passcred = False
        # SO_RCVTIMEO / SO_SNDTIMEO in nanoseconds (0: wait forever).
        self.rcv_timeout_ns = 0
        self.snd_timeout_ns = 0

    # -- the socket calls -------------------------------------------------------------

    def bind(self, addr: bytes, env: SocketEnv) -> None:
        raise EOPNOTSUPP

    def listen(self, backlog: int, env: SocketEnv) -> None:
        raise EOPNOTSUPP

    def accept(self, flags: int) -> tuple[SocketFile | None, Exception | None]:
        """``(new socket, None)`` or ``(None, EAGAIN)`` when none is pending."""
        raise EOPNOTSUPP

    def connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        """Connect; returns None when done, or the wait queue to wait on
        when the peer cannot take the connection yet (raise EAGAIN for a
        non-blocking socket is the caller's)."""
        raise EOPNOTSUPP

    def sendmsg(self, src: IOSequence, flags: int, to: bytes | None, control: ControlMessages | None,
                env: SocketEnv) -> tuple[int, Exception | None]:
        raise EOPNOTSUPP

    def recvmsg(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        raise EOPNOTSUPP

    def shutdown(self, how: int) -> None:
        raise EOPNOTSUPP

    def getsockname(self) -> bytes:
        raise EOPNOTSUPP

    def getpeername(self) -> bytes:
        raise EOPNOTSUPP

    def getsockopt(self, level: int, name: int, optlen: int) -> bytes:
        raise EOPNOTSUPP

    def setsockopt(self, level: int, name: int, value: bytes) -> None:
        raise EOPNOTSUPP

    # -- as a file ----------------------------------------------------------------------

    def read(self, dst: IOSequence, offset: int) -> tuple[int, Exception | None]:
        if dst.num_bytes() == 0:
            return 0, None  # Linux sock_read_iter: "match SYS5 behaviour"
        r = RecvResult()
        n, err = self.recvmsg(dst, 0, r)
        if r.control is not None:
            r.control.release()  # read(2) drops passed descriptors
        return n, err

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        return self.sendmsg(src, 0, None, None, SocketEnv())

    def event_register(self, e: Entry) -> None:
        self.queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.queue.event_unregister(e)

    def stat(self) -> os.stat_result:
        return make_stat(
            mode=S_IFSOCK | 0o777, ino=self.ino, dev=SOCKFS_DEV, uid=self.uid, gid=self.gid, blksize=PAGE_SIZE,
            atime_ns=self.ctime_ns, mtime_ns=self.ctime_ns, ctime_ns=self.ctime_ns,
        )

    def chmod(self, mode: int) -> None:
        return None

    def utimens(self, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
        return None

    def path_name(self) -> str:
        return f"socket:[{self.ino}]"
