"""The one queue primitive that Go channels, Rust channels and actor mailboxes are built on.

A :class:`Channel` is a FIFO buffer of ``capacity`` slots (``0`` = rendezvous, ``None`` =
unbounded) with two wait queues: receivers waiting for a value and senders waiting for a
slot. A sender waiting for a slot either carries a value (a blocked send) or asks for ``n``
slots without a value (a Rust ``reserve``). Both queues are served in arrival order (G4,
R10). Operations that need not wait never yield to the event loop, so a buffered send costs
no more than an ``append`` plus a trace row.

The facades give the operations their meaning:

* Go (``labkit.go``): ``close()`` makes blocked and later sends panic (G13) and lets receivers
  drain, then get the zero value (G12).
* Rust (``labkit.rust``): dropping the last sender or ``rx.close()`` closes; failed sends hand
  the value back (R5, R9). Reservations are slots held by a ``Permit`` (R13, R14).
* Actors (``labkit.actor``): overflow policies evict the head or tail of the buffer.

Select support: a waiter belongs to a :class:`~labkit._runtime.core.Parker`; several waiters
on several channels may share one parker (one ``select``). The first channel to wake it
claims the select; the others find the parker no longer pending and skip it, and the
selecting task removes its leftover waiters as soon as it resumes (G25, G26).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import anyio

from labkit._runtime.core import _RUNTIME, _TASK, Parker, Runtime, blocking, current, unblocked

__all__ = (
    "CLOSED",
    "EMPTY",
    "FULL",
    "OK",
    "Channel",
    "ChannelStatistics",
    "check_capacity",
)

T = TypeVar("T")

#: Operation statuses.
OK: Final = 0
FULL: Final = 1
EMPTY: Final = 2
CLOSED: Final = 3


def check_capacity(capacity: object, *, minimum: int = 0, what: str = "capacity") -> int:
    """Validate a channel capacity: an ``int`` of at least ``minimum`` (bools refused)."""
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise TypeError(f"{what} must be an int, got {type(capacity).__name__} {capacity!r}")
    if capacity < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {capacity}")
    return capacity


class _WaitQueue(list["_Waiter"]):
    """A FIFO of waiters. A list, not a deque: wait queues are short, and an empty deque
    costs ~760 bytes where a list of one waiter costs ~90 (an idle actor has one)."""

    __slots__ = ()

    def popleft(self) -> _Waiter:
        return self.pop(0)


class _Waiter:
    """One entry in a wait queue: a parked task, the select case it stands for, and, for a
    blocked sender, the value (or, for a reservation, the number of slots) it waits with."""

    __slots__ = ("case", "msg_id", "parker", "slots", "value")

    def __init__(self, parker: Parker, case: int, value: Any = None, msg_id: int = 0,
                 slots: int = 0) -> None:
        self.parker = parker
        self.case = case
        self.value = value
        self.msg_id = msg_id
        self.slots = slots  # > 0: a reservation of that many slots, no value


#: Shared by every channel whose buffer was never used. It holds nothing (``maxlen=0``):
#: every append goes through ``_buffer()`` or checks for it first.
_NO_BUFFER: deque[Any] = deque(maxlen=0)

#: Shared by every channel with nobody waiting: ``_queue_sender``/``_queue_receiver``
#: replace it with a queue of the channel's own before appending.
_NO_WAITERS = _WaitQueue()


@dataclass(frozen=True)
class ChannelStatistics:
    """A snapshot of one channel (trio's ``MemoryChannelStatistics`` in spirit)."""

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
        "_prefix",
        "buffer",
        "capacity",
        "closed",
        "model",
        "peak",
        "received",
        "recvq",
        "reserved",
        "sendq",
        "sent",
    )

    def __init__(self, capacity: int | None, *, name: str | None = None,
                 model: str | None = None, prefix: str = "chan") -> None:
        if capacity is not None:
            check_capacity(capacity)
        self.capacity = capacity
        # The buffer and the wait queues are created on first use: an idle actor's
        # mailbox never needs them, and an empty deque costs ~760 bytes.
        self.buffer: deque[tuple[int, T]] = _NO_BUFFER
        self.recvq: _WaitQueue = _NO_WAITERS
        self.sendq: _WaitQueue = _NO_WAITERS
        self.closed = False
        self.reserved = 0
        self.model = model
        self.peak = 0
        self.sent = 0
        self.received = 0
        self._name = name
        self._prefix = prefix

    # -- identity and introspection -------------------------------------------------------

    def name_in(self, rt: Runtime) -> str:
        """The channel's name in traces (given, or ``chan-N`` numbered per run)."""
        name = self._name
        if name is None:
            name = self._name = rt.new_name(self._prefix)
        return name

    @property
    def name(self) -> str:
        return self._name or f"<unnamed {self._prefix}>"

    def __len__(self) -> int:
        return len(self.buffer)

    def free(self) -> int | float:
        """Slots a new value or reservation could take now."""
        if self.capacity is None:
            return float("inf")
        return self.capacity - len(self.buffer) - self.reserved

    def statistics(self) -> ChannelStatistics:
        _purge(self.sendq)
        _purge(self.recvq)
        return ChannelStatistics(
            name=self.name, capacity=self.capacity, depth=len(self.buffer),
            peak_depth=self.peak, reserved=self.reserved, sent=self.sent,
            received=self.received,
            senders_waiting=sum(1 for w in self.sendq if w.parker.pending),
            receivers_waiting=sum(1 for w in self.recvq if w.parker.pending),
            closed=self.closed)

    def _record(self, rt: Runtime, kind: str, msg_id: int | None, value: Any = None,
                detail: str | None = None, corr_id: int | None = None) -> None:
        """Append a trace row about this channel (callers check ``rt.trace_on``)."""
        if corr_id is not None:
            if kind == "send" and msg_id is not None:
                rt.corr_ids[msg_id] = corr_id
        elif rt.corr_ids:
            corr_id = rt.corr_of(kind, msg_id)
        rows = rt.rows
        rows.append((rt._time() - rt._t0, len(rows), kind, _TASK.get().name,
                     self._name or self.name_in(rt), msg_id, corr_id,
                     None if value is None else type(value).__name__, len(self.buffer),
                     self.model, detail))

    # -- readiness (for select) ------------------------------------------------------------

    def ready_recv(self) -> bool:
        """Would a receive complete now (a value, a waiting sender, or closed and drained)?"""
        if self.buffer:
            return True
        _purge(self.sendq)
        if self.capacity == 0:  # a waiting sender hands over directly only at rendezvous
            for w in self.sendq:
                if w.slots == 0:
                    return True
        return self.closed and self.reserved == 0

    def ready_send(self) -> bool:
        """Would a send complete (or fail because closed) now without waiting?"""
        if self.closed:
            return True
        _purge(self.recvq)
        if self.recvq:
            return True
        _purge(self.sendq)
        return not self.sendq and self.free() > 0

    # -- sending ---------------------------------------------------------------------------

    def offer(self, value: T, msg_id: int) -> int:
        """Put ``value`` in without waiting: ``OK``, ``FULL`` or ``CLOSED``. No trace row."""
        buffer = self.buffer
        capacity = self.capacity
        if (not self.closed and not self.recvq and not self.sendq
                and (capacity is None or len(buffer) + self.reserved < capacity)):
            # Fast path: a free slot and nobody to hand to or queue behind.
            if buffer is _NO_BUFFER:
                buffer = self.buffer = deque()
            buffer.append((msg_id, value))
            self.sent += 1
            if len(buffer) > self.peak:
                self.peak = len(buffer)
            return OK
        if self.closed:
            return CLOSED
        if self._hand_over(value, msg_id):
            return OK
        if self.free() > 0:
            _purge(self.sendq)
            if self.sendq:  # someone is queued for a slot before us (R10)
                return FULL
            self._append(msg_id, value)
            return OK
        return FULL

    def try_send(self, value: T, *, corr_id: int | None = None) -> int:
        """Non-blocking send with a trace row: ``OK``, ``FULL`` or ``CLOSED``."""
        rt = current()
        msg_id = rt.next_msg_id()
        status = self.offer(value, msg_id)
        if status == OK and rt.trace_on:
            self._record(rt, "send", msg_id, value, corr_id=corr_id)
        return status

    def send_fast(self, value: T, corr_id: int | None = None) -> int | None:
        """Send now if that needs no wait: a free slot (or a waiting receiver) and nobody
        queued first. Records the ``send`` row and returns the message id; ``None`` when
        nothing was done and the caller must take the slow path (:meth:`send`).

        Synchronous, so a facade's ``async def send`` stays one frame deep when it succeeds.
        """
        buffer = self.buffer
        capacity = self.capacity
        if (self.sendq or self.closed
                or (capacity is not None and len(buffer) + self.reserved >= capacity)):
            return None
        rt = _RUNTIME.get()
        if rt is None:
            rt = current()  # raises NotInRunError with the explanation
        msg_id = next(rt._msg_ids)
        if buffer and not self.recvq:
            buffer.append((msg_id, value))
            self.sent += 1
            if len(buffer) > self.peak:
                self.peak = len(buffer)
        else:
            self.offer(value, msg_id)  # OK: hands to a receiver, or makes the buffer
        if rt.trace_on:
            # The row is written out here (same layout as _record): the hottest path.
            if corr_id is not None:
                rt.corr_ids[msg_id] = corr_id
            rows = rt.rows
            rows.append((rt._time() - rt._t0, len(rows), "send", _TASK.get().name,
                         self._name or self.name_in(rt), msg_id, corr_id,
                         None if value is None else type(value).__name__, len(self.buffer),
                         self.model, None))
        return msg_id

    async def send(self, value: T, *, corr_id: int | None = None) -> int:
        """Send, waiting for a slot or a receiver: ``OK`` or ``CLOSED``.

        Cancelled while waiting, the value was not sent, and the trace says it was lost
        (tokio's ``send`` is not cancel-safe, R11).
        """
        if self.send_fast(value, corr_id) is not None:
            return OK
        return await self.send_wait(value, corr_id=corr_id)

    async def send_wait(self, value: T, *, corr_id: int | None = None) -> int:
        """The rest of :meth:`send`, for a caller whose :meth:`send_fast` returned ``None``."""
        rt = _RUNTIME.get()
        if rt is None:
            rt = current()  # raises NotInRunError with the explanation
        msg_id = next(rt._msg_ids)
        status = self.offer(value, msg_id)
        if status != FULL:
            if status == OK and rt.trace_on:
                self._record(rt, "send", msg_id, value, corr_id=corr_id)
            return status
        if rt.trace_on:
            self._record(rt, "send", msg_id, value, corr_id=corr_id)
            self._record(rt, "block", msg_id, value, detail="full", corr_id=corr_id)
        parker = rt.parker()
        self._queue_sender(_Waiter(parker, 0, value, msg_id))
        try:
            _case, status = await rt.park(parker, ("send to", self))
        except BaseException:
            if not parker.woken:
                _remove(self.sendq, parker)
                if rt.trace_on:
                    rt.corr_ids.pop(msg_id, None)
                    self._record(rt, "drop", msg_id, value,
                                 detail="send cancelled while waiting", corr_id=corr_id)
            raise
        if rt.trace_on:
            self._record(rt, "unblock", msg_id, value, corr_id=corr_id)
        return int(status)

    def push(self, value: T, msg_id: int) -> None:
        """Append past the capacity check (a permit's slot, an actor policy's eviction)."""
        if self._hand_over(value, msg_id):
            return
        self._append(msg_id, value)

    # -- reservations (Rust permits) --------------------------------------------------------

    def try_reserve(self, slots: int = 1) -> int:
        """Take ``slots`` free slots now: ``OK``, ``FULL`` or ``CLOSED`` (R13)."""
        if self.closed:
            return CLOSED
        _purge(self.sendq)
        if self.sendq or self.free() < slots:
            return FULL
        self.reserved += slots
        return OK

    async def reserve(self, slots: int = 1) -> int:
        """Wait for ``slots`` slots, in FIFO order with blocked sends: ``OK`` or ``CLOSED``."""
        status = self.try_reserve(slots)
        if status != FULL:
            return status
        rt = current()
        parker = rt.parker()
        self._queue_sender(_Waiter(parker, 0, slots=slots))
        if rt.trace_on:
            self._record(rt, "block", None, detail=f"reserve {slots}")
        try:
            _case, status = await rt.park(parker, ("reserve on", self))
        except BaseException:
            if parker.woken:
                _case, status = parker.result()
                if status == OK:  # the slots were granted after all: give them back
                    self.release(slots)
            else:
                # A reservation at the head held back the senders behind it (fairness):
                # they may fit in the free slots now.
                _remove(self.sendq, parker)
                self._admit()
            raise
        if rt.trace_on:
            self._record(rt, "unblock", None)
        return int(status)

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
        self.push(value, msg_id)
        if self.sendq:  # handed straight to a receiver: the slot is free for a waiter
            self._admit()
        if rt.trace_on:
            self._record(rt, "send", msg_id, value, corr_id=corr_id)

    # -- receiving -------------------------------------------------------------------------

    def poll(self) -> tuple[int, Any, int]:
        """Take a value without waiting: ``(OK, value, msg_id)``, ``(EMPTY, None, 0)`` or
        ``(CLOSED, None, 0)`` (closed, drained and no permit outstanding). No trace row."""
        buffer = self.buffer
        if buffer:
            msg_id, value = buffer.popleft()
            self.received += 1
            if self.sendq:
                self._admit()
            return OK, value, msg_id
        sendq = self.sendq
        # Direct hand-over from a waiting sender only at rendezvous: on a buffered channel
        # an empty buffer with senders waiting means every slot is held by a permit, and
        # the permits' values must come first (R10, R13).
        while sendq and self.capacity == 0:
            w = sendq[0]
            if w.slots:  # only reservations wait here; they need free slots, not a taker
                break
            sendq.popleft()
            if w.parker.wake((w.case, OK)):
                self.sent += 1
                self.received += 1
                return OK, w.value, w.msg_id
        if self.closed and self.reserved == 0:
            return CLOSED, None, 0
        return EMPTY, None, 0

    def try_recv(self) -> tuple[int, Any]:
        """Non-blocking receive with a trace row: ``(status, value)``."""
        status, value, msg_id = self.poll()
        if status == OK:
            rt = current()
            if rt.trace_on:
                self._record(rt, "receive", msg_id, value)
        return status, value

    def recv_fast(self) -> tuple[int, Any] | None:
        """Take the head of the buffer now if nobody waits for the slot it frees, with its
        ``receive`` row: ``(OK, value)``, or ``None`` when the caller must take the slow
        path (:meth:`recv`: a hand-over, closed, or a wait)."""
        buffer = self.buffer
        if not buffer or self.sendq:
            return None
        rt = _RUNTIME.get()
        if rt is None:
            rt = current()  # raises NotInRunError with the explanation
        msg_id, value = buffer.popleft()
        self.received += 1
        if rt.trace_on:
            rows = rt.rows
            rows.append((rt._time() - rt._t0, len(rows), "receive", _TASK.get().name,
                         self._name or self.name_in(rt), msg_id,
                         rt.corr_ids.pop(msg_id, None) if rt.corr_ids else None,
                         None if value is None else type(value).__name__, len(buffer),
                         self.model, None))
        return OK, value

    async def recv(self) -> tuple[int, Any]:
        """Receive, waiting for a value: ``(OK, value)`` or ``(CLOSED, None)``.

        Cancel-safe: a value handed over just as the wait is cancelled goes back to the
        front of the queue (R15, R30).
        """
        got = self.recv_fast()
        if got is not None:
            return got
        return await self.recv_wait()

    async def recv_wait(self) -> tuple[int, Any]:
        """The rest of :meth:`recv`, for a caller whose :meth:`recv_fast` returned ``None``."""
        rt = _RUNTIME.get()
        if rt is None:
            rt = current()  # raises NotInRunError with the explanation
        status, value, msg_id = self.poll()
        if status != EMPTY:
            if status == OK and rt.trace_on:
                self._record(rt, "receive", msg_id, value)
            return status, value
        parker = rt.parker()
        self._queue_receiver(_Waiter(parker, 0))
        # Runtime.park's steps, without its frame: a receive is the commonest wait.
        task = blocking(("receive from", self))
        try:
            _case, got = await parker.wait()
            unblocked(task)
        except BaseException:
            task.blocked_on = None
            self.abandon_recv(parker)
            raise
        if got == CLOSED:
            return CLOSED, None
        value, msg_id = got
        if rt.trace_on:
            self._record(rt, "receive", msg_id, value)
        return OK, value

    def abandon_recv(self, parker: Parker) -> None:
        """A receiver waiting on ``parker`` was cancelled (or lost its select): a value
        handed to it goes back to the front of the queue; else its waiter is withdrawn."""
        if parker.woken:
            got = parker.result()[1]
            if isinstance(got, tuple):  # (value, msg_id); not CLOSED nor a system wake-up
                self.give_back(got[0], got[1])
        else:
            _remove(self.recvq, parker)

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
        sendq = self.sendq
        while sendq:
            w = sendq.popleft()
            w.parker.wake((w.case, CLOSED))
        self._wake_receivers_if_finished()

    def discard(self) -> list[tuple[int, T]]:
        """Remove and return everything buffered (a dropped Rust receiver, R17)."""
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
        self._queue_receiver(_Waiter(parker, case))

    def add_send_waiter(self, parker: Parker, case: int, value: T, msg_id: int) -> None:
        self._queue_sender(_Waiter(parker, case, value, msg_id))

    def remove_waiters(self, parker: Parker) -> None:
        """Withdraw every waiter of ``parker`` (a finished select's losing cases, G26)."""
        _remove(self.recvq, parker)
        _remove(self.sendq, parker)

    # -- internals -------------------------------------------------------------------------

    def _buffer(self) -> deque[tuple[int, T]]:
        buffer = self.buffer
        if buffer is _NO_BUFFER:
            buffer = self.buffer = deque()
        return buffer

    def _append(self, msg_id: int, value: T) -> None:
        buffer = self._buffer()
        buffer.append((msg_id, value))
        self.sent += 1
        if len(buffer) > self.peak:
            self.peak = len(buffer)

    def _hand_over(self, value: T, msg_id: int) -> bool:
        """Give ``value`` to the first receiver still waiting (skipping gone ones)."""
        recvq = self.recvq
        while recvq:
            w = recvq.popleft()
            if w.parker.wake((w.case, (value, msg_id))):
                self.sent += 1
                self.received += 1
                return True
        return False

    def _queue_sender(self, waiter: _Waiter) -> None:
        if self.sendq is _NO_WAITERS:
            self.sendq = _WaitQueue()
        self.sendq.append(waiter)

    def _queue_receiver(self, waiter: _Waiter) -> None:
        if self.recvq is _NO_WAITERS:
            self.recvq = _WaitQueue()
        self.recvq.append(waiter)

    def _admit(self) -> None:
        """Move waiting senders into free slots, in arrival order (G4, R10)."""
        sendq = self.sendq
        while sendq and self.free() > 0:
            w = sendq[0]
            if not w.parker.pending:
                sendq.popleft()
                continue
            if w.slots:
                if self.free() < w.slots:
                    return  # fair: a big reservation at the head is not overtaken
                sendq.popleft()
                if w.parker.wake((w.case, OK)):
                    self.reserved += w.slots
                continue
            sendq.popleft()
            if w.parker.wake((w.case, OK)):
                self._append(w.msg_id, w.value)

    def _wake_receivers_if_finished(self) -> None:
        if self.closed and not self.buffer and self.reserved == 0:
            recvq = self.recvq
            while recvq:
                w = recvq.popleft()
                w.parker.wake((w.case, CLOSED))


def _purge(queue: _WaitQueue) -> None:
    while queue and not queue[0].parker.pending:
        queue.popleft()


def _remove(queue: _WaitQueue, parker: Parker) -> None:
    if queue:
        for w in [w for w in queue if w.parker is parker]:
            queue.remove(w)


async def checkpoint() -> None:
    """Yield to the scheduler once (a cancel point), on any backend."""
    await anyio.lowlevel.checkpoint()
