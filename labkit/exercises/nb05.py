"""Notebook 05 (replay): the checks of its exercises.

05.1 an ``apply`` for the bank's events that is pure and keeps the money where it belongs
(the invariant: no balance below zero); 05.2 a payment handler that counts each payment
once however often an at-least-once link delivers it (dedup by message id, with the table
of handled ids in the state). Each check runs the learner's function in
:func:`labkit.simulate` over :data:`labkit.exercises.SEEDS` and says exactly what happened.
"""

from __future__ import annotations

import copy
import inspect
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import labkit
from labkit import go, journal
from labkit.actor import ActorFailed, ActorSystem
from labkit.exercises import SEEDS, exercise
from labkit.scenarios.replay import Bank, Rejected, draw_commands, euros

__all__ = ("COMMANDS", "INITIAL", "LOST_ACKS", "PAYMENTS", "describe_event")

#: Commands the bank gets in 05.1 (drawn by the seed).
COMMANDS = 30
#: Payments sent in 05.2, and the chance that a payment's ack is lost (it is sent again).
PAYMENTS = 20
LOST_ACKS = 0.3
#: The state 05.2's handler starts from.
INITIAL: dict[str, Any] = {"balance": 0, "seen": []}


def describe_event(event: dict[str, Any]) -> str:
    """``deposited 55.00 to bob``, ``transferred 58.00 from bob to carol``..."""
    cents = euros(event.get("cents", 0))
    match event.get("kind"):
        case "deposited":
            return f"deposited {cents} to {event['account']}"
        case "withdrawn":
            return f"withdrawn {cents} from {event['account']}"
        case "transferred":
            return f"transferred {cents} from {event['from']} to {event['to']}"
    return repr(event)


def _money(state: Any) -> str:
    if not isinstance(state, dict):
        return repr(state)
    return "{" + ", ".join(f"{k}: {euros(v) if isinstance(v, int) else repr(v)}"
                           for k, v in sorted(state.items())) + "}"


def _plain_function(name: str, answer: object) -> str | None:
    if inspect.iscoroutinefunction(answer):
        return (f"{name} must be a plain `def` function (it runs inside the actor, and "
                f"again at every recovery), not `async def`")
    if not callable(answer):
        return f"{name} must be a function, got {type(answer).__name__}"
    return None


# == 05.1: an apply that is pure and keeps the invariant =====================================


@dataclass
class _ApplyLog:
    problem: str | None = None
    events: int = 0


def _watched(apply: Callable[[Any, Any], Any], log: _ApplyLog
             ) -> Callable[[Any, Any, Any], Any]:
    """The learner's apply, compared event by event with the bank's own."""
    reference = Bank("unused.jsonl")

    def watched(self: Any, state: Any, event: Any) -> Any:
        log.events += 1
        before = copy.deepcopy(state)
        right = reference.apply(copy.deepcopy(state), copy.deepcopy(event))
        what = f"event {log.events} ({describe_event(event)})"
        try:
            got = apply(state, event)
        except Exception as exc:
            if log.problem is None:
                log.problem = (f"{what} made your apply raise {type(exc).__name__}: {exc}. "
                               f"The event is {event!r}")
            raise
        if log.problem is None:
            if state != before:
                log.problem = (f"your apply changed the dict it was given, at {what}: it "
                               f"read {_money(before)} and afterwards {_money(state)}. apply "
                               "must be pure: copy it (`new = dict(state)`), change the copy "
                               "and return it; the old state may still be in use (an answer "
                               "already sent, a snapshot being written)")
            elif got is None:
                log.problem = (f"your apply returned None at {what}: return the new state "
                               "(a dict of account -> cents)")
            elif got != right:
                log.problem = f"after {what} your apply gave {_money(got)}, not {_money(right)}"
                if (isinstance(got, dict) and event["kind"] == "transferred"
                        and all(isinstance(v, int) for v in got.values())
                        and sum(got.values()) != sum(right.values())):
                    log.problem += (": the bank's total changed in a transfer. What leaves "
                                    "`from` must arrive at `to`")
                elif isinstance(got, dict) and any(isinstance(v, int) and v < 0
                                                   for v in got.values()):
                    log.problem += ": a balance went below zero, which the bank's check " \
                                   "(the invariant) refuses"
        return got

    return watched


async def _bank_main(apply: Callable[[Any, Any], Any], folder: Path, log: _ApplyLog
                     ) -> tuple[Any, int]:
    cls = type("YourBank", (Bank,), {"apply": _watched(apply, log)})
    answered = 0
    async with ActorSystem() as system:
        bank = system.spawn(cls, folder / "bank.jsonl", name="bank")
        for msg_id, msg in enumerate(draw_commands(COMMANDS), start=1):
            try:
                await bank.ask(msg, msg_id=msg_id)
                answered += 1
            except ActorFailed as err:
                if not isinstance(err.__cause__, Rejected):
                    break  # the bank failed (apply raised, or the invariant broke)
        state = await bank.ask("balances") if bank.is_alive else None
        bank.stop()
    return state, answered


@exercise(
    "05.1", "an apply that keeps the invariant",
    hints=(
        "Run the check on the starting code and read the first finding. `apply(state, "
        "event)` gets the state before the event and returns the state after it. It is "
        "called live and again at every recovery, so it must be pure: no change to the "
        "dict it is given, no I/O, no clock.",
        "Start with `new = dict(state)` and change only `new`. There are three kinds of "
        "event: `deposited` and `withdrawn` (keys `account`, `cents`) and `transferred` "
        "(keys `from`, `to`, `cents`). An account not seen yet has 0 cents: "
        "`new.get(account, 0)`.",
        "`match event[\"kind\"]:` with `case \"deposited\":` `new[a] = new.get(a, 0) + "
        "event[\"cents\"]`, `case \"withdrawn\":` the same with `-`, `case "
        "\"transferred\":` subtract from `event[\"from\"]` and add to `event[\"to\"]`; "
        "then `return new`.",
    ),
    praise="your apply is pure and moves money exactly as the events say: live and in "
           "replay the bank holds the same balances, none below zero, and no cent appears "
           "or vanishes in a transfer. The command decided; apply only records what was "
           "decided, so it never needs to reject anything.",
)
def _judge_apply(apply: object) -> Iterator[str]:
    problem = _plain_function("apply", apply)
    if problem:
        yield problem
        return
    assert callable(apply)
    for seed in SEEDS:
        log = _ApplyLog()
        with tempfile.TemporaryDirectory(prefix="labkit-nb05-") as tmp:
            try:
                run = labkit.simulate(_bank_main, apply, Path(tmp), log, seed=seed)
            except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
                yield (f"with seed {seed} {log.problem}" if log.problem else
                       f"with seed {seed} your code raised {type(exc).__name__}: {exc}")
                return
            if log.problem:
                yield f"with seed {seed} {log.problem}"
                return
            live, _answered = run.result
            try:
                replayed = journal.replay(Path(tmp) / "bank.jsonl", apply, {})
            except Exception as exc:  # noqa: BLE001
                yield (f"with seed {seed} replaying the journal with your apply raised "
                       f"{type(exc).__name__}: {exc}")
                return
        if replayed != live:
            yield (f"with seed {seed} replaying the journal gave {_money(replayed)}, but "
                   f"the live bank held {_money(live)}: apply must give the same state "
                   "from the same events every time (no clock, no randomness, no state "
                   "kept outside the dict)")
            return


# == 05.2: an idempotent handler ==============================================================


@dataclass
class _PayLog:
    amounts: dict[int, int] = field(default_factory=dict)
    delivered: list[int] = field(default_factory=list)
    problem: str | None = None
    final: Any = None


async def _payments_main(handle: Callable[[Any, Any], Any], log: _PayLog) -> None:
    """A sender sends PAYMENTS payments over an at-least-once link: a payment whose ack is
    lost is sent again (it may arrive after later ones). The consumer handles each delivery
    from the saved state and saves the new state as JSON, so that a crash between two
    deliveries loses nothing."""
    rng = labkit.rng()
    payments = [{"id": i, "cents": rng.randint(1, 50) * 100} for i in range(1, PAYMENTS + 1)]
    log.amounts = {p["id"]: p["cents"] for p in payments}
    link: go.Chan[dict[str, int]] = go.Chan(4)

    async def sender() -> None:
        for p in payments:
            await link.send(dict(p))
            if rng.random() < LOST_ACKS:  # the ack was lost: send it again, a bit later
                await go.sleep(0.001)
                await link.send(dict(p))
        link.close()

    go.go(sender)
    saved = json.dumps(INITIAL)
    counted: set[int] = set()
    async for msg in link:
        log.delivered.append(msg["id"])
        again = "sent again" if msg["id"] in log.delivered[:-1] else "first time"
        what = (f"delivery {len(log.delivered)} (payment {msg['id']} of "
                f"{euros(msg['cents'])}, {again})")
        state = json.loads(saved)
        before = state["balance"] if isinstance(state, dict) else None
        try:
            new = handle(state, dict(msg))
        except Exception as exc:  # noqa: BLE001
            log.problem = f"{what} made your handle raise {type(exc).__name__}: {exc}"
            return
        if not (isinstance(new, dict) and isinstance(new.get("balance"), int)):
            log.problem = (f"at {what} your handle returned {new!r}: return the new state, "
                           "a dict with 'balance' (cents) and your table of handled ids")
            return
        try:
            saved = json.dumps(new, allow_nan=False)
        except (TypeError, ValueError) as exc:
            log.problem = (f"after {what} your state could not be saved: {exc}. The state is "
                           "saved as JSON after every message so that it survives a crash "
                           "(a journal or a snapshot): keep the handled ids in a list")
            return
        delta = new["balance"] - (before or 0)
        first = msg["id"] not in counted
        if first and delta != msg["cents"]:
            log.problem = (f"{what} changed the balance by {euros(delta)}, not "
                           f"{euros(msg['cents'])}: a payment seen for the first time must be "
                           "counted")
            if delta == 0:
                log.problem += (" (if you keep handled ids outside the state, a global "
                                "set, they leak from one run to the next and are lost in a "
                                "crash: keep them in the state)")
            return
        if not first and delta != 0:
            log.problem = (f"{what} was counted again: the balance went up by "
                           f"{euros(delta)}. It was already counted: a redelivery must have "
                           "no second effect. Keep the ids of handled payments in the state "
                           "and return the state unchanged for an id already there")
            return
        counted.add(msg["id"])
    log.final = json.loads(saved)


@exercise(
    "05.2", "an idempotent handler",
    hints=(
        "Run the check on the starting code: a payment whose ack was lost is sent again, "
        "with the same id, and the starting code counts it every time. The id is what "
        "makes two deliveries the same payment.",
        "Remember which ids you have handled, and return the state unchanged for an id "
        "you have seen. Where? In the state itself (`state[\"seen\"]`, a list): the state "
        "is what is saved and comes back after a crash; a variable outside it does not.",
        "`if msg[\"id\"] in state[\"seen\"]: return state`, else `return {\"balance\": "
        "state[\"balance\"] + msg[\"cents\"], \"seen\": [*state[\"seen\"], msg[\"id\"]]}`.",
    ),
    praise="every payment is counted exactly once, however often the link delivers it: "
           "at-least-once delivery plus an idempotent handler is effectively-once. The "
           "table of handled ids lives in the state, so it is saved with it and survives a "
           "crash; that is what EventSourced(dedup=True) keeps in its snapshots.",
)
def _judge_idempotent(handle: object) -> Iterator[str]:
    problem = _plain_function("handle", handle)
    if problem:
        yield problem
        return
    assert callable(handle)
    for seed in SEEDS:
        log = _PayLog()
        try:
            labkit.simulate(_payments_main, handle, log, seed=seed)
        except Exception as exc:  # noqa: BLE001
            yield f"with seed {seed} the run raised {type(exc).__name__}: {exc}"
            return
        if log.problem:
            yield f"with seed {seed} {log.problem}"
            return
        expected = sum(log.amounts.values())
        if log.final["balance"] != expected:
            yield (f"with seed {seed} the final balance is {euros(log.final['balance'])}, "
                   f"not {euros(expected)}")
            return
