"""execve and execveat (Linux ``fs/exec.c``; gVisor ``sys_thread.go:Execve``).

The program is resolved through the guest's file system (so ``--root`` and
its sandbox apply) and loaded into a fresh MemoryManager; only when loading
succeeded does the process give up its old image (Linux's "point of no
return"): other threads end, close-on-exec fds close, handled signals revert
to their default action (ignored ones stay ignored), the alternate signal
stack, robust list and rseq registration are dropped, ``clear_child_tid``
is written and woken as on exit, and ``comm`` becomes the file's basename.
A failed execve returns its error with the old image untouched.
"""

from __future__ import annotations

import os
import struct

from sentry.abi.fcntl import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW
from sentry.abi.signals import SIGSEGV
from sentry.hostfd import room
from sentry.kernel.task import Task, TaskStop
from sentry.linuxerr import E2BIG, EACCES, EINVAL, ENAMETOOLONG, Errno
from sentry.loader import AuxvIds, GuestOpener, LoadError, load
from sentry.platform import UnicornAddressSpace
from sentry.syscalls.linux.args import s32
from sentry.syscalls.linux.fs_util import copy_path, fs_of, start_of
from sentry.usermem import DEFAULT_OPTS
from sentry.vfs.context import FSContext
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import O_RDONLY, FileDescription
from sentry.vfs.resolve import check_access, lookup_at, open_at

MAX_ARG_STRLEN = 32 * 4096  # Linux: one argument or environment string
MAX_ARG_STRINGS = 0x7FFFFFFF
_X_OK = 1



def copy_in_vector(t: Task, addr: int) -> list[bytes]:
    """A NULL-terminated array of string pointers (argv or envp). A NULL
    array is empty, as Linux allows. EFAULT for unreadable memory, E2BIG
    for a string over MAX_ARG_STRLEN."""
    out: list[bytes] = []
    if addr == 0:
        return out
    while True:
        (ptr,) = struct.unpack("<Q", t.copy_in_bytes(addr + 8 * len(out), 8))
        if ptr == 0:
            return out
        if len(out) >= MAX_ARG_STRINGS:
            raise E2BIG
        try:
            out.append(t.copy_in_string(ptr, MAX_ARG_STRLEN))
        except Errno as e:
            if e is ENAMETOOLONG:
                raise E2BIG from None
            raise


def _open_exec(fs: FSContext, start: Dentry, path: bytes, follow: bool) -> tuple[FileDescription, Dentry]:
    """Open ``path`` (from ``start``) for execution, as Linux's
    ``do_open_execat``: the walk's Errno, EACCES for a directory or a file
    without execute permission. Returns a new reference and the dentry."""
    d = lookup_at(fs, start, path, follow=follow)
    if d.is_dir():
        raise EACCES
    check_access(d, _X_OK, True)
    return open_at(fs, start, path, O_RDONLY, 0, 0), d


def _host_fd_of(f: FileDescription) -> int:
    """A new host fd for an executable's description; EACCES for a file
    that is not a host file (/proc, /dev: Linux's "not a regular file")."""
    host_fd = f.host_fd
    if host_fd is None:
        raise EACCES
    room()
    return os.dup(host_fd)


def interpreter_opener(fs: FSContext) -> GuestOpener:
    """For the loader: open an interpreter (``PT_INTERP`` or a ``#!``
    line's) by its guest path in ``fs``: the sandbox applies, symlinks
    resolve inside the root, relative paths start at the working directory
    (as Linux's ``open_exec``). Returns a new host fd and the guest path."""

    def open_interp(path: bytes) -> tuple[int, str]:
        start = fs.root if path[:1] == b"/" else fs.cwd
        f, d = _open_exec(fs, start, path, True)
        try:
            return _host_fd_of(f), fs.path_of(d).decode("utf-8", "surrogateescape")
        finally:
            f.dec_ref()

    return open_interp


def exec_filename(dirfd: int, path: bytes) -> bytes:
    """Linux's ``bprm->filename``: what AT_EXECFN points at, what a
    script's interpreter receives and what ``comm`` is named after. The
    path itself when absolute or relative to the working directory, else
    ``/dev/fd/N/path`` (``/dev/fd/N`` for an empty path)."""
    if dirfd == AT_FDCWD or path[:1] == b"/":
        return path
    return b"/dev/fd/%d/%s" % (dirfd, path) if path else b"/dev/fd/%d" % dirfd


def do_execve(t: Task, dirfd: int, pathname: int, argv_addr: int, envp_addr: int, flags: int) -> int:
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise EINVAL
    dirfd = s32(dirfd)
    path = copy_path(t, pathname, allow_empty=bool(flags & AT_EMPTY_PATH))
    argv = copy_in_vector(t, argv_addr)
    envv = copy_in_vector(t, envp_addr)
    fs = fs_of(t)
    if path:
        f, d = _open_exec(fs, start_of(t, fs, dirfd, path), path, not flags & AT_SYMLINK_NOFOLLOW)
    else:  # execveat(fd, "", ..., AT_EMPTY_PATH)
        f = t.tg.fd_table.get(dirfd)
        if f.dentry is None or f.dentry.is_dir():
            raise EACCES
        d = f.dentry
        check_access(d, _X_OK, True)
        f.inc_ref()
    filename = exec_filename(dirfd, path)
    # A /dev/fd/N name dies with a close-on-exec N (BINPRM_FLAGS_PATH_INACCESSIBLE).
    inaccessible = filename != path and t.tg.fd_table.cloexec(dirfd)
    guest_name = fs.path_of(d).decode("utf-8", "surrogateescape")
    mm = t.kernel.new_memory_manager()
    c = t.creds
    try:
        host_fd = _host_fd_of(f)
        try:
            image = load(mm, f"/proc/self/fd/{host_fd}", argv, envv, execfn=filename, name=guest_name,
                         open_interpreter=interpreter_opener(fs), script_inaccessible=inaccessible,
                         credentials=AuxvIds(c.ruid, c.euid, c.rgid, c.egid))
        finally:
            os.close(host_fd)
    except LoadError as e:
        mm.release()
        if e.fatal:
            # Linux fails this after the point of no return: the caller
            # dies of SIGSEGV whatever its handlers (force_fatal_sig).
            t.tg.fatal_signal, t.tg.fault_addr = SIGSEGV, None
            t.kernel.exit_thread_group(t.tg, status=SIGSEGV)
            raise TaskStop from None
        raise e.errno from None
    except BaseException:
        mm.release()
        raise
    finally:
        f.dec_ref()
    # Linux 6.13+ names an AT_EMPTY_PATH exec after the file executed.
    comm_source = mm.metadata.executable if not path else os.fsdecode(filename)
    _point_of_no_return(t, mm, image.entry, image.stack_pointer, comm_source)
    raise TaskStop


def _point_of_no_return(t: Task, mm: object, entry: int, sp: int, name: str) -> None:
    """Replace the process image (Linux ``begin_new_exec``)."""
    from sentry.mm import MemoryManager

    assert isinstance(mm, MemoryManager)
    kernel = t.kernel
    tg = t.tg
    for other in list(tg.tasks):
        if other is not t and not other.exited:
            kernel.exit_task(other)
    if t.clear_child_tid:
        # mm_release: the old image's clear_child_tid is zeroed and woken.
        _, err = t.mm.copy_out(t.clear_child_tid, b"\0\0\0\0", DEFAULT_OPTS)
        if err is None:
            kernel.futexes.wake_key_of(t, t.clear_child_tid, False, 1)
        t.clear_child_tid = 0
    kernel.release_vfork_parent(t)
    old = t.mm
    t.mm = mm
    cpu = mm.address_space
    assert isinstance(cpu, UnicornAddressSpace)
    t.cpu = cpu.new_context()
    t.cpu.rip = entry
    t.cpu.rsp = sp
    old.users -= 1
    if old.users == 0:
        old.release()
    tg.fd_table.close_on_exec()
    for sig, action in list(tg.sigactions.items()):
        if action.handler not in (0, 1):
            del tg.sigactions[sig]
    t.alt_stack = (0, 0, 2)
    t.signal_frames.clear()
    t.robust_list = (0, 0)
    t.rseq = (0, 0, 0)
    t.comm = name.rsplit("/", 1)[-1].encode("utf-8", "surrogateescape")[:15]
    tg.execed = True  # the parent's setpgid is now EACCES


def sys_execve(t: Task, pathname: int, argv: int, envp: int, *_: int) -> int:
    return do_execve(t, -100, pathname, argv, envp, 0)


def sys_execveat(t: Task, dirfd: int, pathname: int, argv: int, envp: int, flags: int, *_: int) -> int:
    return do_execve(t, dirfd, pathname, argv, envp, s32(flags))
