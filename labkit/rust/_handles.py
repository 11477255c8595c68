"""What the Rust dialect's handles share: parked tasks to wake, and dropping a handle once.

* :class:`Notify`: a one-time event (``tx.closed()`` returns once the receiver is gone).
* :class:`ChannelState`: what every handle of one ``watch`` or ``broadcast`` channel shares.
* :class:`Handle`: one end of a channel. ``drop()`` (or leaving ``with``) runs once; using
  the handle after that raises :class:`~labkit.rust.MovedValueError`, as Rust's borrow
  checker would refuse a use after move.
* :class:`ChannelSender`: what a ``watch`` and a ``broadcast`` sender share: cloning,
  ``closed()``, and closing the channel for receivers when the last one is dropped.

Tasks wait in a :class:`~labkit._runtime.parking.ParkingLot`, the one wait queue: woken all
at once (``unpark_all``) when something changes, they look again. No values travel through
these lots, so a cancelled waiter has nothing to hand back (R30).
"""

from __future__ import annotations

from typing import ClassVar, Generic, Self, TypeVar

from labkit._runtime.core import Runtime, current_or_none
from labkit._runtime.parking import ParkingLot
from labkit.rust._ownership import MovedValueError

S = TypeVar("S")


class Notify:
    """A one-time event that tasks can wait for (``tx.closed()``); no values. Its lot is
    made by the first waiter: most channels never have one (an idle task's channel costs
    less)."""

    __slots__ = ("fired", "waiters")

    def __init__(self) -> None:
        self.fired = False
        self.waiters: ParkingLot | None = None

    def fire(self) -> None:
        self.fired = True
        if self.waiters is not None:
            self.waiters.unpark_all()

    async def wait(self, what: object) -> None:
        """Wait until :meth:`fire` (at once if it fired); ``what`` names the wait in
        deadlock reports (``("closed() on", chan)``)."""
        if not self.fired:
            if self.waiters is None:
                self.waiters = ParkingLot()
            await self.waiters.park(what)


class ChannelState:
    """Shared by every handle of one ``watch`` or ``broadcast`` channel: the sender count,
    receivers waiting for a value, senders waiting in ``closed()``, and a trace name."""

    __slots__ = ("closed_waiters", "name", "senders", "waiters")

    prefix: ClassVar[str] = ""

    def __init__(self) -> None:
        self.senders = 1
        self.waiters = ParkingLot()
        self.closed_waiters = ParkingLot()
        self.name: str | None = None

    def name_in(self, rt: Runtime) -> str:
        if self.name is None:
            self.name = rt.new_name(self.prefix)
        return self.name

    def stats_name(self) -> str:
        """The name a ``statistics()`` record shows (given a run's name inside a run)."""
        rt = current_or_none()
        if rt is not None:
            return self.name_in(rt)
        return self.name or f"<unnamed {self.prefix}>"

    async def wait(self, waiters: ParkingLot, what: str) -> None:
        """Park on ``waiters`` until woken; deadlock reports say ``"{what} {channel}"``
        (``"closed() on watch-1"``)."""
        await waiters.park((what, self))

    def has_receivers(self) -> bool:
        raise NotImplementedError

    def record_close(self, detail: str) -> None:
        """Write the channel's ``close`` row (each family writes its own kind of row)."""
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


CS = TypeVar("CS", bound=ChannelState)


class ChannelSender(Handle[CS]):
    """A sender of a ``watch`` or ``broadcast`` channel: clone it for more senders;
    receivers see the channel closed only when the last one is dropped (R25, R26)."""

    __slots__ = ()

    def clone(self) -> Self:
        """Another sender on the same channel."""
        sh = self._live()
        sh.senders += 1
        return type(self)(sh)

    async def closed(self) -> None:
        """Wait until no receiver exists (R25, R26)."""
        await self._live().no_receivers()

    def _release(self) -> None:
        """The last sender dropped closes the channel: receivers waiting wake, and see it
        closed once they have read what is left (R25, case 94)."""
        sh = self._shared
        sh.senders -= 1
        if sh.senders == 0:
            sh.record_close("last sender dropped")
            sh.waiters.unpark_all()
