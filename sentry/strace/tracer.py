"""The strace tracer: wraps each syscall handler to print one line per call."""

from __future__ import annotations

from typing import TextIO

from sentry.kernel.kernel import Handler
from sentry.kernel.task import Task, TaskStop
from sentry.linuxerr import Errno
from sentry.strace.format import SPECS, decode_named, format_iovecs, format_result, pointer, quote
from sentry.usermem import DEFAULT_OPTS


class StraceTracer:
    """Prints ``name(args) = result`` lines like ``strace -f`` to ``out``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def _read(self, task: Task, addr: int, n: int) -> bytes | None:
        buf = bytearray(n)
        got, err = task.mm.copy_in(addr, buf, DEFAULT_OPTS)
        if got == 0 and n and err is not None:
            return None
        return bytes(buf[:got])

    def _string(self, task: Task, addr: int) -> str:
        if addr == 0:
            return "NULL"
        from sentry.usermem import copy_string_in

        s, err = copy_string_in(task.mm, addr, 4096, DEFAULT_OPTS)
        if err is not None and not s:
            return pointer(addr)
        return quote(s)

    def _args(self, task: Task, name: str, args: tuple[int, ...], ret: int | None, entry: bool) -> list[str]:
        spec = SPECS.get(name)
        if spec is None:
            return [hex(a) for a in args]
        out = []
        for i, code in enumerate(spec):
            v = args[i]
            kind = code[0]
            if kind in "bB" and len(code) > 1:
                if kind == "B" and (ret is None or ret < 0):
                    out.append(pointer(v))
                    continue
                n = args[int(code[1:])] if kind == "b" else (ret or 0)
                data = self._read(task, v, min(n, 33))
                out.append(pointer(v) if data is None else quote(data[:32], truncated=n > 32))
            elif kind in "vV" and len(code) > 1:
                if kind == "V" and (ret is None or ret < 0):
                    out.append(pointer(v))
                    continue
                limit = (1 << 62) if kind == "v" else (ret or 0)
                out.append(format_iovecs(lambda a, n: self._read(task, a, n), v, args[int(code[1:])], limit))
            elif code == "s":
                out.append(self._string(task, v))
            else:
                out.append(decode_named(code, v) or hex(v))
        return out

    def wrap(self, task: Task, nr: int, name: str, handler: Handler | None) -> Handler:
        out = self.out

        def traced(t: Task, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int:
            args = (a0, a1, a2, a3, a4, a5)
            ret: int | None
            try:
                if handler is None:
                    ret = t.kernel.unknown_syscall(t, nr)
                else:
                    ret = handler(t, a0, a1, a2, a3, a4, a5)
            except Errno as e:
                ret = -e.errno
            except TaskStop:
                out.write(f"{name}({', '.join(self._args(t, name, args, None, True))}) = ?\n")
                out.flush()
                raise
            text = ", ".join(self._args(t, name, args, ret, False))
            out.write(f"{name}({text}) = {format_result(name, ret)}\n")
            out.flush()
            return ret

        return traced


