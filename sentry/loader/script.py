"""Interpreter scripts: programs that start with ``#!`` (Linux
``fs/binfmt_script.c``).

Linux reads the first ``BINPRM_BUF_SIZE`` (256) bytes of the file and,
when they start with ``#!``, runs the interpreter named on that line with
at most one argument (everything after the name up to the end of the line,
inner blanks included), then the script's filename, then the original
arguments without ``argv[0]``. Only spaces and tabs separate: a CR before
the newline stays part of the line (a DOS script's interpreter is
``/bin/sh\\r``, ENOENT). A line longer than the buffer is accepted when the
interpreter name ends inside it (the argument is then cut at the buffer's
end); otherwise, and for a line with no name at all, the answer is
ENOEXEC. Interpreters may be scripts themselves, at most
:data:`MAX_DEPTH` levels deep (ELOOP past that, as ``exec_binprm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sentry.linuxerr import EACCES, ENOENT
from sentry.loader.errors import LoadError

BINPRM_BUF_SIZE = 256
"""How much of a file Linux reads to recognise its format."""

MAX_DEPTH = 5
"""Nested interpreters allowed before ELOOP (Linux ``exec_binprm``)."""

_BLANKS = b" \t"
_TERMINATORS = b" \t\0"


class Shebang(NamedTuple):
    """The parsed ``#!`` line: the interpreter's path and its optional
    argument (None when the line has none)."""

    interpreter: bytes
    argument: bytes | None


def is_script(head: bytes) -> bool:
    """Whether a file whose first bytes are ``head`` is an interpreter
    script (Linux's test: the first two bytes are ``#!``)."""
    return head[:2] == b"#!"


def parse_shebang(head: bytes, name: str) -> Shebang:
    """Parse the ``#!`` line in ``head`` (the file's first
    :data:`BINPRM_BUF_SIZE` bytes or fewer), step for step as
    ``load_script`` does on its zero-padded buffer.

    Precondition: ``is_script(head)``. Raises LoadError(ENOEXEC) where
    Linux answers ENOEXEC: a line of blanks only, no interpreter name, or
    a line longer than the buffer in which the name does not end; and
    LoadError(EACCES) for a name that is empty because a NUL starts it
    (bare ``#!``: Linux 6.18 answers EACCES for opening "", measured).
    """
    buf = head[:BINPRM_BUF_SIZE].ljust(BINPRM_BUF_SIZE, b"\0")
    last = BINPRM_BUF_SIZE - 1  # Linux keeps the last byte for a NUL
    nul = buf.find(b"\0")
    end = buf.find(b"\n", 0, nul if nul >= 0 else BINPRM_BUF_SIZE)  # strnchr stops at a NUL
    if end < 0:
        first = _skip_blanks(buf, 2, last)
        if first == last:
            raise LoadError(f"{name}: the #! line is blank")
        if _find_terminator(buf, first, last) == last:
            raise LoadError(f"{name}: #! line too long: the interpreter name is truncated")
        end = last
    while buf[end - 1] in _BLANKS:
        end -= 1
    start = _skip_blanks(buf, 2, end)
    if start == end:
        raise LoadError(f"{name}: the #! line names no interpreter")
    sep = _find_terminator(buf, start, end)
    argument = None
    if sep < end and buf[sep] != 0:
        argument = buf[_skip_blanks(buf, sep, end):end].split(b"\0", 1)[0]
    interpreter = buf[start:sep].split(b"\0", 1)[0]
    if not interpreter:
        raise LoadError(f"{name}: the #! line's interpreter name is empty", EACCES)
    return Shebang(interpreter, argument)


def _skip_blanks(buf: bytes, i: int, end: int) -> int:
    """The first index in ``[i, end)`` that is not a space or tab, or ``end``."""
    while i < end and buf[i] in _BLANKS:
        i += 1
    return i


def _find_terminator(buf: bytes, i: int, end: int) -> int:
    """The first index in ``[i, end)`` holding a space, tab or NUL, or ``end``."""
    while i < end and buf[i] not in _TERMINATORS:
        i += 1
    return i


def script_argv(shebang: Shebang, filename: bytes, argv: Sequence[bytes]) -> list[bytes]:
    """The argument vector the interpreter gets: its own name, the
    optional argument, the script's filename, then ``argv`` without its
    first element (Linux ``remove_arg_zero``)."""
    out = [shebang.interpreter]
    if shebang.argument is not None:
        out.append(shebang.argument)
    out.append(filename)
    out.extend(argv[1:])
    return out


def check_accessible(name: str, inaccessible: bool) -> None:
    """ENOENT when the script's filename will not name it after the exec
    (``/dev/fd/N/...`` of a close-on-exec fd: Linux's
    BINPRM_FLAGS_PATH_INACCESSIBLE), as ``load_script`` checks."""
    if inaccessible:
        raise LoadError(f"{name}: the script's path is inaccessible after exec (close-on-exec fd)", ENOENT)
