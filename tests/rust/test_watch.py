"""rust.watch: rule R26 (and R30), cases 93-95."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import watch
from labkit.rust._ownership import MovedValueError, Owned
from labkit.rust._select import select
from labkit.rust._task import spawn
from labkit.rust._time import sleep
from labkit.rust.watch import RecvError, SendError


def sim(main: Any, *args: Any) -> Any:
    return labkit.simulate(main, *args).result


def test_r26_initial_value_counts_as_seen() -> None:
    async def main() -> Any:
        tx, rx = watch.channel("init")
        return rx.has_changed(), rx.borrow(), tx.borrow()

    assert sim(main) == (False, "init", "init")


def test_r26_changed_marks_seen_and_intermediate_values_are_skipped() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(0)
        for i in range(1, 4):
            tx.send(i)
        first = await rx.changed()
        value = rx.borrow()
        return first, value, rx.has_changed()

    assert sim(main) == (rust.Ok(None), 3, False)


def test_r26_borrow_does_not_mark_seen_but_borrow_and_update_does() -> None:
    async def main() -> Any:
        tx, rx = watch.channel("a")
        tx.send("b")
        peek = rx.borrow()
        still_changed = rx.has_changed()
        updated = rx.borrow_and_update()
        return peek, still_changed, updated, rx.has_changed()

    assert sim(main) == ("b", True, "b", False)


def test_r26_changed_waits_for_a_new_value() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(0)
        waiter = spawn(rx.changed)
        await sleep(2)
        blocked = not waiter.is_finished()
        tx.send(1)
        result = await waiter
        return blocked, result, labkit.now(), rx.borrow()

    assert sim(main) == (True, rust.Ok(rust.Ok(None)), 2.0, 1)


def test_r26_changed_errs_only_when_closed_and_seen() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(0)
        tx.send(1)
        tx.drop()
        first = await rx.changed()   # unseen value: Ok even though closed
        second = await rx.changed()  # closed and seen: Err
        return first, second

    assert sim(main) == (rust.Ok(None), rust.Err(RecvError()))


def test_case_93_closed_channel_with_unseen_value() -> None:
    async def main() -> Any:
        tx, rx = watch.channel("A")
        tx.send("B")
        tx.drop()
        changed = await rx.changed()
        try:
            rx.has_changed()
        except RecvError:
            return changed, "has_changed raised"
        return changed, "has_changed returned"

    assert sim(main) == (rust.Ok(None), "has_changed raised")


def test_r26_has_changed_raises_on_close_even_with_an_unseen_value() -> None:
    async def main() -> None:
        tx, rx = watch.channel("A")
        tx.send("B")
        tx.drop()
        rx.has_changed()

    with pytest.raises(RecvError):
        labkit.simulate(main)


def test_case_94_receiver_is_woken_only_after_the_last_sender_drop() -> None:
    async def main() -> Any:
        tx1, rx = watch.channel(0)
        tx2 = tx1.clone()
        waiter = spawn(rx.changed)
        await sleep(1)
        tx1.drop()
        await sleep(1)
        after_first = waiter.is_finished()
        tx2.drop()
        await sleep(1)
        return after_first, waiter.is_finished(), await waiter

    assert sim(main) == (False, True, rust.Ok(rust.Err(RecvError())))


def test_case_95_send_fails_without_receivers_and_subscribe_reopens() -> None:
    async def main() -> Any:
        tx, rx = watch.channel("one")
        rx.drop()
        failed = tx.send("two")
        closed_before = tx.is_closed()
        rx2 = tx.subscribe()
        return failed, closed_before, tx.is_closed(), rx2.borrow(), tx.send("three")

    failed, closed_before, closed_after, value, ok = sim(main)
    assert failed == rust.Err(SendError("two"))
    assert failed.unwrap_err().value == "two"
    assert (closed_before, closed_after) == (True, False)
    assert value == "one"  # the failed send stored nothing
    assert ok == rust.Ok(None)


def test_r26_send_replace_stores_even_without_receivers() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(1)
        rx.drop()
        old = tx.send_replace(2)
        return old, tx.borrow()

    assert sim(main) == (1, 2)


def test_r26_subscribe_marks_the_current_value_seen() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(1)
        tx.send(2)
        rx2 = tx.subscribe()
        return rx.has_changed(), rx2.has_changed(), rx2.borrow()

    assert sim(main) == (True, False, 2)


def test_receiver_clone_keeps_its_seen_version() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(1)
        tx.send(2)
        twin = rx.clone()
        rx.borrow_and_update()
        return rx.has_changed(), twin.has_changed(), tx.receiver_count()

    assert sim(main) == (False, True, 2)


def test_mark_changed_and_unchanged() -> None:
    async def main() -> Any:
        _tx, rx = watch.channel(1)
        rx.mark_changed()
        a = rx.has_changed()
        rx.mark_unchanged()
        return a, rx.has_changed()

    assert sim(main) == (True, False)


def test_send_modify_and_send_if_modified() -> None:
    async def main() -> Any:
        tx, rx = watch.channel([1])
        tx.send_modify(lambda v: v.append(2))
        a = (rx.has_changed(), list(rx.borrow_and_update()))
        changed = tx.send_if_modified(lambda v: False)
        return a, changed, rx.has_changed()

    assert sim(main) == ((True, [1, 2]), False, False)


def test_wait_for_checks_the_current_value_first_then_waits() -> None:
    async def setter(tx: Any) -> None:
        for i in range(1, 6):
            await sleep(1)
            tx.send(i)

    async def main() -> Any:
        tx, rx = watch.channel(0)
        now = await rx.wait_for(lambda v: v == 0)
        spawn(setter, tx)
        later = await rx.wait_for(lambda v: v >= 3)
        return now, later, labkit.now()

    assert sim(main) == (rust.Ok(0), rust.Ok(3), 3.0)


def test_sender_closed_waits_for_the_last_receiver() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(0)
        rx2 = rx.clone()
        waiter = spawn(tx.closed)
        rx.drop()
        await sleep(1)
        mid = waiter.is_finished()
        rx2.drop()
        await waiter
        return mid, tx.is_closed()

    assert sim(main) == (False, True)


def test_r30_changed_is_cancel_safe() -> None:
    async def setter(tx: Any) -> None:
        await sleep(1.5)
        tx.send("new")

    async def main() -> list[Any]:
        tx, rx = watch.channel("old")
        spawn(setter, tx)
        first = await select(rx.changed(), sleep(1))
        second = await select(rx.changed(), sleep(1))
        return [first, second, rx.borrow()]

    assert sim(main) == [(1, None), (0, rust.Ok(None)), "new"]


def test_r37_send_moves_an_owned_value_and_borrow_shares_it() -> None:
    async def main() -> Any:
        tx, rx = watch.channel(Owned("v0"))
        payload = Owned("v1")
        tx.send(payload)
        stored = rx.borrow()
        return payload.is_moved, stored.value, rx.borrow() is stored

    assert sim(main) == (True, "v1", True)


def test_dropped_handles_cannot_be_used() -> None:
    async def main() -> None:
        tx, _rx = watch.channel(0)
        tx.drop()
        tx.send(1)

    with pytest.raises(MovedValueError):
        labkit.simulate(main)


def test_trace_records_sends_with_model_rust() -> None:
    async def main() -> None:
        tx, _rx = watch.channel(0)
        tx.send(1)
        tx.drop()

    rows = [(r.kind, r.peer, r.model) for r in labkit.simulate(main).trace]
    assert rows == [("send", "watch-1", "rust"), ("close", "watch-1", "rust")]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r26_watch_in_real_time(backend: str) -> None:
    async def observer(rx: Any) -> list[int]:
        seen = []
        while (await rx.changed()).is_ok():
            seen.append(rx.borrow_and_update())
        return seen

    async def main() -> Any:
        tx, rx = watch.channel(0)
        handle = spawn(observer, rx)
        await sleep(0.001)
        tx.send(1)
        await sleep(0.001)
        tx.send(2)
        tx.send(3)  # 2 is overwritten before the observer runs
        await sleep(0.001)
        tx.drop()
        return (await handle).unwrap()

    assert labkit.run(main, backend=backend).result == [1, 3]
