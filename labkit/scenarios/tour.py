"""Notebook 00 (start here): the tour's ping-pong, in the Go, Rust and actor models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import labkit
from labkit import Run, go, rust
from labkit.actor import Actor, ActorSystem, Context
from labkit.scenarios._common import check_count, check_model, check_seconds, simulate

__all__ = ("Exchange", "MODELS", "PingPongResult", "ping_pong")

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


class _Log:
    """What the two players write down; turned into :class:`Exchange` rows at the end."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, int, float]] = []  # round, sender, ball, time
        self.received: list[float] = []

    def hit(self, rnd: int, sender: str, ball: int) -> None:
        self.sent.append((rnd, sender, ball, labkit.now()))

    def caught(self) -> None:
        self.received.append(labkit.now())

    def exchanges(self) -> tuple[Exchange, ...]:
        other = {"ping": "pong", "pong": "ping"}
        return tuple(Exchange(rnd, sender, other[sender], ball, sent, got)
                     for (rnd, sender, ball, sent), got
                     in zip(self.sent, self.received, strict=True))


# -- Go: two goroutines, two unbuffered channels (G1) ------------------------------------


async def _go_pong(inbox: go.Chan[int], outbox: go.Chan[int], rounds: int, hit_time: float,
                   log: _Log) -> None:
    for rnd in range(rounds):
        ball, _ok = await inbox.recv()
        log.caught()
        await go.sleep(hit_time)
        log.hit(rnd, "pong", ball + 1)
        await outbox.send(ball + 1)


async def _go_main(rounds: int, hit_time: float) -> PingPongResult:
    log = _Log()
    ping: go.Chan[int] = go.Chan(0)  # unbuffered: each hit is a rendezvous
    pong: go.Chan[int] = go.Chan(0)
    go.go(_go_pong, ping, pong, rounds, hit_time, log)
    ball = 0
    for rnd in range(rounds):
        log.hit(rnd, "ping", ball)
        await ping.send(ball)
        ball, _ok = await pong.recv()
        log.caught()
    return PingPongResult("go", rounds, ball, log.exchanges(), {"main": "ping", "go-1": "pong"})


# -- Rust: a task owning an mpsc receiver, replies on a oneshot (R40) ----------------------


async def _rust_pong(rx: Any, hit_time: float, log: _Log) -> None:
    rnd = 0
    while (msg := await rx.recv()) is not None:  # None: the last sender was dropped (R15)
        ball, reply = msg
        log.caught()
        await rust.sleep(hit_time)
        log.hit(rnd, "pong", ball + 1)
        reply.send(ball + 1)
        rnd += 1


async def _rust_main(rounds: int, hit_time: float) -> PingPongResult:
    log = _Log()
    tx, rx = rust.mpsc.channel(1)
    handle = rust.spawn(_rust_pong, rx, hit_time, log, name="pong")
    ball = 0
    for rnd in range(rounds):
        reply_tx, reply_rx = rust.oneshot.channel()
        log.hit(rnd, "ping", ball)
        (await tx.send((ball, reply_tx))).unwrap()
        ball = (await reply_rx).unwrap()
        log.caught()
    tx.drop()  # the last sender: the pong task's loop ends
    await handle
    return PingPongResult("rust", rounds, ball, log.exchanges(), {"main": "ping", "pong": "pong"})


# -- actors: ask, and the handler's return value is the reply ------------------------------


class _Pong(Actor):
    def __init__(self, hit_time: float, log: _Log) -> None:
        self.hit_time = hit_time
        self.log = log
        self.round = 0

    async def receive(self, msg: Any, ctx: Context) -> Any:
        self.log.caught()
        await go.sleep(self.hit_time)
        self.log.hit(self.round, "pong", msg + 1)
        self.round += 1
        return msg + 1


async def _actor_main(rounds: int, hit_time: float) -> PingPongResult:
    log = _Log()
    async with ActorSystem() as system:
        pong = system.spawn(_Pong, hit_time, log, name="pong")
        ball = 0
        for rnd in range(rounds):
            log.hit(rnd, "ping", ball)
            ball = await pong.ask(ball)
            log.caught()
    return PingPongResult("actor", rounds, ball, log.exchanges(),
                          {"main": "ping", "pong": "pong"})


_MAINS = {"go": _go_main, "rust": _rust_main, "actor": _actor_main}


def ping_pong(model: str = "go", rounds: int = 3, hit_time: float = 0.010, *,
              seed: int | None = 0) -> Run[PingPongResult]:
    """Two parties hit a ball back and forth ``rounds`` times; each hit takes ``hit_time``.

    Go: two goroutines on two unbuffered channels, in lock-step (G1, G30). Rust: a task
    owns an mpsc receiver; each request carries a oneshot for the reply (R8, R22, R40);
    dropping the last sender ends the task (R15). Actors: ``ask``, the handler's return
    value being the reply. ``result.ball == rounds`` and ``result.exchanges`` has the same
    shape in all three models.
    """
    model = check_model(model, MODELS)
    rounds = check_count("rounds", rounds)
    hit_time = check_seconds("hit_time", hit_time, allow_zero=True)
    return simulate(_MAINS[model], rounds, hit_time, seed=seed)
