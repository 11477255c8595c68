"""``go fn(args)``: start a goroutine (G30, G31), and the small scheduler helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from labkit._check import check_callable, check_seconds, returns_coroutine
from labkit._runtime.core import current
from labkit._runtime.core import sleep_for as _sleep

__all__ = ("go", "gosched", "sleep")


def go(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` concurrently as a goroutine named ``go-N`` (G30).

    ``fn`` and ``args`` are evaluated by the caller, now. There is no handle: a goroutine
    cannot be joined, cancelled or killed from outside; use channels, a ``WaitGroup`` or a
    context. An exception (a ``go.Panic`` or any other) escaping it ends the whole run, and
    ``simulate``/``run`` raise it (G31). It dies with the run when ``main`` returns.
    ``fn`` is normally an ``async def``; a plain function runs to completion in the new
    goroutine.
    """
    if inspect.iscoroutine(fn):
        fn.close()
        raise TypeError("go.go() takes the function and its arguments: write "
                        "go.go(worker, x), not go.go(worker(x))")
    check_callable("fn", fn)
    rt = current()
    if inspect.iscoroutinefunction(fn):  # the task awaits it directly: one frame fewer
        rt.start_task(fn, args, prefix="go", model="go")
    else:
        rt.start_task(_goroutine, (fn, args), prefix="go", model="go")


async def _goroutine(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A goroutine whose function is not an ``async def``: call it, await what it returns
    if that is awaitable (a lambda that makes a coroutine)."""
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


async def gosched() -> None:
    """Yield to other goroutines once (``runtime.Gosched``): a spin loop needs it, because
    operations that can proceed at once never yield."""
    await anyio.lowlevel.checkpoint()


@returns_coroutine
def sleep(seconds: float) -> Coroutine[Any, Any, None]:
    """``await go.sleep(seconds)``, ``time.Sleep``: pause this goroutine on the run's clock
    (virtual under simulate). Zero or a negative duration returns at once, as in Go;
    ``inf`` sleeps for ever. (A plain function returning the sleep: no frame of its own.)"""
    return _sleep(max(0.0, check_seconds("seconds", seconds, allow_negative=True)))
