"""labkit.scenarios.routing pubsub and latest_value: the fan-out and latest-value contrasts
of notebook 02 (SEMANTICS.md section 4, items 5 and 6) show what they claim."""

from __future__ import annotations

import re
from typing import Any

import pytest

from labkit import scenarios
from labkit.scenarios import routing as sr

FAST = ("fast-0", "fast-1")
SLOW = "slow-0"


# -- default designs -------------------------------------------------------------------------


def test_default_design_is_the_first_of_the_model() -> None:
    assert scenarios.pubsub("go", messages=20).result.design == "blocking"
    assert scenarios.pubsub("rust", messages=20).result.design == "broadcast"
    assert scenarios.latest_value("go", updates=20).result.design == "drain_replace"
    assert scenarios.latest_value("rust", updates=20).result.design == "watch"


# -- pubsub: Go blocking fan-out (G2) --------------------------------------------------------


def test_go_blocking_publisher_waits_for_the_slow_subscriber() -> None:
    # 200 messages at 100/s (due by 2 s); the slow subscriber handles 25/s (8 s of work).
    res = scenarios.pubsub("go", "blocking", messages=200, capacity=16, rate=100.0,
                           slow_rate=25.0, arrivals="fixed").result
    assert res.missed_total == 0
    assert res.delivered == {"fast-0": 200, "fast-1": 200, SLOW: 200}
    # The publisher can only run capacity messages ahead of the slow one: it finishes
    # handing over when the slow subscriber has taken all but the last buffer-full.
    assert res.publish_end == pytest.approx((200 - 16) / 25.0, rel=0.02)
    assert res.publish_end > 3 * res.last_due
    assert res.publisher_blocked > 5.0
    assert res.send_p50 == pytest.approx(1 / 25.0)  # each fan-out waits one slow service
    assert res.elapsed == pytest.approx(200 / 25.0, rel=0.01)


def test_go_blocking_slow_subscriber_delays_the_fast_ones() -> None:
    kw: dict[str, Any] = {"messages": 200, "arrivals": "fixed"}
    slowed = scenarios.pubsub("go", "blocking", **kw).result
    alone = scenarios.pubsub("go", "blocking", slow=0, **kw).result  # the control
    assert alone.publisher_blocked == 0.0
    assert alone.fast_p99 < 0.002
    assert slowed.fast_p50 > 1.0  # seconds late: the publisher was stuck on slow-0
    assert slowed.fast_p99 > 1000 * alone.fast_p99


# -- pubsub: Go select-default (G22): never blocks, loses silently ---------------------------


def test_select_default_never_blocks_and_loses_silently() -> None:
    run = scenarios.pubsub("go", "select_default", messages=200)
    res = run.result
    assert res.publisher_blocked == 0.0
    assert res.send_max == 0.0
    assert res.publish_end == pytest.approx(res.last_due)
    assert res.missed[SLOW] > 0
    assert all(res.missed[f] == 0 for f in FAST)
    # Nobody was told: not the subscriber, not the trace. Only the publisher's counter.
    assert res.reported_total == 0
    assert res.silent_total == res.missed_total > 0
    assert res.loss_rows == 0
    kinds = set(run.trace.df["kind"])
    assert not kinds & {"drop", "lagged", "dead_letter"}
    assert res.publisher_counted == res.missed_total
    # The slow subscriber's channel kept the oldest values: its first capacity+1 are 0..16.
    assert res.gaps[SLOW][0] > 0
    assert res.fast_p99 < 0.002


# -- pubsub: tokio broadcast (R23, R24) ------------------------------------------------------


def test_broadcast_never_blocks_and_reports_every_loss_exactly() -> None:
    run = scenarios.pubsub("rust", "broadcast", messages=200)
    res = run.result
    assert res.publisher_blocked == 0.0
    assert res.publish_end == pytest.approx(res.last_due)
    assert res.missed[SLOW] > 0
    assert res.reported == res.missed  # per subscriber, exactly (R24)
    assert res.silent_total == 0
    # Each Lagged(k) names exactly the run of messages skipped at that point, and the
    # receiver resumes from the oldest value still held.
    assert res.lag_reports[SLOW] == res.gaps[SLOW]
    assert all(res.lag_reports[f] == () for f in FAST)  # lag is per receiver (R24)
    assert all(res.delivered[f] == 200 for f in FAST)
    # The trace records it too: one lagged row per error, carrying k.
    lagged = run.trace.events("lagged")
    ks = [int(m) for m in lagged["detail"].str.extract(r"Lagged\((\d+)\)")[0]]
    assert sum(ks) == res.missed[SLOW]
    assert res.loss_rows > 0


def test_broadcast_fast_subscribers_do_not_suffer() -> None:
    bc = scenarios.pubsub("rust", messages=200).result
    alone = scenarios.pubsub("rust", messages=200, slow=0).result
    assert bc.fast_p99 == pytest.approx(alone.fast_p99)


def test_select_default_and_broadcast_lose_as_many_but_not_the_same_ones() -> None:
    # Same buffer, same slow reader: as many losses. A full Go channel refuses the newest
    # (G22): the slow subscriber works through a buffer of old messages, and misses the
    # last ones. tokio overwrites the oldest (R23): it reads recent ones, and the newest.
    kw: dict[str, Any] = {"messages": 200, "arrivals": "fixed"}
    go_res = scenarios.pubsub("go", "select_default", **kw).result
    bc = scenarios.pubsub("rust", "broadcast", **kw).result
    assert go_res.missed == bc.missed
    assert go_res.last_received[SLOW] < 199
    assert bc.last_received[SLOW] == 199
    assert all(go_res.last_received[f] == bc.last_received[f] == 199 for f in FAST)
    # Each message the slow one reads is about a buffer-full of its own reads old in Go.
    assert go_res.slow_p50 == pytest.approx(16 / 25.0, rel=0.1)
    assert bc.slow_p50 * 3 < go_res.slow_p50


def test_big_enough_broadcast_loses_nothing() -> None:
    res = scenarios.pubsub("rust", messages=100, capacity=128).result
    assert res.missed_total == 0
    assert res.lag_reports[SLOW] == ()


@pytest.mark.parametrize(("asked", "held"), [(1, 1), (2, 2), (3, 4), (5, 8), (16, 16),
                                             (17, 32), (100, 128)])
def test_broadcast_capacity_rounds_up_to_a_power_of_two(asked: int, held: int) -> None:
    rust_res = scenarios.pubsub("rust", messages=10, capacity=asked).result
    go_res = scenarios.pubsub("go", messages=10, capacity=asked).result
    assert rust_res.capacity == asked
    assert rust_res.effective_capacity == held  # R23
    assert go_res.effective_capacity == asked
    assert f"holds {held}" in rust_res.spelled


def test_rounded_capacity_is_what_the_channel_really_holds() -> None:
    # channel(5) behaves exactly as channel(8): same losses, same lags.
    five = scenarios.pubsub("rust", messages=120, capacity=5).result
    eight = scenarios.pubsub("rust", messages=120, capacity=8).result
    four = scenarios.pubsub("rust", messages=120, capacity=4).result
    assert five.lag_reports == eight.lag_reports
    assert five.missed_total == eight.missed_total < four.missed_total


def test_several_slow_subscribers() -> None:
    res = scenarios.pubsub("rust", subscribers=4, slow=2, messages=100).result
    assert res.subscribers == ("fast-0", "fast-1", "slow-0", "slow-1")
    assert res.slow == ("slow-0", "slow-1")
    assert res.reported == res.missed
    assert res.missed["slow-0"] > 0 and res.missed["slow-1"] > 0


# -- latest_value: watch (R26) vs Go drain-and-replace vs a buffered backlog -----------------


def test_watch_reader_sees_the_final_value_and_skips_intermediates() -> None:
    res = scenarios.latest_value("rust", "watch", updates=200, writer_rate=100.0,
                                 reader_rate=20.0).result
    assert res.final_observed
    assert res.reads[-1].version == 199
    assert 0 < res.observed < res.updates
    assert res.skipped == res.updates - res.observed > 100
    versions = [r.version for r in res.reads]
    assert versions == sorted(set(versions))  # never the same value twice, never backwards
    # Always the latest, and never older than one read period.
    assert res.behind_max == 0
    assert res.staleness_max <= 1 / 20.0 + 1e-9
    assert res.writer_blocked == 0.0


def test_watch_reader_keeping_up_sees_every_update() -> None:
    res = scenarios.latest_value("rust", updates=50, writer_rate=10.0, reader_rate=1000.0,
                                 arrivals="fixed").result
    assert res.observed == res.updates
    assert res.staleness_max == pytest.approx(0.0, abs=1e-9)


def test_drain_and_replace_matches_watch() -> None:
    watch = scenarios.latest_value("rust", "watch", updates=200, seed=2).result
    drain = scenarios.latest_value("go", "drain_replace", updates=200, seed=2).result
    assert drain.reads == watch.reads  # the same values, read at the same times
    assert drain.final_observed and drain.behind_max == 0
    assert drain.writer_blocked == 0.0


def test_naive_buffered_channel_reads_stale_values() -> None:
    watch = scenarios.latest_value("rust", updates=200).result
    naive = scenarios.latest_value("go", "buffered", updates=200, capacity=16).result
    assert naive.observed == naive.updates  # every value, in order ...
    assert naive.final_observed
    assert naive.behind_max > 16  # ... while newer ones had long happened
    assert naive.staleness_p50 > 20 * watch.staleness_p50
    assert naive.final_lag > 20 * watch.final_lag
    assert naive.writer_blocked > 1.0  # and the full buffer held the writer back (G2)


# -- designs ---------------------------------------------------------------------------------


def test_designs_are_listed_per_model() -> None:
    assert sr.PUBSUB_DESIGNS == {"go": ("blocking", "select_default"),
                                 "rust": ("broadcast",)}
    assert sr.LATEST_DESIGNS == {"go": ("drain_replace", "buffered"), "rust": ("watch",)}
    assert re.search(r"R2[34]", sr.pubsub.__doc__ or "")
    assert "R26" in (sr.latest_value.__doc__ or "")
