"""labkit.supervision.CircuitBreaker: Akka's state machine (closed, open, half-open with one
trial call), call timeout, reset timeout with backoff, statistics, and use from actors,
goroutines and tokio-style tasks alike. All in virtual time."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import labkit
from labkit import go, rust
from labkit.actor import Actor, ActorSystem, Context
from labkit.supervision import CircuitBreaker, CircuitBreakerStatistics, CircuitOpen


class Boom(Exception):
    pass


async def ok(value: Any = "ok") -> Any:
    return value


async def fail() -> None:
    raise Boom("down")


async def slow(seconds: float) -> str:
    await labkit.sleep(seconds)
    return "slow"


async def attempt(breaker: CircuitBreaker, fn: Any, *args: Any) -> str:
    """One call: its result, or the name of what it raised."""
    try:
        return str(await breaker.call(fn, *args))
    except (Boom, TimeoutError, CircuitOpen) as exc:
        return type(exc).__name__


def transitions(run: labkit.Run[Any]) -> list[tuple[float, str]]:
    rows = run.trace.events(kind="breaker")
    return [(t, d.split(":")[0]) for t, d in zip(rows["time"], rows["detail"], strict=True)]


def test_max_failures_in_a_row_open_it_and_a_success_resets_the_count() -> None:
    async def main() -> list[str]:
        b = CircuitBreaker(max_failures=3)
        got = [await attempt(b, fail), await attempt(b, fail), await attempt(b, ok),
               await attempt(b, fail), await attempt(b, fail), b.state,
               await attempt(b, fail), b.state, await attempt(b, ok)]
        return got

    run = labkit.simulate(main)
    assert run.result == ["Boom", "Boom", "ok", "Boom", "Boom", "closed", "Boom", "open",
                          "CircuitOpen"]
    assert transitions(run) == [(0.0, "closed -> open")]


def test_an_open_breaker_says_when_it_will_try_again() -> None:
    async def main() -> CircuitOpen:
        b = CircuitBreaker(max_failures=1, reset_timeout=10, name="db")
        await attempt(b, fail)
        await labkit.sleep(4)
        with pytest.raises(CircuitOpen) as caught:
            await b.call(ok)
        return caught.value

    err = labkit.simulate(main).result
    assert err.retry_at == 10.0
    assert err.breaker == "db"
    assert str(err) == ("circuit breaker 'db' is open: call refused; it will let a trial call "
                        "through at t=10 s (in 6 s)")


def test_state_reads_half_open_as_soon_as_the_timeout_passed_call_or_no_call() -> None:
    async def main() -> list[str]:
        b = CircuitBreaker(max_failures=1, reset_timeout=5)
        await attempt(b, fail)
        states: list[str] = []
        for _ in range(3):
            await labkit.sleep(2.5)
            states.append(b.state)
        return states

    run = labkit.simulate(main)
    assert run.result == ["open", "half_open", "half_open"]
    assert transitions(run) == [(0.0, "closed -> open"), (5.0, "open -> half_open")]


def test_half_open_lets_exactly_one_trial_through_and_its_success_closes() -> None:
    async def main() -> tuple[list[str], str]:
        b = CircuitBreaker(max_failures=1, reset_timeout=5, call_timeout=10)
        await attempt(b, fail)
        await labkit.sleep(5)
        got: list[str] = []

        async def caller(k: int) -> None:
            await labkit.sleep(k * 0.1)
            got.append(await attempt(b, slow, 1.0))

        async with anyio.create_task_group() as tg:
            for k in range(3):
                tg.start_soon(caller, k)
        return got, b.state

    run = labkit.simulate(main)
    # the trial takes 1 s; the two calls made meanwhile fail fast
    assert run.result == (["CircuitOpen", "CircuitOpen", "slow"], "closed")
    assert transitions(run) == [(0.0, "closed -> open"), (5.0, "open -> half_open"),
                                (6.0, "half_open -> closed")]


def test_a_concurrent_call_during_the_trial_is_told_a_trial_is_in_flight() -> None:
    async def main() -> str:
        b = CircuitBreaker(max_failures=1, reset_timeout=1, call_timeout=5, name="db")
        await attempt(b, fail)
        await labkit.sleep(1)
        async with anyio.create_task_group() as tg:
            tg.start_soon(b.call, slow, 1.0)
            await labkit.sleep(0.5)
            with pytest.raises(CircuitOpen) as caught:
                await b.call(ok)
        assert caught.value.retry_at is None
        return str(caught.value)

    assert labkit.simulate(main).result == (
        "circuit breaker 'db' is half-open and its one trial call is in flight: call "
        "refused; try again once the trial has ended")


def test_a_cancelled_trial_lets_the_next_call_be_the_trial() -> None:
    async def main() -> tuple[str, str]:
        b = CircuitBreaker(max_failures=1, reset_timeout=1, call_timeout=10)
        await attempt(b, fail)
        await labkit.sleep(1)
        with anyio.move_on_after(0.5):
            await b.call(slow, 5.0)  # the trial, cancelled by its caller
        return b.state, await attempt(b, ok)

    assert labkit.simulate(main).result == ("half_open", "ok")


def test_failed_trials_compound_the_timeout_by_backoff_factor_up_to_the_cap() -> None:
    async def main() -> list[float]:
        b = CircuitBreaker(max_failures=1, reset_timeout=1, backoff_factor=2.0,
                           max_reset_timeout=5)
        await attempt(b, fail)
        opened = [labkit.now()]
        for _ in range(4):  # each trial fails
            while b.state != "half_open":
                await labkit.sleep(0.25)
            await attempt(b, fail)
            opened.append(labkit.now())
        timeouts = [b.statistics().reset_timeout]
        while b.state != "half_open":
            await labkit.sleep(0.25)
        await attempt(b, ok)  # a successful trial closes and resets the timeout
        timeouts.append(b.statistics().reset_timeout)
        return [*opened, *timeouts]

    run = labkit.simulate(main)
    # timeouts 1, 2, 4, 5 (capped), 5: opened at 0, 1, 3, 7, 12; then the success resets it
    assert run.result == [0.0, 1.0, 3.0, 7.0, 12.0, 5.0, 1.0]


def test_a_failing_fn_raises_its_own_exception_unchanged() -> None:
    error = Boom("the very one")

    async def raise_it() -> None:
        raise error

    async def main() -> BaseException:
        b = CircuitBreaker()
        try:
            await b.call(raise_it)
        except Boom as exc:
            return exc
        raise AssertionError("no error")

    assert labkit.simulate(main).result is error


def test_a_call_over_call_timeout_raises_timeout_error_and_counts_as_a_failure() -> None:
    async def main() -> tuple[str, str, CircuitBreakerStatistics]:
        b = CircuitBreaker(max_failures=2, call_timeout=0.5)
        first = await attempt(b, slow, 1.0)
        t = labkit.now()
        await attempt(b, slow, 1.0)
        return first, f"{t} {labkit.now()} {b.state}", b.statistics()

    first, timing, stats = labkit.simulate(main).result
    assert first == "TimeoutError"
    assert timing == "0.5 1.0 open"
    assert (stats.calls, stats.timed_out, stats.failed, stats.opened) == (2, 2, 0, 1)


def test_statistics() -> None:
    async def main() -> CircuitBreakerStatistics:
        b = CircuitBreaker(max_failures=2, reset_timeout=3, name="api")
        for fn in (ok, fail, fail, ok):
            await attempt(b, fn)
        return b.statistics()

    stats = labkit.simulate(main).result
    assert stats == CircuitBreakerStatistics(
        name="api", state="open", failures=2, max_failures=2, calls=3, succeeded=1,
        failed=2, timed_out=0, rejected=1, opened=1, reset_timeout=3.0, retry_at=3.0)


# -- one breaker, three models --------------------------------------------------------------


def test_a_breaker_works_from_a_go_goroutine() -> None:
    async def main() -> list[str]:
        b = CircuitBreaker(max_failures=2, reset_timeout=1, name="db")
        results: go.Chan[str] = go.Chan(10)

        async def worker() -> None:
            for fn in (fail, fail, ok):
                await results.send(await attempt(b, fn))
            await labkit.sleep(1)
            await results.send(await attempt(b, ok))
            results.close()

        go.go(worker)
        return [v async for v in results]

    run = labkit.simulate(main)
    assert run.result == ["Boom", "Boom", "CircuitOpen", "ok"]
    rows = run.trace.events(kind="breaker")
    assert set(rows["model"]) == {"go"}


def test_a_breaker_works_from_a_rust_task() -> None:
    async def main() -> list[str]:
        b = CircuitBreaker(max_failures=1, reset_timeout=1)

        async def task() -> list[str]:
            got = [await attempt(b, fail), await attempt(b, ok)]
            await labkit.sleep(1)
            got.append(await attempt(b, ok))
            return got

        handle = rust.spawn(task)
        return (await handle).unwrap()

    run = labkit.simulate(main)
    assert run.result == ["Boom", "CircuitOpen", "ok"]
    assert set(run.trace.events(kind="breaker")["model"]) == {"rust"}


def test_a_breaker_works_from_an_actor() -> None:
    class Client(Actor):
        def __init__(self, breaker: CircuitBreaker) -> None:
            self.breaker = breaker

        async def receive(self, msg: Any, ctx: Context) -> str:
            return await attempt(self.breaker, fail if msg == "bad" else ok)

    async def main() -> list[str]:
        b = CircuitBreaker(max_failures=1)
        async with ActorSystem() as system:
            client = system.spawn(Client, b, name="client")
            return [await client.ask(m) for m in ("bad", "good")]

    run = labkit.simulate(main)
    assert run.result == ["Boom", "CircuitOpen"]
    rows = run.trace.events(kind="breaker")
    assert list(rows["peer"]) == ["client"] and set(rows["model"]) == {"actor"}
