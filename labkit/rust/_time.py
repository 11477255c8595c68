"""tokio time: ``interval`` (missed-tick behaviours), ``timeout``, ``sleep`` (R36).

>>> iv = rust.interval(1.0)          # Burst by default
>>> await iv.tick()                  # the first tick completes at once, as in tokio
>>> match await rust.timeout(0.5, rx.recv()):
...     case rust.Ok(v): ...
...     case rust.Err(rust.Elapsed()): ...

``Burst`` (the default) fires missed ticks back to back to catch up, unlike Go's Ticker, which
drops them (G46). ``skip`` jumps to the next multiple of the period after now; ``delay``
restarts the period from now. As in tokio, a tick counts as missed only when it is more
than 5 ms late. All times are on the run's clock (virtual under ``labkit.simulate``).

Durations are tokio ``Duration`` s: a number of seconds, never negative nor NaN (Rust
panics; here ``ValueError``); ``math.inf`` waits for ever. Deadlines (``sleep_until``,
``start``) are times on the run's clock and may lie in the past.

``timeout`` checks the wrapped awaitable first, so one that completes without waiting wins
even with a zero duration; on expiry it is cancelled (dropped) and ``Err(Elapsed())`` comes
back. Not modelled: ``Instant`` arithmetic (times are floats in seconds), the timer wheel's
millisecond granularity, and ``pause``/``advance`` (``labkit.simulate`` is the test clock).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Coroutine
from typing import Any, Final, TypeVar

import anyio

from labkit._check import check_choice, check_seconds, returns_coroutine
from labkit._runtime.core import current
from labkit._runtime.core import sleep_for as _sleep
from labkit.rust._errors import PlainError
from labkit.rust.result import Err, Ok, Result

__all__ = ("Elapsed", "Interval", "interval", "sleep", "sleep_until", "timeout")

T = TypeVar("T")

MISSED: Final = ("burst", "skip", "delay")
#: tokio treats a tick up to 5 ms late as on time (``interval.rs``).
_TOLERANCE: Final = 0.005


class Elapsed(PlainError):
    """A ``timeout`` expired before its awaitable completed (R36)."""

    def __str__(self) -> str:
        return "deadline has elapsed"


@returns_coroutine
def sleep(seconds: float) -> Coroutine[Any, Any, None]:
    """``await rust.sleep(seconds)``: wait ``seconds`` on the run's clock
    (``tokio::time::sleep``). (A plain function returning the sleep: no frame of its own.)"""
    return _sleep(check_seconds("seconds", seconds))


async def sleep_until(deadline: float) -> None:
    """Wait until ``deadline`` on the run's clock (``labkit.now()`` scale)."""
    delay = check_seconds("deadline", deadline, allow_negative=True) - current().now()
    await _sleep(max(0.0, delay))


async def timeout(seconds: float, awaitable: Awaitable[T]) -> Result[T, Elapsed]:
    """``Ok(value)`` if ``awaitable`` completes within ``seconds``, else ``Err(Elapsed())``
    with the awaitable cancelled (R36). A ready awaitable wins even at zero seconds."""
    try:
        seconds = check_seconds("seconds", seconds)
    except (TypeError, ValueError):
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never started: no "coroutine was never awaited" warning
        raise
    with anyio.move_on_after(seconds):
        return Ok(await awaitable)
    return Err(Elapsed())


class Interval:
    """Ticks every ``period`` seconds from its creation; the first tick is immediate (R36).

    ``await tick()`` returns the time the tick was due (run clock). What happens to ticks
    missed because the caller was late depends on ``missed``: ``"burst"``, ``"skip"`` or
    ``"delay"``.
    """

    __slots__ = ("_base", "_k", "_missed", "_period")

    def __init__(self, period: float, missed: str = "burst", *,
                 start: float | None = None) -> None:
        self._period = check_seconds("period", period, above_zero=True, allow_inf=False)
        self._missed = check_choice("missed", missed, MISSED)
        # deadline k is base + k * period: no drift from repeated float additions
        self._base = (current().now() if start is None
                      else check_seconds("start", start, allow_negative=True, allow_inf=False))
        self._k = 0

    @property
    def period(self) -> float:
        return self._period

    @property
    def missed_tick_behavior(self) -> str:
        return self._missed

    def set_missed_tick_behavior(self, missed: str) -> None:
        self._missed = check_choice("missed", missed, MISSED)

    def deadline(self) -> float:
        """When the next tick is due (run clock)."""
        return self._base + self._k * self._period

    async def tick(self) -> float:
        """Wait for the next tick and return when it was due. A tick already due returns
        at once without yielding (how Burst catches up, R36)."""
        rt = current()
        due = self.deadline()
        now = rt.now()
        if now < due:
            await _sleep(due - now)
            now = rt.now()
        if now > due + _TOLERANCE:
            if self._missed == "burst":
                self._k += 1
            elif self._missed == "delay":
                self._base, self._k = now, 1
            else:  # skip: the first multiple of the period strictly after now
                self._k += int((now - due) // self._period) + 1
        else:
            self._k += 1
        return due

    def reset(self) -> None:
        """Make the next tick due one period from now."""
        self._base, self._k = current().now(), 1

    def reset_immediately(self) -> None:
        """Make the next tick due now."""
        self._base, self._k = current().now(), 0

    def __repr__(self) -> str:
        return f"<Interval {self._period}s {self._missed}>"


def interval(seconds: float, missed: str = "burst") -> Interval:
    """An :class:`Interval` ticking every ``seconds``; first tick now (R36)."""
    return Interval(seconds, missed)
