"""Write notebooks/00_start_here.ipynb (sources only; `make notebooks` executes it)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS: list[tuple[str, str]] = [
    ("md", """# 00 · Start here

**labkit** lets you run the same message-passing program on two models side by side:
a **Go-style** model (goroutines, channels, `select`, `context`) and a **Rust-style** model
(tokio-like bounded channels with permits, oneshot replies, `Result`, ownership moves).

**Learning goals**

1. Run a program in deterministic *virtual time* with `labkit.simulate` and read its trace.
2. See one exchange, ping-pong, written three ways: Go channels, Rust channels, actors.
3. Meet labkit's deadlock report, and know where each later notebook goes.

An **actor** is a piece of state that only one task touches. Others never call it; they
send it messages, which wait in its **mailbox** until it handles them one at a time.
Goroutines with channels and tokio tasks with mpsc channels are both ways to build actors."""),
    ("code", """import labkit
from labkit import go, rust
from labkit.actor import Actor, ActorSystem"""),
    ("md", """## Ping-pong, Go-style

Two goroutines and two **unbuffered** channels: a send completes only when the receiver
takes the value (rule G1), so the two players move in lock-step."""),
    ("code", """async def player(inbox, outbox, rounds):
    for _ in range(rounds):
        ball, ok = await inbox.recv()
        await go.sleep(0.010)            # 10 ms to hit the ball back
        await outbox.send(ball + 1)


async def go_ping_pong(rounds=3):
    ping, pong = go.Chan(), go.Chan()    # unbuffered: cap 0
    go.go(player, ping, pong, rounds)
    ball = 0
    for _ in range(rounds):
        await ping.send(ball)            # hit
        ball, ok = await pong.recv()     # and it comes back
    return ball


run = labkit.simulate(go_ping_pong, seed=0)
print("hits:", run.result, "| virtual seconds:", run.elapsed)"""),
    ("md", """Every run records a **trace**: one row per event (send, receive, block, spawn, ...),
with the virtual time, the task that acted and the channel it acted on. Look at the
`block` rows: an unbuffered send waits for its receiver."""),
    ("code", """columns = ["time", "kind", "actor", "peer", "msg_id", "depth", "model"]
run.trace.df[columns].head(12)"""),
    ("md", """## The same exchange, Rust-style

A tokio task owns the receiving end of an `mpsc` channel; each request carries a
**oneshot** sender for its reply (rule R40). Sends return a `Result`, and a failed send
hands the value back (R9)."""),
    ("code", """async def pong_task(rx):
    while (msg := await rx.recv()) is not None:     # None: every sender dropped (R15)
        ball, reply = msg
        await rust.sleep(0.010)
        reply.send(ball + 1)


async def rust_ping_pong(rounds=3):
    tx, rx = rust.mpsc.channel(1)
    handle = rust.spawn(pong_task, rx)
    ball = 0
    for _ in range(rounds):
        reply_tx, reply_rx = rust.oneshot.channel()
        assert (await tx.send((ball, reply_tx))).is_ok()
        ball = (await reply_rx).unwrap()
    tx.drop()                                       # last sender gone: the task ends
    await handle
    return ball


print("hits:", labkit.simulate(rust_ping_pong).result)"""),
    ("md", """## And as actors

The actor layer packages the pattern: a mailbox, `tell` (fire and forget) and `ask`
(request-reply with a timeout). The handler's return value is the reply."""),
    ("code", """class Pong(Actor):
    async def receive(self, ball, ctx):
        await go.sleep(0.010)
        return ball + 1


async def actor_ping_pong(rounds=3):
    async with ActorSystem() as system:
        pong = system.spawn(Pong, name="pong")
        ball = 0
        for _ in range(rounds):
            ball = await pong.ask(ball, timeout=1.0)
        return ball


print("hits:", labkit.simulate(actor_ping_pong).result)"""),
    ("md", """## When nobody can move

If every task waits and no timer is pending, the program can never continue. Go's
runtime stops with `all goroutines are asleep - deadlock!` (G33); labkit does the same
under `simulate` and says what each task was waiting for."""),
    ("code", """async def forgot_the_receiver():
    ch = go.Chan()
    await ch.send("hello")      # unbuffered, and nobody receives


try:
    labkit.simulate(forgot_the_receiver)
except labkit.Deadlock as err:
    print(err)"""),
    ("md", """## Same seed, same run

Virtual time and a seeded random generator make every run repeatable: the trace is the
same row for row, in any process. That is what lets these notebooks be checked
automatically, and what lets you compare two designs fairly."""),
    ("code", """first = labkit.simulate(go_ping_pong, seed=42).trace.df
second = labkit.simulate(go_ping_pong, seed=42).trace.df
print("identical traces:", first.equals(second))"""),
    ("md", """## Map

| notebook | what you will see |
|---|---|
| `00_start_here` | this tour |
| `01_mailboxes` | buffered vs rendezvous, who closes, select fairness, ask, ownership |
| `02_routing` | routers, sharding, a shared work queue vs per-worker queues |
| `03_backpressure` | overflow policies, credits, rate limits, reserve-before-work |
| `04_supervision` | restart strategies, intensity, backoff |
| `05_replay` | journals, snapshots, replay, idempotency |

The later notebooks are being written. The rules behind every name are in
`SEMANTICS.md` (G1-G47 for Go, R1-R40 for Rust).

**Summary.** `labkit.simulate` runs a program in repeatable virtual time and returns its
result and trace. Go-style code talks over channels it closes itself; Rust-style code sends
`Result`s and replies over oneshots; actors wrap either in a mailbox.
**Where next:** `01_mailboxes`."""),
]


def build() -> nbformat.NotebookNode:
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src)
             for kind, src in CELLS]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "notebooks" / "00_start_here.ipynb"
    nbformat.write(build(), out)
    print(f"wrote {out.name}")
