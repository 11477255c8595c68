"""ActorSystem and the actor loop: one task per actor, parked on its mailbox when idle."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

import anyio

from labkit._check import check_bool, check_callable, check_int, check_str, describe
from labkit._runtime.core import Runtime, TaskRecord, current
from labkit._runtime.parking import ParkingLot
from labkit._runtime.rows import EventKind
from labkit.actor._actor import (
    Actor,
    Context,
    Directive,
    ExitReason,
    Failure,
    Supervisor,
    Terminated,
)
from labkit.actor._dead import DeadLetter
from labkit.actor._errors import ActorError, Escalation
from labkit.actor._mailbox import (
    Envelope,
    Mailbox,
    MailboxStatistics,
    Signal,
    Stop,
    new_envelope,
)
from labkit.actor._ref import CURRENT_CELL, DEAD, FAILED, REPLIED, ActorRef
from labkit.channel import CLOSED, EMPTY

__all__ = ("ActorSystem", "current_cell")

_MODEL = "actor"
# Kinds the message loop records, bound once (an enum member lookup costs a call).
_RECEIVE, _REPLY, _HANDLE_END = EventKind.RECEIVE, EventKind.REPLY, EventKind.HANDLE_END


def current_cell() -> _Cell | None:
    """The actor whose task is running now (inherited by tasks it starts: check ``task``)."""
    return CURRENT_CELL.get()


def _stop_all(failure: Failure) -> Directive:
    """The system's default supervisor: a failed actor stops. An :class:`Escalation` (a
    top-level ``labkit.supervision.Supervisor`` gave up) ends the run, the way an
    unrecovered panic ends a Go program (G31)."""
    if isinstance(failure.error, Escalation):
        raise failure.error
    return Directive.STOP


class _Cell:
    """The runtime side of one actor: its instance, mailbox, task and message loop."""

    __slots__ = ("_watchers", "accepts", "actor", "alive", "args", "children", "ctx",
                 "exit_error", "exit_reason", "factory", "failures", "kwargs", "mailbox",
                 "name", "on_exit", "over", "parent", "ref", "rt", "started", "stopping",
                 "supervisor", "system", "task", "watched_by")

    def __init__(self, system: ActorSystem, rt: Runtime, factory: Callable[..., Actor],
                 args: tuple[Any, ...], actor: Actor, mailbox: Mailbox,
                 supervisor: Supervisor | None, parent: _Cell | None,
                 kwargs: dict[str, Any] | None = None) -> None:
        self.system = system
        self.rt = rt
        self.factory = factory
        self.args = args
        self.kwargs = kwargs or {}
        self.actor = actor
        self.accepts = type(actor).accepts
        self.mailbox = mailbox
        self.supervisor = supervisor
        self.parent = parent
        self.children: list[_Cell] | None = None  # made by the first child
        self.ctx = Context(self)
        self.failures = 0
        self.alive = True
        self.stopping = False
        self.name = ""
        self.ref: ActorRef = None  # type: ignore[assignment]  # set by ActorSystem._spawn
        self.task: TaskRecord = None  # type: ignore[assignment]
        #: Tasks waiting for this actor to start, end an incarnation or stop; made by the
        #: first one (most actors have none). Waiters re-check their condition when woken.
        self._watchers: ParkingLot | None = None
        #: Actors that watch this one (``ctx.watch``): each gets a ``Terminated``.
        self.watched_by: list[_Cell] | None = None
        #: Why the actor stopped, for ``Terminated``: "normal", "failed" or "escalated".
        self.exit_reason: ExitReason = "normal"
        self.exit_error: BaseException | None = None
        #: Set by a ``labkit.supervision.Supervisor`` for its children: an incarnation that
        #: ends (stop, failure, kill) keeps the mailbox and calls ``on_exit(cell)``; the
        #: supervisor then restarts it in place or stops it for good (:meth:`finalize`).
        self.on_exit: Callable[[_Cell], None] | None = None
        self.started = False  #: this incarnation's on_start has returned (or failed)
        self.over = False     #: this incarnation's task has ended

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        CURRENT_CELL.set(self)
        rt = self.rt
        mailbox = self.mailbox
        chan = mailbox._chan
        ctx = self.ctx
        idle = ("a message for actor", self.name)
        try:
            running = await self._start()
            self.started = True
            if self._watchers is not None:
                self._watchers.unpark_all()
            while running:
                signals = mailbox._signals
                if signals:
                    running = await self._signal(signals.pop(0))
                    continue
                status, env, msg_id = chan.take()
                if status is EMPTY:
                    # The actor's one wait, written here only: it stands as the channel's
                    # receiver (Channel.add_recv_waiter), so a tell hands it the message
                    # directly, and Mailbox.put_system wakes it with EMPTY (look at the
                    # lane): a plain channel receive knows no wake-up without a value.
                    parker = rt.parker()
                    chan.add_recv_waiter(parker, 0)
                    try:
                        _case, got = await rt.park(parker, idle)
                    except BaseException:
                        chan.withdraw_receiver(parker)  # a message handed over goes back
                        raise
                    if got is EMPTY:
                        continue
                    if got is CLOSED:
                        break
                    env, msg_id = got
                elif status is CLOSED:  # drained after stop(drain=True)
                    break
                # Handle one user message, in this frame (no call per message).
                message, _sender, sender_name, corr_id, reply, _key = env
                if rt.trace_on:  # Runtime.record's arguments in order (every message)
                    rt.record(_RECEIVE, self.name, sender_name, msg_id, corr_id,
                              type(message).__name__, len(chan.buffer), _MODEL, None)
                ctx._env = env
                ctx._msg_id = msg_id
                ctx._replied = False
                try:
                    result = await self.actor.receive(message, ctx)
                except Exception as exc:  # noqa: BLE001 - handed to the supervisor
                    ctx._env = None
                    mailbox.processed += 1
                    mailbox.failed += 1
                    running = await self._failed(exc, env, msg_id, "receive")
                    continue
                ctx._env = None
                mailbox.processed += 1
                if reply is not None and not ctx._replied:
                    if reply.wake((REPLIED, result)):  # answer(), its usual case inlined
                        if rt.trace_on:
                            rt.record(_REPLY, actor=self.name, peer=sender_name,
                                      corr_id=corr_id, msg_type=type(result).__name__,
                                      model=_MODEL)
                    else:
                        self.answer(env, msg_id, result)
                if rt.trace_on:
                    rt.record(_HANDLE_END, self.name, sender_name, msg_id, corr_id,
                              type(message).__name__, len(chan.buffer), _MODEL, None)
            await self._finish()
        except BaseException:  # cancelled (also in on_stop: a shutdown time ran out)
            self._abandon()
            raise

    async def _start(self) -> bool:
        try:
            if self.actor is None:  # an in-place restart by a supervisor: build it here,
                self.actor = self._build()  # so a failing constructor is a failure too
            await self.actor.on_start(self.ctx)
        except Exception as exc:  # noqa: BLE001 - a user hook's failure is the actor's
            # A failing on_start stops the actor (there is no state to resume from), or
            # ends this incarnation of a supervised child: its supervisor decides.
            self._record_failure(exc, None, None, "on_start")
            self._set_exit(exc)
            return False
        return True

    def _build(self) -> Actor:
        actor = self.factory(*self.args, **self.kwargs)
        if not isinstance(actor, Actor):
            raise TypeError(f"actor factory {self.factory!r} must return an Actor, got "
                            f"{describe(actor)}")
        return actor

    def _set_exit(self, exc: BaseException | None) -> None:
        if exc is None:
            self.exit_reason, self.exit_error = "normal", None
        else:
            self.exit_reason = "escalated" if isinstance(exc, Escalation) else "failed"
            self.exit_error = exc

    async def _signal(self, signal: Signal) -> bool:
        """Handle one system message; False when the actor must stop."""
        if isinstance(signal, Stop):
            if not signal.drain:
                return False
            self.mailbox.close("actor stopping: mailbox closed while it drains")
            return True
        try:
            await self.actor.on_signal(signal, self.ctx)
        except Exception as exc:  # noqa: BLE001 - handed to the supervisor
            return await self._failed(exc, None, None, "signal", signal)
        return True

    # -- replies -------------------------------------------------------------------------------

    def answer(self, env: Envelope, msg_id: int | None, value: Any, again: bool = False) -> bool:
        """Deliver ``value`` as the reply to ``env``: to its asker, or told to its sender."""
        rt = self.rt
        _message, sender, sender_name, corr_id, reply, _key = env
        if reply is not None:
            if reply.wake((REPLIED, value)):
                if rt.trace_on:
                    rt.record(_REPLY, actor=self.name, peer=sender_name, corr_id=corr_id,
                              msg_type=type(value).__name__, model=_MODEL)
                return True
            reason = ("the ask was already answered" if again
                      else "reply came after the asker stopped waiting (ask timed out)")
        elif sender is not None:
            ref: ActorRef = sender
            if ref._accepts is not None:
                ref.check(value)
            told = new_envelope(Envelope, (value, self.ref, self.name, msg_id, None, None))
            return ref._mailbox.tell(rt, told, rt.next_msg_id())
        else:
            reason = (f"nobody to reply to: the message came from {sender_name!r}, not "
                      f"an actor (use ask to get a reply)")
        self.system._lost(rt, value, sender_name, self.name, reason, None, corr_id, None)
        return False

    # -- failures ------------------------------------------------------------------------------

    def _record_failure(self, exc: Exception, env: Envelope | None, msg_id: int | None,
                        phase: str) -> None:
        self.failures += 1
        rt = self.rt
        rt.record(EventKind.FAIL, actor=self.name, peer=None if env is None else env.sender_name,
                  msg_id=msg_id, corr_id=None if env is None else env.corr_id,
                  msg_type=type(exc).__name__, depth=len(self.mailbox), model=_MODEL,
                  detail=f"{phase}: {type(exc).__name__}: {exc}"[:200])

    async def _failed(self, exc: Exception, env: Envelope | None, msg_id: int | None,
                      phase: str, signal: Signal | None = None) -> bool:
        """Record the failure, lose the message with a reason, ask the supervisor."""
        self._record_failure(exc, env, msg_id, phase)
        rt = self.rt
        if env is not None:
            if env.reply is not None and not self.ctx._replied:
                env.reply.wake((FAILED, exc))
            self.mailbox._dead(rt, env, msg_id, f"handler raised {type(exc).__name__}: {exc}"[:200])
        self._set_exit(exc)
        if self.on_exit is not None:  # a supervised child: its supervisor decides, after
            return False              # this incarnation has ended (see _finish)
        decide = self.supervisor or self.system.supervisor
        failure = Failure(self.ref, exc, signal if env is None else env.message, rt.now(),
                          self.failures, phase)
        directive = decide(failure)
        if inspect.isawaitable(directive):
            directive = await directive
        if directive is Directive.RESUME:
            self._set_exit(None)
            return True
        if directive is Directive.RESTART:
            self._set_exit(None)
            return await self._restart(exc)
        if directive is Directive.STOP:
            return False
        raise TypeError(f"a supervisor must return a labkit.actor.Directive, got "
                        f"{describe(directive)}")

    async def _restart(self, exc: Exception) -> bool:
        rt = self.rt
        rt.record(EventKind.RESTART, actor=self.name, msg_type=type(exc).__name__,
                  depth=len(self.mailbox), model=_MODEL,
                  detail=f"after {type(exc).__name__}; delay 0 s")
        await self._call_on_stop()
        self.actor = self._build()
        return await self._start()

    # -- supervised children (labkit.supervision) ---------------------------------------------

    def reincarnate(self) -> None:
        """Start a new incarnation in a new task: same ref, same mailbox (what is queued is
        kept), a fresh actor from the factory (built in the task, before ``on_start``)."""
        self.actor = None  # type: ignore[assignment]  # built by _start
        self.ctx = Context(self)
        self.started = self.over = False
        self._set_exit(None)
        self.task = self.rt.start_task(self.run, (), prefix="actor", model=_MODEL,
                                       name=self.name)

    async def wait_started(self) -> None:
        """Wait until this incarnation's ``on_start`` has returned (or failed)."""
        while not (self.started or self.over):
            await self._park(f"actor {self.name} to start")

    async def wait_over(self) -> None:
        """Wait until this incarnation's task has ended."""
        while not self.over:
            await self._park(f"actor {self.name} to stop")

    async def _park(self, what: str) -> None:
        if self._watchers is None:
            self._watchers = ParkingLot()
        await self._watchers.park(what)

    def _ended(self) -> None:
        """This incarnation is over: tell the waiters, then the supervisor."""
        self.over = True
        if self._watchers is not None:
            self._watchers.unpark_all()
        on_exit = self.on_exit
        if on_exit is not None:
            on_exit(self)

    def finalize(self, reason: str) -> None:
        """Stop a supervised child for good (its supervisor will not restart it): what is
        queued becomes dead letters with ``reason``; watchers get ``Terminated``."""
        self.on_exit = None
        self._close(reason)
        self._gone()

    # -- death watch ----------------------------------------------------------------------------

    def watch(self, watcher: _Cell) -> None:
        if not self.alive:  # Akka: watching a dead actor delivers Terminated at once
            watcher._terminated(self)
            return
        if self.watched_by is None:
            self.watched_by = []
        if watcher not in self.watched_by:
            self.watched_by.append(watcher)

    def unwatch(self, watcher: _Cell) -> None:
        if self.watched_by is not None and watcher in self.watched_by:
            self.watched_by.remove(watcher)

    def _terminated(self, dead: _Cell) -> None:
        """Queue ``Terminated`` for ``dead`` as an ordinary message, past the capacity: a
        death notice is never dropped by overflow (it is a dead letter only if this actor
        has stopped too)."""
        rt = self.rt
        note = Terminated(dead.ref, dead.exit_reason, dead.exit_error)
        env = new_envelope(Envelope, (note, dead.ref, dead.name, None, None, None))
        msg_id = rt.next_msg_id()
        mailbox = self.mailbox
        if mailbox._chan.closed or not self.alive:
            mailbox._dead(rt, env, msg_id, mailbox._closed_reason)
            return
        mailbox._chan.force_put(env, msg_id)
        if rt.trace_on:
            mailbox._record(rt, EventKind.TELL, env, msg_id)

    # -- stopping ------------------------------------------------------------------------------

    async def _call_on_stop(self) -> None:
        try:
            await self.actor.on_stop(self.ctx)
        except Exception as exc:  # noqa: BLE001 - recorded; the actor stops anyway
            self._record_failure(exc, None, None, "on_stop")

    def _close(self, reason: str) -> None:
        """Close the mailbox and turn what is queued into dead letters with ``reason``."""
        self.stopping = True
        rt = self.rt
        mailbox = self.mailbox
        mailbox.close(reason)
        for msg_id, env in mailbox.discard():
            mailbox._dead(rt, env, msg_id, reason)
        for signal in mailbox.take_signals():
            if not isinstance(signal, Stop):
                self.system._lost(rt, signal, self.name, None, reason, None, None, None)

    async def _finish(self) -> None:
        """Orderly stop: mailbox closed and emptied, children stopped, then ``on_stop``.

        A supervised child's incarnation ends without closing its mailbox: children
        stopped, ``on_stop``, then its supervisor decides (restart or :meth:`finalize`)."""
        if self.on_exit is not None:
            await self._stop_children()
            if self.actor is not None:  # None: the constructor failed
                await self._call_on_stop()
            self._ended()
            return
        self._close("actor stopped")
        await self._stop_children()
        await self._call_on_stop()
        self._close("actor stopped")  # anything that came in during on_stop
        self._gone()

    async def _stop_children(self) -> None:
        if self.actor is not None:
            await self.actor._stop_children(self.ctx)  # a Supervisor: in order, one by one
        children = list(self.children or ())
        for child in children:
            child.ref.stop()
        for child in children:
            await child.wait_stopped()

    def _abandon(self) -> None:
        """The task was cancelled (the run or the system is ending): no more awaiting."""
        ctx = self.ctx
        if ctx._env is not None:
            self.mailbox._dead(self.rt, ctx._env, ctx._msg_id, "actor cancelled while handling it")
            ctx._env = None
        for child in self.children or ():
            child.ref.stop()
        if self.on_exit is not None and not self.rt._closing:
            self._ended()  # killed by its supervisor (brutal_kill, shutdown timeout)
            return
        self._close("actor cancelled")
        self._gone()

    def _gone(self) -> None:
        self.alive = False
        self.over = True
        if self.system._cells.get(self.name) is self:
            del self.system._cells[self.name]
        siblings = None if self.parent is None else self.parent.children
        if siblings is not None and self in siblings:
            siblings.remove(self)
        if self._watchers is not None:
            self._watchers.unpark_all()
        watchers, self.watched_by = self.watched_by, None
        for watcher in watchers or ():
            watcher._terminated(self)

    async def wait_stopped(self) -> None:
        while self.alive:
            await self._park(f"actor {self.name} to stop")


class ActorSystem:
    """Owns a group of actors: ``async with ActorSystem() as system:``.

    ``system.spawn(ActorClass, *args, name=None, mailbox=None)`` starts an actor (one task
    of the run) and returns its :class:`ActorRef`. On exit every actor is stopped and
    awaited (children after their parents' stop request, ``on_stop`` last). Lost messages
    are listed in ``system.dead_letters``. ``supervisor`` decides what a failing handler
    leads to (default: the actor stops). ``drain=True`` lets every actor handle what is
    queued before it stops on exit; by default queued messages become dead letters.
    """

    def __init__(self, name: str = "system", *, supervisor: Supervisor | None = None,
                 drain: bool = False) -> None:
        self.name = check_str("name", name)
        self.drain = check_bool("drain", drain)
        self.supervisor: Supervisor = (_stop_all if supervisor is None
                                       else check_callable("supervisor", supervisor))
        self.dead_letters: list[DeadLetter] = []
        self._cells: dict[str, _Cell] = {}
        self._rt: Runtime | None = None
        self._open = False

    def __repr__(self) -> str:
        return f"<ActorSystem {self.name} actors={len(self._cells)}>"

    async def __aenter__(self) -> ActorSystem:
        if self._open:
            raise RuntimeError(f"actor system {self.name!r} is already running")
        self._rt = current()
        self._open = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._open = False
        cells = list(self._cells.values())
        if exc is not None and isinstance(exc, anyio.get_cancelled_exc_class()):
            for cell in cells:
                cell.task.cancel()
            return
        await self.shutdown(cells, drain=self.drain)

    async def shutdown(self, cells: list[_Cell] | None = None, *, drain: bool = False) -> None:
        """Stop every actor and wait until all have stopped (``drain``: see ``ref.stop``)."""
        check_bool("drain", drain)
        if cells is None:
            cells = list(self._cells.values())
        for cell in cells:
            if cell.parent is None:
                cell.ref.stop(drain=drain)
        for cell in cells:
            await cell.wait_stopped()

    # -- actors --------------------------------------------------------------------------------

    def spawn(self, factory: Callable[..., Actor], *args: Any, name: str | None = None,
              mailbox: Mailbox | None = None, supervisor: Supervisor | None = None,
              **kwargs: Any) -> ActorRef:
        """Start ``factory(*args, **kwargs)`` (an :class:`Actor` subclass or a function
        returning an actor) as a top-level actor. ``name`` defaults to ``actor-N``
        (numbered per run)."""
        return self._spawn(factory, args, name, mailbox, supervisor, None, kwargs)

    def _spawn(self, factory: Callable[..., Actor], args: tuple[Any, ...], name: str | None,
               mailbox: Mailbox | None, supervisor: Supervisor | None,
               parent: _Cell | None, kwargs: dict[str, Any] | None = None,
               on_exit: Callable[[_Cell], None] | None = None) -> ActorRef:
        rt = self._rt
        if rt is None or not self._open:
            raise ActorError(f"actor system {self.name!r} is not running: spawn actors inside "
                             f"'async with ActorSystem() as system:'")
        if isinstance(factory, Actor):
            raise TypeError(f"spawn takes the actor's class (or a factory) and its arguments, "
                            f"e.g. system.spawn({type(factory).__name__}, ...), not an instance")
        if not callable(factory):
            raise TypeError(f"spawn takes an Actor subclass or a factory, got "
                            f"{describe(factory)}")
        if name is not None:
            check_str("actor name", name)
            if name in self._cells:
                raise ValueError(f"an actor named {name!r} is already running in this system")
        if mailbox is not None and not isinstance(mailbox, Mailbox):
            raise TypeError(f"mailbox must be a labkit.actor.Mailbox or None, got "
                            f"{describe(mailbox)}")
        if supervisor is not None:
            check_callable("supervisor", supervisor)
        actor = factory(*args, **(kwargs or {}))
        if not isinstance(actor, Actor):
            raise TypeError(f"actor factory {factory!r} must return an Actor, got "
                            f"{describe(actor)}")
        box = Mailbox() if mailbox is None else mailbox
        cell = _Cell(self, rt, factory, args, actor, box, supervisor, parent, kwargs)
        cell.on_exit = on_exit
        box._attach(self)  # refuse a second owner before any task starts
        cell.task = rt.start_task(cell.run, (), prefix="actor", model=_MODEL, name=name)
        cell.name = cell.task.name
        box._set_name(cell.name)
        cell.ref = ActorRef(cell)
        self._cells[cell.name] = cell
        if parent is not None:
            if parent.children is None:
                parent.children = []
            parent.children.append(cell)
        return cell.ref

    @property
    def actors(self) -> tuple[ActorRef, ...]:
        """The live actors, in spawn order."""
        return tuple(cell.ref for cell in self._cells.values())

    def lookup(self, name: str) -> ActorRef | None:
        """The live actor called ``name``, or ``None``."""
        cell = self._cells.get(check_str("name", name))
        return None if cell is None else cell.ref

    def statistics(self) -> tuple[MailboxStatistics, ...]:
        """Every live actor's mailbox statistics, in spawn order."""
        return tuple(cell.mailbox.statistics() for cell in self._cells.values())

    # -- dead letters --------------------------------------------------------------------------

    def dead_letter(self, message: Any, recipient: str, reason: str, *,
                    sender: str | None = None, msg_id: int | None = None) -> DeadLetter:
        """Record a lost message (for layers that shed load or route into the void)."""
        check_str("recipient", recipient)
        check_str("reason", reason)
        if sender is not None:
            check_str("sender", sender)
        if msg_id is not None:
            check_int("msg_id", msg_id, minimum=0)
        return self._lost(current(), message, recipient, sender, reason, msg_id, None, None)

    def _lost(self, rt: Runtime, message: Any, recipient: str, sender: str | None,
              reason: str, msg_id: int | None, corr_id: int | None,
              depth: int | None) -> DeadLetter:
        letter = DeadLetter(message, recipient, sender, reason, rt.now(), msg_id)
        self.dead_letters.append(letter)
        rt.record(EventKind.DEAD_LETTER, actor=recipient, peer=sender, msg_id=msg_id,
                  corr_id=corr_id, msg_type=type(message).__name__, depth=depth, model=_MODEL,
                  detail=reason)
        return letter

    def _lost_env(self, rt: Runtime, recipient: str, env: Envelope, msg_id: int | None,
                  reason: str, depth: int) -> None:
        message, _sender, sender_name, corr_id, reply, _key = env
        letter = self._lost(rt, message, recipient, sender_name, reason, msg_id, corr_id, depth)
        if reply is not None:
            reply.wake((DEAD, letter))
