"""Every scheduling choice through one place (``Runtime.choose``): recorded in
``run.schedule``, replayed by ``simulate(schedule=...)``, apart from the workload's
``labkit.rng()`` draws. Go's select picks among ready cases (G21), tokio's unbiased select
picks a start (R28); with ``choices="all"`` the virtual loop also chooses which ready
callback runs next and the order of timers due at one instant."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit import go, rust
from labkit._runtime import current
from labkit.scenarios import mailboxes
from tests import _det_scenario


def rows(run: labkit.Run[Any], *, choices: bool = True) -> list[tuple[Any, ...]]:
    """The run's trace rows without their sequence numbers, optionally without choices."""
    return [(r.time, r.kind, r.actor, r.peer, r.msg_id, r.detail) for r in run.trace
            if choices or r.kind != "choice"]


async def go_merge() -> list[int]:
    """Two buffered channels, both ready for five rounds: five two-way choices."""
    a: go.Chan[int] = go.Chan(5)
    b: go.Chan[int] = go.Chan(5)
    for i in range(5):
        await a.send(i)
        await b.send(100 + i)
    got: list[int] = []
    for _ in range(10):
        s = await go.select(go.Recv(a), go.Recv(b))
        got.append(s.value)
    return got


async def go_fan_in() -> list[int]:
    """Two producers fill their buffers while the consumer is slow: both cases are often
    ready at once, and which one goes changes what the producers do next."""
    a: go.Chan[int] = go.Chan(3)
    b: go.Chan[int] = go.Chan(3)

    async def produce(ch: go.Chan[int], base: int) -> None:
        for i in range(12):
            await ch.send(base + i)
            await go.sleep(0.001 * (i % 2))
        ch.close()

    go.go(produce, a, 0)
    go.go(produce, b, 100)
    got: list[int] = []
    live: list[go.Chan[int]] = [a, b]
    while live[0] or live[1]:
        s = await go.select(go.Recv(live[0]), go.Recv(live[1]))
        if not s.ok:
            live[s.index] = go.nil
            continue
        got.append(s.value)
        await go.sleep(0.002)
    return got


async def three_ready() -> int:
    """One select with a nil case and three ready cases: returns the chosen case index."""
    chans: list[go.Chan[int]] = [go.Chan(1) for _ in range(3)]
    for ch in chans:
        await ch.send(1)
    s = await go.select(go.Recv(go.nil), *(go.Recv(ch) for ch in chans))
    return s.index


async def two_workers() -> str:
    """Two tasks ready at once, each appending its name three times between yields."""
    order: list[str] = []

    async def worker(name: str) -> None:
        for _ in range(3):
            order.append(name)
            await anyio.sleep(0)

    current().start_task(worker, ("a",), prefix="a", model=None)
    current().start_task(worker, ("b",), prefix="b", model=None)
    await anyio.sleep(1)
    return "".join(order)


async def same_instant_sleepers() -> str:
    """Three tasks whose timers fall due at the same instant."""
    order: list[str] = []

    async def sleeper(name: str) -> None:
        await anyio.sleep(5)
        order.append(name)

    for name in "xyz":
        current().start_task(sleeper, (name,), prefix=name, model=None)
    await anyio.sleep(10)
    return "".join(order)


# -- (a) same seed, same schedule, same trace ---------------------------------------------------


@pytest.mark.parametrize("main", [go_merge, go_fan_in, _det_scenario.rust_main])
def test_g21_same_seed_same_schedule_and_trace(main: Callable[[], Awaitable[Any]]) -> None:
    first = labkit.simulate(main, seed=4)
    second = labkit.simulate(main, seed=4)
    assert first.schedule
    assert first.schedule == second.schedule
    assert list(first.trace) == list(second.trace)
    assert all(c.what == "select" and 0 <= c.pick < c.n for c in first.schedule)


def test_g21_the_schedule_records_only_real_choices() -> None:
    run = labkit.simulate(go_merge, schedule=[])
    # first-ready-case picks drain a in five rounds; then only b is ready: no choice
    assert [c.n for c in run.schedule] == [2] * 5


# -- (b) replaying a recorded schedule reproduces the run ----------------------------------------


@pytest.mark.parametrize("main", [go_merge, go_fan_in, _det_scenario.rust_main])
def test_replaying_a_schedule_reproduces_the_trace_under_another_seed(
        main: Callable[[], Awaitable[Any]]) -> None:
    recorded = labkit.simulate(main, seed=1)
    other = labkit.simulate(main, seed=2)
    assert rows(other) != rows(recorded)  # the seed alone does change the run
    replayed = labkit.simulate(main, seed=2, schedule=recorded.schedule)
    assert replayed.result == recorded.result
    assert list(replayed.trace) == list(recorded.trace)
    assert replayed.schedule == recorded.schedule


def test_a_schedule_of_plain_picks_replays_as_well() -> None:
    recorded = labkit.simulate(go_merge, seed=3)
    picks = [c.pick for c in recorded.schedule]
    assert list(recorded.schedule.picks) == picks
    assert labkit.simulate(go_merge, seed=9, schedule=picks).result == recorded.result


# -- (c) a hand-written schedule forces a case ----------------------------------------------------


@pytest.mark.parametrize(("pick", "index"), [(0, 1), (1, 2), (2, 3)])
def test_g21_a_schedule_picks_among_the_ready_cases(pick: int, index: int) -> None:
    run = labkit.simulate(three_ready, schedule=[pick])
    assert run.result == index  # case 0 is nil: never ready, never counted (G18)
    assert tuple(run.schedule) == (labkit.Choice("select", 3, pick),)


def test_g21_pick_zero_everywhere_takes_the_first_ready_case() -> None:
    assert labkit.simulate(go_merge, schedule=[]).result == [0, 1, 2, 3, 4,
                                                            100, 101, 102, 103, 104]


def test_picks_beyond_the_schedule_are_zero_and_large_picks_wrap() -> None:
    run = labkit.simulate(go_merge, schedule=[1, 3])
    # 3 % 2 == 1, then 0 (the first ready case) once the list is used up
    assert run.result == [100, 101, 0, 1, 2, 3, 4, 102, 103, 104]
    assert run.schedule.picks == (1, 1, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("pick", [0, 1])
def test_r28_a_schedule_picks_the_start_of_an_unbiased_select(pick: int) -> None:
    async def main() -> int:
        tx1, rx1 = rust.mpsc.channel(1)
        tx2, rx2 = rust.mpsc.channel(1)
        await tx1.send("one")
        await tx2.send("two")
        index, _value = await rust.select(rx1.recv(), rx2.recv())
        return int(index)

    run = labkit.simulate(main, schedule=[pick])
    assert run.result == pick
    assert tuple(run.schedule) == (labkit.Choice("select", 2, pick),)


def test_r28_a_biased_select_makes_no_choice() -> None:
    async def main() -> int:
        tx1, rx1 = rust.mpsc.channel(1)
        tx2, rx2 = rust.mpsc.channel(1)
        await tx1.send("one")
        await tx2.send("two")
        index, _value = await rust.select(rx1.recv(), rx2.recv(), biased=True)
        return int(index)

    run = labkit.simulate(main, schedule=[1])
    assert (run.result, len(run.schedule)) == (0, 0)


# -- (d) task order and timer ties, opt-in -------------------------------------------------------


def test_task_order_is_first_in_first_out_unless_chosen() -> None:
    default = labkit.simulate(two_workers)
    assert default.result == "ababab"
    assert len(default.schedule) == 0
    zeros = labkit.simulate(two_workers, choices="all", schedule=[])
    assert zeros.result == "ababab"
    assert {c.what for c in zeros.schedule} == {"ready"}


def test_a_different_schedule_interleaves_two_ready_tasks_differently() -> None:
    ones = labkit.simulate(two_workers, choices="all", schedule=[1] * 50)
    assert ones.result != "ababab"
    assert sorted(ones.result) == sorted("ababab")
    again = labkit.simulate(two_workers, choices="all", seed=123, schedule=ones.schedule)
    assert again.result == ones.result
    assert list(again.trace) == list(ones.trace)


def test_seeds_explore_interleavings_when_task_order_is_a_choice() -> None:
    seen = {labkit.simulate(two_workers, choices="all", seed=s).result for s in range(12)}
    assert len(seen) > 2
    for seed in range(4):
        run = labkit.simulate(two_workers, choices="all", seed=seed)
        assert labkit.simulate(two_workers, choices="all", seed=seed).result == run.result
        replayed = labkit.simulate(two_workers, choices="all", seed=seed + 100,
                                   schedule=run.schedule)
        assert list(replayed.trace) == list(run.trace)


def test_timers_due_at_one_instant_fire_in_the_chosen_order() -> None:
    assert labkit.simulate(same_instant_sleepers).result == "xyz"
    assert labkit.simulate(same_instant_sleepers, choices="all", schedule=[]).result == "xyz"
    orders = {labkit.simulate(same_instant_sleepers, choices="all", seed=s).result
              for s in range(20)}
    assert orders == {"xyz", "xzy", "yxz", "yzx", "zxy", "zyx"}


def test_timer_ties_are_a_timer_choice() -> None:
    run = labkit.simulate(same_instant_sleepers, choices="all", schedule=[])
    timer_choices = [c for c in run.schedule if c.what == "timer"]
    assert [c.n for c in timer_choices] == [3, 2]


# The rust scenario is left out: with pick 0 its select is biased, and a closed first
# channel then wins every time (a livelock in tokio too).
@pytest.mark.parametrize("main", [_det_scenario.actor_main, _det_scenario.go_main,
                                  functools.partial(_det_scenario.core_main, 200)])
def test_choice_zero_everywhere_is_the_default_order(main: Callable[[], Awaitable[Any]]
                                                     ) -> None:
    select_only = labkit.simulate(main, seed=5, schedule=[])
    everything = labkit.simulate(main, seed=5, choices="all", schedule=[])
    assert everything.result == select_only.result
    assert rows(everything, choices=False) == rows(select_only)


async def mixed_sleepers() -> list[str]:
    """Sleeps of every kind (labkit's, anyio's, a timeout, a labkit sleep cancelled as it
    ends or before) falling due at the same instants as one another and as plain loop
    timers (which set timers of their own), with channel hand-offs in between. The virtual
    loop wakes sleepers in the step their timers fire only where that changes no order."""
    order: list[str] = []
    loop = asyncio.get_running_loop()
    ch: go.Chan[str] = go.Chan(1)

    async def sleeper(name: str, how: str, delays: list[float]) -> None:
        for d in delays:
            if how == "labkit":
                await labkit.sleep(d)
            elif how == "anyio":
                await anyio.sleep(d)
            elif how == "cut":  # a labkit sleep cut short at the instant it ends, or before
                with anyio.move_on_after(d * (len(order) % 2 + 1) / 2):
                    await labkit.sleep(d)
            else:
                with anyio.move_on_after(d):
                    await anyio.sleep_forever()
            order.append(f"{name}@{labkit.now():g}")
            await ch.send(name)

    for i, how in enumerate(["labkit", "anyio", "timeout", "labkit", "cut", "anyio", "timeout",
                             "cut"]):
        go.go(sleeper, f"{how}{i}", how, [0.25, 0.5, 0.25, 0.25, 1.0][i % 3:])
    def tick(k: int) -> None:  # a plain timer that sets another, due at once
        order.append(f"timer{k}")
        loop.call_later(0, order.append, f"after timer{k}")

    for k in range(8):
        loop.call_at(loop.time() + 0.25 * k, tick, k)
    for _ in range(8 * 3 + 8):
        order.append("got " + (await ch.recv())[0])
        await go.sleep(0.125 * (len(order) % 3))
    return order


@pytest.mark.parametrize("main", [
    mixed_sleepers,
    functools.partial(mailboxes.go_consumer_main, 0, 60, 10.0, 8.0, "exponential"),
    functools.partial(mailboxes.rust_consumer_main, 3, 60, 10.0, 12.0, "fixed")])
def test_waking_sleepers_with_their_timers_keeps_the_default_order(
        main: Callable[[], Awaitable[Any]]) -> None:
    """With a chooser the loop runs each timer in a step of its own and the sleeper it
    wakes in the next; without one it merges those steps. Pick 0 everywhere is the default
    order, so both must give the same trace, row for row."""
    merged = labkit.simulate(main, seed=3)
    stepwise = labkit.simulate(main, seed=3, choices="all", schedule=[])
    assert stepwise.result == merged.result
    assert rows(stepwise, choices=False) == rows(merged)


# -- (e) workload draws are apart from the schedule ------------------------------------------


async def select_and_draw() -> list[float]:
    """Selects interleaved with workload draws."""
    draws: list[float] = []
    a: go.Chan[int] = go.Chan(10)
    b: go.Chan[int] = go.Chan(10)
    for i in range(10):
        await a.send(i)
        await b.send(i)
    for _ in range(10):
        await go.select(go.Recv(a), go.Recv(b))
        draws.append(labkit.rng().random())
    return draws


def test_rng_draws_do_not_move_when_schedule_choices_change() -> None:
    workload = random.Random(7)  # labkit.rng() is random.Random(seed)
    expected = [workload.random() for _ in range(10)]
    schedules: list[list[int] | None] = [None, [], [1] * 10, [0, 1] * 5]
    for schedule in schedules:
        run = labkit.simulate(select_and_draw, seed=7, schedule=schedule)
        assert run.result == expected
        assert run.schedule
    assert labkit.simulate(select_and_draw, seed=7, choices="all").result == expected


# -- choice rows: only when asked for ----------------------------------------------------------


def test_choice_rows_only_with_choices_all() -> None:
    assert "choice" not in labkit.simulate(go_merge, seed=1).trace.kinds()
    run = labkit.simulate(go_merge, seed=1, choices="all")
    df = run.trace.df
    made = df[df["kind"] == "choice"]
    assert len(made) == len(run.schedule)
    selects = made[made["detail"].str.startswith("select")]
    assert set(selects["actor"]) == {"main"}
    assert list(selects["detail"]) == [f"select: {c.pick} of {c.n}" for c in run.schedule
                                       if c.what == "select"]


# -- the Schedule record ---------------------------------------------------------------------


def test_a_schedule_reads_as_a_sequence_of_choices() -> None:
    schedule = labkit.simulate(go_merge, schedule=[1, 0, 1]).schedule
    assert len(schedule) == 7  # b, a, b, then a four times: a is empty
    assert schedule[0] == labkit.Choice(what="select", n=2, pick=1)
    assert schedule[-1].pick == 0
    assert schedule[:3].picks == (1, 0, 1)
    assert schedule == labkit.Schedule(["select"] * 7, [2] * 7, [1, 0, 1, 0, 0, 0, 0])
    assert schedule != labkit.Schedule(["select"] * 7, [2] * 7, [1, 0, 1, 0, 0, 0, 1])
    assert repr(schedule[:2]) == "<Schedule [select 1/2, select 0/2]>"
    assert repr(schedule).endswith(", ... (7 choices)]>")


# -- bad arguments ---------------------------------------------------------------------------


async def _nothing() -> None:
    return None


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"choices": "tasks"}, ValueError, "choices must be one of 'select', 'all'"),
    ({"choices": None}, TypeError, "choices must be one of"),
    ({"schedule": 3}, TypeError, "schedule must be a list of ints >= 0"),
    ({"schedule": "010"}, TypeError, "schedule must be a list of ints >= 0"),
    ({"schedule": [0, -1]}, ValueError, r"schedule\[1\] must be an int >= 0, got int -1"),
    ({"schedule": [0.5]}, TypeError, r"schedule\[0\] must be an int >= 0, got float 0.5"),
    ({"schedule": [True]}, TypeError, r"schedule\[0\] must be an int >= 0"),
])
def test_bad_scheduling_arguments_are_refused(kwargs: dict[str, Any], error: type[Exception],
                                             message: str) -> None:
    with pytest.raises(error, match=message):
        labkit.simulate(_nothing, **kwargs)
