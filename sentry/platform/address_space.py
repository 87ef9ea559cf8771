"""The platform contracts: ``AddressSpace``, ``StopReason``.

Compare gVisor's ``pkg/sentry/platform/platform.go``. Nothing here depends
on Unicorn; ``unicorn_as`` implements these. The kernel, the mm and the
syscalls program against this module only (``sentry.platform.
new_address_space`` makes one); only ``sentry.platform`` names the
Unicorn classes.

An address space is both gVisor's ``AddressSpace`` (the memory the CPU
sees) and its ``Context`` switch (``run``): each has one engine, and
each thread a ``CPUContext`` made by ``new_context``.

What ``run`` returns (gVisor's ``Context.Switch`` results, as one value):

========================  ==================================================
``SYSCALL_STOP``          the syscall handler asked to leave the run loop
                          (``on_syscall`` returned None); RIP is past the
                          ``syscall`` instruction, RAX untouched.
``FAULT``                 a page fault: ``addr`` (first byte that faulted)
                          and ``access`` (exactly one of READ, WRITE,
                          EXECUTE). RIP is the faulting instruction; fix the
                          mappings and run again to retry it.
``EXCEPTION``             a CPU exception or software interrupt: ``vector``
                          (see the ``VECTOR_*`` constants).
``INTERRUPTED``           the time slice ended or ``interrupt()`` was called
                          (may be spurious); run again to continue.
``INTERNAL_ERROR``        a bug: ``exc`` is the exception raised by the
                          syscall handler (or an unexpected engine error).
                          The guest state is as for ``SYSCALL_STOP`` when
                          it came from the handler.
========================  ==================================================
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from sentry.hostarch import NO_ACCESS, AccessType
from sentry.memmap.file import File, FileRange

if TYPE_CHECKING:
    from sentry.platform.cpu import CPUContext

OnSyscall = Callable[[int, int, int, int, int, int, int], int | None]
"""``on_syscall(nr, a0, a1, a2, a3, a4, a5) -> int | None``: the value for
RAX, or None to leave the run loop."""

# x86 exception vectors reported in ``StopReason.vector``.
VECTOR_DE = 0
"""#DE divide error (``div``/``idiv`` by zero or overflow). RIP: the instruction."""
VECTOR_DB = 1
"""#DB debug."""
VECTOR_BP = 3
"""#BP breakpoint (``int3``). RIP: after the instruction."""
VECTOR_OF = 4
"""#OF overflow (``int 4``; ``into`` is #UD in 64-bit mode)."""
VECTOR_UD = 6
"""#UD invalid opcode (``ud2``, unknown opcodes, ``into``, AVX). RIP: the instruction."""
VECTOR_GP = 13
"""#GP general protection (privileged instructions, ``hlt``, ``cli``). RIP: the instruction."""
VECTOR_PF = 14
"""#PF page fault (never reported as EXCEPTION: faults are ``FAULT`` stops)."""
VECTOR_INT80 = 0x80
"""``int 0x80`` (the legacy 32-bit syscall gate). RIP: after the instruction."""


class StopKind(enum.IntEnum):
    """Why ``run`` returned; see the module docstring."""

    SYSCALL_STOP = 1
    FAULT = 2
    EXCEPTION = 3
    INTERRUPTED = 4
    INTERNAL_ERROR = 5


class StopReason(NamedTuple):
    """The result of one ``run``: ``kind`` plus the fields that kind uses.

    ``addr``/``access`` for FAULT, ``vector`` for EXCEPTION (-1 otherwise),
    ``exc`` for INTERNAL_ERROR.
    """

    kind: StopKind
    addr: int = 0
    access: AccessType = NO_ACCESS
    vector: int = -1
    exc: BaseException | None = None

    def __str__(self) -> str:
        k = self.kind
        if k is StopKind.FAULT:
            return f"fault({self.addr:#x}, {self.access})"
        if k is StopKind.EXCEPTION:
            return f"exception(vector={self.vector})"
        if k is StopKind.INTERNAL_ERROR:
            return f"internal_error({self.exc!r})"
        return k.name.lower()


SYSCALL_STOP = StopReason(StopKind.SYSCALL_STOP)
INTERRUPTED = StopReason(StopKind.INTERRUPTED)


class PlatformCounters(Protocol):
    """Operation counts of one address space (for ``--stats``)."""

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        ...


class AddressSpace(Protocol):
    """The guest's view of memory as the CPU sees it (a cache of pmas),
    and the way into the guest (``run``).

    Compare gVisor's ``platform.AddressSpace`` and ``platform.Context``.
    The MemoryManager is the source of truth; this only mirrors the
    mappings it installs.
    """

    def map_file(
        self, addr: int, file: File, fr: FileRange, at: AccessType, precommit: bool
    ) -> None:
        """Map ``fr`` of ``file`` at ``addr`` with permissions ``at``.

        Creates a *shared* mapping: guest accesses reach the file's host
        memory directly. Silently replaces whatever was mapped in
        ``[addr, addr + fr.length())``.

        Preconditions: ``addr`` and ``fr`` page-aligned; ``fr`` non-empty;
        ``at.any()``; ``fr`` host-contiguous in ``file``; the caller holds
        references on the pages for as long as they stay mapped.
        ``precommit`` asks to populate eagerly (no effect on Unicorn).
        """
        ...

    def unmap(self, addr: int, length: int) -> None:
        """Remove all mappings in ``[addr, addr + length)``.

        Preconditions: page-aligned, ``length > 0``. Holes are allowed;
        never fails.
        """
        ...

    def protect(self, addr: int, length: int, at: AccessType) -> None:
        """Set permissions ``at`` on the mapped parts of ``[addr, addr + length)``.

        For mprotect downgrades and copy-on-write protection at fork:
        holes are skipped; ``at`` may be NO_ACCESS (the pages stay mapped,
        every access faults). Preconditions: page-aligned.
        """
        ...

    def release(self) -> None:
        """Done with this address space: drop every mapping and the engine."""
        ...

    @property
    def region_count(self) -> int:
        """How many regions the engine holds (mapping costs grow with it)."""
        ...

    def regions(self) -> list[tuple[int, int, AccessType]]:
        """The mapped regions ``(start, end, perms)``, sorted (invariant checks)."""
        ...

    @property
    def counters(self) -> PlatformCounters:
        """This address space's operation counts."""
        ...

    # -- execution ------------------------------------------------------------------

    def new_context(self) -> CPUContext:
        """A CPU context for a new thread, in the initial Linux user state."""
        ...

    def run(
        self, cpu: CPUContext, on_syscall: OnSyscall, timeout_us: int = 0, cpu_slice_us: int = 0
    ) -> StopReason:
        """Run ``cpu`` from its RIP until it must return to the kernel (see
        the module docstring for what comes back). ``on_syscall`` services
        syscalls inline; ``timeout_us > 0`` bounds the run in wall time and
        ``cpu_slice_us > 0`` in CPU time of the calling thread (INTERRUPTED,
        between instructions)."""
        ...

    def interrupt(self) -> None:
        """Make the current (or, if none is running, the next) ``run``
        return INTERRUPTED. Safe from another thread or a hook."""
        ...
