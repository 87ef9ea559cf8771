"""The semantics corpus, differentially: each tests/semantics/*.c program is
built with glibc and with musl, run natively and under the sentry, and the
exit status and stdout (one line per check) must be identical.

Known divergences live in divergences.toml and become
xfail(strict=True, reason=...). These tests need a working run-guest
(marker ``differential``; deselect with ``-m "not differential"``).

To add checks, add a program here that includes check.h and prints one
``name: ret=<value> errno=<NAME>`` line per check (see check.h);
test_corpus_native.py verifies it natively, this module picks it up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from semantics_corpus import (
    HERE,
    TOOLCHAINS,
    Divergence,
    check_name,
    corpus_programs,
    load_divergences,
)

from sentry.testing.harness import Comparison, Differential, line_diff

pytestmark = pytest.mark.differential

DIVERGENCES = load_divergences()

_results: dict[tuple[str, str, tuple[str, ...]], Comparison] = {}


def run(differential: Differential, program: str, toolchain: str) -> Comparison:
    """One native + sentry run per program, toolchain and runner (per worker)."""
    key = (program, toolchain, tuple(differential.runner or ()))
    if key not in _results:
        _results[key] = differential.compare(HERE / f"{program}.c", toolchain=toolchain)
    return _results[key]


def _program_params() -> list[Any]:
    params = []
    for program in corpus_programs():
        for tc in TOOLCHAINS:
            whole = [d for d in DIVERGENCES if d.applies(program, tc) and d.check is None]
            marks = [pytest.mark.xfail(strict=True, reason=d.reason) for d in whole]
            params.append(pytest.param(program, tc, id=f"{program}-{tc}", marks=marks))
    return params


def _check_params() -> list[Any]:
    params = []
    for d in DIVERGENCES:
        if d.check is None:
            continue
        for tc in TOOLCHAINS:
            if d.applies(d.program, tc):
                params.append(
                    pytest.param(
                        d,
                        tc,
                        id=f"{d.program}-{tc}-{d.check}",
                        marks=pytest.mark.xfail(strict=True, reason=d.reason),
                    )
                )
    return params


def _lines_without(stdout: str, skip: set[str]) -> list[str]:
    return [line for line in stdout.splitlines() if check_name(line) not in skip]


@pytest.mark.parametrize(("program", "toolchain"), _program_params())
def test_program(differential: Differential, program: str, toolchain: str) -> None:
    c = run(differential, program, toolchain)
    skip = {d.check for d in DIVERGENCES if d.applies(program, toolchain) and d.check}
    problems = []
    if c.native.status != c.sentry.status:
        problems.append(
            f"exit status differs: native {c.native.status_text}, sentry {c.sentry.status_text}"
        )
    native = _lines_without(c.native.stdout_text, skip)
    sentry = _lines_without(c.sentry.stdout_text, skip)
    if native != sentry:
        problems.append(line_diff("stdout", native, sentry))
    if problems:
        if c.sentry.stderr.strip():
            problems.append("sentry stderr:\n" + c.sentry.stderr_text[-4000:])
        pytest.fail(f"{Path(program).name} [{toolchain}]\n" + "\n".join(problems), pytrace=False)


# Defined only when divergences.toml has per-check entries: an empty
# parametrisation would show up as a skip, and this suite never skips.
@pytest.mark.parametrize(("divergence", "toolchain"), _check_params())
def _test_divergent_check(
    differential: Differential, divergence: Divergence, toolchain: str
) -> None:
    c = run(differential, divergence.program, toolchain)

    def pick(text: str) -> list[str]:
        return [line for line in text.splitlines() if check_name(line) == divergence.check]

    native, sentry = pick(c.native.stdout_text), pick(c.sentry.stdout_text)
    assert native, f"{divergence.check} not printed natively"
    if native != sentry:
        pytest.fail(line_diff("stdout", native, sentry), pytrace=False)


if _check_params():
    test_divergent_check = _test_divergent_check
