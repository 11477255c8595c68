"""ActorRef: the only way to reach an actor (``tell``, ``send``, ``ask``, ``stop``).

A ref is a thin facade over the actor's :class:`~labkit.actor.Mailbox`: it checks the
message type, wraps the message in an :class:`~labkit.actor._mailbox.Envelope` with its
sender, and calls the mailbox (which calls the core channel). An ``ask`` adds a reply slot
(a :class:`~labkit._runtime.core.Parker`) to the envelope and waits on it in one place,
:func:`_wait_reply`.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final

import anyio

from labkit._check import check_bool, check_int, check_optional_seconds, describe
from labkit._runtime.core import RUNTIME, TASK, Parker, Runtime, current, current_task
from labkit._runtime.rows import EventKind
from labkit.actor._errors import ActorFailed, AskTimeout, Undeliverable, WrongMessageType
from labkit.actor._mailbox import (
    Envelope,
    Mailbox,
    MailboxStatistics,
    Signal,
    Stop,
    new_envelope,
)
from labkit.channel import FULL, OK

_TELL = EventKind.TELL

if TYPE_CHECKING:
    from labkit.actor._system import _Cell

__all__ = ("ActorRef", "PendingReply")


class Outcome(enum.Enum):
    """How an ask ended: what its reply slot is woken with, as ``(outcome, value)``."""

    REPLIED = "replied"      #: the handler's answer
    FAILED = "failed"        #: the handler raised (value: the exception)
    DEAD = "dead"            #: the message became a dead letter (value: the DeadLetter)
    TIMED_OUT = "timed out"  #: the asker's own timer (value: None)


REPLIED: Final = Outcome.REPLIED
FAILED: Final = Outcome.FAILED
DEAD: Final = Outcome.DEAD
_TIMED_OUT: Final = (Outcome.TIMED_OUT, None)

_STOP = Stop()
_DRAIN = Stop(drain=True)

#: The actor whose task is running now. Tasks an actor starts inherit it, so a match with
#: the current task is checked before it counts as the sender.
CURRENT_CELL: ContextVar[_Cell | None] = ContextVar("labkit_actor", default=None)


def _sender(sender: object) -> tuple[ActorRef | None, str]:
    """The ref and name of who sends: ``sender`` if given, else the current actor, else the
    current plain task (``main``, ``go-1``...)."""
    if sender is not None:
        if not isinstance(sender, ActorRef):
            raise TypeError(f"sender must be an ActorRef or None, got {describe(sender)}")
        return sender, sender.name
    task = current_task()
    cell = CURRENT_CELL.get()
    if cell is not None and cell.task is task:
        return cell.ref, cell.name
    return None, task.name


def _check_id(name: str, value: object) -> int:
    """A message or correlation id given by the caller (from ``Runtime.next_msg_id()``)."""
    return check_int(name, value, minimum=0)


def check_timeout(timeout: object, name: str = "timeout") -> float | None:
    """A timeout in seconds: ``None`` or ``math.inf`` wait as long as it takes (``None``
    returned), else a number ``>= 0``. TypeError or ValueError otherwise."""
    seconds = check_optional_seconds(name, timeout)
    return None if seconds == math.inf else seconds


def _wait_reply(rt: Runtime, reply: Parker, timeout: float | None,
                what: object) -> Awaitable[tuple[Outcome, Any]]:
    """The one wait of an asker: ``reply``'s outcome, or ``(TIMED_OUT, None)`` after
    ``timeout`` seconds (``None``: no limit; ``<= 0``: only an outcome already in)."""
    if reply.woken:
        timeout = 0.0
    if timeout is None:
        return rt.park(reply, what)
    if timeout <= 0:
        reply.wake(_TIMED_OUT)  # no-op if the outcome is already in
        return _ready(reply.result())
    return _wait_reply_within(rt, reply, timeout, what)


async def _ready(outcome: tuple[Outcome, Any]) -> tuple[Outcome, Any]:
    return outcome


async def _wait_reply_within(rt: Runtime, reply: Parker, timeout: float,
                             what: object) -> tuple[Outcome, Any]:
    # On asyncio a loop timer wakes the slot (no cancel scope: an ask stays cheap); on trio
    # a cancel scope is already cheap.
    outcome: tuple[Outcome, Any] = _TIMED_OUT
    if rt.backend == "asyncio":
        timer = asyncio.get_running_loop().call_later(timeout, reply.wake, _TIMED_OUT)
        try:
            outcome = await rt.park(reply, what)
        finally:
            timer.cancel()
    else:
        with anyio.move_on_after(timeout):
            outcome = await rt.park(reply, what)
    return outcome


class ActorRef:
    """A handle to one actor. Cheap to pass around in messages; compare by identity.

    * ``ref.tell(msg) -> bool`` never waits and applies the mailbox's overflow policy.
    * ``await ref.send(msg) -> bool`` waits for mailbox space (backpressure).
    * ``await ref.ask(msg, timeout=None)`` waits for the reply (:class:`AskTimeout`).
    * ``ref.stop()`` goes on the system lane, so a full mailbox cannot lose it.
    """

    __slots__ = ("_accepts", "_cell", "_mailbox", "name")

    def __init__(self, cell: _Cell) -> None:
        self._cell = cell
        self._mailbox = cell.mailbox
        self._accepts = cell.accepts
        self.name = cell.name

    def __repr__(self) -> str:
        state = "alive" if self._cell.alive else "stopped"
        return f"<ActorRef {self.name} ({state})>"

    @property
    def is_alive(self) -> bool:
        """False once the actor has stopped (messages to it become dead letters)."""
        return self._cell.alive

    @property
    def mailbox(self) -> Mailbox:
        return self._mailbox

    def statistics(self) -> MailboxStatistics:
        """The mailbox's statistics record (depth, peak, drops, waiting senders, ...)."""
        return self._mailbox.statistics()

    def check(self, message: Any) -> None:
        """Raise :class:`WrongMessageType` (and record a ``reject`` row) if this actor does
        not accept ``message``; do nothing if it does. Sending checks this itself; a router
        checks every chosen worker first, so a rejected copy stops the whole send."""
        accepts = self._accepts
        if accepts is not None and not isinstance(message, accepts):
            cell = self._cell
            cell.rt.record(EventKind.REJECT, actor=current_task().name, peer=self.name,
                           msg_type=type(message).__name__, depth=len(self._mailbox),
                           model="actor", detail="wrong message type")
            raise WrongMessageType(self.name, type(cell.actor).__name__, accepts, message)

    # -- sending ---------------------------------------------------------------------------

    def tell(self, message: Any, *, sender: ActorRef | None = None,
             corr_id: int | None = None, msg_id: int | None = None,
             trace_id: int | None = None) -> bool:
        """Enqueue ``message`` without waiting; the overflow policy decides on a full
        mailbox. True if it was queued; False if it became a dead letter.

        ``corr_id``: a correlation id the handler sees as ``ctx.corr_id`` and the trace rows
        carry (a router gives all copies of one message the same). ``msg_id``: the sender's
        own id for this message, the same in every run (a redelivery carries it again): the
        handler sees it as ``ctx.dedup_id``, and it is the trace id too unless ``trace_id``
        is given. ``trace_id``: this copy's trace id, taken ahead from
        ``Runtime.next_msg_id()`` (a router's); run-assigned, so never a ``dedup_id``.
        Default: a fresh trace id and no ``dedup_id``."""
        if self._accepts is not None:
            self.check(message)
        # The commonest send of all: the runtime's context variables are read directly
        # here rather than through current() and current_task().
        rt = RUNTIME.get() or current()
        if sender is None:
            task = TASK.get()
            cell = CURRENT_CELL.get()
            if cell is not None and cell.task is task:
                sender, name = cell.ref, cell.name
            else:
                name = task.name
        else:
            sender, name = _sender(sender)
        if corr_id is not None:
            _check_id("corr_id", corr_id)
        key = None if msg_id is None else _check_id("msg_id", msg_id)
        if trace_id is not None:
            msg_id = _check_id("trace_id", trace_id)
        elif msg_id is None:
            msg_id = next(rt.msg_ids)
        env = new_envelope(Envelope, (message, sender, name, corr_id, None, key))
        mailbox = self._mailbox
        status = mailbox._chan.put(env, msg_id)  # Mailbox.tell, its commonest case in frame
        if status is OK:
            if rt.trace_on:
                mailbox._record(rt, _TELL, env, msg_id)
            return True
        return mailbox.refused(rt, env, msg_id, status)  # closed or full: dead letter/policy

    async def send(self, message: Any, *, sender: ActorRef | None = None,
                   corr_id: int | None = None, msg_id: int | None = None,
                   trace_id: int | None = None) -> bool:
        """Enqueue ``message``, waiting while the mailbox is full (every policy). False if
        the actor stopped first (the message is then a dead letter). ``corr_id``,
        ``msg_id`` and ``trace_id`` as for :meth:`tell`."""
        rt, env, msg_id = self._address(message, sender, corr_id, msg_id, trace_id,
                                        asking=False)
        mailbox = self._mailbox
        status = mailbox.send_nowait(rt, env, msg_id)
        if status is FULL:
            status = await mailbox.send_wait(rt, env, msg_id)
        return status is OK

    async def ask(self, message: Any, *, timeout: float | None = None,
                  corr_id: int | None = None, msg_id: int | None = None) -> Any:
        """Send ``message`` (waiting for space) and wait for the reply, all within
        ``timeout`` seconds (``None`` or ``math.inf``: no limit). ``corr_id``: the id to
        ask with (taken ahead from ``Runtime.next_msg_id()``); an ask's id is also its
        correlation id. ``msg_id``: the sender's own id for this message, as for
        :meth:`tell` (``ctx.dedup_id``).

        Raises :class:`AskTimeout` (a ``TimeoutError``) on timeout, :class:`ActorFailed`
        if the handler raised, :class:`Undeliverable` if the message became a dead letter.
        """
        limit = None if timeout is None else check_timeout(timeout)
        pending = self.ask_nowait(message, corr_id=corr_id, msg_id=msg_id)
        outcome = await pending._outcome(limit)
        return self._settle(pending, outcome, limit, "ask timed out")

    def ask_nowait(self, message: Any, *, corr_id: int | None = None,
                   msg_id: int | None = None, trace_id: int | None = None) -> PendingReply:
        """Send ``message`` as an ask without waiting for the reply (nor, on a full mailbox,
        for space): ``await pending.wait(timeout)`` later gets the reply, or raises as
        :meth:`ask` does. Ask many actors at once this way (scatter-gather).

        ``corr_id``: the correlation id (default: the message's trace id, as for
        :meth:`ask`); ``msg_id`` and ``trace_id`` as for :meth:`tell` (the trace id
        defaults to ``msg_id`` if given, else to ``corr_id``, else a fresh id)."""
        rt, env, msg_id = self._address(message, None, corr_id, msg_id, trace_id, asking=True)
        posted = self._mailbox.send_nowait(rt, env, msg_id) is not FULL
        return PendingReply(self, rt, env, msg_id, posted)

    def _address(self, message: Any, sender: object, corr_id: object, msg_id: object,
                 trace_id: object, *, asking: bool) -> tuple[Runtime, Envelope, int]:
        """Check ``message`` and the ids, and put it in an envelope from its sender (what
        :meth:`tell` does in its own frame). An ask's envelope has a reply slot, and its
        id is its correlation id unless told otherwise."""
        if self._accepts is not None:
            self.check(message)
        rt = RUNTIME.get() or current()
        if sender is None:  # _sender(None), inlined: sends and asks are hot too
            task = TASK.get()
            cell = CURRENT_CELL.get()
            ref, name = (cell.ref, cell.name) if cell is not None and cell.task is task else (
                None, task.name)
        else:
            ref, name = _sender(sender)
        corr = None if corr_id is None else _check_id("corr_id", corr_id)
        key = None if msg_id is None else _check_id("msg_id", msg_id)
        if trace_id is not None:
            mid = _check_id("trace_id", trace_id)
        elif key is not None:
            mid = key
        elif asking and corr is not None:
            mid = corr
        else:
            mid = next(rt.msg_ids)
        if not asking:
            return rt, new_envelope(Envelope, (message, ref, name, corr, None, key)), mid
        corr = mid if corr is None else corr
        return rt, new_envelope(Envelope, (message, ref, name, corr, rt.parker(), key)), mid

    def _settle(self, pending: PendingReply, outcome: tuple[Outcome, Any],
                timeout: float | None, reason: str) -> Any:
        """An asker's outcome as its reply or its error: the one place an ask ends."""
        kind, value = outcome
        if kind is REPLIED:
            return value
        env = pending._env
        if kind is FAILED:
            raise ActorFailed(self.name, env.message, value) from value
        if kind is DEAD:
            raise Undeliverable(value)
        pending._rt.record(EventKind.TIMEOUT, actor=env.sender_name, peer=self.name,
                           msg_id=pending.msg_id, corr_id=env.corr_id,
                           msg_type=type(env.message).__name__, depth=len(self._mailbox),
                           model="actor", detail=reason)
        raise AskTimeout(self.name, env.message, timeout or 0.0, pending.msg_id)

    def _forward(self, env: Envelope) -> bool:
        if self._accepts is not None:
            self.check(env.message)
        rt = current()
        return self._mailbox.tell(rt, env, rt.next_msg_id(), EventKind.FORWARD)

    # -- stopping and signals ------------------------------------------------------------------

    def stop(self, *, drain: bool = False) -> None:
        """Ask the actor to stop, on the system lane (ahead of queued user messages).

        ``drain=False``: queued user messages become dead letters ("actor stopped").
        ``drain=True``: the mailbox closes to new messages and the actor handles what is
        queued before stopping. Returns at once; ``await ref.wait_stopped()`` to wait.
        """
        check_bool("drain", drain)
        if not self._cell.stopping:
            self._mailbox.put_system(_DRAIN if drain else _STOP)

    def signal(self, signal: Signal) -> None:
        """Deliver a system signal (supervision's seam): never dropped by overflow, handled
        before user messages by the actor's ``on_signal``. To a stopped actor it becomes a
        dead letter."""
        if not isinstance(signal, Signal):
            raise TypeError(f"signal must be a labkit.actor.Signal (use tell() for user "
                            f"messages), got {describe(signal)}")
        cell = self._cell
        if cell.stopping:
            cell.system.dead_letter(signal, self.name, "actor stopped")
        else:
            self._mailbox.put_system(signal)

    async def wait_stopped(self) -> None:
        """Wait until the actor has stopped (``on_stop`` done, mailbox emptied)."""
        await self._cell.wait_stopped()


class PendingReply:
    """An ask on its way, from :meth:`ActorRef.ask_nowait`: ``await pending.wait(timeout)``
    returns the reply or raises :class:`AskTimeout`, :class:`ActorFailed` or
    :class:`Undeliverable`, as ``ask`` does. A reply that comes after the wait timed out
    becomes a dead letter."""

    __slots__ = ("_env", "_posted", "_ref", "_rt", "msg_id")

    def __init__(self, ref: ActorRef, rt: Runtime, env: Envelope, msg_id: int,
                 posted: bool) -> None:
        self._ref = ref
        self._rt = rt
        self._env = env
        self.msg_id = msg_id
        self._posted = posted

    def __repr__(self) -> str:
        state = "done" if self.done else "waiting"
        return f"<PendingReply #{self.msg_id} from {self._ref.name} ({state})>"

    @property
    def ref(self) -> ActorRef:
        """The actor asked."""
        return self._ref

    @property
    def message(self) -> Any:
        return self._env.message

    @property
    def corr_id(self) -> int:
        corr_id = self._env.corr_id
        assert corr_id is not None
        return corr_id

    @property
    def _reply(self) -> Parker:
        reply = self._env.reply
        assert reply is not None
        return reply

    @property
    def done(self) -> bool:
        """True once the outcome (reply, failure, dead letter or timeout) is in."""
        return self._reply.woken

    async def wait_posted(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) for space in a full mailbox; at once if the
        message is already queued. False if it could not be queued: after a timeout the
        ask has timed out (and the message is a dead letter), or the actor stopped."""
        limit = check_timeout(timeout)
        if self._posted:
            return True
        self._posted = True
        return await self._post(limit)

    def post_in_background(self, timeout: float | None = None) -> None:
        """If the mailbox was full, wait for its space (at most ``timeout`` seconds) in a
        task of its own, so the caller can go on asking others; :meth:`wait` then waits
        only for the reply (and times out if the message never got in). Nothing to do if
        the message is already queued."""
        limit = check_timeout(timeout)
        if self._posted:
            return
        self._posted = True  # wait() must not wait for space a second time
        self._rt.start_task(self._post, (limit,), prefix=f"post-{self._ref.name}",
                            model="actor")

    async def _post(self, timeout: float | None) -> bool:
        status = await self._ref._mailbox.send_wait(self._rt, self._env, self.msg_id, timeout)
        if status is FULL:  # timed out: so has the ask
            self._reply.wake(_TIMED_OUT)
        return status is OK

    async def wait(self, timeout: float | None = None, *,
                   reason: str = "ask timed out") -> Any:
        """The reply, within ``timeout`` seconds (``None`` or ``math.inf``: no limit),
        counting any wait for mailbox space. ``reason``: the ``timeout`` trace row's
        detail."""
        limit = None if timeout is None else check_timeout(timeout)
        outcome = await self._outcome(limit)
        return self._ref._settle(self, outcome, limit, reason)

    def _outcome(self, timeout: float | None) -> Awaitable[tuple[Outcome, Any]]:
        """The ask's outcome within ``timeout`` seconds, waiting for mailbox space first if
        it was full. A plain function: an ask to an actor with room parks only in
        :func:`_wait_reply`, with no frame of ours around it."""
        what = ("a reply from actor", self._ref.name)
        if self._posted:
            return _wait_reply(self._rt, self._reply, timeout, what)
        self._posted = True
        return self._post_then_wait(timeout, what)

    async def _post_then_wait(self, timeout: float | None,
                              what: object) -> tuple[Outcome, Any]:
        rt = self._rt
        start = rt.now()
        await self._post(timeout)
        left = None if timeout is None else timeout - (rt.now() - start)
        return await _wait_reply(rt, self._reply, left, what)
