"""The declarative syscall table: complete, honest about partial support,
and the committed compatibility matrix (docs/syscalls.md) is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sentry.linuxerr import ENOSYS
from sentry.syscalls.linux import docgen
from sentry.syscalls.linux.entries import PartiallySupported, Reason, Supported, Unimplemented
from sentry.syscalls.linux.table import TABLE, build_table

ROOT = Path(__file__).resolve().parents[2]
UNISTD = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
# syscall_64.tbl (Linux 6.17): 0-334 and 424-469 are assigned on x86-64.
ASSIGNED = set(range(335)) | set(range(424, 470))


def test_committed_matrix_is_current() -> None:
    committed = (ROOT / "docs" / "syscalls.md").read_text()
    assert committed == docgen.render(), f"docs/syscalls.md is stale: regenerate it with `{docgen.COMMAND}`"


def test_every_assigned_number_has_exactly_one_entry() -> None:
    assert set(TABLE) == ASSIGNED
    names = [e.name for e in TABLE.values()]
    assert len(names) == len(set(names))


def test_every_partial_entry_names_what_is_missing() -> None:
    missing = [e.name for e in TABLE.values() if isinstance(e, PartiallySupported) and not e.note.strip()]
    assert missing == []


def test_every_unimplemented_entry_has_a_reason() -> None:
    for e in TABLE.values():
        if isinstance(e, Unimplemented):
            assert isinstance(e.reason, Reason), e.name
        else:
            assert isinstance(e, Supported | PartiallySupported)
            assert callable(e.handler), e.name


@pytest.mark.skipif(not UNISTD.exists(), reason="no kernel headers (linux-libc-dev) on this host")
def test_names_agree_with_the_hosts_kernel_headers() -> None:
    host = {
        int(m.group(2)): m.group(1)
        for m in re.finditer(r"^#define __NR_(\w+) (\d+)$", UNISTD.read_text(), re.MULTILINE)
    }
    assert host, "no __NR_ definitions parsed"
    assert {nr: TABLE[nr].name for nr in host} == host


def test_dispatch_table_follows_the_entries() -> None:
    """Handlers exactly for the implemented entries; names for all; an
    unimplemented or unknown number dispatches to the kernel's ENOSYS path."""
    k = build_table()
    for nr in range(len(k.handlers)):
        e = TABLE.get(nr)
        assert k.handlers[nr] is (None if e is None else e.handler), nr
        assert k.name(nr) == (e.name if e is not None else f"syscall_{nr}")
    assert k.handlers[167] is None  # swapon: unimplemented
    assert k.name(512) == "syscall_512"  # x32 range: unknown


def test_unimplemented_entries_return_enosys_and_are_logged_once() -> None:
    from sentry.kernel.kernel import Kernel

    k = Kernel(build_table(), mf=None)

    class _T:
        tid = 1

    for nr in (167, 165, 512):
        assert k.unknown_syscall(_T(), nr) == -ENOSYS.errno  # type: ignore[arg-type]
        assert k.unknown_syscall(_T(), nr) == -ENOSYS.errno  # type: ignore[arg-type]
    assert k.unknown_syscalls_seen == {167, 165, 512}
