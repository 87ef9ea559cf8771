"""getrandom, resource limits and sysinfo (gVisor ``sys_random.go``,
``sys_rlimit.go``, ``sys_sysinfo.go``)."""

from __future__ import annotations

import os
import resource
import struct

from sentry.abi.misc import GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM, RLIMIT_NLIMITS
from sentry.abi.misc import RLIM_INFINITY as _RLIM_INFINITY
from sentry.kernel.auth import CAP_SYS_RESOURCE
from sentry.kernel.resources import memory_figures, task_counts, uptime_seconds
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, EPERM, ESRCH
from sentry.syscalls.linux.args import s32


def sys_getrandom(t: Task, buf: int, length: int, flags: int, *_: int) -> int:
    flags &= 0xFFFFFFFF
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or (flags & GRND_RANDOM and flags & GRND_INSECURE):
        raise EINVAL
    length = min(length, 0x1FFFFFF)  # Linux caps one call at 32 MiB - 1
    seq = t.single_io_sequence(buf, length)
    n, err = seq.copy_out(os.urandom(seq.num_bytes()))
    if n == 0 and err is not None:
        raise err if isinstance(err, Exception) else EINVAL
    return n


def _host_limit(resource_id: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource_id)
    return (_RLIM_INFINITY if soft < 0 else soft, _RLIM_INFINITY if hard < 0 else hard)


def soft_limit(t: Task, resource_id: int) -> int | None:
    """The process's soft limit for ``resource_id``; None when unlimited."""
    soft = _get_limit(t, resource_id)[0]
    return None if soft >= _RLIM_INFINITY else soft


def _get_limit(t: Task, resource_id: int) -> tuple[int, int]:
    if resource_id in t.tg.rlimits:
        return t.tg.rlimits[resource_id]
    return _host_limit(resource_id)


def sys_prlimit64(t: Task, pid: int, res: int, new: int, old: int, *_: int) -> int:
    pid = s32(pid)
    if pid not in (0, t.tg.tgid):
        raise ESRCH
    res = s32(res)
    if not 0 <= res < RLIMIT_NLIMITS:
        raise EINVAL
    new_limit = None
    if new:
        new_limit = struct.unpack("<QQ", t.copy_in_bytes(new, 16))
        if new_limit[0] > new_limit[1]:
            raise EINVAL
        cur = _get_limit(t, res)
        if new_limit[1] > cur[1] and not t.creds.capable(CAP_SYS_RESOURCE):
            raise EPERM
    if old:
        t.copy_out_bytes(old, struct.pack("<QQ", *_get_limit(t, res)))
    if new_limit is not None:
        t.tg.rlimits[res] = (new_limit[0], new_limit[1])
    return 0


def sys_getrlimit(t: Task, res: int, rlim: int, *_: int) -> int:
    return sys_prlimit64(t, 0, res, 0, rlim)


def sys_setrlimit(t: Task, res: int, rlim: int, *_: int) -> int:
    return sys_prlimit64(t, 0, res, rlim, 0)


_SYSINFO = struct.Struct("<q3QQQQQQQHxxxxxxQQI4x")  # struct sysinfo, 112 bytes


def sys_sysinfo(t: Task, info: int, *_: int) -> int:
    """The guest's figures (``sentry.kernel.resources``, as /proc/meminfo
    and /proc/uptime show them) with mem_unit 1: no swap, no load history,
    the number of live tasks (Linux ``do_sysinfo``)."""
    mem = memory_figures(t.kernel)
    procs = min(task_counts(t.kernel).total, 0xFFFF)
    data = _SYSINFO.pack(int(uptime_seconds()), 0, 0, 0, mem.total, mem.free, 0, 0, 0, 0, procs, 0, 0, 1)
    t.copy_out_bytes(info, data)
    return 0
