"""Errors raised by the actor layer: each says what went wrong and what to do instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.errors import LabkitError

if TYPE_CHECKING:
    from labkit.actor._dead import DeadLetter

__all__ = (
    "ActorError",
    "ActorFailed",
    "AskTimeout",
    "Escalation",
    "MailboxFull",
    "Undeliverable",
    "WrongMessageType",
)


class ActorError(LabkitError):
    """Base class for errors of the actor layer."""


class MailboxFull(ActorError):
    """``tell`` on a full mailbox whose overflow policy is ``fail``: nothing was enqueued.

    The refused message is in ``.message``; retry later, use ``await ref.send(msg)`` to wait
    for space, or choose a dropping policy.
    """

    def __init__(self, recipient: str, message: Any, capacity: int | None) -> None:
        super().__init__(
            f"mailbox of actor {recipient!r} is full ({capacity} messages, overflow='fail'): "
            f"{type(message).__name__} was not enqueued; use 'await ref.send(msg)' to wait for "
            f"space, or a dropping overflow policy")
        self.recipient = recipient
        self.message = message


class AskTimeout(ActorError, TimeoutError):
    """No reply within the ``ask`` timeout. A reply arriving later becomes a dead letter."""

    def __init__(self, recipient: str, message: Any, timeout: float, msg_id: int) -> None:
        super().__init__(
            f"ask to actor {recipient!r} timed out after {timeout:g} s waiting for a reply to "
            f"{type(message).__name__} (msg id {msg_id}); a reply that comes later becomes a "
            f"dead letter")
        self.recipient = recipient
        self.message = message
        self.timeout = timeout
        self.msg_id = msg_id


class ActorFailed(ActorError):
    """The actor's handler raised while answering an ``ask``; the cause is chained."""

    def __init__(self, recipient: str, message: Any, error: BaseException) -> None:
        super().__init__(
            f"actor {recipient!r} failed while handling {type(message).__name__}: "
            f"{type(error).__name__}: {error}")
        self.recipient = recipient
        self.message = message
        self.error = error


class Undeliverable(ActorError):
    """An ``ask`` whose message became a dead letter (see ``.dead_letter.reason``)."""

    def __init__(self, dead_letter: DeadLetter) -> None:
        super().__init__(
            f"{type(dead_letter.message).__name__} to actor {dead_letter.recipient!r} was not "
            f"handled: {dead_letter.reason}")
        self.dead_letter = dead_letter


class WrongMessageType(ActorError, TypeError):
    """A message whose type the receiving actor does not declare in ``accepts``."""

    def __init__(self, recipient: str, actor_type: str, accepts: tuple[type, ...],
                 message: Any) -> None:
        names = " | ".join(t.__name__ for t in accepts)
        super().__init__(
            f"actor {recipient!r} ({actor_type}) accepts {names}, got "
            f"{type(message).__name__} {message!r:.80}; nothing was enqueued")
        self.recipient = recipient
        self.message = message


class Escalation(ActorError):
    """A supervisor gave up (OTP: restart intensity reached): it stopped its children and
    exited with this. Its own supervisor treats it as a child failure; at the top, the
    ``ActorSystem``'s default supervisor ends the run with it. Exported as
    ``labkit.supervision.Escalation``.

    ``supervisor``: who gave up; ``child``: the child whose failure was one too many;
    ``restarts``: the restarts within ``period`` seconds, that one included;
    ``intensity``: the most it allows. The child's error is chained as ``__cause__``.
    """

    def __init__(self, supervisor: str, child: str, restarts: int, intensity: int,
                 period: float) -> None:
        super().__init__(
            f"supervisor {supervisor!r} gave up: child {child!r} failed, {restarts} restarts "
            f"within {period:g} s is more than its intensity allows ({intensity}); it "
            f"stopped its children and escalated")
        self.supervisor = supervisor
        self.child = child
        self.restarts = restarts
        self.intensity = intensity
        self.period = period
