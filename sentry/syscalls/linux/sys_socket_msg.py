"""Socket messages: sendto/recvfrom, sendmsg/recvmsg (iovecs, control
messages: SCM_RIGHTS, SCM_CREDENTIALS), sendmmsg/recvmmsg, and read/write
on a socket (Linux ``net/socket.c``; gVisor ``sys_socket.go``). Socket
creation, names and options are in ``sys_socket``."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from sentry.kernel.auth import CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN
from sentry.kernel.task import Task
from sentry.linuxerr import (
    EAGAIN,
    EBADF,
    EINVAL,
    EMSGSIZE,
    ENOBUFS,
    EPERM,
    EPIPE,
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
    SOCK_STREAM,
    ControlMessages,
    RecvResult,
    SocketFile,
    Ucred,
)
from sentry.syscalls.linux.args import s32, u32
from sentry.syscalls.linux.sys_read_write import handle_io_error, send_sigpipe
from sentry.syscalls.linux.sys_socket import (
    _CMSGHDR,
    _INT,
    _MSGHDR,
    _UCRED,
    SCM_CREDENTIALS,
    SCM_MAX_FD,
    SCM_RIGHTS,
    SOCKADDR_STORAGE,
    SOL_SOCKET,
    UIO_MAXIOV,
    _cmsg_align,
    _deadline,
    _expired,
    _install,
    _QueueWait,
    _read_addr,
    _socket,
    _wait,
    _write_addr,
    socket_env,
)
from sentry.usermem import IOSequence
from sentry.vfs.waiter import READABLE_EVENTS, WRITABLE_EVENTS


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
        passcred = s.passcred
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
