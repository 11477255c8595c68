"""labkit.scenarios: every scenario runs, is deterministic, and shows what it teaches."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

import labkit
from labkit import scenarios
from labkit.scenarios import SCENARIOS, _common
from labkit.scenarios.reliability import GUARANTEES
from labkit.scenarios.reliability import MODELS as DELIVERY_MODELS

#: A fast call of every scenario in every model it has: (name, kwargs).
CASES: list[tuple[str, dict[str, Any]]] = [
    *[("ping_pong", {"model": m}) for m in ("go", "rust", "actor")],
    *[("producer_consumer", {"model": m, "capacity": c, "messages": 50})
      for m in ("go", "rust") for c in (0, 4)],
    *[("fifo_order", {"model": m, "capacity": c}) for m in ("go", "rust") for c in (0, 2)],
    *[("who_closes", {"model": m, "mistake": bad, "patience": p})
      for m in ("go", "rust") for bad in (True, False) for p in (1.0, None)],
    *[("select_fairness", {"model": m, "biased": b, "iterations": 200})
      for m in ("go", "rust") for b in (False, True)],
    *[("ask_reply", {"model": m, "reply_buffer": b}) for m in ("go", "rust") for b in (0, 1)],
    *[("ownership", {"model": m}) for m in ("go", "rust")],
    *[("message_contracts", {"model": m, "handler": h})
      for m in ("go", "rust", "actor") for h in ("stale", "wildcard", "updated")],
    *[("message_contracts", {"model": m, "new_variant": False}) for m in ("go", "rust", "actor")],
    # 02 routing
    *[("work_queue", {"model": m, "spread": 2.0, "messages": 200}) for m in ("go", "rust")],
    *[("route", {"strategy": s, "model": m, "messages": 40})
      for s in ("round_robin", "consistent_hash", "topic") for m in ("go", "rust", "actor")],
    ("sharding", {"messages": 300}),
    ("key_movement", {"keys": 500}),
    *[("scatter_gather", {"model": m}) for m in ("go", "rust", "actor")],
    *[("pubsub", {"model": m, "design": d, "messages": 40, "capacity": 4})
      for m, designs in scenarios.routing.PUBSUB_DESIGNS.items() for d in designs],
    *[("latest_value", {"model": m, "design": d, "updates": 40})
      for m, designs in scenarios.routing.LATEST_DESIGNS.items() for d in designs],
    # 03 backpressure
    *[("overload", {"model": m, "policy": p, "messages": 60})
      for m, policies in scenarios.backpressure.OFFERED.items() for p in policies],
    *[("nonblocking", {"model": m, "strategy": s, "messages": 60})
      for m, strategies in scenarios.backpressure.STRATEGIES.items() for s in strategies],
    *[("credit_flow", {"credits": c, "messages": 40}) for c in (None, 3)],
    *[("rate_limit", {"mode": m, "messages": 40}) for m in ("wait", "drop")],
    ("watermarks", {"messages": 40}),
    ("load_shedding", {"threshold": 4, "probability": 0.1, "messages": 40}),
    # 04 supervision
    *[("poison", {"model": m, "design": d, "messages": 30})
      for m, designs in scenarios.faults.DESIGNS.items() for d in designs],
    *[("dependency_storm", {"policy": p, "model": m, "requests": 40})
      for m, policies in scenarios.faults.STORM_MODELS.items() for p in policies],
    *[("strategies", {"strategy": s}) for s in ("one_for_one", "one_for_all", "rest_for_one")],
    ("escalation", {}),
    ("escalation", {"failures": (1.0, 7.0), "intensity": 1, "period": 5.0}),
    *[("restart_types", {"restart": r, "ending": e})
      for r in ("permanent", "transient", "temporary") for e in scenarios.supervision.ENDINGS],
    ("backoff_restarts", {}),
    ("backoff_mailbox", {}),
    *[("breaker", {"protected": p, "requests": 40}) for p in (True, False)],
    # 05 replay
    *[("crash_recovery", {"backend": b, "dedup": d, "commands": 20, "crash_at": 8})
      for b in ("file", "sqlite") for d in (True, False)],
    ("crash_recovery", {"persistent": False, "commands": 20, "crash_at": 8}),
    ("crash_recovery", {"snapshot_every": 3, "commands": 20, "crash_at": 20}),
    *[("upcasting", {"upcast": u}) for u in (True, False)],
    *[("delivery", {"model": m, "guarantee": g, "messages": 30})
      for m in DELIVERY_MODELS for g in GUARANTEES],
]


def _id(case: tuple[str, dict[str, Any]]) -> str:
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def test_registry_lists_every_scenario_with_a_description() -> None:
    assert set(SCENARIOS) == set(scenarios.DESCRIPTIONS)
    assert {name for name, _ in CASES} == set(SCENARIOS)
    for name, fn in SCENARIOS.items():
        assert fn is getattr(scenarios, name)
        assert fn.__doc__ and scenarios.DESCRIPTIONS[name]
        assert "\n" not in scenarios.DESCRIPTIONS[name]
    assert isinstance(scenarios.__all__, tuple)
    for name in scenarios.__all__:
        assert hasattr(scenarios, name)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_scenario_runs_and_is_deterministic(case: tuple[str, dict[str, Any]]) -> None:
    name, kwargs = case
    fn: Callable[..., labkit.Run[Any]] = SCENARIOS[name]
    first = fn(**kwargs, seed=7)
    second = fn(**kwargs, seed=7)
    assert isinstance(first, labkit.Run)
    assert first.seed == 7
    assert first.result is not None
    assert first.result == second.result
    assert first.trace.df.equals(second.trace.df)
    assert first.leaked == second.leaked


#: Scenarios whose workload is random, with small parameters: (scenario, its arguments).
SEEDED: dict[str, tuple[str, dict[str, Any]]] = {
    "pubsub-go-blocking": ("pubsub", {"model": "go", "design": "blocking", "messages": 80}),
    "pubsub-go-default": ("pubsub", {"model": "go", "design": "select_default",
                                     "messages": 80}),
    "pubsub-broadcast": ("pubsub", {"model": "rust", "messages": 80}),
    "latest-watch": ("latest_value", {"model": "rust", "updates": 80}),
    "latest-drain": ("latest_value", {"model": "go", "updates": 80}),
    "latest-buffered": ("latest_value", {"model": "go", "design": "buffered", "updates": 80}),
    "wq-go": ("work_queue", {"model": "go", "messages": 300}),
    "wq-rust-random": ("work_queue", {"model": "rust", "messages": 300, "dispatch": "random"}),
    "route-rust": ("route", {"strategy": "random", "model": "rust", "messages": 60}),
    "route-actor": ("route", {"strategy": "least_loaded", "messages": 60}),
    "sharding": ("sharding", {"messages": 300}),
    "sg-go": ("scatter_gather", {"model": "go"}),
}


@pytest.mark.parametrize("case", list(SEEDED))
def test_same_seed_same_run_other_seed_other_result(case: str) -> None:
    name, kwargs = SEEDED[case]
    a, b, other = (SCENARIOS[name](**kwargs, seed=seed) for seed in (3, 3, 4))
    assert a.result == b.result
    assert a.trace.df.equals(b.trace.df)
    assert a.result != other.result


def test_seed_changes_the_random_workload() -> None:
    a = scenarios.producer_consumer("go", capacity=2, messages=50, seed=1)
    b = scenarios.producer_consumer("go", capacity=2, messages=50, seed=2)
    assert a.result.elapsed != b.result.elapsed


# -- tour ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_ping_pong_same_shape_in_every_model(model: str) -> None:
    run = scenarios.ping_pong(model, rounds=4, hit_time=0.01)
    res = run.result
    assert res.ball == 4
    assert len(res.exchanges) == 8
    assert [(e.sender, e.receiver) for e in res.exchanges] == [("ping", "pong"),
                                                             ("pong", "ping")] * 4
    assert [e.ball for e in res.exchanges] == [0, 1, 1, 2, 2, 3, 3, 4]
    assert run.elapsed == pytest.approx(0.04)
    assert set(res.parties.values()) == {"ping", "pong"}
    assert set(res.parties) <= set(run.trace.df["actor"].dropna())
    assert run.leaked == ()


def test_ping_pong_exchanges_identical_across_models() -> None:
    runs = [scenarios.ping_pong(m, rounds=3) for m in ("go", "rust", "actor")]
    assert runs[0].result.exchanges == runs[1].result.exchanges == runs[2].result.exchanges


# -- producer_consumer -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust"])
def test_unbuffered_producer_blocks_more_than_buffered(model: str) -> None:
    blocked = {cap: scenarios.producer_consumer(model, capacity=cap, messages=300,
                                                seed=3).result.producer_blocked
               for cap in (0, 1, 16)}
    assert blocked[0] > blocked[1] > blocked[16]
    rendezvous = scenarios.producer_consumer(model, capacity=0, messages=300, seed=3).result
    assert rendezvous.peak_depth == 0
    assert rendezvous.blocked_sends > 0


def test_rust_capacity_zero_is_sync_channel_rendezvous() -> None:
    res = scenarios.producer_consumer("rust", capacity=0, messages=20).result
    assert res.channel == "std::sync::mpsc::sync_channel(0)"
    assert res.delivered == 20
    assert scenarios.producer_consumer("rust", capacity=3).result.channel == \
        "tokio::sync::mpsc::channel(3)"
    assert scenarios.producer_consumer("go", capacity=0).result.channel == "make(chan T)"


def test_same_workload_in_both_models() -> None:
    go_res = scenarios.producer_consumer("go", capacity=2, messages=100, seed=5).result
    rust_res = scenarios.producer_consumer("rust", capacity=2, messages=100, seed=5).result
    assert go_res.elapsed == rust_res.elapsed  # one producer, one consumer: same schedule


@pytest.mark.parametrize("model", ["go", "rust"])
def test_ten_thousand_messages_all_delivered_in_order(model: str) -> None:
    run = scenarios.producer_consumer(model, capacity=8, producer_rate=1000,
                                      consumer_rate=900, messages=10_000)
    assert run.result.delivered == 10_000
    assert run.result.in_order
    assert run.completed
    received = run.trace.events("receive")
    assert len(received) == 10_000


@pytest.mark.parametrize("kind", ["exponential", "fixed"])
def test_a_workload_drawn_at_once_is_the_one_drawn_gap_by_gap(kind: str) -> None:
    at_once, one_by_one = random.Random(4), random.Random(4)
    for mean in (0.1, 1 / 3, 7.0):
        assert (_common.intervals(at_once, 50, mean, kind)
                == [_common.interval(one_by_one, mean, kind) for _ in range(50)])


def test_fixed_pacing_is_exact() -> None:
    res = scenarios.producer_consumer("go", capacity=0, producer_rate=10, consumer_rate=20,
                                      messages=10, pacing="fixed").result
    assert res.producer_blocked == 0.0  # a consumer twice as fast is always waiting
    assert res.consumer_idle == pytest.approx(10 * 0.1 - 9 * 0.05)


# -- fifo_order -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust"])
@pytest.mark.parametrize("capacity", [0, 1, 5])
def test_fifo_per_producer_and_interleaved(model: str, capacity: int) -> None:
    res = scenarios.fifo_order(model, producers=3, messages=8, capacity=capacity).result
    assert res.per_producer_fifo
    assert len(res.received) == 24
    assert res.switches > 0


# -- who_closes -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust"])
def test_the_mistake_hangs_and_leaks_the_consumer(model: str) -> None:
    run = scenarios.who_closes(model, mistake=True, messages=4)
    res = run.result
    assert res.hung and not res.deadlock
    assert res.received == 4  # every value arrived; only the end of stream did not
    assert len(res.leaked) == 1
    assert run.leaked == res.leaked


@pytest.mark.parametrize("model", ["go", "rust"])
def test_the_mistake_without_patience_is_a_deadlock_reported_not_raised(model: str) -> None:
    run = scenarios.who_closes(model, mistake=True, patience=None)
    res = run.result
    assert res.hung and res.deadlock
    assert not run.completed
    assert "main" in res.blocked
    assert len(res.leaked) == 1 and res.leaked[0] in res.blocked
    assert "receive from" in res.blocked[res.leaked[0]]


@pytest.mark.parametrize("model", ["go", "rust"])
@pytest.mark.parametrize("patience", [1.0, None])
def test_the_fix_does_not_hang(model: str, patience: float | None) -> None:
    run = scenarios.who_closes(model, mistake=False, messages=4, patience=patience)
    res = run.result
    assert not res.hung and not res.deadlock
    assert res.received == 4
    assert res.leaked == () == run.leaked
    assert run.completed


# -- select_fairness ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust"])
def test_unbiased_select_is_about_even(model: str) -> None:
    res = scenarios.select_fairness(model, iterations=2000, seed=11).result
    assert res.wins_a + res.wins_b == 2000
    assert 0.45 < res.share_b < 0.55


@pytest.mark.parametrize("model", ["go", "rust"])
def test_biased_select_starves_the_second_input(model: str) -> None:
    res = scenarios.select_fairness(model, biased=True, iterations=500).result
    assert res.wins_b == 0
    assert res.share_a == 1.0
    assert res.longest_wait_b == 500


# -- ask_reply --------------------------------------------------------------------------------


def test_go_unbuffered_reply_leaks_blocked_repliers() -> None:
    run = scenarios.ask_reply("go", caller_timeout=0.1, service_time=0.1, requests=30)
    res = run.result
    assert res.timed_out > 0
    assert res.answered + res.timed_out == 30
    assert res.blocked_repliers == res.timed_out
    assert len(run.leaked) == res.timed_out


def test_go_buffered_reply_leaks_nothing() -> None:
    run = scenarios.ask_reply("go", caller_timeout=0.1, service_time=0.1, requests=30,
                              reply_buffer=1)
    assert run.result.timed_out > 0
    assert run.result.blocked_repliers == 0
    assert run.leaked == ()


def test_rust_oneshot_reply_leaks_nothing_and_reports_err() -> None:
    run = scenarios.ask_reply("rust", caller_timeout=0.1, service_time=0.1, requests=30)
    res = run.result
    assert res.timed_out > 0
    assert res.blocked_repliers == 0
    assert res.failed_replies == res.timed_out
    assert run.leaked == ()


def test_ask_reply_same_timeouts_in_both_models() -> None:
    go_res = scenarios.ask_reply("go", requests=25, seed=4).result
    rust_res = scenarios.ask_reply("rust", requests=25, seed=4).result
    assert (go_res.answered, go_res.timed_out) == (rust_res.answered, rust_res.timed_out)


# -- ownership --------------------------------------------------------------------------------


def test_go_receiver_sees_the_mutation() -> None:
    res = scenarios.ownership("go").result
    assert res.mutation_visible
    assert res.received != res.sent
    assert res.error is None


def test_rust_move_refuses_the_mutation() -> None:
    res = scenarios.ownership("rust").result
    assert not res.mutation_visible
    assert res.received == res.sent
    assert res.error is not None and res.error.startswith("MovedValueError")


# -- no wall-clock values ------------------------------------------------------------------------


def test_results_are_in_virtual_time() -> None:
    run = scenarios.producer_consumer("go", capacity=1, producer_rate=10, consumer_rate=10,
                                      messages=20, pacing="fixed")
    assert run.result.elapsed == pytest.approx(run.elapsed)
    assert run.result.elapsed == pytest.approx(2.1)
