"""Reference solutions to notebook 04's exercises, and typical wrong answers.

Try the exercise and its hints first (``exercises.hint("04.1")``, then 2 and 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from labkit import go, rust

Handle = Callable[[int], Awaitable[int]]

# -- 04.1: a Go worker that survives panics ------------------------------------------------


async def worker(jobs: go.Chan[int], results: go.Chan[int], handle: Handle) -> None:
    """A restart loop: a recovered panic loses the job in hand; the loop goes on.

    In Go::

        func worker(jobs <-chan int, results chan<- int) {
            for !work(jobs, results) {
            }
        }

        // work returns true when jobs is closed and drained, false after a panic
        func work(jobs <-chan int, results chan<- int) (done bool) {
            defer func() {
                if r := recover(); r != nil {
                    log.Println("recovered:", r) // the job in hand is lost
                }
            }()
            for job := range jobs {
                results <- handle(job)
            }
            return true
        }
    """
    while True:
        with go.recover():  # `as r`: r.value is the panic, which Go would log
            async for job in jobs:
                await results.send(await handle(job))
            return  # jobs is closed and drained
        # a panic was recovered: the job in hand is lost; loop and take the next one


async def worker_per_job(jobs: go.Chan[int], results: go.Chan[int], handle: Handle) -> None:
    """Also right: recover around each job (a func with a deferred recover per job)."""
    async for job in jobs:
        with go.recover():
            await results.send(await handle(job))


async def worker_no_recover(jobs: go.Chan[int], results: go.Chan[int], handle: Handle) -> None:
    """The starting code: the first poison job's panic ends the whole program (G31)."""
    async for job in jobs:
        await results.send(await handle(job))


async def worker_recovers_and_returns(jobs: go.Chan[int], results: go.Chan[int],
                                      handle: Handle) -> None:
    """Recovers, but the loop is over: the worker returns and takes no more jobs."""
    with go.recover():
        async for job in jobs:
            await results.send(await handle(job))


# -- 04.2: a Rust JoinSet supervisor --------------------------------------------------------


async def supervise(worker: Callable[..., Awaitable[None]], jobs: Any, n: int) -> int:
    """Spawn n workers; respawn each one whose task panicked; return the respawns.

    In Rust::

        let mut set = JoinSet::new();
        for _ in 0..n { set.spawn(worker(jobs.clone())); }
        let mut restarts = 0;
        while let Some(res) = set.join_next().await {
            match res {
                Err(e) if e.is_panic() => {
                    restarts += 1;
                    set.spawn(worker(jobs.clone()));
                }
                _ => {} // Ok(()): the queue is empty, this worker is done
            }
        }
        restarts
    """
    tasks: rust.JoinSet[None] = rust.JoinSet()
    for _ in range(n):
        tasks.spawn(worker, jobs)
    restarts = 0
    while (res := await tasks.join_next()) is not None:
        match res:
            case rust.Err(err) if err.is_panic():
                restarts += 1
                tasks.spawn(worker, jobs)
            case _:
                pass
    return restarts


async def supervise_ignores_errors(worker: Callable[..., Awaitable[None]], jobs: Any,
                                   n: int) -> int:
    """The starting code: panicked workers are gone and nobody replaces them."""
    tasks: rust.JoinSet[None] = rust.JoinSet()
    for _ in range(n):
        tasks.spawn(worker, jobs)
    while await tasks.join_next() is not None:
        pass
    return 0


async def supervise_respawns_everything(worker: Callable[..., Awaitable[None]], jobs: Any,
                                        n: int) -> int:
    """Respawns every worker that ends, Ok included: it never stops."""
    tasks: rust.JoinSet[None] = rust.JoinSet()
    for _ in range(n):
        tasks.spawn(worker, jobs)
    restarts = 0
    while await tasks.join_next() is not None:
        restarts += 1
        tasks.spawn(worker, jobs)
    return restarts


SOLUTIONS: dict[str, tuple[Any, ...]] = {
    "04.1": (worker,),
    "04.2": (supervise,),
}

WRONG: dict[str, tuple[Any, ...]] = {
    "04.1": (worker_no_recover,),
    "04.2": (supervise_ignores_errors,),
}
