"""Reference solutions to notebook 05's exercises, and typical wrong answers.

Try the exercise and its hints first (``exercises.hint("05.1")``, then 2 and 3).
"""

from __future__ import annotations

from typing import Any

State = dict[str, int]

# -- 05.1: an apply that keeps the invariant -----------------------------------------------


def apply(state: State, event: dict[str, Any]) -> State:
    """Pure: a new dict; a transfer takes from `from` what it gives to `to`.

    In Rust the same function takes the old state by reference and returns a new one,
    so it cannot change what it was given::

        fn apply(state: &Balances, event: &Event) -> Balances {
            let mut new = state.clone();
            match event {
                Event::Deposited { account, cents } => {
                    *new.entry(account.clone()).or_insert(0) += cents
                }
                Event::Withdrawn { account, cents } => {
                    *new.entry(account.clone()).or_insert(0) -= cents
                }
                Event::Transferred { from, to, cents } => {
                    *new.entry(from.clone()).or_insert(0) -= cents;
                    *new.entry(to.clone()).or_insert(0) += cents;
                }
            }
            new
        }
    """
    new = dict(state)
    match event["kind"]:
        case "deposited":
            new[event["account"]] = new.get(event["account"], 0) + event["cents"]
        case "withdrawn":
            new[event["account"]] = new.get(event["account"], 0) - event["cents"]
        case "transferred":
            new[event["from"]] = new.get(event["from"], 0) - event["cents"]
            new[event["to"]] = new.get(event["to"], 0) + event["cents"]
    return new


def apply_mutates(state: State, event: dict[str, Any]) -> State:
    """The starting code: changes the dict it is given, and knows only deposits."""
    if event["kind"] == "deposited":
        state[event["account"]] = state.get(event["account"], 0) + event["cents"]
    return state


def apply_transfer_only_credits(state: State, event: dict[str, Any]) -> State:
    """Pure, but a transfer only adds to `to`: money appears from nowhere."""
    new = dict(state)
    match event["kind"]:
        case "deposited" | "transferred":
            account = event["account"] if event["kind"] == "deposited" else event["to"]
            new[account] = new.get(account, 0) + event["cents"]
        case "withdrawn":
            new[event["account"]] = new.get(event["account"], 0) - event["cents"]
    return new


# -- 05.2: an idempotent handler -------------------------------------------------------------


def handle(state: dict[str, Any], msg: dict[str, int]) -> dict[str, Any]:
    """Count a payment once: the ids already handled are in the state (saved with it)."""
    if msg["id"] in state["seen"]:
        return state  # a redelivery: no second effect
    return {"balance": state["balance"] + msg["cents"], "seen": [*state["seen"], msg["id"]]}


def handle_counts_every_delivery(state: dict[str, Any], msg: dict[str, int]
                                 ) -> dict[str, Any]:
    """The starting code: a redelivered payment is counted again."""
    return {**state, "balance": state["balance"] + msg["cents"]}


_SEEN: set[int] = set()


def handle_with_a_global_set(state: dict[str, Any], msg: dict[str, int]) -> dict[str, Any]:
    """Dedups with a table outside the state: it is not saved, and leaks between runs."""
    if msg["id"] in _SEEN:
        return state
    _SEEN.add(msg["id"])
    return {**state, "balance": state["balance"] + msg["cents"]}


SOLUTIONS: dict[str, tuple[Any, ...]] = {
    "05.1": (apply,),
    "05.2": (handle,),
}

WRONG: dict[str, tuple[Any, ...]] = {
    "05.1": (apply_mutates,),
    "05.2": (handle_counts_every_delivery,),
}
