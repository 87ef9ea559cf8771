"""Test support: building guest programs and differential testing.

* :mod:`sentry.testing.build` compiles C or assembly sources into static
  x86-64 executables (glibc, musl, static-pie musl, or no libc), cached by
  content hash so reruns are instant.
* :mod:`sentry.testing.guests` is the table of the project's guest programs
  (``guests/*.c``, ``guests/bench/*.c``) and builds them on demand.
* :mod:`sentry.testing.harness` runs one program natively and under the
  sentry and compares exit status, stdout, and optionally stderr and the
  syscall sequence.
* :mod:`sentry.testing.plugin` is the pytest plugin (fixtures
  ``differential``, ``guest`` and ``build_c``; the ``differential`` marker).

Nothing here is imported by the sentry itself; importing this package does
not import pytest.
"""

from sentry.testing.build import BuildError, Toolchain, build_c
from sentry.testing.harness import Comparison, RunResult, compare
from sentry.testing.strace_compare import normalize_strace

__all__ = [
    "BuildError",
    "Comparison",
    "RunResult",
    "Toolchain",
    "build_c",
    "compare",
    "normalize_strace",
]
