"""``sync.WaitGroup`` and ``errgroup.Group`` (G40-G44).

Both are built from channels, as a Go programmer could build them: a WaitGroup's ``wait``
receives from a channel that is closed when the counter reaches zero (the broadcast of G15),
and an errgroup's limit is a buffered channel used as a counting semaphore (G43, G8).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from labkit._check import check_callable, check_int
from labkit.go._context import CancelCauseFunc, Context, with_cancel_cause
from labkit.go._goroutine import go
from labkit.go._panic import Panic
from labkit.go.chan import Chan

__all__ = ("ErrGroup", "WaitGroup", "errgroup_with_context")


class _ZeroSignal(Chan[None]):
    """The channel a WaitGroup closes when its counter reaches zero."""

    __slots__ = ()

    @classmethod
    def _prefix(cls) -> str:
        return "waitgroup"


class WaitGroup:
    """``sync.WaitGroup``: ``add(n)``, ``done()``, ``await wait()`` (G40).

    A negative counter panics ``sync: negative WaitGroup counter``. It carries no errors
    and no cancellation; for those use :class:`ErrGroup`.
    """

    __slots__ = ("_count", "_zero")

    def __init__(self) -> None:
        self._count = 0
        # Closed when the counter returns to zero; a new one for each round of work.
        self._zero: _ZeroSignal | None = None

    @property
    def count(self) -> int:
        """The counter now (Go does not expose it: for teaching and tests)."""
        return self._count

    def add(self, delta: int) -> None:
        """Add ``delta`` (may be negative) to the counter; at zero, release every waiter."""
        count = self._count + check_int("delta", delta)
        if count < 0:
            raise Panic("sync: negative WaitGroup counter")
        self._count = count
        if count == 0:
            if self._zero is not None:
                self._zero.close()
                self._zero = None
        elif self._zero is None:
            self._zero = _ZeroSignal(0)

    def done(self) -> None:
        """``add(-1)``: one unit of work has finished."""
        self.add(-1)

    async def wait(self) -> None:
        """Wait until the counter is zero (returns at once if it is already)."""
        zero = self._zero
        if self._count == 0 or zero is None:
            return
        await zero.recv()

    def go(self, fn: Callable[..., Any], *args: Any) -> None:
        """``wg.Go(f)`` (Go 1.25): ``add(1)``, run ``fn(*args)`` in a goroutine, ``done()``."""
        check_callable("fn", fn)
        self.add(1)

        async def body() -> None:
            result = fn(*args)
            if isinstance(result, Awaitable):
                await result
            # No ``finally``: after a panic the run is over (G31); waking ``wait`` would
            # only let other goroutines run on in the dying program.
            self.done()

        go(body)

    def __repr__(self) -> str:
        return f"<WaitGroup count={self._count}>"


class ErrGroup:
    """``errgroup.Group``: goroutines that return an error value or ``None`` (G41-G44).

    ``await wait()`` returns the *first* error, the others are discarded (G41). The zero
    value has no limit and no context; see :func:`errgroup_with_context`. A panic in a
    function is not caught: it ends the run (G44).
    """

    def __init__(self) -> None:
        self._wg = WaitGroup()
        self._sem: Chan[None] | None = None
        self._err: object = None
        self._cancel: CancelCauseFunc | None = None

    def set_limit(self, n: int) -> None:
        """At most ``n`` active goroutines (n < 0: no limit; 0 blocks every ``go``). Panics
        if goroutines are active (G43)."""
        if check_int("n", n) < 0:
            self._sem = None
            return
        if self._sem is not None and len(self._sem) != 0:
            raise Panic(f"errgroup: modify limit while {len(self._sem)} goroutines in the "
                        "group are still active")
        self._sem = Chan(n)

    async def go(self, fn: Callable[..., Awaitable[object] | object], *args: Any) -> None:
        """Start ``fn(*args)`` in a goroutine, first waiting for a slot under the limit."""
        check_callable("fn", fn)
        if self._sem is not None:
            await self._sem.send(None)
        self._start(fn, args)

    def try_go(self, fn: Callable[..., Awaitable[object] | object], *args: Any) -> bool:
        """Start ``fn(*args)`` only if a slot is free now; False when saturated (G43)."""
        check_callable("fn", fn)
        if self._sem is not None and not self._sem._try_send(None):
            return False
        self._start(fn, args)
        return True

    def _start(self, fn: Callable[..., Awaitable[object] | object], args: tuple[Any, ...]) -> None:
        self._wg.add(1)

        async def body() -> None:
            result = fn(*args)
            err = await result if isinstance(result, Awaitable) else result
            if err is not None and self._err is None:  # the first error wins (G41)
                self._err = err
                if self._cancel is not None:
                    self._cancel(err)  # the error is the cause (G42)
            self._done()  # not reached after a panic: that ends the run (G44)

        go(body)

    def _done(self) -> None:
        if self._sem is not None:
            self._sem._try_recv()
        self._wg.done()

    async def wait(self) -> object:
        """Wait for every goroutine; return the first error (or ``None``), then cancel the
        group's context if it has one (G41, G42)."""
        await self._wg.wait()
        if self._cancel is not None:
            self._cancel(self._err)
        return self._err

    def __repr__(self) -> str:
        limit = "none" if self._sem is None else self._sem.cap
        return f"<ErrGroup active={self._wg.count} limit={limit}>"


def errgroup_with_context(ctx: Context) -> tuple[ErrGroup, Context]:
    """``errgroup.WithContext``: the derived context is cancelled, with the error as its
    cause, when a function first returns an error or when ``wait`` returns (G42)."""
    group = ErrGroup()
    derived, cancel = with_cancel_cause(ctx)
    group._cancel = cancel
    return group, derived
