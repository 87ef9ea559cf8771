"""Terminal ioctls and the kernel's termios structs (x86-64).

The kernel ABI is not libc's: glibc's ``struct termios`` is 60 bytes (it
adds ``c_ispeed``/``c_ospeed`` and has ``c_cc[32]``), but ``TCGETS`` writes
the 36-byte kernel ``struct termios`` of ``asm-generic/termbits.h``::

    tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;   4 x u32
    cc_t     c_line;                               u8
    cc_t     c_cc[NCCS];                           19 x u8   (NCCS = 19)

``TCGETS2`` writes ``struct termios2``: the same plus ``speed_t c_ispeed,
c_ospeed`` at offsets 36 and 40 (44 bytes, no padding). Every ioctl copies exactly these sizes; copying libc's
size overwrites the caller's stack (bash's ``*** stack smashing ***``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

NCCS = 19
TERMIOS = struct.Struct("<4IB19s")  # 36 bytes
TERMIOS2 = struct.Struct("<4IB19sII")  # 44 bytes
WINSIZE = struct.Struct("<4H")  # ws_row, ws_col, ws_xpixel, ws_ypixel
assert TERMIOS.size == 36 and TERMIOS2.size == 44 and WINSIZE.size == 8

# asm-generic/ioctls.h
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TIOCEXCL, TIOCNXCL, TIOCSCTTY = 0x540C, 0x540D, 0x540E
TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCSTI = 0x540F, 0x5410, 0x5411, 0x5412
TIOCGWINSZ, TIOCSWINSZ = 0x5413, 0x5414
TIOCINQ = FIONREAD = 0x541B
TIOCNOTTY = 0x5422
TIOCSETD, TIOCGETD = 0x5423, 0x5424
TIOCGSID = 0x5429
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TIOCGPTN, TIOCSPTLCK = 0x80045430, 0x40045431
TIOCGPTPEER = 0x5441

#: Requests whose argument points at a struct the kernel writes: its size.
OUT_SIZES = {
    TCGETS: TERMIOS.size,
    TCGETS2: TERMIOS2.size,
    TIOCGWINSZ: WINSIZE.size,
    TIOCGPGRP: 4,
    TIOCGSID: 4,
    TIOCOUTQ: 4,
    FIONREAD: 4,
    TIOCGETD: 4,
    TIOCGPTN: 4,
}

#: Requests whose argument points at a struct the kernel reads: its size.
IN_SIZES = {
    TCSETS: TERMIOS.size,
    TCSETSW: TERMIOS.size,
    TCSETSF: TERMIOS.size,
    TCSETS2: TERMIOS2.size,
    TCSETSW2: TERMIOS2.size,
    TCSETSF2: TERMIOS2.size,
    TIOCSWINSZ: WINSIZE.size,
    TIOCSPGRP: 4,
    TIOCSETD: 4,
    TIOCSPTLCK: 4,
    TIOCSTI: 1,
}

#: Printable names (strace).
NAMES = {
    TCGETS: "TCGETS", TCSETS: "TCSETS", TCSETSW: "TCSETSW", TCSETSF: "TCSETSF",
    TCSBRK: "TCSBRK", TCXONC: "TCXONC", TCFLSH: "TCFLSH", TIOCSCTTY: "TIOCSCTTY",
    TIOCGPGRP: "TIOCGPGRP", TIOCSPGRP: "TIOCSPGRP", TIOCOUTQ: "TIOCOUTQ", TIOCSTI: "TIOCSTI",
    TIOCGWINSZ: "TIOCGWINSZ", TIOCSWINSZ: "TIOCSWINSZ", FIONREAD: "FIONREAD",
    TIOCNOTTY: "TIOCNOTTY", TIOCSETD: "TIOCSETD", TIOCGETD: "TIOCGETD", TIOCGSID: "TIOCGSID",
    TCGETS2: "TCGETS2", TCSETS2: "TCSETS2", TCSETSW2: "TCSETSW2", TCSETSF2: "TCSETSF2",
    TIOCGPTN: "TIOCGPTN", TIOCSPTLCK: "TIOCSPTLCK", TIOCGPTPEER: "TIOCGPTPEER",
}

# c_iflag
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY, IXOFF, IMAXBEL, IUTF8 = (
    0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000, 0o10000, 0o20000, 0o40000)
# c_oflag
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
# c_cflag
B38400, CS8, CREAD, HUPCL, CBAUD = 0o17, 0o60, 0o200, 0o2000, 0o10017
# c_lflag
ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, TOSTOP = (
    0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400)
ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, IEXTEN = 0o1000, 0o2000, 0o4000, 0o10000, 0o40000, 0o100000
# c_cc indices
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC = 0, 1, 2, 3, 4, 5, 6, 7
VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 = 8, 9, 10, 11, 12, 13, 14, 15, 16


def _default_cc() -> bytearray:
    """Linux's INIT_C_CC: ^C ^\\ DEL ^U ^D, VTIME 0, VMIN 1, ^Q ^S ^Z, ^R ^O ^W ^V."""
    cc = bytearray(NCCS)
    for i, v in ((VINTR, 3), (VQUIT, 0x1C), (VERASE, 0x7F), (VKILL, 0x15), (VEOF, 4), (VMIN, 1),
                 (VSTART, 0x11), (VSTOP, 0x13), (VSUSP, 0x1A), (VREPRINT, 0x12), (VDISCARD, 0x0F),
                 (VWERASE, 0x17), (VLNEXT, 0x16)):
        cc[i] = v
    return cc


@dataclass
class Termios:
    """A terminal's settings (the kernel's ``struct ktermios``). Defaults are
    what a new pty replica starts with (Linux's ``tty_std_termios`` with
    the pts driver's ``c_cflag = B38400 | CS8 | CREAD``)."""

    iflag: int = ICRNL | IXON
    oflag: int = OPOST | ONLCR
    cflag: int = B38400 | CS8 | CREAD
    lflag: int = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    line: int = 0
    cc: bytearray = field(default_factory=_default_cc)
    ispeed: int = 38400
    ospeed: int = 38400

    def pack(self) -> bytes:
        """The 36-byte ``struct termios``."""
        return TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc))

    def pack2(self) -> bytes:
        """The 44-byte ``struct termios2``."""
        return TERMIOS2.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc),
                             self.ispeed, self.ospeed)

    @classmethod
    def unpack(cls, data: bytes) -> Termios:
        """From a 36- or 44-byte struct (``termios`` or ``termios2``)."""
        if len(data) >= TERMIOS2.size:
            i, o, c, lf, line, cc, isp, osp = TERMIOS2.unpack_from(data)
            return cls(i, o, c, lf, line, bytearray(cc), isp, osp)
        i, o, c, lf, line, cc = TERMIOS.unpack_from(data)
        return cls(i, o, c, lf, line, bytearray(cc))
