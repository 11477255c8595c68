"""tokio mpsc (R8-R21, R37) and the SEMANTICS.md part D conformance cases."""

from __future__ import annotations

import gc
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit import rust
from labkit._runtime import TaskRecord, current
from labkit.rust import Err, MovedValueError, Ok, Owned
from labkit.rust.mpsc import (
    Permit,
    Receiver,
    Sender,
    SendError,
    SendTimeoutError,
    TryRecvError,
    TrySendError,
    WeakSender,
)


def spawn(fn: Callable[..., Awaitable[Any]], *args: Any) -> TaskRecord:
    return current().start_task(fn, args, prefix="task", model="rust")


def sim(main: Callable[[], Awaitable[Any]]) -> Any:
    return labkit.simulate(main).result


# -- R8: creation ------------------------------------------------------------------------


def test_case_62_channel_zero_capacity_raises() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        rust.mpsc.channel(0)


def test_r8_negative_and_non_int_capacity() -> None:
    with pytest.raises(ValueError):
        rust.mpsc.channel(-3)
    with pytest.raises(TypeError):
        rust.mpsc.channel(2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rust.mpsc.channel("8")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rust.mpsc.channel(True)


def test_r8_fifo_order() -> None:
    async def main() -> list[int]:
        tx, rx = rust.mpsc.channel(10)
        for i in range(10):
            assert await tx.send(i) == Ok(None)
        tx.drop()
        return [v async for v in rx]

    assert sim(main) == list(range(10))


def test_r8_types_and_public_names() -> None:
    tx, rx = rust.mpsc.channel(1)
    assert isinstance(tx, Sender)
    assert isinstance(rx, Receiver)
    for name in rust.mpsc.__all__:
        assert getattr(rust.mpsc, name) is not NotImplemented


# -- R9: send ----------------------------------------------------------------------------


def test_r9_send_waits_for_capacity() -> None:
    async def main() -> list[str]:
        tx, rx = rust.mpsc.channel(1)
        log: list[str] = []

        async def producer() -> None:
            await tx.send(1)
            log.append("sent 1")
            await tx.send(2)
            log.append("sent 2")

        spawn(producer)
        await anyio.sleep(1)
        assert log == ["sent 1"]  # the second send is still waiting
        assert await rx.recv() == 1
        await anyio.sleep(1)
        assert log == ["sent 1", "sent 2"]
        assert await rx.recv() == 2
        return log

    sim(main)


def test_r9_send_after_rx_dropped_returns_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(4)
        rx.drop()
        payload = ["payload"]
        res = await tx.send(payload)
        match res:
            case Err(SendError(v)):
                assert v is payload
            case _:
                pytest.fail(f"expected Err(SendError), got {res!r}")
        assert tx.is_closed()

    sim(main)


def test_r9_blocked_sender_gets_value_back_when_rx_closes() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await tx.send("a")
        results: list[Any] = []

        async def producer() -> None:
            results.append(await tx.send("b"))

        spawn(producer)
        await anyio.sleep(1)
        assert results == []
        rx.close()
        await anyio.sleep(0)
        assert results == [Err(SendError("b"))]
        assert await rx.recv() == "a"  # still drains (R16)
        assert await rx.recv() is None

    sim(main)


# -- R10: FIFO of waiting senders ---------------------------------------------------------


def test_r10_waiting_sends_and_reserves_complete_in_request_order() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(1)
        await tx.send("first")
        order: list[str] = []

        async def sender(i: int) -> None:
            await tx.send(f"s{i}")

        async def reserver() -> None:
            permit = (await tx.reserve()).unwrap()
            order.append("reserved")
            permit.send("r")

        for i in range(3):
            spawn(sender, i)
            await anyio.sleep(0.1)
            if i == 1:
                spawn(reserver)
                await anyio.sleep(0.1)
        got = [await rx.recv() for _ in range(5)]
        return got

    assert sim(main) == ["first", "s0", "s1", "r", "s2"]


# -- R11: send is not cancel-safe ---------------------------------------------------------


def test_r11_cancelled_send_loses_value_and_trace_says_so() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await tx.send("keep")
        with anyio.move_on_after(1):
            await tx.send("lost")
        assert await rx.recv() == "keep"
        assert rx.try_recv() == Err(TryRecvError.Empty)

    run = labkit.simulate(main)
    drops = [r for r in run.trace if r.kind == "drop"]
    assert len(drops) == 1
    assert drops[0].model == "rust"


def test_r11_reserve_then_send_is_cancel_safe() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(1)
        await tx.send("keep")
        with anyio.move_on_after(1):
            permit = (await tx.reserve()).unwrap()
            permit.send("never computed")
        # the value was never handed over, so nothing was lost; the slot is free again
        assert await rx.recv() == "keep"
        assert tx.capacity() == 1
        return []

    sim(main)


# -- R12: try_send -----------------------------------------------------------------------


def test_r12_try_send_full_returns_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        assert tx.try_send(1) == Ok(None)
        obj = object()
        res = tx.try_send(obj)
        match res:
            case Err(TrySendError.Full(v)):
                assert v is obj
            case _:
                pytest.fail(f"expected Full, got {res!r}")
        assert res.unwrap_err().is_full()
        assert len(rx) == 1

    sim(main)


def test_r12_try_send_closed_returns_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        rx.close()
        res = tx.try_send("x")
        match res:
            case Err(TrySendError.Closed("x")):
                pass
            case _:
                pytest.fail(f"expected Closed, got {res!r}")
        assert res == Err(TrySendError.Closed("x"))
        assert res != Err(TrySendError.Full("x"))

    sim(main)


def test_r12_try_send_never_waits() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        t0 = labkit.now()
        for _ in range(3):
            tx.try_send(0)
        assert labkit.now() == t0

    sim(main)


def test_r12_try_send_does_not_jump_waiting_senders() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await tx.send(0)

        async def waiter() -> None:
            await tx.send(1)

        spawn(waiter)
        await anyio.sleep(1)
        assert await rx.recv() == 0
        # the waiting sender took the free slot
        assert tx.try_send(2) == Err(TrySendError.Full(2))

    sim(main)


# -- R13: permits ------------------------------------------------------------------------


def test_case_63_reserve_then_try_send_then_drop() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(16)
        permit = (await tx.reserve()).unwrap()
        permit.send(1)
        assert tx.try_send(2) == Ok(None)
        tx.drop()
        return [await rx.recv() for _ in range(3)]

    assert sim(main) == [1, 2, None]


def test_case_65_drop_permit_releases_slot_to_waiting_reserve() -> None:
    async def main() -> None:
        tx1, rx = rust.mpsc.channel(1)
        tx2 = tx1.clone()
        permit = (await tx1.reserve()).unwrap()
        got: list[Any] = []

        async def other() -> None:
            got.append(await tx2.reserve())

        spawn(other)
        await anyio.sleep(1)
        assert got == []  # waiting for the slot
        permit.release()
        await anyio.sleep(0)
        assert len(got) == 1
        assert isinstance(got[0].unwrap(), Permit)
        got[0].unwrap().send("x")
        assert await rx.recv() == "x"

    sim(main)


def test_r13_permit_with_block_releases_unused_slot() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        with (await tx.reserve()).unwrap():
            assert tx.capacity() == 0
        assert tx.capacity() == 1
        with (await tx.reserve()).unwrap() as permit:
            permit.send(3)
        assert tx.capacity() == 0  # used, not released again

    sim(main)


def test_r13_permit_is_single_use() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(2)
        permit = (await tx.reserve()).unwrap()
        permit.send(1)
        with pytest.raises(MovedValueError):
            permit.send(2)
        with pytest.raises(MovedValueError):
            permit.release()

    sim(main)


def test_r13_try_reserve_full_and_closed() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        p = tx.try_reserve().unwrap()
        assert tx.try_reserve() == Err(TrySendError.Full(None))
        p.release()
        rx.close()
        assert tx.try_reserve() == Err(TrySendError.Closed(None))
        assert await tx.reserve() == Err(SendError(None))

    sim(main)


def test_case_66_capacity_falls_on_reserve_and_send() -> None:
    async def main() -> list[tuple[int, int]]:
        tx, _rx = rust.mpsc.channel(10)
        seen = [(tx.capacity(), tx.max_capacity())]
        permit = (await tx.reserve()).unwrap()
        seen.append((tx.capacity(), tx.max_capacity()))
        permit.send(())
        await tx.send(())
        seen.append((tx.capacity(), tx.max_capacity()))
        return seen

    assert sim(main) == [(10, 10), (9, 10), (8, 10)]


@pytest.mark.parametrize(("n", "k"), [(4, 0), (4, 2), (4, 4), (1, 1)])
def test_case_67_try_reserve_many_full(n: int, k: int) -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(n)
        permits = tx.try_reserve_many(n).unwrap()
        assert tx.capacity() == 0
        assert tx.try_reserve_many(1) == Err(TrySendError.Full(None))
        for _ in range(k):
            next(permits).send("v")
        permits.release()  # the rest go back
        assert tx.capacity() == n - k
        for _ in range(k):
            assert await rx.recv() == "v"
        assert tx.capacity() == n

    sim(main)


def test_r13_reserve_many_above_capacity_is_error() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        assert (await tx.reserve_many(2)).is_err()
        assert tx.try_reserve_many(2).is_err()
        it = (await tx.reserve_many(1)).unwrap()
        assert len(it) == 1
        assert [type(p) for p in it] == [Permit]

    sim(main)


def test_r13_reserve_many_waits_for_all_slots() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(3)
        await tx.send(1)
        await tx.send(2)
        got: list[Any] = []

        async def reserver() -> None:
            got.append(await tx.reserve_many(3))

        spawn(reserver)
        await anyio.sleep(1)
        await rx.recv()
        await anyio.sleep(1)
        assert got == []  # one free slot is not three
        await rx.recv()
        await anyio.sleep(0)
        assert len(got[0].unwrap()) == 3

    sim(main)


def test_r13_owned_permit_gives_sender_back() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        permit = (await tx.reserve_owned()).unwrap()
        with pytest.raises(MovedValueError):
            tx.try_send(1)  # tx was moved into the permit
        tx2 = permit.send("x")
        assert isinstance(tx2, Sender)
        assert await rx.recv() == "x"
        tx2.drop()
        assert await rx.recv() is None

    sim(main)


# -- R14: capacity ------------------------------------------------------------------------


def test_r14_capacity_rises_on_recv() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(2)
        await tx.send(1)
        await tx.send(2)
        assert tx.capacity() == 0
        await rx.recv()
        assert tx.capacity() == 1
        assert tx.max_capacity() == 2

    sim(main)


# -- R15: recv ---------------------------------------------------------------------------


def test_r15_recv_none_after_last_sender_dropped_and_drained() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(4)
        tx2 = tx.clone()
        await tx.send(1)
        tx.drop()
        assert not rx.is_closed()
        await tx2.send(2)
        tx2.drop()
        assert rx.is_closed()
        return [await rx.recv(), await rx.recv(), await rx.recv()]

    assert sim(main) == [1, 2, None]


def test_r15_recv_none_held_back_while_permit_outstanding() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(2)
        permit = (await tx.reserve()).unwrap()
        tx.drop()
        assert not rx.is_closed()  # R18: a permit keeps it open
        got: list[Any] = []

        async def receiver() -> None:
            got.append(await rx.recv())
            got.append(await rx.recv())

        spawn(receiver)
        await anyio.sleep(1)
        assert got == []
        permit.send("late")
        await anyio.sleep(0)
        assert got == ["late", None]

    sim(main)


def test_r15_try_recv_empty_and_disconnected() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(2)
        assert rx.try_recv() == Err(TryRecvError.Empty)
        tx.try_send(5)
        assert rx.try_recv() == Ok(5)
        tx.drop()
        res = rx.try_recv()
        match res:
            case Err(TryRecvError.Disconnected):
                pass
            case _:
                pytest.fail(repr(res))

    sim(main)


def test_r15_recv_blocks_with_live_sender_deadlock() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await rx.recv()  # tx alive, nothing sent: waits forever
        tx.drop()

    with pytest.raises(labkit.Deadlock):
        labkit.simulate(main)


def test_r15_recv_is_cancel_safe() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(4)
        got: list[Any] = []
        for i in range(3):
            with anyio.move_on_after(1):
                got.append(await rx.recv())
            await tx.send(i)
        while (v := rx.try_recv()).is_ok():
            got.append(v.unwrap())
        return got

    assert sim(main) == [0, 1, 2]


# -- R16: rx.close -------------------------------------------------------------------------


def test_r16_close_stops_sends_but_drains() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(4)
        await tx.send(1)
        await tx.send(2)
        rx.close()
        assert await tx.send(3) == Err(SendError(3))
        assert (await tx.reserve()).is_err()
        return [await rx.recv(), await rx.recv(), await rx.recv()]

    assert sim(main) == [1, 2, None]


def test_r16_outstanding_permit_can_still_send_after_close() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(2)
        permit = (await tx.reserve()).unwrap()
        rx.close()
        permit.send("ok")
        return [await rx.recv(), await rx.recv()]

    assert sim(main) == ["ok", None]


# -- R17: dropping the receiver --------------------------------------------------------------


def test_case_72_dropped_rx_releases_buffered_values() -> None:
    class Payload:
        pass

    async def main() -> None:
        obj = Payload()
        base = sys.getrefcount(obj)
        tx, rx = rust.mpsc.channel(100)
        assert await tx.send(obj) == Ok(None)
        assert sys.getrefcount(obj) == base + 1  # the channel holds it
        rx.drop()
        gc.collect()
        assert sys.getrefcount(obj) == base
        res = await tx.send(obj)
        assert res == Err(SendError(obj))
        del res
        gc.collect()
        assert sys.getrefcount(obj) == base

    run = labkit.simulate(main)
    drops = [r for r in run.trace if r.kind == "drop"]
    assert [(d.detail, d.msg_type, d.model) for d in drops] == [
        ("receiver dropped", "Payload", "rust")]


def test_r17_drop_rx_wakes_blocked_senders_with_their_values() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await tx.send(0)
        results: list[Any] = []

        async def producer() -> None:
            results.append(await tx.send(1))

        spawn(producer)
        await anyio.sleep(1)
        rx.drop()
        await anyio.sleep(0)
        assert results == [Err(SendError(1))]
        with pytest.raises(MovedValueError):
            await rx.recv()

    sim(main)


def test_r17_permit_send_after_rx_dropped_drops_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        permit = (await tx.reserve()).unwrap()
        rx.drop()
        permit.send("gone")  # cannot fail (R13), but nobody will ever get it

    run = labkit.simulate(main)
    assert [r.detail for r in run.trace if r.kind == "drop"] == ["receiver dropped"]


# -- R18: len, is_empty, is_closed ------------------------------------------------------------


def test_case_70_len_unchanged_by_close_and_sender_drop() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(100)
        await tx.send("m")
        rx.close()
        assert len(rx) == 1
        tx.drop()
        assert len(rx) == 1
        assert rx.is_closed()
        assert not rx.is_empty()

    sim(main)


def test_r18_is_closed_and_is_empty() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(2)
        assert rx.is_empty()
        assert not rx.is_closed()
        assert not tx.is_closed()
        rx.close()
        assert rx.is_closed()
        assert tx.is_closed()

    sim(main)


# -- R19: send_timeout, recv_many -----------------------------------------------------------


def test_r19_send_timeout_times_out_with_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        assert await tx.send_timeout(1, 5) == Ok(None)
        t0 = labkit.now()
        res = await tx.send_timeout(2, 5)
        assert labkit.now() - t0 == pytest.approx(5)
        match res:
            case Err(SendTimeoutError.Timeout(2)):
                pass
            case _:
                pytest.fail(repr(res))
        assert res.unwrap_err().is_timeout()
        assert tx.capacity() == 0  # the timed-out wait left nothing reserved
        assert await rx.recv() == 1
        assert tx.capacity() == 1

    sim(main)


def test_r19_send_timeout_succeeds_when_slot_frees() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await tx.send(1)

        async def consumer() -> None:
            await anyio.sleep(2)
            await rx.recv()

        spawn(consumer)
        assert await tx.send_timeout(2, 5) == Ok(None)
        assert labkit.now() == pytest.approx(2)

    sim(main)


def test_r19_send_timeout_closed() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        rx.close()
        assert await tx.send_timeout("v", 1) == Err(SendTimeoutError.Closed("v"))
        with pytest.raises(ValueError):
            await tx.send_timeout("v", -1)

    sim(main)


def test_case_74_recv_many() -> None:
    async def main() -> tuple[list[int], int]:
        tx, rx = rust.mpsc.channel(2)

        async def producer() -> None:
            for v in (1, 2, 7, 0):
                await tx.send(v)
            tx.drop()

        spawn(producer)
        buf: list[int] = []
        while len(buf) < 4:
            n = await rx.recv_many(buf, 3)
            assert 1 <= n <= 3
        await anyio.sleep(1)
        return buf, await rx.recv_many(buf, 3)

    assert sim(main) == ([1, 2, 7, 0], 0)


def test_r19_recv_many_limit_zero_and_limit_respected() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(8)
        for i in range(5):
            await tx.send(i)
        buf: list[int] = []
        assert await rx.recv_many(buf, 0) == 0
        assert await rx.recv_many(buf, 2) == 2
        assert await rx.recv_many(buf, 10) == 3
        assert buf == [0, 1, 2, 3, 4]

    sim(main)


# -- R20: WeakSender ----------------------------------------------------------------------------


def test_r20_weak_sender_does_not_keep_channel_open() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        weak = tx.downgrade()
        assert isinstance(weak, WeakSender)
        strong = weak.upgrade()
        assert isinstance(strong, Sender)
        strong.drop()
        tx.drop()
        assert weak.upgrade() is None
        assert await rx.recv() is None

    sim(main)


def test_r20_upgrade_while_permit_outstanding() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        weak = tx.downgrade()
        permit = (await tx.reserve_owned()).unwrap()
        up = weak.upgrade()
        assert up is not None
        up.drop()
        permit.release().drop()
        assert weak.upgrade() is None
        assert weak.strong_count() == 0
        assert weak.weak_count() == 1

    sim(main)


def test_r20_actor_with_weak_self_handle_shuts_down() -> None:
    async def main() -> list[str]:
        tx, rx = rust.mpsc.channel(4)
        log: list[str] = []

        async def actor(rx: Receiver[str], me: WeakSender[str]) -> None:
            async for msg in rx:
                log.append(msg)
                if msg == "ping" and (me_strong := me.upgrade()) is not None:
                    me_strong.try_send("self-pong")
                    me_strong.drop()
            log.append("stopped")

        spawn(actor, rx, tx.downgrade())
        await tx.send("ping")
        await anyio.sleep(1)
        tx.drop()
        await anyio.sleep(1)
        return log

    assert sim(main) == ["ping", "self-pong", "stopped"]


# -- R21: unbounded ------------------------------------------------------------------------------


def test_case_76_unbounded_send_is_synchronous() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.unbounded_channel()
        assert tx.send(1) == Ok(None)
        assert tx.send(2) == Ok(None)
        got = [await rx.recv(), await rx.recv()]
        tx.drop()
        got.append(await rx.recv())
        return got

    assert sim(main) == [1, 2, None]


def test_r21_unbounded_send_never_waits_and_fails_with_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.unbounded_channel()
        for i in range(10_000):
            tx.send(i)
        assert len(rx) == 10_000
        assert labkit.now() == 0
        rx.drop()
        assert tx.send("x") == Err(SendError("x"))
        assert tx.is_closed()
        weak = tx.downgrade()
        up = weak.upgrade()
        assert isinstance(up, rust.mpsc.UnboundedSender)

    sim(main)


# -- handles: clone, drop, with, closed() -----------------------------------------------------


def test_r3_with_block_drops_sender() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(2)
        with tx:
            await tx.send("a")
        with pytest.raises(MovedValueError, match="dropped"):
            await tx.send("b")
        tx.drop()  # idempotent
        return [await rx.recv(), await rx.recv()]

    assert sim(main) == ["a", None]


def test_r3_clone_counts_strong_senders() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        clones = [tx.clone() for _ in range(3)]
        assert tx.strong_count() == 4
        for c in clones:
            c.drop()
        assert not rx.is_closed()
        tx.drop()
        assert rx.is_closed()
        with pytest.raises(MovedValueError):
            tx.clone()

    sim(main)


def test_r22_sender_closed_waits_for_receiver_gone() -> None:
    async def main() -> float:
        tx, rx = rust.mpsc.channel(1)

        async def consumer() -> None:
            await anyio.sleep(3)
            rx.drop()

        spawn(consumer)
        await tx.closed()
        await tx.closed()  # returns at once now
        return labkit.now()

    assert sim(main) == pytest.approx(3)


def test_closed_blocks_forever_without_receiver_drop() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        await tx.closed()

    with pytest.raises(labkit.Deadlock):
        labkit.simulate(main)


# -- R37: ownership moves through the channel -----------------------------------------------


def test_r37_send_moves_owned_value() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        msg = Owned({"k": 1})
        await tx.send(msg)
        with pytest.raises(MovedValueError):
            _ = msg.value
        got = await rx.recv()
        assert isinstance(got, Owned)
        assert got.value == {"k": 1}
        assert got is not msg

    sim(main)


def test_r37_failed_send_hands_back_live_value() -> None:
    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        await tx.send(0)
        msg = Owned("job")
        res = tx.try_send(msg)
        match res:
            case Err(TrySendError.Full(back)):
                assert back.value == "job"
                assert msg.is_moved
            case _:
                pytest.fail(repr(res))
        # retry with the handed-back value works, the old handle does not
        with pytest.raises(MovedValueError):
            tx.try_send(msg)

    sim(main)


def test_r38_not_send_types_refused() -> None:
    from labkit.rust._ownership import NotSendError, not_send

    @not_send
    class Rc:
        pass

    async def main() -> None:
        tx, _rx = rust.mpsc.channel(1)
        with pytest.raises(NotSendError, match="E0277"):
            await tx.send(Rc())
        with pytest.raises(NotSendError):
            tx.try_send(Owned(Rc()))

    sim(main)


# -- trace ------------------------------------------------------------------------------------


def test_trace_rows_carry_rust_model() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1)
        await tx.send(1)
        await rx.recv()
        tx.drop()

    run = labkit.simulate(main)
    rows = [r for r in run.trace if r.kind in ("send", "receive", "close")]
    assert [r.kind for r in rows] == ["send", "receive", "close"]
    assert {r.model for r in rows} == {"rust"}
    assert {r.peer for r in rows} == {"mpsc-1"}


def test_same_seed_same_trace() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(2)

        async def producer(i: int, tx: Sender[tuple[int, int]]) -> None:
            with tx:
                for k in range(5):
                    await tx.send((i, k))
                    await anyio.sleep(labkit.rng().random())

        for i in range(3):
            spawn(producer, i, tx.clone())
        tx.drop()
        async for _ in rx:  # until every producer has finished and dropped its clone
            pass

    a = labkit.simulate(main, seed=4).trace.rows
    b = labkit.simulate(main, seed=4).trace.rows
    assert a == b


def test_outside_run_raises() -> None:
    tx, _rx = rust.mpsc.channel(1)
    with pytest.raises(labkit.NotInRunError):
        tx.try_send(1)


# -- real time, both backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_real_time_producer_consumer_both_backends(backend: str) -> None:
    async def main() -> list[int]:
        tx, rx = rust.mpsc.channel(2)

        async def producer() -> None:
            with tx:
                for i in range(20):
                    assert await tx.send(i) == Ok(None)
                permit = (await tx.reserve()).unwrap()
                permit.send(20)

        spawn(producer)
        got: list[int] = []
        buf: list[int] = []
        while await rx.recv_many(buf, 4):
            got.extend(buf)
            buf.clear()
        return got

    assert labkit.run(main, backend=backend).result == list(range(21))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_real_time_cancel_safe_recv_both_backends(backend: str) -> None:
    async def main() -> list[int]:
        tx, rx = rust.mpsc.unbounded_channel()
        got: list[int] = []

        async def producer() -> None:
            for i in range(5):
                tx.send(i)
                await anyio.sleep(0.002)
            tx.drop()

        spawn(producer)
        while True:
            v: int | None = None
            with anyio.move_on_after(0.001) as scope:
                v = await rx.recv()
            if scope.cancelled_caught:
                continue
            if v is None:
                return got
            got.append(v)

    assert labkit.run(main, backend=backend).result == [0, 1, 2, 3, 4]


# -- fast paths do not yield ------------------------------------------------------------------


def test_fast_paths_do_not_yield_to_the_event_loop() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(100)
        ran: list[bool] = []

        async def other() -> None:
            ran.append(True)

        spawn(other)
        for i in range(10):
            await tx.send(i)
        assert (await tx.send_timeout(10, 1)).is_ok()
        (await tx.reserve()).unwrap().send(11)
        (await tx.reserve_many(2)).unwrap().release()
        for _ in range(12):
            await rx.recv()
        buf: list[int] = []
        await tx.send(1)
        await rx.recv_many(buf, 5)
        otx, orx = rust.oneshot.channel()
        otx.send(1)
        await orx
        orx2_tx, orx2 = rust.oneshot.channel()
        orx2.close()
        await orx2_tx.closed()
        assert ran == []  # the other task never got a turn
        await anyio.sleep(0)
        assert ran == [True]

    sim(main)


def test_r10_cancelled_waiting_send_loses_its_place() -> None:
    async def main() -> list[Any]:
        tx, rx = rust.mpsc.channel(1)
        await tx.send("x")

        async def sender(v: str, patience: float) -> None:
            with anyio.move_on_after(patience):
                await tx.send(v)

        spawn(sender, "impatient", 1)
        await anyio.sleep(0.1)
        spawn(sender, "patient", 100)
        await anyio.sleep(2)
        return [await rx.recv(), await rx.recv(), rx.try_recv()]

    assert sim(main) == ["x", "patient", Err(TryRecvError.Empty)]


def test_r10_a_cancelled_reserve_many_lets_the_sends_behind_it_in() -> None:
    """A reservation waiting at the head of the line holds back later senders (FIFO); when
    it is cancelled (a timeout), a send behind it takes the free slot at once, as in tokio."""
    async def main() -> tuple[int, int, Any]:
        tx, rx = rust.mpsc.channel(2)
        held = tx.try_reserve_many(2).unwrap()
        sent: list[float] = []

        async def big() -> None:
            with anyio.move_on_after(1):
                await tx.reserve_many(2)

        async def small() -> None:
            (await tx.send("v")).unwrap()
            sent.append(labkit.now())

        rust.spawn(big)
        await anyio.sleep(0.1)
        rust.spawn(small)
        await anyio.sleep(0.1)
        next(iter(held)).release()  # one slot free; big (first in line) needs two
        await anyio.sleep(2)
        return tx.capacity(), len(rx), sent

    capacity, queued, sent = labkit.simulate(main).result
    assert sent == [pytest.approx(1.0)]  # when big gave up, not never
    assert (capacity, queued) == (0, 1)
