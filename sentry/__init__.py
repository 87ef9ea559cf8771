"""A gVisor-style guest kernel in Python on the Unicorn CPU emulator.

Layers, bottom up (dependencies point downward only): hostarch, safemem,
usermem, memmap/memfile, platform, mm, loader, kernel, vfs/fsimpl, syscalls,
cli. See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
