"""Notebook 00's scenario module: the functions the notebook shows are the ones that run."""

from __future__ import annotations

from typing import Any

import labkit
from labkit import codeview, scenarios, viz
from labkit.scenarios import tour


def _arrows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    lines = spec["layer"][1]
    name = lines["data"]["name"] if "data" in lines else spec["data"]["name"]
    rows: list[dict[str, Any]] = spec["datasets"][name]
    return rows


def test_go_pong_ends_when_ping_is_closed_and_nothing_leaks() -> None:
    run = scenarios.ping_pong("go", rounds=3)
    df = run.trace.df
    assert run.leaked == ()
    assert df[df["kind"] == "close"]["actor"].tolist() == ["main", "go-1"]  # ping, then done


def test_rust_pong_ends_when_the_last_sender_is_dropped() -> None:
    df = scenarios.ping_pong("rust", rounds=3).trace.df
    assert df[df["kind"] == "close"]["detail"].tolist() == ["last sender dropped"]


def test_shown_functions_are_the_ones_that_run() -> None:
    view = str(codeview.side_by_side(go=[tour.go_ping, tour.go_pong],
                                     rust=[tour.rust_ping, tour.rust_pong],
                                     actor=[tour.actor_ping, tour.Pong]))
    assert "ping.close()" in view and "tx.drop()" in view and "return ball + 1" in view
    assert labkit.simulate(tour.go_ping, 4, 0.01).result == 4


def test_select_pick_depends_on_the_seed_unless_biased() -> None:
    go_picks = {labkit.simulate(tour.go_pick, 12, seed=s).result for s in range(5)}
    rust_picks = {labkit.simulate(tour.rust_pick, 12, seed=s).result for s in range(5)}
    assert len(go_picks) == 5 and len(rust_picks) == 5
    assert all(0 < p.count("a") < 12 for p in go_picks | rust_picks)
    biased = {labkit.simulate(tour.rust_pick, 12, True, seed=s).result for s in range(5)}
    assert biased == {"a" * 12}


def test_sequence_diagram_draws_reply_and_next_hit_apart() -> None:
    spec = viz.sequence_diagram(scenarios.ping_pong("go", rounds=3), height=420).to_dict()
    rows = _arrows(spec)
    at_10ms = [r for r in rows if r["sent_at"] == 0.01]
    assert [(r["sender"], r["receiver"]) for r in at_10ms] == [("go-1", "main"),
                                                              ("main", "go-1")]
    reply, hit = at_10ms
    assert reply["sent"] == reply["received"] == 0.01  # drawn where it happened
    assert hit["sent"] == hit["received"] > 0.01      # drawn just below, in send order
    assert hit["sent"] - 0.01 < 0.03 * 0.05           # a few pixels, not a time step
    tips = {t["field"] for t in spec["layer"][1]["encoding"]["tooltip"]}
    assert {"sent_at", "received_at"} <= tips         # tooltips keep the true times
    assert all(r["received_at"] >= r["sent_at"] for r in rows)


def test_sequence_diagram_at_one_instant_labels_only_that_instant() -> None:
    spec = viz.sequence_diagram(scenarios.ping_pong("go", rounds=2, hit_time=0)).to_dict()
    rows = _arrows(spec)
    assert {r["sent_at"] for r in rows} == {0.0}
    assert [r["sent"] for r in rows] == sorted({r["sent"] for r in rows})  # stacked, in order
    assert spec["layer"][1]["encoding"]["y"]["axis"] == {"values": [0.0]}
    timed = viz.sequence_diagram(scenarios.ping_pong("go", rounds=2)).to_dict()
    assert "axis" not in timed["layer"][1]["encoding"]["y"]
