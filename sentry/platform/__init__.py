"""The execution platform: address spaces and CPU contexts (gVisor's
``pkg/sentry/platform``).

* ``address_space``: the contracts (``AddressSpace``, ``OnSyscall``,
  ``StopReason``/``StopKind``, exception vectors); no Unicorn import.
  Everything above the platform uses these and :func:`new_address_space`.
* ``unicorn_as``: ``UnicornAddressSpace``, one Unicorn engine per address
  space, with its region table and the run loop.
* ``cpu``: ``CPUContext``, one per thread.
* ``regs``: the fast register path (direct ctypes calls into libunicorn).

Importing this package does not import Unicorn (about 60 ms); the Unicorn
names below load it on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentry.platform.address_space import (
    INTERRUPTED,
    SYSCALL_STOP,
    VECTOR_BP,
    VECTOR_DB,
    VECTOR_DE,
    VECTOR_GP,
    VECTOR_INT80,
    VECTOR_OF,
    VECTOR_PF,
    VECTOR_UD,
    AddressSpace,
    OnSyscall,
    PlatformCounters,
    StopKind,
    StopReason,
)

if TYPE_CHECKING:
    from sentry.platform.cpu import CPUContext
    from sentry.platform.unicorn_as import UnicornAddressSpace

__all__ = [
    "INTERRUPTED",
    "SYSCALL_STOP",
    "VECTOR_BP",
    "VECTOR_DB",
    "VECTOR_DE",
    "VECTOR_GP",
    "VECTOR_INT80",
    "VECTOR_OF",
    "VECTOR_PF",
    "VECTOR_UD",
    "AddressSpace",
    "CPUContext",
    "OnSyscall",
    "PlatformCounters",
    "StopKind",
    "StopReason",
    "UnicornAddressSpace",
    "new_address_space",
]

_LAZY = {
    "CPUContext": "sentry.platform.cpu",
    "UnicornAddressSpace": "sentry.platform.unicorn_as",
}


def new_address_space() -> AddressSpace:
    """A new, empty address space of the platform (one Unicorn engine)."""
    from sentry.platform.unicorn_as import UnicornAddressSpace

    return UnicornAddressSpace()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sentry.platform' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
