"""Go channels: ``Chan``, the nil channel and direction views (G1-G19, G28, G29).

A :class:`Chan` *is* the one queue primitive, :class:`labkit.channel.Channel`, with what
makes it *Go* added on top (its ``send``, ``recv`` and ``async for`` are the core's own, so
a Go channel costs no extra layer):

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

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Final, NoReturn, TypeVar

from labkit._check import check_int, check_str, returns_coroutine
from labkit._runtime.core import Runtime, current, current_or_none, current_task
from labkit._runtime.parking import ParkingLot
from labkit._runtime.rows import EventKind
from labkit.channel import CLOSED, OK, Channel, ChannelStatistics, Status
from labkit.go._panic import Panic

__all__ = ("Chan", "ChanStatistics", "block_forever", "nil")

T = TypeVar("T")

_BOTH: Final = "both"
_SEND: Final = "send"
_RECV: Final = "recv"


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


class Chan(Channel[T]):
    """A Go channel: ``Chan(0)`` is unbuffered (G1), ``Chan(n)`` buffers n values (G2).

    ``zero`` is the element type's zero value, returned by a receive on a closed, drained
    channel (G12). Values are delivered in FIFO order (G3) to exactly one receiver (G7), and
    blocked senders are served in arrival order (G4).

    ``await ch.send(v)``, ``v, ok = await ch.recv()`` and ``async for v in ch`` are the core
    channel's operations; what is Go is :meth:`send_closed` (a panic, G13), :meth:`close`
    (panics on a second close, G14), direction views and :data:`nil`.
    """

    __slots__ = ()

    def __init__(self, cap: int = 0, *, zero: Any = None, name: str | None = None) -> None:
        check_int("go.Chan capacity", cap, minimum=0)
        if name is not None:
            check_str("name", name)
        super().__init__(cap, name=name, model="go", prefix=self._prefix(), zero=zero)
        rt = current_or_none()
        if rt is not None:
            self.name_in(rt)  # chan-1 is the first channel made in the run

    @classmethod
    def _prefix(cls) -> str:
        return "chan"

    def send_closed(self, value: T) -> Status:
        """A send on a closed channel panics, even one that was blocked when the close
        happened (G13)."""
        raise Panic("send on closed channel")

    # -- direction views (G9) -------------------------------------------------------------

    direction: str = _BOTH

    @property
    def _ch(self) -> Chan[T] | None:
        """The channel itself (a view's channel, ``None`` for nil): what ``select`` queues on."""
        return self

    def send_only(self) -> Chan[T]:
        """This channel as ``chan<- T``: receiving from it or ranging over it is refused."""
        if self.direction == _RECV:
            raise TypeError("cannot convert a receive-only channel (<-chan) to send-only "
                            "(chan<-): a direction view never widens (G9)")
        return self if self.direction == _SEND else _View(self._base(), _SEND)

    def recv_only(self) -> Chan[T]:
        """This channel as ``<-chan T``: sending to it and closing it are refused."""
        if self.direction == _SEND:
            raise TypeError("cannot convert a send-only channel (chan<-) to receive-only "
                            "(<-chan): a direction view never widens (G9)")
        return self if self.direction == _RECV else _View(self._base(), _RECV)

    def _base(self) -> Chan[T]:
        return self

    def check_can_send(self) -> None:
        """Raise ``TypeError`` if this is a receive-only view (G9)."""
        if self.direction == _RECV:
            raise TypeError("invalid operation: cannot send to receive-only channel "
                            f"{self!r} (G9)")

    def check_can_recv(self) -> None:
        """Raise ``TypeError`` if this is a send-only view (G9)."""
        if self.direction == _SEND:
            raise TypeError("invalid operation: cannot receive from send-only channel "
                            f"{self!r} (G9)")

    # -- introspection (G19, G29) ---------------------------------------------------------

    @property
    def channel(self) -> Channel[T] | None:
        """The core :class:`~labkit.channel.Channel` (``None`` for nil)."""
        return self._ch

    @property
    def is_nil(self) -> bool:
        """True for the nil channel (never ready, G17)."""
        return self._ch is None

    @property
    def cap(self) -> int:
        """Buffer capacity: 0 for unbuffered and for nil (G29, G19)."""
        return self.capacity or 0

    # ``len(ch)`` is the core's: values queued now, a racy snapshot, not a synchronisation
    # tool (G29). ``ch.closed`` is the core's flag: Go has no such query (teaching, tests).

    def statistics(self) -> ChanStatistics:
        """A snapshot of the channel (any direction view gives the same): see
        :class:`ChanStatistics`."""
        rt = current_or_none()
        if rt is not None:
            self.name_in(rt)
        return ChanStatistics(**vars(Channel.statistics(self)), nil=False)

    def __bool__(self) -> bool:
        # Without this an empty channel would be falsy (it has __len__); nil (and a view of
        # nil) is falsy.
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
        if self.direction != _BOTH:
            parts.append(f"{self.direction}-only")
        if ch.closed:
            parts.append("closed")
        return " ".join(parts) + ">"

    # -- operations -----------------------------------------------------------------------

    # send(value, *, corr_id=None), recv() and async for are the core's (labkit.channel):
    # a send waits for a receiver or a free slot (G1, G2, G5) and panics once closed (G13);
    # a receive returns (value, True), or (zero, False) once closed and drained (G6, G12);
    # ``async for`` yields values until closed and drained (G28). ``corr_id`` is labkit's,
    # not Go's: a correlation id for the send's trace row (in Go it is a message field).

    def close(self) -> None:
        """No more values will be sent (G11). Blocked receivers all wake (G15); blocked and
        later senders panic (G13). Closing twice, or closing nil, panics (G14)."""
        if self.direction == _RECV:
            raise TypeError(f"invalid operation: cannot close receive-only channel {self!r} "
                            "(G9)")
        ch = self._ch
        if ch is None:
            raise Panic("close of nil channel")
        if ch.closed:
            raise Panic("close of closed channel")
        Channel.close(ch)
        rt = current_or_none()  # a context can be cancelled outside a run
        if rt is not None and rt.trace_on:
            ch.record(rt, EventKind.CLOSE, None)

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
            return ch.zero, False
        return None


class _View(Chan[T]):
    """A direction view (``chan<- T`` or ``<-chan T``) of a channel: the same channel, with
    the forbidden operations refused (G9). Its own queue state is never used: everything
    goes to the channel it views."""

    __slots__ = ("_of", "_view_dir")

    def __init__(self, of: Chan[T], direction: str) -> None:
        self._of = of
        self._view_dir = direction
        self.zero = of.zero

    @property
    def direction(self) -> str:  # type: ignore[override]
        return self._view_dir

    @property
    def _ch(self) -> Chan[T] | None:
        return self._of._ch  # None for a view of nil

    def _base(self) -> Chan[T]:
        return self._of

    @property
    def cap(self) -> int:
        return self._of.cap

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return self._of.closed

    @property
    def capacity(self) -> int | None:  # type: ignore[override]
        return self._of.capacity

    @property
    def name(self) -> str:
        return self._of.name

    def name_in(self, rt: Runtime) -> str:
        return self._of.name_in(rt)

    def __len__(self) -> int:
        return len(self._of)

    def statistics(self) -> ChanStatistics:
        return self._of.statistics()

    async def send(self, value: T, *, corr_id: int | None = None) -> Status:
        self.check_can_send()
        return await self._of.send(value, corr_id=corr_id)

    def send_nowait(self, value: T, *, corr_id: int | None = None) -> Status:
        self.check_can_send()
        return self._of.send_nowait(value, corr_id=corr_id)

    @returns_coroutine
    def recv(self) -> Coroutine[Any, Any, tuple[T, bool]]:
        self.check_can_recv()
        return self._of.recv()

    def recv_nowait(self) -> tuple[Status, Any]:
        self.check_can_recv()
        return self._of.recv_nowait()

    def __aiter__(self) -> Chan[T]:
        self.check_can_recv()
        return self

    @returns_coroutine
    def __anext__(self) -> Coroutine[Any, Any, T]:
        self.check_can_recv()
        return self._of.__anext__()


class _Nil(Chan[Any]):
    """The nil channel: never ready (G17, G18); ``len``/``cap`` are 0 (G19)."""

    __slots__ = ()

    def __init__(self) -> None:
        Channel.__init__(self, 0, model="go", prefix="nil")

    @property
    def _ch(self) -> None:
        return None

    def statistics(self) -> ChanStatistics:
        waiting = [0, 0]  # outside a run nobody waits on nil
        rt = current_or_none()
        if rt is not None:
            waiting = [lot.statistics().tasks_waiting for lot in _nil_waiters(rt)]
        return ChanStatistics(
            name="nil", capacity=0, depth=0, peak_depth=0, reserved=0, sent=0, received=0,
            senders_waiting=waiting[0], receivers_waiting=waiting[1], closed=False, nil=True)

    async def send(self, value: Any, *, corr_id: int | None = None) -> Status:
        await block_forever("send to nil chan", _nil_waiters(current())[0])

    def send_nowait(self, value: Any, *, corr_id: int | None = None) -> Status:
        return Status.FULL  # never ready

    async def _receive(self, shape: int) -> Any:
        await block_forever("receive from nil chan", _nil_waiters(current())[1])

    def recv_nowait(self) -> tuple[Status, Any]:
        return Status.EMPTY, None


#: The nil channel: never ready for communication (G17, G18); ``len``/``cap`` are 0 (G19).
nil: Chan[Any] = _Nil()
