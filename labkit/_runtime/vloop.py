"""A virtual-time asyncio event loop.

The loop's clock only moves when every task is idle: instead of sleeping until the next
timer, the selector polls with timeout 0 and jumps the clock straight to that timer. Fifty
virtual seconds take as long as the callbacks they contain, and the same program gives the
same sequence of events every time.

Two details make the order exact:

* timers due at the same instant fire in the order they were scheduled (asyncio's heap
  compares only the due time, so ties would otherwise come out in heap order);
* when nothing is ready and no timer is pending, the loop asks its ``on_idle`` hook what to
  do instead of blocking forever; labkit's runtime turns that into a deadlock report.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import selectors
from collections.abc import Callable
from typing import Any

__all__ = ("VirtualEventLoop",)


class _OrderedTimerHandle(asyncio.TimerHandle):
    """A timer handle that breaks ties on due time by scheduling order."""

    __slots__ = ("_order",)

    def __init__(self, when: float, order: int, callback: Callable[..., object],
                 args: tuple[Any, ...], loop: asyncio.AbstractEventLoop,
                 context: Any = None) -> None:
        super().__init__(when, callback, args, loop, context=context)
        self._order = order

    def _key(self) -> tuple[float, int]:
        return (self.when(), self._order)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimerHandle):
            return self._key() < other._key()
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimerHandle):
            return self._key() <= other._key()
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimerHandle):
            return self._key() > other._key()
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, _OrderedTimerHandle):
            return self._key() >= other._key()
        return NotImplemented


class _VirtualSelector(selectors.DefaultSelector):
    """Polls without blocking and advances the owning loop's clock instead of waiting."""

    loop: VirtualEventLoop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0:
            # Callbacks are ready: run them first. A simulation has no I/O of its own; a
            # wake-up from another thread is picked up before the clock next moves.
            return []
        events: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if events:
            return events
        self.loop._advance_to_next_timer()
        return events


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is a virtual clock that jumps between timers."""

    def __init__(self) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual_now = 0.0
        self._timer_order = itertools.count()
        self._clock_resolution = 1e-9
        #: Called when no callback is ready and no timer is pending. It may schedule work
        #: (for example cancel the program); if it schedules none, the loop raises.
        self.on_idle: Callable[[], None] | None = None

    def time(self) -> float:
        return self._virtual_now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                context: Any = None) -> asyncio.TimerHandle:
        self._check_closed()  # type: ignore[attr-defined]
        timer = _OrderedTimerHandle(when, next(self._timer_order), callback, args, self,
                                    context=context)
        source_traceback = getattr(timer, "_source_traceback", None)
        if source_traceback:
            del source_traceback[-1]
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def _advance_to_next_timer(self) -> None:
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        # _run_once has already removed cancelled timers from the head of the heap.
        if scheduled:
            when = scheduled[0].when()
            if when + self._clock_resolution <= when:
                # Far in the future the resolution is below one float step; step past
                # ``when`` so _run_once sees the timer as due.
                when = math.nextafter(when, math.inf)
            self._virtual_now = max(self._virtual_now, when)
            return
        if self._ready:  # type: ignore[attr-defined]
            return
        hook = self.on_idle
        if hook is not None:
            hook()
        if not self._ready and not scheduled:  # type: ignore[attr-defined]
            raise RuntimeError(
                "labkit virtual loop: every task is blocked, no timer is pending and "
                "nothing could be cancelled; the program can never make progress")
