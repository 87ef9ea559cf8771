"""The x86-64 Linux syscall table as data (gVisor ``syscalls/linux/linux64.go``).

``TABLE`` maps every assigned x86-64 syscall number (0-334 and 424-469 of
``arch/x86/entry/syscalls/syscall_64.tbl`` as of Linux 6.17) to one entry
that says how complete the sentry's version is
(``sentry.syscalls.linux.entries``). Numbers without an entry (the
unassigned 335-423 and 470-511, and the x32-only 512-547, which Linux's
x86-64 ABI also answers with ENOSYS) are unknown: ENOSYS, logged once,
like the unimplemented entries.

``docs/syscalls.md`` is generated from this table
(``python3 -m sentry.syscalls.linux.docgen``).
"""

from __future__ import annotations

from sentry.kernel.kernel import SyscallTable
from sentry.syscalls.linux.entries import Entry
from sentry.syscalls.linux.table_high import HIGH
from sentry.syscalls.linux.table_low import LOW

TABLE: dict[int, Entry] = {**LOW, **HIGH}


def build_table() -> SyscallTable:
    """The kernel's dispatch table: a handler for every Supported and
    PartiallySupported entry, and every entry's name for logs and strace;
    unimplemented and unknown numbers have no handler (ENOSYS)."""
    table = SyscallTable()
    for nr, entry in TABLE.items():
        if entry.handler is None:
            table.names[nr] = entry.name
        else:
            table.register(nr, entry.name, entry.handler)
    return table
