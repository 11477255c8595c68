"""Supervision trees, restart backoff and the circuit breaker (OTP supervisors, Akka).

Neither Go nor Rust has supervision built in: in Go an unrecovered panic ends the program
(G31) and a restart loop is written by hand with ``defer recover()`` (G32); in tokio a
task's panic is kept in its ``JoinError`` (R33) and a ``JoinSet`` loop respawns (R34).
Erlang/OTP made it a library: a **supervisor** is an actor whose only job is to start its
children, watch them, and restart them by a fixed rule::

    children = [Child(Db, name="db"), Child(Cache, name="cache", restart="transient")]
    async with ActorSystem() as system:
        sup = system.spawn(Supervisor, children, strategy="rest_for_one", name="app")
        await which_children(sup)   # [ChildInfo(name='db', ref=..., ...), ...]

The rules, as in OTP's ``supervisor`` module:

* children start in list order, each ``on_start`` returning before the next starts, and
  stop in reverse order, one at a time (``shutdown`` seconds each, then cancelled; or
  ``"brutal_kill"``);
* a child that stops is restarted by its **restart type** (``permanent``: always;
  ``transient``: after a failure only; ``temporary``: never) and the **strategy**
  (``one_for_one``: it alone; ``one_for_all``: all; ``rest_for_one``: it and those started
  after it, the others stopped first in reverse order);
* more than ``intensity`` restarts within ``period`` seconds and the supervisor gives up:
  it stops its children and exits with :class:`Escalation`, which its own supervisor
  treats as a child failure; at the top the run ends with it (as a panic ends a Go program);
* with ``backoff=Backoff(...)`` a restart waits ``min(max, min * 2**k) * (1 + random_factor *
  u)`` seconds (Akka ``restartWithBackoff``), ``u`` from the run's seeded generator.

A restarted child keeps its ref and its mailbox (what was queued is handled by the new
instance, in order); the message being handled when it failed is a dead letter with the
error as reason, never retried silently. What a supervisor does not restart it reports: a
``stop`` row naming why, and dead letters for what was queued.

:class:`CircuitBreaker` (Akka's) protects a failing dependency from callers that would keep
hammering it: after ``max_failures`` failures in a row it opens and fails calls at once with
:class:`CircuitOpen`; after ``reset_timeout`` one trial call may go through.

Every failure, restart, escalation, stop and breaker state change is a trace row (``fail``,
``restart``, ``escalate``, ``stop``, ``breaker``); ``labkit.viz.lifecycle_chart`` and
``labkit.viz.breaker_chart`` draw them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

import anyio

from labkit._check import (
    check_async_function,
    check_choice,
    check_int,
    check_number,
    check_optional_seconds,
    check_seconds,
    check_sequence,
    check_str,
    describe,
)
from labkit._runtime.core import Runtime, TaskRecord, current, current_task, sleep_for
from labkit._runtime.rows import EventKind
from labkit.actor import Actor, ActorError, ActorRef, Context, Mailbox, Signal
from labkit.actor._errors import Escalation
from labkit.actor._system import _Cell
from labkit.errors import LabkitError

__all__ = (
    "BREAKER_STATES",
    "RESTART_TYPES",
    "STRATEGIES",
    "Backoff",
    "BreakerState",
    "Child",
    "ChildInfo",
    "CircuitBreaker",
    "CircuitBreakerStatistics",
    "CircuitOpen",
    "Escalation",
    "RestartType",
    "Strategy",
    "Supervisor",
    "which_children",
)

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
RestartType = Literal["permanent", "transient", "temporary"]
RESTART_TYPES: tuple[str, ...] = get_args(RestartType)
BreakerState = Literal["closed", "open", "half_open"]
BREAKER_STATES: tuple[str, ...] = get_args(BreakerState)

_MODEL = "actor"


# -- child specs --------------------------------------------------------------------------------


class Child:
    """A child spec (OTP ``child_spec``): how to start one child and when to restart it.

    ``Child(factory, *args, name="db", restart="permanent", shutdown=5.0, mailbox=None,
    **kwargs)``: ``factory(*args, **kwargs)`` builds the actor, at every restart too (a
    nested ``Child(Supervisor, specs, intensity=3, name="sub")`` takes its options so).

    * ``restart``: ``"permanent"`` (always restarted), ``"transient"`` (only after a
      failure: a handler or ``on_start`` raised), ``"temporary"`` (never).
    * ``shutdown``: seconds an orderly stop may take before the child is cancelled
      (``math.inf``: as long as it takes), or ``"brutal_kill"`` (cancelled at once,
      ``on_stop`` not run).
    * ``mailbox``: a template; each started child gets a fresh ``Mailbox`` with its
      capacity and overflow policy.
    """

    __slots__ = ("args", "factory", "kwargs", "mailbox", "name", "restart", "shutdown")

    def __init__(self, factory: Callable[..., Actor], *args: Any, name: str,
                 restart: RestartType = "permanent",
                 shutdown: float | Literal["brutal_kill"] = 5.0,
                 mailbox: Mailbox | None = None, **kwargs: Any) -> None:
        if isinstance(factory, Actor) or not callable(factory):
            raise TypeError(f"factory must be an Actor subclass or a function returning an "
                            f"actor, got {describe(factory)}")
        self.factory = factory
        self.args = args
        self.kwargs = kwargs
        self.name = check_str("name", name)
        self.restart: RestartType = check_choice(  # type: ignore[assignment]
            "restart", restart, RESTART_TYPES)
        if shutdown != "brutal_kill":
            accepted = f"shutdown must be a number of seconds >= 0 or 'brutal_kill', got " \
                       f"{describe(shutdown)}"
            if isinstance(shutdown, str):
                raise ValueError(accepted)
            try:
                shutdown = check_seconds("shutdown", shutdown)
            except TypeError:
                raise TypeError(accepted) from None
            except ValueError:
                raise ValueError(accepted) from None
        self.shutdown = shutdown
        if mailbox is not None and not isinstance(mailbox, Mailbox):
            raise TypeError(f"mailbox must be a labkit.actor.Mailbox or None, got "
                            f"{describe(mailbox)}")
        self.mailbox = mailbox

    def __repr__(self) -> str:
        return (f"Child({getattr(self.factory, '__name__', self.factory)!s}, name={self.name!r},"
                f" restart={self.restart!r}, shutdown={self.shutdown!r})")

    def _new_mailbox(self) -> Mailbox | None:
        box = self.mailbox
        return None if box is None else Mailbox(box.capacity, box.overflow)  # type: ignore[arg-type]


class ChildInfo(NamedTuple):
    """One row of :func:`which_children` (OTP ``which_children``): ``ref`` is ``None``
    while the child waits out its backoff, or after it stopped for good (a transient child
    that ended normally); ``restarts`` counts its restarts so far."""

    name: str
    ref: ActorRef | None
    restart: str
    restarts: int


@dataclass(frozen=True)
class Backoff:
    """Exponential restart backoff with jitter (Akka ``BackoffOpts.onFailure`` /
    ``restartWithBackoff``): the k-th consecutive restart (k = 0, 1, ...) of a child waits
    ``min(max, min * 2**k) * (1 + random_factor * u)`` seconds, ``u`` uniform in [0, 1) from
    the run's seeded generator (``labkit.rng()``). ``k`` goes back to 0 once the child has
    run ``reset_after`` seconds (default: ``max``) without failing."""

    min: float = 0.1
    max: float = 10.0
    random_factor: float = 0.2
    reset_after: float | None = None

    def __post_init__(self) -> None:
        low = check_number("backoff min", self.min, minimum=0, above=True, unit="seconds")
        high = check_number("backoff max", self.max, minimum=0, above=True, unit="seconds")
        if low > high:
            raise ValueError(f"backoff min must be <= max ({high:g} s), got {describe(self.min)}")
        check_number("backoff random_factor", self.random_factor, minimum=0)
        if self.reset_after is not None:
            check_number("backoff reset_after", self.reset_after, minimum=0, above=True,
                         unit="seconds")

    def delay(self, k: int, u: float) -> float:
        """The wait before the k-th consecutive restart, for a draw ``u`` in [0, 1)."""
        base = min(self.max, self.min * 2.0 ** min(k, 1023))
        return base * (1 + self.random_factor * u)

    @property
    def reset_seconds(self) -> float:
        return self.max if self.reset_after is None else self.reset_after


# -- the supervisor ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Exited(Signal):
    """A child's incarnation ended (stop, failure, kill): the supervisor decides."""

    owner: Supervisor
    slot: _Slot
    incarnation: int


@dataclass(frozen=True, eq=False)
class _RestartDue(Signal):
    """A backoff wait is over: restart the children it held back."""

    owner: Supervisor
    slots: tuple[_Slot, ...]


class _Slot:
    """A supervisor's record of one child: its spec, its cell and where it is."""

    __slots__ = ("cell", "incarnation", "k", "restarts", "spec", "started_at", "status")

    def __init__(self, spec: Child) -> None:
        self.spec = spec
        self.cell: _Cell | None = None
        #: "running", "stopping", "backoff" or "stopped"
        self.status = "stopped"
        self.incarnation = 0
        self.restarts = 0
        self.k = 0  # consecutive restarts, for the backoff
        self.started_at = 0.0

    @property
    def name(self) -> str:
        return self.spec.name


def _check_child(name: str, value: object) -> Child:
    if not isinstance(value, Child):
        raise TypeError(f"{name} must be a labkit.supervision.Child, got {describe(value)}")
    return value


class Supervisor(Actor):
    """An OTP supervisor as an actor: ``system.spawn(Supervisor, children,
    strategy="one_for_one", intensity=1, period=5.0, backoff=None, name=...)``, or
    ``ctx.spawn(...)`` from another supervisor's child to build a tree (see the module
    docstring for the rules). It handles no user messages; ask :func:`which_children`.

    Restarts count towards ``intensity`` once per failure (a ``one_for_all`` restart of
    three children is one restart), within ``period`` seconds, edges included (OTP). With
    ``backoff``, the children a failure restarts wait out the failed child's delay together.
    """

    def __init__(self, children: Sequence[Child], strategy: Strategy = "one_for_one",
                 intensity: int = 1, period: float = 5.0, backoff: Backoff | None = None) -> None:
        specs = check_sequence("children", children, _check_child, allow_empty=True)
        seen: set[str] = set()
        for spec in specs:
            if spec.name in seen:
                raise ValueError(f"children must have distinct names; {spec.name!r} is given "
                                 f"twice")
            seen.add(spec.name)
        self.strategy: Strategy = check_choice(  # type: ignore[assignment]
            "strategy", strategy, STRATEGIES)
        self.intensity = check_int("intensity", intensity, minimum=0)
        self.period = check_number("period", period, minimum=0, above=True, unit="seconds")
        if backoff is not None and not isinstance(backoff, Backoff):
            raise TypeError(f"backoff must be a labkit.supervision.Backoff or None, got "
                            f"{describe(backoff)}")
        self.backoff = backoff
        self._slots = [_Slot(spec) for spec in specs]
        self._restarts: list[float] = []  # times of recent restarts (intensity window)
        self._timers: list[TaskRecord] = []
        self._cell: _Cell | None = None
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def on_start(self, ctx: Context) -> None:
        """Start the children in list order, each ``on_start`` before the next (OTP)."""
        self._cell = ctx._cell
        for slot in self._slots:
            await self._start(slot)

    async def receive(self, msg: Any, ctx: Context) -> None:
        ctx.system.dead_letter(msg, ctx.name, "a Supervisor handles no user messages; send "
                               "to its children (see which_children)")

    async def on_signal(self, signal: Signal, ctx: Context) -> None:
        if isinstance(signal, _Exited):
            if signal.owner is self:
                await self._exited(signal.slot, signal.incarnation)
        elif isinstance(signal, _RestartDue):
            if signal.owner is self and not self._closing:
                for slot in signal.slots:
                    if slot.status == "backoff":
                        await self._start(slot)
        else:
            await super().on_signal(signal, ctx)

    async def _stop_children(self, ctx: Context) -> None:
        """The supervisor stops: its children stop in reverse order, one at a time."""
        await self._stop_all("supervisor stopping")

    async def _stop_all(self, why: str) -> None:
        self._closing = True
        for timer in self._timers:
            timer.cancel()
        for slot in reversed(self._slots):
            await self._stop(slot, why)
            if slot.cell is not None and slot.cell.alive:
                slot.cell.finalize("actor stopped")
            slot.status = "stopped"

    # -- starting and stopping one child --------------------------------------------------------

    async def _start(self, slot: _Slot) -> None:
        assert self._cell is not None
        rt = self._cell.rt
        slot.incarnation += 1
        slot.status = "running"
        slot.started_at = rt.now()
        cell = slot.cell
        if cell is None or not cell.alive:
            spec = slot.spec
            left = self._cell.system._cells.get(spec.name)
            if left is not None and left.parent is self._cell:
                # a child of this supervisor's previous incarnation, killed with it, is
                # still stopping: its name is free once it has
                await left.wait_stopped()
            ref = self._cell.system._spawn(spec.factory, spec.args, spec.name,
                                           spec._new_mailbox(), None, self._cell, spec.kwargs,
                                           on_exit=self._on_exit)
            cell = slot.cell = ref._cell
        else:
            cell.reincarnate()
        await cell.wait_started()

    async def _stop(self, slot: _Slot, why: str) -> None:
        """Stop a running child: ``shutdown`` seconds for an orderly stop, then cancel."""
        cell = slot.cell
        if slot.status != "running" or cell is None or cell.over:
            return
        slot.status = "stopping"
        shutdown = slot.spec.shutdown
        how = why
        if shutdown == "brutal_kill":
            cell.task.cancel()
            how = f"{why}: brutal_kill"
        else:
            cell.ref.stop()
            with anyio.move_on_after(shutdown):
                await cell.wait_over()
            if not cell.over:
                cell.task.cancel()
                how = f"{why}: killed after its shutdown time ({shutdown:g} s)"
        await cell.wait_over()
        self._record(EventKind.STOP, slot, detail=how)

    def _on_exit(self, cell: _Cell) -> None:
        """Called in the child's task when one of its incarnations ends."""
        slot = next((s for s in self._slots if s.cell is cell), None)
        me = self._cell
        if slot is None or me is None or me.actor is not self or me.over:
            cell.finalize("actor stopped: its supervisor is gone")
            return
        if self._closing or slot.status == "stopping":
            return  # the supervisor stops it and waits for it itself
        me.mailbox.put_system(_Exited(self, slot, slot.incarnation))

    # -- deciding -------------------------------------------------------------------------------

    async def _exited(self, slot: _Slot, incarnation: int) -> None:
        cell = slot.cell
        if slot.incarnation != incarnation or slot.status != "running" or cell is None:
            return  # stale: that incarnation was stopped or restarted meanwhile
        reason, error = cell.exit_reason, cell.exit_error
        restart = slot.spec.restart
        if restart == "temporary" or (restart == "transient" and reason == "normal"):
            why = (f"{restart} child not restarted after a "
                   f"{'normal stop' if reason == 'normal' else 'failure'}")
            if error is not None:
                why += f" ({type(error).__name__}: {error})"
            slot.status = "stopped"
            self._record(EventKind.STOP, slot, detail=why[:200], error=error)
            cell.finalize(f"actor stopped: {why}"[:200])
            if restart == "temporary":  # OTP forgets a temporary child's spec
                self._slots.remove(slot)
            return
        assert self._cell is not None
        rt = self._cell.rt
        now = rt.now()
        window = [t for t in self._restarts if t >= now - self.period]
        window.append(now)
        self._restarts = window
        if len(window) > self.intensity:
            await self._escalate(slot, error, len(window))
        if self.strategy == "one_for_one":
            group = [slot]
        elif self.strategy == "one_for_all":
            group = list(self._slots)
        else:
            group = self._slots[self._slots.index(slot):]
        cause = f"{reason} ({type(error).__name__})" if error is not None else reason
        for other in reversed(group):
            if other is not slot:
                await self._stop(other, f"{self.strategy} restart after {slot.name} {cause}")
        restarting = []
        for member in group:
            if member is not slot and member.spec.restart == "temporary":
                member.status = "stopped"
                if member.cell is not None:
                    member.cell.finalize(f"actor stopped: temporary child not restarted "
                                         f"({self.strategy} after {slot.name} {cause})")
                self._slots.remove(member)
            else:
                restarting.append(member)
        delay = self._delay(slot, now)
        for member in restarting:
            member.status = "backoff"
            member.restarts += 1
            self._record(EventKind.RESTART, member, error=error,
                         detail=f"{self.strategy} after {slot.name} {cause}; "
                                f"delay {delay:.6g} s")
        if delay > 0:
            timer = rt.start_task(self._wake_after, (delay, tuple(restarting)),
                                  prefix=f"backoff-{slot.name}", model=None)
            self._timers = [t for t in self._timers if not t.done] + [timer]
            return
        for member in restarting:
            if member.status == "backoff":
                await self._start(member)

    def _delay(self, slot: _Slot, now: float) -> float:
        backoff = self.backoff
        if backoff is None:
            return 0.0
        if now - slot.started_at >= backoff.reset_seconds:
            slot.k = 0
        assert self._cell is not None
        delay = backoff.delay(slot.k, self._cell.rt.rng.random())
        slot.k += 1
        return delay

    async def _wake_after(self, delay: float, slots: tuple[_Slot, ...]) -> None:
        await sleep_for(delay)
        me = self._cell
        if me is not None and me.actor is self and not self._closing:
            me.mailbox.put_system(_RestartDue(self, slots))

    async def _escalate(self, slot: _Slot, error: BaseException | None, count: int) -> None:
        """Intensity reached: stop every child (reverse order) and exit with Escalation."""
        assert self._cell is not None
        exc = Escalation(self._cell.name, slot.name, count, self.intensity, self.period)
        exc.__cause__ = error
        self._cell.rt.record(EventKind.ESCALATE, actor=self._cell.name, peer=slot.name,
                             msg_type=None if error is None else type(error).__name__,
                             model=_MODEL, detail=str(exc)[:200])
        await self._stop_all(f"supervisor {self._cell.name} escalating")
        raise exc

    def _record(self, kind: EventKind, slot: _Slot, *, detail: str,
                error: BaseException | None = None) -> None:
        assert self._cell is not None
        cell = slot.cell
        self._cell.rt.record(kind, actor=slot.name, peer=self._cell.name,
                             msg_type=None if error is None else type(error).__name__,
                             depth=None if cell is None else len(cell.mailbox), model=_MODEL,
                             detail=detail)

    def children_info(self) -> list[ChildInfo]:
        """What :func:`which_children` returns, read directly."""
        return [ChildInfo(s.name, s.cell.ref if s.cell is not None and s.status in
                          ("running", "stopping") else None, s.spec.restart, s.restarts)
                for s in self._slots]


async def which_children(ref: ActorRef) -> list[ChildInfo]:
    """The children of the supervisor ``ref``, in start order (OTP ``which_children``):
    ``ChildInfo(name, ref, restart, restarts)``, ``ref`` ``None`` during a backoff wait."""
    if not isinstance(ref, ActorRef):
        raise TypeError(f"ref must be the ActorRef of a Supervisor, got {describe(ref)}")
    actor = ref._cell.actor
    if not isinstance(actor, Supervisor):
        raise TypeError(f"ref must be the ActorRef of a Supervisor, got the ref of "
                        f"{type(actor).__name__} {ref.name!r}")
    if not ref.is_alive:
        raise ActorError(f"supervisor {ref.name!r} has stopped: it has no children")
    return actor.children_info()


# -- the circuit breaker ----------------------------------------------------------------------


class CircuitOpen(LabkitError):
    """A call refused by an open (or half-open, trial in flight) :class:`CircuitBreaker`.

    ``retry_at``: when (run clock) the breaker lets a trial call through, or ``None`` when a
    trial is in flight now; ``breaker``: its name."""

    def __init__(self, breaker: str, retry_at: float | None, now: float) -> None:
        if retry_at is None:
            text = (f"circuit breaker {breaker!r} is half-open and its one trial call is in "
                    f"flight: call refused; try again once the trial has ended")
        else:
            text = (f"circuit breaker {breaker!r} is open: call refused; it will let a trial "
                    f"call through at t={retry_at:g} s (in {max(retry_at - now, 0.0):g} s)")
        super().__init__(text)
        self.breaker = breaker
        self.retry_at = retry_at


@dataclass(frozen=True)
class CircuitBreakerStatistics:
    """A snapshot of a :class:`CircuitBreaker`: its ``state``; ``failures`` in a row now
    (of ``max_failures``); ``calls`` let through, of which ``succeeded``, ``failed`` (raised)
    and ``timed_out``; ``rejected`` calls (:class:`CircuitOpen`); ``opened`` (times it
    opened); ``reset_timeout`` (the current one, after backoff) and ``retry_at`` (when an
    open breaker lets a trial through, else ``None``)."""

    name: str
    state: str
    failures: int
    max_failures: int
    calls: int
    succeeded: int
    failed: int
    timed_out: int
    rejected: int
    opened: int
    reset_timeout: float
    retry_at: float | None


class CircuitBreaker:
    """Akka's ``CircuitBreaker``: protect a dependency that fails, so callers fail fast
    rather than pile up. ``await breaker.call(fn, *args)`` runs ``await fn(*args)``.

    * ``"closed"``: calls go through; a failure or a call longer than ``call_timeout``
      seconds counts, a success resets the count; ``max_failures`` in a row open it.
    * ``"open"``: calls fail at once with :class:`CircuitOpen`. After the reset timeout
      (``reset_timeout`` at first) it reads ``"half_open"``, call or no call.
    * ``"half_open"``: one trial call goes through, concurrent ones fail fast. Its success
      closes the breaker (the timeout back to ``reset_timeout``); its failure opens it again
      with the timeout times ``backoff_factor`` (compounding, capped at
      ``max_reset_timeout``).

    A failing ``fn``'s exception reaches the caller unchanged; a timeout raises
    ``TimeoutError``. Plain labkit waiting, so it works from actors, goroutines and tasks.
    """

    def __init__(self, max_failures: int = 5, call_timeout: float = 1.0,
                 reset_timeout: float = 10.0, backoff_factor: float = 1.0,
                 max_reset_timeout: float | None = None, name: str | None = None) -> None:
        self.max_failures = check_int("max_failures", max_failures, minimum=1)
        self.call_timeout = check_seconds("call_timeout", call_timeout, above_zero=True)
        self.reset_timeout = check_seconds("reset_timeout", reset_timeout, allow_inf=False,
                                           above_zero=True)
        self.backoff_factor = check_number("backoff_factor", backoff_factor, minimum=1)
        cap = check_optional_seconds("max_reset_timeout", max_reset_timeout, above_zero=True)
        if cap is not None and cap < self.reset_timeout:
            raise ValueError(f"max_reset_timeout must be >= reset_timeout "
                             f"({self.reset_timeout:g} s) or None, got {describe(cap)}")
        self.max_reset_timeout = math.inf if cap is None else cap
        self.name = "breaker" if name is None else check_str("name", name)
        self._state: BreakerState = "closed"
        self._failures = 0
        self._timeout = self.reset_timeout
        self._retry_at = 0.0
        self._trial = False
        self._calls = self._succeeded = self._failed = self._timed_out = 0
        self._rejected = self._opened = 0

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name} {self._state} failures={self._failures}>"

    @property
    def state(self) -> BreakerState:
        """``"closed"``, ``"open"`` or ``"half_open"``: half-open as soon as the reset
        timeout has passed (read on the run's clock)."""
        return self._observe(current())

    def _observe(self, rt: Runtime) -> BreakerState:
        if self._state == "open" and rt.now() >= self._retry_at:
            self._move(rt, "half_open", f"reset timeout ({self._timeout:g} s) passed at "
                                        f"t={self._retry_at:g} s")
        return self._state

    def _move(self, rt: Runtime, state: BreakerState, why: str) -> None:
        old, self._state = self._state, state
        task = current_task()
        rt.record(EventKind.BREAKER, actor=self.name, peer=task.name, model=task.model,
                  detail=f"{old} -> {state}: {why}"[:200])

    def _open(self, rt: Runtime, why: str) -> None:
        self._opened += 1
        self._retry_at = rt.now() + self._timeout
        self._move(rt, "open", f"{why}; trial at t={self._retry_at:g} s "
                               f"(timeout {self._timeout:g} s)")

    def statistics(self) -> CircuitBreakerStatistics:
        """State, counters and the current reset timeout, as a frozen record."""
        state = self.state
        return CircuitBreakerStatistics(
            name=self.name, state=state, failures=self._failures,
            max_failures=self.max_failures, calls=self._calls, succeeded=self._succeeded,
            failed=self._failed, timed_out=self._timed_out, rejected=self._rejected,
            opened=self._opened, reset_timeout=self._timeout,
            retry_at=self._retry_at if state == "open" else None)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``await fn(*args)`` through the breaker: its result, its exception unchanged,
        ``TimeoutError`` after ``call_timeout`` seconds, or :class:`CircuitOpen`."""
        check_async_function("fn", fn)
        rt = current()
        state = self._observe(rt)
        if state == "open" or (state == "half_open" and self._trial):
            self._rejected += 1
            raise CircuitOpen(self.name, self._retry_at if state == "open" else None, rt.now())
        trial = state == "half_open"
        if trial:
            self._trial = True
        self._calls += 1
        error: Exception | None = None
        try:
            with anyio.move_on_after(self.call_timeout) as scope:
                result = await fn(*args)
            if scope.cancelled_caught:
                self._timed_out += 1
                error = TimeoutError(f"call through circuit breaker {self.name!r} took more "
                                     f"than its call_timeout ({self.call_timeout:g} s)")
        except Exception as exc:  # counted, then re-raised unchanged
            self._failed += 1
            self._settle(rt, trial, exc)
            raise
        except BaseException:
            if trial:  # cancelled: the trial never finished, let another try
                self._trial = False
            raise
        self._settle(rt, trial, error)
        if error is not None:
            raise error
        self._succeeded += 1
        return result

    def _settle(self, rt: Runtime, trial: bool, error: Exception | None) -> None:
        if trial:
            self._trial = False
            if error is None:
                self._failures = 0
                self._timeout = self.reset_timeout
                self._move(rt, "closed", "trial call succeeded")
            else:
                self._timeout = min(self._timeout * self.backoff_factor, self.max_reset_timeout)
                self._open(rt, f"trial call failed ({type(error).__name__})")
            return
        if self._state != "closed":
            return  # a call from before the breaker opened: it changes nothing now
        if error is None:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.max_failures:
            self._open(rt, f"{self._failures} failures in a row (last: "
                           f"{type(error).__name__})")
