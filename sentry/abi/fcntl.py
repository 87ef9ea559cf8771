"""Open flags, fcntl commands, ``*at`` flags and file-type bits for x86-64
Linux (``include/uapi/asm-generic/fcntl.h``, ``linux/fcntl.h``,
``linux/stat.h``, ``linux/fs.h``)."""

from __future__ import annotations

# -- open(2) flags (octal, as in asm-generic/fcntl.h) ---------------------------
O_ACCMODE = 0o3
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
FASYNC = 0o20000
O_DIRECT = 0o40000
O_LARGEFILE = 0o100000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_SYNC = 0o4010000
O_PATH = 0o10000000
O_TMPFILE = 0o20200000
O_TMPFILE_MASK = O_TMPFILE | O_CREAT

#: Flags open(2) silently accepts (others are ignored, not rejected).
VALID_OPEN_FLAGS = (
    O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC
    | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH
    | O_TMPFILE
)
#: What O_PATH keeps of the flags (``O_PATH_FLAGS`` in fs/open.c).
O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
#: Flags that never reach a file description's f_flags.
OPEN_ONLY_FLAGS = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC
#: Flags F_SETFL may change (``SETFL_MASK`` in fs/fcntl.c).
SETFL_MASK = O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME

# -- fcntl(2) commands ------------------------------------------------------------
F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_GETLK = 5
F_SETLK = 6
F_SETLKW = 7
F_SETOWN = 8
F_GETOWN = 9
F_SETSIG = 10
F_GETSIG = 11
F_SETOWN_EX = 15
F_GETOWN_EX = 16
F_GETOWNER_UIDS = 17
F_OFD_GETLK = 36
F_OFD_SETLK = 37
F_OFD_SETLKW = 38
F_LINUX_SPECIFIC_BASE = 1024
F_SETLEASE = 1024
F_GETLEASE = 1025
F_NOTIFY = 1026
F_DUPFD_CLOEXEC = 1030
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
F_ADD_SEALS = 1033
F_GET_SEALS = 1034
FD_CLOEXEC = 1
F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2

# -- *at(2) flags --------------------------------------------------------------------
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EACCESS = 0x200
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
AT_RECURSIVE = 0x8000

# renameat2(2)
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4

# utimensat(2)
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

# lseek(2)
SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4

# access(2)
F_OK, X_OK, W_OK, R_OK = 0, 1, 2, 4

# -- file types and modes (linux/stat.h) ---------------------------------------------
S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000
S_ISUID, S_ISGID, S_ISVTX = 0o4000, 0o2000, 0o1000
S_IALLUGO = 0o7777

# getdents d_type values (linux/fs_types.h)
DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12


def dt_from_mode(mode: int) -> int:
    """The getdents ``d_type`` for a ``st_mode`` (``S_DT(mode)``)."""
    return (mode & S_IFMT) >> 12


# Limits (linux/limits.h)
PATH_MAX = 4096
NAME_MAX = 255
MAXSYMLINKS = 40
PIPE_BUF = 4096

# ioctl requests (asm-generic/ioctls.h)
TCGETS = 0x5401
TCSETS = 0x5402
TCSETSW = 0x5403
TCSETSF = 0x5404
TIOCGPGRP = 0x540F
TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414
FIONREAD = 0x541B
FIONBIO = 0x5421
FIONCLEX = 0x5450
FIOCLEX = 0x5451
FIOASYNC = 0x5452
