#!/usr/bin/env python3
"""Build the guest programs into guests/build/ (cached by content hash).

usage: guests/build.py [--list] [--clean] [--quiet] [NAME ...]

Without NAME, builds every guest listed in sentry/testing/guests.py. Prints
one line per guest that was (re)built and nothing when all are up to date.
The compiled outputs are cached in guests/build/cache (or
$SENTRY_BUILD_CACHE) under a hash of source + compiler command, so reruns
are instant. Works from any directory and without an installed package.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sentry.testing.build import BuildError  # noqa: E402
from sentry.testing.guests import GUESTS, build_guest, output_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="guests/build.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help="guests to build (default: all)")
    ap.add_argument("--list", action="store_true", help="list the guests and exit")
    ap.add_argument("--clean", action="store_true", help="delete guests/build first")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args(argv)

    if args.list:
        for spec in GUESTS.values():
            print(f"{spec.name:22} {spec.toolchain:9} {spec.source:24} {spec.description}")
        return 0
    unknown = [n for n in args.names if n not in GUESTS]
    if unknown:
        ap.error(f"unknown guest(s): {', '.join(unknown)} (see --list)")
    if args.clean:
        shutil.rmtree(output_dir(), ignore_errors=True)
    failed = 0
    for name in args.names or list(GUESTS):
        try:
            build_guest(name, verbose=not args.quiet)
        except BuildError as e:
            print(f"guests/build.py: {name}: {e}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
