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

from labkit._check import check_int, check_number, check_str, describe
from labkit._runtime.core import Runtime, current, current_or_none, current_task, sleep_for
from labkit._runtime.parking import ParkingLot
from labkit._runtime.rows import EventKind
from labkit.trace import (
    RECEIVE_KINDS,
    SEND_KINDS,
    Columns,
    Trace,
    _distinct,
    _factorize,
    _first_times,
    _message_keys,
)

if TYPE_CHECKING:
    import pandas as pd

    from labkit.actor import ActorSystem

__all__ = (
    "Credits",
    "CreditsStatistics",
    "FlowState",
    "LittlesLaw",
    "LoadShedder",
    "TokenBucket",
    "TokenBucketStatistics",
    "Watermarks",
    "WatermarksStatistics",
    "littles_law",
)

#: Slack for comparisons on the float clock: a wait computed as ``0.2`` s may end a few ulps
#: early, and a token due "now" must still count as available.
_EPS: Final = 1e-9

#: The largest ``burst`` a :class:`TokenBucket` takes: its arithmetic is in floats, exact
#: for whole numbers of tokens only up to about here.
_MAX_BURST: Final = 10**15


# -- credits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditsStatistics:
    """A snapshot of a :class:`Credits`: ``granted`` and ``used`` so far, ``outstanding``
    (granted, not yet spent), ``in_flight`` (spent, not yet ``done``) and its peak, and the
    producers waiting: ``tasks_waiting`` of them, asking for ``units_waiting`` credits."""

    name: str
    granted: int
    used: int
    outstanding: int
    in_flight: int
    peak_in_flight: int
    tasks_waiting: int
    units_waiting: int


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

    Waiting producers stand in a :class:`~labkit._runtime.parking.ParkingLot` and are
    served in order: a big request at the head is never overtaken by smaller ones.
    """

    def __init__(self, initial: int = 0, *, name: str | None = None) -> None:
        check_int("initial", initial, minimum=0)
        if name is not None:
            check_str("name", name)
        self._name = name
        self.available = initial
        self.granted = initial
        self.used = 0
        self.completed = 0
        self.peak_in_flight = 0
        self._waiters = ParkingLot()

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
        check_int("n", n, minimum=0)
        self.granted += n
        self.available += n
        self._serve()

    request = grant

    def try_acquire(self, n: int = 1) -> bool:
        """Spend ``n`` credits now if they are there (and nobody waits first)."""
        check_int("n", n, minimum=1)
        if self.available < n or self._waiters.first() is not None:
            return False
        self._spend(n)
        return True

    async def acquire(self, n: int = 1) -> None:
        """Spend ``n`` credits, waiting until the consumer has granted them (FIFO)."""
        if self.try_acquire(n):
            return
        rt = current()
        name = self.name_in(rt)
        rt.record(EventKind.BLOCK, actor=current_task().name, peer=name,
                  detail=f"no credit (need {n})")

        def refund(_granted: object) -> None:  # spent for us just as we were cancelled
            self.used -= n
            self.available += n
            self._serve()

        await self._waiters.park(("acquire a credit from", self), weight=n, refund=refund,
                                 reserve=self._serve)
        rt.record(EventKind.UNBLOCK, actor=current_task().name, peer=name)

    def done(self, n: int = 1) -> None:
        """The consumer has finished ``n`` messages: they are no longer in flight."""
        check_int("n", n, minimum=1)
        if n > self.in_flight:
            raise ValueError(f"done({n}) but only {self.in_flight} message(s) are in flight")
        self.completed += n

    def statistics(self) -> CreditsStatistics:
        """Totals so far: granted, used, outstanding, in flight and its peak, waiters."""
        rt = current_or_none()
        waiting = self._waiters.statistics()
        return CreditsStatistics(
            name=self.name_in(rt) if rt is not None else self._name or "<unnamed credits>",
            granted=self.granted, used=self.used, outstanding=self.available,
            in_flight=self.in_flight, peak_in_flight=self.peak_in_flight,
            tasks_waiting=waiting.tasks_waiting, units_waiting=waiting.units_waiting)

    def _spend(self, n: int) -> None:
        self.available -= n
        self.used += n
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _serve(self) -> None:
        """Spend the credits for the waiting producers that fit, in order."""
        if self._waiters:
            self._spend(self._waiters.grant(self.available))


# -- token bucket -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenBucketStatistics:
    """A snapshot of a :class:`TokenBucket`: ``tokens`` in it now (negative when waiters
    have booked future tokens), ``admitted`` and ``refused`` takes so far, and the
    ``tasks_waiting`` in ``take`` for their tokens to refill."""

    name: str
    rate: float
    burst: int
    tokens: float
    admitted: int
    refused: int
    tasks_waiting: int


class TokenBucket:
    """A rate limiter: ``rate`` tokens per second refill a bucket that holds ``burst``.

    ``await bucket.take()`` waits on the run's clock until a token is there; ``try_take()``
    never waits. The bucket starts full. Kept as a "theoretical arrival time" (GCRA): the
    time at which the bucket would be full again, so no timer ticks and the arithmetic is
    exact up to float rounding. Waiters are served in call order: a ``take`` books its
    tokens when called, then sleeps until they exist (so they wait on the clock, not in a
    queue; ``statistics()`` counts them).
    """

    def __init__(self, rate: float, burst: int = 1, *, name: str | None = None) -> None:
        rate = check_number("rate", rate, minimum=0, above=True)
        check_int("burst", burst, minimum=1, maximum=_MAX_BURST)
        interval = 1.0 / rate
        if math.isinf(interval):  # a subnormal rate: one token would take for ever
            raise ValueError(f"rate must be a finite number >= 1e-300, got {describe(rate)}")
        self.rate = rate
        self.burst = burst
        self.name = "token-bucket" if name is None else check_str("name", name)
        self.admitted = 0
        self.refused = 0
        self.waiting = 0
        self._interval = interval
        self._full_at = -math.inf  # when the bucket is (or was) full again

    def tokens(self) -> float:
        """Tokens in the bucket now (negative when waiters have booked future tokens)."""
        now = current().now()
        return self.burst - max(0.0, self._full_at - now) * self.rate

    def statistics(self) -> TokenBucketStatistics:
        """Tokens now, takes admitted and refused, takers waiting (inside a run: the
        bucket's tokens are counted on the run's clock)."""
        return TokenBucketStatistics(
            name=self.name, rate=self.rate, burst=self.burst, tokens=self.tokens(),
            admitted=self.admitted, refused=self.refused, tasks_waiting=self.waiting)

    def try_take(self, n: int = 1) -> bool:
        """Take ``n`` tokens if they are in the bucket now; never waits."""
        check_int("n", n, minimum=1, maximum=self.burst)
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
        check_int("n", n, minimum=1, maximum=self.burst)
        rt = current()
        now = rt.now()
        full_at = max(self._full_at, now) + n * self._interval
        self._full_at = full_at
        wait = full_at - self.burst * self._interval - now
        if wait > _EPS:
            rt.record(EventKind.BLOCK, actor=current_task().name, peer=self.name,
                      detail=f"rate limit {wait:.6g}s")
            self.waiting += 1
            try:
                await sleep_for(wait)
            except BaseException:
                if self._full_at == full_at:  # booked last: give the tokens back
                    self._full_at -= n * self._interval
                raise
            finally:
                self.waiting -= 1
            rt.record(EventKind.UNBLOCK, actor=current_task().name, peer=self.name)
        self.admitted += 1


# -- watermarks -------------------------------------------------------------------------------

FlowState = Literal["paused", "resumed"]


@dataclass(frozen=True)
class WatermarksStatistics:
    """A snapshot of :class:`Watermarks`: the marks, the last ``depth`` fed to ``update``
    and the highest (``peak_depth``), whether it is ``paused``, how many ``transitions``
    it made, and the ``tasks_waiting`` in ``wait_resumed``."""

    name: str
    high: int
    low: int
    depth: int
    peak_depth: int
    paused: bool
    transitions: int
    tasks_waiting: int


class Watermarks:
    """High/low watermarks with hysteresis: pause at ``depth >= high``, resume at ``<= low``.

    Between the two marks the state does not change, so a depth that hovers around one mark
    does not make the producer flap between paused and resumed. Each change is a ``pause``
    or ``resume`` row in the trace (``peer`` = the watermarks' name, ``depth`` = the depth).
    """

    def __init__(self, high: int, low: int, *, name: str = "watermarks") -> None:
        check_int("high", high, minimum=1)
        check_int("low", low, minimum=0)
        if low >= high:
            raise ValueError(f"low watermark ({low}) must be below the high one ({high}), "
                             "or the state would flap on every update")
        self.high = high
        self.low = low
        self.name = check_str("name", name)
        self.state: FlowState = "resumed"
        self.transitions = 0
        self.depth = 0
        self.peak_depth = 0
        self._waiters = ParkingLot()

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    def update(self, depth: int) -> FlowState:
        """Feed the current queue depth; returns the state after it."""
        check_int("depth", depth, minimum=0)
        self.depth = depth
        if depth > self.peak_depth:
            self.peak_depth = depth
        if self.state == "resumed" and depth >= self.high:
            self._switch("paused", EventKind.PAUSE, depth)
        elif self.state == "paused" and depth <= self.low:
            self._switch("resumed", EventKind.RESUME, depth)
            self._waiters.unpark_all()
        return self.state

    async def wait_resumed(self) -> None:
        """Wait until the state is ``resumed`` (returns at once if it is)."""
        while self.state == "paused":
            await self._waiters.park(f"wait for {self.name} to resume")

    def statistics(self) -> WatermarksStatistics:
        """The marks, the depth fed last and its peak, the state and the waiters."""
        return WatermarksStatistics(
            name=self.name, high=self.high, low=self.low, depth=self.depth,
            peak_depth=self.peak_depth, paused=self.paused, transitions=self.transitions,
            tasks_waiting=self._waiters.statistics().tasks_waiting)

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
            check_int("threshold", threshold, minimum=1)
        probability = check_number("probability", probability, minimum=0, maximum=1)
        if threshold is None and probability == 0.0:
            raise ValueError("a LoadShedder needs a threshold, a probability > 0, or both")
        if system is not None:
            from labkit.actor import ActorSystem

            if not isinstance(system, ActorSystem):
                raise TypeError(f"system must be an ActorSystem or None, got {describe(system)}")
        self.threshold = threshold
        self.probability = probability
        self.system = system
        self.name = check_str("name", name)
        self.admitted = 0
        self.shed = 0

    def reason(self, depth: int) -> str | None:
        """Why a message at queue ``depth`` would be shed now, or ``None`` to admit it.

        Draws from the run's RNG when a probability is set, so call it once per message.
        """
        check_int("depth", depth, minimum=0)
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
            current().record(EventKind.DROP, actor=current_task().name, peer=target,
                             msg_id=msg_id, msg_type=type(message).__name__, depth=depth,
                             detail=why)
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


def _queue_codes(table: Columns) -> tuple[Any, Any]:
    """The queue (channel or mailbox) each row is about, as codes into the sorted queue
    names (-1 for none), and those names."""
    import numpy as np

    owner_side = table.equals("model", "actor") & table.isin("kind", _OWNER_SIDE_KINDS)
    return _factorize(np.where(owner_side, table.objects("actor"), table.objects("peer")))


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

    table = Columns.of(trace)  # a TypeError for anything but a Trace or its DataFrame
    if peer is not None:
        check_str("peer", peer)
    queue, names = _queue_codes(table)
    where = f" on {peer!r}" if peer is not None else ""
    if peer is not None:  # only that queue's rows count
        queue = np.where(np.isin(queue, np.flatnonzero(names == peer)), queue, -1)
    keys, ids = _message_keys(table, queue >= 0, queue)
    times = table.floats("time")

    def first(*kinds: str) -> tuple[Any, Any]:
        return _first_times(keys, times, table.isin("kind", kinds))

    sent_keys, sent = first(*SEND_KINDS)
    blocked_keys, _blocked = first("block")
    admitted_keys, admitted = first("unblock")
    received_keys, received = first(*RECEIVE_KINDS)
    evicted_keys, evicted = first("dead_letter")
    # a message whose sender blocked enters at its unblock, and never if it had none
    never = np.setdiff1d(blocked_keys, admitted_keys, assume_unique=True)
    kept = ~np.isin(sent_keys, never, assume_unique=True)
    entered_keys, entered = sent_keys[kept], sent[kept]
    _late, i, j = np.intersect1d(entered_keys, admitted_keys, assume_unique=True,
                                 return_indices=True)
    entered[i] = admitted[j]
    # it leaves at its receive, else at its eviction
    left_keys = _distinct(np.sort(np.concatenate((received_keys, evicted_keys))))
    left = np.empty(len(left_keys))
    left[np.searchsorted(left_keys, evicted_keys)] = evicted
    left[np.searchsorted(left_keys, received_keys)] = received
    if not np.isin(received_keys, entered_keys, assume_unique=True).any():
        raise ValueError(f"no message was both sent and received in this trace{where}: "
                         "Little's law needs traffic")
    both, i, j = np.intersect1d(entered_keys, left_keys, assume_unique=True,
                                return_indices=True)
    t_in = entered[i]
    t_out = left[j]
    start = float(np.nanmin(entered))
    end = float(t_out.max())
    span = end - start
    if span <= 0:
        raise ValueError("every message entered and left at the same instant: "
                         "run longer to measure rates")
    lam = len(both) / span
    wait = float((t_out - t_in).mean())
    # the time-average depth of every queue a message entered, queue by queue in name order
    depth = table.floats("depth")
    counted = np.zeros(len(names) + 1, dtype=bool)  # the last one stands for "no queue"
    counted[entered_keys // max(len(ids), 1)] = True
    rows = np.flatnonzero(~np.isnan(depth) & counted[queue])
    rows = rows[np.argsort(queue[rows], kind="stable")]
    area = 0.0
    for q in np.split(rows, np.flatnonzero(np.diff(queue[rows])) + 1):
        if not len(q):
            continue
        q_times = times[q]
        values = depth[q]
        ends = np.append(q_times[1:], end)
        lo = np.maximum(q_times, start)
        hi = np.minimum(ends, end)
        area += float((values * np.clip(hi - lo, 0.0, None)).sum())
    mean_depth = area / span
    predicted = lam * wait
    scale = max(mean_depth, predicted)
    error = 0.0 if scale == 0 else abs(mean_depth - predicted) / scale
    return LittlesLaw(mean_depth, lam, wait, error)
