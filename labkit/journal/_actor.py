"""The event-sourced actor (Akka Persistence's ``EventSourcedBehavior``, in the actor layer).

An event-sourced actor never stores its state; it stores what *happened* (the events) and
rebuilds the state from them. Each message goes through four steps::

    command(state, msg) -> events     decide; raise to reject (nothing is persisted)
    journal.append(event)             persist: durable before anything else happens
    apply(state, event) -> state      for each event, then check(state)
    reply(state, events)              the answer to an ask (default: the new state)

Persisting before applying is the whole trick: a crash at any point leaves the journal
holding exactly the events whose effects the actor may have shown anyone, so recovery
(latest snapshot + the events after it) rebuilds the state the actor had.

Effectively-once (``dedup = True``): a sender that may resend (at-least-once delivery)
gives each message an id of its own (``tell/ask(..., msg_id=7)``, or override
``dedup_key(msg)``). The events of a handled message carry its id in the journal, and the
table of handled ids and their first answers is part of the state (in snapshots, rebuilt
on recovery), so a redelivery, even after a crash, has no second effect and gets the first
answer. Run-assigned trace ids restart in every run and are never used.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar, NamedTuple

from labkit._check import check_bool, check_int, check_str, describe
from labkit._runtime.rows import EventKind
from labkit.actor import Actor, Context
from labkit.journal._base import Journal, check_path, record_row
from labkit.journal._records import check_msg_id, decode, encode
from labkit.journal._replay import (
    Upcasters,
    check_upcast,
    checked,
    open_journal,
    replayed,
)

__all__ = ("EventSourced", "Recovery")

_CLASS: Any = object()  # "use the class attribute" for the constructor's keywords


class Recovery(NamedTuple):
    """How an event-sourced actor got its state back on start: the snapshot it began from
    (``snapshot_seq``, ``None`` if none) and how many events it replayed after it."""

    events: int
    snapshot_seq: int | None
    last_seq: int


class EventSourced(Actor):
    """An :class:`~labkit.actor.Actor` whose state is rebuilt from a journal.

    Subclass it and define ``initial_state()``, ``command(state, msg)`` and
    ``apply(state, event)``; optionally ``check(state)``, ``reply(state, events)`` and
    ``dedup_key(msg)``. Spawn it with a journal or a path (``.db``/``.sqlite``: SQLite)::

        class Account(journal.EventSourced):
            snapshot_every = 100
            dedup = True

            def initial_state(self):
                return {"balance": 0}

            def command(self, state, msg):
                if msg["amount"] < 0 and state["balance"] + msg["amount"] < 0:
                    raise ValueError("insufficient funds")     # rejected: nothing persisted
                return [{"kind": "moved", "amount": msg["amount"]}]

            def apply(self, state, event):
                return {"balance": state["balance"] + event["amount"]}

            def check(self, state):
                if state["balance"] < 0:
                    raise journal.InvariantViolation("negative balance")

        account = system.spawn(Account, "bank.jsonl")
        await account.ask({"amount": 10}, msg_id=1)   # -> {"balance": 10}

    Events are JSON objects: a dict with a ``"kind"`` key, or a dataclass instance (its
    class name is the kind; ``apply`` gets its fields as a dict with ``"kind"`` added).
    ``apply`` receives the same data live and in replay: what JSON gives back, after
    upcasting (``upcast``). ``check`` runs after every ``apply``; a violation during
    recovery names the event's sequence number. A rejected command (``command`` raised)
    answers an ask with :class:`~labkit.actor.ActorFailed` and the actor goes on; a failed
    ``apply`` or ``check`` fails the actor (its events are already in the journal).

    Snapshots (``snapshot_every=N``) hold ``{"persistence_id", "state", "handled"}``:
    the state and the dedup table, as JSON. A journal given as a path is opened on start
    and closed on stop; a journal object is left open for its owner.
    """

    #: Save a snapshot once this many events have been applied since the last (None: never).
    snapshot_every: ClassVar[int | None] = None
    #: Handle a message carrying a sender's id at most once (effectively-once).
    dedup: ClassVar[bool] = False
    #: ``(kind, version) -> function(old data) -> current data``, used during recovery.
    upcast: ClassVar[Upcasters] = {}
    #: The version written with new events (raise it when an event's shape changes).
    event_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.snapshot_every is not None:
            check_int(f"{cls.__name__}.snapshot_every", cls.snapshot_every, minimum=1)
        check_bool(f"{cls.__name__}.dedup", cls.dedup)
        check_upcast(f"{cls.__name__}.upcast", cls.upcast)
        check_int(f"{cls.__name__}.event_version", cls.event_version, minimum=1)

    def __init__(self, journal: Journal | str | os.PathLike[str], *,
                 persistence_id: str | None = None, snapshot_every: int | None = _CLASS,
                 dedup: bool = _CLASS) -> None:
        if isinstance(journal, Journal):
            self._path = None
            self.journal: Journal | None = journal
        else:
            self._path = check_path(journal)
            self.journal = None
        #: Names this actor's event stream (trace rows, snapshots): the argument, else a
        #: ``persistence_id`` class attribute, else the class name.
        if persistence_id is None:
            persistence_id = getattr(type(self), "persistence_id", None) or type(self).__name__
        self.persistence_id: str = check_str("persistence_id", persistence_id)
        if snapshot_every is not _CLASS:
            self.snapshot_every = (None if snapshot_every is None else  # type: ignore[misc]
                                   check_int("snapshot_every", snapshot_every, minimum=1))
        if dedup is not _CLASS:
            self.dedup = check_bool("dedup", dedup)  # type: ignore[misc]
        #: The current state (set on start, by recovery).
        self.state: Any = None
        #: The sequence number of the last event applied.
        self.seq = 0
        #: How the state was recovered on start.
        self.recovery: Recovery | None = None
        #: Handled sender ids -> their first answer (with ``dedup``).
        self.handled: dict[int | str, Any] = {}
        self._snapshot_seq = 0

    # -- what a subclass defines -------------------------------------------------------------

    def initial_state(self) -> Any:
        """The state before any event (default ``None``)."""
        return None

    def command(self, state: Any, msg: Any) -> list[Any]:
        """Decide what ``msg`` means: the events to persist (``[]``: none). Raise to reject
        it: nothing is persisted."""
        raise NotImplementedError(f"{type(self).__name__} must define command(self, state, "
                                  f"msg) -> list of events")

    def apply(self, state: Any, event: Any) -> Any:
        """The state after ``event`` (pure: no I/O, no clock, no randomness: it runs again
        at every recovery)."""
        raise NotImplementedError(f"{type(self).__name__} must define apply(self, state, "
                                  f"event) -> state")

    def check(self, state: Any) -> None:
        """Raise :class:`~labkit.journal.InvariantViolation` if ``state`` breaks a rule."""

    def reply(self, state: Any, events: list[Any]) -> Any:
        """The answer to the message whose ``events`` led to ``state`` (default: ``state``)."""
        return state

    def dedup_key(self, msg: Any) -> int | str | None:
        """The id that makes ``msg`` the same message when it is sent again (default
        ``None``: the sender's ``msg_id``, if it gave one)."""
        return None

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_start(self, ctx: Context) -> None:
        if self.journal is None:
            assert self._path is not None
            self.journal = open_journal(self._path)
        self._recover(ctx.name)

    async def on_stop(self, ctx: Context) -> None:
        if self._path is not None and self.journal is not None:
            self.journal.close()
            self.journal = None

    def _recover(self, name: str) -> None:
        """Latest snapshot + the events after it; ``check`` after every event."""
        journal = self._journal()
        snapshot = journal.load_snapshot()
        handled: dict[int | str, Any] = {}
        if snapshot is None:
            state, start = self.initial_state(), 0
        else:
            state, handled = self._unwrap(snapshot.state, journal)
            start = snapshot.seq
        upcast = check_upcast("upcast", self.upcast)
        count, seq = 0, start
        # With dedup, the events of one handled message are a run of records carrying its
        # id; its first answer is reply(state after the run, the run's events).
        group: list[Any] = []
        group_key: int | str | None = None
        current = state
        for record, data, after in replayed(journal, start, state, self.apply, self.check,
                                            upcast, actor=name):
            count, seq = count + 1, record.seq
            if self.dedup:
                if group and record.msg_id != group_key:
                    self._remember(handled, group_key, current, group)
                    group = []
                group_key = record.msg_id
                if group_key is not None:
                    group.append(data)
            current = after
        if self.dedup and group:
            self._remember(handled, group_key, current, group)
        state = current
        self.state, self.seq, self.handled = state, seq, handled
        self._snapshot_seq = start
        self.recovery = Recovery(count, None if snapshot is None else snapshot.seq, seq)
        used = "no snapshot" if snapshot is None else f"snapshot at seq {snapshot.seq}"
        record_row(EventKind.RECOVERED, journal.name,
                   f"{self.persistence_id}: {count} events replayed, {used}", actor=name)

    def _remember(self, handled: dict[int | str, Any], key: int | str | None, state: Any,
                  events: list[Any]) -> None:
        if key is not None and key not in handled:
            handled[key] = self.reply(state, events)

    def _unwrap(self, saved: Any, journal: Journal) -> tuple[Any, dict[int | str, Any]]:
        if not (isinstance(saved, dict) and {"state", "handled"} <= set(saved)
                and isinstance(saved["handled"], list)):
            raise ValueError(f"the snapshot in {str(journal.path)!r} was not saved by an "
                             f"EventSourced actor (it has no 'state' and 'handled')")
        return saved["state"], {key: answer for key, answer in saved["handled"]}

    def _journal(self) -> Journal:
        if self.journal is None:
            raise RuntimeError(f"{type(self).__name__} has no open journal: it is opened "
                               f"when the actor starts")
        return self.journal

    # -- handling a message --------------------------------------------------------------------

    def _key(self, msg: Any, ctx: Context) -> int | str | None:
        key = self.dedup_key(msg)
        if key is None:
            return ctx.dedup_id
        try:
            return check_msg_id(key)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{type(self).__name__}.dedup_key returned {describe(key)}: it "
                            f"must return None, an int >= 0 or a non-empty string") from None

    async def receive(self, msg: Any, ctx: Context) -> Any:
        key = self._key(msg, ctx) if self.dedup else None
        if key is not None and key in self.handled:
            record_row(EventKind.NOTE, self._journal().name,
                       f"duplicate msg_id {key!r}: no second effect, first answer",
                       actor=ctx.name)
            return self.handled[key]
        try:
            events = self.command(self.state, msg)
            if not isinstance(events, list | tuple):
                raise TypeError(f"{type(self).__name__}.command must return a list of "
                                f"events, got {describe(events)}")
        except Exception as exc:  # noqa: BLE001 - a rejection, answered to the asker
            ctx.reject(exc)
            return None
        framed = [self._event(e) for e in events]  # TypeError before anything is written
        journal = self._journal()
        seqs = [journal.append(data, kind=kind, version=self.event_version, msg_id=key)
                for kind, data in framed]
        state = self.state
        applied = []
        for seq, (_kind, data) in zip(seqs, framed, strict=True):
            state = self.apply(state, data)
            self.state, self.seq = state, seq
            checked(self.check, state, seq)
            applied.append(data)
        answer = self.reply(state, applied)
        if key is not None:
            self.handled[key] = answer
        every = self.snapshot_every
        if every is not None and self.seq - self._snapshot_seq >= every:
            self.save_snapshot()
        return answer

    def _event(self, event: Any) -> tuple[str, Any]:
        """``(kind, data)`` for an event, ``data`` as JSON gives it back."""
        if isinstance(event, dict):
            kind = event.get("kind")
            if not isinstance(kind, str) or not kind:
                raise TypeError(f"an event dict needs a 'kind' key naming the event (a "
                                f"non-empty string), got {describe(event)}")
            data = event
        elif dataclasses.is_dataclass(event) and not isinstance(event, type):
            kind = type(event).__name__
            data = {"kind": kind, **dataclasses.asdict(event)}
        else:
            raise TypeError(f"{type(self).__name__}.command must return events that are "
                            f"dicts with a 'kind' key or dataclass instances, got "
                            f"{describe(event)}")
        return kind, decode(encode(data, "event"))

    def save_snapshot(self) -> None:
        """Save the state and the dedup table now, as of event :attr:`seq`."""
        journal = self._journal()
        journal.save_snapshot(self.seq, {
            "persistence_id": self.persistence_id, "state": self.state,
            "handled": [[key, answer] for key, answer in self.handled.items()]})
        self._snapshot_seq = self.seq

