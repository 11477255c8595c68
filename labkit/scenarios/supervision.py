"""Notebook 04 (supervision): OTP supervisors, Akka backoff and the circuit breaker, run.

* :func:`strategies`: one supervisor, three children ``a``, ``b``, ``c``; one of them gets a
  poison message. ``one_for_one``, ``one_for_all`` and ``rest_for_one`` restart different
  children, in a fixed order.
* :func:`escalation`: a two-level tree whose leaf fails at given times; restarts count in the
  ``intensity``/``period`` window, a supervisor past it escalates to its parent, and at the
  top the run ends with :class:`~labkit.supervision.Escalation`.
* :func:`restart_types`: a ``permanent``, ``transient`` or ``temporary`` child that fails or
  stops normally: restarted or reported.
* :func:`backoff_restarts`: a child whose start fails while its database is down, restarted
  with exponential backoff and seeded jitter; :func:`backoff_mailbox`: what happens to the
  message being handled at a failure and to those sent during the backoff wait.
* :func:`breaker`: requests to a dependency that goes down for a while, with or without a
  :class:`~labkit.supervision.CircuitBreaker` in front of it.

The functions a learner reads in the notebook (:class:`Worker`, :func:`three_children`,
:func:`two_level_tree`, :func:`one_child`, :class:`Connector`, :func:`restarts_with_backoff`,
:func:`poison_then_queue`, :class:`Database`, :func:`request`, :func:`server`) are the ones
that run; the scenario functions read what happened from the trace. Every scenario is a
pure function of its parameters and ``seed`` returning a :class:`labkit.Run` whose
``result`` is a small frozen dataclass, in virtual seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

import labkit
from labkit import Run, go
from labkit._check import check_bool, check_choice, check_number, check_sequence
from labkit.actor import Actor, ActorSystem, Context
from labkit.scenarios._common import check_count, check_seconds, simulate, with_result
from labkit.supervision import (
    RESTART_TYPES,
    STRATEGIES,
    Backoff,
    Child,
    CircuitBreaker,
    CircuitOpen,
    Escalation,
    RestartType,
    Supervisor,
)

__all__ = (
    "CHILDREN",
    "ENDINGS",
    "BackoffMailboxResult",
    "BackoffRestart",
    "BackoffRestartsResult",
    "BreakerResult",
    "Connector",
    "Database",
    "EscalationResult",
    "Outcome",
    "RestartTypeResult",
    "StrategiesResult",
    "SupervisionEvent",
    "Worker",
    "backoff_mailbox",
    "backoff_restarts",
    "breaker",
    "escalation",
    "one_child",
    "poison_then_queue",
    "request",
    "restart_types",
    "restarts_with_backoff",
    "server",
    "strategies",
    "tell",
    "three_children",
    "two_level_tree",
)

#: The children of :func:`three_children`, in start order.
CHILDREN = ("a", "b", "c")
#: How a child of :func:`one_child` ends: its handler raises, or it stops itself.
ENDINGS = ("failure", "normal stop")


@dataclass(frozen=True)
class SupervisionEvent:
    """One row of what a supervisor did: ``kind`` is ``fail``, ``stop`` (a child stopped by
    its supervisor), ``restart``, ``start`` or ``escalate``; ``who`` the actor; ``peer`` its
    supervisor (start, stop, restart), the sender of the message it failed on (fail), or
    the child that failed once too often (escalate); ``detail`` the trace row's words."""

    time: float
    kind: str
    who: str
    peer: str
    detail: str


def _events(df: pd.DataFrame, names: set[str]) -> tuple[SupervisionEvent, ...]:
    """The supervision rows about ``names`` in trace order: failures, stops by a supervisor,
    restarts, (re)starts and escalations."""
    rows = df[(df["model"] == "actor")].sort_values("seq", kind="stable")
    events = []
    for time, kind, actor, other, detail, msg_type in zip(
            rows["time"], rows["kind"], rows["actor"], rows["peer"], rows["detail"],
            rows["msg_type"], strict=True):
        peer = "" if pd.isna(other) else str(other)
        text = "" if pd.isna(detail) else str(detail)
        if kind == "spawn" and peer in names:
            events.append(SupervisionEvent(float(time), "start", peer, str(actor), ""))
        elif actor in names and (
                (kind == "fail" and msg_type != "Escalation") or kind == "escalate"
                or (kind in ("stop", "restart") and peer)):
            events.append(SupervisionEvent(float(time), kind, str(actor), peer, text))
    return tuple(events)


# -- the child every tree here supervises --------------------------------------------------


def tell(system: ActorSystem, name: str, msg: Any) -> None:
    """Send `msg` to the actor named `name` (a restarted child keeps its name and ref)."""
    ref = system.lookup(name)
    if ref is None:
        raise LookupError(f"no actor named {name!r} is running")
    ref.tell(msg)


class Worker(Actor):
    """A child that answers every message. ``"poison"`` makes its handler raise (a failure,
    which its supervisor sees); ``"done"`` makes it stop itself normally. ``handled`` (if
    given) notes each message handled, with the time."""

    def __init__(self, handled: list[tuple[float, Any]] | None = None) -> None:
        self.handled = handled

    async def receive(self, msg: Any, ctx: Context) -> Any:
        if msg == "poison":
            raise ValueError(f"{ctx.name} got a poison message")
        if msg == "done":
            ctx.stop()  # a normal stop: no error
            return None
        if self.handled is not None:
            self.handled.append((labkit.now(), msg))
        return msg


# == strategies ==============================================================================


async def three_children(strategy: str, failing: str) -> None:
    """One supervisor, children a, b, c started in that order; at t=1 s `failing` gets a
    poison message. Which children restart depends on the strategy (OTP)."""
    children = [Child(Worker, name="a"), Child(Worker, name="b"), Child(Worker, name="c")]
    async with ActorSystem() as system:
        system.spawn(Supervisor, children, strategy=strategy, name="sup")
        await labkit.sleep(1.0)
        tell(system, failing, "poison")  # its handler raises: a failure
        await labkit.sleep(1.0)


@dataclass(frozen=True)
class StrategiesResult:
    """What :func:`strategies` saw: the children ``restarted`` (in restart order), those
    ``stopped`` by the supervisor to restart them, and the ``sequence`` of what happened at
    the failure (``"b failed"``, ``"c stopped"``, ``"b restarted"``, ``"b started"``, ...)."""

    strategy: str
    failing: str
    restarted: tuple[str, ...]
    stopped: tuple[str, ...]
    sequence: tuple[str, ...]
    events: tuple[SupervisionEvent, ...]


def strategies(strategy: str = "one_for_one", failing: str = "b", *,
               seed: int | None = 0) -> Run[StrategiesResult]:
    """Three children a, b, c under one supervisor; ``failing`` fails once at t=1 s.
    ``one_for_one`` restarts it alone; ``one_for_all`` stops the others (in reverse start
    order) and restarts all three in start order; ``rest_for_one`` restarts it and those
    started after it. Restart order and stop order are OTP's."""
    strategy = check_choice("strategy", strategy, STRATEGIES)
    failing = check_choice("failing", failing, CHILDREN)
    run = simulate(three_children, strategy, failing, seed=seed)
    events = tuple(e for e in _events(run.trace.df, set(CHILDREN)) if e.time == 1.0)
    words = {"fail": "failed", "stop": "stopped", "restart": "restarted", "start": "started"}
    return with_result(run, StrategiesResult(
        strategy, failing,
        restarted=tuple(e.who for e in events if e.kind == "restart"),
        stopped=tuple(e.who for e in events if e.kind == "stop"),
        sequence=tuple(f"{e.who} {words[e.kind]}" for e in events),
        events=events))


# == intensity and escalation ================================================================


async def two_level_tree(failures: tuple[float, ...], intensity: int, period: float) -> None:
    """`top` supervises a worker `w` and a sub-supervisor `inner`, whose one child `x` gets
    a poison message at each time in `failures`. `inner` allows `intensity` restarts in
    `period` s; `top` has OTP's defaults (1 restart in 5 s)."""
    inner = Child(Supervisor, [Child(Worker, name="x")], intensity=intensity, period=period,
                  name="inner")
    async with ActorSystem() as system:
        system.spawn(Supervisor, [Child(Worker, name="w"), inner], name="top")
        now = 0.0
        for t in failures:
            await labkit.sleep(t - now)
            now = t
            tell(system, "x", "poison")
        await labkit.sleep(1.0)


@dataclass(frozen=True)
class EscalationResult:
    """What :func:`escalation` saw: every supervision ``event`` (failures, restarts,
    escalations, stops), the escalations as ``(time, supervisor, child)``, and ``ended``: the
    :class:`~labkit.supervision.Escalation` message that ended the run at ``ended_at``, or
    ``None`` when the tree coped."""

    failures: tuple[float, ...]
    intensity: int
    period: float
    events: tuple[SupervisionEvent, ...]
    escalations: tuple[tuple[float, str, str], ...]
    ended: str | None
    ended_at: float | None


def escalation(failures: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0), intensity: int = 1,
               period: float = 5.0, *, seed: int | None = 0) -> Run[EscalationResult]:
    """The leaf ``x`` of a two-level tree fails at each time in ``failures``. ``inner``
    restarts it while its restarts in the last ``period`` seconds are at most ``intensity``;
    one more and it stops ``x`` and escalates; ``top`` restarts ``inner`` (a fresh subtree)
    within its own intensity (1 in 5 s), and past that escalates too: the run ends with
    :class:`~labkit.supervision.Escalation`, as an unrecovered panic ends a Go program (G31)."""
    times = check_sequence("failures", failures,
                           lambda name, v: check_seconds(name, v, allow_zero=True),
                           allow_empty=True)
    if list(times) != sorted(times):
        raise ValueError(f"failures must be in increasing order, got {list(times)}")
    intensity = check_count("intensity", intensity)
    period = check_seconds("period", period)
    ended: str | None = None
    ended_at: float | None = None
    try:
        run: Run[Any] = simulate(two_level_tree, tuple(times), intensity, period, seed=seed)
    except Escalation as err:
        run, ended = err.run, str(err)
        ended_at = run.elapsed
    events = _events(run.trace.df, {"x", "w", "inner", "top"})
    return with_result(run, EscalationResult(
        tuple(times), intensity, period, events,
        escalations=tuple((e.time, e.who, e.peer) for e in events if e.kind == "escalate"),
        ended=ended, ended_at=ended_at))


async def one_child(restart: RestartType, ending: str) -> None:
    """One child `w` with restart type `restart`; at t=1 s it fails (a poison message) or
    stops itself normally ("done")."""
    async with ActorSystem() as system:
        system.spawn(Supervisor, [Child(Worker, name="w", restart=restart)], name="sup")
        await labkit.sleep(1.0)
        tell(system, "w", "poison" if ending == "failure" else "done")
        await labkit.sleep(1.0)


@dataclass(frozen=True)
class RestartTypeResult:
    """Whether :func:`restart_types`' child was ``restarted``, and the supervisor's
    ``report`` (its restart or stop row)."""

    restart: str
    ending: str
    restarted: bool
    report: str


def restart_types(restart: str = "permanent", ending: str = "failure", *,
                  seed: int | None = 0) -> Run[RestartTypeResult]:
    """A ``permanent`` child is restarted after any ending, a ``transient`` one only after a
    failure, a ``temporary`` one never (OTP); what is not restarted is reported (a stop row
    saying why)."""
    restart = check_choice("restart", restart, RESTART_TYPES)
    ending = check_choice("ending", ending, ENDINGS)
    run = simulate(one_child, restart, ending, seed=seed)
    said = [e for e in _events(run.trace.df, {"w"})
            if e.time == 1.0 and e.kind in ("restart", "stop")]
    restarted = any(e.kind == "restart" for e in said)
    report = said[0].detail if said else "nothing"
    return with_result(run, RestartTypeResult(restart, ending, restarted, report))


# == backoff ===================================================================================


class Connector(Actor):
    """A child that connects to a database in `on_start`: while the database is down (until
    `up_at`), the start fails, which is a failure like any other."""

    def __init__(self, up_at: float) -> None:
        self.up_at = up_at

    async def on_start(self, ctx: Context) -> None:
        if labkit.now() < self.up_at:
            raise ConnectionError("database is down")

    async def receive(self, msg: Any, ctx: Context) -> Any:
        return msg


async def restarts_with_backoff(backoff: Backoff, up_at: float) -> None:
    """One Connector under a supervisor with a restart backoff (Akka restartWithBackoff);
    the intensity is high enough that the backoff, not escalation, paces the restarts."""
    async with ActorSystem() as system:
        system.spawn(Supervisor, [Child(Connector, up_at, name="db")], intensity=100,
                     period=60.0, backoff=backoff, name="sup")
        # after up_at, one more backoff wait at most, and the next start succeeds
        await labkit.sleep(up_at + backoff.max * (1 + backoff.random_factor) + 0.5)


@dataclass(frozen=True)
class BackoffRestart:
    """The k-th consecutive restart (k = 0, 1, ...): the child failed at ``failed_at`` and
    started again ``delay`` seconds later; the delay lies in [``low``, ``high``]:
    ``low = min(max, min * 2**k)``, ``high = low * (1 + random_factor)``."""

    k: int
    failed_at: float
    delay: float
    low: float
    high: float


@dataclass(frozen=True)
class BackoffRestartsResult:
    """What :func:`backoff_restarts` saw: each restart, and when the child first started
    for good (``recovered_at``, at or after ``up_at``)."""

    backoff: Backoff
    up_at: float
    restarts: tuple[BackoffRestart, ...]
    recovered_at: float


def backoff_restarts(min: float = 0.1, max: float = 2.0, random_factor: float = 0.2,
                     up_at: float = 10.0, *, seed: int | None = 0
                     ) -> Run[BackoffRestartsResult]:
    """A child whose start fails until its database is up at ``up_at``, restarted with
    ``Backoff(min, max, random_factor)``: the k-th restart waits ``min(max, min * 2**k) *
    (1 + random_factor * u)``, ``u`` from the seeded generator. It recovers at the first
    restart after ``up_at``: the longer the backoff, the later."""
    backoff = Backoff(min=check_seconds("min", min), max=check_seconds("max", max),
                      random_factor=check_number("random_factor", random_factor, minimum=0,
                                                 maximum=1))
    up_at = check_seconds("up_at", up_at, allow_zero=True)
    run = simulate(restarts_with_backoff, backoff, up_at, seed=seed)
    df = run.trace.df.sort_values("seq", kind="stable")
    fails = df[(df["kind"] == "fail") & (df["actor"] == "db")]["time"].tolist()
    starts = df[(df["kind"] == "spawn") & (df["peer"] == "db")]["time"].tolist()
    restarts = [BackoffRestart(k, float(failed), float(started) - float(failed),
                               low=backoff.delay(k, 0.0), high=backoff.delay(k, 1.0))
                for k, (failed, started) in enumerate(zip(fails, starts[1:], strict=False))]
    recovered_at = next(float(t) for t in starts if t >= up_at)  # starts are in time order
    return with_result(run, BackoffRestartsResult(backoff, up_at, tuple(restarts),
                                                  recovered_at))


async def poison_then_queue(delay: float, queued: int
                            ) -> tuple[list[tuple[float, Any]], list[tuple[Any, str]]]:
    """`w` gets a poison message and waits `delay` s before its restart; 0.1 s later
    `queued` jobs are sent to it. Returns what w handled (time, message) and the dead
    letters (message, reason)."""
    handled: list[tuple[float, Any]] = []
    backoff = Backoff(min=delay, max=delay, random_factor=0)
    async with ActorSystem() as system:
        system.spawn(Supervisor, [Child(Worker, handled, name="w")], backoff=backoff,
                     name="sup")
        await labkit.sleep(0)  # let the supervisor start w
        tell(system, "w", "poison")
        await labkit.sleep(0.1)
        for n in range(queued):
            tell(system, "w", f"job {n}")  # w waits out its backoff: these wait in its mailbox
        await labkit.sleep(delay + 1.0)
        return handled, [(d.message, d.reason) for d in system.dead_letters]


@dataclass(frozen=True)
class BackoffMailboxResult:
    """What :func:`backoff_mailbox` saw: the messages ``handled`` after the restart, as
    ``(time, message)``, the ``dead_letters`` as ``(message, reason)``, the mailbox
    ``depth_in_backoff`` just before the restart, and when it came (``restarted_at``)."""

    delay: float
    handled: tuple[tuple[float, Any], ...]
    dead_letters: tuple[tuple[Any, str], ...]
    depth_in_backoff: int
    restarted_at: float


def backoff_mailbox(delay: float = 1.0, queued: int = 4, *,
                    seed: int | None = 0) -> Run[BackoffMailboxResult]:
    """The mailbox survives a restart (Akka): the message being handled at the failure is a
    dead letter with the error as its reason, never retried; messages sent during the
    backoff wait in the mailbox and are handled in order by the restarted child."""
    delay = check_seconds("delay", delay)
    queued = check_count("queued", queued)
    run = simulate(poison_then_queue, delay, queued, seed=seed)
    df = run.trace.df.sort_values("seq", kind="stable")
    starts = df[(df["kind"] == "spawn") & (df["peer"] == "w")]["time"].tolist()
    restarted_at = float(starts[-1])
    got = df[(df["kind"] == "receive") & (df["actor"] == "w") & (df["time"] >= restarted_at)]
    handled, dead_letters = run.result
    # the first receive after the restart leaves the others queued: the depth in backoff
    depth = int(got["depth"].iloc[0]) + 1 if len(got) else 0
    return with_result(run, BackoffMailboxResult(delay, tuple(handled), tuple(dead_letters),
                                                 depth, restarted_at))


# == the circuit breaker ========================================================================


class Database:
    """A dependency that answers a query in 10 to 30 ms, except while it is down (from
    `down_from` to `down_until`): then each query fails, after 0.3 s."""

    def __init__(self, down_from: float, down_until: float) -> None:
        self.down_from = down_from
        self.down_until = down_until
        self.queries_while_down = 0

    async def query(self, n: int) -> str:
        if self.down_from <= labkit.now() < self.down_until:
            self.queries_while_down += 1
            await go.sleep(0.3)
            raise ConnectionError("database unavailable")
        await go.sleep(labkit.rng().uniform(0.010, 0.030))
        return f"row {n}"


@dataclass(frozen=True)
class Outcome:
    """One request: when it arrived, what came back (``ok``, ``failed``: the database's
    error or a timeout, ``fast fail``: refused by an open breaker) and how long it took."""

    time: float
    request: int
    outcome: str
    latency: float


async def request(n: int, db: Database, breaker: CircuitBreaker | None,
                  outcomes: list[Outcome], wg: go.WaitGroup) -> None:
    """One request, in its own goroutine: query the database through the breaker, if
    there is one. An open breaker refuses at once (CircuitOpen): a fast failure."""
    start = labkit.now()
    try:  # in Go: result, err := cb.Execute(...); the except clauses are the err cases
        if breaker is None:
            await db.query(n)
        else:
            await breaker.call(db.query, n)
        outcome = "ok"
    except CircuitOpen:
        outcome = "fast fail"
    except (ConnectionError, TimeoutError):
        outcome = "failed"
    outcomes.append(Outcome(start, n, outcome, labkit.now() - start))
    wg.done()


async def server(requests: int, interval: float, db: Database,
                 breaker: CircuitBreaker | None) -> list[Outcome]:
    """A Go-style server: a request arrives every `interval` s and gets a goroutine."""
    outcomes: list[Outcome] = []
    wg = go.WaitGroup()
    for n in range(requests):
        wg.add(1)
        go.go(request, n, db, breaker, outcomes, wg)
        await go.sleep(interval)
    await wg.wait()
    return sorted(outcomes, key=lambda o: o.request)


@dataclass(frozen=True)
class BreakerResult:
    """What :func:`breaker` saw: requests by outcome; ``queries_while_down``, the load the
    failing database still got; ``waited_on_failures``, the seconds requests spent waiting
    for an answer that was an error; ``recovered_at``, the first success after the database
    came back (``None`` if none); ``opened``, times the breaker opened; every ``outcome``."""

    protected: bool
    requests: int
    ok: int
    failed: int
    fast_failed: int
    queries_while_down: int
    waited_on_failures: float
    recovered_at: float | None
    opened: int
    outcomes: tuple[Outcome, ...]


def breaker(protected: bool = True, *, requests: int = 100, interval: float = 0.1,
            down_from: float = 2.0, down_until: float = 6.0, max_failures: int = 3,
            call_timeout: float = 1.0, reset_timeout: float = 0.5,
            backoff_factor: float = 2.0, seed: int | None = 0) -> Run[BreakerResult]:
    """A server gets a request every ``interval`` s; each queries a database that is down
    from ``down_from`` to ``down_until`` (a query then fails after 0.3 s). ``protected``:
    through a :class:`~labkit.supervision.CircuitBreaker` (``max_failures`` in a row open
    it; after ``reset_timeout`` one trial call, the timeout times ``backoff_factor`` after
    each failed trial). Without it, every request waits 0.3 s for its error and the failing
    database gets every query."""
    protected = check_bool("protected", protected)
    requests = check_count("requests", requests, minimum=1)
    interval = check_seconds("interval", interval)
    down_from = check_seconds("down_from", down_from, allow_zero=True)
    down_until = check_seconds("down_until", down_until, allow_zero=True)
    if down_until < down_from:
        raise ValueError(f"down_until must be >= down_from ({down_from:g} s), got "
                         f"{down_until!r}")
    max_failures = check_count("max_failures", max_failures, minimum=1)
    call_timeout = check_seconds("call_timeout", call_timeout)
    reset_timeout = check_seconds("reset_timeout", reset_timeout)
    backoff_factor = check_number("backoff_factor", backoff_factor, minimum=1, maximum=10)
    db = Database(down_from, down_until)
    cb = (CircuitBreaker(max_failures=max_failures, call_timeout=call_timeout,
                         reset_timeout=reset_timeout, backoff_factor=backoff_factor,
                         name="db-breaker") if protected else None)
    run = simulate(server, requests, interval, db, cb, seed=seed)
    outcomes = [Outcome(round(o.time, 9), o.request, o.outcome, round(o.latency, 9))
                for o in run.result]
    done = [o for o in outcomes if o.outcome == "ok" and o.time >= down_until]
    return with_result(run, BreakerResult(
        protected, requests,
        ok=sum(o.outcome == "ok" for o in outcomes),
        failed=sum(o.outcome == "failed" for o in outcomes),
        fast_failed=sum(o.outcome == "fast fail" for o in outcomes),
        queries_while_down=db.queries_while_down,
        waited_on_failures=round(sum(o.latency for o in outcomes if o.outcome == "failed"), 9),
        recovered_at=min((o.time for o in done), default=None),
        opened=int(run.trace.df["detail"].astype(str).str.contains("-> open:").sum()),
        outcomes=tuple(outcomes)))
