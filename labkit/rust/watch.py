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

Not modelled: ``Ref`` guards and the read lock they hold (``borrow()`` returns the value),
``Sender::downgrade``/``WeakSender`` and ``subscribe`` from a ``Ref``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from labkit._runtime.core import Parker, Runtime, current, current_or_none, current_task
from labkit.rust._ownership import MovedValueError, transfer
from labkit.rust.result import Err, Ok, Result

__all__ = ("channel", "Receiver", "RecvError", "SendError", "Sender")

T = TypeVar("T")

MODEL = "rust"


class SendError(Exception, Generic[T]):
    """Every receiver is gone: the value comes back in ``.value`` (R26)."""

    __match_args__ = ("value",)

    def __init__(self, value: T) -> None:
        super().__init__()
        self.value = value

    def into_inner(self) -> T:
        return self.value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value

    def __hash__(self) -> int:
        return hash("watch.SendError")

    def __repr__(self) -> str:
        return f"SendError({self.value!r})"

    def __str__(self) -> str:
        return "channel closed: no receivers"


class RecvError(Exception):
    """Every sender is gone (and, for ``changed``, the last value was seen), R26.

    All ``RecvError`` values are equal; match with ``case Err(RecvError()):``.
    """

    __match_args__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash("watch.RecvError")

    def __repr__(self) -> str:
        return "RecvError"

    def __str__(self) -> str:
        return "channel closed"


class _Shared(Generic[T]):
    __slots__ = ("closed_waiters", "name", "receivers", "senders", "value", "version",
                 "waiters")

    def __init__(self, value: T) -> None:
        self.value = value
        self.version = 0
        self.senders = 1
        self.receivers = 1
        self.waiters: list[Parker] = []
        self.closed_waiters: list[Parker] = []
        self.name: str | None = None

    def name_in(self, rt: Runtime) -> str:
        if self.name is None:
            self.name = rt.new_name("watch")
        return self.name

    def record(self, kind: str, detail: str | None = None, value: object = None) -> None:
        rt = current_or_none()
        if rt is not None and rt.trace_on:
            msg_type = None if value is None else type(value).__name__
            rt.record(kind, current_task().name, self.name_in(rt), msg_type=msg_type,
                      depth=1, model=MODEL, detail=detail)

    def store(self, value: T) -> T:
        old, self.value = self.value, value
        self.version += 1
        self.record("send", value=value)
        self.wake()
        return old

    def wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for parker in waiters:
            parker.wake(None)

    async def wait(self, waiters: list[Parker], what: str) -> None:
        rt = current()
        parker = rt.parker()
        waiters.append(parker)
        try:
            await rt.park(parker, f"{what} {self.name_in(rt)}")
        finally:
            if parker in waiters:
                waiters.remove(parker)


def _dropped(what: str) -> MovedValueError:
    return MovedValueError(f"use of a dropped watch {what}")


class Sender(Generic[T]):
    """Stores the latest value. Clone for more senders; receivers see the channel closed
    only when the last one is dropped (case 94)."""

    __slots__ = ("_dropped", "_shared")

    def __init__(self, shared: _Shared[T]) -> None:
        self._shared = shared
        self._dropped = False

    def _live(self) -> _Shared[T]:
        if self._dropped:
            raise _dropped("Sender")
        return self._shared

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
        modify(sh.value)
        sh.store(sh.value)

    def send_if_modified(self, modify: Callable[[T], bool]) -> bool:
        """Call ``modify(value)``; notify only if it returns True (and return that)."""
        sh = self._live()
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

    async def closed(self) -> None:
        """Wait until no receiver exists."""
        sh = self._live()
        while sh.receivers:
            await sh.wait(sh.closed_waiters, "closed() on")

    def receiver_count(self) -> int:
        return self._live().receivers

    def sender_count(self) -> int:
        return self._live().senders

    def same_channel(self, other: Sender[T]) -> bool:
        return self._shared is other._shared

    def clone(self) -> Sender[T]:
        sh = self._live()
        sh.senders += 1
        return Sender(sh)

    def drop(self) -> None:
        """Drop this sender; the last drop wakes every receiver (case 94)."""
        if self._dropped:
            return
        self._dropped = True
        sh = self._shared
        sh.senders -= 1
        if sh.senders == 0:
            sh.record("close", "last sender dropped")
            sh.wake()

    def __enter__(self) -> Sender[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def __repr__(self) -> str:
        return f"<watch.Sender{' dropped' if self._dropped else ''}>"


class Receiver(Generic[T]):
    """Observes the latest value, remembering which version it has seen (R26)."""

    __slots__ = ("_dropped", "_seen", "_shared")

    def __init__(self, shared: _Shared[T], seen: int) -> None:
        self._shared = shared
        self._seen = seen
        self._dropped = False

    def _live(self) -> _Shared[T]:
        if self._dropped:
            raise _dropped("Receiver")
        return self._shared

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
        while True:
            self._seen = sh.version
            if predicate(sh.value):
                return Ok(sh.value)
            result = await self.changed()
            if isinstance(result, Err):
                return Err(RecvError())

    def same_channel(self, other: Receiver[T]) -> bool:
        return self._shared is other._shared

    def clone(self) -> Receiver[T]:
        """Another receiver with the same seen version."""
        sh = self._live()
        sh.receivers += 1
        return Receiver(sh, self._seen)

    def drop(self) -> None:
        """Drop this receiver; with none left, ``send`` fails (R26, case 95)."""
        if self._dropped:
            return
        self._dropped = True
        sh = self._shared
        sh.receivers -= 1
        if sh.receivers == 0:
            waiters, sh.closed_waiters = sh.closed_waiters, []
            for parker in waiters:
                parker.wake(None)

    def __enter__(self) -> Receiver[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def __repr__(self) -> str:
        return f"<watch.Receiver{' dropped' if self._dropped else ''}>"


def channel(init: T) -> tuple[Sender[T], Receiver[T]]:
    """A watch channel holding ``init`` (seen by the first receiver), R26."""
    shared = _Shared(transfer(init))
    return Sender(shared), Receiver(shared, 0)
