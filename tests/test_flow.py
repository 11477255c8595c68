"""Backpressure tools (labkit.flow): credits, token bucket, watermarks, shedding, Little's law."""

from __future__ import annotations

import itertools

import anyio
import pytest

import labkit
from labkit import go
from labkit.actor import ActorSystem
from labkit.channel import Channel
from labkit.flow import Credits, LoadShedder, TokenBucket, Watermarks, littles_law
from labkit.trace import drops

# -- credits ----------------------------------------------------------------------------------


def test_producer_never_exceeds_the_credits_granted() -> None:
    window = 4

    async def main() -> tuple[Credits, int]:
        credits = Credits(window, name="demand")
        queue: go.Chan[int] = go.Chan(100)  # roomy: only the credits hold the producer back
        peak = 0

        async def producer() -> None:
            for i in range(200):
                await credits.acquire()
                await queue.send(i)
            queue.close()

        go.go(producer)
        async for _item in queue:
            peak = max(peak, credits.in_flight)
            await labkit.sleep(0.01)  # a slow consumer
            credits.done()
            credits.grant(1)
        return credits, peak

    credits, peak = labkit.simulate(main).result
    stats = credits.statistics()
    assert stats.used == 200
    assert stats.granted == window + 200
    assert stats.outstanding == window
    assert stats.in_flight == 0
    assert stats.peak_in_flight == window == peak
    assert stats.used <= stats.granted


def test_acquire_waits_for_a_grant_in_fifo_order() -> None:
    async def main() -> list[tuple[str, float]]:
        credits = Credits()
        log: list[tuple[str, float]] = []

        async def producer(name: str) -> None:
            await credits.acquire()
            log.append((name, labkit.now()))

        go.go(producer, "a")
        go.go(producer, "b")
        await labkit.sleep(1)
        credits.grant(1)
        await labkit.sleep(1)
        credits.request(1)
        await labkit.sleep(1)
        assert credits.try_acquire() is False
        return log

    run = labkit.simulate(main)
    assert run.result == [("a", 1.0), ("b", 2.0)]
    assert "block" in run.trace.kinds()


def test_credits_reject_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^initial must be an int >= 0, got int -1$"):
        Credits(-1)
    credits = Credits(1)
    with pytest.raises(ValueError, match=r"^n must be an int >= 0, got int -3$"):
        credits.grant(-3)
    with pytest.raises(TypeError, match=r"^n must be an int >= 0, got float 1.5$"):
        credits.grant(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="in flight"):
        credits.done()


# -- token bucket -----------------------------------------------------------------------------


def test_token_bucket_admits_burst_then_one_per_interval() -> None:
    async def main() -> tuple[list[float], TokenBucket]:
        bucket = TokenBucket(rate=5, burst=2)
        times: list[float] = []
        while True:
            await bucket.take()
            now = labkit.now()
            if now > 10 + 1e-9:
                return times, bucket
            times.append(now)

    times, bucket = labkit.simulate(main).result
    assert len(times) <= 52
    assert len(times) >= 51
    assert bucket.admitted == len(times) + 1  # the last take ended past 10 s
    assert times[:2] == [0.0, 0.0]  # the burst
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]
    assert all(g == pytest.approx(0.2, abs=1e-9) for g in gaps)


def test_token_bucket_try_take_never_waits() -> None:
    async def main() -> list[bool]:
        bucket = TokenBucket(rate=2, burst=3)
        got = [bucket.try_take() for _ in range(4)]  # 3 in the bucket, then empty
        await labkit.sleep(0.5)  # one token refilled
        got += [bucket.try_take(), bucket.try_take()]
        assert bucket.tokens() == pytest.approx(0.0)
        await labkit.sleep(10)
        assert bucket.tokens() == pytest.approx(3.0)  # never more than the burst
        return got

    assert labkit.simulate(main).result == [True, True, True, False, True, False]


def test_token_bucket_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^rate must be a finite number > 0, got int 0$"):
        TokenBucket(0, 1)
    with pytest.raises(ValueError, match="rate must be a finite number > 0"):
        TokenBucket(-2.5, 1)
    with pytest.raises(ValueError,
                       match=r"^burst must be an int from 1 to 1,000,000,000,000,000, got int 0$"):
        TokenBucket(1, 0)

    async def main() -> None:
        TokenBucket(1, 2).try_take(3)

    with pytest.raises(ValueError, match=r"^n must be an int from 1 to 2, got int 3$"):
        labkit.simulate(main)


# -- watermarks -------------------------------------------------------------------------------


def test_watermarks_hysteresis_gives_the_exact_state_sequence() -> None:
    depths = [0, 5, 9, 10, 9, 7, 5, 4, 3, 2, 3, 9, 10, 12, 2, 10]
    expected = ["resumed"] * 3 + ["paused"] * 5 + ["resumed"] * 4 + ["paused"] * 2 + [
        "resumed", "paused"]

    async def main() -> tuple[list[str], int]:
        marks = Watermarks(high=10, low=3, name="wm")
        return [marks.update(d) for d in depths], marks.transitions

    run = labkit.simulate(main)
    states, transitions = run.result
    assert states == expected
    assert transitions == 5
    rows = run.trace.df
    flips = rows[rows["kind"].isin(("pause", "resume"))]
    assert list(flips["kind"]) == ["pause", "resume", "pause", "resume", "pause"]
    assert list(flips["depth"]) == [10, 3, 10, 2, 10]
    assert set(flips["peer"]) == {"wm"}


def test_wait_resumed_blocks_until_the_low_mark() -> None:
    async def main() -> float:
        marks = Watermarks(high=4, low=1)
        marks.update(4)
        woke: list[float] = []

        async def producer() -> None:
            await marks.wait_resumed()
            woke.append(labkit.now())

        go.go(producer)
        for depth in (3, 2, 1):
            await labkit.sleep(1)
            marks.update(depth)
        await labkit.sleep(1)
        return woke[0]

    assert labkit.simulate(main).result == 3.0


def test_watermarks_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="must be below the high one"):
        Watermarks(high=5, low=5)
    with pytest.raises(ValueError, match="must be below the high one"):
        Watermarks(high=3, low=7)
    with pytest.raises(ValueError, match=r"^low must be an int >= 0, got int -1$"):
        Watermarks(high=3, low=-1)


# -- load shedding ----------------------------------------------------------------------------


def test_shedding_by_depth_records_trace_drops_with_the_reason() -> None:
    async def main() -> tuple[list[bool], LoadShedder]:
        shedder = LoadShedder(threshold=3, name="front")
        return [shedder.admit(f"m{d}", depth=d) for d in range(6)], shedder

    run = labkit.simulate(main)
    admitted, shedder = run.result
    assert admitted == [True, True, True, False, False, False]
    assert (shedder.admitted, shedder.shed) == (3, 3)
    lost = drops(run.trace)
    assert list(lost["kind"]) == ["drop"] * 3
    assert list(lost["detail"]) == [f"shed: depth {d} >= threshold 3" for d in (3, 4, 5)]
    assert set(lost["peer"]) == {"front"}


def test_shedding_with_a_system_records_dead_letters() -> None:
    async def main() -> tuple[list[str], int]:
        async with ActorSystem() as system:
            shedder = LoadShedder(probability=0.5, system=system)
            for i in range(100):
                shedder.admit(i, depth=0, recipient="worker")
            return [d.reason for d in system.dead_letters], shedder.shed

    run = labkit.simulate(main, seed=7)
    reasons, shed = run.result
    assert 20 < shed < 80
    assert reasons == ["shed: random (p=0.5)"] * shed
    lost = drops(run.trace)
    assert (lost["kind"] == "dead_letter").sum() == shed
    assert labkit.simulate(main, seed=7).result == run.result  # seeded: repeatable


def test_load_shedder_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="needs a threshold"):
        LoadShedder()
    with pytest.raises(ValueError, match=r"^probability must be a finite number from 0 to 1, "
                                         r"got float 1.5$"):
        LoadShedder(probability=1.5)
    with pytest.raises(ValueError, match=r"^threshold must be an int >= 1, got int 0$"):
        LoadShedder(threshold=0)


# -- Little's law -----------------------------------------------------------------------------


def mm1(n: int, arrival_rate: float, service_rate: float) -> labkit.Run[None]:
    """A producer with exponential inter-arrival times feeding one exponential server."""

    async def main() -> None:
        rng = labkit.rng()
        queue: Channel[int] = Channel(None, name="queue")

        async def producer() -> None:
            for i in range(n):
                await labkit.sleep(rng.expovariate(arrival_rate))
                await queue.send(i)
            queue.close()

        go.go(producer)
        async for _value in queue:
            await labkit.sleep(rng.expovariate(service_rate))

    return labkit.simulate(main, seed=3)


def test_littles_law_holds_on_a_simulated_queue() -> None:
    run = mm1(3000, arrival_rate=1.0, service_rate=1.25)
    law = littles_law(run.trace, peer="queue")
    depth, lam, wait, err = law
    assert lam == pytest.approx(1.0, rel=0.1)
    assert depth > 0.5  # a busy queue, not a trivial one
    assert isinstance(depth, float)
    assert err < 0.05  # stated tolerance; a drained run is in fact exact up to rounding
    assert depth == pytest.approx(lam * wait, rel=0.05)
    assert littles_law(run.trace.df) == law  # one queue: the same without naming it


def test_littles_law_needs_traffic() -> None:
    async def main() -> None:
        await labkit.sleep(1)

    with pytest.raises(ValueError, match="needs traffic"):
        littles_law(labkit.simulate(main).trace)


def test_cancelled_acquire_loses_no_credit_and_a_lone_wait_is_a_deadlock() -> None:
    async def main() -> tuple[bool, int]:
        credits = Credits(name="c")
        with anyio.move_on_after(1):
            await credits.acquire()
        credits.grant(1)
        return credits.try_acquire(), credits.statistics().tasks_waiting

    assert labkit.simulate(main).result == (True, 0)

    async def stuck() -> None:
        await Credits(name="window").acquire()

    with pytest.raises(labkit.Deadlock, match="acquire a credit from window"):
        labkit.simulate(stuck)


def test_littles_law_on_an_actor_mailbox_with_evictions_and_blocked_senders() -> None:
    from labkit.actor import Actor, Mailbox

    class Slow(Actor):
        async def receive(self, msg: object, ctx: object) -> None:
            await labkit.sleep(1.0)

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            evicting = system.spawn(Slow, name="evicting", mailbox=Mailbox(2, "drop_head"))
            blocking = system.spawn(Slow, name="blocking", mailbox=Mailbox(2, "block"))
            for i in range(8):
                evicting.tell(i)  # 0 to the actor, then 1..7 into 2 slots: 5 evicted
                await labkit.sleep(0.01)
            for i in range(8):
                await blocking.send(i)  # waits in the sender's hand while full
                await labkit.sleep(0.25)

    run = labkit.simulate(main)
    assert len(drops(run.trace)) == 5
    for name in ("evicting", "blocking"):
        law = littles_law(run.trace, peer=name)
        assert law.L > 0.5
        assert law.relative_error < 1e-9  # exact: every message entered and left


def test_littles_law_waits_from_the_unblock_of_a_blocked_send() -> None:
    async def main() -> None:
        ch: go.Chan[int] = go.Chan(1, name="q")

        async def consumer() -> None:
            async for _ in ch:
                await labkit.sleep(1.0)

        go.go(consumer)
        await labkit.sleep(0.5)
        for i in range(3):
            await ch.send(i)  # 0 is taken at once, 1 queues, 2 blocks until t = 1.5
        ch.close()
        await labkit.sleep(5)

    law = littles_law(labkit.simulate(main).trace, peer="q")
    # Time in the queue: 0 s, 1 s (1 from 0.5 to 1.5), 1 s (2 from 1.5 to 2.5).
    assert abs(law.W - 2 / 3) < 1e-9
    assert law.relative_error < 1e-9


def test_credits_a_waiter_that_gives_up_lets_the_next_one_in() -> None:
    """Credits are served in order, so a big request at the head holds back a small one;
    when the big one is cancelled, the small one gets the credits already granted."""
    async def main() -> tuple[list[float], int]:
        credits = Credits(0, name="credits")
        got: list[float] = []

        async def big() -> None:
            with anyio.move_on_after(1):
                await credits.acquire(5)

        async def small() -> None:
            await credits.acquire(2)
            got.append(labkit.now())

        go.go(big)
        await anyio.sleep(0.1)
        go.go(small)
        await anyio.sleep(0.1)
        credits.grant(3)
        await anyio.sleep(2)
        return got, credits.statistics().outstanding

    got, outstanding = labkit.simulate(main).result
    assert got == [pytest.approx(1.0)]
    assert outstanding == 1
