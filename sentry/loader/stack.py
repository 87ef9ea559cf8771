"""The initial process stack, laid out byte for byte as Linux does
(``fs/exec.c`` ``do_execveat_common``/``copy_strings`` and
``fs/binfmt_elf.c`` ``create_elf_tables``, x86-64, no randomisation).

From the top of the stack downwards::

    top - 8 ... top          8 zero bytes (bprm->p starts one pointer low)
    execfn string            the filename given to execve (AT_EXECFN)
    envp strings             envp[0] lowest
    argv strings             argv[0] lowest  <- arg_start
    (pad to 16 bytes)        arch_align_stack() with ASLR off: p &= ~15
    "x86_64\\0"              AT_PLATFORM
    16 random bytes          AT_RANDOM
    (pad)                    so that sp is 16-byte aligned
    auxv pairs, AT_NULL
    NULL, envp[envc-1] ... envp[0]   (ascending: envp[0] first)
    NULL, argv[argc-1] ... argv[0]
    argc                     <- sp (16-byte aligned)

Each string is NUL-terminated and the strings are contiguous, so
``[arg_start, arg_end)`` is argv as /proc/pid/cmdline shows it and
``[env_start, env_end)`` likewise for environ. An empty argv gets one empty
string as argv[0] and argc 1, as Linux >= 5.18 does.

The builder here is pure: it returns the bytes of ``[sp, top)`` and the
addresses; :func:`sentry.loader.load` maps the stack and copies them out.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import E2BIG
from sentry.loader.auxv import AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM, PLATFORM
from sentry.loader.errors import LoadError

MAX_ARG_STRLEN = 32 * PAGE_SIZE
"""Longest single argument or environment string, NUL included (E2BIG)."""

ARG_MAX = 32 * PAGE_SIZE
"""Linux's floor for the argument space, whatever the stack limit."""

STK_LIM = 8 << 20
"""Linux ``_STK_LIM``: the default stack size limit (8 MiB)."""

RANDOM_SIZE = 16
"""Bytes at AT_RANDOM."""


@dataclass(frozen=True)
class StackImage:
    """The initial stack: ``data`` is the contents of ``[sp, top)``.

    ``argv``/``envp`` hold the addresses of the strings (what the pointer
    arrays contain). ``auxv`` is the auxiliary vector as written, without
    the AT_NULL terminator. ``argc`` counts the empty argv[0] substituted
    for an empty argv.
    """

    top: int
    sp: int
    data: bytes
    argc: int
    argv: tuple[int, ...]
    envp: tuple[int, ...]
    arg_start: int
    arg_end: int
    env_start: int
    env_end: int
    execfn_addr: int
    platform_addr: int
    random_addr: int
    auxv: tuple[tuple[int, int], ...]


def arg_space_limit(stack_limit: int) -> int:
    """Bytes available for strings plus pointers (Linux ``bprm_stack_limits``):
    a quarter of the stack limit, at most 3/4 of ``_STK_LIM``, at least
    ``ARG_MAX``."""
    return max(min(STK_LIM // 4 * 3, stack_limit // 4), ARG_MAX)


def _check_strings(kind: str, strings: Sequence[bytes]) -> None:
    for s in strings:
        if not isinstance(s, bytes | bytearray):
            raise TypeError(f"{kind} strings must be bytes, got {type(s).__name__}")
        if b"\0" in s:
            raise ValueError(f"{kind} string contains a NUL byte: {bytes(s)[:40]!r}")
        if len(s) + 1 > MAX_ARG_STRLEN:
            raise LoadError(f"{kind} string of {len(s)} bytes is longer than MAX_ARG_STRLEN", E2BIG)


def check_args(argv: Sequence[bytes], envv: Sequence[bytes], execfn: bytes, stack_limit: int = STK_LIM) -> None:
    """Check that the strings fit, as Linux's execve does before it looks at
    the file's format (``bprm_stack_limits`` and ``copy_strings``).

    Raises :class:`LoadError` (E2BIG) when a string (NUL included) exceeds
    MAX_ARG_STRLEN or the strings plus one pointer per string exceed
    :func:`arg_space_limit`; ValueError for a string containing NUL and
    TypeError for a non-bytes string (caller bugs).
    """
    _check_strings("argument", argv)
    _check_strings("environment", envv)
    _check_strings("execfn", [execfn])
    limit = arg_space_limit(stack_limit)
    ptr_size = (max(len(argv), 1) + len(envv)) * 8
    strings_size = sum(len(s) + 1 for s in (*argv, *envv, execfn)) + (0 if argv else 1)
    if limit <= ptr_size or strings_size > limit - ptr_size:
        raise LoadError(
            f"argument list too long: {len(argv)} arguments and {len(envv)} environment "
            f"strings need {strings_size + ptr_size} bytes, the limit is {limit}",
            E2BIG,
        )


def build_stack(
    top: int,
    argv: Sequence[bytes],
    envv: Sequence[bytes],
    execfn: bytes,
    random_bytes: bytes,
    auxv: Sequence[tuple[int, int | None]],
    *,
    stack_limit: int = STK_LIM,
) -> StackImage:
    """Lay out the initial stack below ``top`` (page-aligned).

    ``auxv`` lists the entries in order, without AT_NULL; the values of
    AT_RANDOM, AT_EXECFN and AT_PLATFORM may be None and are filled in with
    the addresses chosen here (any other None is a ValueError).
    ``random_bytes`` must be 16 bytes.

    Raises what :func:`check_args` raises.
    """
    if top % PAGE_SIZE:
        raise ValueError(f"stack top {top:#x} is not page-aligned")
    if len(random_bytes) != RANDOM_SIZE:
        raise ValueError(f"AT_RANDOM needs {RANDOM_SIZE} bytes, got {len(random_bytes)}")
    check_args(argv, envv, execfn, stack_limit)
    args = [bytes(a) for a in argv] or [b""]
    envs = [bytes(e) for e in envv]

    # Strings, copied downwards from one pointer below the top: execfn,
    # then envp, then argv; each copy_strings walks its array backwards,
    # so element 0 ends up lowest.
    execfn_addr = top - 8 - (len(execfn) + 1)
    env_start = execfn_addr - sum(len(e) + 1 for e in envs)
    arg_start = env_start - sum(len(a) + 1 for a in args)
    arg_addrs = _addresses(arg_start, args)
    env_addrs = _addresses(env_start, envs)

    p = arg_start & ~0xF  # arch_align_stack, no randomisation
    platform_addr = p - (len(PLATFORM) + 1)
    random_addr = platform_addr - RANDOM_SIZE
    p = random_addr

    filled: list[tuple[int, int]] = []
    for key, value in auxv:
        if value is None:
            if key == AT_RANDOM:
                value = random_addr
            elif key == AT_EXECFN:
                value = execfn_addr
            elif key == AT_PLATFORM:
                value = platform_addr
            else:
                raise ValueError(f"auxv entry {key} has no value")
        filled.append((key, value))
    words = 2 * (len(filled) + 1)  # ... and AT_NULL
    items = (len(args) + 1) + (len(envs) + 1) + 1
    sp = (p - 8 * (words + items)) & ~0xF

    buf = bytearray(top - sp)
    vec = [len(args), *arg_addrs, 0, *env_addrs, 0]
    for key, value in filled:
        vec += (key, value)
    vec += (AT_NULL, 0)
    struct.pack_into(f"<{len(vec)}Q", buf, 0, *vec)
    buf[random_addr - sp : random_addr - sp + RANDOM_SIZE] = random_bytes
    buf[platform_addr - sp : platform_addr - sp + len(PLATFORM)] = PLATFORM
    strings = b"".join(s + b"\0" for s in (*args, *envs, execfn))
    buf[arg_start - sp : arg_start - sp + len(strings)] = strings
    return StackImage(
        top=top,
        sp=sp,
        data=bytes(buf),
        argc=len(args),
        argv=arg_addrs,
        envp=env_addrs,
        arg_start=arg_start,
        arg_end=env_start,
        env_start=env_start,
        env_end=execfn_addr,
        execfn_addr=execfn_addr,
        platform_addr=platform_addr,
        random_addr=random_addr,
        auxv=tuple(filled),
    )


def _addresses(start: int, strings: Sequence[bytes]) -> tuple[int, ...]:
    out = []
    for s in strings:
        out.append(start)
        start += len(s) + 1
    return tuple(out)
