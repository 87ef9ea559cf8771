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
    EADDRINUSE,
    EAGAIN,
    ECONNREFUSED,
    ECONNRESET,
    EDOM,
    EEXIST,
    EFAULT,
    EINVAL,
    EISCONN,
    EMSGSIZE,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    EPROTOTYPE,
    Errno,
)
from sentry.socket import (
    AF_UNIX,
    AF_UNSPEC,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    RCV_SHUTDOWN,
    S_IFSOCK,
    SEND_SHUTDOWN,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SOCK_DGRAM,
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
        """Linux ``unix_bind``: EINVAL for a bad address or a socket bound
        already; a path creates a socket inode (EADDRINUSE if the name
        exists; the walk's errors otherwise); an abstract name must be
        free (EADDRINUSE)."""
        if len(addr) == SUN_PATH_OFFSET and struct.unpack_from("<H", addr)[0] == AF_UNIX:
            if self.addr is not None:
                raise EINVAL
            while True:
                name = b"\0" + b"%05x" % (next(_autobind) & 0xFFFFF)
                if ("abstract", self.sock_type, name) not in env.names:
                    break
            self._set_name(("abstract", self.sock_type, name), name, env)
            return
        kind, name = parse_sockaddr(addr)
        if kind == "abstract":
            if self.addr is not None:
                raise EINVAL
            # Linux hashes abstract names with the socket type: each type
            # has its own namespace.
            key: object = ("abstract", self.sock_type, name)
            if key in env.names:
                raise EADDRINUSE
            self._set_name(key, name, env)
            return
        from sentry.vfs.resolve import mknod_at

        try:
            d = mknod_at(env.fs, env.start, name, S_IFSOCK | (0o777 & ~env.umask))
        except Errno as e:
            if e is EEXIST:
                raise EADDRINUSE from None
            raise
        if self.addr is not None:
            # Linux makes the inode first and then finds the socket bound.
            from sentry.vfs.resolve import unlink_at

            unlink_at(env.fs, env.start, name)
            raise EINVAL
        self._set_name(("path", d.key()), name + b"\0", env)

    def _set_name(self, key: object, addr: bytes, env: SocketEnv) -> None:
        self.addr = addr
        self.name_key = key
        self.names = env.names
        env.names[key] = self

    def getsockname(self) -> bytes:
        return self.sockaddr()

    def getpeername(self) -> bytes:
        p = self.peer
        if p is None or (self.connection_based and self.state != _ESTABLISHED):
            raise ENOTCONN
        return p.sockaddr()

    def _find(self, addr: bytes, env: SocketEnv) -> UnixSocket:
        """The socket bound at ``addr`` (Linux ``unix_find_other``): the
        walk's errors for a path, ECONNREFUSED when nobody is bound there
        (or the file is not a socket), EPROTOTYPE for another type."""
        kind, name = parse_sockaddr(addr)
        if kind == "abstract":
            other = env.names.get(("abstract", self.sock_type, name))
        else:
            from sentry.vfs.resolve import lookup_at

            d = lookup_at(env.fs, env.start, name)
            from os import W_OK

            d.access(W_OK, True)
            if d.mode & 0o170000 != S_IFSOCK and d.stat().st_mode & 0o170000 != S_IFSOCK:
                raise ECONNREFUSED
            other = env.names.get(("path", d.key()))
        if not isinstance(other, UnixSocket) or other.closed:
            raise ECONNREFUSED
        if other.sock_type != self.sock_type:
            raise EPROTOTYPE
        return other

    # -- connections ----------------------------------------------------------------------------

    def listen(self, backlog: int, env: SocketEnv) -> None:
        """Linux ``unix_listen``: EOPNOTSUPP for datagram sockets, EINVAL
        unless bound and unconnected; a listening socket may change its
        backlog (capped at somaxconn)."""
        if self.sock_type == SOCK_DGRAM:
            raise EOPNOTSUPP
        if self.addr is None or self.state not in (_CLOSE, _LISTEN):
            raise EINVAL
        if backlog < 0 or backlog > SOMAXCONN:  # Linux compares it unsigned
            backlog = SOMAXCONN
        self.backlog = backlog
        if self.state != _LISTEN:
            self.state = _LISTEN
            # What connectors see as SO_PEERCRED: the listening process.
            self.peer_cred = env.peer_cred
        self._notify()

    def connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        if self.connection_based:
            return self._stream_connect(addr, env)
        return self._dgram_connect(addr, env)

    def _stream_connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        """Linux ``unix_stream_connect``: EISCONN when connected, EINVAL
        for a listener; ECONNREFUSED unless the target listens; the
        listener's queue to wait on when its backlog is full. On success
        an embryo endpoint (the server side) is queued for accept."""
        parse_sockaddr(addr)
        if self.state == _ESTABLISHED:
            raise EISCONN
        if self.state == _LISTEN:
            raise EINVAL
        other = self._find(addr, env)
        if other.state != _LISTEN:
            raise ECONNREFUSED
        if len(other.acceptq) > other.backlog:
            return other.queue
        server = UnixSocket(self.sock_type, 0, other.cred)
        server.addr = other.addr
        server.passcred = other.passcred  # Linux unix_sock_inherit_flags
        server.state = _ESTABLISHED
        server.embryo = True
        server.peer = self
        server.peer_cred = env.peer_cred
        self.peer = server
        self.peer_cred = other.peer_cred
        self.state = _ESTABLISHED
        other.acceptq.append(server)
        other._notify(_PASSED_IN)
        self._notify()
        return None

    def _dgram_connect(self, addr: bytes, env: SocketEnv) -> Queue | None:
        """Linux ``unix_dgram_connect``: AF_UNSPEC disconnects; otherwise
        the target becomes the default destination and the only sender
        accepted."""
        if len(addr) < 2:
            raise EINVAL
        if struct.unpack_from("<H", addr)[0] == AF_UNSPEC:
            self._dgram_disconnect()
            return None
        other = self._find(addr, env)
        if self.peer is not None and self.peer is not other:
            self._dgram_disconnect()
        self.peer = other
        other.dgram_senders.add(self)
        self.peer_cred = other.cred
        self.state = _ESTABLISHED
        self._notify()
        return None

    def _dgram_disconnect(self) -> None:
        old = self.peer
        self.peer = None
        if old is not None:
            old.dgram_senders.discard(self)
        self.state = _CLOSE
        if old is not None and old.peer is self and not old.closed:
            old.err = ECONNRESET
            old._notify(EVENT_ERR)
        self._notify()

    def accept(self, flags: int) -> tuple[SocketFile | None, Exception | None]:
        """Linux ``unix_accept``: EOPNOTSUPP for datagram sockets, EINVAL
        unless listening; ``(None, EAGAIN)`` with nothing pending."""
        if self.sock_type == SOCK_DGRAM:
            raise EOPNOTSUPP
        if self.state != _LISTEN:
            raise EINVAL
        if not self.acceptq:
            return None, EAGAIN
        s = self.acceptq.popleft()
        s.embryo = False
        s.set_status_flags(flags)
        self._notify(_WRITABLE)  # connectors waiting for backlog room
        return s, None

    def shutdown(self, how: int) -> None:
        """Linux ``unix_shutdown``: EINVAL for a bad ``how``; for stream
        and seqpacket sockets the peer gets the mirror image (our SHUT_WR
        is its end of input)."""
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise EINVAL
        mode = (how + 1) & (RCV_SHUTDOWN | SEND_SHUTDOWN)
        self.shut |= mode
        self._notify()
        other = self.peer
        if other is not None and self.connection_based:
            peer_mode = (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0) | (RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0)
            other.shut |= peer_mode
            other._notify()

    # -- data --------------------------------------------------------------------------------------

    def write(self, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
        # Only paths without a task come here (the syscalls use sendmsg
        # with the caller's env): the creator's credentials stand in.
        return self.sendmsg(src, 0, None, None, SocketEnv(peer_cred=self.cred, scm_cred=self.cred))

    def sendmsg(self, src: IOSequence, flags: int, to: bytes | None, control: ControlMessages | None,
                env: SocketEnv) -> tuple[int, Exception | None]:
        """Send ``src``. Stream: ``(n, EAGAIN)`` once SO_SNDBUF is full
        after ``n`` bytes (``control`` goes with the first chunk and is
        consumed only if that chunk is queued); EPIPE when either side
        shut the direction down or the peer is gone. Datagram and
        seqpacket: all or nothing (EMSGSIZE above SO_SNDBUF - 32). On
        success ``control`` belongs to the receiver; on failure it stays
        the caller's."""
        if flags & MSG_OOB:
            return 0, EOPNOTSUPP
        if self.sock_type == SOCK_STREAM:
            return self._stream_send(src, to, control, env)
        return self._dgram_send(src, to, control, env)

    def _stream_send(self, src: IOSequence, to: bytes | None, control: ControlMessages | None,
                     env: SocketEnv) -> tuple[int, Exception | None]:
        if to is not None:
            return 0, (EISCONN if self.state == _ESTABLISHED else EOPNOTSUPP)
        if self.shut & SEND_SHUTDOWN:
            return 0, EPIPE
        other = self.peer
        if other is None or self.state != _ESTABLISHED:
            return 0, ENOTCONN
        if other.shut & RCV_SHUTDOWN or other.closed:
            return 0, EPIPE
        total = src.num_bytes()
        sent = 0
        chunk_max = max(min((self.sndbuf >> 1) - 64, MAX_STREAM_CHUNK), 1)
        # Nothing is queued for an empty write, not even its control
        # messages (Linux's loop over skbs does not run).
        while sent < total:
            if self.wmem >= self.sndbuf:
                return sent, EAGAIN
            n = min(total - sent, chunk_max)
            buf = bytearray(n)
            got, err = src.drop_first(sent).copy_in(buf)
            if got < n:
                return sent, err or EFAULT  # the skb is dropped whole, as in Linux
            msg = _Message(bytes(buf), self, control, env.scm_cred)
            control = None
            other.recvq.append(msg)
            self.wmem += got
            sent += got
            other._notify(_PASSED_IN)
        return sent, None

    def _dgram_send(self, src: IOSequence, to: bytes | None, control: ControlMessages | None,
                    env: SocketEnv) -> tuple[int, Exception | None]:
        if self.sock_type == SOCK_SEQPACKET:
            if self.state != _ESTABLISHED:
                return 0, ENOTCONN
            to = None
        if self.shut & SEND_SHUTDOWN:
            return 0, EPIPE
        total = src.num_bytes()
        if total > self.sndbuf - 32:
            return 0, EMSGSIZE
        if to is not None:
            try:
                other = self._find(to, env)
            except Errno as e:
                return 0, e
        else:
            if self.peer is None:
                return 0, ENOTCONN
            other = self.peer
        if other.closed:
            if self.sock_type == SOCK_SEQPACKET:
                return 0, EPIPE
            if self.peer is other:
                self.peer = None
                self.state = _CLOSE
            return 0, ECONNREFUSED
        if other.peer is not None and other.peer is not self and other.sock_type == SOCK_DGRAM:
            return 0, EPERM
        if other.shut & RCV_SHUTDOWN:
            return 0, EPIPE
        if other.peer is not self and len(other.recvq) > MAX_DGRAM_QLEN:
            self.send_wait = other.queue
            return 0, EAGAIN
        if self.wmem >= self.sndbuf:
            return 0, EAGAIN
        buf = bytearray(total)
        got, err = src.copy_in(buf)
        if got < total:
            return 0, err or EFAULT
        other.recvq.append(_Message(bytes(buf), self, control, env.scm_cred))
        self.wmem += total
        other._notify(_PASSED_IN)
        return total, None

    def recvmsg(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        """Receive into ``dst``; ``result`` gets the sender's address,
        msg_flags and control messages. ``(0, EAGAIN)`` when nothing is
        queued and input is not shut down (``(0, None)`` then: end of
        file); a pending error (a peer that closed with our data unread)
        is reported once first."""
        if flags & MSG_OOB:
            return 0, EOPNOTSUPP if self.sock_type != SOCK_STREAM else EINVAL
        if self.sock_type == SOCK_STREAM:
            if self.state != _ESTABLISHED:
                return 0, EINVAL
            return self._stream_recv(dst, flags, result)
        if self.sock_type == SOCK_SEQPACKET and self.state != _ESTABLISHED:
            return 0, ENOTCONN
        return self._dgram_recv(dst, flags, result)

    def _empty_result(self) -> tuple[int, Exception | None]:
        if self.err is not None:
            e, self.err = self.err, None
            return 0, e
        if self.shut & RCV_SHUTDOWN:
            return 0, None
        return 0, EAGAIN

    def _stream_recv(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        if not self.recvq:
            return self._empty_result()
        want = dst.num_bytes()
        peek = bool(flags & MSG_PEEK)
        done = 0
        first_cred: Ucred | None = None
        for i, msg in enumerate(list(self.recvq)):
            if done >= want and want:
                break
            ctl = msg.control
            if self.passcred:
                # Linux stops where the sender's credentials change.
                if i == 0:
                    first_cred = msg.cred
                elif msg.cred != first_cred:
                    break
            k = min(len(msg), want - done)
            n, err = dst.drop_first(done).copy_out(msg.data[msg.start : msg.start + k])
            if n < k:
                # Linux copies an skb's chunk whole or fails it (EFAULT
                # unless something was read before): it stays queued,
                # with its descriptors.
                if not done:
                    return 0, err or EFAULT
                break
            if i == 0:
                result.addr = msg.sender_addr
                result.cred = msg.cred
            if ctl is not None:
                if result.control is None:
                    result.control = ControlMessages()
                if ctl.rights:
                    if peek:
                        for f in ctl.rights:
                            f.inc_ref()
                        result.control.rights = list(ctl.rights)
                    else:
                        result.control.rights = ctl.rights
                        ctl.rights = None
            done += n
            if not peek:
                msg.start += n
                self._uncharge(msg, n)
                if not len(msg):
                    self.recvq.popleft()
            if result.control is not None and result.control.rights:
                break
            if want == 0:
                break
        return done, None

    def _dgram_recv(self, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
        if not self.recvq:
            return self._empty_result()
        msg = self.recvq[0]
        peek = bool(flags & MSG_PEEK)
        data = msg.data
        n, err = dst.copy_out(data[: dst.num_bytes()])
        if n < min(len(data), dst.num_bytes()):
            # Linux dequeues the datagram before copying: it is lost.
            if not peek:
                self.recvq.popleft()
                self._uncharge(msg, len(data))
                if msg.control is not None:
                    msg.control.release()
                self._wake_senders()
            return 0, err or EFAULT
        result.addr = msg.sender_addr
        result.cred = msg.cred
        if len(data) > n:
            result.flags |= MSG_TRUNC
        if flags & MSG_TRUNC:
            result.full_length = len(data)
        ctl = msg.control
        if ctl is not None:
            result.control = ControlMessages()
            if ctl.rights:
                if peek:
                    for f in ctl.rights:
                        f.inc_ref()
                    result.control.rights = list(ctl.rights)
                else:
                    result.control.rights = ctl.rights
                    ctl.rights = None
        if not peek:
            self.recvq.popleft()
            self._uncharge(msg, len(data))
            self._wake_senders()
        return n, None

    def _wake_senders(self) -> None:
        """Our queue shrank: blocked senders (waiting on our queue) and
        pollers of sockets connected to us may go on."""
        self._notify(_WRITABLE)
        for s in list(self.dgram_senders):
            s._notify(_WRITABLE)

    def pending_bytes(self) -> int:
        """FIONREAD/SIOCINQ: queued bytes (stream) or the next datagram's size."""
        if self.sock_type == SOCK_STREAM:
            return sum(len(m) for m in self.recvq)
        return len(self.recvq[0]) if self.recvq else 0

    # -- options --------------------------------------------------------------------------------------

    def getsockopt(self, level: int, name: int, optlen: int) -> bytes:
        """SOL_SOCKET options (Linux ``sk_getsockopt``); ENOPROTOOPT for
        others. Returns the full value (the caller truncates to optlen)."""
        if level != SOL_SOCKET:
            raise EOPNOTSUPP  # AF_UNIX has no options of its own
        if name == SO_PEERCRED:
            # Linux ``cred_to_ucred``: pid 0 and ids -1 without a peer.
            c = self.peer_cred or Ucred(0, 0xFFFF_FFFF, 0xFFFF_FFFF)
            return struct.pack("<iII", c.pid, c.uid, c.gid)
        if name == SO_ERROR:
            e, self.err = self.err, None
            return _INT.pack(e.errno if e is not None else 0)
        ints = {
            SO_TYPE: self.sock_type,
            SO_DOMAIN: AF_UNIX,
            SO_PROTOCOL: 0,
            SO_SNDBUF: self.sndbuf,
            SO_RCVBUF: self.rcvbuf,
            SO_PASSCRED: int(self.passcred),
            SO_REUSEADDR: int(self.reuseaddr),
            SO_ACCEPTCONN: int(self.state == _LISTEN),
            SO_KEEPALIVE: 0,
            SO_BROADCAST: 0,
            SO_DEBUG: 0,
            SO_DONTROUTE: 0,
            SO_OOBINLINE: 0,
            SO_PRIORITY: 0,
            SO_RCVLOWAT: 1,
            SO_SNDLOWAT: 1,
        }
        if name in ints:
            return _INT.pack(ints[name])
        if name == SO_LINGER:
            return struct.pack("<ii", 0, 0)
        if name in _TIMEOUTS:
            ns = getattr(self, _TIMEOUTS[name])
            usec = ns // 1000
            return _TIMEVAL.pack(usec // 1_000_000, usec % 1_000_000)
        raise ENOPROTOOPT

    def setsockopt(self, level: int, name: int, value: bytes) -> None:
        """SOL_SOCKET options: SO_SNDBUF/SO_RCVBUF double the value within
        [SOCK_MIN_*, 2 * *mem_max] as Linux does; SO_PASSCRED,
        SO_REUSEADDR and SO_KEEPALIVE are recorded; SO_RCVTIMEO and
        SO_SNDTIMEO (a timeval: EINVAL when short, EDOM for bad
        microseconds, a negative one times out at once, zero never) bound
        blocking waits (Linux rounds them to jiffies; we keep
        microseconds); other options Linux takes for any socket are
        accepted as no-ops; EINVAL for an option shorter than an int;
        ENOPROTOOPT for unknown ones."""
        if level != SOL_SOCKET:
            raise EOPNOTSUPP  # AF_UNIX has no options of its own
        if name in _TIMEOUTS:
            if len(value) < _TIMEVAL.size:
                raise EINVAL
            sec, usec = _TIMEVAL.unpack_from(value)
            if not 0 <= usec < 1_000_000:
                raise EDOM
            # Linux: a negative time is "time out at once" (0 jiffies),
            # zero is "wait forever".
            ns = 1 if sec < 0 else (sec * 1_000_000 + usec) * 1000
            setattr(self, _TIMEOUTS[name], ns)
            return
        known = {SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_DEBUG,
                 SO_DONTROUTE, SO_OOBINLINE, SO_PRIORITY, SO_RCVLOWAT, SO_SNDBUFFORCE, SO_RCVBUFFORCE,
                 SO_LINGER, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD}
        if name not in known:
            raise ENOPROTOOPT
        if len(value) < 4:
            raise EINVAL
        (v,) = _INT.unpack_from(value)
        if name in (SO_SNDBUF, SO_SNDBUFFORCE):
            v = min(v & 0xFFFFFFFF, WMEM_MAX) if name == SO_SNDBUF else max(v, 0)
            self.sndbuf = max(min(v * 2, 0x7FFFFFFF), SOCK_MIN_SNDBUF)
            self._notify(_WRITABLE)
        elif name in (SO_RCVBUF, SO_RCVBUFFORCE):
            v = min(v & 0xFFFFFFFF, RMEM_MAX) if name == SO_RCVBUF else max(v, 0)
            self.rcvbuf = max(min(v * 2, 0x7FFFFFFF), SOCK_MIN_RCVBUF)
        elif name == SO_PASSCRED:
            self.passcred = bool(v)
        elif name == SO_REUSEADDR:
            self.reuseaddr = bool(v)

    # -- lifetime ----------------------------------------------------------------------------------------

    def ioctl(self, request: int, arg: int, read_arg: Callable[[int], bytes] | None = None,
              ) -> tuple[int, bytes | None]:
        from sentry.abi.fcntl import FIONREAD

        if request == FIONREAD:
            if self.state == _LISTEN:
                raise EINVAL
            return 0, _INT.pack(min(self.pending_bytes(), 0x7FFFFFFF))
        return super().ioctl(request, arg)

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
