"""Sandbox escape attempts under ``run-guest --root``: none may read,
create, modify or move a host file outside the root.

Layout per test (``tmp``)::

    outside/secret           "HOST SECRET"  (must stay unreachable)
    root/                    the guest's /
        file                 "inside file"
        sub/                 a directory to start relative walks from
        outside/secret       "decoy"        (what clamped walks find)
        abs -> <tmp>/outside/secret        (absolute link out)
        absdir -> <tmp>/outside
        sub/up -> ../../outside/secret     (relative link climbing out)
        sub/updir -> ../../..

A host process following ``sub/up`` would reach the secret; the sentry
resolves every link inside the root, where ``..`` stops at ``/``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from files_e2e_support import run_sentry, sentry_cmd, snapshot

from sentry.testing.build import build_c

pytestmark = pytest.mark.differential

SECRET = "HOST SECRET"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def escape_guest() -> Path:
    return build_c(HERE / "escape.c", "musl")


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text(SECRET + "\n")
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "outside" / "secret").write_text("decoy\n")
    (root / "file").write_text("inside file\n")
    os.symlink(str(outside / "secret"), root / "abs")
    os.symlink(str(outside), root / "absdir")
    os.symlink("../../outside/secret", root / "sub" / "up")
    os.symlink("../../..", root / "sub" / "updir")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("self", root / "self")
    os.symlink("file", root / "l0")
    for i in range(1, 41):
        os.symlink(f"l{i - 1}", root / f"l{i}")
    # The host really would follow these out of the root:
    assert (root / "sub" / "up").read_text() == SECRET + "\n"
    assert (root / "abs").read_text() == SECRET + "\n"
    return {"tmp": tmp_path, "outside": outside, "root": root}


def attempt(guest: Path, layout: dict[str, Path], mode: str) -> dict[str, str]:
    """Run one attempt; check the host outside the root is untouched and
    the secret never showed; return the lines by check name."""
    outside = layout["outside"]
    before = snapshot(outside, times=True)
    secret = str(outside / "secret")
    r = run_sentry(str(guest), [mode, secret], cwd=layout["tmp"], root=str(layout["root"]))
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr.decode())
    assert SECRET not in out, out
    assert snapshot(outside, times=True) == before
    assert sorted(os.listdir(layout["tmp"])) == ["outside", "root"]
    lines = {}
    for line in out.splitlines():
        name, _, rest = line.partition(": ")
        lines[name] = rest
    return lines


def test_dotdot_above_the_root(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "dotdot")
    for name in ("host_path_as_is", "dotdot_absolute", "dotdot_from_root", "dotdot_relative"):
        assert got[name] == "ret=-1 errno=ENOENT data=", name
    assert got["getcwd_after_chdir_up"] == "/"
    assert got["inside_after_chdir_up"] == "ret=0 errno=0 data=inside file"
    assert got["proc_self_root_dotdot"] == "ret=0 errno=0 data=inside file"
    assert got["proc_self_cwd_dotdot"] == "ret=0 errno=0 data=inside file"


def test_absolute_symlink_pointing_outside(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "abs-symlink")
    assert got["host_made_abs_link"] == "ret=-1 errno=ENOENT data="
    assert got["host_made_abs_dir_link"] == "ret=-1 errno=ENOENT data="
    assert got["guest_symlink"] == "ret=0 errno=0"
    assert got["guest_abs_link"] == "ret=-1 errno=ENOENT data="
    assert got["create_through_abs_link"] == "ret=-1 errno=ENOENT"
    assert got["stat_abs_link"] == "ret=-1 errno=ENOENT"
    assert got["lstat_abs_link"] == "ret=0 errno=0"


def test_relative_symlink_climbing_out(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "rel-symlink")
    assert got["climbing_link"] == "ret=0 errno=0 data=decoy"
    assert got["climbing_dir_link"] == "ret=0 errno=0 data=decoy"
    assert got["guest_climbing_link"] == "ret=0 errno=0 data=decoy"
    assert got["write_through_climbing_link"] == "ret=3 errno=0"
    assert (layout["root"] / "outside" / "secret").read_text() == "overwritten\n"


def test_symlink_loop_is_eloop(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "loop")
    assert got["loop_pair"] == "ret=-1 errno=ELOOP data="
    assert got["loop_self"] == "ret=-1 errno=ELOOP data="
    assert got["loop_in_dir_component"] == "ret=-1 errno=ELOOP data="
    assert got["chain_40"] == "ret=0 errno=0 data=inside file"
    assert got["chain_41"] == "ret=-1 errno=ELOOP data="
    assert got["create_through_loop"] == "ret=-1 errno=ELOOP"


def test_openat_on_directory_fd_then_dotdot(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "dirfd")
    assert got["openat_dirfd_dotdot"] == "ret=-1 errno=ENOENT data="
    assert got["openat_dirfd_dotdot_inside"] == "ret=0 errno=0 data=inside file"
    assert got["openat_opath_dirfd_dotdot"] == "ret=0 errno=0 data=decoy"
    assert got["openat_rootfd_dotdot"] == "ret=0 errno=0 data=decoy"
    assert got["getcwd_after_fchdir_up"] == "/"
    assert got["mkdirat_dotdot"] == "ret=0 errno=0"
    assert (layout["root"] / "escape_dir").is_dir()


def test_rename_out_of_the_root(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "rename")
    assert got["rename_to_host_path"] == "ret=-1 errno=ENOENT"
    # ../../outside/moved clamps to /outside/moved: inside the root.
    assert got["rename_dotdot"] == "ret=0 errno=0"
    assert (layout["root"] / "outside" / "moved").read_text() == "inside file\n"
    assert got["renameat_dirfd_dotdot"] == "ret=-1 errno=ENOENT"
    assert got["rename_from_host_path"] == "ret=-1 errno=ENOENT"
    assert got["rename_via_abs_dir_link"] == "ret=-1 errno=ENOENT"
    assert got["renameat2_exchange_host"] == "ret=-1 errno=ENOENT"
    assert got["file_still_inside"] == "ret=-1 errno=ENOENT data="


def test_hard_link_out_of_the_root(escape_guest: Path, layout: dict[str, Path]) -> None:
    got = attempt(escape_guest, layout, "link")
    assert got["link_to_host_path"] == "ret=-1 errno=ENOENT"
    assert got["link_dotdot"] == "ret=0 errno=0"
    assert (layout["root"] / "outside" / "hl").read_text() == "inside file\n"
    assert got["link_from_host_path"] == "ret=-1 errno=ENOENT"
    assert got["link_follow_abs_link"] == "ret=-1 errno=ENOENT"
    # Linking the symlink itself copies the link, which still resolves
    # inside the root only.
    assert got["link_abs_link_itself"] == "ret=0 errno=0"
    assert got["linkcopy_read"] == "ret=-1 errno=ENOENT data="
    assert got["linkat_dirfd_dotdot"] == "ret=0 errno=0"
    assert (layout["root"] / "outside" / "hl2").read_text() == "inside file\n"
    assert (layout["outside"] / "secret").stat().st_nlink == 1


# -- the default setup: the working directory writable, the rest read-only --------------------


@pytest.fixture
def ro_layout(tmp_path: Path) -> dict[str, Path]:
    """``outside/secret`` in the read-only host, ``work/`` the writable
    working directory holding ``inside``."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text(SECRET + "\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "inside").write_text("inside file\n")
    return {"tmp": tmp_path, "outside": outside, "work": work}


def attempt_default(guest: Path, layout: dict[str, Path], mode: str) -> dict[str, str]:
    """Run one attempt without --root from ``work``; check the host
    outside the working directory is untouched; the lines by check name."""
    outside = layout["outside"]
    before = snapshot(outside, times=True)
    r = run_sentry(str(guest), [mode, str(outside / "secret")], cwd=layout["work"])
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr.decode())
    assert snapshot(outside, times=True) == before
    assert (outside / "secret").stat().st_nlink == 1
    return dict(line.partition(": ")[::2] for line in out.splitlines())


def test_hard_link_out_of_the_read_only_host(escape_guest: Path, ro_layout: dict[str, Path]) -> None:
    """Issue 19 item 1: a link from the read-only host into the writable
    working directory would make the host file writable; EXDEV, as for a
    link across mounts."""
    got = attempt_default(escape_guest, ro_layout, "link-ro")
    assert got["link_ro_source"] == "ret=-1 errno=EXDEV"
    assert got["link_into_ro_dir"] == "ret=-1 errno=EROFS"
    assert got["symlink_to_secret"] == "ret=0 errno=0"
    assert got["link_follow_symlink"] == "ret=-1 errno=EXDEV"
    assert got["open_secret"] == "ret=3 errno=0"
    assert got["link_proc_fd"] == "ret=-1 errno=EXDEV"
    # AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH: ENOENT without it.
    assert got["link_empty_path"] == ("ret=-1 errno=EXDEV" if os.geteuid() == 0 else "ret=-1 errno=ENOENT")
    assert got["rename_ro_source"] == "ret=-1 errno=EXDEV"
    assert got["rename_into_ro_dir"] == "ret=-1 errno=EXDEV"
    assert got["write_through_link"] == "ret=-1 errno=ENOENT"
    assert sorted(os.listdir(ro_layout["work"])) == ["inside", "sl"]


def test_hard_link_out_of_the_root_by_host_path_and_fd(escape_guest: Path, layout: dict[str, Path]) -> None:
    """The same attempts under --root: the secret's host path names
    nothing inside the root."""
    got = attempt(escape_guest, layout, "link-ro")
    assert got["link_ro_source"] == "ret=-1 errno=ENOENT"
    assert got["link_follow_symlink"] == "ret=-1 errno=ENOENT"
    assert got["open_secret"] == "ret=-1 errno=ENOENT"
    assert got["rename_ro_source"] == "ret=-1 errno=ENOENT"
    assert got["write_through_link"] == "ret=-1 errno=ENOENT"


# -- inherited host fds (issue 19 item 2) -----------------------------------------------------


def run_with_stdio(guest: Path, mode: str, *, cwd: Path, root: Path | None, stdin: Path, stderr: Path) -> dict[str, str]:
    """Run ``mode`` with ``stdin`` open read-only and ``stderr`` open for
    appending as the guest's fds 0 and 2; the lines by check name."""
    with open(stdin, "rb") as fin, open(stderr, "ab") as ferr:
        r = subprocess.run(
            sentry_cmd(str(guest), [mode, str(stdin)], root=str(root) if root else None),
            cwd=cwd, stdin=fin, stdout=subprocess.PIPE, stderr=ferr, timeout=300,
        )
    out = r.stdout.decode()
    assert r.returncode == 0, (out, stderr.read_text())
    assert SECRET not in out, out
    return dict(line.partition(": ")[::2] for line in out.splitlines())


def check_host_fds(got: dict[str, str]) -> None:
    for name in ("reopen_stdin_write", "reopen_dev_stdin_rdwr", "reopen_pid_fd_write", "reopen_stdin_trunc",
                 "fchmod_stdin", "fchown_stdin", "futimens_stdin", "fchmodat_empty_stdin", "fchownat_empty_stdin",
                 "utimensat_empty_stdin", "chmod_proc_fd", "chown_proc_fd", "utimes_proc_fd", "truncate_proc_fd",
                 "fchmod_stderr", "ftruncate_stderr", "futimens_stderr", "reopen_stderr_trunc"):
        assert got[name] == "ret=-1 errno=EROFS", name
    assert got["reopen_stdin_read"] == "ret=0 errno=0"
    assert got["reopen_stderr_read"] == "ret=-1 errno=EACCES"
    assert got["ftruncate_stdin"] == "ret=-1 errno=EINVAL"  # not open for writing: Linux's EINVAL first
    assert got["mmap_shared_write_stdin"] == "ret=-1 errno=EACCES"
    assert got["link_proc_fd"] == "ret=-1 errno=EXDEV"
    for name in ("fsetxattr_stdin", "fremovexattr_stdin", "setxattr_proc_fd"):
        assert got[name] == "ret=-1 errno=EROFS", name
    assert got["reopen_stderr_append"] == "ret=0 errno=0"


@pytest.mark.parametrize("with_root", [False, True], ids=["default", "root"])
def test_inherited_stdio_outside_the_tree_stays_unchanged(escape_guest: Path, tmp_path: Path, with_root: bool) -> None:
    """Reopening /proc/self/fd/N never grants more than the fd's own
    access, and metadata changes on inherited host fds outside the
    writable tree are EROFS, with and without --root."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o644)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "log"
    log.write_text("start\n")
    work = tmp_path / "work"
    work.mkdir()
    before = snapshot(outside, times=True)
    log_mode = log.stat().st_mode
    got = run_with_stdio(escape_guest, "host-fds", cwd=work, root=work if with_root else None, stdin=secret, stderr=log)
    check_host_fds(got)
    assert snapshot(outside, times=True) == before
    assert log.read_text() == "start\nappended\n"
    assert log.stat().st_mode == log_mode
    assert os.listdir(work) == []


def test_inherited_stdio_inside_the_tree_is_the_file(escape_guest: Path, tmp_path: Path) -> None:
    """stdin redirected from a file in the writable working directory is
    that file: its metadata and reopening behave as on Linux."""
    work = tmp_path / "work"
    work.mkdir()
    f = work / "in"
    f.write_text("data\n")
    f.chmod(0o644)
    got = run_with_stdio(escape_guest, "stdin-inside", cwd=work, root=None, stdin=f, stderr=tmp_path / "err")
    native_f = tmp_path / "native_in"
    native_f.write_text("data\n")
    native_f.chmod(0o644)
    with open(native_f, "rb") as fin:
        r = subprocess.run([str(escape_guest), "stdin-inside", "x"], stdin=fin, capture_output=True, timeout=60)
    native = dict(line.partition(": ")[::2] for line in r.stdout.decode().splitlines())
    assert got == native
    assert oct(f.stat().st_mode & 0o777) == oct(native_f.stat().st_mode & 0o777) == oct(0o600)
    assert f.read_text() == native_f.read_text() == "data\nmore\n"


def test_metadata_of_the_read_only_host_by_every_path_and_fd(escape_guest: Path, ro_layout: dict[str, Path]) -> None:
    """Without --root: chmod, chown, utimes, truncate and setxattr on a
    host file and directory outside the working directory, by path, by fd,
    by AT_EMPTY_PATH, by O_PATH fd and through /proc/self/fd: nothing
    changes (EROFS, or EISDIR/EINVAL where Linux checks those first)."""
    got = attempt_default(escape_guest, ro_layout, "ro-paths")
    assert got, "no output"
    for name, line in got.items():
        kind = name.rsplit("_", 1)[1]
        if name == "truncate_dir":
            assert line == "ret=-1 errno=EISDIR", name
        elif name == "ftruncate_file" or name == "ftruncate_dir":
            assert line == "ret=-1 errno=EINVAL", name  # fd not open for writing
        elif name == "open_proc_fd_write_dir":
            assert line == "ret=-1 errno=EISDIR", name
        else:
            assert line == "ret=-1 errno=EROFS", (name, kind)


def test_metadata_of_host_files_outside_the_root(escape_guest: Path, layout: dict[str, Path]) -> None:
    """The same metadata attempts under --root: the host paths name
    nothing inside the root (ENOENT) and no fd to them exists (EBADF)."""
    got = attempt(escape_guest, layout, "ro-paths")
    assert got, "no output"
    for name, line in got.items():
        allowed = ("ret=-1 errno=ENOENT", "ret=-1 errno=EBADF")
        assert line in allowed, name
