"""Host directories and host fds as guest files (gVisor ``fsimpl/host``,
``fsimpl/gofer`` in directfs mode)."""

from sentry.fsimpl.host.file import HostDirectory, HostFile
from sentry.fsimpl.host.fs import HostDentry, HostFilesystem

__all__ = ["HostDentry", "HostDirectory", "HostFile", "HostFilesystem"]
