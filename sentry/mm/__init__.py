"""The MemoryManager: vmas, pmas, the usermem IO over them, the mm
syscalls and fork (gVisor ``pkg/sentry/mm``)."""

from sentry.mm.layout import Counters, HostMmapPolicy, Metadata, MmapLayout, host_mmap_policy
from sentry.mm.lifecycle import MemoryManager, access_from_prot
from sentry.mm.syscalls import MMapOpts

__all__ = [
    "Counters",
    "HostMmapPolicy",
    "MMapOpts",
    "MemoryManager",
    "Metadata",
    "MmapLayout",
    "access_from_prot",
    "host_mmap_policy",
]
