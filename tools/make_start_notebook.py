"""Write notebooks/00_start_here.ipynb (sources only; `make notebooks` executes it)."""

from __future__ import annotations

from _nbgen import table, write

MODELS_TABLE = [
    ("start a task", "`go.go(f, *args)`: a goroutine, no handle",
     "`rust.spawn(f, *args)` returns a `JoinHandle`"),
    ("mailbox", "`go.Chan(n)`; `n = 0` (the default) is unbuffered, a rendezvous (G1)",
     "`rust.mpsc.channel(n)` needs `n >= 1` (R8); the rendezvous is std "
     "`sync_channel(0)` (R2)"),
    ("send", "`await ch.send(v)` waits for room; on a closed channel it panics",
     "`await tx.send(v)` returns a `Result`; a failed send hands `v` back (R9)"),
    ("receive", "`v, ok = await ch.recv()`; `ok` is false once closed and drained",
     "`await rx.recv()` gives the value, or `None` once every sender is gone (R15)"),
    ("who closes", "the sender calls `ch.close()`, once, explicitly (G16)",
     "nobody: the channel closes when the last `Sender` is dropped (R3)"),
    ("reply", "a reply channel travels inside the message",
     "a `oneshot` sender travels inside the message (R40)"),
    ("choose between inputs", "`go.select(...)`: uniformly random among ready cases (G21)",
     "`rust.select(...)`: random start, or declaration order with `biased` (R28)"),
    ("message kinds", "an interface and a type switch: a new kind falls into `default`",
     "an `enum` and a `match` that must cover every variant (E0004, R39)"),
    ("cancel", "cooperative only: a `context` the task checks",
     "`CancellationToken`, or a forcible `abort()` at the next `.await`"),
    ("a task fails", "an unrecovered panic ends the whole program",
     "the panic becomes a `JoinError`; the rest runs on"),
    ("sharing data", "the message is a reference both sides can mutate",
     "sending an `Owned` value moves it; the sender cannot touch it again"),
]

MAP_TABLE = [
    ("`00_start_here`", "this tour", "the same exchange in both models"),
    ("`01_mailboxes`",
     "buffered vs rendezvous, FIFO order, who closes, message kinds, select fairness, "
     "ask, ownership",
     "explicit `close` vs last-sender drop; type switch vs exhaustive `match`; uniform vs "
     "`biased` select; reply channel vs oneshot; shared vs moved messages"),
    ("`02_routing`", "routers, sharding, a shared work queue vs per-worker queues, "
     "fan-out to subscribers, latest-value state",
     "one MPMC channel vs a router with per-worker mpsc; silent drops vs `Lagged(k)`; "
     "`watch`"),
    ("`03_backpressure`", "overflow policies, credits, rate limits, reserve-before-work",
     "blocking send vs `try_send` / `reserve`"),
    ("`04_supervision`", "restart strategies, intensity, backoff",
     "a panic ends the program vs a `JoinError`"),
    ("`05_replay`", "journals, snapshots, replay, idempotency",
     "silent loss vs reported gaps"),
]

CELLS: list[tuple[str, str]] = [
    ("md", """# 00 · Start here

**labkit** lets you run the same message-passing program on two models side by side:
a **Go-style** model (goroutines, channels, `select`, `context`) and a **Rust-style** model
(tokio-like bounded channels with permits, oneshot replies, `Result`, ownership moves).

**Learning goals**

1. Run a program in deterministic *virtual time* with `labkit.simulate` and read its trace.
2. See one exchange, ping-pong, written three ways (Go channels, Rust channels, actors)
   and drawn as a sequence diagram, Go and Rust side by side.
3. Know the Go-style and Rust-style models at a glance, from one table.
4. Drive a live dashboard: controls re-run a scenario and redraw its charts.
5. Meet labkit's deadlock report, and know where each later notebook goes.

An **actor** is a piece of state that only one task touches. Others never call it; they
send it messages, which wait in its **mailbox** until it handles them one at a time.
Goroutines with channels and tokio tasks with mpsc channels are both ways to build actors."""),
    ("code", """import labkit
from labkit import go, rust, scenarios, viz, widgets
from labkit.actor import Actor, ActorSystem

_ = viz.enable_offline()   # charts become SVG images: no internet, visible without a kernel"""),
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
    ("md", """## Ping-pong as a picture

`labkit.scenarios.ping_pong` is the same exchange packaged as a reusable experiment: a
pure function of its parameters and seed that returns a `Run`. Its result names the two
parties; in the trace the Go pong goroutine is called `go-1`, the Rust task `pong`."""),
    ("code", """go_run = scenarios.ping_pong("go", rounds=3)
rust_run = scenarios.ping_pong("rust", rounds=3)
print("Go parties:  ", go_run.result.parties)
print("Rust parties:", rust_run.result.parties)"""),
    ("md", """A **sequence diagram** draws each actor as a vertical lane with time running
downwards (virtual seconds), and each message as an arrow from its sender to its receiver.
Colours are fixed across every notebook: cyan is Go, rust-red is Rust."""),
    ("code", """viz.compare({"Go": go_run, "Rust": rust_run}, chart="sequence",
            title="Ping-pong, 3 rounds: Go channels vs Rust mpsc + oneshot")"""),
    ("md", """**What to notice.** Both panels have the same shape. `main` hits at 0, 10 and
20 ms; the other side hits back 10 ms (the hit time) after each catch, at 10, 20 and 30 ms.
At 10 and 20 ms a return and the next hit happen at the same instant, so two arrows
overlap and look double-headed. Every arrow is flat: a message sent at time *t* is
received at *t*, because nothing else is queued and virtual time only moves when someone
sleeps. What differs is the plumbing, not the timing: Go uses two unbuffered channels,
Rust one `mpsc` channel for requests and
a fresh `oneshot` per reply. The channels each run sent on, from the `peer` column:"""),
    ("code", """def channels(run):
    sends = run.trace.df[run.trace.df["kind"] == "send"]
    return sends["peer"].unique().tolist()


print("Go channels:  ", channels(go_run))
print("Rust channels:", channels(rust_run))"""),
    ("md", """## The two models in one table

""" + table(("", "Go-style (`labkit.go`)", "Rust-style (`labkit.rust`)"), MODELS_TABLE) + """

Notebook `01_mailboxes` measures the first eight rows; the last three come back in the
notebooks on supervision and cancellation."""),
    ("md", """## How the widgets work

Every later notebook has a **live experiment**: a `widgets.Dashboard` binds sliders to a
scenario's parameters. When a slider moves it re-runs the scenario (in virtual time, so
it takes a fraction of a second) and redraws the charts in place. Below, `rounds` and
`hit_time` drive ping-pong in both models, side by side.

- Move a slider and release it: the scenario re-runs and the diagram is redrawn.
- Press **play** (or drag the `time (s)` slider) to replay the run up to an instant:
  arrows appear as virtual time passes; nothing is re-simulated.
- The line under the chart gives the run's headline numbers for each model.

Without a running kernel (on GitHub, say) you see a still image of the first run."""),
    ("code", """pingpong_dash = widgets.Dashboard(
    scenarios.ping_pong,
    controls={"rounds": range(1, 7), "hit_time": (0.0, 0.05, 0.005)},
    charts="sequence",
    compare_models=["go", "rust"],
)
pingpong_dash"""),
    ("md", """**What to notice.** Raise `rounds`: both lanes gain arrows at the same instants,
so the models stay in step. Set `hit_time` to 0: every arrow lands at time 0, because
virtual time only advances when a task sleeps. The code behind a dashboard is the
scenario function; you can call it directly, with the same parameters:"""),
    ("code", """scenarios.ping_pong("rust", rounds=5, hit_time=0.02).result.ball"""),
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

""" + table(("notebook", "what you will see", "the Go vs Rust contrast in it"),
           MAP_TABLE) + """

Notebooks 04 and 05 are being written. The rules behind every name are in
`SEMANTICS.md` (G1-G47 for Go, R1-R40 for Rust).

"""),
    ("md", """## Summary

- `labkit.simulate` runs a program in repeatable virtual time and returns its result and
  trace; the same seed gives the same trace, row for row.
- Go-style code talks over channels it closes itself; Rust-style code sends `Result`s,
  replies over oneshots and closes a channel by dropping its last sender; actors wrap
  either in a mailbox.
- `labkit.scenarios` packages each experiment as a function, `labkit.viz` draws its trace
  (Go cyan, Rust rust-red, on shared axes) and `labkit.widgets.Dashboard` re-runs it
  from sliders.

**Where next:** `01_mailboxes`: what a mailbox's capacity changes, who closes it, how
`select` chooses, how replies come back, and who owns a message once it is sent."""),
]


if __name__ == "__main__":
    write(CELLS, "00_start_here.ipynb", "start")
