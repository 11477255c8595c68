"""Backpressure: demand-driven credits, a token bucket, watermarks, load shedding, Little's law.

A bounded queue (:class:`labkit.channel.Channel`, a mailbox policy) is the simplest
backpressure: a full queue makes the producer wait or lose messages. This module adds the
other tools a design reaches for under overload:

* :class:`Credits`: the consumer grants credits, the producer spends one per message and
  never runs ahead of demand (Reactive Streams ``request(n)``).
* :class:`TokenBucket`: at most ``rate`` admissions per second on average, ``burst`` at once.
* :class:`Watermarks`: pause at a high queue depth, resume only at a low one (hysteresis).
* :class:`LoadShedder`: refuse work early, and say why, in the dead letters or the trace.
* :func:`littles_law`: check ``L = lambda * W`` on a recorded trace.

Every wait is on the run's clock, so under :func:`labkit.simulate` it is exact and repeatable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from labkit._runtime.core import Parker, Runtime, current, current_task, sleep
from labkit._runtime.rows import EventKind
from labkit.trace import RECEIVE_KINDS, SEND_KINDS, Trace

if TYPE_CHECKING:
    import pandas as pd

    from labkit.actor import ActorSystem

__all__ = (
    "Credits",
    "CreditsStatistics",
    "LittlesLaw",
    "LoadShedder",
    "TokenBucket",
    "Watermarks",
    "littles_law",
)

#: Slack for comparisons on the float clock: a wait computed as ``0.2`` s may end a few ulps
#: early, and a token due "now" must still count as available.
_EPS: Final = 1e-9


def _check_count(n: object, what: str, *, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be an int, got {type(n).__name__} {n!r}")
    if n < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {n}")
    return n


def _check_number(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise TypeError(f"{what} must be a number, got {type(x).__name__} {x!r}")
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x!r}")
    return float(x)


# -- credits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditsStatistics:
    """A snapshot of a :class:`Credits`: totals, credits unspent, and messages in flight."""

    name: str
    granted: int
    used: int
    outstanding: int
    in_flight: int
    max_in_flight: int
    waiting: int


class Credits:
    """Demand-driven flow control: the consumer grants, the producer spends (``request(n)``).

    The producer calls ``await credits.acquire()`` before each send and waits while no credit
    is left; the consumer calls ``credits.grant(n)`` when it can take ``n`` more, and
    ``credits.done()`` when it has finished with a message (that ends its time "in flight").
    The producer can never have more messages in flight than were granted::

        credits = Credits(4)           # the consumer's window: 4 messages
        await credits.acquire()        # producer: wait for demand
        await queue.send(item)
        ...
        credits.done(); credits.grant(1)   # consumer: one handled, ask for one more
    """

    def __init__(self, initial: int = 0, *, name: str | None = None) -> None:
        _check_count(initial, "initial credits", minimum=0)
        self._name = name
        self.available = initial
        self.granted = initial
        self.used = 0
        self.completed = 0
        self.max_in_flight = 0
        self._waiters: list[tuple[Parker, int]] = []

    def name_in(self, rt: Runtime) -> str:
        """The name in traces and deadlock reports (given, or ``credits-N`` per run)."""
        if self._name is None:
            self._name = rt.new_name("credits")
        return self._name

    @property
    def outstanding(self) -> int:
        """Credits granted and not spent yet (the demand still open)."""
        return self.available

    @property
    def in_flight(self) -> int:
        """Messages acquired and not yet marked :meth:`done` by the consumer."""
        return self.used - self.completed

    def grant(self, n: int = 1) -> None:
        """Add ``n`` credits (``request(n)``) and wake waiting producers in FIFO order."""
        _check_count(n, "credits granted", minimum=0)
        self.granted += n
        self.available += n
        self._wake()

    request = grant

    def try_acquire(self, n: int = 1) -> bool:
        """Spend ``n`` credits now if they are there (and nobody waits first)."""
        _check_count(n, "credits acquired", minimum=1)
        self._purge()
        if self._waiters or self.available < n:
            return False
        self._spend(n)
        return True

    async def acquire(self, n: int = 1) -> None:
        """Spend ``n`` credits, waiting until the consumer has granted them (FIFO)."""
        if self.try_acquire(n):
            return
        rt = current()
        name = self.name_in(rt)
        parker = rt.parker()
        self._waiters.append((parker, n))
        rt.record(EventKind.BLOCK, actor=current_task().name, peer=name,
                  detail=f"no credit (need {n})")
        try:
            await rt.park(parker, ("acquire a credit from", self))
        except BaseException:
            if parker.woken:  # credits were handed over as the wait was cancelled
                self.used -= n
                self.available += n
                self._wake()
            else:
                # Whoever waited behind it may be served now (FIFO head-of-line gone).
                self._waiters = [w for w in self._waiters if w[0] is not parker]
                self._wake()
            raise
        rt.record(EventKind.UNBLOCK, actor=current_task().name, peer=name)

    def done(self, n: int = 1) -> None:
        """The consumer has finished ``n`` messages: they are no longer in flight."""
        _check_count(n, "messages done", minimum=1)
        if n > self.in_flight:
            raise ValueError(f"done({n}) but only {self.in_flight} message(s) are in flight")
        self.completed += n

    def statistics(self) -> CreditsStatistics:
        """Totals so far: granted, used, outstanding, in flight and its peak, waiters."""
        self._purge()
        return CreditsStatistics(
            name=self._name or "<unnamed credits>", granted=self.granted, used=self.used,
            outstanding=self.available, in_flight=self.in_flight,
            max_in_flight=self.max_in_flight,
            waiting=sum(1 for p, _ in self._waiters if p.pending))

    def _spend(self, n: int) -> None:
        self.available -= n
        self.used += n
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _purge(self) -> None:
        while self._waiters and not self._waiters[0][0].pending:
            self._waiters.pop(0)

    def _wake(self) -> None:
        self._purge()
        while self._waiters and self.available >= self._waiters[0][1]:
            parker, n = self._waiters.pop(0)
            if parker.wake(n):
                self._spend(n)
            self._purge()


# -- token bucket -----------------------------------------------------------------------------


class TokenBucket:
    """A rate limiter: ``rate`` tokens per second refill a bucket that holds ``burst``.

    ``await bucket.take()`` waits on the run's clock until a token is there; ``try_take()``
    never waits. The bucket starts full. Kept as a "theoretical arrival time" (GCRA): the
    time at which the bucket would be full again, so no timer ticks and the arithmetic is
    exact up to float rounding. Waiters are served in call order: a ``take`` books its
    tokens when called, then sleeps until they exist.
    """

    def __init__(self, rate: float, burst: int = 1, *, name: str | None = None) -> None:
        rate = _check_number(rate, "rate")
        if rate <= 0:
            raise ValueError(f"rate must be > 0 tokens per second, got {rate}")
        _check_count(burst, "burst", minimum=1)
        self.rate = rate
        self.burst = burst
        self.name = name or "token-bucket"
        self.admitted = 0
        self.refused = 0
        self._interval = 1.0 / rate
        self._full_at = -math.inf  # when the bucket is (or was) full again

    def tokens(self) -> float:
        """Tokens in the bucket now (negative when waiters have booked future tokens)."""
        now = current().now()
        return self.burst - max(0.0, self._full_at - now) * self.rate

    def _check(self, n: int) -> None:
        _check_count(n, "tokens", minimum=1)
        if n > self.burst:
            raise ValueError(f"cannot take {n} tokens from a bucket of burst {self.burst}: "
                             "it never holds that many")

    def try_take(self, n: int = 1) -> bool:
        """Take ``n`` tokens if they are in the bucket now; never waits."""
        self._check(n)
        now = current().now()
        full_at = max(self._full_at, now) + n * self._interval
        if full_at - self.burst * self._interval > now + _EPS:
            self.refused += 1
            return False
        self._full_at = full_at
        self.admitted += 1
        return True

    async def take(self, n: int = 1) -> None:
        """Take ``n`` tokens, waiting on the run's clock until they have refilled."""
        self._check(n)
        rt = current()
        now = rt.now()
        full_at = max(self._full_at, now) + n * self._interval
        self._full_at = full_at
        wait = full_at - self.burst * self._interval - now
        if wait > _EPS:
            rt.record(EventKind.BLOCK, actor=current_task().name, peer=self.name,
                      detail=f"rate limit {wait:.6g}s")
            try:
                await sleep(wait)
            except BaseException:
                if self._full_at == full_at:  # booked last: give the tokens back
                    self._full_at -= n * self._interval
                raise
            rt.record(EventKind.UNBLOCK, actor=current_task().name, peer=self.name)
        self.admitted += 1


# -- watermarks -------------------------------------------------------------------------------

FlowState = Literal["paused", "resumed"]


class Watermarks:
    """High/low watermarks with hysteresis: pause at ``depth >= high``, resume at ``<= low``.

    Between the two marks the state does not change, so a depth that hovers around one mark
    does not make the producer flap between paused and resumed. Each change is a ``pause``
    or ``resume`` row in the trace (``peer`` = the watermarks' name, ``depth`` = the depth).
    """

    def __init__(self, high: int, low: int, *, name: str = "watermarks") -> None:
        _check_count(high, "high watermark", minimum=1)
        _check_count(low, "low watermark", minimum=0)
        if low >= high:
            raise ValueError(f"low watermark ({low}) must be below the high one ({high}), "
                             "or the state would flap on every update")
        self.high = high
        self.low = low
        self.name = name
        self.state: FlowState = "resumed"
        self.transitions = 0
        self._waiters: list[Parker] = []

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    def update(self, depth: int) -> FlowState:
        """Feed the current queue depth; returns the state after it."""
        if self.state == "resumed" and depth >= self.high:
            self._switch("paused", EventKind.PAUSE, depth)
        elif self.state == "paused" and depth <= self.low:
            self._switch("resumed", EventKind.RESUME, depth)
            waiters, self._waiters = self._waiters, []
            for parker in waiters:
                parker.wake(None)
        return self.state

    async def wait_resumed(self) -> None:
        """Wait until the state is ``resumed`` (returns at once if it is)."""
        while self.state == "paused":
            rt = current()
            parker = rt.parker()
            self._waiters.append(parker)
            try:
                await rt.park(parker, f"wait for {self.name} to resume")
            except BaseException:
                if parker in self._waiters:
                    self._waiters.remove(parker)
                raise

    def _switch(self, state: FlowState, kind: EventKind, depth: int) -> None:
        self.state = state
        self.transitions += 1
        rt = current()
        rt.record(kind, actor=current_task().name, peer=self.name, depth=depth,
                  detail=f"high={self.high} low={self.low}")


# -- load shedding ----------------------------------------------------------------------------


class LoadShedder:
    """Refuse work before it queues: when ``depth >= threshold``, or at random with
    ``probability`` (from the run's seeded RNG), or both.

    Every shed message is recorded with its reason: as a dead letter of ``system`` when one
    is given (``system.dead_letters`` and a ``dead_letter`` trace row), else as a ``drop``
    row with ``detail`` = the reason, so :func:`labkit.trace.drops` lists it either way.
    """

    def __init__(self, threshold: int | None = None, probability: float = 0.0, *,
                 system: ActorSystem | None = None, name: str = "shedder") -> None:
        if threshold is not None:
            _check_count(threshold, "threshold", minimum=1)
        probability = _check_number(probability, "probability")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {probability}")
        if threshold is None and probability == 0.0:
            raise ValueError("a LoadShedder needs a threshold, a probability > 0, or both")
        self.threshold = threshold
        self.probability = probability
        self.system = system
        self.name = name
        self.admitted = 0
        self.shed = 0

    def reason(self, depth: int) -> str | None:
        """Why a message at queue ``depth`` would be shed now, or ``None`` to admit it.

        Draws from the run's RNG when a probability is set, so call it once per message.
        """
        if self.threshold is not None and depth >= self.threshold:
            return f"shed: depth {depth} >= threshold {self.threshold}"
        if self.probability > 0.0 and current().rng.random() < self.probability:
            return f"shed: random (p={self.probability:g})"
        return None

    def admit(self, message: Any, depth: int, *, recipient: str | None = None,
              msg_id: int | None = None) -> bool:
        """``True`` to let ``message`` in; ``False`` when it was shed (and recorded)."""
        why = self.reason(depth)
        if why is None:
            self.admitted += 1
            return True
        self.shed += 1
        target = recipient or self.name
        if self.system is not None:
            self.system.dead_letter(message, target, why, sender=current_task().name,
                                    msg_id=msg_id)
        else:
            current().record(EventKind.DROP, actor=current_task().name, peer=target, msg_id=msg_id,
                    msg_type=type(message).__name__, depth=depth, detail=why)
        return False


# -- Little's law -----------------------------------------------------------------------------


class LittlesLaw(NamedTuple):
    """``L`` (mean depth), ``lam`` (departures per second), ``W`` (mean seconds in the queue)
    and how far ``L`` is from ``lam * W``, relative to the larger of the two."""

    L: float
    lam: float
    W: float
    relative_error: float


#: Actor-layer rows recorded by the mailbox's owner: the queue is ``actor``, not ``peer``
#: (``peer`` is the sender there).
_OWNER_SIDE_KINDS = ("receive", "handle_end", "dead_letter", "reply", "fail", "restart")


def _queue_column(df: pd.DataFrame) -> pd.Series:
    """The queue (channel or mailbox) each row is about."""
    owner_side = (df["model"] == "actor") & df["kind"].isin(_OWNER_SIDE_KINDS)
    return df["peer"].where(~owner_side, df["actor"])


def littles_law(trace: Trace | pd.DataFrame, peer: str | None = None) -> LittlesLaw:
    """Check Little's law ``L = lambda * W`` on a recorded run.

    The system is the queue itself (``peer``, or every channel or mailbox that saw a send),
    over the window from the first message entering it to the last one leaving it:

    * a message **enters** at its ``send``/``tell`` row, or, when its sender blocked on a
      full queue, at its ``unblock`` row (until then it waited in the sender's hand);
    * it **leaves** at its ``receive`` row, or at the ``dead_letter`` row that evicted it
      (``drop_head``/``drop_tail``); a message refused at the door never entered;
    * ``L`` is the time-average of the recorded depth, ``lam`` the departures per second and
      ``W`` the mean time from entering to leaving.

    On a run that starts and ends with empty queues the two sides agree up to float rounding
    (the sample-path form of the law), whatever the overflow policy; messages still queued
    at the end show up as error.
    """
    import numpy as np

    df = trace.df if isinstance(trace, Trace) else trace
    df = df.assign(queue=_queue_column(df))
    if peer is not None:
        df = df[df["queue"] == peer]
    where = f" on {peer!r}" if peer is not None else ""
    rows = df[df["msg_id"].notna()]
    key = ["queue", "msg_id"]
    sent = rows[rows["kind"].isin(SEND_KINDS)].groupby(key, sort=True)["time"].min()
    blocked = rows[rows["kind"] == "block"].groupby(key, sort=True)["time"].min()
    admitted = rows[rows["kind"] == "unblock"].groupby(key, sort=True)["time"].min()
    entered = sent.drop(blocked.index.difference(admitted.index), errors="ignore")
    late = admitted.index.intersection(entered.index)
    entered.loc[late] = admitted.loc[late]
    received = rows[rows["kind"].isin(RECEIVE_KINDS)].groupby(key, sort=True)["time"].min()
    evicted = rows[rows["kind"] == "dead_letter"].groupby(key, sort=True)["time"].min()
    left = received.combine_first(evicted)
    both = entered.index.intersection(left.index)
    if received.index.intersection(entered.index).empty:
        raise ValueError(f"no message was both sent and received in this trace{where}: "
                         "Little's law needs traffic")
    t_in = entered.loc[both].to_numpy(dtype=float)
    t_out = left.loc[both].to_numpy(dtype=float)
    start = float(entered.min())
    end = float(t_out.max())
    span = end - start
    if span <= 0:
        raise ValueError("every message entered and left at the same instant: "
                         "run longer to measure rates")
    lam = len(both) / span
    wait = float((t_out - t_in).mean())
    queues = set(entered.index.get_level_values("queue"))
    depths = df[df["depth"].notna() & df["queue"].isin(queues)]
    area = 0.0
    for _name, q in depths.groupby("queue", sort=True):
        times = q["time"].to_numpy(dtype=float)
        values = q["depth"].to_numpy(dtype=float)
        ends = np.append(times[1:], end)
        lo = np.maximum(times, start)
        hi = np.minimum(ends, end)
        area += float((values * np.clip(hi - lo, 0.0, None)).sum())
    mean_depth = area / span
    predicted = lam * wait
    scale = max(mean_depth, predicted)
    error = 0.0 if scale == 0 else abs(mean_depth - predicted) / scale
    return LittlesLaw(mean_depth, lam, wait, error)
