"""The line discipline between a terminal's two sides (Linux
``drivers/tty/n_tty.c``; gVisor ``fsimpl/devpts/line_discipline.go``).

Input (bytes the master writes, as if typed) goes through input
processing: ISTRIP, IGNCR/ICRNL/INLCR; with ISIG the INTR, QUIT and SUSP
characters become signals for the foreground group (and flush the queues
unless NOFLSH); with ICANON the ERASE, WERASE and KILL characters edit the
current line and a line is readable once NL, EOL, EOL2 or EOF ends it;
without ICANON bytes are readable at once. ECHO copies input to the
output, control characters as ``^X`` under ECHOCTL; ECHOE erases with
``"\\b \\b"``; ECHONL echoes NL even without ECHO.

Output (what the replica writes) goes through output processing under
OPOST: ONLCR turns NL into CR NL, OCRNL CR into NL; the master reads it.

Reads: canonical mode returns at most one line (EOF alone ends the
"line" with 0 bytes: end of file); non-canonical returns what is there
once VMIN bytes are (VMIN 0: never waits). VTIME's timers are not
modelled: VMIN 0 with VTIME > 0 does not wait, VMIN > 0 ignores VTIME.

This object holds no task and sends no signal itself: ``write_input``
returns the signals to raise and the terminal sends them.
"""

from __future__ import annotations

from collections import deque

from sentry.abi.signals import SIGINT, SIGQUIT, SIGTSTP
from sentry.abi.termios import (
    ECHO,
    ECHOCTL,
    ECHOE,
    ECHOK,
    ECHOKE,
    ECHONL,
    ICANON,
    ICRNL,
    IEXTEN,
    IGNCR,
    INLCR,
    ISIG,
    ISTRIP,
    IUCLC,
    NOFLSH,
    OCRNL,
    ONLCR,
    OPOST,
    VEOF,
    VEOL,
    VEOL2,
    VERASE,
    VINTR,
    VKILL,
    VMIN,
    VQUIT,
    VSUSP,
    VWERASE,
    Termios,
)

#: Linux N_TTY_BUF_SIZE: at most this many bytes wait to be read.
INPUT_LIMIT = 4096


class LineDiscipline:
    """Termios state plus the input and output queues of one terminal."""

    def __init__(self) -> None:
        self.termios = Termios()
        # Canonical: completed lines (each with its terminator, except EOF)
        # and the line being edited. Non-canonical: ``raw``.
        self.lines: deque[bytearray] = deque()
        self.edit = bytearray()
        self.raw = bytearray()
        self.output = bytearray()  # processed bytes for the master

    # -- settings ---------------------------------------------------------------

    @property
    def canonical(self) -> bool:
        return bool(self.termios.lflag & ICANON)

    def set_termios(self, new: Termios) -> None:
        """TCSETS: switching canonical mode moves queued input across
        (pending lines and the edit buffer become raw input, and back)."""
        was = self.canonical
        self.termios = new
        if was and not self.canonical:
            for line in self.lines:
                self.raw += line
            self.raw += self.edit
            self.lines.clear()
            self.edit.clear()
        elif not was and self.canonical:
            self.edit = self.raw
            self.raw = bytearray()

    def flush_input(self) -> None:
        self.lines.clear()
        self.edit.clear()
        self.raw.clear()

    def flush_output(self) -> None:
        self.output.clear()

    # -- input (from the master) ---------------------------------------------------

    def has_input(self) -> bool:
        if self.canonical:
            return bool(self.lines)
        return bool(self.raw) and len(self.raw) >= max(1, min(self.termios.cc[VMIN], INPUT_LIMIT))

    def fionread(self) -> int:
        if self.canonical:
            return sum(len(x) for x in self.lines)
        return len(self.raw)

    def read_input(self, n: int) -> bytes | None:
        """Up to ``n`` bytes for a replica read; None when it must wait
        (b"" is end of file: an EOF character on an empty line, or VMIN 0
        with nothing queued)."""
        if self.canonical:
            if not self.lines:
                return None
            line = self.lines[0]
            out = bytes(line[:n])
            del line[:n]
            if not line:
                self.lines.popleft()
            return out
        vmin = self.termios.cc[VMIN]
        if not self.raw:
            return b"" if vmin == 0 else None
        if len(self.raw) < min(vmin, n):
            return None
        out = bytes(self.raw[:n])
        del self.raw[:n]
        return out

    def _echo(self, c: int) -> None:
        lflag = self.termios.lflag
        if c == 0x0A and lflag & (ECHO | ECHONL) and self.canonical:
            self._emit(b"\n")
            return
        if not lflag & ECHO:
            return
        if lflag & ECHOCTL and (c < 0x20 or c == 0x7F) and c not in (0x09, 0x0A):
            self._emit(bytes((0x5E, c ^ 0x40)))  # ^X
        else:
            self._emit(bytes((c,)))

    def _erase_one(self) -> None:
        if not self.edit:
            return
        c = self.edit.pop()
        lflag = self.termios.lflag
        if lflag & ECHO and lflag & ECHOE:
            width = 2 if lflag & ECHOCTL and (c < 0x20 or c == 0x7F) and c != 0x09 else 1
            self._emit(b"\b \b" * width)

    def write_input(self, data: bytes) -> list[int]:
        """Process typed bytes; returns the signals to send to the
        foreground group, in order."""
        t = self.termios
        cc, iflag, lflag = t.cc, t.iflag, t.lflag
        signals: list[int] = []
        for c in data:
            if iflag & ISTRIP:
                c &= 0x7F
            if c == 0x0D:
                if iflag & IGNCR:
                    continue
                if iflag & ICRNL:
                    c = 0x0A
            elif c == 0x0A and iflag & INLCR:
                c = 0x0D
            if iflag & IUCLC and lflag & IEXTEN and 0x41 <= c <= 0x5A:
                c += 0x20
            if lflag & ISIG and c != 0:
                sig = {cc[VINTR]: SIGINT, cc[VQUIT]: SIGQUIT, cc[VSUSP]: SIGTSTP}.get(c)
                if sig is not None:
                    if not lflag & NOFLSH:
                        self.flush_input()
                        self.flush_output()
                    self._echo(c)
                    signals.append(sig)
                    continue
            if self.canonical:
                if c != 0 and c == cc[VERASE]:
                    self._erase_one()
                    continue
                if c != 0 and c == cc[VWERASE] and lflag & IEXTEN:
                    while self.edit and self.edit[-1] in b" \t":
                        self._erase_one()
                    while self.edit and self.edit[-1] not in b" \t":
                        self._erase_one()
                    continue
                if c != 0 and c == cc[VKILL]:
                    if lflag & ECHOK and not lflag & ECHOKE and lflag & ECHO:
                        self.edit.clear()
                        self._echo(c)
                        self._emit(b"\n")
                    else:
                        while self.edit:
                            self._erase_one()
                    continue
                if c != 0 and c == cc[VEOF]:
                    self.lines.append(self.edit)
                    self.edit = bytearray()
                    continue
                if len(self.edit) >= INPUT_LIMIT - 1 and c != 0x0A:
                    continue  # Linux drops what does not fit
                self.edit.append(c)
                self._echo(c)
                if c == 0x0A or (c != 0 and c in (cc[VEOL], cc[VEOL2])):
                    self.lines.append(self.edit)
                    self.edit = bytearray()
                continue
            if len(self.raw) >= INPUT_LIMIT:
                continue
            self.raw.append(c)
            self._echo(c)
        return signals

    # -- output (from the replica) ---------------------------------------------------

    def _emit(self, data: bytes) -> None:
        self.output += self._process_output(data)

    def _process_output(self, data: bytes) -> bytes:
        oflag = self.termios.oflag
        if not oflag & OPOST or not oflag & (ONLCR | OCRNL):
            return data
        out = bytearray()
        for c in data:
            if c == 0x0A and oflag & ONLCR:
                out += b"\r\n"
            elif c == 0x0D and oflag & OCRNL:
                out.append(0x0A)
            else:
                out.append(c)
        return bytes(out)

    def write_output(self, data: bytes) -> None:
        """What the replica writes, processed, for the master to read."""
        self._emit(data)

    def read_output(self, n: int) -> bytes:
        out = bytes(self.output[:n])
        del self.output[:n]
        return out
