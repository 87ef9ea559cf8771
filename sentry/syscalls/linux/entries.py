"""What one row of the syscall table says (gVisor ``syscalls/syscalls.go``).

Every x86-64 syscall number has exactly one entry, and the entry states how
complete the sentry's version is:

* :class:`Supported`: the handler implements the call as Linux documents
  it (differences are bugs, not design).
* :class:`PartiallySupported`: the handler runs, but some flags, options
  or fields are refused or ignored; ``note`` names them.
* :class:`Unimplemented`: there is no handler; the call returns ENOSYS and
  the kernel logs it once per number. ``reason`` says why.

The table itself is ``sentry.syscalls.linux.table``; ``docgen`` renders it
as ``docs/syscalls.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sentry.kernel.kernel import Handler


class Reason(Enum):
    """Why a syscall has no handler."""

    OBSOLETE = "obsolete"  # removed from or deprecated in Linux
    PRIVILEGED = "needs privileges"  # only a privileged process could use it
    NOT_YET = "not yet"  # a gap the sentry means to fill


@dataclass(frozen=True)
class Supported:
    """A complete implementation."""

    name: str
    handler: Handler

    level = "supported"
    note = ""


@dataclass(frozen=True)
class PartiallySupported:
    """An implementation with known gaps; ``note`` names what is missing."""

    name: str
    handler: Handler
    note: str

    level = "partial"


@dataclass(frozen=True)
class Unimplemented:
    """No handler: ENOSYS, logged once. ``note`` adds detail to ``reason``."""

    name: str
    reason: Reason
    note: str = ""

    level = "unimplemented"
    handler = None


Entry = Supported | PartiallySupported | Unimplemented
