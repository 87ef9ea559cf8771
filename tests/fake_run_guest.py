#!/usr/bin/env python3
"""A stand-in for ``run-guest`` for the harness's own tests (no sentry needed).

It accepts run-guest's options (``--env NAME=VALUE``, ``--strace``,
``--trace-file FILE``, ``--root DIR``), runs PROGRAM natively with exactly
the ``--env`` environment (under ``strace -f`` when ``--strace`` is given),
and exits with the program's status (128+signal after a fatal signal), like
run-guest. Extra options inject divergences:

  --alter-line N TEXT    replace stdout line N (1-based) with TEXT
  --append-stderr TEXT   add a line to stderr
  --exit-status N        exit with N instead of the program's status
  --drop-syscall NAME    remove the first NAME(...) line from the trace
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--trace-file")
    ap.add_argument("--root")
    ap.add_argument("--alter-line", nargs=2, action="append", default=[])
    ap.add_argument("--append-stderr")
    ap.add_argument("--exit-status", type=int)
    ap.add_argument("--drop-syscall", action="append", default=[])
    ap.add_argument("program")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    ns = ap.parse_args()

    env = dict(item.split("=", 1) for item in ns.env)
    cmd = [ns.program, *ns.args]
    if ns.strace:
        cmd = ["strace", "-f", "-qq", "-o", ns.trace_file or "/dev/stderr", *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, check=False)

    lines = proc.stdout.split(b"\n")
    for n, text in ns.alter_line:
        lines[int(n) - 1] = text.encode()
    sys.stdout.buffer.write(b"\n".join(lines))
    sys.stderr.buffer.write(proc.stderr)
    if ns.append_stderr:
        sys.stderr.buffer.write(ns.append_stderr.encode() + b"\n")

    if ns.trace_file and ns.drop_syscall:
        with open(ns.trace_file) as f:
            trace = f.read().splitlines(keepends=True)
        for name in ns.drop_syscall:
            pat = re.compile(rf"^(\d+\s+)?{re.escape(name)}\(")
            for i, line in enumerate(trace):
                if pat.match(line):
                    del trace[i]
                    break
        with open(ns.trace_file, "w") as f:
            f.writelines(trace)

    if ns.exit_status is not None:
        return ns.exit_status
    return 128 - proc.returncode if proc.returncode < 0 else proc.returncode


if __name__ == "__main__":
    sys.exit(main())
