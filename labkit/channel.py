"""The one queue primitive that Go channels, Rust channels and actor mailboxes are built on.

A :class:`Channel` is a FIFO buffer of ``capacity`` slots (``0`` = rendezvous, ``None`` =
unbounded) with two wait queues (:class:`~labkit._runtime.parking.ParkingLot`): receivers
waiting for a value and senders waiting for a slot. A sender waiting for a slot either
carries a value (a blocked send) or asks for ``n`` slots without a value (a Rust
``reserve``). Both queues are served in arrival order (G4, R10).

Two layers of operations:

* **send / recv** (what the facades call): ``send_nowait``, ``await send``,
  ``recv_nowait``, ``v, ok = await recv()`` (Go's comma-ok; ``zero`` once closed and
  drained), ``await recv_value()`` (the value, or ``zero``), ``async for``,
  ``reserve_nowait``, ``await reserve``, ``send_reserved``. They write the trace rows (send,
  block, unblock, receive, drop); sends and reservations return a :class:`Status`. An
  operation that need not wait never yields to the event loop.
* **put / take** (no trace rows, for callers that write rows of their own, such as the actor
  mailbox and ``select``): ``put`` and ``take`` never wait; ``await put_wait`` does. A
  receiver that must wait queues itself (``add_recv_waiter``) and, cancelled, gives back
  what it was handed (``withdraw_receiver``).

The facades give the operations their meaning:

* Go (``labkit.go``): ``go.Chan`` *is* a ``Channel``: its ``send_closed`` panics, so blocked
  and later sends panic once it is closed (G13); receivers drain, then get the zero value
  (G12).
* Rust (``labkit.rust``): dropping the last sender or ``rx.close()`` closes; failed sends hand
  the value back (R5, R9). Reservations are slots held by a ``Permit`` (R13, R14).
* Actors (``labkit.actor``): overflow policies evict the head or tail of the buffer.

Select support: several waiters on several channels may share one wake-up slot (one
``select``). The first channel to wake it claims the select; the others find it no longer
pending and skip it, and the selecting task withdraws its leftover waiters as soon as it
resumes (G25, G26).

Where speed shaped this file: ``send``, ``put`` and the receive do their no-wait case in
their own frame (one append and one trace row); a blocked ``send`` and a waiting receive
write out ``ParkingLot.park``'s three steps so that one frame fewer stays parked; ``recv``,
``recv_value`` and ``async for`` are plain functions over one coroutine, so a receive costs
one coroutine frame; the buffer and wait queues are made on first use (an idle actor's
mailbox needs neither; an empty deque costs ~760 bytes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Generic, TypeVar

from labkit._check import check_int, returns_coroutine
from labkit._runtime.core import RUNTIME, TASK, Parker, Runtime, current, unblocked
from labkit._runtime.parking import ParkingLot, Waiter
from labkit._runtime.rows import EventKind

__all__ = (
    "CLOSED",
    "EMPTY",
    "FULL",
    "OK",
    "Channel",
    "ChannelStatistics",
    "Status",
    "check_capacity",
)

T = TypeVar("T")


class Status(IntEnum):
    """What an operation did."""

    OK = 0       #: done
    FULL = 1     #: no room now (nothing was done)
    EMPTY = 2    #: nothing to take now
    CLOSED = 3   #: the channel is closed (and, for a receive, drained)


OK = Status.OK
FULL = Status.FULL
EMPTY = Status.EMPTY
CLOSED = Status.CLOSED

_SEND = EventKind.SEND
_RECEIVE = EventKind.RECEIVE

# What a receive returns (Channel._receive): (value, ok); the value, or StopAsyncIteration
# once closed; the value, or ``zero`` once closed.
_PAIR, _NEXT, _VALUE = 0, 1, 2


def check_capacity(capacity: object, *, minimum: int = 0, what: str = "capacity") -> int:
    """Validate a channel capacity: an ``int`` of at least ``minimum`` (bools refused)."""
    return check_int(what, capacity, minimum=minimum)


#: Shared by every channel whose buffer was never used. It holds nothing (``maxlen=0``):
#: every append goes through ``_buffer()`` or checks for it first.
_NO_BUFFER: deque[Any] = deque(maxlen=0)

#: Shared by every channel with nobody waiting on that side: ``_receivers()`` and
#: ``_senders()`` give the channel a lot of its own before anyone is added.
_NO_WAITERS = ParkingLot()


@dataclass(frozen=True)
class ChannelStatistics:
    """A snapshot of one channel (trio's ``MemoryChannelStatistics`` in spirit).

    The field names are labkit's one scheme for every ``statistics()`` record: ``depth``
    and ``peak_depth`` for what is queued, ``senders_waiting`` / ``receivers_waiting`` (or
    ``tasks_waiting``) for parked tasks, ``sent`` / ``received`` for totals, ``closed``.
    """

    name: str
    capacity: int | None
    depth: int
    peak_depth: int
    reserved: int
    sent: int
    received: int
    senders_waiting: int
    receivers_waiting: int
    closed: bool


class Channel(Generic[T]):
    """A FIFO queue with ``capacity`` slots (0: rendezvous, ``None``: unbounded)."""

    __slots__ = (
        "_name",
        "_name_prefix",
        "buffer",
        "capacity",
        "closed",
        "model",
        "peak",
        "received",
        "receivers",
        "reserved",
        "senders",
        "sent",
        "zero",
    )

    def __init__(self, capacity: int | None, *, name: str | None = None,
                 model: str | None = None, prefix: str = "chan", zero: Any = None) -> None:
        if capacity is not None:
            check_capacity(capacity)
        self.capacity = capacity
        self.buffer: deque[tuple[int, T]] = _NO_BUFFER
        self.receivers: ParkingLot = _NO_WAITERS
        self.senders: ParkingLot = _NO_WAITERS
        self.closed = False
        self.reserved = 0
        self.model = model
        self.peak = 0
        self.sent = 0
        self.received = 0
        self._name = name
        self._name_prefix = prefix
        #: What a receive gets once the channel is closed and drained (Go's zero value).
        self.zero = zero

    # -- identity and introspection -------------------------------------------------------

    def name_in(self, rt: Runtime) -> str:
        """The channel's name in traces (given, or ``chan-N`` numbered per run)."""
        name = self._name
        if name is None:
            name = self._name = rt.new_name(self._name_prefix)
        return name

    def rename(self, name: str) -> None:
        """Name the channel (an actor's mailbox takes the actor's name)."""
        self._name = name

    @property
    def name(self) -> str:
        return self._name or f"<unnamed {self._name_prefix}>"

    def __len__(self) -> int:
        return len(self.buffer)

    def free(self) -> int | float:
        """Slots a new value or reservation could take now."""
        if self.capacity is None:
            return float("inf")
        return self.capacity - len(self.buffer) - self.reserved

    def statistics(self) -> ChannelStatistics:
        return ChannelStatistics(
            name=self.name, capacity=self.capacity, depth=len(self.buffer),
            peak_depth=self.peak, reserved=self.reserved, sent=self.sent,
            received=self.received,
            senders_waiting=self.senders.statistics().tasks_waiting,
            receivers_waiting=self.receivers.statistics().tasks_waiting,
            closed=self.closed)

    def record(self, rt: Runtime, kind: EventKind, msg_id: int | None, value: Any = None,
               detail: str | None = None, corr_id: int | None = None) -> None:
        """Write a trace row about this channel, acted on by the current task (callers
        check ``rt.trace_on``). A ``send`` given a ``corr_id`` lends it to the message's
        later rows (block, unblock, receive), so one filter follows the message."""
        if corr_id is not None:
            if kind is _SEND and msg_id is not None:
                rt.corr_ids[msg_id] = corr_id
        elif rt.corr_ids:
            corr_id = rt.corr_of(kind, msg_id)
        rt.record(kind, TASK.get().name, self._name or self.name_in(rt), msg_id, corr_id,
                  None if value is None else type(value).__name__, len(self.buffer),
                  self.model, detail)

    # -- readiness (for select) ------------------------------------------------------------

    def ready_recv(self) -> bool:
        """Would a receive complete now (a value, a waiting sender, or closed and drained)?"""
        if self.buffer:
            return True
        if self.capacity == 0:  # a waiting sender hands over directly only at rendezvous
            for w in self.senders.pending():
                if w.weight == 0:
                    return True
        return self.closed and self.reserved == 0

    def ready_send(self) -> bool:
        """Would a send complete (or fail because closed) now without waiting?"""
        if self.closed or self.receivers.first() is not None:
            return True
        return self.senders.first() is None and self.free() > 0

    # -- put / take: no trace rows ---------------------------------------------------------

    def put(self, value: T, msg_id: int) -> Status:
        """Put ``value`` in without waiting: ``OK`` (handed to a receiver or buffered),
        ``FULL`` (no free slot, or senders queued first, R10) or ``CLOSED``."""
        buffer = self.buffer
        capacity = self.capacity
        if ((buffer or (buffer is not _NO_BUFFER and not self.receivers.waiters))
                and not self.senders.waiters and not self.closed
                and (capacity is None or len(buffer) + self.reserved < capacity)):
            # The commonest case (an actor's tell), in this frame: a free slot, nobody
            # queued first, and no receiver waiting (a send hands over before it buffers,
            # so a non-empty buffer means none waits).
            buffer.append((msg_id, value))
            self.sent += 1
            if len(buffer) > self.peak:
                self.peak = len(buffer)
            return OK
        if self.closed:
            return CLOSED
        if self._hand_over(value, msg_id):
            return OK
        if self.free() > 0 and self.senders.first() is None:
            self._append(msg_id, value)
            return OK
        return FULL

    async def put_wait(self, value: T, msg_id: int, what: object, *,
                       woken: Callable[[Status], None] | None = None) -> Status:
        """Wait in the senders' queue until ``value`` is taken in (``OK``) or the channel
        closes (``CLOSED``). Call after :meth:`put` returned ``FULL``. Cancelled while it
        waits, the value was not sent (tokio's ``send`` is not cancel-safe, R11), unless it
        had just been taken in as the cancellation landed: then ``woken(OK)`` is called
        before the cancellation propagates, so the caller knows the value is in."""
        status: Status = await self._senders().park(what, value=value, msg_id=msg_id,
                                                    refund=woken)
        return status

    def take(self) -> tuple[Status, Any, int]:
        """Take a value without waiting: ``(OK, value, msg_id)``, ``(EMPTY, None, 0)`` or
        ``(CLOSED, None, 0)`` (closed, drained and no permit outstanding)."""
        buffer = self.buffer
        if buffer:
            msg_id, value = buffer.popleft()
            self.received += 1
            if self.senders.waiters:
                self._admit()
            return OK, value, msg_id
        # Direct hand-over from a waiting sender only at rendezvous: on a buffered channel
        # an empty buffer with senders waiting means every slot is held by a permit, and
        # the permits' values must come first (R10, R13).
        if self.capacity == 0:
            senders = self.senders
            w = senders.first()
            if w is not None and w.weight == 0:  # a reservation needs a slot, not a taker
                senders.pop()
                w.parker.wake((w.case, OK))
                self.sent += 1
                self.received += 1
                return OK, w.value, w.msg_id
        if self.closed and self.reserved == 0:
            return CLOSED, None, 0
        return EMPTY, None, 0

    def _refund(self, got: Any) -> None:
        if isinstance(got, tuple):  # (value, msg_id); not CLOSED nor a system wake-up
            self.give_back(got[0], got[1])

    # -- send: with trace rows -------------------------------------------------------------

    def send_nowait(self, value: T, *, corr_id: int | None = None) -> Status:
        """Send now or not at all: ``OK``, ``FULL`` or ``CLOSED``."""
        rt = current()
        msg_id = rt.next_msg_id()
        status = self.put(value, msg_id)
        if status is OK and rt.trace_on:
            self.record(rt, _SEND, msg_id, value, corr_id=corr_id)
        return status

    async def send(self, value: T, *, corr_id: int | None = None) -> Status:
        """Send, waiting for a slot or a receiver: ``OK``, or what :meth:`send_closed`
        says once the channel is closed (``CLOSED``).

        Cancelled while waiting, the value was not sent, and the trace says it was lost
        (tokio's ``send`` is not cancel-safe, R11).
        """
        rt = RUNTIME.get() or current()  # current() raises NotInRunError, explained
        msg_id = next(rt.msg_ids)
        buffer = self.buffer
        capacity = self.capacity
        if ((buffer or (buffer is not _NO_BUFFER and not self.receivers.waiters))
                and not self.senders.waiters and not self.closed
                and (capacity is None or len(buffer) + self.reserved < capacity)):
            # put()'s commonest case, repeated in this frame on purpose: a call here costs
            # ~7% of a one-way stream. A free slot, nobody queued first, no receiver
            # waiting.
            buffer.append((msg_id, value))
            self.sent += 1
            if len(buffer) > self.peak:
                self.peak = len(buffer)
            if rt.trace_on:
                # Channel.record, inlined: the hottest row of all.
                if corr_id is not None:
                    rt.corr_ids[msg_id] = corr_id
                rt.record(_SEND, TASK.get().name, self._name or self.name_in(rt), msg_id,
                          corr_id, None if value is None else type(value).__name__,
                          len(buffer), self.model, None)
            return self.sent_result
        status = self.put(value, msg_id)
        if status is OK:
            if rt.trace_on:
                self.record(rt, _SEND, msg_id, value, corr_id=corr_id)
            return self.sent_result
        if status is CLOSED:
            return self.send_closed(value)
        if rt.trace_on:
            self.record(rt, _SEND, msg_id, value, corr_id=corr_id)
            self.record(rt, EventKind.BLOCK, msg_id, value, detail="full", corr_id=corr_id)
        # put_wait's steps (ParkingLot.join, wait, leave), here: a blocked sender keeps one
        # frame fewer parked, and a simulation with a small buffer blocks often.
        lot = self._senders()
        parker = lot.join(("send to", self), value=value, msg_id=msg_id)
        try:
            _case, status = await parker.wait()
            unblocked(TASK.get())
        except BaseException:
            lot.leave(parker)
            # Woken with a slot just as the cancellation landed: the value went in and will
            # be received; only a send that never got in is lost.
            delivered = parker.woken and parker.result()[1] is OK
            if rt.trace_on and not delivered:
                rt.corr_ids.pop(msg_id, None)
                self.record(rt, EventKind.DROP, msg_id, value,
                            detail="send cancelled while waiting", corr_id=corr_id)
            raise
        if rt.trace_on:
            self.record(rt, EventKind.UNBLOCK, msg_id, value, corr_id=corr_id)
        return self.sent_result if status is OK else self.send_closed(value)

    #: What a completed ``send`` returns: ``OK``. A facade subclass gives it its model's
    #: meaning (a Rust channel's ``send`` returns ``Ok(None)``, R9).
    sent_result: ClassVar[Status] = OK

    def send_closed(self, value: T) -> Status:
        """What ``send`` does when the channel is closed: return ``CLOSED``. A facade
        subclass gives it its model's meaning (Go panics, G13; Rust hands the value back in
        ``Err(SendError(value))``, R9)."""
        return CLOSED

    # -- reservations (Rust permits) --------------------------------------------------------

    def reserve_nowait(self, slots: int = 1) -> Status:
        """Take ``slots`` free slots now: ``OK``, ``FULL`` or ``CLOSED`` (R13)."""
        if self.closed:
            return CLOSED
        if self.senders.first() is not None or self.free() < slots:
            return FULL
        self.reserved += slots
        return OK

    async def reserve(self, slots: int = 1) -> Status:
        """Wait for ``slots`` slots, in FIFO order with blocked sends: ``OK`` or ``CLOSED``."""
        now = self.reserve_nowait(slots)
        if now is not FULL:
            return now
        rt = current()
        if rt.trace_on:
            self.record(rt, EventKind.BLOCK, None, detail=f"reserve {slots}")
        status: Status = await self._senders().park(
            ("reserve on", self), weight=slots, reserve=self._admit,
            refund=lambda got: self.release(slots) if got is OK else None)
        if rt.trace_on:
            self.record(rt, EventKind.UNBLOCK, None)
        return status

    def release(self, slots: int = 1) -> None:
        """Give back reserved slots unused (a dropped ``Permit``, R13)."""
        self.reserved -= slots
        self._admit()
        self._wake_receivers_if_finished()

    def send_reserved(self, value: T, *, corr_id: int | None = None) -> None:
        """Use one reserved slot for ``value``. Cannot fail (``permit.send``, R13)."""
        rt = current()
        msg_id = rt.next_msg_id()
        self.reserved -= 1
        self.force_put(value, msg_id)
        if self.senders.waiters:  # handed straight to a receiver: the slot is free for a waiter
            self._admit()
        if rt.trace_on:
            self.record(rt, _SEND, msg_id, value, corr_id=corr_id)

    def force_put(self, value: T, msg_id: int) -> None:
        """Put ``value`` in past the capacity check: into a slot its caller already holds
        (a permit's, or one an actor's overflow policy just freed by eviction)."""
        if not self._hand_over(value, msg_id):
            self._append(msg_id, value)

    # -- recv: with trace rows -------------------------------------------------------------

    def recv_nowait(self) -> tuple[Status, Any]:
        """Receive now or not at all: ``(OK, value)``, ``(EMPTY, None)`` or
        ``(CLOSED, None)``."""
        status, value, msg_id = self.take()
        if status is OK:
            rt = current()
            if rt.trace_on:
                self.record(rt, _RECEIVE, msg_id, value)
        return status, value

    @returns_coroutine
    def recv(self) -> Coroutine[Any, Any, tuple[T, bool]]:
        """``await ch.recv()``: wait for a value: ``(value, True)``, or ``(zero, False)``
        once the channel is closed and drained (Go's ``v, ok := <-ch``, G6, G12).

        Cancel-safe: a value handed over just as the wait is cancelled goes back to the
        front of the queue (R15, R30).
        """
        return self._receive(_PAIR)

    @returns_coroutine
    def recv_value(self) -> Coroutine[Any, Any, Any]:
        """``await ch.recv_value()``: the next value, or ``zero`` once the channel is
        closed and drained (tokio's ``recv() -> Option<T>``, with ``zero`` ``None``, R15)."""
        return self._receive(_VALUE)

    def __aiter__(self) -> Channel[T]:
        return self

    @returns_coroutine
    def __anext__(self) -> Coroutine[Any, Any, T]:
        """``async for v in ch``: the values until the channel is closed and drained."""
        return self._receive(_NEXT)

    async def _receive(self, shape: int) -> Any:
        # One coroutine for recv(), recv_value() and iteration, which differ only in the
        # shape of what they return (``shape``): they are plain functions whose caller
        # awaits this directly, so a receive costs one coroutine frame, not two.
        buffer = self.buffer
        if buffer and not self.senders.waiters:
            # The commonest case, in this frame: take the head; nobody waits for its slot.
            msg_id, value = buffer.popleft()
            self.received += 1
            rt = RUNTIME.get() or current()
            if rt.trace_on:
                # Channel.record, inlined: the hottest row of all.
                rt.record(_RECEIVE, TASK.get().name, self._name or self.name_in(rt), msg_id,
                          rt.corr_ids.pop(msg_id, None) if rt.corr_ids else None,
                          None if value is None else type(value).__name__, len(buffer),
                          self.model, None)
            return (value, True) if shape is _PAIR else value
        rt = RUNTIME.get() or current()
        status, value, msg_id = self.take()
        if status is EMPTY:
            # ParkingLot.park's three steps, here: an idle receiver (a goroutine ranging
            # over its channel, an actor-like task) keeps one frame fewer parked.
            lot = self._receivers()
            parker = lot.join(("receive from", self))
            try:
                _case, got = await parker.wait()
                unblocked(TASK.get())
            except BaseException:
                lot.leave(parker, refund=self._refund)
                raise
            if got is CLOSED:
                status = CLOSED
            else:
                value, msg_id = got
                status = OK
        if status is CLOSED:
            if shape is _NEXT:
                raise StopAsyncIteration
            return (self.zero, False) if shape is _PAIR else self.zero
        if rt.trace_on:
            self.record(rt, _RECEIVE, msg_id, value)
        return (value, True) if shape is _PAIR else value

    def give_back(self, value: T, msg_id: int) -> None:
        """Return a value taken by a receiver that was cancelled before it could use it."""
        self.received -= 1
        self.sent -= 1
        if self._hand_over(value, msg_id):
            return
        self._buffer().appendleft((msg_id, value))
        self.sent += 1

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """No more sends: waiting senders and reservations get ``CLOSED``; receivers drain
        what is buffered, then get ``CLOSED`` (once no permit is outstanding)."""
        if self.closed:
            return
        self.closed = True
        self.senders.unpark_all(CLOSED)
        self._wake_receivers_if_finished()

    def drain(self) -> list[tuple[int, T]]:
        """Remove and return everything buffered, as ``(msg_id, value)`` (a dropped Rust
        receiver, R17)."""
        items = list(self.buffer)
        self.buffer.clear()
        self._admit()
        return items

    def evict_head(self) -> tuple[int, T]:
        """Remove and return the oldest buffered item (mailbox ``drop_head``)."""
        return self.buffer.popleft()

    def evict_tail(self) -> tuple[int, T]:
        """Remove and return the newest buffered item (mailbox ``drop_tail``)."""
        return self.buffer.pop()

    # -- select support --------------------------------------------------------------------

    def add_recv_waiter(self, parker: Parker, case: int) -> None:
        """Queue ``parker`` as receiver ``case`` (a select waits on it itself)."""
        self._receivers().add(Waiter(parker, case))

    def add_send_waiter(self, parker: Parker, case: int, value: T, msg_id: int) -> None:
        """Queue ``parker`` as a sender of ``value`` for ``case``."""
        self._senders().add(Waiter(parker, case, value, msg_id))

    def remove_waiters(self, parker: Parker) -> None:
        """Withdraw every waiter of ``parker`` (a finished select's losing cases, G26)."""
        self.receivers.remove(parker)
        self.senders.remove(parker)

    def withdraw_receiver(self, parker: Parker) -> None:
        """A receiver waiting on ``parker`` was cancelled (or lost its select): a value
        handed to it goes back to the front of the queue; else its waiter is withdrawn."""
        if parker.woken:
            self._refund(parker.result()[1])
        else:
            self.receivers.remove(parker)

    # -- internals -------------------------------------------------------------------------

    def _buffer(self) -> deque[tuple[int, T]]:
        buffer = self.buffer
        if buffer is _NO_BUFFER:
            buffer = self.buffer = deque()
        return buffer

    def _receivers(self) -> ParkingLot:
        lot = self.receivers
        if lot is _NO_WAITERS:
            lot = self.receivers = ParkingLot()
        return lot

    def _senders(self) -> ParkingLot:
        lot = self.senders
        if lot is _NO_WAITERS:
            lot = self.senders = ParkingLot()
        return lot

    def _append(self, msg_id: int, value: T) -> None:
        buffer = self._buffer()
        buffer.append((msg_id, value))
        self.sent += 1
        if len(buffer) > self.peak:
            self.peak = len(buffer)

    def _hand_over(self, value: T, msg_id: int) -> bool:
        """Give ``value`` to the first receiver still waiting (skipping gone ones)."""
        if self.receivers.waiters and self.receivers.unpark((value, msg_id)) is not None:
            self.sent += 1
            self.received += 1
            return True
        return False

    def _admit(self) -> None:
        """Move waiting senders into free slots, in arrival order (G4, R10): a value
        waiter takes one slot, a reservation its ``weight``; a reservation that does not
        fit holds back those behind it (fairness)."""
        senders = self.senders
        while senders.waiters and self.free() > 0:
            w = senders.first()
            if w is None:
                return
            if w.weight:
                if self.free() < w.weight:
                    return
                senders.pop()
                if w.parker.wake((w.case, OK)):
                    self.reserved += w.weight
                continue
            senders.pop()
            if w.parker.wake((w.case, OK)):
                self._append(w.msg_id, w.value)

    def _wake_receivers_if_finished(self) -> None:
        if self.closed and not self.buffer and self.reserved == 0:
            self.receivers.unpark_all(CLOSED)
