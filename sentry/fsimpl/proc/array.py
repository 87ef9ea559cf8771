"""/proc/[pid]/stat, statm and status (Linux ``fs/proc/array.c``; gVisor
``fsimpl/proc/task_files.go``): generators as in
:mod:`sentry.fsimpl.proc.generators`, taking the thread group and, for
/proc/[pid]/task/[tid], the task."""

from __future__ import annotations

import os
import resource
import time
from functools import cache
from typing import TYPE_CHECKING

from sentry.abi.signals import SIG_IGN, SIGCHLD
from sentry.fsimpl.proc.generators import (
    code_data,
    comm_of,
    fd_size,
    leader,
    live_tasks,
    mm_of,
    rlimit,
)
from sentry.hostarch import PAGE_SIZE
from sentry.kernel.auth import Credentials

if TYPE_CHECKING:
    from sentry.kernel.task import Task, ThreadGroup

CLK_TCK = 100


def _state(task: Task | None) -> tuple[str, str]:
    """(letter, status text): the sentry runs tasks until they exit, so a
    live task is running."""
    if task is None or task.exited:
        return "Z", "Z (zombie)"
    return "R", "R (running)"


def _sig_masks(tg: ThreadGroup, task: Task | None) -> tuple[int, int, int, int]:
    """(pending, blocked, ignored, caught) signal masks (bit n-1 = signal n)."""
    ign = cgt = 0
    for sig, act in tg.sigactions.items():
        if act.handler == SIG_IGN:
            ign |= 1 << (sig - 1)
        elif act.handler > SIG_IGN:
            cgt |= 1 << (sig - 1)
    pend = task.pending if task is not None else 0
    blk = task.signal_mask if task is not None else 0
    return pend, blk, ign, cgt


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


def _controlling_tty(tg: ThreadGroup) -> tuple[int, int]:
    """(tty_nr, tpgid) of /proc/[pid]/stat: the session's controlling
    terminal's device number (major << 8 | minor, with the high minor bits
    above, as ``new_encode_dev``) and its foreground group, else (0, -1)."""
    pgrp = tg.pgrp
    term = pgrp.session.terminal if pgrp is not None else None
    if term is None:
        return 0, -1
    major, minor = term.device
    nr = (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)
    fg = term.foreground
    return nr, fg.pgid if fg is not None else -1


def stat(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/stat: 52 space-separated fields (Linux ``do_task_stat``).

    For /proc/[pid]/stat ``task`` is None and the thread group's totals
    are shown with the leader's identity; /proc/[pid]/task/[tid]/stat
    passes the thread.
    """
    t = task if task is not None else leader(tg)
    mm = mm_of(tg, task)
    pid = task.tid if task is not None else tg.tgid
    letter, _ = _state(t)
    ppid, pgrp, sid = tg.parent_tgid, tg.pgid, tg.sid
    tty_nr, tpgid = _controlling_tty(tg)
    utime, stime = _cpu_ticks()
    pend, blk, ign, cgt = _sig_masks(tg, t)
    vsize = rss = 0
    start_code = end_code = start_data = end_data = 0
    start_brk = arg_start = arg_end = env_start = env_end = start_stack = 0
    if mm is not None:
        vsize = mm.vm_size()
        rss = sum(mm.rss_bytes()) // PAGE_SIZE
        start_code, end_code, start_data, end_data = code_data(mm)
        md = mm.metadata
        start_brk = mm.brk_start
        arg_start, arg_end, env_start, env_end = md.argv_start, md.argv_end, md.envv_start, md.envv_end
        start_stack = md.start_stack
    rsslim = rlimit(tg, resource.RLIMIT_RSS)[0]
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


def statm(tg: ThreadGroup, task: Task | None = None) -> bytes:
    """/proc/[pid]/statm: size resident shared text lib data dt, in pages
    (Linux ``task_statm``: shared = file + shmem rss, text from the code
    bounds, data = data + stack vmas, lib and dt 0)."""
    mm = mm_of(tg, task)
    if mm is None:
        return b"0 0 0 0 0 0 0\n"
    anon, file, shmem = mm.rss_bytes()
    counts = mm.vm_counts()
    start_code, end_code, _, _ = code_data(mm)
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


def status(tg: ThreadGroup, task: Task | None = None) -> bytes:
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
        "Umask": f"{tg.umask:04o}",
        "State": state,
        "Tgid": str(tg.tgid),
        "Ngid": "0",
        "Pid": str(tid),
        "PPid": str(tg.parent_tgid),
        "TracerPid": "0",
        "Uid": f"{c.ruid}\t{c.euid}\t{c.suid}\t{c.fsuid}",
        "Gid": f"{c.rgid}\t{c.egid}\t{c.sgid}\t{c.fsgid}",
        "FDSize": str(fd_size(tg)),
        "Groups": " ".join(str(g) for g in c.groups) + " ",
        "NStgid": str(tg.tgid),
        "NSpid": str(tid),
        "NSpgid": str(tg.pgid),
        "NSsid": str(tg.sid),
        "Kthread": "0",
        "Threads": str(max(len(live_tasks(tg)), 1)),
        "SigQ": f"{bin(pend).count('1')}/{rlimit(tg, resource.RLIMIT_SIGPENDING)[0]}",
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
        start_code, end_code, _, _ = code_data(mm)
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


