"""ELF64 x86-64 parsing and validation (gVisor ``loader/elf.go``
``parseHeader``; Linux ``fs/binfmt_elf.c`` ``load_elf_binary``).

:func:`parse_elf` reads the ELF header and program headers with pyelftools
and checks everything the loader relies on before anything is mapped, so a
bad file fails with a one-line :class:`LoadError` (ENOEXEC) and never with a
pyelftools exception. The checks are stricter than Linux in a few places
(see :func:`parse_elf`), all of them for files no linker produces.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO, Any

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_P_TYPE_BASE

from sentry.hostarch import PAGE_SIZE
from sentry.linuxerr import EACCES
from sentry.loader.errors import LoadError

ELF_MAGIC = b"\x7fELF"
EHDR_SIZE = 64  # sizeof(Elf64_Ehdr)
PHDR_SIZE = 56  # sizeof(Elf64_Phdr)
MAX_PHDRS_SIZE = PAGE_SIZE  # Linux (and gVisor) refuse more than a page of phdrs
PATH_MAX = 4096

# Program header types and flags (numbers, for the few we hand back).
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_SHLIB, PT_PHDR, PT_TLS = range(8)
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4

# pyelftools reports known p_type values by name (x86-64 uses the base
# table); map them back to numbers.
_PT_BY_NAME: dict[str, int] = {k: v for k, v in ENUM_P_TYPE_BASE.items() if isinstance(v, int)}

_CLASS_NAMES = {0: "ELFCLASSNONE", 1: "ELFCLASS32 (32-bit)", 2: "ELFCLASS64"}
_DATA_NAMES = {0: "ELFDATANONE", 1: "little-endian", 2: "big-endian"}
_TYPE_NAMES = {0: "ET_NONE", 1: "ET_REL (an object file)", 2: "ET_EXEC", 3: "ET_DYN",
               4: "ET_CORE (a core dump)"}
_MACHINE_NAMES = {3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "s390",
                  40: "ARM", 62: "x86-64", 183: "AArch64", 243: "RISC-V"}
EM_X86_64 = 62
ET_EXEC, ET_DYN = 2, 3


@dataclass(frozen=True)
class ProgramHeader:
    """One ``Elf64_Phdr``; ``type`` is the numeric ``p_type``."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def end(self) -> int:
        """``vaddr + memsz`` (before any load bias)."""
        return self.vaddr + self.memsz


@dataclass(frozen=True)
class ElfInfo:
    """What the loader needs from a validated executable.

    ``loads`` are the PT_LOAD headers in file order (validated: ascending,
    non-overlapping, page-congruent, within the file). ``phdr_vaddr`` is the
    unbiased address of the program header table in memory, or None if no
    segment maps it. ``interpreter`` is the PT_INTERP path, if any.
    """

    is_dyn: bool
    entry: int
    phoff: int
    phnum: int
    phdrs: tuple[ProgramHeader, ...]
    loads: tuple[ProgramHeader, ...]
    phdr_vaddr: int | None
    interpreter: bytes | None
    exec_stack: bool

    @property
    def start(self) -> int:
        """Lowest address of the first PT_LOAD (unbiased)."""
        return self.loads[0].vaddr

    @property
    def end(self) -> int:
        """Highest end of any PT_LOAD (unbiased)."""
        return max(p.end for p in self.loads)


def _fail(name: str, reason: str) -> LoadError:
    return LoadError(f"{name}: {reason}")


def _read_at(f: IO[bytes], offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _check_ident(name: str, head: bytes) -> None:
    """Checks on ``e_ident`` and the fixed header fields, in gVisor's order."""
    if len(head) == 0:
        raise _fail(name, "empty file, not an ELF executable")
    if head[:2] == b"#!":
        line = head[2:].split(b"\n", 1)[0].strip()[:80].decode("utf-8", "replace")
        raise _fail(name, f"is an interpreter script (#!{line}), not an ELF executable")
    if len(head) < len(ELF_MAGIC) or head[:4] != ELF_MAGIC:
        raise _fail(name, "not an ELF file (bad magic)")
    if len(head) < 16:
        raise _fail(name, f"truncated ELF identification ({len(head)} bytes)")
    ei_class, ei_data, ei_version = head[4], head[5], head[6]
    if ei_class != 2:
        what = _CLASS_NAMES.get(ei_class, f"invalid EI_CLASS {ei_class}")
        raise _fail(name, f"unsupported ELF class {what}; only 64-bit ELF is supported")
    if ei_data != 1:
        what = _DATA_NAMES.get(ei_data, f"invalid EI_DATA {ei_data}")
        raise _fail(name, f"unsupported ELF data encoding {what}; only little-endian is supported")
    if ei_version != 1:
        raise _fail(name, f"unsupported ELF version {ei_version}")
    if len(head) < EHDR_SIZE:
        raise _fail(name, f"truncated ELF header ({len(head)} of {EHDR_SIZE} bytes)")
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    if e_machine != EM_X86_64:
        what = _MACHINE_NAMES.get(e_machine, f"{e_machine}")
        raise _fail(name, f"ELF machine {what} is not x86-64")
    if e_type not in (ET_EXEC, ET_DYN):
        what = _TYPE_NAMES.get(e_type, f"type {e_type}")
        raise _fail(name, f"ELF file is {what}, not an executable")


def _header(elf: ELFFile) -> dict[str, Any]:
    h = elf.header
    return {k: h[k] for k in ("e_entry", "e_phoff", "e_phentsize", "e_phnum")}


def _phdr(seg: Any) -> ProgramHeader:
    t = seg["p_type"]
    # A name outside the table cannot be one of the types the loader acts on.
    ptype = _PT_BY_NAME.get(t, -1) if isinstance(t, str) else int(t)
    return ProgramHeader(
        type=ptype,
        flags=int(seg["p_flags"]),
        offset=int(seg["p_offset"]),
        vaddr=int(seg["p_vaddr"]),
        filesz=int(seg["p_filesz"]),
        memsz=int(seg["p_memsz"]),
        align=int(seg["p_align"]),
    )


def parse_elf(f: IO[bytes], name: str, file_size: int) -> ElfInfo:
    """Parse and validate the executable open as ``f`` (``file_size`` bytes).

    ``name`` is used in messages only. Raises :class:`LoadError` (ENOEXEC,
    or EACCES for an empty PT_INTERP path as Linux does) when the file is:
    empty or a ``#!`` script; not ELF; not ELFCLASS64, little-endian,
    EV_CURRENT, EM_X86_64, ET_EXEC or ET_DYN; truncated in its header or
    program headers; using a program header size other than 56, none, or
    more than a page of them; without PT_LOAD; having a PT_LOAD whose
    ``p_filesz`` exceeds ``p_memsz``, whose ``p_offset`` and ``p_vaddr``
    differ modulo the page size, whose file bytes extend past end of file,
    whose address range overflows, or which overlaps or precedes the
    previous PT_LOAD; with a malformed PT_INTERP. A well-formed PT_INTERP is
    *not* an error here (``interpreter`` is set); the caller decides.

    Stricter than Linux: file bytes beyond EOF (Linux maps them and the
    program gets SIGBUS later) and out-of-order PT_LOADs (as gVisor).
    """
    head = _read_at(f, 0, EHDR_SIZE)
    _check_ident(name, head)
    e_type = struct.unpack_from("<H", head, 16)[0]
    try:
        elf = ELFFile(f)
        hdr = _header(elf)
    except (ELFError, ConstructError, struct.error, ValueError, EOFError) as e:
        raise _fail(name, f"malformed ELF header ({e})")
    if hdr["e_phentsize"] != PHDR_SIZE:
        raise _fail(name, f"unsupported program header size {hdr['e_phentsize']} (expected {PHDR_SIZE})")
    phnum = hdr["e_phnum"]
    total = phnum * PHDR_SIZE
    if phnum == 0:
        raise _fail(name, "no program headers")
    if total > MAX_PHDRS_SIZE:
        raise _fail(name, f"too many program headers ({phnum})")
    phoff = hdr["e_phoff"]
    if phoff + total > file_size:
        raise _fail(name, f"truncated: program headers at {phoff:#x}+{total:#x} extend past end of file ({file_size:#x} bytes)")
    try:
        # e_phnum < PN_XNUM here, so pyelftools never consults sections.
        phdrs = tuple(_phdr(elf.get_segment(i)) for i in range(phnum))
    except (ELFError, ConstructError, struct.error, ValueError, EOFError, KeyError) as e:
        raise _fail(name, f"malformed program headers ({e})")

    loads: list[ProgramHeader] = []
    interpreter: bytes | None = None
    exec_stack = False
    phdr_seg: ProgramHeader | None = None
    for i, ph in enumerate(phdrs):
        if ph.type == PT_LOAD:
            _check_load(name, i, ph, file_size, loads[-1] if loads else None)
            loads.append(ph)
        elif ph.type == PT_INTERP:
            interpreter = _read_interp(f, name, ph, file_size)
        elif ph.type == PT_GNU_STACK:
            exec_stack = bool(ph.flags & PF_X)
        elif ph.type == PT_PHDR:
            phdr_seg = ph
    if not loads:
        raise _fail(name, "no PT_LOAD segments")

    phdr_vaddr: int | None = None
    if phdr_seg is not None:
        phdr_vaddr = phdr_seg.vaddr
    else:
        for ph in loads:
            if ph.offset <= phoff < ph.offset + ph.filesz:
                phdr_vaddr = phoff - ph.offset + ph.vaddr
                break
    return ElfInfo(
        is_dyn=e_type == ET_DYN,
        entry=hdr["e_entry"],
        phoff=phoff,
        phnum=phnum,
        phdrs=phdrs,
        loads=tuple(loads),
        phdr_vaddr=phdr_vaddr,
        interpreter=interpreter,
        exec_stack=exec_stack,
    )


def _check_load(name: str, i: int, ph: ProgramHeader, file_size: int, prev: ProgramHeader | None) -> None:
    what = f"PT_LOAD segment (program header {i}) at {ph.vaddr:#x}"
    if ph.filesz > ph.memsz:
        raise _fail(name, f"{what} has p_filesz {ph.filesz:#x} > p_memsz {ph.memsz:#x}")
    if (ph.vaddr - ph.offset) % PAGE_SIZE:
        raise _fail(name, f"{what} is misaligned: p_offset {ph.offset:#x} and p_vaddr differ modulo the page size")
    if ph.filesz and ph.offset + ph.filesz > file_size:
        raise _fail(name, f"{what} extends past end of file (offset {ph.offset:#x} + {ph.filesz:#x} > {file_size:#x} bytes)")
    if ph.vaddr + ph.memsz + PAGE_SIZE > 1 << 64:
        raise _fail(name, f"{what} size {ph.memsz:#x} overflows the address space")
    if prev is not None and ph.vaddr < prev.end:
        if ph.vaddr < prev.vaddr:
            raise _fail(name, f"{what} is out of order (below the previous segment at {prev.vaddr:#x})")
        raise _fail(name, f"{what} overlaps the previous segment [{prev.vaddr:#x}, {prev.end:#x})")


def _read_interp(f: IO[bytes], name: str, ph: ProgramHeader, file_size: int) -> bytes:
    """The PT_INTERP path (without its NUL), checked as gVisor does."""
    if ph.filesz < 2 or ph.filesz > PATH_MAX:
        raise _fail(name, f"invalid PT_INTERP size {ph.filesz}")
    if ph.offset + ph.filesz > file_size:
        raise _fail(name, "truncated: PT_INTERP extends past end of file")
    raw = _read_at(f, ph.offset, ph.filesz)
    if len(raw) != ph.filesz or raw[-1] != 0:
        raise _fail(name, "PT_INTERP path is not NUL-terminated")
    path = raw[: raw.index(0)]
    if not path:
        raise LoadError(f"{name}: PT_INTERP path is empty", EACCES)
    return path
