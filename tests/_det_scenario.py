"""Scenarios whose traces must be identical across processes for one seed.

Run as a script: ``python tests/_det_scenario.py SEED`` prints the traces as CSV.
They exercise every source of choice: the run's RNG, Go ``select`` (uniform among ready
cases), tokio ``select`` (random start), timers due at the same instant, actors.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import labkit
from labkit import go, rust
from labkit._runtime import current
from labkit.actor import Actor, ActorSystem, Context, Mailbox
from labkit.channel import Channel


async def worker(name: str, jobs: Channel[int], results: Channel[tuple[str, int]]) -> None:
    rng = labkit.rng()
    async for job in jobs:
        await anyio.sleep(rng.uniform(0.001, 0.01))
        await results.send((name, job * job))


async def core_main(n_jobs: int) -> dict[str, int]:
    jobs: Channel[int] = Channel(4)
    results: Channel[tuple[str, int]] = Channel(None)
    names = {f"w{i}" for i in range(4)}  # a set of strings: its order must not leak
    for name in sorted(names):
        current().start_task(worker, (name, jobs, results), prefix=name, model="go")
    for job in range(n_jobs):
        await jobs.send(job)
    jobs.close()
    per_worker: dict[str, int] = {}
    for _ in range(n_jobs):
        (name, _square), _ok = await results.recv()
        per_worker[name] = per_worker.get(name, 0) + 1
    return per_worker


async def go_producer(ch: go.Chan[int], start: int) -> None:
    for i in range(start, start + 50):
        await ch.send(i)
        await go.sleep(0.001 * (i % 3))
    ch.close()


async def go_main() -> list[int]:
    a: go.Chan[int] = go.Chan(2)
    b: go.Chan[int] = go.Chan(2)
    go.go(go_producer, a, 0)
    go.go(go_producer, b, 1000)
    got: list[int] = []
    open_a, open_b = True, True
    while open_a or open_b:
        sel = await go.select(go.Recv(a if open_a else go.nil), go.Recv(b if open_b else go.nil))
        if not sel.ok:
            if sel.index == 0:
                open_a = False
            else:
                open_b = False
            continue
        got.append(sel.value)
    return got


async def rust_producer(tx: Any, base: int) -> None:
    with tx:
        for i in range(30):
            await tx.send(base + i)


async def rust_main() -> list[int]:
    tx1, rx1 = rust.mpsc.channel(3)
    tx2, rx2 = rust.mpsc.channel(3)
    rust.spawn(rust_producer, tx1, 0)
    rust.spawn(rust_producer, tx2, 500)
    got: list[int] = []
    while len(got) < 60:
        _index, value = await rust.select(rx1.recv(), rx2.recv())
        if value is not None:
            got.append(value)
    return got


class Counter(Actor):
    def __init__(self) -> None:
        self.total = 0

    async def receive(self, msg: Any, ctx: Context) -> Any:
        self.total += int(msg)
        await anyio.sleep(labkit.rng().uniform(0.0, 0.002))
        return self.total


async def actor_main() -> int:
    async with ActorSystem() as system:
        ref = system.spawn(Counter, name="counter", mailbox=Mailbox(4, overflow="drop_head"))
        for i in range(20):
            ref.tell(i)
        return int(await ref.ask(100, timeout=10.0))


SCENARIOS: dict[str, tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]] = {
    "core": (core_main, (200,)), "go": (go_main, ()), "rust": (rust_main, ()),
    "actor": (actor_main, ()),
}


def trace_csv(seed: int) -> str:
    out = []
    for name, (main, args) in SCENARIOS.items():
        run = labkit.simulate(main, *args, seed=seed)
        out.append(f"# {name} result={run.result!r}\n")
        out.append(str(run.trace.df.to_csv(index=False)))
    return "".join(out)


if __name__ == "__main__":
    sys.stdout.write(trace_csv(int(sys.argv[1])))
