"""The /dev tree (gVisor ``fsimpl/dev`` + ``devices/memdev``).

Entries: the memory devices ``null``, ``zero``, ``full``, ``random``,
``urandom`` (character devices 1:3, 1:5, 1:7, 1:8, 1:9, mode 0666, owned
by root), and the symlinks ``stdin``, ``stdout``, ``stderr`` (to
``/proc/self/fd/0``..``2``) and ``fd`` (to ``/proc/self/fd``), as udev
creates them on Linux. Opening /dev/stdout therefore goes through /proc's
magic link to the caller's fd 1, exactly as on Linux.
"""

from __future__ import annotations

import os
from typing import Any

from sentry.abi.fcntl import S_IFCHR
from sentry.fsimpl.dev.devices import FullFile, NullFile, RandomFile, ZeroFile
from sentry.fsimpl.devpts import PtsRegistry
from sentry.fsimpl.devpts.nodes import add_devpts
from sentry.fsimpl.kernfs import KDir, KFile, KSymlink
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

DEVTMPFS_DEV = os.makedev(0, 5)

__all__ = ["DEVTMPFS_DEV", "FullFile", "NullFile", "RandomFile", "ZeroFile", "new_devfs"]


def new_devfs(mf: Any = None) -> KDir:
    """A fresh /dev tree; ``mf`` is the MemoryFile that backs shared
    mappings of /dev/zero."""
    dev = DEVTMPFS_DEV
    root = KDir(b"dev", 0o755, dev=dev)

    def zero(flags: int, d: Dentry) -> FileDescription:
        return ZeroFile(flags, d, mf)

    for name, minor, factory in (
        (b"null", 3, NullFile),
        (b"zero", 5, zero),
        (b"full", 7, FullFile),
        (b"random", 8, RandomFile),
        (b"urandom", 9, RandomFile),
    ):
        root.add(KFile(name, S_IFCHR | 0o666, factory, dev=dev, rdev=os.makedev(1, minor)))
    for i, name in enumerate((b"stdin", b"stdout", b"stderr")):
        root.add(KSymlink(name, b"/proc/self/fd/%d" % i, dev=dev))
    root.add(KSymlink(b"fd", b"/proc/self/fd", dev=dev))
    add_devpts(root, PtsRegistry())
    return root
