"""labkit.scenarios.backpressure: each overflow policy and flow-control tool under overload."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import go, rust, scenarios
from labkit.actor import Actor, ActorSystem, Context, Mailbox
from labkit.flow import littles_law
from labkit.scenarios.backpressure import OFFERED, POLICIES, STRATEGIES, messages_held
from labkit.trace import drops

#: Every (model, policy) pair the models offer.
PAIRS = [(m, p) for m, policies in OFFERED.items() for p in policies]
#: Little's law must hold to this relative error (a drained run is exact up to rounding).
LITTLE_TOLERANCE = 0.05


def burst(model: str, policy: str) -> scenarios.OverloadResult:
    """Ten messages arrive within 10 ms at a 3-slot queue whose consumer takes 1 s each:
    message 0 goes straight to the idle consumer, 1-3 fill the queue, 4-9 meet it full."""
    return scenarios.overload(model, policy, arrival_rate=1000, service_rate=1, capacity=3,
                              messages=10, pacing="fixed").result


# -- determinism and termination ---------------------------------------------------------------


@pytest.mark.parametrize(("model", "policy"), PAIRS)
def test_overload_is_deterministic_and_never_hangs(model: str, policy: str) -> None:
    first = scenarios.overload(model, policy, messages=80, seed=3)
    second = scenarios.overload(model, policy, messages=80, seed=3)
    assert first.result == second.result
    assert first.trace.df.equals(second.trace.df)
    assert first.completed
    assert first.leaked == ()
    res = first.result
    assert res.delivered + res.dropped + res.refused == res.messages == 80
    assert res.kept == tuple(sorted(res.kept))  # one FIFO queue: never reordered
    other = scenarios.overload(model, policy, messages=80, seed=4).result
    assert other.p50_latency != res.p50_latency


def test_every_model_sees_the_same_workload() -> None:
    results = [scenarios.overload(m, "block", seed=2).result for m in OFFERED]
    assert len({(r.elapsed, r.producer_wait, r.p99_latency, r.mean_depth)
                for r in results}) == 1
    dropping = [scenarios.overload(m, "drop_new", seed=2).result for m in OFFERED]
    assert len({(r.kept, r.p50_latency) for r in dropping}) == 1


# -- each policy's signature -----------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_block_loses_nothing_and_makes_the_producer_wait(model: str) -> None:
    res = scenarios.overload(model, "block", capacity=5, seed=1).result
    assert res.delivered == res.messages
    assert res.dropped == res.refused == res.losses_recorded == 0
    assert res.peak_depth == 5  # full, never over
    assert res.producer_wait > 1.0
    assert res.blocked_sends > 0
    assert burst(model, "block").kept == tuple(range(10))


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_drop_new_keeps_the_oldest(model: str) -> None:
    res = burst(model, "drop_new")
    assert res.kept == (0, 1, 2, 3)
    assert res.dropped == res.dropped_new == 6
    assert res.producer_wait == 0.0
    assert res.peak_depth == 3


def test_drop_head_keeps_the_newest_and_drop_tail_the_last_arrival() -> None:
    head = burst("actor", "drop_head")
    assert head.kept == (0, 7, 8, 9)
    assert head.dropped == head.dropped_oldest == 6
    tail = burst("actor", "drop_tail")
    assert tail.kept == (0, 1, 2, 9)  # each arrival evicts the newest queued message
    assert tail.dropped == tail.dropped_newest == 6


def test_drop_head_gives_the_freshest_messages_under_sustained_overload() -> None:
    runs = {p: scenarios.overload("actor", p, seed=5).result
            for p in ("drop_new", "drop_head", "drop_tail")}
    # Same queue, same work: the same number gets through ...
    assert len({r.delivered for r in runs.values()}) == 1
    assert len({round(r.mean_depth, 9) for r in runs.values()}) == 1
    # ... but drop_head serves the newest, so the delivered ones waited least.
    assert runs["drop_head"].p50_latency < runs["drop_tail"].p50_latency
    assert runs["drop_head"].p50_latency < runs["drop_new"].p50_latency


@pytest.mark.parametrize("model", ["rust", "actor"])
def test_fail_hands_the_refusal_to_the_producer(model: str) -> None:
    run = scenarios.overload(model, "fail", arrival_rate=1000, service_rate=1, capacity=3,
                             messages=10, pacing="fixed")
    res = run.result
    assert res.kept == (0, 1, 2, 3)
    assert res.refused == 6
    assert res.dropped == 0  # not lost by the queue: the caller got it back
    rejects = run.trace.events("reject")
    assert len(rejects) == 6 == res.losses_recorded
    if model == "actor":
        assert set(rejects["detail"]) == {"mailbox full (fail): tell raised"}
        assert drops(run.trace).empty  # no dead letters: MailboxFull reached the caller
    else:
        assert all("Err(Full(" in d for d in rejects["detail"])


@pytest.mark.parametrize("model", ["rust", "actor"])
def test_unbounded_loses_nothing_but_depth_memory_and_latency_grow(model: str) -> None:
    small = scenarios.overload(model, "unbounded", messages=100, seed=1).result
    large = scenarios.overload(model, "unbounded", messages=300, seed=1).result
    bounded = scenarios.overload(model, "drop_new", messages=300, seed=1).result
    assert large.delivered == 300 and large.dropped == 0 and large.producer_wait == 0.0
    assert large.capacity is None
    assert large.peak_depth > small.peak_depth > 10
    assert large.peak_held == large.peak_depth  # nobody waits: everything held is queued
    assert large.memory_held_bytes == large.peak_depth * 1024
    assert large.memory_held_bytes > 5 * bounded.memory_held_bytes
    assert large.p99_latency > small.p99_latency > bounded.p99_latency


# -- memory held: queued messages plus those in a blocked producer's hand -----------------------


@pytest.mark.parametrize(("model", "policy"), PAIRS)
def test_memory_held_counts_the_blocked_producers_message(model: str, policy: str) -> None:
    run = scenarios.overload(model, policy, capacity=8, payload_bytes=4096, seed=1)
    res = run.result
    # one producer: when it blocks on the full queue it holds one more message
    assert res.peak_held == res.peak_depth + (1 if policy == "block" else 0)
    if policy != "unbounded":
        assert res.peak_held == 8 + (1 if policy == "block" else 0)
    assert res.memory_held_bytes == res.peak_held * 4096
    held = messages_held(run.trace)
    assert (held["held"] == held["queued"] + held["in_hand"]).all()
    assert held["in_hand"].max() == (1 if policy == "block" else 0)
    assert held["held"].iloc[-1] == 0  # drained: nothing held at the end


async def _blocked_producers(model: str, capacity: int, producers: int) -> None:
    """``capacity`` messages fill a queue nobody reads for 1 s, then ``producers`` more
    senders block on it, each holding its message; then everything is drained."""
    total = capacity + producers
    if model == "go":
        ch: go.Chan[int] = go.Chan(capacity, name="queue")
        for i in range(total):
            go.go(ch.send, i)
        await go.sleep(1.0)
        for _ in range(total):
            await ch.recv()
        await go.sleep(0.1)  # let the released senders finish
    elif model == "rust":
        tx, rx = rust.mpsc.channel(capacity)

        async def send(tx: Any, i: int) -> None:
            with tx:
                (await tx.send(i)).unwrap()

        handles = [rust.spawn(send, tx.clone(), i) for i in range(total)]
        tx.drop()
        await rust.sleep(1.0)
        for _ in range(total):
            assert await rx.recv() is not None
        for handle in handles:
            (await handle).unwrap()
    else:
        class Slow(Actor):
            async def receive(self, msg: Any, ctx: Context) -> None:
                await labkit.sleep(1.0)

        async with ActorSystem(drain=True) as system:
            # the actor takes message 0 into its hand at once, so one more sender fills
            ref = system.spawn(Slow, name="slow", mailbox=Mailbox(capacity, overflow="block"))
            for i in range(total + 1):
                go.go(ref.send, i)
            await labkit.sleep(total + 1.0)  # time to handle every message, one a second


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
@pytest.mark.parametrize("producers", [1, 4])
def test_n_blocked_producers_hold_capacity_plus_n(model: str, producers: int) -> None:
    run = labkit.simulate(_blocked_producers, model, 3, producers)
    held = messages_held(run.trace)
    assert held["queued"].max() == 3
    assert held["in_hand"].max() == producers
    assert held["held"].max() == 3 + producers
    assert held["held"].iloc[-1] == 0
    blocks = run.trace.events("block")
    assert len(blocks) == producers


def test_a_waiting_reserve_holds_no_message() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(2)
        tx.try_send(0).unwrap()
        tx.try_send(1).unwrap()

        async def reserve_then_build(tx: Any) -> None:
            with tx:
                permit = (await tx.reserve()).unwrap()  # waits with nothing built (R13)
                permit.send(2)

        handle = rust.spawn(reserve_then_build, tx.clone())
        tx.drop()
        await rust.sleep(1.0)
        while await rx.recv() is not None:
            pass
        (await handle).unwrap()

    held = messages_held(labkit.simulate(main).trace)
    assert held["in_hand"].max() == 0
    assert held["held"].max() == 2


# -- Little's law ------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "policy"), [
    ("go", "block"), ("go", "drop_new"), ("rust", "unbounded"), ("rust", "fail"),
    ("actor", "block"), ("actor", "drop_head"), ("actor", "drop_tail"),
    ("actor", "unbounded"),
])
def test_littles_law_holds_on_the_trace(model: str, policy: str) -> None:
    run = scenarios.overload(model, policy, messages=300, seed=9)
    res = run.result
    law = littles_law(run.trace)
    assert law.relative_error < LITTLE_TOLERANCE
    assert abs(law.L - law.lam * law.W) <= LITTLE_TOLERANCE * law.L
    assert law.L > 1.0  # a busy queue, not a trivial one
    assert (res.mean_depth, res.little_lambda, res.little_w, res.little_error) == law


def test_littles_law_counts_evictions_and_blocked_senders() -> None:
    # Latency from send to receive would count a blocked sender's wait, which the queue
    # depth does not: W is measured from entering the queue.
    block = scenarios.overload("actor", "block", capacity=3, seed=2)
    assert block.result.p50_latency > block.result.little_w
    assert block.result.little_error < 1e-9
    head = scenarios.overload("actor", "drop_head", capacity=3, seed=2).result
    assert head.dropped_oldest > 0
    assert head.little_error < 1e-9


# -- Go select-default vs Rust try_send vs reserve -------------------------------------------


def test_go_and_rust_producers_are_both_told_and_the_consumer_never_is() -> None:
    go_run = scenarios.overload("go", "drop_new", seed=4)
    rust_run = scenarios.overload("rust", "drop_new", seed=4)
    assert go_run.result.dropped_new == rust_run.result.dropped_new > 0
    assert go_run.result.kept == rust_run.result.kept
    # the rows come from the scenario's producer (the default branch, the Err(Full(v)) arm)
    go_lost, rust_lost = drops(go_run.trace), drops(rust_run.trace)
    assert len(go_lost) == go_run.result.losses_recorded == go_run.result.dropped_new
    assert len(rust_lost) == rust_run.result.losses_recorded == rust_run.result.dropped_new
    assert all(d.startswith("select default ran") for d in go_lost["detail"])
    assert all(d.startswith("try_send -> Err(Full(") for d in rust_lost["detail"])


def test_go_fail_returns_errfull_like_rust_try_send() -> None:
    go_res = scenarios.overload("go", "fail", seed=4).result
    rust_res = scenarios.overload("rust", "fail", seed=4).result
    assert go_res.refused == rust_res.refused > 0
    assert go_res.dropped == rust_res.dropped == 0
    assert go_res.kept == rust_res.kept
    assert "return ErrFull" in go_res.spelled


def test_nonblocking_reserve_before_work_wastes_nothing() -> None:
    common: dict[str, Any] = {"arrival_rate": 25.0, "service_rate": 10.0, "capacity": 4,
                              "messages": 150, "work_cost": 0.02, "seed": 6}
    res = {(m, s): scenarios.nonblocking(m, s, **common).result
           for m, strategies in STRATEGIES.items() for s in strategies}
    go_default = res["go", "select_default"]
    go_sem = res["go", "semaphore"]
    try_send = res["rust", "try_send"]
    try_reserve = res["rust", "try_reserve"]
    reserve = res["rust", "reserve"]
    # build-then-try wastes the work of every refused message; the same in both models
    assert go_default.wasted_work == try_send.wasted_work > 0
    assert go_default.wasted_work == pytest.approx(go_default.refused_after_build * 0.02)
    assert go_default.refused_after_build == try_send.refused_after_build
    assert go_default.refused_before_build == try_send.refused_before_build == 0
    # a slot first, then the work: nothing wasted (Go: a semaphore channel)
    assert try_reserve.wasted_work == reserve.wasted_work == go_sem.wasted_work == 0.0
    assert try_reserve.built == try_reserve.delivered
    assert try_reserve.refused_before_build > 0
    assert (go_sem.delivered, go_sem.refused_before_build, go_sem.p99_latency) == (
        try_reserve.delivered, try_reserve.refused_before_build, try_reserve.p99_latency)
    assert reserve.delivered == 150 and reserve.producer_wait > 0
    for r in res.values():
        assert r.built * 0.02 == pytest.approx(r.wasted_work + r.useful_work)
        assert r.delivered + r.refused_after_build + r.refused_before_build == 150
    # waiting strategies keep every message but let latency grow under overload
    assert reserve.p99_latency > 3 * try_reserve.p99_latency
    assert res["go", "send"].p99_latency > 3 * go_default.p99_latency


def test_nonblocking_without_overload_drops_nothing() -> None:
    for model, strategies in STRATEGIES.items():
        for strategy in strategies:
            res = scenarios.nonblocking(model, strategy, arrival_rate=2.0, service_rate=50.0,
                                        messages=50, work_cost=0.01).result
            assert res.delivered == 50
            assert res.wasted_work == 0.0


# -- credits, token bucket, watermarks, shedding -------------------------------------------------


@pytest.mark.parametrize(("credits", "batch"), [(1, 1), (4, 1), (4, 2), (8, 8)])
def test_credits_are_never_exceeded(credits: int, batch: int) -> None:
    run = scenarios.credit_flow(credits, batch=batch, messages=120, seed=2)
    res = run.result
    assert res.delivered == 120
    assert res.used == 120 <= res.granted
    assert res.max_in_flight <= credits
    assert res.peak_depth <= credits
    assert int(run.trace.df["depth"].max()) <= credits
    assert res.producer_wait > 0


def test_without_credits_the_unbounded_mailbox_grows() -> None:
    free = scenarios.credit_flow(None, messages=120, seed=2).result
    held = scenarios.credit_flow(4, messages=120, seed=2).result
    assert free.peak_depth > 4 * held.peak_depth
    assert free.p99_latency > held.p99_latency
    assert (free.granted, free.used, free.producer_wait) == (0, 0, 0.0)


@pytest.mark.parametrize("mode", ["wait", "drop"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_token_bucket_admits_at_most_rate_times_t_plus_burst(mode: str, seed: int) -> None:
    run = scenarios.rate_limit(rate=5.0, burst=3, arrival_rate=30.0, messages=120, mode=mode,
                               seed=seed)
    res = run.result
    assert res.largest_burst <= 3 + 1e-9
    times = run.trace.events("tell")["time"].tolist()
    assert len(times) == res.admitted
    for i in range(len(times)):  # the bound checked directly on the trace, every window
        for j in range(i, len(times)):
            assert j - i + 1 <= 5.0 * (times[j] - times[i]) + 3 + 1e-9
    if mode == "wait":
        assert res.admitted == 120 and res.refused == 0 and res.producer_wait > 0
        assert res.admitted_rate == pytest.approx(5.0, rel=0.1)
    else:
        assert res.refused > 0 and res.admitted + res.refused == 120
        reasons = set(drops(run.trace)["detail"])
        assert reasons == {"rate limited: no token (rate 5/s, burst 3)"}


def test_watermark_hysteresis_switches_less_than_a_single_threshold() -> None:
    wide = scenarios.watermarks(high=8, low=2, messages=150, seed=3).result
    single = scenarios.watermarks(high=8, low=7, messages=150, seed=3).result
    assert single.transitions > 2 * wide.transitions > 0
    for res in (wide, single):
        assert res.delivered == 150
        assert res.peak_depth <= 8
        assert res.transitions in (2 * res.pauses, 2 * res.pauses - 1)
        assert res.paused_time > 0


@pytest.mark.parametrize("seed", [1, 3])
def test_a_paused_producer_resumes_only_at_the_low_mark(seed: int) -> None:
    run = scenarios.watermarks(high=8, low=2, messages=100, seed=seed)
    df = run.trace.df
    marks = df[df["kind"].isin(["pause", "resume"])]
    assert list(marks["kind"][:2]) == ["pause", "resume"]
    assert set(marks[marks["kind"] == "pause"]["depth"]) == {8}
    assert set(marks[marks["kind"] == "resume"]["depth"]) == {2}
    tells = df[df["kind"] == "tell"]["time"].to_numpy()
    for pause, resume in zip(marks[marks["kind"] == "pause"]["time"],
                             marks[marks["kind"] == "resume"]["time"], strict=False):
        assert not ((tells > pause) & (tells < resume)).any()  # nothing sent while paused


def test_shed_messages_are_dead_letters_with_a_reason() -> None:
    run = scenarios.load_shedding(threshold=4, messages=120, seed=1)
    res = run.result
    assert res.shed > 0
    assert res.dead_letters == res.shed == res.messages - res.admitted
    assert res.reasons == (("shed: depth 4 >= threshold 4", res.shed),)
    assert res.peak_depth <= 4
    lost = drops(run.trace)
    assert list(lost["kind"]) == ["dead_letter"] * res.shed
    assert set(lost["detail"]) == {"shed: depth 4 >= threshold 4"}


def test_random_shedding_is_seeded_and_gives_its_own_reason() -> None:
    a = scenarios.load_shedding(threshold=None, probability=0.3, messages=200, seed=8).result
    b = scenarios.load_shedding(threshold=None, probability=0.3, messages=200, seed=8).result
    assert a == b
    assert 30 < a.shed < 90
    assert a.reasons == (("shed: random (p=0.3)", a.shed),)


# -- policies each model offers ------------------------------------------------------------------


def test_a_missing_policy_says_what_the_model_offers() -> None:
    with pytest.raises(ValueError, match=r"model 'go' offers 'block', 'drop_new', 'fail'"):
        scenarios.overload("go", "unbounded")
    assert set(OFFERED["actor"]) == set(POLICIES)
