"""The mount table (``VirtualFilesystem``) and a process's view of it
(``FSContext``: root, working directory, umask, owner).

A mount here is "this synthetic tree appears as ``name`` inside that
directory": ``/dev`` and ``/proc`` are mounted over the root this way, so
they exist whether or not the host directory serving as root has such
directories, and the host's own ``/dev`` and ``/proc`` are never reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentry.vfs.dentry import Dentry


@dataclass(frozen=True)
class Mount:
    """One line of /proc/mounts: what is mounted (``root``), the file
    system type, the source ("device") and the mount options, all as
    Linux prints them. ``mount_id`` and ``parent_id`` are mountinfo's."""

    mount_id: int
    parent_id: int
    root: Dentry
    fstype: bytes
    source: bytes
    options: bytes


class VirtualFilesystem:
    """The guest's tree: a root dentry plus mounts on top of it.

    ``fstype``, ``source`` and ``options`` describe the root mount for
    /proc/mounts (see :class:`Mount`)."""

    def __init__(self, root: Dentry, *, fstype: bytes = b"rootfs", source: bytes = b"none",
                 options: bytes = b"rw") -> None:
        self.root = root
        #: Every mount in mount order, the root first.
        self.mount_list: list[Mount] = [Mount(1, 1, root, fstype, source, options)]
        # (key of the directory holding the mount point, name) -> mounted root
        self._mounts: dict[tuple[tuple[object, ...], bytes], Dentry] = {}
        # id(mounted root) -> the directory holding its mount point
        self._mounted_at: dict[int, Dentry] = {}
        self._mount_names: set[bytes] = set()
        # (start key, directory prefix) -> the directory it resolved to
        # without following a symlink; cleared by every namespace change
        # the guest makes (``invalidate``). See ``sentry.vfs.resolve``.
        self.prefix_cache: dict[tuple[tuple[object, ...], bytes], Dentry] = {}

    def mount(self, parent: Dentry, name: bytes, root: Dentry, *, fstype: bytes = b"none",
              source: bytes = b"none", options: bytes = b"rw") -> None:
        """Make ``root`` appear as ``parent/name`` (its ``parent`` and
        ``name`` become the mount point's, so ``..`` and paths work).
        The other arguments describe it in /proc/mounts."""
        parent_id = next((m.mount_id for m in reversed(self.mount_list) if _within(parent, m.root)), 1)
        self.mount_list.append(Mount(len(self.mount_list) + 1, parent_id, root, fstype, source, options))
        root.parent = parent
        root.name = name
        self._mounts[(parent.key(), name)] = root
        self._mounted_at[id(root)] = parent
        self._mount_names.add(name)
        self.invalidate()

    def invalidate(self) -> None:
        """Forget cached path resolutions (after unlink, rmdir, rename)."""
        self.prefix_cache.clear()

    def mounted(self, parent: Dentry, name: bytes) -> Dentry | None:
        """The root mounted at ``parent/name``, if any."""
        if name not in self._mount_names:
            return None
        return self._mounts.get((parent.key(), name))

    def mounts_in(self, parent: Dentry) -> list[tuple[bytes, Dentry]]:
        """``(name, mounted root)`` for every mount point in ``parent``."""
        key = parent.key()
        return [(name, root) for (k, name), root in self._mounts.items() if k == key]

    def mount_parent(self, root: Dentry) -> Dentry | None:
        """The directory a mounted root appears in (None if not mounted)."""
        return self._mounted_at.get(id(root))


class FSContext:
    """A thread group's file system state (Linux ``struct fs_struct``):
    its root (``/``), working directory and the process that owns it.

    ``owner`` is the thread group (anything with ``tgid``, ``fd_table`` and
    ``tasks``); /proc/self reads it. ``umask`` lives on the thread group.
    """

    def __init__(self, vfs: VirtualFilesystem, root: Dentry, cwd: Dentry, owner: Any = None) -> None:
        self.vfs = vfs
        self.root = root
        self.cwd = cwd
        self.owner = owner

    def fork(self, owner: Any) -> FSContext:
        """The copy a child process starts with (``copy_fs_struct``)."""
        return FSContext(self.vfs, self.root, self.cwd, owner)

    def parent_of(self, d: Dentry) -> Dentry:
        """Where ``..`` leads from ``d``: its parent, the parent of the
        mount point for a mounted root, and ``d`` itself at the root (so
        ``..`` can never climb above the guest's ``/``)."""
        root_key = self.root.key()
        if d is self.root or d.key() == root_key:
            return self.root
        if d.parent is not None:
            return d.parent
        holder = self.vfs.mount_parent(d)
        if holder is not None:
            return holder
        return self.root

    def is_root(self, d: Dentry) -> bool:
        return d is self.root or d.key() == self.root.key()

    def path_of(self, d: Dentry) -> bytes:
        """The absolute path of ``d`` as this process sees it."""
        parts: list[bytes] = []
        seen = 0
        while not self.is_root(d):
            up = self.parent_of(d)
            if up is d or seen > 4096:
                break
            parts.append(d.name)
            d = up
            seen += 1
        if not parts:
            return b"/"
        return b"/" + b"/".join(reversed(parts))


def absolute_path(d: Dentry) -> str:
    """The path of ``d`` from the root of its tree, for display
    (/proc/self/fd links, /proc/pid/maps); " (deleted)" is appended for a
    removed file."""
    parts: list[bytes] = []
    cur: Dentry | None = d
    steps = 0
    while cur is not None and steps < 4096:
        parent = cur.parent
        if parent is None:
            break
        parts.append(cur.name)
        cur = parent
        steps += 1
    path = "/" + "/".join(p.decode("utf-8", "surrogateescape") for p in reversed(parts))
    if d.is_dead():
        path += " (deleted)"
    return path


def _within(d: Dentry, root: Dentry) -> bool:
    """Whether ``d`` is ``root`` or lies below it (by parent links)."""
    cur: Dentry | None = d
    while cur is not None:
        if cur is root:
            return True
        cur = cur.parent
    return False
