"""What the Rust dialect's handles share: parked tasks to wake, and dropping a handle once.

* :class:`WaitList`: tasks parked until something changes (a value, a close, a cancel);
  ``wake_all`` wakes every one and they look again. No values travel through it.
* :class:`Notify`: a one-time event (``tx.closed()`` returns once the receiver is gone).
* :class:`Handle`: one end of a channel. ``drop()`` (or leaving ``with``) runs once; using
  the handle after that raises :class:`~labkit.rust.MovedValueError`, as Rust's borrow
  checker would refuse a use after move.
"""

from __future__ import annotations

from typing import ClassVar, Generic, Self, TypeVar

from labkit._runtime.core import Parker, Runtime, current
from labkit.rust._ownership import MovedValueError

S = TypeVar("S")


class WaitList:
    """Tasks parked until ``wake_all``; a cancelled waiter takes itself off (R30)."""

    __slots__ = ("_parkers",)

    def __init__(self) -> None:
        self._parkers: list[Parker] = []

    def __bool__(self) -> bool:
        return bool(self._parkers)

    def __len__(self) -> int:
        return len(self._parkers)

    def wake_all(self) -> None:
        parkers, self._parkers = self._parkers, []
        for parker in parkers:
            parker.wake(None)

    async def wait(self, what: str) -> None:
        """Park the current task until the next ``wake_all``; ``what`` names the wait in
        deadlock reports (``"changed() on watch-1"``)."""
        rt = current()
        parker = rt.parker()
        self._parkers.append(parker)
        try:
            await rt.park(parker, what)
        finally:
            if parker in self._parkers:
                self._parkers.remove(parker)


class Notify:
    """A one-time event that tasks can wait for (``tx.closed()``); no queue, no values."""

    __slots__ = ("fired", "waiters")

    def __init__(self) -> None:
        self.fired = False
        self.waiters = WaitList()

    def fire(self) -> None:
        self.fired = True
        self.waiters.wake_all()

    async def wait(self, what: str) -> None:
        if not self.fired:
            await self.waiters.wait(what)


class ChannelState:
    """Shared by every handle of one ``watch`` or ``broadcast`` channel: the sender count,
    receivers waiting for a value, senders waiting in ``closed()``, and a trace name."""

    __slots__ = ("closed_waiters", "name", "senders", "waiters")

    prefix: ClassVar[str] = ""

    def __init__(self) -> None:
        self.senders = 1
        self.waiters = WaitList()
        self.closed_waiters = WaitList()
        self.name: str | None = None

    def name_in(self, rt: Runtime) -> str:
        if self.name is None:
            self.name = rt.new_name(self.prefix)
        return self.name

    async def wait(self, waiters: WaitList, what: str) -> None:
        """Park on ``waiters`` as ``"{what} {channel}"`` (``"closed() on watch-1"``)."""
        await waiters.wait(f"{what} {self.name_in(current())}")

    def has_receivers(self) -> bool:
        raise NotImplementedError

    async def no_receivers(self) -> None:
        """Wait until no receiver exists (``tx.closed()``)."""
        while self.has_receivers():
            await self.wait(self.closed_waiters, "closed() on")


class Handle(Generic[S]):
    """One end of a channel over shared state ``S``: dropped at most once (R3, R37).

    Subclasses say what dropping releases in ``_release`` and name their family
    (``"watch"``) for messages and reprs: ``<watch.Sender dropped>``.
    """

    __slots__ = ("_dropped", "_shared")

    family: ClassVar[str] = ""

    def __init__(self, shared: S) -> None:
        self._shared = shared
        self._dropped = False

    def _moved(self) -> MovedValueError:
        return MovedValueError(f"use of a dropped {self.family} {type(self).__name__}")

    def _live(self) -> S:
        if self._dropped:
            raise self._moved()
        return self._shared

    def _release(self) -> None:
        """What dropping this handle gives up (a sender count, a receiver slot)."""

    def drop(self) -> None:
        """Drop this handle; a second drop does nothing."""
        if not self._dropped:
            self._dropped = True
            self._release()

    def same_channel(self, other: object) -> bool:
        return getattr(other, "_shared", None) is self._shared

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def __repr__(self) -> str:
        return f"<{self.family}.{type(self).__name__}{' dropped' if self._dropped else ''}>"
