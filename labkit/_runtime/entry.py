"""The three ways to run a labkit program: ``simulate``, ``run`` and ``run_async``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from labkit._runtime.core import _RUNTIME, _TASK, Run, Runtime, in_worker_thread, loop_running_here
from labkit._runtime.rows import EventKind
from labkit._runtime.vloop import VirtualEventLoop
from labkit.errors import LabkitError
from labkit.trace import Trace

__all__ = ("run", "run_async", "simulate")

T = TypeVar("T")
Main = Callable[..., Awaitable[T]]


def _check_main(main: object) -> None:
    if not callable(main):
        raise TypeError(f"main must be an async function, got {main!r}")


async def _root(rt: Runtime, main: Main[Any], args: tuple[Any, ...],
                until: float | None) -> None:
    rt._bind()
    runtime_token = _RUNTIME.set(rt)
    task_token = _TASK.set(rt.main_task)
    cancelled = anyio.get_cancelled_exc_class()
    try:
        async with anyio.create_task_group() as tg:
            rt.tg = tg
            if until is not None:
                tg.start_soon(_stop_at, rt, until)
            try:
                rt.result = await main(*args)
            except cancelled:
                raise
            except BaseException as exc:  # noqa: BLE001 - re-raised after the group closes
                rt.fail(exc, "main")
            else:
                rt.completed = True
                rt.leaked = tuple(rt.live)
            rt.cancel_all()
        with anyio.CancelScope(shield=True):
            await rt.drain()
    finally:
        rt.tg = None
        _TASK.reset(task_token)
        _RUNTIME.reset(runtime_token)


async def _stop_at(rt: Runtime, until: float) -> None:
    await anyio.sleep(until)
    rt.timed_out = True
    rt.leaked = tuple(rt.live)
    rt.record(EventKind.STOP, actor="main", msg_type="until")
    rt.cancel_all()


def _finish(rt: Runtime, elapsed: float) -> Run[Any]:
    run: Run[Any] = Run(result=rt.result, trace=Trace(rt.rows), seed=rt.seed,
                        elapsed=elapsed, leaked=rt.leaked, virtual=rt.virtual,
                        completed=rt.completed)
    if rt.fatal is not None:
        exc = rt.fatal
        # The partial run goes with the exception, so a notebook can still chart what
        # happened before the program died.
        exc.run = run  # type: ignore[attr-defined]
        if rt.fatal_task and rt.fatal_task != "main" and not getattr(exc, "_labkit_noted", False):
            exc.add_note(f"(raised in labkit task {rt.fatal_task!r}; it ended the run)")
            exc._labkit_noted = True  # type: ignore[attr-defined]
        raise exc
    return run


def simulate(main: Main[T], *args: Any, seed: int | None = 0, until: float | None = None,
             trace: bool = True) -> Run[T]:
    """Run ``main(*args)`` in deterministic virtual time and return a :class:`Run`.

    The clock jumps to the next timer whenever every task is idle, so hours of virtual time
    take milliseconds. Same seed, same program: the same trace, row for row. When every
    task is blocked and no timer is pending the run raises :class:`labkit.Deadlock` (G33).
    ``until`` stops the run at that virtual time (``run.completed`` is then false).
    Works from scripts, tests and inside a running event loop (a Jupyter kernel), where it
    runs on a worker thread. Virtual time assumes every task lives on the loop: work handed
    to another thread (``anyio.to_thread``) is not waited for, and a program that only waits
    for such a thread is reported as deadlocked. Use :func:`run` for that.
    """
    _check_main(main)
    if until is not None and until < 0:
        raise ValueError(f"until must be a non-negative number of seconds, got {until!r}")

    def go() -> Run[T]:
        rt = Runtime(seed=seed, virtual=True, trace=trace)

        def loop_factory() -> VirtualEventLoop:
            loop = VirtualEventLoop()
            loop.on_idle = rt.on_idle
            return loop

        holder: list[float] = []

        async def timed() -> None:
            await _root(rt, main, args, until)
            holder.append(rt.now())

        try:
            anyio.run(timed, backend="asyncio", backend_options={"loop_factory": loop_factory})
        except RuntimeError as exc:
            if "never make progress" in str(exc):
                raise LabkitError(str(exc)) from exc
            raise
        return _finish(rt, holder[0] if holder else 0.0)

    if loop_running_here():
        return in_worker_thread(go)
    return go()


def run(main: Main[T], *args: Any, backend: str = "asyncio", seed: int | None = 0,
        trace: bool = True) -> Run[T]:
    """Run ``main(*args)`` in real time on ``backend`` ("asyncio" or "trio").

    Works inside a running event loop too (on a worker thread). ``elapsed`` is in real
    seconds, and so are the trace's times, which therefore vary between runs.
    """
    _check_main(main)
    if backend not in ("asyncio", "trio"):
        raise ValueError(f"backend must be 'asyncio' or 'trio', got {backend!r}")

    def go() -> Run[T]:
        rt = Runtime(seed=seed, virtual=False, trace=trace)
        start = time.perf_counter()
        anyio.run(_root, rt, main, args, None, backend=backend)
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
    _check_main(main)
    rt = Runtime(seed=seed, virtual=False, trace=trace)
    start = time.perf_counter()
    await _root(rt, main, args, None)
    return _finish(rt, time.perf_counter() - start)
