"""The per-process file descriptor table (gVisor ``kernel/fd_table.go``)."""

from __future__ import annotations

from sentry.linuxerr import EBADF, EMFILE
from sentry.vfs import FileDescription

NR_OPEN_DEFAULT = 1024  # RLIMIT_NOFILE soft limit


class FDTable:
    """fd -> (FileDescription, close-on-exec flag). The lowest free fd is
    always chosen, as POSIX requires."""

    def __init__(self) -> None:
        self._files: dict[int, tuple[FileDescription, bool]] = {}
        self.limit = NR_OPEN_DEFAULT

    def get(self, fd: int) -> FileDescription:
        """The file at ``fd``; raises EBADF."""
        entry = self._files.get(fd)
        if entry is None:
            raise EBADF
        return entry[0]

    def get_or_none(self, fd: int) -> FileDescription | None:
        entry = self._files.get(fd)
        return None if entry is None else entry[0]

    def cloexec(self, fd: int) -> bool:
        entry = self._files.get(fd)
        if entry is None:
            raise EBADF
        return entry[1]

    def set_cloexec(self, fd: int, value: bool) -> None:
        file = self.get(fd)
        self._files[fd] = (file, value)

    def lowest_free(self, min_fd: int = 0) -> int:
        """The lowest fd >= ``min_fd`` not in use (possibly >= the limit)."""
        fd = min_fd
        while fd in self._files:
            fd += 1
        return fd

    def new_fd(self, file: FileDescription, *, min_fd: int = 0, cloexec: bool = False) -> int:
        """Install ``file`` (taking a reference) at the lowest free fd >= ``min_fd``.
        Raises EMFILE when none is below the limit."""
        fd = self.lowest_free(min_fd)
        if fd >= self.limit:
            raise EMFILE
        file.inc_ref()
        self._files[fd] = (file, cloexec)
        return fd

    def set_fd(self, fd: int, file: FileDescription, *, cloexec: bool = False) -> None:
        """Install ``file`` at ``fd``, closing what was there (dup2)."""
        file.inc_ref()
        old = self._files.get(fd)
        self._files[fd] = (file, cloexec)
        if old is not None:
            old[0].dec_ref()

    def remove(self, fd: int) -> None:
        """Close ``fd``; raises EBADF."""
        entry = self._files.pop(fd, None)
        if entry is None:
            raise EBADF
        entry[0].dec_ref()

    def close_on_exec(self) -> None:
        """Close every fd marked close-on-exec (execve)."""
        for fd in [fd for fd, (_, cloexec) in self._files.items() if cloexec]:
            self.remove(fd)

    def fds(self) -> list[int]:
        return sorted(self._files)

    def fork(self) -> FDTable:
        t = FDTable()
        t.limit = self.limit
        for fd, (file, cloexec) in self._files.items():
            file.inc_ref()
            t._files[fd] = (file, cloexec)
        return t

    def release(self) -> None:
        for file, _ in self._files.values():
            file.dec_ref()
        self._files.clear()
