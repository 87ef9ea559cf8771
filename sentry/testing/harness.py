"""Differential testing: the host kernel is the oracle.

:func:`compare` runs one program natively and under the sentry with the same
arguments, stdin, environment and (fresh, empty) working directory, and
compares what the user asked for:

* the exit status (always; shell convention, 128+signal for a fatal signal);
* stdout (on by default);
* stderr (``compare_stderr=True``);
* the syscall sequence (``compare_syscalls=True``): natively recorded with
  ``strace -f -o FILE``, under the sentry with ``--strace --trace-file FILE``,
  both reduced by :func:`normalize_strace` to ``name = result`` lines with
  addresses and pids masked.

The result is a :class:`Comparison`; ``.agree`` says whether everything
compared was equal and ``.diff`` is a readable report (empty when they
agree) naming the first differing line and showing a unified diff.

The program may be an executable path, a ``.c``/``.S`` path or C source
text; sources are built with :func:`sentry.testing.build.build_c`.

The sentry is run as ``[sys.executable, "-m", "sentry.cli", ...]``. Set
``$SENTRY_RUN_GUEST_CMD`` (a shell-quoted command prefix) or pass
``runner=[...]`` to use something else, e.g. a fake runner in the harness's
own tests. The runner is called as::

    RUNNER [--env NAME=VALUE]... [--strace --trace-file FILE] [EXTRA...] PROGRAM ARGS...

and must give the guest the ``--env`` variables as its environment, its own
stdin/stdout/stderr and working directory, and exit with the guest's status
(128+signal when the guest dies of a signal). run-guest also gives the guest
PATH and HOME (and TERM when it has one); the harness lists PATH and HOME in
:data:`DEFAULT_ENV`, overrides HOME and drops TERM in the runner's own
environment, so both sides see the same variables in the same order.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry.testing.build import REPO_ROOT, Toolchain, build_c
from sentry.testing.strace_compare import DEFAULT_IGNORED_SYSCALLS, normalize_strace

#: Environment variable holding a command prefix that replaces the sentry.
RUNNER_ENV = "SENTRY_RUN_GUEST_CMD"

#: The guest environment when the caller gives none (both sides get it).
#: run-guest always gives its guest PATH and HOME (and TERM when its own
#: environment has it), ``--env`` overriding them; so PATH and HOME are
#: listed here, and TERM is removed from the runner's environment.
DEFAULT_ENV: Mapping[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/",
    "LC_ALL": "C",
}

NATIVE_TIMEOUT = 60.0
SENTRY_TIMEOUT = 600.0

class HarnessError(RuntimeError):
    """The harness itself could not run (missing tool, bad arguments)."""


class DisagreementError(AssertionError):
    """Raised by :meth:`Differential.check` when native and sentry disagree."""


def default_runner() -> list[str]:
    """The sentry command prefix: ``$SENTRY_RUN_GUEST_CMD`` or ``python -m sentry.cli``."""
    env = os.environ.get(RUNNER_ENV, "").strip()
    if env:
        return shlex.split(env)
    return [sys.executable, "-m", "sentry.cli"]


def shell_status(returncode: int) -> int:
    """``subprocess`` return code -> shell exit status (``-11`` -> ``139``)."""
    return 128 - returncode if returncode < 0 else returncode


def describe_status(status: int | None) -> str:
    """``139`` -> ``'139 (SIGSEGV)'``; ``None`` -> ``'timed out'``."""
    if status is None:
        return "timed out"
    if 128 < status < 128 + 65:
        try:
            return f"{status} ({signal.Signals(status - 128).name})"
        except ValueError:
            pass
    return str(status)


@dataclass
class RunResult:
    """One run of the program (native or under the sentry)."""

    side: str
    argv: list[str]
    status: int | None  # shell convention; None when it timed out
    stdout: bytes
    stderr: bytes
    trace: str | None = None  # raw trace text when syscalls were recorded
    syscalls: list[str] | None = None  # normalize_strace(trace)

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode(errors="backslashreplace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode(errors="backslashreplace")

    @property
    def status_text(self) -> str:
        return describe_status(self.status)


@dataclass
class Comparison:
    """The outcome of :func:`compare`."""

    program: Path
    args: list[str]
    native: RunResult
    sentry: RunResult
    compared: tuple[str, ...]
    mismatches: list[str] = field(default_factory=list)
    diff: str = ""

    @property
    def agree(self) -> bool:
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.agree

    def report(self) -> str:
        """A one-line verdict, then the diff."""
        what = " ".join(shlex.quote(a) for a in [str(self.program), *self.args])
        if self.agree:
            return f"agree: {what} ({', '.join(self.compared)})"
        return f"disagree: {what}\n{self.diff}"

    __str__ = report


def _lines(data: bytes) -> list[str]:
    return data.decode(errors="backslashreplace").splitlines()


def line_diff(label: str, native: list[str], sentry: list[str], max_lines: int = 200) -> str:
    """Name the first differing line, then a unified diff."""
    first = next(
        (i for i, (a, b) in enumerate(zip(native, sentry, strict=False)) if a != b),
        min(len(native), len(sentry)),
    )
    unit = "syscall" if label == "syscalls" else f"{label} line"
    head = [f"{label} differs at {unit} {first + 1}:"]
    head.append(f"  native: {native[first]!r}" if first < len(native) else "  native: <end>")
    head.append(f"  sentry: {sentry[first]!r}" if first < len(sentry) else "  sentry: <end>")
    body = list(
        difflib.unified_diff(native, sentry, f"native {label}", f"sentry {label}", lineterm="", n=2)
    )
    if len(body) > max_lines:
        body = [*body[:max_lines], f"... ({len(body) - max_lines} more diff lines)"]
    return "\n".join(head + body)


def _tail(data: bytes, n: int = 25) -> str:
    lines = _lines(data)
    shown = lines[-n:]
    prefix = [f"  ... ({len(lines) - n} earlier lines)"] if len(lines) > n else []
    return "\n".join(prefix + ["  " + line for line in shown])


def _run(
    side: str,
    argv: list[str],
    *,
    env: Mapping[str, str],
    stdin: bytes | None,
    cwd: Path,
    timeout: float,
    trace_file: Path | None,
    ignore: Iterable[str],
) -> RunResult:
    try:
        # A session of its own, so a timeout kills the whole tree (strace,
        # a wrapper runner, guest children), never leaving a stray process.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
            status: int | None = shell_status(proc.returncode)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            status = None
    except OSError as e:
        raise HarnessError(f"cannot run {argv[0]}: {e}") from e
    trace = syscalls = None
    if trace_file is not None and trace_file.exists():
        trace = trace_file.read_text(errors="backslashreplace")
        syscalls = normalize_strace(trace, ignore)
    return RunResult(side, argv, status, out, err, trace, syscalls)


def _resolve_program(program_or_source: str | os.PathLike[str], toolchain: Toolchain) -> Path:
    if isinstance(program_or_source, str) and (
        "\n" in program_or_source or "{" in program_or_source
    ):
        return build_c(program_or_source, toolchain)
    path = Path(program_or_source)
    if path.suffix in (".c", ".S", ".s"):
        return build_c(path, toolchain)
    if not path.is_file():
        raise HarnessError(f"no such program: {path}")
    return path.resolve()


def runner_env(runner: Sequence[str], guest_env: Mapping[str, str]) -> dict[str, str]:
    """The environment of the sentry process itself (not of the guest).

    run-guest copies HOME and TERM from its own environment into the
    guest's unless ``--env`` overrides them; make those match the guest
    environment the native side gets.
    """
    env = dict(os.environ)
    for name in ("HOME", "TERM"):
        if name in guest_env:
            env[name] = guest_env[name]
        elif name == "TERM":
            env.pop(name, None)
    if list(runner[1:3]) == ["-m", "sentry.cli"]:
        # Let `python -m sentry.cli` work from a temporary cwd without an install.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
    return env


def compare(
    program_or_source: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    toolchain: Toolchain = "glibc",
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    compare_stdout: bool = True,
    compare_stderr: bool = False,
    compare_syscalls: bool = False,
    ignore_syscalls: Iterable[str] = DEFAULT_IGNORED_SYSCALLS,
    runner: Sequence[str] | None = None,
    sentry_args: Sequence[str] = (),
    native_timeout: float = NATIVE_TIMEOUT,
    sentry_timeout: float = SENTRY_TIMEOUT,
) -> Comparison:
    """Run a program natively and under the sentry; compare the results.

    ``program_or_source``: an executable, a ``.c``/``.S`` file or C source
    text (built with ``toolchain``: ``glibc``, ``musl``, ``musl-pie``).
    ``args``: the program's arguments (argv[0] is the program's absolute
    path on both sides). ``stdin``: bytes fed to both (default: /dev/null).
    ``env``: the guest environment on both sides (default
    :data:`DEFAULT_ENV`). ``cwd``: the working directory of both runs; by
    default each side gets its own fresh empty temporary directory, so
    files one run creates cannot leak into the other.
    ``runner``: the sentry command prefix (default :func:`default_runner`).
    ``sentry_args``: extra runner options placed before the program
    (e.g. ``["--root", "/some/dir"]``).
    """
    program = _resolve_program(program_or_source, toolchain)
    args = [str(a) for a in args]
    guest_env = dict(DEFAULT_ENV if env is None else env)
    runner = list(runner) if runner is not None else default_runner()
    ignore = frozenset(ignore_syscalls)

    strace = None
    if compare_syscalls:
        strace = shutil.which("strace")
        if strace is None:
            raise HarnessError("strace not found; run scripts/setup to install it")

    with tempfile.TemporaryDirectory(prefix="sentry-diff-") as tmp_name:
        tmp = Path(tmp_name)
        dirs = {}
        for side in ("native", "sentry"):
            if cwd is None:
                dirs[side] = tmp / f"{side}-cwd"
                dirs[side].mkdir()
            else:
                dirs[side] = Path(cwd)

        native_trace = tmp / "native.trace" if compare_syscalls else None
        native_argv = [str(program), *args]
        if strace is not None and native_trace is not None:
            native_argv = [strace, "-f", "-qq", "-o", str(native_trace), *native_argv]
        native = _run(
            "native",
            native_argv,
            env=guest_env,
            stdin=stdin,
            cwd=dirs["native"],
            timeout=native_timeout,
            trace_file=native_trace,
            ignore=ignore,
        )
        if compare_syscalls and native.trace is None:
            raise HarnessError(
                "strace wrote no trace (is ptrace allowed here?):\n" + native.stderr_text[-2000:]
            )

        sentry_trace = tmp / "sentry.trace" if compare_syscalls else None
        sentry_argv = [*runner]
        for name, value in guest_env.items():
            sentry_argv += ["--env", f"{name}={value}"]
        if sentry_trace is not None:
            sentry_argv += ["--strace", "--trace-file", str(sentry_trace)]
        sentry_argv += [*sentry_args, str(program), *args]
        sentry = _run(
            "sentry",
            sentry_argv,
            env=runner_env(runner, guest_env),
            stdin=stdin,
            cwd=dirs["sentry"],
            timeout=sentry_timeout,
            trace_file=sentry_trace,
            ignore=ignore,
        )

    compared = ["status"]
    if compare_stdout:
        compared.append("stdout")
    if compare_stderr:
        compared.append("stderr")
    if compare_syscalls:
        compared.append("syscalls")

    mismatches: list[str] = []
    sections: list[str] = []
    if native.status != sentry.status:
        mismatches.append("status")
        sections.append(
            f"exit status differs: native {native.status_text}, sentry {sentry.status_text}"
        )
    if compare_stdout and native.stdout != sentry.stdout:
        mismatches.append("stdout")
        sections.append(line_diff("stdout", _lines(native.stdout), _lines(sentry.stdout)))
    if compare_stderr and native.stderr != sentry.stderr:
        mismatches.append("stderr")
        sections.append(line_diff("stderr", _lines(native.stderr), _lines(sentry.stderr)))
    if compare_syscalls:
        if sentry.syscalls is None:
            mismatches.append("syscalls")
            sections.append("syscalls: the sentry wrote no trace file")
        elif native.syscalls != sentry.syscalls:
            mismatches.append("syscalls")
            sections.append(line_diff("syscalls", native.syscalls or [], sentry.syscalls))
    if mismatches and not compare_stderr and sentry.stderr.strip():
        sections.append("sentry stderr (not compared):\n" + _tail(sentry.stderr))

    return Comparison(
        program=program,
        args=args,
        native=native,
        sentry=sentry,
        compared=tuple(compared),
        mismatches=mismatches,
        diff="\n".join(sections),
    )


class Differential:
    """What the ``differential`` pytest fixture hands a test.

    ``compare(...)`` is :func:`compare` with this object's runner;
    ``check(...)`` builds a source with each toolchain, compares, and fails
    the test with the readable diff when any run disagrees.
    """

    def __init__(self, runner: Sequence[str] | None = None) -> None:
        self.runner = list(runner) if runner is not None else None

    def compare(
        self, program_or_source: str | os.PathLike[str], args: Sequence[str] = (), **kwargs: Any
    ) -> Comparison:
        kwargs.setdefault("runner", self.runner)
        return compare(program_or_source, args, **kwargs)

    def check(
        self,
        program_or_source: str | os.PathLike[str],
        args: Sequence[str] = (),
        *,
        toolchains: Sequence[Toolchain] = ("glibc", "musl"),
        **kwargs: Any,
    ) -> list[Comparison]:
        is_source = (
            isinstance(program_or_source, str)
            and ("\n" in program_or_source or "{" in program_or_source)
        ) or Path(program_or_source).suffix in (".c", ".S", ".s")
        results = [
            self.compare(program_or_source, args, toolchain=tc, **kwargs)
            for tc in (toolchains if is_source else toolchains[:1])
        ]
        bad = [(tc, c) for tc, c in zip(toolchains, results, strict=False) if not c.agree]
        if bad:
            text = "\n\n".join((f"[{tc}] " if is_source else "") + c.report() for tc, c in bad)
            self._fail(text)
        return results

    def _fail(self, message: str) -> None:
        raise DisagreementError(message)
