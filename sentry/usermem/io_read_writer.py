"""``IOReadWriter``: a read/write cursor at an address in an IO.

Compare gVisor's ``usermem.IOReadWriter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentry.hostarch.addr import ADDR_MAX
from sentry.linuxerr import EFAULT
from sentry.usermem.io import DEFAULT_OPTS, IO, IOOpts

if TYPE_CHECKING:
    from sentry.safemem import ReadableBuffer, WritableBuffer


class IOReadWriter:
    """Reads from / writes to ``io`` at ``addr``, advancing ``addr`` by what was copied.

    The preconditions of ``IO.copy_in`` / ``IO.copy_out`` apply to
    :meth:`read` / :meth:`write`. The cursor never wraps around the top of
    the address space: if advancing would reach ``2**64``, ``addr`` is set to
    ``ADDR_MAX`` and any error becomes EFAULT.
    """

    __slots__ = ("addr", "io", "opts")

    def __init__(self, io: IO, addr: int, opts: IOOpts = DEFAULT_OPTS) -> None:
        self.io = io
        self.addr = addr
        self.opts = opts

    def _advance(self, n: int, err: Exception | None) -> Exception | None:
        end = self.addr + n
        if end <= ADDR_MAX:
            self.addr = end
            return err
        # Disallow wraparound.
        self.addr = ADDR_MAX
        return EFAULT if err is not None else None

    def read(self, dst: WritableBuffer) -> tuple[int, Exception | None]:
        """Copy in ``len(dst)`` bytes at ``addr``; return ``(n, err)``.

        ``n < len(dst)`` comes with the IO's error (EFAULT for unmapped or
        unreadable memory or the end of the address space). An address space
        has no end of file: EOF is returned only if the IO returns it.
        """
        n, err = self.io.copy_in(self.addr, dst, self.opts)
        return n, self._advance(n, err)

    def write(self, src: ReadableBuffer) -> tuple[int, Exception | None]:
        """Copy out ``src`` at ``addr``; return ``(n, err)`` (short ``n`` comes with an error)."""
        n, err = self.io.copy_out(self.addr, src, self.opts)
        return n, self._advance(n, err)
