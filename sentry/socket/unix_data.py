"""AF_UNIX data: sends and receives (stream, datagram, seqpacket),
control messages and socket options (the :class:`sentry.socket.unix.UnixSocket`
methods delegate here; see that module's docstring)."""

from __future__ import annotations

import struct
from collections.abc import Callable

from sentry.linuxerr import (
    EAGAIN,
    ECONNREFUSED,
    EDOM,
    EFAULT,
    EINVAL,
    EISCONN,
    EMSGSIZE,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    Errno,
)
from sentry.socket import (
    AF_UNIX,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SOCK_DGRAM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    ControlMessages,
    RecvResult,
    SocketEnv,
    SocketFile,
    Ucred,
)
from sentry.socket.unix import (
    _CLOSE,
    _ESTABLISHED,
    _INT,
    _LISTEN,
    _PASSED_IN,
    _TIMEOUTS,
    _TIMEVAL,
    _WRITABLE,
    MAX_DGRAM_QLEN,
    MAX_STREAM_CHUNK,
    RMEM_MAX,
    SO_ACCEPTCONN,
    SO_BROADCAST,
    SO_DEBUG,
    SO_DOMAIN,
    SO_DONTROUTE,
    SO_ERROR,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_OOBINLINE,
    SO_PASSCRED,
    SO_PEERCRED,
    SO_PRIORITY,
    SO_PROTOCOL,
    SO_RCVBUF,
    SO_RCVBUFFORCE,
    SO_RCVLOWAT,
    SO_RCVTIMEO_OLD,
    SO_REUSEADDR,
    SO_SNDBUF,
    SO_SNDBUFFORCE,
    SO_SNDLOWAT,
    SO_SNDTIMEO_OLD,
    SO_TYPE,
    SOCK_MIN_RCVBUF,
    SOCK_MIN_SNDBUF,
    SOL_SOCKET,
    WMEM_MAX,
    UnixSocket,
    _Message,
)
from sentry.usermem import IOSequence


def write(self: UnixSocket, src: IOSequence, offset: int) -> tuple[int, Exception | None]:
    # Only paths without a task come here (the syscalls use sendmsg
    # with the caller's env): the creator's credentials stand in.
    return self.sendmsg(src, 0, None, None, SocketEnv(peer_cred=self.cred, scm_cred=self.cred))


def sendmsg(self: UnixSocket, src: IOSequence, flags: int, to: bytes | None, control: ControlMessages | None,
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


def _stream_send(self: UnixSocket, src: IOSequence, to: bytes | None, control: ControlMessages | None,
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


def _dgram_send(self: UnixSocket, src: IOSequence, to: bytes | None, control: ControlMessages | None,
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


def recvmsg(self: UnixSocket, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
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


def _empty_result(self: UnixSocket) -> tuple[int, Exception | None]:
    if self.err is not None:
        e, self.err = self.err, None
        return 0, e
    if self.shut & RCV_SHUTDOWN:
        return 0, None
    return 0, EAGAIN


def _stream_recv(self: UnixSocket, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
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


def _dgram_recv(self: UnixSocket, dst: IOSequence, flags: int, result: RecvResult) -> tuple[int, Exception | None]:
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


def _wake_senders(self: UnixSocket) -> None:
    """Our queue shrank: blocked senders (waiting on our queue) and
    pollers of sockets connected to us may go on."""
    self._notify(_WRITABLE)
    for s in list(self.dgram_senders):
        s._notify(_WRITABLE)


def pending_bytes(self: UnixSocket) -> int:
    """FIONREAD/SIOCINQ: queued bytes (stream) or the next datagram's size."""
    if self.sock_type == SOCK_STREAM:
        return sum(len(m) for m in self.recvq)
    return len(self.recvq[0]) if self.recvq else 0


def getsockopt(self: UnixSocket, level: int, name: int, optlen: int) -> bytes:
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


def setsockopt(self: UnixSocket, level: int, name: int, value: bytes) -> None:
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


def ioctl(self: UnixSocket, request: int, arg: int, read_arg: Callable[[int], bytes] | None = None,
          ) -> tuple[int, bytes | None]:
    from sentry.abi.fcntl import FIONREAD

    if request == FIONREAD:
        if self.state == _LISTEN:
            raise EINVAL
        return 0, _INT.pack(min(self.pending_bytes(), 0x7FFFFFFF))
    return SocketFile.ioctl(self, request, arg, read_arg)
