"""The socket calls on descriptors (gVisor ``sys_socket.go``).

There are no sockets in the sentry yet (``socket(2)`` itself is
unimplemented and returns ENOSYS), so no descriptor can be one: every call
that operates on a socket fd answers as Linux does for a non-socket —
EBADF for a closed fd, ENOTSOCK otherwise (Linux's ``sockfd_lookup``
comes before any other argument is read). Inherited stdio that is a host
socket is treated as a plain stream too (a documented divergence).
"""

from __future__ import annotations

from sentry.kernel.kernel import SyscallTable
from sentry.kernel.task import Task
from sentry.linuxerr import ENOTSOCK
from sentry.syscalls.linux.args import s32

# nr -> name, for every call whose first argument is a socket fd.
_ON_SOCKET_FD = {
    42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
    48: "shutdown", 49: "bind", 50: "listen", 51: "getsockname", 52: "getpeername",
    54: "setsockopt", 55: "getsockopt", 288: "accept4", 299: "recvmmsg", 307: "sendmmsg",
}


def sys_on_socket_fd(t: Task, fd: int, *_: int) -> int:
    t.tg.fd_table.get(s32(fd))  # EBADF
    raise ENOTSOCK


def register(table: SyscallTable) -> None:
    for nr, name in _ON_SOCKET_FD.items():
        table.register(nr, name, sys_on_socket_fd)
