"""labkit channel workloads: the core ``Channel``, Go ``Chan`` and Rust ``mpsc``.

Each workload does what its peer in :mod:`benchmarks.peers` does, in the dialect's own
idiom: a stream ends with ``close()`` (Go, core) or with the last sender dropped (Rust), and
the consumer counts what it received. Real-time workloads run under ``labkit.run`` with the
trace off or on (``trace=``); simulation workloads run under ``labkit.simulate`` with the
trace on and time the whole call, as a notebook user would see it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import labkit
from benchmarks.harness import Sample, clock, memory_held, memory_now
from benchmarks.peers import CAPACITY
from labkit import go, rust, trace
from labkit.channel import Channel

__all__ = (
    "SIM_CAPACITY",
    "SIM_PRODUCERS",
    "idle_actors_parked",
    "idle_go",
    "idle_rust",
    "oneway_channel",
    "oneway_go",
    "oneway_rust",
    "real",
    "roundtrip_channel",
    "roundtrip_go",
    "roundtrip_rust",
    "shares",
    "simulated",
    "sim_channel",
    "sim_go",
    "sim_rust",
)

#: The simulation workload: this many producers, a channel this small, and a virtual pause
#: of ``SIM_PAUSE`` seconds after every ``SIM_BURST`` sends of each producer.
SIM_PRODUCERS = 4
SIM_CAPACITY = 8
SIM_BURST = 16
SIM_PAUSE = 0.001


def real(main: Callable[[int], Awaitable[Sample]], n: int, trace: bool) -> Sample:
    """Run ``main(n)`` in real time on asyncio; ``main`` times itself."""
    result: Sample = labkit.run(main, n, trace=trace).result
    return result


def simulated(main: Callable[[int], Awaitable[int]], n: int, trace: bool = True) -> Sample:
    """Run ``main(n)`` in virtual time (with the trace on unless told otherwise); time the
    whole ``simulate`` call. ``main`` returns how many messages were delivered.
    """
    start = clock()
    run = labkit.simulate(main, n, trace=trace)
    seconds = clock() - start
    return Sample(run.result, seconds)


def shares(n: int, parts: int) -> list[int]:
    """``n`` split into ``parts`` near-equal whole shares."""
    return [n // parts + (i < n % parts) for i in range(parts)]


def idle_actors_parked() -> int:
    """How many tasks of the current run are parked on a labkit primitive right now."""
    return len(trace.blocked_tasks())


# -- core Channel ---------------------------------------------------------------------------


async def _count_channel(ch: Channel[Any]) -> int:
    got = 0
    while (await ch.recv())[1]:
        got += 1
    return got


async def _oneway_channel_main(n: int) -> Sample:
    ch: Channel[int] = Channel(CAPACITY)

    async def produce() -> None:
        for i in range(n):
            await ch.send(i)
        ch.close()

    start = clock()
    go.go(produce)
    got = await _count_channel(ch)
    return Sample(got, clock() - start)


def oneway_channel(n: int, *, trace: bool = False) -> Sample:
    return real(_oneway_channel_main, n, trace)


async def _roundtrip_channel_main(n: int) -> Sample:
    ping: Channel[int] = Channel(CAPACITY)
    pong: Channel[int] = Channel(CAPACITY)

    async def serve() -> None:
        async for msg in ping:
            await pong.send(msg)

    start = clock()
    go.go(serve)
    done = 0
    for i in range(n):
        await ping.send(i)
        done += (await pong.recv())[0] == i
    seconds = clock() - start
    ping.close()
    return Sample(done, seconds)


def roundtrip_channel(n: int, *, trace: bool = False) -> Sample:
    return real(_roundtrip_channel_main, n, trace)


async def _sim_channel_main(n: int) -> int:
    ch: Channel[int] = Channel(SIM_CAPACITY)
    running = [SIM_PRODUCERS]

    async def produce(count: int) -> None:
        for i in range(count):
            await ch.send(i)
            if i % SIM_BURST == SIM_BURST - 1:
                await anyio.sleep(SIM_PAUSE)
        running[0] -= 1
        if not running[0]:
            ch.close()

    for count in shares(n, SIM_PRODUCERS):
        go.go(produce, count)
    return await _count_channel(ch)


def sim_channel(n: int, *, trace: bool = True) -> Sample:
    return simulated(_sim_channel_main, n, trace)


# -- Go Chan --------------------------------------------------------------------------------


async def _count_go(ch: go.Chan[Any]) -> int:
    got = 0
    async for _ in ch:
        got += 1
    return got


async def _oneway_go_main(n: int) -> Sample:
    ch: go.Chan[int] = go.Chan(CAPACITY)

    async def produce() -> None:
        for i in range(n):
            await ch.send(i)
        ch.close()

    start = clock()
    go.go(produce)
    got = await _count_go(ch)
    return Sample(got, clock() - start)


def oneway_go(n: int, *, trace: bool = False) -> Sample:
    return real(_oneway_go_main, n, trace)


async def _roundtrip_go_main(n: int) -> Sample:
    ping: go.Chan[int] = go.Chan(CAPACITY)
    pong: go.Chan[int] = go.Chan(CAPACITY)

    async def serve() -> None:
        async for msg in ping:
            await pong.send(msg)

    start = clock()
    go.go(serve)
    done = 0
    for i in range(n):
        await ping.send(i)
        done += (await pong.recv())[0] == i
    seconds = clock() - start
    ping.close()
    return Sample(done, seconds)


def roundtrip_go(n: int, *, trace: bool = False) -> Sample:
    return real(_roundtrip_go_main, n, trace)


async def _sim_go_main(n: int) -> int:
    ch: go.Chan[int] = go.Chan(SIM_CAPACITY)
    wg = go.WaitGroup()

    async def produce(count: int) -> None:
        for i in range(count):
            await ch.send(i)
            if i % SIM_BURST == SIM_BURST - 1:
                await go.sleep(SIM_PAUSE)
        wg.done()

    async def closer() -> None:
        await wg.wait()
        ch.close()

    for count in shares(n, SIM_PRODUCERS):
        wg.add(1)
        go.go(produce, count)
    go.go(closer)
    return await _count_go(ch)


def sim_go(n: int) -> Sample:
    return simulated(_sim_go_main, n)


async def _idle_go_actor(mailbox: go.Chan[Any]) -> None:
    async for _ in mailbox:
        pass


async def _idle_go_main(n: int) -> Sample:
    before = memory_now()
    start = clock()
    mailboxes: list[go.Chan[Any]] = [go.Chan(CAPACITY) for _ in range(n)]
    for mailbox in mailboxes:
        go.go(_idle_go_actor, mailbox)
    await anyio.sleep(0)  # each goroutine runs to its first receive and parks there
    seconds = clock() - start
    held = memory_held(before)
    return Sample(idle_actors_parked(), seconds, held)


def idle_go(n: int, *, trace: bool = False) -> Sample:
    return real(_idle_go_main, n, trace)


# -- Rust mpsc ------------------------------------------------------------------------------


async def _count_rust(rx: rust.mpsc.Receiver[Any]) -> int:
    got = 0
    while await rx.recv() is not None:
        got += 1
    return got


async def _oneway_rust_main(n: int) -> Sample:
    tx, rx = rust.mpsc.channel(CAPACITY)

    async def produce(tx: rust.mpsc.Sender[int]) -> None:
        with tx:  # dropping the only sender closes the channel
            for i in range(n):
                await tx.send(i)

    start = clock()
    rust.spawn(produce, tx)
    got = await _count_rust(rx)
    return Sample(got, clock() - start)


def oneway_rust(n: int, *, trace: bool = False) -> Sample:
    return real(_oneway_rust_main, n, trace)


async def _roundtrip_rust_main(n: int) -> Sample:
    ping_tx, ping_rx = rust.mpsc.channel(CAPACITY)
    pong_tx, pong_rx = rust.mpsc.channel(CAPACITY)

    async def serve() -> None:
        while (msg := await ping_rx.recv()) is not None:
            await pong_tx.send(msg)

    start = clock()
    rust.spawn(serve)
    done = 0
    for i in range(n):
        await ping_tx.send(i)
        done += await pong_rx.recv() == i
    seconds = clock() - start
    ping_tx.drop()
    return Sample(done, seconds)


def roundtrip_rust(n: int, *, trace: bool = False) -> Sample:
    return real(_roundtrip_rust_main, n, trace)


async def _sim_rust_main(n: int) -> int:
    tx, rx = rust.mpsc.channel(SIM_CAPACITY)

    async def produce(tx: rust.mpsc.Sender[int], count: int) -> None:
        with tx:
            for i in range(count):
                await tx.send(i)
                if i % SIM_BURST == SIM_BURST - 1:
                    await anyio.sleep(SIM_PAUSE)

    for count in shares(n, SIM_PRODUCERS):
        rust.spawn(produce, tx.clone(), count)
    tx.drop()  # the channel closes when the last producer's clone is dropped
    return await _count_rust(rx)


def sim_rust(n: int) -> Sample:
    return simulated(_sim_rust_main, n)


async def _idle_rust_actor(rx: rust.mpsc.Receiver[Any]) -> None:
    while await rx.recv() is not None:
        pass


async def _idle_rust_main(n: int) -> Sample:
    before = memory_now()
    start = clock()
    senders = []  # kept alive: a dropped last sender would close the mailbox
    for _ in range(n):
        tx, rx = rust.mpsc.channel(CAPACITY)
        senders.append(tx)
        rust.spawn(_idle_rust_actor, rx)
    await anyio.sleep(0)  # each task runs to its first recv and parks there
    seconds = clock() - start
    held = memory_held(before)
    return Sample(idle_actors_parked(), seconds, held)


def idle_rust(n: int, *, trace: bool = False) -> Sample:
    return real(_idle_rust_main, n, trace)
