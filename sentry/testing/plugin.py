"""pytest plugin: differential-testing fixtures.

Registered by the repository's ``conftest.py``
(``pytest_plugins = ["sentry.testing.plugin"]``).

Fixtures:

``differential``
    a :class:`sentry.testing.harness.Differential`; ``differential.check(src)``
    builds ``src`` with glibc and musl, runs each natively and under the
    sentry, and fails with a readable diff on any disagreement;
    ``differential.compare(...)`` returns the :class:`Comparison`.
``guest``
    ``guest("hello-musl") -> Path``: a project guest, built if needed.
``build_c``
    :func:`sentry.testing.build.build_c`.

Options: ``--run-guest-cmd "CMD ..."`` replaces the sentry command (same as
``$SENTRY_RUN_GUEST_CMD``). Marker: ``differential`` marks tests that need a
working ``run-guest`` (deselect with ``-m "not differential"``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from sentry.testing import build as _build
from sentry.testing import guests as _guests
from sentry.testing.harness import Differential, default_runner


class PytestDifferential(Differential):
    """A :class:`Differential` that fails tests with ``pytest.fail`` (no traceback noise)."""

    def _fail(self, message: str) -> None:
        pytest.fail(message, pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sentry", "sentry differential testing")
    group.addoption(
        "--run-guest-cmd",
        default=None,
        metavar="CMD",
        help="command prefix that runs a guest under the sentry "
        "(default: $SENTRY_RUN_GUEST_CMD or 'python -m sentry.cli')",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "differential: compares a guest run natively and under the sentry "
        "(needs a working run-guest)",
    )


@pytest.fixture
def differential(request: pytest.FixtureRequest) -> Differential:
    cmd = request.config.getoption("--run-guest-cmd")
    runner = shlex.split(cmd) if cmd else default_runner()
    return PytestDifferential(runner)


@pytest.fixture
def guest() -> Callable[[str], Path]:
    return _guests.guest


@pytest.fixture
def build_c() -> Callable[..., Path]:
    return _build.build_c
