"""Notebook 02 (routing): the checks of its exercises.

02.1 how many keys move on a hash ring (a number); 02.2 write Go's worker pool on one shared
channel (code, run over :data:`~labkit.exercises.SEEDS`); 02.3 how much longer the
per-worker-queue tail is, judged on the median over seeds; 02.4 the shortest deadline for
four answers, and which model lets the late worker finish; 02.5 a broadcast capacity that
loses nothing for every seed.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import labkit
from labkit import go, scenarios, trace
from labkit.exercises import SEEDS, attempt, exercise, not_async_function

__all__ = ("DELAYS", "POOL_JOBS", "POOL_WORKERS", "PoolJob", "p99_ratio_median", "pool_durations")

# -- 02.1 --------------------------------------------------------------------------------


def _fraction(name: str, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 <= value <= 1:
        return f"set {name} to a fraction between 0 and 1 (got {value!r})"
    return None


@exercise(
    "02.1", "how many keys move",
    hints=(
        "A newcomer on a ring takes over only the arcs in front of its own points; with "
        "N+1 workers sharing evenly, what share does each one own?",
        "Ring: the newcomer ends up owning about 1/(N+1) of the keys, and nothing else "
        "moves. hash % N: a key stays only when h % 5 == h % 6.",
        "Ring: about 1/6. hash % N: h % 5 == h % 6 holds for 5 of every 30 residues, so "
        "about 25/30 = 5/6 of the keys move.",
    ),
    praise="the ring moves about 1/6 of the keys (the newcomer's share, the least any "
           "scheme can move) and hash % N about 5/6: nearly every key's state would move.",
)
def _key_movement(ring: object, modulo: object) -> Iterator[str]:
    problems = [p for p in (_fraction("ring_moved", ring),
                            _fraction("modulo_moved", modulo)) if p]
    if problems:
        yield from problems
        return
    assert isinstance(ring, int | float) and isinstance(modulo, int | float)
    r = scenarios.key_movement(workers=5, keys=10_000).result
    if abs(ring - r.ring_add) > 0.04:
        yield (f"the ring figure is off (you said {ring:.2f}): a newcomer takes its share "
               "of the keys from the others, and nothing else moves")
    if abs(modulo - r.modulo_add) > 0.05:
        yield (f"the hash % N figure is off (you said {modulo:.2f}): a key keeps its "
               "owner only if hash % 5 == hash % 6")


# -- 02.2 --------------------------------------------------------------------------------

#: How many jobs and workers the pool check uses.
POOL_JOBS = 24
POOL_WORKERS = 4
_EPS = 1e-9


@dataclass
class _Log:
    runs: dict[int, list[tuple[str, float, float]]] = field(default_factory=dict)
    returned: float = math.nan


@dataclass
class PoolJob:
    """One job of exercise 02.2: ``await job.run()`` does its work (``duration`` seconds)
    and notes which goroutine ran it, and when."""

    number: int
    duration: float
    _log: _Log

    async def run(self) -> None:
        """Do the job's work in the calling goroutine."""
        start = labkit.now()
        await go.sleep(self.duration)
        self._log.runs.setdefault(self.number, []).append(
            (trace.current_task_name(), start, labkit.now()))


def pool_durations(seed: int, n: int = POOL_JOBS) -> list[float]:
    """The check's job durations for ``seed``: mean 10 ms, many short and a few long."""
    rng = random.Random(seed)
    return [round(rng.gammavariate(0.25, 0.04), 6) for _ in range(n)]


def _judge_pool(answer: Callable[[list[PoolJob], int], Awaitable[Any]],
                seed: int) -> str | None:
    durations = pool_durations(seed)

    async def main() -> _Log:
        log = _Log()
        await answer([PoolJob(i, d, log) for i, d in enumerate(durations)], POOL_WORKERS)
        log.returned = labkit.now()
        return log

    tried = attempt(main, seed=seed, until=60.0)
    if tried.problem:
        hint = (" (the workers wait on a channel nobody closed: `range` ends only when "
                "it is closed and drained, G28; close it after the last send, G16)"
                if "deadlock" in tried.problem
                else "")
        return tried.problem + hint
    assert tried.run is not None
    log: _Log = tried.run.result
    runs = log.runs
    twice = sorted(i for i, r in runs.items() if len(r) > 1)
    if twice:
        return f"with seed {seed} job {twice[0]} ran {len(runs[twice[0]])} times: each job once"
    done = sum(1 for i in runs if runs[i][0][2] <= log.returned + _EPS)
    if done < len(durations):
        return (f"with seed {seed} only {done} of {len(durations)} jobs had finished when "
                "worker_pool returned: wait for the workers (a sync.WaitGroup, G40) before "
                "returning")
    spans = [(i, *runs[i][0]) for i in range(len(durations))]
    who = {name for _, name, _, _ in spans}
    if "main" in who:
        return (f"with seed {seed} main ran a job itself: start {POOL_WORKERS} worker "
                "goroutines with go.go and let them run the jobs")
    if len(who) > POOL_WORKERS:
        return (f"with seed {seed} {len(who)} goroutines ran jobs: a pool has exactly "
                f"{POOL_WORKERS} workers (no goroutine per job)")
    at_zero = sum(1 for _, _, start, _ in spans if start <= _EPS)
    if at_zero < POOL_WORKERS:
        return (f"with seed {seed} only {at_zero} job(s) started at t=0 although "
                f"{POOL_WORKERS} workers were free: start all workers before sending")
    # Work conserving: no job waits while a worker is idle.
    last_end = {name: max(e for _, n, _, e in spans if n == name) for name in who}
    for name in sorted(who):
        mine = sorted((s, e) for _, n, s, e in spans if n == name)
        for (_, end), (start, _) in itertools.pairwise(mine):
            if start > end + _EPS:
                return (f"with seed {seed} {name} sat idle from t={end:.3f} s to "
                        f"t={start:.3f} s while jobs were waiting")
    worst = max(((s - last_end[n2], n2, i, s) for i, _, s, _ in spans for n2 in who),
                default=(0.0, "", -1, 0.0))
    if worst[0] > _EPS:
        _, name, job, start = worst
        return (f"with seed {seed} {name} ran out of work at t={last_end[name]:.3f} s "
                f"while job {job} still waited in another worker's queue until "
                f"t={start:.3f} s: one channel per worker fixes each job's worker before "
                "anyone knows how long the jobs ahead take (the per-worker-queue design "
                "that tokio's single-consumer mpsc leads to); in Go let every worker "
                "range over ONE shared channel (G7)")
    return None


@exercise(
    "02.2", "Go's worker pool on one shared channel",
    hints=(
        "In the starting code job i is bound to worker i % 4 before anyone knows how long "
        "the jobs ahead of it take. Which channel could all the workers share?",
        "A Go channel is MPMC (G7): any number of goroutines may receive from one channel, "
        "and each value goes to exactly one of them. Make ONE channel, start every worker "
        "on it, send every job to it, close it, wait.",
        "jobs_ch = go.Chan(len(jobs)); start `for _ in range(workers): go.go(worker, "
        "jobs_ch)`; then `for job in jobs: await jobs_ch.send(job)`; `jobs_ch.close()`; "
        "`await wg.wait()`.",
    ),
    praise="no job waited while a worker was idle, for every seed: whichever worker is "
           "free takes the next job from the shared channel (G7). That is the M/G/N queue "
           "of section 4, and why its tail is short.",
)
def _worker_pool(answer: object) -> Iterator[str]:
    problem = not_async_function("worker_pool", answer)
    if problem:
        yield problem
        return
    assert callable(answer)
    for seed in SEEDS:
        found = _judge_pool(answer, seed)
        if found:
            yield found
            return


# -- 02.3 --------------------------------------------------------------------------------

def p99_ratio_median(workers: int = 8, spread: float = 2.0) -> float:
    """The median, over :data:`SEEDS`, of Rust's per-worker round-robin p99 over Go's
    shared-queue p99 (``scenarios.work_queue``, load 0.8)."""
    ratios = [scenarios.work_queue("rust", workers=workers, spread=spread, seed=s).result.p99
              / scenarios.work_queue("go", workers=workers, spread=spread, seed=s).result.p99
              for s in SEEDS]
    return statistics.median(ratios)


@exercise(
    "02.3", "how much longer is the per-worker tail",
    hints=(
        "One run's p99 is noisy: compute the ratio for each seed in exercises.SEEDS and "
        "take the median.",
        "For each seed s: scenarios.work_queue('rust', workers=8, spread=2.0, seed=s)"
        ".result.p99 divided by the same with 'go'; then statistics.median of the five.",
        "ratios = [rust_p99(s) / go_p99(s) for s in exercises.SEEDS]; "
        "tail_ratio = statistics.median(ratios). Any value within 25% of it passes.",
    ),
    praise="within 25% of the median over five seeds: with 8 workers the per-worker "
           "queues' tail is about three times the shared queue's.",
)
def _tail_ratio(ratio: object) -> Iterator[str]:
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio <= 0:
        yield f"set tail_ratio to a positive number, Rust p99 / Go p99 (got {ratio!r})"
        return
    truth = p99_ratio_median(8, 2.0)
    if abs(ratio - truth) > 0.25 * truth:
        way = "high" if ratio > truth else "low"
        yield (f"{ratio:g} is too {way}: the median over seeds {list(SEEDS)} is more than "
               "25% away from it; compute one ratio per seed and take their median")


# -- 02.4 --------------------------------------------------------------------------------

#: The reply delays of section 5 (seconds).
DELAYS = (0.012, 0.045, 0.160, 0.030, 0.095)


def _answered(model: str, deadline_ms: int) -> int:
    return len(scenarios.scatter_gather(model, deadline=deadline_ms / 1000,
                                        delays=list(DELAYS)).result.answered)


@exercise(
    "02.4", "a deadline for four answers",
    hints=(
        "Sort the five delays: the fourth answer arrives at the fourth smallest.",
        "The fourth smallest of 12, 45, 160, 30 and 95 ms is 95 ms; round up to whole "
        "tens. Then: which model has no way to interrupt a worker mid-message?",
        "100 ms; and the actor model (Go's workers watch ctx.Done(), Rust's tasks are "
        "aborted at their next .await).",
    ),
    praise="100 ms gathers four answers; the fifth worker is stopped in Go (it watches "
           "ctx.Done(), G39) and Rust (abort at its next .await, R32), and still finishes "
           "as an actor.",
)
def _deadline(deadline_ms: object, model: object) -> Iterator[str]:
    if isinstance(deadline_ms, bool) or not isinstance(deadline_ms, int) \
            or deadline_ms <= 0 or deadline_ms % 10:
        yield f"set deadline_ms to a whole number of tens of ms: 10, 20, ... (got {deadline_ms!r})"
    if model not in ("go", "rust", "actor"):
        yield f"set late_model to 'go', 'rust' or 'actor' (got {model!r})"
    if not isinstance(deadline_ms, int) or isinstance(deadline_ms, bool) \
            or deadline_ms <= 0 or deadline_ms % 10 or model not in ("go", "rust", "actor"):
        return
    got = _answered("go", deadline_ms)
    if got < 4:
        yield f"by {deadline_ms} ms only {got} workers have answered, not four"
    elif deadline_ms > 10 and _answered("go", deadline_ms - 10) >= 4:
        yield f"{deadline_ms - 10} ms gathers four answers too: find the shortest"
    late = scenarios.scatter_gather(str(model), deadline=deadline_ms / 1000,
                                    delays=list(DELAYS)).result
    if late.late and not late.late_work_finished:
        yield (f"in the {model} model the late worker is stopped: which model cannot "
               "interrupt a worker in the middle of a message?")


# -- 02.5 --------------------------------------------------------------------------------


def _missed(capacity: int, seed: int) -> int:
    return scenarios.pubsub("rust", capacity=capacity, seed=seed).result.missed_total


@exercise(
    "02.5", "a broadcast big enough for the slow subscriber",
    hints=(
        "How far behind is slow-0 when the last message is sent? It handles 25 per second "
        "while 200 arrive in about 2 s. And tokio rounds the capacity up (R23).",
        "Roughly 150 messages are still unread at the end, so the ring must hold more than "
        "128. broadcast::channel(n) holds the next power of two at or above n.",
        "Any n from 129 to 256 gives 256 slots; 128 gives 128, one power of two too few. "
        "So asked_capacity = 129, held_capacity = 256.",
    ),
    praise="channel(129) is rounded up to 256 slots (R23), enough for slow-0's backlog with "
           "every seed; channel(128) holds only 128, and slow-0 gets Lagged.",
)
def _broadcast(asked: object, held: object) -> Iterator[str]:
    bad = [name for name, v in (("asked_capacity", asked), ("held_capacity", held))
           if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad:
        yield f"set {' and '.join(bad)} to whole numbers >= 1"
        return
    assert isinstance(asked, int) and isinstance(held, int)
    for seed in SEEDS:
        missed = _missed(asked, seed)
        if missed:
            yield (f"with channel({asked}) and seed {seed}, slow-0 still misses {missed} "
                   "messages (each reported as Lagged(k), R24)")
            return
    if asked > 1 and all(_missed(asked - 1, seed) == 0 for seed in SEEDS):
        yield f"channel({asked - 1}) loses nothing for any seed either: find the smallest"
    effective = 1 << (asked - 1).bit_length()
    if held != effective:
        yield (f"channel({asked}) does not hold {held} values: tokio rounds the capacity "
               "up to a power of two (R23)")
