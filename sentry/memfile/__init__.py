"""Host memory that backs guest pages (gVisor's ``pkg/sentry/pgalloc``).

``MemoryFile`` hands out page-aligned ranges of large anonymous host
mappings with per-page reference counts; see ``memory_file`` for the
layout, invariants and contracts.
"""

from sentry.memfile.memory_file import DEFAULT_CHUNK_SIZE, MemoryFile

__all__ = ["DEFAULT_CHUNK_SIZE", "MemoryFile"]
