"""Argument and result formatting in strace's style.

Each syscall has a spec: one code per argument. Codes: ``d`` signed int,
``u`` unsigned, ``x`` pointer (``NULL`` for 0), ``s`` input C string,
``b<N>`` buffer the guest passes in (length in argument N), ``B<N>``
buffer the kernel fills (printed on exit, length = result), ``v<N>``
iovec array passed in (count in argument N), ``V<N>`` iovec array filled,
``o`` octal, and named decoders (``prot``, ``mapflags``, ``archprctl``,
``ioctl``, ``clock``, ``sig``, ``sighow``, ``atfd``). Unknown syscalls
print their six arguments in hex.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from sentry.abi import termios as termios_abi
from sentry.abi.fcntl import AT_FDCWD
from sentry.abi.signals import signal_name
from sentry.linuxerr import name_of
from sentry.syscalls.linux.args import s32, s64

MAX_STR = 32  # strace's default -s

SPECS: dict[str, list[str]] = {
    "read": ["d", "B2", "u"], "write": ["d", "b2", "u"], "close": ["d"],
    "fstat": ["d", "x"], "newfstatat": ["atfd", "s", "x", "x"], "lseek": ["d", "d", "d"],
    "mmap": ["x", "u", "prot", "mapflags", "d", "x"], "mprotect": ["x", "u", "prot"],
    "munmap": ["x", "u"], "brk": ["x"], "rt_sigaction": ["sig", "x", "x", "u"],
    "rt_sigprocmask": ["sighow", "x", "x", "u"], "ioctl": ["d", "ioctl", "x"],
    "pread64": ["d", "B2", "u", "d"], "pwrite64": ["d", "b2", "u", "d"],
    "readv": ["d", "V2", "d"], "writev": ["d", "v2", "d"], "getpid": [], "gettid": [],
    "exit": ["d"], "exit_group": ["d"], "uname": ["x"], "getuid": [], "geteuid": [],
    "getgid": [], "getegid": [], "getppid": [], "arch_prctl": ["archprctl", "x"],
    "set_tid_address": ["x"], "set_robust_list": ["x", "u"], "rseq": ["x", "u", "d", "x"], "getcpu": ["x", "x", "x"],
    "prlimit64": ["d", "d", "x", "x"], "getrandom": ["B1", "u", "x"], "clock_gettime": ["clock", "x"],
    "madvise": ["x", "u", "d"], "mremap": ["x", "u", "u", "d", "x"], "getcwd": ["B1", "u"],
    "readlink": ["s", "B2", "u"], "nanosleep": ["x", "x"], "sched_getaffinity": ["d", "u", "x"],
    "openat": ["atfd", "s", "x", "o"], "open": ["s", "x", "o"],
}

_PROT = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (0x01000000, "PROT_GROWSDOWN")]
_MAP_TYPE = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
_MAP_FLAGS = [(0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"), (0x100, "MAP_GROWSDOWN"),
              (0x800, "MAP_DENYWRITE"), (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"),
              (0x8000, "MAP_POPULATE"), (0x20000, "MAP_STACK"), (0x100000, "MAP_FIXED_NOREPLACE")]
_ARCH_PRCTL = {0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS",
               0x3001: "ARCH_CET_STATUS"}
_IOCTL = termios_abi.NAMES
_CLOCKS = ["CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
           "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME"]
_SIGHOW = ["SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"]


def quote(data: bytes, truncated: bool = False) -> str:
    """A C string literal as strace prints it (``-s 32``)."""
    shown = data[:MAX_STR]
    out = ['"']
    for c in shown:
        ch = chr(c)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append(f"\\{c:o}")
    out.append('"')
    if truncated or len(data) > MAX_STR:
        out.append("...")
    return "".join(out)


def _flags(value: int, table: list[tuple[int, str]]) -> list[str]:
    names = [name for bit, name in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if rest:
        names.append(hex(rest))
    return names


def pointer(v: int) -> str:
    return "NULL" if v == 0 else hex(v)


def decode_named(code: str, v: int) -> str | None:
    if code == "prot":
        return "|".join(_flags(v, _PROT)) or "PROT_NONE"
    if code == "mapflags":
        names = [_MAP_TYPE.get(v & 0xF, hex(v & 0xF)), *_flags(v & ~0xF, _MAP_FLAGS)]
        return "|".join(names)
    if code == "archprctl":
        return _ARCH_PRCTL.get(v, hex(v))
    if code == "ioctl":
        return _IOCTL.get(v & 0xFFFFFFFF, hex(v))
    if code == "clock":
        c = s32(v)
        return _CLOCKS[c] if 0 <= c < len(_CLOCKS) else str(c)
    if code == "sig":
        return signal_name(s32(v))
    if code == "sighow":
        h = s32(v)
        return _SIGHOW[h] if 0 <= h < 3 else str(h)
    if code == "atfd":
        return "AT_FDCWD" if s32(v) == AT_FDCWD else str(s32(v))
    if code == "d":
        return str(s32(v)) if v < (1 << 32) or (v >= (1 << 63) and s64(v) >= -(1 << 31)) else str(s64(v))
    if code == "u":
        return str(v)
    if code == "x":
        return pointer(v)
    if code == "o":
        return oct(v).replace("0o", "0") if v else "0"
    return None


def format_result(name: str, ret: int | None) -> str:
    """``= 13``, ``= 0x5555...`` for addresses, ``= -1 ENOENT (No such file or directory)``."""
    if ret is None:
        return "?"
    if -4096 < ret < 0:
        from sentry.linuxerr import from_errno

        try:
            e = from_errno(-ret)
            return f"-1 {e.name} ({e.message})"
        except KeyError:
            return f"-1 {name_of(-ret)}"
    if name in ("mmap", "brk", "mremap"):
        return hex(ret)
    return str(ret)


Reader = Callable[[int, int], bytes | None]


def format_iovecs(read: Reader, addr: int, count: int, limit: int) -> str:
    raw = read(addr, count * 16) if count > 0 else b""
    if raw is None:
        return pointer(addr)
    items = []
    left = limit
    for base, ln in struct.iter_unpack("<QQ", raw):
        take = max(min(ln, left), 0)
        data = read(base, min(take, MAX_STR)) if take else b""
        left -= take
        shown = quote(data, truncated=take > MAX_STR) if data is not None else pointer(base)
        items.append(f"{{iov_base={shown}, iov_len={ln}}}")
    return "[" + ", ".join(items) + "]"
