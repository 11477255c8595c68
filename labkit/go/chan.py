"""Go channels: ``Chan``, the nil channel and direction views (G1-G19, G28, G29).

A :class:`Chan` is a thin facade over :class:`labkit.channel.Channel`, the one queue
primitive: the facade adds what makes it *Go*:

* ``close()`` is explicit; a send on a closed channel panics, even a send that was already
  blocked when the close happened (G13); closing twice or closing nil panics (G14);
* a receive drains what is buffered, then returns ``(zero, False)`` forever (G12);
* the nil channel :data:`nil` is never ready: sending to it or receiving from it blocks
  forever (G17), and ``len``/``cap`` are 0 (G19);
* ``send_only()``/``recv_only()`` are direction views; the forbidden operations raise
  ``TypeError``, the run-time form of Go's compile error (G9).

Example::

    ch = go.Chan(3)
    await ch.send(1)
    v, ok = await ch.recv()     # (1, True)
    ch.close()
    v, ok = await ch.recv()     # (None, False): the zero value, closed and drained
    ch.statistics()             # ChanStatistics(name='chan-1', capacity=3, depth=0, ...)

Go has no ``statistics()``: like ``len``, it is labkit's window for teaching and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Generic, NoReturn, TypeVar

from labkit._check import check_int, check_str
from labkit._runtime.core import Runtime, current, current_or_none, current_task
from labkit._runtime.parking import ParkingLot
from labkit._runtime.rows import EventKind
from labkit.channel import CLOSED, OK, Channel, ChannelStatistics
from labkit.go._panic import Panic

__all__ = ("Chan", "ChanStatistics", "nil")

T = TypeVar("T")

BOTH: Final = "both"
SEND: Final = "send"
RECV: Final = "recv"


@dataclass(frozen=True)
class ChanStatistics(ChannelStatistics):
    """A snapshot of a :class:`Chan`: the core channel's record (``depth``, ``peak_depth``,
    ``sent``, ``received``, ``senders_waiting``, ``receivers_waiting``, ``closed``; Go
    channels never hold ``reserved`` slots) and ``nil``, true for the nil channel, whose
    waiters are the goroutines of this run blocked on it for ever (G17)."""

    nil: bool


def _nil_waiters(rt: Runtime) -> tuple[ParkingLot, ParkingLot]:
    """The goroutines of this run blocked for ever on nil: ``(senders, receivers)``. Kept
    per run (``nil`` itself is shared by every run) and never woken: only counted."""
    lots = rt.extras.get("go.nil")
    if lots is None:
        lots = rt.extras["go.nil"] = (ParkingLot(), ParkingLot())
    return lots


async def block_forever(what: str, lot: ParkingLot | None = None) -> NoReturn:
    """Wait in ``lot`` (a fresh one if none) where nobody will ever wake us (nil channels,
    ``select()``, G17).

    In ``labkit.simulate`` a program whose every goroutine waits like this ends with
    :class:`labkit.Deadlock` (G33).
    """
    rt = current()
    rt.record(EventKind.BLOCK, actor=current_task().name, model="go", detail=what)
    await (ParkingLot() if lot is None else lot).park(what)
    raise AssertionError("unreachable: a nil-channel wait was woken")  # pragma: no cover


class Chan(Generic[T]):
    """A Go channel: ``Chan(0)`` is unbuffered (G1), ``Chan(n)`` buffers n values (G2).

    ``zero`` is the element type's zero value, returned by a receive on a closed, drained
    channel (G12). Values are delivered in FIFO order (G3) to exactly one receiver (G7), and
    blocked senders are served in arrival order (G4).
    """

    __slots__ = ("_ch", "_dir", "zero")

    _ch: Channel[T] | None
    _dir: str
    zero: Any

    def __init__(self, cap: int = 0, *, zero: Any = None, name: str | None = None) -> None:
        check_int("go.Chan capacity", cap, minimum=0)
        if name is not None:
            check_str("name", name)
        self._ch = Channel(cap, name=name, model="go", prefix=self._prefix())
        self._dir = BOTH
        self.zero = zero
        rt = current_or_none()
        if rt is not None:
            self._ch.name_in(rt)  # chan-1 is the first channel made in the run

    @classmethod
    def _prefix(cls) -> str:
        return "chan"

    @classmethod
    def _make_nil(cls) -> Chan[Any]:
        nil_chan: Chan[Any] = cls.__new__(cls)
        nil_chan._ch = None
        nil_chan._dir = BOTH
        nil_chan.zero = None
        return nil_chan

    def _view(self, direction: str) -> Chan[T]:
        view: Chan[T] = type(self).__new__(type(self))
        view._ch = self._ch
        view._dir = direction
        view.zero = self.zero
        return view

    # -- direction views (G9) -------------------------------------------------------------

    def send_only(self) -> Chan[T]:
        """This channel as ``chan<- T``: receiving from it or ranging over it is refused."""
        if self._dir == RECV:
            raise TypeError("cannot convert a receive-only channel (<-chan) to send-only "
                            "(chan<-): a direction view never widens (G9)")
        return self if self._dir == SEND else self._view(SEND)

    def recv_only(self) -> Chan[T]:
        """This channel as ``<-chan T``: sending to it and closing it are refused."""
        if self._dir == SEND:
            raise TypeError("cannot convert a send-only channel (chan<-) to receive-only "
                            "(<-chan): a direction view never widens (G9)")
        return self if self._dir == RECV else self._view(RECV)

    def check_can_send(self) -> None:
        """Raise ``TypeError`` if this is a receive-only view (G9)."""
        if self._dir == RECV:
            raise TypeError("invalid operation: cannot send to receive-only channel "
                            f"{self!r} (G9)")

    def check_can_recv(self) -> None:
        """Raise ``TypeError`` if this is a send-only view (G9)."""
        if self._dir == SEND:
            raise TypeError("invalid operation: cannot receive from send-only channel "
                            f"{self!r} (G9)")

    # -- introspection (G19, G29) ---------------------------------------------------------

    @property
    def channel(self) -> Channel[T] | None:
        """The underlying core :class:`~labkit.channel.Channel` (``None`` for nil)."""
        return self._ch

    @property
    def is_nil(self) -> bool:
        """True for the nil channel (never ready, G17)."""
        return self._ch is None

    @property
    def cap(self) -> int:
        """Buffer capacity: 0 for unbuffered and for nil (G29, G19)."""
        ch = self._ch
        return 0 if ch is None or ch.capacity is None else ch.capacity

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called. Go has no such query: for teaching and tests only."""
        return self._ch is not None and self._ch.closed

    def __len__(self) -> int:
        """Values queued in the buffer now: a racy snapshot, not a synchronisation tool (G29)."""
        return 0 if self._ch is None else len(self._ch.buffer)

    def statistics(self) -> ChanStatistics:
        """A snapshot of the channel (any direction view gives the same): see
        :class:`ChanStatistics`."""
        ch = self._ch
        rt = current_or_none()
        if ch is not None:
            if rt is not None:
                ch.name_in(rt)
            return ChanStatistics(**vars(ch.statistics()), nil=False)
        waiting = [0, 0]  # outside a run nobody waits on nil
        if rt is not None:
            waiting = [lot.statistics().tasks_waiting for lot in _nil_waiters(rt)]
        return ChanStatistics(
            name="nil", capacity=0, depth=0, peak_depth=0, reserved=0, sent=0, received=0,
            senders_waiting=waiting[0], receivers_waiting=waiting[1], closed=False, nil=True)

    def __bool__(self) -> bool:
        # Without this an empty channel would be falsy (it has __len__); nil is falsy as None.
        return self._ch is not None

    def __eq__(self, other: object) -> bool:
        # A direction view is the same channel, as in Go, where a conversion compares equal.
        return isinstance(other, Chan) and other._ch is self._ch

    def __hash__(self) -> int:
        return id(self._ch)

    def __repr__(self) -> str:
        ch = self._ch
        if ch is None:
            return "go.nil"
        parts = ["<go.Chan"]
        if not ch.name.startswith("<"):  # named once used in a run
            parts.append(ch.name)
        parts.append(f"cap={self.cap} len={len(self)}")
        if self._dir != BOTH:
            parts.append(f"{self._dir}-only")
        if ch.closed:
            parts.append("closed")
        return " ".join(parts) + ">"

    # -- operations -----------------------------------------------------------------------

    async def send(self, value: T, *, corr_id: int | None = None) -> None:
        """Send ``value``, waiting for a receiver or a free slot (G1, G2, G5).

        Panics with ``send on closed channel`` if the channel is closed, or gets closed
        while this send waits (G13). On nil it blocks forever (G17).

        ``corr_id`` is labkit's, not Go's: a correlation id written on this send's trace
        row, so a scenario can tie the send to the routing decision that caused it (in Go
        a correlation id is a field of the message).
        """
        if self._dir == RECV:  # a cheap test first: it runs on every send
            self.check_can_send()
        ch = self._ch
        if ch is None:
            await block_forever("send to nil chan", _nil_waiters(current())[0])
        if await ch.send(value, corr_id=corr_id) is CLOSED:
            raise Panic("send on closed channel")

    async def recv(self) -> tuple[T, bool]:
        """Receive: ``(value, True)``, or ``(zero, False)`` once closed and drained (G6, G12).

        On nil it blocks forever (G17).
        """
        self.check_can_recv()
        ch = self._ch
        if ch is None:
            await block_forever("receive from nil chan", _nil_waiters(current())[1])
        status, value = await ch.recv()
        if status is CLOSED:
            return self.zero, False
        return value, True

    def close(self) -> None:
        """No more values will be sent (G11). Blocked receivers all wake (G15); blocked and
        later senders panic (G13). Closing twice, or closing nil, panics (G14)."""
        if self._dir == RECV:
            raise TypeError(f"invalid operation: cannot close receive-only channel {self!r} "
                            "(G9)")
        ch = self._ch
        if ch is None:
            raise Panic("close of nil channel")
        if ch.closed:
            raise Panic("close of closed channel")
        ch.close()
        rt = current_or_none()  # a context can be cancelled outside a run
        if rt is not None and rt.trace_on:
            ch.record(rt, EventKind.CLOSE, None)

    def __aiter__(self) -> Chan[T]:
        """``async for v in ch``: values until closed and drained (G28); nil blocks (G19)."""
        self.check_can_recv()
        return self

    async def __anext__(self) -> T:
        # ``recv`` again, inline: ``async for`` runs this once per value, and awaiting
        # ``self.recv()`` here would cost a coroutine frame each (~7% of a one-way stream).
        if self._dir == SEND:
            self.check_can_recv()
        ch = self._ch
        if ch is None:
            await block_forever("receive from nil chan", _nil_waiters(current())[1])
        status, value = await ch.recv()
        if status is CLOSED:
            raise StopAsyncIteration
        return value  # type: ignore[no-any-return]

    # -- non-blocking forms, used by select, errgroup and timers ---------------------------

    def _try_send(self, value: T) -> bool:
        """Send now or return False (``select`` with a default). Panics if closed (G13)."""
        ch = self._ch
        if ch is None:
            return False
        status = ch.send_nowait(value)
        if status is CLOSED:
            raise Panic("send on closed channel")
        return status is OK

    def _try_recv(self) -> tuple[T, bool] | None:
        """Receive now: ``(value, ok)``, or ``None`` if that would block."""
        ch = self._ch
        if ch is None:
            return None
        status, value = ch.recv_nowait()
        if status is OK:
            return value, True
        if status is CLOSED:
            return self.zero, False
        return None


#: The nil channel: never ready for communication (G17, G18); ``len``/``cap`` are 0 (G19).
nil: Chan[Any] = Chan._make_nil()
