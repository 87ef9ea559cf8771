"""Busybox file applets, natively and under the sentry, on identical
fixture directories: stdout and exit status must be equal, and so must
the directory tree each run leaves behind (names, types, permissions,
sizes, contents, link targets; mtimes where the applet sets them).

The fixture's files all carry one fixed mtime, so listings that show
times (``ls -la``, ``stat -c``) compare exactly. Each case runs in its own
pair of fresh directories in the default sandbox setup (host ``/``
read-only, the working directory writable), plus a few with ``--root``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from files_e2e_support import run_native, run_sentry, snapshot

BUSYBOX = "/bin/busybox"
FIXED_MTIME = 1_609_556_645  # 2021-01-02 03:04:05 UTC

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(not Path(BUSYBOX).exists(), reason="scripts/setup installs busybox-static"),
]

FRUITS = b"banana\napple\ncherry\napple\ndate\nbanana\nelderberry\n"
CSV = b"id,name,qty\n1,apple,3\n2,pear,10\n3,plum,7\n"


def make_fixture(base: Path) -> None:
    """The same tree on both sides, every mtime fixed."""
    base.mkdir()
    (base / "fruits.txt").write_bytes(FRUITS)
    (base / "data.csv").write_bytes(CSV)
    (base / "nums.txt").write_bytes(b"".join(b"%d\n" % (i * 7 % 101) for i in range(300)))
    (base / "data.bin").write_bytes(bytes((i * 31 + 7) % 256 for i in range(100_000)))
    (base / "empty").write_bytes(b"")
    tree = base / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha\n")
    (tree / "b.txt").write_bytes(b"beta\nbeta\n")
    (tree / "sub" / "c.txt").write_bytes(b"gamma\n")
    (tree / "sub" / "deeper" / "d.log").write_bytes(b"delta log line\n")
    os.chmod(tree / "b.txt", 0o600)
    os.symlink("a.txt", tree / "link")
    for dirpath, dirnames, filenames in os.walk(base, topdown=False):
        for name in [*filenames, *dirnames]:
            os.utime(Path(dirpath) / name, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    os.utime(base, (FIXED_MTIME, FIXED_MTIME))


# (id, argv, stdin, compare mtimes in the resulting tree)
CASES: list[tuple[str, list[str], bytes, bool]] = [
    ("cat", ["cat", "fruits.txt", "data.csv"], b"", False),
    ("cat-stdin", ["cat"], FRUITS, False),
    ("cat-missing", ["cat", "nope.txt"], b"", False),
    ("head", ["head", "-n", "3", "fruits.txt"], b"", False),
    ("head-bytes", ["head", "-c", "1000", "data.bin"], b"", False),
    ("tail", ["tail", "-n", "2", "fruits.txt"], b"", False),
    ("tail-big", ["tail", "-c", "5000", "data.bin"], b"", False),
    ("wc", ["wc", "fruits.txt", "nums.txt", "data.bin"], b"", False),
    ("wc-l-stdin", ["wc", "-l"], FRUITS, False),
    ("sort", ["sort", "fruits.txt"], b"", False),
    ("sort-n-r", ["sort", "-n", "-r", "nums.txt"], b"", False),
    ("sort-o", ["sort", "-o", "sorted.txt", "fruits.txt"], b"", False),
    ("uniq", ["uniq", "-c", "fruits.txt"], b"", False),
    ("cut", ["cut", "-d", ",", "-f", "2,3", "data.csv"], b"", False),
    ("tr", ["tr", "a-z", "A-Z"], FRUITS, False),
    ("tr-delete", ["tr", "-d", "aeiou"], FRUITS, False),
    ("md5sum", ["md5sum", "fruits.txt", "data.bin", "empty"], b"", False),
    ("sha256sum", ["sha256sum", "data.bin", "data.csv"], b"", False),
    ("sha1sum-stdin", ["sha1sum"], FRUITS, False),
    ("ls-la", ["ls", "-la", "tree"], b"", False),
    ("ls-lR", ["ls", "-lR", "tree"], b"", False),
    ("ls-missing", ["ls", "nope"], b"", False),
    ("mkdir", ["mkdir", "newdir"], b"", False),
    ("mkdir-p", ["mkdir", "-p", "x/y/z"], b"", False),
    ("mkdir-exists", ["mkdir", "tree"], b"", False),
    ("mkdir-mode", ["mkdir", "-m", "700", "private"], b"", False),
    ("rm", ["rm", "fruits.txt"], b"", False),
    ("rm-r", ["rm", "-r", "tree"], b"", False),
    ("rm-missing", ["rm", "nope"], b"", False),
    ("rmdir", ["rmdir", "tree/sub/deeper"], b"", False),
    ("mv", ["mv", "fruits.txt", "tree/sub/moved.txt"], b"", False),
    ("mv-dir", ["mv", "tree", "renamed"], b"", False),
    ("cp", ["cp", "data.bin", "copy.bin"], b"", False),
    ("cp-r", ["cp", "-r", "tree", "tree2"], b"", False),
    ("cp-p", ["cp", "-p", "data.csv", "kept.csv"], b"", True),
    ("ln-s", ["ln", "-s", "fruits.txt", "fl"], b"", False),
    ("ln-hard", ["ln", "data.csv", "hard.csv"], b"", False),
    ("readlink", ["readlink", "tree/link"], b"", False),
    ("chmod", ["chmod", "640", "data.csv"], b"", False),
    ("grep", ["grep", "-n", "an", "fruits.txt"], b"", False),
    ("grep-r", ["grep", "-r", "beta", "tree"], b"", False),
    ("grep-nomatch", ["grep", "zzz", "fruits.txt"], b"", False),
    ("grep-c", ["grep", "-c", "apple", "fruits.txt"], b"", False),
    ("sed", ["sed", "-e", "s/an/AN/g", "fruits.txt"], b"", False),
    ("sed-i", ["sed", "-i", "-e", "s/apple/APPLE/", "fruits.txt"], b"", False),
    ("sed-n", ["sed", "-n", "2,4p", "data.csv"], b"", False),
    ("od", ["od", "-A", "x", "-t", "x1z", "-N", "256", "data.bin"], b"", False),
    ("od-c", ["od", "-c", "fruits.txt"], b"", False),
    ("find", ["find", "tree"], b"", False),
    ("find-name", ["find", ".", "-name", "*.txt"], b"", False),
    ("find-type-d", ["find", "tree", "-type", "d"], b"", False),
    ("stat-c", ["stat", "-c", "%n %s %F %a %h %Y", "fruits.txt", "tree", "tree/link", "empty"], b"", False),
    ("stat-L", ["stat", "-L", "-c", "%n %s %F", "tree/link"], b"", False),
    ("touch-new", ["touch", "-d", "2020-02-03 04:05:06", "made"], b"", True),
    ("touch-existing", ["touch", "-d", "2019-12-31 23:59:59", "fruits.txt", "tree"], b"", True),
    ("cmp-same", ["cmp", "data.bin", "data.bin"], b"", False),
    ("cmp-differ", ["cmp", "fruits.txt", "data.csv"], b"", False),
    ("tee", ["tee", "t1", "t2"], FRUITS, False),
    ("du", ["du", "-a", "tree"], b"", False),
    ("basename-dirname", ["dirname", "/a/b/c.txt"], b"", False),
]

DD_CASES = [
    ("dd-bs1", ["dd", "if=data.bin", "of=out", "bs=1", "count=3000"]),
    ("dd-bs7", ["dd", "if=data.bin", "of=out", "bs=7"]),
    ("dd-bs512-skip", ["dd", "if=data.bin", "of=out", "bs=512", "skip=3", "count=50"]),
    ("dd-bs4096", ["dd", "if=data.bin", "of=out", "bs=4096"]),
    ("dd-bs64k", ["dd", "if=data.bin", "of=out", "bs=65536"]),
    ("dd-bs1M-zero", ["dd", "if=/dev/zero", "of=out", "bs=1M", "count=3"]),
    ("dd-ibs-obs", ["dd", "if=data.bin", "of=out", "ibs=1000", "obs=3000"]),
    ("dd-seek-notrunc", ["dd", "if=fruits.txt", "of=data.csv", "bs=4", "seek=2", "conv=notrunc"]),
    ("dd-stdout", ["dd", "if=fruits.txt", "bs=5", "count=3"]),
]


def _run_both(tmp_path: Path, argv: list[str], stdin: bytes) -> tuple[Path, Path, object, object]:
    native_dir = tmp_path / "native"
    sentry_dir = tmp_path / "sentry"
    make_fixture(native_dir)
    make_fixture(sentry_dir)
    native = run_native(BUSYBOX, argv, cwd=native_dir, stdin=stdin)
    sentry = run_sentry(BUSYBOX, argv, cwd=sentry_dir, stdin=stdin)
    return native_dir, sentry_dir, native, sentry


@pytest.mark.parametrize(("argv", "stdin", "times"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_applet_matches_native(tmp_path: Path, argv: list[str], stdin: bytes, times: bool) -> None:
    native_dir, sentry_dir, native, sentry = _run_both(tmp_path, argv, stdin)
    assert sentry.stderr.count(b"run-guest:") == 0, sentry.stderr.decode()  # type: ignore[attr-defined]
    assert sentry.returncode == native.returncode, (native.stderr, sentry.stderr)  # type: ignore[attr-defined]
    assert sentry.stdout == native.stdout  # type: ignore[attr-defined]
    # Error messages name the applet the same way on both sides.
    assert sentry.stderr == native.stderr  # type: ignore[attr-defined]
    assert snapshot(sentry_dir, times=times) == snapshot(native_dir, times=times)


@pytest.mark.parametrize("argv", [c[1] for c in DD_CASES], ids=[c[0] for c in DD_CASES])
def test_dd_matches_native(tmp_path: Path, argv: list[str]) -> None:
    """dd with several block sizes: same output file, same stdout, same
    record counts (stderr's first two lines; the third has timings)."""
    native_dir, sentry_dir, native, sentry = _run_both(tmp_path, argv, b"")
    assert sentry.returncode == native.returncode
    assert sentry.stdout == native.stdout  # type: ignore[attr-defined]
    assert sentry.stderr.splitlines()[:2] == native.stderr.splitlines()[:2]  # type: ignore[attr-defined]
    assert snapshot(sentry_dir) == snapshot(native_dir)


def test_applets_under_root_see_only_the_root(tmp_path: Path) -> None:
    """With --root, ``ls /`` lists the root's entries plus /dev and /proc,
    and absolute paths name files inside it."""
    root = tmp_path / "root"
    make_fixture(root)
    shutil.copy(BUSYBOX, root / "busybox")
    r = run_sentry(BUSYBOX, ["ls", "/"], cwd=tmp_path, root=str(root))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split() == sorted([*os.listdir(root), "dev", "proc", "sys"])
    r = run_sentry(BUSYBOX, ["cat", "/tree/sub/c.txt", "/tree/link"], cwd=tmp_path, root=str(root))
    assert (r.returncode, r.stdout) == (0, b"gamma\nalpha\n")
    # The guest starts where the host working directory is inside the root.
    r = run_sentry(BUSYBOX, ["pwd"], cwd=root / "tree" / "sub", root=str(root))
    assert (r.returncode, r.stdout) == (0, b"/tree/sub\n")
    r = run_sentry(BUSYBOX, ["ls", "../../../../.."], cwd=root / "tree" / "sub", root=str(root))
    assert r.stdout.decode().split() == sorted([*os.listdir(root), "dev", "proc", "sys"])


def test_default_setup_is_read_only_outside_cwd(tmp_path: Path) -> None:
    """Without --root the host is visible read-only: writes outside the
    working directory fail with EROFS, inside they work."""
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    r = run_sentry(BUSYBOX, ["rm", "-f", str(victim)], cwd=work)
    assert r.returncode != 0 and b"Read-only file system" in r.stderr
    assert victim.read_text() == "keep\n"
    r = run_sentry(BUSYBOX, ["touch", str(tmp_path / "new")], cwd=work)
    assert r.returncode != 0 and not (tmp_path / "new").exists()
    r = run_sentry(BUSYBOX, ["cp", str(victim), "copied"], cwd=work)
    assert r.returncode == 0 and (work / "copied").read_text() == "keep\n"
