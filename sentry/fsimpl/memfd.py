"""memfd_create's files (Linux ``mm/memfd.c``; gVisor ``fsimpl/tmpfs``
memfds), backed by a host memfd.

Why the host's and not the sentry's memory file: a memfd is a whole
regular file (read/write/pread, ftruncate, fstat, MAP_SHARED mappings that
every process sees) and the sentry's tree has no in-memory regular file to
build it on, while host files already have all of that, mappings included
(``HostFile``). The host kernel also enforces the seals for us, exactly:
F_SEAL_WRITE is EBUSY while a writable shared mapping exists (the sentry's
windows of the file are such mappings), and writes, truncation and growth
fail with EPERM once sealed. The guest's name is kept here; the host memfd
gets a fixed name, so no guest string reaches the host.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from sentry.abi.fcntl import O_ACCMODE, O_APPEND, O_LARGEFILE, O_NONBLOCK, O_RDWR, O_TRUNC
from sentry.fsimpl.host.file import HostFile
from sentry.hostarch import AccessType
from sentry.hostfd import room
from sentry.linuxerr import EBUSY, EINVAL, ENOMEM, EPERM, Errno, errno_of
from sentry.memmap.mappable import has_shared_writable_mappings
from sentry.vfs.file_description import FileDescription

MFD_CLOEXEC = 0x1
MFD_ALLOW_SEALING = 0x2
MFD_HUGETLB = 0x4
MFD_NOEXEC_SEAL = 0x8
MFD_EXEC = 0x10
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 0x1, 0x2, 0x4, 0x8
F_SEAL_FUTURE_WRITE, F_SEAL_EXEC = 0x10, 0x20
ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC
# Linux MFD_NAME_MAX_LEN: NAME_MAX minus the "memfd:" prefix.
MFD_NAME_MAX_LEN = 255 - 6


class MemfdFile(HostFile):
    """An open memfd: a host memfd the sentry owns, named for the guest."""

    def __init__(self, name: bytes, host_fd: int, flags: int = O_RDWR | O_LARGEFILE) -> None:
        super().__init__(host_fd, flags)
        self.name = name

    @classmethod
    def create(cls, name: bytes, host_flags: int) -> MemfdFile:
        """A new host memfd (``host_flags``: MFD_ALLOW_SEALING and the exec
        flags, checked by the caller) named ``name`` for the guest."""
        room()
        try:
            host_fd = os.memfd_create("sentry-memfd", os.MFD_CLOEXEC | host_flags)
        except OSError as e:
            raise errno_of(e) from None
        return cls(name, host_fd)

    def reopen(self, flags: int) -> FileDescription:
        """Opening /proc/self/fd/N of a memfd opens the same file again,
        with any access (it is the guest's own file)."""
        hflags = (flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_TRUNC)) | os.O_CLOEXEC
        room()
        try:
            hfd = os.open(f"/proc/self/fd/{self.host_fd}", hflags)
        except OSError as e:
            raise errno_of(e) from None
        return MemfdFile(self.name, hfd, flags)

    @property
    def in_writable_tree(self) -> bool:
        # The file is the guest's own, not a name in the host tree.
        return True

    def path_name(self) -> str:
        return "/memfd:" + self.name.decode("utf-8", "surrogateescape") + " (deleted)"

    def add_seals(self, seals: int) -> None:
        """F_ADD_SEALS: EPERM unless open for writing, EINVAL for unknown
        seals; the host answers the rest (EPERM once F_SEAL_SEAL is set,
        EBUSY for F_SEAL_WRITE with writable shared mappings)."""
        if not self.writable:
            raise EPERM
        if seals & ~ALL_SEALS:
            raise EINVAL
        # The host sees only the windows the sentry has mapped so far; the
        # guest's shared writable vmas are counted here (EBUSY, Linux
        # ``memfd_wait_for_pins``/``mapping_deny_writable``).
        st = self.stat()
        if seals & F_SEAL_WRITE and not self.get_seals() & (F_SEAL_SEAL | F_SEAL_WRITE) and \
                has_shared_writable_mappings((st.st_dev, st.st_ino)):
            raise EBUSY
        try:
            fcntl.fcntl(self.host_fd, fcntl.F_ADD_SEALS, seals)
        except OSError as e:
            raise errno_of(e) from None

    def configure_mmap(self, opts: Any) -> None:
        """As a host file's, but a write-sealed memfd maps shared only
        without write permission, ever (Linux ``memfd_check_seals_mmap``:
        EPERM for PROT_WRITE, and no later mprotect to it)."""
        if opts.private or not self.get_seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            super().configure_mmap(opts)
            return
        if opts.perms.write:
            raise EPERM
        from sentry.memmap.mappable import HostFileMappable

        opts.max_perms = AccessType(True, False, True)
        try:
            opts.mappable = HostFileMappable(self.host_fd, self.path_name(), writable=False)
        except Errno:
            raise ENOMEM from None

    def get_seals(self) -> int:
        try:
            return fcntl.fcntl(self.host_fd, fcntl.F_GET_SEALS)
        except OSError as e:
            raise errno_of(e) from None
