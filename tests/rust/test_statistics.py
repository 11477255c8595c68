"""``statistics()`` on everything in the Rust dialect that queues: mpsc (tokio and std),
``Semaphore``, ``broadcast`` and ``watch``. Each record is checked after real operations:
the values queued and their peak, the totals, and the tasks counted while they wait."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.channel import ChannelStatistics
from labkit.rust import Semaphore, SemaphoreStatistics, broadcast, mpsc, watch


def sim(main: Callable[[], Awaitable[Any]]) -> Any:
    return labkit.simulate(main).result


async def settle() -> None:
    """Let every spawned task run until it blocks (virtual time: nothing else is due)."""
    await rust.sleep(1)


def test_records_are_frozen_and_exported() -> None:
    records: list[Any] = [mpsc.channel(1)[0].statistics(), Semaphore(1).statistics(),
                          broadcast.channel(1)[0].statistics(),
                          watch.channel(0)[0].statistics()]
    for stats in records:
        with pytest.raises(dataclasses.FrozenInstanceError):
            stats.name = "changed"
        name = type(stats).__name__
        assert name in rust.__all__ and getattr(rust, name) is type(stats)
    assert "MpscStatistics" in mpsc.__all__
    assert "BroadcastStatistics" in broadcast.__all__
    assert "WatchStatistics" in watch.__all__
    # One scheme: the mpsc record is the core channel's record plus Rust's handle counts.
    assert issubclass(mpsc.MpscStatistics, ChannelStatistics)


# -- mpsc ----------------------------------------------------------------------------------


def test_r10_mpsc_statistics_count_queued_values_and_blocked_senders() -> None:
    async def main() -> list[mpsc.MpscStatistics]:
        tx, rx = mpsc.channel(2)
        weak = tx.downgrade()
        await tx.send("a")
        await tx.send("b")
        blocked = [rust.spawn(tx.clone().send, v) for v in ("c", "d")]
        await settle()
        full = tx.statistics()
        assert await rx.recv() == "a"  # "c" moves into the freed slot (R10)
        after_one = rx.statistics()
        assert [await rx.recv() for _ in range(3)] == ["b", "c", "d"]
        for handle in blocked:
            await handle
        weak.drop()
        return [full, after_one, rx.statistics()]

    full, after_one, drained = sim(main)
    assert full == mpsc.MpscStatistics(
        name="mpsc-1", capacity=2, depth=2, peak_depth=2, reserved=0, sent=2, received=0,
        senders_waiting=2, receivers_waiting=0, closed=False, sender_count=3, weak_count=1)
    assert (after_one.depth, after_one.sent, after_one.received,
            after_one.senders_waiting) == (2, 3, 1, 1)
    assert (drained.depth, drained.peak_depth, drained.sent, drained.received,
            drained.senders_waiting, drained.weak_count) == (0, 2, 4, 4, 0, 0)


def test_r13_mpsc_statistics_count_reserved_slots_and_a_waiting_receiver() -> None:
    async def main() -> tuple[mpsc.MpscStatistics, mpsc.MpscStatistics]:
        tx, rx = mpsc.channel(3)
        permit = (await tx.reserve()).unwrap()
        waiting = rust.spawn(rx.recv)
        await settle()
        reserved = tx.statistics()
        permit.send(7)
        assert (await waiting).unwrap() == 7
        tx.drop()
        return reserved, rx.statistics()

    reserved, closed = sim(main)
    assert (reserved.reserved, reserved.receivers_waiting, reserved.sender_count) == (1, 1, 2)
    assert (closed.closed, closed.reserved, closed.sent, closed.received,
            closed.sender_count) == (True, 0, 1, 1, 0)


def test_r21_unbounded_and_std_channels_have_statistics_too() -> None:
    async def main() -> list[Any]:
        utx, urx = mpsc.unbounded_channel()
        for i in range(5):
            utx.send(i)
        stx, srx = mpsc.std_channel()
        stx.send("x")
        ytx, yrx = mpsc.sync_channel(0)
        rust.spawn(ytx.send, "y")  # waits for a receiver (R2)
        await settle()
        return [urx.statistics(), srx.statistics(), yrx.statistics()]

    unbounded, std, sync = sim(main)
    assert (unbounded.capacity, unbounded.depth, unbounded.peak_depth) == (None, 5, 5)
    assert (std.capacity, std.depth, std.sent) == (None, 1, 1)
    assert (sync.capacity, sync.depth, sync.senders_waiting) == (0, 0, 1)


def test_statistics_of_a_dropped_handle_is_a_use_after_move() -> None:
    async def main() -> None:
        tx, _rx = mpsc.channel(1)
        tx.drop()
        tx.statistics()

    with pytest.raises(rust.MovedValueError):
        labkit.simulate(main)


def test_statistics_outside_a_run_name_the_channel_as_unnamed() -> None:
    tx, rx = mpsc.channel(4)
    assert tx.statistics() == rx.statistics()
    assert tx.statistics().name == "<unnamed mpsc>"
    assert tx.statistics().sender_count == 1


# -- Semaphore -----------------------------------------------------------------------------


def test_r35_semaphore_statistics_count_waiters_and_the_permits_they_ask_for() -> None:
    async def main() -> list[SemaphoreStatistics]:
        sem = Semaphore(3)
        held = await sem.acquire_many(2)
        big = rust.spawn(sem.acquire_many, 3)
        small = rust.spawn(sem.acquire)  # behind the big one: not served (R35)
        await settle()
        waiting = sem.statistics()
        held.release()
        await settle()
        served = sem.statistics()
        sem.close()
        await settle()
        for handle in (big, small):
            await handle
        return [waiting, served, sem.statistics()]

    waiting, served, closed = sim(main)
    assert waiting == SemaphoreStatistics(name="sem-1", permits_available=1, tasks_waiting=2,
                                          permits_waiting=4, closed=False)
    # 3 free: the head (3) is served, the small one waits for one more
    assert (served.permits_available, served.tasks_waiting, served.permits_waiting) == (0, 1, 1)
    assert (closed.tasks_waiting, closed.closed) == (0, True)


def test_r30_a_cancelled_semaphore_waiter_is_no_longer_counted() -> None:
    async def main() -> tuple[int, int]:
        sem = Semaphore(0)
        waiter = rust.spawn(sem.acquire)
        await settle()
        before = sem.statistics().tasks_waiting
        waiter.abort()
        await settle()
        return before, sem.statistics().tasks_waiting

    assert sim(main) == (1, 0)


# -- broadcast -----------------------------------------------------------------------------


def test_r24_broadcast_statistics_count_sends_deliveries_and_lag() -> None:
    async def main() -> list[broadcast.BroadcastStatistics]:
        tx, fast = broadcast.channel(2)
        slow = tx.subscribe()
        for i in range(3):
            tx.send(i)
            assert (await fast.recv()).unwrap() == i
        full = tx.statistics()
        lag = await slow.recv()
        assert isinstance(lag, rust.Err) and lag.error.count == 1
        assert (await slow.recv()).unwrap() == 1
        tx2 = tx.clone()
        waiter = rust.spawn(fast.recv)
        closer = rust.spawn(tx2.closed)
        await settle()
        waiting = slow.statistics()
        waiter.abort()
        closer.abort()
        await settle()
        tx.drop()
        tx2.drop()
        return [full, waiting, fast.statistics()]

    full, waiting, closed = sim(main)
    assert full == broadcast.BroadcastStatistics(
        name="bcast-1", capacity=2, depth=2, peak_depth=2, sent=3, received=3, lagged=0,
        sender_count=1, receiver_count=2, senders_waiting=0, receivers_waiting=0,
        closed=False)
    assert (waiting.received, waiting.lagged, waiting.depth) == (4, 1, 1)
    assert (waiting.receivers_waiting, waiting.senders_waiting, waiting.sender_count) == (
        1, 1, 2)
    assert (closed.closed, closed.sender_count, closed.receivers_waiting) == (True, 0, 0)


def test_r23_a_huge_broadcast_capacity_costs_nothing_up_front() -> None:
    async def main() -> broadcast.BroadcastStatistics:
        tx, rx = broadcast.channel(10**12)
        for i in range(3):
            tx.send(i)
        assert [(await rx.recv()).unwrap() for _ in range(3)] == [0, 1, 2]
        return tx.statistics()

    stats = sim(main)
    assert stats.capacity == 2**40 and stats.sent == 3 and stats.depth == 0


# -- watch ---------------------------------------------------------------------------------


def test_r26_watch_statistics_count_values_handles_and_waiters() -> None:
    async def main() -> list[watch.WatchStatistics]:
        tx, rx = watch.channel(0)
        rx2 = rx.clone()
        tx.send(1)
        tx.send_replace(2)
        tx.send_if_modified(lambda v: False)  # not modified: not counted
        changed = [rust.spawn(r.changed) for r in (rx, rx2)]
        await settle()  # both see version 2 at once
        waiting: list[rust.JoinHandle[Any]] = [rust.spawn(rx.changed), rust.spawn(tx.closed)]
        await settle()
        middle = rx2.statistics()
        tx.send_modify(lambda v: None)
        for handle in [*changed, waiting[0]]:
            await handle
        rx.drop()
        rx2.drop()
        await waiting[1]
        return [middle, tx.statistics()]

    middle, end = sim(main)
    assert middle == watch.WatchStatistics(
        name="watch-1", sent=2, sender_count=1, receiver_count=2, senders_waiting=1,
        receivers_waiting=1, closed=False)
    assert (end.sent, end.receiver_count, end.senders_waiting, end.receivers_waiting) == (
        3, 0, 0, 0)
