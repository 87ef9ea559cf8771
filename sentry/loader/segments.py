"""Mapping an ELF image's segments (Linux ``elf_map``, ``set_brk`` and the
bss handling of ``load_elf_binary``): file-backed pieces, the zeroed tail
of the last file page, anonymous bss pages, and the load bias of a
position-independent program checked against the layout."""

from __future__ import annotations

from sentry.hostarch import ANY_ACCESS, PAGE_SIZE, AccessType
from sentry.linuxerr import ENOMEM, Errno
from sentry.loader.elf import PF_R, PF_W, PF_X, ElfInfo, ProgramHeader
from sentry.loader.errors import LoadError
from sentry.memmap.mappable import HostFileMappable
from sentry.mm import MemoryManager, MMapOpts
from sentry.usermem import IOOpts

_PAGE_MASK = ~(PAGE_SIZE - 1)
_IGNORE_PERMS = IOOpts(ignore_permissions=True)


def segment_perms(flags: int) -> AccessType:
    return AccessType(bool(flags & PF_R), bool(flags & PF_W), bool(flags & PF_X))


def page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & _PAGE_MASK


def map_or_fail(
    mm: MemoryManager,
    name: str,
    what: str,
    addr: int,
    length: int,
    perms: AccessType,
    *,
    mappable: HostFileMappable | None = None,
    offset: int = 0,
    grows_down: bool = False,
    vma_name: str = "",
    account: bool = False,
) -> int:
    """Map ``what`` of program ``name`` privately at exactly ``[addr, addr +
    length)``, replacing anything there (MAP_FIXED), with ``perms`` (maximum
    permissions: any). Anonymous memory unless ``mappable`` (at ``offset``).
    ``account`` charges it to the overcommit limit (Linux ``vm_brk_flags``
    does for the bss, so a bss larger than RAM + swap fails). A failure is
    a fatal LoadError (Linux is past the point of no return here)."""
    opts = MMapOpts(
        length=length, addr=addr, offset=offset, fixed=True, unmap=True, private=True, grows_down=grows_down,
        perms=perms, max_perms=ANY_ACCESS, mappable=mappable, name=vma_name,
        noreserve=False if account else None,
    )
    try:
        return mm.mmap(opts)
    except Errno as e:
        raise LoadError(f"{name}: cannot map {what} at {addr:#x}+{length:#x}: {e}", e, fatal=True) from None


def map_segment(
    mm: MemoryManager,
    mappable: HostFileMappable,
    ph: ProgramHeader,
    bias: int,
    mapped_end: int,
    name: str,
) -> int:
    """Map one PT_LOAD (Linux ``elf_load``); returns the end of what is now
    mapped (page-aligned), which the next segment may share a page with.

    File pages ``[page_down(vaddr), page_up(vaddr + filesz))`` become a
    private mapping of the file with the segment's permissions. If the
    segment has bss (memsz > filesz), the bytes of the last file page past
    filesz are zeroed up to the page's end (a COW copy of that page) and
    the remaining pages become private anonymous memory, read-write plus
    execute if the segment is executable (Linux's ``vm_brk_flags``).
    Without bss the last page shows the file's bytes past filesz, as on
    Linux. Like gVisor, and unlike Linux
    (whose ``padzero`` fails silently there), the bss tail is zeroed even in
    a non-writable segment.
    """
    vaddr = bias + ph.vaddr
    adjust = vaddr % PAGE_SIZE
    addr = vaddr - adjust
    perms = segment_perms(ph.flags)
    what = f"PT_LOAD [{vaddr:#x}, {vaddr + ph.memsz:#x})"
    zero_start = vaddr + ph.filesz
    zero_end = vaddr + ph.memsz
    if ph.filesz:
        length = page_up(adjust + ph.filesz)
        map_or_fail(mm, name, what, addr, length, perms, offset=ph.offset - adjust, mappable=mappable)
        mapped_end = addr + length
    if zero_end <= zero_start:
        return mapped_end
    # The page holding zero_start is mapped if it is a file page of this
    # segment or the last page of the previous one; zero it from there to
    # its end (Linux's padzero).
    if zero_start < mapped_end:
        done, err = mm.zero_out(zero_start, mapped_end - zero_start, _IGNORE_PERMS)
        if err is not None:
            raise LoadError(f"{name}: cannot zero bss of {what} at {zero_start + done:#x}: {err}",
                            err if isinstance(err, Errno) else ENOMEM, fatal=True)
        anon_start = mapped_end
    else:
        anon_start = zero_start & _PAGE_MASK
    anon_end = page_up(zero_end)
    if anon_end > anon_start:
        map_or_fail(mm, name, f"bss of {what}", anon_start, anon_end - anon_start, AccessType(True, True, perms.execute),
              account=True)
        mapped_end = anon_end
    return mapped_end


def choose_bias(mm: MemoryManager, info: ElfInfo, name: str) -> int:
    """The load bias, with the address range checked against the layout."""
    lay = mm.layout
    bias = 0
    if info.is_dyn:
        bias = (lay.pie_base - info.start) & _PAGE_MASK
    lo = (bias + info.start) & _PAGE_MASK
    hi = page_up(bias + info.end)
    if lo < lay.min_addr:
        raise LoadError(f"{name}: segment address {lo:#x} is below the minimum mappable address {lay.min_addr:#x}")
    if hi > lay.max_addr:
        raise LoadError(f"{name}: segments end at {hi:#x}, past the top of the address space {lay.max_addr:#x}")
    return bias
