"""The region table without Unicorn: rows split on partial cuts and
protects exactly as Unicorn splits regions, host addresses follow the
pieces, and the engine calls it returns skip holes and coalesce runs."""

from __future__ import annotations

import subprocess
import sys

from sentry.hostarch import READ, READ_WRITE, AccessType
from sentry.platform.regions import PERMS_OF, PROT_EXEC, PROT_READ, PROT_WRITE, Region, RegionTable

P = 0x1000
R, RW, RX = PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC
FILE = object()  # the table only keeps files alive


def table(*rows: tuple[int, int, int, int]) -> RegionTable:
    t = RegionTable()
    for start, end, perms, host in rows:
        t.insert(start, end, perms, host, FILE)  # type: ignore[arg-type]
    return t


def rows(t: RegionTable) -> list[tuple[int, int, int, int]]:
    return [(r.start, r.end, r.perms, r.host) for r in t]


def test_the_table_does_not_load_unicorn() -> None:
    code = "import sys, sentry.platform.regions; sys.exit('unicorn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_perms_bits() -> None:
    assert PERMS_OF[READ] == PROT_READ and PERMS_OF[READ_WRITE] == RW
    assert PERMS_OF[AccessType(True, False, True)] == RX
    t = table((P, 2 * P, RX, 0x7000))
    assert t.regions() == [(P, 2 * P, AccessType(True, False, True))]


def test_insert_keeps_order() -> None:
    t = table((5 * P, 6 * P, R, 0x50), (P, 2 * P, R, 0x10), (3 * P, 4 * P, R, 0x30))
    assert [r[0] for r in rows(t)] == [P, 3 * P, 5 * P]
    assert len(t) == 3


def test_cut_middle_splits_and_host_follows() -> None:
    t = table((P, 5 * P, RW, 0x10000))
    cut = t.cut(2 * P, 3 * P)
    assert cut.unmap == [(2 * P, 3 * P)] and cut.invalidate == []
    assert rows(t) == [(P, 2 * P, RW, 0x10000), (3 * P, 5 * P, RW, 0x10000 + 2 * P)]


def test_cut_over_holes_coalesces_adjacent_regions() -> None:
    t = table((P, 2 * P, R, 0xA000), (2 * P, 3 * P, RX, 0xB000), (5 * P, 6 * P, R, 0xC000))
    cut = t.cut(0, 10 * P)
    # Regions 1 and 2 touch: one engine unmap; the hole before region 3 splits the run.
    assert cut.unmap == [(P, 3 * P), (5 * P, 6 * P)]
    assert cut.invalidate == [(2 * P, 3 * P)]  # only the executable piece
    assert len(t) == 0


def test_cut_of_a_hole_does_nothing() -> None:
    t = table((P, 2 * P, R, 0))
    assert t.cut(3 * P, 4 * P).unmap == []
    assert len(t) == 1 and not t.overlaps(3 * P, 4 * P) and t.overlaps(0, P + 1)


def test_reprotect_splits_at_edges_and_skips_unchanged() -> None:
    t = table((P, 4 * P, RW, 0x10000), (4 * P, 5 * P, R, 0x20000), (7 * P, 8 * P, RW, 0x30000))
    changed = t.reprotect(2 * P, 8 * P, R)
    assert changed == [(2 * P, 4 * P, RW), (7 * P, 8 * P, RW)]  # [4P, 5P) already R
    assert rows(t) == [
        (P, 2 * P, RW, 0x10000),
        (2 * P, 4 * P, R, 0x10000 + P),
        (4 * P, 5 * P, R, 0x20000),
        (7 * P, 8 * P, R, 0x30000),
    ]


def test_reprotect_to_no_access_keeps_the_region() -> None:
    t = table((P, 2 * P, RW, 0))
    assert t.reprotect(P, 2 * P, 0) == [(P, 2 * P, RW)]
    assert rows(t) == [(P, 2 * P, 0, 0)]


def test_exact_finds_the_same_mapping_only() -> None:
    t = table((P, 3 * P, R, 0x9000))
    assert t.exact(P, 3 * P, 0x9000) == Region(P, 3 * P, R, 0x9000, FILE)  # type: ignore[arg-type]
    assert t.exact(P, 3 * P, 0x8000) is None  # other memory
    assert t.exact(P, 2 * P, 0x9000) is None  # part of it
    t.update(P, RW | PROT_EXEC, FILE)  # type: ignore[arg-type]
    assert rows(t) == [(P, 3 * P, RW | PROT_EXEC, 0x9000)]
    t.clear()
    assert len(t) == 0
