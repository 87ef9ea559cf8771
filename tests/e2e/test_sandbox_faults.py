"""Guest programs that used to kill or fool the sentry (issue 19): each is
run natively and under the sentry, and the sentry must end with the
guest's status (never 70, 135 or a traceback)."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from sentry.testing.build import build_c
from sentry.testing.guests import guest
from sentry.testing.harness import compare

BUSYBOX = "/bin/busybox"
HERE = Path(__file__).resolve().parent
PT_LOAD, PF_W = 1, 2


def with_bss(src: Path, dst: Path, memsz: int) -> Path:
    """A copy of the static executable ``src`` whose writable PT_LOAD has
    ``memsz`` bytes in memory (its bss grown to about that size)."""
    b = bytearray(src.read_bytes())
    (phoff,) = struct.unpack_from("<Q", b, 32)
    phentsize, phnum = struct.unpack_from("<HH", b, 54)
    for i in range(phnum):
        o = phoff + i * phentsize
        p_type, p_flags = struct.unpack_from("<II", b, o)
        if p_type == PT_LOAD and p_flags & PF_W:
            struct.pack_into("<Q", b, o + 40, memsz)
            break
    else:
        raise AssertionError(f"{src}: no writable PT_LOAD")
    dst.write_bytes(bytes(b))
    dst.chmod(0o755)
    return dst


def test_huge_bss_is_refused_as_linux_does(tmp_path: Path) -> None:
    """A 64 TiB bss exceeds the overcommit limit: Linux's exec fails after
    the point of no return and the program dies of SIGSEGV, both as the
    first program and through a guest's own execve."""
    big = with_bss(guest("hello-musl"), tmp_path / "big-bss", 1 << 46)
    c = compare(str(big), [], compare_stderr=False)
    assert c.agree, c.report()
    assert c.sentry.status == 139
    c = compare(BUSYBOX, ["sh", "-c", f"{big}; echo child=$?"])
    assert c.agree, c.report()
    assert c.sentry.stdout == b"child=139\n"


def test_one_gib_bss_still_loads(tmp_path: Path) -> None:
    small = with_bss(guest("hello-musl"), tmp_path / "gib-bss", 1 << 30)
    c = compare(str(small), ["x"])
    assert c.agree, c.report()
    assert c.sentry.status == 0


def test_truncated_mapping_is_sigbus_for_the_guest_not_the_sentry(tmp_path: Path) -> None:
    """Issue 19 item 3: a mapped, touched host file truncated (ftruncate,
    O_TRUNC; shared and private mappings): the guest's SIGBUS handler
    runs, a syscall reading there is EFAULT, the sentry survives; the
    running executable is ETXTBSY for writing and truncation."""
    exe = tmp_path / "truncated_mapping"
    shutil.copy(build_c(HERE / "truncated_mapping.c", "musl"), exe)
    c = compare(str(exe), [], cwd=tmp_path)
    assert c.agree, c.report()
    assert c.sentry.status == 0
    assert b"sigbus_handler_runs: 6\n" in c.sentry.stdout
    assert b"truncate_self: -1 ETXTBSY\n" in c.sentry.stdout
    assert exe.stat().st_size > 0
