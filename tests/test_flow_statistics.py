"""``statistics()`` of the flow-control tools (labkit.flow): Credits, TokenBucket and
Watermarks, checked after real operations (waiting tasks counted, peaks, totals)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import labkit
from labkit import go
from labkit.flow import (
    Credits,
    CreditsStatistics,
    TokenBucket,
    TokenBucketStatistics,
    Watermarks,
    WatermarksStatistics,
)


def test_credits_statistics_count_waiters_their_demand_and_the_peak_in_flight() -> None:
    async def main() -> list[CreditsStatistics]:
        credits = Credits(2)
        await credits.acquire(2)
        go.go(credits.acquire, 3)
        go.go(credits.acquire, 1)  # behind the big request: never overtakes it
        await labkit.sleep(1)
        waiting = credits.statistics()
        credits.grant(1)  # 1 free, the head needs 3: nobody is served
        held_back = credits.statistics()
        credits.grant(2)  # the head takes 3; the small one still waits
        await labkit.sleep(1)
        served = credits.statistics()
        credits.done(5)
        credits.grant(1)
        await labkit.sleep(1)
        return [waiting, held_back, served, credits.statistics()]

    waiting, held_back, served, end = labkit.simulate(main).result
    assert waiting == CreditsStatistics(
        name="credits-1", granted=2, used=2, outstanding=0, in_flight=2, peak_in_flight=2,
        tasks_waiting=2, units_waiting=4)
    assert (held_back.outstanding, held_back.tasks_waiting, held_back.units_waiting) == (
        1, 2, 4)
    assert (served.used, served.outstanding, served.in_flight, served.peak_in_flight,
            served.tasks_waiting, served.units_waiting) == (5, 0, 5, 5, 1, 1)
    assert (end.granted, end.used, end.in_flight, end.peak_in_flight, end.tasks_waiting) == (
        6, 6, 1, 5, 0)


def test_token_bucket_statistics_count_tokens_takes_and_sleeping_takers() -> None:
    async def main() -> tuple[TokenBucketStatistics, TokenBucketStatistics]:
        bucket = TokenBucket(rate=2, burst=2, name="api")
        await bucket.take()
        await bucket.take()
        assert not bucket.try_take()
        go.go(bucket.take)
        go.go(bucket.take)
        await labkit.sleep(0.25)
        waiting = bucket.statistics()
        await labkit.sleep(5)
        return waiting, bucket.statistics()

    waiting, later = labkit.simulate(main).result
    # The sleeping takers booked their tokens: full again at 2.0 s, so 2 - 1.75 * 2 at 0.25 s.
    assert waiting == TokenBucketStatistics(
        name="api", rate=2.0, burst=2, tokens=-1.5, admitted=2, refused=1, tasks_waiting=2)
    assert (later.tokens, later.admitted, later.refused, later.tasks_waiting) == (2.0, 4, 1, 0)


def test_token_bucket_statistics_read_the_run_clock() -> None:
    with pytest.raises(labkit.NotInRunError):
        TokenBucket(1.0).statistics()


def test_watermarks_statistics_count_depth_peak_transitions_and_waiters() -> None:
    async def main() -> tuple[WatermarksStatistics, WatermarksStatistics]:
        marks = Watermarks(high=3, low=1, name="inbox")
        for depth in (0, 2, 4):
            marks.update(depth)
        go.go(marks.wait_resumed)
        go.go(marks.wait_resumed)
        await labkit.sleep(1)
        marks.update(2)  # between the marks: still paused
        paused = marks.statistics()
        marks.update(1)
        await labkit.sleep(1)
        return paused, marks.statistics()

    paused, resumed = labkit.simulate(main).result
    assert paused == WatermarksStatistics(
        name="inbox", high=3, low=1, depth=2, peak_depth=4, paused=True, transitions=1,
        tasks_waiting=2)
    assert (resumed.depth, resumed.peak_depth, resumed.paused, resumed.transitions,
            resumed.tasks_waiting) == (1, 4, False, 2, 0)


def test_flow_records_are_frozen_and_exported() -> None:
    records: list[Any] = [Credits(1).statistics(), Watermarks(2, 1).statistics()]
    for stats in records:
        with pytest.raises(dataclasses.FrozenInstanceError):
            stats.name = "changed"
    for name in ("CreditsStatistics", "TokenBucketStatistics", "WatermarksStatistics"):
        assert name in labkit.flow.__all__
