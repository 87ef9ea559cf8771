"""Fixtures for the MemoryManager tests: one MemoryFile per test module
(``mf``) and a fresh MemoryManager over Unicorn per test (``mm``), whose
address space is checked against its pmas (``check_cache``) before it is
released."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mm_helpers import check_cache

from sentry.memfile import MemoryFile
from sentry.mm import MemoryManager
from sentry.platform import UnicornAddressSpace


@pytest.fixture(scope="module")
def mf() -> MemoryFile:
    return MemoryFile()


@pytest.fixture
def mm(mf: MemoryFile) -> Iterator[MemoryManager]:
    m = MemoryManager(mf, UnicornAddressSpace)
    yield m
    check_cache(m)
    m.release()
