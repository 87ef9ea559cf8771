"""Platform mapping areas: what backs the guest's memory (gVisor ``mm/pma.go``).

A pma says that ``[start, end)`` of the address space is backed by
``file`` at ``off``. pmas exist only where vmas do. ``effective_perms`` is
what the address space maps (vma permissions intersected with what the
translation allowed, Write removed while ``need_cow``); ``max_perms`` is the
ceiling for ``ignore_permissions`` I/O. ``private`` means the memory belongs
to this MemoryManager (anonymous or a COW copy), so fork shares it
copy-on-write instead of re-translating it.
"""

from __future__ import annotations

from sentry.hostarch import AccessType
from sentry.memmap.file import File, FileRange


def without_write(at: AccessType) -> AccessType:
    return AccessType(at.read, False, at.execute)


class Pma:
    """One platform mapping area."""

    __slots__ = (
        "effective_perms",
        "end",
        "file",
        "max_perms",
        "need_cow",
        "off",
        "private",
        "start",
        "translate_perms",
    )

    def __init__(
        self,
        start: int,
        end: int,
        file: File,
        off: int,
        *,
        translate_perms: AccessType,
        vma_effective: AccessType,
        vma_max: AccessType,
        need_cow: bool,
        private: bool,
    ) -> None:
        self.start = start
        self.end = end
        self.file = file
        self.off = off
        self.translate_perms = translate_perms
        self.need_cow = need_cow
        self.private = private
        self.effective_perms = vma_effective
        self.max_perms = vma_max
        self.set_vma_perms(vma_effective, vma_max)

    def set_vma_perms(self, vma_effective: AccessType, vma_max: AccessType) -> None:
        """Recompute permissions from the covering vma's."""
        eff = vma_effective.intersect(self.translate_perms)
        mx = vma_max.intersect(self.translate_perms)
        if self.need_cow:
            eff = without_write(eff)
            mx = without_write(mx)
        self.effective_perms = eff
        self.max_perms = mx

    def file_range(self) -> FileRange:
        return FileRange(self.off, self.off + (self.end - self.start))

    def file_range_of(self, start: int, end: int) -> FileRange:
        """File range backing ``[start, end)`` (inside this pma)."""
        return FileRange(self.off + (start - self.start), self.off + (end - self.start))

    def copy(self) -> Pma:
        p = Pma.__new__(Pma)
        for slot in Pma.__slots__:
            setattr(p, slot, getattr(self, slot))
        return p

    def split(self, at: int) -> Pma:
        right = self.copy()
        right.start = at
        right.off = self.off + (at - self.start)
        self.end = at
        return right

    def mergeable(self, right: Pma) -> bool:
        return (
            self.file is right.file
            and self.off + (self.end - self.start) == right.off
            # Host memory must stay contiguous (MemoryFile chunks are not).
            and self.file.host_address(self.off) + (self.end - self.start)
            == right.file.host_address(right.off)
            and self.translate_perms == right.translate_perms
            and self.effective_perms == right.effective_perms
            and self.max_perms == right.max_perms
            and self.need_cow == right.need_cow
            and self.private == right.private
        )

    def absorb(self, right: Pma) -> None:
        self.end = right.end

    def __repr__(self) -> str:
        cow = " cow" if self.need_cow else ""
        return f"Pma({self.start:#x}-{self.end:#x} {self.effective_perms} off={self.off:#x}{cow})"
