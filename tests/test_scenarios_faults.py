"""labkit.scenarios.faults: the poison job and the dependency storm (SEMANTICS section 4,
items 17-20), every headline number checked against the trace."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from labkit import scenarios
from labkit.scenarios.faults import DESIGNS, STORM_MODELS

POISONS = 6  # jobs 10, 20, ..., 60 of the default 60


def notes(df: pd.DataFrame, text: str) -> pd.DataFrame:
    return df[(df["kind"] == "note") & df["detail"].str.contains(text, regex=False)]


def check_against_trace(run: object) -> None:
    """processed / lost / unprocessed from the trace's own rows."""
    r = run.result  # type: ignore[attr-defined]
    df = run.trace.df  # type: ignore[attr-defined]
    taken = len(notes(df, "took job"))
    assert r.processed == len(notes(df, "done job"))
    assert r.lost == taken - r.processed
    assert r.unprocessed == r.messages - taken
    assert r.processed + r.lost + r.unprocessed == r.messages
    assert r.poisoned == len(notes(df, "worker down").query("detail.str.contains('failed')",
                                                            engine="python"))
    assert r.alive[-1][1] == r.survivors
    assert r.finished_at == run.elapsed  # type: ignore[attr-defined]


@pytest.mark.parametrize(("model", "design"),
                         [(m, d) for m, ds in DESIGNS.items() for d in ds])
def test_every_design_agrees_with_its_trace_and_is_deterministic(model: str,
                                                                 design: str) -> None:
    a = scenarios.poison(model, design, seed=3)
    b = scenarios.poison(model, design, seed=3)
    check_against_trace(a)
    assert a.result == b.result
    assert a.trace.df.equals(b.trace.df)


def test_g31_go_bare_crashes_at_the_first_poison() -> None:
    run = scenarios.poison("go", "bare")
    r = run.result
    assert r.crashed and r.error == "panic: poison job 10"
    assert r.poisoned == 1 and r.survivors == 0
    assert r.finished_at == r.first_failure_at  # the program ended with the panic
    assert r.processed < 10 and r.unprocessed > 0
    assert r.lost >= 1  # the poison job, and whatever the other workers held
    assert not run.completed
    assert math.isnan(r.recovery_time)


def test_g32_recover_loses_exactly_the_poison_jobs_and_keeps_every_worker() -> None:
    r = scenarios.poison("go", "recover").result
    assert not r.crashed
    assert r.poisoned == r.lost == r.restarts == POISONS
    assert r.processed == 60 - POISONS and r.unprocessed == 0
    assert r.survivors == 3
    assert r.recovery_time == pytest.approx(0.005)  # the start_time


def test_g42_errgroup_stops_every_worker_at_the_first_error() -> None:
    run = scenarios.poison("go", "errgroup")
    r = run.result
    assert not r.crashed and r.error == "poison job 10"  # what Wait returned (G41)
    assert r.poisoned == 1 and r.restarts == 0 and r.survivors == 0
    assert r.unprocessed > 0  # never handled
    df = run.trace.df
    assert len(notes(df, "context cancelled")) == 2  # both siblings stopped
    assert (df["kind"] == "cancel").any()


def test_r33_rust_bare_loses_a_worker_per_poison() -> None:
    run = scenarios.poison("rust", "bare")
    r = run.result
    assert not r.crashed and r.restarts == 0
    assert r.poisoned == 3 and r.survivors == 0  # three workers, three panics
    assert [alive for _, alive in r.alive[-4:]] == [3, 2, 1, 0]
    df = run.trace.df
    assert ((df["kind"] == "fail") & (df["model"] == "rust")).sum() == 3  # JoinError rows
    # the last Arc dropped the Receiver: the channel closed, the producer's send failed
    closes = df[df["kind"] == "close"]
    assert list(closes["detail"]) == ["receiver dropped"]
    assert closes["time"].iloc[0] == r.alive[-1][0]
    assert r.unprocessed > 0


def test_r34_joinset_keeps_the_pool() -> None:
    run = scenarios.poison("rust", "joinset")
    r = run.result
    assert r.survivors == 3 and r.restarts == r.poisoned == r.lost == POISONS
    assert r.processed == 60 - POISONS and r.unprocessed == 0
    df = run.trace.df
    assert ((df["kind"] == "fail") & (df["model"] == "rust")).sum() == POISONS


def test_actor_without_supervisor_loses_the_pool() -> None:
    run = scenarios.poison("actor", "none")
    r = run.result
    assert r.poisoned == 3 and r.survivors == 0 and r.restarts == 0
    assert r.unprocessed > 0
    assert (run.trace.df["kind"] == "dead_letter").sum() >= r.unprocessed


def test_actor_one_for_one_keeps_the_pool_with_restarts_equal_poisoned() -> None:
    run = scenarios.poison("actor", "one_for_one")
    r = run.result
    assert r.survivors == 3 and r.restarts == r.poisoned == r.lost == POISONS
    assert r.processed == 60 - POISONS and r.unprocessed == 0
    df = run.trace.df
    assert (df["kind"] == "restart").sum() == POISONS
    assert (df["kind"] == "dead_letter").sum() == POISONS  # only the job in hand


def test_same_workload_in_every_model() -> None:
    """Before the first failure every model has seen the same arrivals."""
    firsts = {scenarios.poison(m, d).result.first_failure_at
              for m, ds in DESIGNS.items() for d in ds}
    assert len(firsts) == 1


def test_seed_changes_the_arrivals() -> None:
    assert (scenarios.poison("go", "recover", seed=1).result.finished_at
            != scenarios.poison("go", "recover", seed=2).result.finished_at)


# -- dependency storm ---------------------------------------------------------------------


def storm(policy: str, model: str = "actor", **kw: object) -> scenarios.StormResult:
    run = scenarios.dependency_storm(policy, model, **kw)  # type: ignore[arg-type]
    df = run.trace.df
    r = run.result
    assert r.calls == len(notes(df, "dependency call"))
    assert r.calls_while_down == len(notes(df, "): down"))
    assert r.served == len(notes(df, "served request"))
    assert r.failed == len(notes(df, "failed request"))
    assert r.served + r.failed + r.lost == r.requests
    if model == "actor":
        assert r.restarts == (df["kind"] == "restart").sum()
    return r


@pytest.mark.parametrize("model", list(STORM_MODELS))
def test_storm_hits_the_down_dependency_far_more_than_backoff(model: str) -> None:
    hammer, patient = storm("storm", model), storm("backoff", model)
    assert hammer.calls_while_down > 20 * patient.calls_while_down
    assert hammer.restarts == hammer.calls_while_down  # each restart: one more connect
    assert not hammer.escalated and not patient.escalated


def test_breaker_puts_the_least_load_and_never_restarts() -> None:
    results = {p: storm(p) for p in ("storm", "backoff", "breaker")}
    breaker = results["breaker"]
    assert breaker.calls_while_down < results["backoff"].calls_while_down
    assert breaker.restarts == 0 and breaker.lost == 0 and breaker.breaker_opened >= 1
    assert breaker.failed > 0  # failed fast, answered, not lost


def test_intensity_escalates_and_ends_the_run() -> None:
    run = scenarios.dependency_storm("intensity")
    r = run.result
    assert r.escalated and r.restarts == 1 and not run.completed
    assert (run.trace.df["kind"] == "escalate").sum() == 1
    assert r.lost > 0 and math.isnan(r.time_to_recover)


def test_hang_makes_each_failure_cost_the_call_timeout() -> None:
    r = storm("storm", failure="hang")
    assert r.calls_while_down <= 2.0 / 0.5 + 1


def test_storm_is_deterministic() -> None:
    a = scenarios.dependency_storm("backoff", seed=5)
    b = scenarios.dependency_storm("backoff", seed=5)
    assert a.result == b.result and a.trace.df.equals(b.trace.df)


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: scenarios.poison("go", "joinset"), ValueError,
     r"^model 'go' has no design 'joinset'.*'bare', 'recover', 'errgroup'"),
    (lambda: scenarios.poison("java"), ValueError, r"^model must be one of"),
    (lambda: scenarios.poison("go", workers=0), ValueError, r"^workers must be an int"),
    (lambda: scenarios.poison("go", poison_every="10"),  # type: ignore[arg-type]
     TypeError, r"^poison_every must be an int"),
    (lambda: scenarios.dependency_storm("breaker", "go"), ValueError,
     r"^model 'go' has no policy 'breaker'.*'storm', 'backoff'"),
    (lambda: scenarios.dependency_storm("intensity", "rust"), ValueError,
     r"^model 'rust' has no policy 'intensity'"),
    (lambda: scenarios.dependency_storm(failure="slow"), ValueError,
     r"^failure must be one of 'error', 'hang'"),
    (lambda: scenarios.dependency_storm(down_for=-1), ValueError, r"^down_for must be"),
])
def test_bad_input_names_the_parameter(call: object, error: type[Exception],
                                       match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]
