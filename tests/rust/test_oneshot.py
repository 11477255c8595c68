"""tokio oneshot (R22, R40) and SEMANTICS.md part E cases 79, 80, 82, 83."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit import rust
from labkit._runtime import TaskRecord, current
from labkit.rust import Err, MovedValueError, Ok, Owned
from labkit.rust.oneshot import RecvError, TryRecvError


def spawn(fn: Callable[..., Awaitable[Any]], *args: Any) -> TaskRecord:
    return current().start_task(fn, args, prefix="task", model="rust")


def sim(main: Callable[[], Awaitable[Any]]) -> Any:
    return labkit.simulate(main).result


def test_case_79_send_resolves_pending_rx_and_consumes_tx() -> None:
    async def main() -> Any:
        tx, rx = rust.oneshot.channel()
        got: list[Any] = []

        async def waiter() -> None:
            got.append(await rx)

        spawn(waiter)
        await anyio.sleep(1)
        assert got == []
        assert tx.send(1) == Ok(None)
        with pytest.raises(MovedValueError):
            tx.send(2)
        await anyio.sleep(0)
        return got

    assert sim(main) == [Ok(1)]


def test_case_80_drop_tx_gives_recv_error() -> None:
    async def main() -> Any:
        tx, rx = rust.oneshot.channel()
        got: list[Any] = []

        async def waiter() -> None:
            got.append(await rx)

        spawn(waiter)
        await anyio.sleep(1)
        tx.drop()
        await anyio.sleep(0)
        return got

    res = sim(main)
    assert res == [Err(RecvError())]
    match res[0]:
        case Err(RecvError()):
            pass
        case _:
            pytest.fail(repr(res))


def test_case_82_value_sent_before_close_survives() -> None:
    async def main() -> Any:
        tx, rx = rust.oneshot.channel()
        tx.send(1)
        rx.close()
        return await rx

    assert sim(main) == Ok(1)


def test_case_83_try_recv_after_completion_is_closed() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.oneshot.channel()
        tx.send(17)
        return [rx.try_recv(), rx.try_recv()]

    assert sim(main) == [Ok(17), Err(TryRecvError.Closed)]


def test_r22_send_after_rx_close_returns_value() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        assert not tx.is_closed()
        rx.close()
        assert tx.is_closed()
        payload = ["reply"]
        res = tx.send(payload)
        assert res.is_err()
        assert res.unwrap_err() is payload
        assert await rx == Err(RecvError())

    sim(main)


def test_r22_send_after_rx_drop_returns_value() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        rx.drop()
        assert tx.send("v") == Err("v")
        with pytest.raises(MovedValueError):
            rx.try_recv()

    sim(main)


def test_r22_try_recv_empty_then_value() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        assert rx.try_recv() == Err(TryRecvError.Empty)
        tx.send("x")
        match rx.try_recv():
            case Ok("x"):
                pass
            case other:
                pytest.fail(repr(other))
        tx2, rx2 = rust.oneshot.channel()
        tx2.drop()
        assert rx2.try_recv() == Err(TryRecvError.Closed)

    sim(main)


def test_r22_send_never_waits() -> None:
    async def main() -> None:
        tx, _rx = rust.oneshot.channel()
        assert tx.send(1) == Ok(None)  # no receiver waiting: still immediate
        assert labkit.now() == 0

    sim(main)


def test_r22_awaiting_twice_raises() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        tx.send(1)
        assert await rx == Ok(1)
        with pytest.raises(MovedValueError):
            await rx

    sim(main)


def test_r22_tx_closed_lets_producer_abandon_work() -> None:
    async def main() -> list[str]:
        tx, rx = rust.oneshot.channel()
        log: list[str] = []

        async def producer() -> None:
            with anyio.move_on_after(100):
                await tx.closed()
                log.append(f"consumer gone at {labkit.now():.0f}")
                return
            tx.send("late")

        spawn(producer)
        await anyio.sleep(5)
        rx.drop()
        await anyio.sleep(1)
        return log

    assert sim(main) == ["consumer gone at 5"]


def test_r22_rx_pending_forever_deadlocks() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        await rx
        tx.drop()

    with pytest.raises(labkit.Deadlock):
        labkit.simulate(main)


def test_r22_recv_cancel_safe() -> None:
    async def main() -> Any:
        tx, rx = rust.oneshot.channel()
        with anyio.move_on_after(1):
            await rx
        tx.send("kept")
        return await rx

    assert sim(main) == Ok("kept")


def test_r22_with_block_drops_sender_on_error() -> None:
    async def main() -> Any:
        tx, rx = rust.oneshot.channel()
        try:
            with tx:
                raise RuntimeError("worker failed before replying")
        except RuntimeError:
            pass
        return await rx

    assert sim(main) == Err(RecvError())


def test_r37_oneshot_moves_owned_and_returns_live_on_failure() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        box = Owned([1])
        tx.send(box)
        with pytest.raises(MovedValueError):
            _ = box.value
        got = (await rx).unwrap()
        assert got.value == [1]
        tx2, rx2 = rust.oneshot.channel()
        rx2.close()
        box2 = Owned("x")
        back = tx2.send(box2).unwrap_err()
        assert back.value == "x"
        assert box2.is_moved

    sim(main)


def test_r40_request_reply_through_mpsc() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(4)

        async def server() -> None:
            async for key, reply in rx:
                reply.send(key.upper())  # ignore Err if the caller left (R40)

        spawn(server)
        out = []
        for key in ("a", "b"):
            rtx, rrx = rust.oneshot.channel()
            await tx.send((key, rtx))
            out.append(await rrx)
        # a caller that gave up: the reply fails, the server carries on
        rtx, rrx = rust.oneshot.channel()
        rrx.drop()
        await tx.send(("c", rtx))
        rtx, rrx = rust.oneshot.channel()
        await tx.send(("d", rtx))
        out.append(await rrx)
        tx.drop()
        return out

    assert sim(main) == [Ok("A"), Ok("B"), Ok("D")]


def test_oneshot_trace_model() -> None:
    async def main() -> None:
        tx, rx = rust.oneshot.channel()
        tx.send(1)
        await rx

    run = labkit.simulate(main)
    kinds = [(r.kind, r.peer, r.model) for r in run.trace
             if r.kind in ("send", "receive")]
    assert kinds == [("send", "oneshot-1", "rust"), ("receive", "oneshot-1", "rust")]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_oneshot_real_time_both_backends(backend: str) -> None:
    async def main() -> Any:
        tx, rx = rust.oneshot.channel()

        async def replier() -> None:
            await anyio.sleep(0.001)
            tx.send("done")

        spawn(replier)
        return await rx

    assert labkit.run(main, backend=backend).result == Ok("done")
