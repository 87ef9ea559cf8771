"""Sentry access to guest (user) memory.

Compare gVisor's ``pkg/usermem``. :class:`IO` is an address space the sentry
can do I/O on (implemented by the MemoryManager, and by :class:`BytesIO` for
tests); :class:`IOSequence` is an IO plus address ranges consumed in order
(Linux's ``iov_iter``), which is all a file system ever sees of a task.

Usage: syscalls use the kernel's task copy helpers; code needing
``IOOpts(ignore_permissions=True)`` (ptrace, /proc/pid/mem) calls the MM's IO
methods directly; code below the kernel (file systems) receives IOSequences.
"""

from sentry.usermem.bytes_io import BytesIO, bytes_io_sequence
from sentry.usermem.copy import (
    COPY_STRING_INCREMENT,
    copy_in_vec,
    copy_int32_string_in_vec,
    copy_int32_strings_in_vec,
    copy_out_vec,
    copy_string_in,
    zero_out_vec,
)
from sentry.usermem.io import DEFAULT_OPTS, IO, IOOpts
from sentry.usermem.io_read_writer import IOReadWriter
from sentry.usermem.iosequence import (
    ERR_END_OF_IO_SEQUENCE,
    EndOfIOSequence,
    IOSequence,
    IOSequenceReadWriter,
)

__all__ = [
    "COPY_STRING_INCREMENT",
    "DEFAULT_OPTS",
    "ERR_END_OF_IO_SEQUENCE",
    "IO",
    "BytesIO",
    "EndOfIOSequence",
    "IOOpts",
    "IOReadWriter",
    "IOSequence",
    "IOSequenceReadWriter",
    "bytes_io_sequence",
    "copy_in_vec",
    "copy_int32_string_in_vec",
    "copy_int32_strings_in_vec",
    "copy_out_vec",
    "copy_string_in",
    "zero_out_vec",
]
