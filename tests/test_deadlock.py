"""Deadlock detection in virtual time (G33): a timer at infinity is not progress, and a
run's ``until`` does not keep a deadlocked program alive."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit import go
from labkit._runtime import current
from labkit.actor import Actor, ActorSystem, Context
from labkit.channel import Channel


def deadlock_of(main: Callable[[], Awaitable[Any]], *, until: float | None = None
                ) -> labkit.Deadlock:
    """Run ``main`` and return the :class:`labkit.Deadlock` it must end in."""
    with pytest.raises(labkit.Deadlock) as info:
        labkit.simulate(main, until=until)
    return info.value


# -- G33: a timer at infinity never fires, so it is not progress --------------------------------


def test_g33_sleep_forever_alone_is_a_deadlock() -> None:
    async def main() -> None:
        await anyio.sleep_forever()

    error = deadlock_of(main)
    assert list(error.blocked) == ["main"]
    assert error.at == 0.0


def test_g33_sleep_inf_after_real_work_is_a_deadlock_at_that_time() -> None:
    async def main() -> None:
        await anyio.sleep(4)
        await anyio.sleep(math.inf)

    error = deadlock_of(main)
    assert error.at == 4.0
    assert error.run is not None
    assert error.run.elapsed == 4.0
    assert not error.run.completed


def test_g33_move_on_after_inf_around_a_blocked_receive_is_a_deadlock() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(0, name="quiet")
        with anyio.move_on_after(math.inf):
            await ch.recv()

    assert deadlock_of(main).blocked == {"main": "receive from quiet"}


def test_g33_ask_with_an_infinite_timeout_to_an_actor_that_never_answers() -> None:
    class Silent(Actor):
        async def receive(self, message: Any, ctx: Context) -> Any:
            await anyio.sleep_forever()

    async def main() -> Any:
        async with ActorSystem() as system:
            ref = system.spawn(Silent, name="silent")
            return await ref.ask("hello?", timeout=math.inf)

    error = deadlock_of(main)
    assert error.at == 0.0
    assert error.blocked["main"] == "a reply from actor silent"
    assert "silent" in error.blocked


def test_g33_go_context_with_an_infinite_timeout_never_expires() -> None:
    async def main() -> None:
        ctx, _cancel = go.with_timeout(go.background(), math.inf)
        done = ctx.done()
        assert done is not None
        await done.recv()

    error = deadlock_of(main)
    assert error.at == 0.0
    assert list(error.blocked) == ["main"]


def test_g33_finite_timers_of_other_tasks_are_progress_until_they_stop() -> None:
    async def ticker() -> None:
        for _ in range(5):
            await anyio.sleep(1)

    async def main() -> None:
        current().start_task(ticker, (), prefix="ticker", model=None)
        await anyio.sleep_forever()

    error = deadlock_of(main)
    assert error.at == 5.0
    assert list(error.blocked) == ["main"]


def test_a_far_but_finite_timer_still_fires() -> None:
    async def main() -> float:
        await anyio.sleep(1e300)
        return labkit.now()

    assert labkit.simulate(main).result >= 1e300


# -- until: a stop, not a timer ---------------------------------------------------------------


def test_g33_a_deadlock_at_zero_is_reported_at_zero_despite_until() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(0, name="never")
        await ch.recv()

    error = deadlock_of(main, until=10)
    assert error.at == 0.0
    assert error.blocked == {"main": "receive from never"}
    assert error.run is not None
    assert error.run.elapsed == 0.0
    assert not error.run.completed


def test_g33_a_deadlock_before_until_is_reported_when_it_happens() -> None:
    async def main() -> None:
        await anyio.sleep(3)
        await anyio.sleep_forever()

    error = deadlock_of(main, until=10)
    assert error.at == 3.0
    assert error.run is not None
    assert "until" not in list(error.run.trace.df["msg_type"])


def test_until_still_stops_a_program_waiting_on_a_timer_past_it() -> None:
    async def main() -> str:
        ch: Channel[int] = Channel(0)
        current().start_task(ch.recv, (), prefix="stuck", model=None)
        await anyio.sleep(20)  # a real timer: the program is not deadlocked
        return "woke"

    run = labkit.simulate(main, until=10)
    assert not run.completed
    assert run.elapsed == 10.0
    assert run.leaked == ("stuck-1",)
    stops = run.trace.df.query("kind == 'stop' and msg_type == 'until'")
    assert list(stops["time"]) == [10.0]


def test_until_stops_before_timers_due_at_that_instant() -> None:
    fired: list[float] = []

    async def main() -> None:
        await anyio.sleep(10)
        fired.append(labkit.now())

    run = labkit.simulate(main, until=10)
    assert not run.completed
    assert fired == []


def test_until_after_the_end_changes_nothing() -> None:
    async def main() -> str:
        await anyio.sleep(2)
        return "done"

    run = labkit.simulate(main, until=10)
    assert (run.completed, run.elapsed, run.result) == (True, 2.0, "done")
    assert labkit.simulate(main, until=math.inf).elapsed == 2.0


def test_until_zero_stops_at_the_first_timer() -> None:
    async def main() -> None:
        await anyio.sleep(1)

    run = labkit.simulate(main, until=0)
    assert not run.completed
    assert run.elapsed == 0.0


# -- structured errors, never parsed ---------------------------------------------------------


def test_a_deadlock_that_cannot_be_cancelled_still_reports_the_deadlock() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(0, name="shielded")
        with anyio.CancelScope(shield=True):
            await ch.recv()

    error = deadlock_of(main)
    assert error.blocked == {"main": "receive from shielded"}
    assert error.run is not None
    assert any("could not be cancelled" in note for note in error.__notes__)
