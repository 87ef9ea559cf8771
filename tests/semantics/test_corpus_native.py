"""The semantics corpus natively (no sentry needed): every program builds
with glibc and musl, exits 0, prints only well-formed check lines with
unique names, prints the same thing on every run (no addresses, pids or
times leak into the output) and the same thing under both toolchains (all
checks use raw syscalls). Also validates divergences.toml."""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache

import pytest
from semantics_corpus import HERE, TOOLCHAINS, check_name, corpus_programs, load_divergences

from sentry.testing.build import build_c
from sentry.testing.harness import DEFAULT_ENV

MIN_CHECKS = 80


@cache
def run_native(program: str, toolchain: str, attempt: int) -> tuple[int, str, str]:
    exe = build_c(HERE / f"{program}.c", toolchain)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="corpus-") as cwd:
        proc = subprocess.run(
            [str(exe)],
            cwd=cwd,
            env=dict(DEFAULT_ENV),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
    return (
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )


@pytest.mark.parametrize("toolchain", TOOLCHAINS)
@pytest.mark.parametrize("program", corpus_programs())
def test_builds_runs_and_is_deterministic(program: str, toolchain: str) -> None:
    status, out, err = run_native(program, toolchain, 0)
    assert status == 0, f"{program} [{toolchain}] exited {status}\n{out}\n{err}"
    assert err == "", f"{program} wrote to stderr: {err}"
    lines = out.splitlines()
    assert lines, f"{program} printed nothing"
    bad = [line for line in lines if check_name(line) is None]
    assert not bad, f"malformed check lines in {program}: {bad[:5]}"
    names = [check_name(line) for line in lines]
    dups = sorted({n for n in names if names.count(n) > 1 and n})
    assert not dups, f"duplicate check names in {program}: {dups}"
    again = run_native(program, toolchain, 1)
    assert again == (status, out, err), f"{program} [{toolchain}] output differs between runs"


@pytest.mark.parametrize("program", corpus_programs())
def test_toolchains_agree_natively(program: str) -> None:
    outs = {tc: run_native(program, tc, 0) for tc in TOOLCHAINS}
    assert outs["glibc"] == outs["musl"], f"{program}: glibc and musl outputs differ natively"


def test_corpus_size() -> None:
    total = sum(len(run_native(p, "musl", 0)[1].splitlines()) for p in corpus_programs())
    assert total >= MIN_CHECKS, f"only {total} checks in the corpus"


def test_divergences_file_is_valid() -> None:
    programs = set(corpus_programs())
    for d in load_divergences():
        assert d.program in programs, f"divergences.toml: no corpus program {d.program!r}"
        if d.check:
            names = {check_name(line) for line in run_native(d.program, "glibc", 0)[1].splitlines()}
            assert d.check in names, f"divergences.toml: {d.program} has no check {d.check!r}"
