"""Syscalls 0-229 of the x86-64 table (``syscall_64.tbl``); see ``table``.

Notes name what a partial handler refuses or ignores; read the handler's
docstring for the details.
"""

from __future__ import annotations

from sentry.syscalls.linux import sys_creds as creds
from sentry.syscalls.linux import sys_dir as dir_
from sentry.syscalls.linux import sys_epoll as epoll
from sentry.syscalls.linux import sys_exec as exec_
from sentry.syscalls.linux import sys_file as file
from sentry.syscalls.linux import sys_futex as futex
from sentry.syscalls.linux import sys_identity as ident
from sentry.syscalls.linux import sys_misc as misc
from sentry.syscalls.linux import sys_mlock as mlock
from sentry.syscalls.linux import sys_mmap as mmap
from sentry.syscalls.linux import sys_pipe as pipe
from sentry.syscalls.linux import sys_poll as poll
from sentry.syscalls.linux import sys_prctl as prctl
from sentry.syscalls.linux import sys_read_write as rw
from sentry.syscalls.linux import sys_signal as sig
from sentry.syscalls.linux import sys_socket as sock
from sentry.syscalls.linux import sys_socket_msg as sockmsg
from sentry.syscalls.linux import sys_stat as stat
from sentry.syscalls.linux import sys_statfs as statfs
from sentry.syscalls.linux import sys_thread as thread
from sentry.syscalls.linux import sys_time as time_
from sentry.syscalls.linux import sys_wait as wait
from sentry.syscalls.linux import sys_xattr as xattr
from sentry.syscalls.linux.entries import (
    Entry,
    PartiallySupported,
    Reason,
    Supported,
    Unimplemented,
)

OBSOLETE, PRIVILEGED, NOT_YET = Reason.OBSOLETE, Reason.PRIVILEGED, Reason.NOT_YET

# Shared notes.
UNIX_ONLY = "only AF_UNIX (stream, datagram, seqpacket); other families are EAFNOSUPPORT"
SOCKOPT_NOTE = ("SOL_SOCKET options only; SO_LINGER and priorities are accepted and not applied; "
                "timeouts are not rounded to jiffies")
OPEN_NOTE = "O_TMPFILE returns EOPNOTSUPP; O_DIRECT is accepted and ignored (no alignment rules)"
SYSV_IPC = "no System V IPC"
NO_PRIORITIES = "no scheduling policies or priorities"
GUEST_CREDENTIALS = ("the guest's ids and capabilities change as on Linux, but file permission checks "
                     "still use the sentry's host ids")
MLOCK_NOTE = ("locks are recorded and counted against RLIMIT_MEMLOCK; mremap does not re-check the "
              "limit; guest memory is never paged out anyway")
NO_XATTRS = "the path, l and f forms exist; the *xattrat forms (Linux 6.13) not yet"
XATTRS = ("host files keep their attributes on the host, checked there with the sentry's host ids "
          "besides the trusted./user. rules; the sentry's own files (/proc, /dev, pipes) have none")
EXEC_NOTE = "set-user-ID and set-group-ID bits and file capabilities are not applied"

LOW: dict[int, Entry] = {
    0: Supported("read", rw.sys_read),
    1: Supported("write", rw.sys_write),
    2: PartiallySupported("open", file.sys_open, OPEN_NOTE),
    3: Supported("close", file.sys_close),
    4: Supported("stat", stat.sys_stat),
    5: Supported("fstat", stat.sys_fstat),
    6: Supported("lstat", stat.sys_lstat),
    7: Supported("poll", poll.sys_poll),
    8: Supported("lseek", file.sys_lseek),
    9: PartiallySupported("mmap", mmap.sys_mmap, "MAP_HUGETLB, MAP_LOCKED and MAP_SYNC are accepted "
                          "without huge pages, locking or sync; only host files can be mapped (ENODEV)"),
    10: Supported("mprotect", mmap.sys_mprotect),
    11: Supported("munmap", mmap.sys_munmap),
    12: Supported("brk", mmap.sys_brk),
    13: PartiallySupported("rt_sigaction", sig.sys_rt_sigaction, "SA_NOCLDWAIT and an ignored SIGCHLD do "
                           "not reap children automatically; SA_NOCLDSTOP is honoured"),
    14: Supported("rt_sigprocmask", sig.sys_rt_sigprocmask),
    15: Supported("rt_sigreturn", sig.sys_rt_sigreturn),
    16: PartiallySupported("ioctl", file.sys_ioctl, "FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIONREAD on "
                           "pipes and regular files; termios, window size, TIOCGPTN/TIOCSPTLCK, "
                           "TIOCSCTTY/TIOCNOTTY, TIOCGPGRP/TIOCSPGRP, TIOCGSID, TCFLSH on "
                           "pseudo-terminals; termios and window size passed to a host terminal; "
                           "other requests ENOTTY"),
    17: Supported("pread64", rw.sys_pread64),
    18: Supported("pwrite64", rw.sys_pwrite64),
    19: Supported("readv", rw.sys_readv),
    20: Supported("writev", rw.sys_writev),
    21: Supported("access", stat.sys_access),
    22: Supported("pipe", pipe.sys_pipe),
    23: Supported("select", poll.sys_select),
    24: Supported("sched_yield", thread.sys_sched_yield),
    25: Supported("mremap", mmap.sys_mremap),
    26: PartiallySupported("msync", mlock.sys_msync, "MS_SYNC writes nothing back: shared file pages are the "
                          "host's own page cache already"),
    27: PartiallySupported("mincore", mlock.sys_mincore, "a page is resident once the guest touched it; the "
                          "host's page cache is not consulted"),
    28: PartiallySupported("madvise", mmap.sys_madvise, "MADV_REMOVE on shared memory returns ENOSYS; "
                           "hints (MADV_FREE, MADV_WILLNEED, ...) have no effect"),
    29: Unimplemented("shmget", NOT_YET, SYSV_IPC),
    30: Unimplemented("shmat", NOT_YET, SYSV_IPC),
    31: Unimplemented("shmctl", NOT_YET, SYSV_IPC),
    32: Supported("dup", file.sys_dup),
    33: Supported("dup2", file.sys_dup2),
    34: Supported("pause", sig.sys_pause),
    35: PartiallySupported("nanosleep", time_.sys_nanosleep, "an unwritable rem is ignored (Linux: EFAULT)"),
    36: Unimplemented("getitimer", NOT_YET),
    37: Unimplemented("alarm", NOT_YET),
    38: Unimplemented("setitimer", NOT_YET),
    39: Supported("getpid", ident.sys_getpid),
    40: Supported("sendfile", file.sys_sendfile),
    41: PartiallySupported("socket", sock.sys_socket, UNIX_ONLY),
    42: Supported("connect", sock.sys_connect),
    43: Supported("accept", sock.sys_accept),
    44: Supported("sendto", sockmsg.sys_sendto),
    45: Supported("recvfrom", sockmsg.sys_recvfrom),
    46: Supported("sendmsg", sockmsg.sys_sendmsg),
    47: Supported("recvmsg", sockmsg.sys_recvmsg),
    48: Supported("shutdown", sock.sys_shutdown),
    49: Supported("bind", sock.sys_bind),
    50: Supported("listen", sock.sys_listen),
    51: Supported("getsockname", sock.sys_getsockname),
    52: Supported("getpeername", sock.sys_getpeername),
    53: PartiallySupported("socketpair", sock.sys_socketpair, UNIX_ONLY),
    54: PartiallySupported("setsockopt", sock.sys_setsockopt, SOCKOPT_NOTE),
    55: PartiallySupported("getsockopt", sock.sys_getsockopt, SOCKOPT_NOTE),
    56: PartiallySupported("clone", thread.sys_clone, "processes sharing the fd table or fs context "
                           "(CLONE_FILES, CLONE_FS, CLONE_PARENT without CLONE_THREAD) and CLONE_PIDFD "
                           "return ENOSYS; namespaces EPERM; CLONE_PTRACE and CLONE_SYSVSEM are ignored"),
    57: Supported("fork", thread.sys_fork),
    58: Supported("vfork", thread.sys_vfork),
    59: PartiallySupported("execve", exec_.sys_execve, EXEC_NOTE),
    60: Supported("exit", thread.sys_exit),
    61: PartiallySupported("wait4", wait.sys_wait4, "rusage is zero"),
    62: Supported("kill", sig.sys_kill),
    63: Supported("uname", ident.sys_uname),
    64: Unimplemented("semget", NOT_YET, SYSV_IPC),
    65: Unimplemented("semop", NOT_YET, SYSV_IPC),
    66: Unimplemented("semctl", NOT_YET, SYSV_IPC),
    67: Unimplemented("shmdt", NOT_YET, SYSV_IPC),
    68: Unimplemented("msgget", NOT_YET, SYSV_IPC),
    69: Unimplemented("msgsnd", NOT_YET, SYSV_IPC),
    70: Unimplemented("msgrcv", NOT_YET, SYSV_IPC),
    71: Unimplemented("msgctl", NOT_YET, SYSV_IPC),
    72: PartiallySupported("fcntl", file.sys_fcntl, "record locks are always granted (F_GETLK reports "
                           "F_UNLCK); F_SETOWN and F_SETSIG are not recorded; F_SETLEASE, F_NOTIFY and the "
                           "write-hint commands EINVAL; seals only on memfds"),
    73: Unimplemented("flock", NOT_YET),
    74: Supported("fsync", file.sys_fsync),
    75: Supported("fdatasync", file.sys_fdatasync),
    76: Supported("truncate", file.sys_truncate),
    77: Supported("ftruncate", file.sys_ftruncate),
    78: Supported("getdents", dir_.sys_getdents),
    79: Supported("getcwd", dir_.sys_getcwd),
    80: Supported("chdir", dir_.sys_chdir),
    81: Supported("fchdir", dir_.sys_fchdir),
    82: Supported("rename", dir_.sys_rename),
    83: Supported("mkdir", dir_.sys_mkdir),
    84: Supported("rmdir", dir_.sys_rmdir),
    85: Supported("creat", file.sys_creat),
    86: Supported("link", dir_.sys_link),
    87: Supported("unlink", dir_.sys_unlink),
    88: Supported("symlink", dir_.sys_symlink),
    89: Supported("readlink", stat.sys_readlink),
    90: Supported("chmod", stat.sys_chmod),
    91: Supported("fchmod", stat.sys_fchmod),
    92: Supported("chown", stat.sys_chown),
    93: Supported("fchown", stat.sys_fchown),
    94: Supported("lchown", stat.sys_lchown),
    95: Supported("umask", stat.sys_umask),
    96: Supported("gettimeofday", time_.sys_gettimeofday),
    97: Supported("getrlimit", misc.sys_getrlimit),
    98: Unimplemented("getrusage", NOT_YET),
    99: Supported("sysinfo", misc.sys_sysinfo),
    100: Unimplemented("times", NOT_YET),
    101: Unimplemented("ptrace", NOT_YET),
    102: Supported("getuid", creds.sys_getuid),
    103: Unimplemented("syslog", PRIVILEGED, "the kernel log"),
    104: Supported("getgid", creds.sys_getgid),
    105: PartiallySupported("setuid", creds.sys_setuid, GUEST_CREDENTIALS),
    106: PartiallySupported("setgid", creds.sys_setgid, GUEST_CREDENTIALS),
    107: Supported("geteuid", creds.sys_geteuid),
    108: Supported("getegid", creds.sys_getegid),
    109: Supported("setpgid", ident.sys_setpgid),
    110: Supported("getppid", ident.sys_getppid),
    111: Supported("getpgrp", ident.sys_getpgrp),
    112: Supported("setsid", ident.sys_setsid),
    113: PartiallySupported("setreuid", creds.sys_setreuid, GUEST_CREDENTIALS),
    114: PartiallySupported("setregid", creds.sys_setregid, GUEST_CREDENTIALS),
    115: Supported("getgroups", creds.sys_getgroups),
    116: PartiallySupported("setgroups", creds.sys_setgroups, GUEST_CREDENTIALS),
    117: PartiallySupported("setresuid", creds.sys_setresuid, GUEST_CREDENTIALS),
    118: Supported("getresuid", creds.sys_getresuid),
    119: PartiallySupported("setresgid", creds.sys_setresgid, GUEST_CREDENTIALS),
    120: Supported("getresgid", creds.sys_getresgid),
    121: Supported("getpgid", ident.sys_getpgid),
    122: PartiallySupported("setfsuid", creds.sys_setfsuid, GUEST_CREDENTIALS),
    123: PartiallySupported("setfsgid", creds.sys_setfsgid, GUEST_CREDENTIALS),
    124: Supported("getsid", ident.sys_getsid),
    125: PartiallySupported("capget", creds.sys_capget, "no user namespaces; file capabilities are never applied"),
    126: PartiallySupported("capset", creds.sys_capset, GUEST_CREDENTIALS),
    127: Supported("rt_sigpending", sig.sys_rt_sigpending),
    128: Supported("rt_sigtimedwait", sig.sys_rt_sigtimedwait),
    129: Unimplemented("rt_sigqueueinfo", NOT_YET),
    130: Supported("rt_sigsuspend", sig.sys_rt_sigsuspend),
    131: Supported("sigaltstack", sig.sys_sigaltstack),
    132: Supported("utime", stat.sys_utime),
    133: Unimplemented("mknod", NOT_YET, "FIFOs and device nodes"),
    134: Unimplemented("uselib", OBSOLETE, "a.out shared libraries"),
    135: Unimplemented("personality", NOT_YET),
    136: Unimplemented("ustat", OBSOLETE, "statfs replaces it"),
    137: Supported("statfs", statfs.sys_statfs),
    138: Supported("fstatfs", statfs.sys_fstatfs),
    139: Unimplemented("sysfs", OBSOLETE, "/proc/filesystems replaces it"),
    140: Unimplemented("getpriority", NOT_YET, NO_PRIORITIES),
    141: Unimplemented("setpriority", NOT_YET, NO_PRIORITIES),
    142: Unimplemented("sched_setparam", NOT_YET, NO_PRIORITIES),
    143: Unimplemented("sched_getparam", NOT_YET, NO_PRIORITIES),
    144: Unimplemented("sched_setscheduler", NOT_YET, NO_PRIORITIES),
    145: Unimplemented("sched_getscheduler", NOT_YET, NO_PRIORITIES),
    146: Unimplemented("sched_get_priority_max", NOT_YET, NO_PRIORITIES),
    147: Unimplemented("sched_get_priority_min", NOT_YET, NO_PRIORITIES),
    148: Unimplemented("sched_rr_get_interval", NOT_YET, NO_PRIORITIES),
    149: PartiallySupported("mlock", mlock.sys_mlock, MLOCK_NOTE),
    150: Supported("munlock", mlock.sys_munlock),
    151: PartiallySupported("mlockall", mlock.sys_mlockall, MLOCK_NOTE),
    152: Supported("munlockall", mlock.sys_munlockall),
    153: Unimplemented("vhangup", PRIVILEGED, "CAP_SYS_TTY_CONFIG"),
    154: Unimplemented("modify_ldt", NOT_YET),
    155: Unimplemented("pivot_root", PRIVILEGED, "CAP_SYS_ADMIN"),
    156: Unimplemented("_sysctl", OBSOLETE, "removed in Linux 5.5"),
    157: PartiallySupported("prctl", prctl.sys_prctl, "only PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE and "
                           "PR_SET_DUMPABLE; other options EINVAL"),
    158: PartiallySupported("arch_prctl", thread.sys_arch_prctl, "only ARCH_SET_FS, ARCH_GET_FS, "
                           "ARCH_SET_GS and ARCH_GET_GS; other codes (CPUID faulting, AMX permissions) "
                           "EINVAL"),
    159: Unimplemented("adjtimex", PRIVILEGED, "CAP_SYS_TIME to set; reading is not yet"),
    160: PartiallySupported("setrlimit", misc.sys_setrlimit, "limits are recorded, only RLIMIT_NOFILE is "
                           "enforced"),
    161: Unimplemented("chroot", PRIVILEGED, "CAP_SYS_CHROOT"),
    162: PartiallySupported("sync", file.sys_sync, "returns at once: the host's file systems are not "
                            "flushed (fsync and fdatasync are)"),
    163: Unimplemented("acct", PRIVILEGED, "CAP_SYS_PACCT"),
    164: Unimplemented("settimeofday", PRIVILEGED, "CAP_SYS_TIME"),
    165: Unimplemented("mount", PRIVILEGED, "CAP_SYS_ADMIN"),
    166: Unimplemented("umount2", PRIVILEGED, "CAP_SYS_ADMIN"),
    167: Unimplemented("swapon", PRIVILEGED, "CAP_SYS_ADMIN"),
    168: Unimplemented("swapoff", PRIVILEGED, "CAP_SYS_ADMIN"),
    169: Unimplemented("reboot", PRIVILEGED, "CAP_SYS_BOOT"),
    170: Unimplemented("sethostname", PRIVILEGED, "CAP_SYS_ADMIN"),
    171: Unimplemented("setdomainname", PRIVILEGED, "CAP_SYS_ADMIN"),
    172: Unimplemented("iopl", PRIVILEGED, "CAP_SYS_RAWIO"),
    173: Unimplemented("ioperm", PRIVILEGED, "CAP_SYS_RAWIO"),
    174: Unimplemented("create_module", OBSOLETE, "removed in Linux 2.6"),
    175: Unimplemented("init_module", PRIVILEGED, "CAP_SYS_MODULE"),
    176: Unimplemented("delete_module", PRIVILEGED, "CAP_SYS_MODULE"),
    177: Unimplemented("get_kernel_syms", OBSOLETE, "removed in Linux 2.6"),
    178: Unimplemented("query_module", OBSOLETE, "removed in Linux 2.6"),
    179: Unimplemented("quotactl", PRIVILEGED, "CAP_SYS_ADMIN"),
    180: Unimplemented("nfsservctl", OBSOLETE, "removed in Linux 3.1"),
    181: Unimplemented("getpmsg", OBSOLETE, "never implemented by Linux"),
    182: Unimplemented("putpmsg", OBSOLETE, "never implemented by Linux"),
    183: Unimplemented("afs_syscall", OBSOLETE, "never implemented by Linux"),
    184: Unimplemented("tuxcall", OBSOLETE, "never implemented by Linux"),
    185: Unimplemented("security", OBSOLETE, "never implemented by Linux"),
    186: Supported("gettid", ident.sys_gettid),
    187: Unimplemented("readahead", NOT_YET),
    188: PartiallySupported("setxattr", xattr.sys_setxattr, XATTRS),
    189: PartiallySupported("lsetxattr", xattr.sys_lsetxattr, XATTRS),
    190: PartiallySupported("fsetxattr", xattr.sys_fsetxattr, XATTRS),
    191: PartiallySupported("getxattr", xattr.sys_getxattr, XATTRS),
    192: PartiallySupported("lgetxattr", xattr.sys_lgetxattr, XATTRS),
    193: PartiallySupported("fgetxattr", xattr.sys_fgetxattr, XATTRS),
    194: PartiallySupported("listxattr", xattr.sys_listxattr, XATTRS),
    195: PartiallySupported("llistxattr", xattr.sys_llistxattr, XATTRS),
    196: PartiallySupported("flistxattr", xattr.sys_flistxattr, XATTRS),
    197: PartiallySupported("removexattr", xattr.sys_removexattr, XATTRS),
    198: PartiallySupported("lremovexattr", xattr.sys_lremovexattr, XATTRS),
    199: PartiallySupported("fremovexattr", xattr.sys_fremovexattr, XATTRS),
    200: Supported("tkill", sig.sys_tkill),
    201: Supported("time", time_.sys_time),
    202: PartiallySupported("futex", futex.sys_futex, "FUTEX_FD, FUTEX_WAIT_REQUEUE_PI and "
                           "FUTEX_CMP_REQUEUE_PI return ENOSYS; PI locks have no priority inheritance"),
    203: PartiallySupported("sched_setaffinity", thread.sys_sched_setaffinity, "accepted for the guest's one "
                           "virtual CPU; it changes nothing"),
    204: Supported("sched_getaffinity", thread.sys_sched_getaffinity),
    205: Unimplemented("set_thread_area", OBSOLETE, "32-bit TLS; x86-64 uses arch_prctl"),
    206: Unimplemented("io_setup", NOT_YET, "no Linux AIO"),
    207: Unimplemented("io_destroy", NOT_YET, "no Linux AIO"),
    208: Unimplemented("io_getevents", NOT_YET, "no Linux AIO"),
    209: Unimplemented("io_submit", NOT_YET, "no Linux AIO"),
    210: Unimplemented("io_cancel", NOT_YET, "no Linux AIO"),
    211: Unimplemented("get_thread_area", OBSOLETE, "32-bit TLS; x86-64 uses arch_prctl"),
    212: Unimplemented("lookup_dcookie", OBSOLETE, "removed in Linux 6.9"),
    213: Supported("epoll_create", epoll.sys_epoll_create),
    214: Unimplemented("epoll_ctl_old", OBSOLETE, "never implemented by Linux"),
    215: Unimplemented("epoll_wait_old", OBSOLETE, "never implemented by Linux"),
    216: Unimplemented("remap_file_pages", OBSOLETE, "deprecated since Linux 3.16"),
    217: Supported("getdents64", dir_.sys_getdents64),
    218: Supported("set_tid_address", thread.sys_set_tid_address),
    219: Unimplemented("restart_syscall", NOT_YET),
    220: Unimplemented("semtimedop", NOT_YET, SYSV_IPC),
    221: Supported("fadvise64", file.sys_fadvise64),
    222: Unimplemented("timer_create", NOT_YET, "no POSIX timers"),
    223: Unimplemented("timer_settime", NOT_YET, "no POSIX timers"),
    224: Unimplemented("timer_gettime", NOT_YET, "no POSIX timers"),
    225: Unimplemented("timer_getoverrun", NOT_YET, "no POSIX timers"),
    226: Unimplemented("timer_delete", NOT_YET, "no POSIX timers"),
    227: PartiallySupported("clock_settime", time_.sys_clock_settime, "validates its arguments, then EPERM: "
                           "the sentry never sets the host's clock"),
    228: PartiallySupported("clock_gettime", time_.sys_clock_gettime, "the CPU-time clocks measure the "
                            "whole sentry process; clock ids of other processes and threads EINVAL"),
    229: Supported("clock_getres", time_.sys_clock_getres),
}
