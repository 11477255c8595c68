"""The :class:`Actor` base class, its :class:`Context`, and the failure seam for supervision."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from labkit._check import describe
from labkit._runtime.rows import EventKind
from labkit.actor._mailbox import Envelope, Mailbox, Signal, Stop
from labkit.actor._ref import FAILED, ActorRef

if TYPE_CHECKING:
    from labkit.actor._system import ActorSystem, _Cell

__all__ = ("Actor", "Context", "Directive", "ExitReason", "Failure", "Supervisor", "Terminated")

_STOP = Stop()


class Actor:
    """Subclass and override ``async def receive(self, msg, ctx)``.

    An actor handles one message at a time, so its state needs no locks. ``receive``'s return
    value answers an ``ask`` (or call ``ctx.reply(v)`` earlier). Lifecycle: ``on_start``
    before the first message, ``on_stop`` after the last (and after its children stopped).
    Set ``accepts = (Inc, Get)`` to refuse other message types at ``tell`` time with
    :class:`~labkit.actor.WrongMessageType`, as a typed Rust channel would refuse them.

    Example::

        class Counter(Actor):
            def __init__(self) -> None:
                self.n = 0

            async def receive(self, msg, ctx):
                self.n += msg
                return self.n
    """

    accepts: ClassVar[tuple[type, ...] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepts = cls.__dict__.get("accepts")
        if accepts is not None:
            if isinstance(accepts, type):
                cls.accepts = (accepts,)
            elif not (isinstance(accepts, tuple) and all(isinstance(t, type) for t in accepts)):
                raise TypeError(f"{cls.__name__}.accepts must be a type or a non-empty tuple "
                                f"of types, got {describe(accepts)}")
            elif not accepts:
                raise ValueError(f"{cls.__name__}.accepts must be a type or a non-empty tuple "
                                 f"of types, got an empty tuple (leave accepts out to accept "
                                 f"any message)")
        receive = cls.__dict__.get("receive")
        if receive is not None and not inspect.iscoroutinefunction(receive):
            raise TypeError(f"{cls.__name__}.receive must be 'async def receive(self, msg, "
                            f"ctx)'")

    async def on_start(self, ctx: Context) -> None:
        """Called once in the actor's task before the first message."""

    async def receive(self, msg: Any, ctx: Context) -> Any:
        """Handle one message. The return value answers an ``ask``."""
        raise NotImplementedError(f"{type(self).__name__} must override async def "
                                  f"receive(self, msg, ctx)")

    async def on_signal(self, signal: Signal, ctx: Context) -> None:
        """Handle a system signal other than ``Stop`` (a seam for supervision).

        The default records it as a dead letter: nobody here understands it.
        """
        ctx.system.dead_letter(signal, ctx.name, "unhandled system signal")

    async def on_stop(self, ctx: Context) -> None:
        """Called once in the actor's task after the last message."""

    async def _stop_children(self, ctx: Context) -> None:
        """Stop children before the generic stop (which stops any left, all at once).
        ``labkit.supervision.Supervisor`` stops its own in reverse order, one at a time."""


class Directive(enum.Enum):
    """What to do with an actor whose handler raised (Akka's supervisor directives)."""

    RESUME = "resume"    #: keep the actor and its state; go on with the next message
    RESTART = "restart"  #: on_stop, a fresh instance from the factory, on_start; keep the mailbox
    STOP = "stop"        #: stop the actor (queued messages become dead letters)


@dataclass(frozen=True)
class Failure:
    """One handler failure, as a supervisor sees it."""

    actor: ActorRef
    error: Exception
    message: Any
    time: float
    count: int  #: failures of this actor so far, this one included
    phase: str  #: "receive", "on_start" or "signal"


#: Why a watched actor stopped (see :class:`Terminated`).
ExitReason = Literal["normal", "failed", "escalated"]


class Terminated(NamedTuple):
    """Death watch (Akka ``Terminated``, Erlang's ``'DOWN'`` monitor message): what a
    watcher receives, as an ordinary message, when an actor it watches (``ctx.watch(ref)``)
    has stopped. ``reason``: ``"normal"`` (stopped), ``"failed"`` (a handler or ``on_start``
    raised; ``error`` is the exception) or ``"escalated"`` (a supervisor gave up:
    ``error`` is the ``labkit.supervision.Escalation``)."""

    ref: ActorRef
    reason: ExitReason
    error: BaseException | None


#: Decides a :class:`Directive` for a :class:`Failure` (sync or async). The default stops.
Supervisor = Callable[[Failure], "Directive | Awaitable[Directive]"]


class Context:
    """What an actor knows while it runs: its ref, its system, the current message's
    sender and ids, and how to reply, forward, spawn children and stop."""

    __slots__ = ("_cell", "_env", "_msg_id", "_replied")

    def __init__(self, cell: _Cell) -> None:
        self._cell = cell
        self._env: Envelope | None = None
        self._msg_id: int | None = None
        self._replied = False

    def __repr__(self) -> str:
        return f"<Context of {self._cell.name}>"

    @property
    def self(self) -> ActorRef:
        """This actor's own ref (Akka's ``context.self``)."""
        return self._cell.ref

    @property
    def name(self) -> str:
        return self._cell.name

    @property
    def system(self) -> ActorSystem:
        return self._cell.system

    @property
    def parent(self) -> ActorRef | None:
        parent = self._cell.parent
        return None if parent is None else parent.ref

    @property
    def children(self) -> tuple[ActorRef, ...]:
        return tuple(c.ref for c in self._cell.children or ())

    @property
    def sender(self) -> ActorRef | None:
        """The actor that sent the current message (``None`` if main or a plain task)."""
        env = self._env
        return None if env is None else env.sender

    @property
    def sender_name(self) -> str | None:
        """Name of the sender of the current message (``main``, ``go-1``, an actor...)."""
        env = self._env
        return None if env is None else env.sender_name

    @property
    def msg_id(self) -> int | None:
        """The trace id of the message being handled."""
        return self._msg_id

    @property
    def dedup_id(self) -> int | None:
        """The id the sender gave the current message (``tell/ask(..., msg_id=...)``), the
        same in every run; ``None`` when the run assigned its id. Run-assigned ids restart
        in every run, so deduplication (``labkit.journal.EventSourced``) uses only this."""
        env = self._env
        return None if env is None else env.key

    @property
    def corr_id(self) -> int | None:
        """The correlation id of the current message (an ``ask``'s id, or the id of the
        message this one replies to)."""
        env = self._env
        return None if env is None else env.corr_id

    @property
    def mailbox(self) -> Mailbox:
        return self._cell.mailbox

    def reply(self, value: Any) -> bool:
        """Answer the current message: to the asker of an ``ask``, else told to the sender
        actor. False (and a dead letter) when nobody can receive it."""
        env = self._env
        if env is None:
            raise RuntimeError("ctx.reply() answers the message being handled; call it "
                               "inside receive()")
        again, self._replied = self._replied, True
        return self._cell.answer(env, self._msg_id, value, again)

    def reject(self, error: Exception) -> bool:
        """Refuse the current message without failing the actor: the asker of an ``ask``
        gets :class:`~labkit.actor.ActorFailed` with ``error`` as its cause, and a ``reject``
        row records it; the actor goes on with its next message (nothing to restart: a
        refused command changed nothing). True if an asker was told."""
        env = self._env
        if env is None:
            raise RuntimeError("ctx.reject() refuses the message being handled; call it "
                               "inside receive()")
        if not isinstance(error, Exception):
            raise TypeError(f"error must be an exception, got {describe(error)}")
        cell = self._cell
        cell.rt.record(EventKind.REJECT, actor=cell.name, peer=env.sender_name,
                       msg_id=self._msg_id, corr_id=env.corr_id,
                       msg_type=type(env.message).__name__, model="actor",
                       detail=f"{type(error).__name__}: {error}"[:200])
        again, self._replied = self._replied, True
        if env.reply is None or again:
            return False
        return env.reply.wake((FAILED, error))

    def forward(self, to: ActorRef) -> bool:
        """Pass the current message on to ``to``, keeping its sender and reply path (a
        router's move): ``to`` answers the asker. Applies ``to``'s overflow policy."""
        env = self._env
        if env is None:
            raise RuntimeError("ctx.forward() forwards the message being handled; call it "
                               "inside receive()")
        if not isinstance(to, ActorRef):
            raise TypeError(f"to must be an ActorRef, got {describe(to)}")
        self._replied = True
        return to._forward(env)

    def spawn(self, factory: Callable[..., Actor], *args: Any, name: str | None = None,
              mailbox: Mailbox | None = None, supervisor: Supervisor | None = None,
              **kwargs: Any) -> ActorRef:
        """Start a child actor, ``factory(*args, **kwargs)``: it stops when this actor
        stops."""
        return self._cell.system._spawn(factory, args, name, mailbox, supervisor,
                                        self._cell, kwargs)

    def watch(self, ref: ActorRef) -> ActorRef:
        """Death watch (Akka ``context.watch``, Erlang ``monitor``): when ``ref`` stops,
        this actor receives :class:`Terminated` as an ordinary message; at once if it has
        stopped already. Watching twice delivers once. Returns ``ref``."""
        if not isinstance(ref, ActorRef):
            raise TypeError(f"ref must be an ActorRef, got {describe(ref)}")
        ref._cell.watch(self._cell)
        return ref

    def unwatch(self, ref: ActorRef) -> ActorRef:
        """Stop watching ``ref``: no :class:`Terminated` for it is queued from now on."""
        if not isinstance(ref, ActorRef):
            raise TypeError(f"ref must be an ActorRef, got {describe(ref)}")
        ref._cell.unwatch(self._cell)
        return ref

    def stop(self) -> None:
        """Stop this actor after the current message (queued messages become dead letters)."""
        self._cell.mailbox.put_system(_STOP)
