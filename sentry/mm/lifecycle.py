"""Fork and teardown (gVisor ``mm/lifecycle.go``) and the maps text
(``mm/procfs.go``)."""

from __future__ import annotations

from sentry.abi.mm import PROT_EXEC, PROT_READ, PROT_WRITE
from sentry.hostarch import AccessType
from sentry.mm.pma import without_write
from sentry.mm.residency import MemoryManagerResidency
from sentry.mm.vma import Vma


class MemoryManager(MemoryManagerResidency):
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
        child.metadata.start_stack = md.start_stack
        child.set_executable_file(md.exe_key)
        for v in self.vmas:
            if v.dont_fork or v.wipe_on_fork:
                # pmas follow the boundaries of vmas fork treats specially.
                self.pmas.isolate(v.start, v.end)
            if v.dont_fork:
                continue
            c = v.copy()
            c.locked = False  # locks are not inherited (Linux dup_mmap)
            if c.mappable is not None:
                c.mappable.inc_ref()
                c.mappable.add_space(child)  # the child inherits private copies of its pages
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
        self.set_executable_file(None)
        self.address_space.release()
        pmas, self.pmas = self.pmas, type(self.pmas)()
        for p in pmas:
            p.file.dec_ref(p.file_range())
        vmas, self.vmas = self.vmas, type(self.vmas)()
        for v in vmas:
            if v.mappable is not None:
                v.mappable.dec_ref()

    def maps_text(self) -> str:
        """/proc/pid/maps for this address space: one :func:`maps_line` per
        vma, then the ``[vsyscall]`` line Linux x86-64 always shows."""
        lines = [maps_line(*self._vma_fields(v)) for v in self.vmas]
        lines.append(VSYSCALL_LINE)
        return "".join(lines)

    def _vma_fields(self, v: Vma) -> tuple[int, int, str, bool, int, int, int, int, str]:
        """(start, end, rwx, private, offset, major, minor, inode, name) of ``v``."""
        dev, ino = (0, 0)
        name = v.name
        if v.mappable is not None:
            dev, ino = v.mappable.device_inode()
            name = name or v.mappable.mapped_name()
        major, minor = (dev >> 8) & 0xFFF, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
        off = v.off if v.mappable is not None else 0
        return v.start, v.end, str(v.real_perms), v.private, off, major, minor, ino, name

    def smaps_text(self) -> str:
        """/proc/pid/smaps: each maps line followed by Linux 6.x's fields.

        ``Rss`` is the part of the vma backed by pmas (what the guest has
        touched, in 2 MiB fault windows); all of it counts as private (a
        page shared copy-on-write with a forked child is still counted
        once per process, Pss = Rss). Anonymous is the Rss of private
        anonymous memory and of broken copy-on-write pages.
        """
        out = []
        for v in self.vmas:
            f = self._vma_fields(v)
            out.append(maps_line(*f))
            size = (v.end - v.start) >> 10
            rss = anon = dirty = 0
            for p in self.pmas.overlapping(v.start, v.end):
                n = (min(p.end, v.end) - max(p.start, v.start)) >> 10
                rss += n
                if p.file is self.mf:
                    anon += n if p.private else 0
                    dirty += n
            shared = not v.private
            out.append(smaps_fields(size, rss, anon, dirty, shared))
            out.append("VmFlags: " + vm_flags(v) + "\n")
        vsys = VSYSCALL_LINE + smaps_fields(4, 0, 0, 0, False) + "VmFlags: ex \n"
        out.append(vsys)
        return "".join(out)

    def vm_size(self) -> int:
        """Bytes mapped (Linux ``total_vm``, /proc/pid/stat vsize)."""
        return sum(v.end - v.start for v in self.vmas)

    def rss_bytes(self) -> tuple[int, int, int]:
        """(anonymous, file, shared memory) bytes backed by pmas (Linux's
        RssAnon, RssFile, RssShmem)."""
        anon = file = shmem = 0
        for p in self.pmas:
            n = p.end - p.start
            if p.file is not self.mf:
                file += n
            elif p.private:
                anon += n
            else:
                shmem += n
        return anon, file, shmem

    def vm_counts(self) -> dict[str, int]:
        """Linux's per-kind vma sizes in bytes: ``data`` (private writable,
        not stack), ``stack`` (grows down), ``exec`` (executable, not
        writable, not stack), ``shared`` (shared mappings)."""
        data = stack = exe = shared = 0
        for v in self.vmas:
            n = v.end - v.start
            if v.grows_down:
                stack += n
            elif v.real_perms.write and v.private:
                data += n
            elif v.real_perms.execute and not v.real_perms.write:
                exe += n
            if not v.private:
                shared += n
        return {"data": data, "stack": stack, "exec": exe, "shared": shared}

    def debug_string(self) -> str:
        """vmas and pmas, one per line (for tests and the trace view)."""
        return "\n".join([repr(v) for v in self.vmas] + [repr(p) for p in self.pmas])



MAPS_NAME_COLUMN = 73
"""Linux pads the name to start at column 73 (0-based) at least:
``seq_setwidth(m, 25 + 6 * sizeof(void *) - 1)`` then ``seq_pad(m, ' ')``."""


def maps_line(
    start: int, end: int, perms: str, private: bool, off: int, major: int, minor: int, ino: int, name: str
) -> str:
    """One /proc/pid/maps line (Linux ``show_map_vma``), newline included.

    The prefix ``%08x-%08x rwxp %08x MM:mm inode `` always ends with a
    space; with a name, spaces pad the prefix to 72 characters (if it is
    shorter) and one more space precedes the name, so a name starts at
    column 73 or one past a longer prefix. Newlines in names print as
    ``\\012`` (``seq_path`` escaping).
    """
    prefix = f"{start:08x}-{end:08x} {perms}{'p' if private else 's'} {off:08x} {major:02x}:{minor:02x} {ino} "
    if not name:
        return prefix + "\n"
    pad = " " * max(MAPS_NAME_COLUMN - 1 - len(prefix), 0)
    return prefix + pad + " " + name.replace("\n", "\\012") + "\n"


SMAPS_KEYS = (
    "Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean",
    "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM",
    "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb",
    "Private_Hugetlb", "Swap", "SwapPss", "Locked",
)
"""The kB fields Linux 6.x prints for each smaps entry, in order."""


def smaps_fields(size: int, rss: int, anon: int, dirty: int, shared: bool) -> str:
    """The smaps lines after a maps line up to ``THPeligible`` (values in
    kB; each key padded to 16 columns, ``%8lu kB``)."""
    vals = dict.fromkeys(SMAPS_KEYS, 0)
    vals.update(Size=size, KernelPageSize=4, MMUPageSize=4, Rss=rss, Pss=rss, Referenced=rss, Anonymous=anon)
    vals["Pss_Dirty"] = dirty
    clean = rss - dirty
    if shared:
        vals["Shared_Clean"], vals["Shared_Dirty"] = clean, dirty
    else:
        vals["Private_Clean"], vals["Private_Dirty"] = clean, dirty
    text = "".join(f"{k + ':':<16}{v:8d} kB\n" for k, v in vals.items())
    return text + "THPeligible:           0\n"


def vm_flags(v: Vma) -> str:
    """The smaps ``VmFlags`` mnemonics of ``v`` (Linux ``show_smap_vma_flags``
    order: rd wr ex sh mr mw me ms gd ac), each followed by a space."""
    r, m = v.real_perms, v.max_perms
    flags = [
        ("rd", r.read), ("wr", r.write), ("ex", r.execute), ("sh", not v.private),
        ("mr", m.read), ("mw", m.write), ("me", m.execute), ("ms", not v.private and m.write),
        ("gd", v.grows_down),
        ("ac", v.private and r.write),
    ]
    return "".join(f"{name} " for name, on in flags if on)


VSYSCALL_LINE = maps_line(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "--x", True, 0, 0, 0, 0, "[vsyscall]")
"""The vsyscall page's line: execute-only (``vsyscall=xonly``, the x86-64
default since Linux 5.x)."""


def access_from_prot(prot: int) -> AccessType:
    """PROT_READ/WRITE/EXEC bits as an AccessType."""
    return AccessType(bool(prot & PROT_READ), bool(prot & PROT_WRITE), bool(prot & PROT_EXEC))
