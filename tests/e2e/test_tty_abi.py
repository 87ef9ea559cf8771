"""Terminal ioctls on a host terminal copy exactly the kernel's structs
(issue 14: bash -i died of stack smashing when TCGETS wrote glibc's 60-byte
termios): tty_abi.c runs with stdin a fresh host pty, natively and under
the sentry, with glibc and musl, and prints the same check lines."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest

from sentry.testing.build import build_c
from sentry.testing.harness import DEFAULT_ENV, default_runner, runner_env

HERE = Path(__file__).resolve().parent


def run_on_pty(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, bool]:
    """Run ``cmd`` with stdin the slave of a new pty: its status, stdout,
    and whether the terminal's modes afterwards are those before."""
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        proc = subprocess.run(cmd, stdin=slave, capture_output=True, env=env, cwd=cwd,
                              timeout=300, check=False)
        same = termios.tcgetattr(slave) == before
    finally:
        os.close(slave)
        os.close(master)
    return proc.returncode, proc.stdout.decode(errors="replace"), same


@pytest.mark.parametrize("toolchain", ["glibc", "musl"])
def test_terminal_ioctls_copy_the_kernel_structs(toolchain: str, tmp_path: Path) -> None:
    exe = str(build_c(HERE / "tty_abi.c", toolchain))  # type: ignore[arg-type]
    native = run_on_pty([exe], dict(DEFAULT_ENV), tmp_path)
    assert native[0] == 0, native
    assert "tcgets_bytes_past_struct: ret=0 errno=0" in native[1]
    runner = default_runner()
    status, out, restored = run_on_pty([*runner, exe], runner_env(runner, DEFAULT_ENV), tmp_path)
    assert (status, out) == native[:2]
    # The guest toggled ECHO and left it so (natively it stays toggled);
    # run-guest puts its terminal back as it found it.
    assert not native[2]
    assert restored


def test_python_pty_spawn_matches_native(tmp_path: Path) -> None:
    """pty.spawn opens /dev/ptmx, runs a shell on the replica as its
    controlling terminal and copies its output: ``tty`` names /dev/pts/N."""
    code = 'import pty; pty.spawn(["/bin/sh", "-c", "tty; echo hi"])'
    cmd = ["/usr/bin/python3", "-c", code]
    native = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, cwd=tmp_path,
                            env=dict(DEFAULT_ENV), timeout=60, check=False)
    runner = default_runner()
    sentry = subprocess.run([*runner, *cmd], stdin=subprocess.DEVNULL, capture_output=True, cwd=tmp_path,
                            env=runner_env(runner, DEFAULT_ENV), timeout=300, check=False)
    assert native.returncode == 0, native
    assert (sentry.returncode, sentry.stderr) == (0, b"")
    pattern = rb"/dev/pts/\d+\r\nhi\r\n"
    assert re.fullmatch(pattern, native.stdout), native.stdout
    assert re.fullmatch(pattern, sentry.stdout), sentry.stdout


def test_host_terminal_restored_after_sigterm(tmp_path: Path) -> None:
    """On a terminal run-guest puts it in raw mode for the guest's own
    line discipline; killed with SIGTERM it still restores the modes."""
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        runner = default_runner()
        proc = subprocess.Popen([*runner, "/bin/busybox", "sh"], stdin=slave, stdout=slave, stderr=slave,
                                cwd=tmp_path, env=runner_env(runner, DEFAULT_ENV), start_new_session=True)
        deadline = time.monotonic() + 120
        while termios.tcgetattr(slave) == before:
            assert time.monotonic() < deadline, "run-guest never switched the terminal to raw mode"
            time.sleep(0.05)
        proc.terminate()
        assert proc.wait(timeout=120) == -signal.SIGTERM
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(slave)
        os.close(master)
