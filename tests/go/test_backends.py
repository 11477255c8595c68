"""The same Go-dialect programs in real time on asyncio and trio (short, no timed asserts)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import labkit
from labkit import go

BACKENDS = ["asyncio", "trio"]


async def pipeline() -> list[int]:
    src: go.Chan[int] = go.Chan(0)
    sq: go.Chan[int] = go.Chan(2)

    async def produce() -> None:
        for i in range(20):
            await src.send(i)
        src.close()

    async def square() -> None:
        async for v in src:
            await sq.send(v * v)
        sq.close()

    go.go(produce)
    go.go(square)
    return [v async for v in sq]


@pytest.mark.parametrize("backend", BACKENDS)
def test_pipeline_on_backend(backend: str) -> None:
    assert labkit.run(pipeline, backend=backend).result == [i * i for i in range(20)]


async def selecting() -> tuple[Counter[int], int]:
    chans: list[go.Chan[int]] = [go.Chan(0) for _ in range(3)]
    seen: Counter[int] = Counter()
    wg = go.WaitGroup()

    async def sender(base: int) -> None:
        for i in range(100):
            await go.select(*(go.Send(c, base + i) for c in chans))

    async def receiver(c: go.Chan[int]) -> None:
        async for v in c:
            seen[v] += 1

    for k in range(3):
        wg.go(sender, k * 1000)
    done = go.WaitGroup()
    for c in chans:
        done.go(receiver, c)
    await wg.wait()
    for c in chans:
        c.close()
    await done.wait()
    timeout = await go.select(go.Recv(go.Chan(0)), go.Recv(go.after(0.01)))
    return seen, timeout.index


@pytest.mark.parametrize("backend", BACKENDS)
def test_doubleselect_on_backend(backend: str) -> None:
    seen, timeout_index = labkit.run(selecting, backend=backend).result
    assert set(seen) == {k * 1000 + i for k in range(3) for i in range(100)}
    assert set(seen.values()) == {1}
    assert timeout_index == 1


async def contexts() -> tuple[Any, Any, Any]:
    g, ctx = go.errgroup_with_context(go.background())
    err = RuntimeError("first")

    async def fail() -> RuntimeError:
        await go.sleep(0.001)
        return err

    async def wait_cancel() -> None:
        await ctx.done().recv()  # type: ignore[union-attr]

    await g.go(fail)
    await g.go(wait_cancel)
    got = await g.wait()
    tctx, cancel = go.with_timeout(go.background(), 0.005)
    await tctx.done().recv()  # type: ignore[union-attr]
    cancel()
    return got is err, go.cause(ctx) is err, tctx.err()


@pytest.mark.parametrize("backend", BACKENDS)
def test_context_and_errgroup_on_backend(backend: str) -> None:
    assert labkit.run(contexts, backend=backend).result == (True, True, go.DeadlineExceeded)


@pytest.mark.parametrize("backend", BACKENDS)
def test_panic_in_goroutine_ends_run_on_backend(backend: str) -> None:
    async def main() -> None:
        async def bad() -> None:
            go.panic("boom")

        go.go(bad)
        await go.nil.recv()  # real time: only the panic can end this

    with pytest.raises(go.Panic, match="boom"):
        labkit.run(main, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ticker_on_backend(backend: str) -> None:
    async def main() -> int:
        t = go.Ticker(0.002)
        for _ in range(3):
            await t.c.recv()
        t.stop()
        return 3

    assert labkit.run(main, backend=backend).result == 3
