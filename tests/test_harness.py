"""The differential harness itself, checked against a fake runner
(tests/fake_run_guest.py runs the program natively and can inject
divergences), so no sentry is needed."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from sentry.testing import compare, normalize_strace
from sentry.testing.compare_native import main as compare_main
from sentry.testing.harness import (
    RUNNER_ENV,
    Differential,
    DisagreementError,
    default_runner,
    describe_status,
    shell_status,
)
from sentry.testing.plugin import PytestDifferential

FAKE = [sys.executable, str(Path(__file__).with_name("fake_run_guest.py"))]

HELLO = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello\n");
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    return 0;
}
"""

ECHO_ENV_STDIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    const char *v = getenv("HARNESS_VAR");
    printf("HARNESS_VAR=%s\n", v ? v : "(unset)");
    char buf[64];
    ssize_t n = read(0, buf, sizeof buf);
    printf("stdin: %.*s\n", (int)(n > 0 ? n : 0), buf);
    fprintf(stderr, "to stderr\n");
    return 7;
}
"""

CREATE_MARKER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
int main(void) {
    int fd = open("marker", O_CREAT | O_EXCL | O_WRONLY, 0644);
    printf("create marker: %s\n", fd >= 0 ? "ok" : strerror(errno));
    return 0;
}
"""


def test_agree_with_faithful_runner() -> None:
    c = compare(HELLO, ["a", "b c"], runner=FAKE)
    assert c.agree, c.report()
    assert c.diff == ""
    assert c.native.stdout == b"hello\narg 1: a\narg 2: b c\n"
    assert c.report().startswith("agree: ")
    assert c.compared == ("status", "stdout")


@pytest.mark.parametrize("toolchain", ["glibc", "musl", "musl-pie"])
def test_toolchains(toolchain: str) -> None:
    c = compare(HELLO, ["x"], toolchain=toolchain, runner=FAKE)  # type: ignore[arg-type]
    assert c.agree, c.report()


def test_injected_stdout_divergence_names_the_line() -> None:
    c = compare(HELLO, ["a", "b"], runner=[*FAKE, "--alter-line", "2", "arg 1: z"])
    assert not c.agree
    assert c.mismatches == ["stdout"]
    assert "stdout differs at stdout line 2:" in c.diff
    assert "native: 'arg 1: a'" in c.diff
    assert "sentry: 'arg 1: z'" in c.diff
    assert "--- native stdout" in c.diff and "+++ sentry stdout" in c.diff
    assert "-arg 1: a" in c.diff and "+arg 1: z" in c.diff
    assert c.report().startswith("disagree: ")


def test_missing_line_is_reported() -> None:
    c = compare(HELLO, ["a"], runner=[*FAKE, "--alter-line", "2", ""])
    assert not c.agree
    assert "stdout differs at stdout line 2:" in c.diff


def test_exit_status_divergence() -> None:
    c = compare(HELLO, runner=[*FAKE, "--exit-status", "3"])
    assert c.mismatches == ["status"]
    assert "exit status differs: native 0, sentry 3" in c.diff


def test_signal_status_is_shell_style(guest: object) -> None:
    path = guest("null-deref")  # type: ignore[operator]
    c = compare(path, runner=FAKE)
    assert c.agree, c.report()
    assert c.native.status == 139
    assert c.native.status_text == "139 (SIGSEGV)"
    c = compare(guest("ud2"), runner=[*FAKE, "--exit-status", "1"])  # type: ignore[operator]
    assert "exit status differs: native 132 (SIGILL), sentry 1" in c.diff


def test_same_env_stdin_and_stderr_on_both_sides() -> None:
    c = compare(
        ECHO_ENV_STDIN,
        env={"HARNESS_VAR": "value 1", "PATH": "/usr/bin:/bin", "HOME": "/"},
        stdin=b"some input",
        compare_stderr=True,
        runner=FAKE,
    )
    assert c.agree, c.report()
    assert c.native.stdout == b"HARNESS_VAR=value 1\nstdin: some input\n"
    assert c.native.status == 7
    assert c.sentry.stderr == b"to stderr\n"


def test_stderr_divergence_only_when_asked() -> None:
    runner = [*FAKE, "--append-stderr", "extra"]
    assert compare(ECHO_ENV_STDIN, runner=runner).agree
    c = compare(ECHO_ENV_STDIN, runner=runner, compare_stderr=True)
    assert c.mismatches == ["stderr"]
    assert "stderr differs at stderr line 2:" in c.diff
    assert "sentry: 'extra'" in c.diff


def test_each_side_gets_a_fresh_cwd() -> None:
    c = compare(CREATE_MARKER, runner=FAKE)
    assert c.agree, c.report()
    assert c.native.stdout == b"create marker: ok\n"


def test_shared_cwd_when_given(tmp_path: Path) -> None:
    c = compare(CREATE_MARKER, runner=FAKE, cwd=tmp_path)
    assert not c.agree
    assert "create marker: File exists" in c.diff


@pytest.mark.parametrize("toolchain", ["glibc", "musl"])
def test_syscalls_agree_under_strace(toolchain: str) -> None:
    c = compare(HELLO, ["q"], toolchain=toolchain, compare_syscalls=True, runner=FAKE)  # type: ignore[arg-type]
    assert c.agree, c.report()
    assert c.native.syscalls and c.native.syscalls[-1] == "exit_group = ?"
    assert not any(s.startswith("execve") for s in c.native.syscalls)


def test_syscall_divergence_is_caught() -> None:
    c = compare(HELLO, compare_syscalls=True, runner=[*FAKE, "--drop-syscall", "exit_group"])
    assert c.mismatches == ["syscalls"]
    assert "syscalls differs at syscall" in c.diff
    assert "native: 'exit_group = ?'" in c.diff


def test_differential_check_fails_with_the_diff() -> None:
    d = PytestDifferential([*FAKE, "--alter-line", "1", "HELLO"])
    with pytest.raises(pytest.fail.Exception) as info:
        d.check(HELLO)
    text = str(info.value)
    assert "[glibc] disagree" in text and "[musl] disagree" in text
    assert "stdout differs at stdout line 1:" in text
    ok = PytestDifferential(FAKE).check(HELLO, ["1"])
    assert [c.agree for c in ok] == [True, True]


def test_plain_differential_raises_assertion_error() -> None:
    with pytest.raises(DisagreementError, match="stdout line 1"):
        Differential([*FAKE, "--alter-line", "1", "x"]).check(HELLO, toolchains=["musl"])


def test_differential_fixture_agrees(differential: Differential) -> None:
    differential.runner = FAKE
    differential.check(HELLO, ["fixture"])


def test_runner_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RUNNER_ENV, shlex.join([*FAKE, "--alter-line", "1", "from-env"]))
    assert default_runner()[-1] == "from-env"
    c = compare(HELLO)
    assert "sentry: 'from-env'" in c.diff
    monkeypatch.delenv(RUNNER_ENV)
    assert default_runner() == [sys.executable, "-m", "sentry.cli"]


def test_compare_native_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "hello.c"
    src.write_text(HELLO)
    monkeypatch.setenv(RUNNER_ENV, shlex.join(FAKE))
    assert compare_main([str(src), "a"]) == 0
    assert capsys.readouterr().out == "agree\n"
    runner = shlex.join([*FAKE, "--alter-line", "2", "arg 1: b"])
    assert compare_main(["--toolchain", "musl", "--runner", runner, str(src), "a"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("disagree\n")
    assert "stdout differs at stdout line 2:" in out
    assert compare_main([str(tmp_path / "missing")]) == 2


def test_normalize_strace() -> None:
    trace = """\
4321  execve("/x", ["/x"], 0x7ffd /* 3 vars */) = 0
4321  brk(NULL)                         = 0x1e4b000
4321  arch_prctl(ARCH_SET_FS, 0x4c9380) = 0
4321  set_tid_address(0x4c9650)         = 4321
4321  openat(AT_FDCWD, "a = b", O_RDONLY) = -1 ENOENT (No such file or directory)
4321  read(3, "x = 1", 5)               = 5
[pid  4322] mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000
4321  clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=2}) = 0
4321  wait4(-1,  <unfinished ...>
4322  exit_group(0)                     = ?
4321  <... wait4 resumed>NULL, 0, NULL) = 4322
4321  write(1, "hi", 2)                 = -14
4321  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x1000} ---
4321  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4322} ---
4321  +++ killed by SIGSEGV +++
strace: some note
"""
    assert normalize_strace(trace) == [
        "brk = ADDR",
        "arch_prctl = 0",
        "set_tid_address = PID",
        "openat = -1 ENOENT",
        "read = 5",
        "mmap = ADDR",
        "exit_group = ?",
        "wait4 = PID",
        "write = -1 EFAULT",
        "--- SIGSEGV SEGV_ACCERR ---",
        "--- SIGCHLD CLD_EXITED ---",
    ]
    assert normalize_strace("brk(NULL) = 0x1000\n", ignore=()) == ["brk = ADDR"]
    assert normalize_strace('execve("/x") = 0\n', ignore=()) == ["execve = 0"]


def test_status_helpers() -> None:
    assert shell_status(-11) == 139
    assert shell_status(3) == 3
    assert describe_status(139) == "139 (SIGSEGV)"
    assert describe_status(132) == "132 (SIGILL)"
    assert describe_status(0) == "0"
    assert describe_status(None) == "timed out"


def test_timeout_kills_the_whole_runner_tree(tmp_path: Path) -> None:
    """A runner that hangs (with a child of its own) is killed entirely."""
    import subprocess
    import time

    marker = tmp_path / "child-alive"
    script = tmp_path / "hang.sh"
    script.write_text(f'#!/bin/sh\n(sleep 37.25; touch "{marker}") &\nsleep 37.25\n')
    script.chmod(0o755)
    c = compare(HELLO, [], toolchain="musl", runner=[str(script)], sentry_timeout=1)
    assert c.sentry.status is None and not c.agree
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", "sleep 37.25"], capture_output=True, text=True)
    assert left.stdout == "", f"processes left behind: {left.stdout}"
