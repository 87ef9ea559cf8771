"""open, close, the fd table (dup, dup2, dup3, fcntl), lseek, ioctl,
truncation, sync and sendfile (gVisor ``sys_file.go``, Linux
``fs/open.c``, ``fs/fcntl.c``, ``fs/file.c``, ``fs/read_write.c``).

Checks follow Linux's order per syscall; each handler's docstring names
the deviations, if any.
"""

from __future__ import annotations

import struct
from stat import S_ISFIFO

from sentry.abi import termios
from sentry.abi.fcntl import (
    AT_FDCWD,
    F_ADD_SEALS,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GET_SEALS,
    F_GETFD,
    F_GETFL,
    F_GETLEASE,
    F_GETLK,
    F_GETOWN,
    F_GETOWN_EX,
    F_GETPIPE_SZ,
    F_GETSIG,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_RDLCK,
    F_SETFD,
    F_SETFL,
    F_SETLK,
    F_SETLKW,
    F_SETOWN,
    F_SETOWN_EX,
    F_SETPIPE_SZ,
    F_SETSIG,
    F_UNLCK,
    F_WRLCK,
    FASYNC,
    FD_CLOEXEC,
    FIOASYNC,
    FIOCLEX,
    FIONBIO,
    FIONCLEX,
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_LARGEFILE,
    O_NONBLOCK,
    O_PATH,
    O_PATH_FLAGS,
    O_TMPFILE,
    O_TRUNC,
    O_WRONLY,
    SEEK_HOLE,
    VALID_OPEN_FLAGS,
)
from sentry.hostarch import MAX_RW_COUNT
from sentry.kernel.task import Task
from sentry.linuxerr import (
    EBADF,
    EINVAL,
    EISDIR,
    EMFILE,
    EOPNOTSUPP,
    ESPIPE,
    Errno,
)
from sentry.syscalls.linux import sys_tty as tty
from sentry.syscalls.linux.args import s32, s64, u32
from sentry.syscalls.linux.fs_util import copy_path, fs_of, get_file, nofile_limit, start_of
from sentry.usermem import bytes_io_sequence
from sentry.vfs.file_description import FileDescription
from sentry.vfs.resolve import lookup_at, open_at
from sentry.vfs.waiter import READABLE_EVENTS

_FLOCK = struct.Struct("<hh4xqqi4x")  # l_type, l_whence, l_start, l_len, l_pid
_SENDFILE_CHUNK = 1 << 16


# -- open and close ----------------------------------------------------------------


def do_open(t: Task, dirfd: int, pathname: int, flags: int, mode: int) -> int:
    """Linux ``do_sys_openat2`` for open/openat/creat: unknown flags are
    ignored, O_PATH keeps only O_PATH_FLAGS, O_CREAT|O_DIRECTORY is EINVAL,
    then the path (EFAULT, ENAMETOOLONG, ENOENT), a free fd (EMFILE), and
    the walk. O_LARGEFILE is always set, as on 64-bit Linux."""
    flags = u32(flags) & VALID_OPEN_FLAGS
    if flags & O_PATH:
        flags &= O_PATH_FLAGS
    elif (flags & O_TMPFILE) == O_TMPFILE:
        if flags & O_ACCMODE == 0:
            raise EINVAL
        raise EOPNOTSUPP  # unnamed temporary files are not supported
    elif flags & O_CREAT and flags & O_DIRECTORY:
        raise EINVAL
    path = copy_path(t, pathname)
    table = t.tg.fd_table
    if table.lowest_free() >= nofile_limit(t):
        raise EMFILE
    fs = fs_of(t)
    start = start_of(t, fs, dirfd, path)
    if not flags & O_PATH:
        flags |= O_LARGEFILE
    f = open_at(fs, start, path, flags, u32(mode), t.tg.umask)
    try:
        return table.new_fd(f, cloexec=bool(flags & O_CLOEXEC))
    finally:
        f.dec_ref()


def sys_open(t: Task, pathname: int, flags: int, mode: int, *_: int) -> int:
    return do_open(t, AT_FDCWD, pathname, flags, mode)


def sys_openat(t: Task, dirfd: int, pathname: int, flags: int, mode: int, *_: int) -> int:
    return do_open(t, dirfd, pathname, flags, mode)


def sys_creat(t: Task, pathname: int, mode: int, *_: int) -> int:
    return do_open(t, AT_FDCWD, pathname, O_CREAT | O_WRONLY | O_TRUNC, mode)


def sys_close(t: Task, fd: int, *_: int) -> int:
    t.tg.fd_table.remove(s32(fd))
    return 0


# -- dup and fcntl ---------------------------------------------------------------------


def sys_dup(t: Task, oldfd: int, *_: int) -> int:
    f = get_file(t, oldfd, allow_path=True)
    nofile_limit(t)
    return t.tg.fd_table.new_fd(f)


def _dup3(t: Task, oldfd: int, newfd: int, flags: int) -> int:
    """Linux ``ksys_dup3``: EBADF when ``newfd`` is not below
    RLIMIT_NOFILE, then EBADF for ``oldfd``."""
    newfd = u32(newfd)
    if newfd >= nofile_limit(t):
        raise EBADF
    f = get_file(t, oldfd, allow_path=True)
    t.tg.fd_table.set_fd(newfd, f, cloexec=bool(flags & O_CLOEXEC))
    return newfd


def sys_dup2(t: Task, oldfd: int, newfd: int, *_: int) -> int:
    if u32(oldfd) == u32(newfd):
        get_file(t, oldfd, allow_path=True)
        return u32(newfd)
    return _dup3(t, oldfd, newfd, 0)


def sys_dup3(t: Task, oldfd: int, newfd: int, flags: int, *_: int) -> int:
    flags = u32(flags)
    if flags & ~O_CLOEXEC:
        raise EINVAL
    if u32(oldfd) == u32(newfd):
        raise EINVAL
    return _dup3(t, oldfd, newfd, flags)


# fcntl commands an O_PATH descriptor allows (Linux ``check_fcntl_cmd``).
_PATH_CMDS = frozenset({F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL})


def _lock(t: Task, f: FileDescription, cmd: int, arg: int) -> int:
    """POSIX and OFD record locks are not tracked: every lock is granted
    and F_GETLK reports F_UNLCK, which is right only while no other
    process (or, for OFD locks, no other open file) contends (a known gap,
    see docs/syscalls.md). The argument is still validated as Linux does
    (EFAULT, EINVAL, EBADF for the access mode)."""
    raw = t.copy_in_bytes(arg, _FLOCK.size)
    l_type, whence, start, length, pid = _FLOCK.unpack(raw)
    if cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW) and pid != 0:
        raise EINVAL
    if l_type not in (F_RDLCK, F_WRLCK, F_UNLCK) or whence not in (0, 1, 2):
        raise EINVAL
    if cmd in (F_GETLK, F_OFD_GETLK):
        if l_type == F_UNLCK:
            raise EINVAL
        t.copy_out_bytes(arg, _FLOCK.pack(F_UNLCK, whence, start, length, pid))
        return 0
    if l_type == F_RDLCK and not f.readable:
        raise EBADF
    if l_type == F_WRLCK and not f.writable:
        raise EBADF
    return 0


def sys_fcntl(t: Task, fd: int, cmd: int, arg: int, *_: int) -> int:
    """fcntl (Linux ``do_fcntl``)."""
    fdn = s32(fd)
    cmd = u32(cmd)
    f = get_file(t, fdn, allow_path=True)
    if f.is_path and cmd not in _PATH_CMDS:
        raise EBADF
    table = t.tg.fd_table
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= nofile_limit(t):
            raise EINVAL
        return table.new_fd(f, min_fd=arg, cloexec=cmd == F_DUPFD_CLOEXEC)
    if cmd == F_GETFD:
        return FD_CLOEXEC if table.cloexec(fdn) else 0
    if cmd == F_SETFD:
        table.set_cloexec(fdn, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.status_flags()
    if cmd == F_SETFL:
        f.set_status_flags(u32(arg))
        return 0
    if cmd in (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        return _lock(t, f, cmd, arg)
    if cmd in (F_GETOWN, F_GETSIG):
        return 0
    if cmd in (F_SETOWN, F_SETSIG):
        return 0
    if cmd == F_GETOWN_EX:
        t.copy_out_bytes(arg, bytes(8))
        return 0
    if cmd == F_SETOWN_EX:
        t.copy_in_bytes(arg, 8)
        return 0
    if cmd == F_GETPIPE_SZ:
        return f.pipe_size()
    if cmd == F_SETPIPE_SZ:
        return f.set_pipe_size(u32(arg))
    if cmd == F_GETLEASE:
        return F_UNLCK
    if cmd == F_ADD_SEALS:
        f.add_seals(u32(arg))
        return 0
    if cmd == F_GET_SEALS:
        return f.get_seals()
    raise EINVAL


# -- positions, ioctl ------------------------------------------------------------------


def sys_lseek(t: Task, fd: int, offset: int, whence: int, *_: int) -> int:
    """lseek: EBADF, EINVAL for an unknown whence, then the file's seek
    (ESPIPE for pipes, EINVAL for a negative result)."""
    f = get_file(t, fd)
    whence = u32(whence)
    if whence > SEEK_HOLE:
        raise EINVAL
    return f.seek(s64(offset), whence)


def sys_ioctl(t: Task, fd: int, request: int, arg: int, *_: int) -> int:
    """ioctl: the generic requests (FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC)
    here, the rest by the file (ENOTTY if it has none)."""
    fdn = s32(fd)
    f = get_file(t, fdn)
    request = u32(request)
    table = t.tg.fd_table
    if request == FIOCLEX:
        table.set_cloexec(fdn, True)
        return 0
    if request == FIONCLEX:
        table.set_cloexec(fdn, False)
        return 0
    if request in (FIONBIO, FIOASYNC):
        (on,) = struct.unpack("<i", t.copy_in_bytes(arg, 4))
        bit = O_NONBLOCK if request == FIONBIO else FASYNC
        flags = f.status_flags()
        f.set_status_flags(flags | bit if on else flags & ~bit)
        return 0
    handled = tty.ioctl(t, f, request, arg)
    if handled is not None:
        return handled
    # The file reads the struct at arg itself (after deciding the request
    # is its own: ENOTTY comes before EFAULT); one that writes a struct must
    # produce exactly the kernel struct's size (the caller's buffer is that
    # big and no bigger).
    def read_arg(n: int) -> bytes:
        return t.copy_in_bytes(arg, n)

    result, out = f.ioctl(request, arg, read_arg)
    if out is not None:
        want = termios.OUT_SIZES.get(request)
        if want is not None and len(out) != want:
            raise AssertionError(f"ioctl {request:#x} produced {len(out)} bytes, the ABI says {want}")
        t.copy_out_bytes(arg, out)
    return result


# -- truncation and sync -------------------------------------------------------------------


def sys_ftruncate(t: Task, fd: int, length: int, *_: int) -> int:
    """EINVAL for a negative length (checked first, as in Linux), EBADF,
    then EINVAL unless the fd is a writable regular file."""
    length = s64(length)
    if length < 0:
        raise EINVAL
    get_file(t, fd).truncate(length)
    return 0


def sys_truncate(t: Task, pathname: int, length: int, *_: int) -> int:
    """EINVAL for a negative length, the path, then EISDIR/EINVAL/EROFS."""
    length = s64(length)
    if length < 0:
        raise EINVAL
    fs = fs_of(t)
    path = copy_path(t, pathname)
    d = lookup_at(fs, start_of(t, fs, AT_FDCWD, path), path)
    d.truncate(length)
    return 0


def sys_fsync(t: Task, fd: int, *_: int) -> int:
    get_file(t, fd).sync(False)
    return 0


def sys_fdatasync(t: Task, fd: int, *_: int) -> int:
    get_file(t, fd).sync(True)
    return 0


def sys_sync(t: Task, *_: int) -> int:
    return 0


def sys_fadvise64(t: Task, fd: int, offset: int, length: int, advice: int, *_: int) -> int:
    """Advice is accepted and ignored once the arguments check out."""
    f = get_file(t, fd)
    if not f.seekable:
        raise ESPIPE
    if not 0 <= s32(advice) <= 5 or s64(length) < 0:
        raise EINVAL
    return 0


# -- sendfile ----------------------------------------------------------------------------------


def sys_sendfile(t: Task, out_fd: int, in_fd: int, offset_ptr: int, count: int, *_: int) -> int:
    """sendfile (Linux ``sendfile64``, ``do_sendfile``): EFAULT for an
    unreadable ``offset`` (copied in before anything else), EBADF for the
    input (and unless it is readable), ESPIPE for an offset on an
    unseekable input, EINVAL for a negative offset, EBADF for the output
    (and unless it is writable), EINVAL for an O_APPEND output, EINVAL for
    a pipe or FIFO as the input (it has no ``splice_read``). Data moves in 64 KiB chunks
    through a sentry buffer; a short write to a seekable input without
    ``offset`` rewinds the input by the unwritten part. A blocking input
    (a host terminal) or output (a pipe) blocks like read/write."""
    from sentry.syscalls.linux.sys_read_write import read_file, write_file

    pos = -1
    if offset_ptr:
        (pos,) = struct.unpack("<q", t.copy_in_bytes(offset_ptr, 8))
    inf = get_file(t, in_fd)
    if not inf.readable:
        raise EBADF
    if offset_ptr:
        if not inf.seekable:
            raise ESPIPE
        if pos < 0:
            raise EINVAL
    outf = get_file(t, out_fd)
    if not outf.writable:
        raise EBADF
    if outf.flags & O_APPEND:
        raise EINVAL
    if S_ISFIFO(inf.stat().st_mode):
        raise EINVAL  # Linux: a pipe has no splice_read, even for count 0
    count = min(count, MAX_RW_COUNT)
    done = 0
    buf = bytearray(min(count, _SENDFILE_CHUNK))
    while done < count:
        want = min(count - done, len(buf))
        view = memoryview(buf)[:want]
        if done and not inf.readiness(READABLE_EVENTS):
            break  # a partial transfer returns rather than blocks
        # Blocking before anything moved redoes the whole sendfile.
        retry = None if done else (lambda: sys_sendfile(t, out_fd, in_fd, offset_ptr, count))
        try:
            n = read_file(t, inf, bytes_io_sequence(view), pos if pos >= 0 else -1, retry)
        except Errno as e:
            if done:
                break
            if e is EISDIR:
                raise EINVAL from None
            raise
        if n == 0:
            break
        try:
            w = write_file(t, outf, bytes_io_sequence(view[:n]), -1, done) - done
        except Errno:
            if pos < 0 and inf.seekable:
                inf.seek(-n, 1)
            if done:
                break
            raise
        done += w
        if pos >= 0:
            pos += w
        if w < n:
            if pos < 0 and inf.seekable:
                inf.seek(w - n, 1)
            break
        if n < want:
            break
    if offset_ptr:
        t.copy_out_bytes(offset_ptr, struct.pack("<q", pos))
    return done
