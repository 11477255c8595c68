"""Real Go and real tokio beside labkit: the twins, the golden files and the comparison.

The repository's ``real/`` folder holds a Go module (``real/go``, standard library only) and
a cargo project (``real/rust``, std + tokio only) with one real program per case below. Each
program prints its observable outcome as JSON lines in one shape::

    {"case": "try_send", "model": "rust", "event": "try_send", "value": 3,
     "result": "full", "returned": 3, "display": "no available capacity"}

``case`` and ``event`` name what happened, ``model`` says who ran it (``go``, ``rust``, or
the twins ``labkit-go`` and ``labkit-rust``), and the other fields are the case's own. The
labkit twin of each program (:func:`twin`) runs the same steps on labkit's models and prints
the same lines. :func:`compare` says where a real outcome and a twin's differ: exactly,
except where the real runtime's schedule decides (select fairness: shares within
:data:`SHARE_BOUND`; work queues: orders and invariants) and task ids (``task 3 panicked``
and ``task worker-1 panicked`` both read ``task N panicked``). A few differences are labkit's
on purpose; :data:`KNOWN_DIFFERENCES` lists them with the reason, and the tests expect them.

The real programs' recorded outputs are ``data/real/CASE.MODEL.jsonl`` (with the toolchain
versions in ``data/real/manifest.json``), so the comparison runs everywhere; where Go 1.19+
(``apt-get install golang-go``), cargo and tokio's sources (``apt-get install
librust-tokio-dev``) are present, :func:`run_real` builds and runs the programs themselves
(``labkit real CASE`` on the command line).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import labkit
from labkit import go, rust

if TYPE_CHECKING:
    import pandas as pd

__all__ = (
    "BUILD",
    "CARGO_REGISTRY",
    "CASES",
    "GOLDEN",
    "KNOWN_DIFFERENCES",
    "MODELS",
    "REAL",
    "ROOT",
    "SHARE_BOUND",
    "Case",
    "Event",
    "KnownDifference",
    "ToolchainMissing",
    "build",
    "compare",
    "compare_table",
    "golden",
    "install_hint",
    "known",
    "lines",
    "missing",
    "parse",
    "record",
    "run_real",
    "source_path",
    "twin",
    "twin_functions",
    "versions",
)

Event = dict[str, Any]

ROOT = Path(__file__).resolve().parents[1]
#: The real programs: ``real/go`` (Go module) and ``real/rust`` (cargo project).
REAL = ROOT / "real"
#: The real programs' recorded outputs.
GOLDEN = ROOT / "data" / "real"
#: Where builds go (gitignored): Go binaries, GOCACHE, CARGO_HOME, cargo's target folder.
BUILD = REAL / ".build"
#: The real models; each twin is ``labkit-`` + model.
MODELS = ("go", "rust")
#: A random select's share of wins for its first case may differ from 1/2 by this much.
SHARE_BOUND = 0.05
#: Where Debian puts the crates ``librust-*-dev`` packages vendor.
CARGO_REGISTRY = Path("/usr/share/cargo/registry")


@dataclass(frozen=True)
class Case:
    """One case: its rules (docs/rules.md), what it shows, and which real programs it has."""

    name: str
    rules: tuple[str, ...]
    shows: str
    models: tuple[str, ...] = MODELS


CASES: dict[str, Case] = {c.name: c for c in (
    Case("ping_pong", ("G1", "G28", "R8", "R15", "R22", "R40"),
         "three rounds over unbuffered channels / an mpsc request with a oneshot reply"),
    Case("rendezvous", ("G1", "G2", "G3", "G22", "R2", "R8", "R12"),
         "a non-blocking send finds no receiver on a rendezvous, room on a buffer; "
         "tokio's channel(0) panics"),
    Case("who_closes", ("G11", "G28", "G33", "R15", "R36"),
         "a receive loop nobody ends: Go's deadlock report, tokio's silent hang; the fix"),
    Case("select_fairness", ("G21", "R28"),
         "two ready cases: each wins about half the time; `biased;` always the first"),
    Case("ownership", ("R37",),
         "Go copies a struct sent but shares a slice's array; Rust moves (use after move "
         "is a compile error)"),
    Case("try_send", ("G2", "G13", "G22", "G32", "R9", "R12", "R13"),
         "try_send -> Full(v) with the value back, reserve before work, Closed(v)"),
    Case("broadcast_lag", ("R23", "R24", "R25"),
         "capacity rounded up to a power of two; Lagged(k), then the oldest held",
         ("rust",)),
    Case("watch_latest", ("R26",), "only the latest value; changed() since last look",
         ("rust",)),
    Case("work_queue", ("G7", "R1"),
         "a shared queue lets the fast worker take more jobs than per-worker queues do"),
    Case("panic_blast", ("G31", "R33"),
         "a panic ends the whole Go program (exit 2); tokio gives a JoinError and goes on"),
    Case("restart", ("G32", "R33", "R34"),
         "a recover() restart loop / a JoinSet supervisor over poison jobs"),
    Case("cancellation", ("G34", "G35", "G39", "R31", "R32"),
         "ctx.Done() and ctx.Err() / a cancellation token, and abort()"),
    Case("panic_texts", ("G13", "G14", "G32", "G35", "G37", "G40"),
         "the texts of Go's channel and WaitGroup panics and of ctx.Err()", ("go",)),
    Case("error_texts", ("R9", "R12", "R15", "R19", "R22", "R24", "R26", "R32", "R33", "R35",
                         "R36"),
         "what tokio's errors display, each produced for real", ("rust",)),
)}


@dataclass(frozen=True)
class KnownDifference:
    """Events where labkit differs from the real runtime on purpose: the events of ``case``
    run by ``model`` named ``event`` whose fields include ``where`` are left out of
    :func:`compare` and checked apart (the tests expect them to differ)."""

    case: str
    model: str
    event: str
    reason: str
    where: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, ev: Event) -> bool:
        return ev.get("event") == self.event and all(ev.get(k) == v
                                                     for k, v in self.where.items())


KNOWN_DIFFERENCES: tuple[KnownDifference, ...] = (
    KnownDifference(
        "ownership", "go", "received",
        "labkit's go.Chan passes the Python object itself: a struct sent is shared, not "
        "copied as a Go send copies it", {"kind": "struct"}),
    KnownDifference(
        "ownership", "rust", "use_after_move",
        "Python has no borrow checker: labkit raises MovedValueError when the moved value "
        "is used (at run time); rustc rejects the program (E0382)"),
    KnownDifference(
        "rendezvous", "rust", "zero_capacity",
        "labkit raises ValueError for mpsc::channel(0) where tokio panics (\"mpsc bounded "
        "channel requires buffer > 0\"): a bad argument is a Python error"),
)


def known(case: str, model: str, ev: Event) -> KnownDifference | None:
    """The known difference ``ev`` belongs to, if any."""
    model = model.removeprefix("labkit-")
    return next((k for k in KNOWN_DIFFERENCES
                 if k.case == case and k.model == model and k.matches(ev)), None)


# -- the JSON lines -----------------------------------------------------------------------


def lines(events: Iterable[Event]) -> str:
    """Events as JSON lines, written as Go's encoding/json writes them (keys sorted)."""
    return "".join(json.dumps(ev, sort_keys=True, separators=(",", ":")) + "\n"
                   for ev in events)


def parse(text: str) -> list[Event]:
    """JSON lines back to events (blank lines skipped)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class _Out:
    """The twin's ``emit``: ``out("hit", by="ping", ball=0)`` records one event."""

    def __init__(self, case: str, model: str) -> None:
        self.case, self.model = case, f"labkit-{model}"
        self.events: list[Event] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.events.append({"case": self.case, "model": self.model, "event": event, **fields})


# -- the twins: Go ------------------------------------------------------------------------


async def _go_ping_pong(out: _Out) -> None:
    async def pong(inbox: go.Chan[int], outbox: go.Chan[int], done: go.Chan[None]) -> None:
        async for ball in inbox:
            out("hit", by="pong", ball=ball + 1)
            await outbox.send(ball + 1)
        done.close()

    ping: go.Chan[int] = go.Chan()
    pong_ch: go.Chan[int] = go.Chan()
    done: go.Chan[None] = go.Chan()
    go.go(pong, ping, pong_ch, done)
    ball = 0
    for _ in range(3):
        out("hit", by="ping", ball=ball)
        await ping.send(ball)
        ball, _ok = await pong_ch.recv()
    ping.close()
    await done.recv()
    out("result", ball=ball)


async def _go_rendezvous(out: _Out) -> None:
    for capacity in (0, 2):
        ch: go.Chan[int] = go.Chan(capacity)
        accepted = 0
        for v in (1, 2, 3):
            chosen = await go.select(go.Send(ch, v), default=True)
            accepted += chosen.index == 0
        out("accepted", capacity=capacity, count=accepted)
        ch.close()
        out("drained", capacity=capacity, values=[v async for v in ch])


async def _go_range(out: _Out, closes: bool) -> None:
    ch: go.Chan[int] = go.Chan()

    async def produce() -> None:
        for i in (1, 2, 3):
            await ch.send(i)
        if closes:
            ch.close()

    go.go(produce)
    total = 0
    async for v in ch:
        out("received", value=v)
        total += v
    out("done", sum=total)


def _go_who_closes(out: _Out, seed: int) -> None:
    for variant in ("hang", "fix"):
        out("variant", name=variant)
        try:
            labkit.simulate(_go_range, out, variant == "fix", seed=seed)
        except go.Deadlock as exc:  # Go: exit status 2, the report on stderr
            out("exit", status=2, stderr=f"fatal error: {str(exc).splitlines()[0]}")
        else:
            out("exit", status=0, stderr="")


async def _go_select_fairness(out: _Out) -> None:
    total = 2000
    a: go.Chan[int] = go.Chan(1)
    b: go.Chan[int] = go.Chan(1)
    first = 0
    for i in range(total):
        await a.send(i)
        await b.send(i)
        chosen = await go.select(go.Recv(a), go.Recv(b))
        if chosen.index == 0:
            first += 1
            await b.recv()
        else:
            await a.recv()
    out("share", mode="random", first=first, total=total)


@dataclass
class _Point:
    x: int


async def _go_ownership(out: _Out) -> None:
    pts: go.Chan[_Point] = go.Chan(1)
    p = _Point(1)
    await pts.send(p)
    p.x = 99  # after the send
    got, _ = await pts.recv()
    out("received", kind="struct", value=got.x)
    slices: go.Chan[list[int]] = go.Chan(1)
    s = [1]
    await slices.send(s)
    s[0] = 99  # after the send
    got_s, _ = await slices.recv()
    out("received", kind="slice", value=got_s[0])


async def _go_try_send(out: _Out) -> None:
    ch: go.Chan[int] = go.Chan(2)
    for v in (1, 2, 3):
        chosen = await go.select(go.Send(ch, v), default=True)
        out("try_send", value=v, result="ok" if chosen.index == 0 else "full")
    v, _ = await ch.recv()
    out("recv", value=v)
    ch.close()
    with go.recover() as r:
        await ch.send(5)
    if r.panicked:
        out("send", value=5, result="panic", display=str(r.value))


_COST = {"fast": 0.002, "slow": 0.008}


async def _go_work_layout(out: _Out, layout: str) -> None:
    names = ("fast", "slow")
    jobs = 12
    counts = dict.fromkeys(names, 0)
    wg = go.WaitGroup()

    async def worker(name: str, inbox: go.Chan[int]) -> None:
        async for _job in inbox:
            await go.sleep(_COST[name])
            counts[name] += 1
        wg.done()

    shared: go.Chan[int] = go.Chan(jobs)
    queues = {n: shared if layout == "shared" else go.Chan(jobs) for n in names}
    for j in range(jobs):
        await (shared if layout == "shared" else queues[names[j % 2]]).send(j)
    for q in {id(q): q for q in queues.values()}.values():
        q.close()
    wg.add(2)
    for n in names:
        go.go(worker, n, queues[n])
    await wg.wait()
    for n in names:
        out("jobs", layout=layout, worker=n, count=counts[n])


def _work_queue(out: _Out, seed: int, layout: Callable[..., Any]) -> None:
    took = {name: labkit.simulate(layout, out, name, seed=seed).elapsed
            for name in ("shared", "per_worker")}
    out("faster", layout="per_worker" if took["per_worker"] < took["shared"] else "shared")


def _go_panic_blast(out: _Out, seed: int) -> None:
    async def main() -> None:
        async def boom() -> None:
            go.panic("boom")

        never: go.Chan[None] = go.Chan()
        go.go(boom)
        await never.recv()
        out("main_finished")

    try:
        labkit.simulate(main, seed=seed)
    except go.Panic as exc:  # Go: exit status 2, "panic: VALUE" on stderr
        out("exit", status=2, stderr=f"panic: {exc}")
    else:
        out("exit", status=0, stderr="")


_JOBS = ("a", "b", "poison", "c", "poison", "d")


async def _go_restart(out: _Out) -> None:
    jobs: go.Chan[str] = go.Chan(len(_JOBS))
    for j in _JOBS:
        await jobs.send(j)
    jobs.close()
    restarts = 0
    while True:
        finished = False
        with go.recover() as r:
            async for j in jobs:
                if j == "poison":
                    go.panic("poison job")
                out("processed", job=j)
            finished = True
        if r.panicked:
            out("recovered", display=str(r.value))
            restarts += 1
        if finished:
            break
    out("done", restarts=restarts)


async def _go_cancellation(out: _Out) -> None:
    ctx, cancel = go.with_cancel(go.background())
    jobs: go.Chan[int] = go.Chan()
    done: go.Chan[None] = go.Chan()

    async def worker() -> None:
        processed = 0
        while True:
            chosen = await go.select(go.Recv(ctx.done()), go.Recv(jobs))
            if chosen.index == 0:
                out("stopped", processed=processed, reason=str(ctx.err()))
                done.close()
                return
            processed += 1

    go.go(worker)
    for j in range(3):
        await jobs.send(j)
    cancel()
    await done.recv()


async def _go_panic_texts(out: _Out) -> None:
    def send_on_closed() -> Any:
        ch: go.Chan[int] = go.Chan(1)
        ch.close()
        return ch.send(1)

    def close_closed() -> None:
        ch: go.Chan[int] = go.Chan()
        ch.close()
        ch.close()

    def negative_waitgroup() -> None:
        go.WaitGroup().add(-1)

    ops: list[tuple[str, Callable[[], Any]]] = [
        ("send_on_closed", send_on_closed), ("close_closed", close_closed),
        ("close_nil", go.nil.close), ("negative_waitgroup", negative_waitgroup)]
    for op, fn in ops:
        with go.recover() as r:
            pending = fn()
            if pending is not None:
                await pending
        out("panic", op=op, display=str(r.value))
    ctx, cancel = go.with_cancel(go.background())
    cancel()
    out("context", how="cancel", err=str(ctx.err()))
    ctx, cancel = go.with_timeout(go.background(), 0)
    done = ctx.done()
    assert done is not None
    await done.recv()
    out("context", how="timeout", err=str(ctx.err()))
    cancel()


# -- the twins: Rust ----------------------------------------------------------------------


async def _rust_ping_pong(out: _Out) -> None:
    async def pong(rx: Any) -> None:
        while (msg := await rx.recv()) is not None:
            ball, reply = msg
            out("hit", by="pong", ball=ball + 1)
            reply.send(ball + 1)

    tx, rx = rust.mpsc.channel(1)
    handle = rust.spawn(pong, rx, name="pong")
    ball = 0
    for _ in range(3):
        out("hit", by="ping", ball=ball)
        reply_tx, reply_rx = rust.oneshot.channel()
        (await tx.send((ball, reply_tx))).unwrap()
        ball = (await reply_rx).unwrap()
    tx.drop()
    (await handle).unwrap()
    out("result", ball=ball)


async def _rust_rendezvous(out: _Out) -> None:
    std_tx, std_rx = rust.mpsc.sync_channel(0)
    accepted = sum(std_tx.try_send(v).is_ok() for v in (1, 2, 3))
    out("accepted", capacity=0, count=accepted)
    std_tx.drop()
    out("drained", capacity=0, values=list(std_rx.try_iter()))
    tx, rx = rust.mpsc.channel(2)
    accepted = sum(tx.try_send(v).is_ok() for v in (1, 2, 3))
    out("accepted", capacity=2, count=accepted)
    tx.drop()
    values = []
    while (v := await rx.recv()) is not None:
        values.append(v)
    out("drained", capacity=2, values=values)
    try:
        rust.mpsc.channel(0)
    except ValueError as exc:  # tokio panics here
        out("zero_capacity", outcome="ValueError", display=str(exc))
    else:
        out("zero_capacity", outcome="none", display="")


async def _rust_who_closes(out: _Out) -> None:
    for variant in ("hang", "fix"):
        out("variant", name=variant)
        tx, rx = rust.mpsc.channel(4)

        async def produce(producer: Any) -> None:
            for i in (1, 2, 3):
                (await producer.send(i)).unwrap()
            producer.drop()  # the task ends: its Sender is dropped

        rust.spawn(produce, tx.clone())
        if variant == "fix":
            tx.drop()

        async def consume(rx: Any) -> None:
            total = 0
            while (v := await rx.recv()) is not None:
                out("received", value=v)
                total += v
            out("done", sum=total)

        start = labkit.now()
        result = await rust.timeout(3600, consume(rx))
        if result.is_err():
            out("hang", display=str(result.unwrap_err()), waited=int(labkit.now() - start))
        if variant == "hang":
            tx.drop()


async def _rust_select_fairness(out: _Out) -> None:
    async def ready() -> None:
        return None

    total = 2000
    for mode in ("random", "biased"):
        first = 0
        for _ in range(total):
            index, _value = await rust.select(ready(), ready(), biased=mode == "biased")
            first += index == 0
        out("share", mode=mode, first=first, total=total)


async def _rust_ownership(out: _Out) -> None:
    tx, rx = rust.mpsc.channel(2)
    v = rust.Owned([1])
    (await tx.send(v)).unwrap()
    try:
        v.value[0] = 2  # use after move
    except rust.MovedValueError:
        out("use_after_move", outcome="rejected", when="run")
    else:
        out("use_after_move", outcome="accepted", when="run")
    await rx.recv()
    w = [1]
    (await tx.send(list(w))).unwrap()  # tx.send(w.clone())
    w[0] = 99
    got = await rx.recv()
    assert got is not None
    out("received", kind="clone", value=got[0])
    (await tx.send(rust.Owned(w))).unwrap()  # moved
    moved = await rx.recv()
    assert moved is not None
    out("received", kind="moved", value=moved.value[0])


async def _rust_try_send(out: _Out) -> None:
    tx, rx = rust.mpsc.channel(2)

    def report(value: int, result: Any) -> None:
        if result.is_ok():
            out("try_send", value=value, result="ok")
            return
        err = result.unwrap_err()
        out("try_send", value=value, result="full" if err.is_full() else "closed",
            returned=err.value, display=str(err))

    for v in (1, 2, 3):
        report(v, tx.try_send(v))
    out("recv", value=await rx.recv())
    permit = (await tx.reserve()).unwrap()
    out("reserved", capacity=tx.capacity())
    report(4, tx.try_send(4))
    permit.send(10)
    out("drained", values=[await rx.recv(), await rx.recv()])
    rx.drop()
    report(5, tx.try_send(5))
    result = await tx.send(6)
    if result.is_err():
        err = result.unwrap_err()
        out("send", value=6, result="error", returned=err.value, display=str(err))


async def _rust_broadcast_lag(out: _Out) -> None:
    tx, rx = rust.broadcast.channel(3)
    for v in range(1, 7):
        tx.send(v).unwrap()
    while True:
        result = await rx.recv()
        if result.is_ok():
            v = result.unwrap()
            out("recv", value=v)
            if v == 6:
                tx.drop()
            continue
        err = result.unwrap_err()
        if err.kind == "Lagged":
            out("lagged", count=err.count, display=str(err))
            continue
        out("closed", display=str(err))
        break
    tx2, rx2 = rust.broadcast.channel(1)
    rx2.drop()
    sent = tx2.send(1)
    if sent.is_err():
        send_err = sent.unwrap_err()
        out("send", result="error", returned=send_err.value, display=str(send_err))


async def _rust_watch_latest(out: _Out) -> None:
    tx, rx = rust.watch.channel(0)
    for v in (1, 2, 3):
        tx.send(v).unwrap()
    (await rx.changed()).unwrap()
    out("seen", value=rx.borrow_and_update())
    out("has_changed", value=rx.has_changed())
    tx.drop()
    changed = await rx.changed()
    if changed.is_err():
        out("closed", display=str(changed.unwrap_err()))
    tx2, rx2 = rust.watch.channel(0)
    rx2.drop()
    sent = tx2.send(1)
    if sent.is_err():
        err = sent.unwrap_err()
        out("send", result="error", returned=err.value, display=str(err))


async def _rust_work_layout(out: _Out, layout: str) -> None:
    names = ("fast", "slow")
    jobs = 12
    handles = []
    if layout == "shared":
        tx, rx = rust.mpsc.channel(jobs)
        for j in range(jobs):
            (await tx.send(j)).unwrap()
        tx.drop()
        lock = rust.Semaphore(1)  # the Mutex around the one Receiver

        async def shared_worker(name: str) -> int:
            count = 0
            while True:
                permit = await lock.acquire()
                job = await rx.recv()
                permit.release()
                if job is None:
                    return count
                await rust.sleep(_COST[name])
                count += 1

        handles = [rust.spawn(shared_worker, n) for n in names]
    else:
        async def own_worker(name: str, inbox: Any) -> int:
            count = 0
            while await inbox.recv() is not None:
                await rust.sleep(_COST[name])
                count += 1
            return count

        for i, n in enumerate(names):
            tx, rx = rust.mpsc.channel(jobs)
            for j in range(i, jobs, 2):
                (await tx.send(j)).unwrap()
            tx.drop()
            handles.append(rust.spawn(own_worker, n, rx))
    for n, handle in zip(names, handles, strict=True):
        out("jobs", layout=layout, worker=n, count=(await handle).unwrap())


async def _rust_panic_blast(out: _Out) -> None:
    async def bad() -> int:
        raise RuntimeError("boom")  # panic!("boom")

    async def good() -> int:
        return 42

    bad_handle = rust.spawn(bad, name="bad")
    good_handle = rust.spawn(good, name="good")
    result = await bad_handle
    if result.is_err():
        err = result.unwrap_err()
        out("join", task="bad", result="panic", display=str(err),
            payload=str(err.into_panic()))
    value = await good_handle
    if value.is_ok():
        out("join", task="good", result="ok", value=value.unwrap())
    out("main_finished")


async def _rust_restart(out: _Out) -> None:
    jobs = list(_JOBS)

    async def worker() -> None:
        while jobs:
            job = jobs.pop(0)
            if job == "poison":
                raise RuntimeError("poison job")  # panic!("poison job")
            out("processed", job=job)

    tasks: rust.JoinSet[None] = rust.JoinSet()
    tasks.spawn(worker)
    restarts = 0
    while (outcome := await tasks.join_next()) is not None:
        if outcome.is_err():
            err = outcome.unwrap_err()
            out("recovered", display=str(err.into_panic()), join_error=str(err))
            restarts += 1
            tasks.spawn(worker)
    out("done", restarts=restarts)


async def _rust_cancellation(out: _Out) -> None:
    token = rust.CancellationToken()
    tx, rx = rust.mpsc.channel(1)

    async def worker() -> None:
        processed = 0
        while True:
            index, _value = await rust.select(
                rust.Branch(rx.recv(), matches=lambda v: v is not None),
                token.cancelled(), biased=True)
            if index == 1:
                out("stopped", processed=processed, reason="cancelled")
                return
            processed += 1

    handle = rust.spawn(worker)
    for j in range(3):
        (await tx.send(j)).unwrap()
    token.cancel()
    (await handle).unwrap()
    sleeper = rust.spawn(rust.sleep, 3600)
    sleeper.abort()
    result = await sleeper
    if result.is_err():
        err = result.unwrap_err()
        out("aborted", cancelled=err.is_cancelled(), display=str(err))


async def _rust_error_texts(out: _Out) -> None:
    def text(error: str, result: Any) -> None:
        out("error", error=error, display=str(result.unwrap_err()))

    tx, rx = rust.mpsc.channel(1)
    text("mpsc::TryRecvError::Empty", rx.try_recv())
    tx.try_send(1).unwrap()
    text("mpsc::TrySendError::Full", tx.try_send(2))
    text("mpsc::SendTimeoutError::Timeout", await tx.send_timeout(2, 1))
    rx.close()
    text("mpsc::TrySendError::Closed", tx.try_send(3))
    text("mpsc::SendError", await tx.send(3))
    text("mpsc::SendTimeoutError::Closed", await tx.send_timeout(3, 1))
    await rx.recv()
    tx.drop()
    text("mpsc::TryRecvError::Disconnected", rx.try_recv())

    otx, orx = rust.oneshot.channel()
    text("oneshot::TryRecvError::Empty", orx.try_recv())
    otx.drop()
    text("oneshot::TryRecvError::Closed", orx.try_recv())
    otx, orx2 = rust.oneshot.channel()
    otx.drop()
    text("oneshot::RecvError", await orx2)

    btx, brx = rust.broadcast.channel(1)
    text("broadcast::TryRecvError::Empty", brx.try_recv())
    btx.send(1).unwrap()
    btx.send(2).unwrap()
    text("broadcast::RecvError::Lagged", await brx.recv())
    (await brx.recv()).unwrap()
    btx.drop()
    text("broadcast::RecvError::Closed", await brx.recv())
    btx, brx = rust.broadcast.channel(1)
    brx.drop()
    text("broadcast::SendError", btx.send(1))

    wtx, wrx = rust.watch.channel(0)
    wrx.drop()
    text("watch::SendError", wtx.send(1))
    wtx, wrx = rust.watch.channel(0)
    wtx.drop()
    text("watch::RecvError", await wrx.changed())

    async def pending() -> None:
        await rust.sleep(float("inf"))

    text("time::Elapsed", await rust.timeout(1, pending()))

    sem = rust.Semaphore(0)
    text("TryAcquireError::NoPermits", sem.try_acquire())
    sem.close()
    text("TryAcquireError::Closed", sem.try_acquire())
    try:
        await sem.acquire()
    except rust.AcquireError as exc:
        out("error", error="AcquireError", display=str(exc))

    async def boom() -> None:
        raise RuntimeError("boom")

    text("JoinError::Panic", await rust.spawn(boom))
    sleeper = rust.spawn(rust.sleep, 3600)
    sleeper.abort()
    text("JoinError::Cancelled", await sleeper)


_Twin = Callable[[_Out, int], None]


def _simulated(main: Callable[[_Out], Any]) -> _Twin:
    def run(out: _Out, seed: int) -> None:
        labkit.simulate(main, out, seed=seed)
    return run


_TWINS: dict[tuple[str, str], _Twin] = {
    ("ping_pong", "go"): _simulated(_go_ping_pong),
    ("ping_pong", "rust"): _simulated(_rust_ping_pong),
    ("rendezvous", "go"): _simulated(_go_rendezvous),
    ("rendezvous", "rust"): _simulated(_rust_rendezvous),
    ("who_closes", "go"): _go_who_closes,
    ("who_closes", "rust"): _simulated(_rust_who_closes),
    ("select_fairness", "go"): _simulated(_go_select_fairness),
    ("select_fairness", "rust"): _simulated(_rust_select_fairness),
    ("ownership", "go"): _simulated(_go_ownership),
    ("ownership", "rust"): _simulated(_rust_ownership),
    ("try_send", "go"): _simulated(_go_try_send),
    ("try_send", "rust"): _simulated(_rust_try_send),
    ("broadcast_lag", "rust"): _simulated(_rust_broadcast_lag),
    ("watch_latest", "rust"): _simulated(_rust_watch_latest),
    ("work_queue", "go"): lambda out, seed: _work_queue(out, seed, _go_work_layout),
    ("work_queue", "rust"): lambda out, seed: _work_queue(out, seed, _rust_work_layout),
    ("panic_blast", "go"): _go_panic_blast,
    ("panic_blast", "rust"): _simulated(_rust_panic_blast),
    ("restart", "go"): _simulated(_go_restart),
    ("restart", "rust"): _simulated(_rust_restart),
    ("cancellation", "go"): _simulated(_go_cancellation),
    ("cancellation", "rust"): _simulated(_rust_cancellation),
    ("panic_texts", "go"): _simulated(_go_panic_texts),
    ("error_texts", "rust"): _simulated(_rust_error_texts),
}


def _check_case(case: str, model: str) -> Case:
    if case not in CASES:
        raise ValueError(f"no case named {case!r}; the cases: {', '.join(CASES)}")
    if model not in MODELS:
        raise ValueError(f"model is one of {', '.join(MODELS)}, got {model!r}")
    info = CASES[case]
    if model not in info.models:
        raise ValueError(f"case {case!r} has no {model} program (it has: "
                         f"{', '.join(info.models)})")
    return info


def twin(case: str, model: str, *, seed: int = 0) -> list[Event]:
    """Run labkit's twin of the real ``model`` program (``"go"`` or ``"rust"``) of
    ``case`` and return its events (``model`` reads ``labkit-go``/``labkit-rust``)."""
    _check_case(case, model)
    out = _Out(case, model)
    _TWINS[case, model](out, seed)
    return out.events


# -- the comparison -----------------------------------------------------------------------

_TASK_ID = re.compile(r"^task \S+ (panicked|was cancelled)$")


def _normal(ev: Event) -> Event:
    """An event without its model, task ids written ``N``."""
    return {k: _TASK_ID.sub(r"task N \1", v) if isinstance(v, str) else v
            for k, v in ev.items() if k != "model"}


def _shares(real: list[Event], ours: list[Event]) -> list[str]:
    problems = []
    if [(e["mode"], e["total"]) for e in real] != [(e["mode"], e["total"]) for e in ours]:
        return [f"modes differ: {real} vs {ours}"]
    for r, o in zip(real, ours, strict=True):
        if r["mode"] == "biased":
            if r["first"] != o["first"]:
                problems.append(f"biased select: {r['first']} vs {o['first']} first-branch wins")
            continue
        for who, e in (("real", r), ("labkit", o)):
            share = e["first"] / e["total"]
            if abs(share - 0.5) > SHARE_BOUND:
                problems.append(f"{who} random select: first case won {share:.3f} of the time, "
                                f"not 0.5 +- {SHARE_BOUND}")
    return problems


def _work(events: list[Event]) -> list[str]:
    """The work queue's invariants, whatever the schedule."""
    problems = []
    counts = {(e["layout"], e["worker"]): e["count"] for e in events if e["event"] == "jobs"}
    if counts.get(("per_worker", "fast")) != 6 or counts.get(("per_worker", "slow")) != 6:
        problems.append(f"per-worker queues should split 6/6: {counts}")
    fast, slow = counts.get(("shared", "fast"), 0), counts.get(("shared", "slow"), 0)
    if fast + slow != 12 or fast <= slow:
        problems.append(f"a shared queue should give the fast worker more of 12 jobs: {counts}")
    faster = [e["layout"] for e in events if e["event"] == "faster"]
    if faster != ["shared"]:
        problems.append(f"the shared queue should finish first: {faster}")
    return problems


def compare(case: str, model: str, real: list[Event], ours: list[Event]) -> list[str]:
    """Where labkit's twin (``ours``) differs from the real program's events (``real``):
    one line per difference, none when they agree. Known differences are left out."""
    _check_case(case, model)
    real = [_normal(e) for e in real if not known(case, model, e)]
    ours = [_normal(e) for e in ours if not known(case, model, e)]
    if case == "select_fairness":
        return _shares(real, ours)
    if case == "work_queue":
        return [f"real: {p}" for p in _work(real)] + [f"labkit: {p}" for p in _work(ours)]
    problems = []
    for i in range(max(len(real), len(ours))):
        r = real[i] if i < len(real) else None
        o = ours[i] if i < len(ours) else None
        if r != o:
            problems.append(f"event {i}: real {json.dumps(r, sort_keys=True)} "
                            f"!= labkit {json.dumps(o, sort_keys=True)}")
    return problems


# -- golden files -------------------------------------------------------------------------


def golden(case: str, model: str) -> list[Event]:
    """The recorded events of the real ``model`` program of ``case``."""
    _check_case(case, model)
    return parse((GOLDEN / f"{case}.{model}.jsonl").read_text(encoding="utf-8"))


# -- the real toolchains ------------------------------------------------------------------


class ToolchainMissing(RuntimeError):
    """A real program cannot be built here; the message says what to install."""


def install_hint(model: str) -> str:
    """What to install to build the real ``model`` programs (Debian packages)."""
    if model == "go":
        return "apt-get install golang-go"
    return "apt-get install librust-tokio-dev cargo"


def _rust_hint(cargo: bool, tokio: bool) -> str:
    return "apt-get install " + " ".join(
        [*([] if tokio else ["librust-tokio-dev"]), *([] if cargo else ["cargo"])])


def missing(model: str) -> str | None:
    """Why the real ``model`` programs cannot be built here (None: they can)."""
    if not REAL.is_dir():
        return f"the real programs are not here (no {REAL}): use a checkout of labkit"
    if model == "go":
        if shutil.which("go") is None:
            return f"no `go` on PATH: {install_hint('go')}"
        return None
    cargo = shutil.which("cargo") is not None
    tokio = any(CARGO_REGISTRY.glob("tokio-1.*"))
    lacks = [*([] if cargo else ["no `cargo` on PATH"]),
             *([] if tokio else [f"no tokio sources in {CARGO_REGISTRY}"])]
    return f"{' and '.join(lacks)}: {_rust_hint(cargo, tokio)}" if lacks else None


def _env(model: str) -> dict[str, str]:
    env = dict(os.environ)
    if model == "go":
        env.update(GOPROXY="off", GOTOOLCHAIN="local", GOFLAGS="",
                   GOCACHE=str(BUILD / "gocache"), GOPATH=str(BUILD / "gopath"))
    else:
        env.update(CARGO_HOME=str(BUILD / "cargo-home"),
                   CARGO_TARGET_DIR=str(BUILD / "target"))
    return env


_BUILT: dict[tuple[str, Path], Path] = {}


def build(model: str, *, again: bool = False) -> Path:
    """Build the real ``model`` programs (cached in ``real/.build``) and return the folder
    of their binaries; once per process unless ``again``. Raises :class:`ToolchainMissing`
    when the toolchain is absent."""
    why = missing(model)
    if why:
        raise ToolchainMissing(why)
    if not again and (model, BUILD) in _BUILT:
        return _BUILT[model, BUILD]
    BUILD.mkdir(parents=True, exist_ok=True)
    if model == "go":
        out = BUILD / "go"
        cmd = ["go", "build", "-o", f"{out}/", "./cmd/..."]
        cwd = REAL / "go"
    else:
        out = BUILD / "target" / "debug"
        cmd = ["cargo", "build", "--offline", "--quiet"]
        cwd = REAL / "rust"
    done = subprocess.run(cmd, cwd=cwd, env=_env(model), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}:\n{done.stderr}")
    _BUILT[model, BUILD] = out
    return out


def run_real(case: str, model: str) -> list[Event]:
    """Build (if need be) and run the real ``model`` program of ``case``; its events."""
    _check_case(case, model)
    binary = build(model) / case
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{binary} exited with status {done.returncode}:\n{done.stderr}")
    return parse(done.stdout)


def versions() -> dict[str, str]:
    """The versions of the toolchains here (for the golden files' manifest)."""
    found: dict[str, str] = {}
    for name, cmd in (("go", ["go", "version"]), ("rustc", ["rustc", "--version"]),
                      ("cargo", ["cargo", "--version"])):
        if shutil.which(cmd[0]):
            found[name] = subprocess.run(cmd, capture_output=True, text=True,
                                         check=False).stdout.strip()
    tokio = sorted(p.name for p in CARGO_REGISTRY.glob("tokio-1.*"))
    if tokio:
        found["tokio"] = tokio[-1].removeprefix("tokio-")
    return found


def record() -> list[Path]:
    """Run every real program and write its output to ``data/real`` with a manifest."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    written = []
    for case, info in CASES.items():
        for model in info.models:
            path = GOLDEN / f"{case}.{model}.jsonl"
            path.write_text(lines(run_real(case, model)), encoding="utf-8")
            written.append(path)
    manifest = {"toolchains": versions(),
                "go.mod": "go 1.19",
                "tokio features": ["rt", "macros", "sync", "time", "test-util"],
                "recorded by": "python -c 'import labkit.real as r; r.record()'",
                "cases": {c: list(i.models) for c, i in CASES.items()}}
    path = GOLDEN / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return [*written, path]


# -- for the notebooks: the sources and the outcomes side by side ------------------------

#: The functions each twin is made of, in reading order (the first is the twin itself).
_TWIN_SOURCES: dict[tuple[str, str], tuple[Callable[..., Any], ...]] = {
    ("who_closes", "go"): (_go_who_closes, _go_range),
    ("work_queue", "go"): (_go_work_layout, _work_queue),
    ("work_queue", "rust"): (_rust_work_layout, _work_queue),
}


def twin_functions(case: str, model: str) -> tuple[Callable[..., Any], ...]:
    """The functions of labkit's twin of the real ``model`` program of ``case``, as
    :func:`twin` runs them (for :func:`labkit.codeview.real_side_by_side`)."""
    _check_case(case, model)
    if (case, model) in _TWIN_SOURCES:
        return _TWIN_SOURCES[case, model]
    return (globals()[f"_{model}_{case}"],)


def source_path(case: str, model: str) -> Path:
    """The source file of the real ``model`` program of ``case`` (``real/go/cmd/CASE/main.go``
    or ``real/rust/src/bin/CASE.rs``)."""
    _check_case(case, model)
    if model == "go":
        return REAL / "go" / "cmd" / case / "main.go"
    return REAL / "rust" / "src" / "bin" / f"{case}.rs"


#: How :func:`compare` holds the cases whose real schedule decides, for :func:`compare_table`.
_LOOSE = {"select_fairness": "≈ share within ±0.05 of 1/2",
          "work_queue": "≈ same invariants and order"}


def _fields(ev: Event | None) -> str:
    """An event's own fields, ``key=value`` (no case, model, event), JSON values."""
    if ev is None:
        return "—"
    return " ".join(f"{k}={json.dumps(v, separators=(',', ':'), ensure_ascii=False)}"
                    for k, v in sorted(ev.items()) if k not in ("case", "model", "event"))


def compare_table(case: str, model: str | None = None, *, seed: int = 0) -> pd.DataFrame:
    """What the real program did (recorded in ``data/real``) beside what labkit's twin does
    now, event by event: a DataFrame with columns ``model``, ``event``, ``real`` (the
    recorded line's fields), ``labkit`` (the twin's) and ``same`` (``=``, ``≈ ...`` where
    :func:`compare` holds shares or invariants and they hold, ``known difference: ...`` with
    the reason, ``≠`` otherwise). ``model`` None: every real program the case has. Needs no
    toolchain, only the golden files."""
    import pandas as pd

    if case not in CASES:
        raise ValueError(f"no case named {case!r}; the cases: {', '.join(CASES)}")
    models = CASES[case].models if model is None else (model,)
    rows = []
    for m in models:
        recorded, ours = golden(case, m), twin(case, m, seed=seed)
        loose = case in _LOOSE and not compare(case, m, recorded, ours)
        for i in range(max(len(recorded), len(ours))):
            r = recorded[i] if i < len(recorded) else None
            o = ours[i] if i < len(ours) else None
            diff = next((k for k in (known(case, m, e) for e in (r, o) if e) if k), None)
            if diff is not None:
                same = f"known difference: {diff.reason}"
            elif r is not None and o is not None and _normal(r) == _normal(o):
                same = "="
            elif loose:
                same = _LOOSE[case]
            else:
                same = "≠"
            rows.append({"model": m, "event": (r or o or {}).get("event", ""),
                         "real": _fields(r), "labkit": _fields(o), "same": same})
    return pd.DataFrame(rows, columns=["model", "event", "real", "labkit", "same"])
