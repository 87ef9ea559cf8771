"""Helpers the file system syscalls share: the caller's FSContext, path
arguments (Linux ``getname``), where a ``*at`` walk starts, fd lookups
with Linux's O_PATH rules, and the RLIMIT_NOFILE limit."""

from __future__ import annotations

import resource

from sentry.abi.fcntl import AT_FDCWD, PATH_MAX
from sentry.abi.misc import RLIMIT_NOFILE
from sentry.kernel.task import Task
from sentry.linuxerr import EBADF, EMFILE, ENOENT, ENOTDIR
from sentry.syscalls.linux.args import s32
from sentry.vfs.context import FSContext
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

_HOST_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fs_of(t: Task) -> FSContext:
    """The caller's FSContext; a default tree (host ``/`` read-only, the
    sentry's working directory writable) when none was set up."""
    fs = t.tg.fs
    if fs is None:
        from sentry.fsimpl.root import build_root

        fs = build_root(None, mf=t.kernel.mf, owner=t.tg)
        t.tg.fs = fs
    return fs


def nofile_limit(t: Task) -> int:
    """The RLIMIT_NOFILE soft limit: fds must be below it."""
    lim = t.tg.rlimits.get(RLIMIT_NOFILE)
    cur = lim[0] if lim is not None else _HOST_NOFILE
    if cur < 0 or cur > 1 << 20:
        cur = 1 << 20  # Linux's nr_open ceiling
    table = t.tg.fd_table
    table.limit = cur
    return cur


def copy_path(t: Task, addr: int, *, allow_empty: bool = False) -> bytes:
    """A path argument (Linux ``getname``): EFAULT for bad memory,
    ENAMETOOLONG at PATH_MAX, ENOENT for "" unless ``allow_empty``."""
    path = t.copy_in_string(addr, PATH_MAX)
    if not path and not allow_empty:
        raise ENOENT
    return path


def get_file(t: Task, fd: int, *, allow_path: bool = False) -> FileDescription:
    """The description at ``fd``: EBADF if none, or if it is an O_PATH
    descriptor and the syscall needs a real open file (Linux ``fdget``
    versus ``fdget_raw``)."""
    f = t.tg.fd_table.get(s32(fd))
    if f.is_path and not allow_path:
        raise EBADF
    return f


def start_of(t: Task, fs: FSContext, dirfd: int, path: bytes) -> Dentry:
    """Where a walk of ``path`` starts (Linux ``path_init``): the root for
    absolute paths (``dirfd`` ignored), the working directory for
    AT_FDCWD, else the directory ``dirfd`` names (EBADF; ENOTDIR when the
    path is non-empty and ``dirfd`` is not a directory)."""
    if path[:1] == b"/":
        return fs.root
    dirfd = s32(dirfd)
    if dirfd == AT_FDCWD:
        return fs.cwd
    f = t.tg.fd_table.get(dirfd)
    d = f.dentry
    if d is None or not d.is_dir():
        if path:
            raise ENOTDIR
        if d is None:
            from sentry.fsimpl.proc import AnonDentry

            return AnonDentry(f)
    return d


def empty_path_target(t: Task, fs: FSContext, dirfd: int) -> tuple[Dentry, FileDescription | None]:
    """What an empty path with AT_EMPTY_PATH names: the working directory
    (AT_FDCWD) or the file ``dirfd`` refers to (EBADF)."""
    dirfd = s32(dirfd)
    if dirfd == AT_FDCWD:
        return fs.cwd, None
    f = t.tg.fd_table.get(dirfd)
    if f.dentry is not None:
        return f.dentry, f
    from sentry.fsimpl.proc import AnonDentry

    return AnonDentry(f), f


def install_file(t: Task, f: FileDescription, cloexec: bool) -> int:
    """Give the new ``f`` the lowest free fd (EMFILE at RLIMIT_NOFILE) and
    drop the creator's reference, so the table holds the only one."""
    try:
        if t.tg.fd_table.lowest_free() >= nofile_limit(t):
            raise EMFILE
        return t.tg.fd_table.new_fd(f, cloexec=cloexec)
    finally:
        f.dec_ref()
