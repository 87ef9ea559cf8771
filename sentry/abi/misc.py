"""Small ABI constant sets of single syscalls: resource limits, prctl,
poll events, getrandom, clock_nanosleep, capability numbers (``include/uapi/asm-generic/resource.h``,
``linux/prctl.h``, ``asm-generic/poll.h``, ``linux/random.h``, ``linux/time.h``)."""

from __future__ import annotations

RLIMIT_NOFILE = 7
RLIMIT_NLIMITS = 16
RLIM_INFINITY = (1 << 64) - 1

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_GET_NAME = 16

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4

TIMER_ABSTIME = 1

CAP_IPC_LOCK = 14
