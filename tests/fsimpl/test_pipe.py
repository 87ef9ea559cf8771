"""Pipes with BytesIO-backed IOSequences: capacity, PIPE_BUF atomicity,
EOF, EPIPE, EAGAIN, partial copies, resizing (Linux fs/pipe.c)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry.abi.fcntl import FIONREAD, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY
from sentry.hostarch import AddrRange, AddrRangeSeq
from sentry.kernel.pipe import DEFAULT_PIPE_SIZE, PIPE_BUF, Pipe, PipeFile, new_pipe
from sentry.linuxerr import EAGAIN, EBUSY, EFAULT, EINVAL, EPIPE
from sentry.usermem import BytesIO, IOSequence, bytes_io_sequence
from sentry.vfs.waiter import EVENT_ERR, EVENT_HUP, EVENT_IN, EVENT_OUT, Entry


def write(f: PipeFile, data: bytes) -> tuple[int, Exception | None]:
    return f.write(bytes_io_sequence(bytearray(data)), -1)


def read(f: PipeFile, n: int) -> tuple[bytes, Exception | None]:
    buf = bytearray(n)
    got, err = f.read(bytes_io_sequence(buf), -1)
    return bytes(buf[:got]), err


def seq_past_end(buf: bytearray, length: int) -> IOSequence:
    """A sequence of ``length`` bytes at address 0 of ``buf``: everything
    beyond ``len(buf)`` faults (EFAULT)."""
    return IOSequence(BytesIO(buf), AddrRangeSeq.of(AddrRange(0, length)))


@pytest.fixture
def ends() -> tuple[PipeFile, PipeFile]:
    return new_pipe(O_NONBLOCK)


def test_ends_have_linux_flags_and_access() -> None:
    r, w = new_pipe()
    assert (r.status_flags(), w.status_flags()) == (O_RDONLY, O_WRONLY)
    assert r.readable and not r.writable and w.writable and not w.readable
    assert not r.seekable
    r2, w2 = new_pipe(O_NONBLOCK)
    assert r2.status_flags() == O_NONBLOCK and w2.status_flags() == O_WRONLY | O_NONBLOCK


def test_write_then_partial_reads(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    assert write(w, b"hello pipe") == (10, None)
    assert read(r, 4) == (b"hell", None)
    assert read(r, 100) == (b"o pipe", None)


def test_capacity_is_64k(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    assert w.pipe_size() == DEFAULT_PIPE_SIZE == 65536
    n, err = write(w, bytes(100_000))
    assert (n, err) == (65536, EAGAIN)
    assert write(w, b"x") == (0, EAGAIN)
    assert r.ioctl(FIONREAD, 0) == (0, struct.pack("<i", 65536))


def test_small_writes_merge_into_pages(ends: tuple[PipeFile, PipeFile]) -> None:
    """1-byte writes share pages, so 65536 of them fit (Linux merges)."""
    _, w = ends
    for _ in range(65536):
        assert write(w, b"a") == (1, None)
    assert write(w, b"a") == (0, EAGAIN)


def test_pipe_buf_write_is_atomic(ends: tuple[PipeFile, PipeFile]) -> None:
    """With 96 bytes free in the last page and no free page, a write of
    200 (<= PIPE_BUF) bytes is refused whole, not split; 96 bytes fit."""
    _, w = ends
    assert write(w, bytes(15 * 4096 + 4000)) == (15 * 4096 + 4000, None)
    assert write(w, b"x" * 200) == (0, EAGAIN)
    assert write(w, b"y" * 96) == (96, None)
    assert write(w, b"z") == (0, EAGAIN)


def test_pipe_buf_writes_never_interleave() -> None:
    """Writes of at most PIPE_BUF bytes come out contiguous however the
    reader drains the pipe in between."""
    r, w = new_pipe(O_NONBLOCK)
    chunks = [bytes([i]) * (PIPE_BUF - i * 37) for i in range(1, 40)]
    out = bytearray()
    pending = list(chunks)
    while pending:
        n, err = write(w, pending[0])
        if err is EAGAIN:
            assert n == 0  # never a partial PIPE_BUF write
            data, _ = read(r, 5000)
            out += data
            continue
        assert n == len(pending.pop(0))
    while True:
        data, err = read(r, 65536)
        if not data:
            break
        out += data
    assert bytes(out) == b"".join(chunks)


def test_eof_when_writers_gone(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    write(w, b"tail")
    w.dec_ref()
    assert read(r, 10) == (b"tail", None)
    assert read(r, 10) == (b"", None)


def test_empty_read_would_block_while_writer_exists(ends: tuple[PipeFile, PipeFile]) -> None:
    r, _ = ends
    assert read(r, 10) == (b"", EAGAIN)


def test_zero_length_io_succeeds(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    assert read(r, 0) == (b"", None)
    assert write(w, b"") == (0, None)


def test_epipe_when_readers_gone(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    r.dec_ref()
    assert write(w, b"x") == (0, EPIPE)
    assert write(w, b"") == (0, None)


def test_readiness_and_notifications() -> None:
    r, w = new_pipe()
    seen: list[int] = []
    e = Entry(seen.append, EVENT_IN | EVENT_HUP)
    r.event_register(e)
    assert r.readiness(EVENT_IN) == 0
    assert w.readiness(EVENT_OUT) == EVENT_OUT
    write(w, b"x")
    assert r.readiness(EVENT_IN) == EVENT_IN
    assert seen and seen[-1] & EVENT_IN
    w.dec_ref()
    assert r.readiness(EVENT_IN) & EVENT_HUP
    r.event_unregister(e)
    r2, w2 = new_pipe()
    r2.dec_ref()
    assert w2.readiness(EVENT_OUT) & EVENT_ERR


def test_read_fault_copies_nothing_of_the_failed_slot() -> None:
    """Linux pipe_read: a slot that cannot be copied whole is not consumed;
    the bytes of earlier slots are returned, EFAULT only if none."""
    r, w = new_pipe(O_NONBLOCK)
    write(w, b"0123456789")
    buf = bytearray(4)
    n, err = r.read(seq_past_end(buf, 10), -1)
    assert (n, err) == (0, EFAULT)
    assert buf == b"0123"  # copied before the fault, but not consumed
    assert read(r, 10) == (b"0123456789", None)
    # Two slots: the first is returned, the second stays.
    write(w, b"a" * 4096)
    write(w, b"b" * 4096)
    buf = bytearray(4096 + 10)
    n, err = r.read(seq_past_end(buf, 8192), -1)
    assert n == 4096 and bytes(buf[:4096]) == b"a" * 4096
    assert read(r, 8192) == (b"b" * 4096, None)


def test_write_fault_commits_whole_pages_only() -> None:
    r, w = new_pipe(O_NONBLOCK)
    src = bytearray(b"x" * 5000)
    n, err = w.write(seq_past_end(src, 9000), -1)
    assert n == 4096 and err is EFAULT
    assert read(r, 10000) == (b"x" * 4096, None)
    n, err = w.write(seq_past_end(bytearray(1), 10), -1)
    assert (n, err) == (0, EFAULT)
    assert read(r, 10) == (b"", EAGAIN)


def test_set_size_rounds_and_refuses_to_drop_data(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    assert w.set_pipe_size(1 << 20) == 1 << 20
    assert r.pipe_size() == 1 << 20
    assert w.set_pipe_size(70000) == 131072
    assert w.set_pipe_size(0) == 4096
    assert w.set_pipe_size(4097) == 8192
    write(w, bytes(3 * 4096))
    with pytest.raises(type(EBUSY)) as ei:
        w.set_pipe_size(4096)
    assert ei.value is EBUSY
    with pytest.raises(type(EINVAL)):
        w.set_pipe_size((1 << 31) + 1)


def test_resize_changes_capacity(ends: tuple[PipeFile, PipeFile]) -> None:
    _, w = ends
    w.set_pipe_size(4096)
    assert write(w, bytes(256 * 1024)) == (4096, EAGAIN)


def test_stat_is_a_fifo(ends: tuple[PipeFile, PipeFile]) -> None:
    r, w = ends
    st1, st2 = r.stat(), w.stat()
    assert st1.st_mode == 0o10600 and st1.st_nlink == 1 and st1.st_size == 0
    assert st1.st_ino == st2.st_ino
    assert r.path_name() == f"pipe:[{st1.st_ino}]"


def test_reopen_rdwr_counts_both_ends() -> None:
    r, w = new_pipe(O_NONBLOCK)
    both = r.reopen(O_RDWR | O_NONBLOCK)
    w.dec_ref()
    assert read(r, 1) == (b"", EAGAIN)  # a writer remains (the O_RDWR end)
    assert isinstance(both, PipeFile)
    assert write(both, b"q") == (1, None)
    assert read(r, 1) == (b"q", None)
    both.dec_ref()
    assert read(r, 1) == (b"", None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 9000)), max_size=60))
def test_pipe_is_a_bounded_fifo(ops: list[tuple[bool, int]]) -> None:
    """Any interleaving of non-blocking writes and reads delivers exactly
    the bytes accepted, in order; occupancy never exceeds 16 pages."""
    p = Pipe()
    r, w = PipeFile(p, O_RDONLY | O_NONBLOCK), PipeFile(p, O_WRONLY | O_NONBLOCK)
    sent = bytearray()
    got = bytearray()
    counter = 0
    for is_write, size in ops:
        if is_write:
            data = bytes((counter + i) % 251 for i in range(size))
            counter += size
            n, err = write(w, data)
            if size <= PIPE_BUF:
                assert n in (0, size)
            assert err is None or err is EAGAIN
            sent += data[:n]
            counter -= size - n
        else:
            data, err = read(r, size)
            got += data
        assert p.size() <= 65536 and len(p.slots) <= 16
    while True:
        data, _ = read(r, 65536)
        if not data:
            break
        got += data
    assert got == sent
