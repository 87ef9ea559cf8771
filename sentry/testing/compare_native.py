"""``run-guest-compare``: run one program natively and under the sentry.

usage: run-guest-compare [options] PROGRAM [ARGS...]

PROGRAM is an executable, or a ``.c``/``.S`` source that is built first
(``--toolchain``, default glibc). Prints ``agree`` or ``disagree`` followed
by the diff; exits 0 when they agree, 1 when they disagree, 2 on a usage,
build or harness error. Options must come before PROGRAM; everything after
it is passed to the program.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from sentry.testing.build import TOOLCHAINS, BuildError
from sentry.testing.harness import HarnessError, compare


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="run-guest-compare",
        description="Run PROGRAM natively and under the sentry and compare the results.",
    )
    ap.add_argument(
        "--toolchain",
        choices=TOOLCHAINS,
        default="glibc",
        help="toolchain for a .c/.S PROGRAM (default: glibc)",
    )
    ap.add_argument("--stderr", action="store_true", help="also compare stderr")
    ap.add_argument(
        "--syscalls",
        action="store_true",
        help="also compare the syscall sequence (strace vs --strace)",
    )
    ap.add_argument("--no-stdout", action="store_true", help="do not compare stdout")
    ap.add_argument("--stdin", metavar="FILE", help="feed FILE to both runs (default: /dev/null)")
    ap.add_argument(
        "--env",
        metavar="NAME=VALUE",
        action="append",
        default=None,
        help="guest environment variable (repeatable; replaces the default env)",
    )
    ap.add_argument(
        "--cwd",
        metavar="DIR",
        help="working directory for both runs (default: a fresh empty one each)",
    )
    ap.add_argument(
        "--runner",
        metavar="CMD",
        help="sentry command prefix (default: $SENTRY_RUN_GUEST_CMD or 'python -m sentry.cli')",
    )
    ap.add_argument("--timeout", type=float, default=600.0, help="sentry timeout in seconds")
    ap.add_argument(
        "-v", "--verbose", action="store_true", help="print both outputs even when they agree"
    )
    ap.add_argument("program", metavar="PROGRAM")
    ap.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    env = None
    if ns.env is not None:
        bad = [e for e in ns.env if "=" not in e]
        if bad:
            print(f"run-guest-compare: --env needs NAME=VALUE, got {bad[0]!r}", file=sys.stderr)
            return 2
        env = dict(e.split("=", 1) for e in ns.env)
    try:
        stdin = Path(ns.stdin).read_bytes() if ns.stdin else None
        result = compare(
            ns.program,
            ns.args,
            toolchain=ns.toolchain,
            stdin=stdin,
            env=env,
            cwd=ns.cwd,
            compare_stdout=not ns.no_stdout,
            compare_stderr=ns.stderr,
            compare_syscalls=ns.syscalls,
            runner=shlex.split(ns.runner) if ns.runner else None,
            sentry_timeout=ns.timeout,
        )
    except (BuildError, HarnessError, OSError) as e:
        print(f"run-guest-compare: {e}", file=sys.stderr)
        return 2
    print("agree" if result.agree else "disagree")
    if not result.agree:
        print(result.diff)
    elif ns.verbose:
        print(f"status: {result.native.status_text}")
        sys.stdout.write(result.native.stdout_text)
    return 0 if result.agree else 1


if __name__ == "__main__":
    sys.exit(main())
