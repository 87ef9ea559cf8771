"""gVisor's syscall tests, case by case, natively and under the sentry
(see ``sentry.testing.conformance``).

By default this is the CI-sized regression check: the binaries in
:data:`sentry.testing.conformance.CI_BINARIES`, each case compared with its native run. A case listed
in ``baseline.txt`` passed under the sentry when the list was made: if it
still passes natively it must pass under the sentry (a regression fails
the suite). Other natively passing cases are expected failures (xfail),
so one that starts passing shows as XPASS: add it to the baseline
(``scripts/conformance --only ... --update-baseline``).

``scripts/conformance`` runs this module over every built binary with
``SENTRY_CONFORMANCE=all`` and writes each result as a JSON line to
``SENTRY_CONFORMANCE_RESULTS``; the table is made from those.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sentry.testing import conformance as cf

HERE = Path(__file__).resolve().parent
CI_BINARIES = cf.CI_BINARIES

FULL = os.environ.get("SENTRY_CONFORMANCE") == "all"
RESULTS = os.environ.get("SENTRY_CONFORMANCE_RESULTS")


def _baseline() -> set[tuple[str, str]]:
    path = HERE / "baseline.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return {(b, c) for b, c in (line.split() for line in lines if line.strip() and not line.startswith("#"))}


def _selected() -> list[Path]:
    binaries = cf.built_binaries()
    only = [n if n.endswith("_test") else f"{n}_test" for n in os.environ.get("SENTRY_CONFORMANCE_ONLY", "").split(",")
            if n]
    wanted = only or (None if FULL else list(CI_BINARIES))
    return [b for b in binaries if wanted is None or b.name in wanted]


def _params() -> list[Any]:
    binaries = _selected()
    if not binaries:
        why = ("gVisor's suite is not built here (scripts/setup builds the CI selection when the kit "
               f"{cf.default_kit()} and Debian's libgtest-dev/libgmock-dev/libabsl-dev are present)")
        return [pytest.param(None, "", id="not-built", marks=pytest.mark.skip(reason=why))]
    baseline = _baseline()
    params = []
    for binary in binaries:
        for case in cf.list_cases(binary):
            marks = []
            if not FULL and (binary.name, case) not in baseline:
                marks.append(pytest.mark.xfail(reason="not yet passing under the sentry", strict=False))
            params.append(pytest.param(binary, case, id=f"{binary.name}:{case}", marks=marks))
    return params


@pytest.mark.parametrize(("binary", "case"), _params())
def test_case(binary: Path, case: str) -> None:
    result = cf.compare_case(binary, case)
    if RESULTS:
        with open(RESULTS, "a") as f:  # one short append per case: whole lines from every worker
            f.write(result.to_json() + "\n")
    if result.native.outcome != cf.PASSED:
        pytest.skip(f"{result.native.outcome} natively")
    assert result.sentry is not None
    assert result.sentry.outcome == cf.PASSED, (
        f"{result.sentry.outcome} under the sentry (unimplemented: {result.sentry.unimplemented})\n"
        f"{result.sentry.tail}")
