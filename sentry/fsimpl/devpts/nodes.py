"""The /dev nodes of the pseudo-terminals: /dev/ptmx, /dev/pts/N and
/dev/tty (see the package docstring)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sentry.abi.fcntl import S_IFCHR
from sentry.fsimpl.devpts import (
    DEVPTS_DEV,
    TTY_GID,
    TTYAUX_MAJOR,
    MasterFile,
    PtsRegistry,
    ReplicaFile,
    Terminal,
)
from sentry.fsimpl.kernfs import KDentry, KDir, KFile
from sentry.linuxerr import ENXIO
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

if TYPE_CHECKING:
    from sentry.vfs.context import FSContext


class PtsDir(KDir):
    """/dev/pts: one node per open terminal."""

    def __init__(self, registry: PtsRegistry) -> None:
        super().__init__(b"pts", 0o755, dev=DEVPTS_DEV)
        self.registry = registry

    def get_child(self, name: bytes, ctx: FSContext) -> Dentry | None:
        if not name.isdigit():
            return None
        term = self.registry.terminals.get(int(name))
        if term is None:
            return None
        term.node.parent = self
        return term.node

    def child_names(self, ctx: FSContext) -> list[bytes]:
        return [str(i).encode() for i in sorted(self.registry.terminals)]


class TtyNode(KDentry):
    """/dev/tty (5:0): the caller's controlling terminal."""

    def __init__(self, dev: int) -> None:
        super().__init__(b"tty", S_IFCHR | 0o666, dev=dev, rdev=os.makedev(TTYAUX_MAJOR, 0))

    def open(self, flags: int, ctx: FSContext) -> FileDescription:
        tg = getattr(ctx, "owner", None)
        pg = getattr(tg, "pgrp", None)
        term = pg.session.terminal if pg is not None else None
        if term is None or not isinstance(term, Terminal):
            raise ENXIO
        return ReplicaFile(term, flags, self)


def add_devpts(devfs: KDir, registry: PtsRegistry) -> None:
    """Add /dev/ptmx, /dev/pts and /dev/tty to a /dev tree."""

    def open_ptmx(flags: int, d: Dentry) -> FileDescription:
        term = registry.new(os.getuid(), TTY_GID)
        return MasterFile(term, flags, d)

    devfs.add(KFile(b"ptmx", S_IFCHR | 0o666, open_ptmx, dev=devfs.dev,
                    rdev=os.makedev(TTYAUX_MAJOR, 2)))
    devfs.add(PtsDir(registry))
    devfs.add(TtyNode(devfs.dev))
