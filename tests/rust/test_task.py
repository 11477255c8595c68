"""rust.spawn / JoinHandle / JoinSet: rules R32-R34, cases 104 and 106."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust._ownership import MovedValueError
from labkit.rust._task import JoinError, JoinSet, spawn
from labkit.rust._time import sleep


async def double_after(x: int, delay: float) -> int:
    await sleep(delay)
    return 2 * x


async def panics_after(delay: float) -> None:
    await sleep(delay)
    raise ZeroDivisionError("poison message")


# -- spawn and JoinHandle -------------------------------------------------------------------


def test_r32_spawn_returns_handle_and_await_gives_ok() -> None:
    async def main() -> Any:
        handle = spawn(double_after, 21, 1.0)
        assert not handle.is_finished()
        result = await handle
        assert handle.is_finished()
        return result, labkit.now()

    assert labkit.simulate(main).result == (rust.Ok(42), 1.0)


def test_r33_panic_is_contained_in_join_error_and_run_goes_on() -> None:
    async def main() -> Any:
        bad = spawn(panics_after, 1.0)
        good = spawn(double_after, 5, 2.0)
        bad_result = await bad
        good_result = await good  # the sibling was not cancelled by the panic (R33)
        return bad_result, good_result

    run = labkit.simulate(main)
    bad_result, good_result = run.result
    assert good_result == rust.Ok(10)
    assert isinstance(bad_result, rust.Err)
    err = bad_result.error
    assert isinstance(err, JoinError)
    assert err.is_panic() and not err.is_cancelled()
    payload = err.into_panic()
    assert isinstance(payload, ZeroDivisionError)
    assert str(payload) == "poison message"
    assert run.completed
    fails = [row for row in run.trace if row.kind == "fail"]
    assert [(r.actor, r.msg_type, r.model) for r in fails] == [
        ("task-1", "ZeroDivisionError", "rust")]


def test_r33_panic_without_anyone_awaiting_does_not_end_run() -> None:
    async def main() -> str:
        spawn(panics_after, 0.0)
        await sleep(5)
        return "still here"

    assert labkit.simulate(main).result == "still here"


def test_r33_join_error_works_in_match() -> None:
    async def main() -> list[str]:
        seen = []
        for handle in (spawn(double_after, 1, 0), spawn(panics_after, 0)):
            match await handle:
                case rust.Ok(v):
                    seen.append(f"ok {v}")
                case rust.Err(JoinError("panic", exc)):
                    seen.append(f"panic {type(exc).__name__}")
                case rust.Err(JoinError("cancelled", _)):
                    seen.append("cancelled")
        return seen

    assert labkit.simulate(main).result == ["ok 2", "panic ZeroDivisionError"]


def test_r32_abort_cancels_at_next_await() -> None:
    progress: list[str] = []

    async def worker() -> str:
        progress.append("started")
        await sleep(10)
        progress.append("after sleep")  # must never run
        return "done"

    async def main() -> Any:
        handle = spawn(worker)
        await sleep(1)
        handle.abort()
        result = await handle
        return result, labkit.now()

    run = labkit.simulate(main)
    result, when = run.result
    assert when == 1.0
    assert isinstance(result, rust.Err) and result.error.is_cancelled()
    assert not result.error.is_panic()
    assert progress == ["started"]
    with pytest.raises(ValueError):
        result.error.into_panic()
    assert any(r.kind == "abort" and r.peer == "task-1" for r in run.trace)


def test_r32_abort_before_the_task_first_ran_means_it_never_runs() -> None:
    ran: list[bool] = []

    async def worker() -> None:
        ran.append(True)

    async def main() -> Any:
        handle = spawn(worker)
        handle.abort()
        return await handle

    result = labkit.simulate(main).result
    assert isinstance(result, rust.Err) and result.error.is_cancelled()
    assert ran == []


def test_r32_task_that_finishes_before_yielding_reports_success_despite_abort() -> None:
    async def main() -> Any:
        box: list[Any] = []

        async def self_aborting() -> str:
            box[0].abort()  # abort requested while running; it never awaits again
            return "finished anyway"

        handle = spawn(self_aborting)
        box.append(handle)
        return await handle

    assert labkit.simulate(main).result == rust.Ok("finished anyway")


def test_r32_abort_after_finish_keeps_the_result() -> None:
    async def main() -> Any:
        handle = spawn(double_after, 4, 0)
        await sleep(1)
        handle.abort()
        return await handle

    assert labkit.simulate(main).result == rust.Ok(8)


def test_case_104_dropping_the_handle_detaches_the_task() -> None:
    finished: list[float] = []

    async def worker() -> None:
        await sleep(3)
        finished.append(labkit.now())

    async def main() -> None:
        handle = spawn(worker)
        handle.drop()
        await sleep(5)

    run = labkit.simulate(main)
    assert finished == [3.0]
    assert run.leaked == ()


def test_r32_dropped_handle_cannot_be_awaited() -> None:
    async def main() -> None:
        handle = spawn(double_after, 1, 0)
        handle.drop()
        await handle

    with pytest.raises(MovedValueError):
        labkit.simulate(main)


def test_tasks_still_running_when_main_returns_are_leaked() -> None:
    async def main() -> None:
        spawn(double_after, 1, 100)
        await sleep(1)

    assert labkit.simulate(main).leaked == ("task-1",)


def test_spawn_names_tasks_task_n_with_model_rust() -> None:
    async def main() -> list[str]:
        handles = [spawn(double_after, i, 0) for i in range(3)]
        for h in handles:
            await h
        return [h.id for h in handles]

    run = labkit.simulate(main)
    assert run.result == ["task-1", "task-2", "task-3"]
    spawns = [(r.peer, r.model) for r in run.trace if r.kind == "spawn"]
    assert spawns == [("task-1", "rust"), ("task-2", "rust"), ("task-3", "rust")]


def test_spawn_outside_a_run_raises() -> None:
    with pytest.raises(labkit.NotInRunError):
        spawn(double_after, 1, 0)


def test_spawn_refuses_a_non_callable() -> None:
    async def main() -> None:
        spawn(42)  # type: ignore[arg-type]

    with pytest.raises(TypeError):
        labkit.simulate(main)


def test_awaiting_a_running_handle_blocks_until_it_finishes() -> None:
    async def main() -> Any:
        target = spawn(double_after, 1, 5)
        waiter = spawn(target._join)
        await sleep(4)
        blocked = not waiter.is_finished()
        await sleep(2)
        return blocked, waiter.is_finished(), await waiter

    blocked, finished, result = labkit.simulate(main).result
    assert blocked and finished
    assert result == rust.Ok(rust.Ok(2))


# -- JoinSet --------------------------------------------------------------------------------


def test_r34_join_next_yields_in_completion_order() -> None:
    async def main() -> list[Any]:
        js: JoinSet[int] = JoinSet()
        for x, delay in ((1, 3.0), (2, 1.0), (3, 2.0)):
            js.spawn(double_after, x, delay)
        assert len(js) == 3
        out = []
        while (r := await js.join_next()) is not None:
            out.append((r, labkit.now()))
        return out

    assert labkit.simulate(main).result == [
        (rust.Ok(4), 1.0), (rust.Ok(6), 2.0), (rust.Ok(2), 3.0)]


def test_r34_join_next_on_empty_set_is_none_at_once() -> None:
    async def main() -> Any:
        js: JoinSet[int] = JoinSet()
        return await js.join_next(), js.try_join_next(), js.is_empty(), labkit.now()

    assert labkit.simulate(main).result == (None, None, True, 0.0)


def test_r34_results_include_panics_and_the_set_keeps_going() -> None:
    async def main() -> list[str]:
        js: JoinSet[Any] = JoinSet()
        js.spawn(panics_after, 1.0)
        js.spawn(double_after, 1, 2.0)
        kinds = []
        while (r := await js.join_next()) is not None:
            kinds.append("panic" if r.is_err() and r.unwrap_err().is_panic() else "ok")
        return kinds

    assert labkit.simulate(main).result == ["panic", "ok"]


def test_r34_abort_all_requests_cancellation_and_join_next_drains() -> None:
    async def main() -> Any:
        js: JoinSet[int] = JoinSet()
        for i in range(3):
            js.spawn(double_after, i, 10)
        await sleep(1)
        js.abort_all()
        assert len(js) == 3  # still there until drained
        results = []
        while (r := await js.join_next()) is not None:
            results.append(r)
        return [r.unwrap_err().is_cancelled() for r in results], labkit.now()

    assert labkit.simulate(main).result == ([True, True, True], 1.0)


def test_r34_shutdown_aborts_and_drains() -> None:
    async def main() -> Any:
        js: JoinSet[int] = JoinSet()
        handles = [js.spawn(double_after, i, 10) for i in range(2)]
        await sleep(1)
        await js.shutdown()
        return len(js), [h.is_finished() for h in handles], labkit.now()

    assert labkit.simulate(main).result == (0, [True, True], 1.0)


def test_r34_join_all_returns_values_in_completion_order() -> None:
    async def main() -> list[int]:
        js: JoinSet[int] = JoinSet()
        js.spawn(double_after, 1, 2)
        js.spawn(double_after, 2, 1)
        return await js.join_all()

    assert labkit.simulate(main).result == [4, 2]


def test_r34_join_all_reraises_the_first_panic_and_aborts_the_rest() -> None:
    survivors: list[str] = []

    async def slow() -> None:
        await sleep(10)
        survivors.append("slow finished")

    async def main() -> None:
        js: JoinSet[Any] = JoinSet()
        js.spawn(slow)
        js.spawn(panics_after, 1)
        try:
            await js.join_all()
        finally:
            await sleep(20)

    with pytest.raises(ZeroDivisionError):
        labkit.simulate(main)
    assert survivors == []


def test_r34_detach_all_lets_tasks_outlive_the_set() -> None:
    done: list[int] = []

    async def worker(i: int) -> None:
        await sleep(2)
        done.append(i)

    async def main() -> Any:
        js: JoinSet[None] = JoinSet()
        js.spawn(worker, 1)
        js.spawn(worker, 2)
        js.detach_all()
        assert len(js) == 0
        first = await js.join_next()
        js.drop()  # aborts nothing: the tasks are no longer in the set
        await sleep(3)
        return first

    assert labkit.simulate(main).result is None
    assert done == [1, 2]


def test_case_106_leaving_the_joinset_scope_aborts_every_task() -> None:
    progress: list[str] = []

    async def long_task(i: int) -> None:
        await sleep(100)
        progress.append(f"{i} finished")

    async def main() -> Any:
        async with JoinSet[None]() as js:
            handles = [js.spawn(long_task, i) for i in range(3)]
            await sleep(1)
        await sleep(1)
        return [(await h).unwrap_err().is_cancelled() for h in handles]

    run = labkit.simulate(main)
    assert run.result == [True, True, True]
    assert progress == []
    assert run.leaked == ()


def test_r34_dropped_joinset_cannot_be_used() -> None:
    async def main() -> None:
        js: JoinSet[int] = JoinSet()
        js.drop()
        js.spawn(double_after, 1, 0)

    with pytest.raises(MovedValueError):
        labkit.simulate(main)


def test_r34_join_next_is_cancel_safe() -> None:
    async def main() -> Any:
        js: JoinSet[int] = JoinSet()
        js.spawn(double_after, 7, 2.0)
        # join_next loses a select against a 1 s sleep: nothing is taken from the set
        idx, _ = await rust.select(js.join_next(), sleep(1.0), biased=True)
        assert idx == 1 and len(js) == 1
        return await js.join_next(), js.len()

    assert labkit.simulate(main).result == (rust.Ok(14), 0)


def test_r34_join_next_with_id_names_the_task() -> None:
    async def main() -> Any:
        js: JoinSet[int] = JoinSet()
        h = js.spawn(double_after, 1, 0)
        return await js.join_next_with_id(), h.id

    (task_id, result), hid = labkit.simulate(main).result
    assert task_id == hid == "task-1" and result == rust.Ok(2)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r33_spawn_and_panic_in_real_time(backend: str) -> None:
    async def main() -> Any:
        js: JoinSet[Any] = JoinSet()
        js.spawn(panics_after, 0)
        js.spawn(double_after, 3, 0.001)
        out = []
        while (r := await js.join_next()) is not None:
            out.append(r.is_ok())
        return sorted(out)

    assert labkit.run(main, backend=backend).result == [False, True]
