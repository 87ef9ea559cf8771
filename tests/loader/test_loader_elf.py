"""Files the loader must refuse: each gives one LoadError with a one-line
message naming the file and the errno execve would return, and leaves the
MemoryManager untouched."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from loader_support import HELLO_C, MAPS_C, ElfPatcher

from sentry.linuxerr import E2BIG, EACCES, ENOENT, ENOEXEC, ENOTDIR, Errno
from sentry.loader import LoadError, load
from sentry.mm import MemoryManager

NewMM = Callable[[], MemoryManager]


def expect_error(mm: MemoryManager, path: Path | str, err: Errno, *fragments: str) -> LoadError:
    with pytest.raises(LoadError) as info:
        load(mm, str(path), [b"prog"], [b"A=1"])
    e = info.value
    msg = str(e)
    assert e.err is err, msg
    assert e.errno is err
    assert "\n" not in msg and msg.strip() == msg
    assert str(path) in msg
    for frag in fragments:
        assert frag in msg, msg
    assert not list(mm.vmas), "a failed load must not map anything"
    assert mm.metadata.executable == ""
    return e


def write(tmp_path: Path, name: str, data: bytes, mode: int = 0o755) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    p.chmod(mode)
    return p


@pytest.fixture(scope="module")
def musl_binary(build: Callable[..., Path]) -> bytes:
    return build(MAPS_C, "musl", "maps").read_bytes()


# -- the file itself ---------------------------------------------------------------


def test_missing_file(tmp_path: Path, new_mm: NewMM) -> None:
    expect_error(new_mm(), tmp_path / "nope", ENOENT, "cannot open")


def test_path_through_a_file(tmp_path: Path, new_mm: NewMM) -> None:
    f = write(tmp_path, "f", b"x")
    expect_error(new_mm(), f / "sub", ENOTDIR)


def test_directory(tmp_path: Path, new_mm: NewMM) -> None:
    expect_error(new_mm(), tmp_path, EACCES, "directory")


def test_not_a_regular_file(tmp_path: Path, new_mm: NewMM) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fifo.chmod(0o755)
    expect_error(new_mm(), fifo, EACCES, "not a regular file")


def test_not_executable(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    p = write(tmp_path, "noexec", musl_binary, 0o644)
    expect_error(new_mm(), p, EACCES, "not executable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads anything")
def test_not_readable(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    p = write(tmp_path, "noread", musl_binary, 0o111)
    expect_error(new_mm(), p, EACCES)


# -- not an ELF executable ---------------------------------------------------------


def test_empty_file(tmp_path: Path, new_mm: NewMM) -> None:
    expect_error(new_mm(), write(tmp_path, "empty", b""), ENOEXEC, "empty file")


def test_script(tmp_path: Path, new_mm: NewMM) -> None:
    p = write(tmp_path, "script", b"#!/bin/sh -e\necho hi\n")
    expect_error(new_mm(), p, ENOEXEC, "script", "#!/bin/sh -e")


def test_random_bytes(tmp_path: Path, new_mm: NewMM) -> None:
    data = random.Random(1).randbytes(4096)
    expect_error(new_mm(), write(tmp_path, "random", data), ENOEXEC, "not an ELF file")


@pytest.mark.parametrize("size", [1, 4, 10, 16, 40, 63])
def test_truncated_header(tmp_path: Path, new_mm: NewMM, musl_binary: bytes, size: int) -> None:
    p = write(tmp_path, "trunc", musl_binary[:size])
    frag = "not an ELF file" if size < 4 else "truncated"
    expect_error(new_mm(), p, ENOEXEC, frag)


def test_real_32bit_elf(tmp_path: Path, new_mm: NewMM) -> None:
    src = tmp_path / "start32.S"
    src.write_text(".globl _start\n_start:\n  movl $1, %eax\n  xorl %ebx, %ebx\n  int $0x80\n")
    out = tmp_path / "start32"
    proc = subprocess.run(["gcc", "-m32", "-nostdlib", "-static", "-o", str(out), str(src)],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip("gcc -m32 cannot link here (crafted-bytes variant covers it)")
    expect_error(new_mm(), out, ENOEXEC, "32-bit")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("class", 1, "ELFCLASS32 (32-bit)"),
        ("class", 0, "ELFCLASSNONE"),
        ("class", 7, "invalid EI_CLASS 7"),
        ("data", 2, "big-endian"),
        ("data", 0, "ELFDATANONE"),
        ("version", 0, "unsupported ELF version 0"),
        ("machine", 183, "machine AArch64 is not x86-64"),
        ("machine", 3, "machine i386 is not x86-64"),
        ("machine", 0x1234, "machine 4660 is not x86-64"),
        ("type", 1, "ET_REL"),
        ("type", 4, "ET_CORE"),
        ("type", 0, "ET_NONE"),
        ("phentsize", 32, "program header size 32"),
        ("phnum", 0, "no program headers"),
        ("phnum", 100, "too many program headers"),
        ("phoff", 1 << 40, "program headers"),
    ],
)
def test_bad_header_fields(
    tmp_path: Path, new_mm: NewMM, musl_binary: bytes, field: str, value: int, fragment: str
) -> None:
    e = ElfPatcher(musl_binary)
    e.set(field, value)
    expect_error(new_mm(), write(tmp_path, "bad", bytes(e.data)), ENOEXEC, fragment)


def test_program_headers_past_eof(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    e = ElfPatcher(musl_binary)
    end = e.get("phoff") + 56 * e.get("phnum")
    p = write(tmp_path, "cut", musl_binary[: end - 1])
    expect_error(new_mm(), p, ENOEXEC, "truncated", "past end of file")


def test_object_file(tmp_path: Path, new_mm: NewMM, build: Callable[..., Path]) -> None:
    obj = write(tmp_path, "hello.o", build(HELLO_C, "object", "hello").read_bytes())
    expect_error(new_mm(), obj, ENOEXEC, "ET_REL (an object file), not an executable")


# -- bad segments ------------------------------------------------------------------


def _patched(tmp_path: Path, musl_binary: bytes, fn: Callable[[ElfPatcher], None]) -> Path:
    e = ElfPatcher(musl_binary)
    fn(e)
    return write(tmp_path, "seg", bytes(e.data))


def test_no_pt_load(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        for i in e.loads():
            e.ph_set(i, "type", 4)  # PT_NOTE

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "no PT_LOAD")


def test_misaligned_segment(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        i = e.loads()[1]
        e.ph_set(i, "offset", e.ph_get(i, "offset") + 8)

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "misaligned")


def test_overlapping_segments(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        a, b = e.loads()[:2]
        e.ph_set(a, "memsz", e.ph_get(b, "vaddr") - e.ph_get(a, "vaddr") + 1)
        e.ph_set(a, "filesz", min(e.ph_get(a, "filesz"), e.ph_get(a, "memsz")))

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "overlaps")


def test_out_of_order_segments(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        a, b = e.loads()[:2]
        for field in ("type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align"):
            va, vb = e.ph_get(a, field), e.ph_get(b, field)
            e.ph_set(a, field, vb)
            e.ph_set(b, field, va)

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "out of order")


def test_filesz_exceeds_memsz(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        i = e.loads()[1]
        e.ph_set(i, "memsz", e.ph_get(i, "filesz") - 1)

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "p_filesz", "> p_memsz")


def test_segment_past_eof(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    e = ElfPatcher(musl_binary)
    last = e.loads()[-1]
    cut = e.ph_get(last, "offset") + e.ph_get(last, "filesz") - 1
    p = write(tmp_path, "cut", musl_binary[:cut])
    expect_error(new_mm(), p, ENOEXEC, "extends past end of file")


def test_segment_too_big_for_address_space(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        i = e.loads()[-1]
        e.ph_set(i, "memsz", 1 << 47)

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "past the top of the address space")


def test_segment_overflowing_64_bits(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        i = e.loads()[-1]
        e.ph_set(i, "memsz", (1 << 64) - 1)

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "overflows")


def test_segment_below_mmap_min_addr(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    def f(e: ElfPatcher) -> None:
        for i in e.loads():
            e.ph_set(i, "vaddr", e.ph_get(i, "vaddr") - 0x400000)

    expect_error(new_mm(), _patched(tmp_path, musl_binary, f), ENOEXEC, "below the minimum")


# -- dynamic executables -------------------------------------------------------------


def test_dynamically_linked(new_mm: NewMM, build: Callable[..., Path]) -> None:
    prog = build(HELLO_C, "dynamic", "hello")
    interp = "/lib64/ld-linux-x86-64.so.2"
    e = expect_error(new_mm(), prog, ENOEXEC)
    assert str(e) == (
        f"{prog} is dynamically linked (interpreter {interp}); "
        "dynamic executables are not supported here"
    )


def test_empty_interpreter(tmp_path: Path, new_mm: NewMM, build: Callable[..., Path]) -> None:
    e = ElfPatcher(build(HELLO_C, "dynamic", "hello").read_bytes())
    i = next(i for i in range(e.get("phnum")) if e.ph_get(i, "type") == 3)
    e.data[e.ph_get(i, "offset")] = 0
    expect_error(new_mm(), write(tmp_path, "dyn", bytes(e.data)), EACCES, "PT_INTERP path is empty")


def test_unterminated_interpreter(tmp_path: Path, new_mm: NewMM, build: Callable[..., Path]) -> None:
    e = ElfPatcher(build(HELLO_C, "dynamic", "hello").read_bytes())
    i = next(i for i in range(e.get("phnum")) if e.ph_get(i, "type") == 3)
    e.ph_set(i, "filesz", e.ph_get(i, "filesz") - 1)
    expect_error(new_mm(), write(tmp_path, "dyn", bytes(e.data)), ENOEXEC, "not NUL-terminated")


# -- AT_PHDR -------------------------------------------------------------------------


def test_phdr_address_prefers_pt_phdr(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    e = ElfPatcher(musl_binary)
    note = next(i for i in range(e.get("phnum")) if e.ph_get(i, "type") not in (1, 0x6474E551))
    e.ph_set(note, "type", 6)  # PT_PHDR
    e.ph_set(note, "vaddr", 0x400123)
    r = load(new_mm(), str(write(tmp_path, "phdr", bytes(e.data))), [b"p"], [])
    assert r.phdr_addr == 0x400123
    assert dict(r.auxv)[3] == 0x400123


def test_phdr_address_from_covering_load(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    e = ElfPatcher(musl_binary)
    assert all(e.ph_get(i, "type") != 6 for i in range(e.get("phnum")))
    first = e.loads()[0]
    want = e.get("phoff") - e.ph_get(first, "offset") + e.ph_get(first, "vaddr")
    r = load(new_mm(), str(write(tmp_path, "phdr", musl_binary)), [b"p"], [])
    assert r.phdr_addr == want


def test_phdr_address_zero_when_not_loaded(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    """Program headers outside every PT_LOAD (moved to the end of the file)."""
    e = ElfPatcher(musl_binary)
    table = e.data[e.get("phoff") : e.get("phoff") + 56 * e.get("phnum")]
    e.set("phoff", len(e.data))
    e.data += table
    r = load(new_mm(), str(write(tmp_path, "phdr", bytes(e.data))), [b"p"], [])
    assert r.phdr_addr == 0


# -- argument lists ----------------------------------------------------------------


def test_e2big_comes_before_the_format_check(tmp_path: Path, new_mm: NewMM) -> None:
    """As in Linux's execve, strings are copied before the binary is looked at."""
    p = write(tmp_path, "random", random.Random(2).randbytes(100))
    mm = new_mm()
    with pytest.raises(LoadError) as info:
        load(mm, str(p), [b"x" * 100000] * 30, [])
    assert info.value.err is E2BIG and str(p) in str(info.value)
    assert "\n" not in str(info.value)
    assert not list(mm.vmas)


def test_nul_in_a_string_is_a_caller_bug(new_mm: NewMM, musl_binary: bytes, tmp_path: Path) -> None:
    p = write(tmp_path, "ok", musl_binary)
    with pytest.raises(ValueError, match="NUL"):
        load(new_mm(), str(p), [b"a\0b"], [])


# -- robustness ----------------------------------------------------------------------


def test_mutated_headers_never_escape(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    """Random corruption of the ELF and program headers yields a loaded
    program or a LoadError, never another exception."""
    rng = random.Random(0x5EED)
    e = ElfPatcher(musl_binary)
    span = e.get("phoff") + 56 * e.get("phnum")
    outcomes = {"ok": 0, "error": 0}
    p = tmp_path / "mutant"
    for _ in range(300):
        data = bytearray(musl_binary)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(span)
            data[pos] = rng.choice([0, 0xFF, rng.randrange(256), data[pos] ^ (1 << rng.randrange(8))])
        p.write_bytes(bytes(data))
        p.chmod(0o755)
        mm = new_mm()
        try:
            load(mm, str(p), [b"m"], [])
            outcomes["ok"] += 1
        except LoadError as err:
            assert "\n" not in str(err)
            outcomes["error"] += 1
    assert outcomes["ok"] and outcomes["error"], outcomes


def test_unpatched_copy_loads(tmp_path: Path, new_mm: NewMM, musl_binary: bytes) -> None:
    """The binary every test above corrupts loads as is."""
    p = write(tmp_path, "copy", musl_binary)
    mm = new_mm()
    r = load(mm, str(p), [b"copy"], [])
    assert r.entry and list(mm.vmas)
