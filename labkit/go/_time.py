"""Go timers: ``after``, ``Timer`` and ``Ticker`` on the run's clock (G45-G47).

labkit models **Go 1.23 and later** (G47): timer and ticker channels report ``cap == 0``
and ``len == 0``; a tick nobody has received yet waits inside the timer, and ``stop()`` /
``reset()`` discard it, so no stale value is received after they return. A ticker never
queues more than one tick: it drops ticks for slow receivers (G46), and ``stop()`` does not
close its channel.

``asynctimerchan=True`` gives the Go 1.19-1.22 behaviour instead (``GODEBUG=asynctimerchan=1``):
a buffered channel with ``cap == 1`` whose pending tick survives ``stop()``.

The value delivered is the run clock's time (``labkit.now()``) when the timer fired.
Timers run as background tasks of the run, not goroutines: they are not in ``run.leaked``
and do not count as blocked goroutines; a pending timer keeps ``simulate`` from declaring a
deadlock, as in Go. Stop tickers you no longer need.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import anyio

from labkit._check import check_bool, check_seconds
from labkit._runtime.core import Runtime, current
from labkit._runtime.core import sleep_for as _sleep
from labkit._runtime.rows import EventKind
from labkit.channel import OK
from labkit.errors import NotInRunError
from labkit.go.chan import Chan

__all__ = ("Ticker", "Timer", "TimerChan", "after", "call_later", "check_duration")


class TimerChan(Chan[float]):
    """A Go 1.23 timer channel: it holds at most one tick but reports ``cap``/``len`` 0 (G47)."""

    __slots__ = ()

    @classmethod
    def _prefix(cls) -> str:
        return "timer"

    @property
    def cap(self) -> int:
        return 0

    def __len__(self) -> int:
        return 0


def check_duration(name: str, seconds: object) -> float:
    """A Go ``time.Duration`` in seconds: any number but NaN. Zero or negative means "now"
    (a timer fires at once, a deadline has passed); ``inf`` means never."""
    return check_seconds(name, seconds, allow_negative=True)


def call_later(rt: Runtime, delay: float, fn: Callable[[], Any]) -> anyio.CancelScope:
    """Call ``fn()`` after ``delay`` run-clock seconds from a background task of the run.

    Cancel the returned scope to stop it. Used by timers and context deadlines.
    """
    if rt.tg is None:
        raise NotInRunError("the run has not started or has already finished")
    scope = anyio.CancelScope()

    async def timer() -> None:
        with scope:
            await _sleep(max(0.0, delay))
            fn()

    rt.tg.start_soon(timer)
    return scope


def _deliver(rt: Runtime, chan: Chan[float], who: str, now: float) -> None:
    """Put a tick in without waiting; drop it when the previous one is still unread (G46)."""
    ch = chan.channel
    assert ch is not None
    msg_id = rt.next_msg_id()
    status = ch.put(now, msg_id)
    if rt.trace_on:
        kind, detail = ((EventKind.SEND, None) if status is OK
                        else (EventKind.DROP, "tick dropped: slow receiver"))
        rt.record(kind, actor=who, peer=ch.name_in(rt), msg_id=msg_id, msg_type="float",
                  depth=len(ch.buffer), model="go", detail=detail)


class _Clockwork:
    """What a Timer and a Ticker share: the run, the channel ``.c`` their ticks arrive on
    (Go 1.23's :class:`TimerChan`, or a buffered channel with ``asynctimerchan``) and the
    cancel scope of the background task that delivers them."""

    def __init__(self, prefix: str, asynctimerchan: object) -> None:
        self._rt = current()
        self._async = check_bool("asynctimerchan", asynctimerchan)
        self._chan: Chan[float] = Chan(1) if self._async else TimerChan(1)
        self.c: Chan[float] = self._chan.recv_only()
        self._name = self._rt.new_name(prefix)
        self._scope: anyio.CancelScope | None = None

    def _halt(self) -> bool:
        """Cancel the pending delivery and, with Go 1.23 timers, discard an unread tick
        (G47). True if either was there."""
        active = self._scope is not None
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None
        if not self._async:
            ch = self._chan.channel
            assert ch is not None
            active = bool(ch.drain()) or active
        return active


class Timer(_Clockwork):
    """``time.NewTimer(d)``: one value on ``.c`` after ``seconds`` (G45).

    ``stop()`` returns True if it stopped a tick from being delivered; ``reset(seconds)``
    re-arms the timer. Both discard an unread tick (Go 1.23, G47) unless
    ``asynctimerchan=True``.
    """

    def __init__(self, seconds: float, *, asynctimerchan: bool = False) -> None:
        delay = check_duration("seconds", seconds)
        super().__init__("timer", asynctimerchan)
        self._arm(delay)

    def _arm(self, delay: float) -> None:
        def fire() -> None:
            self._scope = None
            _deliver(self._rt, self._chan, self._name, self._rt.now())

        self._scope = call_later(self._rt, delay, fire)

    def stop(self) -> bool:
        """Stop the timer. True if a tick was prevented (or, Go 1.23, discarded unread)."""
        return self._halt()

    def reset(self, seconds: float) -> bool:
        """Re-arm to fire ``seconds`` from now; returns what ``stop()`` would have."""
        delay = check_duration("seconds", seconds)
        was_active = self.stop()
        self._arm(delay)
        return was_active


def after(seconds: float, *, asynctimerchan: bool = False) -> Chan[float]:
    """``time.After(d)``: a channel that receives the time once, after ``seconds`` (G45)."""
    return Timer(seconds, asynctimerchan=asynctimerchan).c


class Ticker(_Clockwork):
    """``time.NewTicker(d)``: a tick on ``.c`` every ``seconds``; slow receivers lose ticks,
    ticks never queue up (G46). ``stop()`` does not close ``.c``."""

    def __init__(self, seconds: float, *, asynctimerchan: bool = False) -> None:
        period = self._check(seconds)
        super().__init__("ticker", asynctimerchan)
        self._start(period)

    @staticmethod
    def _check(seconds: float) -> float:
        # Go panics on a period <= 0 ("non-positive interval for NewTicker"); inf never ticks.
        return check_seconds("seconds", seconds, above_zero=True)

    def _start(self, period: float) -> None:
        rt = self._rt
        if rt.tg is None:
            raise NotInRunError("the run has not started or has already finished")
        scope = self._scope = anyio.CancelScope()
        start = rt.now()

        async def ticking() -> None:
            with scope:
                k = 1
                while True:
                    await _sleep(max(0.0, start + k * period - rt.now()))
                    now = rt.now()
                    _deliver(rt, self._chan, self._name, now)
                    # Behind schedule (a slow real-time loop)? Skip the missed ticks (G46).
                    k = max(k + 1, math.floor((now - start) / period) + 1)

        rt.tg.start_soon(ticking)

    def stop(self) -> None:
        """Stop ticking. The channel stays open; with Go 1.23 timers an unread tick is
        discarded (G47)."""
        self._halt()

    def reset(self, seconds: float) -> None:
        """Stop, then tick every ``seconds`` from now."""
        period = self._check(seconds)
        self.stop()
        self._start(period)
