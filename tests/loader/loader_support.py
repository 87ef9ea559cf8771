"""Shared helpers for the loader tests: guest sources, compiler commands,
a recording fake AddressSpace, and the parsed native stack dump."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry.hostarch import AccessType
from sentry.memmap.file import File, FileRange

MUSL_LIB = Path("/usr/lib/x86_64-linux-musl")

# A program that prints its initial stack: the auxv, and the bytes of
# [sp, top) in hex, where sp = argv - 1 (what _start found in rsp) and
# top = end of the AT_EXECFN string + 8.
DUMP_C = r"""
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
int main(int argc, char **argv) {
    unsigned long *sp = (unsigned long *)argv - 1;
    char **e = argv + argc + 1;
    while (*e) e++;
    unsigned long *aux = (unsigned long *)(e + 1);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    unsigned char *top = (unsigned char *)fn + strlen(fn) + 1 + 8;
    printf("sp %lx\ntop %lx\n", (unsigned long)sp, (unsigned long)top);
    for (; aux[0]; aux += 2) printf("aux %lu %lx\n", aux[0], aux[1]);
    printf("mem ");
    for (unsigned char *p = (unsigned char *)sp; p < top; p++) printf("%02x", *p);
    printf("\n");
    return 0;
}
"""

# launch PATH N ARG1..ARGN ENV...: execve(PATH, {ARG1..ARGN}, {ENV...}),
# so argv (even an empty one), envp and the execve filename are exact.
LAUNCH_C = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = atoi(argv[2]);
    char **args = calloc(n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) args[i] = argv[3 + i];
    execve(argv[1], args, argv + 3 + n);
    printf("execve: %s\n", strerror(errno));
    return 127;
}
"""

# A guest printing its own /proc/self/maps (run natively for comparison).
MAPS_C = r"""
#include <fcntl.h>
#include <unistd.h>
int initialized[4] = {0x11223344, 0x55667788, 1, 2};
char big_bss[100000];
int main(int argc, char **argv) {
    char buf[16384];
    int fd = open("/proc/self/maps", O_RDONLY);
    int n = read(fd, buf, sizeof buf);
    write(1, buf, n);
    big_bss[argc] = 1;
    return initialized[argc & 3] == 0;
}
"""

# A guest reporting what libc made of its initial stack: argv, environ,
# auxv values, TLS (found through AT_PHDR), data, bss and the heap.
INFO_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
__thread int tls_var = 42;
int initialized = 7;
char bss[50000];
extern char **environ;
int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++) printf("env=%s\n", *e);
    printf("execfn=%s\nplatform=%s\n", (char *)getauxval(AT_EXECFN), (char *)getauxval(AT_PLATFORM));
    printf("pagesz=%lu\nclktck=%lu\nsecure=%lu\n", getauxval(AT_PAGESZ), getauxval(AT_CLKTCK),
           getauxval(AT_SECURE));
    unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
    printf("random=");
    for (int i = 0; i < 16; i++) printf("%02x", r[i]);
    printf("\ntls=%d\ninitialized=%d\nbss=%d\n", tls_var, initialized, bss[49999]);
    char *p = malloc(200000);
    strcpy(p, "heap ok");
    puts(p);
    return 3;
}
"""

HELLO_C = r"""
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
"""

TOOLCHAINS = ("glibc", "glibc-pie", "musl", "musl-pie")


def parse_image(data: bytes) -> tuple[int, list[int], list[int], list[tuple[int, int]]]:
    """(argc, argv pointers, envp pointers, auxv) from the bytes of an
    initial stack, starting at its stack pointer (each list checked for its
    terminator)."""

    def word(i: int) -> int:
        return int(struct.unpack_from("<Q", data, 8 * i)[0])

    argc = word(0)
    argv = [word(1 + i) for i in range(argc)]
    assert word(1 + argc) == 0
    i = 2 + argc
    envp = []
    while word(i):
        envp.append(word(i))
        i += 1
    i += 1
    auxv = []
    while word(i):
        auxv.append((word(i), word(i + 1)))
        i += 2
    assert word(i + 1) == 0
    return argc, argv, envp, auxv


def compiler_command(kind: str, src: Path, out: Path, extra: Sequence[str] = ()) -> list[str]:
    """The command that builds ``src`` into ``out`` for toolchain ``kind``."""
    base = ["-O2", "-o", str(out)]
    if kind == "glibc":
        return ["gcc", "-static", *base, str(src), *extra]
    if kind == "glibc-pie":
        return ["gcc", "-static-pie", "-fPIE", *base, str(src), *extra]
    if kind == "musl":
        return ["musl-gcc", "-static", *base, str(src), *extra]
    if kind == "musl-pie":
        # Debian's musl-gcc spec would link Scrt1.o and ask for an
        # interpreter; link musl's self-relocating rcrt1.o by hand.
        def gcc_file(name: str) -> str:
            return subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True,
                                  text=True, check=True).stdout.strip()

        return [
            "musl-gcc", "-static-pie", "-fPIE", "-nostartfiles",
            "-Wl,-static,-pie,--no-dynamic-linker,-z,text", *base,
            str(MUSL_LIB / "rcrt1.o"), str(MUSL_LIB / "crti.o"), gcc_file("crtbeginS.o"),
            str(src), *extra, gcc_file("crtendS.o"), str(MUSL_LIB / "crtn.o"),
        ]
    if kind == "dynamic":
        return ["gcc", *base, str(src), *extra]
    if kind == "object":
        return ["gcc", "-c", *base, str(src), *extra]
    if kind == "m32":
        return ["gcc", "-m32", "-nostdlib", "-static", *base, str(src), *extra]
    raise ValueError(kind)


@dataclass
class RecordingAddressSpace:
    """A platform AddressSpace that only records what the MM asks of it."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def map_file(self, addr: int, file: File, fr: FileRange, at: AccessType, precommit: bool) -> None:
        self.calls.append(("map_file", addr, fr.end - fr.start, at))

    def unmap(self, addr: int, length: int) -> None:
        self.calls.append(("unmap", addr, length))

    def protect(self, addr: int, length: int, at: AccessType) -> None:
        self.calls.append(("protect", addr, length, at))

    def release(self) -> None:
        self.calls.append(("release",))

    # Memory only: no engine, so nothing to count or compact, and no run.
    region_count = 0

    def regions(self) -> list[tuple[int, int, AccessType]]:
        return []


@dataclass
class NativeStack:
    """What the dump program saw natively."""

    sp: int
    top: int
    auxv: list[tuple[int, int]]
    mem: bytes
    stdout: str

    def aux(self, key: int) -> int:
        return dict(self.auxv)[key]


# Elf64_Ehdr / Elf64_Phdr field offsets, for patching real binaries.
EHDR = {"class": (4, "B"), "data": (5, "B"), "version": (6, "B"), "type": (16, "<H"),
        "machine": (18, "<H"), "entry": (24, "<Q"), "phoff": (32, "<Q"),
        "phentsize": (54, "<H"), "phnum": (56, "<H")}
PHDR = {"type": (0, "<I"), "flags": (4, "<I"), "offset": (8, "<Q"), "vaddr": (16, "<Q"),
        "paddr": (24, "<Q"), "filesz": (32, "<Q"), "memsz": (40, "<Q"), "align": (48, "<Q")}


class ElfPatcher:
    """A mutable copy of an ELF64 file with typed field access."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)

    def get(self, field: str) -> int:
        off, fmt = EHDR[field]
        return int(struct.unpack_from(fmt, self.data, off)[0])

    def set(self, field: str, value: int) -> None:
        off, fmt = EHDR[field]
        struct.pack_into(fmt, self.data, off, value)

    def _ph_off(self, i: int, field: str) -> tuple[int, str]:
        off, fmt = PHDR[field]
        return self.get("phoff") + 56 * i + off, fmt

    def ph_get(self, i: int, field: str) -> int:
        off, fmt = self._ph_off(i, field)
        return int(struct.unpack_from(fmt, self.data, off)[0])

    def ph_set(self, i: int, field: str, value: int) -> None:
        off, fmt = self._ph_off(i, field)
        struct.pack_into(fmt, self.data, off, value)

    def loads(self) -> list[int]:
        """Indices of the PT_LOAD program headers."""
        return [i for i in range(self.get("phnum")) if self.ph_get(i, "type") == 1]


def make_elf(
    phdrs: Sequence[tuple[int, int, int, int, int, int]],
    body: bytes,
    entry: int,
    e_type: int = 2,
) -> bytes:
    """A minimal ELF64 x86-64 file: the header, ``phdrs`` (each ``(type,
    flags, offset, vaddr, filesz, memsz)``, align 0x1000) right after it at
    offset 64, then ``body`` placed at file offset 0x100 (padded)."""
    ehdr = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH",
        b"\x7fELF", 2, 1, 1, 0, 0, bytes(7),
        e_type, 62, 1, entry, 64, 0, 0, 64, 56, len(phdrs), 64, 0, 0,
    )
    table = b"".join(
        struct.pack("<IIQQQQQQ", t, f, off, va, va, fsz, msz, 0x1000) for t, f, off, va, fsz, msz in phdrs
    )
    head = ehdr + table
    assert len(head) <= 0x100
    return head + bytes(0x100 - len(head)) + body
