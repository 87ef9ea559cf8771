"""Fork and teardown (gVisor ``mm/lifecycle.go``) and the maps text
(``mm/procfs.go``)."""

from __future__ import annotations

from sentry.hostarch import AccessType
from sentry.mm.pma import without_write
from sentry.mm.syscalls import MemoryManagerSyscalls


class MemoryManager(MemoryManagerSyscalls):
    """A guest address space: vmas, pmas, the Unicorn address space that
    caches them, and the ``usermem.IO`` implementation over them.

    Construct with the ``MemoryFile`` that backs anonymous memory and a
    factory for platform address spaces (fork needs a fresh one).
    """

    def fork(self) -> MemoryManager:
        """A copy of this address space for a forked child.

        vmas are copied; private pmas are shared copy-on-write: both sides
        lose write access in their pmas and address spaces, and the first
        writer copies (or, once it is the sole owner, takes the pages back
        without copying). Shared pmas are not copied: the child re-translates
        them on demand, so it sees the same shared memory.
        """
        child = MemoryManager(self.mf, self.new_address_space, self.layout)
        child.brk_start, child.brk_end = self.brk_start, self.brk_end
        md = self.metadata
        child.metadata.argv_start, child.metadata.argv_end = md.argv_start, md.argv_end
        child.metadata.envv_start, child.metadata.envv_end = md.envv_start, md.envv_end
        child.metadata.auxv = list(md.auxv)
        child.metadata.executable = md.executable
        for v in self.vmas:
            child.vmas.insert(v.copy())
        for p in self.pmas:
            if not p.private:
                continue
            if not p.need_cow:
                p.need_cow = True
                p.effective_perms = without_write(p.effective_perms)
                p.max_perms = without_write(p.max_perms)
                if p.effective_perms.any():
                    # The parent's next write must fault and break COW.
                    self.address_space.map_file(p.start, p.file, p.file_range(), p.effective_perms, False)
            p.file.inc_ref(p.file_range())
            child.pmas.insert(p.copy())
        return child

    def release(self) -> None:
        """Drop every mapping and the address space (last user gone)."""
        for p in self.pmas:
            p.file.dec_ref(p.file_range())
        self.pmas = type(self.pmas)()
        self.vmas = type(self.vmas)()
        self.address_space.release()

    def maps_text(self) -> str:
        """/proc/pid/maps for this address space (gVisor ``procfs.go``)."""
        lines = []
        for v in self.vmas:
            dev, ino = (0, 0)
            name = v.name
            if v.mappable is not None:
                dev, ino = v.mappable.device_inode()
                name = name or v.mappable.mapped_name()
            major, minor = (dev >> 8) & 0xFFF, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
            prefix = (
                f"{v.start:08x}-{v.end:08x} {v.real_perms}{'p' if v.private else 's'} "
                f"{v.off if v.mappable is not None else 0:08x} {major:02x}:{minor:02x} {ino} "
            )
            if name:
                prefix += " " * max(73 - len(prefix), 0) + name
            lines.append(prefix + "\n")
        vsys = "ffffffffff600000-ffffffffff601000 r-xp 00000000 00:00 0 "
        lines.append(vsys + " " * (73 - len(vsys)) + "[vsyscall]\n")
        return "".join(lines)

    def debug_string(self) -> str:
        """vmas and pmas, one per line (for tests and the trace view)."""
        return "\n".join([repr(v) for v in self.vmas] + [repr(p) for p in self.pmas])


def access_from_prot(prot: int) -> AccessType:
    """PROT_READ/WRITE/EXEC bits as an AccessType."""
    return AccessType(bool(prot & 1), bool(prot & 2), bool(prot & 4))
