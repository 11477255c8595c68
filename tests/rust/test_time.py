"""rust.interval / timeout / sleep: rule R36 (case 108: interval Burst in virtual time)."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import mpsc
from labkit.rust._task import spawn
from labkit.rust._time import Elapsed, Interval, interval, sleep, sleep_until, timeout


def sim(main: Any, *args: Any) -> Any:
    return labkit.simulate(main, *args).result


def ticks_after_a_stall(missed: str) -> list[tuple[float, float]]:
    """Tick once, stall 3.5 periods, then tick 4 times: (due, returned-at) pairs."""

    async def main() -> list[tuple[float, float]]:
        iv = interval(1.0, missed=missed)
        out = [(await iv.tick(), labkit.now())]
        await sleep(3.5)
        for _ in range(4):
            out.append((await iv.tick(), labkit.now()))
        return out

    result: list[tuple[float, float]] = sim(main)
    return result


def test_r36_first_tick_is_immediate_then_every_period() -> None:
    async def main() -> list[float]:
        await sleep(0.25)
        iv = interval(2.0)
        return [await iv.tick() for _ in range(4)] + [labkit.now()]

    assert sim(main) == [0.25, 2.25, 4.25, 6.25, 6.25]


def test_case_108_interval_burst_fires_missed_ticks_back_to_back() -> None:
    assert ticks_after_a_stall("burst") == [
        (0.0, 0.0), (1.0, 3.5), (2.0, 3.5), (3.0, 3.5), (4.0, 4.0)]


def test_r36_skip_jumps_to_the_next_multiple_of_the_period() -> None:
    assert ticks_after_a_stall("skip") == [
        (0.0, 0.0), (1.0, 3.5), (4.0, 4.0), (5.0, 5.0), (6.0, 6.0)]


def test_r36_delay_restarts_the_period_from_the_late_tick() -> None:
    assert ticks_after_a_stall("delay") == [
        (0.0, 0.0), (1.0, 3.5), (4.5, 4.5), (5.5, 5.5), (6.5, 6.5)]


def test_r36_burst_differs_from_go_ticker_dropping_ticks() -> None:
    """G46 vs R36: after a long stall Burst delivers every missed tick; Skip drops them."""

    async def count(missed: str) -> int:
        iv = interval(1.0, missed=missed)
        await iv.tick()
        await sleep(10.5)
        n = 0
        while labkit.now() < 15:
            await iv.tick()
            n += 1
        return n

    burst = labkit.simulate(count, "burst").result
    skip = labkit.simulate(count, "skip").result
    assert burst == 15  # ticks due 1 .. 15: ten back to back at 10.5, then on time
    assert skip == 6    # due 1 (returned late, at 10.5), then 11, 12, 13, 14, 15


def test_r36_a_tick_already_due_does_not_yield() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def other() -> None:
            order.append("other")

        iv = interval(1.0)
        spawn(other)
        await iv.tick()  # due now
        order.append("ticked")
        await sleep(0)
        return order

    assert sim(main) == ["ticked", "other"]


def test_r36_ticks_at_most_5ms_late_count_as_on_time() -> None:
    async def main() -> list[float]:
        iv = interval(1.0, missed="delay")
        await iv.tick()
        await sleep(1.004)
        first = await iv.tick()
        return [first, await iv.tick()]

    assert sim(main) == [1.0, 2.0]


def test_interval_reset() -> None:
    async def main() -> list[float]:
        iv = interval(1.0)
        await iv.tick()
        await sleep(0.5)
        iv.reset()
        a = await iv.tick()
        iv.reset_immediately()
        return [a, await iv.tick(), iv.deadline(), iv.period]

    assert sim(main) == [1.5, 1.5, 2.5, 1.0]


def test_interval_rejects_bad_arguments() -> None:
    async def main(period: Any, missed: str) -> None:
        interval(period, missed=missed)

    with pytest.raises(ValueError):
        labkit.simulate(main, 0, "burst")
    with pytest.raises(ValueError):
        labkit.simulate(main, 1, "drop")
    with pytest.raises(TypeError):
        labkit.simulate(main, "1", "burst")


def test_interval_behaviour_can_be_changed() -> None:
    async def main() -> str:
        iv = Interval(1.0)
        iv.set_missed_tick_behavior("skip")
        return iv.missed_tick_behavior

    assert sim(main) == "skip"


def test_r36_timeout_ok_when_in_time() -> None:
    async def work() -> str:
        await sleep(1)
        return "done"

    async def main() -> Any:
        return await timeout(2, work()), labkit.now()

    assert sim(main) == (rust.Ok("done"), 1.0)


def test_r36_timeout_elapsed_drops_the_awaitable() -> None:
    progress: list[str] = []

    async def work() -> str:
        await sleep(5)
        progress.append("work finished")
        return "done"

    async def main() -> Any:
        result = await timeout(2, work())
        when = labkit.now()
        await sleep(10)
        match result:
            case rust.Err(Elapsed()):
                return "elapsed", when
        return result, when

    assert sim(main) == ("elapsed", 2.0)
    assert progress == []


def test_r36_a_ready_awaitable_wins_even_at_zero_seconds() -> None:
    async def main() -> Any:
        tx, rx = mpsc.channel(1)
        await tx.send("ready")
        return await timeout(0, rx.recv()), await timeout(0, rx.recv())

    assert sim(main) == (rust.Ok("ready"), rust.Err(Elapsed()))


def test_r36_timeout_around_recv_loses_no_message() -> None:
    async def producer(tx: Any) -> None:
        await sleep(1.5)
        await tx.send("m")

    async def main() -> list[Any]:
        tx, rx = mpsc.channel(2)
        spawn(producer, tx)
        return [await timeout(1, rx.recv()), await timeout(1, rx.recv())]

    assert sim(main) == [rust.Err(Elapsed()), rust.Ok("m")]


def test_sleep_and_sleep_until_use_the_run_clock() -> None:
    async def main() -> list[float]:
        await sleep(1.5)
        a = labkit.now()
        await sleep_until(4.0)
        b = labkit.now()
        await sleep_until(1.0)  # in the past: returns at once
        await sleep_until(-1)
        await sleep(0)
        return [a, b, labkit.now()]

    assert sim(main) == [1.5, 4.0, 4.0]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r36_timeout_and_interval_in_real_time(backend: str) -> None:
    async def main() -> Any:
        iv = interval(0.001)
        for _ in range(3):
            await iv.tick()
        _tx, rx = mpsc.channel(1)
        return await timeout(0.001, rx.recv())

    assert labkit.run(main, backend=backend).result == rust.Err(Elapsed())
