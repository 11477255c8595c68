"""Every scenario parameter, tried with bad input as a new user would: wrong types, NaN,
infinities, negatives, zero, None and huge values.

One rule (``labkit._check``): a value of the wrong type raises ``TypeError``, a value of the
right type out of range raises ``ValueError``, and the message starts with the parameter's
name: ``capacity must be an int from 0 to 1,000,000, got int -1``. Values at the edges of what
a scenario accepts run and give a well-defined result.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from labkit import scenarios
from labkit.scenarios._common import (
    MAX_COUNT,
    MAX_PARTIES,
    MAX_SECONDS,
    MAX_SKEW,
    MAX_SPREAD,
    MIN_RATE,
)

Case = tuple[object, type[Exception]]

#: Values of the wrong type for a number, whatever its range.
NOT_A_NUMBER: list[Case] = [("3", TypeError), (True, TypeError), ([1], TypeError)]


def _maybe_none(cases: list[Case], optional: bool) -> list[Case]:
    return cases if optional else [*cases, (None, TypeError)]


def count(minimum: int = 0, maximum: int = MAX_COUNT, *, optional: bool = False) -> list[Case]:
    """An int parameter from ``minimum`` to ``maximum``."""
    return _maybe_none([*NOT_A_NUMBER, (2.5, TypeError), (math.nan, TypeError),
                        (float(minimum), TypeError), (minimum - 1, ValueError),
                        (maximum + 1, ValueError), (10**100, ValueError)], optional)


def rate() -> list[Case]:
    """Events per second: finite, at least MIN_RATE."""
    return _maybe_none([*NOT_A_NUMBER, (math.nan, ValueError), (math.inf, ValueError),
                        (-math.inf, ValueError), (-1.0, ValueError), (0, ValueError),
                        (MIN_RATE / 2, ValueError)], False)


def seconds(*, allow_zero: bool = False, optional: bool = False) -> list[Case]:
    """A finite duration up to MAX_SECONDS (``optional``: None, or any length)."""
    cases: list[Case] = [*NOT_A_NUMBER, (math.nan, ValueError), (-math.inf, ValueError),
                         (-0.001, ValueError)]
    if not optional:  # an optional wait may be as long as it likes, infinite included
        cases += [(MAX_SECONDS * 10, ValueError), (math.inf, ValueError)]
    if not allow_zero:
        cases.append((0, ValueError))
    return _maybe_none(cases, optional)


def number(minimum: float, maximum: float, *, above: bool = False,
           below: bool = False) -> list[Case]:
    """A finite number in [minimum, maximum] (open at an end with ``above``/``below``)."""
    cases: list[Case] = [*NOT_A_NUMBER, (math.nan, ValueError), (math.inf, ValueError),
                         (minimum - 0.5, ValueError), (maximum + 0.5, ValueError)]
    if above:
        cases.append((minimum, ValueError))
    if below:
        cases.append((maximum, ValueError))
    return _maybe_none(cases, False)


def choice(*, optional: bool = False) -> list[Case]:
    """One of a few strings."""
    return _maybe_none([(5, TypeError), (b"go", TypeError), ("no-such-choice", ValueError)],
                       optional)


def boolean() -> list[Case]:
    """True or False, nothing that merely looks like one."""
    return [("no", TypeError), ("false", TypeError), (1, TypeError), (0, TypeError),
            (None, TypeError)]


def listing(item_bad: object, item_error: type[Exception]) -> list[Case]:
    """A list (a string refused, empty refused) of items checked one by one."""
    return [("1,2", TypeError), (5, TypeError), ([], ValueError), ((), ValueError),
            ([item_bad], item_error)]


SEED: list[Case] = [("1", TypeError), (1.5, TypeError), (True, TypeError),
                    (math.nan, TypeError)]
MODEL = choice()
PACING = choice()
FRACTION = number(0, 1, above=True, below=True)

#: Every parameter of every scenario, by what it accepts.
SPEC: dict[str, dict[str, list[Case]]] = {
    "ping_pong": {"model": MODEL, "rounds": count(), "hit_time": seconds(allow_zero=True)},
    "producer_consumer": {
        "model": MODEL, "capacity": count(), "producer_rate": rate(),
        "consumer_rate": rate(), "messages": count(), "pacing": PACING},
    "fifo_order": {"model": MODEL, "producers": count(1, MAX_PARTIES),
                   "messages": count(), "capacity": count(), "gap": seconds()},
    "who_closes": {"model": MODEL, "mistake": boolean(), "messages": count(),
                   "patience": seconds(allow_zero=True, optional=True)},
    "message_contracts": {"model": MODEL, "new_variant": boolean(), "handler": choice(),
                          "messages": count(), "stop_after": count(0, 12, optional=True)},
    "select_fairness": {"model": MODEL, "biased": boolean(), "iterations": count()},
    "ask_reply": {"model": MODEL, "caller_timeout": seconds(), "service_time": seconds(),
                  "requests": count(), "reply_buffer": count()},
    "ownership": {"model": MODEL},
    "work_queue": {"model": MODEL, "workers": count(1, MAX_PARTIES),
                   "spread": number(0, MAX_SPREAD), "load": FRACTION, "messages": count(1),
                   "dispatch": choice(), "service": seconds(), "arrivals": PACING},
    "route": {"strategy": choice(), "model": MODEL, "workers": count(1, MAX_PARTIES),
              "messages": count(1), "key_skew": number(0, MAX_SKEW), "keys": count(1),
              "load": FRACTION, "service": seconds(), "spread": number(0, MAX_SPREAD)},
    "sharding": {"shards": count(1, MAX_PARTIES), "keys": count(1),
                 "skew": number(0, MAX_SKEW), "messages": count(1), "load": FRACTION,
                 "service": seconds(), "vnodes": count(1, MAX_PARTIES)},
    "key_movement": {"workers": count(2, MAX_PARTIES), "keys": count(1),
                     "vnodes": count(1, MAX_PARTIES)},
    "scatter_gather": {"model": MODEL, "workers": count(1, MAX_PARTIES),
                       "deadline": seconds(), "mean_delay": seconds(),
                       "delays": [("0.1", TypeError), (5, TypeError), ([], ValueError),
                                  ([0.1, -1], ValueError), ([0.1, "x"], TypeError),
                                  ([math.nan], ValueError)]},
    "pubsub": {"model": MODEL, "design": choice(optional=True),
               "subscribers": count(1, MAX_PARTIES), "slow": count(0, 3),
               "messages": count(1), "capacity": count(1), "rate": rate(),
               "fast_rate": rate(), "slow_rate": rate(), "arrivals": PACING},
    "latest_value": {"model": MODEL, "design": choice(optional=True), "updates": count(1),
                     "writer_rate": rate(), "reader_rate": rate(), "capacity": count(1),
                     "arrivals": PACING},
    "overload": {"model": MODEL, "policy": choice(), "arrival_rate": rate(),
                 "service_rate": rate(), "capacity": count(1), "messages": count(1),
                 "payload_bytes": [*NOT_A_NUMBER, (2.5, TypeError), (None, TypeError),
                                   (-1, ValueError)], "pacing": PACING},
    "nonblocking": {"model": MODEL, "strategy": choice(optional=True), "arrival_rate": rate(),
                    "service_rate": rate(), "capacity": count(1), "messages": count(1),
                    "work_cost": seconds(allow_zero=True), "pacing": PACING},
    "credit_flow": {"credits": count(1, optional=True),
                    "batch": count(1), "arrival_rate": rate(), "service_rate": rate(),
                    "messages": count(1), "pacing": PACING},
    "rate_limit": {"rate": rate(), "burst": count(1), "arrival_rate": rate(),
                   "messages": count(1), "mode": choice(), "pacing": PACING},
    "watermarks": {"high": count(1), "low": count(), "arrival_rate": rate(),
                   "service_rate": rate(), "messages": count(1), "pacing": PACING},
    "load_shedding": {"threshold": count(1, optional=True),
                      "probability": number(0, 1), "arrival_rate": rate(),
                      "service_rate": rate(), "messages": count(1), "pacing": PACING},
    "poison": {"model": MODEL, "design": choice(optional=True),
               "workers": count(1, MAX_PARTIES), "messages": count(1),
               "poison_every": count(1), "work_time": seconds(), "arrival_rate": rate(),
               "start_time": seconds(allow_zero=True)},
    "dependency_storm": {"policy": choice(), "model": MODEL, "requests": count(1),
                         "request_rate": rate(), "down_at": seconds(allow_zero=True),
                         "down_for": seconds(allow_zero=True), "failure": choice(),
                         "call_time": seconds(), "call_timeout": seconds()},
    "strategies": {"strategy": choice(), "failing": choice()},
    "escalation": {"failures": [("1,2", TypeError), (5, TypeError), ([-1], ValueError),
                                (["x"], TypeError), ([math.nan], ValueError),
                                ([2.0, 1.0], ValueError), ([math.inf], ValueError)],
                   "intensity": count(), "period": seconds()},
    "restart_types": {"restart": choice(), "ending": choice()},
    "backoff_restarts": {"min": seconds(), "max": seconds(), "random_factor": number(0, 1),
                         "up_at": seconds(allow_zero=True)},
    "backoff_mailbox": {"delay": seconds(), "queued": count()},
    "breaker": {"protected": boolean(), "requests": count(1), "interval": seconds(),
                "down_from": seconds(allow_zero=True), "down_until": seconds(allow_zero=True),
                "max_failures": count(1), "call_timeout": seconds(),
                "reset_timeout": seconds(), "backoff_factor": number(1, 10)},
    "crash_recovery": {"crash_at": count(1, 40), "commands": count(1),
                       "snapshot_every": count(1, optional=True), "dedup": boolean(),
                       "backend": choice(), "persistent": boolean()},
    "upcasting": {"upcast": boolean(), "events": count(1)},
    "delivery": {"model": MODEL, "guarantee": choice(), "messages": count(1),
                 "crash_every": count(1, optional=True), "after_effect": number(0, 1),
                 "consumers": count(1, MAX_PARTIES), "arrival_rate": rate(),
                 "work_time": seconds(), "ack_timeout": seconds()},
    "delivery_table": {"messages": count(1), "crash_every": count(1, optional=True),
                       "after_effect": number(0, 1), "consumers": count(1, MAX_PARTIES),
                       "arrival_rate": rate(), "work_time": seconds(),
                       "ack_timeout": seconds()},
    "work_queue_sweep": {"workers": listing(0, ValueError), "spreads": listing(-1, ValueError),
                         "models": listing("java", ValueError), "dispatch": choice(),
                         "load": FRACTION, "messages": count(1), "service": seconds()},
}

FUNCTIONS: dict[str, Callable[..., Any]] = {**scenarios.SCENARIOS,
                                             "work_queue_sweep": scenarios.work_queue_sweep,
                                             "delivery_table": scenarios.delivery_table}

CASES = [pytest.param(name, param, value, error, id=f"{name}-{param}={value!r}"[:80])
         for name, params in SPEC.items()
         for param, cases in [*params.items(), ("seed", SEED)]
         for value, error in cases]


def test_the_table_covers_every_parameter_of_every_scenario() -> None:
    assert set(SPEC) == set(FUNCTIONS)
    for name, fn in FUNCTIONS.items():
        assert [*SPEC[name], "seed"] == list(inspect.signature(fn).parameters), name


@pytest.mark.parametrize(("name", "param", "value", "error"), CASES)
def test_bad_value_names_the_parameter(name: str, param: str, value: object,
                                       error: type[Exception]) -> None:
    """Wrong type: TypeError; right type, out of range: ValueError; either way the message
    starts with the parameter's name (an item of a list: ``delays[1]``)."""
    with pytest.raises(error) as info:
        FUNCTIONS[name](**{param: value})
    assert type(info.value) is error
    assert re.match(rf"{re.escape(param)}(\[\d+\])? must be ", str(info.value)), info.value


def test_messages_say_what_is_accepted_and_what_came() -> None:
    with pytest.raises(ValueError) as info:
        scenarios.producer_consumer("go", capacity=-1)
    assert str(info.value) == "capacity must be an int from 0 to 1,000,000, got int -1"
    with pytest.raises(TypeError) as type_info:
        scenarios.who_closes("go", mistake="no")  # type: ignore[arg-type]
    assert str(type_info.value) == "mistake must be True or False, got str 'no'"
    with pytest.raises(ValueError) as info:
        scenarios.work_queue("go", load=1.0)
    assert str(info.value) == "load must be a finite number > 0 and < 1, got float 1.0"
    with pytest.raises(ValueError) as info:
        scenarios.ping_pong("java")
    assert str(info.value) == "model must be one of 'go', 'rust', 'actor', got str 'java'"


# -- rules between parameters ---------------------------------------------------------------


@pytest.mark.parametrize(("call", "match"), [
    (lambda: scenarios.overload("go", "unbounded"), r"^model 'go' has no policy 'unbounded': "
     r"every Go channel has a fixed capacity.* \(model 'go' offers 'block', 'drop_new', 'fail'\)$"),
    (lambda: scenarios.overload("go", "drop_head"), "drain the oldest"),
    (lambda: scenarios.overload("go", "drop_tail"), "cannot give up its newest"),
    (lambda: scenarios.overload("rust", "drop_tail"), "never evicts"),
    (lambda: scenarios.nonblocking("go", "try_send"),
     r"^model 'go' has no strategy 'try_send': it is a rust strategy "
     r"\(model 'go' offers 'select_default', 'semaphore', 'send'\)$"),
    (lambda: scenarios.pubsub("go", "broadcast"),
     r"model 'go' has no design 'broadcast'.*'blocking', 'select_default'"),
    (lambda: scenarios.pubsub("rust", "blocking"), "model 'rust' has no design 'blocking'"),
    (lambda: scenarios.latest_value("go", "watch"), "model 'go' has no design 'watch'"),
    (lambda: scenarios.pubsub("go", subscribers=2, slow=3),
     r"slow must be an int from 0 to 2, got int 3"),
    (lambda: scenarios.message_contracts("go", messages=4, stop_after=5),
     r"stop_after must be an int from 0 to 4, got int 5"),
    (lambda: scenarios.message_contracts("rust", new_variant=False, handler="updated"),
     "old protocol"),
    (lambda: scenarios.message_contracts("go", new_variant=False, stop_after=3),
     "old protocol"),
    (lambda: scenarios.credit_flow(2, batch=3), "must not exceed credits"),
    (lambda: scenarios.watermarks(high=5, low=5), "must be below high"),
    (lambda: scenarios.load_shedding(threshold=None), "nothing is ever shed"),
])
def test_combinations_a_model_cannot_run_say_why(call: Callable[[], object],
                                                 match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# -- edges that run ---------------------------------------------------------------------------


def test_edge_values_run_and_give_a_well_defined_result() -> None:
    """The largest and smallest accepted values run quickly in virtual time."""
    big = scenarios.producer_consumer("rust", capacity=MAX_COUNT, messages=5).result
    assert big.delivered == 5 and big.producer_blocked == 0
    slow = scenarios.producer_consumer("go", producer_rate=MIN_RATE, consumer_rate=MIN_RATE,
                                       messages=3).result
    assert slow.delivered == 3 and math.isfinite(slow.elapsed)
    fast = scenarios.producer_consumer("go", producer_rate=1e300, consumer_rate=1e300,
                                       messages=3).result
    assert fast.delivered == 3 and fast.elapsed < 1e-290
    long = scenarios.ping_pong("go", rounds=2, hit_time=MAX_SECONDS).result
    assert long.ball == 2
    assert scenarios.pubsub("rust", capacity=MAX_COUNT, messages=3).result.missed_total == 0


def test_seed_none_and_huge_seeds_run() -> None:
    assert scenarios.ping_pong("go", seed=None).result.ball == 3
    a = scenarios.fifo_order("go", seed=2**100)
    b = scenarios.fifo_order("go", seed=2**100)
    assert a.result == b.result


def test_infinite_patience_is_no_limit_and_reports_the_deadlock() -> None:
    """G33: waiting for ever on a consumer that never ends is a deadlock, reported."""
    forever = scenarios.who_closes("go", mistake=True, patience=math.inf).result
    unlimited = scenarios.who_closes("go", mistake=True, patience=None).result
    assert forever == unlimited
    assert forever.deadlock and forever.hung
