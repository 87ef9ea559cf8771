"""The project's guest programs: what to build from which source, and how.

Sources live in ``guests/`` (``*.c``, ``*.S``) and ``guests/bench/``; the
executables land in ``guests/build/<name>`` (``guests/build/bench/<name>`` for
benchmarks), copied out of the content-hash cache of
:func:`sentry.testing.build.build_c`. ``guests/build.py`` is the command-line
front end; tests use :func:`guest`::

    from sentry.testing.guests import guest
    path = guest("hello-musl")      # builds if needed, returns the path

This module needs the source tree (an editable install or a checkout).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sentry.testing.build import REPO_ROOT, Toolchain, build_c

GUESTS_DIR = REPO_ROOT / "guests"


def output_dir() -> Path:
    """``guests/build`` in the source tree."""
    return GUESTS_DIR / "build"


@dataclass(frozen=True)
class GuestSpec:
    """One guest: ``source`` is relative to ``guests/``."""

    name: str
    source: str
    toolchain: Toolchain
    description: str
    extra_flags: tuple[str, ...] = field(default=())

    @property
    def source_path(self) -> Path:
        return GUESTS_DIR / self.source

    @property
    def output_path(self) -> Path:
        return output_dir() / self.name


_SPECS = [
    GuestSpec(
        "hello-asm",
        "hello-asm.S",
        "nolibc",
        "no libc: write(1, 'hello, world\\n', 13); exit(0)",
    ),
    GuestSpec("hello-musl", "hello.c", "musl", "prints hello, world, argc and argv (musl, static)"),
    GuestSpec(
        "hello-glibc", "hello.c", "glibc", "prints hello, world, argc and argv (glibc, static)"
    ),
    GuestSpec(
        "hello-static-pie",
        "hello.c",
        "musl-pie",
        "prints hello, world, argc and argv (musl, static PIE: ET_DYN, no PT_INTERP)",
    ),
    GuestSpec("exit-status", "exit-status.c", "musl", "exits with atoi(argv[1])"),
    GuestSpec("null-deref", "null-deref.c", "musl", "stores through NULL: SIGSEGV (status 139)"),
    GuestSpec("ud2", "ud2.c", "musl", "executes ud2: SIGILL (status 132)"),
    GuestSpec(
        "bench/getpid",
        "bench/getpid.c",
        "musl",
        "N x syscall(SYS_getpid); argv: N (default 1000000)",
    ),
    GuestSpec(
        "bench/devnull-write",
        "bench/devnull-write.c",
        "musl",
        "N x write(/dev/null, 64 bytes); argv: N (default 1000000)",
    ),
    GuestSpec(
        "bench/devzero-read",
        "bench/devzero-read.c",
        "musl",
        "N x read(/dev/zero, 1 MiB); argv: N (default 1000)",
    ),
    GuestSpec(
        "bench/pipe-roundtrip",
        "bench/pipe-roundtrip.c",
        "musl",
        "write then read back SIZE bytes through a pipe, N times; argv: SIZE N "
        "(default 65536 10000; use 1048576 1000 for the 1 MiB case)",
    ),
    GuestSpec(
        "bench/unix-roundtrip",
        "bench/unix-roundtrip.c",
        "musl",
        "write then read back SIZE bytes through an AF_UNIX stream socketpair, N times; "
        "argv: SIZE N (default 1048576 1000)",
    ),
    GuestSpec(
        "bench/mmap-touch",
        "bench/mmap-touch.c",
        "musl",
        "mmap MIB MiB of anonymous memory, write one byte per 4 KiB page, munmap, "
        "N times; argv: MIB N (default 256 1)",
    ),
    GuestSpec(
        "bench/cpu-loop",
        "bench/cpu-loop.c",
        "musl",
        "integer mixing, no syscalls; argv: N (default 600000000, about 1 s natively)",
    ),
    GuestSpec(
        "bench/mutex-counter",
        "bench/mutex-counter.c",
        "musl",
        "THREADS threads add to one mutex-protected counter N times each; argv: N THREADS "
        "(default 100000 4)",
        ("-pthread",),
    ),
]

GUESTS: dict[str, GuestSpec] = {s.name: s for s in _SPECS}


def build_guest(name: str, *, verbose: bool = False) -> Path:
    """Build guest ``name`` (cached) and publish it at ``guests/build/<name>``."""
    try:
        spec = GUESTS[name]
    except KeyError:
        raise KeyError(f"unknown guest {name!r}; known: {', '.join(GUESTS)}") from None
    built = build_c(
        spec.source_path,
        spec.toolchain,
        spec.extra_flags,
        name=name.replace("/", "-"),
    )
    out = spec.output_path
    if _same_file(built, out):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # Publish atomically: hard link (or copy) to a temporary name, then rename.
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{out.name}-", dir=out.parent)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(built, tmp)
        except OSError:
            Path(tmp).write_bytes(built.read_bytes())
            os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    if verbose:
        print(f"built {out.relative_to(REPO_ROOT)}")
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    return sa.st_size == sb.st_size and a.read_bytes() == b.read_bytes()


def guest(name: str) -> Path:
    """The path of guest ``name``, building it first if needed."""
    return build_guest(name)
