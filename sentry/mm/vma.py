"""Virtual memory areas: what the guest mapped (gVisor ``mm/vma.go``).

A vma records one mmap'd range: its permissions (real, effective, max), the
mappable behind it (None for private anonymous memory) and the offset into
it, whether it is private (copy-on-write) or shared, grows down, and its
name. vmas are page-aligned and live in a ``SegmentSet``.
"""

from __future__ import annotations

from sentry.hostarch import AccessType
from sentry.memmap.mappable import Mappable


class Vma:
    """One virtual memory area ``[start, end)``.

    ``effective_perms`` is ``real_perms.effective()`` (what access checks
    use); /proc/pid/maps shows ``real_perms``. ``max_perms`` bounds every
    access, ``ignore_permissions`` I/O included. ``dont_fork``
    (MADV_DONTFORK: not copied into a forked child) and ``wipe_on_fork``
    (MADV_WIPEONFORK: the child gets fresh zeroed memory) follow madvise.
    """

    __slots__ = (
        "dont_fork",
        "effective_perms",
        "end",
        "grows_down",
        "locked",
        "mappable",
        "max_perms",
        "name",
        "off",
        "private",
        "real_perms",
        "start",
        "wipe_on_fork",
    )

    def __init__(
        self,
        start: int,
        end: int,
        *,
        real_perms: AccessType,
        max_perms: AccessType,
        private: bool,
        mappable: Mappable | None = None,
        off: int = 0,
        grows_down: bool = False,
        name: str = "",
    ) -> None:
        self.start = start
        self.end = end
        self.real_perms = real_perms
        self.effective_perms = real_perms.effective()
        self.max_perms = max_perms
        self.private = private
        self.mappable = mappable
        self.off = off
        self.grows_down = grows_down
        self.name = name
        self.dont_fork = False
        self.wipe_on_fork = False
        self.locked = False  # mlock/MAP_LOCKED (VM_LOCKED)

    def copy(self) -> Vma:
        """A field-for-field copy. It holds no mappable reference yet: the
        MemoryManager takes one when it inserts the copy."""
        v = Vma.__new__(Vma)
        for slot in Vma.__slots__:
            setattr(v, slot, getattr(self, slot))
        return v

    def set_perms(self, real: AccessType) -> None:
        self.real_perms = real
        self.effective_perms = real.effective()

    def mappable_offset(self, addr: int) -> int:
        """Offset into the mappable of guest address ``addr`` (inside the vma)."""
        return self.off + (addr - self.start)

    def split(self, at: int) -> Vma:
        """Shrink to ``[start, at)`` and return ``[at, end)``; the new vma
        takes its own reference on the mappable."""
        right = self.copy()
        right.start = at
        if self.mappable is not None:
            right.off = self.off + (at - self.start)
            self.mappable.inc_ref()
        self.end = at
        return right

    def mergeable(self, right: Vma) -> bool:
        return (
            self.mappable is right.mappable
            and self.real_perms == right.real_perms
            and self.max_perms == right.max_perms
            and self.private == right.private
            and self.grows_down == right.grows_down
            and self.name == right.name
            and self.dont_fork == right.dont_fork
            and self.wipe_on_fork == right.wipe_on_fork
            and self.locked == right.locked
            and (self.mappable is None or self.off + (self.end - self.start) == right.off)
        )

    def absorb(self, right: Vma) -> None:
        """Extend over ``right`` (which is discarded: its mappable
        reference is dropped; ``self`` still holds one on the same object)."""
        self.end = right.end
        if right.mappable is not None:
            right.mappable.dec_ref()

    def __repr__(self) -> str:
        kind = "p" if self.private else "s"
        return f"Vma({self.start:#x}-{self.end:#x} {self.real_perms}{kind} {self.name or ''})"
