"""Loading a program into a MemoryManager (gVisor ``loader/loader.go``
and ``loader/elf.go``; Linux ``load_elf_binary`` and ``load_script``).

:func:`load` opens a host file, validates it completely (nothing is mapped
before the file is known to be loadable), maps its PT_LOAD segments as
private file mappings (pages arrive lazily on first touch and are copied on
write), zeroes the bss part of the last file page, maps the rest of the bss
as anonymous memory, places the break after the highest segment, maps an
8 MiB ``[stack]`` below ``layout.stack_top`` and writes argv, envp, the
auxiliary vector and the strings onto it exactly as Linux does.

Supported: ELF64 little-endian x86-64 ``ET_EXEC`` (static), ``ET_DYN``
(static-pie, loaded at ``layout.pie_base`` minus the first segment's page,
i.e. Linux's ``ELF_ET_DYN_BASE`` with ASLR off), either with a PT_INTERP
program interpreter (dynamically linked), and ``#!`` interpreter scripts.

Divergence from Linux: since 5.10 Linux loads an ET_DYN *without*
interpreter (a static-pie or ld.so run directly) in the mmap area rather
than at ``ELF_ET_DYN_BASE``; we use ``pie_base`` (gVisor's choice too),
which keeps the break far from the mmap area. A position-independent
program cannot tell.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sentry.hostarch import PAGE_SIZE, AccessType
from sentry.hostfd import room
from sentry.linuxerr import EACCES, ELOOP, ENOMEM, ETXTBSY, Errno, errno_of
from sentry.loader.auxv import (
    AT_BASE,
    AT_CLKTCK,
    AT_EGID,
    AT_ENTRY,
    AT_EUID,
    AT_EXECFN,
    AT_FLAGS,
    AT_GID,
    AT_HWCAP,
    AT_HWCAP2,
    AT_MINSIGSTKSZ,
    AT_PAGESZ,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_PLATFORM,
    AT_RANDOM,
    AT_SECURE,
    AT_SYSINFO_EHDR,
    AT_UID,
    CLOCKS_PER_SEC,
    DEFAULT_HWCAP,
)
from sentry.loader.elf import PHDR_SIZE, ElfInfo, parse_elf
from sentry.loader.errors import LoadError
from sentry.loader.script import (
    BINPRM_BUF_SIZE,
    MAX_DEPTH,
    check_accessible,
    is_script,
    parse_shebang,
    script_argv,
)
from sentry.loader.segments import choose_bias, map_or_fail, map_segment, page_up
from sentry.loader.stack import RANDOM_SIZE, STK_LIM, StackImage, build_stack, check_args
from sentry.memmap.mappable import HostFileMappable
from sentry.memmap.write_access import has_writers
from sentry.mm import MemoryManager
from sentry.usermem import IOOpts

DEFAULT_STACK_SIZE = STK_LIM
"""Size of the ``[stack]`` mapping (and the stack limit for E2BIG): 8 MiB."""

_PAGE_MASK = ~(PAGE_SIZE - 1)

GuestOpener = Callable[[bytes], tuple[int, str]]
"""Opens a program or interpreter by its guest path for execution: returns
a new host fd for it (the loader closes it) and its guest name (what
/proc/self/exe and /proc/self/maps show). The caller resolves the path in
the guest's file system, so a sandboxed root applies, and checks execute
permission (EACCES for a directory or a non-executable file); it raises
the walk's Errno otherwise."""


class AuxvIds(NamedTuple):
    """The ids reported in AT_UID, AT_EUID, AT_GID, AT_EGID."""

    uid: int
    euid: int
    gid: int
    egid: int

    @classmethod
    def of_host(cls) -> AuxvIds:
        """The sentry process's own ids."""
        return cls(os.getuid(), os.geteuid(), os.getgid(), os.getegid())


@dataclass(frozen=True)
class LoadResult:
    """Where a loaded program starts and what was mapped.

    ``entry`` is where execution begins (rip) and ``stack_pointer`` the
    initial rsp, which points at argc and is 16-byte aligned; every other
    register starts at zero (rdx = 0: no atexit function, as Linux). Addresses
    are biased: ``load_bias`` is 0 for ET_EXEC and the displacement applied
    to every p_vaddr for a static-pie (``is_pie``). ``brk_start`` is the
    initial break (already given to ``mm.set_brk_start``). ``phdr_addr`` is
    AT_PHDR (0 if no segment maps the program headers). ``auxv`` is the
    auxiliary vector without AT_NULL (also stored in ``mm.metadata``).
    ``start`` is the page-aligned lowest mapped address of the program and
    ``end`` the (unaligned) end of its highest segment. ``stack`` is the
    initial stack as written (every address in it).
    """

    entry: int
    stack_pointer: int
    brk_start: int
    load_bias: int
    phdr_addr: int
    phnum: int
    is_pie: bool
    exec_stack: bool
    start: int
    end: int
    stack: StackImage
    auxv: tuple[tuple[int, int], ...]

    @property
    def random_addr(self) -> int:
        """Address of the 16 AT_RANDOM bytes."""
        return self.stack.random_addr

    @property
    def execfn_addr(self) -> int:
        """Address of the AT_EXECFN string."""
        return self.stack.execfn_addr


def _open(path: str, name: str) -> tuple[int, os.stat_result]:
    """Open ``path`` for loading: a regular, readable, executable file.

    Raises LoadError with ENOENT/ENOTDIR/ELOOP/... from the host open,
    EACCES for a non-regular file (a directory, a device) or missing
    execute permission.
    """
    try:
        room()
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except Errno as e:
        raise LoadError(f"{name}: cannot open: {e.message}", e) from None
    except OSError as e:
        err = errno_of(e)
        raise LoadError(f"{name}: cannot open: {e.strerror or err.message}", err)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise LoadError(f"{name}: is {kind}", EACCES)
        if not os.access(path, os.X_OK):
            raise LoadError(f"{name}: permission denied (not executable)", EACCES)
        if has_writers((st.st_dev, st.st_ino)):
            raise LoadError(f"{name}: text file busy (open for writing)", ETXTBSY)
        os.set_blocking(fd, True)
    except OSError as e:
        os.close(fd)
        raise LoadError(f"{name}: {e.strerror or e}", errno_of(e))
    except LoadError:
        os.close(fd)
        raise
    return fd, st


def _open_guest(opener: GuestOpener, path: bytes, what: str) -> tuple[int, os.stat_result, str]:
    """Open ``path`` in the guest's file system for execution through
    ``opener``; returns (host fd, its stat, its guest name). Errors are
    LoadErrors naming ``what``."""
    try:
        given, guest_name = opener(path)
    except Errno as e:
        raise LoadError(f"{what}: {e.message}", e) from None
    try:
        fd, st = _open(f"/proc/self/fd/{given}", guest_name)
    finally:
        os.close(given)
    return fd, st, guest_name


def _open_interpreter(opener: GuestOpener, interp: bytes, name: str) -> tuple[int, ElfInfo, str]:
    """Open and check the program interpreter (Linux: ELIBBAD-like errors
    are reported as ENOEXEC). Returns (host fd, parsed ELF, guest name)."""
    shown = interp.decode("utf-8", "replace")
    fd, st, guest_name = _open_guest(opener, interp, f"{name}: interpreter {shown}")
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            info = parse_elf(f, shown, st.st_size)
        if info.interpreter is not None or not info.is_dyn:
            raise LoadError(f"{name}: interpreter {shown} is not a position-independent ELF without an interpreter")
    except BaseException:
        os.close(fd)
        raise
    return fd, info, guest_name


class _Program(NamedTuple):
    """The binary an exec finally loads, after any ``#!`` interpreters."""

    fd: int
    st: os.stat_result
    name: str
    argv: list[bytes]


def _resolve_scripts(
    opener: GuestOpener | None,
    fd: int,
    st: os.stat_result,
    name: str,
    argv: Sequence[bytes],
    filename: bytes,
    inaccessible: bool,
) -> _Program:
    """Follow ``#!`` lines from the file open as ``fd`` (Linux
    ``load_script`` inside ``exec_binprm``'s loop) to the binary that is
    finally loaded, rewriting argv on the way. Takes ownership of ``fd``:
    it is closed unless it is the result's. ``filename`` is the script
    name the first interpreter receives; ``inaccessible`` says it will not
    name the file after the exec (ENOENT then, as Linux)."""
    depth = 0
    args = list(argv)
    try:
        while True:
            head = os.pread(fd, BINPRM_BUF_SIZE, 0)
            if not is_script(head):
                return _Program(fd, st, name, args)
            depth += 1
            shebang = parse_shebang(head, name)
            check_accessible(name, inaccessible)
            if opener is None:
                line = b" ".join(x for x in shebang if x is not None).decode("utf-8", "replace")
                raise LoadError(f"{name} is an interpreter script (#!{line}); running one needs the guest's file system")
            args = script_argv(shebang, filename, args)
            filename = shebang.interpreter
            shown = shebang.interpreter.decode("utf-8", "replace")
            new_fd, st, name = _open_guest(opener, shebang.interpreter, f"{name}: interpreter {shown}")
            os.close(fd)
            fd = new_fd
            if depth > MAX_DEPTH:
                raise LoadError(f"{name}: more than {MAX_DEPTH} nested #! interpreters", ELOOP)
    except OSError as e:
        os.close(fd)
        raise LoadError(f"{name}: cannot read: {e.strerror or e}", errno_of(e))
    except BaseException:
        os.close(fd)
        raise


def load(
    mm: MemoryManager,
    path: str,
    argv: Sequence[bytes],
    envv: Sequence[bytes],
    *,
    execfn: bytes | None = None,
    rng: Callable[[int], bytes] = os.urandom,
    name: str | None = None,
    stack_size: int = DEFAULT_STACK_SIZE,
    credentials: AuxvIds | None = None,
    hwcap: int = DEFAULT_HWCAP,
    hwcap2: int = 0,
    minsigstksz: int | None = None,
    sysinfo_ehdr: int | None = None,
    open_interpreter: GuestOpener | None = None,
    script_inaccessible: bool = False,
) -> LoadResult:
    """Load the executable at host path ``path`` into ``mm``.

    A dynamically linked program (PT_INTERP) and an interpreter script
    (``#!``, see :mod:`sentry.loader.script`) need ``open_interpreter``, a
    :data:`GuestOpener`; without it they are LoadErrors. A script's
    interpreters are followed (the argument vector rewritten as Linux
    does, the script's filename being ``execfn``) to the ELF finally
    loaded; ``script_inaccessible`` makes a script ENOENT (its
    ``/dev/fd/N/...`` name dies with a close-on-exec fd). The ELF
    interpreter (an ET_DYN without an interpreter of its own) is mapped
    just below the top-down mmap base, AT_BASE names it, and the result's
    entry is its entry point, as Linux's ``load_elf_binary`` does.

    ``mm`` should be fresh (nothing mapped where the program and its stack
    go; existing mappings there are replaced). ``argv``/``envv`` are the
    strings without NULs; ``execfn`` is the filename given to execve
    (AT_EXECFN; default ``name``); ``rng(16)`` supplies the AT_RANDOM
    bytes; ``name`` is the guest-visible path of the executable, shown in
    /proc/pid/maps and recorded as ``mm.metadata.executable`` (default
    ``path``; for a script, the guest name of the binary finally loaded). ``credentials`` fill AT_UID/AT_EUID/AT_GID/AT_EGID (default:
    the host process's ids). ``hwcap``/``hwcap2`` are AT_HWCAP/AT_HWCAP2.
    ``minsigstksz`` adds AT_MINSIGSTKSZ and ``sysinfo_ehdr`` AT_SYSINFO_EHDR
    (a vDSO), where Linux's ARCH_DLINFO puts them, when given.

    On success the program is mapped, ``mm``'s break starts after it,
    ``mm.metadata`` holds the argv/envp string bounds, the auxv and the
    executable name, and the result says where to start. Raises
    :class:`LoadError` (one-line message, ``errno`` the execve error) and
    nothing else for any bad file or argument list; validation failures
    leave ``mm`` untouched, while a mapping failure after validation (ENOMEM
    from the memory manager) leaves it partly populated: discard it.
    ValueError/TypeError for caller bugs (NUL in a string, str for bytes).
    """
    shown = name if name is not None else path
    fd, st = _open(path, shown)
    filename = execfn if execfn is not None else os.fsencode(shown)
    fd, st, shown, args = _resolve_scripts(open_interpreter, fd, st, shown, argv, filename, script_inaccessible)
    interp_fd = -1
    try:
        try:
            check_args(args, envv, filename, stack_size)
        except LoadError as e:
            raise LoadError(f"{shown}: {e}", e.err)
        try:
            with os.fdopen(os.dup(fd), "rb") as f:
                info = parse_elf(f, shown, st.st_size)
        except OSError as e:
            raise LoadError(f"{shown}: cannot read: {e.strerror or e}", errno_of(e))
        interp_info: ElfInfo | None = None
        if info.interpreter is not None:
            interp = info.interpreter.decode("utf-8", "replace")
            if open_interpreter is None:
                raise LoadError(
                    f"{shown} is dynamically linked (interpreter {interp}); "
                    "dynamic executables are not supported here"
                )
            interp_fd, interp_info, interp_name = _open_interpreter(open_interpreter, info.interpreter, shown)
        bias = choose_bias(mm, info, shown)
        random_bytes = rng(RANDOM_SIZE)
        creds = credentials or AuxvIds.of_host()
        phdr_addr = bias + info.phdr_vaddr if info.phdr_vaddr is not None else 0
        entry = bias + info.entry
        interp_bias = 0
        if interp_info is not None:
            span = page_up(interp_info.end) - (interp_info.start & _PAGE_MASK)
            interp_bias = ((mm.layout.top_down_base - span) & _PAGE_MASK) - (interp_info.start & _PAGE_MASK)
        auxv: list[tuple[int, int | None]] = []
        if sysinfo_ehdr is not None:
            auxv.append((AT_SYSINFO_EHDR, sysinfo_ehdr))
        if minsigstksz is not None:
            auxv.append((AT_MINSIGSTKSZ, minsigstksz))
        auxv += [
            (AT_HWCAP, hwcap),
            (AT_PAGESZ, PAGE_SIZE),
            (AT_CLKTCK, CLOCKS_PER_SEC),
            (AT_PHDR, phdr_addr),
            (AT_PHENT, PHDR_SIZE),
            (AT_PHNUM, info.phnum),
            (AT_BASE, interp_bias),
            (AT_FLAGS, 0),
            (AT_ENTRY, entry),
            (AT_UID, creds.uid),
            (AT_EUID, creds.euid),
            (AT_GID, creds.gid),
            (AT_EGID, creds.egid),
            (AT_SECURE, 0),
            (AT_RANDOM, None),
            (AT_HWCAP2, hwcap2),
            (AT_EXECFN, None),
            (AT_PLATFORM, None),
        ]
        image = build_stack(
            mm.layout.stack_top,
            args,
            envv,
            filename,
            random_bytes,
            auxv,
            stack_limit=stack_size,
        )
        if image.top - image.sp > stack_size:
            raise LoadError(f"{shown}: initial stack of {image.top - image.sp} bytes exceeds the stack size", ENOMEM)

        # Point of no return: from here on mm changes.
        mm.set_executable_file((st.st_dev, st.st_ino))
        mappable = HostFileMappable(fd, shown, False)
        mapped_end = 0
        for ph in info.loads:
            if ph.memsz:
                mapped_end = map_segment(mm, mappable, ph, bias, mapped_end, shown)
        brk = page_up(bias + info.end)
        mm.set_brk_start(brk)
        start_pc = entry
        if interp_info is not None:
            interp_mappable = HostFileMappable(interp_fd, interp_name, False)
            mapped_end = 0
            for ph in interp_info.loads:
                if ph.memsz:
                    mapped_end = map_segment(mm, interp_mappable, ph, interp_bias, mapped_end, interp_name)
            start_pc = interp_bias + interp_info.entry

        stack_perms = AccessType(True, True, info.exec_stack)
        map_or_fail(mm, shown, "the stack", image.top - stack_size, stack_size, stack_perms,
              grows_down=True, vma_name="[stack]")
        n, err = mm.copy_out(image.sp, image.data, IOOpts())
        if err is not None:
            raise LoadError(f"{shown}: cannot write the initial stack at {image.sp + n:#x}: {err}",
                            err if isinstance(err, Errno) else ENOMEM)
    finally:
        os.close(fd)
        if interp_fd >= 0:
            os.close(interp_fd)

    md = mm.metadata
    md.argv_start, md.argv_end = image.arg_start, image.arg_end
    md.envv_start, md.envv_end = image.env_start, image.env_end
    md.auxv = list(image.auxv)
    md.executable = shown
    md.start_stack = image.sp
    return LoadResult(
        entry=start_pc,
        stack_pointer=image.sp,
        brk_start=brk,
        load_bias=bias,
        phdr_addr=phdr_addr,
        phnum=info.phnum,
        is_pie=info.is_dyn,
        exec_stack=info.exec_stack,
        start=(bias + info.start) & _PAGE_MASK,
        end=bias + info.end,
        stack=image,
        auxv=image.auxv,
    )
