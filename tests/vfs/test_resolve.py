"""Path resolution over a host directory as the guest's root: component
walks, symlinks inside the root, ``..`` clamped at the root, ELOOP after
40 links, Linux's errors for name kinds and trailing slashes, EROFS in
the default read-only setup, and the files opened through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentry.abi.fcntl import (
    O_APPEND,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_LARGEFILE,
    O_NOFOLLOW,
    O_PATH,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    W_OK,
)
from sentry.fsimpl.host import HostDirectory, HostFile
from sentry.fsimpl.root import build_root
from sentry.linuxerr import (
    EBUSY,
    EEXIST,
    EINVAL,
    EISDIR,
    ELOOP,
    ENAMETOOLONG,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    EPERM,
    EROFS,
    EXDEV,
    Errno,
)
from sentry.usermem import bytes_io_sequence
from sentry.vfs import FSContext
from sentry.vfs.resolve import (
    chdir_to,
    check_access,
    link_at,
    lookup_at,
    mkdir_at,
    open_at,
    readlink_at,
    rename_at,
    rmdir_at,
    symlink_at,
    unlink_at,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A host directory next to the root: the guest must never reach it."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret").write_text("host secret\n")
    return d


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("guest passwd\n")
    (r / "dir" / "sub").mkdir(parents=True)
    (r / "dir" / "file").write_text("0123456789")
    return r


@pytest.fixture
def ctx(root: Path) -> FSContext:
    return build_root(str(root), host_cwd=str(root))


def raises(err: Errno):  # type: ignore[no-untyped-def]
    """pytest.raises for one errno singleton."""

    class _Ctx:
        def __enter__(self) -> None:
            return None

        def __exit__(self, et, ev, tb):  # type: ignore[no-untyped-def]
            assert ev is err, f"expected {err!r}, got {ev!r}"
            return True

    return _Ctx()


def read_all(f: HostFile, n: int = 1 << 16) -> bytes:
    buf = bytearray(n)
    got, err = f.read(bytes_io_sequence(buf), -1)
    assert err is None
    return bytes(buf[:got])


def open_(ctx: FSContext, path: str, flags: int = O_RDONLY, mode: int = 0o644) -> HostFile:
    f = open_at(ctx, ctx.cwd, path.encode(), flags | O_LARGEFILE, mode, 0o022)
    assert isinstance(f, (HostFile, HostDirectory)) or True
    return f  # type: ignore[return-value]


# -- walking ----------------------------------------------------------------------


def test_absolute_and_relative_paths(ctx: FSContext) -> None:
    assert read_all(open_(ctx, "/etc/passwd")) == b"guest passwd\n"
    chdir_to(ctx, lookup_at(ctx, ctx.root, b"/dir"))
    assert read_all(open_(ctx, "file")) == b"0123456789"
    assert read_all(open_(ctx, "./sub/../file")) == b"0123456789"
    assert ctx.path_of(ctx.cwd) == b"/dir"


def test_dotdot_stays_at_root(ctx: FSContext) -> None:
    assert lookup_at(ctx, ctx.root, b"/..") is ctx.root
    assert read_all(open_(ctx, "/../../../../etc/passwd")) == b"guest passwd\n"
    d = lookup_at(ctx, ctx.root, b"dir/sub/../../../..")
    assert ctx.is_root(d)


def test_absolute_symlink_resolves_inside_root(ctx: FSContext, root: Path, outside: Path) -> None:
    os.symlink(str(outside / "secret"), root / "abs")
    os.symlink("/etc/passwd", root / "dir" / "pw")
    with raises(ENOENT):
        open_(ctx, "/abs")
    assert read_all(open_(ctx, "/dir/pw")) == b"guest passwd\n"


def test_relative_symlink_cannot_climb_out(ctx: FSContext, root: Path) -> None:
    os.symlink("../../../../../../outside/secret", root / "dir" / "up")
    with raises(ENOENT):
        open_(ctx, "/dir/up")
    os.symlink("../../../../../etc/passwd", root / "dir" / "up2")
    assert read_all(open_(ctx, "/dir/up2")) == b"guest passwd\n"


def test_symlink_loop_is_eloop(ctx: FSContext, root: Path) -> None:
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    with raises(ELOOP):
        open_(ctx, "/a")
    with raises(ELOOP):
        lookup_at(ctx, ctx.root, b"/a/x")


def test_forty_links_resolve_and_the_41st_is_eloop(ctx: FSContext, root: Path) -> None:
    (root / "target").write_text("t")
    os.symlink("target", root / "l0")
    for i in range(1, 41):
        os.symlink(f"l{i - 1}", root / f"l{i}")
    assert read_all(open_(ctx, "/l39")) == b"t"  # 40 links
    with raises(ELOOP):
        open_(ctx, "/l40")  # 41 links


def test_trailing_slash_and_name_errors(ctx: FSContext) -> None:
    with raises(ENOTDIR):
        open_(ctx, "/dir/file/")
    with raises(ENOTDIR):
        lookup_at(ctx, ctx.root, b"/dir/file/x")
    with raises(ENOENT):
        open_(ctx, "/nope")
    with raises(ENAMETOOLONG):
        lookup_at(ctx, ctx.root, b"/" + b"n" * 256)
    with raises(ENOENT):
        lookup_at(ctx, ctx.root, b"")


def test_dirfd_style_start_and_dotdot(ctx: FSContext) -> None:
    sub = lookup_at(ctx, ctx.root, b"/dir/sub")
    f = open_at(ctx, sub, b"../file", O_RDONLY, 0, 0)
    assert isinstance(f, HostFile)
    assert read_all(f) == b"0123456789"
    top = lookup_at(ctx, sub, b"../../../..")
    assert ctx.is_root(top)


def test_readlink_and_lstat(ctx: FSContext, root: Path) -> None:
    os.symlink("dir/file", root / "ln")
    assert readlink_at(ctx, ctx.root, b"/ln") == b"dir/file"
    with raises(EINVAL):
        readlink_at(ctx, ctx.root, b"/dir/file")
    assert lookup_at(ctx, ctx.root, b"/ln", follow=False).is_symlink()
    assert lookup_at(ctx, ctx.root, b"/ln").is_regular()


# -- open ---------------------------------------------------------------------------------


def test_open_flags(ctx: FSContext, root: Path) -> None:
    f = open_(ctx, "/new", O_CREAT | O_WRONLY, 0o666)
    assert f.status_flags() == O_WRONLY | O_LARGEFILE
    assert (root / "new").stat().st_mode & 0o777 == 0o644  # umask 022
    with raises(EEXIST):
        open_(ctx, "/new", O_CREAT | O_EXCL | O_WRONLY)
    with raises(ENOTDIR):
        open_(ctx, "/new", O_DIRECTORY)
    with raises(EISDIR):
        open_(ctx, "/dir", O_WRONLY)
    with raises(EISDIR):
        open_(ctx, "/dir", O_RDONLY | O_TRUNC)
    with raises(EISDIR):
        open_(ctx, "/newdir/", O_CREAT | O_WRONLY)
    with raises(EISDIR):
        open_(ctx, "/dir", O_CREAT | O_RDONLY)
    assert isinstance(open_(ctx, "/dir", O_RDONLY | O_DIRECTORY), HostDirectory)


def test_open_nofollow_and_o_path(ctx: FSContext, root: Path) -> None:
    os.symlink("dir/file", root / "ln")
    with raises(ELOOP):
        open_(ctx, "/ln", O_NOFOLLOW)
    p = open_at(ctx, ctx.root, b"/ln", O_PATH | O_NOFOLLOW, 0, 0)
    assert p.is_path and p.stat().st_mode & 0o170000 == 0o120000
    assert p.status_flags() == O_PATH | O_NOFOLLOW


def test_creat_through_dangling_symlink_stays_inside(ctx: FSContext, root: Path, outside: Path) -> None:
    os.symlink(str(outside / "created"), root / "dangling")
    with raises(ENOENT):  # the target's directory does not exist inside the root
        open_(ctx, "/dangling", O_CREAT | O_WRONLY)
    assert not (outside / "created").exists()
    os.symlink("/etc/created", root / "dangling1")
    open_(ctx, "/dangling1", O_CREAT | O_WRONLY)
    assert (root / "etc" / "created").exists()
    os.symlink("made", root / "dangling2")
    open_(ctx, "/dangling2", O_CREAT | O_WRONLY)
    assert (root / "made").exists()


def test_truncate_append_and_offsets(ctx: FSContext) -> None:
    f = open_(ctx, "/dir/file", O_RDWR)
    buf = bytearray(4)
    assert f.read(bytes_io_sequence(buf), -1) == (4, None)
    assert f.seek(0, 1) == 4  # advanced by exactly what moved
    assert f.read(bytes_io_sequence(bytearray(100)), 2) == (8, None)  # pread
    assert f.seek(0, 1) == 4
    g = open_(ctx, "/dir/file", O_WRONLY | O_APPEND)
    g.write(bytes_io_sequence(bytearray(b"AB")), -1)
    assert read_all(open_(ctx, "/dir/file")) == b"0123456789AB"
    open_(ctx, "/dir/file", O_WRONLY | O_TRUNC)
    assert read_all(open_(ctx, "/dir/file")) == b""


def test_partial_read_reports_bytes_before_fault(ctx: FSContext) -> None:
    from sentry.hostarch import AddrRange, AddrRangeSeq
    from sentry.linuxerr import EFAULT
    from sentry.usermem import BytesIO, IOSequence

    f = open_(ctx, "/dir/file")
    buf = bytearray(3)
    n, err = f.read(IOSequence(BytesIO(buf), AddrRangeSeq.of(AddrRange(0, 10))), -1)
    assert (n, err, bytes(buf)) == (3, EFAULT, b"012")
    assert f.seek(0, 1) == 3


# -- directory modifications ---------------------------------------------------------------


def test_mkdir_unlink_rmdir_errors(ctx: FSContext, root: Path) -> None:
    mkdir_at(ctx, ctx.root, b"/d/", 0o777, 0o022)
    assert (root / "d").stat().st_mode & 0o777 == 0o755
    with raises(EEXIST):
        mkdir_at(ctx, ctx.root, b"/d", 0o777, 0)
    with raises(EEXIST):
        mkdir_at(ctx, ctx.root, b"/d/..", 0o777, 0)
    with raises(EISDIR):
        unlink_at(ctx, ctx.root, b"/d")
    with raises(ENOTDIR):
        unlink_at(ctx, ctx.root, b"/dir/file/")
    with raises(EINVAL):
        rmdir_at(ctx, ctx.root, b"/d/.")
    with raises(ENOTEMPTY):
        rmdir_at(ctx, ctx.root, b"/dir/..")
    with raises(EBUSY):
        rmdir_at(ctx, ctx.root, b"/")
    with raises(ENOTEMPTY):
        rmdir_at(ctx, ctx.root, b"/dir")
    with raises(ENOTDIR):
        rmdir_at(ctx, ctx.root, b"/dir/file")
    rmdir_at(ctx, ctx.root, b"/d")
    unlink_at(ctx, ctx.root, b"/dir/file")
    assert not (root / "dir" / "file").exists()


def test_rename_moves_cached_directories(ctx: FSContext, root: Path) -> None:
    sub = lookup_at(ctx, ctx.root, b"/dir/sub")
    chdir_to(ctx, sub)
    mkdir_at(ctx, ctx.root, b"/other", 0o755, 0)
    rename_at(ctx, ctx.root, b"/dir/sub", ctx.root, b"/other/moved", 0)
    assert ctx.path_of(ctx.cwd) == b"/other/moved"
    assert ctx.is_root(lookup_at(ctx, ctx.cwd, b"../.."))
    with raises(EBUSY):
        rename_at(ctx, ctx.root, b"/dir/..", ctx.root, b"/x", 0)
    with raises(EEXIST):
        rename_at(ctx, ctx.root, b"/dir/file", ctx.root, b"/etc/passwd", RENAME_NOREPLACE)
    rename_at(ctx, ctx.root, b"/dir/file", ctx.root, b"/etc/passwd", RENAME_EXCHANGE)
    assert (root / "dir" / "file").read_text() == "guest passwd\n"
    with raises(ENOTDIR):
        rename_at(ctx, ctx.root, b"/dir/file", ctx.root, b"/dir/g/", 0)


def test_links_and_symlinks(ctx: FSContext, root: Path) -> None:
    symlink_at(ctx, b"/etc/passwd", ctx.root, b"/dir/s")
    assert os.readlink(root / "dir" / "s") == "/etc/passwd"
    with raises(ENOENT):
        symlink_at(ctx, b"", ctx.root, b"/dir/e")
    with raises(EEXIST):
        symlink_at(ctx, b"x", ctx.root, b"/dir/s")
    link_at(ctx, lookup_at(ctx, ctx.root, b"/dir/file"), ctx.root, b"/hard")
    assert (root / "hard").stat().st_nlink == 2
    with raises(EPERM):
        link_at(ctx, lookup_at(ctx, ctx.root, b"/dir"), ctx.root, b"/dlink")
    with raises(EXDEV):
        link_at(ctx, lookup_at(ctx, ctx.root, b"/dev/null"), ctx.root, b"/nl")
    with raises(EXDEV):
        rename_at(ctx, ctx.root, b"/dir/file", ctx.root, b"/dev/x", 0)


# -- mounts and listings ---------------------------------------------------------------------


def test_dev_and_proc_are_mounted_even_without_host_dirs(ctx: FSContext) -> None:
    d = open_(ctx, "/", O_RDONLY | O_DIRECTORY)
    entries, _ = d.dir_entries()
    names = {e.name for e in entries}
    assert {b".", b"..", b"etc", b"dir", b"dev", b"proc"} <= names
    assert lookup_at(ctx, ctx.root, b"/dev/null").stat().st_rdev == os.makedev(1, 3)
    assert ctx.path_of(lookup_at(ctx, ctx.root, b"/dev/../etc")) == b"/etc"


def test_dev_stdout_reaches_fd_1(ctx: FSContext) -> None:
    from sentry.kernel.fd_table import FDTable
    from sentry.kernel.task import ThreadGroup

    owner = ThreadGroup(7, FDTable())
    owner.fs = ctx
    ctx.owner = owner
    r, w = os.pipe()
    host = HostFile(w, O_WRONLY, owns_fd=True)
    owner.fd_table.new_fd(host, min_fd=1)
    assert readlink_at(ctx, ctx.root, b"/proc/self") == b"7"
    assert readlink_at(ctx, ctx.root, b"/proc/self/fd/1").startswith(b"pipe:[")
    f = open_(ctx, "/dev/stdout", O_WRONLY)
    assert f.write(bytes_io_sequence(bytearray(b"via /dev/stdout")), -1) == (15, None)
    assert os.read(r, 100) == b"via /dev/stdout"
    f.dec_ref()
    host.dec_ref()
    os.close(r)


# -- the default read-only setup ----------------------------------------------------------------


def test_default_root_is_read_only_except_cwd(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    ctx = build_root(None, host_cwd=str(work))
    assert ctx.path_of(ctx.cwd) == os.fsencode(str(work))
    f = open_(ctx, "made", O_CREAT | O_WRONLY)
    f.dec_ref()
    assert (work / "made").exists()
    with raises(EROFS):
        open_(ctx, str(tmp_path / "nope"), O_CREAT | O_WRONLY)
    with raises(EROFS):
        mkdir_at(ctx, ctx.root, os.fsencode(str(tmp_path / "d")), 0o755, 0)
    (tmp_path / "ro").write_text("x")
    with raises(EROFS):
        open_(ctx, str(tmp_path / "ro"), O_WRONLY)
    with raises(EROFS):
        unlink_at(ctx, ctx.root, os.fsencode(str(tmp_path / "ro")))
    with raises(EROFS):
        check_access(lookup_at(ctx, ctx.root, os.fsencode(str(tmp_path / "ro"))), W_OK, False)
    assert read_all(open_(ctx, str(tmp_path / "ro"))) == b"x"
    with raises(EROFS):
        rmdir_at(ctx, ctx.root, os.fsencode(str(work)))
    check_access(lookup_at(ctx, ctx.root, b"/dev/null"), W_OK, False)


# -- caches stay coherent with the guest's own changes ----------------------------------------


def test_caches_follow_renames_and_removals(ctx: FSContext, root: Path) -> None:
    assert read_all(open_(ctx, "/dir/sub/../file")) == b"0123456789"
    (root / "dir" / "sub" / "x").write_text("in sub")
    assert read_all(open_(ctx, "/dir/sub/x")) == b"in sub"
    rename_at(ctx, ctx.root, b"/dir/sub", ctx.root, b"/dir/sub2", 0)
    with raises(ENOENT):
        open_(ctx, "/dir/sub/x")
    assert read_all(open_(ctx, "/dir/sub2/x")) == b"in sub"
    unlink_at(ctx, ctx.root, b"/dir/sub2/x")
    rmdir_at(ctx, ctx.root, b"/dir/sub2")
    with raises(ENOENT):
        lookup_at(ctx, ctx.root, b"/dir/sub2/x")
    mkdir_at(ctx, ctx.root, b"/dir/sub2", 0o755, 0)
    (root / "dir" / "sub2" / "y").write_text("new dir")
    assert read_all(open_(ctx, "/dir/sub2/y")) == b"new dir"
    # A directory swapped for a symlink by the guest.
    mkdir_at(ctx, ctx.root, b"/d1", 0o755, 0)
    (root / "d1" / "f").write_text("d1")
    mkdir_at(ctx, ctx.root, b"/d2", 0o755, 0)
    (root / "d2" / "f").write_text("d2")
    assert read_all(open_(ctx, "/d1/f")) == b"d1"
    rename_at(ctx, ctx.root, b"/d1", ctx.root, b"/d2", RENAME_EXCHANGE)
    assert read_all(open_(ctx, "/d1/f")) == b"d2"
    assert read_all(open_(ctx, "/d2/f")) == b"d1"
    unlink_at(ctx, ctx.root, b"/d1/f")
    rmdir_at(ctx, ctx.root, b"/d1")
    symlink_at(ctx, b"d2", ctx.root, b"/d1")
    assert read_all(open_(ctx, "/d1/f")) == b"d1"


def test_cached_prefixes_keep_symlink_budget(ctx: FSContext, root: Path) -> None:
    """A prefix resolved through symlinks is never cached, so the 40-link
    limit holds on every walk."""
    (root / "t").mkdir()
    (root / "t" / "f").write_text("ok")
    os.symlink("t", root / "m0")
    for i in range(1, 40):
        os.symlink(f"m{i - 1}", root / f"m{i}")
    for _ in range(3):
        assert read_all(open_(ctx, "/m39/f")) == b"ok"  # 40 links
    os.symlink("m39", root / "m40")
    for _ in range(3):
        with raises(ELOOP):
            open_(ctx, "/m40/f")
