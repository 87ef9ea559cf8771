"""/proc (gVisor ``fsimpl/proc``).

``/proc/self`` (a symlink to the caller's tgid), ``/proc/thread-self``
(``<tgid>/task/<tid>``), and for each thread group ``/proc/<tgid>/`` with
``fd/<n>`` (magic links to open files), ``exe``, ``cwd``, ``root``,
``task/<tid>/`` (the same files per thread), and the generated files
``auxv cgroup cmdline comm environ io limits maps mem mountinfo oom_score
oom_score_adj smaps stat statm status`` (formats: ``generators.py``; open
files: ``files.py``). Following a magic link jumps to the open file
itself: its dentry when it has one, else an anonymous node whose ``open``
reopens the file description (``FileDescription.reopen``), which is how
/dev/stdin, /dev/stdout and /dev/stderr reach the caller's fds 0-2.

Generated text is produced seq_file-style: on the first read (or a read
at offset 0) and reused for the sequential reads that follow.
"""

from __future__ import annotations

from sentry.fsimpl.proc.fs import AnonDentry, ProcFdDir, ProcRoot, ProcTaskDir, new_procfs

__all__ = ["AnonDentry", "ProcFdDir", "ProcRoot", "ProcTaskDir", "new_procfs"]
