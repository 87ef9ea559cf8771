"""The system-wide files of /proc: ``meminfo``, ``cpuinfo``, ``stat``,
``uptime``, ``loadavg``, ``filesystems``, and the mount table behind
``mounts`` and ``[pid]/mountinfo``, in Linux's formats
(``fs/proc/meminfo.c``, ``cpuinfo``, ``stat.c``, ``uptime.c``,
``loadavg.c``, ``fs/proc_namespace.c``). They describe the sentry's guest
(``sentry.kernel.resources``: one virtual CPU, its memory and use), not
the host, so ``free``, ``top``, ``uptime``, ``nproc`` and ``df`` report
what the guest has.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from sentry.kernel.resources import (
    BOOT_WALL_S,
    GUEST_CPUS,
    USER_HZ,
    busy_seconds,
    memory_figures,
    task_counts,
    uptime_seconds,
)
from sentry.linuxerr import Errno

if TYPE_CHECKING:
    from sentry.kernel.kernel import Kernel
    from sentry.vfs.context import FSContext

_VMALLOC_TOTAL_KB = 34359738367  # x86-64's vmalloc area, as Linux prints it


def meminfo(kernel: Kernel) -> bytes:
    """/proc/meminfo: the guest's memory is its MemTotal; what the memory
    file holds is in use (anonymous); no swap, no page cache."""
    m = memory_figures(kernel)
    rows = [
        ("MemTotal", m.total), ("MemFree", m.free), ("MemAvailable", m.free), ("Buffers", 0),
        ("Cached", 0), ("SwapCached", 0), ("Active", m.used), ("Inactive", 0),
        ("Active(anon)", m.used), ("Inactive(anon)", 0), ("Active(file)", 0), ("Inactive(file)", 0),
        ("Unevictable", 0), ("Mlocked", 0), ("SwapTotal", 0), ("SwapFree", 0), ("Dirty", 0),
        ("Writeback", 0), ("AnonPages", m.used), ("Mapped", 0), ("Shmem", 0), ("KReclaimable", 0),
        ("Slab", 0), ("SReclaimable", 0), ("SUnreclaim", 0), ("KernelStack", 0), ("PageTables", 0),
        ("CommitLimit", m.total), ("Committed_AS", m.used),
    ]
    lines = [f"{key + ':':<16}{value // 1024:>8} kB\n" for key, value in rows]
    lines += [f"{'VmallocTotal:':<16}{_VMALLOC_TOTAL_KB:>8} kB\n", f"{'VmallocUsed:':<16}{0:>8} kB\n",
              f"{'Hugepagesize:':<16}{2048:>8} kB\n"]
    return "".join(lines).encode()


@cache
def _host_cpu_block() -> list[tuple[str, str]]:
    """The host's first /proc/cpuinfo block as (key, value) pairs."""
    out: list[tuple[str, str]] = []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    if out:
                        break
                    continue
                key, _, value = line.partition(":")
                out.append((key.rstrip("\t "), value.strip()))
    except OSError:
        pass
    return out or [("processor", "0"), ("vendor_id", "GenuineIntel"), ("model name", "sentry virtual CPU")]


_PER_CPU = {"processor", "physical id", "core id", "apicid", "initial apicid"}


def cpuinfo() -> bytes:
    """/proc/cpuinfo: the host CPU's description for each guest CPU, with
    the topology fields of a machine that has :data:`GUEST_CPUS`."""
    blocks = []
    for n in range(GUEST_CPUS):
        fixed = {"siblings": str(GUEST_CPUS), "cpu cores": str(GUEST_CPUS)}
        rows = []
        for key, value in _host_cpu_block():
            if key in _PER_CPU:
                value = str(n) if key != "physical id" else "0"
            rows.append(f"{key}\t: {fixed.get(key, value)}".rstrip() + "\n")
        blocks.append("".join(rows))
    return "\n".join(blocks).encode() + b"\n"


def stat(kernel: Kernel) -> bytes:
    """/proc/stat: the sentry's CPU time as the guest CPU's busy time, the
    rest of the uptime idle; the guest's forks and runnable tasks."""
    t = os.times()
    user, system = int(t.user * USER_HZ), int(t.system * USER_HZ)
    idle = max(int(uptime_seconds() * USER_HZ) - user - system, 0)
    cpu = f"{user} 0 {system} {idle} 0 0 0 0 0 0\n"
    counts = task_counts(kernel)
    lines = ["cpu  " + cpu] + [f"cpu{n} " + cpu for n in range(GUEST_CPUS)]
    lines += ["intr 0\n", "ctxt 0\n", f"btime {BOOT_WALL_S}\n", f"processes {counts.last_pid}\n",
              f"procs_running {counts.running}\n", "procs_blocked 0\n", "softirq 0 0 0 0 0 0 0 0 0 0 0\n"]
    return "".join(lines).encode()


def uptime() -> bytes:
    """/proc/uptime: seconds since the sentry started, and idle seconds."""
    up = uptime_seconds()
    idle = max(up - busy_seconds(), 0.0) * GUEST_CPUS
    return f"{up:.2f} {idle:.2f}\n".encode()


def loadavg(kernel: Kernel) -> bytes:
    """/proc/loadavg: the sentry keeps no load history (0.00); runnable
    and live tasks, and the last pid."""
    c = task_counts(kernel)
    return f"0.00 0.00 0.00 {c.running}/{c.total} {c.last_pid}\n".encode()


def _mangle(path: bytes) -> bytes:
    """Linux's ``mangle`` of paths in mount tables: octal escapes for
    space, tab, newline and backslash."""
    for c in b"\\ \t\n":
        path = path.replace(bytes([c]), b"\\%03o" % c)
    return path


def mounts(ctx: FSContext) -> bytes:
    """/proc/mounts (and /proc/[pid]/mounts): every mount as ``ctx``'s
    process sees it."""
    return b"".join(b"%s %s %s %s 0 0\n" % (m.source, _mangle(ctx.path_of(m.root)), m.fstype, m.options)
                    for m in ctx.vfs.mount_list)


def mountinfo(ctx: FSContext) -> bytes:
    """/proc/[pid]/mountinfo: ids, device, root, mount point, options."""
    out = []
    for m in ctx.vfs.mount_list:
        try:
            dev = m.root.stat().st_dev
        except (OSError, Errno):
            dev = 0
        flags = m.options.split(b",")[0]
        out.append(b"%d %d %d:%d / %s %s - %s %s %s\n" % (
            m.mount_id, m.parent_id, os.major(dev), os.minor(dev), _mangle(ctx.path_of(m.root)), m.options,
            m.fstype, m.source, flags))
    return b"".join(out)


@cache
def _host_filesystems() -> dict[bytes, bytes]:
    """fstype -> its /proc/filesystems line on the host."""
    out: dict[bytes, bytes] = {}
    try:
        with open("/proc/filesystems", "rb") as f:
            for line in f:
                out[line.split()[-1]] = line
    except (OSError, IndexError):
        pass
    return out


def filesystems(ctx: FSContext) -> bytes:
    """/proc/filesystems: the file system types the guest's mounts use
    ("nodev" as the host marks them)."""
    host = _host_filesystems()
    seen: dict[bytes, bytes] = {}
    for m in ctx.vfs.mount_list:
        seen.setdefault(m.fstype, host.get(m.fstype, b"nodev\t%s\n" % m.fstype))
    return b"".join(seen.values())
