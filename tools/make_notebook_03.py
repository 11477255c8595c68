"""Write notebooks/03_backpressure.ipynb (sources only; `make notebooks` executes it)."""

from __future__ import annotations

from _nbgen import table, write

POLICY_TABLE = [
    ("`block`", "`ch <- v` waits (G2)", "`tx.send(v).await` waits (R9)",
     "`await ref.send(v)` waits", "nothing; the producer slows down"),
    ("`drop_new`", "`select { case ch <- v: default: }` (G22)",
     "`try_send(v)` -> `Err(Full(v))`, caller drops `v` (R12)", "`tell`: a dead letter",
     "the new message"),
    ("`drop_head`", "none", "none", "`tell`: evicts the oldest", "the oldest queued"),
    ("`drop_tail`", "none", "none", "`tell`: evicts the newest", "the newest queued"),
    ("`fail`", "none (no error from a full channel)",
     "`try_send(v)?`: `Err(Full(v))` to the caller", "`tell` raises `MailboxFull`",
     "nothing; the caller holds it"),
    ("`unbounded`", "none (every channel has a capacity)", "`unbounded_channel()` (R21)",
     "`Mailbox(None)`", "nothing; memory and latency grow"),
]

SUMMARY_TABLE = [
    ("full queue, waiting send", "`ch <- v` blocks", "`send(v).await`, or `reserve()` first",
     "`await ref.send(v)`"),
    ("full queue, never wait", "`select` + `default`: silent", "`try_send` -> `Full(v)`: "
     "the value comes back", "`tell` + a policy; losses are dead letters"),
    ("evict queued messages", "no", "no (mpsc); `broadcast` overwrites", "`drop_head`, "
     "`drop_tail`"),
    ("no bound", "no", "`unbounded_channel()`", "`Mailbox(None)`"),
    ("work before the slot", "wasted when the send fails", "`reserve()`/`try_reserve()`: "
     "a slot first, no waste", "`send` waits for space"),
]

TOOLS_TABLE = [
    ("credits (`request(n)`)", "messages in flight <= the window", "the producer waits for "
     "demand"),
    ("token bucket", "admitted in any T seconds <= rate * T + burst", "waits (or drops) "
     "above the rate"),
    ("watermarks", "depth <= high; few pause/resume switches", "the queue swings between "
     "low and high"),
    ("load shedding", "depth <= threshold", "refused work, each with a reason"),
]

CELLS: list[tuple[str, str]] = [
    ("md", """# 03 · Backpressure

When a producer is faster than its consumer, something has to give. The queue between them
can make the producer **wait**, **drop** messages (the new one, the oldest, the newest),
**refuse** them with an error, or **grow** without bound. Each choice has a price: waiting,
lost messages, latency, memory. This notebook measures every one of them, on the same
workload, in the Go model, the Rust (tokio) model and the actor layer, and then tries the
tools that keep overload in check before the queue fills.

**Learning goals**

1. Predict what each overflow policy does under overload: who waits, what is lost, and
   which messages survive.
2. Measure the price: queue depth, drops, producer wait, latency percentiles, memory held.
3. Check Little's law, L = λW, on a trace, and use it to reason about a queue.
4. Say what a full Go channel and a full tokio channel do, who learns about a drop, and how
   `reserve()` avoids wasting work on a message that cannot be queued.
5. Bound a flow with credits (`request(n)`), a token bucket, watermarks and load
   shedding, and say what each guarantees.

Every run below is in deterministic virtual time: the numbers are the same on every
machine, every time."""),
    ("code", """import altair as alt
import ipywidgets
import pandas as pd

from labkit import scenarios, viz, widgets
from labkit.flow import littles_law
from labkit.trace import drops

_ = viz.enable_offline()   # charts become SVG images: no internet, visible without a kernel
pd.set_option("display.max_colwidth", None)"""),

    # -- 1. overload ---------------------------------------------------------------------------
    ("md", """## 1. Overload: every policy, measured

`scenarios.overload` runs a producer that offers `arrival_rate` messages per second to a
consumer that handles `service_rate` per second (both random, exponential), through a queue
of `capacity` slots. With 20 in and 10 out the **offered load** λ/μ is 20 / 10 = 2: half of
what arrives cannot be served in time, whatever the queue does. What the queue *can* choose
is who pays:

""" + table(("policy", "Go", "Rust (tokio)", "actor", "what is lost at a full queue"),
            POLICY_TABLE) + """

One seed gives every model the same arrival gaps and the same service times (the k-th
message handled takes the k-th service time, whatever the policy), so any difference
below comes from the policy and the model alone. Combinations a model does not have raise
an error that says what it offers instead:"""),
    ("code", """try:
    scenarios.overload("go", "unbounded")
except ValueError as err:
    print("ValueError:", err)"""),
    ("md", """All twelve combinations on one workload: 200 messages, 20/s in, 10/s out,
capacity 10. `recorded` counts the losses that left a row in the trace (a dead letter, a
drop or a reject); `producer_wait_s` is the time the producer was blocked; the latency
percentiles run from the start of a send to the consumer receiving the message. `held_kb`
is the memory held at the worst moment by 1 KiB payloads: the messages in the queue plus
the one a blocked producer holds, built and waiting to go in (`peak_held` · payload). Both
are in memory; a dropped or refused message is not."""),
    ("code", """WORKLOAD = dict(arrival_rate=20.0, service_rate=10.0, capacity=10, messages=200,
                seed=1)


def headline(r):
    return {"model": r.model, "policy": r.policy, "delivered": r.delivered,
            "dropped": r.dropped, "refused": r.refused, "recorded": r.losses_recorded,
            "peak_depth": r.peak_depth, "producer_wait_s": round(r.producer_wait, 2),
            "p50_ms": round(r.p50_latency * 1000), "p99_ms": round(r.p99_latency * 1000),
            "held_kb": r.memory_held_bytes // 1024}


runs = {(m, p): scenarios.overload(m, p, **WORKLOAD)
        for m, policies in scenarios.backpressure.OFFERED.items() for p in policies}
pd.DataFrame([headline(run.result) for run in runs.values()])"""),
    ("md", """**What to notice.**

- `block` loses nothing and keeps the depth at 10, but the producer spends about 10 s of
  its 20 s blocked: it was slowed down to the consumer's pace. That is backpressure. While
  it waits it holds the next message, so `block` holds 11 KiB: 10 queued and 1 in hand.
- The four losing policies (`drop_new`, `drop_head`, `drop_tail`, `fail`) deliver the
  same 95 messages: the queue is the same size and the consumer does the same work, so the
  same number gets through. They differ in *which* 95 (see the latency columns), and in
  whether anyone hears about the other 105.
- Go's `select`-`default` row has **0 recorded** losses: the channel saw nothing, and only
  the producer's own counter knows. Rust's `try_send` hands every refused value back inside
  `Err(Full(v))`, and the actor records a dead letter with a reason.
- `unbounded` loses nothing and never blocks, and pays in memory (115 KiB at the peak, vs
  10 or 11 with a bound) and latency (p99 about 11 s, vs about 1.5 s).
- For the policies both have, Go and Rust give the same numbers: a bounded FIFO queue is a
  bounded FIFO queue. The models differ in what they let you express."""),
    ("md", """### Which messages survive?

Ten messages arrive within 10 ms at a 3-slot mailbox whose actor takes 1 s per message.
Message 0 goes straight to the idle actor, 1 to 3 fill the mailbox, 4 to 9 meet it full:"""),
    ("code", """for policy in scenarios.backpressure.POLICIES:
    r = scenarios.overload("actor", policy, arrival_rate=1000, service_rate=1, capacity=3,
                           messages=10, pacing="fixed").result
    print(f"{policy:10} kept {list(r.kept)!s:32} dropped {r.dropped}, refused {r.refused}, "
          f"producer waited {r.producer_wait:.2f} s")"""),
    ("md", """**What to notice.** `drop_new` and `fail` keep the *oldest* messages (the
queue is first come, first served); `drop_head` keeps the *newest* (the freshest data:
right for a sensor reading or a price, wrong for a bank transfer); `drop_tail` keeps the
oldest ones and lets each new arrival replace the last in line, so message 9 gets in.
`block` and `unbounded` keep everything, paid for in waiting and in memory.

### Depth over time

The depth chart plots how many messages wait in the mailbox over virtual time (actor
model, same workload as the table):"""),
    ("code", """actor_runs = {p: runs["actor", p] for p in ("block", "drop_head", "unbounded")}
viz.compare(actor_runs, chart="depth",
            title="Mailbox depth under overload (20/s in, 10/s out)")"""),
    ("md", """**What to notice.** With a bound (`block`, `drop_head`) the depth climbs to 10
within a second and stays pinned there until the producer stops; the runs differ in what
happens at the ceiling, not in its height. Without a bound the depth climbs at about
λ - μ = 10 messages per second for the whole 10 s the producer runs, then drains at the
consumer's 10 per second: the queue is where the overload accumulates. The `block` run
lasts 20 s because its producer was slowed to the consumer's pace.

### Latency

The same three runs, latency from send to receive for every delivered message, with p50,
p90 and p99 marked:"""),
    ("code", """viz.compare(actor_runs, chart="latency",
            title="Latency of delivered messages under overload (actor model)")"""),
    ("md", """**What to notice.** `drop_head` has the lowest latency: each delivered message
is one of the newest, so it waited least. `block` is bounded too, a full queue of 10 at 10
per second is about 1 s, plus the time the sender spent blocked. `unbounded` spreads to
11 s: every message waits behind all the overload that came before it.

How does this change with the load? The sweep runs each policy at arrival rates from 5 to
30 per second (λ/μ from 0.5 to 3) and plots p50 and p99:"""),
    ("code", """RATES = (5.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0)
RATE = "arrival rate (messages/s)"   # the column names become the axis titles
sweep = pd.DataFrame([
    {"policy": p, RATE: rate, "p50": 1000 * r.p50_latency, "p99": 1000 * r.p99_latency}
    for p in ("block", "drop_new", "drop_head", "unbounded")
    for rate in RATES
    for r in [scenarios.overload("actor", p, arrival_rate=rate, service_rate=10.0,
                                 capacity=10, messages=200, seed=1).result]])
viz.sweep_chart(sweep, RATE, ["p50", "p99"], color="policy", log_y=True,
                y_title="latency (ms, log scale)", width=420, height=260,
                title="Latency vs arrival rate (service 10/s, capacity 10, actor model)")"""),
    ("md", """**What to notice.** At 5 per second (λ/μ = 0.5) the queue never fills, so its
policy never acts and the four policies give the same latencies; at 8 they are still
close. Past λ/μ = 1 the bounded policies level off, because a message can wait behind at
most 10 others, while `unbounded` keeps climbing with the load: its latency is set by how
long the overload lasts, not by any bound. `drop_head` stays lowest of all at high load."""),

    # -- 2. Little's law -----------------------------------------------------------------------
    ("md", """## 2. Little's law on the trace

For any queue that is stable over a window, the mean number of messages in it (L) equals
the rate at which they pass through (λ) times the mean time each spends in it (W):

  **L = λ W**

It holds whatever the arrival pattern, the service times or the policy. `flow.littles_law`
measures the three on a trace: L is the time-average of the recorded depth, λ the messages
leaving the queue per second (received, or evicted by `drop_head`/`drop_tail`), and W the
mean time from entering the queue (for a blocked sender, the moment it got its slot) to
leaving it. On a run that starts and ends empty the two sides agree to rounding; the tests
require 5 %."""),
    ("code", """def law_row(label, run):
    law = littles_law(run.trace)
    return {"run": label, "L (mean depth)": round(law.L, 3),
            "λ (msg/s)": round(law.lam, 3), "W (s)": round(law.W, 3),
            "λ·W": round(law.lam * law.W, 3),
            "relative error": "< 1e-9" if law.relative_error < 1e-9
            else f"{law.relative_error:.1e}"}


pd.DataFrame([law_row(f"{m} {p}", runs[m, p]) for m, p in
              [("go", "block"), ("go", "drop_new"), ("rust", "unbounded"),
               ("actor", "drop_head"), ("actor", "drop_tail"), ("actor", "fail")]])"""),
    ("md", """**What to notice.** The last column is at the level of float rounding for
every policy, including the two that evict queued messages. Two things make that work,
and both are about drawing the boundary of "the queue" honestly: a message evicted from the
queue has *left* it (it counts in λ and W), and a message whose sender is blocked is not in
the queue yet (its wait belongs to the producer, not to W). Measure W as end-to-end latency
instead and the law breaks for `block`: that latency includes the sender's wait, which the
depth does not count.

Little's law is a tool for reasoning, too. In the `go block` row the channel holds about
9.3 messages on average and passes about 9.9 per second, so a message spends
9.3 / 9.9 ≈ 0.94 s in it: you can estimate queueing delay from a depth gauge and a rate
counter, without timing a single message."""),

    # -- 3. Go vs Rust -------------------------------------------------------------------------
    ("md", """## 3. Go vs Rust: when the channel is full

Both models can wait on a full channel (`ch <- v`; `tx.send(v).await`). They differ when
the producer must *not* wait:

- **Go:** `select { case ch <- v: default: }` runs the default when the channel is full
  (G22). The idiom with an empty default drops `v` silently: no error, no record.
- **Rust:** `tx.try_send(v)` returns `Err(TrySendError::Full(v))` (R12), with the value
  inside, so the caller decides what happens to it: retry, re-route, report or drop.
  `Result` is `#[must_use]`, so the compiler warns when the result is ignored (a warning,
  not an error). Dropping it on purpose takes an explicit `let _ = tx.try_send(v);`, which
  loses `v` as silently as Go's empty `default`, but at least says so in the code.
- **Rust, slot first:** `tx.reserve().await` (or `try_reserve()`) takes a slot *before*
  the message exists (R13); `permit.send(v)` then cannot fail. If building the message is
  expensive (serialising, a database lookup), no work is spent on a message that cannot be
  queued.

`scenarios.nonblocking` makes the producer build each message (20 ms of work) before
sending it into a 5-slot channel; requests arrive at 20 per second, the consumer handles 10.
Arrivals do not wait for a busy producer: one that blocks falls behind, and latency runs
from each request's arrival."""),
    ("code", """nb = pd.DataFrame([
    {"model": r.model, "strategy": r.strategy, "code": r.spelled, "built": r.built,
     "delivered": r.delivered, "silent drops": r.dropped_silent,
     "visible drops": r.dropped_visible, "wasted work (s)": round(r.wasted_work, 2),
     "producer wait (s)": round(r.producer_wait, 2),
     "p50_ms": round(r.p50_latency * 1000), "p99_ms": round(r.p99_latency * 1000)}
    for m, strategies in scenarios.backpressure.STRATEGIES.items() for s in strategies
    for r in [scenarios.nonblocking(m, s, messages=200, seed=1).result]])
nb"""),
    ("md", """**What to notice.** Go's `select_default` and Rust's `try_send` deliver the same
90 messages and waste the same 2.2 s of work building the 110 that were then refused; the
difference is that Rust's caller got each of the 110 values back and decided what to do
with it (here: count it and record a drop row), while Go's were simply gone. `try_reserve`
delivers the same 90 and wastes **nothing**: it learns that the channel is full before
building. The waiting strategies (`send`, `reserve`) deliver all 200 but the producer falls
behind the arrivals, so the latency of a request grows to seconds."""),
    ("code", """bars = nb.assign(label=nb["model"] + " " + nb["strategy"])
order = list(bars["label"])
wasted = alt.Chart(bars).mark_bar().encode(
    x=alt.X("label:N", title="model and strategy", sort=order, axis=alt.Axis(labelAngle=-30)),
    y=alt.Y("wasted work (s):Q", title="producer work wasted (s)"),
    color=viz.model_color(models=["go", "rust"]),
).properties(width=260, height=200, title="Work spent on messages that were dropped")
tail = alt.Chart(bars).mark_bar().encode(
    x=alt.X("label:N", title="model and strategy", sort=order, axis=alt.Axis(labelAngle=-30)),
    y=alt.Y("p99_ms:Q", title="p99 latency from arrival (ms)"),
    color=viz.model_color(models=["go", "rust"]),
).properties(width=260, height=200, title="p99 latency under overload")
alt.hconcat(wasted, tail).properties(
    title="Dropping wastes work unless the slot comes first; waiting costs latency")"""),
    ("md", """**What to notice.** Left: only the build-then-try strategies waste work, and
equally in both models. Right: the non-waiting strategies keep p99 under a second; the
waiting ones pay an order of magnitude more. `try_reserve` is the only one that is low on
both charts, at the price of refusing requests, and it tells the caller each time.

The same contrast on the overload workload of section 1: the depth is identical, the
record of what was lost is not."""),
    ("code", """go_drop, rust_drop = runs["go", "drop_new"], runs["rust", "drop_new"]
for label, run in (("Go select-default", go_drop), ("Rust try_send", rust_drop)):
    lost = drops(run.trace)
    print(f"{label:18} dropped {run.result.dropped_new}, rows in the trace: {len(lost)}")
print()
print("first Rust drop rows:")
drops(rust_drop.trace)[["time", "actor", "kind", "detail"]].head(3)"""),

    # -- 4. tools ------------------------------------------------------------------------------
    ("md", """## 4. Flow-control tools

A bounded queue reacts once it is full. The tools in `labkit.flow` act earlier, or bound
something else:

""" + table(("tool", "guarantees", "price"), TOOLS_TABLE) + """

Each runs below in front of an actor whose mailbox is **unbounded**, so any bound you see
comes from the tool alone.

### Credits: the consumer says how much it can take

Reactive Streams calls it `request(n)`: the consumer grants credits, the producer spends
one per message and waits when it has none. `scenarios.credit_flow` starts with a window of
`credits` and grants one more each time the consumer takes a message out of its mailbox."""),
    ("code", """credit_runs = {c: scenarios.credit_flow(c, messages=100, seed=1)
               for c in (None, 1, 4, 8)}
pd.DataFrame([{"credits": "none" if c is None else c, "max in flight": r.result.max_in_flight,
               "peak depth": r.result.peak_depth,
               "producer wait (s)": round(r.result.producer_wait, 2),
               "p99_ms": round(r.result.p99_latency * 1000)}
              for c, r in credit_runs.items()])"""),
    ("code", """viz.compare({"no credits": credit_runs[None], "4 credits": credit_runs[4]},
            chart="depth", title="An unbounded mailbox, with and without a credit window of 4")"""),
    ("md", """**What to notice.** With credits the peak depth equals the window exactly: the
producer cannot have more in flight than it was granted, whatever the mailbox would
accept. Without them the mailbox reaches 32. A larger window buys the producer less waiting
and costs latency; a window of 1 is stop-and-wait."""),
    ("md", """### Token bucket: at most `rate` per second, `burst` at once

A bucket holds up to `burst` tokens and refills at `rate` per second; each message takes
one. Over any stretch of T seconds at most `rate · T + burst` messages get through.
`mode="wait"` makes the producer wait for a token; `mode="drop"` refuses the message
(a dead letter "rate limited")."""),
    ("code", """bucket_runs = {m: scenarios.rate_limit(rate=5.0, burst=3, arrival_rate=20.0,
                                       messages=100, mode=m, seed=1)
               for m in ("wait", "drop")}
pd.DataFrame([{"mode": m, "admitted": r.result.admitted, "refused": r.result.refused,
               "admitted per s": round(r.result.admitted_rate, 2),
               "largest burst": round(r.result.largest_burst, 3),
               "producer wait (s)": round(r.result.producer_wait, 2)}
              for m, r in bucket_runs.items()])"""),
    ("code", """run = bucket_runs["drop"]
tells = run.trace.events("tell")
admitted = pd.DataFrame({"time": tells["time"], "messages": range(1, len(tells) + 1),
                         "series": "admitted"})
arrived = pd.DataFrame({"time": run.trace.df.loc[run.trace.df["kind"].isin(
    ["tell", "dead_letter"]), "time"]})
arrived = arrived.assign(messages=range(1, len(arrived) + 1), series="offered")
end = float(arrived["time"].max())
bound = pd.DataFrame({"time": [0.0, end], "messages": [3.0, 3.0 + 5.0 * end],
                      "series": "rate · t + burst"})
colour = alt.Color("series:N", title="", scale=alt.Scale(
    domain=["offered", "admitted", "rate · t + burst"],
    range=[viz.PALETTE["other"], viz.PALETTE["actor"], viz.NEUTRAL]))
steps = alt.Chart(pd.concat([arrived, admitted])).mark_line(interpolate="step-after").encode(
    x=alt.X("time:Q", title="time (s)"), y=alt.Y("messages:Q", title="messages (cumulative)"),
    color=colour)
line = alt.Chart(bound).mark_line(strokeDash=[4, 3]).encode(
    x="time:Q", y="messages:Q", color=colour)
(steps + line).properties(width=480, height=220,
                          title="Token bucket (5/s, burst 3): admissions stay under the bound")"""),
    ("md", """**What to notice.** The offered line climbs at about 20 per second; the admitted
line at 5, never above the dashed bound 5·t + 3 (the `largest burst` column measures the
worst excess over the rate: at most 3). Waiting keeps every message, stretching 100
messages over about 20 s; dropping keeps the schedule and refuses nearly three quarters
(72 of 100)."""),
    ("md", """### Watermarks: pause high, resume low

The producer pauses when the mailbox reaches the **high** mark and resumes only once it is
down to the **low** mark. With `low = high - 1` it is a single threshold: the producer
flips between paused and resumed on almost every message. A gap between the marks
(hysteresis) switches far less often."""),
    ("code", """marks = {low: scenarios.watermarks(high=8, low=low, messages=100, seed=1)
         for low in (7, 2)}
pd.DataFrame([{"high": r.result.high, "low": low, "pause/resume switches": r.result.transitions,
               "paused (s)": round(r.result.paused_time, 2), "peak depth": r.result.peak_depth,
               "p99_ms": round(r.result.p99_latency * 1000)} for low, r in marks.items()])"""),
    ("code", """viz.compare({"single threshold (8/7)": marks[7], "hysteresis (8/2)": marks[2]},
            chart="depth", peer="consumer",
            title="Mailbox depth with watermarks: pause at 8, resume at 7 or 2")"""),
    ("md", """**What to notice.** Both stop the depth at 8. With a single threshold the depth
saws between 7 and 8 and the producer changes state more than five times as often; every
switch is a wake-up, a message or a syscall in a real system. With 8/2 the depth swings
in long waves, and each pause lasts long enough to be worth it."""),
    ("md", """### Load shedding: refuse early, and say why

A shedder refuses work *before* it queues, here when the mailbox already holds 5 messages.
Every shed message becomes a dead letter with its reason, so nothing disappears without a
record:"""),
    ("code", """shed = scenarios.load_shedding(threshold=5, messages=100, seed=1)
r = shed.result
print(f"admitted {r.admitted}, shed {r.shed}, dead letters {r.dead_letters}, "
      f"peak depth {r.peak_depth}, p99 {r.p99_latency * 1000:.0f} ms")
for reason, count in r.reasons:
    print(f"  {count:3} x {reason}")
drops(shed.trace)[["time", "actor", "kind", "detail"]].head(3)"""),
    ("md", """**What to notice.** The count of dead letters equals the count shed, and each
says why (`shed: depth 5 >= threshold 5`). Compared with a `drop_new` mailbox of capacity
5, the shedder can use any rule (a depth, a probability, a priority, a deadline) and can
act at the front door, before the message costs anything downstream."""),

    # -- live experiment -----------------------------------------------------------------------
    ("md", """## Live experiment: overload, model by model

One dashboard with every knob of `overload`: the arrival rate, the service rate, the
capacity, the policy (all six) and the models to compare. Each change re-runs the scenario
once per model (150 messages, seed 1, the same workload for every model) and redraws the
queue depth over time and the latency of delivered messages, with p50, p90 and p99 marked,
one panel per model on shared axes. Press **play** to watch the queue fill over virtual
time. The status line under the charts gives each run's numbers (`peak_held`,
`memory_held_bytes`, `losses_recorded`, ...).

A model that has no such policy gets no panel, and the status line says why and what to
use instead (when none of the chosen models has it, the charts keep the last picture that
worked). Go has only `block` (`ch <- v`) and `drop_new` (`select` with `default`); tokio's
mpsc adds `fail` (`try_send` hands `Err(Full(v))` to the caller) and `unbounded`
(`unbounded_channel()`); only the actor mailbox evicts (`drop_head`, `drop_tail`)."""),
    ("code", """def slider(description, value, low, high, kind=ipywidgets.FloatSlider):
    return kind(value=value, min=low, max=high, step=1, description=description,
                continuous_update=False, style={"description_width": "initial"})


live = widgets.Dashboard(
    scenarios.overload,
    controls={
        "arrival_rate": slider("arrival rate (messages/s)", 20.0, 2.0, 40.0),
        "service_rate": slider("service rate (messages/s)", 10.0, 2.0, 40.0),
        "capacity": slider("capacity (slots)", 10, 1, 30, ipywidgets.IntSlider),
        "policy": list(scenarios.backpressure.POLICIES),
    },
    charts=["depth", "latency"],
    compare_models=ipywidgets.Dropdown(description="models", options=[
        ("Go vs Rust", ("go", "rust")),
        ("Go vs Rust vs actor", ("go", "rust", "actor")),
        ("Rust vs actor", ("rust", "actor")),
        ("Go vs actor", ("go", "actor")),
    ]),
    fixed={"messages": 150, "seed": 1},
)
live"""),
    ("md", """**What to notice** in the picture it starts with (Go vs Rust, 20 in, 10 out,
capacity 10, `block`): both depth lines climb to 10 within a second and stay near it until
the producer stops at about 15 s, and most delivered messages took between 0.7 and 1.7 s
(p50 1.1 s, p99 1.7 s). Go and Rust draw the same picture; the policies they share behave
the same. Each status line says `peak_held 11`: ten queued and one in the blocked
producer's hand.

Things to try:

- Set the arrival rate below the service rate: the queue rarely fills and the policy hardly
  matters.
- With `block`, raise the capacity from 1 to 30: depth and latency grow with it (about
  0.1 s of latency per slot), while the run still ends at about 16 s. A bigger buffer
  does not make an overloaded consumer faster; it only holds more of the backlog.
- Switch to `drop_new`: the queue still sits at its capacity, the run ends sooner (the
  producer never waits), and the status line shows `losses_recorded 0` for Go and one per
  drop for Rust.
- Switch to `fail` or `unbounded`: only the Rust panel is drawn, and the status line says
  what Go offers instead. With `unbounded` the depth climbs for as long as the producer
  runs, and so do `peak_held`, the memory and the latency.
- Choose "Go vs Rust vs actor" and `drop_head`: only the actor mailbox evicts, so its
  panel stands alone. Compare its latency with `drop_new`'s: the same number of messages
  get through, the fresher ones."""),

    # -- exercises -----------------------------------------------------------------------------
    ("md", """## Exercises

Each exercise has an answer cell and a check cell. The answers start as `None`, so the
checks say "not yet"; change the answer, run both cells, and read the verdict. Worked
solutions are at the end of the notebook.

### Exercise 1: a capacity for a latency budget

An actor handles 10 messages per second; 20 per second arrive (200 messages, `seed=1`). You
choose `drop_head`, so the freshest messages win. **What is the largest mailbox capacity
for which the p99 latency of delivered messages stays at or under 0.5 s?**"""),
    ("code", """def p99_drop_head(capacity):
    return scenarios.overload("actor", "drop_head", arrival_rate=20.0, service_rate=10.0,
                              capacity=capacity, messages=200, seed=1).result.p99_latency


def check_budget(answer):
    if not isinstance(answer, int) or answer < 1:
        return print("❌ not yet: set largest_capacity to a whole number of slots (1 or more)")
    if p99_drop_head(answer) > 0.5:
        return print(f"❌ not yet: at capacity {answer} the p99 is "
                     f"{p99_drop_head(answer):.3f} s, over the budget; try fewer slots")
    if any(p99_drop_head(c) <= 0.5 for c in range(answer + 1, answer + 10)):
        return print(f"❌ not yet: capacity {answer} meets the budget, but a larger one "
                     "does too; find the largest")
    print(f"✅ correct: {answer} slots keep p99 at {p99_drop_head(answer):.3f} s; one more and "
          f"it is {p99_drop_head(answer + 1):.3f} s. Under overload a bounded queue's "
          "latency is set by its capacity: size it from the latency budget.")"""),
    ("code", """largest_capacity = None   # your answer: a number of slots"""),
    ("code", """check_budget(largest_capacity)"""),
    ("md", """### Exercise 2: Little's law by hand

The run below is a Rust unbounded channel at λ/μ = 1.2. Using only `mean_depth` (L) and
`little_lambda` (λ), **compute the mean time in seconds a message spends in the channel**,
and compare it with what the trace says (`little_w`) only after the check."""),
    ("code", """mild = scenarios.overload("rust", "unbounded", arrival_rate=12.0, service_rate=10.0,
                          messages=300, seed=2).result
print(f"L = {mild.mean_depth:.3f} messages, λ = {mild.little_lambda:.3f} messages/s")


def check_wait(answer):
    if not isinstance(answer, int | float):
        return print("❌ not yet: set mean_wait to a number of seconds")
    if abs(answer - mild.little_w) > 0.02 * mild.little_w:
        return print(f"❌ not yet: {answer} s is not it; Little's law is L = λ W, solve for W")
    print(f"✅ correct: W = L / λ = {answer:.3f} s; timing every message on the trace gives "
          f"{mild.little_w:.3f} s. A depth gauge and a rate counter were enough.")"""),
    ("code", """mean_wait = None   # your answer: seconds"""),
    ("code", """check_wait(mean_wait)"""),
    ("md", """### Exercise 3: a credit window

With credits the producer waits for demand. **What is the smallest credit window for which
the producer waits less than 3.2 s in total** (`scenarios.credit_flow`, 100 messages,
`seed=1`, the other parameters at their defaults)? What does that window cost in p99
latency compared with a window of 1?"""),
    ("code", """def credit_wait(window):
    return scenarios.credit_flow(window, messages=100, seed=1).result.producer_wait


def check_window(answer):
    if not isinstance(answer, int) or answer < 1:
        return print("❌ not yet: set smallest_window to a whole number of credits (1 or more)")
    if credit_wait(answer) >= 3.2:
        return print(f"❌ not yet: with {answer} credits the producer waits "
                     f"{credit_wait(answer):.2f} s; try a larger window")
    if answer > 1 and credit_wait(answer - 1) < 3.2:
        return print(f"❌ not yet: {answer} works, but so does {answer - 1}; find the smallest")
    p99 = {w: scenarios.credit_flow(w, messages=100, seed=1).result.p99_latency
           for w in (1, answer)}
    print(f"✅ correct: {answer} credits, {credit_wait(answer):.2f} s of waiting; p99 latency "
          f"{p99[answer] * 1000:.0f} ms vs {p99[1] * 1000:.0f} ms with 1 credit. A window "
          "trades the producer's waiting for the messages' latency, like a buffer.")"""),
    ("code", """smallest_window = None   # your answer: a number of credits"""),
    ("code", """check_window(smallest_window)"""),

    # -- summary -------------------------------------------------------------------------------
    ("md", """## Summary

""" + table(("", "Go", "Rust (tokio)", "actor"), SUMMARY_TABLE) + """

- Overload is decided by λ/μ, not by the queue. A queue only chooses who pays:
  the producer (`block`), some messages (`drop_*`, `fail`), or everyone's latency and the
  memory (`unbounded`).
- A bounded queue bounds latency by its capacity; an unbounded one by nothing.
- Memory held is what is queued plus what waits to be queued: a producer blocked on a
  full queue still holds its message, so N blocked producers on a queue of capacity C hold
  C + N messages.
- Little's law, L = λW, holds on every trace here to rounding, once "in the queue" is
  drawn honestly; use it to turn a depth gauge into a delay estimate.
- Go's non-blocking send loses silently unless you write the bookkeeping; Rust hands the
  value back, and `reserve()` lets the producer find out before it does the work.
- Credits bound what is in flight, a token bucket bounds the rate, watermarks bound the
  depth with few switches, and a shedder refuses early with a reason.

**Where next:** `04_supervision`: what happens when the consumer does not slow down but
fails, and who restarts it. The rules cited here (G1-G47, R1-R40) are in `SEMANTICS.md`."""),

    # -- solutions -----------------------------------------------------------------------------
    ("md", """## Solutions

Try the exercises first. These cells run the same checks with worked answers.

**Exercise 1.** Sweep the capacity and keep the largest that meets the budget:"""),
    ("code", """solution_1 = max(c for c in range(1, 31) if p99_drop_head(c) <= 0.5)
check_budget(solution_1)"""),
    ("md", """**Exercise 2.** Solve L = λW for W:"""),
    ("code", """check_wait(mild.mean_depth / mild.little_lambda)"""),
    ("md", """**Exercise 3.** Sweep the window and stop at the first that waits less than
3.2 s:"""),
    ("code", """solution_3 = next(w for w in range(1, 30) if credit_wait(w) < 3.2)
check_window(solution_3)"""),
]


if __name__ == "__main__":
    write(CELLS, "03_backpressure.ipynb", "nb03")
