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
        """A copy of this address space for a forked child (gVisor ``Fork``).

        vmas are copied (each copy takes a reference on its mappable).
        Private pmas are shared copy-on-write: both sides lose write access
        in their pmas, and the parent's address space is write-protected in
        place with ``protect`` (its region count does not change); the
        first writer on either side copies, or, once it is the sole owner,
        takes the pages back without copying. Shared pmas are not copied:
        the child re-translates them on demand, so it sees the same shared
        memory. MADV_DONTFORK vmas are not copied; MADV_WIPEONFORK ones are,
        without their pages (the child reads zeros). The child's address
        space starts empty and faults lazily.
        """
        child = MemoryManager(self.mf, self.new_address_space, self.layout)
        child.brk_start, child.brk_end = self.brk_start, self.brk_end
        md = self.metadata
        child.metadata.argv_start, child.metadata.argv_end = md.argv_start, md.argv_end
        child.metadata.envv_start, child.metadata.envv_end = md.envv_start, md.envv_end
        child.metadata.auxv = list(md.auxv)
        child.metadata.executable = md.executable
        for v in self.vmas:
            if v.dont_fork or v.wipe_on_fork:
                # pmas follow the boundaries of vmas fork treats specially.
                self.pmas.isolate(v.start, v.end)
            if v.dont_fork:
                continue
            c = v.copy()
            if c.mappable is not None:
                c.mappable.inc_ref()
            child.vmas.insert(c)
        for p in self.pmas:
            if not p.private:
                continue
            pv = self.vmas.find(p.start)
            if pv is None or pv.dont_fork or pv.wipe_on_fork:
                continue  # the child has no such memory, or fresh zeroed pages
            if not p.need_cow:
                old = p.effective_perms
                p.need_cow = True
                p.effective_perms = without_write(p.effective_perms)
                p.max_perms = without_write(p.max_perms)
                if old.write:
                    # The parent's next write must fault and break COW.
                    self._protect_as(p.start, p.end, old, p.effective_perms)
            p.file.inc_ref(p.file_range())
            child.pmas.insert(p.copy())
        if self.pmas:
            self.pmas.merge_range(self.pmas.segs[0].start, self.pmas.segs[-1].end)
            child.pmas.merge_range(self.pmas.segs[0].start, self.pmas.segs[-1].end)
        return child

    def release(self) -> None:
        """Drop every mapping and the address space (last user gone).

        The address space goes first, so no engine region points at pages
        or host file mappings being freed; then the pmas' page references
        and the vmas' mappable references (closing host fds whose last vma
        this was). Idempotent.
        """
        self.users = 0
        self.address_space.release()
        pmas, self.pmas = self.pmas, type(self.pmas)()
        for p in pmas:
            p.file.dec_ref(p.file_range())
        vmas, self.vmas = self.vmas, type(self.vmas)()
        for v in vmas:
            if v.mappable is not None:
                v.mappable.dec_ref()

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
