"""std::sync::mpsc (R1-R7) and SEMANTICS.md cases 57, 58, 59."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit import rust
from labkit._runtime import TaskRecord, current
from labkit.rust import Err, MovedValueError, Ok, Owned
from labkit.rust.mpsc import (
    RecvError,
    RecvTimeoutError,
    SendError,
    StdReceiver,
    StdSender,
    SyncSender,
    TryRecvError,
    TrySendError,
)


def spawn(fn: Callable[..., Awaitable[Any]], *args: Any) -> TaskRecord:
    return current().start_task(fn, args, prefix="task", model="rust")


def sim(main: Callable[[], Awaitable[Any]]) -> Any:
    return labkit.simulate(main).result


def test_r1_channel_is_unbounded_fifo_and_send_is_synchronous() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()
        assert isinstance(tx, StdSender)
        assert isinstance(rx, StdReceiver)
        for i in range(1000):
            assert tx.send(i) == Ok(None)
        assert labkit.now() == 0
        tx.drop()
        return [v async for v in rx]

    assert sim(main) == list(range(1000))


def test_r1_std_namespace_spelling() -> None:
    tx, _rx = rust.mpsc.std.channel()
    assert isinstance(tx, StdSender)
    stx, srx = rust.mpsc.std.sync_channel(0)
    assert isinstance(stx, SyncSender)
    assert isinstance(srx, StdReceiver)


def test_r1_receiver_is_not_clone() -> None:
    _tx, rx = rust.mpsc.std_channel()
    assert not hasattr(rx, "clone")


def test_case_57_rendezvous_send_completes_only_when_recv_runs() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.sync_channel(0)
        log: list[Any] = []

        async def sender() -> None:
            assert await tx.send(7) == Ok(None)
            log.append(("sent", labkit.now()))

        spawn(sender)
        await anyio.sleep(0.05)
        assert log == []  # still blocked: no receiver yet
        got = await rx.recv()
        log.append(("recv", got))
        await anyio.sleep(0)
        return log

    assert sim(main) == [("recv", Ok(7)), ("sent", pytest.approx(0.05))]


def test_case_58_rendezvous_try_send_without_receiver_is_full() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.sync_channel(0)
        res = tx.try_send("x")
        match res:
            case Err(TrySendError.Full("x")):
                pass
            case _:
                pytest.fail(repr(res))

    sim(main)


def test_r2_rendezvous_try_send_succeeds_with_waiting_receiver() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.sync_channel(0)
        got: list[Any] = []

        async def receiver() -> None:
            got.append(await rx.recv())

        spawn(receiver)
        await anyio.sleep(1)
        assert tx.try_send("y") == Ok(None)
        await anyio.sleep(0)
        return got

    assert sim(main) == [Ok("y")]


def test_r2_sync_channel_bounded_blocks_when_full() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.sync_channel(1)
        await tx.send(1)
        done: list[bool] = []

        async def sender() -> None:
            await tx.send(2)
            done.append(True)

        spawn(sender)
        await anyio.sleep(1)
        assert done == []
        assert await rx.recv() == Ok(1)
        await anyio.sleep(0)
        assert done == [True]
        assert tx.try_send(3) == Err(TrySendError.Full(3))

    sim(main)


def test_r2_sync_channel_capacity_validation() -> None:
    with pytest.raises(ValueError):
        rust.mpsc.sync_channel(-1)
    with pytest.raises(TypeError):
        rust.mpsc.sync_channel(1.0)  # type: ignore[arg-type]


def test_r2_rendezvous_send_alone_deadlocks() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.sync_channel(0)
        await tx.send(1)

    with pytest.raises(labkit.Deadlock):
        labkit.simulate(main)


def test_r3_disconnects_when_all_senders_dropped() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()
        tx2 = tx.clone()
        tx.drop()
        tx2.send("last")
        tx2.drop()
        return [await rx.recv(), await rx.recv()]

    assert sim(main) == [Ok("last"), Err(RecvError())]


def test_r3_no_explicit_close_on_std_receiver() -> None:
    _tx, rx = rust.mpsc.std_channel()
    assert not hasattr(rx, "close")


def test_r4_recv_drains_then_error_and_try_recv_kinds() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()
        tx2 = tx.clone()
        tx.send(1)
        tx2.send(2)
        tx.drop()
        out: list[Any] = [rx.try_recv(), rx.try_recv(), rx.try_recv()]
        tx2.drop()
        out += [rx.try_recv(), await rx.recv()]
        return out

    assert sim(main) == [Ok(1), Ok(2), Err(TryRecvError.Empty),
                         Err(TryRecvError.Disconnected), Err(RecvError())]


def test_case_59_send_after_receiver_dropped_returns_payload() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.std_channel()
        rx.drop()
        res = tx.send("payload")
        match res:
            case Err(SendError("payload")):
                pass
            case _:
                pytest.fail(repr(res))
        assert res.unwrap_err().into_inner() == "payload"

    sim(main)


def test_r5_sync_try_send_disconnected_returns_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.sync_channel(2)
        rx.drop()
        res = tx.try_send("v")
        match res:
            case Err(TrySendError.Disconnected(v)):
                assert v == "v"
            case _:
                pytest.fail(repr(res))
        assert await tx.send("w") == Err(SendError("w"))

    sim(main)


def test_r5_blocked_sync_send_fails_when_receiver_dropped() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.sync_channel(0)
        got: list[Any] = []

        async def sender() -> None:
            got.append(await tx.send(Owned("job")))

        spawn(sender)
        await anyio.sleep(1)
        rx.drop()
        await anyio.sleep(0)
        return got

    res = sim(main)
    assert len(res) == 1
    assert res[0].unwrap_err().value.value == "job"  # the live Owned came back (R37)


def test_r6_recv_timeout_timeout_and_disconnected() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()
        out: list[Any] = [await rx.recv_timeout(2), labkit.now()]

        async def late() -> None:
            await anyio.sleep(1)
            tx.send("v")
            tx.drop()

        spawn(late)
        out.append(await rx.recv_timeout(5))
        out.append(await rx.recv_timeout(5))
        return out

    assert sim(main) == [Err(RecvTimeoutError.Timeout), pytest.approx(2), Ok("v"),
                         Err(RecvTimeoutError.Disconnected)]


def test_r6_iteration_ends_when_senders_gone() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()

        async def producer(tx: StdSender[int]) -> None:
            with tx:
                for i in range(3):
                    tx.send(i)
                    await anyio.sleep(1)

        spawn(producer, tx)
        return [v async for v in rx]

    assert sim(main) == [0, 1, 2]


def test_r6_try_iter_takes_only_available() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()
        tx.send(1)
        tx.send(2)
        return list(rx.try_iter())

    assert sim(main) == [1, 2]


def test_r7_panicking_worker_drops_sender_while_unwinding() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.std_channel()

        async def worker(tx: StdSender[int]) -> None:
            try:
                with tx:
                    tx.send(1)
                    raise ValueError("worker panicked")
            except ValueError:
                pass  # the "thread" died; main keeps running

        spawn(worker, tx)
        return [await rx.recv(), await rx.recv()]

    assert sim(main) == [Ok(1), Err(RecvError())]


def test_std_dropped_sender_use_raises() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.sync_channel(1)
        tx.drop()
        with pytest.raises(MovedValueError, match="dropped"):
            await tx.send(1)

    sim(main)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_std_rendezvous_real_time_both_backends(backend: str) -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.sync_channel(0)

        async def producer() -> None:
            with tx:
                for i in range(5):
                    assert await tx.send(i) == Ok(None)

        spawn(producer)
        return [v async for v in rx]

    assert labkit.run(main, backend=backend).result == [0, 1, 2, 3, 4]
