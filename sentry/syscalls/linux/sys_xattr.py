"""Extended attributes: get/set/list/removexattr and their ``l`` (no
final symlink) and ``f`` (open fd) forms (Linux ``fs/xattr.c``; gVisor
``sys_xattr.go``). The checks Linux's VFS makes are made here, with the
guest's credentials; the file system stores the attributes (host files:
the host's).
"""

from __future__ import annotations

from collections.abc import Callable

from sentry.kernel.auth import CAP_SYS_ADMIN
from sentry.kernel.task import Task
from sentry.linuxerr import E2BIG, EINVAL, ENAMETOOLONG, ENODATA, EOPNOTSUPP, EPERM, ERANGE, Errno
from sentry.syscalls.linux.args import s32
from sentry.syscalls.linux.fs_util import copy_path, fs_of, get_file, start_of
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription
from sentry.vfs.resolve import lookup_at

XATTR_CREATE, XATTR_REPLACE = 1, 2
XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_LIST_MAX = 65536
_PREFIXES = (b"security.", b"system.", b"trusted.", b"user.")

Target = Dentry | FileDescription
"""What an xattr call acts on: a resolved path or an open file."""


def _copy_name(t: Task, addr: int) -> bytes:
    """The attribute name: ERANGE when empty or longer than 255 bytes,
    EOPNOTSUPP outside the known namespaces, EINVAL for a bare prefix."""
    try:
        name = t.copy_in_string(addr, XATTR_NAME_MAX + 1)
    except Errno as e:
        if e is ENAMETOOLONG:
            raise ERANGE from None
        raise
    if not name or len(name) > XATTR_NAME_MAX:
        raise ERANGE
    prefix = next((p for p in _PREFIXES if name.startswith(p)), None)
    if prefix is None:
        raise EOPNOTSUPP
    if name == prefix:
        raise EINVAL
    return name


def _mode_of(target: Target) -> int:
    return target.stat().st_mode


def _check_permission(t: Task, target: Target, name: bytes, write: bool) -> None:
    """Linux ``xattr_permission``: trusted.* needs CAP_SYS_ADMIN; user.*
    exists only on regular files and directories (EPERM to write, ENODATA
    to read elsewhere)."""
    denied = EPERM if write else ENODATA
    if name.startswith(b"trusted.") and not t.creds.capable(CAP_SYS_ADMIN):
        raise denied
    if name.startswith(b"user."):
        kind = _mode_of(target) & 0o170000
        if kind not in (0o100000, 0o040000):
            raise denied


def _path_target(t: Task, pathname: int, follow: bool) -> Dentry:
    path = copy_path(t, pathname)
    fs = fs_of(t)
    return lookup_at(fs, start_of(t, fs, -100, path), path, follow=follow)


def _fd_target(t: Task, fd: int) -> FileDescription:
    return get_file(t, s32(fd))


def _get(t: Task, target: Target, name_addr: int, value: int, size: int) -> int:
    name = _copy_name(t, name_addr)
    _check_permission(t, target, name, False)
    return _copy_sized(t, value, size, target.getxattr(name), XATTR_SIZE_MAX)


def _copy_sized(t: Task, addr: int, size: int, data: bytes, limit: int) -> int:
    """The xattr size protocol: ``size`` 0 asks for the length; ERANGE
    when ``data`` does not fit (``size`` is clamped to ``limit``)."""
    size = min(size & 0xFFFFFFFFFFFFFFFF, limit)
    if size == 0:
        return len(data)
    if len(data) > size:
        raise ERANGE
    t.copy_out_bytes(addr, data)
    return len(data)


def _list(t: Task, target: Target, addr: int, size: int) -> int:
    names = target.listxattr()
    if not t.creds.capable(CAP_SYS_ADMIN):
        names = [n for n in names if not n.startswith(b"trusted.")]
    data = b"".join(n + b"\0" for n in names)
    if len(data) > XATTR_LIST_MAX:
        raise E2BIG
    return _copy_sized(t, addr, size, data, XATTR_LIST_MAX)


def _set_args(t: Task, name_addr: int, value: int, size: int, flags: int) -> tuple[bytes, bytes, int]:
    """Linux ``setxattr_copy``, done before the path is looked up: EINVAL
    for unknown flags, the name's errors, E2BIG past XATTR_SIZE_MAX."""
    flags = s32(flags)
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise EINVAL
    name = _copy_name(t, name_addr)
    size &= 0xFFFFFFFFFFFFFFFF
    if size > XATTR_SIZE_MAX:
        raise E2BIG
    data = t.copy_in_bytes(value, size) if size else b""
    return name, data, flags


def _set(t: Task, target: Target, args: tuple[bytes, bytes, int]) -> int:
    name, data, flags = args
    _check_permission(t, target, name, True)
    target.setxattr(name, data, flags)
    return 0


def _remove(t: Task, target: Target, name: bytes) -> int:
    _check_permission(t, target, name, True)
    target.removexattr(name)
    return 0


def _by_path(follow: bool) -> tuple[Callable[..., int], ...]:
    def get(t: Task, pathname: int, name: int, value: int, size: int, *_: int) -> int:
        return _get(t, _path_target(t, pathname, follow), name, value, size)

    def set_(t: Task, pathname: int, name: int, value: int, size: int, flags: int, *_: int) -> int:
        args = _set_args(t, name, value, size, flags)
        return _set(t, _path_target(t, pathname, follow), args)

    def list_(t: Task, pathname: int, addr: int, size: int, *_: int) -> int:
        return _list(t, _path_target(t, pathname, follow), addr, size)

    def remove(t: Task, pathname: int, name: int, *_: int) -> int:
        key = _copy_name(t, name)
        return _remove(t, _path_target(t, pathname, follow), key)

    return get, set_, list_, remove


sys_getxattr, sys_setxattr, sys_listxattr, sys_removexattr = _by_path(True)
sys_lgetxattr, sys_lsetxattr, sys_llistxattr, sys_lremovexattr = _by_path(False)


def sys_fgetxattr(t: Task, fd: int, name: int, value: int, size: int, *_: int) -> int:
    return _get(t, _fd_target(t, fd), name, value, size)


def sys_fsetxattr(t: Task, fd: int, name: int, value: int, size: int, flags: int, *_: int) -> int:
    target = _fd_target(t, fd)
    return _set(t, target, _set_args(t, name, value, size, flags))


def sys_flistxattr(t: Task, fd: int, addr: int, size: int, *_: int) -> int:
    return _list(t, _fd_target(t, fd), addr, size)


def sys_fremovexattr(t: Task, fd: int, name: int, *_: int) -> int:
    target = _fd_target(t, fd)
    return _remove(t, target, _copy_name(t, name))
