"""Virtual file system: file descriptions (gVisor ``pkg/sentry/vfs``)."""

from sentry.vfs.file_description import FileDescription

__all__ = ["FileDescription"]
