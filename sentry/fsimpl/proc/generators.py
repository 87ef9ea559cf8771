"""Text of the /proc/[pid] files (Linux ``fs/proc/array.c``, ``base.c``,
``task_mmu.c``; gVisor ``fsimpl/proc/task_files.go``).

Each generator takes the thread group (and, for per-thread files, the
task) and returns the file's whole contents as bytes; the file
descriptions in :mod:`sentry.fsimpl.proc.files` serve them seq_file-style.
Formats follow Linux 6.x byte for byte; values the sentry does not track
are what an idle Linux process shows (0, or the host's own value for host
facts such as capabilities and CPU affinity).
"""

from __future__ import annotations

import resource
import struct
from typing import TYPE_CHECKING

from sentry.abi.misc import RLIM_INFINITY
from sentry.fsimpl.proc import system
from sentry.hostarch import PAGE_SIZE
from sentry.kernel.task import TASK_COMM_LEN
from sentry.usermem import IOOpts

if TYPE_CHECKING:
    from sentry.kernel.task import Task, ThreadGroup
    from sentry.mm import MemoryManager

__all__ = ["RLIM_INFINITY", "TASK_COMM_LEN"]

_IGNORE = IOOpts(ignore_permissions=True)

# -- small helpers -------------------------------------------------------------------------


def comm_of(task: Task | None) -> bytes:
    """``task``'s name (:meth:`Task.name`); empty without a task."""
    return task.name() if task is not None else b""


def leader(tg: ThreadGroup) -> Task | None:
    """The thread group's leader (its first task), or None."""
    return tg.tasks[0] if tg.tasks else None


def mm_of(tg: ThreadGroup, task: Task | None = None) -> MemoryManager | None:
    """The MemoryManager of ``task`` (default: the leader), or None."""
    t = task if task is not None else leader(tg)
    return t.mm if t is not None else None


def live_tasks(tg: ThreadGroup) -> list[Task]:
    """The thread group's tasks that have not exited."""
    return [t for t in tg.tasks if not t.exited]


def rlimit(tg: ThreadGroup, res: int) -> tuple[int, int]:
    """(soft, hard) of a resource limit, RLIM_INFINITY for unlimited: the
    thread group's own if set (setrlimit), else the host's (what the sentry
    reports to getrlimit)."""
    lim = tg.rlimits.get(res)
    if lim is not None:
        return lim[0], lim[1]
    try:
        soft, hard = resource.getrlimit(res)
    except (ValueError, OSError):
        return RLIM_INFINITY, RLIM_INFINITY
    return (RLIM_INFINITY if soft < 0 else soft, RLIM_INFINITY if hard < 0 else hard)


def fd_size(tg: ThreadGroup) -> int:
    """Linux's ``max_fds``: 64, doubled until it holds the highest fd."""
    fds = tg.fd_table.fds()
    size = 64
    while fds and size <= max(fds):
        size *= 2
    return size


def code_data(mm: MemoryManager) -> tuple[int, int, int, int]:
    """(start_code, end_code, start_data, end_data) from the executable's
    vmas: the first executable one is the code, the last one the data."""
    exe = mm.metadata.executable
    code = data = None
    for v in mm.vmas:
        if v.mappable is None or v.mappable.mapped_name() != exe:
            continue
        if code is None and v.real_perms.execute:
            code = (v.start, v.end)
        data = (v.start, v.end)
    code = code or (0, 0)
    data = data or (0, 0)
    return code[0], code[1], data[0], data[1]


# -- generators --------------------------------------------------------------------------


def maps(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/maps (empty without an address space)."""
    mm = mm_of(tg, task)
    return mm.maps_text().encode("utf-8", "surrogateescape") if mm is not None else b""


def smaps(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/smaps."""
    mm = mm_of(tg, task)
    return mm.smaps_text().encode("utf-8", "surrogateescape") if mm is not None else b""


LIMIT_NAMES = (
    ("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"),
    ("Max stack size", "bytes"), ("Max core file size", "bytes"), ("Max resident set", "bytes"),
    ("Max processes", "processes"), ("Max open files", "files"), ("Max locked memory", "bytes"),
    ("Max address space", "bytes"), ("Max file locks", "locks"), ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"), ("Max nice priority", ""), ("Max realtime priority", ""),
    ("Max realtime timeout", "us"),
)
"""``lnames`` of Linux ``fs/proc/base.c``, indexed by RLIMIT_* number."""


def format_limits(limits: list[tuple[int, int]]) -> bytes:
    """/proc/[pid]/limits text for the 16 (soft, hard) pairs (Linux
    ``proc_pid_limits``): ``%-25s %-20s %-20s %-10s`` rows, ``unlimited``
    for RLIM_INFINITY, and no unit column (the line ends after the hard
    limit's trailing space) for limits without a unit."""
    out = [f"{'Limit':<25} {'Soft Limit':<20} {'Hard Limit':<20} {'Units':<10}\n"]
    for (name, unit), (soft, hard) in zip(LIMIT_NAMES, limits, strict=True):
        s = "unlimited" if soft == RLIM_INFINITY else str(soft)
        h = "unlimited" if hard == RLIM_INFINITY else str(hard)
        line = f"{name:<25} {s:<20} {h:<20} "
        out.append(line + (f"{unit:<10}\n" if unit else "\n"))
    return "".join(out).encode()


def limits(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/limits for the thread group's limits."""
    return format_limits([rlimit(tg, i) for i in range(len(LIMIT_NAMES))])


def io(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/io. The sentry does not account I/O per task yet, so the
    counters read 0 (the keys and their order are Linux's)."""
    keys = ("rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes")
    return "".join(f"{k}: 0\n" for k in keys).encode()


def oom_score(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/oom_score (gVisor's static value)."""
    return b"0\n"


def oom_score_adj(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/oom_score_adj."""
    return b"%d\n" % tg.oom_score_adj


def cgroup(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/cgroup: the root of the unified hierarchy."""
    return b"0::/\n"


def comm(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/comm: the name and a newline."""
    t = task if task is not None else leader(tg)
    return comm_of(t) + b"\n"


def auxv(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/auxv: the loader's (key, value) pairs as little-endian
    u64s, then an AT_NULL pair."""
    mm = mm_of(tg, task)
    if mm is None:
        return b""
    pairs = [(k, v) for k, v in mm.metadata.auxv if k != 0] + [(0, 0)]
    return b"".join(struct.pack("<QQ", k, v) for k, v in pairs)


def _read_mem(mm: MemoryManager, start: int, end: int) -> bytes:
    """The readable prefix of ``[start, end)`` of ``mm`` (like Linux
    ``access_remote_vm`` with FOLL_FORCE: permissions ignored)."""
    out = bytearray()
    cur = start
    while cur < end:
        # Page by page: a range running past the top of user memory would
        # fail as a whole.
        stop = min(end, (cur // PAGE_SIZE + 1) * PAGE_SIZE)
        buf = bytearray(stop - cur)
        n, _ = mm.copy_in(cur, buf, _IGNORE)
        out += buf[:n]
        if n < len(buf):
            break
        cur = stop
    return bytes(out)


def environ(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/environ: the bytes of ``[env_start, env_end)``."""
    mm = mm_of(tg, task)
    if mm is None:
        return b""
    md = mm.metadata
    return _read_mem(mm, md.envv_start, md.envv_end)


def cmdline(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/cmdline as Linux 6.x ``get_mm_cmdline`` computes it.

    Normally the bytes of ``[arg_start, arg_end)``. If the process
    overwrote the NUL that ends the argument area (setproctitle), Linux
    reads up to a page from ``arg_start`` and stops after its first NUL
    (included), capped at ``env_end - arg_start`` when the environment
    directly follows the arguments (else at ``arg_end - arg_start``).
    """
    mm = mm_of(tg, task)
    if mm is None:
        return b""
    md = mm.metadata
    arg_start, arg_end, env_start, env_end = md.argv_start, md.argv_end, md.envv_start, md.envv_end
    if arg_start == 0 or arg_end <= arg_start:
        return b""
    if env_start != arg_end or env_end < env_start:
        env_end = arg_end
    length = env_end - arg_start
    last = _read_mem(mm, arg_end - 1, arg_end)
    if last and last != b"\0":
        page = _read_mem(mm, arg_start, arg_start + PAGE_SIZE)
        nul = page.find(b"\0")
        if nul >= 0:
            page = page[: nul + 1]
        return page[:length]
    return _read_mem(mm, arg_start, arg_end)


def mountinfo(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/mountinfo: the mount table as the process sees it."""
    return system.mountinfo(tg.fs) if tg.fs is not None else b""


def mounts(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/mounts (what /proc/mounts shows for the process)."""
    return system.mounts(tg.fs) if tg.fs is not None else b""
