"""An actor's mailbox: a :class:`~labkit.channel.Channel` for user messages plus a system lane.

User messages go through the channel, so capacity, FIFO order and waiting senders are the
channel's rules. What the mailbox adds is the *overflow policy*, applied when ``tell`` finds
the channel full (``tell`` never waits):

* ``block``: ``tell`` refuses the message (it becomes a dead letter, reason says to use
  ``send``); ``await ref.send(msg)`` waits for space. The policy for backpressure.
* ``drop_new``: the new message becomes a dead letter.
* ``drop_head``: the oldest queued message becomes a dead letter; the new one is queued.
* ``drop_tail``: the newest queued message becomes a dead letter; the new one is queued.
* ``fail``: ``tell`` raises :class:`MailboxFull` and nothing is lost (the caller keeps it).

``send`` and ``ask`` wait for space under every policy: the policy is what ``tell`` does
when it cannot wait. The system lane (stop, supervision signals) is a short list outside
the channel: overflow never touches it and the actor reads it before any user message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from labkit._runtime.core import Parker, Runtime
from labkit._runtime.rows import EventKind
from labkit.actor._errors import MailboxFull
from labkit.channel import CLOSED, FULL, OK, Channel, Status, check_capacity

__all__ = (
    "OVERFLOW_POLICIES",
    "Envelope",
    "Mailbox",
    "MailboxStatistics",
    "Overflow",
    "Signal",
    "Stop",
)

Overflow = Literal["block", "drop_new", "drop_head", "drop_tail", "fail"]
OVERFLOW_POLICIES: tuple[str, ...] = get_args(Overflow)

#: The select case a waiting actor is woken with when a system message arrives
#: (the channel wakes it with case 0 for a user message).
SYSTEM_CASE: Final = 1

_MODEL: Final = "actor"


class Signal:
    """Base class for system messages: delivered on the system lane, never dropped by
    overflow, and handled before user messages. Supervision signals subclass it."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Stop(Signal):
    """Stop the actor. ``drain=False``: queued user messages become dead letters
    ("actor stopped"). ``drain=True``: close the mailbox, handle what is queued, then stop."""

    drain: bool = False


#: A user message in a mailbox: ``(message, sender, sender_name, corr_id, reply)``.
#: ``sender`` is the sending actor's ref (``None`` for main or a plain task), ``corr_id``
#: links a reply to its request, ``reply`` is the parker an ``ask`` waits on. A plain tuple:
#: a tell allocates nothing else, and the garbage collector soon stops tracking it.
Envelope = tuple[Any, Any, str, "int | None", "Parker | None"]


@dataclass(frozen=True)
class MailboxStatistics:
    """A snapshot of one mailbox (trio's ``MemoryChannelStatistics`` in spirit).

    ``depth``/``peak_depth`` count queued user messages; ``enqueued`` every user message
    that entered; ``processed`` those handled (``failed`` of them raised); ``dropped`` those
    that became dead letters here; ``rejected`` those refused by ``tell`` under ``fail``;
    ``in_hand`` the message the actor has taken and not finished (0 or 1).
    """

    name: str
    capacity: int | None
    overflow: str
    depth: int
    peak_depth: int
    system_depth: int
    enqueued: int
    processed: int
    failed: int
    dropped: int
    rejected: int
    senders_waiting: int
    closed: bool
    in_hand: int = 0


#: Where a mailbox reports a lost message: (rt, recipient, envelope, msg_id, reason, depth).
DeadSink = Callable[[Runtime, str, Envelope, "int | None", str, int], None]


class Mailbox:
    """``Mailbox(capacity=None, overflow="block")``: ``None`` is unbounded, ``0`` a
    rendezvous (a message is taken only by a waiting actor, as an unbuffered Go channel).

    Give one to ``system.spawn(..., mailbox=Mailbox(8, overflow="drop_head"))``; a mailbox
    belongs to one actor.
    """

    __slots__ = ("_chan", "_closed_reason", "_sink", "_system", "_waiter", "capacity",
                 "dropped", "failed", "name", "overflow", "processed", "rejected")

    def __init__(self, capacity: int | None = None, overflow: Overflow = "block") -> None:
        if capacity is not None:
            check_capacity(capacity, what="mailbox capacity")
        if not isinstance(overflow, str):
            raise TypeError(f"overflow must be a policy name (str), got "
                            f"{type(overflow).__name__} {overflow!r}")
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"unknown overflow policy {overflow!r}; choose one of "
                             f"{', '.join(OVERFLOW_POLICIES)}")
        self.capacity = capacity
        self.overflow: str = overflow
        self.name = "<unattached mailbox>"
        self._chan: Channel[Envelope] = Channel(capacity, model=_MODEL, prefix="mailbox")
        self._system: list[Signal] = []
        self._waiter: Parker | None = None
        self._sink: DeadSink | None = None
        self._closed_reason = "actor stopped"
        self.processed = 0
        self.failed = 0
        self.dropped = 0
        self.rejected = 0

    def __repr__(self) -> str:
        return (f"<Mailbox {self.name} capacity={self.capacity} overflow={self.overflow!r} "
                f"depth={len(self._chan.buffer)}>")

    def __len__(self) -> int:
        return len(self._chan.buffer)

    def _attach(self, sink: DeadSink) -> None:
        if self._sink is not None:
            raise ValueError(f"this mailbox already belongs to actor {self.name!r}; give each "
                             f"actor its own Mailbox(...)")
        self._sink = sink

    def _set_name(self, name: str) -> None:
        self.name = name
        self._chan.rename(name)  # the channel is this mailbox: same name in every trace

    def statistics(self) -> MailboxStatistics:
        """Depth, peak, counters and waiting senders, as a frozen record."""
        chan = self._chan.statistics()
        return MailboxStatistics(
            name=self.name, capacity=self.capacity, overflow=self.overflow,
            depth=chan.depth, peak_depth=chan.peak_depth, system_depth=len(self._system),
            enqueued=chan.sent, processed=self.processed, failed=self.failed,
            dropped=self.dropped, rejected=self.rejected,
            senders_waiting=chan.senders_waiting, closed=chan.closed,
            in_hand=max(chan.received - self.processed, 0))

    # -- the user lane -----------------------------------------------------------------------

    def _dead(self, rt: Runtime, env: Envelope, msg_id: int | None, reason: str) -> None:
        self.dropped += 1
        assert self._sink is not None
        self._sink(rt, self.name, env, msg_id, reason, len(self._chan.buffer))

    def _record(self, rt: Runtime, kind: EventKind, env: Envelope, msg_id: int,
                detail: str | None = None) -> None:
        """Append a trace row about ``env`` (callers check ``rt.trace_on``)."""
        rt.record(kind, actor=env[2], peer=self.name, msg_id=msg_id, corr_id=env[3],
                  msg_type=type(env[0]).__name__, depth=len(self._chan.buffer), model=_MODEL,
                  detail=detail)

    def offer(self, rt: Runtime, env: Envelope, msg_id: int, kind: EventKind) -> Status:
        """Enqueue if there is room now: ``OK``, ``FULL`` (nothing done) or ``CLOSED``
        (``env`` is then a dead letter)."""
        status = self._chan.put(env, msg_id)
        if status == OK:
            if rt.trace_on:
                self._record(rt, kind, env, msg_id)
        elif status == CLOSED:
            self._dead(rt, env, msg_id, self._closed_reason)
        return status

    def put(self, rt: Runtime, env: Envelope, msg_id: int,
            kind: EventKind = EventKind.TELL) -> bool:
        """Enqueue without waiting, applying the overflow policy. True if ``env`` was queued."""
        status = self._chan.put(env, msg_id)
        if status == OK:
            if rt.trace_on:
                self._record(rt, kind, env, msg_id)
            return True
        return self.refused(rt, env, msg_id, status, kind)

    def refused(self, rt: Runtime, env: Envelope, msg_id: int, status: int,
                kind: EventKind = EventKind.TELL) -> bool:
        """The rest of :meth:`put` once ``Channel.offer`` returned ``status`` (``FULL`` or
        ``CLOSED``): a dead letter, an eviction, or :class:`MailboxFull`."""
        chan = self._chan
        if status == CLOSED:
            self._dead(rt, env, msg_id, self._closed_reason)
            return False
        policy = self.overflow
        if chan.buffer and policy in ("drop_head", "drop_tail"):
            old_id, old = chan.evict_head() if policy == "drop_head" else chan.evict_tail()
            chan.force_put(env, msg_id)
            if rt.trace_on:
                self._record(rt, kind, env, msg_id)
            which = "oldest" if policy == "drop_head" else "newest"
            self._dead(rt, old, old_id,
                       f"mailbox full ({policy}): evicted the {which} queued message")
            return True
        if policy == "fail":
            self.rejected += 1
            if rt.trace_on:
                self._record(rt, EventKind.REJECT, env, msg_id, "mailbox full (fail): tell raised")
            raise MailboxFull(self.name, env[0], self.capacity)
        if policy == "block":
            reason = "mailbox full (block): tell cannot wait; use 'await ref.send(msg)'"
        elif policy == "drop_new":
            reason = "mailbox full (drop_new): dropped the new message"
        else:
            reason = f"mailbox full ({policy}): nothing queued to evict, dropped the new message"
        self._dead(rt, env, msg_id, reason)
        return False

    async def put_wait(self, rt: Runtime, env: Envelope, msg_id: int,
                       kind: EventKind = EventKind.SEND) -> bool:
        """Enqueue, waiting for space (FIFO with other waiting senders). False if the actor
        stopped first (the message is then a dead letter)."""
        status = self.offer(rt, env, msg_id, kind)
        if status != FULL:
            return status == OK
        return await self.wait_for_space(rt, env, msg_id, kind)

    async def wait_for_space(self, rt: Runtime, env: Envelope, msg_id: int,
                             kind: EventKind = EventKind.SEND) -> bool:
        """The waiting half of :meth:`put_wait`, after :meth:`offer` returned ``FULL``."""
        chan = self._chan
        if rt.trace_on:
            self._record(rt, kind, env, msg_id)
            self._record(rt, EventKind.BLOCK, env, msg_id, "mailbox full")
        parker = rt.parker()
        chan.add_send_waiter(parker, 0, env, msg_id)
        try:
            _case, status = await rt.park(parker, ("send to actor", self.name))
        except BaseException:
            if not parker.woken:
                chan.remove_waiters(parker)
                # An asker learns of this from its own timeout, not from a reply.
                self._dead(rt, (*env[:4], None), msg_id,
                           "sender cancelled while waiting for mailbox space")
            raise
        if status == CLOSED:
            self._dead(rt, env, msg_id, self._closed_reason)
            return False
        if rt.trace_on:
            self._record(rt, EventKind.UNBLOCK, env, msg_id)
        return True

    # -- the system lane ---------------------------------------------------------------------

    def put_system(self, signal: Signal) -> None:
        """Queue a system message (never dropped by overflow) and wake the idle actor."""
        self._system.append(signal)
        waiter = self._waiter
        if waiter is not None:
            waiter.wake((SYSTEM_CASE, None))

    def close(self, reason: str) -> None:
        """Refuse further user messages (they become dead letters with ``reason``)."""
        self._closed_reason = reason
        self._chan.close()

    def discard(self) -> list[tuple[int, Envelope]]:
        """Take every queued user message out (the actor is stopping)."""
        return self._chan.drain()
