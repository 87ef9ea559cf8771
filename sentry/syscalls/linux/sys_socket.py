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
    EBADF,
    EFAULT,
    EINVAL,
    EMFILE,
    EMSGSIZE,
    ENOBUFS,
    ENOTSOCK,
    EPERM,
    EPIPE,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    Errno,
)
from sentry.socket import (
    AF_UNIX,
    MSG_CMSG_CLOEXEC,
    MSG_CTRUNC,
    MSG_DONTWAIT,
    MSG_NOSIGNAL,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    SOCK_CLOEXEC,
    SOCK_DGRAM,
    SOCK_NONBLOCK,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    ControlMessages,
    RecvResult,
    SocketEnv,
    SocketFile,
    Ucred,
    unix,
)
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.fs_util import fs_of, nofile_limit
from sentry.syscalls.linux.sys_read_write import handle_io_error, send_sigpipe
from sentry.usermem import IOSequence
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
CAP_SETUID, CAP_SETGID, CAP_NET_ADMIN, CAP_SYS_ADMIN = 7, 6, 12, 21
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


def _parse_control(t: Task, s: SocketFile, raw: bytes) -> ControlMessages | None:
    """Linux ``__scm_send``: EINVAL for a malformed header, SCM_RIGHTS on
    another family or more than SCM_MAX_FD descriptors; EBADF for a bad
    fd; SCM_CREDENTIALS must name the caller (EPERM) unless privileged.
    Headers of other levels are ignored. Every passed description holds
    a reference until delivered (or :meth:`ControlMessages.release`)."""
    ctl = ControlMessages()
    off = 0
    try:
        while off + _CMSGHDR.size <= len(raw):
            clen, level, ctype = _CMSGHDR.unpack_from(raw, off)
            if clen < _CMSGHDR.size or clen > len(raw) - off:
                raise EINVAL
            data = raw[off + _CMSGHDR.size : off + clen]
            if level == SOL_SOCKET:
                if ctype == SCM_RIGHTS:
                    if s.family != AF_UNIX:
                        raise EINVAL
                    fds = [v for (v,) in _INT.iter_unpack(data[: len(data) // 4 * 4])]
                    have = len(ctl.rights or [])
                    if fds and have + len(fds) > SCM_MAX_FD:
                        raise EINVAL
                    for fd in fds:
                        f = t.tg.fd_table.get_or_none(fd)
                        if f is None:  # O_PATH descriptors pass (fget_raw)
                            raise EBADF
                        f.inc_ref()
                        ctl.rights = [*(ctl.rights or []), f]
                elif ctype == SCM_CREDENTIALS:
                    if len(data) != _UCRED.size:
                        raise EINVAL
                    pid, uid, gid = _UCRED.unpack(data)
                    c = t.creds
                    if pid != t.tg.tgid and not c.capable(CAP_SYS_ADMIN):
                        raise EPERM
                    if uid not in (c.ruid, c.euid, c.suid) and not c.capable(CAP_SETUID):
                        raise EPERM
                    if gid not in (c.rgid, c.egid, c.sgid) and not c.capable(CAP_SETGID):
                        raise EPERM
                    ctl.cred = Ucred(pid, uid, gid)
                else:
                    raise EINVAL
            off += _cmsg_align(clen)
    except Errno:
        ctl.release()
        raise
    return ctl if ctl.rights or ctl.cred else None


def _nonblocking(s: SocketFile, flags: int) -> bool:
    return s.nonblocking or bool(flags & MSG_DONTWAIT)


def _identity(n: int) -> int:
    return n


def _send(t: Task, s: SocketFile, src: IOSequence, flags: int, to: bytes | None,
          control: ControlMessages | None, then: Callable[[int], int] = _identity) -> int:
    """Send, waiting for room on a blocking socket (a stream send goes on
    until everything is queued); EPIPE raises SIGPIPE on stream sockets
    unless MSG_NOSIGNAL. Returns ``then(count)`` (the syscall's result)."""
    env = socket_env(t)
    nonblock = _nonblocking(s, flags)
    deadline = _deadline(s.snd_timeout_ns)
    done = 0

    def attempt(src: IOSequence, control: ControlMessages | None) -> int:
        nonlocal done
        n, err = s.sendmsg(src, flags, to, control, env)
        if control is not None and control.queued:
            control = None  # the receiver's now
        done += n
        if err is EAGAIN and not nonblock and not _expired(deadline):
            rest = src.drop_first(n)
            q = s.send_wait
            s.send_wait = None
            target = s if q is None else _QueueWait(q, s.path_name())
            _wait(t, target, WRITABLE_EVENTS, "sends", lambda: attempt(rest, control), deadline)
            return attempt(rest, control)
        if control is not None:
            control.release()
        if err is EPIPE and s.epipe_signals and not flags & MSG_NOSIGNAL:
            send_sigpipe(t)
        return then(handle_io_error(done, err))

    return attempt(src, control)


def sys_sendto(t: Task, fd: int, buf: int, length: int, flags: int, addr: int, addrlen: int) -> int:
    s = _socket(t, fd)
    src = t.single_io_sequence(buf, length)
    to = _read_addr(t, addr, addrlen) if addr else None
    return _send(t, s, src, s32(flags), to or None, None)


def _read_msghdr(t: Task, msg: int) -> tuple[int, int, int, int, int, int, int]:
    return _MSGHDR.unpack(t.copy_in_bytes(msg, _MSGHDR.size))


def sys_sendmsg(t: Task, fd: int, msg: int, flags: int, *_: int) -> int:
    return _sendmsg(t, _socket(t, fd), msg, s32(flags), _identity)


def _sendmsg(t: Task, s: SocketFile, msg: int, flags: int, then: Callable[[int], int]) -> int:
    """Linux ``____sys_sendmsg``: EMSGSIZE for more than UIO_MAXIOV
    iovecs, ENOBUFS for a control length above INT_MAX."""
    name, namelen, iov, iovlen, control, controllen, _flags = _read_msghdr(t, msg)
    if iovlen > UIO_MAXIOV:
        raise EMSGSIZE
    if s32(namelen) < 0:
        raise EINVAL
    to = _read_addr(t, name, namelen) if name and namelen else None
    src = t.iovecs_io_sequence(iov, iovlen)
    if controllen > 0x7FFFFFFF:
        raise ENOBUFS
    ctl = None
    if controllen:
        ctl = _parse_control(t, s, t.copy_in_bytes(control, controllen))
    return _send(t, s, src, flags, to, ctl, then)


def _recv(t: Task, s: SocketFile, dst: IOSequence, flags: int,
          finish: Callable[[int, RecvResult], int]) -> int:
    """Receive, waiting on a blocking socket; MSG_WAITALL on a stream
    waits until ``dst`` is full (or end of file, an error, a signal)."""
    nonblock = _nonblocking(s, flags)
    waitall = bool(flags & MSG_WAITALL) and s.sock_type == SOCK_STREAM and not flags & MSG_PEEK
    result = RecvResult()
    deadline = _deadline(s.rcv_timeout_ns)
    done = 0

    def attempt(dst: IOSequence) -> int:
        nonlocal done
        n, err = s.recvmsg(dst, flags, result)
        done += n
        more = waitall and err is None and n and n < dst.num_bytes()
        blocking = not nonblock and not _expired(deadline)
        if blocking and ((err is EAGAIN and (done == 0 or waitall)) or more):
            rest = dst.drop_first(n)
            _wait(t, s, READABLE_EVENTS, "receives", lambda: attempt(rest), deadline)
            return attempt(rest)
        if err is EAGAIN and done:
            err = None
        count = handle_io_error(done, err)
        return finish(count, result)

    return attempt(dst)


def sys_recvfrom(t: Task, fd: int, buf: int, length: int, flags: int, addr: int, lenp: int) -> int:
    s = _socket(t, fd)
    dst = t.single_io_sequence(buf, length)
    flags = s32(flags)

    def finish(n: int, r: RecvResult) -> int:
        if r.control is not None:
            r.control.release()  # recv(2) drops passed descriptors, as Linux
        if addr:
            _write_addr(t, addr, lenp, r.addr or b"")
        return r.full_length if r.full_length is not None else n

    return _recv(t, s, dst, flags, finish)


def _put_cmsg(out: bytearray, room: int, level: int, ctype: int, data: bytes) -> tuple[int, bool]:
    """Linux ``put_cmsg``: append one header (truncated to ``room``);
    returns (bytes used, truncated)."""
    if room < _CMSGHDR.size:
        return 0, True
    clen = _CMSGHDR.size + len(data)
    trunc = room < clen
    if trunc:
        clen = room
    out += (_CMSGHDR.pack(clen, level, ctype) + data)[:clen]
    used = min(_cmsg_align(_CMSGHDR.size + len(data)), room)
    out += b"\0" * (used - clen)
    return used, trunc


def sys_recvmsg(t: Task, fd: int, msg: int, flags: int, *_: int) -> int:
    return _recvmsg(t, _socket(t, fd), msg, s32(flags), _identity)


def _recvmsg(t: Task, s: SocketFile, msg: int, flags: int, then: Callable[[int], int]) -> int:
    """recvmsg: writes back msg_namelen, msg_controllen (bytes used) and
    msg_flags. Passed descriptors become new fds (close-on-exec with
    MSG_CMSG_CLOEXEC) as far as the control buffer holds them; the rest
    are closed and MSG_CTRUNC set, as Linux does. Returns
    ``then(count)``."""
    name, namelen, iov, iovlen, control, controllen, _flags = _read_msghdr(t, msg)
    if iovlen > UIO_MAXIOV:
        raise EMSGSIZE
    dst = t.iovecs_io_sequence(iov, iovlen)
    if s32(namelen) < 0:
        raise EINVAL
    namelen = min(namelen, SOCKADDR_STORAGE) if name else 0

    def finish(n: int, r: RecvResult) -> int:
        mflags = r.flags
        out = bytearray()
        room = controllen if control else 0
        passcred = bool(getattr(s, "passcred", False))
        rights = r.control.rights if r.control is not None else None
        if r.control is not None:
            r.control.rights = None
        if passcred and r.cred is not None:
            used, trunc = _put_cmsg(out, room, SOL_SOCKET, SCM_CREDENTIALS,
                                    _UCRED.pack(r.cred.pid, r.cred.uid, r.cred.gid))
            room -= used
            if trunc:
                mflags |= MSG_CTRUNC
        installed: list[int] = []
        if rights:
            fit = (room - _CMSGHDR.size) // 4 if room > _CMSGHDR.size else 0
            for f in rights[:fit]:
                try:
                    installed.append(_install(t, f, bool(flags & MSG_CMSG_CLOEXEC)))
                except Errno:
                    break
            for f in rights:
                f.dec_ref()
            if installed:
                data = b"".join(_INT.pack(v) for v in installed)
                used, _trunc = _put_cmsg(out, room, SOL_SOCKET, SCM_RIGHTS, data)
                room -= used
            if len(installed) < len(rights):
                mflags |= MSG_CTRUNC
        if out:
            t.copy_out_bytes(control, bytes(out))
        addr_out = (r.addr or b"") if name else b""
        if name and namelen:
            t.copy_out_bytes(name, addr_out[:namelen])
        # msg_namelen (only with a name buffer, as Linux), msg_controllen
        # (bytes used) and msg_flags.
        if name:
            t.copy_out_bytes(msg + 8, struct.pack("<I", len(addr_out)))
        t.copy_out_bytes(msg + 40, struct.pack("<Qi", len(out), mflags))
        return then(r.full_length if r.full_length is not None else n)

    return _recv(t, s, dst, flags, finish)


MSG_WAITFORONE = 0x10000
_MMSGHDR_SIZE = 64  # struct msghdr + unsigned int msg_len, padded


def sys_sendmmsg(t: Task, fd: int, msgvec: int, vlen: int, flags: int, *_: int) -> int:
    """Linux ``__sys_sendmmsg``: sendmsg for each entry (at most
    UIO_MAXIOV), storing each count in msg_len; an error after the first
    datagram ends the call with the number sent."""
    s = _socket(t, fd)
    n = min(u32(vlen), UIO_MAXIOV)
    flags = s32(flags)

    def step(i: int) -> int:
        if i == n:
            return i
        addr = msgvec + i * _MMSGHDR_SIZE

        def then(count: int) -> int:
            t.copy_out_bytes(addr + 56, struct.pack("<I", count & 0xFFFFFFFF))
            return step(i + 1)

        try:
            return _sendmsg(t, s, addr, flags, then)
        except Errno:
            if i:
                return i
            raise

    return step(0)


def sys_recvmmsg(t: Task, fd: int, msgvec: int, vlen: int, flags: int, timeout: int, *_: int) -> int:
    """Linux ``do_recvmmsg``: recvmsg for each entry, MSG_WAITFORONE making
    every one after the first non-blocking; the timeout (EINVAL when
    malformed) is checked after each datagram, as Linux does; an error
    after the first datagram ends the call with the number received."""
    s = _socket(t, fd)
    n = min(u32(vlen), UIO_MAXIOV)
    flags = s32(flags)
    deadline = None
    if timeout:
        sec, nsec = struct.unpack("<qq", t.copy_in_bytes(timeout, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise EINVAL
        deadline = time.monotonic_ns() + sec * 1_000_000_000 + nsec

    def step(i: int) -> int:
        if i == n:
            return i
        addr = msgvec + i * _MMSGHDR_SIZE
        f = flags | MSG_DONTWAIT if i and flags & MSG_WAITFORONE else flags

        def then(count: int) -> int:
            t.copy_out_bytes(addr + 56, struct.pack("<I", count & 0xFFFFFFFF))
            if deadline is not None and time.monotonic_ns() >= deadline:
                return i + 1
            return step(i + 1)

        try:
            return _recvmsg(t, s, addr, f & ~MSG_WAITFORONE, then)
        except Errno:
            if i:
                return i
            raise

    return step(0)


def read_socket(t: Task, s: SocketFile, dst: IOSequence) -> int:
    """read(2)/readv(2) on a socket: recv without flags (0 at once for an
    empty buffer, as Linux ``sock_read_iter``); passed descriptors are
    dropped."""
    if dst.num_bytes() == 0:
        return 0

    def finish(n: int, r: RecvResult) -> int:
        if r.control is not None:
            r.control.release()
        return n

    return _recv(t, s, dst, 0, finish)


def write_socket(t: Task, s: SocketFile, src: IOSequence) -> int:
    """write(2)/writev(2) on a socket: send without flags."""
    return _send(t, s, src, 0, None, None)


__all__ = ["MSG_PEEK", "MSG_TRUNC", "SocketFile", "read_socket", "write_socket"]
