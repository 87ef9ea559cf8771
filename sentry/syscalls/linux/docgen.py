"""Render the syscall table as the compatibility matrix ``docs/syscalls.md``.

    python3 -m sentry.syscalls.linux.docgen > docs/syscalls.md

``tests/syscalls/test_syscall_table.py`` fails when the committed file differs from
what this prints.
"""

from __future__ import annotations

from collections import Counter

from sentry.syscalls.linux.entries import Entry, Reason, Unimplemented
from sentry.syscalls.linux.table import TABLE

COMMAND = "python3 -m sentry.syscalls.linux.docgen > docs/syscalls.md"


def _level(entry: Entry) -> str:
    if isinstance(entry, Unimplemented):
        return f"unimplemented: {entry.reason.value}"
    return entry.level


def render(table: dict[int, Entry] = TABLE) -> str:
    """The whole markdown document for ``table``."""
    levels = Counter(e.level for e in table.values())
    reasons = Counter(e.reason for e in table.values() if isinstance(e, Unimplemented))
    why = ", ".join(f"{reasons[r]} {r.value}" for r in Reason)
    lines = [
        "# Syscall compatibility (x86-64)",
        "",
        f"Generated from `sentry/syscalls/linux/table.py` by `{COMMAND}`; do not edit by hand.",
        "",
        f"Of {len(table)} syscalls, {levels['supported']} are supported, {levels['partial']} partially "
        f"supported and {levels['unimplemented']} unimplemented ({why}).",
        "",
        "* **supported**: implemented as Linux documents it.",
        "* **partial**: implemented, but the note names flags, options or fields that are refused or ignored.",
        "* **unimplemented**: returns ENOSYS and is logged once per run (`--log-level warning`).",
        "",
        "Numbers not listed (the unassigned 335-423 and 470-511, and 512-547, which belong to the x32",
        "ABI and which Linux also answers with ENOSYS on x86-64) are unknown: ENOSYS, logged once.",
        "",
        "| # | name | level | note |",
        "|---:|---|---|---|",
    ]
    for nr in sorted(table):
        e = table[nr]
        lines.append(f"| {nr} | `{e.name}` | {_level(e)} | {e.note} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
