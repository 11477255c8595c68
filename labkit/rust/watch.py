"""tokio ``watch``: a single latest value that receivers observe (R26).

>>> tx, rx = rust.watch.channel("idle")
>>> tx.send("busy")                  # Ok(None); fails with no receivers
>>> await rx.changed()               # Ok(None): an unseen value exists, now marked seen
>>> rx.borrow()                      # "busy"

Only the latest value is kept; receivers track which version they have seen (the initial
value counts as seen), so intermediate values can be skipped. ``changed()`` fails only once
every sender is gone *and* the current value is seen; ``has_changed()`` raises
:class:`RecvError` as soon as the channel is closed (Python's answer to tokio's
``Result<bool, RecvError>``: a returned ``Err`` would be truthy in an ``if``).

``send`` moves an :class:`~labkit.rust.Owned` into the channel (R37); ``borrow()`` returns
the stored value itself (a shared borrow, not a clone), so treat it as read-only.

``tx.statistics()`` (or ``rx.statistics()``) is a :class:`WatchStatistics` snapshot: values
stored, handles, and the tasks waiting.

Not modelled: ``Ref`` guards and the read lock they hold (``borrow()`` returns the value),
``Sender::downgrade``/``WeakSender`` and ``subscribe`` from a ``Ref``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from labkit._check import check_callable
from labkit._runtime.core import current_or_none, current_task
from labkit._runtime.rows import EventKind
from labkit.rust._errors import PlainError, ValueCarryingError
from labkit.rust._handles import ChannelSender, ChannelState, Handle
from labkit.rust._ownership import transfer
from labkit.rust.result import Err, Ok, Result

__all__ = ("Receiver", "RecvError", "SendError", "Sender", "WatchStatistics", "channel")

T = TypeVar("T")

_MODEL = "rust"


class SendError(ValueCarryingError[T]):
    """Every receiver is gone: the value comes back in ``.value`` (R26)."""

    def __str__(self) -> str:
        return "channel closed"  # tokio's text


class RecvError(PlainError):
    """Every sender is gone (and, for ``changed``, the last value was seen), R26.

    All ``RecvError`` values are equal; match with ``case Err(RecvError()):``.
    """

    def __str__(self) -> str:
        return "channel closed"


@dataclass(frozen=True)
class WatchStatistics:
    """A snapshot of one watch channel, the same from every handle (R26).

    ``sent`` counts the values stored (the version: every ``send``, ``send_replace``,
    ``send_modify`` and ``send_if_modified`` that changed it); ``receivers_waiting`` wait in
    ``changed()``/``wait_for``; ``senders_waiting`` in ``Sender.closed()`` (a watch send
    never waits). ``closed``: every sender is gone.
    """

    name: str
    sent: int
    sender_count: int
    receiver_count: int
    senders_waiting: int
    receivers_waiting: int
    closed: bool


class _Shared(ChannelState, Generic[T]):
    __slots__ = ("receivers", "value", "version")

    prefix = "watch"

    def __init__(self, value: T) -> None:
        super().__init__()
        self.value = value
        self.version = 0
        self.receivers = 1

    def has_receivers(self) -> bool:
        return self.receivers > 0

    def record(self, kind: EventKind, detail: str | None = None, value: object = None) -> None:
        rt = current_or_none()
        if rt is not None and rt.trace_on:
            msg_type = None if value is None else type(value).__name__
            rt.record(kind, actor=current_task().name, peer=self.name_in(rt), msg_type=msg_type,
                      depth=1, model=_MODEL, detail=detail)

    def record_close(self, detail: str) -> None:
        self.record(EventKind.CLOSE, detail)

    def store(self, value: T) -> T:
        old, self.value = self.value, value
        self.version += 1
        self.record(EventKind.SEND, value=value)
        self.waiters.unpark_all()
        return old

    def statistics(self) -> WatchStatistics:
        return WatchStatistics(
            name=self.stats_name(), sent=self.version, sender_count=self.senders,
            receiver_count=self.receivers,
            senders_waiting=self.closed_waiters.statistics().tasks_waiting,
            receivers_waiting=self.waiters.statistics().tasks_waiting,
            closed=self.senders == 0)


class Sender(ChannelSender[_Shared[T]]):
    """Stores the latest value. Clone for more senders; receivers see the channel closed
    only when the last one is dropped (case 94)."""

    __slots__ = ()

    family = "watch"

    def send(self, value: T) -> Result[None, SendError[T]]:
        """Store ``value`` and notify receivers: ``Ok(None)``, or ``Err(SendError(value))``
        with nothing stored when there are no receivers (R26, case 95)."""
        sh = self._live()
        if sh.receivers == 0:
            return Err(SendError(value))
        sh.store(transfer(value))
        return Ok(None)

    def send_replace(self, value: T) -> T:
        """Store ``value`` even with no receivers, and return the previous one (R26)."""
        return self._live().store(transfer(value))

    def send_modify(self, modify: Callable[[T], object]) -> None:
        """Change the value in place with ``modify(value)`` and notify, receivers or not."""
        sh = self._live()
        check_callable("modify", modify)
        modify(sh.value)
        sh.store(sh.value)

    def send_if_modified(self, modify: Callable[[T], bool]) -> bool:
        """Call ``modify(value)``; notify only if it returns True (and return that)."""
        sh = self._live()
        check_callable("modify", modify)
        if modify(sh.value):
            sh.store(sh.value)
            return True
        return False

    def borrow(self) -> T:
        """The current value (a shared borrow)."""
        return self._live().value

    def subscribe(self) -> Receiver[T]:
        """A new receiver; the current value counts as seen. Reopens a closed channel
        (case 95)."""
        sh = self._live()
        sh.receivers += 1
        return Receiver(sh, sh.version)

    def is_closed(self) -> bool:
        """True when no receiver exists (R26)."""
        return self._live().receivers == 0

    def receiver_count(self) -> int:
        return self._live().receivers

    def sender_count(self) -> int:
        return self._live().senders

    def statistics(self) -> WatchStatistics:
        """A snapshot of the channel (see :class:`WatchStatistics`)."""
        return self._live().statistics()


class Receiver(Handle[_Shared[T]]):
    """Observes the latest value, remembering which version it has seen (R26)."""

    __slots__ = ("_seen",)

    family = "watch"

    def __init__(self, shared: _Shared[T], seen: int) -> None:
        super().__init__(shared)
        self._seen = seen

    def borrow(self) -> T:
        """The current value; does not mark it seen (R26)."""
        return self._live().value

    def borrow_and_update(self) -> T:
        """The current value, marked seen (R26)."""
        sh = self._live()
        self._seen = sh.version
        return sh.value

    def has_changed(self) -> bool:
        """Is there a value this receiver has not seen? Raises :class:`RecvError` if and
        only if every sender is gone (R26, case 93)."""
        sh = self._live()
        if sh.senders == 0:
            raise RecvError
        return self._seen != sh.version

    def mark_changed(self) -> None:
        """Make the current value count as unseen."""
        self._seen = self._live().version - 1

    def mark_unchanged(self) -> None:
        """Make the current value count as seen."""
        self._seen = self._live().version

    async def changed(self) -> Result[None, RecvError]:
        """Wait for an unseen value and mark it seen: ``Ok(None)``; ``Err(RecvError())``
        once every sender is gone and the last value was seen (R26). Cancel-safe (R30)."""
        sh = self._live()
        while True:
            if self._seen != sh.version:
                self._seen = sh.version
                return Ok(None)
            if sh.senders == 0:
                return Err(RecvError())
            await sh.wait(sh.waiters, "changed() on")

    async def wait_for(self, predicate: Callable[[T], object]) -> Result[T, RecvError]:
        """Wait until ``predicate(value)`` holds (the current value is checked first) and
        return ``Ok(value)``, marked seen; ``Err(RecvError())`` if the senders go first."""
        sh = self._live()
        check_callable("predicate", predicate)
        while True:
            self._seen = sh.version
            if predicate(sh.value):
                return Ok(sh.value)
            result = await self.changed()
            if isinstance(result, Err):
                return Err(RecvError())

    def statistics(self) -> WatchStatistics:
        """A snapshot of the channel (see :class:`WatchStatistics`)."""
        return self._live().statistics()

    def clone(self) -> Receiver[T]:
        """Another receiver with the same seen version."""
        sh = self._live()
        sh.receivers += 1
        return Receiver(sh, self._seen)

    def _release(self) -> None:
        """With no receiver left, ``send`` fails (R26, case 95)."""
        sh = self._shared
        sh.receivers -= 1
        if sh.receivers == 0:
            sh.closed_waiters.unpark_all()


def channel(init: T) -> tuple[Sender[T], Receiver[T]]:
    """A watch channel holding ``init`` (seen by the first receiver), R26."""
    shared = _Shared(transfer(init))
    return Sender(shared), Receiver(shared, 0)
