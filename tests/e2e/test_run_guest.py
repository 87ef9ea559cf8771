"""run-guest end to end: the same programs natively and under the sentry
(issue 4's must-shows). Linux is the oracle: nothing here types in an
expected output that the native run does not also produce."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.testing.guests import guest
from sentry.testing.harness import compare

BUSYBOX = "/bin/busybox"

HELLOS = ["hello-asm", "hello-musl", "hello-glibc", "hello-static-pie"]


@pytest.mark.parametrize("name", HELLOS)
def test_hello_matches_native(name: str) -> None:
    c = compare(str(guest(name)), ["one", "two words"])
    assert c.agree, c.report()


@pytest.mark.parametrize("status", ["0", "1", "42", "255"])
def test_exit_status_matches_native(status: str) -> None:
    c = compare(str(guest("exit-status")), [status])
    assert c.agree, c.report()


def _run_guest(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sentry.cli", *args], capture_output=True, timeout=120)


def test_null_dereference_is_sigsegv_with_one_line_message() -> None:
    native = subprocess.run([str(guest("null-deref"))], capture_output=True)
    r = _run_guest(str(guest("null-deref")))
    assert native.returncode == -11
    assert r.returncode == 139
    assert r.stderr.decode() == "run-guest: guest killed by SIGSEGV (address 0x0)\n"


def test_ud2_is_sigill() -> None:
    native = subprocess.run([str(guest("ud2"))], capture_output=True)
    r = _run_guest(str(guest("ud2")))
    assert native.returncode == -4
    assert r.returncode == 132
    assert r.stderr.decode() == "run-guest: guest killed by SIGILL\n"


BUSYBOX_CASES = [
    ["echo", "hello", "world"],
    ["true"],
    ["false"],
    ["uname", "-m"],
    ["basename", "/usr/lib/libc.so.6", ".so.6"],
    ["seq", "1", "5"],
    ["printf", "%s-%d\\n", "x", "42"],
    ["expr", "2", "+", "3"],
    # The shell forks and execs the applets (/proc/self/exe), with pipes between them.
    ["sh", "-c", "echo hello world | tr a-z A-Z | wc -c"],
    ["sh", "-c", "for i in 1 2 3; do echo $i; done | sort -r | head -n 2"],
    ["sh", "-c", "false || echo recovered; exit 3"],
    ["sh", "-c", "x=$(echo sub); echo got $x"],
]


@pytest.mark.skipif(not Path(BUSYBOX).exists(), reason="scripts/setup installs busybox-static")
@pytest.mark.parametrize("argv", BUSYBOX_CASES, ids=lambda a: "-".join(a)[:30])
def test_busybox_applet_matches_native(argv: list[str]) -> None:
    c = compare(BUSYBOX, argv)
    assert c.agree, c.report()


@pytest.mark.skipif(shutil.which("strace") is None, reason="scripts/setup installs strace")
@pytest.mark.parametrize("name", ["hello-musl", "hello-glibc", "hello-static-pie"])
def test_strace_of_hello_matches_native_strace(name: str) -> None:
    c = compare(str(guest(name)), [], compare_syscalls=True)
    assert c.agree, c.report()


def test_malformed_elf_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9)
    bad.chmod(0o755)
    r = _run_guest(str(bad))
    assert r.returncode == 126
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run-guest: "), r.stderr


def test_missing_program_is_one_line_error(tmp_path: Path) -> None:
    r = _run_guest(str(tmp_path / "nope"))
    assert r.returncode == 127
    assert len(r.stderr.decode().splitlines()) == 1


def test_stats_report_the_page_fault_path(tmp_path: Path) -> None:
    """Touching 64 MiB faults once per 2 MiB window and leaves few regions."""
    import json

    out = tmp_path / "stats.json"
    r = _run_guest("--stats", str(out), str(guest("bench/mmap-touch")), "64", "1")
    assert r.returncode == 0, r.stderr
    stats = json.loads(out.read_text())
    assert 32 <= stats["mm"]["faults"] < 64
    assert stats["platform"]["max_regions"] < 64
    assert stats["memfile"]["bytes_in_use"] == 0
    assert stats["internal_errors"] == 0


def test_trace_mm_shows_the_memory_path(tmp_path: Path) -> None:
    """--trace mm: faults, pmas, what Unicorn maps, each syscall copy's
    vma -> pma -> backing memory, and why a fault became SIGSEGV."""
    out = tmp_path / "trace.txt"
    r = _run_guest("--trace", "mm", "--trace-file", str(out), str(guest("null-deref")))
    assert r.returncode == 139
    text = out.read_text()
    for event in ("fault ", "pma created", "map ", "usermem copy"):
        assert event in text, f"no {event!r} event in the trace"
    assert "fault becomes a signal" in text and "no vma covers the address" in text
    assert "-> MemoryFile+" in text  # the backing memory of a copy


DYNAMIC_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
int main(int argc, char **argv) {
    char *p = strdup(argc > 1 ? argv[1] : "none");
    printf("dynamic: %s %zu\n", p, strlen(p));
    void *h = dlopen("libm.so.6", RTLD_NOW);
    printf("dlopen libm: %s\n", h ? "ok" : "failed");
    double (*cosine)(double) = h ? (double (*)(double))dlsym(h, "cos") : NULL;
    printf("cos(0) = %.1f\n", cosine ? cosine(0.0) : -1.0);
    free(p);
    return 4;
}
"""


def test_dynamically_linked_program_matches_native(tmp_path: Path) -> None:
    """PT_INTERP: ld.so is loaded, maps libc and libm from the guest's file
    system (dlopen included) and runs main, as natively."""
    src = tmp_path / "dyn.c"
    src.write_text(DYNAMIC_C)
    prog = tmp_path / "dyn"
    subprocess.run(["gcc", "-O2", "-o", str(prog), str(src), "-ldl"], check=True)
    c = compare(str(prog), ["argument"])
    assert c.agree, c.report()


@pytest.mark.parametrize(
    "argv",
    [["/bin/echo", "hi", "there"], ["/usr/bin/sort", "-r", "/etc/shells"], ["/bin/ls", "-1", "/usr"],
     ["/usr/bin/wc", "-c", "/etc/shells"]],
    ids=lambda a: Path(a[0]).name,
)
def test_host_dynamic_binaries_match_native(argv: list[str]) -> None:
    c = compare(argv[0], argv[1:])
    assert c.agree, c.report()


def test_interpreter_is_resolved_inside_the_root(tmp_path: Path) -> None:
    """Under --root the interpreter is looked up in the guest's tree: a root
    without /lib64 cannot run a dynamic program (one line, status 127)."""
    root = tmp_path / "root"
    root.mkdir()
    prog = root / "echo"
    prog.write_bytes(Path("/bin/echo").read_bytes())
    prog.chmod(0o755)
    r = _run_guest("--root", str(root), str(prog), "hi")
    assert r.returncode == 127
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "interpreter /lib64/ld-linux-x86-64.so.2" in lines[0], r.stderr


PY_SCRIPT = (
    "import json, os, subprocess, sys\n"
    "out = subprocess.run(['/bin/echo', 'from a child'], capture_output=True, text=True).stdout\n"
    "print(json.dumps({'child': out.strip(), 'argv': sys.argv[1:], 'cwd_listed': sorted(os.listdir('.'))}))\n"
)


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3")
def test_host_python_with_subprocess_matches_native() -> None:
    """A dynamically linked CPython that spawns a child (vfork/posix_spawn,
    pipes, poll) prints the same as natively."""
    c = compare("/usr/bin/python3", ["-S", "-c", PY_SCRIPT, "a", "b"])
    assert c.agree, c.report()
