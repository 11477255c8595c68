"""An actor's mailbox: a :class:`~labkit.channel.Channel` for user messages plus a system lane.

User messages go through the channel, so capacity, FIFO order and waiting senders are the
channel's rules, and the channel's operations do the work: ``put`` (no wait), ``put_wait``
(the wait after a ``FULL``), ``take``, ``force_put``. What the mailbox adds is what makes it
an actor's: the ``tell``/``send`` trace rows, dead letters, and the *overflow policy*,
applied when ``tell`` finds the channel full (``tell`` never waits):

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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, get_args

import anyio

from labkit._check import check_choice
from labkit._runtime.core import Parker, Runtime
from labkit._runtime.rows import EventKind
from labkit.actor._errors import MailboxFull
from labkit.channel import CLOSED, EMPTY, FULL, OK, Channel, Status, check_capacity

if TYPE_CHECKING:
    from labkit.actor._ref import ActorRef
    from labkit.actor._system import ActorSystem

__all__ = (
    "OVERFLOW_POLICIES",
    "Envelope",
    "Mailbox",
    "MailboxStatistics",
    "Overflow",
    "Signal",
    "Stop",
    "new_envelope",
)

Overflow = Literal["block", "drop_new", "drop_head", "drop_tail", "fail"]
OVERFLOW_POLICIES: tuple[str, ...] = get_args(Overflow)

_MODEL: Final = "actor"
_TELL = EventKind.TELL
_SEND = EventKind.SEND


class Signal:
    """Base class for system messages: delivered on the system lane, never dropped by
    overflow, and handled before user messages. Supervision signals subclass it."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Stop(Signal):
    """Stop the actor. ``drain=False``: queued user messages become dead letters
    ("actor stopped"). ``drain=True``: close the mailbox, handle what is queued, then stop."""

    drain: bool = False


class Envelope(NamedTuple):
    """A user message in a mailbox, with what its handler and its reply need."""

    message: Any
    #: The sending actor's ref (``None`` for main or a plain task).
    sender: ActorRef | None
    #: Who sent it, as the trace names them (``main``, ``go-1``, an actor).
    sender_name: str
    #: Links a reply to its request (an ``ask``'s id; a router's copies share one).
    corr_id: int | None
    #: The wake-up slot an ``ask`` waits on for the reply (``None`` for a tell).
    reply: Parker | None
    #: The id the sender gave with ``msg_id=...`` (``None`` when the run assigned it): the
    #: one id that means the same message in every run, so deduplication uses only it.
    key: int | None


#: ``new_envelope(Envelope, (message, sender, sender_name, corr_id, reply, key))``. A tell makes
#: an envelope per message: ``tuple.__new__``, bound once here, builds it in C, where
#: ``Envelope(...)`` would go through the NamedTuple's ``__new__`` written in Python
#: (three times slower; the tell path is what the one-way benchmark measures).
new_envelope = tuple.__new__


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


class Mailbox:
    """``Mailbox(capacity=None, overflow="block")``: ``None`` is unbounded, ``0`` a
    rendezvous (a message is taken only by a waiting actor, as an unbuffered Go channel).

    Give one to ``system.spawn(..., mailbox=Mailbox(8, overflow="drop_head"))``; a mailbox
    belongs to one actor.
    """

    __slots__ = ("_chan", "_closed_reason", "_owner", "_signals", "capacity", "dropped",
                 "failed", "name", "overflow", "processed", "rejected")

    def __init__(self, capacity: int | None = None, overflow: Overflow = "block") -> None:
        if capacity is not None:
            check_capacity(capacity, what="mailbox capacity")
        self.capacity = capacity
        self.overflow: str = check_choice("overflow", overflow, OVERFLOW_POLICIES)
        self.name = "<unattached mailbox>"
        self._chan: Channel[Envelope] = Channel(capacity, model=_MODEL, prefix="mailbox")
        #: The system lane, made by the first signal (most actors only ever get a stop).
        self._signals: list[Signal] | None = None
        self._owner: ActorSystem | None = None  # where lost messages go
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

    def _attach(self, owner: ActorSystem) -> None:
        if self._owner is not None:
            raise ValueError(f"this mailbox already belongs to actor {self.name!r}; give each "
                             f"actor its own Mailbox(...)")
        self._owner = owner

    def _set_name(self, name: str) -> None:
        self.name = name
        self._chan.rename(name)  # the channel is this mailbox: same name in every trace

    def statistics(self) -> MailboxStatistics:
        """Depth, peak, counters and waiting senders, as a frozen record."""
        chan = self._chan.statistics()
        return MailboxStatistics(
            name=self.name, capacity=self.capacity, overflow=self.overflow,
            depth=chan.depth, peak_depth=chan.peak_depth, system_depth=len(self._signals or ()),
            enqueued=chan.sent, processed=self.processed, failed=self.failed,
            dropped=self.dropped, rejected=self.rejected,
            senders_waiting=chan.senders_waiting, closed=chan.closed,
            in_hand=max(chan.received - self.processed, 0))

    # -- the user lane -----------------------------------------------------------------------

    def _dead(self, rt: Runtime, env: Envelope, msg_id: int | None, reason: str) -> None:
        """``env`` is lost: count it and hand it to the system's dead letters."""
        self.dropped += 1
        assert self._owner is not None
        self._owner._lost_env(rt, self.name, env, msg_id, reason, len(self._chan.buffer))

    def _record(self, rt: Runtime, kind: EventKind, env: Envelope, msg_id: int,
               detail: str | None = None) -> None:
        """Append a trace row about ``env`` (callers check ``rt.trace_on``)."""
        # Runtime.record's arguments in order: every message passes here.
        rt.record(kind, env.sender_name, self.name, msg_id, env.corr_id,
                  type(env.message).__name__, len(self._chan.buffer), _MODEL, detail)

    def tell(self, rt: Runtime, env: Envelope, msg_id: int, kind: EventKind = _TELL) -> bool:
        """Enqueue without waiting, applying the overflow policy on a full mailbox. True if
        ``env`` was queued; False if a message became a dead letter instead."""
        status = self._chan.put(env, msg_id)
        if status is OK:
            if rt.trace_on:
                self._record(rt, kind, env, msg_id)
            return True
        return self.refused(rt, env, msg_id, status, kind)

    def refused(self, rt: Runtime, env: Envelope, msg_id: int, status: Status,
                kind: EventKind = _TELL) -> bool:
        """:meth:`tell` once ``Channel.put`` said no: ``CLOSED`` makes a dead letter,
        ``FULL`` applies the overflow policy."""
        if status is CLOSED:
            self._dead(rt, env, msg_id, self._closed_reason)
            return False
        return self._overflow(rt, env, msg_id, kind)

    def _overflow(self, rt: Runtime, env: Envelope, msg_id: int, kind: EventKind) -> bool:
        """:meth:`tell` on a full mailbox: an eviction, a dead letter or :class:`MailboxFull`."""
        chan = self._chan
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
                self._record(rt, EventKind.REJECT, env, msg_id,
                            "mailbox full (fail): tell raised")
            raise MailboxFull(self.name, env.message, self.capacity)
        if policy == "block":
            reason = "mailbox full (block): tell cannot wait; use 'await ref.send(msg)'"
        elif policy == "drop_new":
            reason = "mailbox full (drop_new): dropped the new message"
        else:
            reason = f"mailbox full ({policy}): nothing queued to evict, dropped the new message"
        self._dead(rt, env, msg_id, reason)
        return False

    def send_nowait(self, rt: Runtime, env: Envelope, msg_id: int) -> Status:
        """Enqueue if there is room now: ``OK``, ``FULL`` (nothing done: wait with
        :meth:`send_wait`) or ``CLOSED`` (``env`` is then a dead letter)."""
        status = self._chan.put(env, msg_id)
        if status is OK:
            if rt.trace_on:
                self._record(rt, _SEND, env, msg_id)
        elif status is CLOSED:
            self._dead(rt, env, msg_id, self._closed_reason)
        return status

    async def send_wait(self, rt: Runtime, env: Envelope, msg_id: int,
                        timeout: float | None = None) -> Status:
        """Wait for space after :meth:`send_nowait` returned ``FULL`` (FIFO with other
        waiting senders), at most ``timeout`` seconds (``None``: no limit): ``OK`` once
        queued; ``CLOSED`` if the actor stopped first, or ``FULL`` if the time ran out
        first, and the message is then a dead letter."""
        if rt.trace_on:
            self._record(rt, _SEND, env, msg_id)
            self._record(rt, EventKind.BLOCK, env, msg_id, "mailbox full")
        chan = self._chan
        what = ("send to actor", self.name)
        woken: list[Status] = []  # queued just as a cancellation landed: not lost
        try:
            if timeout is None:
                status = await chan.put_wait(env, msg_id, what, woken=woken.append)
            else:
                status = FULL  # unless queued before the time runs out
                with anyio.move_on_after(timeout):
                    status = await chan.put_wait(env, msg_id, what, woken=woken.append)
                if woken:
                    status = woken[0]
        except BaseException:
            if woken != [OK]:
                self._gave_up(rt, env, msg_id)
            raise
        if status is OK:
            if rt.trace_on:
                self._record(rt, EventKind.UNBLOCK, env, msg_id)
        elif status is CLOSED:
            self._dead(rt, env, msg_id, self._closed_reason)
        else:
            self._gave_up(rt, env, msg_id)
        return status

    def _gave_up(self, rt: Runtime, env: Envelope, msg_id: int) -> None:
        # Cancelled or timed out, the message was not queued (Channel.put_wait). An asker
        # learns of it from its own timeout, not from a reply: the letter has no reply slot.
        self._dead(rt, env._replace(reply=None), msg_id,
                  "sender cancelled while waiting for mailbox space")

    # -- the system lane ---------------------------------------------------------------------

    def put_system(self, signal: Signal) -> None:
        """Queue a system message (never dropped by overflow) and wake the idle actor.

        The idle actor waits as the channel's one receiver; woken with ``EMPTY`` (no
        message), it looks at the system lane first (see ``_Cell.run``)."""
        if self._signals is None:
            self._signals = []
        self._signals.append(signal)
        self._chan.receivers.unpark(EMPTY)

    def take_signals(self) -> list[Signal]:
        """Take every queued system message out (the actor is stopping)."""
        signals, self._signals = self._signals or [], None
        return signals

    def close(self, reason: str) -> None:
        """Refuse further user messages (they become dead letters with ``reason``)."""
        self._closed_reason = reason
        self._chan.close()

    def discard(self) -> list[tuple[int, Envelope]]:
        """Take every queued user message out (the actor is stopping)."""
        return self._chan.drain()
