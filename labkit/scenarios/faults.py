"""Notebook 04 (supervision): what one failure does in Go, in Rust and under actors, and
what a restart policy does to a failing dependency (SEMANTICS section 4, items 17-20).

* :func:`poison`: a producer feeds numbered jobs to a pool of workers through one shared
  queue; every ``poison_every``-th job makes its worker fail. Go: an unrecovered panic ends
  the program (G31), a hand-written ``recover`` loop restarts (G32), errgroup stops everyone
  at the first error (G42, G44). Rust: a panic stays in its task's ``JoinError`` (R33) and
  the pool shrinks, or a ``JoinSet`` loop respawns (R34). Actors: the failing actor stops,
  or a :class:`labkit.supervision.Supervisor` restarts it with its mailbox.
* :func:`dependency_storm`: a worker that calls a dependency which goes down for a while,
  restarted at once (a restart storm), under OTP's intensity limit, with exponential
  backoff, or protected by a circuit breaker; measured: the load on the dead dependency.

The model functions (``go_worker``, ``rust_joinset_supervisor``, ``PoolWorker``, ...) are
the ones a notebook shows with :func:`labkit.codeview.side_by_side`. The bookkeeping lives
in :class:`Work` and :class:`Requests` (they count and write ``note`` rows in the trace);
the models only call ``w.took(n)``, ``w.poisoned(n)``, ``w.done(n)`` and ``start_up``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

import labkit
from labkit import Run, go, rust
from labkit._check import check_choice
from labkit.actor import Actor, ActorSystem, Context
from labkit.rust.mpsc import Receiver, Sender
from labkit.scenarios._common import (
    check_count,
    check_model,
    check_offered,
    check_parties,
    check_rate,
    check_seconds,
    interval,
    simulate,
    with_result,
)
from labkit.supervision import Backoff, Child, CircuitBreaker, CircuitOpen, Escalation, Supervisor
from labkit.trace import Columns, current_task_name, record

__all__ = (
    "BACKOFF_MAX",
    "BACKOFF_MIN",
    "DESIGNS",
    "FAILURES",
    "MODELS",
    "NO_LIMIT",
    "POLICIES",
    "STORM_MODELS",
    "BreakerClient",
    "Client",
    "Dependency",
    "DependencyDown",
    "PoisonJob",
    "PoisonResult",
    "PoolWorker",
    "Requests",
    "SharedReceiver",
    "StormResult",
    "Work",
    "actor_clients",
    "actor_pool",
    "actor_router",
    "call_with_timeout",
    "dependency_storm",
    "go_bare_pool",
    "go_call",
    "go_clients",
    "go_errgroup_pool",
    "go_errgroup_worker",
    "go_handle",
    "go_now",
    "go_producer",
    "go_recover_pool",
    "go_recovering_client",
    "go_recovering_worker",
    "go_worker",
    "poison",
    "rust_bare_pool",
    "rust_call",
    "rust_client",
    "rust_clients",
    "rust_handle",
    "rust_joinset_pool",
    "rust_joinset_supervisor",
    "rust_producer",
    "rust_restarting_clients",
    "rust_worker",
)

T = TypeVar("T")

MODELS = ("go", "rust", "actor")
#: How each model's pool meets a failure, the first of each being its default.
DESIGNS: dict[str, tuple[str, ...]] = {
    "go": ("bare", "recover", "errgroup"),
    "rust": ("bare", "joinset"),
    "actor": ("none", "one_for_one"),
}
#: The restart policies of :func:`dependency_storm`.
POLICIES = ("storm", "intensity", "backoff", "breaker")
#: The policies each model has in :func:`dependency_storm`.
STORM_MODELS: dict[str, tuple[str, ...]] = {
    "actor": POLICIES,
    "go": ("storm", "backoff"),
    "rust": ("storm", "backoff"),
}
#: How the dependency fails while it is down.
FAILURES = ("error", "hang")

_WHY_NOT = {
    ("go", "intensity"): "Go has no supervisor to count restarts; a hand-written loop would "
                         "have to (use model='actor')",
    ("rust", "intensity"): "tokio has no supervisor to count restarts; the JoinSet loop "
                           "would have to (use model='actor')",
    ("go", "breaker"): "the breaker keeps the worker from failing, so there is nothing for "
                       "a recover loop to do; the breaker itself is labkit.supervision."
                       "CircuitBreaker, usable from goroutines (use model='actor' here)",
    ("rust", "breaker"): "the breaker keeps the task from panicking, so there is nothing for "
                         "a JoinSet loop to do; labkit.supervision.CircuitBreaker works from "
                         "tasks too (use model='actor' here)",
}


def _now() -> float:
    return labkit.now()


# == bookkeeping ===============================================================================


class PoisonJob(Exception):
    """What handling a poison job raises: a Rust ``panic!`` or an actor handler's error."""


class Work:
    """The jobs of :func:`poison` and what happened to each, plus the workers' ups and
    downs (not part of any model: it counts, and writes ``note`` rows to the trace).

    Jobs are numbered 1..messages; job ``n`` is poison when ``n % poison_every == 0``.
    A worker holds a *slot* (0..workers-1): a restarted goroutine or actor keeps its own,
    a respawned tokio task takes a free one.
    """

    def __init__(self, model: str, workers: int, messages: int, poison_every: int,
                 work_time: float, start_time: float, arrival_rate: float) -> None:
        self.model = model
        self.workers = workers
        self.messages = messages
        self.poison = frozenset(range(poison_every, messages + 1, poison_every))
        self.work_time = work_time
        self.start_time = start_time
        self.arrival_rate = arrival_rate
        self.taken: dict[int, float] = {}
        self.finished: dict[int, float] = {}
        self.failed: list[int] = []  # poison jobs taken, in order
        self.restarts = 0
        self.slots: dict[str, int] = {}  # task name -> slot
        self.up: set[int] = set()
        self.down_at: dict[int, float] = {}  # slot -> when it went down
        self.recoveries: list[float] = []
        self.alive: list[tuple[float, int]] = [(0.0, 0)]
        self.first_failure: float | None = None

    # -- the workload

    def arrivals(self) -> Iterator[tuple[int, float]]:
        """``(n, gap)`` for jobs 1..messages: a Poisson stream at ``arrival_rate``, drawn
        from the run's generator as the producer goes."""
        rng = labkit.rng()
        for n in range(1, self.messages + 1):
            yield n, interval(rng, 1.0 / self.arrival_rate, "exponential")

    # -- the workers

    def _step(self, at: float | None = None) -> None:
        t = _now() if at is None else at
        if self.alive and self.alive[-1][0] == t:
            self.alive[-1] = (t, len(self.up))
        else:
            self.alive.append((t, len(self.up)))

    async def start_up(self) -> None:
        """A worker (re)starts: it takes ``start_time`` seconds (connect, warm a cache)
        before it is in service."""
        name = current_task_name()
        await labkit.sleep(self.start_time)
        slot = self.slots.get(name)
        if slot is None or slot in self.up:
            slot = min(set(range(self.workers)) - self.up)
            self.slots[name] = slot
        self.up.add(slot)
        went_down = self.down_at.pop(slot, None)
        if went_down is not None:
            self.recoveries.append(_now() - went_down)
        self._step()
        record("note", model=self.model, detail=f"worker up (slot {slot})")

    def _down(self, why: str) -> None:
        slot = self.slots.get(current_task_name())
        if slot is None or slot not in self.up:
            return
        self.up.discard(slot)
        self.down_at[slot] = _now()
        self._step()
        record("note", model=self.model, detail=f"worker down (slot {slot}): {why}")

    def took(self, n: int) -> None:
        """The worker running now took job ``n``."""
        self.taken[n] = _now()
        record("note", corr_id=n, model=self.model, detail=f"took job {n}")

    def poisoned(self, n: int) -> bool:
        """True for a poison job; the worker running now fails on it (noted as down)."""
        if n not in self.poison:
            return False
        self.failed.append(n)
        if self.first_failure is None:
            self.first_failure = _now()
        self._down(f"failed on job {n}")
        return True

    def done(self, n: int) -> None:
        """Job ``n`` is complete."""
        self.finished[n] = _now()
        record("note", corr_id=n, model=self.model, detail=f"done job {n}")

    def left(self) -> None:
        """The worker running now stops without failing (an errgroup sibling, cancelled)."""
        self._down("stopped: context cancelled")

    def restarted(self) -> None:
        """A restart by hand (Go's recover loop, Rust's JoinSet loop)."""
        self.restarts += 1

    def in_progress(self) -> int:
        return len(self.taken) - len(self.finished) - len(self.failed)


# == poison: Go ================================================================================


async def go_handle(n: int, w: Work) -> None:
    """Handle job ``n``; a poison job panics (``panic(...)``, G31)."""
    w.took(n)
    if w.poisoned(n):
        go.panic(f"poison job {n}")
    await go.sleep(w.work_time)
    w.done(n)


async def go_producer(jobs: go.Chan[int], w: Work, ctx: go.Context | None = None) -> None:
    """Send each job as it arrives, then close the queue (G11, G16). With an errgroup's
    ``ctx``: stop sending once it is cancelled (G35, G42)."""
    for n, gap in w.arrivals():
        await go.sleep(gap)
        if ctx is not None and ctx.err() is not None:
            break  # the group gave up: nobody would handle the rest
        await jobs.send(n, corr_id=n)
    jobs.close()


async def go_worker(jobs: go.Chan[int], w: Work, wg: go.WaitGroup) -> None:
    """A plain worker goroutine ranging over the shared queue (G7, G28). Its panic is not
    recovered: it ends the whole program, every other goroutine with it (G31)."""
    await w.start_up()
    async for n in jobs:
        await go_handle(n, w)
    wg.done()


async def go_recovering_worker(jobs: go.Chan[int], w: Work, wg: go.WaitGroup) -> None:
    """A worker goroutine that supervises itself: ``defer recover()`` around its work loop
    stops the panic in this goroutine (G32), and the loop starts the work again. The job
    that panicked is lost; the goroutine and the program go on. In Go::

        for {
            done := func() (done bool) {
                defer func() { if r := recover(); r != nil { log.Print(r) } }()
                for n := range jobs { handle(n) }
                return true
            }()
            if done { break }
        }
    """
    while True:
        await w.start_up()
        with go.recover() as r:
            async for n in jobs:
                await go_handle(n, w)
        if not r.panicked:
            break  # the queue is closed and drained
        w.restarted()  # log.Print(r), then round the loop again
    wg.done()


async def go_bare_pool(w: Work) -> None:
    """``workers`` plain goroutines on one channel; main sends, closes and waits (G40)."""
    jobs: go.Chan[int] = go.Chan(w.messages, name="jobs")
    wg = go.WaitGroup()
    wg.add(w.workers)
    for _ in range(w.workers):
        go.go(go_worker, jobs, w, wg)
    await go_producer(jobs, w)
    await wg.wait()


async def go_recover_pool(w: Work) -> None:
    """The same pool, each goroutine running its own ``recover`` restart loop (G32)."""
    jobs: go.Chan[int] = go.Chan(w.messages, name="jobs")
    wg = go.WaitGroup()
    wg.add(w.workers)
    for _ in range(w.workers):
        go.go(go_recovering_worker, jobs, w, wg)
    await go_producer(jobs, w)
    await wg.wait()


async def go_errgroup_worker(ctx: go.Context, jobs: go.Chan[int], w: Work) -> object:
    """An errgroup worker: a poison job is *returned* as an error (errgroup does not
    recover panics, G44), and the first error cancels ``ctx``; every worker selects on
    ``ctx.Done()`` and returns (G42). Nobody restarts anyone."""
    await w.start_up()
    while True:
        i, n, ok = await go.select(go.Recv(ctx.done()), go.Recv(jobs))
        if i == 0:
            w.left()
            return ctx.err()  # cancelled: a sibling failed
        if not ok:
            return None  # the queue is closed and drained
        w.took(n)
        if w.poisoned(n):
            return PoisonJob(f"poison job {n}")  # return fmt.Errorf("poison job %d", n)
        await go.sleep(w.work_time)
        w.done(n)


async def go_errgroup_pool(w: Work) -> object:
    """``g, ctx := errgroup.WithContext(ctx)``; ``g.Go(worker)`` each; ``g.Wait()`` returns
    the first error (G41, G42): fail-fast, one-for-all without a restart."""
    g, ctx = go.errgroup_with_context(go.background())
    jobs: go.Chan[int] = go.Chan(w.messages, name="jobs")
    for _ in range(w.workers):
        await g.go(go_errgroup_worker, ctx, jobs, w)
    await go_producer(jobs, w, ctx)
    return await g.wait()


# == poison: Rust ==============================================================================


class SharedReceiver(Generic[T]):
    """``Arc<tokio::sync::Mutex<mpsc::Receiver<T>>>``: tokio's mpsc has one consumer (R1,
    R8), so a pool shares its Receiver behind a mutex. ``clone()`` is ``Arc::clone``;
    leaving ``with`` (a task's end, its panic included: unwinding drops its locals) is the
    clone's drop, and the last drop drops the Receiver: the channel closes, what it held is
    dropped, and ``send`` fails from then on (R5, R17). The mutex is a ``Semaphore(1)``:
    tokio's ``Mutex`` is fair (FIFO) and is not poisoned by a panic; the guard is released
    before the job is handled, so a panic never happens while it is held."""

    def __init__(self, rx: Receiver[T]) -> None:
        self._rx = rx
        self._lock = rust.Semaphore(1)
        self._count = [1]
        self._dropped = False

    def clone(self) -> SharedReceiver[T]:
        other: SharedReceiver[T] = SharedReceiver.__new__(SharedReceiver)
        other._rx, other._lock, other._count = self._rx, self._lock, self._count
        other._dropped = False
        self._count[0] += 1
        return other

    async def recv(self) -> T | None:
        """``rx.lock().await.recv().await``: one task at a time waits on the Receiver."""
        with await self._lock.acquire():
            return await self._rx.recv()

    def drop(self) -> None:
        if not self._dropped:
            self._dropped = True
            self._count[0] -= 1
            if self._count[0] == 0:
                self._rx.drop()

    def __enter__(self) -> SharedReceiver[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


async def rust_handle(n: int, w: Work) -> None:
    """Handle job ``n``; a poison job panics (``panic!("poison job {n}")``)."""
    w.took(n)
    if w.poisoned(n):
        raise PoisonJob(f"poison job {n}")
    await rust.sleep(w.work_time)
    w.done(n)


async def rust_producer(tx: Sender[int], w: Work) -> None:
    """Send each job as it arrives; a failed send means the Receiver is gone (every worker
    died): stop. Dropping ``tx`` closes the channel (R3, R15)."""
    with tx:
        for n, gap in w.arrivals():
            await rust.sleep(gap)
            if (await tx.send(n, corr_id=n)).is_err():
                break  # Err(SendError(n)): nobody will ever receive it


async def rust_worker(rx: SharedReceiver[int], w: Work) -> None:
    """A pool task: take the next job from the shared Receiver until the channel closes.
    A panic ends this task only, kept in its ``JoinError`` (R33)."""
    with rx:  # this task's Arc clone, dropped when the task ends, by a panic too
        await w.start_up()
        while (n := await rx.recv()) is not None:
            await rust_handle(n, w)


async def rust_bare_pool(w: Work) -> int:
    """``workers`` tasks on one shared Receiver, nobody watching them: each panic leaves
    one task fewer (R33). When the last one dies, the last ``Arc`` goes with it, the
    Receiver is dropped and the producer's ``send`` fails (R5). Main learns of the panics
    only when it awaits the handles at the end; returns how many panicked."""
    tx, rx = rust.mpsc.channel(w.messages)
    shared = SharedReceiver(rx)
    handles = [rust.spawn(rust_worker, shared.clone(), w) for _ in range(w.workers)]
    shared.drop()  # main keeps no clone: the tasks own the Receiver
    await rust_producer(tx, w)
    panicked = 0
    for handle in handles:
        match await handle:
            case rust.Err(e) if e.is_panic():
                panicked += 1
            case _:
                pass
    return panicked


async def rust_joinset_supervisor(workers: rust.JoinSet[None], rx: SharedReceiver[int],
                                  w: Work) -> None:
    """The idiomatic tokio supervisor (R34): ``while let Some(res) = set.join_next().await``;
    a ``JoinError`` that ``is_panic()`` gets a fresh task in its place. ``Ok(())``: the
    channel closed, that worker is done. ``None``: the set is empty, all are done."""
    while (res := await workers.join_next()) is not None:
        match res:
            case rust.Err(e) if e.is_panic():
                w.restarted()
                workers.spawn(rust_worker, rx.clone(), w)  # respawn
            case _:
                pass


async def rust_joinset_pool(w: Work) -> None:
    """The pool in a ``JoinSet`` under :func:`rust_joinset_supervisor`; the supervisor
    keeps an ``Arc`` of the Receiver to hand to each replacement."""
    tx, rx = rust.mpsc.channel(w.messages)
    shared = SharedReceiver(rx)
    producer = rust.spawn(rust_producer, tx, w, name="producer")
    async with rust.JoinSet[None]() as workers:
        for _ in range(w.workers):
            workers.spawn(rust_worker, shared.clone(), w)
        await rust_joinset_supervisor(workers, shared, w)
    shared.drop()
    (await producer).unwrap()


# == poison: actors ============================================================================


class PoolWorker(Actor):
    """An actor worker: ``on_start`` readies it, ``receive`` handles one job; a poison job
    raises, and its supervisor decides (the system's default: stop it)."""

    def __init__(self, w: Work) -> None:
        self.w = w

    async def on_start(self, ctx: Context) -> None:
        await self.w.start_up()

    async def receive(self, n: int, ctx: Context) -> None:
        self.w.took(n)
        if self.w.poisoned(n):
            raise PoisonJob(f"poison job {n}")
        await labkit.sleep(self.w.work_time)
        self.w.done(n)


async def actor_router(system: ActorSystem, names: list[str], w: Work) -> None:
    """Round-robin over the workers alive now (looked up by name), as an Akka pool router
    drops a routee that terminated; with none left, a job is a dead letter."""
    turn = 0
    for n, gap in w.arrivals():
        await labkit.sleep(gap)
        alive = [ref for name in names if (ref := system.lookup(name)) is not None]
        if not alive:
            system.dead_letter(n, "router", "no routees left: every worker has stopped")
            continue
        alive[turn % len(alive)].tell(n, corr_id=n)
        turn += 1


async def actor_pool(w: Work, design: str) -> None:
    """``none``: workers spawned by the system, whose default supervisor stops a failing
    actor (its queued jobs become dead letters). ``one_for_one``: the same workers as
    permanent children of a :class:`~labkit.supervision.Supervisor`; a failing one is
    restarted with its ref and its mailbox, so only the job in hand is lost."""
    names = [f"worker-{k}" for k in range(w.workers)]
    async with ActorSystem() as system:
        if design == "none":
            for name in names:
                system.spawn(PoolWorker, w, name=name)
        else:  # OTP starts the children in order, each once the one before has started
            children = [Child(PoolWorker, w, name=name) for name in names]
            system.spawn(Supervisor, children, strategy="one_for_one",
                         intensity=max(1, len(w.poison)), period=5.0, name="pool")
        await actor_router(system, names, w)
        while w.in_progress() or _queued(system, names):
            await labkit.sleep(w.work_time)  # let the pool finish what it has


def _queued(system: ActorSystem, names: list[str]) -> int:
    return sum(len(ref.mailbox) for name in names if (ref := system.lookup(name)) is not None)


# == poison: the scenario ======================================================================


@dataclass(frozen=True)
class PoisonResult:
    """Headline numbers of :func:`poison` (times in virtual seconds).

    Every job ends up ``processed``, ``lost`` (taken by a worker and never completed: the
    poison jobs, and on a crash the jobs in other workers' hands) or ``unprocessed`` (never
    taken: left in the queue, never sent, or a dead letter). ``poisoned`` counts the poison
    jobs taken (each one a worker failure). ``restarts``: workers restarted or respawned.
    ``crashed``: the whole program ended (Go, G31); ``error``: what ended it, or the error
    errgroup's ``Wait`` returned. ``survivors``: workers in service at the end.
    ``recovery_time``: mean time from a failure until that worker (or its replacement) is in
    service again, NaN when none came back. ``alive``: the step series ``(time, workers in
    service)``. ``finished_at``: when the run ended.
    """

    model: str
    design: str
    workers: int
    messages: int
    poisoned: int
    processed: int
    lost: int
    unprocessed: int
    restarts: int
    crashed: bool
    error: str | None
    survivors: int
    recovery_time: float
    first_failure_at: float | None
    finished_at: float
    alive: tuple[tuple[float, int], ...]


def poison(model: str = "go", design: str | None = None, *, workers: int = 3,
           messages: int = 60, poison_every: int = 10, work_time: float = 0.01,
           arrival_rate: float = 100.0, start_time: float = 0.005,
           seed: int | None = 0) -> Run[PoisonResult]:
    """The "poison message": jobs 1..``messages`` arrive at ``arrival_rate`` per second
    (a Poisson stream) into one shared queue served by ``workers`` workers; each takes
    ``work_time`` seconds, a worker needs ``start_time`` seconds to (re)start, and every
    job whose number is a multiple of ``poison_every`` makes its worker fail.

    Designs (``design=None``: the model's first):

    * go ``"bare"``: plain goroutines. The first panic ends the whole program (G31):
      ``crashed``, with what was processed until then.
    * go ``"recover"``: each goroutine runs a ``defer recover()`` restart loop (G32): the
      poison jobs are lost, every worker goes on.
    * go ``"errgroup"``: ``errgroup.WithContext``; a poison job is returned as an error
      (errgroup would not catch a panic, G44), ``ctx`` is cancelled and every worker
      stops (G42); the producer stops too, the rest is never handled.
    * rust ``"bare"``: tasks sharing ``Arc<Mutex<Receiver>>``; a panic ends one task (R33),
      nobody replaces it. Once all have died the Receiver is dropped with the last
      ``Arc``, the queued jobs with it, and the producer's ``send`` fails.
    * rust ``"joinset"``: a ``JoinSet`` loop respawns each panicked task (R34).
    * actor ``"none"``: the system's default supervisor stops a failing actor; the router
      skips stopped workers; jobs queued at a stopped one are dead letters.
    * actor ``"one_for_one"``: permanent children of a one-for-one Supervisor, intensity
      = the number of poison jobs in 5 s, so it never gives up here; a restarted worker
      keeps its mailbox.
    """
    model = check_model(model, MODELS)
    design = check_offered("design", design, model, DESIGNS, optional=True)
    workers = check_parties("workers", workers)
    messages = check_count("messages", messages, minimum=1)
    poison_every = check_count("poison_every", poison_every, minimum=1)
    work_time = check_seconds("work_time", work_time)
    arrival_rate = check_rate("arrival_rate", arrival_rate)
    start_time = check_seconds("start_time", start_time, allow_zero=True)
    w = Work(model, workers, messages, poison_every, work_time, start_time, arrival_rate)

    async def main() -> object:
        if model == "go":
            if design == "bare":
                await go_bare_pool(w)
                return None
            if design == "recover":
                await go_recover_pool(w)
                return None
            return await go_errgroup_pool(w)
        if model == "rust":
            if design == "bare":
                await rust_bare_pool(w)
            else:
                await rust_joinset_pool(w)
            return None
        await actor_pool(w, design)
        return None

    crashed = False
    error: str | None = None
    try:
        run: Run[Any] = simulate(main, seed=seed)
        if run.result is not None:
            error = str(run.result)
    except go.Panic as exc:  # G31: a goroutine's panic ended the program
        run = exc.run  # type: ignore[attr-defined]
        crashed = True
        error = f"panic: {exc}"
        w.up.clear()
        w._step(run.elapsed)
    restarts = w.restarts
    if model == "actor":
        restarts = run.trace.kinds().get("restart", 0)
    lost = len(w.taken) - len(w.finished)
    return with_result(run, PoisonResult(
        model=model, design=design, workers=workers, messages=messages,
        poisoned=len(w.failed), processed=len(w.finished), lost=lost,
        unprocessed=messages - len(w.taken), restarts=restarts, crashed=crashed,
        error=error, survivors=len(w.up),
        recovery_time=(sum(w.recoveries) / len(w.recoveries) if w.recoveries else math.nan),
        first_failure_at=w.first_failure, finished_at=run.elapsed, alive=tuple(w.alive)))


# == dependency_storm ==========================================================================

#: The exponential backoff of the ``"backoff"`` policy: the first restart waits this long,
#: each next one twice as long, up to :data:`BACKOFF_MAX` seconds.
BACKOFF_MIN = 0.1
BACKOFF_MAX = 2.0
#: "No limit" for the ``"storm"`` and ``"backoff"`` supervisors' intensity.
NO_LIMIT = 10**9


class DependencyDown(Exception):
    """A call to the dependency failed: it is down (connection refused)."""


class Dependency:
    """A flaky dependency, down from ``down_at`` for ``down_for`` seconds. A call takes
    ``call_time``; while it is down a call fails (``"error"``, after ``call_time``) or
    never answers (``"hang"``: only the caller's timeout ends it). It counts the calls that
    reach it and writes a ``note`` row for each (the load a restart policy puts on it)."""

    def __init__(self, model: str, down_at: float, down_for: float, failure: str,
                 call_time: float) -> None:
        self.model = model
        self.down_at = down_at
        self.up_at = down_at + down_for
        self.failure = failure
        self.call_time = call_time
        self.calls = 0
        self.calls_while_down = 0
        self.first_ok_after_recovery: float | None = None

    def is_down(self) -> bool:
        return self.down_at <= _now() < self.up_at

    async def call(self, what: str) -> None:
        down = self.is_down()
        self.calls += 1
        self.calls_while_down += down
        record("note", model=self.model,
               detail=f"dependency call ({what}): {'down' if down else 'up'}")
        if down and self.failure == "hang":
            await labkit.sleep(math.inf)  # never answers
        await labkit.sleep(self.call_time)
        if down:
            raise DependencyDown(f"{what}: connection refused")
        if self.first_ok_after_recovery is None and _now() >= self.up_at:
            self.first_ok_after_recovery = _now()


async def call_with_timeout(dep: Dependency, what: str, timeout: float) -> None:
    """One call with a deadline (Go: ``context.WithTimeout``; Rust: ``tokio::time::timeout``):
    ``TimeoutError`` when the dependency does not answer in ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        await dep.call(what)


class Requests:
    """The client side of :func:`dependency_storm`: requests 1..n, what became of them."""

    def __init__(self, model: str, requests: int, rate: float) -> None:
        self.model = model
        self.requests = requests
        self.rate = rate
        self.served: dict[int, float] = {}
        self.failed: dict[int, str] = {}
        self.restarts = 0

    def arrivals(self) -> Iterator[tuple[int, float]]:
        """``(n, gap)``: one request every ``1/rate`` seconds."""
        for n in range(1, self.requests + 1):
            yield n, 1.0 / self.rate

    def serve(self, n: int) -> None:
        self.served[n] = _now()
        record("note", corr_id=n, model=self.model, detail=f"served request {n}")

    def fail(self, n: int, why: str) -> None:
        self.failed[n] = why
        record("note", corr_id=n, model=self.model, detail=f"failed request {n}: {why}")

    def restarted(self) -> None:
        self.restarts += 1


class Client(Actor):
    """The worker: connects to the dependency when it starts, then serves each request
    with one call. A failed call raises: its supervisor decides (restart, give up)."""

    def __init__(self, dep: Dependency, log: Requests, timeout: float) -> None:
        self.dep, self.log, self.timeout = dep, log, timeout

    async def on_start(self, ctx: Context) -> None:
        await call_with_timeout(self.dep, "connect", self.timeout)

    async def receive(self, n: int, ctx: Context) -> None:
        await call_with_timeout(self.dep, f"request {n}", self.timeout)
        self.log.serve(n)


class BreakerClient(Actor):
    """The worker with every call through a circuit breaker: a failed call fails its
    request and the worker goes on; while the breaker is open, calls fail at once without
    reaching the dependency; once half-open, one trial call goes through."""

    def __init__(self, dep: Dependency, log: Requests, breaker: CircuitBreaker) -> None:
        self.dep, self.log, self.breaker = dep, log, breaker

    async def receive(self, n: int, ctx: Context) -> None:
        try:
            await self.breaker.call(self.dep.call, f"request {n}")
        except CircuitOpen:
            self.log.fail(n, "circuit open: failed fast")
        except (DependencyDown, TimeoutError) as exc:
            self.log.fail(n, type(exc).__name__)
        else:
            self.log.serve(n)


def _client_child(policy: str, dep: Dependency, log: Requests, timeout: float) -> Child:
    if policy == "breaker":
        breaker = CircuitBreaker(max_failures=3, call_timeout=timeout, reset_timeout=1.0,
                                 backoff_factor=2.0, max_reset_timeout=BACKOFF_MAX,
                                 name="dependency")
        return Child(BreakerClient, dep, log, breaker, name="client")
    return Child(Client, dep, log, timeout, name="client")


def _supervisor_options(policy: str) -> dict[str, Any]:
    """storm: restart at once, no limit; intensity: OTP's defaults (1 restart in 5 s);
    backoff: Akka's restartWithBackoff; breaker: no failure to restart."""
    if policy == "intensity":
        return {"intensity": 1, "period": 5.0}
    if policy == "backoff":
        return {"intensity": NO_LIMIT, "period": 5.0,
                "backoff": Backoff(min=BACKOFF_MIN, max=BACKOFF_MAX, random_factor=0.2)}
    return {"intensity": NO_LIMIT, "period": 5.0}


async def actor_clients(policy: str, dep: Dependency, log: Requests, timeout: float,
                        grace: float) -> int:
    """The client under a one-for-one Supervisor with the policy's options; requests are
    told to it as they arrive; then up to ``grace`` seconds to finish. Returns the dead
    letters (requests lost: in hand at a failure, or still queued at the end)."""
    async with ActorSystem() as system:
        system.spawn(Supervisor, [_client_child(policy, dep, log, timeout)],
                     strategy="one_for_one", name="supervisor", **_supervisor_options(policy))
        for n, gap in log.arrivals():
            await labkit.sleep(gap)
            client = system.lookup("client")
            if client is None:
                system.dead_letter(n, "client", "no client: its supervisor gave up")
            else:
                client.tell(n, corr_id=n)
        deadline = _now() + grace
        while (len(log.served) + len(log.failed) + len(system.dead_letters) < log.requests
               and _now() < deadline):
            await labkit.sleep(log.rate and 1.0 / log.rate)
    return len(system.dead_letters)


async def go_call(dep: Dependency, what: str, timeout: float) -> None:
    """A call that panics when it fails (a ``must``-style helper): the worker's failure."""
    try:
        await call_with_timeout(dep, what, timeout)
    except (DependencyDown, TimeoutError) as exc:
        go.panic(f"{what}: {exc or type(exc).__name__}")


async def go_recovering_client(requests: go.Chan[int], dep: Dependency, log: Requests,
                               policy: str, timeout: float) -> None:
    """A client goroutine with a ``recover`` restart loop (G32): connect, serve requests;
    a failed call panics, the loop recovers and starts over: at once (``"storm"``), or
    after sleeping ``delay``, doubled at each failure up to a cap (``"backoff"``; reset
    after a run of ``BACKOFF_MAX`` seconds without failing)."""
    delay = BACKOFF_MIN
    while True:
        started = go_now()
        with go.recover() as r:
            await go_call(dep, "connect", timeout)
            async for n in requests:
                await go_call(dep, f"request {n}", timeout)
                log.serve(n)
        if not r.panicked:
            return  # the requests channel is closed and drained
        log.restarted()
        if policy == "backoff":
            if go_now() - started >= BACKOFF_MAX:
                delay = BACKOFF_MIN  # it ran long enough: start the backoff again
            await go.sleep(delay)  # time.Sleep(delay)
            delay = min(2 * delay, BACKOFF_MAX)


def go_now() -> float:
    """``time.Now()``, in seconds of the run's clock."""
    return labkit.now()


async def go_clients(policy: str, dep: Dependency, log: Requests, timeout: float) -> None:
    requests: go.Chan[int] = go.Chan(log.requests, name="requests")
    wg = go.WaitGroup()
    wg.go(go_recovering_client, requests, dep, log, policy, timeout)
    for n, gap in log.arrivals():
        await go.sleep(gap)
        await requests.send(n, corr_id=n)
    requests.close()
    await wg.wait()


async def rust_call(dep: Dependency, what: str, timeout: float) -> None:
    """``timeout(d, dep.call()).await.expect(...)``: a failed call panics the task."""
    try:
        await call_with_timeout(dep, what, timeout)
    except (DependencyDown, TimeoutError) as exc:
        raise RuntimeError(f"{what}: {exc or type(exc).__name__}") from exc


async def rust_client(rx: SharedReceiver[int], dep: Dependency, log: Requests,
                      timeout: float) -> None:
    """The client task: connect, then serve each request; a failed call panics (R33)."""
    with rx:
        await rust_call(dep, "connect", timeout)
        while (n := await rx.recv()) is not None:
            await rust_call(dep, f"request {n}", timeout)
            log.serve(n)


async def rust_restarting_clients(rx: SharedReceiver[int], dep: Dependency, log: Requests,
                                  policy: str, timeout: float) -> None:
    """A ``JoinSet`` supervisor loop (R34): on a panic, respawn the client at once
    (``"storm"``) or after ``tokio::time::sleep(delay)``, ``delay`` doubling up to a cap and
    reset after a run of ``BACKOFF_MAX`` seconds without failing (``"backoff"``)."""
    clients: rust.JoinSet[None] = rust.JoinSet()
    clients.spawn(rust_client, rx.clone(), dep, log, timeout)
    started, delay = labkit.now(), BACKOFF_MIN
    while (res := await clients.join_next()) is not None:
        match res:
            case rust.Err(e) if e.is_panic():
                log.restarted()
                if policy == "backoff":
                    if labkit.now() - started >= BACKOFF_MAX:
                        delay = BACKOFF_MIN
                    await rust.sleep(delay)
                    delay = min(2 * delay, BACKOFF_MAX)
                clients.spawn(rust_client, rx.clone(), dep, log, timeout)
                started = labkit.now()
            case _:
                pass


async def rust_clients(policy: str, dep: Dependency, log: Requests, timeout: float) -> None:
    tx, rx = rust.mpsc.channel(log.requests)
    shared = SharedReceiver(rx)

    async def produce() -> None:
        with tx:
            for n, gap in log.arrivals():
                await rust.sleep(gap)
                (await tx.send(n, corr_id=n)).unwrap()

    producer = rust.spawn(produce, name="producer")
    await rust_restarting_clients(shared, dep, log, policy, timeout)
    shared.drop()
    (await producer).unwrap()


@dataclass(frozen=True)
class StormResult:
    """Headline numbers of :func:`dependency_storm` (times in virtual seconds).

    ``calls``: calls that reached the dependency, ``calls_while_down`` of them while it
    was down (the load the policy put on a failing dependency). ``restarts``: of the
    client. ``escalated``: the supervisor gave up (intensity) and the run ended with it.
    Every request was ``served``, ``failed`` (the client answered with an error: the
    breaker's fast failures) or ``lost`` (in hand at a failure, queued when the client
    was gone, or not handled by the end). ``time_to_recover``: from the dependency's
    recovery to the first successful call, NaN if none. ``breaker_opened``: times the
    breaker opened (policy ``"breaker"``).
    """

    model: str
    policy: str
    failure: str
    requests: int
    calls: int
    calls_while_down: int
    restarts: int
    escalated: bool
    served: int
    failed: int
    lost: int
    time_to_recover: float
    breaker_opened: int
    finished_at: float


def dependency_storm(policy: str = "storm", model: str = "actor", *, requests: int = 100,
                     request_rate: float = 20.0, down_at: float = 1.0, down_for: float = 2.0,
                     failure: str = "error", call_time: float = 0.01,
                     call_timeout: float = 0.5, seed: int | None = 0) -> Run[StormResult]:
    """A client serves ``requests`` requests (one every ``1/request_rate`` s) with one call
    each to a dependency that is down from ``down_at`` for ``down_for`` seconds: a call
    fails after ``call_time`` (``failure="error"``) or hangs until the client's
    ``call_timeout`` (``"hang"``). A failed call makes the client fail, and a restarted
    client connects first, so every restart is another call to the dependency.

    Policies (``model="actor"``, a one-for-one :class:`~labkit.supervision.Supervisor`):

    * ``"storm"``: restart at once, no limit: the restarts hammer the dependency.
    * ``"intensity"``: OTP's defaults, at most 1 restart in 5 s: the supervisor gives up
      at the second failure and, at the top of the tree, the run ends with it.
    * ``"backoff"``: Akka's ``restartWithBackoff``: 0.1 s, doubling up to 2 s, 20% jitter.
    * ``"breaker"``: calls go through a :class:`~labkit.supervision.CircuitBreaker`
      (3 failures open it, trial after 1 s, doubling up to 2 s): the client never fails;
      while open, requests fail fast without reaching the dependency.

    ``model="go"`` (a ``recover`` restart loop in the client goroutine, G32) and
    ``model="rust"`` (a ``JoinSet`` loop respawning the client task, R34) have
    ``"storm"`` and ``"backoff"`` (sleep, double, cap; no jitter), written by hand.
    """
    model = check_model(model, tuple(STORM_MODELS))
    policy = check_offered("policy", policy, model, STORM_MODELS, why=_WHY_NOT)
    requests = check_count("requests", requests, minimum=1)
    request_rate = check_rate("request_rate", request_rate)
    down_at = check_seconds("down_at", down_at, allow_zero=True)
    down_for = check_seconds("down_for", down_for, allow_zero=True)
    failure = check_choice("failure", failure, FAILURES)
    call_time = check_seconds("call_time", call_time)
    call_timeout = check_seconds("call_timeout", call_timeout)
    dep = Dependency(model, down_at, down_for, failure, call_time)
    log = Requests(model, requests, request_rate)
    grace = down_at + down_for + BACKOFF_MAX * 2

    async def main() -> None:
        if model == "go":
            await go_clients(policy, dep, log, call_timeout)
        elif model == "rust":
            await rust_clients(policy, dep, log, call_timeout)
        else:
            await actor_clients(policy, dep, log, call_timeout, grace)

    escalated = False
    try:
        run: Run[Any] = simulate(main, seed=seed)
    except Escalation as exc:  # the top supervisor gave up: the run ends with it
        run = exc.run
        escalated = True
    restarts = log.restarts
    opened = 0
    if model == "actor":
        restarts = run.trace.kinds().get("restart", 0)
        table = Columns.of(run.trace)
        opened = sum(isinstance(detail, str) and "-> open" in detail
                     for detail in table.objects("detail")[table.isin("kind", ("breaker",))])
    recovered = dep.first_ok_after_recovery
    return with_result(run, StormResult(
        model=model, policy=policy, failure=failure, requests=requests, calls=dep.calls,
        calls_while_down=dep.calls_while_down, restarts=restarts, escalated=escalated,
        served=len(log.served), failed=len(log.failed),
        lost=requests - len(log.served) - len(log.failed),
        time_to_recover=math.nan if recovered is None else recovered - dep.up_at,
        breaker_opened=opened, finished_at=run.elapsed))
