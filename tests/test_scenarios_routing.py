"""labkit.scenarios.routing: the notebook 02 experiments show what they claim."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from labkit import Run, scenarios
from labkit.scenarios import routing as sr


def _task_of(model: str, worker: str) -> str:
    """The task that runs ``worker``: Go goroutines are unnamed, ``go-1``, ``go-2`` ... in
    the order they start, and every scenario starts its workers first, in order."""
    if model == "go" and worker.startswith("worker-"):
        return f"go-{int(worker.removeprefix('worker-')) + 1}"
    return worker


def assert_followable(run: Run[Any], model: str) -> int:
    """Every ``route`` row that reached a worker can be followed by its ``corr_id``: the
    rows with that id include a send-side row (``send``/``tell``) whose message the
    worker's own task received (a ``receive`` row with the same id and ``msg_id``), and
    for actors the worker's ``handle_end`` of it. Returns how many rows were followed."""
    df = run.trace.df
    routes = df[(df["kind"] == "route") & df["peer"].notna()]
    assert len(routes) > 0
    for corr, worker in zip(routes["corr_id"], routes["peer"], strict=True):
        assert corr is not pd.NA
        rows = df[df["corr_id"] == corr]
        task = _task_of(model, worker)
        sent = set(rows.loc[rows["kind"].isin(("send", "tell")), "msg_id"])
        got = set(rows.loc[(rows["kind"] == "receive") & (rows["actor"] == task), "msg_id"])
        assert sent & got, (f"corr_id {corr}: no send-side row whose message {task} "
                            f"received; rows with that id:\n{rows.to_string()}")
        if model == "actor":
            ends = rows[(rows["kind"] == "handle_end") & (rows["actor"] == task)]
            assert set(ends["msg_id"]) & sent & got, f"corr_id {corr}: no handle_end"
    return len(routes)


def test_both_models_serve_the_same_jobs() -> None:
    go_res = scenarios.work_queue("go", spread=1.0, messages=500, seed=2).result
    rust_res = scenarios.work_queue("rust", spread=1.0, messages=500, seed=2).result
    # the same arrivals and service times: the same total work, so the same utilisation
    assert go_res.utilisation == pytest.approx(rust_res.utilisation, rel=0.02)


# -- the MPMC contrast (G7 vs R1/R8) ---------------------------------------------------------------


def test_shared_queue_has_a_shorter_tail_with_mixed_service_times() -> None:
    go_res = scenarios.work_queue("go", workers=4, spread=2.0, messages=2000).result
    rust_res = scenarios.work_queue("rust", workers=4, spread=2.0, messages=2000).result
    assert go_res.p99 * 2 < rust_res.p99
    assert go_res.p50 < rust_res.p50
    assert go_res.mean_wait < rust_res.mean_wait


def test_gap_grows_with_spread() -> None:
    def ratio(spread: float) -> float:
        g = scenarios.work_queue("go", spread=spread, messages=1500, seed=1).result
        r = scenarios.work_queue("rust", spread=spread, messages=1500, seed=1).result
        return r.p99 / g.p99

    low, high = ratio(0.5), ratio(2.0)
    assert 1.0 <= low < high
    assert high > 2


def test_equal_service_times_make_the_shared_queue_round_robin() -> None:
    # With every job alike, the worker that frees first is the one that started first:
    # FIFO over a shared queue *is* round-robin, so both models are the same schedule.
    go_res = scenarios.work_queue("go", spread=0.0, messages=800, seed=5).result
    rust_res = scenarios.work_queue("rust", spread=0.0, messages=800, seed=5).result
    assert go_res.p99 == pytest.approx(rust_res.p99)
    assert go_res.p50 == pytest.approx(rust_res.p50)
    assert go_res.per_worker == rust_res.per_worker == (200, 200, 200, 200)


def test_fixed_arrivals_and_service_never_wait() -> None:
    for model in ("go", "rust"):
        res = scenarios.work_queue(model, spread=0.0, arrivals="fixed", messages=100).result
        assert res.p99 == pytest.approx(0.010)
        assert res.p99_wait == pytest.approx(0.0, abs=1e-9)


def test_one_worker_is_the_same_queue_in_both_models() -> None:
    go_res = scenarios.work_queue("go", workers=1, spread=2.0, messages=500).result
    rust_res = scenarios.work_queue("rust", workers=1, spread=2.0, messages=500).result
    assert go_res.p99 == pytest.approx(rust_res.p99)


def test_least_loaded_dispatch_narrows_the_gap() -> None:
    kw: dict[str, Any] = {"spread": 2.0, "messages": 2000}
    go_p99 = scenarios.work_queue("go", **kw).result.p99
    rr = scenarios.work_queue("rust", dispatch="round_robin", **kw).result.p99
    jsq = scenarios.work_queue("rust", dispatch="least_loaded", **kw).result.p99
    assert go_p99 < jsq < rr


@pytest.mark.parametrize("model", ["go", "rust"])
def test_every_job_done_exactly_once(model: str) -> None:
    run = scenarios.work_queue(model, workers=3, spread=1.5, messages=400, seed=9)
    res = run.result
    assert res.completed == 400
    assert sum(res.per_worker) == 400
    assert len(res.per_worker) == 3
    routes = run.trace.events("route")
    assert sorted(routes["corr_id"].tolist()) == list(range(400))  # once each
    assert routes["peer"].nunique() == 3
    receives = run.trace.events("receive")
    assert len(receives) == 400
    assert sorted(receives["corr_id"].tolist()) == list(range(400))
    assert assert_followable(run, model) == 400
    assert run.leaked == ()


def test_rust_round_robin_is_even_go_pull_is_not() -> None:
    go_res = scenarios.work_queue("go", spread=2.0, messages=400).result
    rust_res = scenarios.work_queue("rust", spread=2.0, messages=400).result
    assert rust_res.per_worker == (100, 100, 100, 100)
    assert go_res.per_worker != rust_res.per_worker  # the free worker takes more


def test_sweep_has_a_row_per_model_workers_spread() -> None:
    df = scenarios.work_queue_sweep(workers=(1, 2), spreads=(0.0, 2.0), messages=300)
    assert len(df) == 8
    assert set(df["model"]) == {"go", "rust"}
    assert {"p50_ms", "p99_ms", "workers", "spread"} <= set(df.columns)
    one = df[df["workers"] == 1].groupby("spread")["p99_ms"].agg(["min", "max"])
    assert (one["max"] - one["min"]).abs().max() < 1e-6  # one worker: the same queue


# -- route -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
@pytest.mark.parametrize("strategy", sr.STRATEGIES)
def test_route_rows_carry_correlation_ids(model: str, strategy: str) -> None:
    run = scenarios.route(strategy, model, workers=3, messages=30, seed=1)
    res = run.result
    routes = run.trace.events("route")
    assert len(routes) == res.copies + res.unmatched
    assert routes["corr_id"].notna().all()
    assert set(routes["model"]) == {model}
    delivered = routes[routes["peer"].notna()]
    assert delivered["corr_id"].nunique() == res.messages - res.unmatched
    assert sum(res.loads.values()) == res.copies
    assert list(res.loads) == ["worker-0", "worker-1", "worker-2"]
    assert assert_followable(run, model) == res.copies


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_filtering_by_corr_id_follows_one_message(model: str) -> None:
    # Notebook 02's learning goal 2, in every model: one message's rows, from the routing
    # decision to the worker, found by its correlation id alone.
    run = scenarios.route("consistent_hash", model, workers=3, messages=9, load=0.3,
                          seed=1)
    df = run.trace.df
    route = df[df["kind"] == "route"].iloc[0]
    rows = df[df["corr_id"] == route["corr_id"]]
    kinds = rows["kind"].tolist()
    send_kind = "tell" if model == "actor" else "send"
    assert kinds[:3] == ["route", send_kind, "receive"]
    assert rows["msg_id"].iloc[1] == rows["msg_id"].iloc[2]  # one message, sent and received
    assert rows["actor"].iloc[2] == _task_of(model, route["peer"])
    assert ("handle_end" in kinds) == (model == "actor")


@pytest.mark.parametrize("model", ["go", "rust"])
def test_channel_rows_of_other_messages_stay_uncorrelated(model: str) -> None:
    # Only routed messages get a corr_id: a Go timer's tick or a close is not one of them.
    run = scenarios.scatter_gather(model, deadline=0.1, delays=[0.02, 0.3])
    df = run.trace.df
    assert df.loc[df["kind"] == "close", "corr_id"].isna().all()
    assert df.loc[df["msg_type"] == "float", "corr_id"].isna().all()  # timer ticks
    assert df["corr_id"].dropna().nunique() == 1


def test_even_counts_are_not_even_work() -> None:
    # Notebook 02 section 1: busy time is measured from receive to handle_end, and
    # round-robin's equal counts still give the most even work of the one-of-N strategies.
    runs = {s: scenarios.route(s, "actor", workers=4, messages=400, key_skew=1.2, seed=1)
            for s in ("round_robin", "random", "least_loaded")}
    df = runs["least_loaded"].trace.df
    start = df[df["kind"] == "receive"].set_index("msg_id")
    end = df[df["kind"] == "handle_end"].set_index("msg_id")
    busy = (end["time"] - start["time"]).groupby(start["actor"]).sum()
    assert runs["least_loaded"].result.busy == pytest.approx(busy.to_dict())
    rr, rnd, ll = (runs[s].result for s in ("round_robin", "random", "least_loaded"))
    assert rr.imbalance == 1.0 < rr.busy_imbalance
    assert rr.busy_imbalance < ll.busy_imbalance and rr.busy_imbalance < rnd.busy_imbalance
    assert ll.imbalance > ll.busy_imbalance  # uneven counts, less uneven work
    assert ll.p50 < rr.p50 < rnd.p50  # what least-loaded buys is waiting time


def test_route_one_of_n_and_fan_out_copies() -> None:
    assert scenarios.route("round_robin", "rust", messages=40).result.copies == 40
    bc = scenarios.route("broadcast", "actor", workers=3, messages=40).result
    assert bc.copies == 120 and set(bc.loads.values()) == {40}
    topic = scenarios.route("topic", "go", workers=2, messages=100).result
    assert topic.unmatched > 0  # users.new and others have no subscriber among 2 workers


def test_route_models_agree_where_they_route_alike() -> None:
    for strategy in ("consistent_hash", "broadcast", "topic", "round_robin", "random",
                     "least_loaded"):
        rust_res = scenarios.route(strategy, "rust", messages=80, seed=2).result
        actor_res = scenarios.route(strategy, "actor", messages=80, seed=2).result
        assert rust_res.loads == actor_res.loads, strategy
    hashed = [scenarios.route("consistent_hash", m, messages=80, seed=2).result.loads
              for m in ("go", "rust")]
    assert hashed[0] == hashed[1]  # the same ring: a key has the same owner


def test_go_one_of_n_uses_the_shared_channel_whatever_the_strategy() -> None:
    runs = [scenarios.route(s, "go", messages=80, seed=2) for s in ("round_robin", "random")]
    assert runs[0].result.loads == runs[1].result.loads
    assert "shared chan" in runs[0].result.design
    assert set(runs[0].trace.events("route")["actor"]) == {"jobs"}


def test_key_skew_unbalances_consistent_hash_only() -> None:
    flat = scenarios.route("consistent_hash", "actor", messages=400, key_skew=0.0).result
    skewed = scenarios.route("consistent_hash", "actor", messages=400, key_skew=1.5).result
    assert skewed.imbalance > flat.imbalance
    rr = scenarios.route("round_robin", "actor", messages=400, key_skew=1.5).result
    assert rr.imbalance == 1.0


# -- sharding --------------------------------------------------------------------------------


def test_zipf_hot_key_makes_a_hot_shard() -> None:
    res = scenarios.sharding(shards=4, keys=100, skew=1.2, messages=1500).result
    assert sum(res.loads.values()) == 1500
    mean = 1500 / 4
    assert res.hot_key == "key-0"
    assert res.loads[res.hot_shard] > mean
    assert res.busiest == res.hot_shard
    assert res.skew_ratio > 1.5
    assert res.p99_by_shard[res.hot_shard] == max(res.p99_by_shard.values())


def test_uniform_keys_spread_evenly() -> None:
    res = scenarios.sharding(shards=4, keys=400, skew=0.0, messages=2000).result
    assert res.skew_ratio < 1.4
    assert res.hot_key_share < 0.02
    assert sum(res.keys_owned.values()) <= 400


# -- key movement ----------------------------------------------------------------------------


def test_ring_moves_about_one_nth_modulo_moves_most() -> None:
    res = scenarios.key_movement(workers=4, keys=4000).result
    assert res.ideal_add == pytest.approx(0.2)
    assert 0.5 * res.ideal_add < res.ring_add < 1.6 * res.ideal_add
    assert 0.5 * res.ideal_remove < res.ring_remove < 1.6 * res.ideal_remove
    assert res.modulo_add > 0.6 and res.modulo_remove > 0.6
    more_vnodes = scenarios.key_movement(workers=4, keys=4000, vnodes=400).result
    one_vnode = scenarios.key_movement(workers=4, keys=4000, vnodes=1).result
    assert more_vnodes.ring_balance < one_vnode.ring_balance


# -- scatter-gather --------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_scatter_gather_partial_after_the_deadline(model: str) -> None:
    run = scenarios.scatter_gather(model, deadline=0.1, delays=[0.02, 0.25, 0.05, 0.4])
    res = run.result
    assert res.answered == ("worker-0", "worker-2")  # in arrival order
    assert res.late == ("worker-1", "worker-3")
    assert not res.complete
    assert res.gathered_at == pytest.approx(0.1)
    assert run.leaked == ()
    routes = run.trace.events("route")
    assert sorted(routes["peer"]) == [f"worker-{k}" for k in range(4)]
    assert routes["corr_id"].nunique() == 1 and routes["corr_id"].notna().all()
    # every copy, the late ones too, was sent and received under the request's id
    assert assert_followable(run, model) == 4
    # and so were the replies that came in time: sent by the worker, received by main
    df = run.trace.df
    mine = df[df["corr_id"] == routes["corr_id"].iloc[0]]
    if model != "actor":  # an actor's reply is a `reply` row, not a channel message
        replies = mine[mine["msg_type"] == "str"]
        assert sorted(replies.loc[replies["kind"] == "send", "actor"]) == \
            sorted(_task_of(model, w) for w in res.answered)
        assert set(replies.loc[replies["kind"] == "receive", "actor"]) == {"main"}


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_scatter_gather_complete_returns_early(model: str) -> None:
    res = scenarios.scatter_gather(model, deadline=1.0, delays=[0.03, 0.01, 0.02]).result
    assert res.complete and res.late == ()
    assert res.answered == ("worker-1", "worker-2", "worker-0")
    assert res.gathered_at == pytest.approx(0.03)


def test_late_work_stops_in_go_and_rust_but_not_in_actors() -> None:
    delays = [0.02, 0.3, 0.5]
    finished = {m: scenarios.scatter_gather(m, deadline=0.1, delays=delays)
                .result.late_work_finished for m in ("go", "rust", "actor")}
    assert finished == {"go": 0, "rust": 0, "actor": 2}


def test_actor_late_replies_become_dead_letters() -> None:
    run = scenarios.scatter_gather("actor", deadline=0.1, delays=[0.02, 0.3])
    dead = run.trace.events("dead_letter")
    assert len(dead) == 1


# -- service times ---------------------------------------------------------------------------


def test_service_times_have_the_asked_mean_and_spread() -> None:
    import random
    import statistics

    rng = random.Random(0)
    xs = sr.service_times(rng, 20_000, 0.01, 2.0)
    mean = statistics.fmean(xs)
    assert mean == pytest.approx(0.01, rel=0.1)
    assert statistics.pstdev(xs) / mean == pytest.approx(2.0, rel=0.15)
    assert sr.service_times(rng, 3, 0.01, 0.0) == [0.01] * 3
