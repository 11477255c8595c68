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
import contextvars
import heapq
import itertools
import math
import selectors
from asyncio import format_helpers
from collections import deque
from collections.abc import Callable
from typing import Any

from labkit.errors import LabkitError

__all__ = ("LoopStalled", "VirtualEventLoop", "interrupt_running")


class LoopStalled(LabkitError):
    """The virtual loop has nothing to run, no timer to wait for, and ``on_idle`` scheduled
    nothing (a task blocked inside a shielded cancel scope cannot be cancelled)."""


#: asyncio's own thresholds for compacting the timer heap: once more than this many timers
#: are pending and more than this fraction of them are cancelled, drop them all at once.
_COMPACT_AT = 100
_COMPACT_FRACTION = 0.5


def _wake(future: asyncio.Future[None]) -> None:
    """End a sleep, unless it was cancelled first."""
    if not future.done():
        future.set_result(None)


#: The callbacks of timers that end a sleep and do nothing else: ``asyncio.sleep``'s
#: (behind ``anyio.sleep``), if this Python's asyncio still names it so.
_SLEEP_ENDS = frozenset({_wake, getattr(asyncio.futures, "_set_result_unless_cancelled", _wake)})

_Future = asyncio.Future

#: What the timer heap holds after ``(when, order)``: a timer's handle, or the future of
#: one of labkit's own sleeps (:meth:`VirtualEventLoop.sleep`), which its timer completes.
_Timer = asyncio.TimerHandle | asyncio.Future[None]


def _gone(timer: _Timer) -> bool:
    """A timer that will never fire: a cancelled handle, or a sleep ended early."""
    if timer.__class__ is _Future:
        return timer.done()
    return timer._cancelled  # type: ignore[union-attr]


class _Ready(asyncio.Handle):
    """``asyncio.Handle``, made by :func:`_ready` without its debug-mode lookups."""

    __slots__ = ()


_new = object.__new__


def _ready(callback: Callable[..., object], args: tuple[Any, ...],
           loop: asyncio.AbstractEventLoop, context: Any) -> asyncio.Handle:
    """What ``asyncio.Handle(callback, args, loop, context)`` makes outside debug mode,
    where there is no source traceback to take: every task wake-up comes through here,
    and a plain function filling the slots costs a third less than the class's call."""
    handle: Any = _new(_Ready)
    handle._callback = callback
    handle._args = args
    handle._cancelled = False
    handle._loop = loop
    handle._source_traceback = None
    handle._repr = None
    handle._context = contextvars.copy_context() if context is None else context
    return handle  # type: ignore[no-any-return]


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is a virtual clock that jumps between timers.

    ``chooser(n, what)``, if given, returns which of ``n`` ready callbacks
    (``what="ready"``) or timers due at one instant (``what="timer"``) goes next.

    Its steps are :meth:`_run_once`, asyncio's own step rewritten for a clock that never
    waits: timers live in a heap of ``(when, order, handle)`` tuples (ties broken by
    scheduling order, compared in C; a sleep's entry holds its future instead of a
    handle), and when nothing is ready the clock jumps to the next one (after a poll of
    the selector that never waits, if any file or signal handler is registered besides
    the loop's own wake-up pipe).
    """

    def __init__(self, chooser: Callable[[int, str], int] | None = None) -> None:
        super().__init__(selectors.DefaultSelector())
        self._virtual_now = 0.0
        self._timer_order = itertools.count()
        #: The pending timers: a heap of ``(when, order, handle)``, or ``(when, order,
        #: future)`` for a sleep. (asyncio's own ``_scheduled`` heap stays empty.)
        self._timers: list[tuple[float, int, _Timer]] = []
        self._clock_resolution = 1e-9
        self.chooser = chooser
        #: The selector's registered files and the wake-up pipe: its own dict where it has
        #: one (every selector of the standard library), whose len() is no Python call.
        selector = self._selector  # type: ignore[attr-defined]
        self._selector_map = getattr(selector, "_fd_to_key", None) or selector.get_map()
        #: The signal handlers set on the loop (Unix only; asyncio fills this dict in place).
        self._signals: dict[int, Any] = getattr(self, "_signal_handlers", {})
        #: Called when no callback is ready and no finite timer is pending. It may schedule
        #: work (for example cancel the program); if it schedules none, the loop raises
        #: :class:`LoopStalled`.
        self.on_idle: Callable[[], None] | None = None
        #: The clock stops here: when the next timer is due at or after ``deadline``, the
        #: clock moves to ``deadline`` and ``on_deadline`` is called once (``until``).
        self.deadline = math.inf
        self.on_deadline: Callable[[], None] | None = None
        #: Set by :meth:`interrupt`: raise ``KeyboardInterrupt`` after the step under way.
        self._interrupted = False

    def __del__(self) -> None:
        """asyncio's, for a loop built in full. A loop whose ``__init__`` an interrupt
        stopped half way only closes its wake-up pipe (asyncio's would fail on what is
        missing, and say so on stderr)."""
        if hasattr(self, "_signal_handlers") and hasattr(self, "_closed"):
            super().__del__()
        elif hasattr(self, "_ssock"):
            self._ssock.close()
            self._csock.close()  # type: ignore[attr-defined]

    def time(self) -> float:
        return self._virtual_now

    def interrupt(self) -> None:
        """Raise ``KeyboardInterrupt`` out of the loop once the step under way is done:
        what a signal handler calls, since an exception raised in the middle of the loop's
        own code (a wake-up half scheduled) could leave a task that can never be woken or
        cancelled, and the run's clean-up waiting for it for ever. Safe from a signal
        handler: it only sets a flag."""
        self._interrupted = True

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
        handle = _ready(callback, args, self, context)
        self._ready.append(handle)  # type: ignore[attr-defined]
        return handle

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)`` for ``seconds > 0``, in fewer steps: the timer is the
        sleep's future itself, in the heap (no handle, no callback), which the loop
        completes when it falls due."""
        future: asyncio.Future[None] = _Future(loop=self)
        heapq.heappush(self._timers, (self._virtual_now + seconds, next(self._timer_order),
                                      future))
        try:
            await future
        except BaseException:
            if future.cancelled():  # it stays in the heap, gone, as a cancelled handle does
                self._timer_cancelled_count += 1
            raise

    def _run_once(self) -> None:
        """Steps until the loop is told to stop. One step: drop cancelled timers, move the
        clock if nothing is ready, queue the timers now due, run every callback ready at
        the start of the step.

        (asyncio's ``run_forever`` calls this once per step and checks ``_stopping`` in
        between; here the steps loop in this frame, with the same check, so a simulation
        of many short steps does not pay a call and this setup for each.)"""
        timers = self._timers
        ready: deque[asyncio.Handle] = self._ready  # type: ignore[attr-defined]
        while True:
            cancelled = self._timer_cancelled_count  # type: ignore[has-type]
            if len(timers) > _COMPACT_AT and cancelled / len(timers) > _COMPACT_FRACTION:
                for _when, _order, timer in timers:
                    if timer.__class__ is not _Future and _gone(timer):
                        timer._scheduled = False  # type: ignore[union-attr]
                timers[:] = [t for t in timers if not _gone(t[2])]
                heapq.heapify(timers)
                self._timer_cancelled_count = 0
            else:
                while timers:
                    timer = timers[0][2]
                    if timer.__class__ is _Future:  # _gone(timer), inline: once per step
                        if not timer.done():
                            break
                    elif timer._cancelled:  # type: ignore[union-attr]
                        timer._scheduled = False  # type: ignore[union-attr]
                    else:
                        break
                    self._timer_cancelled_count -= 1
                    heapq.heappop(timers)
            if not ready and not self._stopping:  # type: ignore[attr-defined]
                # Nothing to run: first any I/O that is ready (the selector is polled, never
                # waited on), else the clock jumps to the next timer. With no file but the
                # loop's own wake-up pipe registered, and no signal handler reading it, the
                # poll is skipped: another thread's call_soon_threadsafe puts its callback in
                # the ready queue before it writes to that pipe, so the check above saw it.
                polled = len(self._selector_map) > 1 or self._signals
                selector = self._selector  # type: ignore[attr-defined]
                events = selector.select(0) if polled else None
                if events:
                    self._process_events(events)  # type: ignore[attr-defined]
                elif timers and timers[0][0] < self.deadline:
                    # _advance_to_next_timer's commonest case, here: a finite timer before
                    # the deadline, at a time well above the clock's resolution.
                    when = timers[0][0]
                    if when + self._clock_resolution <= when:
                        self._advance_to_next_timer()
                    elif when > self._virtual_now:
                        self._virtual_now = when
                else:
                    self._advance_to_next_timer()
            if self.chooser is not None:
                self._choose_order()
            else:
                # The timers due now, after the callbacks already ready. When nothing else is
                # ready and each of them ends a sleep (a sleep's future, or ``_SLEEP_ENDS``),
                # the sleepers are woken here rather than in a step of their own: running
                # those timers would only queue the sleepers' wake-ups for the next step, in
                # the same order, with nothing in between. Merging the two steps saves a step
                # per sleep and changes no order. (Not in the last step before the loop stops,
                # which must leave the wake-ups queued; nor with a chooser, which orders each
                # step's callbacks.)
                end_time = self._virtual_now + self._clock_resolution
                if timers and timers[0][0] < end_time:
                    only_sleeps = not ready and not self._stopping  # type: ignore[attr-defined]
                    timer = heapq.heappop(timers)[2]
                    if (only_sleeps and timer.__class__ is _Future
                            and not (timers and timers[0][0] < end_time)):
                        # The commonest step of all, in short: one sleep ends, alone.
                        if not timer.done():
                            timer.set_result(None)
                    else:
                        due = [timer]
                        while timers and timers[0][0] < end_time:
                            due.append(heapq.heappop(timers)[2])
                        for timer in due:
                            if timer.__class__ is not _Future:
                                timer._scheduled = False  # type: ignore[union-attr]
                                if timer._callback not in _SLEEP_ENDS:  # type: ignore[union-attr]
                                    only_sleeps = False
                        if only_sleeps:
                            # Each sets its sleep's future, no more (no context to enter,
                            # nothing to raise): the wake-up it queues runs in this step.
                            for timer in due:
                                if timer.__class__ is _Future:
                                    if not timer.done():
                                        timer.set_result(None)
                                elif not timer._cancelled:  # type: ignore[union-attr]
                                    timer._callback(*timer._args)  # type: ignore[union-attr]
                        else:
                            for timer in due:
                                ready.append(self._handle_of(timer))
            # Only the callbacks ready now: those they schedule run in the next step. Each is
            # ``step._run()``, whose try is here: one frame fewer for every step of a task.
            for _ in range(len(ready)):
                step = ready.popleft()
                if step._cancelled:
                    continue
                try:
                    step._context.run(step._callback, *step._args)  # type: ignore[attr-defined]
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:  # noqa: BLE001 - reported as Handle._run does
                    self._callback_failed(step, exc)
            if self._stopping:  # type: ignore[attr-defined]
                return
            if self._interrupted:  # between steps, where nothing is half done
                self._interrupted = False
                raise KeyboardInterrupt("the simulation was interrupted")

    def _callback_failed(self, handle: asyncio.Handle, exc: BaseException) -> None:
        """Report a callback's exception to the loop's handler (``Handle._run``'s words)."""
        callback = format_helpers._format_callback_source(
            handle._callback, handle._args)  # type: ignore[attr-defined]
        context: dict[str, Any] = {"message": f"Exception in callback {callback}",
                                   "exception": exc, "handle": handle}
        if handle._source_traceback:  # type: ignore[attr-defined]
            context["source_traceback"] = handle._source_traceback  # type: ignore[attr-defined]
        self.call_exception_handler(context)

    def _handle_of(self, timer: _Timer) -> asyncio.Handle:
        """A due timer as a callback for the ready queue (a sleep's: one that ends it)."""
        if timer.__class__ is _Future:
            return _ready(_wake, (timer,), self, None)
        return timer  # type: ignore[return-value]

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
        due: list[asyncio.Handle] = []
        while timers and timers[0][0] < end_time:
            timer = heapq.heappop(timers)[2]
            if _gone(timer):
                self._timer_cancelled_count -= 1
            else:
                due.append(self._handle_of(timer))
            if timer.__class__ is not _Future:
                timer._scheduled = False  # type: ignore[union-attr]
        while len(due) > 1:
            ready.append(due.pop(choose(len(due), "timer")))
        ready.extend(due)


def interrupt_running(*, again_at_once: bool = True) -> None:
    """Interrupt what this thread runs, as a signal handler should: a simulation's
    virtual loop after its step under way (:meth:`VirtualEventLoop.interrupt`), anything
    else at once (``KeyboardInterrupt`` raised here). With ``again_at_once``, the loop
    too when an interrupt already waits for its step (a step that never ends: a second
    Ctrl-C); without, a repeated interrupt only waits for the step too."""
    loop = asyncio._get_running_loop()
    if isinstance(loop, VirtualEventLoop) and not (again_at_once and loop._interrupted):
        loop.interrupt()
    else:
        raise KeyboardInterrupt("interrupted")
