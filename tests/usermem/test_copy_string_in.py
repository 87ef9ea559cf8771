"""copy_string_in: ports of gVisor's CopyStringIn tests and every maxlen edge."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry.hostarch import ADDR_MAX, PAGE_SIZE
from sentry.linuxerr import EFAULT, ENAMETOOLONG
from sentry.usermem import COPY_STRING_INCREMENT, BytesIO, IOOpts, copy_string_in

INC = COPY_STRING_INCREMENT
MAX_INIT_BUF_LEN = 256  # gVisor's copyStringMaxInitBufLen


def new_bytes_io(s: bytes) -> BytesIO:
    return BytesIO(bytearray(s))


class StrictIO:
    """An IO (copy_in only) over ``[base, base + len(mem))``.

    Any copy that is not entirely inside the window fails *without* copying
    anything, like a fault on an unmapped page with no partial copy; every
    call is recorded.
    """

    def __init__(self, mem: bytes, base: int = 0) -> None:
        self.mem = mem
        self.base = base
        self.calls: list[tuple[int, int]] = []

    def copy_in(self, addr: int, dst: bytearray, opts: IOOpts) -> tuple[int, Exception | None]:
        self.calls.append((addr, len(dst)))
        off = addr - self.base
        if off < 0 or off + len(dst) > len(self.mem):
            return 0, EFAULT
        dst[:] = self.mem[off : off + len(dst)]
        return len(dst), None


def test_short() -> None:
    want = b"A" * (INC - 2)
    assert copy_string_in(new_bytes_io(want + b"\0"), 0, 2 * INC, IOOpts()) == (want, None)


def test_long() -> None:
    want = b"A" * (INC * 3 // 4) + b"B" * (INC * 3 // 4)
    assert copy_string_in(new_bytes_io(want + b"\0"), 0, 2 * INC, IOOpts()) == (want, None)


def test_very_long() -> None:
    want = b"A" * (MAX_INIT_BUF_LEN * 3 // 4) + b"B" * (MAX_INIT_BUF_LEN * 3 // 4)
    got = copy_string_in(new_bytes_io(want + b"\0"), 0, 2 * MAX_INIT_BUF_LEN, IOOpts())
    assert got == (want, None)


def test_no_terminating_zero_byte() -> None:
    want = b"A" * (INC - 1)
    assert copy_string_in(new_bytes_io(want), 0, 2 * INC, IOOpts()) == (want, EFAULT)


def test_truncated_by_maxlen() -> None:
    assert copy_string_in(new_bytes_io(b"A" * 10), 0, 5, IOOpts()) == (b"A" * 5, ENAMETOOLONG)


def test_returns_bytes_not_str() -> None:
    s, err = copy_string_in(new_bytes_io(b"\xff\xfe/x\0"), 0, 10, IOOpts())
    assert err is None
    assert isinstance(s, bytes) and s == b"\xff\xfe/x"


@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 200, 4095, 4096, 5000])
def test_maxlen_edges(length: int) -> None:
    s = bytes((i % 255) + 1 for i in range(length))  # no NUL inside
    mem = s + b"\0" + b"junk"
    io = new_bytes_io(mem)
    # maxlen 0: nothing can be read, even an empty string.
    assert copy_string_in(io, 0, 0, IOOpts()) == (b"", ENAMETOOLONG)
    if length:
        assert copy_string_in(io, 0, length - 1, IOOpts()) == (s[:-1], ENAMETOOLONG)
    # maxlen == len: the NUL does not fit.
    assert copy_string_in(io, 0, length, IOOpts()) == (s, ENAMETOOLONG)
    # maxlen == len + 1: just fits.
    assert copy_string_in(io, 0, length + 1, IOOpts()) == (s, None)
    assert copy_string_in(io, 0, length + 100, IOOpts()) == (s, None)


@pytest.mark.parametrize("length", [0, 1, 62, 63, 64, 65, 100, PAGE_SIZE - 1])
def test_string_ending_at_page_boundary_before_unmapped(length: int) -> None:
    # Memory is [0, 2 pages); the string's NUL is the very last mapped byte.
    # StrictIO fails any copy reaching past the end without copying anything,
    # so this only works because no step crosses a page boundary.
    mem = bytearray(b"\x01" * (2 * PAGE_SIZE))
    s = b"S" * length
    start = 2 * PAGE_SIZE - length - 1
    mem[start:] = s + b"\0"
    sio = StrictIO(bytes(mem))
    assert copy_string_in(sio, start, PAGE_SIZE * 4, IOOpts()) == (s, None)
    for addr, n in sio.calls:
        assert 0 < n <= INC
        assert addr // PAGE_SIZE == (addr + n - 1) // PAGE_SIZE, "no step crosses a page"
    # The same string over a BytesIO whose end is the unmapped boundary.
    assert copy_string_in(BytesIO(mem), start, PAGE_SIZE * 4, IOOpts()) == (s, None)


def test_unterminated_string_running_into_unmapped_page() -> None:
    mem = b"\x01" * PAGE_SIZE
    sio = StrictIO(mem)
    got = copy_string_in(sio, PAGE_SIZE - 10, 100, IOOpts())
    assert got == (b"\x01" * 10, EFAULT)
    assert sio.calls == [(PAGE_SIZE - 10, 10), (PAGE_SIZE, 64)]


def test_nul_found_in_partial_copy() -> None:
    # The NUL is looked for in what was copied even though the copy failed.
    assert copy_string_in(new_bytes_io(b"ab\0c"), 0, 64, IOOpts()) == (b"ab", None)
    assert copy_string_in(new_bytes_io(b"abc"), 0, 64, IOOpts()) == (b"abc", EFAULT)
    assert copy_string_in(new_bytes_io(b"abc"), 10, 64, IOOpts()) == (b"", EFAULT)


def test_address_overflow() -> None:
    # A step that would reach 2**64 is EFAULT before any copy (gVisor's rule,
    # even if the memory below 2**64 is readable).
    base = 2**64 - PAGE_SIZE
    sio = StrictIO(b"A" * (PAGE_SIZE - 1) + b"\0", base)
    assert copy_string_in(sio, ADDR_MAX, 10, IOOpts()) == (b"", EFAULT)
    assert sio.calls == []
    s, err = copy_string_in(sio, base, 2 * PAGE_SIZE, IOOpts())
    assert err is EFAULT
    assert s == b"A" * (PAGE_SIZE - INC)
    # Short maxlen keeps the last step below 2**64.
    assert copy_string_in(sio, ADDR_MAX - 3, 3, IOOpts()) == (b"AAA", ENAMETOOLONG)


def model_copy_string_in(mem: bytes, addr: int, maxlen: int) -> tuple[bytes, Exception | None]:
    region = mem[addr : addr + maxlen] if addr < len(mem) else b""
    i = region.find(b"\0")
    if i >= 0:
        return region[:i], None
    if len(region) == maxlen:
        return region, ENAMETOOLONG
    return region, EFAULT


@settings(max_examples=300)
@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"\0", b"x")),
    st.integers(0, 320),
    st.integers(0, 400),
    st.integers(0, 5),
)
def test_matches_flat_model(body: bytes, addr: int, maxlen: int, nul_every: int) -> None:
    mem = bytearray(body)
    if nul_every and mem:
        mem[len(mem) * nul_every // 6 :: 97] = bytes(len(mem[len(mem) * nul_every // 6 :: 97]))
    got = copy_string_in(BytesIO(mem), addr, maxlen, IOOpts())
    assert got == model_copy_string_in(bytes(mem), addr, maxlen)
