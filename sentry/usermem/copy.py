"""Copy helpers over an ``IO``: NUL-terminated strings, vectored copies, int strings.

Compare gVisor's ``pkg/usermem/usermem.go`` (CopyStringIn, CopyOutVec,
CopyInVec, ZeroOutVec, CopyInt32StringsInVec).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.hostarch.addr import ADDR_MAX, PAGE_MASK
from sentry.linuxerr import EFAULT, EINVAL, ENAMETOOLONG
from sentry.safemem.block import byte_view
from sentry.usermem.io import DEFAULT_OPTS, IO, IOOpts

if TYPE_CHECKING:
    from sentry.hostarch import AddrRangeSeq
    from sentry.safemem import ReadableBuffer, WritableBuffer

# copy_string_in tuning: bytes per IO.copy_in call (never crossing a page).
COPY_STRING_INCREMENT = 64

_NOT_PAGE_MASK = ~PAGE_MASK


def copy_string_in(
    uio: IO, addr: int, maxlen: int, opts: IOOpts = DEFAULT_OPTS
) -> tuple[bytes, Exception | None]:
    """Copy in the NUL-terminated string at ``addr``; return ``(string, err)``.

    The string is returned as ``bytes`` without its NUL (guest strings are
    bytes, not text). Memory is read in steps of at most 64 bytes that never
    cross a page boundary, so a string ending just before an unmapped page
    is read successfully. Results:

    * NUL found within ``maxlen`` bytes: ``(string, None)``; the NUL is
      looked for in whatever was copied, even when the copy then failed;
    * no NUL in the first ``maxlen`` bytes: ``(first maxlen bytes,
      ENAMETOOLONG)`` (``maxlen == 0`` gives ``(b"", ENAMETOOLONG)``);
    * copy failed before a NUL: ``(bytes copied so far, err)`` with the IO's
      error (EFAULT);
    * a step would run to or past ``2**64``: ``(bytes so far, EFAULT)``.

    Precondition: ``maxlen >= 0``.
    """
    buf = bytearray()
    done = 0
    step = COPY_STRING_INCREMENT
    copy_in = uio.copy_in
    while done < maxlen:
        readlen = maxlen - done
        if readlen > step:
            readlen = step
        end = addr + readlen
        if end > ADDR_MAX:
            return bytes(buf), EFAULT
        # Don't cross a page boundary: faulting in a page unnecessarily is
        # expensive, and the string may end right before an unmapped page.
        end_page = end & _NOT_PAGE_MASK
        if addr & _NOT_PAGE_MASK != end_page:
            end = end_page
            readlen = end - addr
        chunk = bytearray(readlen)
        n, err = copy_in(addr, chunk, opts)
        i = chunk.find(0, 0, n)
        if i >= 0:
            buf += chunk[:i]
            return bytes(buf), None
        buf += chunk[:n] if n < readlen else chunk
        done += n
        if err is not None:
            return bytes(buf), err
        addr = end
    return bytes(buf), ENAMETOOLONG


def copy_out_vec(
    uio: IO, ars: AddrRangeSeq, src: ReadableBuffer, opts: IOOpts = DEFAULT_OPTS
) -> tuple[int, Exception | None]:
    """Copy ``src`` to the memory mapped at ``ars``, range by range.

    At most ``min(len(src), ars.num_bytes())`` bytes are copied. Returns
    ``(n, err)``: if ``n`` is less than that maximum, ``err`` (the IO's
    error) says why. If ``ars`` is shorter than ``src`` the copy is
    truncated *without* error.
    """
    data = byte_view(src)
    copy_out = uio.copy_out
    return _over_ranges(ars, len(data), lambda addr, done, n: copy_out(addr, data[done : done + n], opts))


def copy_in_vec(
    uio: IO, ars: AddrRangeSeq, dst: WritableBuffer, opts: IOOpts = DEFAULT_OPTS
) -> tuple[int, Exception | None]:
    """Copy from the memory mapped at ``ars`` into the writable buffer ``dst``.

    At most ``min(len(dst), ars.num_bytes())`` bytes are copied. Returns
    ``(n, err)``: ``dst[:n]`` holds the bytes copied; if ``n`` is less than
    the maximum, ``err`` (the IO's error) says why. If ``ars`` is shorter
    than ``dst`` the copy is truncated *without* error.
    """
    out = byte_view(dst)
    copy_in = uio.copy_in
    return _over_ranges(ars, len(out), lambda addr, done, n: copy_in(addr, out[done : done + n], opts))


def zero_out_vec(
    uio: IO, ars: AddrRangeSeq, to_zero: int, opts: IOOpts = DEFAULT_OPTS
) -> tuple[int, Exception | None]:
    """Zero the memory mapped at ``ars``, up to ``to_zero`` bytes.

    At most ``min(to_zero, ars.num_bytes())`` bytes are zeroed. Returns
    ``(n, err)``: if ``n`` is less than that maximum, ``err`` (the IO's
    error) says why. Truncation to ``ars.num_bytes()`` is not an error.
    """
    zero_out = uio.zero_out
    return _over_ranges(ars, to_zero, lambda addr, done, n: zero_out(addr, n, opts))


def _over_ranges(
    ars: AddrRangeSeq, total: int, op: Callable[[int, int, int], tuple[int, Exception | None]]
) -> tuple[int, Exception | None]:
    """The loop of the ``*_vec`` functions: ``op(addr, done, n)`` moves ``n``
    bytes at ``addr``, the ``done``-th byte onwards of the caller's data, and
    returns ``(moved, err)``. Called range by range (clipped to what is
    left of ``total``) until ``total`` bytes moved, ``ars`` ends, or ``op``
    fails; returns ``(bytes moved, op's error or None)``."""
    done = 0
    while done < total and not ars.is_empty():
        ar = ars.head()
        cplen = total - done
        arlen = ar[1] - ar[0]
        if cplen > arlen:
            cplen = arlen
        n, err = op(ar[0], done, cplen)
        done += n
        if err is not None:
            return done, err
        ars = ars.drop_first(n)
    return done, None


# Linux include/linux/ctype.h isspace(): ' ', '\t', '\n', '\v', '\f', '\r'.
_WHITESPACE = b" \t\n\v\f\r"
# strconv.ParseInt(s, 10, 32) syntax: optional sign, ASCII decimal digits.
_DECIMAL = re.compile(rb"[+-]?[0-9]+")
_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1


def _skip_whitespace(buf: bytes | bytearray, i: int) -> int:
    n = len(buf)
    while i < n and buf[i] in _WHITESPACE:
        i += 1
    return i


def copy_int32_strings_in_vec(
    uio: IO, ars: AddrRangeSeq, dsts: list[int], opts: IOOpts = DEFAULT_OPTS
) -> tuple[int, Exception | None]:
    """Parse up to ``len(dsts)`` whitespace-separated decimal int32s from ``ars``.

    Values are stored into ``dsts`` in place (entries beyond those parsed are
    left untouched). Returns ``(bytes consumed, err)``, following Linux's
    kernel/sysctl.c:proc_dointvec(write=1):

    * a value that overflows int32 or contains invalid characters gives
      EINVAL, with the count being the offset where that value starts
      (values before it are already stored);
    * reaching the end of ``ars`` with fewer than ``len(dsts)`` values is
      fine if at least one was read, else EINVAL (so ``num_bytes() == 0``
      gives EINVAL);
    * whitespace after the last value read is counted as consumed;
    * if the copy in failed, the IO's error is returned (after parsing what
      was copied).

    Unlike proc_dointvec, ``ars.num_bytes()`` is not limited to a page here.
    ``dsts == []`` returns ``(0, None)`` without touching memory.
    """
    if not dsts:
        return 0, None
    buf = bytearray(ars.num_bytes())
    n, cperr = copy_in_vec(uio, ars, buf, opts)
    del buf[n:]
    length = len(buf)
    i = 0
    j = 0
    while j < len(dsts):
        i = _skip_whitespace(buf, i)
        if i == length:
            break
        next_i = i + 1
        while next_i < length and buf[next_i] not in _WHITESPACE:
            next_i += 1
        token = bytes(buf[i:next_i])
        if _DECIMAL.fullmatch(token) is None:
            return i, EINVAL
        val = int(token)
        if not _INT32_MIN <= val <= _INT32_MAX:
            return i, EINVAL
        dsts[j] = val
        i = next_i
        j += 1
    i = _skip_whitespace(buf, i)
    if cperr is not None:
        return i, cperr
    if j == 0:
        return i, EINVAL
    return i, None


def copy_int32_string_in_vec(
    uio: IO, ars: AddrRangeSeq, dst: int, opts: IOOpts = DEFAULT_OPTS
) -> tuple[int, int, Exception | None]:
    """Like :func:`copy_int32_strings_in_vec` for one value.

    ``dst`` is the current value. Returns ``(bytes consumed, value, err)``
    where ``value`` is the parsed int32, or ``dst`` unchanged if none was
    parsed (Go passes ``*int32`` instead).
    """
    dsts = [dst]
    n, err = copy_int32_strings_in_vec(uio, ars, dsts, opts)
    return n, dsts[0], err
