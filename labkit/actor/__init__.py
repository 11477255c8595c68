"""Actors on labkit's runtime: ``ActorSystem``, ``Actor``, ``ActorRef``, ``Mailbox``.

An actor is one task that owns its state and handles the messages in its mailbox one at a
time. Reach it only through its :class:`ActorRef`::

    class Counter(Actor):
        def __init__(self) -> None:
            self.n = 0

        async def receive(self, msg, ctx):
            self.n += msg
            return self.n

    async def main():
        async with ActorSystem() as system:
            counter = system.spawn(Counter, mailbox=Mailbox(8, overflow="drop_new"))
            counter.tell(1)                          # never waits: the policy decides
            await counter.send(2)                    # waits for space
            return await counter.ask(3, timeout=1)   # request-reply: 6

    labkit.simulate(main).result

Every message that is dropped or cannot be delivered is a :class:`DeadLetter` in
``system.dead_letters`` and a ``dead_letter`` row in the trace, with its reason.

Death watch (Akka ``context.watch``, Erlang monitors): ``ctx.watch(ref)`` makes the watcher
receive :class:`Terminated` ``(ref, reason, error)`` as an ordinary message when ``ref``
stops (at once if it already has). Supervision trees (OTP supervisors, backoff, a circuit
breaker) are in :mod:`labkit.supervision`, built on this layer's failure seam
(:class:`Failure`, :class:`Directive`) and death watch.
"""

from __future__ import annotations

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
from labkit.actor._errors import (
    ActorError,
    ActorFailed,
    AskTimeout,
    MailboxFull,
    Undeliverable,
    WrongMessageType,
)
from labkit.actor._mailbox import (
    OVERFLOW_POLICIES,
    Mailbox,
    MailboxStatistics,
    Overflow,
    Signal,
    Stop,
)
from labkit.actor._ref import ActorRef, PendingReply
from labkit.actor._system import ActorSystem

__all__ = (
    "OVERFLOW_POLICIES",
    "Actor",
    "ActorError",
    "ActorFailed",
    "ActorRef",
    "ActorSystem",
    "AskTimeout",
    "Context",
    "DeadLetter",
    "Directive",
    "ExitReason",
    "Failure",
    "Mailbox",
    "MailboxFull",
    "MailboxStatistics",
    "Overflow",
    "PendingReply",
    "Signal",
    "Stop",
    "Supervisor",
    "Terminated",
    "Undeliverable",
    "WrongMessageType",
)
