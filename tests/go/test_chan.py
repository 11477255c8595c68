"""Go channels: G1-G19, G28, G29 and conformance cases A1-A24 of SEMANTICS.md."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import labkit
import labkit.go.chan
from labkit import go
from labkit.channel import ChannelStatistics
from labkit.go.chan import ChanStatistics

from .helpers import sim, still_blocked

# -- 1.1 creation, buffering, blocking, order --------------------------------------------


def test_g1_unbuffered_send_completes_when_receiver_arrives() -> None:
    async def main() -> list[tuple[str, float]]:
        ch: go.Chan[int] = go.Chan()
        log: list[tuple[str, float]] = []

        async def sender() -> None:
            log.append(("send-start", labkit.now()))
            await ch.send(7)
            log.append(("send-done", labkit.now()))

        go.go(sender)
        await go.sleep(0.05)
        log.append(("recv-start", labkit.now()))
        v, ok = await ch.recv()
        log.append((f"recv={v},{ok}", labkit.now()))
        await go.sleep(0)
        return log

    log = sim(main)
    assert log[0] == ("send-start", 0.0)
    assert ("recv-start", 0.05) in log
    assert ("recv=7,True", 0.05) in log
    assert ("send-done", 0.05) in log
    assert log.index(("send-done", 0.05)) > log.index(("recv-start", 0.05))


def test_case_3_unbuffered_send_blocks_without_receiver() -> None:
    async def main() -> bool:
        ch: go.Chan[int] = go.Chan(0)
        return await still_blocked(lambda: ch.send(1))

    assert sim(main) is True


def test_g2_buffered_send_does_not_block_until_full() -> None:
    async def main() -> tuple[int, bool]:
        ch: go.Chan[int] = go.Chan(3)
        for i in range(3):
            await ch.send(i)  # no receiver: must not wait
        full = len(ch)
        return full, await still_blocked(lambda: ch.send(99))

    assert sim(main) == (3, True)


def test_g2_buffered_recv_does_not_block_when_not_empty() -> None:
    async def main() -> tuple[Any, bool]:
        ch: go.Chan[str] = go.Chan(1)
        await ch.send("x")
        return await ch.recv()

    assert sim(main) == ("x", True)


def test_g3_case_1_fifo_buffered() -> None:
    async def main() -> list[int]:
        ch: go.Chan[int] = go.Chan(10)
        for i in range(10):
            await ch.send(i)
        return [(await ch.recv())[0] for _ in range(10)]

    assert sim(main) == list(range(10))


def test_g3_fifo_between_two_goroutines() -> None:
    async def main() -> list[int]:
        ch: go.Chan[int] = go.Chan(2)

        async def producer() -> None:
            for i in range(50):
                await ch.send(i)
            ch.close()

        go.go(producer)
        return [v async for v in ch]

    assert sim(main) == list(range(50))


@pytest.mark.parametrize("cap", [0, 1])
def test_g4_case_15_blocked_senders_fifo(cap: int) -> None:
    async def main() -> list[int]:
        ch: go.Chan[int] = go.Chan(cap)
        for i in range(5):  # staggered: sender i blocks before sender i+1 starts
            go.go(ch.send, i)
            await go.sleep(0.01)
        await go.sleep(1)
        return [(await ch.recv())[0] for _ in range(5)]

    assert sim(main) == [0, 1, 2, 3, 4]


def test_g5_send_uses_value_evaluated_before_blocking() -> None:
    async def main() -> list[int]:
        ch: go.Chan[list[int]] = go.Chan(0)
        box = [1]
        go.go(ch.send, box)
        await go.sleep(1)
        box = [2]  # rebinding after the send started changes nothing
        v, _ = await ch.recv()
        return v

    assert sim(main) == [1]


def test_g6_recv_blocks_until_value_then_ok_true() -> None:
    async def main() -> tuple[Any, bool, float]:
        ch: go.Chan[int] = go.Chan(0, zero=0)

        async def later() -> None:
            await go.sleep(3)
            await ch.send(0)  # a real zero value still has ok=True

        go.go(later)
        v, ok = await ch.recv()
        return v, ok, labkit.now()

    assert sim(main) == (0, True, 3.0)


@pytest.mark.parametrize("cap", [0, 3])
def test_g7_mpmc_each_value_to_exactly_one_receiver(cap: int) -> None:
    async def main() -> list[int]:
        ch: go.Chan[int] = go.Chan(cap)
        got: list[int] = []
        wg = go.WaitGroup()

        async def producer(base: int) -> None:
            for i in range(20):
                await ch.send(base + i)
                if i % 3 == 0:
                    await go.sleep(0.001)

        async def consumer() -> None:
            async for v in ch:
                got.append(v)
                await go.gosched()

        for p in range(3):
            wg.go(producer, p * 100)
        done = go.WaitGroup()
        for _ in range(3):
            done.go(consumer)
        await wg.wait()
        ch.close()
        await done.wait()
        return got

    got = sim(main)
    assert sorted(got) == sorted(p * 100 + i for p in range(3) for i in range(20))


def test_g9_case_21_recv_only_view_refuses_send_and_close() -> None:
    ch: go.Chan[int] = go.Chan(1)
    ro = ch.recv_only()
    with pytest.raises(TypeError, match="receive-only"):
        sim(lambda: ro.send(1))
    with pytest.raises(TypeError, match="receive-only"):
        ro.close()
    with pytest.raises(TypeError):
        go.Send(ro, 1)
    with pytest.raises(TypeError):
        ro.send_only()  # never widens


def test_g9_send_only_view_refuses_recv_and_range() -> None:
    ch: go.Chan[int] = go.Chan(1)
    so = ch.send_only()
    with pytest.raises(TypeError, match="send-only"):
        sim(so.recv)
    with pytest.raises(TypeError):
        so.__aiter__()
    with pytest.raises(TypeError):
        go.Recv(so)
    with pytest.raises(TypeError):
        so.recv_only()


def test_g9_views_share_the_channel() -> None:
    async def main() -> tuple[Any, bool]:
        ch: go.Chan[int] = go.Chan(1)
        so, ro = ch.send_only(), ch.recv_only()
        await so.send(5)
        so.close()  # a sender may close through its send-only view
        assert so == ch == ro and so.send_only() is so
        assert len(ro) == 1 and ro.cap == 1
        return await ro.recv()

    assert sim(main) == (5, True)


@pytest.mark.parametrize("cap", [0, 1])
def test_g10_case_20_zero_size_unit_values(cap: int) -> None:
    async def main() -> list[tuple[Any, bool]]:
        ch: go.Chan[None] = go.Chan(cap)
        go.go(ch.send, None)
        first = await ch.recv()
        ch.close()
        return [first, await ch.recv()]

    assert sim(main) == [(None, True), (None, False)]


# -- 1.2 close ----------------------------------------------------------------------------


def test_g11_g12_close_drains_then_zero_forever() -> None:
    async def main() -> tuple[list[tuple[Any, bool]], int]:
        ch: go.Chan[int] = go.Chan(3, zero=0)
        await ch.send(10)
        await ch.send(20)
        ch.close()
        len_after_close = len(ch)
        return [await ch.recv() for _ in range(4)], len_after_close

    got, n = sim(main)
    assert got == [(10, True), (20, True), (0, False), (0, False)]
    assert n == 2


def test_case_6_closed_channel_recv_never_blocks() -> None:
    async def main() -> tuple[list[tuple[Any, bool]], float]:
        ch: go.Chan[str] = go.Chan(0, zero="")
        ch.close()
        return [await ch.recv() for _ in range(10)], labkit.now()

    got, t = sim(main)
    assert got == [("", False)] * 10
    assert t == 0.0


def test_g13_case_7_send_on_closed_panics() -> None:
    async def main() -> None:
        ch: go.Chan[int] = go.Chan(1)
        ch.close()
        await ch.send(7)

    with pytest.raises(go.Panic, match=r"^send on closed channel$"):
        sim(main)


@pytest.mark.parametrize("cap", [0, 1])
def test_g13_blocked_sender_panics_when_closed(cap: int) -> None:
    async def main() -> Any:
        ch: go.Chan[int] = go.Chan(cap)
        if cap:
            await ch.send(0)
        caught: list[Any] = []

        async def sender() -> None:
            with go.recover() as r:
                await ch.send(1)
            caught.append(r.value)

        go.go(sender)
        await go.sleep(1)
        ch.close()
        await go.sleep(1)
        return caught

    assert sim(main) == ["send on closed channel"]


def test_g13_panic_in_goroutine_ends_run() -> None:
    async def main() -> None:
        ch: go.Chan[int] = go.Chan(0)
        go.go(ch.send, 1)
        await go.sleep(1)
        ch.close()
        await go.sleep(1)

    with pytest.raises(go.Panic, match="send on closed channel"):
        sim(main)


def test_g14_case_9_close_of_closed_channel_panics() -> None:
    ch: go.Chan[int] = go.Chan(1)
    ch.close()
    with pytest.raises(go.Panic, match=r"^close of closed channel$"):
        ch.close()


def test_g14_case_10_close_of_nil_channel_panics() -> None:
    with pytest.raises(go.Panic, match=r"^close of nil channel$"):
        go.nil.close()


def test_g15_close_wakes_all_blocked_receivers() -> None:
    async def main() -> list[tuple[int, Any, bool]]:
        ch: go.Chan[int] = go.Chan(0, zero=-1)
        woke: list[tuple[int, Any, bool]] = []

        async def receiver(i: int) -> None:
            v, ok = await ch.recv()
            woke.append((i, v, ok))

        for i in range(3):
            go.go(receiver, i)
        await go.sleep(1)
        assert woke == []
        ch.close()
        await go.sleep(0)
        return woke

    assert sim(main) == [(0, -1, False), (1, -1, False), (2, -1, False)]


def test_g16_several_senders_close_once_after_waitgroup() -> None:
    async def main() -> list[int]:
        out: go.Chan[int] = go.Chan(0)
        wg = go.WaitGroup()
        for base in (0, 10, 20):
            wg.add(1)

            async def sender(b: int) -> None:
                for i in range(3):
                    await out.send(b + i)
                wg.done()

            go.go(sender, base)

        async def closer() -> None:
            await wg.wait()
            out.close()  # in one place, after every sender finished

        go.go(closer)
        return sorted([v async for v in out])

    assert sim(main) == [0, 1, 2, 10, 11, 12, 20, 21, 22]


def test_g16_forgotten_close_leaves_range_blocked_deadlock() -> None:
    async def main() -> list[int]:
        ch: go.Chan[int] = go.Chan(1)

        async def sender() -> None:
            await ch.send(1)  # and never closes

        go.go(sender)
        return [v async for v in ch]

    with pytest.raises(labkit.Deadlock):
        sim(main)


# -- 1.3 nil channels ---------------------------------------------------------------------


def test_g17_case_11_nil_send_and_recv_block_forever() -> None:
    async def main() -> tuple[bool, bool]:
        return (await still_blocked(lambda: go.nil.send(7)),
                await still_blocked(go.nil.recv))

    assert sim(main) == (True, True)


@pytest.mark.parametrize("op", ["send", "recv"])
def test_g17_nil_op_alone_is_a_deadlock(op: str) -> None:
    async def main() -> None:
        if op == "send":
            await go.nil.send(1)
        else:
            await go.nil.recv()

    with pytest.raises(go.Deadlock, match="all goroutines are asleep - deadlock!"):
        sim(main)


def test_g19_case_12_nil_len_and_cap_are_zero() -> None:
    assert len(go.nil) == 0
    assert go.nil.cap == 0
    assert not go.nil and go.Chan(0)
    assert go.nil.is_nil and not go.Chan(0).is_nil


def test_g19_range_over_nil_blocks_forever() -> None:
    async def main() -> bool:
        async def ranging() -> None:
            async for _ in go.nil:
                pass

        return await still_blocked(ranging)

    assert sim(main) is True


# -- 1.5 range, len, cap -------------------------------------------------------------------


def test_g28_range_until_closed_and_drained() -> None:
    async def main() -> list[int]:
        ch: go.Chan[int] = go.Chan(5)
        for i in range(3):
            await ch.send(i)
        ch.close()
        return [v async for v in ch]

    assert sim(main) == [0, 1, 2]


def test_g29_len_and_cap() -> None:
    async def main() -> list[tuple[int, int]]:
        a: go.Chan[int] = go.Chan(0)
        b: go.Chan[int] = go.Chan(4)
        await b.send(1)
        await b.send(2)
        snapshots = [(len(a), a.cap), (len(b), b.cap)]
        await b.recv()
        snapshots.append((len(b), b.cap))
        return snapshots

    assert sim(main) == [(0, 0), (2, 4), (1, 4)]


# -- nonblock.go: cases 4, 22, 23, 24 ----------------------------------------------------------


def test_case_4_try_send_on_full_buffer_takes_default() -> None:
    async def main() -> tuple[int, int, int]:
        ch: go.Chan[int] = go.Chan(2)
        await ch.send(1)
        await ch.send(2)
        s = await go.select(go.Send(ch, 3), default=True)
        return s.index, len(ch), ch.cap

    assert sim(main) == (-1, 2, 2)


@pytest.mark.parametrize("cap", [0, 1])
def test_case_22_nonblocking_recv_on_empty_takes_default(cap: int) -> None:
    async def main() -> int:
        ch: go.Chan[int] = go.Chan(cap)
        return (await go.select(go.Recv(ch), default=True)).index

    assert sim(main) == -1


@pytest.mark.parametrize("cap", [0, 1])
def test_case_23_nonblocking_send_retry_eventually_succeeds(cap: int) -> None:
    async def main() -> tuple[int, Any]:
        ch: go.Chan[int] = go.Chan(cap)
        got: go.Chan[int] = go.Chan(1)

        async def receiver() -> None:
            v, _ = await ch.recv()
            await got.send(v)

        go.go(receiver)
        for tries in range(10_000):
            if (await go.select(go.Send(ch, 123), default=True)).index == 0:
                return tries, (await got.recv())[0]
            await go.gosched()
        raise AssertionError("the non-blocking send never succeeded")

    _tries, v = sim(main)
    assert v == 123


@pytest.mark.parametrize("cap", [0, 1])
def test_case_24_nonblocking_recv_retry_gets_senders_value(cap: int) -> None:
    async def main() -> Any:
        ch: go.Chan[int] = go.Chan(cap)
        go.go(ch.send, 123)
        for _ in range(10_000):
            s = await go.select(go.Recv(ch), default=True)
            if s.index == 0:
                return s.value
            await go.gosched()
        raise AssertionError("the non-blocking receive never succeeded")

    assert sim(main) == 123


# -- traces ----------------------------------------------------------------------------------


def test_trace_rows_carry_model_go_and_goroutine_names() -> None:
    async def main() -> None:
        ch: go.Chan[int] = go.Chan(0)
        go.go(ch.send, 1)
        await ch.recv()
        ch.close()

    run = labkit.simulate(main)
    rows = list(run.trace)
    chan_rows = [r for r in rows if r.peer == "chan-1"]
    assert {r.kind for r in chan_rows} >= {"send", "receive", "close"}
    assert all(r.model == "go" for r in chan_rows)
    assert any(r.kind == "spawn" and r.peer == "go-1" for r in rows)
    sends = [r for r in chan_rows if r.kind == "send"]
    assert sends[0].actor == "go-1"


def test_fast_paths_do_not_yield() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        ch: go.Chan[int] = go.Chan(2)

        async def other() -> None:
            log.append("other ran")

        go.go(other)
        await ch.send(1)
        await ch.send(2)
        await ch.recv()
        await go.select(go.Recv(ch), go.Send(ch, 3))
        log.append("main done")  # nothing above yielded, so `other` has not run yet
        await go.sleep(0)
        return log

    assert sim(main) == ["main done", "other ran"]


def test_same_seed_same_trace() -> None:
    async def main() -> None:
        a: go.Chan[int] = go.Chan(1)
        b: go.Chan[int] = go.Chan(1)

        async def feed(ch: go.Chan[int]) -> None:
            for i in range(30):
                await ch.send(i)

        go.go(feed, a)
        go.go(feed, b)
        for _ in range(60):
            await go.select(go.Recv(a), go.Recv(b))

    one = labkit.simulate(main, seed=5).trace.rows
    two = labkit.simulate(main, seed=5).trace.rows
    assert one == two


def test_g8_buffered_channel_as_counting_semaphore() -> None:
    # The k-th receive happens before the (k+C)-th send completes: at most C holders.
    async def main() -> tuple[int, int]:
        sem: go.Chan[None] = go.Chan(3)
        active = peak = done = 0
        wg = go.WaitGroup()

        async def worker(i: int) -> None:
            nonlocal active, peak, done
            await sem.send(None)  # acquire
            active += 1
            peak = max(peak, active)
            await go.sleep(0.01 * (1 + i % 4))
            active -= 1
            done += 1
            await sem.recv()  # release
            wg.done()

        for i in range(12):
            wg.add(1)
            go.go(worker, i)
        await wg.wait()
        return peak, done

    assert sim(main) == (3, 12)


# -- statistics() (labkit's window, not Go's) ------------------------------------------------


def test_g4_chan_statistics_count_buffered_values_and_blocked_senders() -> None:
    async def main() -> list[ChanStatistics]:
        ch: go.Chan[int] = go.Chan(2, name="jobs")
        for i in range(4):  # two fill the buffer, two block (G2, G4)
            go.go(ch.send, i)
        await go.sleep(1)
        full = ch.statistics()
        assert await ch.recv() == (0, True)  # a blocked sender moves into the slot
        one_out = ch.recv_only().statistics()  # a direction view: the same channel
        assert [await ch.recv() for _ in range(3)] == [(1, True), (2, True), (3, True)]
        ch.close()
        return [full, one_out, ch.statistics()]

    full, one_out, closed = sim(main)
    assert full == ChanStatistics(
        name="jobs", capacity=2, depth=2, peak_depth=2, reserved=0, sent=2, received=0,
        senders_waiting=2, receivers_waiting=0, closed=False, nil=False)
    assert (one_out.depth, one_out.sent, one_out.received, one_out.senders_waiting) == (
        2, 3, 1, 1)
    assert (closed.depth, closed.peak_depth, closed.sent, closed.received, closed.closed) == (
        0, 2, 4, 4, True)


def test_g1_unbuffered_chan_statistics_count_waiting_receivers() -> None:
    async def main() -> tuple[ChanStatistics, ChanStatistics]:
        ch: go.Chan[str] = go.Chan()
        for _ in range(3):
            go.go(ch.recv)
        await go.sleep(1)
        waiting = ch.statistics()
        await ch.send("x")  # handed straight to the first receiver (G1)
        return waiting, ch.statistics()

    waiting, after = sim(main)
    assert (waiting.name, waiting.capacity, waiting.receivers_waiting) == ("chan-1", 0, 3)
    assert (after.receivers_waiting, after.sent, after.received, after.peak_depth) == (
        2, 1, 1, 0)


def test_g17_nil_statistics_count_the_goroutines_blocked_on_it_in_this_run() -> None:
    async def main() -> ChanStatistics:
        go.go(go.nil.send, 1)
        go.go(go.nil.recv)
        go.go(go.nil.recv)
        await go.sleep(1)
        return go.nil.statistics()

    assert sim(main) == ChanStatistics(
        name="nil", capacity=0, depth=0, peak_depth=0, reserved=0, sent=0, received=0,
        senders_waiting=1, receivers_waiting=2, closed=False, nil=True)
    # Each run has its own waiters; outside any run nobody waits on nil.
    assert go.nil.statistics().receivers_waiting == 0
    assert sim(_nil_receivers_now) == 0


async def _nil_receivers_now() -> int:
    return go.nil.statistics().receivers_waiting


def test_chan_statistics_record_is_frozen_and_shares_the_core_scheme() -> None:
    stats = go.Chan(1).statistics()
    assert isinstance(stats, ChannelStatistics)
    assert stats.name == "<unnamed chan>"
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.depth = 3  # type: ignore[misc]
    assert "ChanStatistics" in labkit.go.chan.__all__


@pytest.mark.parametrize(("bad", "error"), [(3, TypeError), (b"jobs", TypeError),
                                            ("", ValueError)])
def test_chan_name_must_be_a_non_empty_string(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^name must be a"):
        go.Chan(1, name=bad)


def test_g2_a_huge_capacity_is_just_a_capacity() -> None:
    async def main() -> tuple[int, int]:
        ch: go.Chan[int] = go.Chan(10**30)
        for i in range(1000):
            await ch.send(i)
        return ch.cap, len(ch)

    assert sim(main) == (10**30, 1000)


def test_g17_a_direction_view_of_nil_is_still_nil() -> None:
    """A view of the nil channel is nil too: never ready in a select, len and cap 0."""
    ro = go.nil.recv_only()
    assert ro.is_nil and not ro and ro == go.nil
    assert (len(ro), ro.cap) == (0, 0)

    async def main() -> int:
        sel = await go.select(go.Recv(ro), default=True)
        return sel.index

    assert sim(main) == -1
