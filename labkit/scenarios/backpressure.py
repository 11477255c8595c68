"""Notebook 03 (backpressure): what a queue does when the producer is faster than the
consumer, and the tools that keep overload under control.

* :func:`overload`: every mailbox overflow policy (block, drop_new, drop_head, drop_tail,
  fail) and an unbounded queue, in the Go, Rust and actor models, measured: depth, drops,
  producer wait, latency percentiles, memory held (queued messages plus those a blocked
  producer holds, :func:`messages_held`) and Little's law on the trace.
* :func:`nonblocking`: build, then Go's ``select`` with ``default`` or Rust's ``try_send``
  (``Full(v)`` hands the value back): either way the producer is told and the work is
  wasted; vs a slot before the expensive work (Go: a semaphore channel; Rust:
  ``reserve()``/``try_reserve()``): no work wasted.
* :func:`credit_flow`, :func:`rate_limit`, :func:`watermarks`, :func:`load_shedding`: the
  tools of :mod:`labkit.flow` on a small example each.

Every function is a pure function of its parameters and ``seed`` returning a
:class:`labkit.Run`; its ``result`` is a small frozen dataclass of headline numbers, in
virtual seconds. The random arrival gaps and service times are drawn up front, so every
model sees exactly the same workload for one seed.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import labkit
from labkit import Run, go, rust
from labkit._check import check_choice, check_int
from labkit.actor import Actor, ActorSystem, Context, Mailbox, MailboxFull
from labkit.flow import Credits, LoadShedder, TokenBucket, Watermarks, littles_law
from labkit.rust.mpsc import TrySendError
from labkit.scenarios._common import (
    INTERVALS,
    check_count,
    check_fraction,
    check_model,
    check_offered,
    check_rate,
    check_seconds,
    check_workload,
    interval,
    paced_workload,
    percentile,
    simulate,
    with_result,
)
from labkit.trace import (
    Columns,
    Trace,
    latency_percentiles,
    record,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = (
    "MODELS",
    "OFFERED",
    "POLICIES",
    "STRATEGIES",
    "CreditFlowResult",
    "LoadSheddingResult",
    "NonblockingResult",
    "OverloadResult",
    "Flow",
    "RateLimitResult",
    "Requests",
    "Tally",
    "WatermarksResult",
    "actor_producer",
    "credit_producer",
    "credit_flow",
    "go_build_and_send",
    "go_consumer",
    "go_handle",
    "go_offer",
    "go_producer",
    "rate_limited_producer",
    "load_shedding",
    "messages_held",
    "nonblocking",
    "overload",
    "rate_limit",
    "rust_build_and_send",
    "rust_consumer",
    "rust_handle",
    "rust_producer",
    "shedding_producer",
    "watermark_producer",
    "watermarks",
)

MODELS = ("go", "rust", "actor")
#: What a full queue does with the next message: the five mailbox policies, and no bound.
POLICIES = ("block", "drop_new", "drop_head", "drop_tail", "fail", "unbounded")
#: The policies each model can express directly (see :func:`overload`).
OFFERED: dict[str, tuple[str, ...]] = {
    "go": ("block", "drop_new", "fail"),
    "rust": ("block", "drop_new", "fail", "unbounded"),
    "actor": POLICIES,
}
#: How a producer sends in :func:`nonblocking`; the first of each model is its default.
STRATEGIES: dict[str, tuple[str, ...]] = {
    "go": ("select_default", "semaphore", "send"),
    "rust": ("try_send", "try_reserve", "reserve", "send"),
}

#: Why a model has no such policy, and what it offers instead.
_MISSING = {
    ("go", "drop_head"): "a Go channel never evicts a queued value by itself; the producer "
                         "can do it by hand: drain the oldest with `select { case <-ch: "
                         "default: }`, then send again (you write it in notebook 03, "
                         "exercise 1). Use model='actor' for a built-in drop_head",
    ("go", "drop_tail"): "a Go channel cannot give up its newest value: a receive takes the "
                         "oldest (G2); drain-then-send evicts the oldest instead (drop_head, "
                         "by hand). Use model='actor' for drop_tail",
    ("go", "unbounded"): "every Go channel has a fixed capacity, make(chan T, n) (G2); an "
                         "unbounded queue needs a slice and a goroutine of your own. Use "
                         "model='rust' (mpsc::unbounded_channel, R21) or 'actor' "
                         "(Mailbox(None))",
    ("rust", "drop_head"): "tokio's mpsc never evicts a queued value, and a producer cannot "
                           "drain it: the Receiver has one owner, the consumer. try_send "
                           "refuses the new one with Err(Full(v)) (R12; policies 'drop_new' "
                           "and 'fail'); broadcast overwrites the oldest (R23) but fans out "
                           "to every receiver. Use model='actor' for drop_head",
    ("rust", "drop_tail"): "tokio's mpsc never evicts a queued value: try_send refuses the "
                           "new one with Err(Full(v)) (R12; policies 'drop_new' and 'fail'). "
                           "Use model='actor' for drop_tail",
}


def _spelled(model: str, policy: str, capacity: int) -> str:
    """The queue and the send, as the model writes them."""
    if model == "go":
        chan = f"make(chan T, {capacity})"
        if policy == "block":
            return f"{chan}; ch <- v"
        if policy == "drop_new":
            return f"{chan}; select {{ case ch <- v: default: /* drop v */ }}"
        return f"{chan}; select {{ case ch <- v: default: return ErrFull }}"
    if model == "rust":
        if policy == "unbounded":
            return "mpsc::unbounded_channel(); tx.send(v)"
        chan = f"mpsc::channel({capacity})"
        if policy == "block":
            return f"{chan}; tx.send(v).await"
        if policy == "drop_new":
            return f"{chan}; tx.try_send(v), Err(Full(v)) dropped"
        return f"{chan}; tx.try_send(v)?, Err(Full(v)) to the caller"
    if policy == "unbounded":
        return "Mailbox(None); ref.tell(v)"
    if policy == "block":
        return f"Mailbox({capacity}, overflow='block'); await ref.send(v)"
    return f"Mailbox({capacity}, overflow={policy!r}); ref.tell(v)"


class _Sink(Actor):
    """The consumer in the actor model: ``handle(msg)`` says how long message ``msg`` takes."""

    def __init__(self, handle: Callable[[Any], float]) -> None:
        self.handle = handle

    async def receive(self, msg: Any, ctx: Context) -> None:
        await labkit.sleep(self.handle(msg))


# == overload: every policy under a producer faster than its consumer ========================


@dataclass(frozen=True)
class OverloadResult:
    """Headline numbers of :func:`overload` (times in virtual seconds).

    Messages are numbered 0, 1, ... in arrival order; ``kept`` lists the numbers the
    consumer got, in the order it got them. Every message ends up ``delivered``, ``dropped``
    (lost by the queue: ``dropped_new`` refused at the door,
    ``dropped_oldest``/``dropped_newest`` evicted from the queue) or ``refused`` (handed
    back to the producer as an error: ``fail``). ``losses_recorded`` counts the losses that
    left a row in labkit's trace (a dead letter, a drop or a reject row): the actor mailbox
    writes its dead letters itself; for Go and Rust the rows are written by this scenario's
    producer (:class:`Tally`), since neither a Go channel nor tokio's mpsc records anything.
    ``producer_wait`` is the time the producer spent
    blocked in ``send``. Latency runs from the start of the send to the consumer receiving
    the message, over delivered messages. ``peak_held`` is the most messages held in memory
    at once (:func:`messages_held`): those queued plus those in the hand of a producer blocked
    waiting to send them, so a full ``block`` queue of ``capacity`` with its producer waiting
    holds ``capacity + 1``; ``memory_held_bytes`` is ``peak_held * payload_bytes``.
    ``mean_depth``, ``little_lambda`` (messages leaving the queue per second) and
    ``little_w`` (mean seconds in the queue) are Little's law measured on the trace;
    ``little_error`` is ``|L - lambda W| / max(L, lambda W)``.
    """

    model: str
    policy: str
    spelled: str
    capacity: int | None
    messages: int
    offered_load: float
    delivered: int
    kept: tuple[int, ...]
    dropped: int
    dropped_new: int
    dropped_oldest: int
    dropped_newest: int
    refused: int
    losses_recorded: int
    peak_depth: int
    mean_depth: float
    producer_wait: float
    blocked_sends: int
    p50_latency: float
    p90_latency: float
    p99_latency: float
    peak_held: int
    memory_held_bytes: int
    little_lambda: float
    little_w: float
    little_error: float
    elapsed: float


class Tally:
    """The producer's and the consumer's bookkeeping in :func:`overload` (not part of the
    Go or Rust program it models: it only counts, times and writes trace rows)."""

    __slots__ = ("blocked_sends", "delivered", "depth", "dropped_new", "dropped_newest",
                 "dropped_oldest", "model", "refused", "wait", "work")

    def __init__(self, model: str, work: list[float], depth: Callable[[], int]) -> None:
        self.model = model
        self.depth = depth  # the queue's depth now, for the trace rows
        self.work = work
        self.delivered: list[int] = []
        self.dropped_new = 0
        self.dropped_oldest = 0
        self.dropped_newest = 0
        self.refused = 0
        self.wait = 0.0
        self.blocked_sends = 0

    @contextlib.asynccontextmanager
    async def blocked(self) -> AsyncIterator[None]:
        """Time a send that may wait for space."""
        start = labkit.now()
        yield
        waited = labkit.now() - start
        if waited > 0:
            self.wait += waited
            self.blocked_sends += 1

    def dropped(self, v: int, detail: str) -> None:
        """The producer learned that ``v`` was not queued and dropped it: labkit's trace
        gets a ``drop`` row because this scenario writes one, not because Go or tokio do."""
        self.dropped_new += 1
        record("drop", msg_type="int", depth=self.depth(), model=self.model,
               detail=detail.replace("(v)", f"({v})"))

    def failed(self, v: int, detail: str) -> None:
        """The producer handed ``v`` back to its caller with an error (a ``reject`` row,
        written by this scenario)."""
        self.refused += 1
        record("reject", msg_type="int", depth=self.depth(), model=self.model,
               detail=detail.replace("(v)", f"({v})"))

    def handle(self, v: int) -> float:
        """Note message ``v`` delivered; the time to handle it. The k-th message handled
        takes ``work[k]`` whichever it is, so every policy gives the consumer the same work
        and only *which* messages it gets differs."""
        self.delivered.append(v)
        return self.work[len(self.delivered) - 1]


async def go_offer(ch: go.Chan[int], v: int) -> str | None:
    """``func offer(ch chan<- int, v int) error``: never waits (G22). On a full channel the
    ``default`` runs: the send did not happen, and ``v`` is still the caller's."""
    sel = await go.select(go.Send(ch, v), default=True)
    if sel.index == -1:  # the default ran: no case was ready
        return "ErrFull"
    return None


async def go_producer(ch: go.Chan[int], policy: str, gaps: list[float], tally: Tally) -> None:
    """Offer message ``v`` after each gap; at a full channel: wait (G2), or ``offer`` it and
    drop it or fail (G22). The sender closes (G11, G16)."""
    for v, gap in enumerate(gaps):
        await go.sleep(gap)
        if policy == "block":
            async with tally.blocked():
                await ch.send(v)  # ch <- v: waits while the buffer is full (G2)
        elif await go_offer(ch, v) == "ErrFull":
            if policy == "drop_new":  # the producer knows, and lets v go
                tally.dropped(v, "select default ran: the producer dropped v")
            else:  # "fail": return ErrFull (with v) to the caller
                tally.failed(v, "select default ran: ErrFull returned to the caller")
    ch.close()


async def go_consumer(ch: go.Chan[int], tally: Tally) -> None:
    """Range over the channel until it is closed and drained (G28)."""
    async for v in ch:
        await go.sleep(tally.handle(v))


async def _go_overload(policy: str, capacity: int, gaps: list[float],
                       work: list[float]) -> Tally:
    ch: go.Chan[int] = go.Chan(capacity, name="queue")
    tally = Tally("go", work, lambda: len(ch))
    go.go(go_producer, ch, policy, gaps, tally)
    await go_consumer(ch, tally)
    return tally


async def rust_producer(tx: Any, policy: str, gaps: list[float], tally: Tally) -> None:
    """Offer message ``v`` after each gap; at a full channel: ``send(v).await`` waits (R9),
    ``try_send(v)`` returns ``Err(Full(v))`` (R12): ``v`` moved in and comes back out.
    Dropping ``tx`` at the end closes the channel (R3, R15)."""
    with tx:
        for v, gap in enumerate(gaps):
            await rust.sleep(gap)
            if policy == "unbounded":
                tx.send(v).unwrap()  # synchronous, never waits (R21)
            elif policy == "block":
                async with tally.blocked():
                    (await tx.send(v)).unwrap()  # waits for a slot (R9)
            else:
                match tx.try_send(v):  # never waits (R12)
                    case rust.Err(TrySendError.Full(v)):  # the value moved back to us
                        if policy == "drop_new":  # the producer knows, and drops v
                            tally.dropped(v, "try_send -> Err(Full(v)): the producer "
                                          "dropped v")
                        else:  # "fail": `try_send(v)?` hands the error (and v) up
                            tally.failed(v, "try_send -> Err(Full(v)): the error went "
                                         "back to the caller")
                    case result:
                        result.unwrap()


async def rust_consumer(rx: Any, tally: Tally) -> None:
    """``while let Some(v) = rx.recv().await``: None once closed and drained (R15)."""
    while (v := await rx.recv()) is not None:
        await rust.sleep(tally.handle(v))


async def _rust_overload(policy: str, capacity: int, gaps: list[float],
                         work: list[float]) -> Tally:
    tx: Any
    tx, rx = (rust.mpsc.unbounded_channel() if policy == "unbounded"
              else rust.mpsc.channel(capacity))
    tally = Tally("rust", work, lambda: len(rx))
    consumer = rust.spawn(rust_consumer, rx, tally, name="consumer")
    await rust_producer(tx, policy, gaps, tally)
    (await consumer).unwrap()
    return tally


async def actor_producer(ref: Any, policy: str, gaps: list[float], tally: Tally) -> None:
    """Offer message ``v`` after each gap: ``await ref.send(v)`` waits for space; ``tell``
    never waits and the mailbox's ``overflow`` policy decides (a dead letter per loss)."""
    for v, gap in enumerate(gaps):
        await labkit.sleep(gap)
        if policy == "block":
            async with tally.blocked():
                await ref.send(v)  # waits for space: backpressure
            continue
        try:
            if not ref.tell(v):  # never waits; the mailbox policy decides
                tally.dropped_new += 1  # the mailbox wrote a dead letter
        except MailboxFull:
            tally.refused += 1  # overflow='fail': the caller still holds the message


async def _actor_overload(policy: str, capacity: int, gaps: list[float],
                          work: list[float]) -> Tally:
    overflow: Any = "block" if policy == "unbounded" else policy  # unbounded: never full
    mailbox = Mailbox(None if policy == "unbounded" else capacity, overflow=overflow)
    tally = Tally("actor", work, lambda: len(mailbox))
    async with ActorSystem(drain=True) as system:  # on exit: handle what is queued, stop
        ref = system.spawn(_Sink, tally.handle, name="consumer", mailbox=mailbox)
        await actor_producer(ref, policy, gaps, tally)
    for letter in system.dead_letters:
        if "evicted the oldest" in letter.reason:
            tally.dropped_oldest += 1
        elif "evicted the newest" in letter.reason:
            tally.dropped_newest += 1
    return tally


def messages_held(trace: Trace | pd.DataFrame) -> pd.DataFrame:
    """How many messages a run with one queue (as in :func:`overload`) holds in memory,
    instant by instant; the peak of ``held`` is :attr:`OverloadResult.peak_held`.

    One row per instant of the trace, after all of that instant's events: ``queued`` (the
    queue's depth), ``in_hand`` (messages built and waiting in the hand of a producer blocked
    on the full queue, from its ``block`` row until the message goes in: Go ``ch <- v``, G2;
    Rust ``send(v).await``, R9; actor ``await ref.send(v)``) and ``held``, their sum: both
    occupy memory. A message dropped or refused is not held, nor is the one the consumer is
    handling; a producer blocked in ``reserve()`` holds none, since it builds the message
    only once it has a slot (R13).
    """
    import pandas as pd

    instants, queued, in_hand = _held(Columns.of(trace))
    return pd.DataFrame({"time": instants, "queued": queued, "in_hand": in_hand,
                         "held": queued + in_hand})


def _held(table: Columns) -> tuple[Any, Any, Any]:
    """The instants of :func:`messages_held` and, after each, the messages queued and in a
    blocked producer's hand (``int64`` arrays)."""
    import numpy as np

    seq = table.seq()
    order = (np.arange(table.n) if (seq[1:] >= seq[:-1]).all()
             else np.argsort(seq, kind="stable"))  # the rows in seq order
    times = table.floats("time")[order]
    instants = np.unique(times)
    depth = table.floats("depth")[order]
    reported = ~np.isnan(depth)
    # the depth after the instant's last row that reports one (0 before the first)
    values = np.concatenate(([0], depth[reported].astype(np.int64)))
    queued = values[np.searchsorted(times[reported], instants, side="right")]
    # a blocked message leaves the producer's hand at its next row: unblock (it went in),
    # receive (a receiver took it straight from the sender), drop or dead_letter (the send
    # was cancelled, or refused as the actor stopped)
    keys = table.messages()[0][order]
    ided = np.flatnonzero(keys >= 0)
    ided = ided[np.argsort(keys[ided], kind="stable")]  # by message, then seq
    key = keys[ided]
    block = table.isin("kind", ("block",))[order][ided]
    at = np.flatnonzero(block)  # each block row's place among its message's rows
    group_end = np.searchsorted(key, key[at], side="right")
    # the earliest later row of the same message that is not a block: min over [at+1, end)
    later = np.append(np.where(block, np.inf, times[ided]), np.inf)
    bounds = np.empty(2 * len(at), dtype=np.intp)
    bounds[0::2] = at + 1
    bounds[1::2] = group_end
    ends = np.minimum.reduceat(later, bounds)[0::2] if len(at) else later[:0]
    ends[at + 1 >= group_end] = np.inf
    starts = np.sort(times[ided][at])
    ends = np.sort(ends)
    in_hand = (np.searchsorted(starts, instants, side="right")
               - np.searchsorted(ends, instants, side="right")).astype(np.int64)
    return instants, queued, in_hand


def overload(model: str = "actor", policy: str = "block", arrival_rate: float = 20.0,
             service_rate: float = 10.0, capacity: int = 10, messages: int = 200, *,
             payload_bytes: int = 1024, pacing: str = "exponential",
             seed: int | None = 0) -> Run[OverloadResult]:
    """A producer offering ``arrival_rate`` messages per second to a consumer that handles
    ``service_rate`` per second, through a queue of ``capacity`` slots and a ``policy`` for
    when it is full. The producer waits a random gap (mean ``1/arrival_rate``), then sends:
    while it is blocked nothing new arrives, which is what backpressure means, the source
    slows down. The k-th message handled takes the k-th service time whatever the policy,
    so every policy gives the consumer the same work.

    Policies (what the next message meets at a full queue):

    * ``block``: the producer waits (Go ``ch <- v``, G2; Rust ``send().await``, R9; actor
      ``await ref.send(v)``). Nothing is lost; the producer slows down to the consumer.
    * ``drop_new``: the new message is dropped (Go ``select`` with ``default``, G22: the
      default runs and the producer still holds ``v``; Rust ``try_send`` ->
      ``Err(Full(v))``, R12, hands ``v`` back; either producer then drops it; actor
      ``tell``, a dead letter).
    * ``drop_head`` / ``drop_tail``: the oldest / newest queued message is evicted to make
      room (actor only here; a dead letter with the reason).
    * ``fail``: the producer gets an error and keeps the message (Go ``select`` whose
      ``default`` returns ``ErrFull``; Rust ``Err(Full(v))`` handed to the caller; actor
      :class:`~labkit.actor.MailboxFull`).
    * ``unbounded``: no bound (Rust ``unbounded_channel``, R21; actor ``Mailbox(None)``):
      nothing is lost and nobody waits, but depth, memory and latency grow.

    Go has no unbounded channel and no built-in eviction (drain-then-send is written by
    hand: notebook 03, exercise 1), and tokio's mpsc no eviction: those
    combinations raise ``ValueError`` saying what the model offers instead (:data:`OFFERED`).
    """
    model = check_model(model, MODELS)
    policy = check_offered("policy", policy, model, OFFERED, why=_MISSING)
    messages, arrival_rate, service_rate, pacing = check_workload(
        messages, arrival_rate, service_rate, pacing)
    capacity = check_count("capacity", capacity, minimum=1)
    payload_bytes = check_int("payload_bytes", payload_bytes, minimum=0)
    body = {"go": _go_overload, "rust": _rust_overload, "actor": _actor_overload}[model]

    async def main() -> Tally:
        gaps, work = paced_workload(messages, arrival_rate, service_rate, pacing)
        return await body(policy, capacity, gaps, work)

    run = simulate(main, seed=seed)
    tally = run.result
    trace = run.trace
    law = littles_law(trace)
    pct = latency_percentiles(trace, (0.5, 0.9, 0.99))
    peak = _peak_depth(run)
    _instants, queued, in_hand = _held(Columns.of(trace))
    peak_held = int((queued + in_hand).max()) if len(queued) else 0
    recorded = int(Columns.of(trace).isin("kind", ("drop", "dead_letter", "reject")).sum())
    dropped = tally.dropped_new + tally.dropped_oldest + tally.dropped_newest
    result = OverloadResult(
        model=model, policy=policy, spelled=_spelled(model, policy, capacity),
        capacity=None if policy == "unbounded" else capacity, messages=messages,
        offered_load=arrival_rate / service_rate, delivered=len(tally.delivered),
        kept=tuple(tally.delivered),
        dropped=dropped, dropped_new=tally.dropped_new,
        dropped_oldest=tally.dropped_oldest, dropped_newest=tally.dropped_newest,
        refused=tally.refused, losses_recorded=recorded, peak_depth=peak,
        mean_depth=law.L, producer_wait=tally.wait, blocked_sends=tally.blocked_sends,
        p50_latency=pct["p50"], p90_latency=pct["p90"], p99_latency=pct["p99"],
        peak_held=peak_held, memory_held_bytes=peak_held * payload_bytes,
        little_lambda=law.lam, little_w=law.W, little_error=law.relative_error,
        elapsed=run.elapsed)
    return with_result(run, result)


# == nonblocking: select-default vs try_send vs reserve-before-work ==========================


@dataclass(frozen=True)
class NonblockingResult:
    """Headline numbers of :func:`nonblocking` (times in virtual seconds).

    Each message costs the producer ``work_cost`` seconds to build. ``built`` messages were
    built; ``wasted_work`` is the build time spent on messages that were then not queued
    (``work_cost`` times ``refused_after_build``). ``refused_after_build`` were built, then
    met a full channel (Go's ``select``-``default``, Rust's ``try_send``: in both the
    producer is told and still holds the value); ``refused_before_build`` were turned away
    before any work (Rust ``try_reserve``, Go's semaphore channel). Every refusal is a
    ``drop`` row in the trace, written by this scenario's producer. ``producer_wait`` is the
    time blocked in ``send`` or ``reserve``. Latency runs from a message's arrival at the
    producer (before it is built) to the consumer receiving it.
    """

    model: str
    strategy: str
    spelled: str
    messages: int
    built: int
    delivered: int
    refused_after_build: int
    refused_before_build: int
    wasted_work: float
    useful_work: float
    producer_wait: float
    p50_latency: float
    p99_latency: float
    elapsed: float


_NONBLOCKING_SPELLED = {
    ("go", "send"): "v := build(); ch <- v",
    ("go", "select_default"): "v := build(); select { case ch <- v: default: /* drop v */ }",
    ("go", "semaphore"): "select { case sem <- struct{}{}: ch <- build() default: /* skip */ }"
                         "; the consumer: v := <-ch; <-sem",
    ("rust", "send"): "let v = build(); tx.send(v).await",
    ("rust", "try_send"): "let v = build(); match tx.try_send(v) { Err(Full(v)) => .. }",
    ("rust", "reserve"): "let permit = tx.reserve().await?; permit.send(build())",
    ("rust", "try_reserve"): "match tx.try_reserve() { Ok(p) => p.send(build()), Err(Full(())) "
                             "=> .. }",
}


class Requests:
    """The requests of :func:`nonblocking` and their bookkeeping (not part of the modelled
    program: it times, counts and writes trace rows). Arrivals are fixed instants: a busy
    producer falls behind, the arrivals do not wait for it."""

    __slots__ = ("arrived", "built", "cost", "delivered", "depth", "model", "skipped",
                 "wait", "wasted", "work")

    def __init__(self, model: str, gaps: list[float], work: list[float], cost: float,
                 depth: Callable[[], int]) -> None:
        self.model = model
        self.arrived = list(itertools.accumulate(gaps))
        self.work = work
        self.cost = cost
        self.depth = depth
        self.delivered: dict[int, float] = {}
        self.built = 0
        self.wasted = 0
        self.skipped = 0
        self.wait = 0.0

    def __len__(self) -> int:
        return len(self.arrived)

    async def next(self, i: int) -> int:
        """Wait for request ``i`` to arrive (at once if it already has); its number."""
        delay = self.arrived[i] - labkit.now()
        if delay > 0:
            await labkit.sleep(delay)
        return i

    async def build(self, i: int) -> int:
        """The expensive part of making message ``i`` (serialising, a lookup): ``cost`` s."""
        self.built += 1
        await labkit.sleep(self.cost)
        return i

    @contextlib.asynccontextmanager
    async def blocked(self) -> AsyncIterator[None]:
        """Time a send or reserve that may wait for space."""
        start = labkit.now()
        yield
        self.wait += labkit.now() - start

    def refused(self, v: int, detail: str) -> None:
        """``v`` was built, then refused by a full channel: its work is wasted."""
        self.wasted += 1
        record("drop", msg_type="int", depth=self.depth(), model=self.model,
               detail=detail.replace("(v)", f"({v})"))

    def skip(self, i: int, detail: str) -> None:
        """Request ``i`` was turned away before any work was spent on it."""
        self.skipped += 1
        record("drop", msg_type="int", depth=self.depth(), model=self.model, detail=detail)

    def handle(self, v: int) -> float:
        self.delivered[v] = labkit.now()
        return self.work[len(self.delivered) - 1]


async def go_build_and_send(ch: go.Chan[int], sem: go.Chan[None] | None, strategy: str,
                            req: Requests) -> None:
    """Build each request's message and send it (G2, G22); with ``semaphore``, take a token
    from ``sem`` first (``sem <- struct{}{}``), so no work is spent without a slot."""
    for i in range(len(req)):
        await req.next(i)
        if strategy == "semaphore" and sem is not None:
            sel = await go.select(go.Send(sem, None), default=True)  # a token first
            if sel.index == -1:  # no token: the channel is full; skip before the work
                req.skip(i, "select default on sem: skipped before any work")
                continue
            await ch.send(await req.build(i))  # never waits: a token is a free slot
            continue
        v = await req.build(i)  # the value is built before the send (G5)
        if strategy == "send":
            async with req.blocked():
                await ch.send(v)  # ch <- v: waits while full (G2)
        elif (await go.select(go.Send(ch, v), default=True)).index == -1:
            req.refused(v, "select default ran after the work: the producer dropped v")
    ch.close()


async def go_handle(ch: go.Chan[int], sem: go.Chan[None] | None, req: Requests) -> None:
    """Range over the channel; ``<-sem`` gives the slot's token back (G28)."""
    async for v in ch:
        if sem is not None:
            await sem.recv()  # <-sem: this slot is free again
        await go.sleep(req.handle(v))


async def _nb_go(strategy: str, capacity: int, req: Requests) -> None:
    ch: go.Chan[int] = go.Chan(capacity, name="queue")
    sem: go.Chan[None] | None = (go.Chan(capacity, name="sem") if strategy == "semaphore"
                                 else None)
    req.depth = lambda: len(ch)
    go.go(go_build_and_send, ch, sem, strategy, req)
    await go_handle(ch, sem, req)


async def rust_build_and_send(tx: Any, strategy: str, req: Requests) -> None:
    """Build each request's message and send it (R9, R12); ``reserve``/``try_reserve`` take
    a slot before the work (R13), and ``permit.send(v)`` cannot fail."""
    with tx:
        for i in range(len(req)):
            await req.next(i)
            if strategy == "send":
                v = await req.build(i)
                async with req.blocked():
                    (await tx.send(v)).unwrap()  # waits for a slot (R9)
            elif strategy == "try_send":
                v = await req.build(i)
                match tx.try_send(v):  # the value comes back inside the error (R12)
                    case rust.Err(TrySendError.Full(v)):
                        req.refused(v, "try_send -> Err(Full(v)) after the work: the "
                                    "producer dropped v")
                    case result:
                        result.unwrap()
            elif strategy == "reserve":
                async with req.blocked():
                    permit = (await tx.reserve()).unwrap()  # wait for a slot first (R13)
                permit.send(await req.build(i))  # then the work; this send cannot fail
            else:
                match tx.try_reserve():  # a slot now, or Err(Full(())) (R13)
                    case rust.Ok(permit):
                        permit.send(await req.build(i))
                    case _:
                        req.skip(i, "try_reserve -> Err(Full(())): skipped before any work")


async def rust_handle(rx: Any, req: Requests) -> None:
    """``while let Some(v) = rx.recv().await`` (R15)."""
    while (v := await rx.recv()) is not None:
        await rust.sleep(req.handle(v))


async def _nb_rust(strategy: str, capacity: int, req: Requests) -> None:
    tx, rx = rust.mpsc.channel(capacity)
    req.depth = lambda: len(rx)
    consumer = rust.spawn(rust_handle, rx, req, name="consumer")
    await rust_build_and_send(tx, strategy, req)
    (await consumer).unwrap()


def nonblocking(model: str = "go", strategy: str | None = None, arrival_rate: float = 20.0,
                service_rate: float = 10.0, capacity: int = 5, messages: int = 200, *,
                work_cost: float = 0.020, pacing: str = "exponential",
                seed: int | None = 0) -> Run[NonblockingResult]:
    """Requests arrive at ``arrival_rate`` per second (at fixed instants: a busy producer
    falls behind, the arrivals do not wait for it); the producer must build each message
    (``work_cost`` seconds) and send it into a channel of ``capacity`` slots, to a consumer
    that handles ``service_rate`` per second.

    Strategies (:data:`STRATEGIES`; ``None`` is the model's first):

    * Go ``select_default``: ``select { case ch <- v: default: }`` never waits (G22); on a
      full channel the default runs, the producer still holds ``v`` and drops it: the work
      that built it is wasted. ``semaphore``: a token channel of ``capacity`` slots
      (``sem <- struct{}{}`` in a ``select`` with ``default``) taken before the work and
      given back by the consumer: Go's way to reserve first. ``send``: ``ch <- v`` (G2).
    * Rust ``try_send``: never waits; a full channel returns ``Err(Full(v))`` with the value
      (R12), so the producer is told and holds ``v`` again; the work is still wasted.
      ``try_reserve``: ask for a slot first; on ``Full`` skip the message before doing any
      work. ``reserve``: wait for a slot (R13), then build and ``permit.send(v)``, which
      cannot fail: no work is ever wasted. ``send``: ``send(v).await`` waits (R9).
    """
    model = check_model(model, tuple(STRATEGIES))
    strategy = check_offered("strategy", strategy, model, STRATEGIES, optional=True)
    messages, arrival_rate, service_rate, pacing = check_workload(
        messages, arrival_rate, service_rate, pacing)
    capacity = check_count("capacity", capacity, minimum=1)
    work_cost = check_seconds("work_cost", work_cost, allow_zero=True)

    async def main() -> NonblockingResult:
        gaps, work = paced_workload(messages, arrival_rate, service_rate, pacing)
        req = Requests(model, gaps, work, work_cost, lambda: 0)
        if model == "go":
            await _nb_go(strategy, capacity, req)
        else:
            await _nb_rust(strategy, capacity, req)
        lat = [t - req.arrived[i] for i, t in req.delivered.items()]
        return NonblockingResult(
            model=model, strategy=strategy, spelled=_NONBLOCKING_SPELLED[model, strategy],
            messages=messages, built=req.built, delivered=len(req.delivered),
            refused_after_build=req.wasted, refused_before_build=req.skipped,
            wasted_work=req.wasted * work_cost, useful_work=len(req.delivered) * work_cost,
            producer_wait=req.wait, p50_latency=percentile(lat, 0.5),
            p99_latency=percentile(lat, 0.99), elapsed=labkit.now())

    return simulate(main, seed=seed)


# == the flow-control tools of labkit.flow, one small example each ==========================


def _latency_pcts(run: Run[Any]) -> tuple[float, float]:
    pct = latency_percentiles(run.trace, (0.5, 0.99))
    return pct["p50"], pct["p99"]


def _peak_depth(run: Run[Any]) -> int:
    """The deepest any queue got (0 when no row reports a depth)."""
    import numpy as np

    depths = Columns.of(run.trace).floats("depth")
    return int(np.nanmax(depths)) if (~np.isnan(depths)).any() else 0


class Flow:
    """Bookkeeping of the flow-control examples (not part of the modelled program): what
    the consumer handled, how long the producer waited, the most messages in flight."""

    __slots__ = ("admitted", "handled", "peak_in_flight", "sent", "waited", "work")

    def __init__(self, work: list[float]) -> None:
        self.work = work
        self.handled: list[int] = []
        self.admitted: list[float] = []
        self.sent = 0
        self.peak_in_flight = 0
        self.waited = 0.0

    @contextlib.asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        """Time a wait of the producer (for a credit, a token, the low mark)."""
        start = labkit.now()
        yield
        self.waited += labkit.now() - start

    def told(self) -> None:
        """Note a message sent: in flight until the consumer takes it out."""
        self.sent += 1
        self.admitted.append(labkit.now())
        self.peak_in_flight = max(self.peak_in_flight, self.sent - len(self.handled))

    def handle(self, msg: int) -> float:
        self.handled.append(msg)
        return self.work[len(self.handled) - 1] if self.work else 0.0


# -- credits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditFlowResult:
    """Headline numbers of :func:`credit_flow` (times in virtual seconds).

    ``max_in_flight`` is the most messages sent and not yet taken out of the mailbox by the
    consumer at any moment; with credits it never exceeds ``credits``. ``granted`` and
    ``used`` are the credit totals (``None`` credits: no flow control, both 0).
    ``producer_wait`` is the time the producer waited for a credit.
    """

    credits: int | None
    batch: int
    messages: int
    delivered: int
    granted: int
    used: int
    max_in_flight: int
    peak_depth: int
    producer_wait: float
    p50_latency: float
    p99_latency: float
    elapsed: float


async def credit_producer(ref: Any, window: Credits | None, gaps: list[float],
                          flow: Flow) -> None:
    """Send after each gap, spending one credit per message; with none left, wait for the
    consumer to grant more (Reactive Streams ``request(n)``). ``None``: no flow control."""
    for i, gap in enumerate(gaps):
        await labkit.sleep(gap)
        if window is not None:
            async with flow.waiting():
                await window.acquire()  # a credit, or wait for demand
        ref.tell(i)
        flow.told()


def credit_flow(credits: int | None = 4, batch: int = 1, arrival_rate: float = 20.0,
                service_rate: float = 10.0, messages: int = 100, *,
                pacing: str = "exponential", seed: int | None = 0) -> Run[CreditFlowResult]:
    """Demand-driven flow control (Reactive Streams ``request(n)``) in front of an actor
    whose mailbox is **unbounded**: only the credits bound it.

    The consumer starts by granting ``credits``; the producer waits for a credit before each
    ``tell`` (:class:`labkit.flow.Credits`); the consumer grants ``batch`` more after every
    ``batch`` messages it takes out of its mailbox. The producer can never have more than
    ``credits`` messages in flight, so the mailbox never holds more. ``credits=None``: no
    flow control, and the unbounded mailbox grows with the overload.
    """
    if credits is not None:
        credits = check_count("credits", credits, minimum=1)
    batch = check_count("batch", batch, minimum=1)
    if credits is not None and batch > credits:
        raise ValueError(f"batch ({batch}) must not exceed credits ({credits}): the consumer "
                         "would wait for a batch that the producer can never send")
    messages, arrival_rate, service_rate, pacing = check_workload(
        messages, arrival_rate, service_rate, pacing)

    async def main() -> tuple[int, int, int, int, float]:
        gaps, work = paced_workload(messages, arrival_rate, service_rate, pacing)
        window = Credits(credits, name="demand") if credits is not None else None
        flow = Flow(work)

        def handle(msg: Any) -> float:
            if window is not None:
                window.done()  # no longer in flight
                if (len(flow.handled) + 1) % batch == 0:
                    window.grant(batch)  # request(batch)
            return flow.handle(msg)

        async with ActorSystem(drain=True) as system:
            ref = system.spawn(_Sink, handle, name="consumer", mailbox=Mailbox(None))
            await credit_producer(ref, window, gaps, flow)
        if window is None:
            return len(flow.handled), 0, 0, flow.peak_in_flight, flow.waited
        stats = window.statistics()
        return len(flow.handled), stats.granted, stats.used, stats.peak_in_flight, flow.waited

    run = simulate(main, seed=seed)
    delivered, granted, used, in_flight, wait = run.result
    p50, p99 = _latency_pcts(run)
    return with_result(run, CreditFlowResult(
        credits=credits, batch=batch, messages=messages, delivered=delivered,
        granted=granted, used=used, max_in_flight=in_flight, peak_depth=_peak_depth(run),
        producer_wait=wait, p50_latency=p50, p99_latency=p99, elapsed=run.elapsed))


# -- token bucket -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimitResult:
    """Headline numbers of :func:`rate_limit` (times in virtual seconds).

    ``admitted_rate`` is admissions per second from the first to the last admission.
    ``largest_burst`` is the most admissions in excess of the rate over any stretch of time:
    the maximum over ``i <= j`` of ``(j - i + 1) - rate * (t_j - t_i)``; a token bucket
    keeps it at or below ``burst``. ``refused`` messages (``mode="drop"``) are dead letters
    with the reason.
    """

    rate: float
    burst: int
    mode: str
    messages: int
    admitted: int
    refused: int
    admitted_rate: float
    largest_burst: float
    producer_wait: float
    elapsed: float


def _largest_burst(times: list[float], rate: float) -> float:
    """``max over i <= j of (j - i + 1) - rate * (t_j - t_i)``, in one pass."""
    best = 0.0
    lowest = math.inf  # min over i <= j of (i - rate * t_i)
    for j, t in enumerate(times):
        lowest = min(lowest, j - rate * t)
        best = max(best, (j - rate * t) - lowest + 1)
    return best


async def rate_limited_producer(system: ActorSystem, ref: Any, bucket: TokenBucket,
                                mode: str, gaps: list[float], flow: Flow) -> int:
    """Send after each gap if the bucket has a token: ``wait`` for one, or ``drop`` the
    message as a dead letter; the number refused."""
    refused = 0
    for i, gap in enumerate(gaps):
        await labkit.sleep(gap)
        if mode == "wait":
            async with flow.waiting():
                await bucket.take()  # wait for a token
        elif not bucket.try_take():  # no token now: refuse, with the reason
            refused += 1
            system.dead_letter(i, ref.name, f"rate limited: no token (rate {bucket.rate:g}/s, "
                               f"burst {bucket.burst})")
            continue
        ref.tell(i)
        flow.told()
    return refused


def rate_limit(rate: float = 5.0, burst: int = 3, arrival_rate: float = 20.0,
               messages: int = 100, *, mode: str = "wait", pacing: str = "exponential",
               seed: int | None = 0) -> Run[RateLimitResult]:
    """A token bucket (:class:`labkit.flow.TokenBucket`) of ``rate`` tokens per second
    holding at most ``burst``, between a producer offering ``arrival_rate`` messages per
    second and an actor.

    ``mode="wait"``: the producer waits for a token (``await bucket.take()``): nothing is
    lost, the producer slows to ``rate``. ``mode="drop"``: ``bucket.try_take()``; a message
    with no token becomes a dead letter ("rate limited"). Either way, over any stretch of
    ``T`` seconds at most ``rate * T + burst`` messages get through.
    """
    rate = check_rate("rate", rate)
    burst = check_count("burst", burst, minimum=1)
    arrival_rate = check_rate("arrival_rate", arrival_rate)
    messages = check_count("messages", messages, minimum=1)
    mode = check_choice("mode", mode, ("wait", "drop"))
    pacing = check_choice("pacing", pacing, INTERVALS)

    async def main() -> tuple[list[float], int, float]:
        rng = labkit.rng()
        gaps = [interval(rng, 1.0 / arrival_rate, pacing) for _ in range(messages)]
        bucket = TokenBucket(rate, burst, name="bucket")
        flow = Flow([])
        async with ActorSystem(drain=True) as system:
            ref = system.spawn(_Sink, flow.handle, name="consumer")
            refused = await rate_limited_producer(system, ref, bucket, mode, gaps, flow)
        return flow.admitted, refused, flow.waited

    run = simulate(main, seed=seed)
    admitted, refused, wait = run.result
    span = admitted[-1] - admitted[0] if len(admitted) > 1 else 0.0
    return with_result(run, RateLimitResult(
        rate=rate, burst=burst, mode=mode, messages=messages, admitted=len(admitted),
        refused=refused, admitted_rate=(len(admitted) - 1) / span if span > 0 else math.nan,
        largest_burst=round(_largest_burst(admitted, rate), 9), producer_wait=wait,
        elapsed=run.elapsed))


# -- watermarks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatermarksResult:
    """Headline numbers of :func:`watermarks` (times in virtual seconds).

    ``transitions`` counts the switches between paused and resumed (``pauses`` of them
    pauses); ``paused_time`` is the time the producer spent waiting to resume (a pause that
    ends before its next send costs it nothing). The mailbox is unbounded:
    ``peak_depth`` never goes above ``high`` because the producer pauses there.
    """

    high: int
    low: int
    messages: int
    delivered: int
    transitions: int
    pauses: int
    paused_time: float
    peak_depth: int
    p50_latency: float
    p99_latency: float
    elapsed: float


async def watermark_producer(ref: Any, mailbox: Mailbox, marks: Watermarks,
                             gaps: list[float], flow: Flow) -> None:
    """Send after each gap; the send that brings the depth to ``high`` pauses the
    producer, and it sends nothing more until the consumer has brought the depth down to
    ``low`` (the consumer calls ``marks.update`` as it takes each message)."""
    for i, gap in enumerate(gaps):
        await labkit.sleep(gap)
        if marks.paused:
            async with flow.waiting():
                await marks.wait_resumed()  # woken by the consumer at the low mark
        ref.tell(i)
        flow.told()
        marks.update(len(mailbox))  # reaching the high mark pauses at once


def watermarks(high: int = 8, low: int = 3, arrival_rate: float = 20.0,
               service_rate: float = 10.0, messages: int = 100, *,
               pacing: str = "exponential", seed: int | None = 0) -> Run[WatermarksResult]:
    """High/low watermarks with hysteresis (:class:`labkit.flow.Watermarks`) on an actor's
    unbounded mailbox: the producer pauses when the depth reaches ``high`` and resumes only
    once the consumer has brought it down to ``low``.

    ``low = high - 1`` is a single threshold: the producer flaps between paused and resumed
    on almost every message. A wide gap between the marks switches far less often, at the
    price of a queue that swings between ``low`` and ``high``.
    """
    high = check_count("high", high, minimum=1)
    low = check_count("low", low)
    if low >= high:
        raise ValueError(f"low ({low}) must be below high ({high}); low = high - 1 is a single "
                         "threshold")
    messages, arrival_rate, service_rate, pacing = check_workload(
        messages, arrival_rate, service_rate, pacing)

    async def main() -> tuple[int, Watermarks, int, float]:
        gaps, work = paced_workload(messages, arrival_rate, service_rate, pacing)
        marks = Watermarks(high, low, name="watermarks")
        mailbox = Mailbox(None)
        flow = Flow(work)

        def handle(msg: Any) -> float:
            marks.update(len(mailbox))  # the consumer's side: resume at the low mark
            return flow.handle(msg)

        async with ActorSystem(drain=True) as system:
            ref = system.spawn(_Sink, handle, name="consumer", mailbox=mailbox)
            await watermark_producer(ref, mailbox, marks, gaps, flow)
        return len(flow.handled), marks, marks.transitions - marks.transitions // 2, \
            flow.waited

    run = simulate(main, seed=seed)
    delivered, marks, pauses, paused = run.result
    p50, p99 = _latency_pcts(run)
    return with_result(run, WatermarksResult(
        high=high, low=low, messages=messages, delivered=delivered,
        transitions=marks.transitions, pauses=pauses, paused_time=paused,
        peak_depth=_peak_depth(run), p50_latency=p50, p99_latency=p99,
        elapsed=run.elapsed))


# -- load shedding ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSheddingResult:
    """Headline numbers of :func:`load_shedding` (times in virtual seconds).

    ``shed`` messages were refused before they queued; each is a dead letter whose reason
    says why. ``reasons`` counts the dead letters per reason, most common first.
    """

    threshold: int | None
    probability: float
    messages: int
    admitted: int
    shed: int
    dead_letters: int
    reasons: tuple[tuple[str, int], ...]
    peak_depth: int
    p50_latency: float
    p99_latency: float
    elapsed: float


async def shedding_producer(ref: Any, mailbox: Mailbox, shedder: LoadShedder,
                            gaps: list[float]) -> None:
    """Send after each gap unless the shedder refuses the message first (it records a dead
    letter with the reason)."""
    for i, gap in enumerate(gaps):
        await labkit.sleep(gap)
        if shedder.admit(i, len(mailbox), recipient=ref.name):
            ref.tell(i)


def load_shedding(threshold: int | None = 5, probability: float = 0.0,
                  arrival_rate: float = 20.0, service_rate: float = 10.0,
                  messages: int = 100, *, pacing: str = "exponential",
                  seed: int | None = 0) -> Run[LoadSheddingResult]:
    """Shed load in front of an actor with an unbounded mailbox (:class:`labkit.flow.LoadShedder`).

    A message meeting ``threshold`` or more queued messages is refused (and, with
    ``probability`` > 0, any message at random, from the run's seeded generator). Each shed
    message is a dead letter in ``system.dead_letters`` and in the trace, with its reason,
    so nothing disappears without a record. Latency stays bounded by the threshold.
    """
    if threshold is not None:
        threshold = check_count("threshold", threshold, minimum=1)
    probability = check_fraction("probability", probability, allow_zero=True, allow_one=True)
    if threshold is None and probability == 0:
        raise ValueError("give a threshold, a probability > 0, or both: otherwise nothing "
                         "is ever shed (that is policy 'unbounded' of overload())")
    messages, arrival_rate, service_rate, pacing = check_workload(
        messages, arrival_rate, service_rate, pacing)

    async def main() -> tuple[int, int, list[str]]:
        gaps, work = paced_workload(messages, arrival_rate, service_rate, pacing)
        mailbox = Mailbox(None)
        handled: list[int] = []

        def handle(msg: Any) -> float:
            handled.append(msg)
            return work[len(handled) - 1]

        async with ActorSystem(drain=True) as system:
            shedder = LoadShedder(threshold, probability, system=system, name="shedder")
            ref = system.spawn(_Sink, handle, name="consumer", mailbox=mailbox)
            await shedding_producer(ref, mailbox, shedder, gaps)
        return len(handled), shedder.shed, [d.reason for d in system.dead_letters]

    run = simulate(main, seed=seed)
    delivered, shed, letters = run.result
    p50, p99 = _latency_pcts(run)
    reasons = tuple(sorted(Counter(letters).items(), key=lambda kv: (-kv[1], kv[0])))
    return with_result(run, LoadSheddingResult(
        threshold=threshold, probability=probability, messages=messages,
        admitted=delivered, shed=shed, dead_letters=len(letters), reasons=reasons,
        peak_depth=_peak_depth(run), p50_latency=p50, p99_latency=p99,
        elapsed=run.elapsed))
