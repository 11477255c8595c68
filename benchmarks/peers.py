"""Peer workloads: what labkit is measured against.

* ``asyncio.Queue`` (bounded like labkit's channels), the standard-library mailbox;
* a plain ``deque`` + ``asyncio.Event`` mailbox, the least an asyncio mailbox can do;
* anyio memory object streams (they checkpoint, so yield, on every operation);
* Pykka ``ThreadingActor`` ``tell`` and ``ask`` (one thread per actor);
* an idle asyncio task blocked on its own ``asyncio.Queue``, the cheapest asyncio "actor".

Every stream ends the way its library ends one (a sentinel, ``EndOfStream``), and the
consumer counts what it received, so a lost or duplicated message shows up as a wrong count.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, cast

import anyio
import pykka

from benchmarks.harness import Sample, clock, memory_held, memory_now

__all__ = (
    "CAPACITY",
    "DequeMailbox",
    "idle_asyncio_tasks",
    "oneway_anyio_stream",
    "oneway_asyncio_queue",
    "oneway_asyncio_queue_rows",
    "oneway_deque_event",
    "oneway_pykka_tell",
    "roundtrip_anyio_stream",
    "roundtrip_asyncio_queue",
    "roundtrip_deque_event",
    "roundtrip_pykka_ask",
)

#: Buffer size of every bounded queue in the one-way and round-trip benchmarks.
CAPACITY = 1024

_STOP = None  # sentinel that ends an asyncio stream


class DequeMailbox:
    """The plainest asyncio mailbox: an unbounded deque and an Event set when it fills."""

    __slots__ = ("_items", "_nonempty")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._nonempty = asyncio.Event()

    def put(self, item: Any) -> None:
        self._items.append(item)
        self._nonempty.set()

    async def get(self) -> Any:
        items = self._items
        while not items:
            self._nonempty.clear()
            await self._nonempty.wait()
        return items.popleft()


# -- one-way throughput: a producer task sends n messages, main receives them ---------------


def oneway_asyncio_queue(n: int) -> Sample:
    async def main() -> Sample:
        queue: asyncio.Queue[int | None] = asyncio.Queue(CAPACITY)

        async def produce() -> None:
            for i in range(n):
                await queue.put(i)
            await queue.put(_STOP)

        start = clock()
        producer = asyncio.create_task(produce())
        got = 0
        while await queue.get() is not _STOP:
            got += 1
        seconds = clock() - start
        await producer
        return Sample(got, seconds)

    return asyncio.run(main())


def oneway_asyncio_queue_rows(n: int) -> Sample:
    """``asyncio.Queue`` one-way, recording what labkit's trace records per message (a
    ``send`` and a ``receive`` event of ten fields each, with a clock read) in the cheapest
    way Python has: appended in place to one flat list, no call, no checks. Not a library:
    the floor for any Python tracer, so "trace on" rows can be read against it."""

    async def main() -> Sample:
        queue: asyncio.Queue[int | None] = asyncio.Queue(CAPACITY)
        events: list[Any] = []
        now = time.monotonic

        async def produce() -> None:
            nonlocal events
            for i in range(n):
                await queue.put(i)
                events += (now(), "send", "producer", "queue", i, None, "int",
                           queue.qsize(), "asyncio", None)
            await queue.put(_STOP)

        start = clock()
        producer = asyncio.create_task(produce())
        got = 0
        while (i := await queue.get()) is not _STOP:
            events += (now(), "receive", "main", "queue", i, None, "int", queue.qsize(),
                       "asyncio", None)
            got += 1
        seconds = clock() - start
        await producer
        if len(events) != 20 * got:
            raise AssertionError(f"{len(events) // 10} events for {got} messages")
        return Sample(got, seconds)

    return asyncio.run(main())


def oneway_deque_event(n: int) -> Sample:
    async def main() -> Sample:
        mailbox = DequeMailbox()

        async def produce() -> None:
            put = mailbox.put
            for i in range(n):
                put(i)
                if i % CAPACITY == 0:  # an unbounded mailbox never waits: let main run
                    await asyncio.sleep(0)
            put(_STOP)

        start = clock()
        producer = asyncio.create_task(produce())
        got = 0
        while await mailbox.get() is not _STOP:
            got += 1
        seconds = clock() - start
        await producer
        return Sample(got, seconds)

    return asyncio.run(main())


def oneway_anyio_stream(n: int) -> Sample:
    async def main() -> Sample:
        send, receive = anyio.create_memory_object_stream[int](CAPACITY)

        async def produce() -> None:
            async with send:
                for i in range(n):
                    await send.send(i)

        got = 0
        start = clock()
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            async with receive:
                async for _ in receive:
                    got += 1
            seconds = clock() - start
        return Sample(got, seconds)

    return anyio.run(main, backend="asyncio")


# -- round trips: main sends a ping, a server task answers with a pong ----------------------


def roundtrip_asyncio_queue(n: int) -> Sample:
    async def main() -> Sample:
        ping: asyncio.Queue[int | None] = asyncio.Queue(CAPACITY)
        pong: asyncio.Queue[int] = asyncio.Queue(CAPACITY)

        async def serve() -> None:
            while (msg := await ping.get()) is not _STOP:
                await pong.put(msg)

        start = clock()
        server = asyncio.create_task(serve())
        done = 0
        for i in range(n):
            await ping.put(i)
            done += await pong.get() == i
        seconds = clock() - start
        await ping.put(_STOP)
        await server
        return Sample(done, seconds)

    return asyncio.run(main())


def roundtrip_deque_event(n: int) -> Sample:
    async def main() -> Sample:
        ping, pong = DequeMailbox(), DequeMailbox()

        async def serve() -> None:
            while (msg := await ping.get()) is not _STOP:
                pong.put(msg)

        start = clock()
        server = asyncio.create_task(serve())
        done = 0
        for i in range(n):
            ping.put(i)
            done += await pong.get() == i
        seconds = clock() - start
        ping.put(_STOP)
        await server
        return Sample(done, seconds)

    return asyncio.run(main())


def roundtrip_anyio_stream(n: int) -> Sample:
    async def main() -> Sample:
        ping_tx, ping_rx = anyio.create_memory_object_stream[int](CAPACITY)
        pong_tx, pong_rx = anyio.create_memory_object_stream[int](CAPACITY)

        async def serve() -> None:
            async with ping_rx, pong_tx:
                async for msg in ping_rx:
                    await pong_tx.send(msg)

        done = 0
        start = clock()
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
            async with ping_tx:
                for i in range(n):
                    await ping_tx.send(i)
                    done += await pong_rx.receive() == i
                seconds = clock() - start
        return Sample(done, seconds)

    return anyio.run(main, backend="asyncio")


# -- Pykka: one thread per actor; tell is fire-and-forget, ask blocks for the reply --------


class _Echo(pykka.ThreadingActor):
    """Counts the messages it is told and answers every ask with the message itself."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    def on_receive(self, message: Any) -> Any:
        if message is _STOP:
            return self.received
        self.received += 1
        return message


def oneway_pykka_tell(n: int) -> Sample:
    ref = _Echo.start()
    try:
        start = clock()
        tell = ref.tell
        for i in range(n):
            tell(i)
        got = cast(int, ref.ask(_STOP))  # FIFO mailbox: answered after every tell
        seconds = clock() - start
    finally:
        ref.stop()
    return Sample(got, seconds)


def roundtrip_pykka_ask(n: int) -> Sample:
    ref = _Echo.start()
    try:
        start = clock()
        ask = ref.ask
        done = 0
        for i in range(n):
            done += ask(i) == i
        seconds = clock() - start
    finally:
        ref.stop()
    return Sample(done, seconds)


# -- memory: n idle actors, each a task blocked on its own empty queue ---------------------


async def _idle_actor(mailbox: asyncio.Queue[Any]) -> None:
    while True:
        await mailbox.get()


def idle_asyncio_tasks(n: int) -> Sample:
    async def main() -> Sample:
        before = memory_now()
        start = clock()
        tasks = [asyncio.create_task(_idle_actor(asyncio.Queue())) for _ in range(n)]
        await asyncio.sleep(0)  # each task runs to its first get() and parks there
        seconds = clock() - start
        held = memory_held(before)
        idle = sum(not task.done() for task in tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return Sample(idle, seconds, held)

    return asyncio.run(main())
