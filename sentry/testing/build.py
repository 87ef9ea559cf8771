"""Build static x86-64 guest programs, cached by content hash.

``build_c(source, toolchain)`` compiles a C (``.c``) or assembly (``.S``)
source into a static executable and returns its path. The output lives in a
cache directory under a name derived from a SHA-256 over everything that
decides the result:

* the source text and the text of every local header it includes with
  ``#include "..."`` (found next to the source or in ``include_dirs``,
  followed recursively);
* the full compiler command line (toolchain, flags, extra flags);
* the identity (size and mtime) of the compiler driver, ``gcc`` and the C
  library archive, so upgrading a toolchain rebuilds.

A rebuild with nothing changed costs a few ``stat`` calls and one hash.
Concurrent builders (pytest-xdist workers, parallel ``guests/build.py``
runs) are safe: each compiles into its own temporary file in the cache
directory and publishes it with ``os.replace``, which is atomic; two builders
of the same key write identical files and the last one wins.

Toolchains:

``glibc``
    ``gcc -static``.
``musl``
    ``musl-gcc -static``.
``musl-pie``
    a static PIE against musl: ``musl-gcc -static-pie -fPIE`` with musl's
    self-relocating ``rcrt1.o`` start file and ``--no-dynamic-linker``
    (Debian's ``musl-gcc`` spec file would otherwise link ``Scrt1.o`` and
    request ``/lib/ld-musl-x86_64.so.1`` as interpreter). The result is
    checked to be ``ET_DYN`` without ``PT_INTERP``.
``nolibc``
    ``gcc -nostdlib -static``: for freestanding assembly such as
    ``guests/hello-asm.S``.

The cache directory is ``$SENTRY_BUILD_CACHE`` when set, else
``guests/build/cache`` in the source tree (an editable install), else
``~/.cache/sentry/build``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, get_args

Toolchain = Literal["glibc", "musl", "musl-pie", "nolibc"]
TOOLCHAINS: tuple[Toolchain, ...] = get_args(Toolchain)

#: Flags every build gets before the caller's ``extra_flags``.
DEFAULT_FLAGS: tuple[str, ...] = ("-O2", "-Wall")

#: Bumped when the way outputs are produced changes incompatibly.
_CACHE_VERSION = "sentry-build-v1"

_MUSL_LIB = Path("/usr/lib/x86_64-linux-musl")
_GLIBC_LIB = Path("/usr/lib/x86_64-linux-gnu")

_INCLUDE_RE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)

REPO_ROOT = Path(__file__).resolve().parents[2]


class BuildError(Exception):
    """A guest program could not be built.

    ``cmd`` is the command that failed (empty when no command ran),
    ``stderr`` the compiler's diagnostics.
    """

    def __init__(self, message: str, cmd: Sequence[str] = (), stderr: str = "") -> None:
        self.cmd = list(cmd)
        self.stderr = stderr
        text = message
        if cmd:
            text += "\n  command: " + " ".join(cmd)
        if stderr:
            text += "\n" + stderr.rstrip()
        super().__init__(text)


def default_cache_dir() -> Path:
    """Where ``build_c`` keeps its outputs unless told otherwise."""
    env = os.environ.get("SENTRY_BUILD_CACHE")
    if env:
        return Path(env)
    if (REPO_ROOT / "guests").is_dir() and (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "guests" / "build" / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sentry" / "build"


def _which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BuildError(
            f"{tool} not found; install the toolchains with scripts/setup "
            "(Debian packages gcc, libc6-dev, musl-tools)"
        )
    return path


@functools.cache
def _gcc_file(name: str) -> str:
    """``gcc -print-file-name=NAME`` (crtbeginS.o and friends)."""
    out = subprocess.run(
        [_which("gcc"), f"-print-file-name={name}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return out or name


def compiler_command(
    toolchain: Toolchain,
    source: Path,
    output: Path,
    extra_flags: Sequence[str] = (),
    include_dirs: Sequence[Path] = (),
) -> list[str]:
    """The exact compiler command ``build_c`` runs (also hashed into the key)."""
    incs = [f"-I{d}" for d in include_dirs]
    flags = [*DEFAULT_FLAGS, *incs]
    if toolchain == "glibc":
        return [_which("gcc"), "-static", *flags, "-o", str(output), str(source), *extra_flags]
    if toolchain == "musl":
        return [_which("musl-gcc"), "-static", *flags, "-o", str(output), str(source), *extra_flags]
    if toolchain == "musl-pie":
        return [
            _which("musl-gcc"),
            "-static-pie",
            "-fPIE",
            "-nostartfiles",
            "-Wl,-static,-pie,--no-dynamic-linker,-z,text",
            *flags,
            "-o",
            str(output),
            str(_MUSL_LIB / "rcrt1.o"),
            str(_MUSL_LIB / "crti.o"),
            _gcc_file("crtbeginS.o"),
            str(source),
            *extra_flags,
            _gcc_file("crtendS.o"),
            str(_MUSL_LIB / "crtn.o"),
        ]
    if toolchain == "nolibc":
        return [
            _which("gcc"),
            "-nostdlib",
            "-static",
            *flags,
            "-o",
            str(output),
            str(source),
            *extra_flags,
        ]
    raise ValueError(f"unknown toolchain {toolchain!r}; expected one of {TOOLCHAINS}")


@functools.cache
def _toolchain_identity(toolchain: Toolchain) -> str:
    """Size and mtime of the files that make up a toolchain."""
    paths: list[str] = [_which("gcc")]
    if toolchain in ("musl", "musl-pie"):
        paths += [
            _which("musl-gcc"),
            str(_MUSL_LIB / "libc.a"),
            str(_MUSL_LIB / "musl-gcc.specs"),
        ]
    elif toolchain == "glibc":
        paths.append(str(_GLIBC_LIB / "libc.a"))
    parts = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            parts.append(f"{p}:missing")
            continue
        parts.append(f"{os.path.realpath(p)}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


def _local_headers(text: bytes, search: Sequence[Path]) -> list[tuple[str, bytes]]:
    """Every ``#include "..."`` header reachable from ``text``, with contents."""
    seen: dict[Path, bytes] = {}
    todo: list[tuple[bytes, Sequence[Path]]] = [(text, search)]
    while todo:
        body, dirs = todo.pop()
        for m in _INCLUDE_RE.finditer(body):
            name = m.group(1).decode(errors="replace")
            for d in dirs:
                cand = (d / name).resolve()
                if cand.is_file():
                    if cand not in seen:
                        seen[cand] = cand.read_bytes()
                        todo.append((seen[cand], [cand.parent, *search[1:]]))
                    break
    return sorted((str(p), b) for p, b in seen.items())


def elf_kind(path: Path) -> tuple[int, bool]:
    """``(e_type, has_pt_interp)`` of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            raise BuildError(f"{path} is not a 64-bit ELF file")
        e_type = struct.unpack_from("<H", head, 16)[0]
        e_phoff = struct.unpack_from("<Q", head, 32)[0]
        e_phentsize, e_phnum = struct.unpack_from("<HH", head, 54)
        f.seek(e_phoff)
        table = f.read(e_phentsize * e_phnum)
    has_interp = any(
        struct.unpack_from("<I", table, i * e_phentsize)[0] == 3  # PT_INTERP
        for i in range(e_phnum)
    )
    return e_type, has_interp


def _digest(
    toolchain: Toolchain,
    source_bytes: bytes,
    headers: Iterable[tuple[str, bytes]],
    cmd_template: Sequence[str],
) -> str:
    h = hashlib.sha256()

    def feed(b: bytes) -> None:
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)

    feed(_CACHE_VERSION.encode())
    feed(toolchain.encode())
    feed(_toolchain_identity(toolchain).encode())
    feed("\0".join(cmd_template).encode())
    feed(source_bytes)
    for name, body in headers:
        feed(name.encode())
        feed(body)
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _is_source_text(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and ("\n" in source or "{" in source)


def build_c(
    source: str | os.PathLike[str],
    toolchain: Toolchain = "glibc",
    extra_flags: Sequence[str] = (),
    *,
    name: str | None = None,
    language: Literal["c", "asm"] | None = None,
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Compile ``source`` into a static executable; return its cached path.

    ``source`` is a path (``Path`` or ``str``) to a ``.c`` or ``.S`` file, or
    the program text itself (a ``str`` containing a newline or ``{``).
    ``extra_flags`` go after the source (so ``-lm`` works). ``name`` is the
    stem of the output file (default: the source's stem, or ``program``).
    ``language`` overrides detection from the suffix (text defaults to C).

    Raises :class:`BuildError` with the compiler's stderr when compilation
    fails or a tool is missing.
    """
    if toolchain not in TOOLCHAINS:
        raise ValueError(f"unknown toolchain {toolchain!r}; expected one of {TOOLCHAINS}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    incs = [Path(d).resolve() for d in include_dirs]

    src_path: Path | None
    if _is_source_text(source):
        text = str(source).encode()
        src_path = None
        lang = language or "c"
        stem = name or "program"
        search = [Path.cwd(), *incs]
    else:
        src_path = Path(source).resolve()
        try:
            text = src_path.read_bytes()
        except OSError as e:
            raise BuildError(f"cannot read source {source}: {e.strerror}") from e
        lang = language or ("asm" if src_path.suffix in (".S", ".s", ".sx") else "c")
        stem = name or src_path.stem
        search = [src_path.parent, *incs]
    suffix = ".S" if lang == "asm" else ".c"

    template = compiler_command(toolchain, Path("@SRC@" + suffix), Path("@OUT@"), extra_flags, incs)
    digest = _digest(toolchain, text, _local_headers(text, search), template)
    out = cache / f"{stem}.{toolchain}.{digest[:20]}"
    if out.is_file():
        return out

    if src_path is None:
        src_path = cache / f"{stem}.{digest[:20]}{suffix}"
        if not src_path.is_file():
            _atomic_write(src_path, text)

    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{stem}-", dir=cache)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        cmd = compiler_command(toolchain, src_path, tmp, extra_flags, incs)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
        if proc.returncode != 0:
            raise BuildError(
                f"compiling {source if not _is_source_text(source) else stem} "
                f"with {toolchain} failed (exit {proc.returncode})",
                cmd,
                proc.stderr,
            )
        if toolchain == "musl-pie":
            e_type, interp = elf_kind(tmp)
            if e_type != 3 or interp:
                raise BuildError(
                    f"musl-pie build of {stem} is not a static PIE "
                    f"(e_type={e_type}, PT_INTERP={'yes' if interp else 'no'})",
                    cmd,
                )
        tmp.chmod(0o755)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
