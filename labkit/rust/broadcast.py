"""tokio ``broadcast``: every receiver sees every value sent after it subscribed (R23-R25).

>>> tx, rx1 = rust.broadcast.channel(16)
>>> rx2 = tx.subscribe()
>>> tx.send("hello")                 # Ok(2): two receivers
>>> await rx1.recv()                 # Ok("hello")

The buffer is a ring of ``capacity`` slots, rounded up to a power of two (R23). ``send`` never
waits: when the ring is full the oldest value is overwritten, and a receiver that had not
read it gets ``Err(RecvError.Lagged(k))``, k being exactly how many it missed, then carries on
from the oldest value still held (R24). Loss is reported, never silent.

Values are cloned per receiver (``T: Clone``): each ``recv`` returns a ``copy.deepcopy`` of
the value (immutable atoms are shared as is), so one receiver mutating what it got cannot
affect another. An :class:`~labkit.rust.Owned` is moved into the channel by ``send`` (the
sender's handle is spent, R37) and each receiver gets its own live ``Owned`` holding a clone.

``tx.statistics()`` (or ``rx.statistics()``) is a :class:`BroadcastStatistics` snapshot of the
whole channel: values unread, sent, received, lagged, and the tasks waiting.

Not modelled: tokio drops a value as soon as every receiver has read it; here it stays in its
slot until overwritten (only memory differs: no receiver can read it twice). ``WeakSender``
and ``Sender::closed`` are modelled, the unstable ``new_receiver_with_lag`` is not.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from labkit._check import check_int
from labkit._runtime.core import current, current_task
from labkit._runtime.rows import EventKind
from labkit.rust._errors import UnitError, ValueCarryingError, name_variants
from labkit.rust._handles import ChannelSender, ChannelState, Handle
from labkit.rust._ownership import Owned, transfer
from labkit.rust.result import Err, Ok, Result

__all__ = (
    "BroadcastStatistics",
    "Receiver",
    "RecvError",
    "SendError",
    "Sender",
    "TryRecvError",
    "channel",
)

T = TypeVar("T")

_MODEL = "rust"

_ATOMS: frozenset[type] = frozenset({int, float, str, bytes, bool, type(None), complex,
                                     frozenset, range, type(Ellipsis)})


def _clone(value: T) -> T:
    """``T::clone`` for a receiver: a deep copy; immutable atoms are shared (R23)."""
    if type(value) in _ATOMS:
        return value
    if isinstance(value, Owned):
        return Owned(copy.deepcopy(value.value))  # type: ignore[return-value]
    if isinstance(value, tuple) and type(value) is tuple and all(
            type(v) in _ATOMS for v in value):
        return value
    return copy.deepcopy(value)


# -- errors ---------------------------------------------------------------------------------


class SendError(ValueCarryingError[T]):
    """No receiver exists: the value comes back in ``.value`` (R23)."""

    def __str__(self) -> str:
        return "channel closed"  # tokio's text


class _LagError(UnitError):
    """A variant kind plus ``count``, the values missed when the kind is ``Lagged`` (R24).

    Variants compare equal within their family (``RecvError.Lagged(2) == RecvError.Lagged(2)``).
    """

    __slots__ = ("count",)

    family: ClassVar[str]

    __match_args__ = ("count",)

    def __init__(self, kind: str, count: int = 0) -> None:
        Exception.__init__(self, kind, count)
        self.kind = kind
        self.count = count

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _LagError) and other.family == self.family
                and other.kind == self.kind and other.count == self.count)

    def __hash__(self) -> int:
        return hash((self.kind, self.count))

    def __repr__(self) -> str:
        if self.kind == "Lagged":
            return f"{self.family}.Lagged({self.count})"
        return f"{self.family}.{self.kind}"

    def __str__(self) -> str:
        if self.kind == "Lagged":
            return f"channel lagged by {self.count}"
        return "channel empty" if self.kind == "Empty" else "channel closed"


class RecvError(_LagError):
    """``recv`` failed: ``RecvError.Lagged(k)`` (k values missed, R24) or
    ``RecvError.Closed`` (every sender gone and nothing left, R25).

    Use in ``match``: ``case Err(RecvError.Lagged(k)):`` and ``case Err(RecvError.Closed):``.
    """

    __slots__ = ()

    family = "RecvError"

    Lagged: ClassVar[type[_Lagged]]
    Closed: ClassVar[RecvError]

    def __init__(self, kind: str = "Closed", count: int = 0) -> None:
        super().__init__(kind, count)


class _Lagged(RecvError):
    """The receiver missed ``count`` values; its next ``recv`` gets the oldest held (R24)."""

    __slots__ = ()

    def __init__(self, count: int) -> None:
        super().__init__("Lagged", count)


class TryRecvError(_LagError):
    """``try_recv`` failed: ``TryRecvError.Empty``, ``.Closed`` or ``.Lagged(k)`` (R24)."""

    __slots__ = ()

    family = "TryRecvError"

    Lagged: ClassVar[type[_TryLagged]]
    Closed: ClassVar[TryRecvError]
    Empty: ClassVar[TryRecvError]

    def __init__(self, kind: str = "Empty", count: int = 0) -> None:
        super().__init__(kind, count)


class _TryLagged(TryRecvError):
    __slots__ = ()

    def __init__(self, count: int) -> None:
        super().__init__("Lagged", count)


name_variants(RecvError, Lagged=_Lagged)
name_variants(TryRecvError, Lagged=_TryLagged)
RecvError.Closed = RecvError("Closed")
TryRecvError.Closed = TryRecvError("Closed")
TryRecvError.Empty = TryRecvError("Empty")


# -- shared state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastStatistics:
    """A snapshot of one broadcast channel, the same from every handle (R23-R25).

    ``depth`` is the values held that some receiver has not read (tokio's ``Sender::len``)
    and ``peak_depth`` its highest; ``sent`` counts sends, ``received`` deliveries summed
    over receivers, ``lagged`` the values receivers missed (reported by ``Lagged``).
    ``receivers_waiting`` wait in ``recv``; ``senders_waiting`` in ``Sender.closed()`` (a
    broadcast send never waits). ``closed``: every sender is gone.
    """

    name: str
    capacity: int
    depth: int
    peak_depth: int
    sent: int
    received: int
    lagged: int
    sender_count: int
    receiver_count: int
    senders_waiting: int
    receivers_waiting: int
    closed: bool

_OK = 0
_EMPTY = 1
_CLOSED = 2
_LAGGED = 3


class _Shared(ChannelState, Generic[T]):
    """The ring and the handle counts every sender and receiver of one channel share."""

    __slots__ = ("capacity", "lagged", "mask", "next_key", "peak", "received", "receivers",
                 "slots", "tail")

    prefix = "bcast"

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.mask = capacity - 1
        #: The ring, grown as values arrive (a large capacity costs nothing up front);
        #: position ``pos`` lives in ``slots[pos & mask]``.
        self.slots: list[tuple[int, T]] = []
        self.tail = 0  # position the next value gets; held values are [head, tail)
        self.receivers: dict[int, Receiver[T]] = {}
        self.next_key = 0
        self.peak = 0
        self.received = 0
        self.lagged = 0

    def has_receivers(self) -> bool:
        return bool(self.receivers)

    @property
    def head(self) -> int:
        """Position of the oldest value still held."""
        return max(0, self.tail - self.capacity)

    def unread(self) -> int:
        """Values not yet seen by every receiver (tokio's ``Sender::len``)."""
        if not self.receivers:
            return 0
        oldest = min(r._next for r in self.receivers.values())
        return self.tail - max(oldest, self.head)

    def add_receiver(self, rx: Receiver[T]) -> int:
        key = self.next_key
        self.next_key += 1
        self.receivers[key] = rx
        return key

    def remove_receiver(self, key: int) -> None:
        del self.receivers[key]
        if not self.receivers:
            self.closed_waiters.unpark_all()

    def record_close(self, detail: str) -> None:
        rt = current()
        rt.record(EventKind.CLOSE, actor=current_task().name, peer=self.name_in(rt),
                  model=_MODEL, detail=detail)

    def statistics(self) -> BroadcastStatistics:
        return BroadcastStatistics(
            name=self.stats_name(), capacity=self.capacity, depth=self.unread(),
            peak_depth=self.peak, sent=self.tail, received=self.received, lagged=self.lagged,
            sender_count=self.senders, receiver_count=len(self.receivers),
            senders_waiting=self.closed_waiters.statistics().tasks_waiting,
            receivers_waiting=self.waiters.statistics().tasks_waiting,
            closed=self.senders == 0)


# -- handles --------------------------------------------------------------------------------


class Sender(ChannelSender[_Shared[T]]):
    """The sending half: ``send`` never waits (R23). Clone it for more senders; the channel
    closes for receivers when the last one is dropped (R25)."""

    __slots__ = ()

    family = "broadcast"

    def send(self, value: T) -> Result[int, SendError[T]]:
        """Send to every receiver: ``Ok(number of receivers)``, or ``Err(SendError(value))``
        when there are none (R23). When the ring is full the oldest value is overwritten."""
        sh = self._live()
        n = len(sh.receivers)
        if n == 0:
            return Err(SendError(value))
        value = transfer(value)
        rt = current()
        msg_id = rt.next_msg_id()
        pos = sh.tail
        if pos >= sh.capacity and rt.trace_on:
            evicted = pos - sh.capacity
            behind = sum(1 for r in sh.receivers.values() if r._next <= evicted)
            if behind:
                old = sh.slots[evicted & sh.mask]
                rt.record(EventKind.DROP, actor=current_task().name, peer=sh.name_in(rt),
                          msg_id=old[0], msg_type=type(old[1]).__name__, depth=sh.capacity,
                          model=_MODEL, detail=f"overwritten before {behind} receiver(s) read it")
        if pos < sh.capacity:
            sh.slots.append((msg_id, value))
        else:
            sh.slots[pos & sh.mask] = (msg_id, value)
        sh.tail = pos + 1
        depth = sh.unread()
        if depth > sh.peak:
            sh.peak = depth
        if rt.trace_on:
            rt.record(EventKind.SEND, actor=current_task().name, peer=sh.name_in(rt),
                      msg_id=msg_id, msg_type=type(value).__name__, depth=depth, model=_MODEL)
        if sh.waiters:
            sh.waiters.unpark_all()
        return Ok(n)

    def subscribe(self) -> Receiver[T]:
        """A new receiver that sees values sent from now on (R23)."""
        return Receiver(self._live(), self._shared.tail)

    def receiver_count(self) -> int:
        return len(self._live().receivers)

    def len(self) -> int:
        """Values held that some receiver has not read yet."""
        return self._live().unread()

    def __len__(self) -> int:
        return self.len()

    def is_empty(self) -> bool:
        return self.len() == 0

    def statistics(self) -> BroadcastStatistics:
        """A snapshot of the channel (see :class:`BroadcastStatistics`)."""
        return self._live().statistics()


class Receiver(Handle[_Shared[T]]):
    """One subscriber with its own cursor: ``await recv()`` gives ``Ok(v)``,
    ``Err(RecvError.Lagged(k))`` or ``Err(RecvError.Closed)`` (R24, R25)."""

    __slots__ = ("_key", "_next")

    family = "broadcast"

    def __init__(self, shared: _Shared[T], start: int) -> None:
        super().__init__(shared)
        self._next = start
        self._key = shared.add_receiver(self)

    def _poll(self) -> tuple[int, Any]:
        sh = self._live()
        pos = self._next
        head = sh.head
        if pos < head:  # overwritten before we read them (R24)
            self._next = head
            sh.lagged += head - pos
            return _LAGGED, head - pos
        if pos < sh.tail:
            slot = sh.slots[pos & sh.mask]
            self._next = pos + 1
            sh.received += 1
            return _OK, slot
        if sh.senders == 0:
            return _CLOSED, None
        return _EMPTY, None

    def _deliver(self, slot: tuple[int, T]) -> T:
        msg_id, value = slot
        sh = self._shared
        rt = current()
        if rt.trace_on:
            rt.record(EventKind.RECEIVE, actor=current_task().name, peer=sh.name_in(rt),
                      msg_id=msg_id, msg_type=type(value).__name__, depth=sh.tail - self._next,
                      model=_MODEL)
        return _clone(value)

    def _lagged(self, k: int) -> None:
        rt = current()
        rt.record(EventKind.LAGGED, actor=current_task().name, peer=self._shared.name_in(rt),
                  model=_MODEL, detail=f"Lagged({k})")

    def try_recv(self) -> Result[T, TryRecvError]:
        """Without waiting: ``Ok(v)``, ``Err(TryRecvError.Empty)``, ``.Closed`` or
        ``.Lagged(k)`` (R24)."""
        status, got = self._poll()
        if status == _OK:
            return Ok(self._deliver(got))
        if status == _LAGGED:
            self._lagged(got)
            return Err(TryRecvError.Lagged(got))
        return Err(TryRecvError.Closed if status == _CLOSED else TryRecvError.Empty)

    async def recv(self) -> Result[T, RecvError]:
        """Wait for the next value: ``Ok(v)``, ``Err(RecvError.Lagged(k))`` or
        ``Err(RecvError.Closed)`` once every sender is gone and all is read (R24, R25).
        Cancel-safe: the cursor only moves when a value is returned (R30)."""
        while True:
            status, got = self._poll()
            if status == _OK:
                return Ok(self._deliver(got))
            if status == _LAGGED:
                self._lagged(got)
                return Err(RecvError.Lagged(got))
            if status == _CLOSED:
                return Err(RecvError.Closed)
            await self._shared.wait(self._shared.waiters, "receive from")

    def __len__(self) -> int:
        """Values sent since this receiver's cursor that it has not read (may exceed the
        capacity when it has lagged)."""
        return self._live().tail - self._next

    def len(self) -> int:
        return len(self)

    def is_empty(self) -> bool:
        return len(self) == 0

    def is_closed(self) -> bool:
        """True once every sender is gone."""
        return self._live().senders == 0

    def statistics(self) -> BroadcastStatistics:
        """A snapshot of the channel (see :class:`BroadcastStatistics`)."""
        return self._live().statistics()

    def resubscribe(self) -> Receiver[T]:
        """A new receiver starting at the tail: it sees only values sent from now (R25)."""
        sh = self._live()
        return Receiver(sh, sh.tail)

    def _release(self) -> None:
        """A dropped receiver's unread values count as read (R25)."""
        self._shared.remove_receiver(self._key)

    def __aiter__(self) -> Receiver[T]:
        return self

    async def __anext__(self) -> Result[T, RecvError]:
        """``async for r in rx`` yields every ``recv`` result (lags included) until Closed."""
        result = await self.recv()
        if isinstance(result, Err) and result.error.kind == "Closed":
            raise StopAsyncIteration
        return result


def channel(capacity: int) -> tuple[Sender[Any], Receiver[Any]]:
    """A broadcast channel holding ``capacity`` values (rounded up to a power of two),
    and its first receiver (R23). ``capacity`` 0 raises ``ValueError``, where tokio panics
    ("capacity is empty"): labkit differs on purpose."""
    check_int("broadcast channel capacity", capacity, minimum=1)
    rounded = 1 << (capacity - 1).bit_length()
    shared: _Shared[Any] = _Shared(rounded)
    tx = Sender(shared)
    return tx, Receiver(shared, 0)
