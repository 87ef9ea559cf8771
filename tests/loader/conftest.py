"""Fixtures for the loader tests: guest programs compiled at test time into
a session temporary directory, a MemoryManager over a recording fake
AddressSpace, and native runs of a stack-dumping program under
``setarch -R`` (address-space randomisation off) to compare with."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from loader_support import LAUNCH_C, NativeStack, RecordingAddressSpace, compiler_command

if TYPE_CHECKING:
    from sentry.memfile import MemoryFile
    from sentry.mm import MemoryManager


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``build(source_text, kind, name, extra=())`` compiles into a session
    temporary directory (memoised) and returns the path; skips the test
    when the toolchain is missing."""
    root = tmp_path_factory.mktemp("guests")
    cache: dict[tuple[str, str, tuple[str, ...]], Path] = {}

    def _build(source: str, kind: str, name: str, extra: Sequence[str] = (), suffix: str = ".c") -> Path:
        key = (source, kind, tuple(extra))
        if key in cache:
            return cache[key]
        tool = "musl-gcc" if kind.startswith("musl") else "gcc"
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
        src = root / f"{name}{suffix}"
        src.write_text(source)
        out = root / (f"{name}.{kind}" + ("" if not extra else f".{len(cache)}"))
        proc = subprocess.run(compiler_command(kind, src, out, extra), capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot build {name} with {kind}: {proc.stderr.strip()[:300]}")
        cache[key] = out
        return out

    return _build


@pytest.fixture(scope="session")
def memory_file() -> MemoryFile:
    from sentry.memfile import MemoryFile

    return MemoryFile()


@pytest.fixture
def new_mm(memory_file: MemoryFile) -> Iterator[Callable[[], MemoryManager]]:
    """A factory of fresh MemoryManagers over recording address spaces
    (``mm.address_space.calls``)."""
    from sentry.mm import MemoryManager

    made: list[MemoryManager] = []

    def _new() -> MemoryManager:
        mm = MemoryManager(memory_file, RecordingAddressSpace)
        made.append(mm)
        return mm

    yield _new
    for mm in made:
        mm.release()


@pytest.fixture(scope="session")
def native_run(build: Callable[..., Path]) -> Callable[..., NativeStack]:
    """``native_run(program, argv, envv, execfn=None)``: run ``program`` via
    execve with exactly these argv/envp under ``setarch -R`` and parse its
    stack dump. Skips when randomisation cannot be turned off."""
    launcher = build(LAUNCH_C, "glibc", "launch")
    setarch = shutil.which("setarch")
    if setarch is None or subprocess.run([setarch, "x86_64", "-R", "true"]).returncode != 0:
        pytest.skip("setarch -R unavailable")

    def _run(program: Path, argv: Sequence[bytes], envv: Sequence[bytes], execfn: bytes | None = None) -> NativeStack:
        cmd: list[bytes | str] = [setarch, "x86_64", "-R", str(launcher), execfn or os.fsencode(program),
                                  str(len(argv)), *argv, *envv]
        proc = subprocess.run(cmd, capture_output=True, env={}, check=True)
        out = proc.stdout.decode()
        sp = top = 0
        auxv: list[tuple[int, int]] = []
        mem = b""
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            if word == "sp":
                sp = int(rest, 16)
            elif word == "top":
                top = int(rest, 16)
            elif word == "aux":
                k, v = rest.split()
                auxv.append((int(k), int(v, 16)))
            elif word == "mem":
                mem = bytes.fromhex(rest)
        assert sp and top and mem, out
        return NativeStack(sp, top, auxv, mem, out)

    return _run
