"""ActorRef: the only way to reach an actor (``tell``, ``send``, ``ask``, ``stop``)."""

from __future__ import annotations

import asyncio
import math
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final

import anyio

from labkit._runtime.core import (
    _RUNTIME,
    _TASK,
    Parker,
    Runtime,
    blocking,
    current,
    current_task,
    unblocked,
)
from labkit._runtime.rows import EventKind
from labkit.actor._errors import ActorFailed, AskTimeout, Undeliverable, WrongMessageType
from labkit.actor._mailbox import Envelope, Mailbox, MailboxStatistics, Signal, Stop
from labkit.channel import FULL, OK

if TYPE_CHECKING:
    from labkit.actor._system import _Cell

__all__ = ("ActorRef", "PendingReply")

#: What an asker is woken with: (REPLIED, value), (FAILED, exc), (DEAD, letter) or
#: (TIMED_OUT, None) from its own timer.
REPLIED: Final = 0
FAILED: Final = 1
DEAD: Final = 2
TIMED_OUT: Final = 3
_TIMED_OUT = (TIMED_OUT, None)

_STOP = Stop()
_DRAIN = Stop(drain=True)

#: The actor whose task is running now. Tasks an actor starts inherit it, so a match with
#: the current task is checked before it counts as the sender.
CURRENT_CELL: ContextVar[_Cell | None] = ContextVar("labkit_actor", default=None)


def _sender() -> tuple[ActorRef | None, str]:
    """The ref and name of whoever is sending now: the current actor, or a plain task."""
    task = current_task()
    cell = CURRENT_CELL.get()
    if cell is not None and cell.task is task:
        return cell.ref, cell.name
    return None, task.name


async def _wait_reply(rt: Runtime, parker: Parker, timeout: float, what: object) -> Any:
    """Park on ``parker`` for at most ``timeout`` seconds; ``(TIMED_OUT, None)`` if no wake.

    On asyncio a loop timer wakes the parker (no cancel scope: an ask stays cheap); on trio
    a cancel scope is already cheap.
    """
    if rt.backend == "asyncio":
        timer = asyncio.get_running_loop().call_later(timeout, parker.wake, _TIMED_OUT)
        try:
            return await rt.park(parker, what)
        finally:
            timer.cancel()
    with anyio.move_on_after(timeout):
        return await rt.park(parker, what)
    return parker.result() if parker.woken else _TIMED_OUT


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
                           msg_type=type(message).__name__, depth=len(self._mailbox), model="actor",
                           detail="wrong message type")
            raise WrongMessageType(self.name, type(cell.actor).__name__, accepts, message)

    _check = check

    # -- sending ---------------------------------------------------------------------------

    def tell(self, message: Any, *, sender: ActorRef | None = None,
             corr_id: int | None = None, msg_id: int | None = None) -> bool:
        """Enqueue ``message`` without waiting; the overflow policy decides on a full
        mailbox. True if it was queued; False if it became a dead letter.

        ``corr_id``: a correlation id the handler sees as ``ctx.corr_id`` and the trace rows
        carry (a router gives all copies of one message the same). ``msg_id``: this copy's
        id, taken ahead from ``Runtime.next_msg_id()`` (default: a fresh one)."""
        # Mailbox.put, its usual case in this frame: the message goes through the
        # channel's fast path (Channel.offer) and gets the mailbox's trace row.
        if self._accepts is not None:
            self._check(message)
        rt = _RUNTIME.get()
        if rt is None:
            rt = current()  # raises NotInRunError with the explanation
        if sender is None:
            task = _TASK.get()  # _sender(), inlined: a tell is the commonest send
            cell = CURRENT_CELL.get()
            if cell is not None and cell.task is task:
                sender, sender_name = cell.ref, cell.name
            else:
                sender_name = task.name
        else:
            sender_name = sender.name
        env: Envelope = (message, sender, sender_name, corr_id, None)
        if msg_id is None:
            msg_id = next(rt._msg_ids)
        mailbox = self._mailbox
        status = mailbox._chan.put(env, msg_id)
        if status == OK:
            if rt.trace_on:
                mailbox._record(rt, EventKind.TELL, env, msg_id)
            return True
        return mailbox.refused(rt, env, msg_id, status, EventKind.TELL)

    async def send(self, message: Any, *, sender: ActorRef | None = None,
                   corr_id: int | None = None, msg_id: int | None = None) -> bool:
        """Enqueue ``message``, waiting while the mailbox is full (every policy). False if
        the actor stopped first (the message is then a dead letter). ``corr_id`` and
        ``msg_id`` as for :meth:`tell`."""
        # Mailbox.put_wait, not awaited: this frame awaits only when the mailbox is full.
        if self._accepts is not None:
            self._check(message)
        rt = _RUNTIME.get() or current()  # current() raises NotInRunError, explained
        if sender is None:
            sender, sender_name = _sender()
        else:
            sender_name = sender.name
        env: Envelope = (message, sender, sender_name, corr_id, None)
        if msg_id is None:
            msg_id = next(rt._msg_ids)
        mailbox = self._mailbox
        status = mailbox.offer(rt, env, msg_id, EventKind.SEND)
        if status != FULL:
            return status == OK
        return await mailbox.wait_for_space(rt, env, msg_id)

    async def ask(self, message: Any, *, timeout: float | None = None,
                  corr_id: int | None = None) -> Any:
        """Send ``message`` (waiting for space) and wait for the reply, all within
        ``timeout`` seconds (``None``: no limit). ``corr_id``: the id to ask with (taken
        ahead from ``Runtime.next_msg_id()``); an ask's id is also its correlation id.

        Raises :class:`AskTimeout` (a ``TimeoutError``) on timeout, :class:`ActorFailed`
        if the handler raised, :class:`Undeliverable` if the message became a dead letter.
        """
        _check_timeout(timeout)
        if self._accepts is not None:
            self._check(message)
        rt = _RUNTIME.get()
        if rt is None:
            rt = current()  # raises NotInRunError with the explanation
        sender, sender_name = _sender()
        parker = rt.parker()
        msg_id = next(rt._msg_ids) if corr_id is None else corr_id
        env: Envelope = (message, sender, sender_name, msg_id, parker)
        mailbox = self._mailbox
        what = ("a reply from actor", self.name)  # formatted only for a deadlock report
        if timeout is None:
            # Mailbox.put_wait, not awaited: this frame awaits only when the mailbox is
            # full. A closed mailbox makes the message a dead letter, which wakes the parker.
            if mailbox.offer(rt, env, msg_id, EventKind.SEND) == FULL:
                await mailbox.wait_for_space(rt, env, msg_id)
            # Runtime.park's steps, without its frame.
            task = blocking(what)
            try:
                outcome = await parker.wait()
            finally:
                task.blocked_on = None
            unblocked(task)
        else:
            start = rt.now()
            if mailbox.offer(rt, env, msg_id, EventKind.SEND) == FULL:
                queued = False
                with anyio.move_on_after(timeout):
                    await mailbox.wait_for_space(rt, env, msg_id)
                    queued = True
                if not queued:
                    raise self._timed_out(rt, sender_name, message, timeout, msg_id)
            outcome = await _wait_reply(rt, parker, timeout - (rt.now() - start), what)
        kind, value = outcome
        if kind == REPLIED:
            return value
        return self._settle(rt, outcome, env, msg_id, timeout)

    def ask_nowait(self, message: Any, *, corr_id: int | None = None,
                   msg_id: int | None = None) -> PendingReply:
        """Send ``message`` as an ask without waiting for the reply (nor, on a full mailbox,
        for space): ``await pending.wait(timeout)`` later gets the reply, or raises as
        :meth:`ask` does. Ask many actors at once this way (scatter-gather).

        ``corr_id``: the correlation id (default: the message's id, as for :meth:`ask`);
        ``msg_id``: the message's id, taken ahead from ``Runtime.next_msg_id()`` (default:
        ``corr_id`` if given, else a fresh id)."""
        if self._accepts is not None:
            self._check(message)
        rt = _RUNTIME.get() or current()  # current() raises NotInRunError, explained
        sender, sender_name = _sender()
        parker = rt.parker()
        if msg_id is None:
            msg_id = next(rt._msg_ids) if corr_id is None else corr_id
        env: Envelope = (message, sender, sender_name,
                         msg_id if corr_id is None else corr_id, parker)
        posted = self._mailbox.offer(rt, env, msg_id, EventKind.SEND) != FULL
        return PendingReply(self, rt, env, msg_id, posted)

    def _settle(self, rt: Runtime, outcome: tuple[int, Any], env: Envelope, msg_id: int,
                timeout: float | None, reason: str = "ask timed out") -> Any:
        """An asker's outcome as its reply or its error: the one place an ask ends."""
        kind, value = outcome
        if kind == REPLIED:
            return value
        message = env[0]
        if kind == FAILED:
            raise ActorFailed(self.name, message, value) from value
        if kind == DEAD:
            raise Undeliverable(value)
        raise self._timed_out(rt, env[2], message, timeout, msg_id, env[3], reason)

    def _timed_out(self, rt: Runtime, sender_name: str, message: Any, timeout: float | None,
                   msg_id: int, corr_id: int | None = None,
                   reason: str = "ask timed out") -> AskTimeout:
        rt.record(EventKind.TIMEOUT, actor=sender_name, peer=self.name, msg_id=msg_id,
                  corr_id=msg_id if corr_id is None else corr_id, msg_type=type(message).__name__,
                  depth=len(self._mailbox), model="actor", detail=reason)
        return AskTimeout(self.name, message, timeout or 0.0, msg_id)

    def _forward(self, env: Envelope) -> bool:
        if self._accepts is not None:
            self._check(env[0])
        rt = current()
        return self._mailbox.put(rt, env, rt.next_msg_id(), EventKind.FORWARD)

    # -- stopping and signals ------------------------------------------------------------------

    def stop(self, *, drain: bool = False) -> None:
        """Ask the actor to stop, on the system lane (ahead of queued user messages).

        ``drain=False``: queued user messages become dead letters ("actor stopped").
        ``drain=True``: the mailbox closes to new messages and the actor handles what is
        queued before stopping. Returns at once; ``await ref.wait_stopped()`` to wait.
        """
        if not self._cell.stopping:
            self._mailbox.put_system(_DRAIN if drain else _STOP)

    def signal(self, signal: Signal) -> None:
        """Deliver a system signal (supervision's seam): never dropped by overflow, handled
        before user messages by the actor's ``on_signal``. To a stopped actor it becomes a
        dead letter."""
        if not isinstance(signal, Signal):
            raise TypeError(f"signal must be a labkit.actor.Signal, got "
                            f"{type(signal).__name__}; use tell() for user messages")
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
        return self._env[0]

    @property
    def corr_id(self) -> int:
        corr_id = self._env[3]
        assert corr_id is not None
        return corr_id

    @property
    def done(self) -> bool:
        """True once the outcome (reply, failure, dead letter or timeout) is in."""
        parker = self._env[4]
        assert parker is not None
        return parker.woken

    async def wait_posted(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) for space in a full mailbox; at once if the
        message is already queued. False if it could not be queued: after a timeout the
        ask has timed out (and the message is a dead letter), or the actor stopped."""
        if self._posted:
            return True
        _check_timeout(timeout)
        self._posted = True
        return await self._post(timeout)

    def post_in_background(self, timeout: float | None = None) -> None:
        """If the mailbox was full, wait for its space (at most ``timeout`` seconds) in a
        task of its own, so the caller can go on asking others; :meth:`wait` then waits
        only for the reply (and times out if the message never got in). Nothing to do if
        the message is already queued."""
        if self._posted:
            return
        _check_timeout(timeout)
        self._posted = True  # wait() must not wait for space a second time
        self._rt.start_task(self._post, (timeout,), prefix=f"post-{self._ref.name}",
                            model="actor")

    async def _post(self, timeout: float | None) -> bool:
        rt = self._rt
        env = self._env
        mailbox = self._ref._mailbox
        if timeout is None:
            return await mailbox.wait_for_space(rt, env, self.msg_id)
        with anyio.move_on_after(timeout):
            return await mailbox.wait_for_space(rt, env, self.msg_id)
        parker = env[4]
        assert parker is not None
        parker.wake(_TIMED_OUT)
        return False

    async def wait(self, timeout: float | None = None, *,
                   reason: str = "ask timed out") -> Any:
        """The reply, within ``timeout`` seconds (``None``: no limit), counting any wait
        for mailbox space. ``reason``: the ``timeout`` trace row's detail."""
        _check_timeout(timeout)
        rt = self._rt
        left = timeout
        if not self._posted:
            start = rt.now()
            await self.wait_posted(timeout)
            if timeout is not None:
                left = timeout - (rt.now() - start)
        parker = self._env[4]
        assert parker is not None
        if parker.woken:
            outcome = parker.result()
        else:
            what = ("a reply from actor", self._ref.name)
            if left is None:
                outcome = await rt.park(parker, what)
            elif left <= 0:
                parker.wake(_TIMED_OUT)
                outcome = parker.result()
            else:
                outcome = await _wait_reply(rt, parker, left, what)
        return self._ref._settle(rt, outcome, self._env, self.msg_id, timeout, reason)


def check_seconds(value: object, what: str) -> None:
    """A non-negative number of seconds (``inf`` allowed), else a ValueError saying so."""
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or math.isnan(value) or value < 0):
        raise ValueError(f"{what} must be a non-negative number of seconds, got {value!r}")


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None:
        check_seconds(timeout, "timeout")
