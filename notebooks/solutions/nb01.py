"""Reference solutions to notebook 01's exercises, and a typical wrong answer to each.

Try the exercise and its hints first (``exercises.hint("01.1")``, then 2 and 3).
"""

from __future__ import annotations

from typing import Any

from labkit import go, rust

# -- 01.1: add the missing close --------------------------------------------------------


async def producer(jobs: go.Chan[int], n: int) -> None:
    """Send 0..n-1 on jobs, then say there is no more: the sender closes, once (G16)."""
    for i in range(n):
        await go.sleep(0.010)
        await jobs.send(i)
    jobs.close()


async def producer_without_close(jobs: go.Chan[int], n: int) -> None:
    """The starting code: the consumer's range loop never ends."""
    for i in range(n):
        await go.sleep(0.010)
        await jobs.send(i)


async def producer_closing_in_the_loop(jobs: go.Chan[int], n: int) -> None:
    """Closes after the first send: the second send panics (G13)."""
    for i in range(n):
        await go.sleep(0.010)
        await jobs.send(i)
        jobs.close()


# -- 01.2: the consumer's own Sender ----------------------------------------------------


async def consumer(rx: Any, me: Any, got: list[int]) -> None:
    """Keep only a WeakSender to the own mailbox (R20): it does not keep it open."""
    weak = me.downgrade()  # upgrade() gives a Sender back, to re-queue work, while open
    me.drop()
    while (v := await rx.recv()) is not None:
        got.append(v)
    weak.drop()


async def consumer_holding_me(rx: Any, me: Any, got: list[int]) -> None:
    """The starting code: `me` keeps the channel open, recv() never returns None."""
    while (v := await rx.recv()) is not None:
        got.append(v)
    me.drop()


async def consumer_downgrading_only(rx: Any, me: Any, got: list[int]) -> None:
    """Makes a WeakSender but keeps the strong one too."""
    weak = me.downgrade()
    while (v := await rx.recv()) is not None:
        got.append(v)
    weak.drop()
    me.drop()


# -- 01.6: shutdown first: a biased select ---------------------------------------------


async def worker(token: Any, jobs: Any, handled: list[int]) -> None:
    """Token first, biased: the first select after the shutdown returns (R28)."""
    while True:
        index, job = await rust.select(token.cancelled(), jobs.recv(), biased=True)
        if index == 0:
            return
        handled.append(job)
        await rust.sleep(0.001)


async def worker_random_start(token: Any, jobs: Any, handled: list[int]) -> None:
    """The starting code: a random start sometimes takes one more job after the shutdown."""
    while True:
        index, job = await rust.select(jobs.recv(), token.cancelled())
        if index == 1:
            return
        handled.append(job)
        await rust.sleep(0.001)


async def worker_jobs_first(token: Any, jobs: Any, handled: list[int]) -> None:
    """Biased with the busy branch first: the token starves until jobs run dry."""
    while True:
        index, job = await rust.select(jobs.recv(), token.cancelled(), biased=True)
        if index == 1:
            return
        handled.append(job)
        await rust.sleep(0.001)


SOLUTIONS: dict[str, tuple[Any, ...]] = {
    "01.1": (producer,),
    "01.2": (consumer,),
    "01.3": (16,),
    "01.4": (1,),
    "01.5": (8, False),
    "01.6": (worker,),
}

WRONG: dict[str, tuple[Any, ...]] = {
    "01.1": (producer_without_close,),
    "01.2": (consumer_holding_me,),
    "01.3": (11,),
    "01.4": (0,),
    "01.5": (8, True),
    "01.6": (worker_random_start,),
}
