"""Task credentials: user and group ids, supplementary groups and
capability sets (Linux ``struct cred``, ``kernel/sys.c`` and
``security/commoncap.c``; gVisor ``kernel/auth``).

Credentials are immutable values: a task holds one, a change makes a new
one (Linux's ``prepare_creds``/``commit_creds``), so fork and clone simply
share the parent's. They start as the sentry's own host ids, with the full
capability sets when that id is root (as a root shell has them). They are
the guest's view only: nothing here changes the host process's ids, and
file permission checks still use the sentry's host ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache

from sentry.linuxerr import EINVAL, EPERM

CAP_SETGID = 6
CAP_SETUID = 7
CAP_SETPCAP = 8
CAP_SYS_ADMIN = 21
CAP_SYS_RESOURCE = 24
CAP_LAST_CAP = 40
ALL_CAPS = (1 << (CAP_LAST_CAP + 1)) - 1
"""Every capability this kernel version knows (CapBnd of a root shell)."""

# Capabilities that follow fsuid (CAP_FS_MASK: chown, dac_override,
# dac_read_search, fowner, fsetid, linux_immutable, mknod, mac_override).
CAP_FS_MASK = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 9) | (1 << 27) | (1 << 32)

NGROUPS_MAX = 65536
NO_ID = 0xFFFFFFFF
"""(uid_t)-1: "leave unchanged" in the set*id calls, never a valid id."""


@dataclass(frozen=True)
class Credentials:
    """One task's ids and capability sets (bitmasks of CAP_*)."""

    ruid: int
    euid: int
    suid: int
    fsuid: int
    rgid: int
    egid: int
    sgid: int
    fsgid: int
    groups: tuple[int, ...] = ()
    cap_inheritable: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0
    cap_bounding: int = ALL_CAPS
    cap_ambient: int = 0

    @classmethod
    def of_host(cls) -> Credentials:
        """The sentry process's ids and capability sets (read from the
        host's /proc/self/status; without it, all capabilities for root)."""
        ruid, euid, suid = os.getresuid()
        rgid, egid, sgid = os.getresgid()
        caps = _host_caps()
        full = ALL_CAPS if euid == 0 else 0
        return cls(ruid, euid, suid, euid, rgid, egid, sgid, egid, tuple(sorted(set(os.getgroups()))),
                   cap_inheritable=caps.get("CapInh", 0), cap_permitted=caps.get("CapPrm", full),
                   cap_effective=caps.get("CapEff", full), cap_bounding=caps.get("CapBnd", ALL_CAPS),
                   cap_ambient=caps.get("CapAmb", 0))

    def capable(self, cap: int) -> bool:
        """Whether ``cap`` is in the effective set (Linux ``capable``)."""
        return bool(self.cap_effective >> cap & 1)

    # -- user ids (kernel/sys.c) ------------------------------------------------

    def set_uid(self, uid: int) -> Credentials:
        """setuid(2): all ids with CAP_SETUID, else only the effective (and
        fs) id, to the real or saved one. EINVAL for -1, EPERM."""
        _check_id(uid)
        if self.capable(CAP_SETUID):
            new = replace(self, ruid=uid, euid=uid, suid=uid, fsuid=uid)
        elif uid in (self.ruid, self.suid):
            new = replace(self, euid=uid, fsuid=uid)
        else:
            raise EPERM
        return new._fix_caps_after_setuid(self)

    def set_reuid(self, ruid: int, euid: int) -> Credentials:
        """setreuid(2): -1 leaves an id; the saved id follows the new
        effective one when the real id is set or the effective one moves
        off the old real id."""
        may = self.capable(CAP_SETUID)
        new_r, new_e = self.ruid, self.euid
        if ruid != NO_ID:
            if not may and ruid not in (self.ruid, self.euid):
                raise EPERM
            new_r = ruid
        if euid != NO_ID:
            if not may and euid not in (self.ruid, self.euid, self.suid):
                raise EPERM
            new_e = euid
        new_s = new_e if ruid != NO_ID or (euid != NO_ID and euid != self.ruid) else self.suid
        new = replace(self, ruid=new_r, euid=new_e, suid=new_s, fsuid=new_e)
        return new._fix_caps_after_setuid(self)

    def set_resuid(self, ruid: int, euid: int, suid: int) -> Credentials:
        """setresuid(2): without CAP_SETUID each new id must be one of the
        current three. The fs id follows the effective one."""
        current = (self.ruid, self.euid, self.suid)
        if not self.capable(CAP_SETUID) and any(i != NO_ID and i not in current for i in (ruid, euid, suid)):
            raise EPERM
        new_e = self.euid if euid == NO_ID else euid
        new = replace(self, ruid=self.ruid if ruid == NO_ID else ruid, euid=new_e,
                      suid=self.suid if suid == NO_ID else suid, fsuid=new_e)
        return new._fix_caps_after_setuid(self)

    def set_fsuid(self, fsuid: int) -> Credentials:
        """setfsuid(2) (the caller returns the old fs id whatever happens):
        the fs id may become any current id, or anything with CAP_SETUID."""
        if fsuid == NO_ID or not (self.capable(CAP_SETUID) or fsuid in (self.ruid, self.euid, self.suid,
                                                                         self.fsuid)):
            return self
        return replace(self, fsuid=fsuid)._fix_caps_after_setuid(self)

    def _fix_caps_after_setuid(self, old: Credentials) -> Credentials:
        """Linux ``cap_emulate_setxuid`` and the fsuid rule of
        ``cap_task_fix_setuid`` (no SECURE_KEEP_CAPS)."""
        new = self
        if 0 in (old.ruid, old.euid, old.suid) and 0 not in (new.ruid, new.euid, new.suid):
            new = replace(new, cap_permitted=0, cap_effective=0, cap_ambient=0)
        if old.euid == 0 and new.euid != 0:
            new = replace(new, cap_effective=0)
        if old.euid != 0 and new.euid == 0:
            new = replace(new, cap_effective=new.cap_permitted)
        if old.fsuid == 0 and new.fsuid != 0:
            new = replace(new, cap_effective=new.cap_effective & ~CAP_FS_MASK)
        elif old.fsuid != 0 and new.fsuid == 0:
            new = replace(new, cap_effective=new.cap_effective | (new.cap_permitted & CAP_FS_MASK))
        return new

    # -- group ids -----------------------------------------------------------------

    def set_gid(self, gid: int) -> Credentials:
        """setgid(2), as set_uid with CAP_SETGID."""
        _check_id(gid)
        if self.capable(CAP_SETGID):
            return replace(self, rgid=gid, egid=gid, sgid=gid, fsgid=gid)
        if gid in (self.rgid, self.sgid):
            return replace(self, egid=gid, fsgid=gid)
        raise EPERM

    def set_regid(self, rgid: int, egid: int) -> Credentials:
        """setregid(2), as set_reuid."""
        may = self.capable(CAP_SETGID)
        new_r, new_e = self.rgid, self.egid
        if rgid != NO_ID:
            if not may and rgid not in (self.rgid, self.egid):
                raise EPERM
            new_r = rgid
        if egid != NO_ID:
            if not may and egid not in (self.rgid, self.egid, self.sgid):
                raise EPERM
            new_e = egid
        new_s = new_e if rgid != NO_ID or (egid != NO_ID and egid != self.rgid) else self.sgid
        return replace(self, rgid=new_r, egid=new_e, sgid=new_s, fsgid=new_e)

    def set_resgid(self, rgid: int, egid: int, sgid: int) -> Credentials:
        """setresgid(2), as set_resuid."""
        current = (self.rgid, self.egid, self.sgid)
        if not self.capable(CAP_SETGID) and any(i != NO_ID and i not in current for i in (rgid, egid, sgid)):
            raise EPERM
        new_e = self.egid if egid == NO_ID else egid
        return replace(self, rgid=self.rgid if rgid == NO_ID else rgid, egid=new_e,
                       sgid=self.sgid if sgid == NO_ID else sgid, fsgid=new_e)

    def set_fsgid(self, fsgid: int) -> Credentials:
        """setfsgid(2), as set_fsuid."""
        if fsgid == NO_ID or not (self.capable(CAP_SETGID) or fsgid in (self.rgid, self.egid, self.sgid,
                                                                         self.fsgid)):
            return self
        return replace(self, fsgid=fsgid)

    def set_groups(self, groups: list[int]) -> Credentials:
        """setgroups(2): CAP_SETGID required; stored sorted (Linux
        ``groups_sort``), so getgroups returns them in order."""
        if not self.capable(CAP_SETGID):
            raise EPERM
        return replace(self, groups=tuple(sorted(groups)))

    # -- capabilities (security/commoncap.c cap_capset) -------------------------------

    def set_caps(self, effective: int, permitted: int, inheritable: int) -> Credentials:
        """capset(2) on oneself: permitted may only shrink, effective must
        lie within the new permitted set, inheritable within the old
        inheritable plus permitted sets (CAP_SETPCAP lifts that to the
        bounding set) and always within the bounding set."""
        allowed_inh = self.cap_inheritable | (self.cap_bounding if self.capable(CAP_SETPCAP) else self.cap_permitted)
        if (inheritable & ~allowed_inh or inheritable & ~(self.cap_inheritable | self.cap_bounding)
                or permitted & ~self.cap_permitted or effective & ~permitted):
            raise EPERM
        return replace(self, cap_effective=effective, cap_permitted=permitted, cap_inheritable=inheritable,
                       cap_ambient=self.cap_ambient & permitted & inheritable)


@cache
def _host_caps() -> dict[str, int]:
    """The sentry's own capability sets by /proc/self/status key (empty
    when it cannot be read); read once, as they never change."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.startswith("Cap"):
                    out[key] = int(value.strip(), 16)
    except (OSError, ValueError):
        return {}
    return out


def _check_id(value: int) -> None:
    """EINVAL for (uid_t)-1, which no set*id call accepts as an id."""
    if value == NO_ID:
        raise EINVAL
