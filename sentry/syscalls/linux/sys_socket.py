"""The socket calls on descriptors (gVisor ``sys_socket.go``).

There are no sockets in the sentry yet (``socket(2)`` itself is
unimplemented and returns ENOSYS), so no descriptor can be one: every call
that operates on a socket fd answers as Linux does for a non-socket —
EBADF for a closed fd, ENOTSOCK otherwise (Linux's ``sockfd_lookup``
comes before any other argument is read). Inherited stdio that is a host
socket is treated as a plain stream too (a documented divergence).
"""

from __future__ import annotations

from sentry.kernel.task import Task
from sentry.linuxerr import ENOTSOCK
from sentry.syscalls.linux.args import s32


def sys_on_socket_fd(t: Task, fd: int, *_: int) -> int:
    t.tg.fd_table.get(s32(fd))  # EBADF
    raise ENOTSOCK
