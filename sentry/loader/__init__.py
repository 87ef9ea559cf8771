"""Loading x86-64 ELF executables and #! scripts, and building the initial stack
(gVisor ``pkg/sentry/loader``).

Entry point: :func:`load` maps a program into a ``MemoryManager`` and
returns a :class:`LoadResult` (entry point, initial stack pointer, break,
load bias, ...). Every failure is a :class:`LoadError` carrying a one-line
message and the errno execve(2) would report.
"""

from sentry.loader.auxv import AT_NAMES, DEFAULT_HWCAP, auxv_name
from sentry.loader.elf import ElfInfo, ProgramHeader, parse_elf
from sentry.loader.errors import LoadError
from sentry.loader.loader import DEFAULT_STACK_SIZE, AuxvIds, GuestOpener, LoadResult, load
from sentry.loader.stack import StackImage, build_stack, check_args

__all__ = [
    "AT_NAMES",
    "DEFAULT_HWCAP",
    "DEFAULT_STACK_SIZE",
    "AuxvIds",
    "ElfInfo",
    "GuestOpener",
    "LoadError",
    "LoadResult",
    "ProgramHeader",
    "StackImage",
    "auxv_name",
    "build_stack",
    "check_args",
    "load",
    "parse_elf",
]
