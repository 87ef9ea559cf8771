"""sentry.testing.build: content-hash cache, errors, concurrency."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sentry.testing.build import BuildError, build_c, default_cache_dir

PROG = '#include <stdio.h>\nint main(void) { printf("built %d\\n", VALUE); return 0; }\n'


def output(path: Path) -> str:
    return subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout


def test_text_source_is_cached(tmp_path: Path) -> None:
    a = build_c(PROG, "musl", ["-DVALUE=1"], cache_dir=tmp_path)
    mtime = a.stat().st_mtime_ns
    b = build_c(PROG, "musl", ["-DVALUE=1"], cache_dir=tmp_path)
    assert a == b and b.stat().st_mtime_ns == mtime
    assert output(a) == "built 1\n"
    c = build_c(PROG, "musl", ["-DVALUE=2"], cache_dir=tmp_path)
    assert c != a and output(c) == "built 2\n"
    g = build_c(PROG, "glibc", ["-DVALUE=1"], cache_dir=tmp_path)
    assert g != a and output(g) == "built 1\n"


def test_header_change_rebuilds(tmp_path: Path) -> None:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    (src_dir / "value.h").write_text("#define VALUE 3\n")
    (src_dir / "prog.c").write_text('#include "value.h"\n' + PROG)
    cache = tmp_path / "cache"
    first = build_c(src_dir / "prog.c", "musl", cache_dir=cache)
    assert output(first) == "built 3\n"
    (src_dir / "value.h").write_text("#define VALUE 4\n")
    second = build_c(src_dir / "prog.c", "musl", cache_dir=cache)
    assert second != first and output(second) == "built 4\n"
    assert first.name.startswith("prog.musl.")


def test_compile_error_carries_stderr(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        build_c("int main(void) { return undeclared_thing; }\n", "glibc", cache_dir=tmp_path)
    assert "undeclared_thing" in info.value.stderr
    assert "undeclared_thing" in str(info.value)
    assert info.value.cmd[0].endswith("gcc")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="cannot read source"):
        build_c(tmp_path / "nope.c", "musl", cache_dir=tmp_path)


def test_unknown_toolchain(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown toolchain"):
        build_c(PROG, "clang", cache_dir=tmp_path)  # type: ignore[arg-type]


def test_concurrent_builders_share_one_result(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        paths = list(
            pool.map(lambda _: build_c(PROG, "musl", ["-DVALUE=9"], cache_dir=tmp_path), range(8))
        )
    assert len(set(paths)) == 1
    assert output(paths[0]) == "built 9\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_BUILD_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    path = build_c(PROG, "musl", ["-DVALUE=5"])
    assert path.parent == tmp_path / "c"


def test_nolibc_assembly(tmp_path: Path) -> None:
    asm = tmp_path / "exit3.S"
    asm.write_text(
        ".globl _start\n_start:\n mov $60, %eax\n mov $3, %edi\n syscall\n"
        '.section .note.GNU-stack,"",@progbits\n'
    )
    path = build_c(asm, "nolibc", cache_dir=tmp_path)
    assert subprocess.run([str(path)], check=False).returncode == 3
