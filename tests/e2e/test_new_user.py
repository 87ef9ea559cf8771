"""What a new user tries first (issue 18): a program found along PATH, a
``#!`` script, a writable /tmp and /dev/shm. Each is run natively and
under run-guest and the two are compared; Linux is the oracle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.testing.harness import compare

BUSYBOX = "/bin/busybox"
PYTHON = "/usr/bin/python3"

needs_busybox = pytest.mark.skipif(not Path(BUSYBOX).exists(), reason="scripts/setup installs busybox-static")
needs_python = pytest.mark.skipif(not Path(PYTHON).exists(), reason="needs Debian's python3")


def _run_guest(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sentry.cli", *args], capture_output=True, timeout=120,
                          cwd=cwd, env=env)


def _native(argv: list[str], cwd: Path, path: str) -> subprocess.CompletedProcess[bytes]:
    """``env PATH=... argv`` natively: env(1) looks the name up as execvp."""
    return subprocess.run(["env", "-i", f"PATH={path}", *argv], capture_output=True, timeout=60, cwd=cwd)


@needs_busybox
def test_program_without_slash_is_found_along_path(tmp_path: Path) -> None:
    path = f"/nonexistent:{tmp_path}:/bin"
    argv = ["busybox", "sh", "-c", 'echo "$0 $1"; cat /proc/self/comm', "one"]
    native = _native(argv, tmp_path, path)
    sentry = _run_guest("--env", f"PATH={path}", *argv, cwd=tmp_path)
    assert native.returncode == 0, native.stderr
    assert (sentry.returncode, sentry.stdout) == (native.returncode, native.stdout), sentry.stderr


def test_unknown_command_and_non_executable_match_env_statuses(tmp_path: Path) -> None:
    (tmp_path / "tool").write_text("not executable\n")
    for name in ("no-such-command-here", "tool"):
        native = _native([name], tmp_path, str(tmp_path))
        sentry = _run_guest("--env", f"PATH={tmp_path}", name, cwd=tmp_path)
        assert native.returncode in (126, 127)
        assert sentry.returncode == native.returncode, sentry.stderr
        lines = sentry.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"run-guest: {name}: "), lines


SCRIPT = """#!/bin/sh -e
echo "$0 [$1] [$2] $(cat /proc/$$/comm)"
exit 3
"""


def test_script_runs_like_native(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    c = compare(str(script), ["a", "b c"], cwd=tmp_path)
    assert c.native.status == 3
    assert c.agree, c.report()
    native = subprocess.run(["./script.sh", "x"], capture_output=True, cwd=tmp_path)
    r = _run_guest("./script.sh", "x", cwd=tmp_path)
    assert native.stdout.endswith(b" script.sh\n")  # comm is the script's name
    assert (r.returncode, r.stdout) == (native.returncode, native.stdout), r.stderr


SUBPROCESS = """
import subprocess
r = subprocess.run(["./child.py", "arg"], capture_output=True)
print(r.returncode, r.stdout.decode().strip())
"""
CHILD = "#!/usr/bin/python3 -S\nimport sys\nprint('child', sys.argv[1:])\nsys.exit(5)\n"


@needs_python
def test_python_subprocess_runs_a_script(tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    child.chmod(0o755)
    c = compare(PYTHON, ["-S", "-c", SUBPROCESS], cwd=tmp_path)
    assert c.native.stdout.startswith(b"5 child"), c.native.stdout
    assert c.agree, c.report()


TEMPFILE = """
import os, tempfile
fd, name = tempfile.mkstemp()
os.write(fd, b"x" * 3)
print(os.path.dirname(name), os.path.getsize(name), tempfile.gettempdir())
os.unlink(name)
"""


@needs_python
def test_tempfile_mkstemp_uses_tmp_without_any_option(tmp_path: Path) -> None:
    c = compare(PYTHON, ["-S", "-c", TEMPFILE], cwd=tmp_path)
    assert c.native.stdout == b"/tmp 3 /tmp\n"
    assert c.agree, c.report()


POOL = """
import multiprocessing
with multiprocessing.Pool(2) as pool:
    print(pool.map(abs, range(-4, 4)))
"""


@needs_python
def test_multiprocessing_pool_map(tmp_path: Path) -> None:
    c = compare(PYTHON, ["-S", "-c", POOL], cwd=tmp_path)
    assert c.native.stdout == b"[4, 3, 2, 1, 0, 1, 2, 3]\n"
    assert c.agree, c.report()


@needs_busybox
def test_private_tmp_shows_host_files_read_only_and_discards_new_ones(tmp_path: Path) -> None:
    host_file = tmp_path / "host.txt"
    host_file.write_text("host\n")
    work = Path.home() / ".cache" / "sentry-test-cwd"  # a working directory outside /tmp
    work.mkdir(parents=True, exist_ok=True)
    scratch_parent = tmp_path / "scratch"
    scratch_parent.mkdir()
    made = f"/tmp/made-by-guest-{os.getpid()}"
    script = (f"cat {host_file}; echo new > {made}; cat {made}; ls /dev/shm /tmp | grep -c made-by-guest; "
              f"echo x >> {host_file} || echo refused; rm {host_file} || echo refused; "
              f"echo s > /dev/shm/seg && cat /dev/shm/seg")
    env = {**os.environ, "TMPDIR": str(scratch_parent)}
    r = _run_guest(BUSYBOX, "sh", "-c", script, cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"host\nnew\n1\nrefused\nrefused\ns\n"
    assert r.stderr.count(b"Read-only file system") == 2, r.stderr
    assert host_file.read_text() == "host\n"
    assert not Path(made).exists()
    assert list(scratch_parent.iterdir()) == []  # the private /tmp and /dev/shm are gone


def test_help_states_the_private_tmp() -> None:
    out = _run_guest("--help").stdout.decode()
    assert "/tmp" in out and "/dev/shm" in out and "PATH" in out


MAKEFILE = """\
all: out.txt
\t@echo done $$(cat out.txt)
out.txt: in.txt
\techo building $@
\ttr a-z A-Z < in.txt > $@
"""


@pytest.mark.skipif(not Path("/usr/bin/make").exists(), reason="needs Debian's make")
def test_make_builds_like_native(tmp_path: Path) -> None:
    outputs = []
    for side in ("native", "sentry"):
        work = tmp_path / side
        work.mkdir()
        (work / "Makefile").write_text(MAKEFILE)
        (work / "in.txt").write_text("hello\n")
        if side == "native":
            r = _native(["make"], work, "/usr/bin:/bin")
        else:
            r = _run_guest("--env", "PATH=/usr/bin:/bin", "make", cwd=work)
        outputs.append((r.returncode, r.stdout, (work / "out.txt").read_text()))
    assert outputs[0][0] == 0 and outputs[0][2] == "HELLO\n"
    assert outputs[1] == outputs[0]


def _bb(*argv: str) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    native = subprocess.run([BUSYBOX, *argv], capture_output=True, timeout=60)
    return native, _run_guest(BUSYBOX, *argv)


@needs_busybox
def test_df_of_root_names_the_same_file_system_as_native() -> None:
    native, sentry = _bb("df", "/")
    assert native.returncode == sentry.returncode == 0, sentry.stderr
    n, s = native.stdout.decode().splitlines(), sentry.stdout.decode().splitlines()
    assert n[0] == s[0]
    # Filesystem, 1K-blocks and mount point agree; used/available move with the disk.
    assert (n[1].split()[:2], n[1].split()[-1]) == (s[1].split()[:2], s[1].split()[-1])


@needs_busybox
def test_free_reports_the_guest_memory() -> None:
    native, sentry = _bb("free")
    assert sentry.returncode == 0 and sentry.stderr == b""
    n, s = native.stdout.decode().splitlines(), sentry.stdout.decode().splitlines()
    assert n[0].split() == s[0].split()
    total, used, free = (int(x) for x in s[1].split()[1:4])
    assert total == int(n[1].split()[1])  # the guest's memory is the host's MemTotal
    assert 0 < used < total and used + free == total


@needs_busybox
def test_uptime_prints_what_native_prints_in_shape() -> None:
    import re

    shape = re.compile(r"^ \d\d:\d\d:\d\d up .+, +\d+ users?, +load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$")
    native, sentry = _bb("uptime")
    assert shape.match(native.stdout.decode().rstrip("\n")), native.stdout
    assert shape.match(sentry.stdout.decode().rstrip("\n")), sentry.stdout


CPU_VIEWS = """
import os
online = open("/sys/devices/system/cpu/online").read().strip()
stat_cpus = sum(1 for l in open("/proc/stat") if l[:3] == "cpu" and l[3].isdigit())
info_cpus = sum(1 for l in open("/proc/cpuinfo") if l.startswith("processor"))
print(os.cpu_count(), len(os.sched_getaffinity(0)), online, stat_cpus, info_cpus)
"""


@needs_python
@needs_busybox
def test_every_view_of_the_cpu_count_says_one_virtual_cpu() -> None:
    r = _run_guest(PYTHON, "-S", "-c", CPU_VIEWS)
    assert r.stdout == b"1 1 0 1 1\n", r.stderr
    assert _run_guest(BUSYBOX, "nproc").stdout == b"1\n"
    # Natively the same program agrees with itself too.
    native = subprocess.run([PYTHON, "-S", "-c", CPU_VIEWS], capture_output=True).stdout.split()
    assert native[0] == native[3] == native[4]


def test_meminfo_keys_are_linux_keys_in_linux_order() -> None:
    native = [line.split(":")[0] for line in Path("/proc/meminfo").read_text().splitlines()]
    ours = [line.split(":")[0] for line in _run_guest("/bin/cat", "/proc/meminfo").stdout.decode().splitlines()]
    assert ours and set(ours) <= set(native)
    assert ours == [k for k in native if k in ours]


@pytest.mark.skipif(not Path("/usr/bin/ls").exists(), reason="needs GNU ls")
def test_gnu_ls_long_listing_matches_native(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "ln").symlink_to("a.txt")
    argv = ["/usr/bin/ls", "-l", "--time-style=+%s", "a.txt", "sub", "ln"]
    native = subprocess.run(argv, capture_output=True, cwd=tmp_path, env={"LC_ALL": "C"})
    sentry = _run_guest("--env", "LC_ALL=C", *argv, cwd=tmp_path)
    assert native.returncode == 0 and native.stderr == b""
    assert (sentry.returncode, sentry.stdout, sentry.stderr) == (0, native.stdout, b"")


XATTR_ESCAPE = """
import os, sys
for target in (sys.argv[1], 0):
    try:
        os.setxattr(target, "user.sentry", b"x")
        print("changed", target)
    except OSError as e:
        print(e.strerror)
"""


@needs_python
def test_xattrs_of_host_files_outside_the_writable_tree_cannot_change(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("v")
    work = tmp_path / "work"
    work.mkdir()
    with open(victim, "rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "sentry.cli", PYTHON, "-S", "-c", XATTR_ESCAPE, str(victim)],
                           stdin=stdin, capture_output=True, cwd=work, timeout=120)
    assert r.stdout == b"Read-only file system\nRead-only file system\n", r.stderr
    assert os.listxattr(victim) == []
