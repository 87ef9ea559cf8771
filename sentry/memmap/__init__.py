"""Memory-mapping abstractions shared by mm, memfile and platform.

Compare gVisor's ``pkg/sentry/memmap``. ``file`` holds ``FileRange`` and
the ``File`` protocol (what pmas point into); ``mappable`` holds what vmas
map (``Mappable``, ``Translation`` and implementations).
"""

from sentry.memmap.file import File, FileRange

__all__ = ["File", "FileRange"]
