"""Loading real static programs (glibc, musl, static-pie of each) into a
MemoryManager: segment vmas, lazy private file mappings, bss, brk, the
stack read back from guest memory, the metadata, and comparisons with the
same programs run natively."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from loader_support import (
    DUMP_C,
    MAPS_C,
    TOOLCHAINS,
    ElfPatcher,
    NativeStack,
    make_elf,
    parse_image,
)

from sentry.hostarch import PAGE_SIZE, AccessType
from sentry.loader import DEFAULT_HWCAP, AuxvIds, LoadResult, load
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
    AT_RSEQ_ALIGN,
    AT_RSEQ_FEATURE_SIZE,
    AT_SECURE,
    AT_SYSINFO_EHDR,
    AT_UID,
)
from sentry.memmap.mappable import HostFileMappable
from sentry.mm import MemoryManager
from sentry.usermem import IOOpts

NewMM = Callable[[], MemoryManager]
STACK_TOP = 0x7FFFFFFFF000
ARGV = [b"prog", b"first arg", b""]
ENVV = [b"HOME=/root", b"EMPTY=", b"PATH=/bin:/usr/bin"]
RANDOM = bytes(range(100, 116))

# Keys Linux 6.x adds that the loader leaves out by default: the vDSO
# (none yet), AT_MINSIGSTKSZ (depends on the signal frame; opt-in), rseq
# (not implemented), and any newer ones.
OMITTED_BY_DEFAULT = {AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN}


def page_down(x: int) -> int:
    return x & ~(PAGE_SIZE - 1)


def page_up(x: int) -> int:
    return page_down(x + PAGE_SIZE - 1)


def read(mm: MemoryManager, addr: int, n: int, ignore: bool = False) -> bytes:
    buf = bytearray(n)
    got, err = mm.copy_in(addr, buf, IOOpts(ignore_permissions=ignore))
    assert err is None and got == n, (hex(addr), n, err)
    return bytes(buf)


def cstring(mm: MemoryManager, addr: int) -> bytes:
    out = b""
    while True:
        chunk = read(mm, addr + len(out), 1)
        if chunk == b"\0":
            return out
        out += chunk


def symbol(path: Path, name: str) -> tuple[int, int]:
    with path.open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        syms = symtab.get_symbol_by_name(name)
        assert syms
        return int(syms[0]["st_value"]), int(syms[0]["st_size"])


def do_load(mm: MemoryManager, prog: Path, **kw: object) -> LoadResult:
    kw.setdefault("rng", lambda n: RANDOM[:n])
    return load(mm, str(prog), ARGV, ENVV, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=TOOLCHAINS)
def toolchain(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def program(build: Callable[..., Path], toolchain: str) -> Path:
    return build(MAPS_C, toolchain, "maps")


# -- segments ----------------------------------------------------------------------


def test_segments_are_lazy_private_file_mappings(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = do_load(mm, program)
    e = ElfPatcher(program.read_bytes())
    assert r.is_pie == (e.get("type") == 3)
    assert r.load_bias == (0x555555554000 if r.is_pie else 0)
    # Nothing was put in the address space: pages arrive on first touch.
    assert not [c for c in mm.address_space.calls if c[0] == "map_file"]  # type: ignore[attr-defined]
    # The only pmas: the zeroed bss tail page and the top of the stack.
    pma_pages = sum((p.end - p.start) // PAGE_SIZE for p in mm.pmas)
    assert pma_pages <= 3, mm.debug_string()
    data = program.read_bytes()
    for i in e.loads():
        vaddr = r.load_bias + e.ph_get(i, "vaddr")
        filesz, memsz, flags = e.ph_get(i, "filesz"), e.ph_get(i, "memsz"), e.ph_get(i, "flags")
        perms = AccessType(bool(flags & 4), bool(flags & 2), bool(flags & 1))
        v = mm.vmas.find(vaddr)
        assert v is not None
        assert isinstance(v.mappable, HostFileMappable)
        assert v.private and v.real_perms == perms and not v.grows_down
        assert v.start <= page_down(vaddr) and v.end >= page_up(vaddr + filesz)
        assert v.mappable_offset(vaddr) == e.ph_get(i, "offset")
        # Contents: the file bytes, then zeros up to p_memsz.
        off = e.ph_get(i, "offset")
        assert read(mm, vaddr, filesz) == data[off : off + filesz]
        if memsz > filesz:
            assert read(mm, vaddr + filesz, memsz - filesz) == bytes(memsz - filesz)
            # ... including the rest of the last page.
            end = page_up(vaddr + memsz)
            assert read(mm, vaddr + memsz, end - vaddr - memsz) == bytes(end - vaddr - memsz)
            bss = mm.vmas.find(page_up(vaddr + filesz))
            if page_up(vaddr + filesz) < page_up(vaddr + memsz):
                assert bss is not None and bss.mappable is None and bss.private
                assert bss.real_perms == AccessType(True, True, perms.execute)


def test_data_and_bss_symbols(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = do_load(mm, program)
    addr, size = symbol(program, "initialized")
    assert struct.unpack("<4i", read(mm, r.load_bias + addr, size)) == (0x11223344, 0x55667788, 1, 2)
    addr, size = symbol(program, "big_bss")
    assert size == 100000
    assert read(mm, r.load_bias + addr, size) == bytes(size)


def test_private_mappings_never_write_the_file(program: Path, new_mm: NewMM, tmp_path: Path) -> None:
    prog = tmp_path / "copy"
    shutil.copy(program, prog)
    before = prog.read_bytes()
    mm = new_mm()
    r = do_load(mm, prog)
    addr, _ = symbol(prog, "initialized")
    n, err = mm.copy_out(r.load_bias + addr, b"\xff" * 16, IOOpts())
    assert (n, err) == (16, None)
    # Text is not writable by the guest, but is for ptrace-style writes.
    n, err = mm.copy_out(r.entry, b"\xcc", IOOpts())
    assert n == 0 and err is not None
    n, err = mm.copy_out(r.entry, b"\xcc", IOOpts(ignore_permissions=True))
    assert (n, err) == (1, None)
    assert read(mm, r.entry, 1) == b"\xcc"
    assert prog.read_bytes() == before


def test_vmas_match_native(program: Path, new_mm: NewMM) -> None:
    """Our program vmas equal Linux's (relative to the load address), once
    the RELRO pages glibc mprotects at startup are given back their
    segment's permissions."""
    if shutil.which("setarch") is None:
        pytest.skip("setarch missing")
    out = subprocess.run(["setarch", "x86_64", "-R", str(program)], capture_output=True,
                         text=True, env={}).stdout
    mm = new_mm()
    do_load(mm, program)
    e = ElfPatcher(program.read_bytes())
    relro = [i for i in range(e.get("phnum")) if e.ph_get(i, "type") == 0x6474E552]

    first_vaddr = page_down(e.ph_get(e.loads()[0], "vaddr"))

    def program_vmas(text: str) -> list[tuple[int, int, str, int, str]]:
        rows = []
        for line in text.splitlines():
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            rows.append((lo, hi, parts[1], int(parts[2], 16), name))
        first = next(i for i, row in enumerate(rows) if row[4] == str(program))
        base = rows[first][0]
        keep = []
        for row in rows[first:]:
            if row[4] not in (str(program), ""):
                break
            keep.append(row)
        if relro:
            i, bias = relro[0], base - first_vaddr
            rlo = page_down(bias + e.ph_get(i, "vaddr"))
            rhi = page_down(bias + e.ph_get(i, "vaddr") + e.ph_get(i, "memsz"))
            keep = [(lo, hi, "rw-p" if rlo <= lo and hi <= rhi else p, off, n)
                    for lo, hi, p, off, n in keep]
        merged: list[tuple[int, int, str, int, str]] = []
        for row in keep:
            if merged:
                lo, hi, p, off, n = merged[-1]
                if hi == row[0] and p == row[2] and n == row[4] and (not n or off + hi - lo == row[3]):
                    merged[-1] = (lo, row[1], p, off, n)
                    continue
            merged.append(row)
        return [(lo - base, hi - base, p, off, n) for lo, hi, p, off, n in merged]

    assert program_vmas(mm.maps_text()) == program_vmas(out)


# -- hand-made segment shapes ------------------------------------------------------

EXIT0 = b"\xb8\x3c\x00\x00\x00\x31\xff\x0f\x05"  # mov eax, 60; xor edi, edi; syscall
R, W, X = 4, 2, 1


def write_elf(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "handmade"
    p.write_bytes(data)
    p.chmod(0o755)
    return p


def test_bss_only_segment_on_its_own_pages(tmp_path: Path, new_mm: NewMM) -> None:
    data = make_elf([(1, R | X, 0, 0x400000, 0x110, 0x110),
                     (1, R | W, 0x2010, 0x402010, 0, 0x3000)], EXIT0 + bytes(7), 0x400100)
    mm = new_mm()
    r = do_load(mm, write_elf(tmp_path, data))
    assert r.entry == 0x400100 and r.brk_start == 0x406000
    bss = mm.vmas.find(0x402010)
    assert bss is not None and bss.mappable is None
    assert (bss.start, bss.end, bss.real_perms) == (0x402000, 0x406000, AccessType(True, True, False))
    assert read(mm, 0x400100, len(EXIT0)) == EXIT0
    assert read(mm, 0x402000, 0x4000) == bytes(0x4000)


def test_bss_segment_sharing_the_previous_page(tmp_path: Path, new_mm: NewMM) -> None:
    """A p_filesz == 0 segment starting inside the page that ends the
    previous segment keeps that segment's bytes and zeroes its own."""
    data = make_elf([(1, R | W, 0, 0x400000, 0x120, 0x120),
                     (1, R | W, 0x200, 0x400200, 0, 0x2000)], EXIT0 + b"\xaa" * 23, 0x400100)
    p = write_elf(tmp_path, data)
    mm = new_mm()
    r = do_load(mm, p)
    assert read(mm, 0x400000, 0x120) == data[:0x120]
    assert read(mm, 0x400200, 0x2000) == bytes(0x2000)
    first = mm.vmas.find(0x400000)
    assert first is not None and isinstance(first.mappable, HostFileMappable) and first.end == 0x401000
    anon = mm.vmas.find(0x401000)
    assert anon is not None and anon.mappable is None and anon.end == 0x403000
    assert r.brk_start == 0x403000


def test_file_bytes_past_filesz_are_zeroed_only_for_bss(tmp_path: Path, new_mm: NewMM) -> None:
    """Linux zeroes the rest of the last file page only when the segment has
    bss (p_memsz > p_filesz); otherwise the page shows the file's bytes."""
    body = EXIT0 + b"\x55" * 0x100
    data = make_elf([(1, R | X, 0, 0x400000, 0x110, 0x110),
                     (1, R | W, 0x100, 0x401100, 0x10, 0x20)], body, 0x400100)
    mm = new_mm()
    do_load(mm, write_elf(tmp_path, data))
    assert read(mm, 0x400110, 0x20) == data[0x110:0x130]  # text page: file bytes stay
    assert read(mm, 0x401100, 0x10) == data[0x100:0x110]
    assert read(mm, 0x401110, 0xEF0) == bytes(0xEF0)  # data page: zero after p_filesz
    assert mm.vmas.find(0x402000) is None


def test_executable_bss_is_executable(tmp_path: Path, new_mm: NewMM) -> None:
    data = make_elf([(1, R | W | X, 0, 0x400000, 0x110, 0x3000)], EXIT0 + bytes(7), 0x400100)
    mm = new_mm()
    do_load(mm, write_elf(tmp_path, data))
    anon = mm.vmas.find(0x401000)
    assert anon is not None and anon.mappable is None and anon.real_perms == AccessType(True, True, True)


def test_handmade_static_pie_bias(tmp_path: Path, new_mm: NewMM) -> None:
    data = make_elf([(1, R | X, 0, 0x10000, 0x110, 0x110)], EXIT0 + bytes(7), 0x10100, e_type=3)
    mm = new_mm()
    r = do_load(mm, write_elf(tmp_path, data))
    assert r.is_pie and r.load_bias == 0x555555554000 - 0x10000
    assert r.start == 0x555555554000 and r.entry == 0x555555554100
    assert r.phdr_addr == 0x555555554040
    assert read(mm, r.entry, len(EXIT0)) == EXIT0


# -- break -------------------------------------------------------------------------


def test_brk_after_highest_segment(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = do_load(mm, program)
    e = ElfPatcher(program.read_bytes())
    end = max(e.ph_get(i, "vaddr") + e.ph_get(i, "memsz") for i in e.loads())
    assert r.brk_start == page_up(r.load_bias + end) == mm.brk_start == mm.brk_end
    assert r.end == r.load_bias + end
    assert mm.vmas.find(r.brk_start) is None
    assert mm.brk(r.brk_start + 0x2345) == r.brk_start + 0x2345
    heap = mm.vmas.find(r.brk_start)
    assert heap is not None and heap.name == "[heap]" and heap.end == page_up(r.brk_start + 0x2345)


def test_brk_matches_native_for_static_executables(build: Callable[..., Path], new_mm: NewMM) -> None:
    if shutil.which("setarch") is None:
        pytest.skip("setarch missing")
    prog = build(MAPS_C, "glibc", "maps")  # glibc calls brk at startup: [heap] shows
    out = subprocess.run(["setarch", "x86_64", "-R", str(prog)], capture_output=True,
                         text=True, env={}).stdout
    heap = next(line for line in out.splitlines() if line.endswith("[heap]"))
    r = do_load(new_mm(), prog)
    assert int(heap.split("-")[0], 16) == r.brk_start


# -- stack -------------------------------------------------------------------------


def test_stack_read_back(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = do_load(mm, program, execfn=b"/usr/bin/prog")
    sp = r.stack_pointer
    assert sp % 16 == 0
    v = mm.vmas.find(STACK_TOP - 1)
    assert v is not None and v.name == "[stack]" and v.grows_down and v.mappable is None
    assert (v.start, v.end) == (STACK_TOP - (8 << 20), STACK_TOP)
    assert v.real_perms == AccessType(True, True, False)
    data = read(mm, sp, STACK_TOP - sp)
    assert data == r.stack.data
    argc, argp, envp, auxv = parse_image(data)
    assert argc == len(ARGV)
    assert [cstring(mm, a) for a in argp] == ARGV
    assert [cstring(mm, e) for e in envp] == ENVV
    aux = dict(auxv)
    assert len(aux) == len(auxv), "duplicate auxv keys"
    assert auxv == list(r.auxv)

    e = ElfPatcher(program.read_bytes())
    phdrs = e.data[e.get("phoff") : e.get("phoff") + 56 * e.get("phnum")]
    assert aux[AT_PHDR] == r.phdr_addr
    assert read(mm, aux[AT_PHDR], len(phdrs)) == phdrs
    assert aux[AT_PHENT] == 56 and aux[AT_PHNUM] == e.get("phnum")
    assert aux[AT_ENTRY] == r.entry == r.load_bias + e.get("entry")
    assert aux[AT_PAGESZ] == 4096 and aux[AT_CLKTCK] == 100
    assert aux[AT_BASE] == 0 and aux[AT_FLAGS] == 0 and aux[AT_SECURE] == 0
    assert (aux[AT_UID], aux[AT_EUID], aux[AT_GID], aux[AT_EGID]) == (
        os.getuid(), os.geteuid(), os.getgid(), os.getegid())
    assert aux[AT_HWCAP] == DEFAULT_HWCAP and aux[AT_HWCAP2] == 0
    assert read(mm, aux[AT_RANDOM], 16) == RANDOM == read(mm, r.random_addr, 16)
    assert cstring(mm, aux[AT_EXECFN]) == b"/usr/bin/prog"
    assert aux[AT_EXECFN] == r.execfn_addr == STACK_TOP - 8 - len(b"/usr/bin/prog\0")
    assert cstring(mm, aux[AT_PLATFORM]) == b"x86_64"
    assert AT_MINSIGSTKSZ not in aux and AT_SYSINFO_EHDR not in aux


def test_metadata(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = do_load(mm, program)
    md = mm.metadata
    assert read(mm, md.argv_start, md.argv_end - md.argv_start) == b"".join(a + b"\0" for a in ARGV)
    assert read(mm, md.envv_start, md.envv_end - md.envv_start) == b"".join(e + b"\0" for e in ENVV)
    assert md.argv_end == md.envv_start
    assert md.auxv == list(r.auxv)
    assert md.executable == str(program)
    # execfn defaults to the path.
    assert cstring(mm, r.execfn_addr) == os.fsencode(program)


def test_name_and_credentials(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = do_load(mm, program, name="/bin/shown", credentials=AuxvIds(1, 2, 3, 4),
                hwcap=0xABC, hwcap2=2, minsigstksz=0x2EB0, sysinfo_ehdr=0x7FFFF7FFD000)
    assert mm.metadata.executable == "/bin/shown"
    assert "/bin/shown" in mm.maps_text() and str(program) not in mm.maps_text()
    assert cstring(mm, r.execfn_addr) == b"/bin/shown"
    keys = [k for k, _ in r.auxv]
    assert keys[:3] == [AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP]
    aux = dict(r.auxv)
    assert (aux[AT_UID], aux[AT_EUID], aux[AT_GID], aux[AT_EGID]) == (1, 2, 3, 4)
    assert (aux[AT_HWCAP], aux[AT_HWCAP2], aux[AT_MINSIGSTKSZ]) == (0xABC, 2, 0x2EB0)


def test_empty_argv(program: Path, new_mm: NewMM) -> None:
    mm = new_mm()
    r = load(mm, str(program), [], [], rng=lambda n: RANDOM[:n])
    assert read(mm, r.stack_pointer, 8) == struct.pack("<Q", 1)
    assert mm.metadata.argv_end - mm.metadata.argv_start == 1
    assert mm.metadata.envv_start == mm.metadata.envv_end


@pytest.mark.parametrize("execstack", [False, True])
def test_gnu_stack(build: Callable[..., Path], new_mm: NewMM, execstack: bool) -> None:
    extra = ["-Wl,-z,execstack"] if execstack else ["-Wl,-z,noexecstack"]
    prog = build(MAPS_C, "musl", "maps", extra)
    mm = new_mm()
    r = do_load(mm, prog)
    assert r.exec_stack is execstack
    v = mm.vmas.find(STACK_TOP - 1)
    assert v is not None and v.real_perms == AccessType(True, True, execstack)


def test_no_gnu_stack_means_non_executable(build: Callable[..., Path], new_mm: NewMM, tmp_path: Path) -> None:
    e = ElfPatcher(build(MAPS_C, "musl", "maps").read_bytes())
    i = next(i for i in range(e.get("phnum")) if e.ph_get(i, "type") == 0x6474E551)
    e.ph_set(i, "type", 4)  # PT_NOTE
    prog = tmp_path / "nostack"
    prog.write_bytes(bytes(e.data))
    prog.chmod(0o755)
    mm = new_mm()
    assert not do_load(mm, prog).exec_stack
    v = mm.vmas.find(STACK_TOP - 1)
    assert v is not None and not v.real_perms.execute


# -- against Linux -----------------------------------------------------------------


def test_auxv_matches_native(
    build: Callable[..., Path],
    native_run: Callable[..., NativeStack],
    new_mm: NewMM,
    toolchain: str,
) -> None:
    """Same keys in the same order as Linux (minus the documented
    omissions), same static values, same addresses relative to the load
    bias, and the same string addresses on the stack."""
    prog = build(DUMP_C, toolchain, "dump")
    native = native_run(prog, ARGV, ENVV)
    mm = new_mm()
    r = load(mm, str(prog), ARGV, ENVV)
    ours = list(r.auxv)
    native_keys = [k for k, _ in native.auxv]
    assert [k for k, _ in ours] == [k for k in native_keys if k not in OMITTED_BY_DEFAULT]
    aux, naux = dict(ours), dict(native.auxv)
    for key in (AT_PAGESZ, AT_CLKTCK, AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS, AT_UID, AT_EUID,
                AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_EXECFN, AT_PLATFORM):
        assert aux[key] == naux[key], key
    native_bias = naux[AT_PHDR] - (aux[AT_PHDR] - r.load_bias)
    if not r.is_pie:
        assert native_bias == 0
    assert aux[AT_ENTRY] - r.load_bias == naux[AT_ENTRY] - native_bias
    # The strings region is identical, byte for byte.
    strings = STACK_TOP - mm.metadata.argv_start
    assert read(mm, mm.metadata.argv_start, strings) == native.mem[-strings:]


def test_full_stack_matches_native_with_linux_extras(
    build: Callable[..., Path], native_run: Callable[..., NativeStack], new_mm: NewMM
) -> None:
    """With Linux's AT_SYSINFO_EHDR/AT_MINSIGSTKSZ/AT_HWCAP* values passed
    in, everything up to the rseq entries (which we never emit) lines up."""
    prog = build(DUMP_C, "musl", "dump")
    native = native_run(prog, ARGV, ENVV)
    naux = dict(native.auxv)
    mm = new_mm()
    r = load(mm, str(prog), ARGV, ENVV, rng=lambda n: native.mem[naux[AT_RANDOM] - native.sp :][:n],
             hwcap=naux[AT_HWCAP], hwcap2=naux.get(AT_HWCAP2, 0),
             minsigstksz=naux.get(AT_MINSIGSTKSZ), sysinfo_ehdr=naux.get(AT_SYSINFO_EHDR))
    rseq = {AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN}
    assert list(r.auxv) == [kv for kv in native.auxv if kv[0] not in rseq]
    missing = 16 * sum(1 for k, _ in native.auxv if k in rseq)  # a multiple of 16
    assert r.stack_pointer == native.sp + missing
    ours = read(mm, r.stack_pointer, STACK_TOP - r.stack_pointer)
    # argc, argv, envp and the common auxv prefix: identical.
    head = 8 * (len(ARGV) + len(ENVV) + 3) + 16 * len(r.auxv)
    assert ours[:head] == native.mem[:head]
    assert ours[head : head + 16] == bytes(16)  # our AT_NULL
    # AT_RANDOM bytes, platform string, padding and strings: identical.
    tail = STACK_TOP - r.random_addr
    assert ours[-tail:] == native.mem[-tail:]
    assert ours[head + 16 : -tail] == bytes(len(ours) - head - 16 - tail)


def test_default_hwcap_is_unicorn_cpuid() -> None:
    """AT_HWCAP is CPUID.1:EDX of the CPU the guest actually runs on."""
    unicorn = pytest.importorskip("unicorn")
    from unicorn import x86_const

    uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
    uc.mem_map(0x1000, 0x1000)
    uc.mem_write(0x1000, b"\x0f\xa2")  # cpuid
    uc.reg_write(x86_const.UC_X86_REG_RAX, 1)
    uc.reg_write(x86_const.UC_X86_REG_RCX, 0)
    uc.emu_start(0x1000, 0x1002)
    assert uc.reg_read(x86_const.UC_X86_REG_RDX) == DEFAULT_HWCAP
