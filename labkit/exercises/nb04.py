"""Notebook 04 (supervision): the checks of its exercises.

04.1 a Go-style worker goroutine that survives panics (a ``recover`` restart loop, G31,
G32); 04.2 a Rust-style ``JoinSet`` supervisor that respawns a worker whose task panicked
(R33, R34). Each check runs the learner's function over :data:`labkit.exercises.SEEDS`:
the same jobs, with three poison jobs drawn by the seed, and says exactly what happened.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import labkit
from labkit import Deadlock, go, rust
from labkit._runtime.core import current_task
from labkit.exercises import SEEDS, blocked_text, exercise, innermost, not_async_function
from labkit.go import Panic

__all__ = ("JOBS", "POISONED", "UNTIL", "WORKERS", "JobQueue", "rust_worker")

#: Jobs 0 to JOBS - 1 go to WORKERS workers; POISONED of them (drawn by the seed) panic.
JOBS = 20
WORKERS = 2
POISONED = 3
#: Virtual seconds after which a check stops a run that is still going.
UNTIL = 30.0


@dataclass
class _Log:
    """What the harness saw: panics as (time, goroutine or task, job), answers, workers
    started and returned (name, time), and when ``jobs`` was closed."""

    poison: set[int] = field(default_factory=set)
    panics: list[tuple[float, str, int]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    returned: list[tuple[str, float]] = field(default_factory=list)
    closed_at: float | None = None
    restarts: Any = None


def _draw(log: _Log) -> list[float]:
    """The seed's poison jobs (never the first two) and each job's handling time."""
    rng = labkit.rng()
    log.poison = set(rng.sample(range(2, JOBS), POISONED))
    return [rng.uniform(0.01, 0.05) for _ in range(JOBS)]


def _names(panics: list[tuple[float, str, int]]) -> str:
    return ", ".join(f"'poison job {job}' in {who} at t={t:.2f} s" for t, who, job in panics)


# == 04.1: a Go worker that survives panics (G31, G32) =======================================


async def _go_main(worker: Callable[..., Any], log: _Log) -> None:
    """main: WORKERS goroutines run ``worker(jobs, results, handle)``; main sends JOBS jobs
    on the unbuffered ``jobs``, closes it, waits for the workers, then reads ``results``."""
    costs = _draw(log)

    async def handle(job: int) -> int:
        await go.sleep(costs[job])
        if job in log.poison:
            log.panics.append((labkit.now(), current_task().name, job))
            go.panic(f"poison job {job}")
        return job * job

    jobs: go.Chan[int] = go.Chan()
    results: go.Chan[int] = go.Chan(4 * JOBS)
    wg = go.WaitGroup()

    async def run_worker() -> None:
        await worker(jobs, results, handle)
        log.returned.append((current_task().name, labkit.now()))
        wg.done()

    for _ in range(WORKERS):
        wg.add(1)
        go.go(run_worker)
    for job in range(JOBS):
        await jobs.send(job)
    jobs.close()
    log.closed_at = labkit.now()
    await wg.wait()
    results.close()
    log.answers = [v async for v in results]


def _good(log: _Log) -> list[int]:
    return [job for job in range(JOBS) if job not in log.poison]


@exercise(
    "04.1", "a Go worker that survives panics",
    hints=(
        "Run the check on the starting code and read where the program ended: one panic "
        "in one worker goroutine ended the whole program (G31). Only that goroutine can "
        "stop it, with a deferred `recover()` (G32): `with go.recover() as r:` here.",
        "Put the work inside `with go.recover() as r:`. But a block that wraps the whole "
        "`async for` loop ends the loop at the first panic: the worker then returns and "
        "takes no more jobs. After a recovered panic it must go back to taking jobs.",
        "Either recover per job: `async for job in jobs:` then `with go.recover():` around "
        "`await results.send(await handle(job))`; or a restart loop: `while True:` around "
        "`with go.recover() as r:` holding the `async for` loop followed by `return` (the "
        "channel was closed and drained: done).",
    ),
    praise="every worker survives its panics and goes back to its jobs: every good job is "
           "answered, each poison job is lost (the job being handled at a panic, like an "
           "actor's dead letter) and the program ends normally. That hand-written loop is "
           "Go's supervision: nothing restarts a goroutine for you (G31, G32).",
)
def _judge_go_worker(worker: object) -> Iterator[str]:
    problem = not_async_function("worker", worker)
    if problem:
        yield problem
        return
    assert callable(worker)
    for seed in SEEDS:
        log = _Log()
        try:
            run = labkit.simulate(_go_main, worker, log, seed=seed, until=UNTIL)
        except Deadlock as exc:
            gone = [(who, t) for who, t in log.returned
                    if log.closed_at is None or t < log.closed_at]
            if gone:
                yield (f"with seed {seed} the workers returned while jobs were still coming "
                       f"({', '.join(f'{who} at t={t:.2f} s' for who, t in gone)}), after "
                       f"recovering from {_names(log.panics)}; with no worker left, main "
                       f"blocked sending the next job at t={exc.at:.2f} s (deadlock). A "
                       "worker that recovers must go back to its loop, not return (G32)")
            else:
                yield (f"with seed {seed} every goroutine blocked at t={exc.at:.2f} s "
                       f"(deadlock): {blocked_text(exc)}")
            return
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            inner = innermost(exc)
            run_ = getattr(inner, "run", None)
            fails = None if run_ is None else run_.trace.events("fail")
            if isinstance(inner, Panic) and fails is not None and len(fails):
                t, who = float(fails["time"].iloc[-1]), str(fails["actor"].iloc[-1])
                yield (f"with seed {seed} the program ended at t={t:.2f} s with panic "
                       f"'{inner}' from {who}: a panic that nobody recovers ends the "
                       "whole program, every goroutine with it (G31). A panic must be "
                       "recovered in the goroutine that panics (G32): wrap the work in "
                       "`with go.recover() as r:` inside the worker")
            else:
                yield (f"with seed {seed} your code raised {type(inner).__name__}: {inner}")
            return
        if not run.completed:
            repeats = len(log.panics) - len({job for _t, _w, job in log.panics})
            if repeats > 0:
                yield (f"with seed {seed} the program was still running at t={UNTIL:g} s "
                       f"after {len(log.panics)} panics: a poison job was handled again "
                       "and again. A poison job fails every time: let it go (it is lost) "
                       "and take the next job")
            else:
                yield (f"with seed {seed} the program was still running at t={UNTIL:g} s: "
                       "the workers never returned. Return once `jobs` is closed and "
                       "drained (the `async for` loop ends)")
            return
        early = [(who, t) for who, t in log.returned
                 if log.closed_at is not None and t < log.closed_at]
        if early:
            who, t = early[0]
            yield (f"with seed {seed} {who} returned at t={t:.2f} s after recovering from "
                   f"{_names([p for p in log.panics if p[1] == who][:1])}, while jobs were "
                   "still coming: the other worker had to do its share. After a recovered "
                   "panic a worker must go back to its loop (G32)")
            return
        good = _good(log)
        missing = sorted(set(j * j for j in good) - set(log.answers))
        if missing:
            jobs = [int(v ** 0.5) for v in missing]
            yield (f"with seed {seed} jobs {jobs} were never answered on `results`: every "
                   "job that does not panic must be answered")
            return
        if sorted(log.answers) != sorted(j * j for j in good):
            yield (f"with seed {seed} `results` got {len(log.answers)} answers for "
                   f"{len(good)} good jobs ({sorted(log.answers)}): send one answer per "
                   "good job, nothing for a poison job")
            return


# == 04.2: a Rust JoinSet supervisor (R33, R34) =============================================


class JobQueue:
    """The jobs the workers share (in tokio an ``Arc<Mutex<VecDeque<Job>>>``): ``await
    take()`` gives the next job, or ``None`` when none is left; taking one takes 10 ms."""

    def __init__(self, log: _Log, costs: list[float]) -> None:
        self._jobs = deque(range(JOBS))
        self.log = log
        self.costs = costs

    async def take(self) -> int | None:
        await rust.sleep(0.010)
        return self._jobs.popleft() if self._jobs else None

    async def handle(self, job: int) -> None:
        await rust.sleep(self.costs[job])
        if job in self.log.poison:
            self.log.panics.append((labkit.now(), current_task().name, job))
            raise RuntimeError(f"poison job {job}")  # a panic: the task ends (R33)
        self.log.answers.append(job)


async def rust_worker(jobs: JobQueue) -> None:
    """A worker task: handle jobs until the queue is empty (then return Ok); a poison job
    makes it panic, and its JoinHandle gives Err(JoinError) with is_panic() (R33)."""
    while (job := await jobs.take()) is not None:
        await jobs.handle(job)


async def _rust_main(supervise: Callable[..., Any], log: _Log) -> None:
    jobs = JobQueue(log, _draw(log))
    log.restarts = await supervise(rust_worker, jobs, WORKERS)


@exercise(
    "04.2", "a Rust JoinSet supervisor",
    hints=(
        "In tokio a task's panic does not end the program: `join_next()` hands it to you "
        "as `Err(JoinError)` (R33). The starting code looks at nothing and respawns "
        "nothing, so every worker that panics is simply gone.",
        "Look at each result of `join_next()`: `rust.Ok(_)` means the worker found the "
        "queue empty (done: do not respawn it); `rust.Err(err)` with `err.is_panic()` "
        "means it panicked: spawn a new worker into the set, and count it (R34).",
        "`match res:` / `case rust.Err(err) if err.is_panic():` `restarts += 1; "
        "tasks.spawn(worker, jobs)` / `case _: pass`; return `restarts` after the loop "
        "(`join_next()` gives None once the set is empty).",
    ),
    praise="your supervisor keeps the pool at full strength: each panic comes back as a "
           "JoinError (R33) and a fresh worker takes its place, finished workers are not "
           "respawned, and every good job is handled. That loop is the idiomatic tokio "
           "supervisor (R34); OTP's one_for_one with no intensity limit.",
)
def _judge_joinset(supervise: object) -> Iterator[str]:
    problem = not_async_function("supervise", supervise)
    if problem:
        yield problem
        return
    assert callable(supervise)
    for seed in SEEDS:
        log = _Log()
        try:
            run = labkit.simulate(_rust_main, supervise, log, seed=seed, until=UNTIL)
        except Deadlock as exc:
            yield (f"with seed {seed} every task blocked at t={exc.at:.2f} s (deadlock): "
                   f"{blocked_text(exc)}")
            return
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            inner = innermost(exc)
            if log.panics and str(inner) == f"poison job {log.panics[-1][2]}":
                yield (f"with seed {seed} your supervisor itself panicked with "
                       f"'{inner}' at t={log.panics[-1][0]:.2f} s: it re-raised a "
                       "worker's panic (`join_all()` or `into_panic()` does that). Look at "
                       "each `join_next()` result instead and respawn (R33, R34)")
            else:
                yield f"with seed {seed} your code raised {type(inner).__name__}: {inner}"
            return
        spawns = run.trace.events("spawn")
        starts, panics = int((spawns["model"] == "rust").sum()), len(log.panics)
        if not run.completed or starts > WORKERS + panics:
            yield (f"with seed {seed} {starts} workers were started for {panics} panics "
                   f"({'still going' if not run.completed else 'finished'} at "
                   f"t={run.elapsed:.2f} s): you respawned workers that had returned "
                   "Ok (the queue was empty). Respawn only when `err.is_panic()`")
            return
        if starts < WORKERS + panics:
            gone = panics - (starts - WORKERS)
            yield (f"with seed {seed} {panics} workers panicked ({_names(log.panics)}) and "
                   f"{gone} of them were not respawned: the pool ran with fewer than "
                   f"{WORKERS} workers. `join_next()` gave Err(JoinError) with "
                   "`is_panic()` for each (R33): spawn a new worker into the set then (R34)")
            return
        good = _good(log)
        if sorted(log.answers) != good:
            missing = sorted(set(good) - set(log.answers))
            yield (f"with seed {seed} jobs {missing} were never handled: keep looping on "
                   "`join_next()` until it gives None")
            return
        if log.restarts != panics:
            yield (f"with seed {seed} supervise returned {log.restarts!r}, but it restarted "
                   f"{panics} workers: return the number of workers you respawned")
            return
