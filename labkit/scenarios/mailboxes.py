"""Notebook 01 (mailboxes): buffering, FIFO order, who closes, typed messages, select
fairness, replies, ownership, each in the Go model and the Rust model on the same workload.

Every function is a pure function of its parameters and ``seed`` returning a
:class:`labkit.Run`; its ``result`` is a small frozen dataclass of headline numbers, in
virtual seconds. The rules cited are in docs/rules.md.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import anyio

import labkit
from labkit import Run, go, rust
from labkit._check import check_bool, check_choice, check_int, check_optional_seconds
from labkit.actor import Actor, ActorSystem, Context, WrongMessageType
from labkit.scenarios._common import (
    check_count,
    check_model,
    check_parties,
    check_seconds,
    check_workload,
    paced_workload,
    simulate,
    simulate_may_hang,
    with_result,
)

__all__ = (
    "CONTRACT_MODELS",
    "HANDLERS",
    "MODELS",
    "ask_reply",
    "AskReplyResult",
    "fifo_order",
    "FifoResult",
    "go_ask_main",
    "go_consumer_main",
    "go_contracts_main",
    "go_edit_after_send",
    "go_fifo_closer",
    "go_fifo_main",
    "go_fifo_producer",
    "go_late_reader",
    "go_producer",
    "go_range_consumer",
    "go_replier",
    "go_select_main",
    "go_server",
    "go_shutdown_main",
    "go_stream_producer",
    "go_type_switch_worker",
    "message_contracts",
    "MessageContractsResult",
    "Msg",
    "OldMsg",
    "ownership",
    "OwnershipResult",
    "producer_consumer",
    "ProducerConsumerResult",
    "rust_ask_main",
    "rust_consumer_main",
    "rust_consumer_with_own_handle",
    "rust_contracts_main",
    "rust_edit_after_send",
    "rust_fifo_main",
    "rust_fifo_producer",
    "rust_handler_table",
    "rust_late_reader",
    "rust_match_worker",
    "rust_producer",
    "rust_replier",
    "rust_select_main",
    "rust_server",
    "rust_shutdown_main",
    "rust_stream_producer",
    "select_fairness",
    "SelectFairnessResult",
    "who_closes",
    "WhoClosesResult",
)

MODELS = ("go", "rust")


def _channel_name(model: str, capacity: int) -> str:
    """The channel the model builds for ``capacity``, spelled as in the source language."""
    if model == "go":
        return f"make(chan T, {capacity})" if capacity else "make(chan T)"
    # tokio has no zero-capacity mpsc (R8): the rendezvous is std's sync_channel(0) (R2).
    if capacity:
        return f"tokio::sync::mpsc::channel({capacity})"
    return "std::sync::mpsc::sync_channel(0)"


def _rust_channel(capacity: int) -> tuple[Any, Any]:
    return rust.mpsc.channel(capacity) if capacity else rust.mpsc.sync_channel(0)


# == producer_consumer: buffered vs rendezvous (G1, G2, R2, R8) ===========================


@dataclass(frozen=True)
class ProducerConsumerResult:
    """Headline numbers of :func:`producer_consumer` (all times in virtual seconds).

    ``producer_blocked`` is the time the producer spent waiting inside ``send`` (for a
    free slot or, at capacity 0, for the consumer); ``blocked_sends`` counts the sends that
    waited at all. ``consumer_idle`` is the time the consumer spent waiting for a message.
    ``latency`` runs from the start of a send to the consumer receiving the value.
    """

    model: str
    channel: str
    capacity: int
    messages: int
    delivered: int
    in_order: bool
    elapsed: float
    producer_blocked: float
    blocked_sends: int
    consumer_idle: float
    peak_depth: int
    mean_latency: float
    max_latency: float


class _PCStats:
    """The measurements of :func:`producer_consumer`, kept out of the code a learner reads."""

    __slots__ = ("blocked", "blocked_sends", "free_since", "has_depth", "idle", "latencies",
                 "peak", "queue", "received", "sending", "sent_at")

    def __init__(self, n: int, queue: Any) -> None:
        self.queue = queue  # the channel end whose len() is the depth (none for std's)
        self.has_depth = hasattr(queue, "__len__")
        self.sent_at = [0.0] * n
        self.sending = 0
        self.blocked = 0.0
        self.blocked_sends = 0
        self.peak = 0
        self.idle = 0.0
        self.free_since = 0.0
        self.latencies: list[float] = []
        self.received: list[int] = []

    def timing_send(self, i: int) -> _PCStats:
        """``with stats.timing_send(i):`` around the send of ``i``: when it started, how
        long it waited, how deep the queue got. (The stats are their own context manager:
        a generator-based one would cost more than the send it measures.)"""
        self.sending = i
        return self

    def __enter__(self) -> None:
        self.sent_at[self.sending] = labkit.now()

    def __exit__(self, error: type[BaseException] | None, *_: object) -> None:
        if error is not None:  # the send failed: nothing to measure
            return
        waited = labkit.now() - self.sent_at[self.sending]
        if waited > 0:
            self.blocked += waited
            self.blocked_sends += 1
        depth = len(self.queue) if self.has_depth else 0
        self.peak = max(self.peak, depth)

    def got(self, v: int) -> None:
        """The consumer received ``v``: its latency, and how long the consumer sat idle."""
        t = labkit.now()
        self.idle += t - self.free_since
        self.latencies.append(t - self.sent_at[v])
        self.received.append(v)

    def ready(self) -> None:
        """The consumer is done with a message and free to receive the next."""
        self.free_since = labkit.now()

    def result(self, model: str, capacity: int, n: int) -> ProducerConsumerResult:
        lat = self.latencies
        return ProducerConsumerResult(
            model=model, channel=_channel_name(model, capacity), capacity=capacity,
            messages=n, delivered=len(self.received),
            in_order=self.received == list(range(n)), elapsed=labkit.now(),
            producer_blocked=self.blocked, blocked_sends=self.blocked_sends,
            consumer_idle=self.idle, peak_depth=self.peak,
            mean_latency=sum(lat) / len(lat) if lat else 0.0,
            max_latency=max(lat, default=0.0))


async def go_producer(ch: go.Chan[int], gaps: list[float], stats: _PCStats) -> None:
    """Send 0, 1, 2, ... one after each gap, then close the channel (G11, G16)."""
    for i, gap in enumerate(gaps):
        await go.sleep(gap)
        with stats.timing_send(i):
            await ch.send(i)  # unbuffered: waits for the receiver (G1); else for a slot (G2)
    ch.close()  # the sender closes, once: the consumer's range loop ends (G28)


async def go_consumer_main(capacity: int, n: int, producer_rate: float,
                           consumer_rate: float, pacing: str) -> ProducerConsumerResult:
    """main: make the channel, start the producer, receive until the channel is closed."""
    gaps, work = paced_workload(n, producer_rate, consumer_rate, pacing)
    ch: go.Chan[int] = go.Chan(capacity)  # make(chan int) or make(chan int, capacity)
    stats = _PCStats(n, ch)
    go.go(go_producer, ch, gaps, stats)
    async for v in ch:  # for v := range ch: values in send order (G3) until closed (G28)
        stats.got(v)
        await go.sleep(work[v])  # handle v
        stats.ready()
    return stats.result("go", capacity, n)


async def rust_producer(tx: Any, gaps: list[float], stats: _PCStats) -> None:
    """Send 0, 1, 2, ... one after each gap; dropping tx at the end closes the channel (R3)."""
    with tx:  # drop(tx) when the block ends
        for i, gap in enumerate(gaps):
            await rust.sleep(gap)
            with stats.timing_send(i):
                # tokio: waits for a free slot (R9); std sync_channel(0): for the receiver
                # (R2), blocking a whole thread in real Rust
                (await tx.send(i)).unwrap()


async def rust_consumer_main(capacity: int, n: int, producer_rate: float,
                             consumer_rate: float, pacing: str) -> ProducerConsumerResult:
    """main: make the channel, spawn the producer, receive until every Sender is dropped."""
    gaps, work = paced_workload(n, producer_rate, consumer_rate, pacing)
    tx, rx = (rust.mpsc.channel(capacity) if capacity > 0  # tokio (R8, R9)
              else rust.mpsc.sync_channel(0))  # std: tokio has no rendezvous channel (R2)
    stats = _PCStats(n, rx)
    producer = rust.spawn(rust_producer, tx, gaps, stats, name="producer")
    async for v in rx:  # while let Some(v) = rx.recv().await: None once closed (R15)
        stats.got(v)
        await rust.sleep(work[v])  # handle v
        stats.ready()
    (await producer).unwrap()  # a panic in the producer must not pass for a short run
    return stats.result("rust", capacity, n)


def producer_consumer(model: str = "go", capacity: int = 0, producer_rate: float = 10.0,
                      consumer_rate: float = 10.0, messages: int = 100, *,
                      pacing: str = "exponential", seed: int | None = 0
                      ) -> Run[ProducerConsumerResult]:
    """One producer, one consumer, one channel of ``capacity`` slots.

    The producer waits a gap of mean ``1/producer_rate`` seconds before each send; the
    consumer takes a mean ``1/consumer_rate`` seconds per message (``pacing``:
    "exponential" or "fixed"); the same seed gives both models the same gaps and times.
    Go: ``go.Chan(capacity)``, unbuffered at 0 (G1) or buffered (G2), FIFO (G3), closed by
    the producer (G11, G16, G28). Rust: tokio ``mpsc.channel(capacity)`` (R8, R9), and at
    capacity 0 std ``sync_channel(0)``, a rendezvous, since tokio has none (R2, R8); the
    producer's drop closes it (R3, R15). Watch ``producer_blocked`` fall as capacity grows.
    """
    model = check_model(model, MODELS)
    capacity = check_count("capacity", capacity)
    messages, producer_rate, consumer_rate, pacing = check_workload(
        messages, producer_rate, consumer_rate, pacing,
        names=("messages", "producer_rate", "consumer_rate"), min_messages=0)
    main = go_consumer_main if model == "go" else rust_consumer_main
    return simulate(main, capacity, messages, producer_rate, consumer_rate, pacing, seed=seed)


# == fifo_order: per-sender FIFO, interleaving across senders (G3, G7, R1, R10) ==========


@dataclass(frozen=True)
class FifoResult:
    """What :func:`fifo_order` received, in order, as ``(producer, seq)`` pairs.

    ``per_producer_fifo`` is true when each producer's values arrived in the order it sent
    them; ``switches`` counts how often consecutive values came from different producers
    (0 would mean no interleaving at all).
    """

    model: str
    producers: int
    messages: int
    received: tuple[tuple[int, int], ...]
    per_producer_fifo: bool
    switches: int


def _fifo_result(model: str, producers: int, n: int,
                 got: list[tuple[int, int]]) -> FifoResult:
    per_producer = all([s for p, s in got if p == k] == list(range(n)) for k in range(producers))
    switches = sum(1 for a, b in itertools.pairwise(got) if a[0] != b[0])
    return FifoResult(model, producers, n, tuple(got), per_producer, switches)


async def go_fifo_producer(ch: go.Chan[tuple[int, int]], p: int, gaps: list[float],
                           wg: go.WaitGroup) -> None:
    """Producer p sends (p, 0), (p, 1), ... on the shared channel (G7), in order (G3)."""
    for seq, gap in enumerate(gaps):
        await go.sleep(gap)
        await ch.send((p, seq))
    wg.done()


async def go_fifo_closer(ch: go.Chan[tuple[int, int]], wg: go.WaitGroup) -> None:
    """Close once, after every producer is done: the usual many-sender pattern (G16)."""
    await wg.wait()
    ch.close()  # one place closes, after every sender is done (G16)


async def go_fifo_main(producers: int, n: int, capacity: int, gap: float) -> FifoResult:
    """main: one channel for all producers; receive until it is closed (G28)."""
    rng = labkit.rng()
    ch: go.Chan[tuple[int, int]] = go.Chan(capacity)
    wg = go.WaitGroup()
    wg.add(producers)
    for p in range(producers):
        gaps = [rng.expovariate(1 / gap) for _ in range(n)]
        go.go(go_fifo_producer, ch, p, gaps, wg)  # every producer sends on the same ch
    go.go(go_fifo_closer, ch, wg)
    got = [v async for v in ch]
    return _fifo_result("go", producers, n, got)


async def rust_fifo_producer(tx: Any, p: int, gaps: list[float]) -> None:
    """Producer p sends (p, 0), (p, 1), ... on its own Sender clone, in order (R10)."""
    with tx:
        for seq, gap in enumerate(gaps):
            await rust.sleep(gap)
            (await tx.send((p, seq))).unwrap()


async def rust_fifo_main(producers: int, n: int, capacity: int, gap: float) -> FifoResult:
    """main: one Sender clone per producer; receive until the last clone is dropped (R3)."""
    rng = labkit.rng()
    tx, rx = _rust_channel(capacity)
    for p in range(producers):
        gaps = [rng.expovariate(1 / gap) for _ in range(n)]
        rust.spawn(rust_fifo_producer, tx.clone(), p, gaps)  # one Sender clone each
    tx.drop()  # only the producers' clones keep the channel open now (R3)
    got = [v async for v in rx]
    return _fifo_result("rust", producers, n, got)


def fifo_order(model: str = "go", producers: int = 3, messages: int = 5, capacity: int = 2,
               gap: float = 0.010, *, seed: int | None = 0) -> Run[FifoResult]:
    """``producers`` senders each send ``messages`` numbered values, with random gaps of
    mean ``gap`` seconds, into one channel of ``capacity``; one receiver collects them.

    Each sender's values arrive in send order (G3; R1, R10), while values of different
    senders interleave. Go: many senders on one channel (G7), closed once by a closer that
    waits on a WaitGroup (G16). Rust: one cloned Sender per producer; the channel closes
    when the last clone is dropped (R3, R15).
    """
    model = check_model(model, MODELS)
    producers = check_parties("producers", producers)
    messages = check_count("messages", messages)
    capacity = check_count("capacity", capacity)
    gap = check_seconds("gap", gap)
    main = go_fifo_main if model == "go" else rust_fifo_main
    return simulate(main, producers, messages, capacity, gap, seed=seed)


# == who_closes: Go's explicit close vs Rust's last-sender drop (G16, G28, G33, R3, R20) ==


@dataclass(frozen=True)
class WhoClosesResult:
    """Did shutdown work? :func:`who_closes` never raises on a hang; it reports it.

    ``hung`` is true when the consumer never saw the end of the stream. ``deadlock`` is true
    when every task was blocked (Go's "all goroutines are asleep", G33); then ``blocked``
    says what each task waited on. ``leaked`` names the tasks still running when ``main``
    gave up (or was stopped by the deadlock).
    """

    model: str
    mistake: bool
    messages: int
    received: int
    hung: bool
    deadlock: bool
    leaked: tuple[str, ...]
    blocked: dict[str, str]
    explanation: str


_WHO_CLOSES_EXPLAINED = {
    ("go", True): "the producer never called close(ch), so the consumer's range loop waits "
                  "forever for a value that will never come (G16, G28)",
    ("go", False): "the producer called close(ch) after its last send, so the consumer's "
                   "range loop drained the channel and ended (G11, G28)",
    ("rust", True): "the consumer kept a strong Sender clone to its own channel, so the last "
                    "sender is never dropped and recv() never returns None (R3, R15)",
    ("rust", False): "the consumer kept only a WeakSender, which does not keep the channel "
                     "open; when the producer dropped its sender, recv() returned None (R20)",
}


async def go_stream_producer(ch: go.Chan[int], n: int, close: bool) -> None:
    """Send n values; close(ch) only if ``close`` (the mistake is forgetting it, G16)."""
    for i in range(n):
        await go.sleep(0.010)
        await ch.send(i)
    if close:
        ch.close()


async def go_range_consumer(ch: go.Chan[int], got: list[int], done: go.Chan[None]) -> None:
    """Receive until ch is closed and drained (G28), then signal done."""
    async for v in ch:  # for v := range ch: ends only when ch is closed and drained (G28)
        got.append(v)
    done.close()


async def go_shutdown_main(n: int, mistake: bool, patience: float | None,
                           got: list[int]) -> bool:
    """main: wait for the consumer, forever or at most ``patience`` seconds (G33)."""
    ch: go.Chan[int] = go.Chan(0)
    done: go.Chan[None] = go.Chan(0)
    go.go(go_stream_producer, ch, n, not mistake)
    go.go(go_range_consumer, ch, got, done)
    if patience is None:
        await done.recv()  # waits forever if the consumer hangs: a deadlock (G33)
        return False
    sel = await go.select(go.Recv(done), go.Recv(go.after(patience)))
    return sel.index == 1  # main gives up; the consumer is leaked


async def rust_stream_producer(tx: Any, n: int) -> None:
    """Send n values; dropping tx at the end is the producer's part of closing (R3)."""
    with tx:  # dropped when the producer is done
        for i in range(n):
            await rust.sleep(0.010)
            (await tx.send(i)).unwrap()


async def rust_consumer_with_own_handle(rx: Any, own_sender: Any, got: list[int]) -> None:
    """Receive until recv() returns None (R15), then drop the handle to the own mailbox."""
    # The consumer holds a handle to its own channel, say to re-queue work for itself; as a
    # strong Sender it keeps the channel open (R3), as a WeakSender it does not (R20).
    while (v := await rx.recv()) is not None:
        got.append(v)
    own_sender.drop()


async def rust_shutdown_main(n: int, mistake: bool, patience: float | None,
                             got: list[int]) -> bool:
    """main: the consumer gets a strong clone (the mistake, R3) or a WeakSender (R20)."""
    tx, rx = rust.mpsc.channel(1)
    own = tx.clone() if mistake else tx.downgrade()
    consumer = rust.spawn(rust_consumer_with_own_handle, rx, own, got, name="consumer")
    rust.spawn(rust_stream_producer, tx, n, name="producer")
    if patience is None:
        (await consumer).unwrap()  # waits forever if the consumer hangs: every task blocked
        return False
    outcome = await rust.timeout(patience, consumer)
    if outcome.is_ok():
        outcome.unwrap().unwrap()
    return outcome.is_err()


def who_closes(model: str = "go", mistake: bool = True, messages: int = 3,
               patience: float | None = 1.0, *, seed: int | None = 0) -> Run[WhoClosesResult]:
    """A producer sends ``messages`` values to a consumer that reads until the stream ends;
    ``main`` then waits for the consumer, at most ``patience`` seconds.

    Go (G11, G16, G28): the mistake is forgetting ``close(ch)``, so the consumer's ``range``
    never ends. Rust (R3, R15, R20): the mistake is a stray strong ``Sender`` clone (held by
    the consumer itself), so ``recv()`` never returns ``None``; the fix is a ``WeakSender``.
    With ``patience=None`` (or ``inf``) main waits forever, every task ends up blocked and
    the run is a deadlock (G33); otherwise main gives up and the consumer is leaked. Never
    raises on a hang: ``result.hung`` says what happened.
    """
    model = check_model(model, MODELS)
    mistake = check_bool("mistake", mistake)
    messages = check_count("messages", messages)
    patience = check_optional_seconds("patience", patience)
    if patience == math.inf:
        patience = None  # waiting for ever is waiting with no limit
    main = go_shutdown_main if model == "go" else rust_shutdown_main
    got: list[int] = []  # filled by the consumer, readable even after a deadlock
    run, blocked = simulate_may_hang(main, messages, mistake, patience, got, seed=seed)
    deadlock = bool(blocked)
    gave_up = True if run.result is None else run.result
    leaked = tuple(sorted(name for name in blocked if name != "main")) if deadlock else run.leaked
    result = WhoClosesResult(
        model=model, mistake=mistake, messages=messages, received=len(got),
        hung=gave_up, deadlock=deadlock, leaked=leaked, blocked=blocked,
        explanation=_WHO_CLOSES_EXPLAINED[model, mistake])
    return with_result(run, result)


# == select_fairness: uniform choice vs biased starvation (G21, R28) ======================


@dataclass(frozen=True)
class SelectFairnessResult:
    """How often each of two always-ready inputs won :func:`select_fairness`.

    ``longest_wait_b`` is the longest run of consecutive selects that input "b" lost.
    """

    model: str
    biased: bool
    iterations: int
    wins_a: int
    wins_b: int
    share_a: float
    share_b: float
    longest_wait_b: int


def _fairness(model: str, biased: bool, picks: list[int]) -> SelectFairnessResult:
    n = len(picks)
    wins_b = sum(picks)
    longest = run = 0
    for pick in picks:
        run = 0 if pick else run + 1
        longest = max(longest, run)
    return SelectFairnessResult(model, biased, n, n - wins_b, wins_b,
                                (n - wins_b) / n if n else 0.0, wins_b / n if n else 0.0,
                                longest)


async def go_select_main(iterations: int, biased: bool) -> SelectFairnessResult:
    """Select between two always-ready channels (G21); ``biased``: Go's priority idiom."""
    a: go.Chan[str] = go.Chan(iterations)
    b: go.Chan[str] = go.Chan(iterations)
    for _ in range(iterations):  # both inputs stay ready for every select
        await a.send("a")
        await b.send("b")
    picks: list[int] = []
    for _ in range(iterations):
        if biased:
            # Go has no biased select; the priority idiom is a first select on "a" alone
            # with a default, then a fair select on both.
            first = await go.select(go.Recv(a), default=True)
            if first.index == 0:
                picks.append(0)
                continue
        sel = await go.select(go.Recv(a), go.Recv(b))  # uniform among ready cases (G21)
        picks.append(sel.index)
    return _fairness("go", biased, picks)


async def rust_select_main(iterations: int, biased: bool) -> SelectFairnessResult:
    """tokio select! between two always-ready receivers: random start, or ``biased;`` (R28)."""
    tx_a, rx_a = rust.mpsc.unbounded_channel()
    tx_b, rx_b = rust.mpsc.unbounded_channel()
    for _ in range(iterations):  # both inputs stay ready for every select
        tx_a.send("a").unwrap()
        tx_b.send("b").unwrap()
    picks: list[int] = []
    for _ in range(iterations):
        # Random start by default; declaration order with biased (R28). recv() is
        # cancel-safe, so the losing branch loses no message (R30).
        index, _value = await rust.select(rx_a.recv(), rx_b.recv(), biased=biased)
        picks.append(index)
    return _fairness("rust", biased, picks)


def select_fairness(model: str = "go", biased: bool = False, iterations: int = 1000, *,
                    seed: int | None = 0) -> Run[SelectFairnessResult]:
    """Select ``iterations`` times between two inputs "a" and "b" that are always ready.

    Go picks uniformly at random among ready cases (G21): about half each. tokio's
    ``select!`` starts from a random branch by default (R28): also about half each; with
    ``biased=True`` it polls in declaration order and "b" starves (R28). Go has no biased
    select: ``biased=True`` uses Go's priority idiom (a select on "a" with a ``default``
    first, G22), which starves "b" the same way.
    """
    model = check_model(model, MODELS)
    biased = check_bool("biased", biased)
    iterations = check_count("iterations", iterations)
    main = go_select_main if model == "go" else rust_select_main
    return simulate(main, iterations, biased, seed=seed)


# == ask_reply: a reply channel in the message vs a oneshot (R22, R40; contrast 2) ========


@dataclass(frozen=True)
class AskReplyResult:
    """What happened to :func:`ask_reply`'s requests and to the tasks that answered them.

    ``blocked_repliers`` counts replier tasks stuck forever on a reply nobody will receive
    (they are in ``run.leaked`` too). ``failed_replies`` counts replies that were refused
    because the caller had left: Rust's oneshot ``send`` returning ``Err(v)`` (R22).
    """

    model: str
    reply_buffer: int
    requests: int
    answered: int
    timed_out: int
    blocked_repliers: int
    failed_replies: int


class _AskStats:
    __slots__ = ("answered", "failed", "finished", "reached", "timed_out")

    def __init__(self) -> None:
        self.answered = 0
        self.timed_out = 0
        self.reached = 0  # repliers that got to the point of replying
        self.finished = 0  # repliers whose reply went through or was refused
        self.failed = 0

    def result(self, model: str, buffer: int, requests: int) -> AskReplyResult:
        return AskReplyResult(model, buffer, requests, self.answered, self.timed_out,
                              self.reached - self.finished, self.failed)


async def go_replier(value: int, reply: go.Chan[int], service: float, stats: _AskStats,
                     progress: go.Chan[None]) -> None:
    """Reply after the service time; an unbuffered reply with no receiver blocks forever (G1)."""
    await go.sleep(service)
    stats.reached += 1
    await progress.send(None)
    await reply.send(value * 2)  # unbuffered and the caller gone: blocks forever
    stats.finished += 1


async def go_server(requests: go.Chan[tuple[int, go.Chan[int]]], services: list[float],
                    stats: _AskStats, progress: go.Chan[None]) -> None:
    """One replier goroutine per request; the reply channel came in the message."""
    k = 0
    async for value, reply in requests:  # one replier goroutine per request
        go.go(go_replier, value, reply, services[k], stats, progress)
        k += 1


async def go_ask_main(n: int, timeout: float, services: list[float],
                      buffer: int) -> AskReplyResult:
    """The caller: send a request with a fresh reply channel, then select on it and a timer."""
    stats = _AskStats()
    requests: go.Chan[tuple[int, go.Chan[int]]] = go.Chan(0)
    progress: go.Chan[None] = go.Chan(n)
    go.go(go_server, requests, services, stats, progress)
    for i in range(n):
        reply: go.Chan[int] = go.Chan(buffer)  # the reply channel travels in the message
        await requests.send((i, reply))
        sel = await go.select(go.Recv(reply), go.Recv(go.after(timeout)))
        if sel.index == 0:
            stats.answered += 1
        else:
            stats.timed_out += 1  # the caller leaves; nobody will receive from reply
    requests.close()
    for _ in range(n):  # every replier has reached its reply
        await progress.recv()
    await go.sleep(0)  # let the repliers whose send can proceed finish
    return stats.result("go", buffer, n)


async def rust_replier(value: int, reply: Any, service: float, stats: _AskStats) -> None:
    """Reply through the oneshot: never waits, Err(v) when the caller has gone (R22)."""
    await rust.sleep(service)
    stats.reached += 1
    if reply.send(value * 2).is_err():  # never waits; Err(v) when the caller left (R22)
        stats.failed += 1
    stats.finished += 1


async def rust_server(rx: Any, services: list[float], stats: _AskStats) -> None:
    """One replier task per request; the oneshot Sender came in the message (R40)."""
    k = 0
    handles = []
    while (msg := await rx.recv()) is not None:
        value, reply = msg
        handles.append(rust.spawn(rust_replier, value, reply, services[k], stats))
        k += 1
    for handle in handles:
        (await handle).unwrap()


async def rust_ask_main(n: int, timeout: float, services: list[float],
                        buffer: int) -> AskReplyResult:
    """The caller: send a request with a oneshot Sender, await the reply with a timeout."""
    stats = _AskStats()
    tx, rx = rust.mpsc.channel(1)
    server = rust.spawn(rust_server, rx, services, stats, name="server")
    for i in range(n):
        reply_tx, reply_rx = rust.oneshot.channel()
        (await tx.send((i, reply_tx))).unwrap()
        got = await rust.timeout(timeout, reply_rx)
        if got.is_ok():
            stats.answered += 1
        else:
            stats.timed_out += 1
            reply_rx.drop()  # the caller leaves: its receiver is dropped (R22)
    tx.drop()
    (await server).unwrap()
    return stats.result("rust", buffer, n)


def ask_reply(model: str = "go", caller_timeout: float = 0.100, service_time: float = 0.100,
              requests: int = 20, reply_buffer: int = 0, *,
              seed: int | None = 0) -> Run[AskReplyResult]:
    """A caller makes ``requests`` requests one after another, each waiting at most
    ``caller_timeout`` seconds for its reply; each is answered by its own replier task after
    an exponential service time of mean ``service_time``.

    Go: the reply channel travels in the message; the caller ``select``s on it and a timer
    (G21, G45). With ``reply_buffer=0`` (unbuffered, G1) a replier whose caller timed out
    blocks forever on its send: ``blocked_repliers`` counts them and they are leaked; with
    ``reply_buffer=1`` (G2) the reply is parked in the buffer and the replier moves on.
    Rust: a ``oneshot`` in the message (R40); ``send`` never waits and returns ``Err(v)``
    when the caller has gone (R22), so nothing leaks (``reply_buffer`` is ignored).
    """
    model = check_model(model, MODELS)
    caller_timeout = check_seconds("caller_timeout", caller_timeout)
    service_time = check_seconds("service_time", service_time)
    requests = check_count("requests", requests)
    reply_buffer = check_count("reply_buffer", reply_buffer)

    async def main() -> AskReplyResult:
        rng = labkit.rng()
        services = [rng.expovariate(1.0 / service_time) for _ in range(requests)]
        if model == "go":
            return await go_ask_main(requests, caller_timeout, services, reply_buffer)
        return await rust_ask_main(requests, caller_timeout, services, reply_buffer)

    return simulate(main, seed=seed)


# == ownership: shared mutable message vs a move (R37) ====================================


@dataclass(frozen=True)
class OwnershipResult:
    """What the receiver saw in :func:`ownership`, and what the sender's late edit did.

    ``sent`` is the message when it was sent; ``received`` what the receiver read later.
    ``mutation_visible`` is true when the sender's edit after the send reached the
    receiver. ``error`` is the error the edit raised, if it was refused (a moved value).
    """

    model: str
    sent: tuple[str, ...]
    received: tuple[str, ...]
    mutation_visible: bool
    error: str | None


async def go_late_reader(ch: go.Chan[list[str]], out: go.Chan[tuple[str, ...]]) -> None:
    """Receive the message, read it 10 ms later."""
    msg, _ok = await ch.recv()
    await go.sleep(0.010)  # the receiver reads the message a little later
    await out.send(tuple(msg))


async def go_edit_after_send() -> OwnershipResult:
    """Send a list, then edit it: the copied slice header still points at the same array."""
    ch: go.Chan[list[str]] = go.Chan(1)
    out: go.Chan[tuple[str, ...]] = go.Chan(0)
    go.go(go_late_reader, ch, out)
    msg = ["order", "qty=1"]
    sent = tuple(msg)
    await ch.send(msg)  # Go sends the reference (a slice header): both sides share it
    msg[1] = "qty=100"  # compiles and runs: a data race in real Go
    received, _ok = await out.recv()
    return OwnershipResult("go", sent, received, received != sent, None)


async def rust_late_reader(rx: Any, out: Any) -> None:
    """Receive the message, read it 10 ms later."""
    msg = await rx.recv()
    await rust.sleep(0.010)
    out.send(tuple(msg.value))


async def rust_edit_after_send() -> OwnershipResult:
    """Send an Owned list, then try to edit it: the send moved it (R37)."""
    tx, rx = rust.mpsc.channel(1)
    out_tx, out_rx = rust.oneshot.channel()
    rust.spawn(rust_late_reader, rx, out_tx, name="receiver")
    msg: rust.Owned[list[str]] = rust.Owned(["order", "qty=1"])
    sent = tuple(msg.value)
    (await tx.send(msg)).unwrap()  # the send moves msg (R37)
    error: str | None = None
    try:
        msg.value[1] = "qty=100"  # Rust: error[E0382]: borrow of moved value
    except rust.MovedValueError as exc:
        error = f"{type(exc).__name__}: {exc}"
    received = (await out_rx).unwrap()
    return OwnershipResult("rust", sent, received, received != sent, error)


def ownership(model: str = "go", *, seed: int | None = 0) -> Run[OwnershipResult]:
    """The sender edits a message after sending it; what does the receiver see?

    Go: the channel carries a reference to the same list, so the edit shows up at the
    receiver (a data race in real Go; the memory model, G8, only orders the send itself).
    Rust: sending an ``Owned`` moves it (R37); the sender's handle is spent and the edit
    raises ``MovedValueError`` (Rust refuses to compile it, E0382), so the receiver reads
    exactly what was sent.
    """
    model = check_model(model, MODELS)
    main = go_edit_after_send if model == "go" else rust_edit_after_send
    return simulate(main, seed=seed)


# == message_contracts: a new message kind, type switch vs exhaustive match (R39) =========


@rust.enum
class OldMsg:
    """The worker's protocol as it was written: three kinds of request."""

    class Ping: ...

    class Put:
        key: str
        value: int

    class Get:
        key: str


@rust.enum
class Msg:
    """The same protocol after a teammate added ``Stop`` ("finish and exit")."""

    class Ping: ...

    class Put:
        key: str
        value: int

    class Get:
        key: str

    class Stop: ...


#: How the worker's handler treats the message kinds it was written for: ``"stale"`` is the
#: handler as written before ``Stop`` existed; ``"wildcard"`` adds a catch-all arm (Rust's
#: ``_ => {}``); ``"updated"`` handles ``Stop`` by stopping.
HANDLERS = ("stale", "wildcard", "updated")
CONTRACT_MODELS = ("go", "rust", "actor")

_GAP = 0.010  # between two client sends (s)
_WORK = 0.002  # handling one request (s): the worker is always idle when the next arrives
_PATIENCE = 1.0  # how long the client waits for the worker to end after its last send (s)


@dataclass(frozen=True)
class MessageContractsResult:
    """What happened to each message kind in :func:`message_contracts`.

    Per kind (dicts keyed by variant name, in protocol order): ``sent`` counts the client's
    send attempts; each ends ``handled`` by a matching arm, ``ignored`` by a catch-all arm
    (silently: Go's ``default``, Rust's ``_``), or ``refused`` at the sender (Rust
    ``SendError(v)``, Go's ``done`` channel, an actor's ``WrongMessageType`` or dead letter).
    ``rejected_at_registration`` is true when the handler table failed the exhaustiveness
    check before any message flowed (Rust E0004, R39); ``error`` is the first error text,
    ``missing`` the variants it named. ``work_after_stop`` counts requests handled that
    were sent after the first ``Stop``; ``stopped`` says the worker ended because it handled
    ``Stop``, ``finished`` that it ended at all while the client waited.
    """

    model: str
    new_variant: bool
    handler: str
    protocol: tuple[str, ...]
    rejected_at_registration: bool
    error: str | None
    missing: tuple[str, ...]
    sent: dict[str, int]
    handled: dict[str, int]
    ignored: dict[str, int]
    refused: dict[str, int]
    processed: int
    silently_ignored: int
    work_after_stop: int
    stopped: bool
    finished: bool
    explanation: str


_CONTRACTS_EXPLAINED = {
    ("go", "stale"): "Stop fell into the type switch's default branch: no error, nothing "
                     "in the trace beyond its receive; the worker kept serving and never "
                     "exited (Go does not check a type switch for exhaustiveness)",
    ("go", "wildcard"): "Go's default branch is the wildcard: Stop was ignored silently and "
                        "the worker never exited",
    ("go", "updated"): "the type switch gained `case Stop`, so the worker exited; later "
                       "sends saw the closed done channel and gave up",
    ("rust", "stale"): "the handler table misses Stop, so registration failed with E0004 "
                       "before any message was sent (R39)",
    ("rust", "wildcard"): "a `_` arm makes any match exhaustive: Stop was ignored silently, "
                          "and the worker ended only when the last Sender was dropped (R3)",
    ("rust", "updated"): "the handler matches Stop and returns, dropping the Receiver; later "
                         "sends came back as Err(SendError(v)) (R9, R17)",
    ("actor", "stale"): "the actor accepts only the old kinds, so tell(Stop) raised "
                        "WrongMessageType at the sender: loud, but at run time",
    ("actor", "wildcard"): "the actor accepts every Msg and its `case _` ignores Stop "
                           "silently, as Go's default does",
    ("actor", "updated"): "the actor stops on Stop; later messages became dead letters "
                          "(\"actor stopped\")",
}
_OLD_PROTOCOL_EXPLAINED = ("the old protocol has no Stop: every request was handled and the "
                           "worker ended when the stream ended (G28, R3)")


class _ContractLog:
    """The worker's and the client's own view: nothing here comes from the trace."""

    __slots__ = ("error", "finished", "handled", "ignored", "kinds", "missing", "refused",
                 "rejected", "sent", "stop_sent", "stopped", "work_after_stop")

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        self.sent = dict.fromkeys(kinds, 0)
        self.handled = dict.fromkeys(kinds, 0)
        self.ignored = dict.fromkeys(kinds, 0)
        self.refused = dict.fromkeys(kinds, 0)
        self.stop_sent = False  # the client has sent (or tried to send) a Stop
        self.work_after_stop = 0
        self.rejected = False
        self.error: str | None = None
        self.missing: tuple[str, ...] = ()
        self.stopped = False
        self.finished = False

    def send(self, msg: Any) -> None:
        """The client is about to send ``msg``."""
        self.sent[type(msg).__name__] += 1
        if _is_stop(msg):
            self.stop_sent = True

    def handle(self, msg: Any) -> None:
        self.handled[type(msg).__name__] += 1
        if self.stop_sent and not _is_stop(msg):
            self.work_after_stop += 1

    def ignore(self, msg: Any) -> None:
        self.ignored[type(msg).__name__] += 1  # Go: no trace row, no error, nothing

    def refuse(self, msg: Any, error: str | None = None) -> None:
        self.refused[type(msg).__name__] += 1
        if error is not None and self.error is None:
            self.error = error

    def result(self, model: str, new_variant: bool, handler: str) -> MessageContractsResult:
        explanation = (_CONTRACTS_EXPLAINED[model, handler] if new_variant
                       else _OLD_PROTOCOL_EXPLAINED)
        return MessageContractsResult(
            model=model, new_variant=new_variant, handler=handler, protocol=self.kinds,
            rejected_at_registration=self.rejected, error=self.error, missing=self.missing,
            sent=self.sent, handled=self.handled, ignored=self.ignored, refused=self.refused,
            processed=sum(self.handled.values()), silently_ignored=sum(self.ignored.values()),
            work_after_stop=self.work_after_stop, stopped=self.stopped, finished=self.finished,
            explanation=explanation)


def _contract_workload(protocol: Any, n: int, stop_after: int | None) -> list[Any]:
    """``n`` random requests (seeded), with a ``Stop`` after the first ``stop_after``."""
    rng = labkit.rng()
    msgs: list[Any] = []
    for i in range(n):
        kind = rng.choice(("Ping", "Put", "Get"))
        key = rng.choice("abc")
        if kind == "Ping":
            msgs.append(protocol.Ping())
        elif kind == "Put":
            msgs.append(protocol.Put(key, i))
        else:
            msgs.append(protocol.Get(key))
    if stop_after is not None:
        msgs.insert(stop_after, protocol.Stop())
    return msgs


def _is_stop(msg: Any) -> bool:
    return isinstance(msg, Msg.Stop)


class _Store:
    """The worker's state and its three request handlers, shared by every model."""

    __slots__ = ("data", "pongs")

    def __init__(self) -> None:
        self.data: dict[str, int] = {}
        self.pongs = 0

    def ping(self) -> None:
        self.pongs += 1

    def put(self, key: str, value: int) -> None:
        self.data[key] = value

    def get(self, key: str) -> int | None:
        return self.data.get(key)


async def go_type_switch_worker(ch: go.Chan[Any], done: go.Chan[None], handler: str,
                                log: _ContractLog) -> None:
    """Dispatch with a type switch; ``default`` swallows kinds it does not know."""
    store = _Store()
    async for msg in ch:  # for msg := range ch
        match msg:  # switch m := msg.(type)
            case Msg.Ping():
                store.ping()
            case Msg.Put(key=key, value=value):
                store.put(key, value)
            case Msg.Get(key=key):
                store.get(key)
            case Msg.Stop() if handler == "updated":
                log.handle(msg)
                log.stopped = True
                break
            case _:  # default: the usual Go habit, "ignore what you don't know"
                log.ignore(msg)
                continue
        log.handle(msg)
        await go.sleep(_WORK)
    done.close()  # defer close(done): tells clients the worker is gone


async def go_contracts_main(msgs: list[Any], new_variant: bool, handler: str,
                            log: _ContractLog) -> None:
    """The client: send each message, or notice the worker is gone (done closed)."""
    ch: go.Chan[Any] = go.Chan(0, name="mailbox")  # chan Msg, Msg an interface
    done: go.Chan[None] = go.Chan(0, name="done")
    go.go(go_type_switch_worker, ch, done, handler, log)
    for msg in msgs:
        await go.sleep(_GAP)
        log.send(msg)
        sel = await go.select(go.Send(ch, msg), go.Recv(done))
        if sel.index == 1:
            log.refuse(msg)  # the worker has exited: nobody will ever receive
    if not new_variant:
        ch.close()  # the old protocol ends the stream the Go way (G16, G28)
    sel = await go.select(go.Recv(done), go.Recv(go.after(_PATIENCE)))
    log.finished = sel.index == 0


def rust_handler_table(protocol: Any, handler: str, store: _Store) -> dict[Any, Any]:
    """The worker's handler table, as ``match msg { ... }`` arms: variant -> handler."""
    arms: dict[Any, Any] = {
        protocol.Ping: lambda msg: store.ping(),
        protocol.Put: lambda msg: store.put(msg.key, msg.value),
        protocol.Get: lambda msg: store.get(msg.key),
    }
    if handler == "wildcard":
        arms["_"] = lambda msg: _IGNORED  # `_ => {}`
    elif handler == "updated":
        arms[protocol.Stop] = lambda msg: _STOPPED
    return arms


_IGNORED = object()
_STOPPED = object()


async def rust_match_worker(rx: Any, dispatch: Any, log: _ContractLog) -> None:
    """Receive and dispatch through the exhaustive match (R39); return on Stop."""
    with rx:  # returning drops the Receiver: the channel closes (R17)
        while (msg := await rx.recv()) is not None:
            outcome = dispatch(msg)  # match msg { ... }
            if outcome is _STOPPED:
                log.handle(msg)
                log.stopped = True
                return
            if outcome is _IGNORED:
                log.ignore(msg)
                continue
            log.handle(msg)
            await rust.sleep(_WORK)


async def rust_contracts_main(msgs: list[Any], new_variant: bool, handler: str,
                              log: _ContractLog) -> None:
    """The client: register the handler table (E0004 if stale), spawn the worker, send."""
    protocol = Msg if new_variant else OldMsg
    try:
        # Registration: the exhaustiveness check runs before any message flows (R39).
        dispatch = rust.match_exhaustive(protocol, rust_handler_table(protocol, handler, _Store()))
    except rust.NonExhaustiveMatch as exc:  # Rust: error[E0004], the program never runs
        log.rejected, log.error, log.missing = True, str(exc), exc.missing
        return
    tx, rx = rust.mpsc.channel(8)
    worker = rust.spawn(rust_match_worker, rx, dispatch, log, name="worker")
    with tx:  # main's Sender, dropped after the last send (R3)
        for msg in msgs:
            await rust.sleep(_GAP)
            log.send(msg)
            if (await tx.send(msg)).is_err():  # Err(SendError(msg)): the value comes back
                log.refuse(msg)
    joined = await rust.timeout(_PATIENCE, worker)
    if joined.is_ok():
        joined.unwrap().unwrap()  # a panic in the worker must not pass for a clean stop
        log.finished = True


class _StaleWorker(Actor):
    """Written for the old protocol: it declares the three kinds it accepts."""

    accepts: ClassVar[tuple[type, ...] | None] = (Msg.Ping, Msg.Put, Msg.Get)

    def __init__(self, log: _ContractLog) -> None:
        self.log = log
        self.store = _Store()

    async def receive(self, msg: Any, ctx: Context) -> None:
        match msg:
            case Msg.Ping():
                self.store.ping()
            case Msg.Put(key=key, value=value):
                self.store.put(key, value)
            case Msg.Get(key=key):
                self.store.get(key)
        self.log.handle(msg)
        await anyio.sleep(_WORK)


class _WildcardWorker(_StaleWorker):
    """Accepts every message and ignores the kinds it does not know (``case _``)."""

    accepts = None

    async def receive(self, msg: Any, ctx: Context) -> None:
        if _is_stop(msg):
            self.log.ignore(msg)
            return
        await super().receive(msg, ctx)


class _UpdatedWorker(_StaleWorker):
    """Accepts the whole enum and stops on ``Stop``."""

    accepts = (Msg,)

    async def receive(self, msg: Any, ctx: Context) -> None:
        if _is_stop(msg):
            self.log.handle(msg)
            self.log.stopped = True
            ctx.stop()
            return
        await super().receive(msg, ctx)


_ACTOR_WORKERS: dict[str, type[_StaleWorker]] = {
    "stale": _StaleWorker, "wildcard": _WildcardWorker, "updated": _UpdatedWorker}


async def _actor_mc_main(msgs: list[Any], new_variant: bool, handler: str,
                         log: _ContractLog) -> None:
    async with ActorSystem() as system:
        worker = system.spawn(_ACTOR_WORKERS[handler], log, name="worker")
        for msg in msgs:
            await anyio.sleep(_GAP)
            log.send(msg)
            try:
                if not worker.tell(msg):  # False: a dead letter, with its reason
                    log.refuse(msg)
            except WrongMessageType as exc:  # raised at the sender, nothing enqueued
                log.refuse(msg, f"{type(exc).__name__}: {exc}")
        if not new_variant:
            worker.stop(drain=True)  # the old protocol: handle what is queued, then stop
        with anyio.move_on_after(_PATIENCE):
            await worker.wait_stopped()
        log.finished = not worker.is_alive


def message_contracts(model: str = "go", new_variant: bool = True, handler: str = "stale",
                      messages: int = 12, stop_after: int | None = None, *,
                      seed: int | None = 0) -> Run[MessageContractsResult]:
    """A worker serves Ping/Put/Get requests; a teammate has added a ``Stop`` variant.

    A client sends ``messages`` random requests, one every 10 ms, with a ``Stop`` after the
    first ``stop_after`` (default: half), then waits up to 1 s for the worker to end.
    ``handler``: "stale" (written before ``Stop``), "wildcard" (a catch-all arm) or
    "updated" (stops on ``Stop``). ``new_variant=False`` runs the old protocol: no ``Stop``,
    and the stream ends by ``close`` (G16, G28), a dropped ``Sender`` (R3) or ``stop``.

    Go: a type switch over ``chan Msg`` has no exhaustiveness check; its ``default`` drops
    ``Stop`` silently, leaving only the receive in the trace. Rust (R39): the handler table
    goes through ``rust.match_exhaustive``, so a stale one is rejected with
    ``NonExhaustiveMatch`` (E0004) before any message flows; the result reports it, it does
    not raise. Actor: ``accepts`` refuses ``Stop`` at ``tell``, at run time. Never raises on
    a hung worker: ``result.finished`` says whether it ended.
    """
    model = check_model(model, CONTRACT_MODELS)
    handler = check_choice("handler", handler, HANDLERS)
    new_variant = check_bool("new_variant", new_variant)
    messages = check_count("messages", messages)
    if not new_variant:
        if handler == "updated":
            raise ValueError("handler='updated' handles Stop, which the old protocol "
                             "(new_variant=False) does not have; use 'stale' or 'wildcard'")
        if stop_after is not None:
            raise ValueError("stop_after places the Stop message, which the old protocol "
                             "(new_variant=False) does not have; leave it None")
    elif stop_after is None:
        stop_after = messages // 2
    else:  # at most messages: the Stop goes after that many requests
        stop_after = check_int("stop_after", stop_after, minimum=0, maximum=messages)
    protocol = Msg if new_variant else OldMsg
    kinds = tuple(v.__name__ for v in rust.variants(protocol))
    mains = {"go": go_contracts_main, "rust": rust_contracts_main, "actor": _actor_mc_main}

    async def main() -> MessageContractsResult:
        log = _ContractLog(kinds)
        # Only Rust's enum is a closed set that a handler is checked against; Go's interface
        # and the actor's messages are open, so they always use Msg's classes.
        classes = protocol if model == "rust" else Msg
        msgs = _contract_workload(classes, messages, stop_after if new_variant else None)
        await mains[model](msgs, new_variant, handler, log)
        return log.result(model, new_variant, handler)

    return simulate(main, seed=seed)
