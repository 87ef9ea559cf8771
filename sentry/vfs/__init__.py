"""Virtual file system (gVisor ``pkg/sentry/vfs``): file descriptions,
dentries, the mount table and per-process view, path resolution, wait
queues. File system implementations live in ``sentry.fsimpl``."""

from sentry.vfs.context import FSContext, VirtualFilesystem
from sentry.vfs.dentry import Dentry, Dirent
from sentry.vfs.file_description import FileDescription, PathFile

__all__ = ["Dentry", "Dirent", "FSContext", "FileDescription", "PathFile", "VirtualFilesystem"]
