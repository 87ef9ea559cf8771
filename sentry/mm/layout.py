"""What a MemoryManager is configured with and reports: the host's mmap
policy (``vm.mmap_min_addr``, overcommit), the address-space layout, the
loader's metadata for /proc, and the memory-path counters (gVisor
``mm/metadata.go``, ``arch.MmapLayout``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sentry.hostarch import PAGE_SIZE

_PAGE_MASK = ~(PAGE_SIZE - 1)

STACK_GUARD_GAP = 256 * PAGE_SIZE
"""Linux's default ``stack_guard_gap``: no mapping may be placed (by a hint
or a search) or grow (brk) within this distance below a grows-down vma."""

LSM_MMAP_MIN_ADDR = 0x10000
"""Linux's ``CONFIG_LSM_MMAP_MIN_ADDR`` default. The kernel's effective
``mmap_min_addr`` is the larger of it and the ``vm.mmap_min_addr`` sysctl:
non-fixed hints below it are raised to it."""


@dataclass(frozen=True)
class HostMmapPolicy:
    """The host facts that decide low-address and overcommit behaviour.

    Read once from ``/proc`` (``host_mmap_policy``) so the sentry behaves
    as Linux does for the user running it: ``dac_min_addr`` is
    ``vm.mmap_min_addr``; MAP_FIXED below it needs CAP_SYS_RAWIO
    (``cap_sys_rawio``), else EPERM. ``overcommit_mode`` is
    ``vm.overcommit_memory`` and ``commit_pages`` the page count a single
    accountable request may not exceed (RAM + swap in mode 0, the
    CommitLimit in mode 2; unused in mode 1).
    """

    dac_min_addr: int = 0x10000
    cap_sys_rawio: bool = False
    overcommit_mode: int = 0
    commit_pages: int = 1 << 40


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


@functools.cache
def host_mmap_policy() -> HostMmapPolicy:
    """The running host's ``HostMmapPolicy`` (cached; safe defaults when
    ``/proc`` is unreadable)."""
    text = _read("/proc/sys/vm/mmap_min_addr").strip()
    dac = int(text) if text.isdigit() else 0x10000
    rawio = False
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            rawio = bool(int(line.split()[1], 16) >> 17 & 1)  # CAP_SYS_RAWIO
    text = _read("/proc/sys/vm/overcommit_memory").strip()
    mode = int(text) if text.isdigit() else 0
    meminfo: dict[str, int] = {}
    for line in _read("/proc/meminfo").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            meminfo[parts[0].rstrip(":")] = int(parts[1]) * 1024 // PAGE_SIZE
    if mode == 2:
        pages = meminfo.get("CommitLimit", 1 << 40)
    else:
        pages = meminfo.get("MemTotal", 1 << 40) + meminfo.get("SwapTotal", 0)
    return HostMmapPolicy(dac, rawio, mode, pages)


def _default_min_addr() -> int:
    dac = host_mmap_policy().dac_min_addr
    return max((dac + PAGE_SIZE - 1) & _PAGE_MASK, LSM_MMAP_MIN_ADDR)


@dataclass
class MmapLayout:
    """Where things go in a 47-bit x86-64 address space.

    Addresses are deterministic, like Linux with address-space
    randomisation off (``setarch -R``): the stack ends at ``TASK_SIZE`` and
    PIE executables load at ``pie_base``. Top-down mmap starts at
    ``top_down_base``, which is the ASLR-off base moved down by 256 GiB, the
    middle of the random gap Linux puts there (``mmap_rnd_bits`` = 28, up to
    1 TiB). Without that gap a buffer from mmap plus a 2 GiB count would
    fail ``access_ok`` where a normally randomised Linux process succeeds.
    ``min_addr`` is Linux's effective ``mmap_min_addr`` (lowest address a
    hint or search yields); ``policy`` says whether MAP_FIXED may go lower.
    """

    min_addr: int = field(default_factory=_default_min_addr)
    max_addr: int = 0x7FFFFFFFF000  # TASK_SIZE
    top_down_base: int = 0x7FFFF7FFF000 - (256 << 30)
    pie_base: int = 0x555555554000
    stack_top: int = 0x7FFFFFFFF000
    policy: HostMmapPolicy = field(default_factory=host_mmap_policy)


@dataclass
class Metadata:
    """Loader-provided facts /proc needs later (gVisor ``mm/metadata.go``)."""

    argv_start: int = 0
    argv_end: int = 0
    envv_start: int = 0
    envv_end: int = 0
    auxv: list[tuple[int, int]] = field(default_factory=list)
    executable: str = ""
    start_stack: int = 0  # the initial stack pointer (Linux mm->start_stack)
    # (device, inode) of the executable while this MM runs it (mm->exe_file):
    # write-denied, see set_executable_file.
    exe_key: tuple[int, int] | None = None


@dataclass
class Counters:
    """Memory-path statistics (the benchmark, tests and trace view read them).

    ``faults``: ``handle_user_fault`` calls; ``cow_breaks``: copy-on-write
    pmas that were copied; ``cow_reclaims``: copy-on-write pmas taken back
    without copying because this MM held the only reference;
    ``pmas_created``; ``as_compactions``: times the address space was
    flushed because its regions had fragmented.
    """

    faults: int = 0
    cow_breaks: int = 0
    cow_reclaims: int = 0
    pmas_created: int = 0
    as_compactions: int = 0
