"""Syscalls 230-469 of the x86-64 table (``syscall_64.tbl``); see ``table``.

Numbers 335-423 are unassigned on x86-64 and have no entry.
"""

from __future__ import annotations

from sentry.syscalls.linux import sys_dir as dir_
from sentry.syscalls.linux import sys_epoll as epoll
from sentry.syscalls.linux import sys_eventfd as eventfd
from sentry.syscalls.linux import sys_exec as exec_
from sentry.syscalls.linux import sys_file as file
from sentry.syscalls.linux import sys_futex as futex
from sentry.syscalls.linux import sys_memfd as memfd
from sentry.syscalls.linux import sys_misc as misc
from sentry.syscalls.linux import sys_mlock as mlock
from sentry.syscalls.linux import sys_pidfd as pidfd
from sentry.syscalls.linux import sys_pipe as pipe
from sentry.syscalls.linux import sys_poll as poll
from sentry.syscalls.linux import sys_read_write as rw
from sentry.syscalls.linux import sys_signal as sig
from sentry.syscalls.linux import sys_signalfd as signalfd
from sentry.syscalls.linux import sys_socket as sock
from sentry.syscalls.linux import sys_socket_msg as sockmsg
from sentry.syscalls.linux import sys_stat as stat
from sentry.syscalls.linux import sys_thread as thread
from sentry.syscalls.linux import sys_time as time_
from sentry.syscalls.linux import sys_timerfd as timerfd
from sentry.syscalls.linux import sys_wait as wait
from sentry.syscalls.linux.entries import Entry, PartiallySupported, Supported, Unimplemented
from sentry.syscalls.linux.table_low import (
    EXEC_NOTE,
    MLOCK_NOTE,
    NO_PRIORITIES,
    NO_XATTRS,
    NOT_YET,
    OBSOLETE,
    OPEN_NOTE,
    PRIVILEGED,
)

NO_MOUNT_API = "CAP_SYS_ADMIN (the new mount API)"
NO_PIDFD = "pidfds exist (pidfd_open) but not this call on them"
EPOLL_NOTE = ("EPOLLEXCLUSIVE wakes every waiter and EPOLLWAKEUP has no effect; host fds (a terminal or "
              "pipe on stdin) are polled every 10 ms and EPOLLET on them reports rising edges")
NO_LANDLOCK = "no Landlock"
SIGNALFD_NOTE = ("ssi_status, ssi_utime, ssi_stime and sigqueue values read as 0; a signalfd inherited across "
                 "fork is woken by its creator's signals")
TIMERFD_NOTE = ("the alarm clocks are their base clocks (no suspend); TFD_TIMER_CANCEL_ON_SET never cancels "
                "(the host clock is never set by the guest)")
NO_FUTEX2 = "futex2 calls (use futex)"

HIGH: dict[int, Entry] = {
    230: PartiallySupported("clock_nanosleep", time_.sys_clock_nanosleep, "an absolute CLOCK_REALTIME "
                            "sleep does not follow clock changes; CLOCK_PROCESS_CPUTIME_ID sleeps in "
                            "wall time; an unwritable rem is ignored"),
    231: Supported("exit_group", thread.sys_exit_group),
    232: Supported("epoll_wait", epoll.sys_epoll_wait),
    233: PartiallySupported("epoll_ctl", epoll.sys_epoll_ctl, EPOLL_NOTE),
    234: Supported("tgkill", sig.sys_tgkill),
    235: Supported("utimes", stat.sys_utimes),
    236: Unimplemented("vserver", OBSOLETE, "never implemented by Linux"),
    237: Unimplemented("mbind", NOT_YET, "no NUMA policies"),
    238: Unimplemented("set_mempolicy", NOT_YET, "no NUMA policies"),
    239: Unimplemented("get_mempolicy", NOT_YET, "no NUMA policies"),
    240: Unimplemented("mq_open", NOT_YET, "no POSIX message queues"),
    241: Unimplemented("mq_unlink", NOT_YET, "no POSIX message queues"),
    242: Unimplemented("mq_timedsend", NOT_YET, "no POSIX message queues"),
    243: Unimplemented("mq_timedreceive", NOT_YET, "no POSIX message queues"),
    244: Unimplemented("mq_notify", NOT_YET, "no POSIX message queues"),
    245: Unimplemented("mq_getsetattr", NOT_YET, "no POSIX message queues"),
    246: Unimplemented("kexec_load", PRIVILEGED, "CAP_SYS_BOOT"),
    247: PartiallySupported("waitid", wait.sys_waitid, "P_PIDFD is EBADF (no pidfds); rusage is zero"),
    248: Unimplemented("add_key", NOT_YET, "no key rings"),
    249: Unimplemented("request_key", NOT_YET, "no key rings"),
    250: Unimplemented("keyctl", NOT_YET, "no key rings"),
    251: Unimplemented("ioprio_set", NOT_YET, NO_PRIORITIES),
    252: Unimplemented("ioprio_get", NOT_YET, NO_PRIORITIES),
    253: Unimplemented("inotify_init", NOT_YET, "no inotify"),
    254: Unimplemented("inotify_add_watch", NOT_YET, "no inotify"),
    255: Unimplemented("inotify_rm_watch", NOT_YET, "no inotify"),
    256: Unimplemented("migrate_pages", NOT_YET, "no NUMA policies"),
    257: PartiallySupported("openat", file.sys_openat, OPEN_NOTE),
    258: Supported("mkdirat", dir_.sys_mkdirat),
    259: Unimplemented("mknodat", NOT_YET, "FIFOs and device nodes"),
    260: Supported("fchownat", stat.sys_fchownat),
    261: Supported("futimesat", stat.sys_futimesat),
    262: Supported("newfstatat", stat.sys_newfstatat),
    263: Supported("unlinkat", dir_.sys_unlinkat),
    264: Supported("renameat", dir_.sys_renameat),
    265: Supported("linkat", dir_.sys_linkat),
    266: Supported("symlinkat", dir_.sys_symlinkat),
    267: Supported("readlinkat", stat.sys_readlinkat),
    268: Supported("fchmodat", stat.sys_fchmodat),
    269: Supported("faccessat", stat.sys_faccessat),
    270: Supported("pselect6", poll.sys_pselect6),
    271: Supported("ppoll", poll.sys_ppoll),
    272: Unimplemented("unshare", NOT_YET, "no namespaces"),
    273: Supported("set_robust_list", futex.sys_set_robust_list),
    274: Supported("get_robust_list", futex.sys_get_robust_list),
    275: Unimplemented("splice", NOT_YET),
    276: Unimplemented("tee", NOT_YET),
    277: Unimplemented("sync_file_range", NOT_YET),
    278: Unimplemented("vmsplice", NOT_YET),
    279: Unimplemented("move_pages", NOT_YET, "no NUMA policies"),
    280: Supported("utimensat", stat.sys_utimensat),
    281: Supported("epoll_pwait", epoll.sys_epoll_pwait),
    282: PartiallySupported("signalfd", signalfd.sys_signalfd, SIGNALFD_NOTE),
    283: PartiallySupported("timerfd_create", timerfd.sys_timerfd_create, TIMERFD_NOTE),
    284: Supported("eventfd", eventfd.sys_eventfd),
    285: Unimplemented("fallocate", NOT_YET),
    286: PartiallySupported("timerfd_settime", timerfd.sys_timerfd_settime, TIMERFD_NOTE),
    287: Supported("timerfd_gettime", timerfd.sys_timerfd_gettime),
    288: Supported("accept4", sock.sys_accept4),
    289: PartiallySupported("signalfd4", signalfd.sys_signalfd4, SIGNALFD_NOTE),
    290: Supported("eventfd2", eventfd.sys_eventfd2),
    291: Supported("epoll_create1", epoll.sys_epoll_create1),
    292: Supported("dup3", file.sys_dup3),
    293: PartiallySupported("pipe2", pipe.sys_pipe2, "O_DIRECT (packet mode) is accepted and behaves as a "
                           "byte stream"),
    294: Unimplemented("inotify_init1", NOT_YET, "no inotify"),
    295: Supported("preadv", rw.sys_preadv),
    296: Supported("pwritev", rw.sys_pwritev),
    297: Unimplemented("rt_tgsigqueueinfo", NOT_YET),
    298: Unimplemented("perf_event_open", PRIVILEGED, "perf_event_paranoid"),
    299: PartiallySupported("recvmmsg", sockmsg.sys_recvmmsg, "an error after the first datagram is dropped "
                           "(Linux keeps it for SO_ERROR)"),
    300: Unimplemented("fanotify_init", PRIVILEGED, "CAP_SYS_ADMIN"),
    301: Unimplemented("fanotify_mark", PRIVILEGED, "CAP_SYS_ADMIN"),
    302: PartiallySupported("prlimit64", misc.sys_prlimit64, "the calling process only (others ESRCH); "
                           "limits are recorded, only RLIMIT_NOFILE is enforced"),
    303: Unimplemented("name_to_handle_at", NOT_YET),
    304: Unimplemented("open_by_handle_at", PRIVILEGED, "CAP_DAC_READ_SEARCH"),
    305: Unimplemented("clock_adjtime", PRIVILEGED, "CAP_SYS_TIME to set; reading is not yet"),
    306: Unimplemented("syncfs", NOT_YET),
    307: Supported("sendmmsg", sockmsg.sys_sendmmsg),
    308: Unimplemented("setns", PRIVILEGED, "CAP_SYS_ADMIN"),
    309: Supported("getcpu", thread.sys_getcpu),
    310: Unimplemented("process_vm_readv", NOT_YET),
    311: Unimplemented("process_vm_writev", NOT_YET),
    312: Unimplemented("kcmp", NOT_YET),
    313: Unimplemented("finit_module", PRIVILEGED, "CAP_SYS_MODULE"),
    314: Unimplemented("sched_setattr", NOT_YET, NO_PRIORITIES),
    315: Unimplemented("sched_getattr", NOT_YET, NO_PRIORITIES),
    316: Supported("renameat2", dir_.sys_renameat2),
    317: Unimplemented("seccomp", NOT_YET),
    318: Supported("getrandom", misc.sys_getrandom),
    319: PartiallySupported("memfd_create", memfd.sys_memfd_create, "MFD_HUGETLB is EINVAL (no huge pages); the file is a host memfd, so fstat shows the host's device and inode"),
    320: Unimplemented("kexec_file_load", PRIVILEGED, "CAP_SYS_BOOT"),
    321: Unimplemented("bpf", PRIVILEGED, "CAP_BPF"),
    322: PartiallySupported("execveat", exec_.sys_execveat, EXEC_NOTE),
    323: Unimplemented("userfaultfd", NOT_YET),
    324: Unimplemented("membarrier", NOT_YET),
    325: PartiallySupported("mlock2", mlock.sys_mlock2, MLOCK_NOTE),
    326: Unimplemented("copy_file_range", NOT_YET),
    327: PartiallySupported("preadv2", rw.sys_preadv2, "RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT and "
                           "RWF_APPEND are accepted and ignored"),
    328: PartiallySupported("pwritev2", rw.sys_pwritev2, "RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT and "
                           "RWF_APPEND are accepted and ignored"),
    329: Unimplemented("pkey_mprotect", NOT_YET, "no memory protection keys"),
    330: Unimplemented("pkey_alloc", NOT_YET, "no memory protection keys"),
    331: Unimplemented("pkey_free", NOT_YET, "no memory protection keys"),
    332: PartiallySupported("statx", stat.sys_statx, "no birth time (STATX_BTIME); every basic field "
                           "is returned whatever the mask; stx_mnt_id is always 1"),
    333: Unimplemented("io_pgetevents", NOT_YET, "no Linux AIO"),
    334: Supported("rseq", thread.sys_rseq),
    424: PartiallySupported("pidfd_send_signal", pidfd.sys_pidfd_send_signal,
                            "PIDFD_SIGNAL_PROCESS_GROUP signals the process (no process groups)"),
    425: Unimplemented("io_uring_setup", NOT_YET, "no io_uring"),
    426: Unimplemented("io_uring_enter", NOT_YET, "no io_uring"),
    427: Unimplemented("io_uring_register", NOT_YET, "no io_uring"),
    428: Unimplemented("open_tree", PRIVILEGED, NO_MOUNT_API),
    429: Unimplemented("move_mount", PRIVILEGED, NO_MOUNT_API),
    430: Unimplemented("fsopen", PRIVILEGED, NO_MOUNT_API),
    431: Unimplemented("fsconfig", PRIVILEGED, NO_MOUNT_API),
    432: Unimplemented("fsmount", PRIVILEGED, NO_MOUNT_API),
    433: Unimplemented("fspick", PRIVILEGED, NO_MOUNT_API),
    434: PartiallySupported("pidfd_open", pidfd.sys_pidfd_open,
                            "PIDFD_THREAD is EINVAL; waitid(P_PIDFD) is not supported"),
    435: PartiallySupported("clone3", thread.sys_clone3, "as clone; set_tid returns EINVAL; "
                           "CLONE_INTO_CGROUP and CLONE_CLEAR_SIGHAND are ignored"),
    436: Unimplemented("close_range", NOT_YET),
    437: Unimplemented("openat2", NOT_YET),
    438: Unimplemented("pidfd_getfd", NOT_YET, NO_PIDFD),
    439: Supported("faccessat2", stat.sys_faccessat2),
    440: Unimplemented("process_madvise", NOT_YET, NO_PIDFD),
    441: Supported("epoll_pwait2", epoll.sys_epoll_pwait2),
    442: Unimplemented("mount_setattr", PRIVILEGED, NO_MOUNT_API),
    443: Unimplemented("quotactl_fd", PRIVILEGED, "CAP_SYS_ADMIN"),
    444: Unimplemented("landlock_create_ruleset", NOT_YET, NO_LANDLOCK),
    445: Unimplemented("landlock_add_rule", NOT_YET, NO_LANDLOCK),
    446: Unimplemented("landlock_restrict_self", NOT_YET, NO_LANDLOCK),
    447: Unimplemented("memfd_secret", NOT_YET),
    448: Unimplemented("process_mrelease", NOT_YET, NO_PIDFD),
    449: Unimplemented("futex_waitv", NOT_YET, NO_FUTEX2),
    450: Unimplemented("set_mempolicy_home_node", NOT_YET, "no NUMA policies"),
    451: Unimplemented("cachestat", NOT_YET),
    452: Supported("fchmodat2", stat.sys_fchmodat2),
    453: Unimplemented("map_shadow_stack", NOT_YET, "no shadow stacks"),
    454: Unimplemented("futex_wake", NOT_YET, NO_FUTEX2),
    455: Unimplemented("futex_wait", NOT_YET, NO_FUTEX2),
    456: Unimplemented("futex_requeue", NOT_YET, NO_FUTEX2),
    457: Unimplemented("statmount", NOT_YET),
    458: Unimplemented("listmount", NOT_YET),
    459: Unimplemented("lsm_get_self_attr", NOT_YET, "no Linux security modules"),
    460: Unimplemented("lsm_set_self_attr", NOT_YET, "no Linux security modules"),
    461: Unimplemented("lsm_list_modules", NOT_YET, "no Linux security modules"),
    462: Unimplemented("mseal", NOT_YET),
    463: Unimplemented("setxattrat", NOT_YET, NO_XATTRS),
    464: Unimplemented("getxattrat", NOT_YET, NO_XATTRS),
    465: Unimplemented("listxattrat", NOT_YET, NO_XATTRS),
    466: Unimplemented("removexattrat", NOT_YET, NO_XATTRS),
    467: Unimplemented("open_tree_attr", PRIVILEGED, NO_MOUNT_API),
    468: Unimplemented("file_getattr", NOT_YET),
    469: Unimplemented("file_setattr", NOT_YET),
}
