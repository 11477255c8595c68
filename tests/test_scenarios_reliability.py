"""labkit.scenarios.reliability: at-most-once, at-least-once and effectively-once with crashing
consumers in Go and Rust (SEMANTICS section 4, item 21), every headline number checked
against the trace."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from labkit import Run, codeview, scenarios, viz
from labkit.scenarios import delivery_table
from labkit.scenarios.reliability import (
    GUARANTEES,
    MODELS,
    DeliveryResult,
    go_consumer,
    go_deliver,
    rust_consumer,
    rust_deliver,
)

SEEDS = (0, 1, 2, 3)
#: Numbers that depend on how each language finds out about a crash, not on what happened.
TIMING = ("model", "redelivery_wait", "finished_at")


def notes(df: pd.DataFrame, start: str) -> pd.DataFrame:
    """The ``note`` rows whose detail starts with ``start``."""
    return df[(df["kind"] == "note") & df["detail"].str.startswith(start)]


def queue_rows(run: Run[Any], kind: str) -> pd.DataFrame:
    """``send``/``receive`` rows on the shared queue (Go's ``jobs``, Rust's mpsc)."""
    df = run.trace.df
    peer = df["peer"].fillna("")
    rows: pd.DataFrame = df[(df["kind"] == kind) & ((peer == "jobs") | peer.str.startswith("mpsc"))]
    return rows


def check_against_trace(run: Run[DeliveryResult]) -> None:
    r = run.result
    df = run.trace.df
    effects = notes(df, "effect of message")
    assert r.delivered == len(effects)
    assert r.unique == effects["corr_id"].nunique()
    again = effects["detail"].str.endswith("(again)").sum()
    assert r.duplicates == again == r.delivered - r.unique
    assert r.losses == r.sent - r.unique
    assert set(r.lost) == set(range(1, r.sent + 1)) - set(effects["corr_id"])
    counts = effects["corr_id"].value_counts()
    assert set(r.duplicated) == set(counts[counts > 1].index)
    assert r.resends == len(notes(df, "resend message"))
    assert r.crashes == len(notes(df, "crash "))
    assert r.crashes_before_effect == len(notes(df, "crash before effect"))
    assert r.crashes_after_effect == len(notes(df, "crash after effect"))
    assert r.crashes == r.crashes_before_effect + r.crashes_after_effect == r.restarts
    assert r.deduplicated == len(notes(df, "duplicate of message"))
    # every copy sent went through the queue, and every copy taken was a receive on it
    assert len(queue_rows(run, "send")) == r.sent + r.resends
    assert len(queue_rows(run, "receive")) == len(notes(df, "took message"))
    assert r.finished_at == run.elapsed
    assert run.completed and run.leaked == ()


CASES = [(m, g, s) for m in MODELS for g in GUARANTEES for s in SEEDS]


@pytest.mark.parametrize(("model", "guarantee", "seed"), CASES)
def test_every_run_agrees_with_its_trace(model: str, guarantee: str, seed: int) -> None:
    check_against_trace(scenarios.delivery(model, guarantee, seed=seed))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", SEEDS)
def test_at_most_once_loses_exactly_the_messages_in_hand(model: str, seed: int) -> None:
    r = scenarios.delivery(model, "at_most_once", seed=seed).result
    assert r.crashes == 10  # 10, 20, ..., 100
    assert r.duplicates == 0 and r.resends == 0
    assert r.losses == r.crashes_before_effect > 0
    assert r.delivered == r.unique == 100 - r.losses
    assert all(seq % 10 == 0 for seq in r.lost)
    assert math.isnan(r.redelivery_wait)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", SEEDS)
def test_at_least_once_loses_nothing_and_duplicates_crashes_after_the_effect(
        model: str, seed: int) -> None:
    r = scenarios.delivery(model, "at_least_once", seed=seed).result
    assert r.losses == 0 and r.unique == 100
    assert r.resends == r.crashes == 10
    assert r.duplicates == r.crashes_after_effect > 0
    assert all(seq % 10 == 0 for seq in r.duplicated)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", SEEDS)
def test_effectively_once_neither_loses_nor_duplicates(model: str, seed: int) -> None:
    r = scenarios.delivery(model, "effectively_once", seed=seed).result
    assert r.losses == 0 and r.duplicates == 0
    assert r.delivered == r.unique == 100
    assert r.resends == r.crashes == 10
    assert r.deduplicated == r.crashes_after_effect > 0  # each redelivery seen and skipped


@pytest.mark.parametrize("guarantee", GUARANTEES)
@pytest.mark.parametrize("seed", SEEDS)
def test_go_and_rust_count_the_same_on_one_seed(guarantee: str, seed: int) -> None:
    """One crash schedule for both: every count agrees; only the timing differs."""
    go_res, rust_res = (scenarios.delivery(m, guarantee, seed=seed).result for m in MODELS)
    for field in DeliveryResult.__dataclass_fields__:
        if field not in TIMING:
            assert getattr(go_res, field) == getattr(rust_res, field), field


def test_the_same_crash_points_whatever_the_guarantee() -> None:
    """The schedule is drawn before the run: the guarantee does not change it."""
    results = [scenarios.delivery("go", g, seed=5).result for g in GUARANTEES]
    assert len({(r.crashes_before_effect, r.crashes_after_effect) for r in results}) == 1
    amo, alo, _ = results
    assert set(amo.lost).isdisjoint(alo.duplicated)
    assert len(amo.lost) + len(alo.duplicated) == 10


def test_rust_resends_at_once_go_waits_for_the_timeout() -> None:
    """R22: the crashed task drops the oneshot Sender in the message it held, and the
    producer's Receiver sees ``RecvError`` at once. A Go consumer that panics sends and
    closes nothing: only ``time.After`` tells the producer (timeout - work time later)."""
    go_run, rust_run = (scenarios.delivery(m, "at_least_once", ack_timeout=0.1,
                                           work_time=0.01) for m in MODELS)
    assert go_run.result.redelivery_wait == pytest.approx(0.09)
    assert rust_run.result.redelivery_wait == 0
    assert rust_run.result.finished_at < go_run.result.finished_at
    df = rust_run.trace.df
    crashes = notes(df, "crash ")
    dropped = df[(df["kind"] == "close") & (df["detail"] == "sender dropped")]
    assert len(dropped) == len(crashes) == 10
    assert list(dropped["time"]) == pytest.approx(list(crashes["time"]))
    assert dropped["peer"].str.startswith("oneshot").all()


@pytest.mark.parametrize("model", MODELS)
def test_restarts_recover_loop_and_joinset(model: str) -> None:
    """G32: Go recovers in the goroutine, nothing fails at the top; R33/R34: each Rust
    panic is a JoinError, and the JoinSet loop respawns."""
    run = scenarios.delivery(model, "at_least_once")
    fails = (run.trace.df["kind"] == "fail").sum()
    assert run.result.restarts == 10
    assert fails == (10 if model == "rust" else 0)


@pytest.mark.parametrize("model", MODELS)
def test_crash_points_at_the_extremes(model: str) -> None:
    before = {g: scenarios.delivery(model, g, after_effect=0.0).result for g in GUARANTEES}
    after = {g: scenarios.delivery(model, g, after_effect=1.0).result for g in GUARANTEES}
    assert before["at_most_once"].losses == 10
    assert before["at_least_once"].duplicates == 0  # crashes before the effect: resend is safe
    assert after["at_most_once"].losses == 0  # the effect was done when it crashed
    assert after["at_least_once"].duplicates == 10
    assert after["effectively_once"].duplicates == 0
    assert after["effectively_once"].deduplicated == 10


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("guarantee", GUARANTEES)
def test_without_crashes_every_guarantee_delivers_each_message_once(model: str,
                                                                    guarantee: str) -> None:
    run = scenarios.delivery(model, guarantee, crash_every=None, messages=40)
    r = run.result
    assert (r.delivered, r.unique, r.duplicates, r.losses, r.resends, r.crashes) == \
        (40, 40, 0, 0, 0, 0)
    check_against_trace(run)


@pytest.mark.parametrize("model", MODELS)
def test_too_short_a_timeout_duplicates_without_any_crash(model: str) -> None:
    """An ack timeout shorter than the work resends messages that were never lost:
    duplicates with no crash at all, which the dedup table still absorbs. The resend
    backoff makes the run end."""
    alo = scenarios.delivery(model, "at_least_once", crash_every=None, ack_timeout=0.005,
                             messages=30)
    eo = scenarios.delivery(model, "effectively_once", crash_every=None, ack_timeout=0.005,
                            messages=30)
    assert alo.result.crashes == 0 and alo.result.duplicates > 0 and alo.result.losses == 0
    assert eo.result.duplicates == 0 and eo.result.deduplicated > 0 and eo.result.losses == 0
    check_against_trace(alo)
    check_against_trace(eo)


@pytest.mark.parametrize("model", MODELS)
def test_deterministic_and_the_seed_moves_the_crash_points(model: str) -> None:
    a, b = (scenarios.delivery(model, "at_most_once", seed=3) for _ in range(2))
    assert a.result == b.result
    assert a.trace.df.equals(b.trace.df)
    lost = {scenarios.delivery(model, "at_most_once", seed=s).result.lost for s in range(6)}
    assert len(lost) > 1


def test_delivery_table_has_the_delivery_chart_shape() -> None:
    df = delivery_table(messages=50, seed=1)
    assert len(df) == 6
    assert list(df["mode"].unique()) == ["at-most-once", "at-least-once", "effectively-once"]
    assert set(df["model"]) == {"go", "rust"}
    assert {"mode", "model", "sent", "duplicates", "losses"} <= set(df.columns)
    for row in df.itertuples():
        r = scenarios.delivery(str(row.model), str(row.guarantee), messages=50, seed=1).result
        assert (row.duplicates, row.losses, row.sent, row.resends) == \
            (r.duplicates, r.losses, r.sent, r.resends)
    eo = df[df["guarantee"] == "effectively_once"]
    assert (eo["duplicates"] == 0).all() and (eo["losses"] == 0).all()
    chart = viz.delivery_chart(df)
    assert chart.to_dict()["facet"]["column"]["field"] == "count"


def test_model_functions_show_side_by_side() -> None:
    view = codeview.side_by_side(go=[go_consumer, go_deliver], rust=[rust_consumer,
                                                                       rust_deliver])
    text = repr(view)
    assert "go_deliver" in text and "rust_deliver" in text
