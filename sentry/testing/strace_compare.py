"""Normalising strace output so a native trace and the sentry's compare
(``sentry.testing.harness.compare`` with ``strace=True``): one line per
syscall, ``name = result`` with addresses and pids masked and the calls
that natively go through the vDSO dropped."""

from __future__ import annotations

import errno as errno_mod
import re
from collections.abc import Iterable

__all__ = ["ADDRESS_SYSCALLS", "DEFAULT_IGNORED_SYSCALLS", "PID_SYSCALLS", "normalize_strace"]

#: Syscalls whose successful result is an address (masked as ``ADDR``).
ADDRESS_SYSCALLS = frozenset({"mmap", "mremap", "brk", "shmat"})

#: Syscalls whose successful result is a pid or tid (masked as ``PID``).
PID_SYSCALLS = frozenset(
    {
        "getpid",
        "gettid",
        "getppid",
        "getpgid",
        "getpgrp",
        "getsid",
        "setsid",
        "set_tid_address",
        "clone",
        "clone3",
        "fork",
        "vfork",
        "wait4",
        "waitid",
    }
)

#: Dropped from both traces by default: ``execve`` (strace shows the exec
#: that starts the program; the sentry has no such call) and the calls that
#: natively go through the vDSO, so strace never sees them but a sentry
#: without a vDSO does.
DEFAULT_IGNORED_SYSCALLS = frozenset(
    {"execve", "clock_gettime", "clock_getres", "gettimeofday", "time", "getcpu"}
)

_PID_PREFIX = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)")
_CALL = re.compile(r"^([a-z_][a-z0-9_]*)\(")
_RESUMED = re.compile(r"^<\.\.\.\s+([a-z_][a-z0-9_]*)\s+resumed>")
_SIGNAL = re.compile(r"^---\s+(SIG[A-Z0-9]+)\b(?:.*?\bsi_code=([A-Z_0-9]+))?")
_RET = re.compile(r"^(\?|-?\d+|0x[0-9a-fA-F]+)(?:\s+(E[A-Z0-9]+|ERESTART[A-Z_]*))?")


def _mask_result(name: str, ret: str, err: str | None) -> str:
    if ret == "?":
        return f"? {err}" if err else "?"
    if err:
        return f"-1 {err}" if ret.startswith("-") else f"{ret} {err}"
    if ret.startswith("0x"):
        return "ADDR"
    value = int(ret)
    if -4095 <= value < 0:
        code = errno_mod.errorcode.get(-value)
        if code and value != -1:
            return f"-1 {code}"
        return str(value)
    if name in ADDRESS_SYSCALLS:
        return "ADDR"
    if name in PID_SYSCALLS and value > 0:
        return "PID"
    return str(value)


def normalize_strace(text: str, ignore: Iterable[str] = DEFAULT_IGNORED_SYSCALLS) -> list[str]:
    """Reduce an strace-style trace to comparable lines.

    Input: lines like those of ``strace -f -o FILE`` (``[pid N] `` or ``N ``
    prefixes allowed, or none), one syscall per line::

        1234  read(3, "abc", 10)  = 3
        1234  openat(AT_FDCWD, "x", O_RDONLY) = -1 ENOENT (No such file or directory)
        1234  mmap(NULL, 4096, ...) = 0x7f0123456000
        1234  exit_group(0)       = ?

    Output: one ``name = result`` line per syscall, in order, where result is

    * the decimal return value;
    * ``-1 ENAME`` for errors (strace's ``-1 ENOENT (...)`` and a raw
      ``-2`` both become ``-1 ENOENT``);
    * ``ADDR`` for any hexadecimal result and for successful
      :data:`ADDRESS_SYSCALLS` (mmap, brk, mremap, shmat);
    * ``PID`` for successful :data:`PID_SYSCALLS` (getpid, clone, ...);
    * ``?`` for calls that do not return (exit_group).

    Arguments are dropped (they hold addresses and buffer contents). Signal
    deliveries ``--- SIGSEGV {si_code=SEGV_MAPERR, ...} ---`` become
    ``--- SIGSEGV SEGV_MAPERR ---``; ``+++ exited with 0 +++`` lines, strace
    notes and unparseable lines are dropped; an ``<unfinished ...>`` call is
    reported once, at its ``<... name resumed>`` line. Syscalls named in
    ``ignore`` are left out (default :data:`DEFAULT_IGNORED_SYSCALLS`).
    For multi-threaded programs the interleaving is not deterministic, so
    compare syscall sequences only for single-threaded ones.
    """
    skip = frozenset(ignore)
    out: list[str] = []
    for raw in text.splitlines():
        line = _PID_PREFIX.sub("", raw.strip())
        if not line or line.startswith("+++"):
            continue
        if line.startswith("---"):
            m = _SIGNAL.match(line)
            if m:
                out.append(
                    f"--- {m.group(1)} {m.group(2)} ---" if m.group(2) else f"--- {m.group(1)} ---"
                )
            continue
        if line.endswith("<unfinished ...>"):
            continue
        m = _RESUMED.match(line) or _CALL.match(line)
        if m is None:
            continue
        name = m.group(1)
        if name in skip:
            continue
        if " = " not in line:
            out.append(f"{name} = ?")
            continue
        tail = line.rsplit(" = ", 1)[1].strip()
        r = _RET.match(tail)
        if r is None:
            out.append(f"{name} = {tail.split()[0] if tail else '?'}")
            continue
        out.append(f"{name} = {_mask_result(name, r.group(1), r.group(2))}")
    return out


