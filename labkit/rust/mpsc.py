"""Multi-producer, single-consumer channels: tokio's ``mpsc`` and std's ``sync::mpsc``.

Thin facades over :class:`labkit.channel.Channel` (the one queue), with Rust's rules:

* tokio (R8-R21): ``channel(n)`` (n >= 1, no rendezvous) and ``unbounded_channel()``.
  ``await tx.send(v)`` waits for a slot and returns ``Ok(None)`` or ``Err(SendError(v))``;
  ``await rx.recv()`` returns the value, or ``None`` once the channel is closed and drained.
* std (R1-R7): ``std_channel()`` (unbounded; also ``mpsc.std.channel()``) and
  ``sync_channel(n)`` (n == 0 is a rendezvous). A std receiver's ``await rx.recv()`` returns
  ``Ok(v)`` or ``Err(RecvError())``, as ``std::sync::mpsc::Receiver::recv`` does; it also
  has ``try_recv``, ``recv_timeout``, ``try_iter`` and ``async for``. Std receivers have no
  ``close``: only ``drop`` disconnects them (R3).

The channel closes when the last strong sender is dropped (``tx.drop()`` or leaving
``with tx:``); a :class:`WeakSender` does not count (R20). Python has no deterministic
destructors, so drops are explicit. Every failed send hands the value back inside its error,
and sending an :class:`~labkit.rust.Owned` moves it (R37). Every sender and receiver has
``statistics()``, an :class:`MpscStatistics` snapshot of the channel.

>>> import labkit
>>> async def main():
...     tx, rx = channel(2)
...     await tx.send("a")
...     tx.drop()
...     return [await rx.recv(), await rx.recv()]
>>> labkit.simulate(main).result
['a', None]
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar

import anyio

from labkit._check import check_int, check_seconds, describe, returns_coroutine
from labkit._runtime.core import current, current_or_none, current_task
from labkit._runtime.rows import EventKind
from labkit.channel import CLOSED, EMPTY, FULL, OK, Channel, ChannelStatistics, Status
from labkit.rust import _ownership
from labkit.rust._errors import PlainError, UnitError, ValueCarryingError, name_variants
from labkit.rust._handles import Handle, Notify
from labkit.rust._ownership import MovedValueError, Owned, transfer
from labkit.rust.result import Err, Ok, Result

__all__ = (
    "MpscStatistics",
    "OwnedPermit",
    "Permit",
    "PermitIterator",
    "Receiver",
    "RecvError",
    "RecvTimeoutError",
    "SendError",
    "SendTimeoutError",
    "Sender",
    "StdReceiver",
    "StdSender",
    "SyncSender",
    "TryRecvError",
    "TrySendError",
    "UnboundedReceiver",
    "UnboundedSender",
    "WeakSender",
    "channel",
    "std",
    "std_channel",
    "sync_channel",
    "unbounded_channel",
)

T = TypeVar("T")

_MODEL = "rust"

#: What every successful send returns. One shared instance: ``Ok`` is immutable in use,
#: and a send is too frequent to allocate a fresh ``Ok(None)`` each time.
_OK_NONE: Ok[None] = Ok(None)


# -- errors ------------------------------------------------------------------------------


class SendError(ValueCarryingError[T]):
    """The receiver is gone: the unsent value comes back in ``.value`` (R5, R9, R21).

    ``reserve`` fails with ``SendError(None)`` (tokio's ``SendError(())``). Its text is the
    real one: tokio's ``channel closed``; from a std channel, std's ``sending on a closed
    channel``. (``std`` says which; it takes no part in ``==``.)
    """

    #: True for an error of a std channel (``std_channel``, ``sync_channel``): std's text.
    std: bool = False

    def __str__(self) -> str:
        return "sending on a closed channel" if self.std else "channel closed"


class TrySendError(SendError[T]):
    """A ``try_send`` that did not send: ``TrySendError.Full(v)`` or ``.Closed(v)`` (R12).

    std's ``SyncSender.try_send`` says ``.Disconnected(v)`` instead of ``.Closed(v)`` (R5).
    Use in ``match``: ``case Err(TrySendError.Full(v)):``.
    """

    Full: ClassVar[type[TrySendError[Any]]]
    Closed: ClassVar[type[TrySendError[Any]]]
    Disconnected: ClassVar[type[TrySendError[Any]]]

    def is_full(self) -> bool:
        return isinstance(self, _TrySendFull)

    def is_closed(self) -> bool:
        return not isinstance(self, _TrySendFull)

    def __str__(self) -> str:
        if self.is_full():  # tokio's text, or std's
            return "sending on a full channel" if self.std else "no available capacity"
        if isinstance(self, _TrySendDisconnected):
            return "sending on a closed channel"
        return "channel closed"


class _TrySendFull(TrySendError[T]):
    """The channel is full (R12); the value is handed back."""


class _TrySendClosed(TrySendError[T]):
    """The receiver is closed or dropped (R12); the value is handed back."""


class _TrySendDisconnected(TrySendError[T]):
    """std: the receiver was dropped (R5); the value is handed back."""


class SendTimeoutError(SendError[T]):
    """``send_timeout`` failed: ``SendTimeoutError.Timeout(v)`` or ``.Closed(v)`` (R19)."""

    Timeout: ClassVar[type[SendTimeoutError[Any]]]
    Closed: ClassVar[type[SendTimeoutError[Any]]]

    def is_timeout(self) -> bool:
        return isinstance(self, _SendTimeoutTimeout)

    def is_closed(self) -> bool:
        return not isinstance(self, _SendTimeoutTimeout)

    def __str__(self) -> str:
        return "timed out waiting on send operation" if self.is_timeout() else "channel closed"


class _SendTimeoutTimeout(SendTimeoutError[T]):
    """No slot came free in time (R19); the value is handed back."""


class _SendTimeoutClosed(SendTimeoutError[T]):
    """The receiver is closed or dropped (R19); the value is handed back."""


name_variants(TrySendError, Full=_TrySendFull, Closed=_TrySendClosed,
              Disconnected=_TrySendDisconnected)
name_variants(SendTimeoutError, Timeout=_SendTimeoutTimeout, Closed=_SendTimeoutClosed)


class TryRecvError(UnitError):
    """``try_recv`` found nothing: ``TryRecvError.Empty`` or ``.Disconnected`` (R4, R15).

    Use in ``match``: ``case Err(TryRecvError.Empty):``.
    """

    Empty: ClassVar[TryRecvError]
    Disconnected: ClassVar[TryRecvError]

    def __str__(self) -> str:
        return ("receiving on an empty channel" if self.kind == "Empty"
                else "receiving on a closed channel")


TryRecvError.Empty = TryRecvError("Empty")
TryRecvError.Disconnected = TryRecvError("Disconnected")


class RecvTimeoutError(UnitError):
    """std ``recv_timeout``: ``RecvTimeoutError.Timeout`` or ``.Disconnected`` (R6)."""

    Timeout: ClassVar[RecvTimeoutError]
    Disconnected: ClassVar[RecvTimeoutError]

    def __str__(self) -> str:
        return ("timed out waiting on channel" if self.kind == "Timeout"
                else "channel is empty and sending half is closed")


RecvTimeoutError.Timeout = RecvTimeoutError("Timeout")
RecvTimeoutError.Disconnected = RecvTimeoutError("Disconnected")


class RecvError(PlainError):
    """Every sender is gone and nothing is left to receive (std R4, oneshot R22).

    All ``RecvError`` values are equal; match with ``case Err(RecvError()):``. Its text is
    std's ``receiving on a closed channel``, or tokio's ``channel closed`` from a oneshot
    (``tokio=True``; it takes no part in ``==``).
    """

    def __init__(self, *, tokio: bool = False) -> None:
        super().__init__()
        self.tokio = tokio

    def __str__(self) -> str:
        return "channel closed" if self.tokio else "receiving on a closed channel"


#: What ``tx.send(v)`` returns: a coroutine whose result is ``Ok(None)`` or
#: ``Err(SendError(v))``.
_SendResult = Coroutine[Any, Any, "Result[None, SendError[T]]"]


# -- shared state ------------------------------------------------------------------------


@dataclass(frozen=True)
class MpscStatistics(ChannelStatistics):
    """A snapshot of one mpsc channel, the same from every handle: the core channel's
    record (``depth``, ``peak_depth``, ``reserved`` slots held by permits, ``sent``,
    ``received``, ``senders_waiting`` in ``send``/``reserve``, ``receivers_waiting``,
    ``closed``) plus ``sender_count`` (strong senders and outstanding permits, which keep
    the channel open, R3, R20) and ``weak_count`` (weak senders, which do not)."""

    sender_count: int
    weak_count: int


class _Shared(Generic[T]):
    """What every handle of one channel shares: the queue and the handle counts."""

    __slots__ = ("chan", "rx_closed", "rx_dropped", "rx_gone", "sender_cls", "senders", "weak")

    def __init__(self, chan: Channel[T], sender_cls: type[Any]) -> None:
        self.chan = chan
        self.senders = 1  # strong senders, plus outstanding permits (R15, R18, R20)
        self.weak = 0
        self.rx_closed = False
        self.rx_dropped = False
        self.rx_gone = Notify()
        self.sender_cls = sender_cls

    def record(self, kind: EventKind, detail: str, msg_id: int | None = None,
               value: object = None) -> None:
        rt = current()
        if rt.trace_on:
            chan = self.chan
            rt.record(kind, actor=current_task().name, peer=chan.name_in(rt), msg_id=msg_id,
                      msg_type=None if value is None else type(value).__name__,
                      depth=len(chan.buffer), model=_MODEL, detail=detail)

    def add_sender(self) -> None:
        self.senders += 1

    def statistics(self) -> MpscStatistics:
        chan = self.chan
        rt = current_or_none()
        if rt is not None:
            chan.name_in(rt)  # a record made inside a run names the channel as traces do
        return MpscStatistics(**vars(chan.statistics()), sender_count=self.senders,
                              weak_count=self.weak)

    def sender_gone(self) -> None:
        """One strong sender (or permit) went away; the last one closes the channel (R3)."""
        self.senders -= 1
        if self.senders == 0 and not self.chan.closed:
            self.chan.close()
            self.record(EventKind.CLOSE, "last sender dropped")

    def close_rx(self, detail: str) -> None:
        """The receiver closed: no more sends; blocked senders fail with their value (R16)."""
        if not self.rx_closed:
            self.rx_closed = True
            if not self.chan.closed:
                self.chan.close()
            self.record(EventKind.CLOSE, detail)
            self.rx_gone.fire()

    def drop_rx(self) -> None:
        """The receiver was dropped: close, and drop what is buffered (R17)."""
        if self.rx_dropped:
            return
        self.close_rx("receiver dropped")
        self.rx_dropped = True
        items = self.chan.drain()
        for msg_id, value in items:
            self.record(EventKind.DROP, "receiver dropped", msg_id, value)
        items.clear()  # release the values now (their destructors run, as in Rust)


class _RustChannel(Channel[T]):
    """The core channel with Rust's send results: a completed ``send`` is ``Ok(None)``, a
    send on a closed channel hands the value back in ``Err(SendError(value))`` (R5, R9), so
    ``tx.send(v)`` is the core's own coroutine, with no layer in between. (The core types
    these results as ``Status``; here they are ``Result`` s: ``Sender.send`` says so.)"""

    __slots__ = ()

    sent_result = _OK_NONE  # type: ignore[assignment]

    def send_closed(self, value: T) -> Any:
        return Err(_flavour(SendError(value), self))


class _StdChannel(_RustChannel[T]):
    """The channel of ``std_channel``/``sync_channel``: its errors carry std's texts."""

    __slots__ = ()


E = TypeVar("E", bound=SendError[Any])


def _flavour(err: E, chan: Channel[Any]) -> E:
    """``err`` with std's text when ``chan`` is a std channel."""
    if isinstance(chan, _StdChannel):
        err.std = True
    return err


def _new_shared(capacity: int | None, sender_cls: type[Any], prefix: str) -> _Shared[Any]:
    cls = _StdChannel if sender_cls in (StdSender, SyncSender) else _RustChannel
    return _Shared(cls(capacity, model=_MODEL, prefix=prefix), sender_cls)


# -- senders -----------------------------------------------------------------------------


def _try_send_error(status: Status, value: T,
                    closed: type[TrySendError[Any]] = _TrySendClosed,
                    chan: Channel[Any] | None = None) -> Err[TrySendError[T]]:
    """The error of a ``try_*`` that did not get its slot: ``Full(v)``, else ``closed(v)``
    (with std's text when ``chan`` is a std channel)."""
    err = TrySendError.Full(value) if status is FULL else closed(value)
    return Err(_flavour(err, chan) if chan is not None else err)


class _SenderBase(Handle[_Shared[T]]):
    """Clone/drop bookkeeping and sending common to every strong sender (R3, R20).

    Leaving ``with tx:`` drops it, also on an exception: a panicking thread drops its sender
    while unwinding (R7).
    """

    __slots__ = ()

    def _moved(self) -> MovedValueError:
        return MovedValueError(
            f"use of a dropped {type(self).__name__}: this handle was dropped (or moved), "
            f"so it can no longer send; keep a clone (tx.clone()) if you need one")

    def _release(self) -> None:
        """Dropping the last sender closes the channel (R3, R15)."""
        self._shared.sender_gone()

    def clone(self) -> Self:
        """Another sender on the same channel; the channel stays open until all are dropped."""
        shared = self._live()
        shared.add_sender()
        return type(self)(shared)

    def is_dropped(self) -> bool:
        return self._dropped

    def strong_count(self) -> int:
        """Strong senders (and outstanding permits) keeping the channel open."""
        return self._shared.senders

    def weak_count(self) -> int:
        return self._shared.weak

    def statistics(self) -> MpscStatistics:
        """A snapshot of the channel (see :class:`MpscStatistics`)."""
        return self._live().statistics()

    def _send_now(self, value: T) -> Result[None, SendError[T]]:
        """An unbounded send: it never waits, and fails only once the receiver is gone."""
        if self._dropped:
            raise self._moved()
        chan = self._shared.chan
        if isinstance(value, (Owned, _ownership._NOT_SEND)):
            value = transfer(value)
        if chan.send_nowait(value) is OK:
            return _OK_NONE
        return Err(_flavour(SendError(value), chan))

    def _try_send(self, value: T,
                  closed: type[TrySendError[Any]]) -> Result[None, TrySendError[T]]:
        shared = self._live()
        value = transfer(value)
        status = shared.chan.send_nowait(value)
        if status is OK:
            return _OK_NONE
        return _try_send_error(status, value, closed, shared.chan)

    def __repr__(self) -> str:
        state = " dropped" if self._dropped else ""
        return f"<{type(self).__name__} {self._shared.chan.name}{state}>"


class _TokioSenderBase(_SenderBase[T]):
    """What tokio's bounded and unbounded senders share: closed-ness and weak handles."""

    __slots__ = ()

    def is_closed(self) -> bool:
        """True once the receiver was closed or dropped (R16, R17)."""
        return self._shared.rx_closed

    async def closed(self) -> None:
        """Wait until the receiver is closed or dropped (returns at once if it is)."""
        shared = self._live()
        await shared.rx_gone.wait(f"closed() on {shared.chan.name_in(current())}")

    def downgrade(self) -> WeakSender[T]:
        """A weak handle that does not keep the channel open (R20)."""
        return WeakSender(self._live())


class Sender(_TokioSenderBase[T]):
    """The sending half of ``tokio::sync::mpsc::channel(n)`` (R8-R20)."""

    __slots__ = ()

    @returns_coroutine
    def send(self, value: T, *, corr_id: int | None = None) -> _SendResult[T]:
        """Wait for a slot, then send: ``Ok(None)`` or ``Err(SendError(value))`` (R9).

        Waiting senders are served in order (R10). Not cancel-safe: cancelled while waiting,
        the value is lost, and the trace says so (R11); use ``reserve`` to be safe.

        ``corr_id`` is labkit's, not tokio's: a correlation id written on this send's trace
        row, so a scenario can tie the send to the routing decision that caused it (in Rust
        a correlation id is a field of the message).
        """
        if self._dropped:
            raise self._moved()
        if isinstance(value, (Owned, _ownership._NOT_SEND)):
            value = transfer(value)  # move an Owned, refuse a not-Send value (R37, R38)
        # The core's send itself (a _RustChannel returns Ok/Err): the value moves at the
        # call, as it moves into the future in Rust.
        return self._shared.chan.send(value, corr_id=corr_id)  # type: ignore[return-value]

    def try_send(self, value: T) -> Result[None, TrySendError[T]]:
        """Send without waiting: ``Ok(None)``, ``Err(TrySendError.Full(v))`` or
        ``Err(TrySendError.Closed(v))`` (R12)."""
        return self._try_send(value, _TrySendClosed)

    async def send_timeout(self, value: T, seconds: float) -> Result[None, SendTimeoutError[T]]:
        """Like ``send``, giving up after ``seconds``: ``Err(SendTimeoutError.Timeout(v))`` or
        ``Err(SendTimeoutError.Closed(v))``, the value handed back either way (R19)."""
        shared = self._live()
        check_seconds("seconds", seconds)
        value = transfer(value)
        chan = shared.chan
        status: Status | None = chan.reserve_nowait(1)
        if status is FULL:
            status = None
            with anyio.move_on_after(seconds):
                status = await chan.reserve(1)  # FIFO with blocked sends (R10)
        if status is None:
            return Err(SendTimeoutError.Timeout(value))
        if status is CLOSED:
            return Err(SendTimeoutError.Closed(value))
        chan.send_reserved(value)
        return _OK_NONE

    async def reserve(self) -> Result[Permit[T], SendError[None]]:
        """Wait for one slot: ``Ok(Permit)`` or ``Err(SendError(None))`` when closed (R13)."""
        shared = self._live()
        if await shared.chan.reserve(1) is OK:
            return Ok(Permit(shared))
        return Err(SendError(None))

    def try_reserve(self) -> Result[Permit[T], TrySendError[None]]:
        """One slot now: ``Ok(Permit)``, ``Err(TrySendError.Full(None))`` or ``.Closed`` (R13)."""
        shared = self._live()
        status = shared.chan.reserve_nowait(1)
        if status is OK:
            return Ok(Permit(shared))
        return _try_send_error(status, None)

    async def reserve_many(self, n: int) -> Result[PermitIterator[T], SendError[None]]:
        """Wait for ``n`` slots at once (FIFO, R10, R13). ``n > max_capacity()`` is an error."""
        shared = self._live()
        check_int("n", n, minimum=0)
        if n > self.max_capacity():
            return Err(SendError(None))
        if await shared.chan.reserve(n) is OK:
            return Ok(PermitIterator(shared, n))
        return Err(SendError(None))

    def try_reserve_many(self, n: int) -> Result[PermitIterator[T], TrySendError[None]]:
        """``n`` slots now, or ``Err(TrySendError.Full(None))`` / ``.Closed(None)`` (R13)."""
        shared = self._live()
        check_int("n", n, minimum=0)
        if shared.chan.closed:
            return Err(TrySendError.Closed(None))
        if n > self.max_capacity():
            return Err(TrySendError.Full(None))
        status = shared.chan.reserve_nowait(n)
        if status is OK:
            return Ok(PermitIterator(shared, n))
        return _try_send_error(status, None)

    async def reserve_owned(self) -> Result[OwnedPermit[T], SendError[None]]:
        """Like ``reserve``, but consumes this sender: the permit owns it and hands a sender
        back from ``send``/``release`` (R13). On failure the sender is dropped."""
        shared = self._live()
        self._dropped = True  # moved into the call, as ``reserve_owned(self)`` is
        if await shared.chan.reserve(1) is OK:
            return Ok(OwnedPermit(shared))  # the strong count moves into the permit
        shared.sender_gone()
        return Err(SendError(None))

    def try_reserve_owned(self) -> Result[OwnedPermit[T], TrySendError[Sender[T]]]:
        """``reserve_owned`` without waiting; the error hands this sender back (R13)."""
        shared = self._live()
        status = shared.chan.reserve_nowait(1)
        if status is OK:
            self._dropped = True
            return Ok(OwnedPermit(shared))
        return _try_send_error(status, self)

    def capacity(self) -> int:
        """Free slots now: falls on send and reserve, rises on recv (R14)."""
        return max(0, int(self._shared.chan.free()))

    def max_capacity(self) -> int:
        """The channel's bound ``n``, constant (R14)."""
        cap = self._shared.chan.capacity
        assert cap is not None
        return cap


class UnboundedSender(_TokioSenderBase[T]):
    """The sending half of ``tokio::sync::mpsc::unbounded_channel()`` (R21)."""

    __slots__ = ()

    def send(self, value: T) -> Result[None, SendError[T]]:
        """Send now, never waiting (synchronous, R21): ``Ok(None)`` or ``Err(SendError(v))``."""
        return self._send_now(value)


class WeakSender(Generic[T]):
    """A sender that does not keep the channel open (R20): ``upgrade()`` gives a
    strong sender while one (or an outstanding permit) still exists, else ``None``."""

    __slots__ = ("_dropped", "_shared")

    def __init__(self, shared: _Shared[T]) -> None:
        self._shared = shared
        self._dropped = False
        shared.weak += 1

    def upgrade(self) -> Any:
        """A new strong sender (``Sender`` or ``UnboundedSender``), or ``None`` (R20)."""
        shared = self._shared
        if self._dropped or shared.senders == 0:
            return None
        shared.add_sender()
        return shared.sender_cls(shared)

    def clone(self) -> WeakSender[T]:
        return WeakSender(self._shared)

    def drop(self) -> None:
        if not self._dropped:
            self._dropped = True
            self._shared.weak -= 1

    def strong_count(self) -> int:
        return self._shared.senders

    def weak_count(self) -> int:
        return self._shared.weak

    def __repr__(self) -> str:
        return f"<WeakSender {self._shared.chan.name}>"


# -- permits -----------------------------------------------------------------------------


def _permit_send(shared: _Shared[T], value: T) -> None:
    value = transfer(value)
    if shared.rx_dropped:
        # tokio drops the value: nobody can ever receive it (R17).
        shared.chan.release(1)
        shared.record(EventKind.DROP, "receiver dropped", None, value)
    else:
        shared.chan.send_reserved(value)


class Permit(Generic[T]):
    """One reserved slot (R13): ``send(v)`` cannot fail or wait; ``release()`` (or leaving
    ``with permit:`` unused) gives the slot back. While held it keeps the channel open."""

    __slots__ = ("_shared", "_used")

    def __init__(self, shared: _Shared[T]) -> None:
        self._shared = shared
        self._used = False
        shared.add_sender()

    def _take(self) -> _Shared[T]:
        if self._used:
            raise MovedValueError("use of a spent Permit: it was already used or released")
        self._used = True
        return self._shared

    def send(self, value: T) -> None:
        """Send into the reserved slot: synchronous, cannot fail (R13)."""
        shared = self._take()
        _permit_send(shared, value)
        shared.sender_gone()

    def release(self) -> None:
        """Give the slot back unused (a dropped permit, R13)."""
        shared = self._take()
        shared.chan.release(1)
        shared.sender_gone()

    drop = release

    def __enter__(self) -> Permit[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._used:
            self.release()

    def __repr__(self) -> str:
        return f"<Permit {self._shared.chan.name}{' spent' if self._used else ''}>"


class OwnedPermit(Permit[T]):
    """A permit that owns a sender (``reserve_owned``): ``send``/``release`` give it back."""

    __slots__ = ()

    def __init__(self, shared: _Shared[T]) -> None:
        super().__init__(shared)
        shared.senders -= 1  # it took over the spent sender's count instead of adding one

    def send(self, value: T) -> Sender[T]:  # type: ignore[override]
        shared = self._take()
        _permit_send(shared, value)
        return Sender(shared)

    def release(self) -> Sender[T]:  # type: ignore[override]
        shared = self._take()
        shared.chan.release(1)
        return Sender(shared)

    drop = release  # type: ignore[assignment]


class PermitIterator(Generic[T]):
    """``n`` reserved slots from ``reserve_many`` (R13): iterate to get one ``Permit`` each;
    ``release()`` (or leaving ``with``) gives back the ones not taken."""

    __slots__ = ("_remaining", "_shared")

    def __init__(self, shared: _Shared[T], n: int) -> None:
        self._shared = shared
        self._remaining = n
        if n:
            shared.add_sender()

    def __iter__(self) -> Iterator[Permit[T]]:
        return self

    def __next__(self) -> Permit[T]:
        if self._remaining == 0:
            raise StopIteration
        self._remaining -= 1
        permit = Permit(self._shared)
        if self._remaining == 0:
            self._shared.sender_gone()
        return permit

    def __len__(self) -> int:
        return self._remaining

    def release(self) -> None:
        if self._remaining:
            n, self._remaining = self._remaining, 0
            self._shared.chan.release(n)
            self._shared.sender_gone()

    drop = release

    def __enter__(self) -> PermitIterator[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# -- receivers ---------------------------------------------------------------------------


class _ReceiverBase(Handle[_Shared[T]]):
    """What the tokio and std receivers share: taking values without waiting, ``async for``,
    and dropping (R3, R17)."""

    __slots__ = ()

    def _moved(self) -> MovedValueError:
        return MovedValueError(f"use of a dropped {type(self).__name__}")

    def _release(self) -> None:
        """Dropping the receiver closes the channel and drops buffered messages (R3, R17)."""
        self._shared.drop_rx()

    def statistics(self) -> MpscStatistics:
        """A snapshot of the channel (see :class:`MpscStatistics`)."""
        return self._live().statistics()

    def try_recv(self) -> Result[T, TryRecvError]:
        """``Ok(v)``, ``Err(TryRecvError.Empty)`` or ``Err(TryRecvError.Disconnected)`` (R4,
        R15)."""
        status, value = self._live().chan.recv_nowait()
        if status is OK:
            return Ok(value)
        if status is EMPTY:
            return Err(TryRecvError.Empty)
        return Err(TryRecvError.Disconnected)

    def __aiter__(self) -> Self:
        return self

    @returns_coroutine
    def __anext__(self) -> Coroutine[Any, Any, T]:
        """``async for x in rx``: ends once every sender is gone and the buffer is drained
        (R6, R15)."""
        if self._dropped:
            raise self._moved()
        return self._shared.chan.__anext__()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._shared.chan.name} len={len(self._shared.chan)}>"


class Receiver(_ReceiverBase[T]):
    """The receiving half of a tokio mpsc channel, bounded or unbounded (R15-R19)."""

    __slots__ = ()

    @returns_coroutine
    def recv(self) -> Coroutine[Any, Any, T | None]:
        """``await rx.recv()``: the next value, waiting for one; ``None`` once closed and
        drained (R15). Cancel-safe: a value is never lost to a cancelled ``recv`` (R30).

        The core channel's own receive (its ``zero`` is ``None``): no layer in between.
        """
        if self._dropped:
            raise self._moved()
        return self._shared.chan.recv_value()

    async def recv_many(self, buffer: list[T], limit: int) -> int:
        """Wait for at least one value, then append up to ``limit`` to ``buffer`` without
        waiting more; returns how many. 0 only when closed and drained, or ``limit == 0``
        (R19)."""
        chan = self._live().chan
        if not isinstance(buffer, list):
            raise TypeError(f"buffer must be a list, got {describe(buffer)}")
        check_int("limit", limit, minimum=0)
        if limit == 0:
            return 0
        value, ok = await chan.recv()
        if not ok:
            return 0
        buffer.append(value)
        count = 1
        while count < limit:
            status, value = chan.recv_nowait()
            if status is not OK:
                break
            buffer.append(value)
            count += 1
        return count

    def close(self) -> None:
        """Stop new sends (they fail with their value); buffered messages and outstanding
        permits can still be received (R16)."""
        self._live().close_rx("receiver closed")

    def is_closed(self) -> bool:
        """True after ``close()``, or once every sender and permit is gone (R18)."""
        shared = self._shared
        return shared.rx_closed or shared.senders == 0

    def is_empty(self) -> bool:
        return not self._shared.chan.buffer

    def __len__(self) -> int:
        """Messages queued now; unchanged by close or sender drop (R18)."""
        return len(self._shared.chan.buffer)

    def capacity(self) -> int:
        return max(0, int(self._shared.chan.free())) if self._shared.chan.capacity else 0

    def max_capacity(self) -> int:
        return self._shared.chan.capacity or 0

    def sender_strong_count(self) -> int:
        return self._shared.senders

    def sender_weak_count(self) -> int:
        return self._shared.weak


#: tokio's ``UnboundedReceiver`` has the same API as ``Receiver``.
UnboundedReceiver = Receiver


def channel(capacity: int) -> tuple[Sender[Any], Receiver[Any]]:
    """``tokio::sync::mpsc::channel(n)``: a FIFO channel of ``n >= 1`` slots (R8).

    tokio has no rendezvous channel: ``n == 0`` raises ``ValueError``, where tokio panics
    with "mpsc bounded channel requires buffer > 0" (labkit differs on purpose: a bad
    argument is a Python error). For a rendezvous use the std :func:`sync_channel` ``(0)``.
    """
    check_int("mpsc channel capacity", capacity, minimum=1)
    shared: _Shared[Any] = _new_shared(capacity, Sender, "mpsc")
    return Sender(shared), Receiver(shared)


def unbounded_channel() -> tuple[UnboundedSender[Any], Receiver[Any]]:
    """``tokio::sync::mpsc::unbounded_channel()``: no bound, ``send`` is synchronous (R21)."""
    shared: _Shared[Any] = _new_shared(None, UnboundedSender, "mpsc")
    return UnboundedSender(shared), Receiver(shared)


# -- std::sync::mpsc ---------------------------------------------------------------------


class StdSender(_SenderBase[T]):
    """``std::sync::mpsc::Sender`` (unbounded, R1): ``send`` never waits."""

    __slots__ = ()

    def send(self, value: T) -> Result[None, SendError[T]]:
        """``Ok(None)``, or ``Err(SendError(v))`` once the receiver is dropped (R1, R5)."""
        return self._send_now(value)


class SyncSender(_SenderBase[T]):
    """``std::sync::mpsc::SyncSender`` of a bounded ``sync_channel(n)`` (R2)."""

    __slots__ = ()

    @returns_coroutine
    def send(self, value: T) -> _SendResult[T]:
        """``await tx.send(v)``: wait for a slot (for a receiver, when ``n == 0``):
        ``Ok(None)`` or ``Err(SendError(v))`` once the receiver is dropped (R2, R5)."""
        if self._dropped:
            raise self._moved()
        if isinstance(value, (Owned, _ownership._NOT_SEND)):
            value = transfer(value)  # move an Owned, refuse a not-Send value (R37, R38)
        return self._shared.chan.send(value)  # type: ignore[return-value]  # a _RustChannel

    def try_send(self, value: T) -> Result[None, TrySendError[T]]:
        """``Ok(None)``, ``Err(TrySendError.Full(v))`` or ``Err(TrySendError.Disconnected(v))``
        (R2, R5). On a rendezvous channel it is ``Full`` unless a receiver is waiting."""
        return self._try_send(value, _TrySendDisconnected)


class StdReceiver(_ReceiverBase[T]):
    """``std::sync::mpsc::Receiver`` (R3-R6): ``recv`` returns a ``Result``, no ``close``."""

    __slots__ = ()

    async def recv(self) -> Result[T, RecvError]:
        """``Ok(v)``; ``Err(RecvError())`` only once every sender is gone and the buffer is
        drained (R4)."""
        if self._dropped:
            raise self._moved()
        value, ok = await self._shared.chan.recv()
        return Ok(value) if ok else Err(RecvError())

    async def recv_timeout(self, seconds: float) -> Result[T, RecvTimeoutError]:
        """Like ``recv``, giving up after ``seconds``: ``Err(RecvTimeoutError.Timeout)`` or
        ``Err(RecvTimeoutError.Disconnected)`` (R6)."""
        chan = self._live().chan
        check_seconds("seconds", seconds)
        got: tuple[Any, bool] | None = None
        with anyio.move_on_after(seconds):
            got = await chan.recv()  # cancel-safe: a value is never lost here
        if got is None:
            return Err(RecvTimeoutError.Timeout)
        value, ok = got
        return Ok(value) if ok else Err(RecvTimeoutError.Disconnected)

    def try_iter(self) -> Iterator[T]:
        """The values available now, without waiting (``rx.try_iter()``)."""
        chan = self._live().chan
        while True:
            status, value = chan.recv_nowait()
            if status is not OK:
                return
            yield value


def std_channel() -> tuple[StdSender[Any], StdReceiver[Any]]:
    """``std::sync::mpsc::channel()``: unbounded, FIFO, cloneable sender (R1)."""
    shared: _Shared[Any] = _new_shared(None, StdSender, "mpsc")
    return StdSender(shared), StdReceiver(shared)


def sync_channel(capacity: int) -> tuple[SyncSender[Any], StdReceiver[Any]]:
    """``std::sync::mpsc::sync_channel(n)``: bounded; ``n == 0`` is a rendezvous (R2)."""
    check_int("sync_channel capacity", capacity, minimum=0)
    shared: _Shared[Any] = _new_shared(capacity, SyncSender, "mpsc")
    return SyncSender(shared), StdReceiver(shared)


class std:  # named like the Rust path std::sync::mpsc
    """``mpsc.std.channel()`` and ``mpsc.std.sync_channel(n)``, spelled as in Rust."""

    channel = staticmethod(std_channel)
    sync_channel = staticmethod(sync_channel)
