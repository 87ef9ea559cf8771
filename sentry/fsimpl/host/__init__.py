"""Files backed by host file descriptors (gVisor ``fsimpl/host``)."""

from sentry.fsimpl.host.file import HostFile

__all__ = ["HostFile"]
