"""brk, mmap, munmap, mprotect, mremap, madvise: flag decoding in Linux's
order; the semantics live in ``sentry.mm``."""

from __future__ import annotations

import resource

from sentry.abi.mm import (
    MAP_32BIT,
    MAP_ANONYMOUS,
    MAP_DENYWRITE,
    MAP_EXECUTABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NONBLOCK,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_STACK,
    MAP_SYNC,
    MAP_TYPE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_WRITE,
)
from sentry.hostarch import ANY_ACCESS, PAGE_SIZE, AccessType
from sentry.kernel.task import Task
from sentry.linuxerr import EACCES, EINVAL, ENOMEM
from sentry.memmap.mappable import SharedAnonMappable
from sentry.mm import MMapOpts, access_from_prot
from sentry.syscalls.linux.args import s32
from sentry.syscalls.linux.fs_util import get_file
from sentry.syscalls.linux.sys_misc import soft_limit
from sentry.syscalls.linux.sys_mlock import memlock_policy

_LEGACY_FLAGS = (
    MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_32BIT | MAP_GROWSDOWN | MAP_DENYWRITE
    | MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK
    | MAP_HUGETLB | MAP_FIXED_NOREPLACE | (0x3F << 26)
)


def sys_brk(t: Task, addr: int, *_: int) -> int:
    """The break moves only within RLIMIT_DATA (from the start of the
    heap; Linux's ``check_data_rlimit`` also counts the data segment,
    which the sentry does not track) and RLIMIT_AS; a refused move
    returns the old break, as Linux."""
    mm = t.mm
    old = mm.brk_end
    if addr > old:
        data = soft_limit(t, resource.RLIMIT_DATA)
        growth = _page_up(addr) - _page_up(old)
        if (data is not None and addr - mm.brk_start > data) or not _as_allows(t, growth):
            return old
    return mm.brk(addr)


def _page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def _as_allows(t: Task, new_bytes: int, replaced: int = 0) -> bool:
    """Linux ``may_expand_vm`` for RLIMIT_AS: the mapped total after
    adding ``new_bytes`` (of which ``replaced`` are mapped already)."""
    limit = soft_limit(t, resource.RLIMIT_AS)
    return limit is None or t.mm.vm_size() - replaced + new_bytes <= limit


def sys_mmap(t: Task, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """Linux ``ksys_mmap_pgoff`` + ``do_mmap`` order."""
    if offset & (PAGE_SIZE - 1):
        raise EINVAL
    flags &= 0xFFFFFFFF
    prot &= 0xFFFFFFFF
    anonymous = bool(flags & MAP_ANONYMOUS)
    file = None
    if not anonymous:
        file = get_file(t, fd)  # an O_PATH fd is EBADF
    if length == 0:
        raise EINVAL
    map_type = flags & MAP_TYPE
    if map_type == MAP_SHARED_VALIDATE and flags & ~_LEGACY_FLAGS & ~MAP_SYNC:
        raise EINVAL  # unknown flags are only rejected with MAP_SHARED_VALIDATE
    if ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) > t.mm.layout.max_addr:
        raise ENOMEM  # get_unmapped_area's length check comes before the type check
    if map_type not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise EINVAL
    if anonymous and map_type == MAP_SHARED_VALIDATE:
        raise EINVAL  # Linux do_mmap: anonymous mappings accept only SHARED or PRIVATE
    private = map_type == MAP_PRIVATE
    opts = MMapOpts(
        length=length,
        addr=addr,
        offset=offset,
        fixed=bool(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)),
        unmap=bool(flags & MAP_FIXED) and not flags & MAP_FIXED_NOREPLACE,
        no_replace=bool(flags & MAP_FIXED_NOREPLACE),
        map32bit=bool(flags & MAP_32BIT) and not flags & MAP_FIXED,
        grows_down=bool(flags & MAP_GROWSDOWN),
        private=private,
        perms=access_from_prot(prot),
        max_perms=ANY_ACCESS,
        populate=bool(flags & (MAP_POPULATE | MAP_LOCKED)) and not flags & MAP_NONBLOCK,
        noreserve=bool(flags & MAP_NORESERVE),
    )
    if file is not None:
        # Linux do_mmap: the access mode first (EACCES), then whether the
        # file can be mapped at all (ENODEV).
        if not file.readable:
            raise EACCES
        file.configure_mmap(opts)
    elif not private:
        opts.offset = 0  # Linux ignores the offset of anonymous mappings
        opts.mappable = SharedAnonMappable(t.mm.mf, (length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    rounded = _page_up(length)
    replaced = 0
    if flags & MAP_FIXED and not flags & MAP_FIXED_NOREPLACE:
        replaced = sum(min(v.end, addr + rounded) - max(v.start, addr)
                       for v in t.mm.vmas.overlapping(addr, addr + rounded))
    if not _as_allows(t, rounded, replaced):
        raise ENOMEM
    locked = bool(flags & MAP_LOCKED) or t.mm.lock_future
    if locked:
        t.mm.check_map_locked(length, *memlock_policy(t))
    start = t.mm.mmap(opts)
    if locked:
        t.mm.set_locked(start, length, True)
    return start


def sys_munmap(t: Task, addr: int, length: int, *_: int) -> int:
    t.mm.munmap(addr, length)
    return 0


PROT_SEM = 0x8


def sys_mprotect(t: Task, addr: int, length: int, prot: int, *_: int) -> int:
    """Linux ``do_mprotect_pkey`` order: both grows flags EINVAL, misaligned
    EINVAL, zero length succeeds, overflow ENOMEM, then unknown prot bits
    EINVAL (PROT_SEM is accepted and means nothing on x86)."""
    prot &= 0xFFFFFFFF
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    if grows == PROT_GROWSDOWN | PROT_GROWSUP:
        raise EINVAL
    if addr & (PAGE_SIZE - 1):
        raise EINVAL
    if length == 0:
        return 0
    end = addr + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    if end <= addr or end >= 1 << 64:
        raise ENOMEM
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | grows) or prot & PROT_GROWSUP:
        raise EINVAL  # x86 has no grows-up vmas
    perms = AccessType(bool(prot & PROT_READ), bool(prot & PROT_WRITE), bool(prot & PROT_EXEC))
    t.mm.mprotect(addr, length, perms, grows_down=bool(prot & PROT_GROWSDOWN))
    return 0


def sys_mremap(t: Task, old_addr: int, old_size: int, new_size: int, flags: int, new_addr: int, *_: int) -> int:
    if new_size > old_size and t.mm.locked_at(old_addr):
        t.mm.check_remap_locked(new_size - old_size, memlock_policy(t)[0])
    return t.mm.mremap(old_addr, old_size, new_size, flags & 0xFFFFFFFF, new_addr)


def sys_madvise(t: Task, addr: int, length: int, advice: int, *_: int) -> int:
    t.mm.madvise(addr, length, s32(advice))
    return 0
