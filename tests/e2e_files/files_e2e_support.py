"""Helpers for the file system end-to-end tests: run a guest under the
sentry (optionally with ``--root``), run the same program natively, and
snapshot directory trees for comparison."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sentry.cli import default_environment

#: The guest environment on both sides (run-guest's defaults plus these).
EXTRA_ENV = {"LC_ALL": "C", "TZ": "UTC"}
TIMEOUT = 300


def guest_env() -> dict[str, str]:
    env = default_environment()
    env.update(EXTRA_ENV)
    return env


@functools.cache
def cli_has_root_option() -> bool:
    r = subprocess.run([sys.executable, "-m", "sentry.cli", "--help"], capture_output=True, text=True)
    return "--root" in r.stdout


def sentry_cmd(program: str, args: Sequence[str], *, root: str | None = None) -> list[str]:
    """The command running ``program`` under the sentry: ``python -m
    sentry.cli [--root DIR] [--env ...] PROGRAM ARGS``; before the CLI
    offers ``--root`` the runner is called directly with ``root=DIR``."""
    envs = [f"--env={k}={v}" for k, v in EXTRA_ENV.items()]
    if root is None or cli_has_root_option():
        opts = [f"--root={root}"] if root is not None else []
        return [sys.executable, "-m", "sentry.cli", *opts, *envs, program, *args]
    script = (
        "import sys\n"
        "from sentry.cli import default_environment\n"
        "from sentry.runner import run_program\n"
        "root, program, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
        "env = default_environment()\n"
        "env.update(a.split('=', 1) for a in sys.argv[4:4 + n])\n"
        "args = sys.argv[4 + n:]\n"
        "sys.exit(run_program(program, [program, *args], env, root=root))\n"
    )
    pairs = [f"{k}={v}" for k, v in EXTRA_ENV.items()]
    return [sys.executable, "-c", script, root, program, str(len(pairs)), *pairs, *args]


def run_sentry(
    program: str, args: Sequence[str], *, cwd: Path, root: str | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        sentry_cmd(program, args, root=root), cwd=cwd, input=stdin, capture_output=True, timeout=TIMEOUT
    )


def run_native(program: str, args: Sequence[str], *, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [program, *args], cwd=cwd, input=stdin, capture_output=True, env=guest_env(), timeout=TIMEOUT
    )


def snapshot(root: Path, *, times: bool = False) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` (relative) with its type, permissions,
    size, content digest or link target (and mtime if ``times``)."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            kind = st.st_mode & 0o170000
            extra: object
            if p.is_symlink():
                extra = os.readlink(p)
            elif p.is_file():
                extra = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                extra = None
            size = st.st_size if p.is_file() or p.is_symlink() else None
            entry: tuple[object, ...] = (kind, st.st_mode & 0o7777, size, extra)
            if times:
                entry += (st.st_mtime_ns,)
            out[rel] = entry
    return out
