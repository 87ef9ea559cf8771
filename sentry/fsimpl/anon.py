"""Files without a name (Linux ``fs/anon_inodes.c``; gVisor
``vfs.NewAnonVirtualDentry``): eventfd, epoll, timerfd and signalfd
descriptions all share one anonymous inode.

Linux gives that inode mode 0600 with no file type bits, owned by root
(it is made at boot), and /proc/self/fd/N reads ``anon_inode:[<kind>]``. Reopening
such a link is ENXIO (the base class's ``reopen``). lseek succeeds and
changes nothing (Linux ``noop_llseek``); pread/pwrite are ESPIPE.
"""

from __future__ import annotations

import os
import time

from sentry.abi.stat import make_stat
from sentry.fsimpl.kernfs import next_ino
from sentry.hostarch import PAGE_SIZE
from sentry.vfs.file_description import FileDescription

ANON_INODE_DEV = os.makedev(0, 15)
_ANON_INO = next_ino()
_ANON_TIME_NS = time.time_ns()


class AnonFile(FileDescription):
    """A description of the anonymous inode; subclasses set ``kind``."""

    #: The name in brackets that /proc/self/fd/N shows.
    kind = "unknown"

    def stat(self) -> os.stat_result:
        return make_stat(
            mode=0o600, ino=_ANON_INO, dev=ANON_INODE_DEV, uid=0, gid=0,
            blksize=PAGE_SIZE, atime_ns=_ANON_TIME_NS, mtime_ns=_ANON_TIME_NS, ctime_ns=_ANON_TIME_NS,
        )

    def path_name(self) -> str:
        return f"anon_inode:[{self.kind}]"

    def seek(self, offset: int, whence: int) -> int:
        return 0
