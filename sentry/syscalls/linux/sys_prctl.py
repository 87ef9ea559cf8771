"""prctl(2) (gVisor ``sys_prctl.go``): the task name and dumpability.

PR_SET_NAME copies at most 15 bytes of a NUL-terminated string (the rest
is ignored, as Linux's ``strncpy_from_user`` into a 16-byte buffer does);
PR_GET_NAME writes the 16-byte NUL-padded name. PR_GET_DUMPABLE /
PR_SET_DUMPABLE keep a per-process flag (0 or 1). Other options fail
with EINVAL.
"""

from __future__ import annotations

from sentry.abi.misc import PR_GET_DUMPABLE, PR_GET_NAME, PR_SET_DUMPABLE, PR_SET_NAME
from sentry.kernel.task import TASK_COMM_LEN, Task
from sentry.linuxerr import EFAULT, EINVAL
from sentry.usermem import DEFAULT_OPTS


def sys_prctl(t: Task, option: int, a2: int, a3: int, a4: int, a5: int, *_: int) -> int:
    option &= 0xFFFFFFFF
    if option == PR_SET_NAME:
        buf = bytearray(TASK_COMM_LEN - 1)
        n, err = t.mm.copy_in(a2, buf, DEFAULT_OPTS)
        data = bytes(buf[:n])
        if b"\0" not in data and err is not None:
            raise EFAULT
        t.comm = data.split(b"\0", 1)[0]
        return 0
    if option == PR_GET_NAME:
        name = t.name()
        t.copy_out_bytes(a2, name + b"\0" * (TASK_COMM_LEN - len(name)))
        return 0
    if option == PR_GET_DUMPABLE:
        return t.tg.dumpable
    if option == PR_SET_DUMPABLE:
        if a2 not in (0, 1):
            raise EINVAL
        t.tg.dumpable = a2
        return 0
    raise EINVAL
