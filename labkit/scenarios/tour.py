"""Notebook 00 (start here): the tour's ping-pong, in the Go, Rust and actor models.

The functions a learner reads in notebook 00 (shown with :func:`labkit.codeview.side_by_side`)
are the ones that run: :func:`go_ping`/:func:`go_pong`, :func:`rust_ping`/:func:`rust_pong`,
:func:`actor_ping`/:class:`Pong`, and :func:`go_pick`/:func:`rust_pick` for the seed section.
They do no bookkeeping; :func:`ping_pong` reads who hit the ball when from the run's trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit import Run, go, rust
from labkit.actor import Actor, ActorSystem, Context
from labkit.scenarios._common import (
    check_count,
    check_model,
    check_seconds,
    simulate,
    with_result,
)
from labkit.trace import Trace

__all__ = (
    "MODELS",
    "Exchange",
    "PingPongResult",
    "Pong",
    "actor_ping",
    "go_pick",
    "go_ping",
    "go_pong",
    "ping_pong",
    "rust_pick",
    "rust_ping",
    "rust_pong",
)

MODELS = ("go", "rust", "actor")


@dataclass(frozen=True)
class Exchange:
    """One flight of the ball: who hit it to whom, when it left and when it arrived."""

    round: int
    sender: str  # "ping" or "pong"
    receiver: str
    ball: int
    sent: float  # virtual seconds
    received: float


@dataclass(frozen=True)
class PingPongResult:
    """The headline numbers of :func:`ping_pong`.

    ``exchanges`` has the same shape in every model (two per round: ping->pong, then
    pong->ping), so a sequence diagram can put the models side by side. ``parties`` maps
    the task names in the trace (``actor`` column) to the two roles.
    """

    model: str
    rounds: int
    ball: int
    exchanges: tuple[Exchange, ...]
    parties: dict[str, str]


# -- Go: two goroutines, two unbuffered channels (G1) ------------------------------------


async def go_pong(inbox: go.Chan[int], outbox: go.Chan[int], done: go.Chan[None],
                  hit_time: float) -> None:
    """Go-style pong: hit back every ball until `inbox` is closed (G28), then close `done`."""
    async for ball in inbox:              # for ball := range inbox
        await go.sleep(hit_time)          # hitting takes hit_time
        await outbox.send(ball + 1)       # outbox <- ball + 1
    done.close()                          # close(done): tell main that pong has finished


async def go_ping(rounds: int, hit_time: float) -> int:
    """Go-style ping (main): unbuffered channels, so each send waits for its receiver (G1)."""
    ping: go.Chan[int] = go.Chan()        # make(chan int): unbuffered
    pong: go.Chan[int] = go.Chan()
    done: go.Chan[None] = go.Chan()
    go.go(go_pong, ping, pong, done, hit_time)  # go goPong(ping, pong, done, hitTime)
    ball = 0
    for _ in range(rounds):
        await ping.send(ball)             # ping <- ball
        ball, _ok = await pong.recv()     # ball = <-pong
    ping.close()                          # close(ping): go_pong's loop ends (G16)
    await done.recv()                     # <-done: wait for go_pong to finish
    return ball


# -- Rust: a task owning an mpsc receiver, replies on a oneshot (R40) ----------------------


async def rust_pong(rx: Any, hit_time: float) -> None:
    """Rust-style pong: a task that owns the Receiver; it ends when every Sender is gone (R15)."""
    while (msg := await rx.recv()) is not None:  # while let Some((ball, reply)) = rx.recv().await
        ball, reply = msg
        await rust.sleep(hit_time)
        reply.send(ball + 1)                     # oneshot: one value, never waits (R22)


async def rust_ping(rounds: int, hit_time: float) -> int:
    """Rust-style ping (main): each request carries a oneshot Sender for its reply (R40)."""
    tx, rx = rust.mpsc.channel(1)                 # tokio needs capacity >= 1 (R8)
    pong = rust.spawn(rust_pong, rx, hit_time, name="pong")
    ball = 0
    for _ in range(rounds):
        reply_tx, reply_rx = rust.oneshot.channel()
        (await tx.send((ball, reply_tx))).unwrap()  # tx.send((ball, reply_tx)).await.unwrap()
        ball = (await reply_rx).unwrap()            # reply_rx.await.unwrap()
    tx.drop()                                     # drop(tx): the last Sender, so recv gives None
    (await pong).unwrap()                         # pong.await.unwrap(): wait for the task
    return ball


# -- actors: ask, and the handler's return value is the reply ------------------------------


class Pong(Actor):
    """Pong as an actor: `ask` puts the ball in its mailbox; the return value is the reply."""

    def __init__(self, hit_time: float) -> None:
        self.hit_time = hit_time

    async def receive(self, ball: int, ctx: Context) -> int:
        await go.sleep(self.hit_time)
        return ball + 1


async def actor_ping(rounds: int, hit_time: float) -> int:
    """Ping with actors: request-reply is one `ask`; the system stops its actors at the end."""
    async with ActorSystem() as system:
        pong = system.spawn(Pong, hit_time, name="pong")
        ball = 0
        for _ in range(rounds):
            ball = await pong.ask(ball)
    return ball


_MAINS = {"go": go_ping, "rust": rust_ping, "actor": actor_ping}
_PARTIES = {"go": {"main": "ping", "go-1": "pong"}, "rust": {"main": "ping", "pong": "pong"},
            "actor": {"main": "ping", "pong": "pong"}}


def _exchanges(trace: Trace, parties: dict[str, str]) -> tuple[Exchange, ...]:
    """Every flight of the ball, from the trace: a message's ``send`` and ``receive`` rows
    (matched by ``msg_id``), or an actor's ``reply`` (which wakes the asker directly). The
    k-th flight carries ball ``(k + 1) // 2``: ping sends what came back, pong adds one."""
    rows = [row for row in trace.rows if row[2] in ("send", "receive", "reply")]
    when: dict[int, float] = {}
    for t, _seq, kind, _actor, _peer, msg_id, *_rest in rows:
        if kind == "receive" and msg_id is not None:
            when.setdefault(msg_id, t)
    flights = [(seq, actor, t, when[msg_id] if kind == "send" else t)
               for t, seq, kind, actor, _peer, msg_id, *_rest in rows
               if kind == "reply" or (kind == "send" and msg_id is not None)]
    other = {"ping": "pong", "pong": "ping"}
    return tuple(Exchange(k // 2, parties[actor], other[parties[actor]], (k + 1) // 2, sent, got)
                 for k, (_seq, actor, sent, got) in enumerate(sorted(flights)))


def ping_pong(model: str = "go", rounds: int = 3, hit_time: float = 0.010, *,
              seed: int | None = 0) -> Run[PingPongResult]:
    """Two parties hit a ball back and forth ``rounds`` times; each hit takes ``hit_time``.

    Go: two goroutines on two unbuffered channels, in lock-step (G1, G30); main closes the
    request channel at the end (G16, G28). Rust: a task owns an mpsc receiver; each request
    carries a oneshot for the reply (R8, R22, R40); dropping the last sender ends the task
    (R15). Actors: ``ask``, the handler's return value being the reply.
    ``result.ball == rounds`` and ``result.exchanges`` has the same shape in all three models.
    """
    model = check_model(model, MODELS)
    rounds = check_count("rounds", rounds)
    hit_time = check_seconds("hit_time", hit_time, allow_zero=True)
    run = simulate(_MAINS[model], rounds, hit_time, seed=seed)
    parties = _PARTIES[model]
    return with_result(run, PingPongResult(model, rounds, run.result,
                                           _exchanges(run.trace, parties), parties))


# -- a choice the schedule makes: select between two ready inputs (G21, R28) ---------------


async def go_pick(picks: int) -> str:
    """Go-style: `select` between two channels that always have a value; which case runs is
    chosen uniformly at random among the ready ones (G21). Returns the picks, e.g. "abba"."""
    a: go.Chan[str] = go.Chan(picks)
    b: go.Chan[str] = go.Chan(picks)
    for _ in range(picks):
        await a.send("a")
        await b.send("b")
    chosen = ""
    for _ in range(picks):
        _i, value, _ok = await go.select(go.Recv(a), go.Recv(b))
        chosen += value
    return chosen


async def rust_pick(picks: int, biased: bool = False) -> str:
    """Rust-style: `select!` over two receivers that always have a value; it polls from a
    random branch first, or in declaration order with `biased;` (R28)."""
    a_tx, a_rx = rust.mpsc.channel(picks)
    b_tx, b_rx = rust.mpsc.channel(picks)
    for _ in range(picks):
        (await a_tx.send("a")).unwrap()
        (await b_tx.send("b")).unwrap()
    chosen = ""
    for _ in range(picks):
        _i, value = await rust.select(a_rx.recv(), b_rx.recv(), biased=biased)
        chosen += value
    return chosen
