"""gVisor's syscall test suite as an oracle: build it, list its cases, run
one case natively and under the sentry, classify what happened.

The suite (``test/syscalls/linux/*.cc`` of google/gvisor) stays outside
this project: :func:`default_kit` finds the build kit the team shares
(``../shared/gvisor-tests`` from the project root: the sources, a reference
build script and its stubs), and ``--gvisor-src`` points it at a checkout
of one's own. Binaries are built into a cache (:func:`default_build_dir`),
object files reused between builds.

A case is run alone (``--gtest_filter=Suite.Case``) in a fresh scratch
directory, with ``TEST_TMPDIR`` there, natively and as ``run-guest
BINARY``; its outcome is read from gtest's text lines, which survive a
killed run (its JSON output would not). Only cases that pass natively
count. ``scripts/conformance`` runs the whole suite through pytest
(``tests/conformance``) and writes ``CONFORMANCE.md``; the same pytest
module is the CI-sized regression check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

CI_BINARIES = ("read_test", "write_test", "lseek_test", "dup_test", "getcpu_test", "uidgid_test")
"""The CI-sized selection: small binaries that build and run in well under
five minutes (tests/conformance checks them in ./scripts/test)."""

NATIVE_TIMEOUT = 60.0
SENTRY_TIMEOUT = 180.0

PASSED, FAILED, SKIPPED, CRASHED, HUNG = "passed", "failed", "skipped", "crashed", "hung"

_UNIMPLEMENTED = re.compile(r"unimplemented syscall name=(\S+)")
_CASE_LINE = re.compile(r"^\[\s+(OK|FAILED|SKIPPED)\s+\] (\S+)")


def default_kit() -> Path:
    """The shared build kit (``$SENTRY_GVISOR_KIT`` overrides)."""
    return Path(os.environ.get("SENTRY_GVISOR_KIT", PROJECT.parent / "shared" / "gvisor-tests"))


def default_build_dir() -> Path:
    """Where built binaries live (``$SENTRY_GVISOR_BUILD`` overrides)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("SENTRY_GVISOR_BUILD", cache / "sentry-conformance" / "build"))


def kit_available(kit: Path | None = None) -> bool:
    """Whether the kit (its build script and sources) is present."""
    kit = kit or default_kit()
    return (kit / "build.sh").is_file()


def build(names: list[str], *, kit: Path | None = None, build_dir: Path | None = None,
          gvisor_src: Path | None = None, jobs: int | None = None, quiet: bool = True) -> list[str]:
    """Build the ``<name>_test`` binaries (all of the kit's list when
    ``names`` is empty) with the kit's script; returns the names that did
    not build. The script's make is incremental: nothing is rebuilt when
    up to date."""
    kit = kit or default_kit()
    build_dir = build_dir or default_build_dir()
    env = {**os.environ, "GVISOR_BUILD": str(build_dir), "JOBS": str(jobs or os.cpu_count() or 1)}
    if gvisor_src is not None:
        env["GVISOR_SRC"] = str(gvisor_src)
    targets = [n if n.endswith("_test") else f"{n}_test" for n in names]
    out = subprocess.DEVNULL if quiet else None
    subprocess.run(["bash", str(kit / "build.sh"), *targets], env=env, stdout=out, stderr=out, check=False)
    return [t for t in targets if not (build_dir / "bin" / t).exists()] if targets else []


def built_binaries(build_dir: Path | None = None) -> list[Path]:
    """Every built test binary, sorted by name."""
    bin_dir = (build_dir or default_build_dir()) / "bin"
    return sorted(p for p in bin_dir.glob("*_test") if os.access(p, os.X_OK)) if bin_dir.is_dir() else []


def list_cases(binary: Path) -> list[str]:
    """``Suite.Case`` names, as ``--gtest_list_tests`` prints them
    (parameterised cases keep their ``/N`` suffix; comments dropped)."""
    r = subprocess.run([str(binary), "--gtest_list_tests"], capture_output=True, text=True, timeout=60,
                       check=False)
    cases, suite = [], ""
    for line in r.stdout.splitlines():
        if not line.strip() or line.startswith("Running main()"):
            continue
        if not line.startswith(" "):
            suite = line.split("#")[0].strip()
        else:
            cases.append(suite + line.split("#")[0].strip())
    return cases


@dataclass
class CaseRun:
    """One run of one case: its outcome, exit status (None when hung),
    the syscalls the sentry reported unimplemented, and the output tail."""

    outcome: str
    status: int | None
    unimplemented: list[str] = field(default_factory=list)
    tail: str = ""


def classify(case: str, status: int | None, output: str) -> str:
    """The case's outcome from its gtest lines and exit status: a gtest
    verdict line wins; without one, a timeout is hung and anything else
    crashed (an abort, a signal, a sentry death)."""
    if status is None:
        return HUNG
    verdict = None
    for line in output.splitlines():
        m = _CASE_LINE.match(line)
        if m and m.group(2) == case:
            verdict = m.group(1)
    if verdict == "OK" and status == 0:
        return PASSED
    if verdict == "SKIPPED" and status == 0:
        return SKIPPED
    if verdict == "FAILED":
        return FAILED
    return CRASHED


def run_case(binary: Path, case: str, *, under_sentry: bool, timeout: float | None = None) -> CaseRun:
    """Run ``case`` of ``binary`` alone in a fresh scratch directory (its
    working directory and ``TEST_TMPDIR``), with the same small
    environment natively and in the guest."""
    limit = timeout or (SENTRY_TIMEOUT if under_sentry else NATIVE_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="gvisor-case-") as scratch:
        guest_env = {"LC_ALL": "C", "TEST_TMPDIR": scratch}
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), **guest_env}
        argv = [str(binary), f"--gtest_filter={case}"]
        if under_sentry:
            options = [f"--env={k}={v}" for k, v in guest_env.items()]
            argv = [sys.executable, "-m", "sentry.cli", "--log-level", "warning", *options, *argv]
            env["PYTHONPATH"] = os.environ.get("PYTHONPATH", str(PROJECT))
        try:
            r = subprocess.run(argv, capture_output=True, timeout=limit, cwd=scratch, env=env, check=False)
            status: int | None = r.returncode
            out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            status = None
            out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
    unimplemented = sorted(set(_UNIMPLEMENTED.findall(out))) if under_sentry else []
    return CaseRun(classify(case, status, out), status, unimplemented, "\n".join(out.splitlines()[-15:]))


@dataclass
class CaseResult:
    """A case's native and sentry runs, as the JSON results hold them."""

    binary: str
    case: str
    native: CaseRun
    sentry: CaseRun | None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> CaseResult:
        d = json.loads(line)
        sentry = CaseRun(**d["sentry"]) if d["sentry"] is not None else None
        return cls(d["binary"], d["case"], CaseRun(**d["native"]), sentry)


def compare_case(binary: Path, case: str) -> CaseResult:
    """The native run, then (only when it passed) the sentry run."""
    native = run_case(binary, case, under_sentry=False)
    sentry = run_case(binary, case, under_sentry=True) if native.outcome == PASSED else None
    return CaseResult(binary.name, case, native, sentry)
