"""A host directory tree as a guest file system (gVisor ``fsimpl/gofer``
in directfs mode, without the gofer).

Every directory dentry holds an ``O_PATH`` host fd; every host call is a
``*at`` call relative to such an fd with a single name and O_NOFOLLOW (or
AT_SYMLINK_NOFOLLOW), so the host never resolves a path, a ``..`` or a
symlink for the guest. The resolver in ``sentry.vfs.resolve`` walks paths
one component at a time over these dentries.

Directory dentries are canonical per host inode (a weak cache keyed by
``(st_dev, st_ino)``), so renames the guest makes move them and ``..``
follows the directory's real parent, as in Linux. Non-directory dentries
are created per lookup.

Directory lookups are cached (gVisor's "exclusive" file access, its
default for the root file system): each directory remembers its child
directories, and the most recently used :data:`DIR_CACHE_SIZE` directory
dentries are kept alive (each holds one host fd). The guest's own renames
and removals update the cache; changes other host processes make to
directories while the guest runs may not be seen. Files, symlinks and
missing names are looked up on the host every time.

Writability: with ``read_only`` the whole tree answers EROFS to
modifications, except the subtree rooted at ``writable_subtree`` (the
default guest setup: host ``/`` read-only, the working directory and
below writable).

Host special files (devices, FIFOs, sockets) inside the tree can be
stat'ed and listed but not opened (ENXIO): opening a host FIFO or device
could block or reach host hardware.

Limitation (as in gVisor's gofer): the host directory must not be
reorganised concurrently by other host processes; a directory moved out
of the tree by someone else while the guest holds it stays reachable.
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

from sentry import hostfd
from sentry.fsimpl.host.dentry import HostDentry
from sentry.fsimpl.host.hostcalls import list_host_dir, truncated
from sentry.hostfd import room
from sentry.linuxerr import (
    ESTALE,
    errno_of,
)

__all__ = ["DIR_CACHE_SIZE", "HostDentry", "HostFilesystem", "list_host_dir", "truncated"]

if TYPE_CHECKING:
    pass

_DIR_OPEN = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


#: How many recently used directory dentries (and their O_PATH fds) stay
#: cached beyond those something else holds.
DIR_CACHE_SIZE = 512


class HostFilesystem:
    """The host directory ``root_path`` as a tree of :class:`HostDentry`."""

    def __init__(self, root_path: str, *, read_only: bool = False, writable_subtree: str | None = None) -> None:
        self.read_only = read_only
        self.writable_key: tuple[int, int] | None = None
        if read_only and writable_subtree is not None:
            wst = os.stat(writable_subtree)
            self.writable_key = (wst.st_dev, wst.st_ino)
        self._dirs: weakref.WeakValueDictionary[tuple[int, int], HostDentry] = weakref.WeakValueDictionary()
        self._lru: OrderedDict[int, HostDentry] = OrderedDict()
        fd = os.open(root_path, _DIR_OPEN & ~os.O_NOFOLLOW)
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        self.root = HostDentry(self, None, b"", st.st_mode, fd, key, self._writable_for(None, key))
        self._dirs[key] = self.root

    def _writable_for(self, parent: HostDentry | None, key: tuple[int, int]) -> bool:
        if not self.read_only:
            return True
        if parent is not None and parent._writable:
            return True
        return key == self.writable_key

    def touch(self, d: HostDentry) -> None:
        """Mark ``d`` recently used (keeps it, and its fd, cached)."""
        lru = self._lru
        k = id(d)
        if k in lru:
            lru.move_to_end(k)
            return
        lru[k] = d
        # Never let cached handles crowd out the guest's own descriptors.
        if len(lru) > min(DIR_CACHE_SIZE, hostfd.limit() // 8):
            lru.popitem(last=False)

    def dir_child(self, parent: HostDentry, name: bytes, st: os.stat_result) -> HostDentry:
        """The canonical dentry of the directory ``parent/name`` (stat'ed
        as ``st``), opening its O_PATH fd if it is not cached."""
        key = (st.st_dev, st.st_ino)
        d = self._dirs.get(key)
        if d is None or d.dead or d.fd is None:
            room()
            try:
                fd = os.open(name, _DIR_OPEN, dir_fd=parent.fd)
            except OSError as e:
                raise errno_of(e) from None
            st2 = os.fstat(fd)
            if (st2.st_dev, st2.st_ino) != key:  # replaced between stat and open
                os.close(fd)
                raise ESTALE
            d = HostDentry(self, parent, name, st2.st_mode, fd, key, self._writable_for(parent, key))
            self._dirs[key] = d
        elif d is not self.root:
            d.parent = parent
            d.name = name
            d._writable = self._writable_for(parent, key)
        if d is not self.root:
            parent.cache_child(name, d)
        self.touch(d)
        return d

    def forget(self, d: HostDentry) -> None:
        """``d`` was removed: drop it from the caches and mark it dead."""
        d.dead = True
        if self._dirs.get(d.hkey) is d:
            del self._dirs[d.hkey]
        self._lru.pop(id(d), None)
        p = d.parent
        if isinstance(p, HostDentry):
            p.uncache_child(d.name, d)

    def cached_dir(self, key: tuple[int, int]) -> HostDentry | None:
        return self._dirs.get(key)


