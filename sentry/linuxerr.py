"""Linux errors as values.

The one project-wide way to carry an errno. Every layer returns or raises
these ``Errno`` instances; numbers and names are Linux x86-64's (the table
below is literal, not read from the host, so it holds on any host).

Two styles, both with the same objects:

* value style, mirroring gVisor's ``(n, err)`` returns: ``return n, EFAULT``;
* exception style for syscall handlers: ``raise EBADF``; the syscall
  dispatcher turns it into ``-errno`` in RAX.

Instances are singletons, compared with ``is``. Use ``from_errno(n)`` to get
the one for a number, ``errno_of(oserror)`` for a host error.
"""

from __future__ import annotations


class Errno(Exception):
    """A Linux error number with its symbolic name and message.

    ``errno`` is the positive Linux value; a syscall returns ``-errno``.
    """

    __slots__ = ("errno", "message", "name")

    def __init__(self, errno: int, name: str, message: str) -> None:
        super().__init__(errno, name)
        self.errno = errno
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.name} ({self.message})"

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return (from_errno, (self.errno,))


_BY_NUMBER: dict[int, Errno] = {}


def _def(errno: int, name: str, message: str) -> Errno:
    e = Errno(errno, name, message)
    _BY_NUMBER.setdefault(errno, e)
    return e


def from_errno(errno: int) -> Errno:
    """Return the singleton for a positive Linux errno (KeyError if unknown)."""
    return _BY_NUMBER[errno]


def name_of(errno: int) -> str:
    """Return the symbolic name for a positive errno, or ``E<n>`` if unknown."""
    e = _BY_NUMBER.get(errno)
    return e.name if e is not None else f"E{errno}"


def errno_of(e: OSError) -> Errno:
    """The Linux errno singleton for a host OSError (EIO if unknown)."""
    return _BY_NUMBER.get(e.errno or EIO.errno, EIO)


EPERM = _def(1, "EPERM", 'Operation not permitted')
ENOENT = _def(2, "ENOENT", 'No such file or directory')
ESRCH = _def(3, "ESRCH", 'No such process')
EINTR = _def(4, "EINTR", 'Interrupted system call')
EIO = _def(5, "EIO", 'Input/output error')
ENXIO = _def(6, "ENXIO", 'No such device or address')
E2BIG = _def(7, "E2BIG", 'Argument list too long')
ENOEXEC = _def(8, "ENOEXEC", 'Exec format error')
EBADF = _def(9, "EBADF", 'Bad file descriptor')
ECHILD = _def(10, "ECHILD", 'No child processes')
EAGAIN = _def(11, "EAGAIN", 'Resource temporarily unavailable')
ENOMEM = _def(12, "ENOMEM", 'Cannot allocate memory')
EACCES = _def(13, "EACCES", 'Permission denied')
EFAULT = _def(14, "EFAULT", 'Bad address')
ENOTBLK = _def(15, "ENOTBLK", 'Block device required')
EBUSY = _def(16, "EBUSY", 'Device or resource busy')
EEXIST = _def(17, "EEXIST", 'File exists')
EXDEV = _def(18, "EXDEV", 'Invalid cross-device link')
ENODEV = _def(19, "ENODEV", 'No such device')
ENOTDIR = _def(20, "ENOTDIR", 'Not a directory')
EISDIR = _def(21, "EISDIR", 'Is a directory')
EINVAL = _def(22, "EINVAL", 'Invalid argument')
ENFILE = _def(23, "ENFILE", 'Too many open files in system')
EMFILE = _def(24, "EMFILE", 'Too many open files')
ENOTTY = _def(25, "ENOTTY", 'Inappropriate ioctl for device')
ETXTBSY = _def(26, "ETXTBSY", 'Text file busy')
EFBIG = _def(27, "EFBIG", 'File too large')
ENOSPC = _def(28, "ENOSPC", 'No space left on device')
ESPIPE = _def(29, "ESPIPE", 'Illegal seek')
EROFS = _def(30, "EROFS", 'Read-only file system')
EMLINK = _def(31, "EMLINK", 'Too many links')
EPIPE = _def(32, "EPIPE", 'Broken pipe')
EDOM = _def(33, "EDOM", 'Numerical argument out of domain')
ERANGE = _def(34, "ERANGE", 'Numerical result out of range')
EDEADLK = _def(35, "EDEADLK", 'Resource deadlock avoided')
ENAMETOOLONG = _def(36, "ENAMETOOLONG", 'File name too long')
ENOLCK = _def(37, "ENOLCK", 'No locks available')
ENOSYS = _def(38, "ENOSYS", 'Function not implemented')
ENOTEMPTY = _def(39, "ENOTEMPTY", 'Directory not empty')
ELOOP = _def(40, "ELOOP", 'Too many levels of symbolic links')
ENOMSG = _def(42, "ENOMSG", 'No message of desired type')
EIDRM = _def(43, "EIDRM", 'Identifier removed')
ECHRNG = _def(44, "ECHRNG", 'Channel number out of range')
EL2NSYNC = _def(45, "EL2NSYNC", 'Level 2 not synchronized')
EL3HLT = _def(46, "EL3HLT", 'Level 3 halted')
EL3RST = _def(47, "EL3RST", 'Level 3 reset')
ELNRNG = _def(48, "ELNRNG", 'Link number out of range')
EUNATCH = _def(49, "EUNATCH", 'Protocol driver not attached')
ENOCSI = _def(50, "ENOCSI", 'No CSI structure available')
EL2HLT = _def(51, "EL2HLT", 'Level 2 halted')
EBADE = _def(52, "EBADE", 'Invalid exchange')
EBADR = _def(53, "EBADR", 'Invalid request descriptor')
EXFULL = _def(54, "EXFULL", 'Exchange full')
ENOANO = _def(55, "ENOANO", 'No anode')
EBADRQC = _def(56, "EBADRQC", 'Invalid request code')
EBADSLT = _def(57, "EBADSLT", 'Invalid slot')
EBFONT = _def(59, "EBFONT", 'Bad font file format')
ENOSTR = _def(60, "ENOSTR", 'Device not a stream')
ENODATA = _def(61, "ENODATA", 'No data available')
ETIME = _def(62, "ETIME", 'Timer expired')
ENOSR = _def(63, "ENOSR", 'Out of streams resources')
ENONET = _def(64, "ENONET", 'Machine is not on the network')
ENOPKG = _def(65, "ENOPKG", 'Package not installed')
EREMOTE = _def(66, "EREMOTE", 'Object is remote')
ENOLINK = _def(67, "ENOLINK", 'Link has been severed')
EADV = _def(68, "EADV", 'Advertise error')
ESRMNT = _def(69, "ESRMNT", 'Srmount error')
ECOMM = _def(70, "ECOMM", 'Communication error on send')
EPROTO = _def(71, "EPROTO", 'Protocol error')
EMULTIHOP = _def(72, "EMULTIHOP", 'Multihop attempted')
EDOTDOT = _def(73, "EDOTDOT", 'RFS specific error')
EBADMSG = _def(74, "EBADMSG", 'Bad message')
EOVERFLOW = _def(75, "EOVERFLOW", 'Value too large for defined data type')
ENOTUNIQ = _def(76, "ENOTUNIQ", 'Name not unique on network')
EBADFD = _def(77, "EBADFD", 'File descriptor in bad state')
EREMCHG = _def(78, "EREMCHG", 'Remote address changed')
ELIBACC = _def(79, "ELIBACC", 'Can not access a needed shared library')
ELIBBAD = _def(80, "ELIBBAD", 'Accessing a corrupted shared library')
ELIBSCN = _def(81, "ELIBSCN", '.lib section in a.out corrupted')
ELIBMAX = _def(82, "ELIBMAX", 'Attempting to link in too many shared libraries')
ELIBEXEC = _def(83, "ELIBEXEC", 'Cannot exec a shared library directly')
EILSEQ = _def(84, "EILSEQ", 'Invalid or incomplete multibyte or wide character')
ERESTART = _def(85, "ERESTART", 'Interrupted system call should be restarted')
ESTRPIPE = _def(86, "ESTRPIPE", 'Streams pipe error')
EUSERS = _def(87, "EUSERS", 'Too many users')
ENOTSOCK = _def(88, "ENOTSOCK", 'Socket operation on non-socket')
EDESTADDRREQ = _def(89, "EDESTADDRREQ", 'Destination address required')
EMSGSIZE = _def(90, "EMSGSIZE", 'Message too long')
EPROTOTYPE = _def(91, "EPROTOTYPE", 'Protocol wrong type for socket')
ENOPROTOOPT = _def(92, "ENOPROTOOPT", 'Protocol not available')
EPROTONOSUPPORT = _def(93, "EPROTONOSUPPORT", 'Protocol not supported')
ESOCKTNOSUPPORT = _def(94, "ESOCKTNOSUPPORT", 'Socket type not supported')
EOPNOTSUPP = _def(95, "EOPNOTSUPP", 'Operation not supported')
EPFNOSUPPORT = _def(96, "EPFNOSUPPORT", 'Protocol family not supported')
EAFNOSUPPORT = _def(97, "EAFNOSUPPORT", 'Address family not supported by protocol')
EADDRINUSE = _def(98, "EADDRINUSE", 'Address already in use')
EADDRNOTAVAIL = _def(99, "EADDRNOTAVAIL", 'Cannot assign requested address')
ENETDOWN = _def(100, "ENETDOWN", 'Network is down')
ENETUNREACH = _def(101, "ENETUNREACH", 'Network is unreachable')
ENETRESET = _def(102, "ENETRESET", 'Network dropped connection on reset')
ECONNABORTED = _def(103, "ECONNABORTED", 'Software caused connection abort')
ECONNRESET = _def(104, "ECONNRESET", 'Connection reset by peer')
ENOBUFS = _def(105, "ENOBUFS", 'No buffer space available')
EISCONN = _def(106, "EISCONN", 'Transport endpoint is already connected')
ENOTCONN = _def(107, "ENOTCONN", 'Transport endpoint is not connected')
ESHUTDOWN = _def(108, "ESHUTDOWN", 'Cannot send after transport endpoint shutdown')
ETOOMANYREFS = _def(109, "ETOOMANYREFS", 'Too many references: cannot splice')
ETIMEDOUT = _def(110, "ETIMEDOUT", 'Connection timed out')
ECONNREFUSED = _def(111, "ECONNREFUSED", 'Connection refused')
EHOSTDOWN = _def(112, "EHOSTDOWN", 'Host is down')
EHOSTUNREACH = _def(113, "EHOSTUNREACH", 'No route to host')
EALREADY = _def(114, "EALREADY", 'Operation already in progress')
EINPROGRESS = _def(115, "EINPROGRESS", 'Operation now in progress')
ESTALE = _def(116, "ESTALE", 'Stale file handle')
EUCLEAN = _def(117, "EUCLEAN", 'Structure needs cleaning')
ENOTNAM = _def(118, "ENOTNAM", 'Not a XENIX named type file')
ENAVAIL = _def(119, "ENAVAIL", 'No XENIX semaphores available')
EISNAM = _def(120, "EISNAM", 'Is a named type file')
EREMOTEIO = _def(121, "EREMOTEIO", 'Remote I/O error')
EDQUOT = _def(122, "EDQUOT", 'Disk quota exceeded')
ENOMEDIUM = _def(123, "ENOMEDIUM", 'No medium found')
EMEDIUMTYPE = _def(124, "EMEDIUMTYPE", 'Wrong medium type')
ECANCELED = _def(125, "ECANCELED", 'Operation canceled')
ENOKEY = _def(126, "ENOKEY", 'Required key not available')
EKEYEXPIRED = _def(127, "EKEYEXPIRED", 'Key has expired')
EKEYREVOKED = _def(128, "EKEYREVOKED", 'Key has been revoked')
EKEYREJECTED = _def(129, "EKEYREJECTED", 'Key was rejected by service')
EOWNERDEAD = _def(130, "EOWNERDEAD", 'Owner died')
ENOTRECOVERABLE = _def(131, "ENOTRECOVERABLE", 'State not recoverable')
ERFKILL = _def(132, "ERFKILL", 'Operation not possible due to RF-kill')

# Aliases Linux defines with the same numbers.
EWOULDBLOCK = EAGAIN
EDEADLOCK = EDEADLK
ENOTSUP = EOPNOTSUPP

# Kernel-internal restart codes (include/linux/errno.h). They never reach
# the guest: the syscall layer turns them into EINTR or a restart.
ERESTARTSYS = _def(512, "ERESTARTSYS", "Interrupted system call, restart")
ERESTARTNOINTR = _def(513, "ERESTARTNOINTR", "Interrupted system call, restart")
ERESTARTNOHAND = _def(514, "ERESTARTNOHAND", "Interrupted system call, restart")
ERESTART_RESTARTBLOCK = _def(516, "ERESTART_RESTARTBLOCK", "Interrupted system call, restart")
