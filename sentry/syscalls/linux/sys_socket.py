"""The socket calls (gVisor ``sys_socket.go``, Linux ``net/socket.c``).

Guest arguments are checked here in Linux's order (the fd first:
EBADF, then ENOTSOCK; then addresses, flags and option lengths) and
turned into byte strings, IOSequences and a :class:`SocketEnv`; the
socket (``sentry.socket``) does the rest and answers ``(n, EAGAIN)``
when it would block, so the waiting happens here with the kernel's
block/wake (``sentry.kernel.blocking.wait_for``). Only AF_UNIX exists;
every other family is EAFNOSUPPORT. Inherited stdio that is a host
socket is treated as a plain stream (ENOTSOCK for socket calls).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from sentry.kernel.blocking import wait_for
from sentry.kernel.task import Task
from sentry.linuxerr import (
    EAFNOSUPPORT,
    EAGAIN,
    EFAULT,
    EINVAL,
    EMFILE,
    ENOTSOCK,
    EPERM,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    Errno,
)
from sentry.socket import (
    AF_UNIX,
    SOCK_CLOEXEC,
    SOCK_DGRAM,
    SOCK_NONBLOCK,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    SocketEnv,
    SocketFile,
    Ucred,
    unix,
)
from sentry.syscalls.linux.args import s32
from sentry.syscalls.linux.fs_util import fs_of, nofile_limit
from sentry.vfs import FileDescription
from sentry.vfs.waiter import READABLE_EVENTS, WRITABLE_EVENTS, Entry, Queue

SOCK_RAW = 3
SOCK_MAX = 11
AF_MAX = 46
SOCKADDR_STORAGE = 128
UIO_MAXIOV = 1024
SOL_SOCKET = 1
SCM_RIGHTS = 1
SCM_CREDENTIALS = 2
SCM_MAX_FD = 253
CAP_NET_ADMIN = 12
SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33
_MSGHDR = struct.Struct("<QI4xQQQQi4x")  # name, namelen, iov, iovlen, control, controllen, flags
_CMSGHDR = struct.Struct("<Qii")
_UCRED = struct.Struct("<iII")
_INT = struct.Struct("<i")


def _cmsg_align(n: int) -> int:
    return (n + 7) & ~7


def _socket(t: Task, fd: int) -> SocketFile:
    """The socket at ``fd``: EBADF when closed, ENOTSOCK for other files."""
    f = t.tg.fd_table.get(s32(fd))
    if not isinstance(f, SocketFile):
        raise ENOTSOCK
    return f


def socket_env(t: Task) -> SocketEnv:
    """The caller's side of a socket operation (see ``SocketEnv``)."""
    fs = fs_of(t)
    c = t.creds
    return SocketEnv(
        fs=fs, start=fs.cwd, umask=t.tg.umask,
        peer_cred=Ucred(t.tg.tgid, c.euid, c.egid), scm_cred=Ucred(t.tg.tgid, c.ruid, c.rgid),
        names=t.kernel.unix_socket_names,
    )


def _read_addr(t: Task, addr: int, addrlen: int) -> bytes:
    """Linux ``move_addr_to_kernel``: EINVAL for a length outside
    [0, sizeof(sockaddr_storage)], EFAULT for bad memory."""
    n = s32(addrlen)
    if n < 0 or n > SOCKADDR_STORAGE:
        raise EINVAL
    return t.copy_in_bytes(addr, n) if n else b""


def _write_addr(t: Task, addr: int, lenp: int, value: bytes) -> None:
    """Linux ``move_addr_to_user``: copy at most the guest's length, then
    store the full length."""
    (ulen,) = _INT.unpack(t.copy_in_bytes(lenp, 4))
    if ulen < 0:
        raise EINVAL
    if ulen:
        t.copy_out_bytes(addr, value[:ulen])
    t.copy_out_bytes(lenp, _INT.pack(len(value)))


def _install(t: Task, f: FileDescription, cloexec: bool) -> int:
    table = t.tg.fd_table
    if table.lowest_free() >= nofile_limit(t):
        raise EMFILE
    return table.new_fd(f, cloexec=cloexec)


def _type_and_flags(sock_type: int) -> tuple[int, int, bool]:
    flags = sock_type & ~0xF
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise EINVAL
    kind = sock_type & 0xF
    return kind, flags & SOCK_NONBLOCK, bool(flags & SOCK_CLOEXEC)


def _unix_type(domain: int, kind: int, protocol: int) -> int:
    """Linux ``__sock_create`` + ``unix_create``: EAFNOSUPPORT for other
    families, EINVAL for a type out of range, EPROTONOSUPPORT for a
    protocol, ESOCKTNOSUPPORT for an unknown type (SOCK_RAW is DGRAM)."""
    if domain < 0 or domain >= AF_MAX:
        raise EAFNOSUPPORT
    if kind >= SOCK_MAX:
        raise EINVAL
    if domain != AF_UNIX:
        raise EAFNOSUPPORT
    if protocol and protocol != AF_UNIX:
        raise EPROTONOSUPPORT
    if kind == SOCK_RAW:
        return SOCK_DGRAM
    if kind not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        raise ESOCKTNOSUPPORT
    return kind


def sys_socket(t: Task, domain: int, sock_type: int, protocol: int, *_: int) -> int:
    kind, nonblock, cloexec = _type_and_flags(s32(sock_type))
    kind = _unix_type(s32(domain), kind, s32(protocol))
    env = socket_env(t)
    s = unix.new_socket(kind, nonblock, env.peer_cred)
    try:
        return _install(t, s, cloexec)
    finally:
        s.dec_ref()


def sys_socketpair(t: Task, domain: int, sock_type: int, protocol: int, sv: int, *_: int) -> int:
    """EFAULT (both fds closed again) when ``sv`` cannot be written."""
    kind, nonblock, cloexec = _type_and_flags(s32(sock_type))
    kind = _unix_type(s32(domain), kind, s32(protocol))
    env = socket_env(t)
    a, b = unix.new_pair(kind, nonblock, env.peer_cred)
    table = t.tg.fd_table
    try:
        fa = _install(t, a, cloexec)
        try:
            fb = _install(t, b, cloexec)
        except Errno:
            table.remove(fa)
            raise
    finally:
        a.dec_ref()
        b.dec_ref()
    try:
        t.copy_out_bytes(sv, struct.pack("<ii", fa, fb))
    except Errno:
        table.remove(fa)
        table.remove(fb)
        raise EFAULT from None
    return 0


def sys_bind(t: Task, fd: int, addr: int, addrlen: int, *_: int) -> int:
    s = _socket(t, fd)
    s.bind(_read_addr(t, addr, addrlen), socket_env(t))
    return 0


def sys_listen(t: Task, fd: int, backlog: int, *_: int) -> int:
    _socket(t, fd).listen(s32(backlog), socket_env(t))
    return 0


class _QueueWait:
    """A wait queue seen as something ``wait_for`` can wait on (a
    listener's queue for a connect, a receiver's for a datagram)."""

    def __init__(self, queue: Queue, name: str) -> None:
        self.queue = queue
        self.name = name

    def event_register(self, e: Entry) -> None:
        self.queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.queue.event_unregister(e)

    def path_name(self) -> str:
        return self.name

    def host_wait(self, mask: int) -> bool:
        """Never served by the host: the sentry wakes the waiter."""
        return False


def _deadline(timeout_ns: int) -> int | None:
    """The CLOCK_MONOTONIC deadline of an SO_RCVTIMEO/SO_SNDTIMEO wait
    starting now (None: no timeout)."""
    return time.monotonic_ns() + timeout_ns if timeout_ns else None


def _expired(deadline: int | None) -> bool:
    return deadline is not None and time.monotonic_ns() >= deadline


def _wait(t: Task, target: object, mask: int, what: str, retry: Callable[[], int], deadline: int | None) -> None:
    """Wait for ``target`` (a socket or a :class:`_QueueWait`) as
    ``wait_for`` does; with a socket timeout the wait also ends at
    ``deadline``, and ``retry`` (called then too) decides what a timed-out
    call returns. Interrupted timed waits are EINTR, not restarted (Linux
    ``sock_intr_errno``)."""
    if deadline is None:
        wait_for(t, target, mask, what, retry)  # type: ignore[arg-type]
        return
    k = t.kernel
    entry = Entry(None, mask)

    def cancel() -> None:
        target.event_unregister(entry)  # type: ignore[attr-defined]

    def notify(_events: int) -> None:
        cancel()
        k.wake(t)

    def resume() -> int:
        cancel()
        return retry()

    entry.callback = notify
    target.event_register(entry)  # type: ignore[attr-defined]
    k.block(t, f"{what} {target.path_name()}", resume, deadline_ns=deadline,  # type: ignore[attr-defined]
            timeout_result=None, cancel=cancel)


def sys_connect(t: Task, fd: int, addr: int, addrlen: int, *_: int) -> int:
    s = _socket(t, fd)
    raw = _read_addr(t, addr, addrlen)
    env = socket_env(t)
    deadline = _deadline(s.snd_timeout_ns)

    def attempt() -> int:
        q = s.connect(raw, env)
        if q is None:
            return 0
        if s.nonblocking or _expired(deadline):
            raise EAGAIN
        _wait(t, _QueueWait(q, s.path_name()), WRITABLE_EVENTS, "connects", attempt, deadline)
        return attempt()

    return attempt()


def _accept(t: Task, fd: int, addr: int, lenp: int, flags: int) -> int:
    flags = s32(flags)
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise EINVAL
    s = _socket(t, fd)
    deadline = _deadline(s.rcv_timeout_ns)

    def attempt() -> int:
        new, err = s.accept(flags & SOCK_NONBLOCK)
        if new is None:
            if err is EAGAIN and not s.nonblocking and not _expired(deadline):
                _wait(t, s, READABLE_EVENTS, "accepts", attempt, deadline)
                return attempt()
            raise err or EAGAIN
        try:
            nfd = _install(t, new, bool(flags & SOCK_CLOEXEC))
        finally:
            new.dec_ref()
        if addr:
            try:
                _write_addr(t, addr, lenp, new.getpeername())
            except Errno:
                t.tg.fd_table.remove(nfd)
                raise
        return nfd

    return attempt()


def sys_accept4(t: Task, fd: int, addr: int, lenp: int, flags: int, *_: int) -> int:
    return _accept(t, fd, addr, lenp, flags)


def sys_accept(t: Task, fd: int, addr: int, lenp: int, *_: int) -> int:
    return _accept(t, fd, addr, lenp, 0)


def sys_shutdown(t: Task, fd: int, how: int, *_: int) -> int:
    _socket(t, fd).shutdown(s32(how))
    return 0


def sys_getsockname(t: Task, fd: int, addr: int, lenp: int, *_: int) -> int:
    _write_addr(t, addr, lenp, _socket(t, fd).getsockname())
    return 0


def sys_getpeername(t: Task, fd: int, addr: int, lenp: int, *_: int) -> int:
    s = _socket(t, fd)
    _write_addr(t, addr, lenp, s.getpeername())
    return 0


def sys_getsockopt(t: Task, fd: int, level: int, name: int, optval: int, optlen: int, *_: int) -> int:
    """Linux ``sk_getsockopt``: the length is read first (EFAULT), EINVAL
    when negative; the value is truncated to it and the length written
    back."""
    s = _socket(t, fd)
    (ln,) = _INT.unpack(t.copy_in_bytes(optlen, 4))
    if ln < 0:
        raise EINVAL
    value = s.getsockopt(s32(level), s32(name), ln)
    out = value[:ln]
    if out:
        t.copy_out_bytes(optval, out)
    t.copy_out_bytes(optlen, _INT.pack(len(out)))
    return 0


def sys_setsockopt(t: Task, fd: int, level: int, name: int, optval: int, optlen: int, *_: int) -> int:
    s = _socket(t, fd)
    ln = s32(optlen)
    if ln < 0:
        raise EINVAL
    value = t.copy_in_bytes(optval, min(ln, 4096)) if ln else b""
    if s32(level) == SOL_SOCKET and s32(name) in (SO_SNDBUFFORCE, SO_RCVBUFFORCE) \
            and not t.creds.capable(CAP_NET_ADMIN):
        raise EPERM
    s.setsockopt(s32(level), s32(name), value)
    return 0


# -- data ---------------------------------------------------------------------------------
