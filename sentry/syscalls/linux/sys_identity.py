"""Process identity: pids and uname (gVisor ``sys_identity.go``,
``sys_utsname.go``); credentials are in ``sys_creds``."""

from __future__ import annotations

import os
import struct

from sentry.kernel import pgroups
from sentry.kernel.task import Task
from sentry.syscalls.linux.args import s32


def sys_getpid(t: Task, *_: int) -> int:
    return t.tg.tgid


def sys_gettid(t: Task, *_: int) -> int:
    return t.tid


def sys_getppid(t: Task, *_: int) -> int:
    return t.tg.parent_tgid


def sys_getpgid(t: Task, pid: int, *_: int) -> int:
    return pgroups.getpgid(t, s32(pid))


def sys_getpgrp(t: Task, *_: int) -> int:
    return pgroups.getpgid(t, 0)


def sys_getsid(t: Task, pid: int, *_: int) -> int:
    return pgroups.getsid(t, s32(pid))


def sys_setpgid(t: Task, pid: int, pgid: int, *_: int) -> int:
    return pgroups.setpgid(t, s32(pid), s32(pgid))


def sys_setsid(t: Task, *_: int) -> int:
    return pgroups.setsid(t)


def uname_fields() -> list[bytes]:
    """sysname, nodename, release, version, machine, domainname: the host's,
    as a container sees its host kernel."""
    u = os.uname()
    return [u.sysname.encode(), u.nodename.encode(), u.release.encode(), u.version.encode(),
            u.machine.encode(), b"(none)"]


def sys_uname(t: Task, buf: int, *_: int) -> int:
    data = b"".join(struct.pack("65s", f[:64]) for f in uname_fields())
    t.copy_out_bytes(buf, data)
    return 0
