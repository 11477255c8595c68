"""Reference solutions (and typical wrong answers) for notebook 02's exercises.

Try the hints first: ``exercises.hint("02.2")``, then 2, then 3.
"""

from __future__ import annotations

import statistics

from labkit import exercises, go, scenarios
from labkit.exercises.nb02 import PoolJob


async def worker_pool(jobs: list[PoolJob], workers: int) -> None:
    """Go's worker pool: every worker ranges over ONE shared channel (G7)."""
    queue: go.Chan[PoolJob] = go.Chan(len(jobs))
    wg = go.WaitGroup()
    wg.add(workers)

    async def worker() -> None:
        async for job in queue:  # whichever worker is free receives the next job
            await job.run()
        wg.done()

    for _ in range(workers):
        go.go(worker)
    for job in jobs:
        await queue.send(job)
    queue.close()  # every worker's range ends once the queue is drained (G28)
    await wg.wait()


async def per_worker_pool(jobs: list[PoolJob], workers: int) -> None:
    """The starting code: one channel per worker, jobs dealt round-robin (wrong)."""
    chans: list[go.Chan[PoolJob]] = [go.Chan(len(jobs)) for _ in range(workers)]
    wg = go.WaitGroup()
    wg.add(workers)

    async def worker(mine: go.Chan[PoolJob]) -> None:
        async for job in mine:
            await job.run()
        wg.done()

    for ch in chans:
        go.go(worker, ch)
    for i, job in enumerate(jobs):
        await chans[i % workers].send(job)
    for ch in chans:
        ch.close()
    await wg.wait()


def tail_ratio() -> float:
    """The median over the check's seeds of Rust p99 / Go p99 (8 workers, spread 2)."""
    ratios = [scenarios.work_queue("rust", workers=8, spread=2.0, seed=s).result.p99
              / scenarios.work_queue("go", workers=8, spread=2.0, seed=s).result.p99
              for s in exercises.SEEDS]
    return statistics.median(ratios)


SOLUTIONS = {
    "02.1": (1 / 6, 5 / 6),
    "02.2": (worker_pool,),
    "02.3": (tail_ratio(),),
    "02.4": (100, "actor"),
    "02.5": (129, 256),
}

WRONG = {
    "02.1": (0.5, 0.5),
    "02.2": (per_worker_pool,),
    "02.3": (1.0,),
    "02.4": (100, "go"),
    "02.5": (128, 128),
}
