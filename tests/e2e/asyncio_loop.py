"""asyncio on epoll: pipes through connect_read_pipe/connect_write_pipe,
stdin (a host pipe) read by the loop, call_later timers, wait_for
timeouts and a worker thread waking the loop."""

import asyncio
import contextlib
import os
import selectors
import sys


class PipeLoop(asyncio.SelectorEventLoop):
    """The default loop's self-pipe is a socketpair; this one is a pipe, so
    the loop needs only epoll and pipes."""

    def _make_self_pipe(self):
        self._self_r, self._self_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._csock = None
        self._internal_fds += 1
        self._add_reader(self._self_r, self._read_from_self)

    def _close_self_pipe(self):
        self._remove_reader(self._self_r)
        os.close(self._self_r)
        os.close(self._self_w)
        self._internal_fds -= 1

    def _read_from_self(self):
        while True:
            try:
                data = os.read(self._self_r, 4096)
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            if not data:
                break
            self._process_self_data(data)

    def _write_to_self(self):
        with contextlib.suppress(OSError):
            os.write(self._self_w, b"\0")


class Collect(asyncio.Protocol):
    def __init__(self, q):
        self.q = q

    def data_received(self, data):
        self.q.put_nowait(data)

    def eof_received(self):
        self.q.put_nowait(None)

    def connection_lost(self, exc):
        self.q.put_nowait(None)


async def drain(q):
    buf = b""
    while (d := await q.get()) is not None:
        buf += d
    return buf


async def main():
    loop = asyncio.get_running_loop()
    print("selector", type(loop._selector).__name__)
    order = []
    for i in range(3):
        loop.call_later(0.01 * (3 - i), order.append, i)

    r, w = os.pipe()
    q = asyncio.Queue()
    await loop.connect_read_pipe(lambda: Collect(q), os.fdopen(r, "rb", 0))
    wt, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(w, "wb", 0))
    for i in range(2000):
        wt.write(f"message {i}\n".encode())
    wt.close()
    lines = (await drain(q)).decode().splitlines()
    print("pipe lines", len(lines), lines[0], lines[-1])

    sq = asyncio.Queue()
    await loop.connect_read_pipe(lambda: Collect(sq), sys.stdin.buffer)
    data = await drain(sq)
    print("stdin bytes", len(data), data.count(b"\n"))

    await asyncio.sleep(0.05)
    print("timers fired in order", order)
    try:
        await asyncio.wait_for(asyncio.sleep(10), 0.02)
    except TimeoutError:
        print("wait_for timed out")
    got = await loop.run_in_executor(None, sum, range(1000))
    print("executor", got)
    with selectors.EpollSelector() as sel:
        a, b = os.pipe()
        sel.register(a, selectors.EVENT_READ, "reader")
        print("select empty", sel.select(0))
        os.write(b, b"x")
        print("select ready", [(k.data, ev) for k, ev in sel.select(0)])


loop = PipeLoop()
try:
    loop.run_until_complete(main())
finally:
    loop.close()
print("done")
