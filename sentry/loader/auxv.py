"""Auxiliary vector keys (Linux ``include/uapi/linux/auxvec.h`` and
``arch/x86/include/uapi/asm/auxvec.h``) and the x86-64 values the loader
reports.

The auxiliary vector is a list of ``(key, value)`` pairs the kernel puts on
the initial stack above envp; libc reads it (``getauxval``) to find its
program headers (for TLS), the page size, the 16 random bytes that seed the
stack protector and pointer guard, and so on.
"""

from __future__ import annotations

AT_NULL = 0
AT_IGNORE = 1
AT_EXECFD = 2
AT_PHDR = 3
AT_PHENT = 4
AT_PHNUM = 5
AT_PAGESZ = 6
AT_BASE = 7
AT_FLAGS = 8
AT_ENTRY = 9
AT_NOTELF = 10
AT_UID = 11
AT_EUID = 12
AT_GID = 13
AT_EGID = 14
AT_PLATFORM = 15
AT_HWCAP = 16
AT_CLKTCK = 17
AT_SECURE = 23
AT_BASE_PLATFORM = 24
AT_RANDOM = 25
AT_HWCAP2 = 26
AT_RSEQ_FEATURE_SIZE = 27
AT_RSEQ_ALIGN = 28
AT_HWCAP3 = 29
AT_HWCAP4 = 30
AT_EXECFN = 31
AT_SYSINFO_EHDR = 33
AT_MINSIGSTKSZ = 51

AT_NAMES: dict[int, str] = {
    value: name
    for name, value in globals().items()
    if name.startswith("AT_") and isinstance(value, int)
}
"""Key -> symbolic name (``AT_PHDR`` ...), for messages and debugging."""

CLOCKS_PER_SEC = 100
"""``AT_CLKTCK``: Linux's USER_HZ on x86-64."""

PLATFORM = b"x86_64"
"""``AT_PLATFORM``: Linux's ``ELF_PLATFORM`` (``utsname()->machine``)."""

DEFAULT_HWCAP = 0x078BFBFD
"""``AT_HWCAP`` default: on x86 Linux reports CPUID leaf 1 EDX of the boot
CPU. This is the EDX that Unicorn's default x86-64 CPU model (the one the
guest's own ``cpuid`` sees) returns, so libc's two views of the CPU agree.
Pass another ``hwcap`` to :func:`sentry.loader.load` if the platform selects
a different CPU model."""


def auxv_name(key: int) -> str:
    """The symbolic name of an auxv key (``AT_<n>`` if unknown)."""
    return AT_NAMES.get(key, f"AT_{key}")
