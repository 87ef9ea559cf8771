"""The guest's file system tree: a host directory as ``/``, with the
sentry's own /dev and /proc mounted over it.

Two setups (``run-guest --root DIR`` chooses):

* ``--root DIR``: DIR is the guest's ``/``, readable and writable. The
  guest starts in the directory corresponding to the host working
  directory if that lies inside DIR, else in ``/``.
* default: the host's ``/`` is the guest's ``/``, read-only (every
  modification fails with EROFS), except the host working directory and
  everything below it, which are writable. The guest starts in that
  directory, under the same path.

Either way paths are resolved by the sentry (``sentry.vfs.resolve``):
symlinks are interpreted inside the guest's root and ``..`` stops at it,
so nothing outside the root is reachable through the tree. The host's own
/dev and /proc are never reachable: the sentry's replace them.
"""

from __future__ import annotations

import os
from typing import Any

from sentry.fsimpl.dev import new_devfs
from sentry.fsimpl.host.fs import HostFilesystem
from sentry.fsimpl.proc import new_procfs
from sentry.linuxerr import Errno
from sentry.vfs.context import FSContext, VirtualFilesystem
from sentry.vfs.resolve import lookup_at


def build_root(root_dir: str | None, *, host_cwd: str | None = None, mf: Any = None, owner: Any = None) -> FSContext:
    """An FSContext for a new guest (see the module docstring).

    ``host_cwd`` defaults to the sentry's working directory; ``mf`` is
    the MemoryFile behind shared /dev/zero mappings; ``owner`` the thread
    group (it can be set later on the returned context).
    """
    host_cwd = os.path.realpath(host_cwd or os.getcwd())
    if root_dir is None:
        fs = HostFilesystem("/", read_only=True, writable_subtree=host_cwd)
        guest_cwd = host_cwd
    else:
        real_root = os.path.realpath(root_dir)
        fs = HostFilesystem(real_root, read_only=False)
        rel = os.path.relpath(host_cwd, real_root)
        guest_cwd = "/" if rel == "." or rel.startswith("..") else "/" + rel
    vfs = VirtualFilesystem(fs.root)
    vfs.mount(fs.root, b"dev", new_devfs(mf))
    vfs.mount(fs.root, b"proc", new_procfs())
    ctx = FSContext(vfs, fs.root, fs.root, owner)
    try:
        ctx.cwd = lookup_at(ctx, fs.root, os.fsencode(guest_cwd))
    except Errno:
        ctx.cwd = fs.root
    return ctx
