"""The guest side of tests/e2e/test_unix_sockets.py: prints one JSON line."""

import json
import multiprocessing as mp
import os
import socket
from multiprocessing.connection import Client, Listener

out = {}
a, b = socket.socketpair()
a.sendall(b"hello over socketpair")
out["pair"] = b.recv(100).decode()
out["type"] = a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
r, w = os.pipe()
socket.send_fds(a, [b"fd"], [w])
msg, fds, flags, addr = socket.recv_fds(b, 10, 4)
os.write(fds[0], b"through a passed fd")
out["passed"] = os.read(r, 100).decode()
f = b.makefile("rwb")
a.sendall(b"line one\nline two\n")
out["lines"] = [f.readline().decode(), f.readline().decode()]

def child(conn):
    x = conn.recv()
    conn.send({"child_got": x, "squares": [i * i for i in range(x)]})
    conn.close()

ctx = mp.get_context("fork")
parent_end, child_end = ctx.Pipe()
p = ctx.Process(target=child, args=(child_end,))
p.start()
parent_end.send(7)
out["pipe_reply"] = parent_end.recv()
p.join()
out["exitcode"] = p.exitcode

addr = os.path.join(os.getcwd(), "listener.sock")
with Listener(addr, family="AF_UNIX", authkey=b"secret") as lst:
    pid = os.fork()
    if pid == 0:
        with Client(addr, family="AF_UNIX", authkey=b"secret") as c:
            c.send(["from", "client", 42])
            c.send_bytes(b"x" * 300000)
            reply = c.recv()
            c.send(reply.upper())
        os._exit(0)
    with lst.accept() as conn:
        out["listener_got"] = conn.recv()
        out["big"] = len(conn.recv_bytes())
        conn.send("round trip")
        out["upper"] = conn.recv()
    _, status = os.waitpid(pid, 0)
    out["client_status"] = status
print(json.dumps(out, sort_keys=True))
