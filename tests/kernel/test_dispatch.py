"""Syscall dispatch contracts: unknown syscalls are ENOSYS (logged once),
a Python bug in a handler is an EIO for the guest and a logged internal
error, never a traceback on the user's terminal."""

from __future__ import annotations

from typing import Any

import pytest

from sentry import runner
from sentry.kernel.kernel import Kernel, SyscallTable
from sentry.linuxerr import EIO, ENOSYS
from sentry.syscalls.linux import table as table_mod
from sentry.testing.guests import guest


def _table_with_broken_writev() -> SyscallTable:
    t = table_mod.build_table()

    def broken(*_: int) -> int:
        raise RuntimeError("a bug in a handler")

    t.register(20, "writev", broken)  # musl's stdout goes through writev
    return t


def test_handler_bug_becomes_eio_and_is_logged(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    kernels: list[Kernel] = []
    real_init = Kernel.__init__

    def spy(self: Kernel, *a: object, **kw: object) -> None:
        real_init(self, *a, **kw)  # type: ignore[arg-type]
        kernels.append(self)

    monkeypatch.setattr(runner, "build_table", _table_with_broken_writev)
    monkeypatch.setattr(Kernel, "__init__", spy)
    status = runner.run_program(str(guest("hello-musl")), ["hello"], {"PATH": "/bin"})
    out, err = capfd.readouterr()
    assert "hello, world" not in out
    assert "Traceback" not in err
    assert kernels and kernels[0].internal_errors
    assert "writev" in kernels[0].internal_errors[0]
    assert status == 0  # musl ignores the failed write; the process still exits normally


def test_unknown_syscall_is_enosys_and_logged_once() -> None:
    k = Kernel(SyscallTable(), mf=None)

    class _T:
        tid = 1

    assert k.unknown_syscall(_T(), 999) == -ENOSYS.errno  # type: ignore[arg-type]
    assert k.unknown_syscall(_T(), 999) == -ENOSYS.errno  # type: ignore[arg-type]
    assert k.unknown_syscalls_seen == {999}


def test_internal_error_returns_eio() -> None:
    k = Kernel(SyscallTable(), mf=None)

    class _T:
        tid = 1

    assert k.internal_error(_T(), 1, ValueError("x")) == -EIO.errno  # type: ignore[arg-type]
    assert k.internal_errors == ["syscall_1: ValueError('x')"]


def test_bug_outside_a_handler_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A Python error in the fault path (not a syscall handler) ends the run
    with one line on stderr and EX_SOFTWARE, never a traceback."""
    from sentry.mm import MemoryManager

    def broken(self: object, addr: int, at: object) -> None:
        raise RuntimeError("bug in the fault path")

    monkeypatch.setattr(MemoryManager, "handle_user_fault", broken)
    status = runner.run_program(str(guest("hello-musl")), ["hello"], {"PATH": "/bin"})
    _, err = capfd.readouterr()
    assert status == 70
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "run-guest: internal error: RuntimeError('bug in the fault path') "
        "(rerun with --log-level debug for the traceback)"
    ]


def test_a_failing_resume_is_logged_under_its_syscall(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blocked syscall whose completion raises is reported under its own
    name (not syscall 0, ``read``)."""
    kernels: list[Kernel] = []
    real_init = Kernel.__init__

    def spy(self: Kernel, *a: object, **kw: object) -> None:
        real_init(self, *a, **kw)  # type: ignore[arg-type]
        kernels.append(self)

    def table() -> SyscallTable:
        t = table_mod.build_table()

        def blocking_writev(task: Any, *_: int) -> int:
            def resume() -> int:
                raise RuntimeError("a bug in a resumed syscall")

            # An expired deadline with timeout_result None: the scheduler
            # wakes the task at once and resume() decides.
            task.kernel.block(task, "test", resume, deadline_ns=0, timeout_result=None)

        t.register(20, "writev", blocking_writev)
        return t

    monkeypatch.setattr(runner, "build_table", table)
    monkeypatch.setattr(Kernel, "__init__", spy)
    runner.run_program(str(guest("hello-musl")), ["hello"], {"PATH": "/bin"})
    assert kernels and kernels[0].internal_errors
    assert kernels[0].internal_errors[0].startswith("writev: RuntimeError")
