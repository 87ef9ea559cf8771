"""Path resolution in the sentry, component by component (Linux
``fs/namei.c``), and the path-based operations built on it.

How the sandbox holds:

* A walk starts at the process's root (absolute paths) or at a directory
  dentry (the working directory or a dirfd), and moves one component at a
  time with ``Dentry.lookup(name)``: a single name, never ``..``, never
  containing ``/``. Host file systems turn that into one ``*at`` call
  relative to the directory's own host fd with O_NOFOLLOW, so the host
  never follows a symlink or a ``..`` on the guest's behalf.
* ``..`` is answered by the sentry (``FSContext.parent_of``): the parent
  dentry, and the root itself at the root, so no path climbs above ``/``.
* Symlinks are read (``readlink``) and their text walked by the sentry in
  the same way: absolute targets restart at the guest's root, relative ones
  continue in the link's directory. At most MAXSYMLINKS (40) links are
  followed per operation; the 41st is ELOOP.

Checks follow Linux's order: name kinds (``.``/``..``/``/`` as the last
component), EROFS before the final lookup where ``mnt_want_write`` comes
first in Linux, then existence, then type errors.
"""

from __future__ import annotations

from typing import NamedTuple

from sentry.abi.fcntl import (
    MAXSYMLINKS,
    NAME_MAX,
    O_ACCMODE,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_PATH,
    O_RDONLY,
    O_TRUNC,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    W_OK,
    X_OK,
)
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
)
from sentry.vfs.context import FSContext
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription, PathFile

LAST_NORM, LAST_ROOT, LAST_DOT, LAST_DOTDOT = range(4)

#: Entries kept in ``VirtualFilesystem.prefix_cache`` before it is reset.
PREFIX_CACHE_SIZE = 256


class Parent(NamedTuple):
    """The result of resolving all but the last component."""

    dir: Dentry
    name: bytes  # the last component (b"" for "/")
    kind: int  # LAST_NORM, LAST_ROOT, LAST_DOT or LAST_DOTDOT
    trailing_slash: bool


def _split(path: bytes) -> list[bytes]:
    return [c for c in path.split(b"/") if c]


def _kind(name: bytes) -> int:
    if name == b"":
        return LAST_ROOT
    if name == b".":
        return LAST_DOT
    if name == b"..":
        return LAST_DOTDOT
    return LAST_NORM


def _write_checked(d: Dentry) -> bool:
    """Whether EROFS applies to ``d`` (regular files, directories and
    symlinks on a read-only tree; devices and pipes stay writable)."""
    return (d.is_regular() or d.is_dir() or d.is_symlink()) and not d.writable


class Walk:
    """One path operation's resolution state: the process's view and the
    symlink budget shared by every walk the operation makes."""

    __slots__ = ("ctx", "links")

    def __init__(self, ctx: FSContext) -> None:
        self.ctx = ctx
        self.links = 0

    def child(self, parent: Dentry, name: bytes) -> Dentry:
        """``parent/name`` without following a final symlink (mount points
        first). Raises ENOTDIR, ENAMETOOLONG, ENOENT."""
        if not parent.is_dir():
            raise ENOTDIR
        if len(name) > NAME_MAX:
            raise ENAMETOOLONG
        m = self.ctx.vfs.mounted(parent, name)
        if m is not None:
            return m
        return parent.lookup(name, self.ctx)

    def child_or_none(self, parent: Dentry, name: bytes) -> Dentry | None:
        try:
            return self.child(parent, name)
        except type(ENOENT) as e:
            if e is ENOENT:
                return None
            raise

    def _count_link(self) -> None:
        self.links += 1
        if self.links > MAXSYMLINKS:
            raise ELOOP

    def walk(self, start: Dentry, path: bytes, *, follow: bool = True) -> Dentry:
        """Resolve ``path`` (non-empty) from ``start``; the final symlink is
        followed iff ``follow`` or the path ends with ``/`` (which also
        requires a directory: ENOTDIR)."""
        if not path:
            raise ENOENT
        cur = self.ctx.root if path[:1] == b"/" else start
        i = path.rfind(b"/")
        if 0 < i < len(path) - 1:
            cur = self._prefix_dir(cur, path[:i])
            return self._run(cur, [path[i + 1 :]], follow, False)
        stack = _split(path)
        stack.reverse()
        trailing = path[-1:] == b"/"
        return self._run(cur, stack, follow, trailing)

    def _prefix_dir(self, cur: Dentry, prefix: bytes) -> Dentry:
        """The directory ``prefix`` names from ``cur`` (every component
        followed), through the prefix cache when possible. Only
        resolutions that followed no symlink are cached, so ELOOP
        accounting is the same with or without the cache."""
        cache = self.ctx.vfs.prefix_cache
        key = (cur.key(), prefix)
        d = cache.get(key)
        if d is not None:
            return d
        links = self.links
        parts = _split(prefix)
        parts.reverse()
        d = self._run(cur, parts, True, False)
        if not d.is_dir():
            raise ENOTDIR
        if self.links == links:
            if len(cache) >= PREFIX_CACHE_SIZE:
                cache.clear()
            cache[key] = d
        return d

    def _run(self, cur: Dentry, stack: list[bytes], follow: bool, trailing: bool) -> Dentry:
        ctx = self.ctx
        while stack:
            name = stack.pop()
            if not cur.is_dir():
                raise ENOTDIR
            if name == b".":
                continue
            if name == b"..":
                cur = ctx.parent_of(cur)
                continue
            child = self.child(cur, name)
            final = not stack
            if child.is_symlink() and (not final or follow or trailing):
                self._count_link()
                target = child.follow_link(ctx)
                if isinstance(target, Dentry):
                    cur = target
                    continue
                if not target:
                    raise ENOENT
                if final and target[-1:] == b"/":
                    trailing = True
                if target[:1] == b"/":
                    cur = ctx.root
                parts = _split(target)
                parts.reverse()
                stack.extend(parts)
                continue
            cur = child
        if trailing and not cur.is_dir():
            raise ENOTDIR
        return cur

    def parent(self, start: Dentry, path: bytes) -> Parent:
        """Resolve all but the last component of ``path`` (non-empty)."""
        if not path:
            raise ENOENT
        cur = self.ctx.root if path[:1] == b"/" else start
        trailing = path[-1:] == b"/"
        stripped = path.rstrip(b"/")
        if not stripped:
            return Parent(cur, b"", LAST_ROOT, False)
        i = stripped.rfind(b"/")
        last = stripped[i + 1 :]
        d = self._prefix_dir(cur, stripped[:i]) if i > 0 else cur
        if not d.is_dir():
            raise ENOTDIR
        return Parent(d, last, _kind(last), trailing)

    def resolve_last(self, p: Parent) -> Dentry:
        """The dentry a Parent's last component names (not following a
        final symlink); ``.``/``..``/``/`` resolve to directories."""
        if p.kind == LAST_NORM:
            return self.child(p.dir, p.name)
        if p.kind == LAST_DOTDOT:
            return self.ctx.parent_of(p.dir)
        return p.dir


# -- opening ------------------------------------------------------------------------


def open_at(ctx: FSContext, start: Dentry, path: bytes, flags: int, mode: int, umask: int) -> FileDescription:
    """openat(2) after flag normalisation (O_PATH already reduced to
    O_PATH_FLAGS, O_CREAT|O_DIRECTORY already rejected). ``mode`` is the
    raw mode argument. Returns a new description (one reference)."""
    w = Walk(ctx)
    created: FileDescription | None = None
    if flags & O_CREAT:
        created, d = _open_create(w, start, path, flags, mode & 0o7777 & ~umask)
        if created is not None:
            return created
    else:
        d = w.walk(start, path, follow=not flags & O_NOFOLLOW)
    if flags & O_DIRECTORY and not d.is_dir():
        raise ENOTDIR
    if flags & O_PATH:
        return PathFile(flags, d)
    if d.is_symlink():
        raise ELOOP
    acc = flags & O_ACCMODE
    wants_write = acc != O_RDONLY or bool(flags & O_TRUNC)
    if d.is_dir() and wants_write:
        raise EISDIR
    if wants_write and _write_checked(d):
        raise EROFS
    return d.open(flags, ctx)


def _open_create(w: Walk, start: Dentry, path: bytes, flags: int, mode: int) -> tuple[FileDescription | None, Dentry]:
    """The O_CREAT part of open: create the file (returning its new
    description) or find the existing one, following symlinks in the last
    position as Linux does (a dangling link creates its target)."""
    p = w.parent(start, path)
    while True:
        if p.kind != LAST_NORM or p.trailing_slash:
            raise EISDIR
        child = w.child_or_none(p.dir, p.name)
        if child is None:
            if not p.dir.writable:
                raise EROFS
            return p.dir.create(p.name, flags, mode, w.ctx), p.dir
        if flags & O_EXCL:
            raise EEXIST
        if child.is_symlink():
            if flags & O_NOFOLLOW:
                raise ELOOP
            w._count_link()
            target = child.follow_link(w.ctx)
            if isinstance(target, Dentry):
                child = target
            else:
                if not target:
                    raise ENOENT
                p = w.parent(p.dir, target)
                if p.kind != LAST_NORM:
                    d = w.resolve_last(p)
                    if d.is_dir():
                        raise EISDIR
                continue
        if child.is_dir():
            raise EISDIR
        return None, child


# -- directory modifications -------------------------------------------------------


def _create_target(w: Walk, start: Dentry, path: bytes, *, want_dir: bool) -> Parent:
    """Linux ``filename_create``: the parent and name for a new entry."""
    p = w.parent(start, path)
    if p.kind != LAST_NORM:
        raise EEXIST
    if w.child_or_none(p.dir, p.name) is not None:
        raise EEXIST
    if p.trailing_slash and not want_dir:
        raise ENOENT
    if not p.dir.writable:
        raise EROFS
    return p


def mkdir_at(ctx: FSContext, start: Dentry, path: bytes, mode: int, umask: int) -> None:
    w = Walk(ctx)
    p = _create_target(w, start, path, want_dir=True)
    p.dir.mkdir(p.name, mode & 0o7777 & ~umask)


def symlink_at(ctx: FSContext, target: bytes, start: Dentry, path: bytes) -> None:
    if not target:
        raise ENOENT
    w = Walk(ctx)
    p = _create_target(w, start, path, want_dir=False)
    p.dir.symlink(p.name, target)


def link_at(ctx: FSContext, old: Dentry, new_start: Dentry, new_path: bytes) -> None:
    """linkat after the old path was resolved (to ``old``). EROFS when the
    new directory is read-only (Linux's ``filename_create``), then EXDEV
    when ``old`` is on another file system or outside the writable tree
    the new name is in: the default setup's writable working directory is
    a mount of its own for links, as a Linux bind mount would be, so a
    host file outside it never gains a writable name."""
    w = Walk(ctx)
    p = _create_target(w, new_start, new_path, want_dir=False)
    if not old.same_filesystem(p.dir) or not old.writable:
        raise EXDEV
    if old.is_dir():
        raise EPERM
    p.dir.link(p.name, old)


def unlink_at(ctx: FSContext, start: Dentry, path: bytes) -> None:
    w = Walk(ctx)
    p = w.parent(start, path)
    if p.kind != LAST_NORM:
        raise EISDIR
    if not p.dir.writable:
        raise EROFS
    child = w.child(p.dir, p.name)
    if p.trailing_slash or child.is_dir():
        raise EISDIR if child.is_dir() else ENOTDIR
    ctx.vfs.invalidate()
    p.dir.unlink(p.name, child)


def rmdir_at(ctx: FSContext, start: Dentry, path: bytes) -> None:
    w = Walk(ctx)
    p = w.parent(start, path)
    if p.kind == LAST_DOTDOT:
        raise ENOTEMPTY
    if p.kind == LAST_DOT:
        raise EINVAL
    if p.kind == LAST_ROOT:
        raise EBUSY
    if not p.dir.writable:
        raise EROFS
    child = w.child(p.dir, p.name)
    if not child.is_dir():
        raise ENOTDIR
    if ctx.vfs.mounted(p.dir, p.name) is not None:
        raise EBUSY
    ctx.vfs.invalidate()
    p.dir.rmdir(p.name, child)


def rename_at(ctx: FSContext, old_start: Dentry, old_path: bytes, new_start: Dentry, new_path: bytes, flags: int) -> None:
    """renameat2 after flag validation."""
    w = Walk(ctx)
    op = w.parent(old_start, old_path)
    np = w.parent(new_start, new_path)
    if op.kind != LAST_NORM:
        raise EBUSY
    if np.kind != LAST_NORM:
        raise EEXIST if flags & RENAME_NOREPLACE else EBUSY
    if not op.dir.same_filesystem(np.dir) or op.dir.writable != np.dir.writable:
        raise EXDEV  # crossing the writable tree's edge is crossing a mount (see link_at)
    if not op.dir.writable or not np.dir.writable:
        raise EROFS
    old = w.child(op.dir, op.name)
    if not old.is_dir() and (op.trailing_slash or (not flags & RENAME_EXCHANGE and np.trailing_slash)):
        raise ENOTDIR
    new = w.child_or_none(np.dir, np.name)
    if new is not None and flags & RENAME_NOREPLACE:
        raise EEXIST
    if new is None and flags & RENAME_EXCHANGE:
        raise ENOENT
    if ctx.vfs.mounted(op.dir, op.name) is not None or ctx.vfs.mounted(np.dir, np.name) is not None:
        raise EBUSY
    ctx.vfs.invalidate()
    op.dir.rename(op.name, old, np.dir, np.name, flags)


# -- lookups and attributes ------------------------------------------------------------


def lookup_at(ctx: FSContext, start: Dentry, path: bytes, *, follow: bool = True) -> Dentry:
    """The dentry ``path`` names (stat, access, chmod, chdir ...)."""
    return Walk(ctx).walk(start, path, follow=follow)


def readlink_at(ctx: FSContext, start: Dentry, path: bytes) -> bytes:
    d = Walk(ctx).walk(start, path, follow=False) if path else start
    if not d.is_symlink():
        raise EINVAL
    return d.readlink(ctx)


def check_access(d: Dentry, mode: int, effective: bool) -> None:
    """access(2) on a resolved dentry: EROFS for W_OK on a read-only tree,
    then the permission bits (EACCES)."""
    if mode & W_OK and _write_checked(d):
        raise EROFS
    d.access(mode, effective)


def chdir_to(ctx: FSContext, d: Dentry) -> None:
    """Make ``d`` the working directory (ENOTDIR, EACCES)."""
    if not d.is_dir():
        raise ENOTDIR
    d.access(X_OK, False)
    ctx.cwd = d
