"""The ``IO`` protocol: an address space the sentry can do I/O on.

Compare gVisor's ``pkg/usermem/usermem.go``. Implemented by the
MemoryManager (``sentry.mm``) and by :class:`sentry.usermem.BytesIO` for
tests. Guest-memory errors are returned as values, never raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sentry.hostarch import AddrRangeSeq
    from sentry.safemem import ReadableBuffer, Reader, WritableBuffer, Writer


class IOOpts(NamedTuple):
    """Options applicable to all IO methods."""

    ignore_permissions: bool = False
    """Ignore application-defined protections (mmap/mprotect), as ptrace
    POKEDATA and /proc/pid/mem do. Protections required by the target of the
    mapping (a vma's maximum permissions) are never ignored."""


DEFAULT_OPTS = IOOpts()
"""``IOOpts()``: honour the application's memory protections."""


@runtime_checkable
class IO(Protocol):
    """Access to the contents of a virtual address space.

    Every method returns ``(value, err)``. ``err`` is None on full success
    and set whenever the result is short; it is an Errno (usually EFAULT)
    for memory errors, or, for :meth:`copy_out_from` / :meth:`copy_in_to`,
    whatever the caller's Reader/Writer returned, passed through unchanged.

    Preconditions (all methods): the caller must not hold the
    MemoryManager's mapping lock or anything after it in the lock order.
    """

    def copy_out(self, addr: int, src: ReadableBuffer, opts: IOOpts) -> tuple[int, Exception | None]:
        """Copy ``len(src)`` bytes from ``src`` to the memory mapped at ``addr``.

        Returns ``(n, err)``: the number of bytes copied. If
        ``n < len(src)``, ``err`` is not None and explains why; the first
        ``n`` bytes have been written. Does not retain ``src``.
        """
        ...

    def copy_in(self, addr: int, dst: WritableBuffer, opts: IOOpts) -> tuple[int, Exception | None]:
        """Copy ``len(dst)`` bytes from the memory mapped at ``addr`` into ``dst``.

        ``dst`` is a writable buffer (bytearray, memoryview, ...). Returns
        ``(n, err)``: if ``n < len(dst)``, ``err`` is not None and explains
        why; ``dst[:n]`` holds the bytes copied. Does not retain ``dst``.
        """
        ...

    def zero_out(self, addr: int, to_zero: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Set ``to_zero`` bytes starting at ``addr`` to 0.

        Returns ``(n, err)``: if ``n < to_zero``, ``err`` is not None and
        explains why; the first ``n`` bytes were zeroed.
        Precondition: ``to_zero >= 0``.
        """
        ...

    def copy_out_from(
        self, ars: AddrRangeSeq, src: Reader, opts: IOOpts
    ) -> tuple[int, Exception | None]:
        """Copy ``ars.num_bytes()`` bytes read from ``src`` to the memory mapped at ``ars``.

        Calls ``src.read_to_blocks`` at most once. Returns ``(n, err)``: the
        bytes copied, which may be fewer than ``src`` produced if the memory
        copy fails. A partial copy without an error happens iff
        ``src.read_to_blocks`` returned a partial read without an error. If
        ``src`` returned an error it is returned unchanged; otherwise a
        memory error (EFAULT) is returned when part of ``ars`` could not be
        reached. Precondition: ``src`` must not block on MM locks.
        """
        ...

    def copy_in_to(
        self, ars: AddrRangeSeq, dst: Writer, opts: IOOpts
    ) -> tuple[int, Exception | None]:
        """Copy ``ars.num_bytes()`` bytes from the memory mapped at ``ars`` to ``dst``.

        Calls ``dst.write_from_blocks`` at most once. Returns ``(n, err)``; a
        partial copy without an error happens iff ``dst.write_from_blocks``
        returned a partial write without an error. ``dst``'s error, if any,
        is returned unchanged; otherwise a memory error (EFAULT) when part of
        ``ars`` could not be reached. Precondition: ``dst`` must not block on
        MM locks.
        """
        ...

    def swap_uint32(self, addr: int, new: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Atomically store the uint32 ``new`` at ``addr``; return ``(old, err)``.

        On error nothing is stored and the value is 0.
        Precondition: ``addr`` is 4-byte aligned.
        """
        ...

    def compare_and_swap_uint32(
        self, addr: int, old: int, new: int, opts: IOOpts
    ) -> tuple[int, Exception | None]:
        """Atomically replace the uint32 at ``addr`` by ``new`` if it equals ``old``.

        Returns ``(previous value, err)`` whether or not the swap happened;
        on error nothing is stored and the value is 0.
        Precondition: ``addr`` is 4-byte aligned.
        """
        ...

    def load_uint32(self, addr: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Atomically load the uint32 at ``addr``; return ``(value, err)`` (0 on error).

        Precondition: ``addr`` is 4-byte aligned.
        """
        ...
