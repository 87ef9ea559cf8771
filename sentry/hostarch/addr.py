"""Address-space constants and integer address helpers.

Compare gVisor's ``pkg/hostarch/addr.go``, ``sizes_util.go`` and
``hostarch_x86.go``. An address is a plain Python ``int`` in ``[0, 2**64)``;
the helpers below reproduce the uint64 wraparound rules of Go's ``Addr`` type
where it matters (``page_round_up``, ``add_length``): a result that would reach
or pass ``2**64`` is reported with ``ok=False`` and the value reduced modulo
``2**64``, exactly as the Go code would compute it.
"""

from __future__ import annotations

# x86-64 page geometry.
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = PAGE_SIZE - 1
HUGE_PAGE_SHIFT = 21
HUGE_PAGE_SIZE = 1 << HUGE_PAGE_SHIFT
HUGE_PAGE_MASK = HUGE_PAGE_SIZE - 1

# Linux's MAX_RW_COUNT (INT_MAX & PAGE_MASK): the most bytes one read/write
# family syscall transfers.
MAX_RW_COUNT = 0x7FFFF000
# Linux's UIO_MAXIOV: the most iovecs one readv/writev accepts.
UIO_MAXIOV = 1024

# The highest address; ``2**64`` itself is not an address.
ADDR_MAX = (1 << 64) - 1

_NOT_PAGE_MASK = ~PAGE_MASK
_NOT_HUGE_PAGE_MASK = ~HUGE_PAGE_MASK


def page_round_down(x: int) -> int:
    """Return ``x`` rounded down to a page boundary (never fails)."""
    return x & _NOT_PAGE_MASK


def page_round_up(x: int) -> tuple[int, bool]:
    """Return ``(x rounded up to a page boundary, ok)``.

    ``ok`` is False if rounding up wraps past ``2**64``; the value returned
    then is the wrapped one (``0``), like gVisor's ``PageRoundUp``.
    """
    y = (x + PAGE_MASK) & _NOT_PAGE_MASK
    if y > ADDR_MAX:
        return y & ADDR_MAX, False
    return y, True


def must_page_round_up(x: int) -> int:
    """Return ``x`` rounded up to a page boundary; raise ValueError on wraparound."""
    y, ok = page_round_up(x)
    if not ok:
        raise ValueError(f"page_round_up({x:#x}) wraps around")
    return y


def page_offset(x: int) -> int:
    """Return the offset of ``x`` within its page."""
    return x & PAGE_MASK


def is_page_aligned(x: int) -> bool:
    """Return True if ``x`` is a multiple of PAGE_SIZE."""
    return x & PAGE_MASK == 0


def huge_page_round_down(x: int) -> int:
    """Return ``x`` rounded down to a huge-page boundary (never fails)."""
    return x & _NOT_HUGE_PAGE_MASK


def huge_page_round_up(x: int) -> tuple[int, bool]:
    """Return ``(x rounded up to a huge-page boundary, ok)``; ``ok`` is False on wraparound."""
    y = (x + HUGE_PAGE_MASK) & _NOT_HUGE_PAGE_MASK
    if y > ADDR_MAX:
        return y & ADDR_MAX, False
    return y, True


def huge_page_offset(x: int) -> int:
    """Return the offset of ``x`` within its huge page."""
    return x & HUGE_PAGE_MASK


def is_huge_page_aligned(x: int) -> bool:
    """Return True if ``x`` is a multiple of HUGE_PAGE_SIZE."""
    return x & HUGE_PAGE_MASK == 0


def to_pages_round_up(x: int) -> tuple[int, bool]:
    """Return ``(number of pages covering x bytes, ok)``; ``ok`` is False on wraparound."""
    y, ok = page_round_up(x)
    return y >> PAGE_SHIFT, ok


def add_length(addr: int, length: int) -> tuple[int, bool]:
    """Return ``(addr + length, ok)`` with Go uint64 semantics.

    ``ok`` is False when the sum wraps around; the returned end is then the
    wrapped value. Note that an end of exactly ``2**64`` (a range touching the
    top of the address space) wraps to 0 and is reported as *not* ok, which is
    gVisor's rule.

    Preconditions: ``0 <= addr <= ADDR_MAX``; ``length >= 0``.
    """
    end = addr + length
    if end > ADDR_MAX:
        return end & ADDR_MAX, False
    return end, True
