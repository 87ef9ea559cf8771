"""Every guest program builds and behaves as specified natively (the
reference behaviour the sentry must reproduce)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.testing.build import elf_kind
from sentry.testing.guests import GUESTS, REPO_ROOT, build_guest

ET_EXEC, ET_DYN = 2, 3


def run(name: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(build_guest(name)), *args], capture_output=True, timeout=60, check=False
    )


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_builds_static(name: str) -> None:
    path = build_guest(name)
    assert path == REPO_ROOT / "guests" / "build" / name
    e_type, interp = elf_kind(path)
    assert not interp, f"{name} has a PT_INTERP"
    assert e_type == (ET_DYN if name == "hello-static-pie" else ET_EXEC)


def test_hello_asm() -> None:
    r = run("hello-asm", "ignored")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello, world\n", b"")


@pytest.mark.parametrize("name", ["hello-musl", "hello-glibc", "hello-static-pie"])
def test_hello_prints_argv(name: str) -> None:
    path = build_guest(name)
    r = run(name, "one", "two words", "")
    assert r.returncode == 0
    assert r.stdout.decode().splitlines() == [
        "hello, world",
        "argc=4",
        f"argv[0]={path}",
        "argv[1]=one",
        "argv[2]=two words",
        "argv[3]=",
    ]


@pytest.mark.parametrize(
    ("arg", "status"), [(None, 0), ("0", 0), ("42", 42), ("255", 255), ("256", 0)]
)
def test_exit_status(arg: str | None, status: int) -> None:
    r = run("exit-status", *([arg] if arg is not None else []))
    assert r.returncode == status


def test_null_deref_dies_of_sigsegv() -> None:
    assert run("null-deref").returncode == -signal.SIGSEGV
    shell = subprocess.run(
        ["sh", "-c", f'"{build_guest("null-deref")}" 2>/dev/null; echo $?'],
        capture_output=True,
        check=False,
    )
    assert shell.stdout.strip() == b"139"


def test_ud2_dies_of_sigill() -> None:
    assert run("ud2").returncode == -signal.SIGILL


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("bench/getpid", ["1000"], "getpid: 1000 calls"),
        ("bench/devnull-write", ["1000"], "devnull-write: 1000 writes of 64 bytes"),
        ("bench/devzero-read", ["3"], "devzero-read: 3 reads of 1048576 bytes"),
        ("bench/pipe-roundtrip", ["65536", "3"], "pipe-roundtrip: 3 round trips of 65536 bytes"),
        (
            "bench/pipe-roundtrip",
            ["1048576", "2"],
            "pipe-roundtrip: 2 round trips of 1048576 bytes",
        ),
        ("bench/mmap-touch", ["8", "2"], "mmap-touch: 4096 pages touched in 2 mappings of 8 MiB"),
        ("bench/cpu-loop", ["1000"], "cpu-loop: 1000 iterations, result "),
    ],
)
def test_bench_guests(name: str, args: list[str], expected: str) -> None:
    r = run(name, *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith(expected)


def test_bench_rejects_bad_count() -> None:
    r = run("bench/getpid", "many")
    assert r.returncode == 2
    assert b"bad count" in r.stderr


def test_build_script_is_quiet_when_up_to_date() -> None:
    script = REPO_ROOT / "guests" / "build.py"
    first = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=Path("/"), check=False
    )
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    listing = subprocess.run(
        [sys.executable, str(script), "--list"], capture_output=True, text=True, check=False
    )
    assert set(GUESTS) == {line.split()[0] for line in listing.stdout.splitlines()}
