"""The usermem ``IO`` implementation of the MemoryManager (gVisor ``mm/io.go``).

Every copy goes through *internal mappings*: memoryviews of the host memory
that backs the guest's pages (the same bytes Unicorn maps), exactly as every
gVisor platform does. A syscall's read therefore lands directly in guest
memory with no intermediate buffer.

Rules (gVisor's, pinned by ``usermem`` and syscall tests):

* the range check is Linux's ``access_ok``: the end must not wrap and must
  not pass the top of the user address space, even for zero-length ranges;
* a copy running into an unmapped or forbidden page returns the bytes
  before it and EFAULT; every memory-layer error becomes EFAULT, while an
  error from the caller's reader or writer passes through unchanged;
* ``copy_out_from`` and ``copy_in_to`` call the reader/writer at most once;
* 32-bit atomics need the 4 bytes in one block; swap and compare-and-swap
  need write permission, load needs read.
"""

from __future__ import annotations

from collections.abc import Callable

from sentry.hostarch import READ, READ_WRITE, WRITE, AccessType, AddrRangeSeq
from sentry.linuxerr import EFAULT
from sentry.mm.mm import MemoryManagerCore
from sentry.safemem import Block, BlockSeq, ReadableBuffer, Reader, WritableBuffer, Writer
from sentry.usermem import IOOpts

_ZEROS = memoryview(bytes(1 << 21))


class MemoryManagerIO(MemoryManagerCore):
    """``usermem.IO`` over the MemoryManager's internal mappings."""

    def check_io_range(self, addr: int, length: int) -> bool:
        """Linux ``access_ok``: ``[addr, addr+length)`` ends at or below the
        top of the user address space (zero length included)."""
        end = addr + length
        return addr >= 0 and end <= self.layout.max_addr

    def _prefix(self, addr: int, length: int, at: AccessType, opts: IOOpts) -> tuple[list[memoryview], Exception | None]:
        views, _good, err = self._io_views(addr, addr + length, at, opts.ignore_permissions)
        return views, (None if err is None else EFAULT)

    def _checked_prefix(
        self, addr: int, length: int, at: AccessType, opts: IOOpts
    ) -> tuple[list[memoryview], Exception | None]:
        """``_prefix`` after the range check: ``([], EFAULT)`` if it fails,
        ``([], None)`` for a zero length."""
        if not self.check_io_range(addr, length):
            return [], EFAULT
        if length == 0:
            return [], None
        return self._prefix(addr, length, at, opts)

    def copy_out(self, addr: int, src: ReadableBuffer, opts: IOOpts) -> tuple[int, Exception | None]:
        """Copy ``src`` to guest memory at ``addr``.

        Returns ``(n, err)``; ``n < len(src)`` only with ``err`` EFAULT, the
        bytes before the first bad page having been written.
        """
        data = memoryview(src).cast("B")
        views, err = self._checked_prefix(addr, len(data), WRITE, opts)
        done = 0
        for v in views:
            ln = len(v)
            v[:] = data[done : done + ln]
            done += ln
        return done, err

    def copy_in(self, addr: int, dst: WritableBuffer, opts: IOOpts) -> tuple[int, Exception | None]:
        """Copy guest memory at ``addr`` into the writable buffer ``dst``.

        Returns ``(n, err)``; a short ``n`` comes with EFAULT and ``dst[:n]``
        holds the bytes before the first bad page.
        """
        out = memoryview(dst).cast("B")
        views, err = self._checked_prefix(addr, len(out), READ, opts)
        done = 0
        for v in views:
            ln = len(v)
            out[done : done + ln] = v
            done += ln
        return done, err

    def zero_out(self, addr: int, to_zero: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Zero ``to_zero`` bytes at ``addr``; partial like ``copy_out``."""
        views, err = self._checked_prefix(addr, to_zero, WRITE, opts)
        done = 0
        for v in views:
            ln = len(v)
            pos = 0
            while pos < ln:
                k = min(ln - pos, len(_ZEROS))
                v[pos : pos + k] = _ZEROS[:k]
                pos += k
            done += ln
        return done, err

    def _vec_views(self, ars: AddrRangeSeq, at: AccessType, opts: IOOpts) -> tuple[list[memoryview], Exception | None]:
        """Views over the reachable prefix of ``ars`` (zero-length ranges
        skipped); the error describes the first unreachable byte."""
        out: list[memoryview] = []
        for ar in ars:
            if ar.start == ar.end:
                continue
            views, err = self._prefix(ar.start, ar.end - ar.start, at, opts)
            out.extend(views)
            if err is not None:
                return out, err
        return out, None

    def _check_vec(self, ars: AddrRangeSeq) -> bool:
        return all(self.check_io_range(ar.start, ar.end - ar.start) for ar in ars)

    def copy_out_from(self, ars: AddrRangeSeq, src: Reader, opts: IOOpts) -> tuple[int, Exception | None]:
        """Read from ``src`` straight into guest memory at ``ars``.

        Calls ``src.read_to_blocks`` at most once, with blocks covering the
        reachable prefix of ``ars``. Returns ``(n, err)``: the reader's error
        if it gave one, else EFAULT if part of ``ars`` was unreachable, else
        None (``n`` may be short without an error iff the reader's was).
        """
        return self._with_blocks(ars, WRITE, opts, src.read_to_blocks)

    def copy_in_to(self, ars: AddrRangeSeq, dst: Writer, opts: IOOpts) -> tuple[int, Exception | None]:
        """Write guest memory at ``ars`` to ``dst``: the mirror image of
        ``copy_out_from`` (``dst.write_from_blocks`` called at most once)."""
        return self._with_blocks(ars, READ, opts, dst.write_from_blocks)

    def _with_blocks(
        self,
        ars: AddrRangeSeq,
        at: AccessType,
        opts: IOOpts,
        op: Callable[[BlockSeq], tuple[int, Exception | None]],
    ) -> tuple[int, Exception | None]:
        """Call ``op`` at most once, with blocks covering the prefix of
        ``ars`` reachable for ``at``; returns ``(n, op's error)`` if it gave
        one, else ``(n, EFAULT)`` if part of ``ars`` was unreachable, else
        ``(n, None)``."""
        if not self._check_vec(ars):
            return 0, EFAULT
        if ars.num_bytes() == 0:
            return 0, None
        views, merr = self._vec_views(ars, at, opts)
        if not views:
            return 0, merr
        n, err = op(BlockSeq.from_blocks(Block(v) for v in views))
        if err is not None:
            return n, err
        return n, merr

    def _atomic_block(self, addr: int, at: AccessType, opts: IOOpts) -> Block | None:
        views, err = self._checked_prefix(addr, 4, at, opts)
        if err is not None or len(views) != 1:
            return None  # atomicity is unachievable across mappings
        return Block(views[0])

    def swap_uint32(self, addr: int, new: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Atomically store ``new`` at ``addr``; returns ``(old, err)``.
        Needs write permission; precondition: 4-byte aligned."""
        b = self._atomic_block(addr, READ_WRITE, opts)
        if b is None:
            return 0, EFAULT
        return b.swap_uint32(new), None

    def compare_and_swap_uint32(self, addr: int, old: int, new: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Atomically replace ``old`` by ``new`` at ``addr``; returns
        ``(previous, err)``. Needs write permission."""
        b = self._atomic_block(addr, READ_WRITE, opts)
        if b is None:
            return 0, EFAULT
        return b.compare_and_swap_uint32(old, new), None

    def load_uint32(self, addr: int, opts: IOOpts) -> tuple[int, Exception | None]:
        """Atomically load the 32-bit value at ``addr``; returns ``(value, err)``."""
        b = self._atomic_block(addr, READ, opts)
        if b is None:
            return 0, EFAULT
        return b.load_uint32(), None
