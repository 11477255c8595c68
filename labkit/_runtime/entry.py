"""The three ways to run a labkit program: ``simulate``, ``run`` and ``run_async``."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

import anyio

from labkit._check import (
    check_async_function,
    check_bool,
    check_choice,
    check_int,
    check_optional_seconds,
    check_seed,
    describe,
)
from labkit._runtime.core import (
    _RUNTIME,
    _TASK,
    Choice,
    Run,
    Runtime,
    Schedule,
    in_worker_thread,
    loop_running_here,
)
from labkit._runtime.vloop import LoopStalled, VirtualEventLoop, interrupt_running
from labkit.errors import LabkitError
from labkit.trace import Trace

__all__ = ("run", "run_async", "simulate")

T = TypeVar("T")
Main = Callable[..., Awaitable[T]]

#: What ``simulate(choices=...)`` makes a scheduling choice of.
CHOICES = ("select", "all")


def _check_schedule(schedule: object) -> tuple[int, ...] | None:
    """``None``, or the picks of a schedule: ints >= 0, or a run's :class:`Choice` records."""
    if schedule is None:
        return None
    if isinstance(schedule, Schedule):
        return schedule.picks
    if isinstance(schedule, str | bytes) or not isinstance(schedule, Iterable):
        raise TypeError("schedule must be a list of ints >= 0 (or a run's .schedule), got "
                        f"{describe(schedule)}")
    return tuple(check_int(f"schedule[{i}]", entry.pick if isinstance(entry, Choice) else entry,
                           minimum=0)
                 for i, entry in enumerate(schedule))


async def _root(rt: Runtime, main: Main[Any], args: tuple[Any, ...]) -> None:
    rt._bind()
    runtime_token = _RUNTIME.set(rt)
    task_token = _TASK.set(rt.main_task)
    cancelled = anyio.get_cancelled_exc_class()
    try:
        async with anyio.create_task_group() as tg:
            rt.tg = tg
            try:
                rt.result = await main(*args)
            except cancelled:
                raise
            except BaseException as exc:  # noqa: BLE001 - re-raised after the group closes
                rt.fail(exc, "main")
            else:
                rt.completed = True
                rt.leaked = tuple(rt.live)
            finally:
                rt.main_task.done = True
            rt.cancel_all()
        with anyio.CancelScope(shield=True):
            await rt.drain()
        rt.ended_at = rt.now()
    finally:
        rt.tg = None
        _TASK.reset(task_token)
        _RUNTIME.reset(runtime_token)


def _finish(rt: Runtime, elapsed: float) -> Run[Any]:
    run: Run[Any] = Run(result=rt.result, trace=Trace.recorded(rt.events, rt._t0), seed=rt.seed,
                        elapsed=elapsed, leaked=rt.leaked, virtual=rt.virtual,
                        completed=rt.completed, schedule=rt.schedule)
    if rt.fatal is not None:
        exc = rt.fatal
        # The partial run goes with the exception, so a notebook can still chart what
        # happened before the program died.
        if isinstance(exc, LabkitError):
            exc.run = run
        else:
            exc.run = run  # type: ignore[attr-defined]  # any exception takes attributes
        if rt.fatal_task and rt.fatal_task != "main" and not getattr(exc, "_labkit_noted", False):
            exc.add_note(f"(raised in labkit task {rt.fatal_task!r}; it ended the run)")
            exc._labkit_noted = True  # type: ignore[attr-defined]
        raise exc
    return run


def simulate(main: Main[T], *args: Any, seed: int | None = 0, until: float | None = None,
             trace: bool = True, choices: str = "select",
             schedule: Schedule | Iterable[int | Choice] | None = None) -> Run[T]:
    """Run ``main(*args)`` in deterministic virtual time and return a :class:`Run`.

    The clock jumps to the next timer whenever every task is idle, so hours of virtual time
    take milliseconds. Same seed, same program: the same trace, row for row. When every
    task is blocked and no timer will ever fire (none is pending, or only timers at
    infinity such as ``anyio.sleep_forever()``), the run raises :class:`labkit.Deadlock`
    (G33) at that instant. ``until`` stops the run at that virtual time (``run.completed``
    is then false); it keeps nothing alive, so a program that deadlocks earlier still
    raises :class:`~labkit.Deadlock`.

    Scheduling (the seam for searching schedules): every scheduling decision is a
    :class:`~labkit.Choice`, recorded in ``run.schedule`` (a :class:`~labkit.Schedule`).
    ``choices="select"`` (the default) makes only the pick among the ready cases of a Go or
    tokio ``select`` a choice; ``choices="all"`` also which ready callback (a task's next
    step) runs next and the order of timers due at the same instant, and records every
    choice as a ``choice`` trace row. Choices are drawn from a scheduler generator seeded
    from ``seed``. ``schedule`` (``run.schedule``, or a list of picks) makes them instead:
    pick 0 is the default order (the first ready case, first in first out), a pick too
    large for its choice wraps around (modulo the options), and every choice beyond the
    end of the list is 0. ``simulate(main, schedule=run.schedule)`` replays ``run``
    exactly, whatever the seed. ``labkit.rng()`` (the workload's generator) is
    ``random.Random(seed)`` whatever the schedule.

    Works from scripts, tests and inside a running event loop (a Jupyter kernel), where it
    runs on a worker thread. Virtual time assumes every task lives on the loop: work handed
    to another thread (``anyio.to_thread``) is not waited for, and a program that only waits
    for such a thread is reported as deadlocked. Use :func:`run` for that.
    """
    check_async_function("main", main)
    seed = check_seed("seed", seed)
    until = check_optional_seconds("until", until)
    trace = check_bool("trace", trace)
    choices = check_choice("choices", choices, CHOICES)
    given = _check_schedule(schedule)

    def go() -> Run[T]:
        rt = Runtime(seed=seed, virtual=True, trace=trace, schedule=given,
                     choice_rows=choices == "all")

        def loop_factory() -> VirtualEventLoop:
            loop = VirtualEventLoop(rt.choose if choices == "all" else None)
            loop.on_idle = rt.on_idle
            if until is not None:
                # A fresh loop's clock starts at 0, as the run's clock does.
                loop.deadline = until
                loop.on_deadline = rt.on_deadline
            return loop

        try:
            with _interrupts_between_steps():
                anyio.run(_root, rt, main, args, backend="asyncio",
                          backend_options={"loop_factory": loop_factory})
        except LoopStalled:
            if rt.fatal is None:
                raise
            rt.fatal.add_note("(labkit abandoned the run: a blocked task could not be "
                              "cancelled, as inside a shielded cancel scope)")
        return _finish(rt, rt.now() if rt.ended_at is None else rt.ended_at)

    if loop_running_here():
        return in_worker_thread(go)
    return go()


def _on_sigint(_signum: int, _frame: object) -> None:
    interrupt_running()


@contextlib.contextmanager
def _interrupts_between_steps() -> Iterator[None]:
    """Ctrl-C (a kernel's interrupt) during a simulation on the main thread: its
    ``KeyboardInterrupt`` comes out of the virtual loop after the step under way
    (:func:`~labkit._runtime.vloop.interrupt_running`). asyncio's own handling cancels the
    main task from the signal handler, in the middle of whatever code runs, which in a
    simulation's Python-level parking could end the run with ``InvalidStateError``."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run(main: Main[T], *args: Any, backend: str = "asyncio", seed: int | None = 0,
        trace: bool = True) -> Run[T]:
    """Run ``main(*args)`` in real time on ``backend`` ("asyncio" or "trio").

    Works inside a running event loop too (on a worker thread). ``elapsed`` is in real
    seconds, and so are the trace's times, which therefore vary between runs.
    """
    check_async_function("main", main)
    backend = check_choice("backend", backend, ("asyncio", "trio"))
    seed = check_seed("seed", seed)
    trace = check_bool("trace", trace)

    def go() -> Run[T]:
        rt = Runtime(seed=seed, virtual=False, trace=trace)
        start = time.perf_counter()
        anyio.run(_root, rt, main, args, backend=backend)
        return _finish(rt, time.perf_counter() - start)

    if loop_running_here():
        return in_worker_thread(go)
    return go()


async def run_async(main: Main[T], *args: Any, seed: int | None = 0,
                    trace: bool = True) -> Run[T]:
    """Run ``main(*args)`` in real time on the event loop that is already running.

    For code that is itself async: a test under anyio's pytest plugin, or ``await`` at the
    top level of a notebook cell.
    """
    check_async_function("main", main)
    seed = check_seed("seed", seed)
    trace = check_bool("trace", trace)
    rt = Runtime(seed=seed, virtual=False, trace=trace)
    start = time.perf_counter()
    await _root(rt, main, args)
    return _finish(rt, time.perf_counter() - start)
