"""User and group ids, supplementary groups and capabilities (Linux
``kernel/sys.c``, ``kernel/groups.c``, ``kernel/capability.c``; gVisor
``sys_identity.go``, ``sys_capability.go``). The rules live in
``sentry.kernel.auth``; these handlers move the arguments."""

from __future__ import annotations

import struct

from sentry.kernel.auth import CAP_SETGID, NGROUPS_MAX, Credentials
from sentry.kernel.task import Task
from sentry.linuxerr import EINVAL, EPERM, ESRCH
from sentry.syscalls.linux.args import s32

_U32 = 0xFFFFFFFF


def _id(value: int) -> int:
    """A uid_t/gid_t argument: the low 32 bits, as the kernel's types."""
    return value & _U32


def _commit(t: Task, creds: Credentials) -> int:
    t.creds = creds
    return 0


def sys_getuid(t: Task, *_: int) -> int:
    return t.creds.ruid


def sys_geteuid(t: Task, *_: int) -> int:
    return t.creds.euid


def sys_getgid(t: Task, *_: int) -> int:
    return t.creds.rgid


def sys_getegid(t: Task, *_: int) -> int:
    return t.creds.egid


def sys_setuid(t: Task, uid: int, *_: int) -> int:
    return _commit(t, t.creds.set_uid(_id(uid)))


def sys_setgid(t: Task, gid: int, *_: int) -> int:
    return _commit(t, t.creds.set_gid(_id(gid)))


def sys_setreuid(t: Task, ruid: int, euid: int, *_: int) -> int:
    return _commit(t, t.creds.set_reuid(_id(ruid), _id(euid)))


def sys_setregid(t: Task, rgid: int, egid: int, *_: int) -> int:
    return _commit(t, t.creds.set_regid(_id(rgid), _id(egid)))


def sys_setresuid(t: Task, ruid: int, euid: int, suid: int, *_: int) -> int:
    return _commit(t, t.creds.set_resuid(_id(ruid), _id(euid), _id(suid)))


def sys_setresgid(t: Task, rgid: int, egid: int, sgid: int, *_: int) -> int:
    return _commit(t, t.creds.set_resgid(_id(rgid), _id(egid), _id(sgid)))


def _put_ids(t: Task, addrs: tuple[int, int, int], ids: tuple[int, int, int]) -> int:
    """Write three ids, one put_user each (EFAULT stops at the bad one)."""
    for addr, value in zip(addrs, ids, strict=True):
        t.copy_out_bytes(addr, struct.pack("<I", value))
    return 0


def sys_getresuid(t: Task, ruid: int, euid: int, suid: int, *_: int) -> int:
    c = t.creds
    return _put_ids(t, (ruid, euid, suid), (c.ruid, c.euid, c.suid))


def sys_getresgid(t: Task, rgid: int, egid: int, sgid: int, *_: int) -> int:
    c = t.creds
    return _put_ids(t, (rgid, egid, sgid), (c.rgid, c.egid, c.sgid))


def sys_setfsuid(t: Task, fsuid: int, *_: int) -> int:
    """Returns the previous fs id whether or not it changed (Linux)."""
    old = t.creds.fsuid
    t.creds = t.creds.set_fsuid(_id(fsuid))
    return old


def sys_setfsgid(t: Task, fsgid: int, *_: int) -> int:
    old = t.creds.fsgid
    t.creds = t.creds.set_fsgid(_id(fsgid))
    return old


def sys_getgroups(t: Task, size: int, addr: int, *_: int) -> int:
    """The count for size 0; EINVAL when ``size`` is smaller than it."""
    groups = t.creds.groups
    size = s32(size)
    if size < 0:
        raise EINVAL
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise EINVAL
    t.copy_out_bytes(addr, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def sys_setgroups(t: Task, size: int, addr: int, *_: int) -> int:
    """EINVAL past NGROUPS_MAX, EPERM without CAP_SETGID (checked before
    the list is read, as Linux's ``may_setgroups``), EFAULT."""
    size = s32(size)
    if not 0 <= size <= NGROUPS_MAX:
        raise EINVAL
    if not t.creds.capable(CAP_SETGID):
        raise EPERM
    groups = list(struct.unpack(f"<{size}I", t.copy_in_bytes(addr, 4 * size))) if size else []
    return _commit(t, t.creds.set_groups(groups))


# capget/capset (include/uapi/linux/capability.h).
_VERSION_1, _VERSION_2, _VERSION_3 = 0x19980330, 0x20071026, 0x20080522
_HEADER = struct.Struct("<Ii")  # version, pid
_DATA = struct.Struct("<III")  # effective, permitted, inheritable


def _cap_header(t: Task, hdr: int) -> tuple[int, int]:
    """(number of 32-bit data structs, pid). An unknown version writes the
    preferred one back and is EINVAL (how libcap probes)."""
    version, pid = _HEADER.unpack(t.copy_in_bytes(hdr, _HEADER.size))
    if version == _VERSION_1:
        return 1, pid
    if version in (_VERSION_2, _VERSION_3):
        return 2, pid
    t.copy_out_bytes(hdr, struct.pack("<I", _VERSION_3))
    raise EINVAL


def sys_capget(t: Task, hdr: int, data: int, *_: int) -> int:
    """Another task's sets for a positive pid (ESRCH), EINVAL for a
    negative one. A NULL ``data`` is a probe: 0 even for an unknown
    version (which is still written back), as Linux."""
    try:
        words, pid = _cap_header(t, hdr)
    except type(EINVAL) as e:
        if e is EINVAL and data == 0:
            return 0
        raise
    if data == 0:
        return 0
    if pid < 0:
        raise EINVAL
    target = t if pid in (0, t.tid) else t.kernel.tasks.get(pid)
    if target is None or target.exited:
        raise ESRCH
    c = target.creds
    out = b"".join(_DATA.pack(c.cap_effective >> (32 * i) & _U32, c.cap_permitted >> (32 * i) & _U32,
                              c.cap_inheritable >> (32 * i) & _U32) for i in range(words))
    t.copy_out_bytes(data, out)
    return 0


def sys_capset(t: Task, hdr: int, data: int, *_: int) -> int:
    """Only one's own sets (pid 0 or the caller: else EPERM)."""
    words, pid = _cap_header(t, hdr)
    if pid not in (0, t.tid):
        raise EPERM
    raw = t.copy_in_bytes(data, _DATA.size * words)
    eff = perm = inh = 0
    for i in range(words):
        e, p, h = _DATA.unpack_from(raw, _DATA.size * i)
        eff, perm, inh = eff | e << (32 * i), perm | p << (32 * i), inh | h << (32 * i)
    return _commit(t, t.creds.set_caps(eff, perm, inh))

