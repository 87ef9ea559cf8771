"""Guest programs that used to kill or fool the sentry (issue 19): each is
run natively and under the sentry, and the sentry must end with the
guest's status (never 70, 135 or a traceback)."""

from __future__ import annotations

import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

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
    running executable is ETXTBSY for writing and truncation, and a file
    open for writing is ETXTBSY for execve."""
    exe = tmp_path / "truncated_mapping"
    shutil.copy(build_c(HERE / "truncated_mapping.c", "musl"), exe)
    c = compare(str(exe), [], cwd=tmp_path)
    assert c.agree, c.report()
    assert c.sentry.status == 0
    assert b"sigbus_handler_runs: 6\n" in c.sentry.stdout
    assert b"truncate_self: -1 ETXTBSY\n" in c.sentry.stdout
    assert b"exec_while_open_for_writing: 10\n" in c.sentry.stdout
    assert exe.stat().st_size > 0


def test_one_page_of_a_64_gib_sparse_file_maps(tmp_path: Path) -> None:
    """Issue 19 item 6: host files are mapped by window, so a one-page
    mapping at the end of a 64 GiB sparse file (and a mapping of all of
    it) works instead of an internal error."""
    exe = build_c(HERE / "host_limits.c", "musl")
    c = compare(str(exe), ["sparse"])
    assert c.agree, c.report()
    assert b"last_page_reads: tail\n" in c.sentry.stdout


def _run_limited(cmd: list[str], cwd: Path, nofile: int) -> subprocess.CompletedProcess[bytes]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=300, preexec_fn=limit)


@pytest.mark.parametrize("nofile", [40, 256])
def test_guest_exhausting_host_descriptors_gets_emfile(tmp_path: Path, nofile: int) -> None:
    """Issue 19 item 7: with the sentry's own descriptor limit as low as the
    guest's (``ulimit -n``, hard and soft), a guest opening host files
    until EMFILE, then calling what needs descriptors and mapping a file,
    sees what it sees natively; the sentry keeps its reserve and exits
    with the guest's status, no traceback."""
    exe = build_c(HERE / "host_limits.c", "musl")
    native = _run_limited([str(exe), "fds"], tmp_path, nofile)
    sentry = _run_limited([sys.executable, "-m", "sentry.cli", str(exe), "fds"], tmp_path, nofile)
    assert native.returncode == 0, native.stdout
    assert (sentry.returncode, sentry.stdout) == (0, native.stdout), sentry.stderr.decode()
    assert b"Traceback" not in sentry.stderr
    assert b"opened_until: EMFILE\n" in sentry.stdout


def test_small_guest_limit_matches_native(tmp_path: Path) -> None:
    exe = build_c(HERE / "host_limits.c", "musl")
    c = compare(str(exe), ["fds", "small"], cwd=tmp_path)
    assert c.agree, c.report()
