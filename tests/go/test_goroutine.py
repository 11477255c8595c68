"""Goroutines, panics and deadlock: G30-G33 and case C54."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import labkit
from labkit import go

from .helpers import sim


def test_g30_go_returns_no_handle_and_evaluates_args_now() -> None:
    async def main() -> tuple[Any, list[int]]:
        out: go.Chan[list[int]] = go.Chan(1)
        args = [1, 2]

        async def worker(xs: list[int]) -> None:
            await out.send(xs)

        handle = go.go(worker, list(args))  # type: ignore[func-returns-value]
        args.append(3)
        v, _ = await out.recv()
        return handle, v

    assert sim(main) == (None, [1, 2])


def test_g30_goroutines_are_named_go_n_and_run_concurrently() -> None:
    async def main() -> list[str]:
        log: list[str] = []

        async def worker(name: str, delay: float) -> None:
            await go.sleep(delay)
            log.append(name)

        go.go(worker, "slow", 2)
        go.go(worker, "fast", 1)
        await go.sleep(3)
        return log

    run = labkit.simulate(main)
    assert run.result == ["fast", "slow"]
    spawned = [r.peer for r in run.trace if r.kind == "spawn"]
    assert spawned == ["go-1", "go-2"]
    assert run.elapsed == 3.0


def test_g30_plain_function_goroutine() -> None:
    async def main() -> list[int]:
        log: list[int] = []
        go.go(log.append, 5)
        await go.sleep(0)
        return log

    assert sim(main) == [5]


def test_g30_goroutine_dies_with_main_and_is_reported_leaked() -> None:
    async def main() -> None:
        go.go(go.nil.recv)  # blocked for ever: a goroutine leak
        await go.sleep(1)

    run = labkit.simulate(main)
    assert run.leaked == ("go-1",)


def test_g31_panic_in_goroutine_ends_whole_run() -> None:
    async def main() -> str:
        async def worker() -> None:
            await go.sleep(1)
            go.panic("boom")

        go.go(worker)
        with go.recover() as r:  # recover in main sees nothing (G31/G32)
            await go.sleep(10)
        return f"survived {r.value}"

    with pytest.raises(go.Panic, match="boom") as info:
        sim(main)
    assert info.value.value == "boom"
    run = info.value.run  # type: ignore[attr-defined]
    assert run.elapsed == 1.0
    assert any(r.kind == "fail" and r.actor == "go-1" for r in run.trace)


def test_g31_any_exception_escaping_goroutine_ends_run() -> None:
    async def main() -> None:
        def bad() -> None:
            raise ZeroDivisionError("integer divide by zero")

        go.go(bad)
        await go.sleep(5)

    with pytest.raises(ZeroDivisionError):
        sim(main)


def test_g32_case_54_recover_in_same_goroutine_keeps_program_alive() -> None:
    async def main() -> list[Any]:
        results: go.Chan[Any] = go.Chan(1)

        async def worker() -> None:
            with go.recover() as r:
                go.panic("poison message")
            await results.send(r.value)

        go.go(worker)
        v, _ = await results.recv()
        await go.sleep(1)
        return [v, "main continues"]

    assert sim(main) == ["poison message", "main continues"]


def test_g32_recover_without_panic_is_none() -> None:
    with go.recover() as r:
        pass
    assert r.value is None and not r.panicked


def test_g32_panic_nil_recovers_non_nil() -> None:
    with go.recover() as r:
        go.panic(None)
    assert isinstance(r.value, go.PanicNilError)
    assert r.panicked


def test_g32_recover_catches_runtime_errors_too() -> None:
    with go.recover() as r:
        _ = [0][int('1')]  # index out of range: a Go runtime panic
    assert isinstance(r.value, IndexError)


def test_g32_recover_does_not_stop_cancellation() -> None:
    async def main() -> bool:
        with anyio.CancelScope() as scope:
            with go.recover() as r:
                scope.cancel()
                await go.sleep(1)
        return r.panicked

    assert sim(main) is False


def test_g32_panic_value_kept_and_str_is_go_text() -> None:
    err = ValueError("bad")
    with go.recover() as r:
        go.panic(err)
    assert r.value is err
    assert str(go.Panic("send on closed channel")) == "send on closed channel"


def test_g33_all_goroutines_asleep_is_a_deadlock() -> None:
    async def main() -> None:
        a: go.Chan[int] = go.Chan(0)
        b: go.Chan[int] = go.Chan(0)

        async def worker() -> None:
            await a.recv()
            await b.send(1)

        go.go(worker)
        await b.recv()  # each waits on the other

    with pytest.raises(go.Deadlock) as info:
        sim(main)
    text = str(info.value)
    assert text.startswith("all goroutines are asleep - deadlock!")
    assert "go-1" in text and "main" in text
    assert go.Deadlock is labkit.Deadlock


def test_g33_partial_deadlock_is_only_a_leak() -> None:
    async def main() -> str:
        stuck: go.Chan[int] = go.Chan(0)
        go.go(stuck.recv)
        go.go(stuck.recv)
        await go.sleep(5)  # main is not blocked: no deadlock, just leaked goroutines
        return "done"

    run = labkit.simulate(main)
    assert run.result == "done"
    assert run.leaked == ("go-1", "go-2")


def test_g33_pending_timer_is_not_a_deadlock() -> None:
    async def main() -> float:
        await go.after(30).recv()
        return labkit.now()

    assert sim(main) == 30.0
