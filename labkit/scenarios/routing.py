"""Notebook 02 (routing): one address in front of many workers.

Where the jobs wait: one Go channel with N receiving
goroutines is a shared work queue (MPMC, G7), while a tokio ``mpsc`` has exactly one
receiver (R1, R8), so a design built on it routes each job to one of N per-worker queues.
(Rust programs can share a queue too: an MPMC channel such as ``async-channel`` or
``flume``, ``crossbeam-channel`` for threads, or one receiver behind a mutex; that is Go's
design again.) With mixed service times the two designs give different latency tails:
:func:`work_queue` measures it, :func:`work_queue_sweep` tabulates it.
:func:`route` runs every router strategy of
:mod:`labkit.routing` in the three models, :func:`sharding` shows hot keys as skew,
:func:`key_movement` what a hash ring buys, and :func:`scatter_gather` a fan-out with a
deadline and a partial result.

Two more contrasts (section 4, items 5 and 6): :func:`pubsub` fans every message out to
subscribers, one of them slow (Go: a channel per subscriber, blocking or select-default,
G15, G22; tokio ``broadcast``, which never blocks and reports loss as ``Lagged(k)``, R23,
R24), and :func:`latest_value` keeps only the newest state for a slower reader (tokio
``watch``, R26; Go's cap-1 drain-and-replace idiom, and the naive buffered channel).

Every function is a pure function of its parameters and ``seed`` returning a
:class:`labkit.Run`; its ``result`` is a small frozen dataclass of headline numbers, in
virtual seconds. Workloads (arrival gaps, service times, keys) are drawn up front from the
run's RNG, so one seed gives every model exactly the same jobs.
"""

from __future__ import annotations

import bisect
import fnmatch
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

import labkit
from labkit import Run, go, routing, rust, trace
from labkit._check import check_choice, check_int, check_sequence
from labkit.actor import Actor, ActorSystem, Context
from labkit.scenarios._common import (
    INTERVALS,
    check_count,
    check_fraction,
    check_model,
    check_offered,
    check_parties,
    check_rate,
    check_seconds,
    check_skew,
    check_spread,
    interval,
    percentile,
    simulate,
    with_result,
)
from labkit.trace import EventKind

if TYPE_CHECKING:
    import pandas as pd

__all__ = (
    "DISPATCH",
    "LATEST_DESIGNS",
    "MODELS",
    "PATTERNS",
    "PUBSUB_DESIGNS",
    "ROUTE_MODELS",
    "STRATEGIES",
    "TOPICS",
    "Job",
    "KeyMovementResult",
    "LatestValueResult",
    "PubSubResult",
    "Query",
    "Read",
    "Replier",
    "RouteResult",
    "RouteWorker",
    "ScatterGatherResult",
    "ShardingResult",
    "WorkQueueResult",
    "actor_router",
    "actor_scatter_gather",
    "go_latest_value",
    "go_pool_worker",
    "go_publisher",
    "go_route_worker",
    "go_router",
    "go_scatter_gather",
    "go_sg_worker",
    "go_shared_queue",
    "go_subscriber",
    "key_movement",
    "latest_value",
    "pubsub",
    "route",
    "rust_broadcast_publisher",
    "rust_per_worker_queues",
    "rust_queue_worker",
    "rust_route_worker",
    "rust_router",
    "rust_scatter_gather",
    "rust_sg_worker",
    "rust_subscriber",
    "rust_watch",
    "scatter_gather",
    "service_times",
    "sharding",
    "work_queue",
    "work_queue_sweep",
)

#: The models of :func:`work_queue`, :func:`pubsub` and :func:`latest_value`.
MODELS = ("go", "rust")
#: The models of :func:`route` and :func:`scatter_gather`.
ROUTE_MODELS = ("go", "rust", "actor")
#: How the Rust model's dispatcher picks a worker queue in :func:`work_queue`.
DISPATCH = ("round_robin", "random", "least_loaded")
#: The strategies :func:`route` knows (those of :mod:`labkit.routing`).
STRATEGIES = ("round_robin", "random", "consistent_hash", "least_loaded", "broadcast", "topic")
#: Strategies that give each message to one worker of many (work distribution).
_ONE_OF_N = ("round_robin", "random", "least_loaded")
#: Topics a :func:`route` message can carry, hottest first (the key's rank picks one).
TOPICS = ("orders.new", "orders.paid", "users.new", "billing.paid", "users.deleted",
          "billing.refund", "orders.shipped", "audit.log")
#: Worker ``k`` subscribes to ``PATTERNS[k % len(PATTERNS)]`` in the topic strategy.
PATTERNS = ("orders.*", "*.paid", "users.*", "billing.*", "*.new", "*.refund", "*",
            "orders.paid")


def _now() -> float:
    return labkit.now()


def service_times(rng: Any, n: int, mean: float, spread: float) -> list[float]:
    """``n`` service times of mean ``mean`` seconds whose coefficient of variation (standard
    deviation / mean) is ``spread``: 0 is every job alike, 1 is exponential, 2 or 3 is many
    short jobs and a few very long ones (a gamma distribution of shape ``1/spread**2``)."""
    if spread == 0:
        return [mean] * n
    shape = 1.0 / (spread * spread)
    return [rng.gammavariate(shape, mean / shape) for _ in range(n)]


def _due_times(n: int, rate: float, arrivals: str) -> list[float]:
    """When each of ``n`` events is due: a stream of ``rate`` per second, its gaps drawn
    by ``arrivals`` (exponential or fixed) from the run's generator."""
    rng = labkit.rng()
    return list(itertools.accumulate(interval(rng, 1 / rate, arrivals) for _ in range(n)))


def _record_route(actor: str, peer: str | None, corr: int, msg_type: str, model: str,
                  detail: str) -> None:
    """The ``route`` row of a routing decision: job ``corr`` goes to ``peer``."""
    trace.record(EventKind.ROUTE, actor=actor, peer=peer, corr_id=corr, msg_type=msg_type,
                 model=model, detail=detail)


def _taken_from_shared(worker: str, corr: int, msg_type: str) -> None:
    """The ``route`` row a Go ``worker`` writes for the job it took from the shared
    channel: no router chose it, it was the free receiver (G7)."""
    _record_route("jobs", worker, corr, msg_type, "go",
                  "shared chan: the next free receiver takes it (G7)")


# == work_queue: one shared queue vs per-worker queues (G7, R1, R8, R14) =====================


@dataclass(frozen=True)
class WorkQueueResult:
    """Headline numbers of :func:`work_queue` (times in virtual seconds).

    ``p50``, ``p90``, ``p99``, ``mean`` and ``max_latency`` are of each job's *latency*, from
    its arrival to the end of its service (waiting plus service); ``mean_wait`` and
    ``p99_wait`` of its wait, from arrival to the start of service. ``per_worker`` counts
    the jobs each worker served; ``utilisation`` is the share of worker time spent serving.
    """

    model: str
    design: str
    dispatch: str
    workers: int
    spread: float
    load: float
    messages: int
    completed: int
    p50: float
    p90: float
    p99: float
    mean: float
    max_latency: float
    mean_wait: float
    p99_wait: float
    per_worker: tuple[int, ...]
    utilisation: float
    elapsed: float


class _Jobs:
    """One workload and what happened to each job, filled in by whichever model runs it."""

    __slots__ = ("arrived", "done", "gaps", "in_flight", "services", "started_at",
                 "worker")

    def __init__(self, gaps: list[float], services: list[float], workers: int) -> None:
        n = len(gaps)
        self.gaps = gaps
        self.services = services
        self.arrived = [0.0] * n
        self.started_at = [0.0] * n
        self.done = [math.nan] * n
        self.worker = [-1] * n
        self.in_flight = [0] * workers  # queued + in service, per worker

    def started(self, i: int, by: int) -> None:
        """Job ``i`` starts its service on worker ``by``."""
        self.started_at[i] = _now()
        self.worker[i] = by

    def finished(self, i: int) -> None:
        """Job ``i`` has finished its service."""
        self.done[i] = _now()

    def result(self, model: str, design: str, dispatch: str, workers: int, spread: float,
               load: float) -> WorkQueueResult:
        n = len(self.gaps)
        finished = [i for i in range(n) if not math.isnan(self.done[i])]
        lat = [self.done[i] - self.arrived[i] for i in finished]
        wait = [self.started_at[i] - self.arrived[i] for i in finished]
        elapsed = _now()
        busy = sum(self.services[i] for i in finished)
        return WorkQueueResult(
            model=model, design=design, dispatch=dispatch, workers=workers, spread=spread,
            load=load, messages=n, completed=len(finished),
            p50=percentile(lat, 0.5), p90=percentile(lat, 0.9), p99=percentile(lat, 0.99),
            mean=sum(lat) / len(lat) if lat else math.nan, max_latency=max(lat, default=0.0),
            mean_wait=sum(wait) / len(wait) if wait else math.nan,
            p99_wait=percentile(wait, 0.99),
            per_worker=tuple(self.worker.count(k) for k in range(workers)),
            utilisation=busy / (workers * elapsed) if elapsed > 0 else 0.0,
            elapsed=elapsed)


def _workload(n: int, workers: int, service: float, spread: float, load: float,
              arrivals: str) -> _Jobs:
    """Arrival gaps (a Poisson stream, or evenly spaced, at ``load * workers / service``
    jobs per second) and service times, drawn up front: the same jobs for every model."""
    rng = labkit.rng()
    mean_gap = service / (load * workers)
    gaps = [interval(rng, mean_gap, arrivals) for _ in range(n)]
    return _Jobs(gaps, service_times(rng, n, service, spread), workers)


def _dispatcher(dispatch: str, txs: list[Any], w: _Jobs) -> Callable[[], int]:
    """The Rust dispatcher's choice of queue for the next job."""
    n = len(txs)
    turn = [0]

    def round_robin() -> int:
        k = turn[0]
        turn[0] = (k + 1) % n
        return k

    def random_worker() -> int:
        return labkit.rng().randrange(n)

    def least_loaded() -> int:
        # Join the shortest queue, counting the job in service: what an Arc<AtomicUsize>
        # in-flight counter per worker gives a real dispatcher. Ties: the lowest index.
        return min(range(n), key=lambda k: w.in_flight[k])

    return {"round_robin": round_robin, "random": random_worker,
            "least_loaded": least_loaded}[dispatch]


async def go_pool_worker(k: int, jobs: go.Chan[int], w: _Jobs, wg: go.WaitGroup) -> None:
    """A Go worker: it ranges over the one channel all workers share, so whichever worker
    is free receives the next job (G7: MPMC, each value goes to exactly one receiver)."""
    async for i in jobs:  # ends when main closes jobs and the buffer is empty (G28)
        _taken_from_shared(trace.current_task_name(), i, "int")  # the trace's route row
        w.started(i, by=k)
        await go.sleep(w.services[i])  # the job's work
        w.finished(i)
    wg.done()


async def go_shared_queue(w: _Jobs, workers: int) -> None:
    """Go's worker pool: N goroutines receive from ONE channel (G7); no router needed."""
    jobs: go.Chan[int] = go.Chan(max(1, len(w.gaps)), name="jobs")  # never full
    wg = go.WaitGroup()
    wg.add(workers)
    for k in range(workers):
        go.go(go_pool_worker, k, jobs, w, wg)
    for i, gap in enumerate(w.gaps):
        await go.sleep(gap)  # the next job arrives
        w.arrived[i] = _now()
        await jobs.send(i, corr_id=i)
    jobs.close()  # the sender closes; each worker's range ends (G11, G16, G28)
    await wg.wait()


async def rust_queue_worker(k: int, rx: rust.mpsc.Receiver[int], w: _Jobs) -> None:
    """A Rust worker: it owns the one Receiver of its own mpsc queue (R1, R8)."""
    while (i := await rx.recv()) is not None:  # None once the Sender is dropped (R15)
        w.started(i, by=k)
        await rust.sleep(w.services[i])  # the job's work
        w.finished(i)
        w.in_flight[k] -= 1  # what least_loaded reads (an Arc<AtomicUsize> in tokio)


async def rust_per_worker_queues(w: _Jobs, workers: int, dispatch: str) -> None:
    """tokio's mpsc has one consumer (R1, R8): a dispatcher picks one of N queues per job."""
    txs, handles = [], []
    for k in range(workers):
        tx, rx = rust.mpsc.channel(max(1, len(w.gaps)))  # never full
        handles.append(rust.spawn(rust_queue_worker, k, rx, w, name=f"worker-{k}"))
        txs.append(tx)
    pick = _dispatcher(dispatch, txs, w)  # round_robin, random or least_loaded
    for i, gap in enumerate(w.gaps):
        await rust.sleep(gap)  # the next job arrives
        w.arrived[i] = _now()
        k = pick()
        _record_route("dispatcher", f"worker-{k}", i, "int", "rust", dispatch)
        w.in_flight[k] += 1
        (await txs[k].send(i, corr_id=i)).unwrap()
    for tx in txs:
        tx.drop()  # the last Sender gone: each worker's recv() returns None (R3, R15)
    for handle in handles:
        (await handle).unwrap()


def work_queue(model: str = "go", workers: int = 4, spread: float = 2.0, load: float = 0.8,
               messages: int = 2000, *, dispatch: str = "round_robin", service: float = 0.010,
               arrivals: str = "exponential", seed: int | None = 0) -> Run[WorkQueueResult]:
    """``messages`` jobs arrive (a Poisson stream at ``load * workers / service`` jobs/s, or
    evenly spaced with ``arrivals="fixed"``) and ``workers`` workers serve them; a job takes
    ``service`` seconds on average with coefficient of variation ``spread``
    (:func:`service_times`).

    Go: one ``go.Chan`` shared by N worker goroutines (G7): a job goes to whichever worker
    is free next, so no job waits while a worker is idle (an M/G/N queue). Rust: a tokio
    ``mpsc`` has one receiver (R1, R8), so this design's dispatcher sends each job to one of N
    per-worker queues by ``dispatch``: "round_robin", "random" or "least_loaded" (fewest
    jobs queued or in service); a job may wait behind a long one while another worker is
    idle (N separate queues). Queues are large enough never to block: this is about where
    jobs wait, not backpressure. Latency runs from arrival to the end of service.

    Each job's number is its correlation id: on its ``route`` row, and on its ``send`` and
    ``receive`` rows.
    """
    model = check_model(model, MODELS)
    workers = check_parties("workers", workers)
    spread = check_spread("spread", spread)
    load = check_fraction("load", load)
    messages = check_count("messages", messages, minimum=1)
    dispatch = check_choice("dispatch", dispatch, DISPATCH)
    service = check_seconds("service", service)
    arrivals = check_choice("arrivals", arrivals, INTERVALS)

    async def main() -> WorkQueueResult:
        w = _workload(messages, workers, service, spread, load, arrivals)
        if model == "go":
            await go_shared_queue(w, workers)
            return w.result("go", f"one shared chan, {workers} goroutines (M/G/{workers})",
                            "shared queue", workers, spread, load)
        await rust_per_worker_queues(w, workers, dispatch)
        return w.result("rust", f"{workers} mpsc queues, one per worker, {dispatch}",
                        dispatch, workers, spread, load)

    return simulate(main, seed=seed)


def _check_sweep_model(name: str, value: object) -> str:
    return check_choice(name, value, MODELS)


def work_queue_sweep(workers: Sequence[int] = (1, 2, 4, 8),
                     spreads: Sequence[float] = (0.0, 1.0, 2.0, 3.0),
                     models: Sequence[str] = MODELS, *, dispatch: str = "round_robin",
                     load: float = 0.8, messages: int = 2000, service: float = 0.010,
                     seed: int | None = 0) -> pd.DataFrame:
    """:func:`work_queue` for every model, worker count and spread: one row each, with
    ``p50_ms``, ``p90_ms``, ``p99_ms``, ``mean_ms`` (latency in milliseconds) and
    ``utilisation``. Same seed everywhere, so each (workers, spread) pair is one workload
    served by each model. Each list is checked before the first run."""
    import pandas as pd

    workers = check_sequence("workers", workers, check_parties)
    spreads = check_sequence("spreads", spreads, check_spread)
    models = check_sequence("models", models, _check_sweep_model)
    rows = []
    for spread in spreads:
        for n in workers:
            for model in models:
                r = work_queue(model, workers=n, spread=spread, load=load, messages=messages,
                               dispatch=dispatch, service=service, seed=seed).result
                rows.append({"model": r.model, "dispatch": r.dispatch, "workers": n,
                             "spread": spread, "p50_ms": r.p50 * 1000,
                             "p90_ms": r.p90 * 1000, "p99_ms": r.p99 * 1000,
                             "mean_ms": r.mean * 1000, "utilisation": r.utilisation})
    return pd.DataFrame(rows)


# == route: every router strategy in the three models (G7, R1, R14, R23) =====================


@dataclass(frozen=True)
class Job:
    """One routed message: its number, its key (for hashing) and its topic."""

    i: int
    key: str
    topic: str


@dataclass(frozen=True)
class RouteResult:
    """What :func:`route` did with ``messages`` messages (times in virtual seconds).

    ``loads`` counts the copies each worker handled (``worker-0``... in every model);
    ``copies`` is their total (``messages`` for one-of-N strategies, more for broadcast and
    topic) and ``unmatched`` the messages no worker subscribed to. ``imbalance`` is the
    busiest worker's load over the mean (1.0 is perfectly even). ``busy`` is the time each
    worker spent handling (from receiving a copy to the end of its handling) and
    ``busy_imbalance`` the busiest worker's busy time over the mean: with mixed service
    times, even counts are not even work. ``p50``/``p99`` are of each copy's latency, from
    the message's arrival to the end of its handling.
    """

    model: str
    strategy: str
    design: str
    workers: int
    messages: int
    copies: int
    unmatched: int
    loads: dict[str, int]
    imbalance: float
    busiest: str
    busy: dict[str, float]
    busy_imbalance: float
    p50: float
    p99: float
    elapsed: float


def _design(model: str, strategy: str, workers: int) -> str:
    if model == "go":
        if strategy in _ONE_OF_N:
            return (f"one shared chan, {workers} goroutines: the free one takes the next "
                    f"job, no {strategy} needed (G7)")
        return f"{workers} chans, one per goroutine; main picks by {strategy}"
    if model == "rust":
        return f"{workers} mpsc queues, one receiver each (R1); main picks by {strategy}"
    return f"labkit.routing.Router({strategy}) over {workers} actors"


class _RouteStats:
    __slots__ = ("arrived", "busy", "latencies", "loads", "services", "unmatched")

    def __init__(self, n: int, workers: int, services: list[float]) -> None:
        self.arrived = [0.0] * n
        self.services = services
        self.latencies: list[float] = []
        self.loads = [0] * workers
        self.busy = [0.0] * workers
        self.unmatched = 0

    def handled(self, k: int, job: Job) -> None:
        """Worker ``k`` has just finished ``job`` (after its service time)."""
        self.loads[k] += 1
        self.busy[k] += self.services[job.i]
        self.latencies.append(_now() - self.arrived[job.i])

    def result(self, model: str, strategy: str, workers: int, n: int) -> RouteResult:
        names = [f"worker-{k}" for k in range(workers)]
        total = sum(self.loads)
        mean = total / workers
        busiest = max(range(workers), key=lambda k: self.loads[k])
        mean_busy = sum(self.busy) / workers
        return RouteResult(
            model=model, strategy=strategy, design=_design(model, strategy, workers),
            workers=workers, messages=n, copies=total, unmatched=self.unmatched,
            loads=dict(zip(names, self.loads, strict=True)),
            imbalance=max(self.loads) / mean if mean else 0.0, busiest=names[busiest],
            busy=dict(zip(names, self.busy, strict=True)),
            busy_imbalance=max(self.busy) / mean_busy if mean_busy else 0.0,
            p50=percentile(self.latencies, 0.5), p99=percentile(self.latencies, 0.99),
            elapsed=_now())


class _Picker:
    """Go's and Rust's hand-written routing: the worker indices for one job, by the same
    rules as :mod:`labkit.routing` (the same hash ring, so a key has the same owner)."""

    def __init__(self, strategy: str, workers: int, depth: Callable[[int], int]) -> None:
        self.strategy = strategy
        self.names = [f"worker-{k}" for k in range(workers)]
        self.ring = routing.ConsistentHash()
        self.depth = depth
        self.turn = 0

    def pick(self, job: Job) -> list[int]:
        n = len(self.names)
        match self.strategy:
            case "round_robin":
                k, self.turn = self.turn, (self.turn + 1) % n
                return [k]
            case "random":
                return [labkit.rng().randrange(n)]
            case "least_loaded":
                return [min(range(n), key=self.depth)]
            case "consistent_hash":
                return [self.names.index(self.ring.owner(job.key, self.names))]
            case "broadcast":
                return list(range(n))
            case _:  # topic
                return [k for k in range(n)
                        if fnmatch.fnmatchcase(job.topic, PATTERNS[k % len(PATTERNS)])]


def _route(picker: _Picker, job: Job, stats: _RouteStats, model: str,
           strategy: str) -> list[int]:
    """The workers ``job`` goes to, each choice a ``route`` row (one with no worker when
    nothing matched, counted in ``stats.unmatched``)."""
    picked = picker.pick(job)
    if not picked:
        stats.unmatched += 1
        _record_route("main", None, job.i, "Job", model, f"{strategy}: no worker matched")
    for k in picked:
        _record_route("main", f"worker-{k}", job.i, "Job", model, strategy)
    return picked


async def go_route_worker(k: int, ch: go.Chan[Job], shared: bool, stats: _RouteStats,
                          services: list[float], wg: go.WaitGroup) -> None:
    """A Go worker goroutine: it ranges over its channel, shared or its own."""
    async for job in ch:
        if shared:  # no router: this goroutine was the free receiver that got it (G7)
            _taken_from_shared(f"worker-{k}", job.i, "Job")
        await go.sleep(services[job.i])
        stats.handled(k, job)
    wg.done()


async def go_router(strategy: str, workers: int, jobs: list[Job], gaps: list[float],
                    services: list[float], stats: _RouteStats) -> None:
    """Go: one shared channel for one-of-N work (G7), else a channel per goroutine."""
    cap = max(1, len(jobs))
    wg = go.WaitGroup()
    wg.add(workers)
    if strategy in _ONE_OF_N:
        shared: go.Chan[Job] = go.Chan(cap, name="jobs")
        chans = [shared]
        for k in range(workers):
            go.go(go_route_worker, k, shared, True, stats, services, wg)
    else:
        chans = [go.Chan(cap, name=f"chan-worker-{k}") for k in range(workers)]
        for k in range(workers):
            go.go(go_route_worker, k, chans[k], False, stats, services, wg)
    picker = _Picker(strategy, workers, lambda k: len(chans[k]))
    for job, gap in zip(jobs, gaps, strict=True):
        await go.sleep(gap)
        stats.arrived[job.i] = _now()
        if strategy in _ONE_OF_N:
            await shared.send(job, corr_id=job.i)  # the taker records the route row
            continue
        for k in _route(picker, job, stats, "go", strategy):
            await chans[k].send(job, corr_id=job.i)
    for ch in chans:
        ch.close()
    await wg.wait()


async def rust_route_worker(k: int, rx: Any, stats: _RouteStats, services: list[float],
                            in_flight: list[int]) -> None:
    """A tokio worker task: it owns the one Receiver of its own mpsc (R1, R8)."""
    while (job := await rx.recv()) is not None:
        await rust.sleep(services[job.i])
        stats.handled(k, job)
        in_flight[k] -= 1


async def rust_router(strategy: str, workers: int, jobs: list[Job], gaps: list[float],
                      services: list[float], stats: _RouteStats) -> None:
    """Rust: one tokio mpsc per worker (one consumer each, R1, R8); main picks."""
    txs, handles = [], []
    # Jobs queued or in service per worker: the queue depth from the sender's side is
    # max_capacity - capacity (R14); the job in hand needs a shared counter, as an
    # Arc<AtomicUsize> per worker would be in tokio.
    in_flight = [0] * workers
    for k in range(workers):
        tx, rx = rust.mpsc.channel(max(1, len(jobs)))
        txs.append(tx)
        handles.append(rust.spawn(rust_route_worker, k, rx, stats, services, in_flight,
                                  name=f"worker-{k}"))
    picker = _Picker(strategy, workers, lambda k: in_flight[k])
    for job, gap in zip(jobs, gaps, strict=True):
        await rust.sleep(gap)
        stats.arrived[job.i] = _now()
        for k in _route(picker, job, stats, "rust", strategy):
            in_flight[k] += 1
            (await txs[k].send(job, corr_id=job.i)).unwrap()
    for tx in txs:
        tx.drop()
    for handle in handles:
        (await handle).unwrap()


class RouteWorker(Actor):
    """An actor worker: one message at a time from its mailbox."""

    def __init__(self, k: int, stats: _RouteStats, services: list[float]) -> None:
        self.k = k
        self.stats = stats
        self.services = services

    async def receive(self, msg: Any, ctx: Context) -> None:
        await anyio.sleep(self.services[msg.i])
        self.stats.handled(self.k, msg)


def _actor_strategy(strategy: str, refs: list[Any]) -> routing.Strategy:
    if strategy == "consistent_hash":
        return routing.ConsistentHash(key=lambda job: job.key)
    if strategy == "topic":
        topic = routing.Topic(topic=lambda job: job.topic)
        for k, ref in enumerate(refs):
            topic.subscribe(PATTERNS[k % len(PATTERNS)], ref)
        return topic
    return routing.STRATEGIES[strategy]()


async def actor_router(strategy: str, workers: int, jobs: list[Job], gaps: list[float],
                       services: list[float], stats: _RouteStats) -> None:
    """Actors: labkit.routing.Router picks a worker's mailbox for each message."""
    async with ActorSystem(drain=True) as system:
        refs = [system.spawn(RouteWorker, k, stats, services, name=f"worker-{k}")
                for k in range(workers)]
        router = routing.Router(_actor_strategy(strategy, refs), refs, name="main")
        for job, gap in zip(jobs, gaps, strict=True):
            await anyio.sleep(gap)
            stats.arrived[job.i] = _now()
            if router.tell(job) == 0:
                stats.unmatched += 1


def route(strategy: str = "round_robin", model: str = "actor", workers: int = 4,
          messages: int = 200, key_skew: float = 1.0, *, keys: int = 20, load: float = 0.7,
          service: float = 0.010, spread: float = 1.0, seed: int | None = 0) -> Run[RouteResult]:
    """Route ``messages`` messages to ``workers`` workers by ``strategy``; each message has
    a key drawn with Zipf skew ``key_skew`` from ``keys`` keys (0 is uniform) and a topic
    picked by its key; it takes ``service`` seconds on average (spread as in
    :func:`service_times`). Messages arrive as a Poisson stream sized so that each worker
    would be busy ``load`` of the time if the work were spread evenly.

    Strategies: "round_robin", "random", "least_loaded" (fewest jobs queued or in hand),
    "consistent_hash" (the key's owner on a hash ring), "broadcast" (every worker, a copy
    each) and "topic" (worker k subscribes to ``PATTERNS[k]``; a message goes to every
    match, none if none).

    Models: "actor" is :class:`labkit.routing.Router` over actors. "rust" hand-routes to
    one tokio ``mpsc`` per worker (one receiver each, R1, R8; ``least_loaded`` counts the
    jobs queued, ``max_capacity - capacity`` (R14), plus the one in hand, as the actor
    router does). "go" does what Go does: for the one-of-N strategies (round_robin,
    random, least_loaded) one shared channel that the free goroutine receives from (G7),
    so the strategy is not used; for the others a channel per
    goroutine. Every routing decision is a ``route`` trace row with the message's
    correlation id (its number in the Go and Rust models); the copy's ``send`` (or
    ``tell``) and ``receive`` rows carry the same id, and so do an actor's
    ``handle_end`` rows.
    """
    strategy = check_choice("strategy", strategy, STRATEGIES)
    model = check_model(model, ROUTE_MODELS)
    workers = check_parties("workers", workers)
    messages = check_count("messages", messages, minimum=1)
    key_skew = check_skew("key_skew", key_skew)
    keys = check_count("keys", keys, minimum=1)
    load = check_fraction("load", load)
    service = check_seconds("service", service)
    spread = check_spread("spread", spread)
    fan_out = strategy in ("broadcast", "topic")

    async def main() -> RouteResult:
        rng = labkit.rng()
        key_list = routing.zipf_keys(messages, key_skew, keys, seed=rng.getrandbits(32))
        jobs = [Job(i, key, TOPICS[int(key.rsplit("-", 1)[1]) % len(TOPICS)])
                for i, key in enumerate(key_list)]
        rate = load / service * (1 if fan_out else workers)
        gaps = [rng.expovariate(rate) for _ in range(messages)]
        services = service_times(rng, messages, service, spread)
        stats = _RouteStats(messages, workers, services)
        body = {"go": go_router, "rust": rust_router,
                "actor": actor_router}[model]
        await body(strategy, workers, jobs, gaps, services, stats)
        return stats.result(model, strategy, workers, messages)

    return simulate(main, seed=seed)


# == sharding: each shard owns its keys; hot keys skew the load ==============================


@dataclass(frozen=True)
class ShardingResult:
    """What :func:`sharding` measured (times in virtual seconds).

    ``loads`` counts the messages each shard handled; ``skew_ratio`` is the busiest shard's
    load over the mean (1.0 is even). ``hot_key`` is the most frequent key, ``hot_key_share``
    its share of all messages and ``hot_shard`` the shard that owns it. ``keys_owned`` counts
    the distinct keys each shard saw; ``p99_by_shard`` is each shard's 99th-percentile
    latency (arrival to end of handling).
    """

    shards: int
    keys: int
    skew: float
    messages: int
    loads: dict[str, int]
    skew_ratio: float
    busiest: str
    hot_key: str
    hot_key_share: float
    hot_shard: str
    keys_owned: dict[str, int]
    p99: float
    p99_by_shard: dict[str, float]


class _Shard(Actor):
    def __init__(self, service: float, arrived: dict[int, float],
                 latencies: dict[str, list[float]]) -> None:
        self.service = service
        self.arrived = arrived
        self.latencies = latencies

    async def receive(self, msg: Any, ctx: Context) -> None:
        await anyio.sleep(self.service)
        self.latencies.setdefault(ctx.name, []).append(_now() - self.arrived[msg.i])


def sharding(shards: int = 4, keys: int = 100, skew: float = 1.0, messages: int = 2000, *,
             load: float = 0.5, service: float = 0.002, vnodes: int = 100,
             seed: int | None = 0) -> Run[ShardingResult]:
    """A :class:`labkit.routing.ShardedGroup` of ``shards`` actors, each owning the keys the
    hash ring gives it; ``messages`` messages with keys drawn from ``keys`` keys with Zipf
    exponent ``skew`` (:func:`labkit.routing.zipf_keys`: 0 is uniform, 1 is web-like)
    arrive as a Poisson stream sized so each shard is busy ``load`` of the time if the keys
    were even; each takes ``service`` seconds.

    One key always goes to one shard (that is what sharding buys: one owner per key, no
    locks), so a hot key makes a hot shard, and adding shards does not split a key.
    """
    shards = check_parties("shards", shards)
    keys = check_count("keys", keys, minimum=1)
    skew = check_skew("skew", skew)
    messages = check_count("messages", messages, minimum=1)
    load = check_fraction("load", load)
    service = check_seconds("service", service)
    vnodes = check_parties("vnodes", vnodes)

    async def main() -> ShardingResult:
        rng = labkit.rng()
        key_list = routing.zipf_keys(messages, skew, keys, seed=rng.getrandbits(32))
        gaps = [rng.expovariate(load * shards / service) for _ in range(messages)]
        arrived: dict[int, float] = {}
        latencies: dict[str, list[float]] = {}
        async with ActorSystem(drain=True) as system:
            group = routing.ShardedGroup.spawn(system, _Shard, service, arrived, latencies,
                                               shards=shards, key=lambda job: job.key,
                                               vnodes=vnodes)
            for i, (key, gap) in enumerate(zip(key_list, gaps, strict=True)):
                await anyio.sleep(gap)
                arrived[i] = _now()
                group.tell(Job(i, key, ""))
            loads = group.loads
            counts: dict[str, int] = {}
            for key in key_list:
                counts[key] = counts.get(key, 0) + 1
            owned = {s.name: 0 for s in group.shards}
            for key in counts:
                owned[group.shard_of(key).name] += 1
            hot_key = max(counts, key=lambda k: (counts[k], -key_list.index(k)))
            hot_shard = group.shard_of(hot_key).name
        mean = messages / shards
        busiest = max(loads, key=lambda s: loads[s])
        every = [x for s in loads for x in latencies.get(s, [])]
        return ShardingResult(
            shards=shards, keys=keys, skew=skew, messages=messages, loads=loads,
            skew_ratio=loads[busiest] / mean, busiest=busiest, hot_key=hot_key,
            hot_key_share=counts[hot_key] / messages, hot_shard=hot_shard, keys_owned=owned,
            p99=percentile(every, 0.99),
            p99_by_shard={s: percentile(latencies.get(s, []), 0.99) for s in loads})

    return simulate(main, seed=seed)


# == key_movement: a hash ring moves ~1/N of the keys, modulo moves most =====================


@dataclass(frozen=True)
class KeyMovementResult:
    """The share of keys that change owner when one worker joins or leaves ``workers``.

    ``ring_*`` is a consistent-hash ring with ``vnodes`` points per worker; ``modulo_*`` is
    ``hash(key) % N``. ``ideal_add`` (1/(N+1)) and ``ideal_remove`` (1/N) are the least any
    scheme can move. ``ring_balance`` is the busiest worker's share of keys over the even
    share (1.0 is perfect; more virtual nodes bring it closer).
    """

    workers: int
    keys: int
    vnodes: int
    ring_add: float
    modulo_add: float
    ideal_add: float
    ring_remove: float
    modulo_remove: float
    ideal_remove: float
    ring_balance: float


def key_movement(workers: int = 4, keys: int = 10_000, vnodes: int = 100, *,
                 seed: int | None = 0) -> Run[KeyMovementResult]:
    """Give ``keys`` random keys owners among ``workers`` workers, then add one worker and,
    separately, remove one: how many keys move? On a hash ring about 1/N (only the keys the
    new worker takes, or the leaving worker had); with ``hash % N`` nearly all of them."""
    workers = check_parties("workers", workers, minimum=2)
    keys = check_count("keys", keys, minimum=1)
    vnodes = check_parties("vnodes", vnodes)

    async def main() -> KeyMovementResult:
        rng = labkit.rng()
        population = [f"user-{rng.getrandbits(40):010x}" for _ in range(keys)]
        ring = routing.ConsistentHash(vnodes=vnodes)
        names = [f"worker-{k}" for k in range(workers)]
        grown = [*names, f"worker-{workers}"]
        shrunk = names[:-1]

        def moved(before: list[str], after: list[str]) -> float:
            return sum(a != b for a, b in zip(before, after, strict=True)) / keys

        start = [ring.owner(key, names) for key in population]
        hashes = [routing.stable_hash(key) for key in population]
        owned = [start.count(name) for name in names]
        return KeyMovementResult(
            workers=workers, keys=keys, vnodes=vnodes,
            ring_add=moved(start, [ring.owner(key, grown) for key in population]),
            modulo_add=sum(h % workers != h % (workers + 1) for h in hashes) / keys,
            ideal_add=1 / (workers + 1),
            ring_remove=moved(start, [ring.owner(key, shrunk) for key in population]),
            modulo_remove=sum(h % workers != h % (workers - 1) for h in hashes) / keys,
            ideal_remove=1 / workers,
            ring_balance=max(owned) / (keys / workers))

    return simulate(main, seed=seed)


# == scatter_gather: fan out, keep what is back by the deadline (G30, G39, R32, R34) ==========


@dataclass(frozen=True)
class ScatterGatherResult:
    """What :func:`scatter_gather` collected by its ``deadline`` (virtual seconds).

    ``answered`` lists the workers whose reply came in time, in arrival order; ``late`` the
    others, by name. ``gathered_at`` is when the gatherer returned (the deadline, or earlier
    if all answered). ``late_work_finished`` counts late workers that still finished their
    work after the gatherer gave up: wasted work nobody reads.
    """

    model: str
    workers: int
    deadline: float
    delays: tuple[float, ...]
    answered: tuple[str, ...]
    late: tuple[str, ...]
    complete: bool
    gathered_at: float
    late_work_finished: int


#: What each model's gatherer returns: who answered (in arrival order), who was late, and
#: when the gatherer returned.
_Gathered = tuple[tuple[str, ...], tuple[str, ...], float]


@dataclass(frozen=True)
class Query:
    """One copy of a :func:`scatter_gather` request in the Go and Rust models. A channel
    carries only the value, so the correlation id travels in the message itself (an
    actor's envelope carries it for the actor model)."""

    corr_id: int
    text: str = "query"


def _scatter_copy(model: str, k: int, corr: int) -> None:
    """The ``route`` row of the copy for worker ``k``: every copy has the request's
    correlation id (the actor model's :func:`labkit.routing.scatter_gather` records its
    own)."""
    _record_route("gather", f"worker-{k}", corr, "Query", model, "scatter_gather")


class Replier(Actor):
    """An actor that replies after its delay; nothing can interrupt it mid-message."""

    def __init__(self, delay: float, finished: list[str]) -> None:
        self.delay = delay
        self.finished = finished

    async def receive(self, msg: Any, ctx: Context) -> str:
        await anyio.sleep(self.delay)
        self.finished.append(ctx.name)
        return ctx.name


async def actor_scatter_gather(delays: list[float], deadline: float,
                               finished: list[str]) -> _Gathered:
    """Actors: ask all, keep the replies back by the deadline; late ones finish anyway."""
    async with ActorSystem() as system:
        refs = [system.spawn(Replier, d, finished, name=f"worker-{k}")
                for k, d in enumerate(delays)]
        got = await routing.scatter_gather(refs, "query", deadline=deadline, name="gather")
        gathered = _now()
        answered = tuple(sorted(got.replies, key=lambda name: delays[int(name[7:])]))
        # An actor cannot be interrupted mid-message: the late ones finish, and their
        # replies become dead letters.
        await anyio.sleep(max(0.0, max(delays) - _now()))
        return answered, got.late, gathered


async def go_sg_worker(name: str, delay: float, ctx: Any, requests: go.Chan[Query],
                       results: go.Chan[str], finished: list[str]) -> None:
    """A Go worker: it works while watching ctx.Done(), and gives up when it closes (G39)."""
    async for query in requests:  # this worker's own channel, as in route()
        # Cancellation is cooperative (G39): the worker watches ctx.Done() while it works.
        sel = await go.select(go.Recv(go.after(delay)), go.Recv(ctx.done()))
        if sel.index == 1:
            continue  # ctx cancelled: give up this request, send nothing
        finished.append(name)
        # Buffered for every worker: never blocks, never leaks.
        await results.send(name, corr_id=query.corr_id)


async def go_scatter_gather(delays: list[float], deadline: float,
                            finished: list[str]) -> _Gathered:
    """Go: context.WithTimeout for the deadline; select on results and ctx.Done() (G34)."""
    ctx, cancel = go.with_timeout(go.background(), deadline)
    results: go.Chan[str] = go.Chan(len(delays), name="results")
    requests: list[go.Chan[Query]] = [go.Chan(1, name=f"chan-worker-{k}")
                                      for k in range(len(delays))]
    for k, d in enumerate(delays):
        go.go(go_sg_worker, f"worker-{k}", d, ctx, requests[k], results, finished)
    corr = trace.new_corr_id()
    for k, ch in enumerate(requests):  # a free slot each: every copy goes out at once
        _scatter_copy("go", k, corr)
        await ch.send(Query(corr), corr_id=corr)
        ch.close()  # one request each: the worker's range ends after it (G28)
    answered: list[str] = []
    while len(answered) < len(delays):
        sel = await go.select(go.Recv(results), go.Recv(ctx.done()))
        if sel.index == 1:
            break  # deadline: keep what we have (G34, G35)
        answered.append(sel.value)
    cancel()  # releases the workers still waiting (G36)
    late = tuple(f"worker-{k}" for k in range(len(delays)) if f"worker-{k}" not in answered)
    gathered = _now()
    await go.sleep(max(0.0, max(delays) - gathered))
    return tuple(answered), late, gathered


async def rust_sg_worker(name: str, delay: float, inbox: rust.mpsc.Receiver[Query],
                         results: rust.mpsc.Sender[str], finished: list[str]) -> None:
    """A tokio worker task: an abort stops it at its next .await (R32)."""
    with results:  # dropped on the way out, an abort included (R7)
        while (query := await inbox.recv()) is not None:  # its own mpsc, as in route()
            await rust.sleep(delay)  # an abort stops the task here (R32)
            finished.append(name)
            (await results.send(name, corr_id=query.corr_id)).unwrap()


async def rust_scatter_gather(delays: list[float], deadline: float,
                              finished: list[str]) -> _Gathered:
    """Rust: a JoinSet drained under timeout; abort_all() stops the late tasks (R32, R34)."""
    answered: list[str] = []
    results, replies = rust.mpsc.channel(len(delays))  # room for every reply
    async with rust.JoinSet[None]() as tasks:  # leaving the block aborts what is left (R34)
        inboxes: list[rust.mpsc.Sender[Query]] = []
        for k, d in enumerate(delays):
            tx, rx = rust.mpsc.channel(1)
            tasks.spawn(rust_sg_worker, f"worker-{k}", d, rx, results.clone(), finished,
                        name=f"worker-{k}")
            inboxes.append(tx)
        results.drop()  # the workers' clones keep it open (R3)
        corr = trace.new_corr_id()
        for k, tx in enumerate(inboxes):  # a free slot each: every copy goes out at once
            _scatter_copy("rust", k, corr)
            (await tx.send(Query(corr), corr_id=corr)).unwrap()
            tx.drop()  # one request each: the worker's recv() then returns None (R3)
        end = _now() + deadline
        while len(answered) < len(delays):
            got: rust.Result[Any, rust.Elapsed] = await rust.timeout(
                max(0.0, end - _now()), replies.recv())  # recv is cancel-safe (R30)
            if got.is_err():
                break  # Elapsed: the deadline passed (R36)
            name = got.unwrap()
            if name is None:
                break  # every worker gone
            answered.append(name)
        tasks.abort_all()  # the late tasks stop at their next await (R32)
        gathered = _now()
    late = tuple(f"worker-{k}" for k in range(len(delays)) if f"worker-{k}" not in answered)
    await rust.sleep(max(0.0, max(delays) - _now()))
    return tuple(answered), late, gathered


def _check_delay(name: str, value: object) -> float:
    return check_seconds(name, value, allow_zero=True)


def scatter_gather(model: str = "actor", workers: int = 5, deadline: float = 0.100, *,
                   mean_delay: float = 0.060, delays: Sequence[float] | None = None,
                   seed: int | None = 0) -> Run[ScatterGatherResult]:
    """Ask ``workers`` workers at once and keep the replies that arrive within ``deadline``
    seconds: a partial result instead of waiting for the slowest. Worker k replies after
    ``delays[k]`` seconds (default: exponential of mean ``mean_delay``, from the seed).

    "actor": :func:`labkit.routing.scatter_gather`; a late actor finishes anyway and its
    reply becomes a dead letter. "go": one goroutine per worker, each sent its copy (a
    :class:`Query`) on its own channel and replying on a shared buffered one;
    ``context.WithTimeout`` for the deadline; the workers select on ``ctx.Done()`` and stop
    when it closes (cooperative cancellation, G34, G39). "rust": one task per worker in a
    ``JoinSet``, each sent its copy on its own ``mpsc`` and replying on a shared one, which
    the gatherer drains with ``timeout``; at the deadline ``abort_all`` stops the late
    tasks at their next ``.await`` (R32, R34, R36).

    Every copy is a ``route`` row with the request's correlation id, and so are the copy's
    ``send`` and ``receive`` rows and the reply's rows, in every model.
    """
    model = check_model(model, ROUTE_MODELS)
    deadline = check_seconds("deadline", deadline)
    if delays is None:
        workers = check_parties("workers", workers)
        mean_delay = check_seconds("mean_delay", mean_delay)
    else:  # one reply delay per worker
        delays = check_sequence("delays", delays, _check_delay)
        workers = check_parties("workers", len(delays))

    async def main() -> ScatterGatherResult:
        drawn = list(delays) if delays is not None else \
            [labkit.rng().expovariate(1 / mean_delay) for _ in range(workers)]
        finished: list[str] = []
        gatherer = {"actor": actor_scatter_gather, "go": go_scatter_gather,
                    "rust": rust_scatter_gather}[model]
        answered, late, gathered_at = await gatherer(drawn, deadline, finished)
        return ScatterGatherResult(
            model=model, workers=workers, deadline=deadline,
            delays=tuple(drawn), answered=answered, late=late, complete=not late,
            gathered_at=gathered_at,
            late_work_finished=sum(name in finished for name in late))

    return simulate(main, seed=seed)


# == pubsub: fan-out to subscribers, one of them slow (G2, G15, G22, R23, R24) ===============

#: The designs :func:`pubsub` offers per model; the first is the model's default.
PUBSUB_DESIGNS: dict[str, tuple[str, ...]] = {
    "go": ("blocking", "select_default"),
    "rust": ("broadcast",),
}


@dataclass(frozen=True)
class PubSubResult:
    """What :func:`pubsub` measured (times in virtual seconds).

    The publisher: ``publisher_blocked`` is the total time it spent waiting inside sends;
    ``send_p50``/``send_p99``/``send_max`` are of the time it took to hand one message to
    every subscriber; ``publish_end`` is when it had handed over the last one (the last
    message was due at ``last_due``).

    Per subscriber (``subscribers``; the ``slow`` ones are named ``slow-k``):
    ``delivered`` counts what it received, ``missed`` what it never received (actual loss)
    and ``reported`` the loss it was *told* about: the sum of its ``Lagged(k)`` errors (R24),
    always 0 in Go. ``gaps`` lists the size of each run of missed messages in order, and
    ``lag_reports`` each ``k`` it was told, in order. ``last_received`` is the number of
    the last message it got (-1 if none; ``messages - 1`` means it saw the newest).
    Totals: ``missed_total``, ``reported_total`` and ``silent_total`` (missed, never
    reported). ``publisher_counted`` is the loss the Go ``select_default`` publisher
    counted in its own variable (nobody else knows); ``loss_rows`` the trace rows that
    record a loss (``drop``, ``lagged``).

    Delivery latency runs from a message's due time to its receipt: ``fast_p50``,
    ``fast_p99`` over the fast subscribers, ``slow_p50`` and ``slow_p99`` over the slow ones.
    ``effective_capacity`` is the buffer each subscriber really has: ``capacity`` for a Go
    channel, rounded up to a power of two for tokio ``broadcast`` (R23).
    """

    model: str
    design: str
    spelled: str
    subscribers: tuple[str, ...]
    slow: tuple[str, ...]
    messages: int
    capacity: int
    effective_capacity: int
    publisher_blocked: float
    send_p50: float
    send_p99: float
    send_max: float
    publish_end: float
    last_due: float
    delivered: dict[str, int]
    missed: dict[str, int]
    reported: dict[str, int]
    gaps: dict[str, tuple[int, ...]]
    lag_reports: dict[str, tuple[int, ...]]
    last_received: dict[str, int]
    missed_total: int
    reported_total: int
    silent_total: int
    publisher_counted: int
    loss_rows: int
    fast_p50: float
    fast_p99: float
    slow_p50: float
    slow_p99: float
    elapsed: float


class _Fanout:
    """One stream of messages and what each subscriber made of it, in any model."""

    __slots__ = ("counted", "due", "fanout", "got", "lags", "latency", "publish_end")

    def __init__(self, due: list[float], names: Sequence[str]) -> None:
        self.due = due  # when message i happened: its publication is due then
        self.got: dict[str, list[int]] = {n: [] for n in names}
        self.latency: dict[str, list[float]] = {n: [] for n in names}
        self.lags: dict[str, list[int]] = {n: [] for n in names}
        self.fanout: list[float] = []  # per message: time to hand it to every subscriber
        self.counted = 0
        self.publish_end = 0.0

    def received(self, name: str, i: int) -> None:
        self.got[name].append(i)
        self.latency[name].append(_now() - self.due[i])

    async def publish(self, fan_out: Callable[[int], Any]) -> None:
        """Hand each message over when it is due, or as soon as the publisher is free."""
        for i, due in enumerate(self.due):
            await anyio.sleep(max(0.0, due - _now()))
            start = _now()
            await fan_out(i)
            self.fanout.append(_now() - start)
        self.publish_end = _now()

    def gaps(self, name: str) -> tuple[int, ...]:
        runs, expected = [], 0
        for i in [*self.got[name], len(self.due)]:
            if i > expected:
                runs.append(i - expected)
            expected = i + 1
        return tuple(runs)


async def go_subscriber(name: str, ch: go.Chan[int], service: float, fan: _Fanout,
                        wg: go.WaitGroup) -> None:
    """A Go subscriber: it ranges over its own channel until the publisher closes it."""
    async for i in ch:  # until the publisher closes the channel (G28)
        fan.received(name, i)
        await go.sleep(service)
    wg.done()


async def go_publisher(design: str, names: Sequence[str], services: Sequence[float],
                       capacity: int, fan: _Fanout) -> None:
    """Go has no broadcast channel (G15): one channel per subscriber, sent to in turn."""
    # Go has no broadcast channel (close() is the only one-to-all signal, G15): one
    # channel per subscriber, and the publisher sends to each in turn.
    chans: list[go.Chan[int]] = [go.Chan(capacity, name=n) for n in names]
    wg = go.WaitGroup()
    wg.add(len(names))
    for name, ch, service in zip(names, chans, services, strict=True):
        go.go(go_subscriber, name, ch, service, fan, wg)

    async def fan_out(i: int) -> None:
        for ch in chans:
            if design == "blocking":
                await ch.send(i)  # waits while this subscriber's buffer is full (G2)
            elif (await go.select(go.Send(ch, i), default=True)).index == -1:
                fan.counted += 1  # never waits (G22); only this counter knows it is gone

    await fan.publish(fan_out)
    for ch in chans:
        ch.close()
    await wg.wait()


async def rust_subscriber(name: str, rx: Any, service: float, fan: _Fanout) -> None:
    """A tokio broadcast receiver: Ok(v), or Err(Lagged(k)) with the exact k missed (R24)."""
    while True:
        match await rx.recv():
            case rust.Ok(i):
                fan.received(name, i)
                await rust.sleep(service)
            case rust.Err(rust.broadcast.RecvError.Lagged(k)):
                fan.lags[name].append(k)  # told exactly how many it missed (R24)
            case _:  # RecvError.Closed: every sender gone and everything read (R25)
                return


async def rust_broadcast_publisher(names: Sequence[str], services: Sequence[float],
                                   capacity: int,
                                   fan: _Fanout) -> None:
    """Rust: one broadcast channel; send never waits and overwrites the oldest (R23)."""
    tx, first = rust.broadcast.channel(capacity)
    rxs = [first, *(tx.subscribe() for _ in names[1:])]  # all subscribed before the first send
    handles = [rust.spawn(rust_subscriber, name, rx, service, fan, name=name)
               for name, rx, service in zip(names, rxs, services, strict=True)]

    async def fan_out(i: int) -> None:
        tx.send(i).unwrap()  # synchronous: never waits, overwrites the oldest if full (R23)

    await fan.publish(fan_out)
    tx.drop()  # the receivers drain what is held, then get Closed (R25)
    for handle in handles:
        (await handle).unwrap()


def _pubsub_spelled(design: str, capacity: int, effective: int) -> str:
    if design == "blocking":
        return f"a make(chan T, {capacity}) per subscriber; for _, ch := range subs {{ ch <- v }}"
    if design == "select_default":
        return (f"a make(chan T, {capacity}) per subscriber; "
                "select { case ch <- v: default: missed++ }")
    return (f"broadcast::channel({capacity}) (holds {effective}); tx.send(v); "
            "rx.recv() -> Ok(v) | Err(Lagged(k))")


def pubsub(model: str = "go", design: str | None = None, subscribers: int = 3, slow: int = 1,
           messages: int = 200, capacity: int = 16, rate: float = 100.0, *,
           fast_rate: float = 1000.0, slow_rate: float = 25.0, arrivals: str = "exponential",
           seed: int | None = 0) -> Run[PubSubResult]:
    """A publisher fans ``messages`` messages out to ``subscribers`` subscribers, the last
    ``slow`` of which are slow. Message i is due at a time drawn from a stream of ``rate``
    messages per second (``arrivals``: "exponential" or "fixed"); the publisher hands it over
    then, or as soon as it is free. A fast subscriber handles ``fast_rate`` messages per
    second, a slow one ``slow_rate``. Each subscriber's buffer holds ``capacity`` messages.

    Go has no broadcast channel except the one-shot ``close()`` (G15), so each subscriber
    has its own ``make(chan T, capacity)`` and the publisher sends to each in turn:

    * ``design="blocking"``: a plain send, which waits while that buffer is full (G2). The
      slow subscriber throttles the publisher, and through it every fast subscriber.
    * ``design="select_default"``: ``select { case ch <- v: default: }`` never waits (G22);
      a full subscriber silently misses the message. Nothing records it: not the channel,
      not the trace, not the subscriber; only the publisher's own counter.

    Rust (``design="broadcast"``): one tokio ``broadcast::channel(capacity)`` whose capacity
    is rounded up to a power of two (R23). ``send`` never waits; when the ring is full the
    oldest value is overwritten, and a subscriber that had not read it gets
    ``Err(Lagged(k))`` with the exact count, then carries on from the oldest value still
    held (R24).
    """
    model = check_model(model, MODELS)
    design = check_offered("design", design, model, PUBSUB_DESIGNS, optional=True)
    subscribers = check_parties("subscribers", subscribers)
    slow = check_int("slow", slow, minimum=0, maximum=subscribers)  # how many are slow
    messages = check_count("messages", messages, minimum=1)
    capacity = check_count("capacity", capacity, minimum=1)
    rate = check_rate("rate", rate)
    fast_rate = check_rate("fast_rate", fast_rate)
    slow_rate = check_rate("slow_rate", slow_rate)
    arrivals = check_choice("arrivals", arrivals, INTERVALS)
    names = [f"fast-{k}" for k in range(subscribers - slow)] + \
        [f"slow-{k}" for k in range(slow)]
    services = [1 / fast_rate] * (subscribers - slow) + [1 / slow_rate] * slow
    effective = 1 << (capacity - 1).bit_length() if model == "rust" else capacity

    async def main() -> _Fanout:
        due = _due_times(messages, rate, arrivals)
        fan = _Fanout(due, names)
        if model == "go":
            await go_publisher(design, names, services, capacity, fan)
        else:
            await rust_broadcast_publisher(names, services, capacity, fan)
        return fan

    run = simulate(main, seed=seed)
    fan = run.result
    kinds = run.trace.df["kind"]
    fast = [x for n in names if n.startswith("fast") for x in fan.latency[n]]
    slow_lat = [x for n in names if n.startswith("slow") for x in fan.latency[n]]
    missed = {n: messages - len(fan.got[n]) for n in names}
    reported = {n: sum(fan.lags[n]) for n in names}
    result = PubSubResult(
        model=model, design=design, spelled=_pubsub_spelled(design, capacity, effective),
        subscribers=tuple(names), slow=tuple(n for n in names if n.startswith("slow")),
        messages=messages, capacity=capacity, effective_capacity=effective,
        publisher_blocked=sum(fan.fanout), send_p50=percentile(fan.fanout, 0.5),
        send_p99=percentile(fan.fanout, 0.99), send_max=max(fan.fanout),
        publish_end=fan.publish_end, last_due=fan.due[-1],
        delivered={n: len(fan.got[n]) for n in names}, missed=missed, reported=reported,
        gaps={n: fan.gaps(n) for n in names},
        lag_reports={n: tuple(fan.lags[n]) for n in names},
        last_received={n: fan.got[n][-1] if fan.got[n] else -1 for n in names},
        missed_total=sum(missed.values()), reported_total=sum(reported.values()),
        silent_total=sum(missed.values()) - sum(reported.values()),
        publisher_counted=fan.counted,
        loss_rows=int(kinds.isin(("drop", "lagged", "dead_letter")).sum()),
        fast_p50=percentile(fast, 0.5), fast_p99=percentile(fast, 0.99),
        slow_p50=percentile(slow_lat, 0.5), slow_p99=percentile(slow_lat, 0.99),
        elapsed=run.elapsed)
    return with_result(run, result)


# == latest_value: last-writer-wins state (R26; Go: a cap-1 chan, drain and replace) ==========

#: The designs :func:`latest_value` offers per model; the first is the model's default.
LATEST_DESIGNS: dict[str, tuple[str, ...]] = {
    "go": ("drain_replace", "buffered"),
    "rust": ("watch",),
}


@dataclass(frozen=True)
class Read:
    """One read of the state: when (``at``), which update (``version``, 0 is the first),
    its ``age`` (``at`` minus the time that update happened) and how many newer updates had
    already happened (``behind``)."""

    at: float
    version: int
    age: float
    behind: int


@dataclass(frozen=True)
class LatestValueResult:
    """What the reader of :func:`latest_value` saw (times in virtual seconds).

    ``updates`` were produced, ``observed`` of them read (each at most once) and
    ``skipped`` never read. ``final_observed`` says whether the last update was read and
    ``final_lag`` how long after it happened (NaN if never). ``staleness_p50``,
    ``staleness_p99`` and ``staleness_max`` are of the age of each value when read;
    ``behind_max`` is the most newer updates that existed at a read. ``writer_blocked`` is
    the time the writer spent waiting to publish. ``reads`` lists every :class:`Read`.
    """

    model: str
    design: str
    spelled: str
    updates: int
    observed: int
    skipped: int
    final_observed: bool
    final_lag: float
    staleness_p50: float
    staleness_p99: float
    staleness_max: float
    behind_max: int
    writer_blocked: float
    reads: tuple[Read, ...]
    elapsed: float


class _State:
    """The writer's update times and what the reader read, in any model."""

    __slots__ = ("blocked", "due", "period", "reads")

    def __init__(self, due: list[float], period: float) -> None:
        self.due = due  # when update i happened
        self.period = period  # the reader's time per read
        self.reads: list[Read] = []
        self.blocked = 0.0

    async def write(self, publish: Callable[[int], Any]) -> None:
        for i, due in enumerate(self.due):
            await anyio.sleep(max(0.0, due - _now()))
            start = _now()
            await publish(i)
            self.blocked += _now() - start

    async def read(self, version: int) -> None:
        """Use the value read: note it, then take the reader's ``period`` over it."""
        now = _now()
        newest = bisect.bisect_right(self.due, now) - 1  # the latest update that happened
        self.reads.append(Read(now, version, now - self.due[version], newest - version))
        await anyio.sleep(self.period)


async def go_latest_value(design: str, capacity: int, state: _State) -> None:
    """Go: a cap-1 channel, drain then send (drain_replace), or a plain buffered one."""
    ch: go.Chan[int] = go.Chan(1 if design == "drain_replace" else capacity, name="state")

    async def publish(i: int) -> None:
        if design == "drain_replace":
            await go.select(go.Recv(ch), default=True)  # drop the stale value, if unread
        await ch.send(i)  # drain_replace: never waits, the one writer just emptied it (G2)

    async def writer() -> None:
        await state.write(publish)
        ch.close()  # the reader's range ends once it has read what is left (G28)

    go.go(writer)
    async for version in ch:
        await state.read(version)


async def rust_watch(state: _State) -> None:
    """Rust: a watch channel keeps only the latest value; changed() skips the rest (R26)."""
    tx, rx = rust.watch.channel(-1)  # -1: no update yet; the initial value counts as seen

    async def publish(i: int) -> None:
        tx.send(i).unwrap()  # overwrite: only the latest value is kept (R26)

    async def writer() -> None:
        await state.write(publish)
        tx.drop()  # changed() fails once this is gone *and* the last value was seen (R26)

    handle = rust.spawn(writer, name="writer")
    while (await rx.changed()).is_ok():  # an unseen value exists; now marked seen (R26)
        await state.read(rx.borrow_and_update())
    (await handle).unwrap()


def _latest_spelled(design: str, capacity: int) -> str:
    if design == "watch":
        return ("let (tx, rx) = watch::channel(init); tx.send(v); "
                "rx.changed().await; rx.borrow_and_update()")
    if design == "drain_replace":
        return "ch := make(chan T, 1); select { case <-ch: default: }; ch <- v"
    return f"ch := make(chan T, {capacity}); ch <- v"


def latest_value(model: str = "rust", design: str | None = None, updates: int = 200,
                 writer_rate: float = 100.0, reader_rate: float = 20.0, *, capacity: int = 16,
                 arrivals: str = "exponential", seed: int | None = 0) -> Run[LatestValueResult]:
    """A writer publishes ``updates`` state updates (``writer_rate`` per second, gaps by
    ``arrivals``) to a reader that takes ``1 / reader_rate`` seconds over each value it
    reads: the reader is slower, so what matters is that it acts on *recent* state.

    Rust (``design="watch"``): ``watch::channel`` keeps only the latest value; the reader
    loops on ``changed()`` and ``borrow_and_update()``, so it sees the newest value each
    time and skips the intermediates (R26); once the writer is dropped, ``changed()`` still
    returns the unseen final value, then fails.

    Go has no such channel. ``design="drain_replace"``: a ``make(chan T, 1)``; the writer
    first drains a stale value with ``select { case <-ch: default: }`` (G22), then sends
    (with a single writer the send never waits), so the buffer always holds the latest
    unread value: the behaviour of ``watch``. (A ``sync.Mutex`` around a variable plus a
    cap-1 "changed" channel is the other idiom; it behaves the same.)
    ``design="buffered"``: the naive ``make(chan T, capacity)`` with a plain send: the
    reader works through a backlog of stale values, and once the buffer is full the writer
    waits (G2). Age is measured from when an update happened, so a writer held back makes
    what it sends older.
    """
    model = check_model(model, MODELS)
    design = check_offered("design", design, model, LATEST_DESIGNS, optional=True)
    updates = check_count("updates", updates, minimum=1)
    writer_rate = check_rate("writer_rate", writer_rate)
    reader_rate = check_rate("reader_rate", reader_rate)
    capacity = check_count("capacity", capacity, minimum=1)
    arrivals = check_choice("arrivals", arrivals, INTERVALS)

    async def main() -> _State:
        due = _due_times(updates, writer_rate, arrivals)
        state = _State(due, 1 / reader_rate)
        if model == "go":
            await go_latest_value(design, capacity, state)
        else:
            await rust_watch(state)
        return state

    run = simulate(main, seed=seed)
    state = run.result
    reads = state.reads
    ages = [r.age for r in reads]
    seen = {r.version for r in reads}
    last = updates - 1
    final = next((r for r in reads if r.version == last), None)
    result = LatestValueResult(
        model=model, design=design, spelled=_latest_spelled(design, capacity),
        updates=updates, observed=len(seen), skipped=updates - len(seen),
        final_observed=final is not None,
        final_lag=final.age if final is not None else math.nan,
        staleness_p50=percentile(ages, 0.5), staleness_p99=percentile(ages, 0.99),
        staleness_max=max(ages, default=math.nan),
        behind_max=max((r.behind for r in reads), default=0),
        writer_blocked=state.blocked, reads=tuple(reads), elapsed=run.elapsed)
    return with_result(run, result)
