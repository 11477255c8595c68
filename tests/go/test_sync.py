"""WaitGroup and errgroup: G40-G44 and cases C50-C52."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import go

from .helpers import sim, still_blocked


class E(Exception):
    pass


# -- G40 WaitGroup ---------------------------------------------------------------------------


def test_g40_wait_blocks_until_counter_zero() -> None:
    async def main() -> tuple[float, list[int]]:
        wg = go.WaitGroup()
        done: list[int] = []

        async def worker(i: int) -> None:
            await go.sleep(i)
            done.append(i)
            wg.done()

        for i in (3, 1, 2):
            wg.add(1)
            go.go(worker, i)
        await wg.wait()
        return labkit.now(), done

    assert sim(main) == (3.0, [1, 2, 3])


def test_g40_wait_on_zero_returns_at_once() -> None:
    async def main() -> float:
        await go.WaitGroup().wait()
        return labkit.now()

    assert sim(main) == 0.0


def test_g40_all_waiters_released_and_reusable() -> None:
    async def main() -> list[str]:
        wg = go.WaitGroup()
        log: list[str] = []

        async def waiter(name: str) -> None:
            await wg.wait()
            log.append(name)

        wg.add(2)
        go.go(waiter, "a")
        go.go(waiter, "b")
        await go.sleep(1)
        wg.done()
        await go.sleep(1)
        assert log == []
        wg.done()
        await go.sleep(0)
        wg.add(1)  # a second round
        go.go(waiter, "c")
        await go.sleep(1)
        assert log == ["a", "b"]
        wg.done()
        await go.sleep(0)
        return log

    assert sim(main) == ["a", "b", "c"]


def test_g40_case_52_done_without_add_panics() -> None:
    with pytest.raises(go.Panic, match=r"^sync: negative WaitGroup counter$"):
        go.WaitGroup().done()


def test_g40_negative_add_panics() -> None:
    wg = go.WaitGroup()
    wg.add(1)
    with pytest.raises(go.Panic, match="negative WaitGroup counter"):
        wg.add(-2)


def test_g40_wait_with_nobody_calling_done_is_a_deadlock() -> None:
    async def main() -> None:
        wg = go.WaitGroup()
        wg.add(1)
        await wg.wait()

    with pytest.raises(go.Deadlock):
        sim(main)


def test_g40_wg_go() -> None:
    async def main() -> tuple[list[int], int]:
        wg = go.WaitGroup()
        got: list[int] = []

        async def work(i: int) -> None:
            await go.sleep(1)
            got.append(i)

        for i in range(4):
            wg.go(work, i)
        await wg.wait()
        return got, wg.count

    assert sim(main) == ([0, 1, 2, 3], 0)


# -- G41 errgroup: first error ---------------------------------------------------------------


def test_g41_case_50_first_error_returned_no_cancellation() -> None:
    e1, e2 = E("e1"), E("e2")

    async def main() -> tuple[Any, float, list[str]]:
        g = go.ErrGroup()
        log: list[str] = []

        async def fail(err: E, delay: float) -> E:
            await go.sleep(delay)
            log.append(str(err))
            return err

        async def ok() -> None:
            await go.sleep(10)  # not cancelled by e1: the zero group has no context
            log.append("ok")

        await g.go(fail, e1, 0)
        await g.go(fail, e2, 5)
        await g.go(ok)
        err = await g.wait()
        return err, labkit.now(), log

    err, t, log = sim(main)
    assert err is e1
    assert t == 10.0
    assert log == ["e1", "e2", "ok"]


def test_g41_no_errors_returns_none() -> None:
    async def main() -> Any:
        g = go.ErrGroup()
        for _ in range(3):
            await g.go(go.sleep, 1)
        return await g.wait()

    assert sim(main) is None


# -- G42 errgroup with context ---------------------------------------------------------------


def test_g42_first_error_cancels_context_with_cause() -> None:
    e1 = E("e1")

    async def main() -> tuple[Any, Any, Any, list[str], float]:
        g, ctx = go.errgroup_with_context(go.background())
        log: list[str] = []

        async def failing() -> E:
            await go.sleep(1)
            return e1

        async def sibling(name: str) -> None:
            await ctx.done().recv()  # type: ignore[union-attr]
            log.append(name)

        await g.go(failing)
        await g.go(sibling, "s1")
        await g.go(sibling, "s2")
        err = await g.wait()
        return err, ctx.err(), go.cause(ctx), log, labkit.now()

    err, ctx_err, cause, log, t = sim(main)
    assert err is e1
    assert ctx_err is go.Canceled
    assert cause is e1
    assert sorted(log) == ["s1", "s2"]
    assert t == 1.0


def test_g42_wait_cancels_context_even_without_error() -> None:
    async def main() -> tuple[Any, Any]:
        g, ctx = go.errgroup_with_context(go.background())
        await g.go(go.sleep, 1)
        before = ctx.err()
        await g.wait()
        return before, ctx.err()

    assert sim(main) == (None, go.Canceled)


def test_g42_parent_cancel_reaches_group_context() -> None:
    parent, cancel = go.with_cancel(go.background())
    _g, ctx = go.errgroup_with_context(parent)
    cancel()
    assert ctx.err() is go.Canceled


# -- G43 limits ----------------------------------------------------------------------------------


def test_g43_set_limit_caps_concurrency() -> None:
    async def main() -> tuple[int, float]:
        g = go.ErrGroup()
        g.set_limit(2)
        active = peak = 0

        async def work() -> None:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await go.sleep(1)
            active -= 1

        for _ in range(6):
            await g.go(work)  # waits for a slot
        await g.wait()
        return peak, labkit.now()

    assert sim(main) == (2, 3.0)


def test_g43_try_go_false_when_saturated() -> None:
    async def main() -> list[bool]:
        g = go.ErrGroup()
        g.set_limit(1)
        results = [g.try_go(go.sleep, 1), g.try_go(go.sleep, 1)]
        await g.wait()
        results.append(g.try_go(go.sleep, 1))
        await g.wait()
        return results

    assert sim(main) == [True, False, True]


def test_g43_limit_zero_blocks_every_go() -> None:
    async def main() -> tuple[bool, bool]:
        g = go.ErrGroup()
        g.set_limit(0)
        return g.try_go(go.sleep, 1), await still_blocked(lambda: g.go(go.sleep, 1))

    assert sim(main) == (False, True)


def test_g43_negative_limit_means_no_limit() -> None:
    async def main() -> float:
        g = go.ErrGroup()
        g.set_limit(1)
        g.set_limit(-1)
        for _ in range(5):
            assert g.try_go(go.sleep, 1)
        await g.wait()
        return labkit.now()

    assert sim(main) == 1.0


def test_g43_changing_limit_while_active_panics() -> None:
    async def main() -> None:
        g = go.ErrGroup()
        g.set_limit(2)
        await g.go(go.sleep, 1)
        g.set_limit(3)

    with pytest.raises(go.Panic, match="modify limit while 1 goroutines"):
        sim(main)


def test_g43_waiting_go_calls_get_slots_in_order() -> None:
    async def main() -> list[int]:
        g = go.ErrGroup()
        g.set_limit(1)
        order: list[int] = []

        async def work(i: int) -> None:
            order.append(i)
            await go.sleep(1)

        async def submit(i: int) -> None:
            await g.go(work, i)

        for i in range(4):
            go.go(submit, i)
            await go.sleep(0.01)
        await go.sleep(10)
        await g.wait()
        return order

    assert sim(main) == [0, 1, 2, 3]


# -- G44 errgroup does not catch panics -----------------------------------------------------------


def test_g44_case_51_panic_in_errgroup_ends_the_run() -> None:
    log: list[str] = []

    async def main() -> Any:
        g = go.ErrGroup()

        async def bad() -> None:
            await go.sleep(1)
            go.panic("worker exploded")

        await g.go(bad)
        err = await g.wait()  # never returns: the panic is not turned into an error
        log.append(f"main went on with {err!r}")
        await go.sleep(1)
        log.append("main still running")

    with pytest.raises(go.Panic, match="worker exploded"):
        sim(main)
    assert log == []


# -- bad input: TypeError at the call, with the uniform message -----------------------------


@pytest.mark.parametrize("bad", [None, "1", 1.0, True, float("nan")])
def test_g40_g43_counts_must_be_ints(bad: Any) -> None:
    shown = f"{type(bad).__name__} {bad!r}"
    with pytest.raises(TypeError, match=rf"^delta must be an int, got {shown}$"):
        go.WaitGroup().add(bad)
    with pytest.raises(TypeError, match=rf"^n must be an int, got {shown}$"):
        go.ErrGroup().set_limit(bad)


def test_g40_a_huge_count_is_just_a_count() -> None:
    wg = go.WaitGroup()
    wg.add(10**30)
    wg.add(-(10**30))
    assert wg.count == 0


@pytest.mark.parametrize("bad", [None, 42, "work"])
def test_g40_g41_go_refuses_what_it_cannot_call_before_starting_anything(bad: Any) -> None:
    async def main() -> tuple[int, str]:
        wg = go.WaitGroup()
        group = go.ErrGroup()
        for start in (wg.go, group.try_go):
            with pytest.raises(TypeError, match=r"^fn must be a function, got "):
                start(bad)
        with pytest.raises(TypeError, match=r"^fn must be a function, got "):
            await group.go(bad)
        return wg.count, repr(group)

    run = labkit.simulate(main)
    assert run.result == (0, "<ErrGroup active=0 limit=none>")  # nothing was added ...
    assert "spawn" not in run.trace.kinds()  # ... and nothing started
