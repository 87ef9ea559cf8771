"""/sys, the part of sysfs programs read to size themselves (gVisor
``fsimpl/sys``): ``devices/system/cpu`` describing the guest's one
virtual CPU (``online``, ``possible``, ``present``: "0"; a ``cpu0``
directory), which glibc's ``get_nprocs`` and so ``nproc``, Python's
``os.cpu_count()`` and ``sysconf(_SC_NPROCESSORS_ONLN)`` read. The host's
own /sys is never reachable: this tree replaces it.
"""

from __future__ import annotations

import os

from sentry.abi.fcntl import S_IFREG
from sentry.fsimpl.kernfs import KDir, KFile
from sentry.fsimpl.proc.files import SeqFile
from sentry.kernel.resources import GUEST_CPUS
from sentry.vfs.dentry import Dentry
from sentry.vfs.file_description import FileDescription

SYSFS_DEV = os.makedev(0, 21)

def cpu_list() -> bytes:
    """The CPU list format of ``online``/``possible``/``present``."""
    return b"0\n" if GUEST_CPUS == 1 else b"0-%d\n" % (GUEST_CPUS - 1)


def _text_file(name: bytes, data: bytes) -> KFile:
    def factory(flags: int, d: Dentry) -> FileDescription:
        return SeqFile(flags, d, lambda: data)

    return KFile(name, S_IFREG | 0o444, factory, dev=SYSFS_DEV)


def new_sysfs() -> KDir:
    """A fresh /sys tree."""
    root = KDir(b"sys", 0o555, dev=SYSFS_DEV)
    devices, system, cpu = (KDir(name, 0o755, dev=SYSFS_DEV) for name in (b"devices", b"system", b"cpu"))
    root.add(devices)
    devices.add(system)
    system.add(cpu)
    for name in (b"online", b"possible", b"present"):
        cpu.add(_text_file(name, cpu_list()))
    cpu.add(_text_file(b"kernel_max", b"%d\n" % (GUEST_CPUS - 1)))
    for n in range(GUEST_CPUS):
        cpu.add(KDir(b"cpu%d" % n, 0o755, dev=SYSFS_DEV))
    root.add(KDir(b"kernel", 0o755, dev=SYSFS_DEV))
    root.add(KDir(b"fs", 0o755, dev=SYSFS_DEV))
    return root
