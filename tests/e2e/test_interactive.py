"""Interactive shells in a real terminal (issue 14): tmux runs the shell
natively and under run-guest, the same keystrokes go to both (send-keys)
and the screens (capture-pane) must match, job control included: a
foreground job stopped with ^Z, listed, resumed in the foreground,
interrupted with ^C. run-guest must leave the host
terminal's settings as it found them (``stty -g`` before and after).

Each step waits, polling the screen, until the text the step produces
appears (or the generous deadline passes and the test fails).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from sentry.testing.harness import default_runner, runner_env

BASH = "/usr/bin/bash-static"
BUSYBOX = "/bin/busybox"
ZSH = "/bin/zsh-static"
DEADLINE = 120.0

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/setup)")

PS1 = "PROMPT> "
P = PS1.rstrip()  # capture-pane drops trailing blanks

# The job says when it runs in the foreground: "started" after the shell
# gave it the terminal, "cont" once SIGCONT resumed it (the shell gives
# it the terminal before continuing it), so no keystroke races the shell.
JOB = "busybox sh -c 'trap \"echo cont\" CONT; echo started; while :; do sleep 1; done'"

# (keys for send-keys, text whose n-th appearance ends the step)
SESSION = [
    ([JOB, "Enter"], "started\n", 1),
    (["C-z"], P, 2),
    (["jobs", "Enter"], P, 3),
    (["fg", "Enter"], "cont\n", 1),
    (["C-c"], P, 4),
    (["echo $?", "Enter"], P, 5),
    (["exit", "Enter"], "exit=", 1),
]


SOCKET = f"sentry-test-{uuid.uuid4().hex[:8]}"  # a tmux server of our own


def _tmux(*args: str) -> str:
    p = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False)
    if p.returncode:
        raise AssertionError(f"tmux {args[0]} failed: {p.stderr}")
    return p.stdout


def _screen(name: str) -> str:
    return _tmux("capture-pane", "-p", "-t", name)


def _wait_for(name: str, text: str, count: int) -> str:
    end = time.monotonic() + DEADLINE
    while True:
        screen = _screen(name)
        if screen.count(text) >= count:
            return screen
        if time.monotonic() > end:
            raise AssertionError(f"{text!r} x{count} never appeared:\n{screen}")
        time.sleep(0.2)


def run_session(cmd: list[str], tmp: Path, env: dict[str, str]) -> tuple[str, str, str]:
    """The final screen of ``cmd`` driven through SESSION in tmux, and the
    host terminal's ``stty -g`` before and after."""
    name = f"sentry-{uuid.uuid4().hex[:8]}"
    script = tmp / f"{name}.sh"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    script.write_text(
        f"cd {shlex.quote(str(tmp))}\n"
        f"stty -g > {name}.before\n"
        f"env -i {exports} {shlex.join(cmd)}\n"
        f"echo exit=$?\n"
        f"stty -g > {name}.after\n"
        "sleep 600\n"
    )
    _tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", f"sh {shlex.quote(str(script))}")
    try:
        _wait_for(name, P, 1)
        screen = ""
        for keys, text, count in SESSION:
            _tmux("send-keys", "-t", name, *keys)
            screen = _wait_for(name, text, count)
        _wait_for(name, "exit=", 1)
        end = time.monotonic() + DEADLINE
        while not (tmp / f"{name}.after").exists() or not (tmp / f"{name}.after").read_text():
            assert time.monotonic() < end, "stty after never ran"
            time.sleep(0.2)
        screen = _screen(name)
        return screen, (tmp / f"{name}.before").read_text(), (tmp / f"{name}.after").read_text()
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", name], capture_output=True, check=False)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([BASH, "--norc", "--noprofile", "-i"], id="bash-static",
                     marks=pytest.mark.skipif(not Path(BASH).exists(), reason="bash-static not installed")),
        pytest.param([ZSH, "-f"], id="zsh-static",
                     marks=pytest.mark.skipif(not Path(ZSH).exists(), reason="zsh-static not installed")),
        pytest.param([BUSYBOX, "sh"], id="busybox-sh"),
    ],
)
def test_job_control_session_matches_native(argv: list[str], tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "TERM": "dumb", "PS1": PS1, "LC_ALL": "C"}
    native, _, _ = run_session(argv, tmp_path, env)
    runner = default_runner()
    guest_env = [f"--env={k}={v}" for k, v in env.items()]
    renv = runner_env(runner, env)
    cmd = ["env", f"PYTHONPATH={renv.get('PYTHONPATH', '')}", *runner, *guest_env, *argv]
    sentry, before, after = run_session(cmd, tmp_path, {"PATH": env["PATH"], "HOME": "/"})
    assert sentry == native
    assert before == after
