"""A virtual-time asyncio event loop.

The loop's clock only moves when every task is idle: instead of sleeping until the next
timer, the loop jumps the clock straight to that timer (polling the selector first, never
waiting on it, when there is I/O or a signal handler to hear). Fifty
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
from collections import deque
from collections.abc import Callable
from typing import Any

from labkit.errors import LabkitError

__all__ = ("LoopStalled", "VirtualEventLoop")


class LoopStalled(LabkitError):
    """The virtual loop has nothing to run, no timer to wait for, and ``on_idle`` scheduled
    nothing (a task blocked inside a shielded cancel scope cannot be cancelled)."""


#: asyncio's own thresholds for compacting the timer heap: once more than this many timers
#: are pending and more than this fraction of them are cancelled, drop them all at once.
_COMPACT_AT = 100
_COMPACT_FRACTION = 0.5


def _wake(future: asyncio.Future[None]) -> None:
    """A sleep's timer: end the sleep, unless it was cancelled first."""
    if not future.done():
        future.set_result(None)


#: The callbacks of timers that end a sleep and do nothing else: labkit's own
#: :meth:`VirtualEventLoop.sleep` and ``asyncio.sleep``'s (behind ``anyio.sleep``), if this
#: Python's asyncio still names it so.
_SLEEP_ENDS = frozenset({_wake, getattr(asyncio.futures, "_set_result_unless_cancelled", _wake)})


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is a virtual clock that jumps between timers.

    ``chooser(n, what)``, if given, returns which of ``n`` ready callbacks
    (``what="ready"``) or timers due at one instant (``what="timer"``) goes next.

    One step of the loop is :meth:`_run_once`, asyncio's own step rewritten for a clock
    that never waits: timers live in a heap of ``(when, order, handle)`` tuples (ties
    broken by scheduling order, compared in C), and when nothing is ready the clock jumps
    to the next one (after a poll of the selector that never waits, if any file or signal
    handler is registered besides the loop's own wake-up pipe).
    """

    def __init__(self, chooser: Callable[[int, str], int] | None = None) -> None:
        super().__init__(selectors.DefaultSelector())
        self._virtual_now = 0.0
        self._timer_order = itertools.count()
        #: The pending timers: a heap of ``(when, order, handle)``. (asyncio's own
        #: ``_scheduled`` heap stays empty.)
        self._timers: list[tuple[float, int, asyncio.TimerHandle]] = []
        self._clock_resolution = 1e-9
        self.chooser = chooser
        #: The selector's registered files and the wake-up pipe (a live view).
        self._selector_map = self._selector.get_map()  # type: ignore[attr-defined]
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
        if self._closed:  # type: ignore[attr-defined]
            self._check_closed()  # type: ignore[attr-defined]  # raises
        timer = asyncio.TimerHandle(when, callback, args, self, context=context)
        if self._debug and timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]  # debug mode only
        heapq.heappush(self._timers, (when, next(self._timer_order), timer))
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def call_soon(self, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                  context: Any = None) -> asyncio.Handle:
        """asyncio's ``call_soon`` without its debug-mode checks unless debug mode is on:
        every task wake-up comes through here."""
        if self._debug or self._closed:  # type: ignore[attr-defined]
            return super().call_soon(callback, *args, context=context)  # checks, raises
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)  # type: ignore[attr-defined]
        return handle

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)`` for ``seconds > 0``, in fewer steps: the future and
        the timer made here, and a timer that has fired is not cancelled again."""
        future: asyncio.Future[None] = asyncio.Future(loop=self)
        # call_at's steps, here: a simulation is mostly sleeps, and the call costs a tenth
        # of one. (The loop runs this very task, so it is not closed.)
        when = self._virtual_now + seconds
        timer = asyncio.TimerHandle(when, _wake, (future,), self, None)
        heapq.heappush(self._timers, (when, next(self._timer_order), timer))
        timer._scheduled = True  # type: ignore[attr-defined]
        try:
            await future
        finally:
            if timer._scheduled:  # type: ignore[attr-defined]  # cancelled while it slept
                timer.cancel()

    def _run_once(self) -> None:
        """One step: drop cancelled timers, move the clock if nothing is ready, queue the
        timers now due, run every callback ready at the start of the step."""
        timers = self._timers
        ready: deque[asyncio.Handle] = self._ready  # type: ignore[attr-defined]
        cancelled = self._timer_cancelled_count  # type: ignore[has-type]
        if len(timers) > _COMPACT_AT and cancelled / len(timers) > _COMPACT_FRACTION:
            for _when, _order, handle in timers:
                if handle._cancelled:
                    handle._scheduled = False  # type: ignore[attr-defined]
            timers[:] = [t for t in timers if not t[2]._cancelled]
            heapq.heapify(timers)
            self._timer_cancelled_count = 0
        else:
            while timers and timers[0][2]._cancelled:
                self._timer_cancelled_count -= 1
                heapq.heappop(timers)[2]._scheduled = False  # type: ignore[attr-defined]
        if not ready and not self._stopping:  # type: ignore[attr-defined]
            # Nothing to run: first any I/O that is ready (the selector is polled, never
            # waited on), else the clock jumps to the next timer. With no file but the
            # loop's own wake-up pipe registered, and no signal handler reading it, the
            # poll is skipped: another thread's call_soon_threadsafe puts its callback in
            # the ready queue before it writes to that pipe, so the check above saw it.
            polled = len(self._selector_map) > 1 or getattr(self, "_signal_handlers", None)
            events = self._selector.select(0) if polled else None  # type: ignore[attr-defined]
            if events:
                self._process_events(events)  # type: ignore[attr-defined]
            else:
                self._advance_to_next_timer()
        if self.chooser is not None:
            self._choose_order()
        else:
            # The timers due now, after the callbacks already ready. When nothing else is
            # ready and each of them ends a sleep (``_SLEEP_ENDS``), the sleepers are woken
            # here rather than in a step of their own: running those timers would only
            # queue the sleepers' wake-ups for the next step, in the same order, with
            # nothing in between. Merging the two steps saves a step per sleep and changes
            # no order. (Not in the last step before the loop stops, which must leave the
            # wake-ups queued; nor with a chooser, which orders each step's callbacks.)
            end_time = self._virtual_now + self._clock_resolution
            only_sleeps = not ready and not self._stopping  # type: ignore[attr-defined]
            while timers and timers[0][0] < end_time:
                handle = heapq.heappop(timers)[2]
                handle._scheduled = False  # type: ignore[attr-defined]
                ready.append(handle)
                if handle._callback not in _SLEEP_ENDS:  # type: ignore[attr-defined]
                    only_sleeps = False
            if only_sleeps:
                # Each sets its sleep's future, no more (no context to enter, nothing to
                # raise): the wake-up it queues runs in this step.
                for _ in range(len(ready)):
                    timer = ready.popleft()
                    if not timer._cancelled:
                        timer._callback(*timer._args)  # type: ignore[attr-defined]
        # Only the callbacks ready now: those they schedule run in the next step.
        for _ in range(len(ready)):
            step = ready.popleft()
            if not step._cancelled:
                step._run()

    def _advance_to_next_timer(self) -> None:
        """Nothing is ready: jump the clock to the next finite timer, or stop at the
        deadline, or report that the program is idle."""
        timers = self._timers
        # _run_once has already removed cancelled timers from the head of the heap.
        when = timers[0][0] if timers else math.inf
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
        timers = self._timers
        end_time = self._virtual_now + self._clock_resolution
        due: list[asyncio.TimerHandle] = []
        while timers and timers[0][0] < end_time:
            handle = heapq.heappop(timers)[2]
            handle._scheduled = False  # type: ignore[attr-defined]
            if handle._cancelled:
                self._timer_cancelled_count -= 1
            else:
                due.append(handle)
        while len(due) > 1:
            ready.append(due.pop(choose(len(due), "timer")))
        ready.extend(due)
