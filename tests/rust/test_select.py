"""rust.select: rules R27-R30, R11, cases 97, 98 and 100."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import broadcast, mpsc
from labkit.rust._select import AllBranchesDisabled, Branch, select
from labkit.rust._sync import CancellationToken
from labkit.rust._task import spawn
from labkit.rust._time import sleep


async def ready(value: Any) -> Any:
    return value


async def after(delay: float, value: Any) -> Any:
    await sleep(delay)
    return value


def test_r27_first_to_complete_wins_and_the_others_are_cancelled() -> None:
    progress: list[str] = []

    async def slow() -> str:
        await sleep(5)
        progress.append("slow finished")  # the losing branch must never get here
        return "slow"

    async def main() -> Any:
        result = await select(slow(), after(1, "fast"))
        await sleep(10)
        return result, labkit.now()

    assert labkit.simulate(main).result == ((1, "fast"), 11.0)
    assert progress == []


def test_r27_index_refers_to_declaration_position() -> None:
    async def main() -> Any:
        return await select(after(3, "a"), after(1, "b"), after(2, "c"))

    assert labkit.simulate(main).result == (1, "b")


def test_r11_a_losing_send_loses_its_value() -> None:
    async def main() -> Any:
        tx, rx = mpsc.channel(1)
        await tx.send("first")  # the channel is now full
        idx, _ = await select(tx.send("lost"), sleep(1))
        got = [await rx.recv()]
        tx.drop()
        got.append(await rx.recv())
        return idx, got

    run = labkit.simulate(main)
    assert run.result == (1, ["first", None])
    drops = [r for r in run.trace if r.kind == "drop"]
    assert len(drops) == 1 and "cancelled" in (drops[0].detail or "")


def test_r11_reserve_then_send_loses_nothing() -> None:
    async def main() -> Any:
        tx, rx = mpsc.channel(1)
        await tx.send("first")
        idx, _ = await select(tx.reserve(), sleep(1))  # lost reserve: nothing to lose
        assert idx == 1
        spawn(rx.recv)
        permit = (await tx.reserve()).unwrap()
        permit.send("kept")
        return await rx.recv()

    assert labkit.simulate(main).result == "kept"


def test_case_100_recv_losing_to_a_timeout_is_received_next_iteration() -> None:
    async def producer(tx: Any) -> None:
        await sleep(1.5)
        await tx.send("late")

    async def main() -> list[Any]:
        tx, rx = mpsc.channel(4)
        spawn(producer, tx)
        events: list[Any] = []
        for _ in range(3):
            idx, value = await select(rx.recv(), sleep(1), biased=True)
            events.append(("msg", value) if idx == 0 else ("timeout", labkit.now()))
        return events

    assert labkit.simulate(main).result == [
        ("timeout", 1.0), ("msg", "late"), ("timeout", 2.5)]


@pytest.mark.parametrize("seed", range(6))
def test_r30_a_recv_woken_in_the_same_instant_as_the_winner_gives_its_value_back(
        seed: int) -> None:
    async def producer(tx1: Any, tx2: Any) -> None:
        await sleep(1)
        tx1.send("one")  # both selecting receivers are woken in the same step
        tx2.send("two")

    async def main() -> Any:
        tx1, rx1 = mpsc.unbounded_channel()
        tx2, rx2 = mpsc.unbounded_channel()
        spawn(producer, tx1, tx2)
        idx, value = await select(rx1.recv(), rx2.recv())
        loser = rx2 if idx == 0 else rx1
        return value, loser.try_recv()

    value, rest = labkit.simulate(main, seed=seed).result
    assert value in ("one", "two")
    assert rest == rust.Ok("two" if value == "one" else "one")


@pytest.mark.parametrize("seed", range(4))
def test_r30_broadcast_recv_in_a_losing_branch_keeps_its_cursor(seed: int) -> None:
    async def producer(tx1: Any, tx2: Any) -> None:
        await sleep(1)
        tx1.send("one")
        tx2.send("two")

    async def main() -> Any:
        tx1, rx1 = broadcast.channel(4)
        tx2, rx2 = broadcast.channel(4)
        spawn(producer, tx1, tx2)
        idx, value = await select(rx1.recv(), rx2.recv())
        loser = rx2 if idx == 0 else rx1
        return value, loser.try_recv()

    value, rest = labkit.simulate(main, seed=seed).result
    expected = {"one": "two", "two": "one"}
    assert rest == rust.Ok(expected[value.unwrap()])


def _share_of_first(seed: int, biased: bool, rounds: int = 400) -> int:
    async def main() -> int:
        wins = 0
        for _ in range(rounds):
            idx, _ = await select(ready("a"), ready("b"), biased=biased)
            wins += idx == 0
        return wins

    return labkit.simulate(main, seed=seed).result


@pytest.mark.parametrize("seed", range(5))
def test_case_97_random_start_is_fair_over_seeds(seed: int) -> None:
    wins = _share_of_first(seed, biased=False)
    # Binomial(400, 1/2): sd 10, so 140..260 is a +-6 sd band.
    assert 140 <= wins <= 260


def test_case_97_biased_starves_the_second_branch() -> None:
    assert _share_of_first(0, biased=True) == 400


def test_case_97_two_always_ready_channels_biased_vs_random() -> None:
    async def main(biased: bool) -> list[int]:
        tx_a, rx_a = mpsc.unbounded_channel()
        tx_b, rx_b = mpsc.unbounded_channel()
        for i in range(200):
            tx_a.send(i)
            tx_b.send(i)
        counts = [0, 0]
        for _ in range(100):
            idx, _ = await select(rx_a.recv(), rx_b.recv(), biased=biased)
            counts[idx] += 1
        # the losing recv gave its value back every time: 200 + 200 - 100 remain
        remaining = len(rx_a) + len(rx_b)
        return [*counts, remaining]

    assert labkit.simulate(main, True).result == [100, 0, 300]
    a, b, remaining = labkit.simulate(main, False, seed=3).result
    assert 25 <= a <= 75 and a + b == 100 and remaining == 300


def test_r28_same_seed_same_choices() -> None:
    async def main() -> list[int]:
        return [(await select(ready(0), ready(1), ready(2)))[0] for _ in range(30)]

    first = labkit.simulate(main, seed=11).result
    assert first == labkit.simulate(main, seed=11).result
    assert first != labkit.simulate(main, seed=12).result
    assert set(first) == {0, 1, 2}


def test_r29_false_precondition_disables_the_branch() -> None:
    async def main() -> Any:
        gated = ready("gated")
        result = await select(Branch(gated, when=False), after(1, "other"))
        return result, inspect.getcoroutinestate(gated)

    assert labkit.simulate(main).result == ((1, "other"), inspect.CORO_CLOSED)


def test_r29_pattern_mismatch_disables_the_branch_and_the_select_goes_on() -> None:
    async def main() -> Any:
        tx, rx = mpsc.channel(1)
        tx.drop()  # rx.recv() gives None at once: `Some(v) = rx.recv()` does not match
        return await select(Branch(rx.recv(), matches=lambda v: v is not None),
                            after(2, "timer")), labkit.now()

    assert labkit.simulate(main).result == ((1, "timer"), 2.0)


def test_r29_pattern_as_a_class() -> None:
    async def main() -> Any:
        return await select(Branch(ready(rust.Err("x")), matches=rust.Ok),
                            Branch(after(1, rust.Ok(5)), matches=rust.Ok))

    assert labkit.simulate(main).result == (1, rust.Ok(5))


def test_case_98_all_branches_disabled_without_else_raises() -> None:
    async def main() -> None:
        tx, rx = mpsc.channel(1)
        tx.drop()
        await select(Branch(rx.recv(), matches=lambda v: v is not None),
                     Branch(ready(1), when=False))

    with pytest.raises(AllBranchesDisabled):
        labkit.simulate(main)


def test_case_98_all_branches_disabled_with_else_runs_else() -> None:
    async def main() -> Any:
        tx, rx = mpsc.channel(1)
        tx.drop()
        by_pattern = await select(Branch(rx.recv(), matches=lambda v: v is not None),
                                  else_="else ran")
        by_precondition = await select(Branch(ready(1), when=False), else_=None)
        return by_pattern, by_precondition

    assert labkit.simulate(main).result == ((-1, "else ran"), (-1, None))


def test_r29_else_is_not_taken_when_a_branch_is_enabled() -> None:
    async def main() -> Any:
        return await select(after(1, "x"), else_="else")

    assert labkit.simulate(main).result == (0, "x")


def test_select_with_no_branches_raises() -> None:
    async def main() -> None:
        await select()

    with pytest.raises(AllBranchesDisabled):
        labkit.simulate(main)


def test_an_exception_in_a_branch_propagates_and_cancels_the_others() -> None:
    progress: list[str] = []

    async def boom() -> None:
        await sleep(1)
        raise KeyError("branch failed")

    async def slow() -> None:
        await sleep(2)
        progress.append("slow")

    async def main() -> None:
        try:
            await select(boom(), slow())
        finally:
            await sleep(5)

    with pytest.raises(KeyError):
        labkit.simulate(main)
    assert progress == []


def test_select_over_a_join_handle_and_a_cancellation_token() -> None:
    async def work() -> int:
        await sleep(5)
        return 1

    async def main() -> Any:
        token = CancellationToken()
        handle = spawn(work)

        async def cancel_later() -> None:
            await sleep(2)
            token.cancel()

        spawn(cancel_later)
        idx, _ = await select(token.cancelled(), handle, biased=True)
        handle.abort()
        return idx, labkit.now(), (await handle).unwrap_err().is_cancelled()

    assert labkit.simulate(main).result == (0, 2.0, True)


def test_a_losing_branch_that_was_never_tried_is_closed_unawaited() -> None:
    async def main() -> Any:
        second = ready("b")
        result = await select(ready("a"), second, biased=True)
        return result, inspect.getcoroutinestate(second)

    assert labkit.simulate(main).result == ((0, "a"), inspect.CORO_CLOSED)


def test_select_outside_a_run_raises() -> None:
    import anyio

    async def main() -> None:
        await select(ready(1))

    with pytest.raises(labkit.NotInRunError):
        anyio.run(main)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r27_select_in_real_time(backend: str) -> None:
    async def main() -> Any:
        tx, rx = mpsc.channel(1)
        first = await select(rx.recv(), sleep(0.001))
        await tx.send("v")
        second = await select(rx.recv(), sleep(5))
        return first, second

    assert labkit.run(main, backend=backend).result == ((1, None), (0, "v"))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r30_woken_losing_recv_gives_back_in_real_time(backend: str) -> None:
    async def producer(tx1: Any, tx2: Any) -> None:
        await sleep(0.001)
        tx1.send("one")
        tx2.send("two")

    async def main() -> Any:
        tx1, rx1 = mpsc.unbounded_channel()
        tx2, rx2 = mpsc.unbounded_channel()
        spawn(producer, tx1, tx2)
        idx, value = await select(rx1.recv(), rx2.recv())
        loser = rx2 if idx == 0 else rx1
        return value, loser.try_recv()

    for _ in range(5):
        value, rest = labkit.run(main, backend=backend).result
        assert {value, rest.unwrap()} == {"one", "two"}


def test_r28_same_seed_same_trace_row_for_row() -> None:
    async def worker(rx: Any, out: Any) -> None:
        while True:
            idx, value = await select(rx.recv(), sleep(0.5))
            if idx == 0:
                match value:
                    case rust.Ok(v):
                        await out.send(v)
                    case rust.Err(broadcast.RecvError.Closed):
                        out.drop()
                        return

    async def main() -> None:
        tx, rx1 = broadcast.channel(2)
        out_tx, out_rx = mpsc.channel(4)
        spawn(worker, rx1, out_tx.clone())
        spawn(worker, tx.subscribe(), out_tx)
        for i in range(10):
            tx.send(i)
            await sleep(0.3)
        tx.drop()
        while await out_rx.recv() is not None:
            pass

    first = list(labkit.simulate(main, seed=5).trace)
    assert first == list(labkit.simulate(main, seed=5).trace)
    assert len(first) > 40
