"""A small scenario whose trace must be identical across processes for one seed.

Run as a script: ``python tests/_det_scenario.py SEED`` prints the trace as CSV.
"""

from __future__ import annotations

import sys

import anyio

import labkit
from labkit._runtime import current
from labkit.channel import CLOSED, Channel


async def worker(name: str, jobs: Channel[int], results: Channel[tuple[str, int]]) -> None:
    rng = labkit.rng()
    while True:
        status, job = await jobs.recv()
        if status == CLOSED:
            return
        await anyio.sleep(rng.uniform(0.001, 0.01))
        await results.send((name, job * job))


async def main(n_jobs: int) -> dict[str, int]:
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
        _status, (name, _square) = await results.recv()
        per_worker[name] = per_worker.get(name, 0) + 1
    return per_worker


def trace_csv(seed: int) -> str:
    run = labkit.simulate(main, 200, seed=seed)
    return str(run.trace.df.to_csv(index=False))


if __name__ == "__main__":
    sys.stdout.write(trace_csv(int(sys.argv[1])))
