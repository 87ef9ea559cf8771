"""The x86-64 Linux syscall table: every family module registers its
handlers here (gVisor ``syscalls/linux/linux64.go``)."""

from __future__ import annotations

from importlib import import_module

from sentry.kernel.kernel import SyscallTable

# The family modules (sys_*.py here), each with register(table); imported
# with this module.
_FAMILIES = tuple(
    import_module(f"{__package__}.{name}")
    for name in (
        "sys_dir",
        "sys_exec",
        "sys_file",
        "sys_futex",
        "sys_identity",
        "sys_misc",
        "sys_mmap",
        "sys_pipe",
        "sys_prctl",
        "sys_read_write",
        "sys_signal",
        "sys_stat",
        "sys_thread",
        "sys_time",
    )
)


def build_table() -> SyscallTable:
    """A table with every implemented syscall; the rest return ENOSYS."""
    table = SyscallTable()
    for family in _FAMILIES:
        family.register(table)
    _name_unimplemented(table)
    return table


def _name_unimplemented(table: SyscallTable) -> None:
    """Names for syscalls we do not implement, so logs and strace show them."""
    for nr, name in UNIMPLEMENTED_NAMES.items():
        table.names.setdefault(nr, name)


UNIMPLEMENTED_NAMES = {
    2: "open", 4: "stat", 6: "lstat", 7: "poll", 8: "lseek", 21: "access", 22: "pipe",
    23: "select", 32: "dup", 33: "dup2", 41: "socket", 58: "vfork",
    59: "execve", 62: "kill", 72: "fcntl", 157: "prctl", 202: "futex",
    217: "getdents64", 257: "openat", 302: "prlimit64", 332: "statx",
    435: "clone3", 439: "faccessat2",
}
