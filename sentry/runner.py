"""Boot a kernel with one program and run it to the end (the ``runsc`` part
of ``run-guest``; the CLI only parses options)."""

from __future__ import annotations

import os
import resource
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from sentry import hostfd
from sentry.abi.misc import RLIMIT_NOFILE
from sentry.abi.signals import SIGBUS, SIGSEGV, signal_name
from sentry.fsimpl.host import HostFile
from sentry.fsimpl.host.fs import DIR_CACHE_SIZE
from sentry.fsimpl.root import build_root
from sentry.kernel.fd_table import FDTable
from sentry.kernel.kernel import Kernel, SyscallTracer
from sentry.kernel.task import ThreadGroup
from sentry.linuxerr import EACCES, ENOENT, Errno
from sentry.loader import LoadError, LoadResult, load
from sentry.memfile import MemoryFile
from sentry.mm import MemoryManager
from sentry.syscalls.linux.sys_exec import interpreter_opener
from sentry.syscalls.linux.table import build_table
from sentry.vfs.context import FSContext
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import O_RDONLY, O_RDWR, O_WRONLY, FileDescription
from sentry.vfs.resolve import lookup_at

if TYPE_CHECKING:
    from sentry.fsimpl.devpts.host import HostTerminal


def _setup_fs(tg: ThreadGroup, fs: FSContext) -> None:
    """Give ``tg`` the guest's tree, working directory and umask. The host
    umask becomes the guest's and the sentry's own becomes 0: the sentry
    applies the guest's umask itself when it creates host files."""
    fs.owner = tg
    tg.fs = fs
    tg.cwd = fs.path_of(fs.cwd).decode("utf-8", "surrogateescape")
    tg.umask = os.umask(0)


def _attach_host_terminal(fs: FSContext) -> HostTerminal | None:
    """The guest's own terminal when run-guest's stdin is a host terminal
    (``sentry.fsimpl.devpts.host``), else None."""
    from sentry.fsimpl.devpts.host import attach
    from sentry.fsimpl.devpts.nodes import PtsDir

    try:
        pts = lookup_at(fs, fs.root, b"/dev/pts")
    except Errno:
        return None
    if not isinstance(pts, PtsDir):
        return None
    return attach(None, pts.registry, os.getuid())


def _make_controlling(tg: ThreadGroup, host_term: HostTerminal) -> None:
    """The first process leads the session the guest's terminal controls."""
    from sentry.fsimpl.devpts import acquire_controlling

    acquire_controlling(host_term.term, tg)


def _stdio_table(fs: FSContext, root: str | None, limit: int, host_term: HostTerminal | None = None) -> FDTable:
    """fds 0-2 are the host's stdio, never closed on the host; ``limit``
    is the guest's RLIMIT_NOFILE (``_guest_nofile``). A redirected regular file that lies in the guest's
    writable tree gets its dentry (it is that file, metadata and all); any
    other stdio has none: its data moves as its description allows,
    reopening grants no more, and its metadata stays unchanged (a file in
    the read-only rest keeps its path's EROFS for opening it by name)."""
    table = FDTable()
    table.limit = limit
    for fd, flags in ((0, O_RDONLY), (1, O_WRONLY), (2, O_WRONLY)):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        acc = _host_access(fd, flags)
        f: FileDescription
        if host_term is not None and os.isatty(fd):
            # The host terminal itself stays run-guest's; the guest gets
            # its own terminal backed by it.
            f = host_term.open_replica(acc)
        else:
            dentry = _stdio_dentry(fd, st, fs, root) if stat.S_ISREG(st.st_mode) else None
            f = HostFile(fd, acc, owns_fd=False, dentry=dentry)
        table.new_fd(f, min_fd=fd)
        f.dec_ref()
    return table


def _stdio_dentry(fd: int, st: os.stat_result, fs: FSContext, root: str | None) -> Dentry | None:
    """The guest's dentry for the host file open as ``fd``: its host path
    walked in the guest's tree, kept only if it is the same file (device
    and inode), else None (outside the root, deleted, renamed)."""
    try:
        host_path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    if not host_path.startswith("/"):
        return None
    try:
        d = lookup_at(fs, fs.root, os.fsencode(guest_path(host_path, root)))
        dst = d.stat()
    except Errno:
        return None
    same = (dst.st_dev, dst.st_ino) == (st.st_dev, st.st_ino) and d.is_regular()
    return d if same and d.writable else None


def _guest_nofile() -> tuple[int, int]:
    """The guest's RLIMIT_NOFILE (soft, hard): the host's as the user set it.
    The sentry raises its own to the hard limit so the guest's table fills
    before the host runs out; where the host cannot go higher, the guest
    gets what is left after the sentry's reserve, its cached directory
    handles and the descriptors it already holds (see sentry.hostfd)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    guest = hostfd.raise_limit()
    host = hostfd.limit()
    in_use = len(os.listdir("/proc/self/fd"))
    later = min(32, host // 8)  # the sentry's own yet to come: executables' dups, /dev/urandom, mappings
    room = host - hostfd.reserve() - min(DIR_CACHE_SIZE, host // 8) - in_use - later
    soft = max(min(guest, room, 1 << 20), 3)
    return soft, hard if hard != resource.RLIM_INFINITY else (1 << 64) - 1


def _host_access(fd: int, default: int) -> int:
    import fcntl

    try:
        fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        return default
    return fl & (O_RDONLY | O_WRONLY | O_RDWR | 0o2000 | 0o4000 | 0o100000)  # + O_APPEND, O_NONBLOCK, O_LARGEFILE


def _write_stats(path: str, kernel: Kernel, mm: MemoryManager) -> None:
    """``--stats FILE``: the initial address space's memory-path counters
    (mm faults, COW breaks, pmas; Unicorn maps, unmaps, peak regions; memory
    file bytes) as JSON, for ``scripts/bench`` and curious users. Processes
    forked later have their own counters, not included yet."""
    import dataclasses
    import json

    mf = kernel.mf
    doc = {
        "mm": dataclasses.asdict(mm.counters),
        "platform": mm.address_space.counters.as_dict(),
        "memfile": {
            "bytes_allocated": mf.bytes_allocated,
            "bytes_freed": mf.bytes_freed,
            "bytes_in_use": mf.bytes_in_use,
            "allocations": mf.allocations,
            "file_size": mf.file_size,
        },
        "unknown_syscalls": sorted(kernel.unknown_syscalls_seen),
        "internal_errors": len(kernel.internal_errors),
    }
    try:
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    except OSError as e:
        print(f"run-guest: --stats {path}: {e.strerror}", file=sys.stderr)


def guest_path(path: str, root: str | None) -> str:
    """The guest's name for the host file ``path`` (what /proc/self/exe and
    /proc/self/maps show): its absolute path, made relative to ``root``
    when the guest runs in one and the file lies inside it; a file outside
    the root keeps its host path (the guest has no name for it)."""
    shown = os.path.abspath(path)
    if root is None:
        return shown
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    rel = os.path.relpath(real, real_root)
    if rel == ".." or rel.startswith("../"):
        return shown
    return "/" if rel == "." else "/" + rel


DEFAULT_SEARCH_PATH = "/bin:/usr/bin"
"""Where a program name without a slash is looked for when the guest's
environment has no PATH (glibc ``execvp``'s default)."""


def find_program(fs: FSContext, name: str, search_path: str | None) -> str:
    """The guest path ``execvp`` would run for ``name``: ``name`` itself
    when it holds a slash, else the first ``dir/name`` along
    ``search_path`` (colon-separated; an empty element is the working
    directory; :data:`DEFAULT_SEARCH_PATH` when None) that is an
    executable non-directory in the guest's tree. Raises LoadError:
    EACCES when only non-executable candidates exist (as ``execvp``
    remembers), else ENOENT ("command not found")."""
    if "/" in name:
        return name
    opener = interpreter_opener(fs)
    denied = False
    for directory in (DEFAULT_SEARCH_PATH if search_path is None else search_path).split(":"):
        candidate = f"{directory}/{name}" if directory else name
        try:
            fd, _ = opener(os.fsencode(candidate))
        except Errno as e:
            denied = denied or e is EACCES
            continue
        os.close(fd)
        return candidate
    if denied:
        raise LoadError(f"{name}: permission denied", EACCES)
    raise LoadError(f"{name}: command not found", ENOENT)


def _load_initial(mm: MemoryManager, fs: FSContext, program: str, argv: list[str], envv: list[bytes],
                  root: str | None, search_path: str | None) -> tuple[LoadResult, str]:
    """Load the first program as ``execvp(program, argv)`` would; returns
    the image and the filename execve got. A name with a slash is a host
    path (under ``--root`` too, where the guest name is derived from it);
    a bare name is looked up along the guest's PATH in the guest's tree."""
    args = [a.encode() for a in argv]
    opener = interpreter_opener(fs)
    if "/" in program:
        return load(mm, program, args, envv, execfn=os.fsencode(program), name=guest_path(program, root),
                    open_interpreter=opener), program
    filename = find_program(fs, program, search_path)
    try:
        fd, name = opener(os.fsencode(filename))
    except Errno as e:
        raise LoadError(f"{filename}: {e.message}", e) from None
    try:
        return load(mm, f"/proc/self/fd/{fd}", args, envv, execfn=os.fsencode(filename), name=name,
                    open_interpreter=opener), filename
    finally:
        os.close(fd)


def run_program(
    path: str,
    argv: list[str],
    env: dict[str, str],
    *,
    strace_out: TextIO | None = None,
    root: str | None = None,
    stats_out: str | None = None,
) -> int:
    """Load ``path`` and run it; returns the exit status for the shell
    (128+signal when a signal killed the guest). ``path`` is found along
    the guest's PATH (``env["PATH"]``) when it holds no slash, and may be
    a ``#!`` script; 127 when it is not found, 126 when it cannot run.

    ``root`` is the host directory the guest sees as ``/`` (``--root``);
    without it the guest sees the host's ``/`` read-only with the working
    directory and below writable (see ``sentry.fsimpl.root``). A root that
    cannot be opened is a one-line error and status 2. ``stats_out``
    (``--stats``) names a file that receives the run's memory-path counters
    as JSON (see ``_write_stats``)."""
    if root is not None and not os.path.isdir(root):
        print(f"run-guest: --root {root}: not a directory", file=sys.stderr)
        return 2
    tracer = None
    if strace_out is not None:
        from sentry.strace import StraceTracer

        tracer = StraceTracer(strace_out)
    scratch = tempfile.mkdtemp(prefix="run-guest-")
    try:
        return _boot_and_run(path, argv, env, strace_out, tracer, root, stats_out, scratch)
    finally:
        _remove_scratch(scratch)


def _remove_scratch(scratch: str) -> None:
    """Delete the private /tmp and /dev/shm, whatever modes the guest left
    on its directories (symlinks are removed, never followed)."""

    def retry_writable(func: Callable[..., object], path: str, _exc: object) -> None:
        parent = os.path.dirname(path)
        os.chmod(parent, 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            shutil.rmtree(path, onerror=retry_writable)
        else:
            func(path)

    try:
        shutil.rmtree(scratch, onerror=retry_writable)
    except OSError as e:
        print(f"run-guest: cannot remove the guest's /tmp ({scratch}): {e.strerror}", file=sys.stderr)


def _boot_and_run(
    path: str,
    argv: list[str],
    env: dict[str, str],
    strace_out: TextIO | None,
    tracer: SyscallTracer | None,
    root: str | None,
    stats_out: str | None,
    scratch: str,
) -> int:
    """run_program's body, with the private scratch directory made."""
    kernel = Kernel(build_table(), MemoryFile(), tracer=tracer)
    mm = kernel.new_memory_manager()
    envv = [f"{k}={v}".encode() for k, v in env.items()]
    fs = build_root(root, mf=kernel.mf, scratch=scratch)
    try:
        image, filename = _load_initial(mm, fs, path, argv, envv, root, env.get("PATH"))
    except LoadError as e:
        print(f"run-guest: {e}", file=sys.stderr)
        if e.fatal:  # Linux kills the new program with SIGSEGV here
            print(f"run-guest: guest killed by {signal_name(SIGSEGV)}", file=sys.stderr)
            return 128 + SIGSEGV
        return 127 if e.errno is ENOENT else 126
    cpu = mm.address_space.new_context()
    cpu.rip = image.entry
    cpu.rsp = image.stack_pointer
    nofile = _guest_nofile()
    host_term = _attach_host_terminal(fs)
    task = kernel.create_process(mm, _stdio_table(fs, root, nofile[0], host_term), cpu)
    if host_term is not None:
        _make_controlling(task.tg, host_term)
        kernel.input_sources.append(host_term)
        host_term.start(kernel.poke, kernel.idle_wakeup.set)
    task.tg.rlimits[RLIMIT_NOFILE] = nofile  # not the sentry's raised one
    task.comm = os.fsencode(filename).rsplit(b"/", 1)[-1][:15]
    _setup_fs(task.tg, fs)
    if strace_out is not None:
        strace_out.write(f'execve("{filename}", {argv!r}, {len(envv)} vars) = 0\n'.replace("'", '"'))
    try:
        try:
            kernel.run()
        finally:
            if host_term is not None:
                host_term.stop()
    except KeyboardInterrupt:
        print("run-guest: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a sentry bug outside a syscall handler
        import traceback

        from sentry.logs import get_logger

        get_logger("sentry.runner").debug("internal error traceback", traceback="".join(traceback.format_exception(exc)))
        print(f"run-guest: internal error: {exc!r} (rerun with --log-level debug for the traceback)",
              file=sys.stderr)
        return 70  # EX_SOFTWARE
    if stats_out is not None:
        _write_stats(stats_out, kernel, mm)
    tg = task.tg
    status = tg.exit_status or 0
    if tg.fatal_signal:
        sig = tg.fatal_signal
        detail = ""
        if sig in (SIGSEGV, SIGBUS) and tg.fault_addr is not None:
            detail = f" (address {tg.fault_addr:#x})"
        print(f"run-guest: guest killed by {signal_name(sig)}{detail}", file=sys.stderr)
        if strace_out is not None:
            strace_out.write(f"+++ killed by {signal_name(sig)} +++\n")
        return 128 + sig
    code = (status >> 8) & 0xFF
    if strace_out is not None:
        strace_out.write(f"+++ exited with {code} +++\n")
    return code


