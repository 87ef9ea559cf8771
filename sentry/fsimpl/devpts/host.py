"""A guest terminal backed by the host terminal run-guest was started on.

When run-guest's stdin is a terminal, the guest does not get the host tty
itself: it gets a pseudo-terminal of its own (``Terminal``) whose master
side is run-guest. The host tty is put in raw mode, so every keystroke
reaches the guest's line discipline, which does the echoing, editing and
^C/^Z signalling for the guest's foreground process group; what the
guest writes to its terminal is written to the host tty unchanged. The
host's window size is copied in at start and on the host's SIGWINCH.

Input arrives while the guest runs: a watcher thread waits for the host
fd to become readable, then asks the kernel to look (``poke``: the
running task's run ends at its next block boundary) and waits until the
kernel's loop has pumped the input (``pump``, always on the kernel's own
thread). The kernel treats the terminal as an input source: with every
task blocked it waits for input instead of reporting a deadlock.

The caller restores the host tty's modes (``sentry.cli``'s
``host_terminal_restored``) on every exit path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import termios as host_termios
import threading
import tty
from collections.abc import Callable
from typing import Any

from sentry.abi import termios
from sentry.fsimpl.devpts import PtsRegistry, ReplicaFile, Terminal
from sentry.vfs.waiter import EVENT_IN, Entry


class HostTerminal:
    """The guest's terminal and the pump between it and host fds."""

    def __init__(self, registry: PtsRegistry, host_in: int, host_out: int, uid: int) -> None:
        self.host_in = host_in
        self.host_out = host_out
        self.term: Terminal = registry.new(uid, 5)
        self.term.locked = False
        self.ready = threading.Event()  # the watcher saw input
        self._consumed = threading.Event()
        self._stop = False
        self._poke: Callable[[], None] = lambda: None
        self._wake_idle: Callable[[], None] = lambda: None
        self._eof = False
        self._copy_winsize()
        entry = Entry(lambda _m: self.flush_output(), EVENT_IN)
        self.term.master_q.event_register(entry)

    def _copy_winsize(self) -> None:
        with contextlib.suppress(OSError):
            ws = fcntl.ioctl(self.host_out, termios.TIOCGWINSZ, bytes(termios.WINSIZE.size))
            if ws != self.term.winsize:
                self.term.winsize = ws
                self.term.signal_foreground(signal.SIGWINCH)

    def open_replica(self, flags: int) -> ReplicaFile:
        """A description of the replica for the guest's stdio."""
        return ReplicaFile(self.term, flags, self.term.node)

    # -- the kernel's side ----------------------------------------------------------------

    def start(self, poke: Callable[[], None], wake_idle: Callable[[], None]) -> None:
        """Raw mode on the host tty and the watcher thread. ``poke`` ends
        the running task's run; ``wake_idle`` ends the kernel's idle wait."""
        self._poke = poke
        self._wake_idle = wake_idle
        with contextlib.suppress(OSError, host_termios.error):
            tty.setraw(self.host_in, host_termios.TCSANOW)
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGWINCH, lambda *_: self._winch())
        threading.Thread(target=self._watch, name="host-terminal", daemon=True).start()

    def _winch(self) -> None:
        self._winch_pending = True
        self.ready.set()
        self._poke()
        self._wake_idle()

    def _watch(self) -> None:
        while not self._stop and not self._eof:
            try:
                r, _, _ = select.select([self.host_in], [], [], None)
            except (OSError, ValueError):
                return
            if not r:
                continue
            self._consumed.clear()
            self.ready.set()
            self._poke()
            self._wake_idle()
            self._consumed.wait()

    def pump(self) -> None:
        """Feed the host's pending input to the line discipline (on the
        kernel's thread)."""
        self.ready.clear()
        if getattr(self, "_winch_pending", False):
            self._winch_pending = False
            self._copy_winsize()
        try:
            r, _, _ = select.select([self.host_in], [], [], 0)
            if r:
                data = os.read(self.host_in, 4096)
                if not data:
                    self._eof = True
                else:
                    term = self.term
                    for sig in term.ld.write_input(data):
                        term.signal_foreground(sig)
                    term.notify()
                    self.flush_output()
        except OSError:
            self._eof = True
        finally:
            self._consumed.set()

    def flush_output(self) -> None:
        """Write what the guest's terminal produced to the host tty."""
        out = self.term.ld.output
        while out:
            try:
                n = os.write(self.host_out, bytes(out[:65536]))
            except BlockingIOError:
                select.select([], [self.host_out], [], None)
                continue
            except OSError:
                out.clear()
                return
            del out[:n]

    @property
    def alive(self) -> bool:
        """Input can still arrive (the host tty has not reached end of file)."""
        return not self._eof

    def stop(self) -> None:
        self._stop = True
        self._consumed.set()
        self.flush_output()


def attach(kernel: Any, registry: PtsRegistry, uid: int) -> HostTerminal | None:
    """A HostTerminal when fd 0 is a host terminal, else None."""
    if not os.isatty(0):
        return None
    out = 1 if os.isatty(1) else 0
    return HostTerminal(registry, 0, out, uid)
