"""/proc/[pid] generators and open files, byte for byte against strings
built from Linux's format specifications (``fs/proc/task_mmu.c``
``show_map_vma``, ``fs/proc/array.c``, ``fs/proc/base.c``)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from sentry.abi.fcntl import O_RDONLY, O_RDWR, SEEK_CUR, SEEK_END, SEEK_SET
from sentry.fsimpl.proc import array
from sentry.fsimpl.proc import generators as gen
from sentry.fsimpl.proc.files import MemFile, SeqFile
from sentry.fsimpl.proc.fs import ProcRoot, _write_comm
from sentry.hostarch import PAGE_SIZE, READ, READ_WRITE, AccessType
from sentry.kernel.fd_table import FDTable
from sentry.kernel.kernel import Kernel, SyscallTable
from sentry.kernel.task import SigAction, Task, ThreadGroup
from sentry.linuxerr import EINVAL, EIO, Errno
from sentry.memfile import MemoryFile
from sentry.mm import MemoryManager, MMapOpts
from sentry.mm.lifecycle import SMAPS_KEYS, VSYSCALL_LINE, maps_line, smaps_fields
from sentry.platform import UnicornAddressSpace
from sentry.usermem import IOOpts, bytes_io_sequence

RLIM_INF = gen.RLIM_INFINITY


@pytest.fixture(scope="module")
def mf() -> MemoryFile:
    return MemoryFile()


@pytest.fixture
def mm(mf: MemoryFile) -> Iterator[MemoryManager]:
    m = MemoryManager(mf, UnicornAddressSpace)
    yield m
    m.release()


def anon(mm: MemoryManager, addr: int, pages: int, perms: AccessType = READ_WRITE, **kw: Any) -> int:
    return mm.mmap(MMapOpts(length=pages * PAGE_SIZE, addr=addr, fixed=True, unmap=True, perms=perms, **kw))


def make_tg(mm: MemoryManager | None, comm: bytes = b"", tgid: int = 7) -> ThreadGroup:
    """A real thread group of one task in a kernel of its own (``mm`` None:
    a task whose address space the generator under test never reads)."""
    kernel = Kernel(SyscallTable(), None)
    fds = FDTable()
    tg = ThreadGroup(tgid, fds, parent_tgid=3)
    task = Task(kernel, tgid, tg, cast(MemoryManager, mm), None)
    task.comm = comm
    tg.tasks.append(task)
    kernel.tasks[tgid] = task
    kernel.thread_groups[tgid] = tg
    return tg


def read_all(f: Any, chunk: int) -> bytes:
    out = b""
    while True:
        buf = bytearray(chunk)
        n, err = f.read(bytes_io_sequence(buf), -1)
        assert err is None
        if n == 0:
            return out
        out += bytes(buf[:n])


# -- maps --------------------------------------------------------------------------------------


def test_maps_line_unnamed_has_trailing_space() -> None:
    assert maps_line(0x1000, 0x3000, "rw-", True, 0, 0, 0, 0, "") == "00001000-00003000 rw-p 00000000 00:00 0 \n"


def test_maps_line_name_at_column_73() -> None:
    line = maps_line(0x400000, 0x401000, "r-x", True, 0x1000, 0xFE, 0x1, 1234, "/bin/prog")
    prefix = "00400000-00401000 r-xp 00001000 fe:01 1234 "
    assert line == prefix + " " * (73 - len(prefix)) + "/bin/prog\n"
    assert line.index("/bin/prog") == 73


def test_maps_line_long_prefix_keeps_one_space() -> None:
    # Linux pads to 72 then always adds one space: a prefix already at or
    # past 72 characters gets exactly one separator.
    start, end = 0xFFFF_FFFF_FF60_0000, 0xFFFF_FFFF_FF60_1000
    ino = 10**19  # 20 digits: a 76-character prefix
    prefix = f"{start:08x}-{end:08x} rw-s 12345678 123:45 {ino} "
    assert len(prefix) >= 72
    line = maps_line(start, end, "rw-", False, 0x12345678, 0x123, 0x45, ino, "/x")
    assert line == prefix + " /x\n"


def test_maps_line_escapes_newline_in_name() -> None:
    line = maps_line(0x1000, 0x2000, "r--", True, 0, 0, 0, 5, "/a\nb")
    assert line.endswith(" /a\\012b\n")


def test_vsyscall_line() -> None:
    assert VSYSCALL_LINE == "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0" + " " * 18 + "[vsyscall]\n"


def test_maps_split_and_merge(mm: MemoryManager) -> None:
    base = 0x10000000
    anon(mm, base, 3)
    text = mm.maps_text()
    assert text == f"{base:08x}-{base + 3 * PAGE_SIZE:08x} rw-p 00000000 00:00 0 \n" + VSYSCALL_LINE
    mm.mprotect(base + PAGE_SIZE, PAGE_SIZE, READ)
    lines = mm.maps_text().splitlines(keepends=True)
    assert lines[:3] == [
        maps_line(base, base + PAGE_SIZE, "rw-", True, 0, 0, 0, 0, ""),
        maps_line(base + PAGE_SIZE, base + 2 * PAGE_SIZE, "r--", True, 0, 0, 0, 0, ""),
        maps_line(base + 2 * PAGE_SIZE, base + 3 * PAGE_SIZE, "rw-", True, 0, 0, 0, 0, ""),
    ]
    mm.mprotect(base + PAGE_SIZE, PAGE_SIZE, READ_WRITE)
    assert mm.maps_text() == text


def test_maps_names_heap(mm: MemoryManager) -> None:
    mm.set_brk_start(0x20000000)
    mm.brk(0x20000000 + 2 * PAGE_SIZE)
    assert mm.maps_text().splitlines()[0] == (
        "20000000-20002000 rw-p 00000000 00:00 0" + " " * 34 + "[heap]")


# -- smaps -------------------------------------------------------------------------------------


def test_smaps_fields_format() -> None:
    text = smaps_fields(12, 8, 8, 8, False)
    lines = text.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [*SMAPS_KEYS, "THPeligible"]
    assert lines[0] == "Size:                 12 kB"
    assert lines[3] == "Rss:                   8 kB"
    assert "Private_Dirty:         8 kB" in lines
    assert lines[-1] == "THPeligible:           0"
    for ln in lines[:-1]:
        assert len(ln) == 16 + 8 + 3 and ln.endswith(" kB")


def test_smaps_rss_follows_pmas(mm: MemoryManager) -> None:
    base = 0x10000000
    anon(mm, base, 4)
    entry = mm.smaps_text().split(VSYSCALL_LINE)[0]
    assert entry.startswith(maps_line(base, base + 4 * PAGE_SIZE, "rw-", True, 0, 0, 0, 0, ""))
    assert "\nRss:                   0 kB\n" in entry
    mm.copy_out(base, b"x" * (4 * PAGE_SIZE), IOOpts())
    entry = mm.smaps_text().split(VSYSCALL_LINE)[0]
    assert "\nRss:                  16 kB\n" in entry
    assert "\nAnonymous:            16 kB\n" in entry
    assert entry.endswith("VmFlags: rd wr mr mw me ac \n")


# -- stat, statm, status -----------------------------------------------------------------------


def test_stat_has_52_fields(mm: MemoryManager) -> None:
    anon(mm, 0x10000000, 4)
    mm.metadata.executable = "/bin/some-long-program-name"
    tg = make_tg(mm)
    text = array.stat(tg).decode()
    assert text.endswith(" 0\n")
    comm_end = text.rindex(")")
    assert text[: comm_end + 1] == "7 (some-long-progr)"
    fields = text[comm_end + 2 :].split()
    assert len(fields) + 2 == 52
    assert fields[0] == "R" and fields[1] == "3"  # state, ppid
    assert fields[20] == str(mm.vm_size())  # vsize (field 23)
    assert fields[17] == "1"  # num_threads (field 20)
    assert fields[35] == "17"  # exit_signal (field 38)


def test_stat_comm_is_not_escaped() -> None:
    tg = make_tg(None, comm=b"a) b")
    assert array.stat(tg).startswith(b"7 (a) b) R ")


def test_statm(mm: MemoryManager) -> None:
    anon(mm, 0x10000000, 4)
    mm.copy_out(0x10000000, b"x" * PAGE_SIZE, IOOpts())
    tg = make_tg(mm)
    size, resident, shared, _text, lib, data, dt = (int(x) for x in array.statm(tg).split())
    # Copies create pmas only over the pages they touch.
    assert size == 4 and resident == 1 and shared == 0 and lib == 0 and dt == 0 and data == 4
    assert array.statm(tg).endswith(b" 0\n")


def test_status_format(mm: MemoryManager) -> None:
    anon(mm, 0x10000000, 4)
    tg = make_tg(mm, comm=b"prog")
    tg.sigactions = {13: SigAction(handler=1), 12: SigAction(handler=0x401000)}
    tg.tasks[0].signal_mask = 1 << 9
    text = array.status(tg).decode()
    lines = text.splitlines()
    keys = [ln.split(":\t")[0] for ln in lines]
    assert all(":\t" in ln for ln in lines)
    known = [k for k in array.STATUS_KEYS if k in keys]
    assert keys == known  # Linux's order
    values = dict(ln.split(":\t", 1) for ln in lines)
    assert values["Name"] == "prog"
    assert values["Umask"] == "0022"
    assert values["State"] == "R (running)"
    assert values["Tgid"] == "7" and values["Pid"] == "7" and values["PPid"] == "3"
    assert values["VmSize"] == "      16 kB"
    assert values["Groups"].endswith(" ")
    assert values["SigIgn"] == f"{1 << 12:016x}"
    assert values["SigCgt"] == f"{1 << 11:016x}"
    assert values["SigBlk"] == f"{1 << 9:016x}"
    assert values["FDSize"] == "64"
    assert values["Threads"] == "1"


# -- limits, io, comm --------------------------------------------------------------------------


def test_limits_format() -> None:
    lims = [(RLIM_INF, RLIM_INF)] * 16
    lims[7] = (1024, 4096)
    lims[13] = (0, 0)
    text = gen.format_limits(lims).decode()
    lines = text.split("\n")
    assert lines[0] == "Limit                     Soft Limit           Hard Limit           Units     "
    assert lines[1] == "Max cpu time              unlimited            unlimited            seconds   "
    assert lines[8] == "Max open files            1024                 4096                 files     "
    assert lines[14] == "Max nice priority         0                    0                    "
    assert lines[16] == "Max realtime timeout      unlimited            unlimited            us        "
    assert lines[17] == "" and len(lines) == 18


def test_limits_uses_thread_group_limits() -> None:
    tg = make_tg(None)
    tg.rlimits = {7: (100, 200)}
    assert b"\nMax open files            100                  200                  files     \n" in gen.limits(tg)


def test_io_keys() -> None:
    assert gen.io(make_tg(None)) == (
        b"rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n")


def test_comm_default_and_write(mm: MemoryManager) -> None:
    mm.metadata.executable = "/usr/bin/abcdefghijklmnopqrstuvwxyz"
    tg = make_tg(mm)
    assert gen.comm(tg) == b"abcdefghijklmno\n"
    assert _write_comm(tg, None, b"new\0junk") == 8
    assert gen.comm(tg) == b"new\n"


# -- memory-backed files -------------------------------------------------------------------------


def _stack(mm: MemoryManager, strings: bytes, at: int) -> None:
    anon(mm, 0x7000000, 1)
    mm.copy_out(at, strings, IOOpts())


def test_cmdline_environ_auxv(mm: MemoryManager) -> None:
    base = 0x7000000
    args, env = b"prog\0-x\0", b"A=1\0B=2\0"
    _stack(mm, args + env, base + 100)
    md = mm.metadata
    md.argv_start, md.argv_end = base + 100, base + 100 + len(args)
    md.envv_start, md.envv_end = md.argv_end, md.argv_end + len(env)
    md.auxv = [(6, 4096), (25, 0x1234)]
    tg = make_tg(mm)
    assert gen.cmdline(tg) == args
    assert gen.environ(tg) == env
    assert gen.auxv(tg) == struct.pack("<6Q", 6, 4096, 25, 0x1234, 0, 0)


def test_cmdline_rewritten(mm: MemoryManager) -> None:
    base = 0x7000000
    args, env = b"prog\0-x\0", b"A=1\0B=2\0"
    _stack(mm, args + env, base + 100)
    md = mm.metadata
    md.argv_start, md.argv_end = base + 100, base + 100 + len(args)
    md.envv_start, md.envv_end = md.argv_end, md.argv_end + len(env)
    tg = make_tg(mm)
    # The final NUL overwritten: up to the first NUL from arg_start.
    mm.copy_out(md.argv_end - 1, b"X", IOOpts())
    assert gen.cmdline(tg) == b"prog\0"
    # No NUL left in the arguments: continues into the environment.
    mm.copy_out(md.argv_start, b"progX-xX", IOOpts())
    assert gen.cmdline(tg) == b"progX-xXA=1\0"


def test_cmdline_rewritten_runs_off_memory(mm: MemoryManager) -> None:
    base = 0x7000000
    args = b"ab\0"
    anon(mm, base, 1)
    at = base + PAGE_SIZE - len(args)
    mm.copy_out(at, b"abc", IOOpts())  # no NUL before the end of the mapping
    md = mm.metadata
    md.argv_start, md.argv_end = at, at + 3
    md.envv_start = md.envv_end = 0
    assert gen.cmdline(make_tg(mm)) == b"abc"


# -- file descriptions -------------------------------------------------------------------------


def test_seq_file_snapshot_and_seek() -> None:
    calls = []

    def generate() -> bytes:
        calls.append(1)
        return b"0123456789" if len(calls) == 1 else b"abcdefghij"

    f = SeqFile(O_RDONLY, None, generate)
    assert read_all(f, 3) == b"0123456789"
    assert len(calls) == 1  # one snapshot for sequential reads
    assert f.seek(0, SEEK_SET) == 0
    assert read_all(f, 4) == b"abcdefghij"
    assert f.seek(2, SEEK_SET) == 2 and f.seek(1, SEEK_CUR) == 3
    with pytest.raises(Errno) as e:
        f.seek(0, SEEK_END)
    assert e.value is EINVAL
    with pytest.raises(Errno):
        f.seek(-1, SEEK_SET)
    n, err = f.write(bytes_io_sequence(bytearray(b"x")), -1)
    assert (n, err) == (0, EINVAL)


def test_seq_file_write_caps_and_reports_full_count() -> None:
    got = []

    def write(data: bytes) -> int:
        got.append(data)
        return len(data)

    f = SeqFile(O_RDWR, None, lambda: b"", write, max_write=15)
    n, err = f.write(bytes_io_sequence(bytearray(b"abcdefghijklmnopqrstuvwxyz")), -1)
    assert (n, err) == (26, None) and got == [b"abcdefghijklmno"]


def test_mem_file(mm: MemoryManager) -> None:
    base = 0x10000000
    anon(mm, base, 1)
    anon(mm, base + PAGE_SIZE, 1, perms=AccessType(False, False, False))
    mm.copy_out(base, b"hello", IOOpts())
    f = MemFile(O_RDWR, None, mm)
    buf = bytearray(5)
    assert f.read(bytes_io_sequence(buf), base) == (5, None) and buf == b"hello"
    # PROT_NONE is readable through mem (FOLL_FORCE); unmapped is not.
    big = bytearray(3 * PAGE_SIZE)
    assert f.read(bytes_io_sequence(big), base) == (2 * PAGE_SIZE, None)
    assert f.read(bytes_io_sequence(bytearray(4)), base + 2 * PAGE_SIZE) == (0, EIO)
    mm.mprotect(base, PAGE_SIZE, READ)
    assert f.write(bytes_io_sequence(bytearray(b"J")), base) == (1, None)
    out = bytearray(5)
    mm.copy_in(base, out, IOOpts())
    assert out == b"Jello"
    assert f.seek(base, SEEK_SET) == base and f.seek(1, SEEK_CUR) == base + 1
    with pytest.raises(Errno):
        f.seek(0, SEEK_END)
    assert f.read(bytes_io_sequence(bytearray(0)), base) == (0, None)


# -- the tree ----------------------------------------------------------------------------------------


def test_tree_thread_self_and_task_dirs(mm: MemoryManager) -> None:
    tg = make_tg(mm)
    tg.tasks[0].kernel.run_queue.append(tg.tasks[0])
    ctx: Any = SimpleNamespace(owner=tg)
    root = ProcRoot()
    assert root.lookup(b"thread-self", ctx).follow_link(ctx) == b"7/task/7"
    assert root.lookup(b"self", ctx).follow_link(ctx) == b"7"
    piddir: Any = root.lookup(b"7", ctx)
    names = set(piddir.child_names(ctx))
    assert {b"maps", b"smaps", b"stat", b"statm", b"status", b"cmdline", b"environ", b"auxv", b"comm",
            b"mem", b"io", b"limits", b"oom_score", b"task", b"fd", b"exe", b"cwd", b"root"} <= names
    taskdir: Any = piddir.lookup(b"task", ctx)
    assert taskdir.child_names(ctx) == [b"7"]
    assert taskdir.get_child(b"8", ctx) is None
    tdir: Any = taskdir.lookup(b"7", ctx)
    assert b"task" not in tdir.child_names(ctx) and b"maps" in tdir.child_names(ctx)
    st = piddir.lookup(b"mem", ctx).stat()
    assert st.st_mode & 0o7777 == 0o600 and st.st_size == 0
    assert piddir.lookup(b"environ", ctx).stat().st_mode & 0o7777 == 0o400
    f = piddir.lookup(b"status", ctx).open(O_RDONLY, ctx)
    assert read_all(f, 7).startswith(b"Name:\t")
