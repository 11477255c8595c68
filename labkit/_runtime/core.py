"""The runtime every labkit program runs on: one per run.

A :class:`Runtime` owns what must be unique per run so that runs are reproducible: the
seeded random generators (one for the workload, one for the scheduler), the message and
name counters, the trace rows, the schedule of choices made, the root task group and the
book of live tasks. Primitives find it through a context variable, so they need no
argument threading and fail with a clear message when used outside a run.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, overload

import anyio
import sniffio
from anyio.abc import TaskGroup

from labkit._check import check_seconds, returns_coroutine
from labkit._runtime.rows import KIND_TEXT, EventKind
from labkit.errors import Deadlock, NotInRunError

__all__ = (
    "RUNTIME",
    "TASK",
    "Choice",
    "Parker",
    "Run",
    "Runtime",
    "Schedule",
    "TaskRecord",
    "blocking",
    "current",
    "current_or_none",
    "current_task",
    "sleep",
    "sleep_for",
    "unblocked",
)

T = TypeVar("T")


_RUNTIME: ContextVar[Runtime | None] = ContextVar("labkit_runtime", default=None)


class TaskRecord:
    """Bookkeeping for one task started by labkit (a goroutine, a tokio task, an actor)."""

    __slots__ = ("blocked_on", "cancel_requested", "done", "model", "name", "scope", "started",
                 "task")

    def __init__(self, name: str, model: str | None) -> None:
        self.name = name
        self.model = model
        #: What the task waits on: a text, or ``(verb, channel)`` formatted only when a
        #: deadlock report needs it (formatting on every wait would cost more than waiting).
        self.blocked_on: object = None
        self.scope: anyio.CancelScope | None = None  # trio: the task's own cancel scope
        self.task: asyncio.Task[None] | None = None  # asyncio: the plain task
        self.cancel_requested = False
        self.started = False
        self.done = False

    def cancel(self) -> None:
        """Cancel the task at its next checkpoint (tokio ``abort``, R32). A task that has
        not started yet starts already cancelled: it runs up to its first ``await``."""
        self.cancel_requested = True
        if self.task is not None:
            if self.started and not self.task.done():
                self.task.cancel()
        elif self.scope is not None:
            self.scope.cancel()

    def __repr__(self) -> str:
        return f"<task {self.name}>"


_MAIN_OUTSIDE = TaskRecord("main", None)
_TASK: ContextVar[TaskRecord] = ContextVar("labkit_task", default=_MAIN_OUTSIDE)

#: The context variables behind :func:`current_or_none` and :func:`current_task`, for the
#: hot paths of labkit's own layers (a channel send, an actor tell): ``RUNTIME.get()`` and
#: ``TASK.get()`` cost no Python call.
RUNTIME = _RUNTIME
TASK = _TASK
#: Checked by :meth:`Runtime.park` when a parked task is woken. A Rust ``select`` branch
#: that has already lost raises here, so the primitive it waited on takes back what the
#: wake handed over (a cancel-safe ``recv`` loses nothing, R30).
_PARK_GUARD: ContextVar[Callable[[], None] | None] = ContextVar("labkit_park_guard",
                                                                default=None)


def current_or_none() -> Runtime | None:
    """The runtime of the run this code executes in, or ``None`` outside any run."""
    return _RUNTIME.get()


def current() -> Runtime:
    """The runtime of the current run; raises :class:`NotInRunError` outside one."""
    rt = _RUNTIME.get()
    if rt is None:
        raise NotInRunError(
            "this labkit operation must run inside a labkit run: wrap your code in an "
            "async function and call labkit.simulate(main) (virtual time) or "
            "labkit.run(main) (real time)")
    return rt


@returns_coroutine
def sleep(seconds: float) -> Coroutine[Any, Any, None]:
    """``await labkit.sleep(seconds)``: pause on the run's clock (virtual under
    ``simulate``). Zero or a negative duration only yields once; ``math.inf`` sleeps for
    ever. ``seconds`` must be a number: ``TypeError`` otherwise, ``ValueError`` for NaN."""
    return sleep_for(check_seconds("seconds", seconds, allow_negative=True))


def sleep_for(seconds: float) -> Coroutine[Any, Any, None]:
    """:func:`sleep` for a duration its caller has already checked (a dialect's own sleep,
    a timer): the one way labkit waits on the clock.

    Under ``simulate`` a positive sleep is the virtual loop's own
    (:meth:`~labkit._runtime.vloop.VirtualEventLoop.sleep`); elsewhere on asyncio it is
    ``asyncio.sleep`` (anyio's backend lookup on every call would cost more than the sleep
    itself in a simulation made of short sleeps), on trio ``anyio.sleep``.
    """
    rt = _RUNTIME.get()
    if rt is not None:
        loop = rt._loop
        if loop is not None:
            if rt.virtual and seconds > 0:
                return loop.sleep(seconds)  # type: ignore[no-any-return]
            return asyncio.sleep(seconds)
    return anyio.sleep(seconds)


def current_task() -> TaskRecord:
    """The record of the labkit task executing now (``main`` for the run's main)."""
    return _TASK.get()


def blocking(what: object) -> TaskRecord:
    """Note ``what`` the current task is about to wait for (kept unformatted until a
    deadlock report needs it); returns the task's record for :func:`unblocked`.

    With :func:`unblocked` these are :meth:`Runtime.park` without its coroutine frame::

        task = blocking(("receive from", chan))
        try:
            got = await parker.wait()
            unblocked(task)
        except BaseException:
            task.blocked_on = None
            ...  # give back or withdraw, then re-raise
    """
    task = _TASK.get()
    task.blocked_on = what
    return task


def unblocked(task: TaskRecord) -> None:
    """The task was woken: it waits on nothing now, and a Rust ``select`` branch that has
    already lost raises here (see ``_PARK_GUARD``)."""
    task.blocked_on = None
    guard = _PARK_GUARD.get()
    if guard is not None:
        guard()


class Parker(Protocol):
    """A one-shot wake-up slot for one waiting task.

    ``wake`` returns ``False`` when the waiter is already gone (woken by someone else, or
    cancelled); a channel then offers its value to the next waiter. ``woken`` tells a
    cancelled waiter whether a value was handed to it before the cancellation landed, so
    it can give the value back instead of losing it.
    """

    def wake(self, value: Any) -> bool: ...

    @property
    def woken(self) -> bool: ...

    def result(self) -> Any: ...

    @property
    def pending(self) -> bool: ...

    def wait(self) -> Awaitable[Any]: ...


class _AsyncioParker:
    __slots__ = ("_fut",)

    def __init__(self, loop: Any) -> None:
        # asyncio.Future itself, not loop.create_future(): one Python frame fewer per wait
        # (labkit's loops are asyncio's own, which create plain futures).
        self._fut: asyncio.Future[Any] = asyncio.Future(loop=loop)

    def wake(self, value: Any) -> bool:
        fut = self._fut
        if fut.done():
            return False
        fut.set_result(value)
        return True

    @property
    def woken(self) -> bool:
        fut = self._fut
        return bool(fut.done() and not fut.cancelled())

    def result(self) -> Any:
        return self._fut.result()

    @property
    def pending(self) -> bool:
        return not self._fut.done()

    def wait(self) -> Awaitable[Any]:
        # The future itself: awaiting it costs no coroutine frame of ours.
        return self._fut


class _TrioParker:
    __slots__ = ("_gone", "_task", "_value", "_waiting", "_woken")

    def __init__(self) -> None:
        import trio

        self._task = trio.lowlevel.current_task()
        self._woken = False
        self._gone = False
        self._waiting = False
        self._value: Any = None

    def wake(self, value: Any) -> bool:
        if self._woken or self._gone:
            return False
        self._woken = True
        self._value = value
        if self._waiting:
            import outcome
            import trio

            self._waiting = False
            trio.lowlevel.reschedule(self._task, outcome.Value(value))
        return True

    @property
    def woken(self) -> bool:
        return self._woken

    def result(self) -> Any:
        return self._value

    @property
    def pending(self) -> bool:
        return not (self._woken or self._gone)

    async def wait(self) -> Any:
        import trio

        if self._woken:
            return self._value
        self._waiting = True

        def abort(_raise_cancel: Any) -> Any:
            self._waiting = False
            self._gone = True
            return trio.lowlevel.Abort.SUCCEEDED

        return await trio.lowlevel.wait_task_rescheduled(abort)


class Choice(NamedTuple):
    """One scheduling decision of a run: at a point with ``n`` options, ``pick`` was taken.

    ``what`` names the point: ``"select"`` (which ready case of a Go or tokio select, G21,
    R28), ``"ready"`` (which ready callback the virtual loop runs next) or ``"timer"``
    (which timer due at one instant fires next). Pick 0 is the default order: the first
    ready case, first in first out.
    """

    what: str
    n: int
    pick: int


class Schedule(Sequence[Choice]):
    """The scheduling choices of a run, in order: a read-only sequence of :class:`Choice`.

    ``picks`` is the picks alone. ``labkit.simulate(main, schedule=run.schedule)`` (or
    ``schedule=run.schedule.picks``) replays the run. The records are made when read: a run
    of many selects does not build one object per choice it made.
    """

    __slots__ = ("_ns", "_picks", "_whats")

    def __init__(self, whats: Sequence[str] = (), ns: Sequence[int] = (),
                 picks: Sequence[int] = ()) -> None:
        self._whats = tuple(whats)
        self._ns = tuple(ns)
        self._picks = tuple(picks)

    @property
    def picks(self) -> tuple[int, ...]:
        """The pick of each choice, in order."""
        return self._picks

    def __len__(self) -> int:
        return len(self._picks)

    @overload
    def __getitem__(self, index: int) -> Choice: ...

    @overload
    def __getitem__(self, index: slice) -> Schedule: ...

    def __getitem__(self, index: int | slice) -> Choice | Schedule:
        if isinstance(index, slice):
            return Schedule(self._whats[index], self._ns[index], self._picks[index])
        return Choice(self._whats[index], self._ns[index], self._picks[index])

    def __iter__(self) -> Iterator[Choice]:
        return map(Choice, self._whats, self._ns, self._picks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return (self._picks, self._ns, self._whats) == (other._picks, other._ns, other._whats)

    def __hash__(self) -> int:
        return hash((self._picks, self._ns, self._whats))

    def __repr__(self) -> str:
        shown = ", ".join(f"{c.what} {c.pick}/{c.n}" for c in self[:6])
        more = f", ... ({len(self)} choices)" if len(self) > 6 else ""
        return f"<Schedule [{shown}{more}]>"


_NO_CHOICES = Schedule()


@dataclass(frozen=True)
class Run(Generic[T]):
    """What a run produced: ``result`` of ``main``, its ``trace``, ``seed`` and ``elapsed``.

    ``elapsed`` is in virtual seconds for :func:`labkit.simulate` and real seconds for
    :func:`labkit.run`. ``leaked`` names the tasks still running when ``main`` returned
    (they were cancelled, as a Go program's goroutines die with ``main``). ``completed`` is
    false when the run was stopped by ``until`` before ``main`` returned. ``schedule`` holds
    every scheduling :class:`Choice` the run made, in order:
    ``labkit.simulate(main, schedule=run.schedule)`` replays them.
    """

    result: T
    trace: Any  # labkit.trace.Trace (typed loosely to avoid an import cycle)
    seed: int | None
    elapsed: float
    leaked: tuple[str, ...]
    virtual: bool
    completed: bool = True
    schedule: Schedule = _NO_CHOICES


class _Scheduler:
    """What :meth:`Runtime.choose` keeps: the scheduler's own generator, derived from the
    run's seed (a choice made differently never shifts a ``labkit.rng()`` draw), the picks
    to make instead when a schedule is given, every choice made so far field by field
    (appending existing objects allocates nothing for the garbage collector to scan), and
    whether each choice is also a ``choice`` trace row."""

    __slots__ = ("draw", "given", "ns", "picks", "rows", "whats")

    def __init__(self, seed: int | None, given: Sequence[int] | None, rows: bool) -> None:
        generator = random.Random(None if seed is None else f"labkit-schedule-{seed}")
        self.draw = generator.randrange
        self.given = None if given is None else tuple(given)
        self.whats: list[str] = []
        self.ns: list[int] = []
        self.picks: list[int] = []
        self.rows = rows


class Runtime:
    """Per-run state. Created by ``simulate``/``run``; reached through :func:`current`."""

    def __init__(self, *, seed: int | None, virtual: bool, trace: bool = True,
                 schedule: Sequence[int] | None = None, choice_rows: bool = False) -> None:
        self.seed = seed
        #: The workload's generator (``labkit.rng()``): ``random.Random(seed)``.
        self.rng = random.Random(seed)
        #: Scheduling state (see :meth:`choose`), one attribute: CPython keeps an instance's
        #: attributes in its fast shared-key layout only up to 30 of them, and every hot
        #: path reads this object's.
        self._scheduler = _Scheduler(seed, schedule, choice_rows)
        self.virtual = virtual
        self.trace_on = trace
        #: The trace as recorded: the fields of :data:`~labkit._runtime.rows.RECORDED` for
        #: each event, one event after another in this one list (``Trace`` reads them back
        #: as :class:`TraceRow` s, numbered, with the run's start time subtracted).
        self.events: list[Any] = []
        #: Correlation ids of channel messages sent with one (``send(v, corr_id=...)``),
        #: by message id, until received: the message's later rows (block, unblock,
        #: receive) carry it too, so one filter on ``corr_id`` follows the message.
        self.corr_ids: dict[int, int] = {}
        self.backend = "asyncio"
        self.live: dict[str, TaskRecord] = {}
        self.main_task = TaskRecord("main", None)
        self.tg: TaskGroup | None = None
        self.fatal: BaseException | None = None
        self.fatal_task: str | None = None
        self.result: Any = None
        self.completed = False
        self.timed_out = False
        self.leaked: tuple[str, ...] = ()
        #: The clock when the root task finished normally (``None`` until then, or if it
        #: did not): a simulation's ``elapsed``.
        self.ended_at: float | None = None
        #: Message ids, 1, 2, ...: ``next(rt.msg_ids)`` is :meth:`next_msg_id` on hot paths.
        self.msg_ids = itertools.count(1)
        self._names: dict[str, itertools.count[int]] = {}
        self._t0 = 0.0
        self._time: Callable[[], float] = lambda: 0.0
        self._loop: Any = None
        self._idle_reported = False
        self._closing = False
        self._drain: Parker | None = None
        #: Extension slots for dialects and the actor layer (for example the actor system).
        self.extras: dict[str, Any] = {}

    # -- clock, ids, names ---------------------------------------------------------------

    def _bind(self) -> None:
        self.backend = sniffio.current_async_library()
        if self.backend == "trio":
            import trio

            self._time = trio.current_time
        else:
            from labkit._runtime.vloop import VirtualEventLoop

            loop = self._loop = asyncio.get_running_loop()
            # Every trace row reads the clock: use C-level callables, not loop.time().
            if isinstance(loop, VirtualEventLoop):
                self._time = functools.partial(getattr, loop, "_virtual_now")
            elif type(loop).time is asyncio.BaseEventLoop.time:
                self._time = time.monotonic
            else:
                self._time = loop.time
        self._t0 = self._time()

    def now(self) -> float:
        """Seconds since the run started, on the run's clock (virtual or real)."""
        return self._time() - self._t0

    def next_msg_id(self) -> int:
        """A fresh message id, unique within the run."""
        return next(self.msg_ids)

    def corr_of(self, kind: str, msg_id: int | None) -> int | None:
        """The correlation id a channel row of ``kind`` about ``msg_id`` carries (see
        :attr:`corr_ids`); a ``receive`` is the message's last row and forgets it."""
        if not self.corr_ids or msg_id is None:
            return None
        if kind == "receive":
            return self.corr_ids.pop(msg_id, None)
        return self.corr_ids.get(msg_id)

    def new_name(self, prefix: str) -> str:
        """A deterministic per-run name such as ``chan-3`` or ``go-2``."""
        counter = self._names.get(prefix)
        if counter is None:
            counter = self._names[prefix] = itertools.count(1)
        return f"{prefix}-{next(counter)}"

    # -- trace ---------------------------------------------------------------------------

    def record(self, kind: EventKind, actor: str | None = None, peer: str | None = None,
               msg_id: int | None = None, corr_id: int | None = None,
               msg_type: str | None = None, depth: int | None = None,
               model: str | None = None, detail: str | None = None) -> None:
        """Append one :class:`TraceRow` to the run's trace (a no-op when tracing is off).

        The one way rows are written: time and sequence number come from the run, the
        rest from the arguments, given by keyword (the hottest paths, a channel's send and
        receive, pass all nine in order: a call with keywords costs more). Hot paths check
        ``rt.trace_on`` first and skip the call.
        """
        if self.trace_on:
            events = self.events
            events += (self._time(), KIND_TEXT[kind], actor, peer, msg_id, corr_id, msg_type,
                       depth, model, detail)

    # -- scheduling ----------------------------------------------------------------------

    def choose(self, n: int, what: str) -> int:
        """Pick one of ``n`` options at a scheduling point: every scheduling decision of a
        run is made here and recorded in ``Run.schedule``.

        ``what`` names the point (see :class:`Choice`). With a given schedule the pick is
        its next entry (modulo ``n``), or 0 once the schedule is used up; without one it is
        drawn from the scheduler's generator, seeded from the run's seed. ``n < 2`` is no
        choice: 0, not recorded.
        """
        if n < 2:
            return 0
        scheduler = self._scheduler
        given = scheduler.given
        if given is None:
            pick = scheduler.draw(n)
        else:
            i = len(scheduler.picks)
            pick = given[i] % n if i < len(given) else 0
        scheduler.whats.append(what)
        scheduler.ns.append(n)
        scheduler.picks.append(pick)
        if scheduler.rows:
            task = _TASK.get()
            self.record(EventKind.CHOICE, actor=None if task is _MAIN_OUTSIDE else task.name,
                        detail=f"{what}: {pick} of {n}")
        return pick

    @property
    def schedule(self) -> Schedule:
        """Every choice made so far, in order (``Run.schedule``)."""
        scheduler = self._scheduler
        return Schedule(scheduler.whats, scheduler.ns, scheduler.picks)

    # -- waiting -------------------------------------------------------------------------

    def parker(self) -> Parker:
        """A wake-up slot for the current task, for this run's backend."""
        if self.backend == "trio":
            return _TrioParker()
        return _AsyncioParker(self._loop)

    async def park(self, parker: Parker, what: object) -> Any:
        """Wait on ``parker``, noting ``what`` the task waits for (deadlock reports)."""
        task = blocking(what)
        try:
            value = await parker.wait()
        except BaseException:
            task.blocked_on = None
            raise
        unblocked(task)
        return value

    # -- tasks ---------------------------------------------------------------------------

    def start_task(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], *,
                   prefix: str, model: str | None, name: str | None = None) -> TaskRecord:
        """Start ``fn(*args)`` as a task of this run. An exception escaping it is fatal.

        Dialects wrap ``fn`` to apply their own policy first (a Go panic ends the run,
        G31; a tokio task's panic is kept in its ``JoinError``, R33).
        """
        if self.tg is None:
            raise NotInRunError("the run has not started or has already finished")
        if name is None or name in self.live:
            name = self.new_name(name or prefix)
        rec = TaskRecord(name, model)
        self.live[name] = rec
        if self.trace_on:
            self.record(EventKind.SPAWN, actor=_TASK.get().name, peer=name, model=model)
        if self._closing:
            rec.cancel_requested = True
        loop = self._loop
        if loop is not None:
            # On asyncio a plain task is a quarter of the memory of a task-group child;
            # the root waits for these itself (see ``drain``).
            rec.task = loop.create_task(self._task_main_asyncio(rec, fn, args), name=name)
        else:
            self.tg.start_soon(self._task_main, rec, fn, args, name=name)
        return rec

    async def _task_main_asyncio(self, rec: TaskRecord, fn: Callable[..., Awaitable[Any]],
                                 args: tuple[Any, ...]) -> None:
        _TASK.set(rec)
        _PARK_GUARD.set(None)  # a task started from a select branch is not that branch
        rec.started = True
        if rec.cancel_requested:
            asyncio.current_task().cancel()  # type: ignore[union-attr]
        try:
            await fn(*args)
        except asyncio.CancelledError:
            return  # cancelled by abort() or by the end of the run: nobody awaits it
        except BaseException as exc:  # noqa: BLE001 - any escape ends the run, by design
            self.fail(exc, rec.name)
        finally:
            self._task_finished(rec)

    def _task_finished(self, rec: TaskRecord) -> None:
        rec.done = True
        self.live.pop(rec.name, None)
        self.record(EventKind.STOP, actor=rec.name, model=rec.model)
        if not self.live and self._drain is not None:
            self._drain.wake(None)

    async def drain(self) -> None:
        """Wait until every task started with :meth:`start_task` has finished (asyncio)."""
        while self.live and self._loop is not None:
            self._drain = parker = self.parker()
            await parker.wait()
        self._drain = None

    async def _task_main(self, rec: TaskRecord, fn: Callable[..., Awaitable[Any]],
                         args: tuple[Any, ...]) -> None:
        _TASK.set(rec)
        _PARK_GUARD.set(None)  # a task started from a select branch is not that branch
        cancelled = anyio.get_cancelled_exc_class()
        rec.started = True
        try:
            with anyio.CancelScope() as scope:
                rec.scope = scope
                if rec.cancel_requested:
                    scope.cancel()
                await fn(*args)
        except cancelled:
            raise
        except BaseException as exc:  # noqa: BLE001 - any escape ends the run, by design
            self.fail(exc, rec.name)
        finally:
            rec.done = True
            self.live.pop(rec.name, None)
            self.record(EventKind.STOP, actor=rec.name, model=rec.model)

    def fail(self, exc: BaseException, task: str | None = None) -> None:
        """End the whole run with ``exc`` (the first failure wins)."""
        if self.fatal is None:
            self.fatal = exc
            self.fatal_task = task
            if not self.completed:  # the partial run names what was still running
                self.leaked = tuple(self.live)
            self.record(EventKind.FAIL, actor=task, msg_type=type(exc).__name__,
                        detail=str(exc)[:200])
        self.cancel_all()

    def cancel_all(self) -> None:
        """Cancel every live task, in the order they were started, then the root group.

        Cancelling task by task keeps the order in which they unwind (and record their
        ``stop`` rows) deterministic; the root scope alone would go through a set.
        """
        self._closing = True
        for rec in list(self.live.values()):
            rec.cancel()
        if self.tg is not None:
            self.tg.cancel_scope.cancel()

    def blocked(self, *, parked_only: bool = False) -> dict[str, str]:
        """What each unfinished task waits on, in the order the tasks started (the words of
        ``Deadlock.blocked``); ``parked_only`` leaves out tasks not parked on labkit."""
        return {rec.name: self.describe(rec.blocked_on)
                for rec in (self.main_task, *self.live.values())
                if not rec.done and (rec.blocked_on is not None or not parked_only)}

    def describe(self, what: object) -> str:
        """Text for a task's ``blocked_on``: ``(verb, channel)`` pairs name the channel."""
        if what is None:
            return "a non-labkit await"
        if isinstance(what, tuple):
            verb, obj = what
            name_in = getattr(obj, "name_in", None)
            return f"{verb} {name_in(self) if name_in is not None else obj}"
        return str(what)

    def on_deadline(self) -> None:
        """Called by the virtual loop when its clock reaches ``until``: the run stops there,
        naming the tasks still running (``run.completed`` stays false)."""
        self.timed_out = True
        self.leaked = tuple(self.live)
        self.record(EventKind.STOP, actor="main", msg_type="until")
        self.cancel_all()

    def on_idle(self) -> None:
        """Called by the virtual loop when every task is blocked and no timer will ever
        fire (none is pending, or only timers at infinity): a deadlock (G33)."""
        if self._idle_reported:
            return
        self._idle_reported = True
        self.fail(Deadlock(self.blocked(), at=self.now()))


def loop_running_here() -> bool:
    """True when the calling thread already runs an event loop (a Jupyter kernel does)."""
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        pass
    else:
        return True
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def in_worker_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread and return its result (or raise its exception)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="labkit-run")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
