"""Notebook 05 (replay): at-most-once, at-least-once and effectively-once delivery in Go and
Rust, with consumers that crash (SEMANTICS section 4, item 21).

Neither language's channels have acknowledgements, persistence or replay. A value received
from a Go channel or a tokio ``mpsc`` is gone from the channel: if the worker that took it
crashes before finishing, nothing anywhere still holds it. Reliability is built on top, by
hand, the same way in both languages:

* **at-most-once**: send and forget. A crash loses the message in hand.
* **at-least-once**: the producer keeps each message until an acknowledgement for its
  sequence number comes back, and resends it when none comes in time. Nothing is lost, but
  a crash *after* the side effect and *before* the ack makes the resend do it twice.
* **effectively-once**: at-least-once plus deduplication by sequence number where the
  effect is applied (:class:`Ledger`): the effect and the sequence number's row in a dedup
  table are written in one transaction, so a redelivery is recognised and skipped.

Where the two languages differ is *how the producer finds out*. A Go consumer that panics
sends nothing and closes nothing, so the producer learns only from its ack timeout
(``time.After``). A Rust consumer task that panics unwinds (the default ``panic =
"unwind"``) and drops what it owned, the message and the ``oneshot::Sender`` inside it: the
producer's ``Receiver`` gets ``Err(RecvError)`` at once (R22) and resends without waiting
for the timeout. Same counts, different ``redelivery_wait``.

The model functions (``go_consumer``, ``go_deliver``, ``rust_consumer``, ``rust_deliver``,
...) are the ones a notebook shows with :func:`labkit.codeview.side_by_side`. Bookkeeping
lives in :class:`Deliveries` (the workload, the crash schedule, counts and ``note`` rows);
the models only call ``log.took(seq)``, ``log.crash_now(seq, point)`` and
``log.resent(seq)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import labkit
from labkit import Run, go, rust
from labkit._check import check_choice
from labkit.rust.mpsc import Sender
from labkit.scenarios._common import (
    check_count,
    check_fraction,
    check_model,
    check_parties,
    check_rate,
    check_seconds,
    simulate,
    with_result,
)
from labkit.scenarios.faults import SharedReceiver
from labkit.trace import record

if TYPE_CHECKING:
    import pandas as pd

__all__ = (
    "CRASH_POINTS",
    "GUARANTEES",
    "MODELS",
    "Crash",
    "Deliveries",
    "DeliveryResult",
    "GoMessage",
    "Ledger",
    "RustMessage",
    "delivery",
    "delivery_table",
    "go_consumer",
    "go_deliver",
    "go_handle",
    "go_pipeline",
    "go_send_and_forget",
    "go_send_until_acked",
    "rust_consumer",
    "rust_consumer_supervisor",
    "rust_deliver",
    "rust_handle",
    "rust_pipeline",
    "rust_send_and_forget",
    "rust_send_until_acked",
)

MODELS = ("go", "rust")
#: The delivery guarantees, weakest first.
GUARANTEES = ("at_most_once", "at_least_once", "effectively_once")
#: Where a crash hits a consumer holding a message: before its side effect (the work is
#: done, nothing written) or after it (written, not yet acknowledged).
CRASH_POINTS = ("before_effect", "after_effect")


# == bookkeeping ===============================================================================


class Crash(Exception):
    """A consumer crashing while it holds a message: Go's ``panic``, Rust's ``panic!``."""


class Ledger:
    """Where the side effect lands: a database table outside every consumer (think: an
    account credited once per message). A consumer's crash does not touch it, so it holds
    the truth about which messages took effect.

    ``apply(seq)`` is the plain effect: a message delivered twice is applied twice.
    ``apply_once(seq)`` is the effectively-once effect: the effect and the sequence number's
    row in :attr:`dedup_table` commit in *one* transaction, so a crash can never leave one
    without the other, and a sequence number already in the table is skipped. The table
    lives here, with the effect, not in the consumer's memory: a restarted consumer starts
    with nothing, the table does not. (A high-water mark instead of a set only works for one
    consumer taking messages in order; a pool's consumers finish out of order.)
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.effects: list[int] = []  # every effect applied, in order: seq numbers
        self.dedup_table: set[int] = set()
        self.skipped: list[int] = []  # redeliveries recognised by apply_once

    def apply(self, seq: int) -> None:
        """The side effect of message ``seq``."""
        again = seq in self.effects
        self.effects.append(seq)
        record("note", corr_id=seq, model=self.model,
               detail=f"effect of message {seq}{' (again)' if again else ''}")

    def apply_once(self, seq: int) -> bool:
        """``BEGIN; INSERT INTO dedup(seq); <effect>; COMMIT``: the effect unless ``seq``
        is already in the table (then nothing, and False)."""
        if seq in self.dedup_table:
            self.skipped.append(seq)
            record("note", corr_id=seq, model=self.model,
                   detail=f"duplicate of message {seq} skipped")
            return False
        self.dedup_table.add(seq)
        self.apply(seq)
        return True


class Deliveries:
    """The workload of :func:`delivery` and what happened to it (not part of any model: it
    counts, and writes ``note`` rows to the trace).

    Messages are numbered 1..messages and sent one every ``1/arrival_rate`` seconds. The
    crash schedule: the first time a consumer holds message ``seq`` with
    ``seq % crash_every == 0``, it crashes, before or after the effect (a seeded draw, after
    with probability ``after_effect``, made before the run starts so every model gets the
    same schedule). A resent copy never crashes.
    """

    def __init__(self, model: str, messages: int, crash_every: int | None,
                 after_effect: float, arrival_rate: float, work_time: float) -> None:
        self.model = model
        self.messages = messages
        self.crash_every = crash_every
        self.after_effect = after_effect
        self.arrival_rate = arrival_rate
        self.work_time = work_time
        self.schedule: dict[int, str] = {}  # seq -> crash point, until it happens
        self.taken: list[int] = []
        self.crashes: list[tuple[int, str]] = []
        self.crashed_at: dict[int, float] = {}
        self.resends: list[int] = []
        self.redelivery_waits: list[float] = []
        self.restarts = 0

    def plan_crashes(self) -> None:
        """Draw the crash schedule from the run's generator (first thing in the run)."""
        rng = labkit.rng()
        if self.crash_every is None:
            return
        for seq in range(self.crash_every, self.messages + 1, self.crash_every):
            self.schedule[seq] = CRASH_POINTS[rng.random() < self.after_effect]

    def arrivals(self) -> list[tuple[int, float]]:
        """``(seq, gap)`` for messages 1..messages: one every ``1/arrival_rate`` seconds."""
        return [(seq, 1.0 / self.arrival_rate) for seq in range(1, self.messages + 1)]

    def took(self, seq: int) -> None:
        """A consumer took message ``seq`` from the queue."""
        self.taken.append(seq)
        record("note", corr_id=seq, model=self.model, detail=f"took message {seq}")

    def crash_now(self, seq: int, point: str) -> bool:
        """True when the schedule says the consumer holding ``seq`` crashes at ``point``
        (it then raises or panics)."""
        if self.schedule.get(seq) != point:
            return False
        del self.schedule[seq]
        self.crashes.append((seq, point))
        self.crashed_at[seq] = labkit.now()
        record("note", corr_id=seq, model=self.model,
               detail=f"crash {point.replace('_', ' ')} of message {seq}")
        return True

    def resent(self, seq: int) -> None:
        """The producer sends message ``seq`` again (no ack came)."""
        self.resends.append(seq)
        crashed = self.crashed_at.pop(seq, None)
        if crashed is not None:
            self.redelivery_waits.append(labkit.now() - crashed)
        record("note", corr_id=seq, model=self.model, detail=f"resend message {seq}")

    def restarted(self) -> None:
        """A consumer restarted by hand (Go's recover loop, Rust's JoinSet loop)."""
        self.restarts += 1


# == Go ========================================================================================


@dataclass(frozen=True)
class GoMessage:
    """``type Message struct { Seq int; Reply chan int }``: ``reply`` is nil (None) for
    at-most-once; for at-least-once, the producer's channel for this message's ack."""

    seq: int
    reply: go.Chan[int] | None


async def go_handle(msg: GoMessage, ledger: Ledger, log: Deliveries, dedup: bool) -> None:
    """Handle one message: work, the side effect, then the ack. A crash (``panic``) can hit
    before the effect or after it, before the ack."""
    log.took(msg.seq)
    await go.sleep(log.work_time)
    if log.crash_now(msg.seq, "before_effect"):
        go.panic(f"crashed holding message {msg.seq}")
    if dedup:
        ledger.apply_once(msg.seq)  # effect + dedup row, one transaction
    else:
        ledger.apply(msg.seq)
    if log.crash_now(msg.seq, "after_effect"):
        go.panic(f"crashed after the effect of message {msg.seq}")
    if msg.reply is not None:
        # select { case msg.Reply <- msg.Seq: default: }: never block on an ack nobody reads
        await go.select(go.Send(msg.reply, msg.seq), default=True)


async def go_consumer(jobs: go.Chan[GoMessage], ledger: Ledger, log: Deliveries,
                      dedup: bool) -> None:
    """A consumer goroutine ranging over the shared queue (G7) inside a ``recover`` restart
    loop (G32); without the ``recover`` a panic would end the whole program (G31). A panic
    loses the message in hand: the channel handed it over and kept no copy, and the dead
    handler sends no ack and closes nothing."""
    while True:
        with go.recover() as r:
            async for msg in jobs:
                await go_handle(msg, ledger, log, dedup)
        if not r.panicked:
            return  # the queue is closed and drained
        log.restarted()  # log.Print(r), then round the loop again


async def go_send_and_forget(jobs: go.Chan[GoMessage], log: Deliveries) -> None:
    """At-most-once: send each message once, keep nothing, then close the queue (G16)."""
    for seq, gap in log.arrivals():
        await go.sleep(gap)
        await jobs.send(GoMessage(seq, None), corr_id=seq)
    jobs.close()


async def go_deliver(jobs: go.Chan[GoMessage], seq: int, timeout: float,
                     log: Deliveries) -> None:
    """At-least-once for one message: send it with a reply channel, then ``select`` on the
    ack and on ``time.After(wait)`` (G45); no ack in time: send it again and wait twice as
    long. A crashed consumer tells nobody, so the timeout is the only way to find out. The
    reply channel is buffered 1, so a late ack never blocks its consumer, and it serves
    every copy: an ack for an earlier copy ends the wait too."""
    reply: go.Chan[int] = go.Chan(1)
    wait = timeout
    while True:
        await jobs.send(GoMessage(seq, reply), corr_id=seq)
        chosen, _, _ = await go.select(go.Recv(reply), go.Recv(go.after(wait)))
        if chosen == 0:
            return  # acknowledged
        log.resent(seq)
        wait *= 2  # back off: too short a timeout must not flood the queue for ever


async def go_send_until_acked(jobs: go.Chan[GoMessage], log: Deliveries,
                              timeout: float) -> None:
    """One :func:`go_deliver` goroutine per message; close the queue once all are acked."""
    wg = go.WaitGroup()
    for seq, gap in log.arrivals():
        await go.sleep(gap)
        wg.go(go_deliver, jobs, seq, timeout, log)
    await wg.wait()
    jobs.close()


async def go_pipeline(guarantee: str, consumers: int, ledger: Ledger, log: Deliveries,
                      timeout: float) -> None:
    """``consumers`` restarting goroutines on one channel; the producer in main."""
    jobs: go.Chan[GoMessage] = go.Chan(log.messages, name="jobs")
    dedup = guarantee == "effectively_once"
    wg = go.WaitGroup()
    for _ in range(consumers):
        wg.go(go_consumer, jobs, ledger, log, dedup)
    if guarantee == "at_most_once":
        await go_send_and_forget(jobs, log)
    else:
        await go_send_until_acked(jobs, log, timeout)
    await wg.wait()


# == Rust ======================================================================================


@dataclass(frozen=True)
class RustMessage:
    """``struct Message { seq: u64, ack: Option<oneshot::Sender<u64>> }``: ``ack`` is
    ``None`` for at-most-once. The task that receives it owns it: dropping the message
    (``with msg:``, at the end of its handling or by a panic's unwinding) drops an unsent
    ``ack`` Sender, and the producer's Receiver sees ``Err(RecvError)`` (R22)."""

    seq: int
    ack: rust.oneshot.Sender[int] | None

    def drop(self) -> None:
        if self.ack is not None:
            self.ack.drop()  # nothing if already consumed by send()

    def __enter__(self) -> RustMessage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


async def rust_handle(msg: RustMessage, ledger: Ledger, log: Deliveries, dedup: bool) -> None:
    """Handle one message: work, the side effect, then the ack. A crash (``panic!``) can
    hit before the effect or after it, before the ack."""
    log.took(msg.seq)
    await rust.sleep(log.work_time)
    if log.crash_now(msg.seq, "before_effect"):
        raise Crash(f"crashed holding message {msg.seq}")
    if dedup:
        ledger.apply_once(msg.seq)  # effect + dedup row, one transaction
    else:
        ledger.apply(msg.seq)
    if log.crash_now(msg.seq, "after_effect"):
        raise Crash(f"crashed after the effect of message {msg.seq}")
    if msg.ack is not None:
        msg.ack.send(msg.seq)  # let _ = ack.send(seq): Err(seq) if nobody waits (R22, R40)


async def rust_consumer(rx: SharedReceiver[RustMessage], ledger: Ledger, log: Deliveries,
                        dedup: bool) -> None:
    """A consumer task on the shared Receiver (``Arc<Mutex<Receiver>>``: tokio's mpsc has
    one consumer, R1, R8). A panic ends this task only (R33); unwinding drops the message
    in hand, and with it its unsent ack Sender."""
    with rx:
        while (msg := await rx.recv()) is not None:
            with msg:
                await rust_handle(msg, ledger, log, dedup)


async def rust_consumer_supervisor(tasks: rust.JoinSet[None],
                                   rx: SharedReceiver[RustMessage], ledger: Ledger,
                                   log: Deliveries, dedup: bool) -> None:
    """``while let Some(res) = set.join_next().await``: a panicked consumer gets a fresh
    task in its place (R34); ``Ok(())`` means the channel closed and that consumer is done."""
    while (res := await tasks.join_next()) is not None:
        match res:
            case rust.Err(e) if e.is_panic():
                log.restarted()
                tasks.spawn(rust_consumer, rx.clone(), ledger, log, dedup)
            case _:
                pass


async def rust_send_and_forget(tx: Sender[RustMessage], log: Deliveries) -> None:
    """At-most-once: send each message once, keep nothing; dropping ``tx`` closes the
    channel (R3, R15)."""
    with tx:
        for seq, gap in log.arrivals():
            await rust.sleep(gap)
            (await tx.send(RustMessage(seq, None), corr_id=seq)).unwrap()


async def rust_deliver(tx: Sender[RustMessage], seq: int, timeout: float,
                       log: Deliveries) -> None:
    """At-least-once for one message: send it with a fresh ``oneshot::Sender`` inside (a
    Sender is consumed by one ``send``, so each copy needs its own), then
    ``tokio::time::timeout(wait, ack_rx)`` (R36). ``Ok(Ok(_))``: acknowledged.
    ``Ok(Err(RecvError))``: the consumer dropped the Sender unsent, it crashed: resend at
    once. ``Err(Elapsed)``: no answer in time: resend and wait twice as long. A late ack
    for an earlier copy is lost with that copy's dropped Receiver, so without the backoff a
    timeout shorter than the queue's delay would resend for ever."""
    with tx:  # this task's clone of the Sender
        wait = timeout
        while True:
            ack_tx, ack_rx = rust.oneshot.channel()
            (await tx.send(RustMessage(seq, ack_tx), corr_id=seq)).unwrap()
            with ack_rx:  # dropped after the wait: a late ack.send() returns Err
                match await rust.timeout(wait, ack_rx.recv()):
                    case rust.Ok(rust.Ok(_)):
                        return  # acknowledged
                    case rust.Ok(rust.Err(_)):
                        pass  # RecvError: the consumer crashed holding it
                    case _:
                        wait *= 2  # Elapsed: back off
            log.resent(seq)


async def rust_send_until_acked(tx: Sender[RustMessage], log: Deliveries,
                                timeout: float) -> None:
    """One :func:`rust_deliver` task per message, in a JoinSet; the last clone of ``tx``
    goes with the last acknowledged message, and the consumers' ``recv`` gives ``None``
    (R3, R15)."""
    with tx:
        deliveries: rust.JoinSet[None] = rust.JoinSet()
        for seq, gap in log.arrivals():
            await rust.sleep(gap)
            deliveries.spawn(rust_deliver, tx.clone(), seq, timeout, log)
    while (res := await deliveries.join_next()) is not None:
        res.unwrap()


async def rust_pipeline(guarantee: str, consumers: int, ledger: Ledger, log: Deliveries,
                        timeout: float) -> None:
    """``consumers`` tasks in a JoinSet under :func:`rust_consumer_supervisor`; the
    producer in a task of its own."""
    tx, rx = rust.mpsc.channel(log.messages)
    shared = SharedReceiver(rx)
    dedup = guarantee == "effectively_once"
    if guarantee == "at_most_once":
        producer = rust.spawn(rust_send_and_forget, tx, log, name="producer")
    else:
        producer = rust.spawn(rust_send_until_acked, tx, log, timeout, name="producer")
    async with rust.JoinSet[None]() as tasks:
        for _ in range(consumers):
            tasks.spawn(rust_consumer, shared.clone(), ledger, log, dedup)
        await rust_consumer_supervisor(tasks, shared, ledger, log, dedup)
    shared.drop()
    (await producer).unwrap()


# == the scenario ==============================================================================


@dataclass(frozen=True)
class DeliveryResult:
    """Headline numbers of :func:`delivery` (times in virtual seconds).

    ``sent``: messages the producer had (each numbered once); ``resends``: copies sent
    again for want of an ack. ``delivered``: side effects applied (duplicates included),
    ``unique``: messages applied at least once, ``duplicates`` = delivered - unique,
    ``losses`` = sent - unique (never applied). ``crashes``: consumers that crashed holding
    a message, ``crashes_before_effect`` + ``crashes_after_effect``; ``restarts``: consumers
    restarted (one per crash). ``deduplicated``: redeliveries the dedup table skipped.
    ``redelivery_wait``: mean time from a crash to the resend of the message it held
    (``math.nan`` when none was resent). ``lost`` and ``duplicated``: which sequence
    numbers.
    """

    model: str
    guarantee: str
    sent: int
    delivered: int
    unique: int
    duplicates: int
    losses: int
    resends: int
    crashes: int
    crashes_before_effect: int
    crashes_after_effect: int
    restarts: int
    deduplicated: int
    redelivery_wait: float
    lost: tuple[int, ...]
    duplicated: tuple[int, ...]
    finished_at: float


def delivery(model: str = "go", guarantee: str = "at_least_once", *, messages: int = 100,
             crash_every: int | None = 10, after_effect: float = 0.5, consumers: int = 2,
             arrival_rate: float = 100.0, work_time: float = 0.01, ack_timeout: float = 0.1,
             seed: int | None = 0) -> Run[DeliveryResult]:
    """A producer sends messages 1..``messages`` (one every ``1/arrival_rate`` s) through
    one queue to ``consumers`` consumers; handling one takes ``work_time`` s, then its side
    effect lands in a :class:`Ledger`. The first time a consumer holds a multiple of
    ``crash_every`` (``None``: never) it crashes, after the effect with probability
    ``after_effect`` (else before it; seeded, the same schedule in both models), and is
    restarted: Go by a ``recover`` loop (G32), Rust by a ``JoinSet`` loop (R34).

    Guarantees:

    * ``"at_most_once"``: plain channels, send and forget. A crash before the effect
      loses the message.
    * ``"at_least_once"``: each message carries a way to ack it (Go: a reply channel;
      Rust: a ``oneshot::Sender``), and the producer resends it when no ack comes within
      ``ack_timeout`` s, waiting twice as long after each resend (Rust also resends at once
      on ``RecvError``: the crashed task dropped the Sender). No losses; a crash after the
      effect gives a duplicate, and so does a timeout shorter than the time to an ack
      (then Go and Rust differ: Go's one reply channel per message takes a late ack for
      any copy, while each Rust copy has its own oneshot, dropped when its wait ends).
    * ``"effectively_once"``: at-least-once, and the consumer applies the effect through a
      dedup table kept with the effect (:meth:`Ledger.apply_once`): no losses, no
      duplicates.
    """
    model = check_model(model, MODELS)
    guarantee = check_choice("guarantee", guarantee, GUARANTEES)
    messages = check_count("messages", messages, minimum=1)
    if crash_every is not None:
        crash_every = check_count("crash_every", crash_every, minimum=1)
    after_effect = check_fraction("after_effect", after_effect, allow_zero=True,
                                  allow_one=True)
    consumers = check_parties("consumers", consumers)
    arrival_rate = check_rate("arrival_rate", arrival_rate)
    work_time = check_seconds("work_time", work_time)
    ack_timeout = check_seconds("ack_timeout", ack_timeout)
    ledger = Ledger(model)
    log = Deliveries(model, messages, crash_every, after_effect, arrival_rate, work_time)

    async def main() -> None:
        log.plan_crashes()
        if model == "go":
            await go_pipeline(guarantee, consumers, ledger, log, ack_timeout)
        else:
            await rust_pipeline(guarantee, consumers, ledger, log, ack_timeout)

    run: Run[Any] = simulate(main, seed=seed)
    counts: dict[int, int] = {}
    for seq in ledger.effects:
        counts[seq] = counts.get(seq, 0) + 1
    waits = log.redelivery_waits
    return with_result(run, DeliveryResult(
        model=model, guarantee=guarantee, sent=messages, delivered=len(ledger.effects),
        unique=len(counts), duplicates=len(ledger.effects) - len(counts),
        losses=messages - len(counts), resends=len(log.resends), crashes=len(log.crashes),
        crashes_before_effect=sum(p == "before_effect" for _, p in log.crashes),
        crashes_after_effect=sum(p == "after_effect" for _, p in log.crashes),
        restarts=log.restarts, deduplicated=len(ledger.skipped),
        redelivery_wait=sum(waits) / len(waits) if waits else math.nan,
        lost=tuple(s for s in range(1, messages + 1) if s not in counts),
        duplicated=tuple(sorted(s for s, k in counts.items() if k > 1)),
        finished_at=run.elapsed))


def delivery_table(*, messages: int = 100, crash_every: int | None = 10,
                   after_effect: float = 0.5, consumers: int = 2, arrival_rate: float = 100.0,
                   work_time: float = 0.01, ack_timeout: float = 0.1,
                   seed: int | None = 0) -> pd.DataFrame:
    """:func:`delivery` for every model and guarantee on one seed (one crash schedule):
    one row each, in the shape :func:`labkit.viz.delivery_chart` draws: ``mode``
    (``"at-most-once"``, ...), ``model``, ``sent``, ``duplicates``, ``losses``, plus
    ``guarantee`` and the other counts of :class:`DeliveryResult`."""
    import pandas as pd

    rows = []
    for guarantee in GUARANTEES:
        for model in MODELS:
            r = delivery(model, guarantee, messages=messages, crash_every=crash_every,
                         after_effect=after_effect, consumers=consumers,
                         arrival_rate=arrival_rate, work_time=work_time,
                         ack_timeout=ack_timeout, seed=seed).result
            rows.append({"mode": guarantee.replace("_", "-"), "model": model,
                         "guarantee": guarantee, "sent": r.sent, "delivered": r.delivered,
                         "unique": r.unique, "duplicates": r.duplicates, "losses": r.losses,
                         "resends": r.resends, "crashes": r.crashes,
                         "crashes_before_effect": r.crashes_before_effect,
                         "crashes_after_effect": r.crashes_after_effect,
                         "deduplicated": r.deduplicated,
                         "redelivery_wait": r.redelivery_wait,
                         "finished_at": r.finished_at})
    return pd.DataFrame(rows)
