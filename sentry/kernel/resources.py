"""What the guest is told about its machine: one virtual CPU, the memory
it may use and how much of it is in use, uptime and load. /proc/meminfo,
/proc/stat, /proc/uptime, /proc/loadavg, /sys/devices/system/cpu and
sysinfo(2) all read these, so every view agrees (gVisor
``kernel/kernel.go`` ``ApplicationCores`` and ``usage.MemoryAccounting``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentry.kernel.kernel import Kernel

GUEST_CPUS = 1
"""The guest's CPU count: the sentry runs one task at a time, on one host
thread, so more would only mislead a program sizing a worker pool."""

USER_HZ = 100
"""Clock ticks per second in /proc/stat (``sysconf(_SC_CLK_TCK)``)."""

BOOT_MONOTONIC_NS = time.monotonic_ns()
BOOT_WALL_S = int(time.time())
"""When this sentry started: the guest's boot (uptime, btime)."""


@cache
def memory_total() -> int:
    """The guest's memory size in bytes: the host's MemTotal, until a
    ``--max-memory`` limit exists (1 GiB when /proc/meminfo is absent)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 30


@dataclass(frozen=True)
class MemoryFigures:
    """Bytes: ``total`` the guest may use, ``used`` committed from the
    memory file (anonymous and shared memory, page tables aside), ``free``
    the rest."""

    total: int
    used: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


def memory_figures(kernel: Kernel) -> MemoryFigures:
    return MemoryFigures(memory_total(), int(kernel.mf.bytes_in_use))


def uptime_seconds() -> float:
    """Seconds since the sentry started."""
    return (time.monotonic_ns() - BOOT_MONOTONIC_NS) / 1e9


def busy_seconds() -> float:
    """CPU time the sentry has used (all guest work runs on it)."""
    t = os.times()
    return t.user + t.system


@dataclass(frozen=True)
class TaskCounts:
    """For /proc/loadavg and /proc/stat: runnable tasks, live tasks, and
    the last id handed out."""

    running: int
    total: int
    last_pid: int


def task_counts(kernel: Kernel) -> TaskCounts:
    live = [t for t in kernel.tasks.values() if not t.exited]
    running = sum(1 for t in live if not t.blocked)
    return TaskCounts(max(running, 1), len(live), kernel.last_tid())
