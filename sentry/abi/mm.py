"""madvise advice and mremap flags (``include/uapi/asm-generic/mman-common.h``,
``linux/mman.h``)."""

from __future__ import annotations

MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = 0, 1, 2, 3, 4
MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK = 8, 9, 10, 11
MADV_WIPEONFORK, MADV_KEEPONFORK = 18, 19
MADV_COLD, MADV_PAGEOUT, MADV_DONTNEED_LOCKED = 20, 21, 24

MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
