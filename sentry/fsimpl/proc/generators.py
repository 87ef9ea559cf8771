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

import os
import resource
import struct
import time
from functools import cache
from typing import Any

from sentry.fsimpl.proc import system
from sentry.hostarch import PAGE_SIZE
from sentry.kernel.auth import Credentials
from sentry.usermem import IOOpts

TASK_COMM_LEN = 16
RLIM_INFINITY = (1 << 64) - 1
CLK_TCK = 100
SIGCHLD = 17
_IGNORE = IOOpts(ignore_permissions=True)

# -- small helpers -------------------------------------------------------------------------


def comm_of(task: Any) -> bytes:
    """The task's name: what PR_SET_NAME or a comm write set, else the
    basename of the executable (Linux ``__set_task_comm(kbasename(filename))``
    at exec), at most 15 bytes."""
    c = bytes(getattr(task, "comm", b"") or b"")
    if not c:
        exe = getattr(getattr(getattr(task, "mm", None), "metadata", None), "executable", "") or ""
        c = os.fsencode(os.path.basename(exe))
    return c[: TASK_COMM_LEN - 1]


def leader(tg: Any) -> Any:
    """The thread group's leader (its first task), or None."""
    tasks = getattr(tg, "tasks", None) or []
    return tasks[0] if tasks else None


def mm_of(tg: Any, task: Any = None) -> Any:
    """The MemoryManager of ``task`` (default: the leader), or None."""
    t = task if task is not None else leader(tg)
    return getattr(t, "mm", None) if t is not None else None


def live_tasks(tg: Any) -> list[Any]:
    """The thread group's tasks that have not exited."""
    return [t for t in getattr(tg, "tasks", []) if not getattr(t, "exited", False)]


def _state(task: Any) -> tuple[str, str]:
    """(letter, status text): the sentry runs tasks until they exit, so a
    live task is running."""
    if task is None or getattr(task, "exited", False):
        return "Z", "Z (zombie)"
    return "R", "R (running)"


def _sig_masks(tg: Any, task: Any) -> tuple[int, int, int, int]:
    """(pending, blocked, ignored, caught) signal masks (bit n-1 = signal n)."""
    ign = cgt = 0
    for sig, act in getattr(tg, "sigactions", {}).items():
        handler = getattr(act, "handler", 0)
        if handler == 1:
            ign |= 1 << (sig - 1)
        elif handler > 1:
            cgt |= 1 << (sig - 1)
    pend = int(getattr(task, "pending", 0)) if task is not None else 0
    blk = int(getattr(task, "signal_mask", 0)) if task is not None else 0
    return pend, blk, ign, cgt


def _rlimit(tg: Any, res: int) -> tuple[int, int]:
    """(soft, hard) of a resource limit, RLIM_INFINITY for unlimited: the
    thread group's own if set (setrlimit), else the host's (what the sentry
    reports to getrlimit)."""
    lim = getattr(tg, "rlimits", {}).get(res)
    if lim is not None:
        return lim[0], lim[1]
    try:
        soft, hard = resource.getrlimit(res)
    except (ValueError, OSError):
        return RLIM_INFINITY, RLIM_INFINITY
    return (RLIM_INFINITY if soft < 0 else soft, RLIM_INFINITY if hard < 0 else hard)


@cache
def _host_status() -> tuple[tuple[str, str], ...]:
    """The sentry process's own /proc/self/status as (key, value) pairs
    (the key order template and host facts); empty without a host /proc."""
    try:
        with open("/proc/self/status") as f:
            text = f.read()
    except OSError:
        return ()
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition(":\t")
        if sep:
            out.append((key, value))
    return tuple(out)


@cache
def _host_start_ticks() -> int:
    """Clock ticks after boot at which the sentry process started (field
    22 of the host's /proc/self/stat), used as every task's start time."""
    try:
        with open("/proc/self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return int(time.monotonic() * CLK_TCK)


def _cpu_ticks() -> tuple[int, int]:
    t = os.times()
    return int(t.user * CLK_TCK), int(t.system * CLK_TCK)


def _fd_size(tg: Any) -> int:
    """Linux's ``max_fds``: 64, doubled until it holds the highest fd."""
    fds = list(getattr(getattr(tg, "fd_table", None), "fds", lambda: [])())
    size = 64
    while fds and size <= max(fds):
        size *= 2
    return size


def _code_data(mm: Any) -> tuple[int, int, int, int]:
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


def maps(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/maps (empty without an address space)."""
    mm = mm_of(tg, task)
    return mm.maps_text().encode("utf-8", "surrogateescape") if mm is not None else b""


def smaps(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/smaps."""
    mm = mm_of(tg, task)
    return mm.smaps_text().encode("utf-8", "surrogateescape") if mm is not None else b""


def _controlling_tty(tg: Any) -> tuple[int, int]:
    """(tty_nr, tpgid) of /proc/[pid]/stat: the session's controlling
    terminal's device number (major << 8 | minor, with the high minor bits
    above, as ``new_encode_dev``) and its foreground group, else (0, -1)."""
    pgrp = getattr(tg, "pgrp", None)
    term = pgrp.session.terminal if pgrp is not None else None
    if term is None:
        return 0, -1
    major, minor = term.device
    nr = (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)
    fg = term.foreground
    return nr, fg.pgid if fg is not None else -1


def stat(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/stat: 52 space-separated fields (Linux ``do_task_stat``).

    For /proc/[pid]/stat ``task`` is None and the thread group's totals
    are shown with the leader's identity; /proc/[pid]/task/[tid]/stat
    passes the thread.
    """
    t = task if task is not None else leader(tg)
    mm = mm_of(tg, task)
    pid = t.tid if task is not None else tg.tgid
    letter, _ = _state(t)
    ppid = int(getattr(tg, "parent_tgid", 0))
    pgrp = int(getattr(tg, "pgid", tg.tgid))
    sid = int(getattr(tg, "sid", tg.tgid))
    tty_nr, tpgid = _controlling_tty(tg)
    utime, stime = _cpu_ticks()
    pend, blk, ign, cgt = _sig_masks(tg, t)
    vsize = rss = 0
    start_code = end_code = start_data = end_data = 0
    start_brk = arg_start = arg_end = env_start = env_end = start_stack = 0
    if mm is not None:
        vsize = mm.vm_size()
        rss = sum(mm.rss_bytes()) // PAGE_SIZE
        start_code, end_code, start_data, end_data = _code_data(mm)
        md = mm.metadata
        start_brk = mm.brk_start
        arg_start, arg_end, env_start, env_end = md.argv_start, md.argv_end, md.envv_start, md.envv_end
        start_stack = md.start_stack
    rsslim = _rlimit(tg, resource.RLIMIT_RSS)[0]
    nthreads = max(len(live_tasks(tg)), 1)
    fields: list[int | str] = [
        pid, "(" + comm_of(t).decode("utf-8", "surrogateescape") + ")", letter, ppid, pgrp, sid,
        tty_nr, tpgid, 0x400000, 0, 0, 0, 0, utime, stime, 0, 0, 20, 0, nthreads, 0, _host_start_ticks(),
        vsize, rss, rsslim, start_code, end_code, start_stack, 0, 0,
        pend & 0x7FFFFFFF_FFFFFFFF, blk, ign, cgt, 0, 0, 0,
        SIGCHLD if task is None or t is leader(tg) else 0, 0, 0, 0, 0, 0, 0,
        start_data, end_data, start_brk, arg_start, arg_end, env_start, env_end,
        0,
    ]
    text = " ".join(str(f) for f in fields) + "\n"
    return text.encode("utf-8", "surrogateescape")


def statm(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/statm: size resident shared text lib data dt, in pages
    (Linux ``task_statm``: shared = file + shmem rss, text from the code
    bounds, data = data + stack vmas, lib and dt 0)."""
    mm = mm_of(tg, task)
    if mm is None:
        return b"0 0 0 0 0 0 0\n"
    anon, file, shmem = mm.rss_bytes()
    counts = mm.vm_counts()
    start_code, end_code, _, _ = _code_data(mm)
    text = ((end_code + PAGE_SIZE - 1) // PAGE_SIZE) - start_code // PAGE_SIZE
    size = mm.vm_size() // PAGE_SIZE
    data = (counts["data"] + counts["stack"]) // PAGE_SIZE
    return f"{size} {(anon + file + shmem) // PAGE_SIZE} {(file + shmem) // PAGE_SIZE} {text} 0 {data} 0\n".encode()


STATUS_KEYS = (
    "Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "Uid", "Gid", "FDSize",
    "Groups", "NStgid", "NSpid", "NSpgid", "NSsid", "Kthread", "VmPeak", "VmSize", "VmLck",
    "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmData", "VmStk", "VmExe",
    "VmLib", "VmPTE", "VmSwap", "HugetlbPages", "CoreDumping", "THP_enabled", "untag_mask",
    "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh", "CapPrm",
    "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters",
    "Speculation_Store_Bypass", "SpeculationIndirectBranch", "Cpus_allowed",
    "Cpus_allowed_list", "Mems_allowed", "Mems_allowed_list", "voluntary_ctxt_switches",
    "nonvoluntary_ctxt_switches",
)
"""Linux 6.x's /proc/[pid]/status keys in order (``proc_pid_status``)."""

_HOST_KEYS = frozenset((
    "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Speculation_Store_Bypass",
    "SpeculationIndirectBranch", "Cpus_allowed", "Cpus_allowed_list", "Mems_allowed",
    "Mems_allowed_list", "THP_enabled", "untag_mask",
))
"""Keys whose values are the host's: the guest runs with the sentry's
credentials, CPUs and memory nodes."""

_STATUS_DEFAULTS = {
    "CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
    "CapBnd": "000001ffffffffff", "CapAmb": "0000000000000000",
    "Speculation_Store_Bypass": "vulnerable", "SpeculationIndirectBranch": "unknown",
    "Cpus_allowed": "1", "Cpus_allowed_list": "0", "Mems_allowed": "1", "Mems_allowed_list": "0",
    "THP_enabled": "1", "untag_mask": "0xffffffffffffffff",
}


def _kb(n: int) -> str:
    return f"{n >> 10:8d} kB"


def status(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/status: ``Key:\\tvalue`` lines in Linux's order.

    The keys are those of the host kernel's own status file when it can be
    read (so a key this kernel does not print, e.g. ``Kthread`` before 6.x,
    is absent here too), else :data:`STATUS_KEYS`.
    """
    t = task if task is not None else leader(tg)
    mm = mm_of(tg, task)
    host = dict(_host_status())
    order = [k for k, _ in _host_status()] or list(STATUS_KEYS)
    _, state = _state(t)
    c = t.creds if t is not None else Credentials.of_host()
    tid = t.tid if t is not None else tg.tgid
    pend, blk, ign, cgt = _sig_masks(tg, t)
    v: dict[str, str] = {
        "Name": comm_of(t).decode("utf-8", "surrogateescape").replace("\\", "\\\\").replace("\n", "\\n"),
        "Umask": f"{int(getattr(tg, 'umask', 0o022)):04o}",
        "State": state,
        "Tgid": str(tg.tgid),
        "Ngid": "0",
        "Pid": str(tid),
        "PPid": str(int(getattr(tg, "parent_tgid", 0))),
        "TracerPid": "0",
        "Uid": f"{c.ruid}\t{c.euid}\t{c.suid}\t{c.fsuid}",
        "Gid": f"{c.rgid}\t{c.egid}\t{c.sgid}\t{c.fsgid}",
        "FDSize": str(_fd_size(tg)),
        "Groups": " ".join(str(g) for g in c.groups) + " ",
        "NStgid": str(tg.tgid),
        "NSpid": str(tid),
        "NSpgid": str(int(getattr(tg, "pgid", tg.tgid))),
        "NSsid": str(int(getattr(tg, "sid", tg.tgid))),
        "Kthread": "0",
        "Threads": str(max(len(live_tasks(tg)), 1)),
        "SigQ": f"{bin(pend).count('1')}/{_rlimit(tg, resource.RLIMIT_SIGPENDING)[0]}",
        "SigPnd": f"{pend:016x}",
        "ShdPnd": "0000000000000000",
        "SigBlk": f"{blk:016x}",
        "SigIgn": f"{ign:016x}",
        "SigCgt": f"{cgt:016x}",
        "CapInh": f"{c.cap_inheritable:016x}",
        "CapPrm": f"{c.cap_permitted:016x}",
        "CapEff": f"{c.cap_effective:016x}",
        "CapBnd": f"{c.cap_bounding:016x}",
        "CapAmb": f"{c.cap_ambient:016x}",
        "NoNewPrivs": "0",
        "Seccomp": "0",
        "Seccomp_filters": "0",
        "voluntary_ctxt_switches": "0",
        "nonvoluntary_ctxt_switches": "0",
        "CoreDumping": "0",
    }
    if mm is not None:
        anon, file, shmem = mm.rss_bytes()
        size = mm.vm_size()
        counts = mm.vm_counts()
        start_code, end_code, _, _ = _code_data(mm)
        text = min(end_code - start_code, counts["exec"])
        v.update({
            "VmPeak": _kb(size), "VmSize": _kb(size), "VmLck": _kb(0), "VmPin": _kb(0),
            "VmHWM": _kb(anon + file + shmem), "VmRSS": _kb(anon + file + shmem),
            "RssAnon": _kb(anon), "RssFile": _kb(file), "RssShmem": _kb(shmem),
            "VmData": _kb(counts["data"]), "VmStk": _kb(counts["stack"]), "VmExe": _kb(text),
            "VmLib": _kb(counts["exec"] - text), "VmPTE": _kb(4096 * 3), "VmSwap": _kb(0),
            "HugetlbPages": _kb(0),
        })
    lines = []
    for key in order:
        if key in v:
            lines.append(f"{key}:\t{v[key]}\n")
        elif key in _HOST_KEYS:
            lines.append(f"{key}:\t{host.get(key, _STATUS_DEFAULTS[key])}\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


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


def limits(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/limits for the thread group's limits."""
    return format_limits([_rlimit(tg, i) for i in range(len(LIMIT_NAMES))])


def io(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/io. The sentry does not account I/O per task yet, so the
    counters read 0 (the keys and their order are Linux's)."""
    counters = getattr(task if task is not None else tg, "io_counters", None) or {}
    keys = ("rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes")
    return "".join(f"{k}: {int(counters.get(k, 0))}\n" for k in keys).encode()


def oom_score(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/oom_score (gVisor's static value)."""
    return b"0\n"


def oom_score_adj(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/oom_score_adj."""
    return b"%d\n" % int(getattr(tg, "oom_score_adj", 0))


def cgroup(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/cgroup: the root of the unified hierarchy."""
    return b"0::/\n"


def comm(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/comm: the name and a newline."""
    t = task if task is not None else leader(tg)
    return comm_of(t) + b"\n"


def auxv(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/auxv: the loader's (key, value) pairs as little-endian
    u64s, then an AT_NULL pair."""
    mm = mm_of(tg, task)
    if mm is None:
        return b""
    pairs = [(k, v) for k, v in mm.metadata.auxv if k != 0] + [(0, 0)]
    return b"".join(struct.pack("<QQ", k, v) for k, v in pairs)


def _read_mem(mm: Any, start: int, end: int) -> bytes:
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


def environ(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/environ: the bytes of ``[env_start, env_end)``."""
    mm = mm_of(tg, task)
    if mm is None:
        return b""
    md = mm.metadata
    return _read_mem(mm, md.envv_start, md.envv_end)


def cmdline(tg: Any, task: Any = None) -> bytes:
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


def mountinfo(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/mountinfo: the mount table as the process sees it."""
    return system.mountinfo(tg.fs) if tg.fs is not None else b""


def mounts(tg: Any, task: Any = None) -> bytes:
    """/proc/[pid]/mounts (what /proc/mounts shows for the process)."""
    return system.mounts(tg.fs) if tg.fs is not None else b""
