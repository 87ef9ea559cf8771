"""AF_UNIX names and connections: bind, listen, connect, accept,
shutdown, getsockname/getpeername (the :class:`sentry.socket.unix.UnixSocket`
methods delegate here; see that module's docstring)."""

from __future__ import annotations

import struct

from sentry.linuxerr import (
    EADDRINUSE,
    EAGAIN,
    ECONNREFUSED,
    ECONNRESET,
    EEXIST,
    EINVAL,
    EISCONN,
    ENOTCONN,
    EOPNOTSUPP,
    EPROTOTYPE,
    Errno,
)
from sentry.socket import (
    AF_UNIX,
    AF_UNSPEC,
    RCV_SHUTDOWN,
    S_IFSOCK,
    SEND_SHUTDOWN,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SOCK_DGRAM,
    SocketEnv,
    SocketFile,
)
from sentry.socket.unix import (
    _CLOSE,
    _ESTABLISHED,
    _LISTEN,
    _PASSED_IN,
    _WRITABLE,
    SOMAXCONN,
    SUN_PATH_OFFSET,
    UnixSocket,
    _autobind,
    parse_sockaddr,
)
from sentry.vfs.waiter import (
    EVENT_ERR,
    Queue,
)


def bind(self: UnixSocket, addr: bytes, env: SocketEnv) -> None:
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


def _set_name(self: UnixSocket, key: object, addr: bytes, env: SocketEnv) -> None:
    self.addr = addr
    self.name_key = key
    self.names = env.names
    env.names[key] = self


def getsockname(self: UnixSocket) -> bytes:
    return self.sockaddr()


def getpeername(self: UnixSocket) -> bytes:
    p = self.peer
    if p is None or (self.connection_based and self.state != _ESTABLISHED):
        raise ENOTCONN
    return p.sockaddr()


def _find(self: UnixSocket, addr: bytes, env: SocketEnv) -> UnixSocket:
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


def listen(self: UnixSocket, backlog: int, env: SocketEnv) -> None:
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


def connect(self: UnixSocket, addr: bytes, env: SocketEnv) -> Queue | None:
    if self.connection_based:
        return self._stream_connect(addr, env)
    return self._dgram_connect(addr, env)


def _stream_connect(self: UnixSocket, addr: bytes, env: SocketEnv) -> Queue | None:
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


def _dgram_connect(self: UnixSocket, addr: bytes, env: SocketEnv) -> Queue | None:
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


def _dgram_disconnect(self: UnixSocket) -> None:
    old = self.peer
    self.peer = None
    if old is not None:
        old.dgram_senders.discard(self)
    self.state = _CLOSE
    if old is not None and old.peer is self and not old.closed:
        old.err = ECONNRESET
        old._notify(EVENT_ERR)
    self._notify()


def accept(self: UnixSocket, flags: int) -> tuple[SocketFile | None, Exception | None]:
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


def shutdown(self: UnixSocket, how: int) -> None:
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
