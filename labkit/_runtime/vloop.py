"""A virtual-time asyncio event loop.

The loop's clock only moves when every task is idle: instead of sleeping until the next
timer, the selector polls with timeout 0 and jumps the clock straight to that timer. Fifty
virtual seconds take as long as the callbacks they contain, and the same program gives the
same sequence of events every time.

Four details make the order exact and the end certain:

* timers due at the same instant fire in the order they were scheduled (asyncio's heap
  compares only the due time, so ties would otherwise come out in heap order);
* a timer at infinity (``anyio.sleep_forever()``, a timeout of ``math.inf``) never fires,
  so it is not progress: when nothing is ready and no finite timer is pending, the loop
  calls its ``on_idle`` hook instead of jumping the clock to infinity, and labkit's runtime
  turns that into a deadlock report;
* a run's ``until`` is not a timer either: it is a ``deadline`` the clock is not allowed to
  reach. When the next timer is due at or after it, the loop stops the clock there and calls
  ``on_deadline``. A program that waits on nothing but ``until`` is still deadlocked;
* given a ``chooser``, each step's ready callbacks and the timers falling due at one
  instant run in an order the chooser picks (``Runtime.choose``; choice 0 is the default
  order above). Without one the loop does no extra work per step.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import selectors
from collections.abc import Callable
from typing import Any

from labkit.errors import LabkitError

__all__ = ("LoopStalled", "VirtualEventLoop")


class LoopStalled(LabkitError):
    """The virtual loop has nothing to run, no timer to wait for, and ``on_idle`` scheduled
    nothing (a task blocked inside a shielded cancel scope cannot be cancelled)."""


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


class _ChoosingSelector(_VirtualSelector):
    """A virtual selector that also puts each step in the chooser's order. ``select`` is
    called once per loop step, just before the step runs its ready callbacks. (A class of
    its own, so that a loop without a chooser pays nothing per step.)"""

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(timeout)
        self.loop._choose_order()
        return events


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is a virtual clock that jumps between timers.

    ``chooser(n, what)``, if given, returns which of ``n`` ready callbacks
    (``what="ready"``) or timers due at one instant (``what="timer"``) goes next.
    """

    def __init__(self, chooser: Callable[[int, str], int] | None = None) -> None:
        selector = _VirtualSelector() if chooser is None else _ChoosingSelector()
        super().__init__(selector)
        selector.loop = self
        self._virtual_now = 0.0
        self._timer_order = itertools.count()
        self._clock_resolution = 1e-9
        self.chooser = chooser
        #: Called when no callback is ready and no finite timer is pending. It may schedule
        #: work (for example cancel the program); if it schedules none, the loop raises
        #: :class:`LoopStalled`.
        self.on_idle: Callable[[], None] | None = None
        #: The clock stops here: when the next timer is due at or after ``deadline``, the
        #: clock moves to ``deadline`` and ``on_deadline`` is called once (``until``).
        self.deadline = math.inf
        self.on_deadline: Callable[[], None] | None = None

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
        """Nothing is ready: jump the clock to the next finite timer, or stop at the
        deadline, or report that the program is idle."""
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        # _run_once has already removed cancelled timers from the head of the heap.
        when = scheduled[0].when() if scheduled else math.inf
        if when != math.inf:
            if when >= self.deadline:
                self._virtual_now = max(self._virtual_now, self.deadline)
                self.deadline = math.inf
                if self.on_deadline is not None:
                    self.on_deadline()
                return
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
        if not self._ready:  # type: ignore[attr-defined]
            raise LoopStalled(
                "labkit virtual loop: every task is blocked, no timer will ever fire and "
                "nothing could be cancelled; the program can never make progress")

    def _choose_order(self) -> None:
        """Put this step's ready callbacks, then the timers due now, in the chooser's order.

        Each position is one choice among the callbacks still unplaced, so picking 0 every
        time keeps asyncio's own order (ready first-in first-out, timers by due time and
        scheduling order). Cancelled callbacks would be skipped anyway and are left out.
        """
        choose = self.chooser
        assert choose is not None
        ready = self._ready  # type: ignore[attr-defined]
        if len(ready) > 1:
            pending = [handle for handle in ready if not handle._cancelled]
            ready.clear()
            while len(pending) > 1:
                ready.append(pending.pop(choose(len(pending), "ready")))
            ready.extend(pending)
        # The timers _run_once would move to the ready queue after this call: move them
        # here, in the chosen order (the same due test as _run_once's).
        scheduled = self._scheduled  # type: ignore[attr-defined]
        end_time = self._virtual_now + self._clock_resolution
        due: list[asyncio.TimerHandle] = []
        while scheduled and scheduled[0]._when < end_time:
            handle = heapq.heappop(scheduled)
            handle._scheduled = False
            if handle._cancelled:
                self._timer_cancelled_count -= 1  # type: ignore[attr-defined]
            else:
                due.append(handle)
        while len(due) > 1:
            ready.append(due.pop(choose(len(due), "timer")))
        ready.extend(due)
