"""rust.broadcast: rules R23-R25, R30, cases 84-91."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import broadcast
from labkit.rust._ownership import MovedValueError, Owned
from labkit.rust._select import select
from labkit.rust._task import spawn
from labkit.rust._time import sleep
from labkit.rust.broadcast import RecvError, SendError, TryRecvError


def sim(main: Any, *args: Any) -> Any:
    return labkit.simulate(main, *args).result


def test_case_84_send_reaches_every_receiver_then_both_are_empty() -> None:
    async def main() -> Any:
        tx, rx1 = broadcast.channel(16)
        rx2 = tx.subscribe()
        n = tx.send("hello")
        return (n, await rx1.recv(), await rx2.recv(), rx1.try_recv(), rx2.try_recv())

    assert sim(main) == (rust.Ok(2), rust.Ok("hello"), rust.Ok("hello"),
                         rust.Err(TryRecvError.Empty), rust.Err(TryRecvError.Empty))


def test_case_85_send_without_receivers_fails_and_new_receiver_sees_only_later() -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(16)
        rx.drop()
        first = tx.send("hello")
        rx2 = tx.subscribe()
        second = tx.send("world")
        return first, second, await rx2.recv(), rx2.try_recv()

    first, second, got, rest = sim(main)
    assert first == rust.Err(SendError("hello"))
    assert first.unwrap_err().value == "hello"
    assert second == rust.Ok(1)
    assert got == rust.Ok("world")
    assert rest == rust.Err(TryRecvError.Empty)


def test_case_87_lagged_count_matches_overwritten_messages() -> None:
    async def main() -> list[Any]:
        tx, rx = broadcast.channel(4)
        for i in range(1, 5):
            tx.send(i)
        out = [await rx.recv()]
        for i in range(5, 9):
            tx.send(i)
        for _ in range(5):
            out.append(await rx.recv())
        return out

    assert sim(main) == [rust.Ok(1), rust.Err(RecvError.Lagged(3)), rust.Ok(5), rust.Ok(6),
                         rust.Ok(7), rust.Ok(8)]


def test_r24_lagged_reports_exact_count_and_matches() -> None:
    async def main() -> list[str]:
        tx, rx = broadcast.channel(2)
        for i in range(10):
            tx.send(i)
        out = []
        for _ in range(3):
            match await rx.recv():
                case rust.Ok(v):
                    out.append(f"value {v}")
                case rust.Err(RecvError.Lagged(k)):
                    out.append(f"lagged {k}")
                case rust.Err(RecvError.Closed):
                    out.append("closed")
        return out

    assert sim(main) == ["lagged 8", "value 8", "value 9"]


def test_r24_try_recv_reports_lag_too() -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(1)
        tx.send("a")
        tx.send("b")
        return rx.try_recv(), rx.try_recv(), rx.try_recv()

    assert sim(main) == (rust.Err(TryRecvError.Lagged(1)), rust.Ok("b"),
                         rust.Err(TryRecvError.Empty))


def test_r24_lag_again_before_reading_retained_values() -> None:
    async def main() -> list[Any]:
        tx, rx = broadcast.channel(2)
        for i in range(4):
            tx.send(i)
        first = await rx.recv()  # Lagged(2); cursor at 2
        tx.send(4)
        tx.send(5)  # overwrote 2 and 3 before rx read them
        return [first, await rx.recv(), await rx.recv(), await rx.recv()]

    assert sim(main) == [rust.Err(RecvError.Lagged(2)), rust.Err(RecvError.Lagged(2)),
                         rust.Ok(4), rust.Ok(5)]


def test_case_89_lag_is_per_receiver() -> None:
    async def main() -> Any:
        tx, slow = broadcast.channel(2)
        fast = tx.subscribe()
        tx.send(1)
        tx.send(2)
        fast_got = [await fast.recv(), await fast.recv()]
        tx.send(3)
        tx.send(4)
        fast_got += [await fast.recv(), await fast.recv()]
        slow_got = [await slow.recv(), await slow.recv(), await slow.recv()]
        return fast_got, slow_got

    fast_got, slow_got = sim(main)
    assert fast_got == [rust.Ok(1), rust.Ok(2), rust.Ok(3), rust.Ok(4)]
    assert slow_got == [rust.Err(RecvError.Lagged(2)), rust.Ok(3), rust.Ok(4)]


def test_case_90_dropping_the_sender_does_not_overwrite() -> None:
    async def main() -> list[Any]:
        tx, rx = broadcast.channel(2)
        tx.send(1)
        tx.send(2)
        tx.drop()
        return [await rx.recv(), await rx.recv(), await rx.recv(), await rx.recv()]

    assert sim(main) == [rust.Ok(1), rust.Ok(2), rust.Err(RecvError.Closed),
                         rust.Err(RecvError.Closed)]


def test_case_91_zero_capacity_raises() -> None:
    with pytest.raises(ValueError, match=r"^broadcast channel capacity must be an int >= 1, "
                                         r"got int 0$"):
        broadcast.channel(0)
    with pytest.raises(TypeError):
        broadcast.channel(2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("asked", "held"), [(1, 1), (2, 2), (3, 4), (5, 8), (16, 16)])
def test_r23_capacity_is_rounded_up_to_a_power_of_two(asked: int, held: int) -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(asked)
        for i in range(held + 1):
            tx.send(i)
        return await rx.recv(), await rx.recv()

    assert sim(main) == (rust.Err(RecvError.Lagged(1)), rust.Ok(1))


def test_r23_send_never_waits_for_slow_receivers() -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(2)
        results = [tx.send(i) for i in range(1000)]
        return all(r == rust.Ok(1) for r in results), labkit.now(), len(rx)

    assert sim(main) == (True, 0.0, 1000)


def test_r23_each_receiver_gets_its_own_clone() -> None:
    async def main() -> Any:
        tx, rx1 = broadcast.channel(4)
        rx2 = tx.subscribe()
        original = {"items": [1, 2]}
        tx.send(original)
        a = (await rx1.recv()).unwrap()
        a["items"].append(3)
        b = (await rx2.recv()).unwrap()
        return b, original, a is b

    assert sim(main) == ({"items": [1, 2]}, {"items": [1, 2]}, False)


def test_r23_owned_moves_into_the_channel_and_each_receiver_gets_a_live_clone() -> None:
    async def main() -> Any:
        tx, rx1 = broadcast.channel(4)
        rx2 = tx.subscribe()
        payload = Owned([1, 2])
        tx.send(payload)
        a = (await rx1.recv()).unwrap()
        b = (await rx2.recv()).unwrap()
        a.value.append(3)
        return payload.is_moved, a.value, b.value, a is b

    assert sim(main) == (True, [1, 2, 3], [1, 2], False)


def test_r23_failed_send_hands_back_an_unmoved_owned() -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(4)
        rx.drop()
        payload = Owned("x")
        err = tx.send(payload).unwrap_err()
        return err.value is payload, payload.value

    assert sim(main) == (True, "x")


def test_r23_sending_a_moved_owned_raises() -> None:
    async def main() -> None:
        tx, _rx = broadcast.channel(4)
        payload = Owned("x")
        tx.send(payload)
        tx.send(payload)

    with pytest.raises(MovedValueError):
        labkit.simulate(main)


def test_r25_receivers_drain_then_see_closed_after_last_sender_drop() -> None:
    async def main() -> list[Any]:
        tx, rx = broadcast.channel(4)
        tx2 = tx.clone()
        tx.send("a")
        tx.drop()
        open_after_first_drop = not rx.is_closed()
        tx2.send("b")
        tx2.drop()
        return [open_after_first_drop, await rx.recv(), await rx.recv(), await rx.recv()]

    assert sim(main) == [True, rust.Ok("a"), rust.Ok("b"), rust.Err(RecvError.Closed)]


def test_r25_blocked_receiver_is_woken_by_the_last_sender_drop() -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(4)
        waiter = spawn(rx.recv)
        await sleep(1)
        blocked = not waiter.is_finished()
        tx.drop()
        return blocked, await waiter

    assert sim(main) == (True, rust.Ok(rust.Err(RecvError.Closed)))


def test_r25_resubscribe_points_to_the_tail() -> None:
    async def main() -> Any:
        tx, rx = broadcast.channel(4)
        tx.send(1)
        tx.send(2)
        rx2 = rx.resubscribe()
        tx.send(3)
        return await rx.recv(), await rx2.recv(), len(rx), len(rx2)

    assert sim(main) == (rust.Ok(1), rust.Ok(3), 2, 0)


def test_r25_dropping_a_receiver_marks_its_unread_values_read() -> None:
    async def main() -> Any:
        tx, rx1 = broadcast.channel(8)
        rx2 = tx.subscribe()
        tx.send(1)
        tx.send(2)
        await rx1.recv()
        await rx1.recv()
        before = tx.len()
        rx2.drop()
        return before, tx.len(), tx.receiver_count()

    assert sim(main) == (2, 0, 1)


def test_r25_sender_closed_resolves_when_no_receiver_is_left() -> None:
    async def main() -> Any:
        tx, rx1 = broadcast.channel(4)
        rx2 = tx.subscribe()
        waiter = spawn(tx.closed)

        async def drop_at(rx: Any, t: float) -> None:
            await sleep(t)
            rx.drop()

        spawn(drop_at, rx1, 1)
        spawn(drop_at, rx2, 3)
        await sleep(2)
        at_2 = waiter.is_finished()
        await waiter
        return at_2, labkit.now()

    assert sim(main) == (False, 3.0)


def test_recv_blocks_until_a_send_and_wakes_every_waiting_receiver() -> None:
    async def main() -> Any:
        tx, rx1 = broadcast.channel(4)
        rx2 = tx.subscribe()
        waiters = [spawn(rx1.recv), spawn(rx2.recv)]
        await sleep(5)
        blocked = [not w.is_finished() for w in waiters]
        tx.send("news")
        return blocked, [(await w).unwrap() for w in waiters]

    assert sim(main) == ([True, True], [rust.Ok("news"), rust.Ok("news")])


def test_recv_with_no_sender_activity_is_a_deadlock() -> None:
    async def main() -> None:
        _tx, rx = broadcast.channel(4)
        await rx.recv()

    with pytest.raises(labkit.Deadlock, match="bcast-1"):
        labkit.simulate(main)


def test_r30_recv_that_loses_a_select_loses_nothing() -> None:
    async def producer(tx: Any) -> None:
        await sleep(1.5)
        tx.send("late")

    async def main() -> list[Any]:
        tx, rx = broadcast.channel(4)
        spawn(producer, tx)
        out = []
        for _ in range(2):
            out.append(await select(rx.recv(), sleep(1)))
        return out

    assert sim(main) == [(1, None), (0, rust.Ok("late"))]


def test_ready_recv_does_not_yield() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def other() -> None:
            order.append("other")

        tx, rx = broadcast.channel(4)
        tx.send(1)
        spawn(other)
        await rx.recv()
        order.append("main received")
        await sleep(0)
        return order

    assert sim(main) == ["main received", "other"]


def test_async_for_yields_results_until_closed() -> None:
    async def main() -> list[Any]:
        tx, rx = broadcast.channel(2)
        for i in range(3):
            tx.send(i)
        tx.drop()
        return [r async for r in rx]

    assert sim(main) == [rust.Err(RecvError.Lagged(1)), rust.Ok(1), rust.Ok(2)]


def test_dropped_handles_cannot_be_used() -> None:
    async def main() -> None:
        _tx, rx = broadcast.channel(2)
        rx.drop()
        rx.drop()  # a second drop is a no-op
        rx.try_recv()

    with pytest.raises(MovedValueError):
        labkit.simulate(main)


def test_trace_records_sends_receives_lag_and_overwrites() -> None:
    async def main() -> None:
        tx, rx = broadcast.channel(1)
        tx.send("a")
        tx.send("b")  # overwrites "a" before rx read it
        await rx.recv()  # Lagged(1)
        await rx.recv()  # "b"

    rows = labkit.simulate(main).trace
    kinds = [(r.kind, r.peer, r.model, r.detail) for r in rows]
    assert kinds == [
        ("send", "bcast-1", "rust", None),
        ("drop", "bcast-1", "rust", "overwritten before 1 receiver(s) read it"),
        ("send", "bcast-1", "rust", None),
        ("lagged", "bcast-1", "rust", "Lagged(1)"),
        ("receive", "bcast-1", "rust", None),
    ]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r23_broadcast_in_real_time(backend: str) -> None:
    async def listener(rx: Any) -> list[Any]:
        return [(await rx.recv()).unwrap() for _ in range(3)]

    async def main() -> Any:
        tx, rx1 = broadcast.channel(8)
        handles = [spawn(listener, rx1), spawn(listener, tx.subscribe())]
        await sleep(0.001)
        for i in range(3):
            tx.send(i)
        return [(await h).unwrap() for h in handles]

    assert labkit.run(main, backend=backend).result == [[0, 1, 2], [0, 1, 2]]
