"""Write notebooks/01_mailboxes.ipynb (sources only; `make notebooks` executes it)."""

from __future__ import annotations

from _nbgen import table, write

CHANNELS_TABLE = [
    ("0 (rendezvous)", "`make(chan T)`: unbuffered, the default (G1)",
     "tokio has none (R8); std `sync_channel(0)` (R2)"),
    ("n >= 1", "`make(chan T, n)`: send waits only when n values are queued (G2)",
     "`tokio::sync::mpsc::channel(n)`: `send().await` waits for a free slot (R9)"),
    ("unbounded", "none: every Go buffer is finite",
     "`unbounded_channel()` (and std `channel()`): never waits (R1, R21)"),
]

SUMMARY_TABLE = [
    ("capacity", "`make(chan T, n)`, 0 = rendezvous",
     "`mpsc::channel(n)`, n >= 1; rendezvous = `sync_channel(0)`"),
    ("order", "FIFO per sender (G3)", "FIFO per sender (R10)"),
    ("who closes", "the sender, explicitly, once; forget it and `range` hangs",
     "the last `Sender` drop; a stray clone keeps it open, `WeakSender` does not"),
    ("new message kind", "a type switch compiles; `default` ignores it silently",
     "every `match` without it fails (E0004); a `_` arm opts out"),
    ("select", "uniform among ready cases; priority only by an idiom",
     "random start by default; `biased` polls in order and can starve"),
    ("reply", "a channel in the message; unbuffered means a leaked replier",
     "a `oneshot`: `send` never waits and returns `Err(v)` if the caller left"),
    ("ownership", "the message is shared; late edits leak through",
     "the send moves it; a late edit is refused"),
]

CELLS: list[tuple[str, str]] = [
    ("md", """# 01 · Mailboxes

A mailbox is the queue in front of an actor. In Go it is a channel; in Rust (tokio) it is an
`mpsc` channel, whose `Sender` can be cloned and whose `Receiver` has one owner. This notebook
runs the same workloads through both and measures where they differ.

**Learning goals**

1. Tell a rendezvous (unbuffered) channel from a buffered one, and say what a buffer buys
   (less blocking) and what it costs (more latency), in both models.
2. Name the Rust equivalent of Go's `make(chan T)`, and why it is not a tokio channel.
3. Rely on FIFO order per sender, and not across senders.
4. Say who closes a channel in each model, and recognise the hang each mistake causes.
5. Explain why a new message kind slips silently past a Go type switch but stops a Rust
   build, and how a `_` arm gives that protection away.
6. Predict how `select` chooses between two ready inputs, and when one of them starves.
7. Choose a reply path (`oneshot` vs a reply channel in the message) that leaks nothing
   when callers time out.
8. Explain why a Go message can change after it was sent and a Rust one cannot.

Every run below is in deterministic virtual time: the numbers are the same on every
machine, every time."""),
    ("code", """import altair as alt
import ipywidgets
import pandas as pd

from labkit import rust, scenarios, viz, widgets

_ = viz.enable_offline()   # charts become SVG images: no internet, visible without a kernel"""),

    # -- 1. rendezvous vs buffered ---------------------------------------------------------
    ("md", """## 1. Rendezvous or buffer

A channel's **capacity** is how many sent values may wait for the receiver.

""" + table(("capacity", "Go", "Rust"), CHANNELS_TABLE) + """

`labkit.scenarios.producer_consumer` runs one producer and one consumer over one channel.
The producer waits a random gap before each send (on average `1/producer_rate` s); the
consumer takes a random time per message (on average `1/consumer_rate` s). One seed gives
both models exactly the same gaps and handling times, so any difference comes from the
channel alone. At capacity 0 the Rust model uses std's `sync_channel(0)`, because tokio
refuses:"""),
    ("code", """try:
    rust.mpsc.channel(0)
except ValueError as err:
    print("ValueError:", err)"""),
    ("md", """Now the same workload (10 messages/s in, 10 messages/s out, 200 messages) at a few
capacities, in both models. `producer_blocked` is the time the producer spent stuck in
`send`; `mean_latency_ms` runs from the start of a send to the consumer receiving it."""),
    ("code", """WORKLOAD = dict(producer_rate=10.0, consumer_rate=10.0, messages=200, seed=1)


def headline(model, capacity):
    r = scenarios.producer_consumer(model, capacity=capacity, **WORKLOAD).result
    return {"model": model, "channel": r.channel, "capacity": capacity,
            "producer_blocked_s": round(r.producer_blocked, 3),
            "blocked_sends": r.blocked_sends, "peak_depth": r.peak_depth,
            "mean_latency_ms": round(r.mean_latency * 1000, 1), "in_order": r.in_order}


pd.DataFrame([headline(m, c) for c in (0, 1, 5) for m in ("go", "rust")])"""),
    ("md", """**What to notice.** Each pair of rows is identical except for the `channel`
column: Go's `make(chan T, n)` and tokio's `mpsc::channel(n)` are the same bounded FIFO
queue, and Go's unbuffered channel behaves exactly like std's `sync_channel(0)`. A bigger
buffer cuts the producer's blocked time, and raises the latency: a message now waits
behind the others in the queue.

The timeline below shows the first 20 messages at capacity 0. Each actor has a lane;
a faint bar is a message *waiting* in the queue, a solid bar the consumer *handling* it,
and a medium bar a producer *blocked* in `send`. In Go the consumer is `main` and the
producer goroutine `go-1`; in Rust the producer task is called `producer`."""),
    ("code", """rendezvous = {
    "Go: make(chan T)": scenarios.producer_consumer("go", capacity=0, **WORKLOAD),
    "Rust: sync_channel(0)": scenarios.producer_consumer("rust", capacity=0, **WORKLOAD),
}
viz.compare(rendezvous, chart="timeline", limit=20,
            title="Capacity 0: the producer waits in send until the consumer takes the value")"""),
    ("md", """**What to notice.** Every faint *waiting* bar on the consumer's lane has a
*blocked* bar of the same length on the producer's lane: with no buffer a message can only
wait in the hand of its blocked sender. Each pair ends at the instant the consumer
finishes its previous message and receives again; the two parties move in lock-step.
The Go and Rust panels are the same picture in two colours.

With 5 slots the producer runs ahead and the queue absorbs its bursts. The depth chart
plots how many messages wait in the channel, over virtual time:"""),
    ("code", """buffered = {
    "Go: make(chan T, 5)": scenarios.producer_consumer("go", capacity=5, **WORKLOAD),
    "Rust: mpsc::channel(5)": scenarios.producer_consumer("rust", capacity=5, **WORKLOAD),
}
viz.compare(buffered, chart="depth", title="Capacity 5: messages waiting in the channel")"""),
    ("md", """**What to notice.** Depth never goes above 5, the capacity: at that ceiling the
next `send` blocks (Go, G2) or waits for a permit (Rust, R9). Where the line drops to 0 the
consumer has caught up with the producer. Both panels trace the same steps.

How far does more buffer help? The sweep below runs capacities 0 to 12 in both models and
plots the two sides of the trade."""),
    ("code", """sweep = pd.DataFrame([headline(m, c) for c in range(13) for m in ("go", "rust")])


def sweep_chart(field, title, axis_title):
    return alt.Chart(sweep, title=title).mark_line(point=True).encode(
        x=alt.X("capacity:Q", title="channel capacity (messages)"),
        y=alt.Y(f"{field}:Q", title=axis_title),
        color=viz.model_color(),
        strokeDash=alt.StrokeDash("model:N", legend=None),
        strokeWidth=alt.StrokeWidth("model:N", legend=None,  # wide Go line under the Rust one
                                    scale=alt.Scale(domain=["go", "rust"], range=[5, 2])),
    ).properties(width=300, height=220)


alt.hconcat(
    sweep_chart("producer_blocked_s", "Producer blocked in send", "time blocked (s)"),
    sweep_chart("mean_latency_ms", "Latency from send to receive", "mean latency (ms)"),
).properties(title="Buffering trades blocked time for latency (same workload, both models)")"""),
    ("md", """**What to notice.** Left: blocked time falls quickly for the first few slots,
then flattens. Right: latency climbs roughly in a straight line with capacity. The Go
line (wide, solid cyan) and the Rust line (thin, dashed red) lie on top of each other: for
a bounded queue the two models agree, and the choice of capacity matters far more than the
language."""),

    # -- live experiment -------------------------------------------------------------------
    ("md", """## Live experiment: capacity and rates

Move the sliders: each change re-runs `producer_consumer` in both models (150 messages,
seed 1) and redraws the timeline and the depth chart, Go above or left, Rust below or
right, on shared axes. Press **play** to watch the queue fill up over virtual time.

Things to try:

- Set `producer_rate` above `consumer_rate`. The depth climbs to the capacity and stays
  there; the producer's lane fills with *blocked* bars. No buffer fixes a producer that is
  faster on average; it only delays the moment it blocks.
- Set them equal and raise `capacity` from 0 to 10. Blocking fades, the *waiting* bars grow.
- Set `capacity` to 0 and compare the channel names in the status line."""),
    ("code", """live = widgets.Dashboard(
    scenarios.producer_consumer,
    controls={
        "capacity": ipywidgets.IntSlider(value=3, min=0, max=10, description="capacity"),
        "producer_rate": ipywidgets.FloatSlider(value=12.0, min=1.0, max=30.0, step=1.0,
                                                description="producer_rate (msg/s)"),
        "consumer_rate": ipywidgets.FloatSlider(value=10.0, min=1.0, max=30.0, step=1.0,
                                                description="consumer_rate (msg/s)"),
    },
    charts=["timeline", "depth"],
    compare_models=["go", "rust"],
    fixed={"messages": 150, "seed": 1},
)
live"""),
    ("md", """**What to notice** in the picture it starts with (capacity 3, 12 messages/s in,
10 out): the depth line spends much of its time at 3, the ceiling, and the producer's lane
shows *blocked* bars exactly where the queue is full. The queue fills because the consumer
is slower on average, and that holds in both models."""),

    # -- 2. FIFO ---------------------------------------------------------------------------
    ("md", """## 2. FIFO order: per sender, not across senders

Three producers each send five numbered values into one channel. In Go all three share
one channel; in Rust each producer owns a clone of the `Sender`. Below, `P1:0` is
producer 1's value number 0, in the order the receiver got them."""),
    ("code", """for model in ("go", "rust"):
    r = scenarios.fifo_order(model, producers=3, messages=5, capacity=2).result
    order = " ".join(f"P{p}:{seq}" for p, seq in r.received)
    print(f"{model:4}  {order}")
    print(f"      each sender in order: {r.per_producer_fifo}; "
          f"switches between senders: {r.switches} of {len(r.received) - 1}")"""),
    ("md", """**What to notice.** Read one producer at a time: `P0:0 ... P0:4` appear in order,
and so do P1 and P2 (G3; R10). Read the whole line: the producers interleave freely.
Never rely on an order *across* senders; if you need one, put a sequence number or a
timestamp in the message."""),

    # -- 3. who closes ---------------------------------------------------------------------
    ("md", """## 3. Who closes the channel?

A consumer that reads "until the end" needs someone to say the end has come.

- **Go:** the *sender* calls `close(ch)`, exactly once, after its last send; the
  consumer's `for v := range ch` then drains the channel and stops (G11, G16, G28).
  *Mistake:* forget `close`; the consumer waits forever.
- **Rust:** nobody closes; the channel closes when the **last `Sender` is dropped** and
  `recv()` returns `None` (R3, R15). *Mistake:* a stray `Sender` clone stays alive (here
  the consumer keeps one to its own channel), so the last sender is never dropped. *Fix:*
  keep a `WeakSender` instead (R20).

`scenarios.who_closes` runs each model with and without its mistake; `main` waits up to
1 s for the consumer to finish."""),
    ("code", """cases = []
for model in ("go", "rust"):
    for mistake in (True, False):
        r = scenarios.who_closes(model, mistake=mistake, messages=3, patience=1.0).result
        cases.append({"model": model, "mistake": mistake, "received": r.received,
                      "hung": r.hung, "leaked tasks": ", ".join(r.leaked) or "none",
                      "why": r.explanation})
pd.set_option("display.max_colwidth", None)
pd.DataFrame(cases)"""),
    ("md", """**What to notice.** With the mistake, every message arrives (`received` is 3),
and yet the consumer never finishes: `main` gives up after 1 s and the consumer task is
leaked. Go's leak is a missing call; Rust's is an extra handle. The fixes are opposite in
spirit: Go *adds* a `close`, Rust *removes* a strong reference.

If `main` waits without a timeout, every task ends up blocked. Go's runtime calls that
`all goroutines are asleep - deadlock!` (G33); labkit detects the same in both models and
reports what each task waited on:"""),
    ("code", """for model in ("go", "rust"):
    r = scenarios.who_closes(model, mistake=True, patience=None).result
    print(f"{model}: deadlock={r.deadlock}")
    for task, waiting_on in r.blocked.items():
        print(f"    {task:9} blocked on {waiting_on}")"""),
    ("md", """**What to notice.** In Go the consumer (`go-2`) waits to receive from the
channel nobody will close. In Rust the consumer waits in `recv()` on `mpsc-1`, which its
own `Sender` clone keeps open, and `main` waits to join it."""),

    # -- 4. message contracts --------------------------------------------------------------
    ("md", """## 4. A new message kind: who notices?

A worker serves three kinds of request: `Ping`, `Put(key, value)` and `Get(key)`. Then a
teammate adds a fourth, `Stop` ("finish and exit"), and the client starts sending it.
Nobody touches the worker's handler.

- **Go:** the mailbox is a `chan Msg`, with `Msg` an interface, and the worker dispatches
  with a type switch: `case Ping`, `case Put`, `case Get`, and the usual
  `default: // ignore`. Adding a type breaks nothing, so the program compiles and a `Stop`
  lands in `default` at run time.
- **Rust:** `Msg` is an `enum`, and a `match` must cover every variant. Adding `Stop` breaks
  every handler that lacks it: `error[E0004]: non-exhaustive patterns` (R39). labkit runs
  that check when the handler table is registered, with `rust.match_exhaustive`.

The messages are `@rust.enum` variants, frozen dataclasses that work in `match`:"""),
    ("code", """from labkit.scenarios.mailboxes import Msg

Msg.Put(key="a", value=1), Msg.Stop()"""),
    ("md", """`scenarios.message_contracts` sends 12 random requests, one every 10 ms, with a
`Stop` after the first 6, then waits up to 1 s for the worker to exit. First Go, with the
type switch as it was written before `Stop` existed (`handler="stale"`). The table counts
what became of each kind, from the worker's and the client's own view:"""),
    ("code", """def per_kind(r):
    return pd.DataFrame({"sent": r.sent, "handled": r.handled,
                         "ignored (catch-all)": r.ignored, "refused at send": r.refused})


go_stale = scenarios.message_contracts("go", handler="stale", messages=12)
r = go_stale.result
print(f"worker stopped: {r.stopped}; requests served after Stop: {r.work_after_stop}; "
      f"still running after 1 s: {go_stale.leaked}")
per_kind(r)"""),
    ("md", """**What to notice.** The `Stop` was sent and received, and then nothing happened:
`default` swallowed it. The 6 requests sent after it were all served, and the worker
goroutine `go-1` was still waiting for the next message when the run ended (leaked). The
only evidence is a receive, as the trace shows:"""),
    ("code", """df = go_stale.trace.df
df[df["msg_type"] == "Stop"][["time", "kind", "actor", "peer", "msg_type"]]"""),
    ("md", """**What to notice.** A `send` and a `receive`, then silence: no drop, no error,
no log line. A test that only checks the requests' answers passes.

Now Rust. The worker registers its handler table, one handler per variant, as the arms
of a `match`. Written before `Stop` existed, it covers three of the four:"""),
    ("code", """stale_arms = {Msg.Ping: print, Msg.Put: print, Msg.Get: print}
try:
    rust.match_exhaustive(Msg, stale_arms)
except rust.NonExhaustiveMatch as err:
    print("NonExhaustiveMatch:", err)"""),
    ("md", """**What to notice.** The error names the missing variant, `Msg.Stop`, and the two
ways out: an arm for it, or a `_` wildcard (more on that one below). The scenario makes the
same registration before it sends anything, so its run stops there, the way `cargo build`
would, and the result reports it:"""),
    ("code", """r = scenarios.message_contracts("rust", handler="stale", messages=12).result
print(f"rejected at registration: {r.rejected_at_registration}, missing: {r.missing}")
print(f"messages sent: {sum(r.sent.values())}, processed: {r.processed}, "
      f"silently ignored: {r.silently_ignored}")"""),
    ("md", """**What to notice.** The run ended before a single message was sent: zero
processed, zero lost. The teammate who added `Stop` is told about every handler that needs
it, at build time. With the arm added (`handler="updated"`), it runs:"""),
    ("code", """rust_fixed = scenarios.message_contracts("rust", handler="updated", messages=12)
r = rust_fixed.result
print(f"worker stopped: {r.stopped}; requests served after Stop: {r.work_after_stop}; "
      f"leaked: {rust_fixed.leaked}")
per_kind(r)"""),
    ("md", """**What to notice.** `Stop` is handled once and the worker returns, dropping its
`Receiver`. The 6 later sends come back as `Err(SendError(v))`, with the message handed
back (R9, R17): refused, not lost, and the client knows it. Nothing is leaked.

The whole picture, with a third model: an actor whose `accepts` names the kinds it takes
(`labkit.actor`), and with the Go-like way out of the Rust error, a `_ => {}` arm
(`handler="wildcard"`):"""),
    ("code", """rows = []
for model in ("go", "rust", "actor"):
    for handler in ("stale", "wildcard", "updated"):
        r = scenarios.message_contracts(model, handler=handler, messages=12).result
        rows.append({"model": model, "handler": handler,
                     "rejected at registration": r.rejected_at_registration,
                     "silently ignored": r.silently_ignored,
                     "served after Stop": r.work_after_stop,
                     "refused at send": sum(r.refused.values()),
                     "stopped on Stop": r.stopped, "why": r.explanation})
pd.DataFrame(rows)"""),
    ("md", """**What to notice.** A message is lost *silently* only where a catch-all arm
exists: Go always has one in spirit (`default`, or simply no matching case), Rust only
when someone writes `_`. The stale Rust handler is the one row where nothing ran at all,
which is the point: the mistake never reaches production. The actor's `accepts` is loud
too (`WrongMessageType` at the sender) but only at run time, when a `Stop` is actually
sent, so a test must send one to find it. In every row where the worker ran without a
`Stop` arm, it served all 6 requests that came after the `Stop`."""),

    # -- 5. select fairness ----------------------------------------------------------------
    ("md", """## 5. `select` fairness: who wins when both inputs are ready?

An actor often reads from more than one mailbox, say a control channel and a data channel.
`scenarios.select_fairness` keeps two inputs, `a` and `b`, *always* ready and selects
1000 times.

- **Go:** `select` picks uniformly at random among ready cases (G21). There is no biased
  select; the priority idiom (try `a` alone with `default`, then select both) starves `b`.
- **Rust:** tokio's `select!` starts at a random branch by default; with `biased;` it
  polls branches in the order written, so the first ready branch always wins (R28)."""),
    ("code", """rows = []
for model in ("go", "rust"):
    for biased in (False, True):
        r = scenarios.select_fairness(model, biased=biased, iterations=1000).result
        policy = "biased / priority" if biased else "default (random)"
        rows += [{"model": model, "policy": policy, "input": "a", "share": 100 * r.share_a},
                 {"model": model, "policy": policy, "input": "b", "share": 100 * r.share_b}]
shares = pd.DataFrame(rows)

alt.Chart(shares).mark_bar().encode(
    x=alt.X("input:N", title="input", axis=alt.Axis(labelAngle=0)),
    xOffset=alt.XOffset("model:N"),
    y=alt.Y("share:Q", title="selects won (% of 1000)", scale=alt.Scale(domain=[0, 100])),
    color=viz.model_color(),
).properties(width=220, height=220).facet(
    column=alt.Column("policy:N", title="select policy",
                      sort=["default (random)", "biased / priority"]),
).properties(title="Two always-ready inputs: share of selects each one wins")"""),
    ("md", """**What to notice.** Left panel: both models split about 50/50, so neither input
waits long. Right panel: `b` wins **none** of the 1000 selects; it starves for as long as
`a` stays ready. In tokio `biased;` is the right tool when the first branch is a rare
shutdown signal, and the wrong one when it is a busy data stream. The longest run of
selects that `b` lost:"""),
    ("code", """for model in ("go", "rust"):
    for biased in (False, True):
        r = scenarios.select_fairness(model, biased=biased, iterations=1000).result
        print(f"{model:4} biased={biased!s:5}  b lost {r.longest_wait_b} selects in a row")"""),

    # -- 6. ask / reply --------------------------------------------------------------------
    ("md", """## 6. Asking for a reply

A request-reply ("ask") carries a way back in the message.

- **Go:** a reply channel travels in the message; the caller `select`s on it and a timer.
  If the caller times out and leaves, nobody will ever receive from that channel. An
  **unbuffered** reply channel then blocks its replier forever: a leaked goroutine. A
  buffer of 1 lets the replier park the reply and move on.
- **Rust:** a `oneshot::Sender` travels in the message (R40). `send` never waits: if the
  caller has dropped its receiver it returns `Err(v)`, handing the value back (R22).

`scenarios.ask_reply` makes 20 requests, each given 100 ms; the service takes 100 ms on
average, so about half the callers give up."""),
    ("code", """asks = []
for model, buffer in (("go", 0), ("go", 1), ("rust", 0)):
    run = scenarios.ask_reply(model, caller_timeout=0.100, service_time=0.100,
                              requests=20, reply_buffer=buffer)
    r = run.result
    asks.append({"model": model, "reply path": "oneshot" if model == "rust"
                 else f"chan in message, buffer {buffer}",
                 "answered": r.answered, "timed out": r.timed_out,
                 "blocked repliers": r.blocked_repliers, "refused replies (Err)": r.failed_replies,
                 "tasks leaked": len(run.leaked)})
pd.DataFrame(asks)"""),
    ("md", """**What to notice.** The callers see the same thing in all three rows: 11 answers,
9 timeouts. The difference is on the other side. With an unbuffered reply channel, each of
the 9 late repliers is stuck forever (9 leaked goroutines). With a buffer of 1 they finish;
their replies sit in channels that the garbage collector will reclaim. With a oneshot, the
9 late replies come back as `Err` and the replier *knows* its caller left: it can log it,
undo work, or retry elsewhere."""),

    # -- 7. ownership ----------------------------------------------------------------------
    ("md", """## 7. Who owns a message after it is sent?

The sender builds a message `["order", "qty=1"]`, sends it, then changes `qty` to 100.
What does the receiver read a moment later?"""),
    ("code", """for model in ("go", "rust"):
    r = scenarios.ownership(model).result
    print(f"{model:4} sent {r.sent}  received {r.received}  "
          f"edit visible: {r.mutation_visible}")
    if r.error:
        print(f"     the edit was refused: {r.error}")"""),
    ("md", """**What to notice.** In Go the channel carried a reference (a slice header): both
sides share one list, so the late edit reaches the receiver. In real Go it is a data race,
which compiles and runs, and which `go test -race` may catch. In Rust, `send` **moves** the
value (R37): the sender's handle is spent, the edit is refused (the compiler rejects it as
`E0382: borrow of moved value`), and the receiver reads exactly what was sent. labkit's
`rust.Owned` models the move at run time."""),

    # -- exercises -------------------------------------------------------------------------
    ("md", """## Exercises

Each exercise has an answer cell and a check cell. The answers start as `None`, so the
checks say "not yet"; change the answer, run both cells, and read the verdict. Worked
solutions are at the end of the notebook.

### Exercise 1: how much buffer?

A producer sends 200 messages at 10 messages/s on average; the consumer is *faster*, 12
messages/s on average (`seed=1`). Bursts still make the producer block now and then.
**What is the smallest capacity at which the producer never blocks** (`blocked_sends`
is 0)? Is the answer the same in both models? Explore with `scenarios.producer_consumer`
or the dashboard above."""),
    ("code", """EXERCISE_1 = dict(producer_rate=10.0, consumer_rate=12.0, messages=200, seed=1)


def blocked_sends(model, capacity):
    return scenarios.producer_consumer(model, capacity=capacity, **EXERCISE_1).result.blocked_sends


def check_capacity(answer):
    if not isinstance(answer, int) or answer < 0:
        return print("❌ not yet: set smallest_capacity to a whole number of slots (0 or more)")
    counts = {m: blocked_sends(m, answer) for m in ("go", "rust")}
    if any(counts.values()):
        return print(f"❌ not yet: at capacity {answer} the producer still blocks "
                     f"(Go {counts['go']}, Rust {counts['rust']} sends); try more slots")
    if answer > 0 and blocked_sends("go", answer - 1) == 0:
        return print(f"❌ not yet: capacity {answer} works, but so does {answer - 1}; "
                     "find the smallest")
    print(f"✅ correct: {answer} slots is the least with no blocked send, in Go and in Rust "
          "alike. Every extra slot also adds latency: size buffers for bursts, not for speed.")"""),
    ("code", """smallest_capacity = None   # your answer: a number of slots"""),
    ("code", """check_capacity(smallest_capacity)"""),
    ("md", """### Exercise 2: stop the leak

In section 6 an unbuffered reply channel leaked one Go replier per timed-out caller.
**Which `reply_buffer` is the smallest that leaks no replier** in the Go model (same 20
requests, 100 ms timeout)? And **how many replies does the Rust model refuse** with `Err`
in that run?"""),
    ("code", """def check_reply(buffer, refused):
    if not isinstance(buffer, int) or buffer < 0 or not isinstance(refused, int):
        return print("❌ not yet: set reply_buffer to a buffer size and rust_refused to a count")
    go_run = scenarios.ask_reply("go", requests=20, reply_buffer=buffer).result
    rust_run = scenarios.ask_reply("rust", requests=20).result
    if go_run.blocked_repliers:
        return print(f"❌ not yet: with reply_buffer={buffer}, {go_run.blocked_repliers} "
                     "Go repliers still block forever")
    if buffer > 0 and not scenarios.ask_reply("go", requests=20,
                                              reply_buffer=buffer - 1).result.blocked_repliers:
        return print(f"❌ not yet: reply_buffer={buffer - 1} is enough too; find the smallest")
    if refused != rust_run.failed_replies:
        return print(f"❌ not yet: the buffer is right, but the Rust count is off "
                     f"(you said {refused}); one refusal per caller that left")
    print(f"✅ correct: a reply buffer of {buffer} lets every late Go replier finish, and "
          f"Rust refuses {refused} replies, one per timed-out caller, with Err(v).")"""),
    ("code", """reply_buffer = None   # your answer: the smallest buffer with no blocked replier
rust_refused = None   # your answer: how many oneshot sends return Err"""),
    ("code", """check_reply(reply_buffer, rust_refused)"""),
    ("md", """### Exercise 3: the wildcard arm

To silence the E0004 error from section 4, a teammate adds `_ => {}` to the Rust handler
instead of a `Stop` arm (`handler="wildcard"`). The client sends 12 requests with the
`Stop` after the first 4 (`stop_after=4`). **How many requests does the Rust worker serve
after the `Stop` was sent, and does it stop because of the `Stop`?** Predict first, then
check with `scenarios.message_contracts`."""),
    ("code", """def check_wildcard(served, stopped):
    if isinstance(served, bool) or not isinstance(served, int) or not isinstance(stopped, bool):
        return print("❌ not yet: set served_after_stop to a count and stopped_by_stop to "
                     "True or False")
    r = scenarios.message_contracts("rust", handler="wildcard", messages=12,
                                    stop_after=4).result
    if served != r.work_after_stop:
        return print(f"❌ not yet: {served} is not the number of requests served after the "
                     "Stop; which requests come after it, and what does `_` do with Stop?")
    if stopped != r.stopped:
        return print("❌ not yet: the count is right, but look again at what the `_` arm "
                     "does with the Stop")
    print(f"✅ correct: `_` swallows the Stop exactly as Go's default does, so all {served} "
          "later requests are served and the worker ends only when the last Sender is "
          "dropped. Exhaustiveness protects you only while no arm says `_`.")"""),
    ("code", """served_after_stop = None   # your answer: requests served after the Stop was sent
stopped_by_stop = None     # your answer: True or False"""),
    ("code", """check_wildcard(served_after_stop, stopped_by_stop)"""),

    # -- summary ---------------------------------------------------------------------------
    ("md", """## Summary

""" + table(("", "Go", "Rust"), SUMMARY_TABLE) + """

- For a bounded FIFO queue the two models behave the same on the same workload: capacity
  trades the producer's blocked time for the messages' latency.
- The differences are in the edges: who ends a stream, whether a new kind of message is
  noticed, how a choice is made, where a reply goes when nobody waits, and whether a
  message can change after it left.

**Where next:** `02_routing`: one mailbox, many workers. Go lets several goroutines receive
from one channel; a tokio `Receiver` has one owner, so Rust needs a router or a shared
lock. The rules cited here (G1-G47, R1-R40) are in `SEMANTICS.md`."""),

    # -- solutions -------------------------------------------------------------------------
    ("md", """## Solutions

Try the exercises first. These cells run the same checks with worked answers.

**Exercise 1.** Sweep the capacity and stop at the first one with no blocked send:"""),
    ("code", """solution_1 = next(c for c in range(50) if blocked_sends("go", c) == 0)
check_capacity(solution_1)"""),
    ("md", """**Exercise 2.** A buffer of one slot is enough for one reply; a oneshot refuses one
reply per caller that timed out:"""),
    ("code", """timed_out = scenarios.ask_reply("rust", requests=20).result.timed_out
check_reply(1, timed_out)"""),
    ("md", """**Exercise 3.** The `_` arm matches `Stop` and does nothing, so the worker keeps
serving: every one of the 8 requests after the `Stop`. It ends later, when `main` drops
the last `Sender`, not because of the `Stop`:"""),
    ("code", """wild = scenarios.message_contracts("rust", handler="wildcard", messages=12,
                                   stop_after=4).result
check_wildcard(wild.work_after_stop, wild.stopped)"""),
]


if __name__ == "__main__":
    write(CELLS, "01_mailboxes.ipynb", "mailboxes")
