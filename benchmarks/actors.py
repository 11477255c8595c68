"""labkit actor workloads: ``tell``, ``ask``, a tell ping-pong, a simulation, idle actors.

The one-way workload is Pykka's: tell ``n`` messages, then ``ask`` for the count, which
comes back only after every tell was handled (a mailbox is FIFO). ``main`` yields once every
``CAPACITY`` tells, so the unbounded mailbox never holds more than a bounded queue would.
"""

from __future__ import annotations

from typing import Any

import anyio

from benchmarks.channels import (
    SIM_BURST,
    SIM_CAPACITY,
    SIM_PAUSE,
    SIM_PRODUCERS,
    idle_actors_parked,
    real,
    shares,
    simulated,
)
from benchmarks.harness import Sample, clock, memory_held, memory_now
from benchmarks.peers import CAPACITY
from labkit.actor import Actor, ActorRef, ActorSystem, Context, Mailbox

__all__ = (
    "idle_actors",
    "oneway_tell",
    "roundtrip_ask",
    "roundtrip_tell",
    "sim_actors",
)


class _Count:
    """Ask a :class:`_Counter` how many messages it has handled."""


_COUNT = _Count()


class _Counter(Actor):
    """Counts messages; answers ``_COUNT`` with the count and any other ask with the message."""

    def __init__(self) -> None:
        self.count = 0

    async def receive(self, msg: Any, ctx: Context) -> Any:
        if msg is _COUNT:
            return self.count
        self.count += 1
        return msg


class _Ponger(Actor):
    """Tells every message straight back to the actor that sent it."""

    async def receive(self, msg: Any, ctx: Context) -> None:
        ctx.reply(msg)


class _Pinger(Actor):
    """Plays ``rounds`` tell ping-pongs with ``ponger``, then stops and reports the tally."""

    def __init__(self, ponger: ActorRef, rounds: int, tally: list[int]) -> None:
        self.ponger = ponger
        self.rounds = rounds
        self.tally = tally
        self.done = 0

    async def on_start(self, ctx: Context) -> None:
        self.ponger.tell(0)

    async def receive(self, msg: Any, ctx: Context) -> None:
        self.done += msg == self.done
        if self.done < self.rounds:
            self.ponger.tell(self.done)
        else:
            ctx.stop()

    async def on_stop(self, ctx: Context) -> None:
        self.tally.append(self.done)


class _Producer(Actor):
    """Sends ``count`` messages to ``sink`` as it starts, pausing in virtual time."""

    def __init__(self, sink: ActorRef, count: int) -> None:
        self.sink = sink
        self.count = count

    async def on_start(self, ctx: Context) -> None:
        for i in range(self.count):
            await self.sink.send(i)
            if i % SIM_BURST == SIM_BURST - 1:
                await anyio.sleep(SIM_PAUSE)
        ctx.stop()

    async def receive(self, msg: Any, ctx: Context) -> None:
        raise AssertionError("a producer receives nothing")


class _Idle(Actor):
    async def receive(self, msg: Any, ctx: Context) -> None:
        pass


async def _oneway_tell_main(n: int) -> Sample:
    async with ActorSystem() as system:
        counter = system.spawn(_Counter)
        start = clock()
        tell = counter.tell
        for i in range(n):
            tell(i)
            if i % CAPACITY == CAPACITY - 1:
                await anyio.lowlevel.checkpoint()
        got = await counter.ask(_COUNT)
        return Sample(got, clock() - start)


def oneway_tell(n: int, *, trace: bool = False) -> Sample:
    return real(_oneway_tell_main, n, trace)


async def _roundtrip_ask_main(n: int) -> Sample:
    async with ActorSystem() as system:
        echo = system.spawn(_Counter)
        start = clock()
        done = 0
        for i in range(n):
            done += await echo.ask(i) == i
        return Sample(done, clock() - start)


def roundtrip_ask(n: int, *, trace: bool = False) -> Sample:
    return real(_roundtrip_ask_main, n, trace)


async def _roundtrip_tell_main(n: int) -> Sample:
    tally: list[int] = []
    async with ActorSystem() as system:
        ponger = system.spawn(_Ponger)
        start = clock()
        pinger = system.spawn(_Pinger, ponger, n, tally)
        await pinger.wait_stopped()
        seconds = clock() - start
    return Sample(tally[0], seconds)


def roundtrip_tell(n: int, *, trace: bool = False) -> Sample:
    return real(_roundtrip_tell_main, n, trace)


async def _sim_actors_main(n: int) -> int:
    async with ActorSystem() as system:
        sink = system.spawn(_Counter, mailbox=Mailbox(SIM_CAPACITY))
        producers = [system.spawn(_Producer, sink, count)
                     for count in shares(n, SIM_PRODUCERS)]
        for producer in producers:
            await producer.wait_stopped()
        got: int = await sink.ask(_COUNT)
        return got


def sim_actors(n: int, *, trace: bool = True) -> Sample:
    return simulated(_sim_actors_main, n, trace)


async def _idle_actors_main(n: int) -> Sample:
    async with ActorSystem() as system:
        before = memory_now()
        start = clock()
        for _ in range(n):
            system.spawn(_Idle)
        await anyio.sleep(0)  # each actor runs to its first receive and parks there
        seconds = clock() - start
        held = memory_held(before)
        return Sample(idle_actors_parked(), seconds, held)


def idle_actors(n: int, *, trace: bool = False) -> Sample:
    return real(_idle_actors_main, n, trace)
