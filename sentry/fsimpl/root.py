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

Either way the guest gets a private, empty, writable ``/dev/shm`` (POSIX
shared memory, which Python's ``multiprocessing`` needs). In the default
setup its ``/tmp`` is writable too: a private directory over the host's
/tmp (``sentry.fsimpl.overlay``), so host files there stay visible and
read-only while what the guest creates is its own (unless the working
directory is /tmp itself, which is then simply writable). Both private
directories live in a ``scratch`` host directory the caller creates and
removes after the run.

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
from sentry.fsimpl.kernfs import KDir
from sentry.fsimpl.overlay import OverlayDir
from sentry.fsimpl.proc import new_procfs
from sentry.fsimpl.sys import new_sysfs
from sentry.linuxerr import Errno
from sentry.vfs.context import FSContext, VirtualFilesystem
from sentry.vfs.dentry import Dentry
from sentry.vfs.resolve import lookup_at


def build_root(
    root_dir: str | None,
    *,
    host_cwd: str | None = None,
    mf: Any = None,
    owner: Any = None,
    scratch: str | None = None,
) -> FSContext:
    """An FSContext for a new guest (see the module docstring).

    ``host_cwd`` defaults to the sentry's working directory; ``mf`` is
    the MemoryFile behind shared /dev/zero mappings; ``owner`` the thread
    group (it can be set later on the returned context). ``scratch`` is an
    empty host directory for the private /tmp and /dev/shm (without it the
    guest has neither: /tmp is the host's, read-only in the default setup).
    """
    host_cwd = os.path.realpath(host_cwd or os.getcwd())
    if root_dir is None:
        real_root = "/"
        fs = HostFilesystem("/", read_only=True, writable_subtree=host_cwd)
        guest_cwd = host_cwd
    else:
        real_root = os.path.realpath(root_dir)
        fs = HostFilesystem(real_root, read_only=False)
        rel = os.path.relpath(host_cwd, real_root)
        guest_cwd = "/" if rel == "." or rel.startswith("..") else "/" + rel
    fstype, source = host_mount_of(real_root)
    vfs = VirtualFilesystem(fs.root, fstype=fstype, source=source,
                            options=b"ro,relatime" if root_dir is None else b"rw,relatime")
    devfs = new_devfs(mf)
    vfs.mount(fs.root, b"dev", devfs, fstype=b"devtmpfs", source=b"udev", options=b"rw,nosuid,relatime")
    vfs.mount(fs.root, b"proc", new_procfs(), fstype=b"proc", source=b"proc",
              options=b"rw,nosuid,nodev,noexec,relatime")
    vfs.mount(fs.root, b"sys", new_sysfs(), fstype=b"sysfs", source=b"sysfs",
              options=b"ro,nosuid,nodev,noexec,relatime")
    ctx = FSContext(vfs, fs.root, fs.root, owner)
    if scratch is not None:
        devfs.add(KDir(b"shm", 0o1777, dev=devfs.dev))  # the mount point readdir lists
        vfs.mount(devfs, b"shm", _scratch_dir(scratch, "shm"), **_TMPFS)
        if root_dir is None and host_cwd != _HOST_TMP:
            _mount_private_tmp(vfs, fs.root, _scratch_dir(scratch, "tmp"))
    try:
        ctx.cwd = lookup_at(ctx, fs.root, os.fsencode(guest_cwd))
    except Errno:
        ctx.cwd = fs.root
    return ctx


_HOST_TMP = "/tmp"
_TMPFS = {"fstype": b"tmpfs", "source": b"tmpfs", "options": b"rw,nosuid,nodev,relatime"}


def host_mount_of(path: str) -> tuple[bytes, bytes]:
    """(file system type, source) of the host mount holding ``path``, from
    the host's /proc/self/mountinfo: what /proc/mounts shows for the
    guest's root, so ``df`` names the same file system natively and in the
    guest. ``(b"none", b"none")`` when it cannot be read."""
    best, found = -1, (b"none", b"none")
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split()
                sep = fields.index(b"-")
                point = fields[4].decode("unicode_escape")
                if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) > best:
                    best, found = len(point), (fields[sep + 1], fields[sep + 2])
    except (OSError, ValueError, IndexError):
        pass
    return found


def _scratch_dir(scratch: str, name: str) -> Dentry:
    """A new sticky world-writable directory ``scratch/name`` (as a tmpfs
    /tmp is) as the root of its own writable host file system."""
    path = os.path.join(scratch, name)
    os.mkdir(path)
    os.chmod(path, 0o1777)
    return HostFilesystem(path).root


def _mount_private_tmp(vfs: VirtualFilesystem, root: Dentry, upper: Dentry) -> None:
    """Mount ``upper`` at /tmp over the host's /tmp (an OverlayDir), or
    alone when the host has no /tmp directory."""
    ctx = FSContext(vfs, root, root)
    try:
        lower = lookup_at(ctx, root, _HOST_TMP.encode())
    except Errno:
        lower = None
    if lower is None or not lower.is_dir():
        vfs.mount(root, b"tmp", upper, **_TMPFS)
        return
    vfs.mount(root, b"tmp", OverlayDir(upper, lower), **_TMPFS)
