"""epoll instances (Linux ``fs/eventpoll.c``; gVisor ``kernel/epoll``).

An :class:`EpollInstance` watches *items*: a (file description, fd) pair
with an event mask and 64 bits of user data. Each item registers a
``sentry.vfs.waiter.Entry`` with its file; a notification puts the item on
the instance's ready list and notifies the instance's own wait queue, which
wakes ``epoll_wait`` callers and any epoll or poll watching this one
(nesting). ``harvest`` then asks each ready item's file for its readiness,
as Linux's ``ep_send_events`` does:

* level-triggered items that are still ready go back to the end of the
  ready list, so the next wait reports them again;
* EPOLLET items leave the list until their file notifies again;
* EPOLLONESHOT items are disabled (only EPOLL_CTL_MOD re-arms them);
* items that are not ready any more are dropped silently.

EPOLLERR and EPOLLHUP are always watched. EPOLLEXCLUSIVE is accepted and
wakes every waiter (there is one virtual CPU: waking one or all differs
only in who runs first). EPOLLWAKEUP is accepted and has no effect.

Files that cannot notify (host fds that are not regular files, see
``FileDescription.needs_polling``) stay on the ready list and are polled at
every harvest; an instance watching one needs polling itself, so its
waiters re-check on a timer. For such an item EPOLLET reports only events
that were not ready at the previous harvest (a rising edge).

An item disappears when its file's last reference goes (not when the fd is
closed while a dup or a fork still holds the description), as in Linux.
"""

from __future__ import annotations

from sentry.abi.fcntl import O_RDWR
from sentry.fsimpl.anon import AnonFile
from sentry.linuxerr import EEXIST, EINVAL, ELOOP, ENOENT, EPERM
from sentry.vfs.file_description import FileDescription
from sentry.vfs.waiter import EVENT_ERR, EVENT_HUP, EVENT_IN, EVENT_RD_NORM, Entry, Queue

EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
EPOLLRDNORM, EPOLLRDBAND, EPOLLWRNORM, EPOLLWRBAND, EPOLLMSG = 0x40, 0x80, 0x100, 0x200, 0x400
EPOLLRDHUP = 0x2000
EPOLLEXCLUSIVE = 1 << 28
EPOLLWAKEUP = 1 << 29
EPOLLONESHOT = 1 << 30
EPOLLET = 1 << 31
EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
# What may accompany EPOLLEXCLUSIVE (Linux EPOLLEXCLUSIVE_OK_BITS).
EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
# Linux EP_MAX_NESTS: at most this many epoll-in-epoll links in a chain.
EP_MAX_NESTS = 4
_ALWAYS = EVENT_ERR | EVENT_HUP


def can_poll(f: FileDescription) -> bool:
    """Whether ``f`` has a poll operation (Linux ``file_can_poll``): files
    with their own readiness (pipes, eventfds, epolls, sockets) and host
    fds that are not regular files. Regular files, directories and the
    sentry's devices keep the default (always ready) and cannot be watched
    (EPERM)."""
    if f.host_fd is not None:
        return f.needs_polling()
    return type(f).readiness is not FileDescription.readiness


class _Item:
    """One watched (file, fd): ``events`` as given (private bits included;
    0 of the public ones once an EPOLLONESHOT item fired)."""

    __slots__ = ("data", "entry", "ep", "events", "fd", "file", "last", "release_hook")

    def __init__(self, ep: EpollInstance, file: FileDescription, fd: int, events: int, data: int) -> None:
        self.ep = ep
        self.file = file
        self.fd = fd
        self.events = events
        self.data = data
        self.last = 0  # what a polled EPOLLET item reported last
        self.entry = Entry(self._notified, self.interest())
        self.release_hook = self._file_released

    def interest(self) -> int:
        """The events to ask the file for (0 while disabled)."""
        public = self.events & ~EP_PRIVATE_BITS
        return public | _ALWAYS if public else 0

    def polled(self) -> bool:
        """Whether the file must be asked at every harvest (it cannot
        notify every change)."""
        return self.file.needs_polling()

    def _notified(self, _mask: int) -> None:
        self.ep.make_ready(self)

    def _file_released(self) -> None:
        self.ep.remove_item(self)


class EpollInstance(AnonFile):
    """The file an epoll fd refers to."""

    kind = "eventpoll"

    def __init__(self) -> None:
        super().__init__(O_RDWR)
        self.items: dict[tuple[FileDescription, int], _Item] = {}
        # An ordered set: dict keys keep insertion order.
        self.ready: dict[_Item, None] = {}
        self.queue = Queue()
        # Epoll instances that watch this one, with how many items each.
        self.watchers: dict[EpollInstance, int] = {}

    # -- epoll_ctl --------------------------------------------------------------------

    def check_target(self, target: FileDescription, op: int, events: int) -> None:
        """Linux ``do_epoll_ctl``'s checks after the fd lookups: EPERM for a
        file without poll, EINVAL for this instance itself, the
        EPOLLEXCLUSIVE rules, ELOOP for an epoll that would close a cycle
        or nest too deep."""
        if not can_poll(target):
            raise EPERM
        if target is self:
            raise EINVAL
        if op != EPOLL_CTL_DEL and events & EPOLLEXCLUSIVE:
            if op == EPOLL_CTL_MOD:
                raise EINVAL
            if op == EPOLL_CTL_ADD and (isinstance(target, EpollInstance) or events & ~EPOLLEXCLUSIVE_OK_BITS):
                raise EINVAL
        if op == EPOLL_CTL_ADD and isinstance(target, EpollInstance) and self._would_loop(target):
            raise ELOOP

    def _would_loop(self, target: EpollInstance) -> bool:
        """Linux ``ep_loop_check``: a cycle back to this instance, or a
        chain of more than EP_MAX_NESTS links through the new one."""
        down: dict[EpollInstance, int] = {}

        def depth_below(ep: EpollInstance, depth: int) -> int:
            if ep in down:
                return down[ep]
            result = 0
            for item in ep.items.values():
                inner = item.file
                if not isinstance(inner, EpollInstance):
                    continue
                if inner is self or depth > EP_MAX_NESTS:
                    result = EP_MAX_NESTS + 1
                else:
                    result = max(result, depth_below(inner, depth + 1) + 1)
                if result > EP_MAX_NESTS:
                    break
            down[ep] = result
            return result

        up: dict[EpollInstance, int] = {}

        def depth_above(ep: EpollInstance) -> int:
            if ep not in up:
                up[ep] = 0  # cut cycles (there are none: they are refused)
                up[ep] = max((depth_above(w) + 1 for w in ep.watchers), default=0)
            return up[ep]

        below = depth_below(target, 0)
        return below > EP_MAX_NESTS or below + 1 + depth_above(self) > EP_MAX_NESTS

    def add(self, target: FileDescription, fd: int, events: int, data: int) -> None:
        """EPOLL_CTL_ADD (EEXIST if watched already); reports at once if ready."""
        key = (target, fd)
        if key in self.items:
            raise EEXIST
        item = _Item(self, target, fd, events | _ALWAYS, data)
        self.items[key] = item
        target.event_register(item.entry)
        target.on_release(item.release_hook)
        if isinstance(target, EpollInstance):
            target.watchers[self] = target.watchers.get(self, 0) + 1
        self._poll_now(item)

    def modify(self, target: FileDescription, fd: int, events: int, data: int) -> None:
        """EPOLL_CTL_MOD: new events and data (re-arms EPOLLONESHOT); ENOENT
        if not watched, EINVAL for an item added with EPOLLEXCLUSIVE."""
        item = self.items.get((target, fd))
        if item is None:
            raise ENOENT
        if item.events & EPOLLEXCLUSIVE:
            raise EINVAL
        item.events = events | _ALWAYS
        item.data = data
        item.last = 0
        item.entry.mask = item.interest()
        self._poll_now(item)

    def delete(self, target: FileDescription, fd: int) -> None:
        """EPOLL_CTL_DEL; ENOENT if not watched."""
        item = self.items.get((target, fd))
        if item is None:
            raise ENOENT
        self.remove_item(item)

    def remove_item(self, item: _Item) -> None:
        """Forget ``item`` (deleted, or its file's last reference went)."""
        if self.items.get((item.file, item.fd)) is not item:
            return
        del self.items[(item.file, item.fd)]
        self.ready.pop(item, None)
        item.file.event_unregister(item.entry)
        item.file.cancel_on_release(item.release_hook)
        target = item.file
        if isinstance(target, EpollInstance):
            left = target.watchers.get(self, 0) - 1
            if left > 0:
                target.watchers[self] = left
            else:
                target.watchers.pop(self, None)

    def _poll_now(self, item: _Item) -> None:
        """Linux ``ep_insert``/``ep_modify``: queue the item if it is ready
        (or cannot notify) and wake the waiters."""
        mask = item.interest()
        if mask and (item.polled() or item.file.readiness(mask) & mask):
            self.make_ready(item)

    def make_ready(self, item: _Item) -> None:
        """The item's file notified: queue it and wake whoever waits on us."""
        if not item.interest():
            return
        if item not in self.ready:
            self.ready[item] = None
        self.queue.notify(EVENT_IN | EVENT_RD_NORM)

    # -- epoll_wait ---------------------------------------------------------------------

    def _polled_items(self) -> None:
        """Put every item that cannot notify on the ready list."""
        for item in self.items.values():
            if item not in self.ready and item.interest() and item.polled():
                self.ready[item] = None

    def harvest(self, maxevents: int) -> list[tuple[int, int]]:
        """Up to ``maxevents`` (events, data) pairs of ready items, applying
        the level/edge/one-shot rules of the module docstring."""
        self._polled_items()
        out: list[tuple[int, int]] = []
        for item in list(self.ready):
            if len(out) >= maxevents:
                break
            del self.ready[item]
            mask = item.interest()
            if not mask:
                continue
            revents = item.file.readiness(mask) & mask
            polled = item.polled()
            if polled and item.events & EPOLLET:
                fresh = revents & ~item.last
                item.last = revents
                revents = fresh
            if not revents:
                continue
            out.append((revents, item.data))
            if item.events & EPOLLONESHOT:
                item.events &= EP_PRIVATE_BITS
                item.entry.mask = 0
            elif not item.events & EPOLLET or polled:
                self.ready[item] = None
        return out

    # -- the epoll fd as a file -------------------------------------------------------

    def readiness(self, mask: int) -> int:
        """Readable while some item is ready (Linux ``ep_eventpoll_poll``);
        items found not ready leave the ready list."""
        self._polled_items()
        for item in list(self.ready):
            m = item.interest()
            if m and item.file.readiness(m) & m:
                return mask & (EVENT_IN | EVENT_RD_NORM)
            if not item.polled():
                del self.ready[item]
        return 0

    def needs_polling(self) -> bool:
        return any(item.polled() for item in self.items.values())

    def event_register(self, e: Entry) -> None:
        self.queue.event_register(e)

    def event_unregister(self, e: Entry) -> None:
        self.queue.event_unregister(e)

    def release(self) -> None:
        for item in list(self.items.values()):
            self.remove_item(item)
