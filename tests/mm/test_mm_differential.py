"""Differential tests: the same mmap/munmap/mprotect/mremap/madvise/brk
argument lists run on the host Linux kernel and through the sentry's
syscall handlers (``sentry.syscalls.linux.sys_mmap``, so flag decoding is
tested too) over a MemoryManager. Linux is the oracle: return values,
errnos, memory contents and the resulting memory map must match.

How the two sides are made comparable:

* Every case runs in a private scratch window ``[W_BASE, W_BASE + W_SIZE)``
  reserved with a PROT_NONE mapping at the same fixed address on both
  sides, so MAP_FIXED cases use identical addresses. Addresses are written
  ``W(offset)``; results inside the window are reported as offsets, results
  elsewhere (a kernel-chosen address) as ``ext`` (later steps can use them
  as ``R(step, offset)``), and low absolute results as themselves.
* brk arguments are relative to the initial break (``Brk(offset)``) or to
  its page (``B(offset)``); results are reported relative to the initial
  break. The sentry's break starts at the host's page offset.
* The host side runs in a forked child (``os.fork``), so MAP_FIXED and brk
  experiments cannot disturb the test process; the child reads its maps
  into a preallocated buffer before any allocation could move its break.
* After the steps, both sides report the window's memory map (and, for
  brk cases, the map around the break) with adjacent equal entries
  coalesced (Linux's vma merging policy is not what is being tested).
"""

from __future__ import annotations

import ctypes
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from sentry.hostarch import NO_ACCESS, PAGE_SIZE, AccessType
from sentry.linuxerr import EBADF, Errno, name_of
from sentry.memfile import MemoryFile
from sentry.memmap.mappable import HostFileMappable
from sentry.mm import MemoryManager, MMapOpts
from sentry.platform import UnicornAddressSpace
from sentry.syscalls.linux import sys_mmap
from sentry.usermem import IOOpts

P = PAGE_SIZE
U64 = 1 << 64
W_BASE = 0x200000000
W_SIZE = 256 * P
SENTRY_BRK_START = 0x4000000
R_, W_, X_ = 1, 2, 4
RW = R_ | W_
PROT_GROWSDOWN = 0x01000000
SH, PRIV, SHV = 0x1, 0x2, 0x3
FIX, ANON, GROWS, NORESERVE, POPULATE, NOREP = 0x10, 0x20, 0x100, 0x4000, 0x8000, 0x100000
MAY, MFIXED, DONTUNMAP = 1, 2, 4
DONTNEED, FREE, REMOVE = 4, 8, 9
FILE_SIZE = 2 * P + 100
TASK_SIZE = 0x7FFFFFFFF000


class W(NamedTuple):
    """An address ``off`` bytes into the scratch window."""

    off: int


class R(NamedTuple):
    """The address step ``step`` returned, plus ``off``."""

    step: int
    off: int = 0


class Brk(NamedTuple):
    """The initial program break plus ``off``."""

    off: int


class B(NamedTuple):
    """The initial break rounded up to a page, plus ``off``."""

    off: int


def fixed(page: int, pages: int = 1, prot: int = RW, flags: int = PRIV | ANON, fd: Any = -1, off: int = 0) -> tuple:
    """An mmap step mapping ``pages`` at window page ``page`` with MAP_FIXED."""
    return ("mmap", W(page * P), pages * P, prot, flags | FIX, fd, off)


def pattern(n: int, start: int = 0) -> bytes:
    """The test file's bytes ``[start, start + n)`` (zero past its end)."""
    return bytes((i % 251) if i < FILE_SIZE else 0 for i in range(start, start + n))


class Case(NamedTuple):
    steps: list[tuple]
    xfail: str | None = None
    brk: bool = False


# ---------------------------------------------------------------------------
# The cases (gVisor test/syscalls/linux/{mmap,munmap,mremap,brk,madvise}.cc
# and the notes' section 7 items 28-41).

CASES: dict[str, Case] = {
    # -- mmap argument validation ----------------------------------------------------------
    "mmap_not_private_or_shared": Case([("mmap", W(0), P, RW, ANON | FIX, -1, 0)]),
    "mmap_private_and_shared": Case([("mmap", W(0), P, RW, ANON | FIX | PRIV | SH, -1, 0)]),
    "mmap_shared_validate_unknown_flag": Case([("mmap", W(0), P, RW, ANON | FIX | SHV | 0x40000000, -1, 0)]),
    "mmap_invalid_length": Case([("mmap", W(0), 0, RW, PRIV | ANON | FIX, -1, 0)]),
    "mmap_bad_fd": Case([("mmap", W(0), P, R_, PRIV | FIX, 19999, 0)]),
    "mmap_fixed_unaligned": Case([("mmap", W(1), P, RW, PRIV | ANON | FIX, -1, 0)]),
    "mmap_non_fixed_unaligned_hint_rounds_down": Case([
        ("munmap", W(16 * P), 4 * P),
        ("mmap", W(16 * P + 1), P, RW, PRIV | ANON, -1, 0),
    ]),
    "mmap_hint_free_address": Case([("munmap", W(32 * P), 4 * P), ("mmap", W(32 * P), 2 * P, RW, PRIV | ANON, -1, 0)]),
    "mmap_hint_occupied_goes_elsewhere": Case([
        ("mmap", W(0), P, RW, PRIV | ANON, -1, 0),
        ("write", R(0), b"elsewhere"),
        ("read", R(0), 9),
        ("munmap", R(0), P),
    ]),
    "mmap_hint_too_small_hole_goes_elsewhere": Case([
        ("munmap", W(32 * P), P),
        ("mmap", W(32 * P), 2 * P, RW, PRIV | ANON, -1, 0),
        ("munmap", R(1), 2 * P),
    ]),
    "mmap_huge_length": Case([("mmap", 0, U64 - P + 1, RW, PRIV | ANON, -1, 0)]),
    "mmap_length_past_user_space": Case([("mmap", 0, 1 << 47, RW, PRIV | ANON, -1, 0)]),
    "mmap_fixed_past_top": Case([("mmap", TASK_SIZE - P, 2 * P, RW, PRIV | ANON | FIX, -1, 0)]),
    "mmap_small_map": Case([("mmap", W(0), 128, RW, PRIV | ANON | FIX, -1, 0), ("write", W(0), b"s" * 128), ("read", W(0), 128)]),
    "mmap_fixed_replaces_and_zeroes": Case([
        fixed(0, 2), ("write", W(0), b"A" * 10), ("write", W(P), b"B"),
        fixed(0, 1), ("read", W(0), 10), ("read", W(P), 1),
    ]),
    "mmap_fixed_noreplace_existing": Case([
        fixed(0), ("write", W(0), b"A"),
        ("mmap", W(0), P, RW, PRIV | ANON | NOREP, -1, 0),
        ("read", W(0), 1),
    ]),
    "mmap_fixed_noreplace_partial_overlap": Case([
        ("munmap", W(8 * P), 4 * P),
        ("mmap", W(10 * P), 4 * P, RW, PRIV | ANON | NOREP, -1, 0),
    ]),
    "mmap_fixed_noreplace_unaligned": Case([
        ("munmap", W(8 * P), 4 * P),
        ("mmap", W(8 * P + 1), P, RW, PRIV | ANON | NOREP, -1, 0),
    ]),
    "mmap_fixed_noreplace_free": Case([
        ("munmap", W(8 * P), 4 * P),
        ("mmap", W(8 * P), 4 * P, RW, PRIV | ANON | NOREP, -1, 0),
    ]),
    "mmap_prot_write_only_readable": Case([fixed(0, prot=W_), ("write", W(0), b"w"), ("read", W(0), 1)]),
    "mmap_prot_exec_only_readable": Case([fixed(0, prot=X_), ("read", W(0), 8)]),
    "mmap_unknown_prot_bits": Case([fixed(0, prot=RW | 0x100), ("write", W(0), b"p"), ("read", W(0), 1)]),
    "mmap_fixed_below_mmap_min_addr": Case([
        ("mmap", 0x1000, P, RW, PRIV | ANON | FIX, -1, 0),
        ("munmap", 0x1000, P),
    ]),
    "mmap_hint_below_mmap_min_addr": Case([
        ("mmap", 0x2000, P, RW, PRIV | ANON, -1, 0),
        ("munmap", R(0), P),
    ]),
    "mmap_populate": Case([fixed(0, 2, flags=PRIV | ANON | POPULATE), ("read", W(P), 4)]),
    "mmap_shared_anon": Case([
        fixed(0, 2, flags=SH | ANON), ("write", W(P - 2), b"shared"), ("read", W(P - 2), 6),
    ]),
    "mmap_shared_anon_ignores_offset": Case(
        [fixed(0, 1, flags=SH | ANON, off=4 * P), ("write", W(0), b"o"), ("read", W(0), 1)],
    ),
    "mmap_type_checked_after_placement": Case(
        [("mmap", 0, 1 << 47, RW, ANON, -1, 0)],
    ),
    "mprotect_zero_length_bad_prot": Case(
        [("mprotect", W(0), 0, 0x10)],
    ),
    "mmap_growsdown_anon": Case([fixed(8, 2, flags=PRIV | ANON | GROWS), ("write", W(9 * P), b"g"), ("read", W(9 * P), 1)]),
    "mmap_growsdown_shared_anon": Case([fixed(8, 2, flags=SH | ANON | GROWS)]),
    # -- file mappings -------------------------------------------------------------------------
    "mmap_file_private_contents": Case([
        fixed(0, 3, prot=R_, flags=PRIV, fd="ro"), ("read", W(0), 64), ("read", W(2 * P + 90), 20),
    ]),
    "mmap_file_offset": Case([fixed(0, 1, prot=R_, flags=PRIV, fd="ro", off=P), ("read", W(0), 32)]),
    "mmap_file_unaligned_offset": Case([fixed(0, 1, prot=R_, flags=PRIV, fd="ro", off=100)]),
    "mmap_file_offset_overflow": Case([fixed(0, 1, prot=R_, flags=PRIV, fd="ro", off=(1 << 63) - P)]),
    "mmap_file_growsdown": Case([fixed(0, 1, prot=R_, flags=PRIV | GROWS, fd="ro")]),
    "mmap_shared_write_readonly_fd": Case([fixed(0, 1, prot=RW, flags=SH, fd="ro")]),
    "mmap_shared_read_readonly_fd": Case([fixed(0, 1, prot=R_ | X_, flags=SH, fd="ro"), ("read", W(0), 8)]),
    "mmap_private_write_readonly_fd": Case([
        fixed(0, 1, prot=RW, flags=PRIV, fd="ro"), ("write", W(0), b"XY"), ("read", W(0), 4),
        fixed(4, 1, prot=R_, flags=PRIV, fd="ro"), ("read", W(4 * P), 4),
    ]),
    "mmap_writeonly_fd": Case([fixed(0, 1, prot=W_, flags=PRIV, fd="wo")]),
    "mmap_shared_write_visible_to_new_mapping": Case([
        fixed(0, 1, prot=RW, flags=SH, fd="rw"), ("write", W(8), b"shared!"),
        fixed(4, 1, prot=R_, flags=PRIV, fd="rw"), ("read", W(4 * P + 8), 7),
    ]),
    # -- mprotect ----------------------------------------------------------------------------------
    "mprotect_not_page_aligned": Case([fixed(0), ("mprotect", W(1), P, R_)]),
    "mprotect_huge_length": Case([fixed(0), ("mprotect", W(0), U64 - 1, R_)]),
    "mprotect_zero_length_anywhere": Case([("mprotect", 0x1000, 0, R_)]),
    "mprotect_unmapped": Case([("munmap", W(8 * P), 4 * P), ("mprotect", W(8 * P), P, R_)]),
    "mprotect_over_hole": Case([
        fixed(0, 3), ("munmap", W(P), P), ("mprotect", W(0), 3 * P, R_),
    ]),
    "mprotect_setting_prot_none_doesnt_free_memory": Case([
        fixed(0), ("write", W(100), b"keep"), ("mprotect", W(0), P, 0), ("mprotect", W(0), P, RW),
        ("read", W(100), 4),
    ]),
    "mprotect_split_and_merge": Case([
        fixed(0, 4), ("mprotect", W(P), 2 * P, R_), ("maps",), ("mprotect", W(P), 2 * P, RW),
    ]),
    "mprotect_shared_readonly_fd_to_write": Case([
        fixed(0, 1, prot=R_, flags=SH, fd="ro"), ("mprotect", W(0), P, RW), ("mprotect", W(0), P, R_ | X_),
    ]),
    "mprotect_private_readonly_fd_to_write": Case([
        fixed(0, 1, prot=R_, flags=PRIV, fd="ro"), ("mprotect", W(0), P, RW), ("write", W(0), b"z"), ("read", W(0), 2),
    ]),
    "mprotect_growsdown_on_normal_vma": Case([fixed(0, 2), ("mprotect", W(P), P, R_ | PROT_GROWSDOWN)]),
    "mprotect_growsdown_extends_to_vma_start": Case([
        fixed(8, 4, flags=PRIV | ANON | GROWS), ("mprotect", W(10 * P), P, R_ | PROT_GROWSDOWN),
    ]),
    "mprotect_bad_prot_bits": Case([fixed(0), ("mprotect", W(0), P, 0x10)]),
    "mprotect_prot_sem": Case(
        [fixed(0), ("mprotect", W(0), P, R_ | 0x8)],
    ),
    "mprotect_exec_keeps_contents": Case([
        fixed(0), ("write", W(0), b"\x90\xc3"), ("mprotect", W(0), P, R_ | X_), ("read", W(0), 2),
    ]),
    # -- munmap ------------------------------------------------------------------------------------
    "munmap_zero_length": Case([fixed(0), ("munmap", W(0), 0)]),
    "munmap_last_page_round_up": Case([fixed(0), ("munmap", W(0), U64 - P + 1)]),
    "munmap_unaligned": Case([fixed(0), ("munmap", W(1), P)]),
    "munmap_hole_is_fine": Case([("munmap", W(8 * P), P), ("munmap", W(8 * P), P)]),
    "munmap_past_top": Case([("munmap", TASK_SIZE - P, 2 * P)]),
    "munmap_middle_keeps_neighbours": Case([
        fixed(0, 3), ("write", W(0), b"a"), ("write", W(P), b"b"), ("write", W(2 * P), b"c"),
        ("munmap", W(P), P), ("read", W(0), 1), ("read", W(2 * P), 1),
    ]),
    # -- brk ---------------------------------------------------------------------------------------
    "brk_returns_old_brk_on_failure": Case([("brk", 0), ("brk", U64 - 1), ("brk", 1)], brk=True),
    "brk_grow_write_shrink_regrow": Case([
        ("brk", Brk(P)), ("write", Brk(P - 1), b"x"), ("read", Brk(P - 1), 1),
        ("brk", Brk(P + 10)), ("brk", 0), ("brk", Brk(0)), ("maps",),
        ("brk", Brk(2 * P)), ("read", Brk(P - 1), 1), ("brk", Brk(0)),
    ], brk=True),
    "brk_blocked_by_mapping_and_guard_page": Case([
        ("mmap", B(4 * P), P, RW, PRIV | ANON | NOREP, -1, 0),
        ("brk", Brk(8 * P)), ("brk", B(4 * P)), ("brk", B(3 * P)), ("maps",),
        ("brk", Brk(0)), ("munmap", B(4 * P), P),
    ], brk=True),
    "brk_huge_fails": Case([("brk", Brk(1 << 46)), ("brk", 0)], brk=True),
    # -- mremap ------------------------------------------------------------------------------------
    "mremap_unaligned_old": Case([fixed(0, 2), ("mremap", W(1), P, P, 0, 0)]),
    "mremap_new_size_zero": Case([fixed(0, 2), ("mremap", W(0), P, 0, 0, 0)]),
    "mremap_new_size_rounds_to_zero": Case([fixed(0, 2), ("mremap", W(0), P, U64 - 1, 0, 0)]),
    "mremap_bad_flags": Case([fixed(0, 2), ("mremap", W(0), P, P, 0x80, 0)]),
    "mremap_fixed_without_maymove": Case([fixed(0, 2), ("mremap", W(0), P, P, MFIXED, W(20 * P))]),
    "mremap_unmapped_old": Case([("munmap", W(8 * P), 4 * P), ("mremap", W(8 * P), P, P, 0, 0)]),
    "mremap_same_size": Case([fixed(0, 2), ("mremap", W(0), 2 * P, 2 * P, 0, 0)]),
    "mremap_same_size_across_hole": Case([fixed(0, 1), ("munmap", W(P), P), ("mremap", W(0), 3 * P, 3 * P, 0, 0)]),
    "mremap_shrink_in_place": Case([
        fixed(0, 2), ("write", W(0), b"A"), ("mremap", W(0), 2 * P, P, 0, 0), ("read", W(0), 1),
    ]),
    "mremap_grow_in_place": Case([
        fixed(0, 1), ("write", W(0), b"A" * 8), ("munmap", W(P), 4 * P),
        ("mremap", W(0), P, 3 * P, 0, 0), ("read", W(0), 8), ("read", W(3 * P - 8), 8),
    ]),
    "mremap_grow_blocked": Case([fixed(0, 1), ("mremap", W(0), P, 2 * P, 0, 0)]),
    "mremap_grow_maymove": Case([
        fixed(0, 1), ("write", W(0), b"B"), ("mremap", W(0), P, 3 * P, MAY, 0),
        ("read", R(2), 1), ("read", R(2, P), 1), ("write", R(2, 2 * P), b"t"), ("maps",), ("munmap", R(2), 3 * P),
    ]),
    "mremap_span_two_vmas": Case([
        fixed(0, 1), fixed(1, 1, prot=R_), ("mremap", W(0), 2 * P, 3 * P, MAY, 0),
    ]),
    "mremap_span_into_hole": Case([
        fixed(0, 2), ("munmap", W(2 * P), 2 * P), ("mremap", W(0), 4 * P, 4 * P, MAY, 0),
        ("mremap", W(0), 4 * P, 5 * P, MAY, 0),
    ]),
    "mremap_fixed_move": Case([
        fixed(0, 3), ("write", W(0), b"F"), ("write", W(P), b"G"),
        ("mremap", W(0), 3 * P, 2 * P, MAY | MFIXED, W(20 * P)), ("read", W(20 * P), 1), ("read", W(21 * P), 1),
    ]),
    "mremap_fixed_onto_mapping": Case([
        fixed(0, 2), ("write", W(0), b"A"), fixed(24, 2), ("write", W(24 * P), b"D"), ("write", W(25 * P), b"E"),
        ("mremap", W(0), 2 * P, P, MAY | MFIXED, W(24 * P)), ("read", W(24 * P), 1), ("read", W(25 * P), 1),
    ]),
    "mremap_fixed_grow": Case([
        fixed(0, 1), ("write", W(0), b"g"), ("mremap", W(0), P, 3 * P, MAY | MFIXED, W(40 * P)),
        ("read", W(40 * P), 1), ("read", W(42 * P), 1),
    ]),
    "mremap_fixed_overlap": Case([fixed(0, 3), ("mremap", W(0), 3 * P, 3 * P, MAY | MFIXED, W(P))]),
    "mremap_fixed_overlap_unmapped_source_is_efault": Case([
        ("munmap", W(8 * P), 4 * P), ("mremap", W(8 * P), 2 * P, 2 * P, MAY | MFIXED, W(9 * P)),
    ]),
    "mremap_grow_past_user_space_is_einval": Case([fixed(0, 1), ("mremap", W(0), P, 1 << 47, MAY, 0)]),
    "mremap_dontunmap_compares_rounded_sizes": Case([
        fixed(0, 1), ("write", W(0), b"r"), ("mremap", W(0), P, P - 100, MAY | DONTUNMAP, 0),
        ("read", R(2), 1), ("munmap", R(2), P),
    ]),
    "mremap_shrink_unmapped_source": Case([("munmap", W(8 * P), 4 * P), ("mremap", W(8 * P), 2 * P, P, 0, 0)]),
    "mremap_fixed_unaligned_new": Case([fixed(0, 3), ("mremap", W(0), 3 * P, 3 * P, MAY | MFIXED, W(20 * P + 8))]),
    "mremap_fixed_new_past_top": Case([fixed(0, 1), ("mremap", W(0), P, 2 * P, MAY | MFIXED, TASK_SIZE - P)]),
    "mremap_old_size_zero_private": Case([fixed(0, 2), ("mremap", W(0), 0, P, MAY, 0)]),
    "mremap_old_size_zero_shared_aliases": Case([
        fixed(0, 1, flags=SH | ANON), ("write", W(0), b"s"), ("mremap", W(0), 0, P, MAY, 0),
        ("write", R(2, 1), b"d"), ("read", W(0), 2), ("read", R(2), 2), ("munmap", R(2), P),
    ]),
    "mremap_dontunmap": Case([
        fixed(0, 1), ("write", W(0), b"u"), ("mremap", W(0), P, P, MAY | DONTUNMAP, 0),
        ("read", R(2), 1), ("read", W(0), 1), ("maps",), ("munmap", R(2), P),
    ]),
    "mremap_dontunmap_resize": Case([fixed(0, 1), ("mremap", W(0), P, 2 * P, MAY | DONTUNMAP, 0)]),
    "mremap_dontunmap_without_maymove": Case([fixed(0, 1), ("mremap", W(0), P, P, DONTUNMAP, 0)]),
    "mremap_file_grow_keeps_cow_page_and_exposes_file": Case([
        fixed(0, 1, prot=RW, flags=PRIV, fd="ro"), ("write", W(0), b"X"), ("munmap", W(P), 4 * P),
        ("mremap", W(0), P, 2 * P, MAY, 0), ("read", W(0), 4), ("read", W(P), 16),
    ]),
    "mremap_file_grow_moves_cow_page_and_exposes_file": Case([
        fixed(0, 1, prot=RW, flags=PRIV, fd="ro"), ("write", W(0), b"X"),
        ("mremap", W(0), P, 2 * P, MAY, 0), ("read", R(2), 4), ("read", R(2, P), 16), ("munmap", R(2), 2 * P),
    ]),
    # -- madvise -----------------------------------------------------------------------------------
    "madvise_dontneed_zeroes_private_anon": Case([
        fixed(0, 2), ("write", W(0), b"gone"), ("write", W(P), b"gone"),
        ("madvise", W(0), 2 * P, DONTNEED), ("read", W(0), 4), ("read", W(P), 4),
    ]),
    "madvise_dontneed_private_file_shows_file": Case([
        fixed(0, 1, prot=RW, flags=PRIV, fd="ro"), ("write", W(0), b"XXXX"),
        ("madvise", W(0), P, DONTNEED), ("read", W(0), 4),
    ]),
    "madvise_dontneed_shared_anon_keeps": Case([
        fixed(0, 1, flags=SH | ANON), ("write", W(0), b"kept"), ("madvise", W(0), P, DONTNEED), ("read", W(0), 4),
    ]),
    "madvise_unaligned": Case([fixed(0), ("madvise", W(1), P, DONTNEED)]),
    "madvise_hole_is_enomem_but_advises": Case([
        fixed(0, 1), ("write", W(0), b"h"), ("munmap", W(P), P), ("madvise", W(0), 2 * P, DONTNEED), ("read", W(0), 1),
    ]),
    "madvise_bad_advice": Case([fixed(0), ("madvise", W(0), P, 1234)]),
    "madvise_zero_length": Case([("madvise", W(0), 0, DONTNEED)]),
    "madvise_free_shared_is_einval": Case([fixed(0, 1, flags=SH | ANON), ("madvise", W(0), P, FREE)]),
    "madvise_wipeonfork_shared_is_einval": Case([fixed(0, 1, flags=SH | ANON), ("madvise", W(0), P, 18)]),
    "madvise_dontfork_splits_and_dofork_merges": Case([
        fixed(0, 4), ("madvise", W(P), P, 10), ("madvise", W(0), 4 * P, 11), ("write", W(P), b"f"), ("read", W(P), 1),
    ]),
    "madvise_remove_private_anon": Case([fixed(0, 1), ("madvise", W(0), P, REMOVE)]),
}


# ---------------------------------------------------------------------------
# Normalisation shared by both sides.


def norm_addr(r: int, b0: int) -> tuple:
    if W_BASE <= r < W_BASE + W_SIZE:
        return ("win", r - W_BASE)
    up = (b0 + P - 1) & ~(P - 1)
    if up - 64 * P <= r < up + 64 * P:
        return ("brk+", r - up)
    if r < 1 << 32:
        return ("abs", r)
    return ("ext",)


def norm_result(kind: str, r: int, b0: int) -> tuple:
    if kind in ("mmap", "mremap"):
        return norm_addr(r, b0)
    if kind == "brk":
        return ("brk", r - b0)
    return ("ok", r)


def coalesce(entries: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for s, e, p in entries:
        if out and out[-1][1] == s and out[-1][2] == p:
            out[-1] = (out[-1][0], e, p)
        else:
            out.append((s, e, p))
    return out


def windows(b0: int, brk_case: bool) -> list[tuple[int, int]]:
    out = [(W_BASE, W_BASE + W_SIZE)]
    if brk_case:
        up = (b0 + P - 1) & ~(P - 1)
        out.append((up - 4 * P, up + 32 * P))
    return out


def clip_maps(entries: list[tuple[int, int, str]], wins: list[tuple[int, int]]) -> list:
    out = []
    for ws, we in wins:
        part = [(max(s, ws) - ws, min(e, we) - ws, p) for s, e, p in entries if s < we and e > ws]
        out.append(coalesce(part))
    return out


def resolve(arg: Any, b0: int, addrs: dict[int, int]) -> Any:
    if isinstance(arg, str):
        return arg  # an fd token, substituted by each side
    if isinstance(arg, W):
        return W_BASE + arg.off
    if isinstance(arg, R):
        return addrs[arg.step] + arg.off
    if isinstance(arg, Brk):
        return b0 + arg.off
    if isinstance(arg, B):
        return ((b0 + P - 1) & ~(P - 1)) + arg.off
    return int(arg) % U64


# ---------------------------------------------------------------------------
# The host side (runs in a forked child).

_MAPS_BUF = 1 << 20


def _host_execute(case: Case, path: str) -> list:
    libc = ctypes.CDLL(None, use_errno=True)
    sc = libc.syscall
    sc.restype = ctypes.c_long
    sc.argtypes = [ctypes.c_long] * 7
    read = libc.read
    read.restype = ctypes.c_ssize_t
    read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    maps_buf = ctypes.create_string_buffer(_MAPS_BUF)

    def call(nr: int, *args: int) -> tuple[int, int]:
        a = [ctypes.c_long(x - U64 if x >= 1 << 63 else x).value for x in args]
        a += [0] * (6 - len(a))
        ctypes.set_errno(0)
        r = sc(nr, *a)
        return r, ctypes.get_errno()

    r, err = call(9, W_BASE, W_SIZE, 0, PRIV | ANON | NOREP | NORESERVE, -1 % U64, 0)
    if r != W_BASE:
        return [("setup-failed", err)]
    fds = {
        "ro": os.open(path, os.O_RDONLY),
        "rw": os.open(path, os.O_RDWR),
        "wo": os.open(path, os.O_WRONLY),
    }
    if case.brk:
        _quiet_malloc(libc)
    b0, _ = call(12, 0)
    addrs: dict[int, int] = {}
    out: list = []
    raw_maps: list[bytes] = []

    def snapshot() -> None:
        fd = os.open("/proc/self/maps", os.O_RDONLY)
        n = 0
        while True:
            k = read(fd, ctypes.addressof(maps_buf) + n, _MAPS_BUF - n)
            if k <= 0:
                break
            n += k
        os.close(fd)
        raw_maps.append(maps_buf.raw[:n])
        out.append(("maps", len(raw_maps) - 1))

    for i, step in enumerate(case.steps):
        kind = step[0]
        if kind == "maps":
            snapshot()
            continue
        if kind == "write":
            ctypes.memmove(resolve(step[1], b0, addrs), step[2], len(step[2]))
            out.append(("wrote", len(step[2])))
            continue
        if kind == "read":
            out.append(("bytes", ctypes.string_at(resolve(step[1], b0, addrs), step[2])))
            continue
        args = [resolve(a, b0, addrs) for a in step[1:]]
        if kind == "mmap":
            fd = step[5]
            args[4] = fds[fd] if isinstance(fd, str) else fd % U64
            r, err = call(9, *args)
        elif kind == "munmap":
            r, err = call(11, *args)
        elif kind == "mprotect":
            r, err = call(10, *args)
        elif kind == "mremap":
            r, err = call(25, *args)
        elif kind == "madvise":
            r, err = call(28, *args)
        elif kind == "brk":
            r, err = call(12, *args)
        else:
            raise ValueError(kind)
        if r == -1 and kind != "brk":
            out.append(("err", name_of(err)))
        else:
            addrs[i] = r
            out.append(norm_result(kind, r, b0))
    snapshot()
    if case.brk:
        call(12, b0)  # restore before allocating again
    result = []
    for item in out:
        if item[0] == "maps":
            text = raw_maps[item[1]].decode()
            entries = []
            for line in text.splitlines():
                rng, perms = line.split()[:2]
                s, e = (int(x, 16) for x in rng.split("-"))
                entries.append((s, e, perms))
            result.append(("maps", clip_maps(entries, windows(b0, case.brk))))
        else:
            result.append(item)
    return result


def _quiet_malloc(libc: Any) -> None:
    """Keep glibc's malloc from moving the break during a brk case: grow
    its heap by 16 MiB, free that without trimming, so later allocations
    (Python's, in the forked child) are served from the free top chunk and
    never call sbrk between the case's own brk calls."""
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(ctypes.c_int(m_trim_threshold), ctypes.c_int(1 << 30))
    libc.mallopt(ctypes.c_int(m_mmap_threshold), ctypes.c_int(1 << 26))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free(libc.malloc(ctypes.c_size_t(16 << 20)))


def run_on_host(case: Case, path: str) -> list:
    """Run ``case`` in a forked child; returns its normalised results."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            try:
                payload = pickle.dumps(("ok", _host_execute(case, path)))
            except BaseException as e:
                payload = pickle.dumps(("error", repr(e)))
            view = memoryview(payload)
            while view:
                view = view[os.write(w, view):]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        return [("host-crashed", sig)]
    tag, value = pickle.loads(b"".join(chunks))
    if tag != "ok":
        raise AssertionError(f"host side failed: {value}")
    return value


# ---------------------------------------------------------------------------
# The sentry side: the syscall handlers over a MemoryManager.


class FakeFile:
    """A regular host file opened with some access mode, as the VFS would
    present it to sys_mmap: ``configure_mmap`` mirrors Linux's checks for a
    regular file (MAP_SHARED of a read-only fd loses VM_MAYWRITE)."""

    def __init__(self, path: str, flags: int) -> None:
        self.fd = os.open(path, flags)
        acc = flags & os.O_ACCMODE
        self.readable = acc in (os.O_RDONLY, os.O_RDWR)
        self.writable = acc in (os.O_WRONLY, os.O_RDWR)
        self.path = path
        self.is_path = False  # not an O_PATH descriptor

    def configure_mmap(self, opts: Any) -> None:
        shared = not opts.private
        if shared and not self.writable:
            opts.max_perms = AccessType(True, False, True)
        opts.mappable = HostFileMappable(self.fd, self.path, writable=self.writable and shared)

    def close(self) -> None:
        os.close(self.fd)


class FakeFDTable:
    def __init__(self, files: dict[int, FakeFile]) -> None:
        self.files = files

    def get(self, fd: int) -> FakeFile:
        f = self.files.get(fd)
        if f is None:
            raise EBADF
        return f


class FakeThreadGroup:
    def __init__(self, fd_table: FakeFDTable) -> None:
        self.fd_table = fd_table


class FakeTask:
    """What the mm syscall handlers use of a Task: ``mm`` and ``tg.fd_table``."""

    def __init__(self, mm: MemoryManager, fd_table: FakeFDTable) -> None:
        self.mm = mm
        self.tg = FakeThreadGroup(fd_table)


SENTRY_FDS = {"ro": 10, "rw": 11, "wo": 12}
HANDLERS: dict[str, Callable[..., int]] = {
    "mmap": sys_mmap.sys_mmap,
    "munmap": sys_mmap.sys_munmap,
    "mprotect": sys_mmap.sys_mprotect,
    "mremap": sys_mmap.sys_mremap,
    "madvise": sys_mmap.sys_madvise,
    "brk": sys_mmap.sys_brk,
}


def sentry_maps(mm: MemoryManager) -> list[tuple[int, int, str]]:
    return [(v.start, v.end, f"{v.real_perms}{'p' if v.private else 's'}") for v in mm.vmas]


def run_on_sentry(case: Case, path: str, mf: MemoryFile, host_b0: int) -> list:
    mm = MemoryManager(mf, UnicornAddressSpace)
    files = {
        SENTRY_FDS["ro"]: FakeFile(path, os.O_RDONLY),
        SENTRY_FDS["rw"]: FakeFile(path, os.O_RDWR),
        SENTRY_FDS["wo"]: FakeFile(path, os.O_WRONLY),
    }
    try:
        mm.mmap(MMapOpts(length=W_SIZE, addr=W_BASE, fixed=True, perms=NO_ACCESS))
        mm.set_brk_start(SENTRY_BRK_START)
        b0 = mm.brk(SENTRY_BRK_START + 0x21000 + (host_b0 & (P - 1)))
        task: Any = FakeTask(mm, FakeFDTable(dict(files)))
        addrs: dict[int, int] = {}
        out: list = []
        for i, step in enumerate(case.steps):
            kind = step[0]
            if kind == "maps":
                out.append(("maps", clip_maps(sentry_maps(mm), windows(b0, case.brk))))
                continue
            if kind == "write":
                n, err = mm.copy_out(resolve(step[1], b0, addrs), step[2], IOOpts())
                out.append(("wrote", n) if err is None else ("write-failed", n, repr(err)))
                continue
            if kind == "read":
                buf = bytearray(step[2])
                n, err = mm.copy_in(resolve(step[1], b0, addrs), buf, IOOpts())
                out.append(("bytes", bytes(buf)) if err is None else ("read-failed", n, repr(err)))
                continue
            args = [resolve(a, b0, addrs) for a in step[1:]]
            if kind == "mmap":
                fd = step[5]
                args[4] = SENTRY_FDS[fd] if isinstance(fd, str) else fd % U64
            try:
                r = HANDLERS[kind](task, *args, *([0] * (6 - len(args))))
            except Errno as e:
                out.append(("err", e.name))
                continue
            if r < 0 and kind != "brk":
                out.append(("err", name_of(-r)))
                continue
            addrs[i] = r
            out.append(norm_result(kind, r, b0))
        out.append(("maps", clip_maps(sentry_maps(mm), windows(b0, case.brk))))
        mm.check_invariants()
        return out
    finally:
        mm.release()
        for f in files.values():
            f.close()


# ---------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[str, str]]:
    data = pattern(FILE_SIZE)
    host, sentry = tmp_path / "host", tmp_path / "sentry"
    host.write_bytes(data)
    sentry.write_bytes(data)
    yield str(host), str(sentry)


def _params() -> list[Any]:
    out = []
    for name, case in CASES.items():
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=name, marks=marks))
    return out


def test_enough_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", _params())
def test_same_as_linux(case: Case, files: tuple[str, str], mf: MemoryFile) -> None:
    host_path, sentry_path = files
    libc = ctypes.CDLL(None)
    libc.syscall.restype = ctypes.c_long
    host_b0 = libc.syscall(ctypes.c_long(12), ctypes.c_long(0))
    expected = run_on_host(case, host_path)
    if expected and expected[0][0] == "setup-failed":
        pytest.skip(f"cannot reserve the scratch window at {W_BASE:#x} on the host")
    got = run_on_sentry(case, sentry_path, mf, host_b0)
    steps = [*case.steps, ("maps",)]
    for step, want, have in zip(steps, expected, got, strict=False):
        assert have == want, f"step {step!r}: Linux gave {want!r}, the sentry {have!r}"
    assert len(got) == len(expected)
    with open(host_path, "rb") as fh, open(sentry_path, "rb") as fs:
        assert fs.read() == fh.read(), "file contents differ"
