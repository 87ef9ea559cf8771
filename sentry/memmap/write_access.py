"""Who may write and who runs a host file (Linux ``i_writecount``:
``deny_write_access``/``get_write_access``): a running executable cannot
be opened for writing (ETXTBSY) and a file open for writing cannot be
executed. Keyed by the host file's (device, inode)."""

from __future__ import annotations

from collections import Counter

_WRITE_DENIED: Counter[tuple[int, int]] = Counter()


def deny_write(key: tuple[int, int]) -> None:
    """A process now runs the file ``key`` (device, inode)."""
    _WRITE_DENIED[key] += 1


def allow_write(key: tuple[int, int]) -> None:
    """One process running ``key`` is gone (exec or exit)."""
    _WRITE_DENIED[key] -= 1
    if _WRITE_DENIED[key] <= 0:
        del _WRITE_DENIED[key]


def write_denied(key: tuple[int, int]) -> bool:
    """Whether opening ``key`` for writing must fail with ETXTBSY."""
    return _WRITE_DENIED[key] > 0 if key in _WRITE_DENIED else False


_WRITERS: Counter[tuple[int, int]] = Counter()


def get_write_access(key: tuple[int, int]) -> None:
    """A description (or shared writable mapping) of ``key`` may write it
    (Linux ``i_writecount``): executing it is ETXTBSY meanwhile."""
    _WRITERS[key] += 1


def put_write_access(key: tuple[int, int]) -> None:
    """One writer of ``key`` is gone."""
    _WRITERS[key] -= 1
    if _WRITERS[key] <= 0:
        del _WRITERS[key]


def has_writers(key: tuple[int, int]) -> bool:
    """Whether ``key`` is open for writing somewhere (exec: ETXTBSY)."""
    return key in _WRITERS
