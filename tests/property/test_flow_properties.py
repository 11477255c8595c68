"""Property tests for labkit.flow: credits, token bucket, watermarks and Little's law.

Every scenario runs under ``labkit.simulate`` (virtual time), so a property's example is a
script of timed operations and the run is exact and repeatable.

Timing convention in the scripted tests: operations happen at multiples of ``STEP`` (0.5 s),
waits time out at multiples of ``STEP`` too (so a grant and a timeout can meet at the same
instant), and invariants are checked half-way between two operations, when every task has
settled and no timer is due.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import labkit
from labkit import go
from labkit.actor import OVERFLOW_POLICIES, Actor, ActorSystem, Context, Mailbox, MailboxFull
from labkit.channel import OK, Channel
from labkit.flow import Credits, TokenBucket, Watermarks, littles_law

STEP = 0.5
HALF = STEP / 2

timeouts_st = st.one_of(st.none(), st.integers(1, 6).map(lambda k: k * STEP))


# -- credits ----------------------------------------------------------------------------------

CreditOp = tuple[str, int, float | None]

credit_ops_st = st.lists(st.one_of(
    st.tuples(st.just("grant"), st.integers(0, 4), st.none()),
    st.tuples(st.just("try"), st.integers(1, 3), st.none()),
    st.tuples(st.just("acquire"), st.integers(1, 3), timeouts_st),
    st.tuples(st.just("done"), st.integers(1, 3), st.none()),
    st.tuples(st.just("sleep"), st.integers(1, 4), st.none()),
), max_size=30)


@dataclass
class _Waiter:
    index: int
    n: int
    state: str = "waiting"  # then "got" or "gave_up"


@given(initial=st.integers(0, 3), ops=credit_ops_st)
# A cancelled acquire at the head of the line must let the next producer take the credits
# that are there: here the second producer should get 1 of the 2 credits at t = 1.5.
@example(initial=0, ops=[("acquire", 3, 3 * STEP), ("acquire", 1, None), ("grant", 2, None),
                         ("sleep", 4, None)])
def test_credits_producers_never_exceed_what_was_granted(initial: int,
                                                          ops: list[CreditOp]) -> None:
    async def main() -> None:
        credits = Credits(initial, name="window")
        waiters: list[_Waiter] = []
        granted = initial
        tried = 0  # credits taken by successful try_acquire
        completed = 0  # credits marked done
        peak = 0

        async def producer(w: _Waiter, timeout: float | None) -> None:
            if timeout is None:
                await credits.acquire(w.n)
                w.state = "got"
                return
            with anyio.move_on_after(timeout):
                await credits.acquire(w.n)
                w.state = "got"
            if w.state != "got":
                w.state = "gave_up"

        for kind, n, timeout in ops:
            if kind == "grant":
                credits.grant(n)
                granted += n
            elif kind == "try":
                stats = credits.statistics()
                expect = stats.tasks_waiting == 0 and stats.outstanding >= n
                assert credits.try_acquire(n) is expect, (stats, n)
                tried += n if expect else 0
            elif kind == "acquire":
                w = _Waiter(len(waiters), n)
                waiters.append(w)
                go.go(producer, w, timeout)
            elif kind == "done":
                in_flight = credits.in_flight
                if n > in_flight:
                    with pytest.raises(ValueError, match="in flight"):
                        credits.done(n)
                    assert credits.in_flight == in_flight  # refused: nothing changed
                else:
                    credits.done(n)
                    completed += n
            else:
                await labkit.sleep(n * STEP)
            await labkit.sleep(HALF)  # everything settles; no timer is due now

            got = sum(w.n for w in waiters if w.state == "got")
            pending = [w for w in waiters if w.state == "waiting"]
            stats = credits.statistics()
            # Every credit spent went to exactly one producer that returned with it ...
            assert stats.used == tried + got
            # ... and never more than the consumer granted.
            assert stats.granted == granted
            assert stats.used <= stats.granted
            assert stats.outstanding == stats.granted - stats.used >= 0
            assert stats.in_flight == stats.used - completed <= stats.granted - completed
            peak = max(peak, stats.in_flight)
            assert stats.peak_in_flight == peak
            assert stats.tasks_waiting == len(pending)
            assert stats.units_waiting == sum(w.n for w in pending)
            # FIFO: nobody got credits while an earlier producer still waits ...
            for w in waiters:
                if w.state == "got":
                    assert all(v.state != "waiting" for v in waiters[:w.index]), w
            # ... and the producer first in line waits only if what it needs is not there.
            if pending:
                assert pending[0].n > stats.outstanding, (pending[0], stats)
            await labkit.sleep(HALF)

    labkit.simulate(main)


# -- token bucket -----------------------------------------------------------------------------

BucketOp = tuple[str, int, float]

bucket_ops_st = st.lists(st.one_of(
    st.tuples(st.just("sleep"), st.just(1), st.floats(0, 2)),
    st.tuples(st.just("try"), st.integers(1, 3), st.just(0.0)),
    st.tuples(st.just("take"), st.integers(1, 3), st.just(0.0)),
    # a concurrent taker that gives up after the given seconds (0: never)
    st.tuples(st.just("spawn"), st.integers(1, 3), st.floats(0, 3)),
), max_size=40)


@given(rate=st.floats(0.25, 20), burst=st.integers(1, 4), ops=bucket_ops_st)
def test_token_bucket_never_admits_more_than_rate_times_t_plus_burst(
        rate: float, burst: int, ops: list[BucketOp]) -> None:
    async def main() -> tuple[list[tuple[float, int]], TokenBucket]:
        bucket = TokenBucket(rate, burst, name="limit")
        admitted: list[tuple[float, int]] = []  # (time, tokens) of each admission

        async def taker(n: int, patience: float) -> None:
            if patience == 0:
                await bucket.take(n)
                admitted.append((labkit.now(), n))
                return
            with anyio.move_on_after(patience):
                await bucket.take(n)
                admitted.append((labkit.now(), n))

        for kind, asked, x in ops:
            n = min(asked, burst)
            if kind == "sleep":
                await labkit.sleep(x)
            elif kind == "try":
                tokens = bucket.tokens()
                ok = bucket.try_take(n)
                if ok:
                    admitted.append((labkit.now(), n))
                # try_take agrees with tokens() (away from rounding at the boundary)
                if tokens >= n + 1e-6:
                    assert ok, (tokens, n)
                elif tokens <= n - 1e-6:
                    assert not ok, (tokens, n)
            elif kind == "take":
                await bucket.take(n)
                admitted.append((labkit.now(), n))
            else:
                go.go(taker, n, x)
            assert bucket.tokens() <= burst + 1e-9
        await labkit.sleep(5)  # takers still waiting then are cancelled with the run
        return admitted, bucket

    admitted, bucket = labkit.simulate(main).result
    times = sorted(admitted)
    assert bucket.admitted == len(times)
    # In any window [t_i, t_j] (closed), the tokens admitted fit rate * (t_j - t_i) + burst.
    for i, (start, _n) in enumerate(times):
        total = 0
        for end, n in times[i:]:
            total += n
            assert total <= rate * (end - start) + burst + 1e-6, (start, end, total)


@given(rate=st.floats(0.5, 40), burst=st.integers(1, 5), horizon=st.floats(0, 5))
def test_a_greedy_taker_gets_exactly_burst_plus_rate_times_t(rate: float, burst: int,
                                                             horizon: float) -> None:
    async def main() -> int:
        bucket = TokenBucket(rate, burst)
        count = 0
        while True:
            await bucket.take()
            if labkit.now() > horizon:
                return count
            count += 1

    count = labkit.simulate(main).result
    # Admissions at times <= horizon: the full bucket at t = 0, then one per 1/rate.
    assert burst + math.floor(rate * horizon - 1e-6) <= count
    assert count <= burst + math.floor(rate * horizon + 1e-6)


# -- watermarks -------------------------------------------------------------------------------


@given(high=st.integers(1, 15), data=st.data(),
       depths=st.lists(st.integers(0, 20), max_size=40))
def test_watermarks_flip_only_at_the_marks_and_never_flap(high: int, data: st.DataObject,
                                                          depths: list[int]) -> None:
    low = data.draw(st.integers(0, high - 1), label="low")

    async def main() -> tuple[list[str], list[tuple[int, int | None]], int]:
        marks = Watermarks(high, low, name="wm")
        step = 0
        woken: list[tuple[int, int | None]] = []  # (step it started waiting, step it woke)

        async def producer(started: int) -> None:
            slot = len(woken)
            woken.append((started, None))
            await marks.wait_resumed()
            assert not marks.paused
            woken[slot] = (started, step)

        states: list[str] = []
        for step, depth in enumerate(depths):  # producer() reads ``step`` when it wakes
            states.append(marks.update(depth))
            if marks.paused:
                go.go(producer, step)
            await labkit.sleep(1)
        return states, woken, marks.transitions

    run = labkit.simulate(main)
    states, woken, transitions = run.result
    previous = "resumed"
    flips = []
    for i, (depth, state) in enumerate(zip(depths, states, strict=True)):
        if state != previous:
            flips.append((i, state, depth))
            if state == "paused":
                assert depth >= high, (i, depth)
            else:
                assert depth <= low, (i, depth)
        elif previous == "resumed":
            assert depth < high  # at or past the high mark it must pause
        else:
            assert depth > low  # at or below the low mark it must resume
        previous = state
    assert transitions == len(flips)
    # Pauses and resumes alternate, starting with a pause (no flapping, nothing doubled).
    assert [s for _, s, _ in flips] == ["paused", "resumed"] * (len(flips) // 2) + (
        ["paused"] if len(flips) % 2 else [])
    rows = run.trace.df
    rows = rows[rows["kind"].isin(("pause", "resume"))]
    assert list(rows["kind"]) == ["pause" if s == "paused" else "resume" for _, s, _ in flips]
    assert list(rows["depth"]) == [d for _, _, d in flips]
    # A producer waiting while paused wakes at the first resume after it started waiting.
    resumes = [i for i, s, _ in flips if s == "resumed"]
    for started, woke in woken:
        expected = next((i for i in resumes if i > started), None)
        assert woke == expected, (started, woke, resumes)


# -- Little's law -----------------------------------------------------------------------------

# "On a run that starts and ends with empty queues the two sides agree up to float rounding
# (the sample-path form of the law), whatever the overflow policy" (littles_law's docstring).
ROUNDING = 1e-9

gaps_st = st.lists(st.floats(0, 1), min_size=1, max_size=25)
services_st = st.lists(st.floats(0.01, 1), min_size=1, max_size=25)


@given(capacity=st.sampled_from([None, 0, 1, 2, 3]), gaps=gaps_st, services=services_st)
def test_littles_law_holds_exactly_on_a_drained_channel(capacity: int | None,
                                                        gaps: list[float],
                                                        services: list[float]) -> None:
    async def main() -> tuple[list[float], list[float]]:
        ch: Channel[int] = Channel(capacity, name="q")
        entered: list[float] = []
        left: list[float] = []

        async def producer() -> None:
            for i, gap in enumerate(gaps):
                await labkit.sleep(gap)
                assert await ch.send(i) == OK
                entered.append(labkit.now())  # a blocked send enters when it returns
            ch.close()

        go.go(producer)
        i = 0
        while True:
            status, _value = await ch.recv()
            if status != OK:
                return entered, left
            left.append(labkit.now())
            await labkit.sleep(services[i % len(services)])
            i += 1

    run = labkit.simulate(main)
    entered, left = run.result
    assert len(left) == len(entered) == len(gaps)
    if max(left) == min(entered):
        with pytest.raises(ValueError, match="same instant"):
            littles_law(run.trace, peer="q")
        return
    mean_depth, lam, mean_wait, error = littles_law(run.trace, peer="q")
    wait = sum(b - a for a, b in zip(entered, left, strict=True)) / len(gaps)
    span = max(left) - min(entered)
    assert mean_wait == pytest.approx(wait, rel=ROUNDING, abs=ROUNDING)
    assert lam == pytest.approx(len(gaps) / span, rel=ROUNDING)
    assert error < ROUNDING
    assert mean_depth == pytest.approx(lam * mean_wait, rel=ROUNDING, abs=ROUNDING)


class _Timed(Actor):
    """Notes when it takes each message, then works on it for the next service time."""

    def __init__(self, services: list[float], took: dict[int, float]) -> None:
        self.services = services
        self.took = took

    async def receive(self, msg: int, ctx: Context) -> None:
        self.took[msg] = labkit.now()
        await labkit.sleep(self.services[msg % len(self.services)])


@given(capacity=st.integers(1, 3), policy=st.sampled_from(OVERFLOW_POLICIES),
       sends=st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=25),
       services=services_st)
def test_littles_law_holds_exactly_on_a_drained_mailbox_under_every_policy(
        capacity: int, policy: Any, sends: list[tuple[float, bool]],
        services: list[float]) -> None:
    async def main() -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
        took: dict[int, float] = {}
        entered: dict[int, float] = {}
        async with ActorSystem(drain=True) as system:
            ref = system.spawn(_Timed, services, took, name="box",
                               mailbox=Mailbox(capacity, overflow=policy))
            for i, (gap, wait) in enumerate(sends):
                await labkit.sleep(gap)
                try:
                    queued = await ref.send(i) if wait else ref.tell(i)
                except MailboxFull:
                    queued = False
                if queued:
                    entered[i] = labkit.now()
        evicted = {d.message: d.time for d in system.dead_letters if d.message in entered}
        return entered, took, evicted

    run = labkit.simulate(main)
    entered, took, evicted = run.result
    assert set(took) | set(evicted) == set(entered)  # everything that entered, left
    left = {**took, **evicted}
    span = max(left.values()) - min(entered.values())
    if span == 0:
        with pytest.raises(ValueError, match="same instant"):
            littles_law(run.trace, peer="box")
        return
    mean_depth, lam, mean_wait, error = littles_law(run.trace, peer="box")
    wait = sum(left[i] - entered[i] for i in entered) / len(entered)
    assert mean_wait == pytest.approx(wait, rel=ROUNDING, abs=ROUNDING)
    assert lam == pytest.approx(len(entered) / span, rel=ROUNDING)
    assert error < ROUNDING
    assert mean_depth == pytest.approx(lam * mean_wait, rel=ROUNDING, abs=ROUNDING)
