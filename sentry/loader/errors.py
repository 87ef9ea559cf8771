"""The loader's one exception type."""

from __future__ import annotations

from sentry.linuxerr import ENOEXEC, Errno


class LoadError(Exception):
    """A program could not be loaded.

    ``str(error)`` is a one-line, human-readable message naming the file.
    ``errno`` is the Linux error (an ``Errno`` singleton, compare with
    ``is``; ``err`` is the same object) ``execve(2)`` would return: ENOEXEC for
    anything that is not a loadable ELF64 x86-64 executable (bad format,
    truncated, dynamically linked), ENOENT/ENOTDIR/ELOOP for path problems,
    EACCES for a file that is not a regular file or may not be read or
    executed, E2BIG for argument lists that do not fit, ENOMEM when the
    memory manager refuses a mapping.

    ``fatal`` marks failures Linux meets only after execve's point of no
    return (mapping the segments, the bss, the stack): there the caller
    does not get an error but dies of SIGSEGV.
    """

    def __init__(self, message: str, err: Errno = ENOEXEC, *, fatal: bool = False) -> None:
        message = " ".join(message.split())  # guarantee a single line
        super().__init__(message)
        self.message = message
        self.errno: Errno = err
        self.err: Errno = err
        self.fatal = fatal

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"LoadError({self.message!r}, {self.err!r})"
