"""AF_UNIX sockets (Linux ``net/unix/af_unix.c``; gVisor
``socket/unix`` and ``socket/unix/transport``).

Each :class:`UnixSocket` is one endpoint. A connected stream or seqpacket
pair points at each other (``peer``); a datagram socket's ``peer`` is the
socket it connected to, if any. Data lives in the receiver's queue as
:class:`_Message` records (a stream write is split into chunks, as Linux
splits it into skbs); the bytes a sender has queued somewhere count
against its SO_SNDBUF (``wmem``), which is what makes a sender block, as
in Linux. Datagram receivers also refuse more than ``max_dgram_qlen``
(10) queued messages from senders they are not connected to.

Names: a socket bound to a path owns a socket inode made in the guest's
file system by bind (``Dentry.mknod``); a socket bound in the abstract
namespace (``sun_path[0] == 0``) has no inode. Both are found through
``SocketEnv.names`` (one table per kernel), keyed by
``("path", dentry key)`` or ``("abstract", type, name)``; closing the socket
removes its entry (the inode stays, as in Linux, and connecting to it is
then ECONNREFUSED).

Divergences: sends are charged their payload bytes only (Linux charges
the skb's truesize, so Linux fits fewer bytes in the same SO_SNDBUF);
descriptors passed in a cycle (a socket sent over itself) are not
garbage collected; autobind happens only for bind with a bare family.
"""

from __future__ import annotations

import itertools
import struct
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sentry.linuxerr import (
    ECONNRESET,
    EINVAL,
    Errno,
)
from sentry.socket import (
    AF_UNIX,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    ControlMessages,
    RecvResult,
    SocketEnv,
    SocketFile,
    Ucred,
)
from sentry.usermem import IOSequence
from sentry.vfs.waiter import (
    EVENT_ERR,
    EVENT_HUP,
    EVENT_IN,
    EVENT_OUT,
    EVENT_RD_HUP,
    EVENT_RD_NORM,
    EVENT_WR_BAND,
    EVENT_WR_NORM,
    Queue,
)

SUN_PATH_OFFSET = 2
SOCKADDR_UN_SIZE = 110
UNIX_PATH_MAX = 108
SOL_SOCKET = 1

# SOL_SOCKET options (asm-generic/socket.h).
SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST = 1, 2, 3, 4, 5, 6
SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY, SO_LINGER = 7, 8, 9, 10, 11, 12, 13
SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_SNDLOWAT = 16, 17, 18, 19
SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD = 20, 21
SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW = 66, 67
_TIMEOUTS = {SO_RCVTIMEO_OLD: "rcv_timeout_ns", SO_SNDTIMEO_OLD: "snd_timeout_ns",
             SO_RCVTIMEO_NEW: "rcv_timeout_ns", SO_SNDTIMEO_NEW: "snd_timeout_ns"}
_TIMEVAL = struct.Struct("<qq")
SO_ACCEPTCONN, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 32, 33, 38, 39

_CLOSE, _LISTEN, _ESTABLISHED = 0, 1, 2
_PASSED_IN = EVENT_IN | EVENT_RD_NORM
_WRITABLE = EVENT_OUT | EVENT_WR_NORM | EVENT_WR_BAND
_ALL = EVENT_IN | EVENT_OUT | EVENT_ERR | EVENT_HUP | EVENT_RD_HUP | EVENT_RD_NORM | EVENT_WR_NORM | EVENT_WR_BAND


def _sysctl(path: str, default: int) -> int:
    """A /proc/sys value of the host (the limits Linux applies), or the
    Linux default where it cannot be read."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


WMEM_DEFAULT = _sysctl("/proc/sys/net/core/wmem_default", 212992)
WMEM_MAX = _sysctl("/proc/sys/net/core/wmem_max", 212992)
RMEM_DEFAULT = _sysctl("/proc/sys/net/core/rmem_default", 212992)
RMEM_MAX = _sysctl("/proc/sys/net/core/rmem_max", 212992)
MAX_DGRAM_QLEN = _sysctl("/proc/sys/net/unix/max_dgram_qlen", 10)
SOMAXCONN = _sysctl("/proc/sys/net/core/somaxconn", 4096)
# Linux's SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF: twice and once
# TCP_SKB_MIN_TRUESIZE (2048 + the aligned size of struct sk_buff).
SOCK_MIN_RCVBUF = 2048 + 256
SOCK_MIN_SNDBUF = 2 * SOCK_MIN_RCVBUF
# The most one stream skb carries (Linux: SKB_MAX_HEAD(0) plus
# UNIX_SKB_FRAGS_SZ on x86-64): big writes are queued in pieces this size.
MAX_STREAM_CHUNK = 32768 + 3776
_INT = struct.Struct("<i")
_autobind = itertools.count(1)


class _Message:
    """One queued skb: payload, where it came from (for recvfrom and the
    sender's SO_SNDBUF accounting) and its control messages."""

    __slots__ = ("control", "cred", "data", "sender", "sender_addr", "start")

    def __init__(self, data: bytes, sender: UnixSocket | None, control: ControlMessages | None, cred: Ucred) -> None:
        self.data = data
        self.start = 0
        self.sender = sender
        self.sender_addr = sender.sockaddr() if sender is not None and sender.addr is not None else None
        self.control = control
        # Linux records the sender's credentials with every skb (or the
        # ones it claimed with SCM_CREDENTIALS).
        self.cred = control.cred if control is not None and control.cred is not None else cred
        if control is not None:
            control.queued = True

    def __len__(self) -> int:
        return len(self.data) - self.start


def parse_sockaddr(raw: bytes) -> tuple[str, bytes]:
    """A guest ``sockaddr_un`` of ``len(raw)`` bytes (Linux
    ``unix_validate_addr``/``unix_mkname_bsd``): ``("path", path)`` or
    ``("abstract", name)`` (name keeps its leading NUL). EINVAL for a
    short or long address or another family."""
    if len(raw) <= SUN_PATH_OFFSET or len(raw) > SOCKADDR_UN_SIZE:
        raise EINVAL
    if struct.unpack_from("<H", raw)[0] != AF_UNIX:
        raise EINVAL
    sun = raw[SUN_PATH_OFFSET:]
    if sun[0] == 0:
        return "abstract", sun
    end = sun.find(b"\0")
    return "path", sun if end < 0 else sun[:end]


class UnixSocket(SocketFile):
    """One AF_UNIX endpoint (see the module docstring)."""

    family = AF_UNIX

    def __init__(self, sock_type: int, flags: int, cred: Ucred) -> None:
        super().__init__(sock_type, 0, flags, Queue())
        self.state = _CLOSE
        self.peer: UnixSocket | None = None
        self.recvq: deque[_Message] = deque()
        self.shut = 0
        self.err: Errno | None = None
        self.addr: bytes | None = None  # sun_path as getsockname shows it
        self.name_key: object | None = None
        self.names: dict[object, object] | None = None
        self.backlog = 0
        self.acceptq: deque[UnixSocket] = deque()
        self.sndbuf = WMEM_DEFAULT
        self.rcvbuf = RMEM_DEFAULT
        self.wmem = 0
        self.passcred = False
        self.reuseaddr = False
        self.cred = cred  # the creator's (SO_PEERCRED of its peer)
        self.peer_cred: Ucred | None = None
        self.closed = False
        self.embryo = False  # a server side not accepted yet
        # Datagram sockets connected to this one: their POLLOUT depends on
        # our queue's length (Linux's peer_wait).
        self.dgram_senders: set[UnixSocket] = set()

    # -- helpers --------------------------------------------------------------------------

    @property
    def connection_based(self) -> bool:
        return self.sock_type in (SOCK_STREAM, SOCK_SEQPACKET)

    def sockaddr(self) -> bytes:
        """This socket's address as a ``sockaddr_un`` (just the family
        when unbound)."""
        return struct.pack("<H", AF_UNIX) + (self.addr or b"")

    def _notify(self, mask: int = _ALL) -> None:
        self.queue.notify(mask)

    def _writable(self) -> bool:
        """Linux ``unix_writable``: not listening and at most a quarter of
        SO_SNDBUF in flight."""
        return self.state != _LISTEN and self.wmem * 4 <= self.sndbuf

    def _uncharge(self, msg: _Message, n: int) -> None:
        s = msg.sender
        if s is not None and n:
            s.wmem -= n
            if s._writable():
                s._notify(_WRITABLE)

    def _drop_queue(self) -> None:
        while self.recvq:
            m = self.recvq.popleft()
            self._uncharge(m, len(m))
            if m.control is not None:
                m.control.release()

    def readiness(self, mask: int) -> int:
        """Linux ``unix_poll`` (stream) and ``unix_dgram_poll``."""
        ready = 0
        if self.err is not None:
            ready |= EVENT_ERR
        if self.shut == RCV_SHUTDOWN | SEND_SHUTDOWN:
            ready |= EVENT_HUP
        if self.shut & RCV_SHUTDOWN:
            ready |= EVENT_RD_HUP | EVENT_IN | EVENT_RD_NORM
        if self.recvq or self.acceptq:
            ready |= EVENT_IN | EVENT_RD_NORM
        if self.connection_based and self.state == _CLOSE:
            ready |= EVENT_HUP
        writable = self._writable()
        if self.sock_type != SOCK_STREAM and writable:
            other = self.peer
            if other is not None and other.peer is not self and len(other.recvq) > MAX_DGRAM_QLEN:
                writable = False
        if writable:
            ready |= _WRITABLE
        return ready & (mask | EVENT_ERR | EVENT_HUP)

    # -- names -------------------------------------------------------------------------------

    def bind(self, addr: bytes, env: SocketEnv) -> None:
        from sentry.socket import unix_names

        return unix_names.bind(self, addr, env)

    def _set_name(self, key: object, addr: bytes, env: SocketEnv) -> None:
        from sentry.socket import unix_names

        return unix_names._set_name(self, key, addr, env)

    def getsockname(self) -> bytes:
        from sentry.socket import unix_names

        return unix_names.getsockname(self)

    def getpeername(self) -> bytes:
        from sentry.socket import unix_names

        return unix_names.getpeername(self)

    def _find(self, addr: bytes, env: SocketEnv) -> UnixSocket:
        from sentry.socket import unix_names

        return unix_names._find(self, addr, env)

    # -- connections ----------------------------------------------------------------------------

    def listen(self, backlog: int, env: SocketEnv) -> None:
        from sentry.socket import unix_names

        return unix_names.listen(self, backlog, env)

    def connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        from sentry.socket import unix_names

        return unix_names.connect(self, addr, env)

    def _stream_connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        from sentry.socket import unix_names

        return unix_names._stream_connect(self, addr, env)

    def _dgram_connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        from sentry.socket import unix_names

        return unix_names._dgram_connect(self, addr, env)

    def _dgram_disconnect(self) -> None:
        from sentry.socket import unix_names

        return unix_names._dgram_disconnect(self)

    def accept(self, flags: int) -> tuple[SocketFile | None, Exception | None]:
        from sentry.socket import unix_names

        return unix_names.accept(self, flags)

    def shutdown(self, how: int) -> None:
        from sentry.socket import unix_names

        return unix_names.shutdown(self, how)

    # -- data --------------------------------------------------------------------------------------

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        # Only paths without a task come here (the syscalls use sendmsg
        # with the caller's env): the creator's credentials stand in.
        from sentry.socket import unix_data

        return unix_data.write(self, src, offset)

    def sendmsg(self, src: IOSequence, flags: int, to: bytes | None, control: ControlMessages | None,
                env: SocketEnv) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data.sendmsg(self, src, flags, to, control, env)

    def _stream_send(self, src: IOSequence, to: bytes | None, control: ControlMessages | None,
                     env: SocketEnv) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data._stream_send(self, src, to, control, env)

    def _dgram_send(self, src: IOSequence, to: bytes | None, control: ControlMessages | None,
                    env: SocketEnv) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data._dgram_send(self, src, to, control, env)

    def recvmsg(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data.recvmsg(self, dst, flags, result)

    def _empty_result(self) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data._empty_result(self)

    def _stream_recv(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data._stream_recv(self, dst, flags, result)

    def _dgram_recv(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        from sentry.socket import unix_data

        return unix_data._dgram_recv(self, dst, flags, result)

    def _wake_senders(self) -> None:
        from sentry.socket import unix_data

        return unix_data._wake_senders(self)

    def pending_bytes(self) -> int:
        from sentry.socket import unix_data

        return unix_data.pending_bytes(self)

    # -- options --------------------------------------------------------------------------------------

    def getsockopt(self, level: int, name: int, optlen: int) -> bytes:
        from sentry.socket import unix_data

        return unix_data.getsockopt(self, level, name, optlen)

    def setsockopt(self, level: int, name: int, value: bytes) -> None:
        from sentry.socket import unix_data

        return unix_data.setsockopt(self, level, name, value)

    # -- lifetime ----------------------------------------------------------------------------------------

    def ioctl(self, request: int, arg: int, read_arg: Callable[[int], bytes] | None = None,
              ) -> tuple[int, bytes | None]:
        from sentry.socket import unix_data

        return unix_data.ioctl(self, request, arg, read_arg)

    def release(self) -> None:
        """Linux ``unix_release_sock``: the name is freed, a connected
        peer sees both directions shut down (and ECONNRESET if we leave
        data unread), queued messages and pending connections go."""
        self.closed = True
        if self.peer is not None and not self.connection_based:
            self.peer.dgram_senders.discard(self)
        for s in list(self.dgram_senders):
            s._notify()
        self.dgram_senders.clear()
        if self.names is not None and self.names.get(self.name_key) is self:
            del self.names[self.name_key]
        other = self.peer
        if other is not None and self.connection_based:
            other.shut = RCV_SHUTDOWN | SEND_SHUTDOWN
            if self.recvq or self.embryo:
                other.err = ECONNRESET
            other._notify()
        self._drop_queue()
        while self.acceptq:
            embryo = self.acceptq.popleft()
            embryo.dec_ref()
        self.state = _CLOSE
        self._notify()


def new_socket(sock_type: int, flags: int, cred: Ucred) -> UnixSocket:
    """socket(AF_UNIX, sock_type, 0) with status ``flags`` (O_NONBLOCK)."""
    return UnixSocket(sock_type, flags, cred)


def new_pair(sock_type: int, flags: int, cred: Ucred) -> tuple[UnixSocket, UnixSocket]:
    """socketpair(AF_UNIX, ...): two connected sockets (Linux
    ``unix_socketpair``), each the other's SO_PEERCRED."""
    a = UnixSocket(sock_type, flags, cred)
    b = UnixSocket(sock_type, flags, cred)
    a.peer, b.peer = b, a
    a.peer_cred = b.peer_cred = cred
    a.state = b.state = _ESTABLISHED
    return a, b
