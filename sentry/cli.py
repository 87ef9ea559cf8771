"""``run-guest``: run an x86-64 Linux program (static or dynamically
linked, or a ``#!`` script) under the sentry.

The guest's stdin, stdout and stderr are the host's. The exit status is the
guest's, or 128+signal (with a one-line message) when a signal killed it,
as a shell reports it. Errors of our own (a missing or malformed program)
are one line on stderr and a non-zero status: 127 when the program does
not exist, 126 when it cannot be executed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import termios
from collections.abc import Iterator
from typing import TextIO

import sentry

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def default_environment() -> dict[str, str]:
    """The small clean environment a guest starts with (``--env`` adds to it)."""
    env = {"PATH": DEFAULT_PATH, "HOME": os.environ.get("HOME", "/")}
    if "TERM" in os.environ:
        env["TERM"] = os.environ["TERM"]
    return env


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run-guest",
        description="Run an x86-64 Linux program (static, dynamically linked or a #! script) under the "
                    "Python sentry (Unicorn CPU, Python kernel).",
        epilog="Sandbox defaults: without --root the guest sees the host's / read-only and the current "
               "directory (and below) writable; its /tmp is private and writable (host files in /tmp stay "
               "visible, read-only) and /dev/shm is private; both are discarded at exit. The guest's "
               "environment is only PATH, HOME and TERM plus --env. A PROGRAM without a slash is looked "
               "up along the guest's PATH, as execvp does.",
    )
    p.add_argument("--strace", action="store_true", help="print every syscall in strace's format")
    p.add_argument("--trace-file", metavar="FILE", help="write --strace and --trace output here instead of stderr")
    p.add_argument("--trace", metavar="CATEGORIES", default="",
                   help="comma-separated structured trace views: mm (the memory path), platform (Unicorn maps), all")
    p.add_argument("--env", metavar="NAME=VALUE", action="append", default=[],
                   help="set a variable in the guest's environment (repeatable)")
    p.add_argument("--root", metavar="DIR",
                   help="host directory the guest sees as / (default: the host's / read-only, "
                        "the current directory writable)")
    p.add_argument("--log-level", choices=sorted(_LEVELS), default="error",
                   help="sentry log level on stderr (warning shows unimplemented syscalls)")
    p.add_argument("--stats", metavar="FILE",
                   help="after the run, write memory-path counters as JSON to FILE "
                   "(faults, COW breaks, pmas, Unicorn maps and peak regions, memory-file bytes)")
    p.add_argument("--version", action="version", version=f"run-guest {sentry.__version__}")
    p.add_argument("program", help="the guest executable or #! script (looked up along PATH without a slash)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the guest")
    return p


def configure_logging(level: str, trace_out: TextIO, tracing: bool) -> None:
    """structlog events as one line each; trace views at debug level."""
    from sentry import logs

    logs.configure(logging.DEBUG if tracing else _LEVELS[level], trace_out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = default_environment()
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"run-guest: --env needs NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        env[name] = value
    trace_out: TextIO = sys.stderr
    if args.trace_file:
        trace_out = open(args.trace_file, "w", buffering=1)  # noqa: SIM115 - lives as long as the run
    categories = [c for c in args.trace.split(",") if c]
    configure_logging(args.log_level, trace_out, bool(categories))
    if categories:
        from sentry.tracing import TRACE

        if "mm" in categories:
            categories.append("platform")  # the memory path includes what Unicorn maps
        try:
            TRACE.enable(*categories)
        except ValueError as e:
            print(f"run-guest: {e}", file=sys.stderr)
            return 2
    from sentry.runner import run_program

    with host_terminal_restored():
        return run_program(
            args.program,
            [args.program, *args.args],
            env,
            strace_out=trace_out if args.strace else None,
            root=args.root,
            stats_out=args.stats,
        )


@contextlib.contextmanager
def host_terminal_restored(fd: int = 0) -> Iterator[None]:
    """Put the host terminal on ``fd`` (if it is one) back into the modes it
    had on entry, however the run ends: a guest may change them through its
    inherited stdin (TCSETS passes through) and die without undoing it."""
    try:
        saved = termios.tcgetattr(fd)
    except (OSError, termios.error):
        yield
        return

    def restore() -> None:
        # Restoring from a background process group would stop us (SIGTTOU).
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except (OSError, termios.error):
            pass
        finally:
            signal.signal(signal.SIGTTOU, old)

    def leave(sig: int, _frame: object) -> None:
        # SIGTERM or SIGHUP would end Python without running ``finally``
        # (and an exception raised here may land in a ctypes callback that
        # swallows it): restore now, then die of the signal as before.
        restore()
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    old_handlers = {s: signal.signal(s, leave) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
        restore()


if __name__ == "__main__":
    sys.exit(main())
