"""``AccessType``: memory access permissions / fault kinds.

Compare gVisor's ``pkg/hostarch/access_type.go``.
"""

from __future__ import annotations

import mmap
from typing import NamedTuple

PROT_READ: int = mmap.PROT_READ
PROT_WRITE: int = mmap.PROT_WRITE
PROT_EXEC: int = mmap.PROT_EXEC


class AccessType(NamedTuple):
    """A set of access kinds: used both for mapping permissions and faults."""

    read: bool = False
    write: bool = False
    execute: bool = False

    def effective(self) -> AccessType:
        """Return the access actually granted: write or execute imply read.

        Compare Linux's mm/mmap.c:protection_map. The MM checks accesses
        against ``perms.effective()`` but reports the real perms in
        /proc/pid/maps.
        """
        if (self.write or self.execute) and not self.read:
            return AccessType(True, self.write, self.execute)
        return self

    def any(self) -> bool:
        """Return True if at least one of read, write, execute is set."""
        return self.read or self.write or self.execute

    def prot(self) -> int:
        """Return the equivalent ``PROT_*`` bits."""
        prot = 0
        if self.read:
            prot |= PROT_READ
        if self.write:
            prot |= PROT_WRITE
        if self.execute:
            prot |= PROT_EXEC
        return prot

    @classmethod
    def from_prot(cls, prot: int) -> AccessType:
        """Return the AccessType for ``PROT_*`` bits (other bits ignored)."""
        return cls(bool(prot & PROT_READ), bool(prot & PROT_WRITE), bool(prot & PROT_EXEC))

    def superset_of(self, other: AccessType) -> bool:
        """Return True if every access in ``other`` is also in this one."""
        return (
            (self.read or not other.read)
            and (self.write or not other.write)
            and (self.execute or not other.execute)
        )

    def intersect(self, other: AccessType) -> AccessType:
        """Return the accesses set in both."""
        return AccessType(
            self.read and other.read, self.write and other.write, self.execute and other.execute
        )

    def union(self, other: AccessType) -> AccessType:
        """Return the accesses set in either."""
        return AccessType(
            self.read or other.read, self.write or other.write, self.execute or other.execute
        )

    def __str__(self) -> str:
        """Return the ``rwx`` / ``r-x`` / ``---`` form used by /proc/pid/maps."""
        return (
            ("r" if self.read else "-")
            + ("w" if self.write else "-")
            + ("x" if self.execute else "-")
        )


NO_ACCESS = AccessType()
READ = AccessType(read=True)
WRITE = AccessType(write=True)
EXECUTE = AccessType(execute=True)
READ_WRITE = AccessType(read=True, write=True)
READ_EXECUTE = AccessType(read=True, execute=True)
ANY_ACCESS = AccessType(read=True, write=True, execute=True)
