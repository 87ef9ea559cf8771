"""memfd_create (Linux ``mm/memfd.c``; gVisor ``sys_memfd.go``)."""

from __future__ import annotations

from sentry.fsimpl.memfd import (
    MFD_ALLOW_SEALING,
    MFD_CLOEXEC,
    MFD_EXEC,
    MFD_HUGETLB,
    MFD_NAME_MAX_LEN,
    MFD_NOEXEC_SEAL,
    MemfdFile,
)
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, ENAMETOOLONG, Errno
from sentry.syscalls.linux.args import u32
from sentry.syscalls.linux.fs_util import install_file


def sys_memfd_create(t: Task, uname: int, flags: int, *_: int) -> int:
    """EINVAL for unknown flags, MFD_EXEC with MFD_NOEXEC_SEAL, or
    MFD_HUGETLB (no huge pages here); EFAULT for the name, EINVAL if it
    is longer than 249 bytes. MFD_NOEXEC_SEAL seals the file against
    execution (and allows sealing), as Linux."""
    flags = u32(flags)
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC):
        raise EINVAL
    if flags & MFD_HUGETLB or (flags & MFD_EXEC and flags & MFD_NOEXEC_SEAL):
        raise EINVAL
    try:
        name = t.copy_in_string(uname, MFD_NAME_MAX_LEN + 1)
    except Errno as e:
        raise (EINVAL if e is ENAMETOOLONG else e) from None
    host_flags = flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC)
    return install_file(t, MemfdFile.create(name, host_flags), bool(flags & MFD_CLOEXEC))
