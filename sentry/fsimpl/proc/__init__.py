"""A minimal /proc: what the file system needs from it.

``/proc/self`` (a symlink to the caller's tgid), and for each thread group
``/proc/<tgid>/fd/<n>`` (magic links to open files), ``exe``, ``cwd`` and
``root``. Following a magic link jumps to the open file itself: its dentry
when it has one, else an anonymous node whose ``open`` reopens the file
description (``FileDescription.reopen``), which is how /dev/stdin,
/dev/stdout and /dev/stderr reach the caller's fds 0-2.

The rest of /proc (status, maps, stat, ...) belongs to the proc work; it
can replace this module or extend :class:`ProcTaskDir`.
"""

from __future__ import annotations

from sentry.fsimpl.proc.fs import AnonDentry, ProcFdDir, ProcRoot, ProcTaskDir, new_procfs

__all__ = ["AnonDentry", "ProcFdDir", "ProcRoot", "ProcTaskDir", "new_procfs"]
