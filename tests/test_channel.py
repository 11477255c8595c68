"""The core queue primitive every facade shares (labkit.channel)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit._runtime import current
from labkit.channel import CLOSED, EMPTY, FULL, OK, Channel, check_capacity


def spawn(fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
    current().start_task(fn, args, prefix="t", model=None)


def test_fifo_order_through_a_small_buffer() -> None:
    async def main() -> list[int]:
        ch: Channel[int] = Channel(3)

        async def producer() -> None:
            for i in range(50):
                await ch.send(i)
            ch.close()

        spawn(producer)
        got: list[int] = []
        async for value in ch:  # until closed and drained
            got.append(value)
        return got

    assert labkit.simulate(main).result == list(range(50))


def test_rendezvous_send_completes_only_when_a_receiver_takes_it() -> None:
    log: list[str] = []

    async def main() -> None:
        ch: Channel[str] = Channel(0)

        async def sender() -> None:
            log.append(f"send-start@{labkit.now()}")
            await ch.send("x")
            log.append(f"send-done@{labkit.now()}")

        spawn(sender)
        await anyio.sleep(0.05)
        value, _ok = await ch.recv()
        log.append(f"recv={value}@{labkit.now()}")
        await anyio.sleep(0)

    labkit.simulate(main)
    assert log == ["send-start@0.0", "recv=x@0.05", "send-done@0.05"]


def test_blocked_senders_are_served_in_arrival_order() -> None:
    async def main() -> list[int]:
        ch: Channel[int] = Channel(1)
        await ch.send(-1)
        for i in range(5):
            spawn(ch.send, i)
            await anyio.sleep(0.01)
        return [(await ch.recv())[0] for _ in range(6)]

    assert labkit.simulate(main).result == [-1, 0, 1, 2, 3, 4]


def test_offer_and_poll_never_wait() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(1)
        assert ch.put(1, 1) == OK
        assert ch.put(2, 2) == FULL
        assert ch.take() == (OK, 1, 1)
        assert ch.take() == (EMPTY, None, 0)
        ch.close()
        assert ch.put(3, 3) == CLOSED
        assert ch.take() == (CLOSED, None, 0)

    labkit.simulate(main)


def test_unbounded_channel_never_fills() -> None:
    async def main() -> int:
        ch: Channel[int] = Channel(None)
        for i in range(10_000):
            assert ch.send_nowait(i) == OK
        return len(ch)

    assert labkit.simulate(main).result == 10_000


def test_reservations_take_slots_and_are_served_fairly() -> None:
    async def main() -> list[str]:
        ch: Channel[int] = Channel(2)
        events: list[str] = []
        assert ch.reserve_nowait(2) == OK
        assert ch.free() == 0

        async def big() -> None:
            await ch.reserve(2)
            events.append("big")

        async def small() -> None:
            await ch.reserve(1)
            events.append("small")

        spawn(big)
        await anyio.sleep(0.01)
        spawn(small)
        await anyio.sleep(0.01)
        ch.release(1)  # one slot: not enough for the head (big), and small must not overtake
        await anyio.sleep(0.01)
        events.append("after-one")
        ch.release(1)
        await anyio.sleep(0.01)
        return events

    assert labkit.simulate(main).result == ["after-one", "big"]


def test_closed_channel_waits_for_outstanding_reservations_before_reporting_closed() -> None:
    async def main() -> list[object]:
        ch: Channel[str] = Channel(4)
        assert ch.reserve_nowait() == OK
        ch.close()
        results: list[object] = []

        async def receiver() -> None:
            results.append(await ch.recv())
            results.append(await ch.recv())

        spawn(receiver)
        await anyio.sleep(1)
        assert results == []  # held back: a permit could still send
        ch.send_reserved("late")
        await anyio.sleep(1)
        return results

    assert labkit.simulate(main).result == [("late", True), (None, False)]


def test_a_value_handed_over_as_the_receiver_is_cancelled_is_not_lost() -> None:
    # anyio defers the cancel to the receiver's next checkpoint: it keeps the value.
    async def main() -> list[object]:
        ch: Channel[str] = Channel(0)
        scope_box: list[anyio.CancelScope] = []
        got: list[object] = []

        async def receiver() -> None:
            with anyio.CancelScope() as scope:
                scope_box.append(scope)
                got.append(await ch.recv())
                await anyio.sleep(1)
                got.append("not reached")

        spawn(receiver)
        await anyio.sleep(0.01)
        assert ch.put("precious", 99) == OK
        scope_box[0].cancel()
        await anyio.sleep(0.01)
        return got

    assert labkit.simulate(main).result == [("precious", True)]


def test_a_receiver_cancelled_after_the_handoff_gives_the_value_back() -> None:
    # A raw asyncio cancel lands even though the value was handed over: recv gives it back.
    async def main() -> list[object]:
        ch: Channel[str] = Channel(0)
        tasks: list[asyncio.Task[object]] = []

        async def receiver() -> None:
            tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            with anyio.CancelScope():
                try:
                    await ch.recv()
                except asyncio.CancelledError:
                    return
                raise AssertionError("the cancel should land before the value is used")

        spawn(receiver)
        await anyio.sleep(0.01)
        assert ch.put("precious", 99) == OK
        tasks[0].cancel()
        await anyio.sleep(0.01)
        return [ch.take()]

    assert labkit.simulate(main).result == [(OK, "precious", 99)]


def test_waiters_of_one_parker_are_withdrawn_from_every_channel() -> None:
    async def main() -> tuple[int, int, object]:
        a: Channel[int] = Channel(0)
        b: Channel[int] = Channel(0)
        rt = current()
        parker = rt.parker()
        a.add_recv_waiter(parker, 0)
        b.add_recv_waiter(parker, 1)

        async def sender() -> None:
            await b.send(5)

        spawn(sender)
        case, payload = await rt.park(parker, "select")
        a.remove_waiters(parker)
        b.remove_waiters(parker)
        return case, len(a.receivers) + len(b.receivers), payload[0]

    assert labkit.simulate(main).result == (1, 0, 5)


def test_statistics_report_depth_peak_and_waiters() -> None:
    async def main() -> object:
        ch: Channel[int] = Channel(2, name="q")
        await ch.send(1)
        await ch.send(2)
        spawn(ch.send, 3)
        await anyio.sleep(0.01)
        await ch.recv()
        await anyio.sleep(0.01)
        return ch.statistics()

    stats = labkit.simulate(main).result
    assert stats.name == "q"  # type: ignore[attr-defined]
    assert (stats.depth, stats.peak_depth, stats.sent, stats.received) == (2, 2, 3, 1)  # type: ignore[attr-defined]
    assert stats.senders_waiting == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", [-1, -100])
def test_negative_capacity_is_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match="capacity must be an int >= 0"):
        Channel(bad)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_non_integer_capacity_is_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match="capacity must be an int"):
        check_capacity(bad)


def test_cancelled_blocked_send_is_recorded_as_lost() -> None:
    async def main() -> None:
        ch: Channel[str] = Channel(0, name="c")
        with anyio.move_on_after(1):
            await ch.send("lost")

    df = labkit.simulate(main).trace.df
    assert list(df["kind"]) == ["send", "block", "drop"]
    assert df["detail"].iloc[-1] == "send cancelled while waiting"


def test_a_correlation_id_follows_its_message_to_the_receive_row() -> None:
    """``send(v, corr_id=c)``: the message's block, unblock and receive rows carry ``c``
    too (fast and slow paths, a Go select and a Rust receiver), so a filter on corr_id
    follows one message; messages sent without one stay uncorrelated."""
    from labkit import go, rust

    async def main() -> None:
        ch: Channel[str] = Channel(1, model="go", prefix="chan")
        await ch.send("a", corr_id=7)          # fast path
        await ch.recv()                        # fast path
        await ch.send("b", corr_id=8)
        got: list[object] = []

        async def late_sender() -> None:
            await ch.send("c", corr_id=9)      # blocks: the buffer holds "b"

        current().start_task(late_sender, (), prefix="sender", model="go")
        await anyio.sleep(0.1)
        got.append(await ch.recv())            # "b"; "c" moves in, unblocked
        got.append(await ch.recv())
        await anyio.sleep(0.1)                 # the sender wakes: its unblock row
        await ch.send("plain")
        await ch.recv()
        gch: go.Chan[str] = go.Chan(1)
        await gch.send("d", corr_id=10)
        sel = await go.select(go.Recv(gch))
        assert sel.value == "d"
        tx, rx = rust.mpsc.channel(1)
        await tx.send("e", corr_id=11)
        assert await rx.recv() == "e"

    run = labkit.simulate(main)
    df = run.trace.df
    for corr, kinds in [(7, {"send", "receive"}), (8, {"send", "receive"}),
                        (9, {"send", "block", "unblock", "receive"}),
                        (10, {"send", "receive"}), (11, {"send", "receive"})]:
        rows = df[df["corr_id"] == corr]
        assert set(rows["kind"]) == kinds, (corr, rows)
        assert rows["msg_id"].nunique() == 1
    plain = df[(df["msg_type"] == "str") & df["kind"].isin(["send", "receive"])
               & df["corr_id"].isna()]
    assert len(plain) == 2  # "plain": its send and its receive
    assert not current_corr_ids_leak(run)


def current_corr_ids_leak(run: labkit.Run[None]) -> bool:
    """Every correlated message was received: nothing left in the runtime's table."""
    df = run.trace.df
    sent = set(df.loc[(df["kind"] == "send") & df["corr_id"].notna(), "msg_id"])
    received = set(df.loc[(df["kind"] == "receive") & df["corr_id"].notna(), "msg_id"])
    return sent != received


def test_r11_a_send_admitted_just_as_it_is_cancelled_is_delivered_not_dropped() -> None:
    """A blocked sender whose value was moved into a freed slot, then cancelled before it
    ran again: the value is in the channel, and the trace shows no drop for it."""
    async def main() -> list[tuple[str, bool]]:
        ch: Channel[str] = Channel(1)
        await ch.send("first")
        tasks: list[asyncio.Task[object]] = []

        async def sender() -> None:
            tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            await ch.send("second")

        spawn(sender)
        await anyio.sleep(0.01)          # the sender is blocked: the buffer is full
        got = [await ch.recv()]          # frees the slot: "second" is admitted
        tasks[0].cancel()                # ... and the sender is cancelled before it runs
        await anyio.sleep(0.01)
        got.append(await ch.recv())
        return got

    run = labkit.simulate(main)
    assert run.result == [("first", True), ("second", True)]
    assert "drop" not in set(run.trace.df["kind"])
