"""Write notebooks/02_routing.ipynb (sources only; `make notebooks` executes it)."""

from __future__ import annotations

from _nbgen import table, write

ROUTERS_TABLE = [
    ("round_robin", "the next worker in turn", "equal counts, blind to how busy they are"),
    ("random", "a worker drawn from the run's seeded RNG", "about equal counts, no state"),
    ("consistent_hash", "the owner of the message's key on a hash ring",
     "one key, one worker (state, ordering); hot keys make hot workers"),
    ("least_loaded", "the worker with the fewest unfinished messages",
     "follows actual work; needs to see every worker's queue"),
    ("broadcast", "every worker, a copy each", "fan-out: N times the work"),
    ("topic", "every worker subscribed to a matching pattern", "pub-sub; no match, no delivery"),
]

QUEUE_TABLE = [
    ("Go", "one `chan Job` shared by N goroutines (G7)",
     "M/G/N: one queue, N servers", "a free worker always takes the next job"),
    ("Rust", "a dispatcher and N `mpsc` queues, one receiver each (R1, R8)",
     "N queues M/G/1 (round-robin: E_N/G/1)", "a job can wait behind a long one while "
     "another worker is idle"),
]

SUMMARY_TABLE = [
    ("work queue", "one channel, many receivers (G7): pooling for free",
     "one receiver per `mpsc` (R1, R8): a router and per-worker queues"),
    ("latency tail", "short: nobody waits while a worker is idle",
     "longer with mixed service times; least-loaded narrows the gap"),
    ("key affinity", "a channel per goroutine, picked by hash",
     "an `mpsc` per worker, picked by hash"),
    ("fan-out", "a channel per subscriber (only `close()` reaches all, G15): a slow one "
     "blocks the publisher, or select-default drops silently (G22)",
     "`broadcast`: never blocks, overwrites the oldest, tells the subscriber `Lagged(k)` "
     "(R23, R24)"),
    ("latest value", "a cap-1 channel, drain then send (or a mutex and a signal)",
     "`watch`: the last value wins, `changed()` skips the rest (R26)"),
    ("deadline", "`context.WithTimeout`; workers must watch `ctx.Done()` (G39)",
     "`timeout` + `JoinSet::abort_all`: stopped at the next `.await` (R32, R34)"),
]

PUBSUB_TABLE = [
    ("go blocking", "`make(chan T, 16)` per subscriber; `ch <- v` to each",
     "waits while a buffer is full (G2)"),
    ("go select_default", "the same channels; `select { case ch <- v: default: }`",
     "never waits; a full subscriber misses it, silently (G22)"),
    ("rust broadcast", "`broadcast::channel(16)`; `tx.send(v)`",
     "never waits; overwrites the oldest; the laggard gets `Lagged(k)` (R23, R24)"),
]

LATEST_TABLE = [
    ("rust watch", "`watch::channel(init)`; `tx.send(v)`; reader: `changed().await`, "
     "`borrow_and_update()`", "keeps only the latest value (R26)"),
    ("go drain_replace", "`make(chan T, 1)`; writer: `select { case <-ch: default: }` "
     "then `ch <- v`", "the buffer always holds the latest unread value"),
    ("go buffered", "`make(chan T, 16)`; `ch <- v`", "every value, in order: a backlog"),
]

#: The Pollaczek-Khinchine mean wait of an M/G/1 queue (LaTeX, rendered by Jupyter).
PK_FORMULA = r"$$W = \frac{1 + c_v^2}{2} \cdot \frac{\rho}{1 - \rho} \cdot E[S]$$"

CELLS: list[tuple[str, str]] = [
    ("md", """# 02 · Routing

One address, many workers. A **router** decides which worker gets each message: in turn,
at random, by key, by load, all of them, or those subscribed to its topic. This notebook
runs each router on a small example, then asks the question that separates Go from Rust
here: *where do the jobs wait?* It ends with two kinds of delivery that are not "one
worker per message": fan-out to every subscriber, and keeping only the latest state.

**Learning goals**

1. Name six routing strategies and say what each is good for and what it costs.
2. Find every routing decision in a trace, by the message's correlation id.
3. Explain why consistent hashing moves only about 1/N of the keys when a worker joins,
   and `hash % N` nearly all of them.
4. Recognise a hot key in a sharded group, and why more shards do not cool it.
5. Explain why one Go channel read by N goroutines (a shared queue, G7) has a shorter
   latency tail than N per-worker tokio `mpsc` queues (R1, R8), and when the two agree.
6. Gather replies under a deadline and say what happens to the late workers in each model.
7. Fan out to subscribers when one is slow, and say for each design who waits, what is
   lost and who is told (Go: a channel per subscriber, G15, G22; tokio `broadcast` and
   `Lagged(k)`, R23, R24).
8. Keep only the latest state for a slow reader: tokio `watch` (R26) and Go's cap-1
   drain-and-replace idiom, and why a plain buffered channel serves stale values.

Every run below is in deterministic virtual time: the numbers are the same on every
machine, every time."""),
    ("code", """import altair as alt
import ipywidgets
import pandas as pd

from labkit import scenarios, viz, widgets
from labkit.scenarios.routing import (LATEST_DESIGNS, PATTERNS, PUBSUB_DESIGNS,
                                     STRATEGIES, TOPICS)

_ = viz.enable_offline()   # charts become SVG images: no internet, visible without a kernel
pd.set_option("display.max_colwidth", None)"""),

    # -- 1. routers ------------------------------------------------------------------------
    ("md", """## 1. Six ways to pick a worker

""" + table(("strategy", "sends each message to", "good for / costs"), ROUTERS_TABLE) + """

`labkit.routing.Router(strategy, workers)` routes a message in the caller's task, with no
extra hop. `scenarios.route` runs a stream of messages through one strategy, in one of
three models: `"actor"` uses the `Router` over actors, `"rust"` routes by hand to one tokio
`mpsc` per worker, `"go"` does what Go does (more on that in section 4). Each message has
a key (for hashing) and a topic.

Round-robin over three actors, nine messages:"""),
    ("code", """rr = scenarios.route("round_robin", "actor", workers=3, messages=9, load=0.3,
                    seed=1)
viz.sequence_diagram(rr, limit=9, height=260,
                     title="Round-robin: messages 1, 2, 3 ... go to worker 0, 1, 2, 0 ...")"""),
    ("md", """**What to notice.** Each arrow leaves `main` when the message arrives and ends at
the worker that received it. The workers take turns, 0, 1, 2, 0, 1, 2, whatever they are
doing: round-robin looks at no worker.

Each of those decisions is a `route` row in the trace. `corr_id` is the message's
correlation id: every copy of a message, and its reply if it was asked, carries the same
one, so you can follow a message from the router to the worker's `receive`:"""),
    ("code", """df = rr.trace.df
first = df[df["corr_id"] == df[df["kind"] == "route"]["corr_id"].iloc[0]]
first[["time", "kind", "actor", "peer", "msg_id", "corr_id", "detail"]]"""),
    ("md", """**What to notice.** One decision, four rows with the same `corr_id`: the `route`
row (router `main` chose `worker-0`, by `round_robin`), the `tell` that queued the copy, the
worker's `receive` and its `handle_end` about 22 ms later.

The same filter works in the Rust and Go models. A channel carries only a value, so
there the correlation id is the message's number, written on its `send` row; the
channel's `receive` row of the same message (same `msg_id`) carries it too. The first
message of the same run in each:"""),
    ("code", """def first_message(model):
    df = scenarios.route("round_robin", model, workers=3, messages=9, load=0.3,
                         seed=1).trace.df
    corr = df[df["kind"] == "route"]["corr_id"].iloc[0]
    return df[df["corr_id"] == corr][["model", "time", "kind", "actor", "peer", "msg_id",
                                      "corr_id"]]


pd.concat([first_message("rust"), first_message("go")])"""),
    ("md", """**What to notice.** Rust routes as the actor router does: `main` decides
(`route` to `worker-0`), sends on that worker's own `mpsc` queue, and the worker receives
it. In Go nobody decides: `main` sends to the one shared `jobs` channel, and whichever
goroutine is free receives it (`go-1`, which runs `worker-0`). So the `route` row comes
after the `receive`, and names the channel as the one that chose. Section 4 is about why
that difference matters.

Now all six strategies on the same twelve messages to three workers. Each dot is one copy:
which worker (row) got which message (column). Broadcast and topic can give one message to
several workers; a topic nobody subscribed to reaches no one."""),
    ("code", """def who_got_what(strategy, messages=12, workers=3):
    run = scenarios.route(strategy, "actor", workers=workers, messages=messages,
                          key_skew=1.0, keys=6, seed=3)
    routes = run.trace.events("route")
    return pd.DataFrame({
        "strategy": strategy,
        "message": routes["corr_id"].rank(method="dense").astype(int),
        "worker": routes["peer"].fillna("(nobody)"),
        "model": "actor",
    })


grid = pd.concat([who_got_what(s) for s in STRATEGIES], ignore_index=True)
alt.Chart(grid).mark_circle(size=90, opacity=1, color=viz.PALETTE["actor"]).encode(
    x=alt.X("message:O", title="message (in arrival order)", axis=alt.Axis(labelAngle=0)),
    y=alt.Y("worker:N", title="worker",
            sort=["worker-0", "worker-1", "worker-2", "(nobody)"]),
).properties(width=260, height=110).facet(
    facet=alt.Facet("strategy:N", title=None, sort=list(STRATEGIES)), columns=3,
).properties(title="Which worker got which message, by strategy (3 workers, 12 messages)")"""),
    ("md", """**What to notice.**

- *round_robin* is a staircase, four messages each. *random* has no pattern, and over
  twelve messages no promise of equal counts either: 1, 6 and 5 here.
- *consistent_hash* sends every message with the same key to the same worker, so a worker
  gets as many messages as its keys draw: 5, 4 and 3 here. Twelve messages over six keys
  are too few to show the skew; the 400 below are not.
- *least_loaded* prefers `worker-0` while everyone is idle (a tie goes to the first), and
  moves on only when it is busy.
- *broadcast* fills every row: three copies per message.
- *topic*: worker k subscribes to a pattern. Messages whose topic matches no pattern
  reach nobody (and are counted as `unmatched`):"""),
    ("code", """print("subscriptions:", {f"worker-{k}": PATTERNS[k] for k in range(3)})
topic = scenarios.route("topic", "actor", workers=3, messages=12, keys=6, seed=3).result
print(f"{topic.messages} messages -> {topic.copies} copies, {topic.unmatched} unmatched; "
      f"topics in use: {', '.join(TOPICS[:6])}")"""),
    ("md", """With more traffic the load per worker tells the strategies apart. 400 messages,
four workers, keys with Zipf skew 1.2 (a few keys are very hot). The dashed rule is the even
share; the subtitle gives the imbalance, busiest / mean."""),
    ("code", """WORKERS = [f"worker-{k}" for k in range(4)]
loads = {s: scenarios.route(s, "actor", workers=4, messages=400, key_skew=1.2, seed=1)
         for s in STRATEGIES}
alt.vconcat(
    viz.compare({s: loads[s] for s in STRATEGIES[:3]}, chart="load", actors=WORKERS,
                title="One worker per message, by turn, by chance, by key "
                      "(400 messages, key skew 1.2)"),
    viz.compare({s: loads[s] for s in STRATEGIES[3:]}, chart="load", actors=WORKERS,
                title="By load, to everyone, by topic (the same 400 messages)"),
)"""),
    ("md", """**What to notice.** Round-robin is exactly even and random nearly so (1.11).
Consistent hashing is the most uneven of the three (2.05): with skewed keys, the worker that
owns the hottest keys does most of the work, and no strategy that keeps a key on one worker
can avoid that. Least-loaded is uneven in counts (1.38): `worker-0` wins every tie while
the workers are idle. Broadcast gives every worker all 400 (four times the work); topic
gives each worker what its pattern matches, and `orders.*` (`worker-0`) the most, because
the two hottest keys carry `orders.*` topics.

A count is not the work, though: service times vary (spread 1 here). `RouteResult.busy`
is the time each worker spent handling, from `receive` to `handle_end`; the table puts its
imbalance beside the count's, with each strategy's latency:"""),
    ("code", """pd.DataFrame([{
    "strategy": s, "messages: busiest / mean": round(r.imbalance, 2),
    "busy time: busiest / mean": round(r.busy_imbalance, 2),
    "p50 (ms)": round(1000 * r.p50, 1), "p99 (ms)": round(1000 * r.p99, 1),
} for s, r in ((s, loads[s].result)
               for s in ("round_robin", "random", "least_loaded", "consistent_hash"))])"""),
    ("md", """**What to notice.** Even counts are not even work: round-robin's busiest worker
is busy 1.15 times the mean, and that is still the most even work of the four.
Least-loaded is no fairer in work (1.21, about random's 1.23): it does not try to balance
work, it sends each message to a worker with the fewest unfinished messages. What that
buys is waiting time: the shortest median (8.8 ms, against 12.0 for round-robin and 20.2
for random) and a p99 close to round-robin's. Consistent hashing pays for its affinity on
every column: its hot worker is busy more than twice the mean, and messages queue behind
it (p99 0.7 s)."""),

    # -- 2. consistent hashing -------------------------------------------------------------
    ("md", """## 2. Consistent hashing: adding a worker moves few keys

Hash-based routing keeps a key on one worker: its state, its cache, its order. The naive
rule `hash(key) % N` breaks that whenever N changes: almost every key gets a new owner.
A **hash ring** places each worker at many points ("virtual nodes") on a circle; a key
belongs to the first point clockwise from its hash. A new worker takes over only the arcs
in front of its own points: about 1/(N+1) of the keys, the least any scheme can move.

`scenarios.key_movement` gives 10 000 keys owners among N workers, then adds one:"""),
    ("code", """moves = []
for n in range(2, 9):
    r = scenarios.key_movement(workers=n, keys=10_000).result
    moves += [{"workers": n, "scheme": "hash ring", "moved_pct": 100 * r.ring_add},
              {"workers": n, "scheme": "hash % N", "moved_pct": 100 * r.modulo_add},
              {"workers": n, "scheme": "ideal 1/(N+1)", "moved_pct": 100 * r.ideal_add}]
viz.sweep_chart(pd.DataFrame(moves), "workers", "moved_pct", color="scheme",
                y_title="keys that change owner (%)",
                title="Adding one worker to N: keys moved")"""),
    ("md", """**What to notice.** With `hash % N` most keys move, and more of them as N grows
(75% at N=3, 89% at N=8). The ring stays on the ideal curve 1/(N+1): it moves only the keys
the newcomer takes, and none between the old workers.

How even is the ring? It depends on the virtual nodes per worker (`vnodes`): with one
point each, arcs are very unequal; with hundreds they even out. `ring_balance` is the
busiest worker's share of keys over the even share:"""),
    ("code", """pd.DataFrame([{"vnodes": v, "ring_balance": round(
    scenarios.key_movement(workers=4, vnodes=v).result.ring_balance, 3)}
    for v in (1, 10, 100, 1000)])"""),

    # -- 3. sharding -----------------------------------------------------------------------
    ("md", """## 3. Sharding and hot keys

A **sharded group** (`labkit.routing.ShardedGroup`) is consistent hashing made permanent:
each shard *owns* its keys, so it can keep their state without locks. Real keys are rarely
uniform: a few users, products or tenants take most of the traffic, roughly as a Zipf law
(the key of rank r has weight 1/r^s). `scenarios.sharding` sends 2000 messages over 100
keys to 4 shards, each busy 50% of the time if the keys were even:"""),
    ("code", """skews = {f"Zipf s={s}": scenarios.sharding(shards=4, keys=100, skew=s,
                                            messages=2000)
         for s in (0.0, 0.6, 1.2)}
alt.hconcat(*[viz.load_chart(run.result.loads, model="actor", noun="shard", title=label)
              for label, run in skews.items()]).resolve_scale(y="shared").properties(
    title="Messages per shard as the key skew grows (4 shards, 100 keys)")"""),
    ("code", """pd.DataFrame([{
    "keys": label, "hot key": r.hot_key, "its share": f"{r.hot_key_share:.1%}",
    "owned by": r.hot_shard, "busiest shard": r.busiest,
    "busiest / mean": round(r.skew_ratio, 2),
    "p99 on hot shard (ms)": round(1000 * r.p99_by_shard[r.hot_shard], 1),
    "p99 elsewhere (ms)": round(1000 * max(v for s, v in r.p99_by_shard.items()
                                           if s != r.hot_shard), 1),
} for label, r in ((k, v.result) for k, v in skews.items())])"""),
    ("md", """**What to notice.** Uniform keys (s=0) spread fairly well; the rest of the
unevenness is the ring's arcs and chance. At s=1.2 the hottest key alone is more than a
quarter of all messages, and the shard that owns it also owns other keys: it gets two and a
half times its share. Its utilisation passes 100%, so its queue grows without
bound and its p99 goes from milliseconds to hundreds of milliseconds, while the other
shards idle.

More shards do not help a hot key: one key is always one shard. Same traffic (the same
messages per second in total), 4, 8 and 16 shards:"""),
    ("code", """for shards in (4, 8, 16):
    r = scenarios.sharding(shards=shards, keys=100, skew=1.2, load=2.0 / shards).result
    print(f"{shards:2} shards: {r.hot_shard} handles {r.loads[r.hot_shard]:4} of "
          f"{r.messages} (even share {r.messages // shards:3}; {r.hot_key} alone "
          f"{round(r.hot_key_share * r.messages)}), p99 there "
          f"{1000 * r.p99_by_shard[r.hot_shard]:.0f} ms")"""),
    ("md", """**What to notice.** More shards take the *other* keys away from the hot shard,
so its load falls (1248, 965, then 622 messages), and its p99 with it. But it can never
fall below the hot key's own stream, 584 messages: at 16 shards the hot shard still does
almost five times its even share while the others idle. The fixes live above the router:
split the key (`user-7#0`, `user-7#1`), cache it, or batch its updates."""),

    # -- 4. MPMC vs per-worker queues ------------------------------------------------------
    ("md", """## 4. Where do the jobs wait? One shared queue vs a queue per worker

This is the routing contrast that matters most between the two languages.

- **Go:** any number of goroutines may receive from one channel, and each value goes to
  exactly one of them (G7, MPMC). N workers ranging over one `chan Job` is a complete work
  pool: whichever worker is free takes the next job. No router is needed.
- **Rust:** a tokio `mpsc::Receiver` has one owner (R1, R8: *multi-producer, single
  consumer*). N workers means N receivers, so N channels, and something must choose among
  them: a dispatcher routing each job to one worker's queue. (Sharing one receiver behind
  an `Arc<Mutex<Receiver>>` is possible, and rebuilds Go's shared queue by hand.)

""" + table(("model", "design", "in queueing terms", "consequence"), QUEUE_TABLE) + """

`scenarios.work_queue` serves one workload both ways: 2000 jobs arriving as a Poisson
stream, 4 workers busy 80% of the time, a mean service time of 10 ms. `spread` is the
service times' coefficient of variation (standard deviation / mean): 0 means every job
takes 10 ms, 1 is exponential, 2 means many short jobs and a few very long ones. Latency
runs from a job's arrival to the end of its service."""),
    ("code", """def wq_row(model, spread, dispatch="round_robin"):
    r = scenarios.work_queue(model, workers=4, spread=spread, dispatch=dispatch).result
    return {"model": model, "design": r.design, "spread": spread,
            "p50_ms": round(1000 * r.p50, 1), "p99_ms": round(1000 * r.p99, 1),
            "mean_wait_ms": round(1000 * r.mean_wait, 1), "jobs per worker": r.per_worker}


pd.DataFrame([wq_row(m, s) for s in (0.0, 2.0) for m in ("go", "rust")])"""),
    ("md", """**What to notice.** With every job alike (spread 0) the two rows are *identical*,
job for job: when all jobs take the same time, the worker that frees up first is the one
that started first, so a FIFO shared queue hands out jobs in exactly round-robin order.
With mixed jobs (spread 2) the shared queue wins everywhere: the median is three times
shorter and the 99th percentile too. Note the per-worker counts: Go's are uneven, because a
worker that drew short jobs comes back for more; Rust's round-robin is exactly even, and
that is the problem.

How does the gap depend on the number of workers and on the spread? One run per point
(same seed, so each (workers, spread) pair is one workload served both ways):"""),
    ("code", """sweep = scenarios.work_queue_sweep(workers=(1, 2, 4, 8),
                                   spreads=(0.0, 1.0, 2.0, 3.0))
viz.sweep_chart(sweep, "workers", ["p50_ms", "p99_ms"], column="spread", log_y=True,
                y_title="latency (ms, log scale)", width=200,
                title="Latency vs workers, by service-time spread (load 0.8)")"""),
    ("md", """**What to notice.**

- *Spread 0:* only one colour is visible: the Rust lines lie exactly on the Go lines.
- *One worker:* the models agree at every spread: one queue, one server, either way.
- *Spread >= 1, several workers:* the Go lines fall steeply as workers are added, the Rust
  lines far less. Adding workers to a shared queue **pools** them; adding per-worker queues
  only makes more small queues, each as bad as the one before.
- The gap grows with the spread: at 4 workers the Rust p99 is about 2x Go's at spread 1
  and 3x at spread 2.

**Why: a queueing argument.** Take the Rust design first: with round-robin each worker's
queue is its own single-server queue at 80% utilisation. The Pollaczek-Khinchine formula
says the mean wait in such a queue is

""" + PK_FORMULA + """

so it grows with the square of the spread $c_v$: at $c_v = 2$, $\\rho = 0.8$, a job waits
on average about 10 service times, whatever the other workers are doing (7 in the run
above: round-robin makes each queue's arrivals a little more regular than a Poisson
stream). A job that lands behind a long job waits for it even when the next worker is
idle. That is *head-of-line blocking*.

In the Go design a waiting job is taken by whichever worker frees up first, so it waits
only if **all** N workers are busy (an M/G/N queue). That happens far less often (at 4
workers and 80% load, about 60% of arrivals find everyone busy, against 80% for a single
server) and when it happens the wait is for the *first* of N jobs to finish, not for one
particular job. Each worker's long jobs are absorbed by the others. This is the pooling
effect that makes one line at the bank faster than one line per teller.

A dispatcher that looks at the queues closes part of the gap. Same workload at spread 2,
Rust with each dispatch rule, against Go's shared queue:"""),
    ("code", """dispatch = pd.DataFrame([wq_row("go", 2.0)] + [
    {**wq_row("rust", 2.0, d), "design": f"per-worker queues, {d}"}
    for d in ("round_robin", "random", "least_loaded")])
dispatch["label"] = ["go: shared queue"] + [f"rust: {d}" for d in
                                            ("round_robin", "random", "least_loaded")]
alt.Chart(dispatch.melt(id_vars=["label", "model"], value_vars=["p50_ms", "p99_ms"],
                        var_name="metric", value_name="ms")).mark_bar().encode(
    x=alt.X("ms:Q", title="latency (ms)"),
    y=alt.Y("label:N", title=None, sort=list(dispatch["label"])),
    color=viz.model_color(models=["go", "rust"]),
).properties(width=360, height=110).facet(row=alt.Row("metric:N", title=None)).properties(
    title="Spread 2, 4 workers: the shared queue vs three dispatch rules")"""),
    ("md", """**What to notice.** Random dispatch is worse than round-robin at the median (it
sometimes piles jobs on one queue) and better in the tail in this run (one run's p99 at
spread 2 is noisy). Least-loaded (join the queue with the fewest jobs queued or in service)
is much better than both; its median is even a little below the shared queue's: it
rarely sends a job to a busy worker while another is idle. It still loses to the shared queue at
p99, because once a job is in a queue it cannot move: it may sit behind a job
that turns out long. The shared queue makes that choice *late*, when a worker is actually
free. To get there in Rust, share the receiver (`Arc<Mutex<Receiver>>`) or let idle
workers *pull* (ask the dispatcher for work, or steal from each other)."""),

    # -- 5. scatter-gather -----------------------------------------------------------------
    ("md", """## 5. Scatter-gather: ask everyone, keep what is back by the deadline

Sometimes a request goes to *all* workers and the answers are merged: search every index
shard, ask every replica. Waiting for the slowest is a bad deal: one slow worker sets the
latency of every request. **Scatter-gather with a deadline** keeps what has arrived when
the time is up and returns a partial result.

Five workers answer after 12, 45, 160, 30 and 95 ms; the deadline is 80 ms."""),
    ("code", """DELAYS = [0.012, 0.045, 0.160, 0.030, 0.095]
gathers = pd.DataFrame([{
    "model": m, "answered (in order)": ", ".join(r.answered), "late": ", ".join(r.late),
    "complete": r.complete, "returned at (ms)": round(1000 * r.gathered_at),
    "late workers that still finished": r.late_work_finished,
} for m, r in ((m, scenarios.scatter_gather(m, deadline=0.080, delays=DELAYS).result)
               for m in ("go", "rust", "actor"))])
gathers"""),
    ("md", """**What to notice.** Every model returns at 80 ms with the same three answers, in
arrival order. What differs is the fate of the two late workers:

- **Go:** `context.WithTimeout` closes `ctx.Done()` at the deadline, and each worker
  `select`s on it while it works, so they stop (G34, G39). Cancellation is *cooperative*: a
  worker that never looks at `ctx.Done()` runs to the end, and nothing outside can stop a
  goroutine (G30).
- **Rust:** the gatherer drains a `JoinSet` under `timeout`; at the deadline `abort_all()`
  cancels the late tasks at their next `.await` (R32, R34, R36), whether or not they check.
- **Actor:** an actor handles one message at a time and cannot be interrupted mid-message:
  the late workers finish, and their replies become dead letters nobody reads. Wasted work,
  unless the message carries its deadline and the worker checks it.

The actor run's dead letters, with their correlation id (the request's):"""),
    ("code", """run = scenarios.scatter_gather("actor", deadline=0.080, delays=DELAYS)
run.trace.events("dead_letter")[["time", "actor", "peer", "corr_id", "detail"]]"""),
    ("md", """The same in one picture, smaller: three actors answer after 12, 45 and 160 ms, and
the deadline is 80 ms. Requests are solid arrows; replies are dashed arrows back to the
asker (an ask's reply wakes the asker directly, without a mailbox); the asker's timeout is
a diamond, and a reply nobody waits for any more ends in a cross, a dead letter:"""),
    ("code", """small = scenarios.scatter_gather("actor", deadline=0.080,
                               delays=[0.012, 0.045, 0.160])
deadline = pd.DataFrame({"time": [small.result.deadline],
                         "note": ["deadline: gather returns 2 of 3"]})
alt.layer(
    viz.sequence_diagram(small, limit=6, height=300,
                         title="Scatter-gather over three actors, deadline 80 ms"),
    alt.Chart(deadline).mark_rule(strokeDash=[6, 4], color="gray").encode(y="time:Q"),
    alt.Chart(deadline).mark_text(align="left", dx=60, dy=-8, color="gray").encode(
        y="time:Q", text="note:N"),
)"""),
    ("md", """**What to notice.** The three copies leave `main` at the same instant (three
arrowheads at 0 s): the gatherer does not wait for one worker before asking the next.
`worker-0` and `worker-1` reply at 12 and 45 ms. At the dashed line, 80 ms, the gatherer
stops waiting (the diamond) and returns two answers of three. Nobody interrupts
`worker-2`: it finishes at 160 ms and replies to an asker that has gone: its dashed arrow
ends in a cross on `main`'s lane, a dead letter like the two in the table above. All
these rows share one `corr_id`, the request's."""),

    # -- 6. pub-sub and latest value ---------------------------------------------------------
    ("md", """## 6. Fan-out to subscribers, and latest-value state

Scatter-gather asks everyone once. **Pub-sub** sends *every* message to *every*
subscriber, for as long as the stream runs. What happens when one subscriber is slow?

Go has no broadcast channel: the only operation that reaches every receiver is `close()`,
and it happens once and carries no value (G15). So a Go publisher keeps one channel per
subscriber and sends to each in turn. tokio has `broadcast`, one ring buffer that every
receiver reads at its own pace (R23).

`scenarios.pubsub` publishes 200 messages at about 100 per second to three subscribers,
each with room for 16: `fast-0` and `fast-1` handle 1000 per second, `slow-0` only 25.
So `slow-0` needs 8 s for what arrives in 2 s. Three designs:

""" + table(("design", "written", "when a subscriber's buffer is full"), PUBSUB_TABLE)),
    ("code", """PUBSUB = {f"{m} {d}": scenarios.pubsub(m, d).result
          for m, designs in PUBSUB_DESIGNS.items() for d in designs}
pd.DataFrame([{
    "design": label, "publisher blocked (s)": round(r.publisher_blocked, 2),
    "last handed over (s)": round(r.publish_end, 2),
    "fast p99 (ms)": round(1000 * r.fast_p99, 1),
    "slow-0 got": r.delivered["slow-0"], "slow-0 missed": r.missed["slow-0"],
    "slow-0 told (Lagged)": r.reported["slow-0"], "loss rows in trace": r.loss_rows,
} for label, r in PUBSUB.items()])"""),
    ("md", """**What to notice.**

- *go blocking* loses nothing, at a price everyone pays. The publisher spends about 7 s
  blocked on `slow-0`'s full channel and hands over the last message at 7.3 s instead of
  2.1 s: it can run only 16 messages ahead of the slowest subscriber. The fast subscribers
  wait with it. Their p99 goes from about 1 ms to 5 s, though they have nothing to do.
- *go select_default* never blocks, and the fast subscribers get every message at once.
  `slow-0` misses 132 of 200, and nobody is told. The channel records nothing and there is
  no trace row (0). The only record is the publisher's own counter, if it keeps one.
- *rust broadcast* never blocks either, and `slow-0` misses as many. But each loss is
  *reported*: its `recv()` returns `Err(Lagged(k))` with k the exact number it missed
  (R24), and the trace has a `drop` row for each overwritten value plus a `lagged` row for
  each error.

Per subscriber, in one picture:"""),
    ("code", """outcomes = pd.DataFrame([
    {"design": label, "model": r.model, "subscriber": s, "outcome": outcome, "messages": n}
    for label, r in PUBSUB.items() for s in r.subscribers
    for outcome, n in (("delivered", r.delivered[s]), ("missed", r.missed[s]),
                       ("told it missed", r.reported[s]))])
alt.Chart(outcomes).mark_bar().encode(
    x=alt.X("messages:Q", title="messages (of 200)"),
    y=alt.Y("subscriber:N", title=None),
    color=viz.model_color(models=["go", "rust"]),
    row=alt.Row("design:N", title=None, sort=list(PUBSUB)),
    column=alt.Column("outcome:N", title=None,
                      sort=["delivered", "missed", "told it missed"]),
).properties(width=170, height=60, title="One slow subscriber: who got what, who was told")"""),
    ("md", """**What to notice.** The bars of the *missed* column and the *told it missed*
column are the same length for tokio and differ for Go: 132 missed, 0 told. The
select-default losses exist only as the absence of a message.

The two non-blocking designs lose the *same number* of messages: the same 16 slots, the
same slow reader. They do not lose the *same messages*. A full Go channel refuses the
newest (G22), so `slow-0` works through a buffer of old values. tokio overwrites the
oldest (R23), so after each `Lagged(k)` the receiver carries on from the oldest value still
held (R24):"""),
    ("code", """go_sd, bc = PUBSUB["go select_default"], PUBSUB["rust broadcast"]
print("Lagged(k) told to slow-0: ", bc.lag_reports["slow-0"][:12], "...")
print("gaps in what slow-0 got:  ", bc.gaps["slow-0"][:12], "...")
print(f"sum of k = {bc.reported['slow-0']}, missed = {bc.missed['slow-0']}")
for label, r in (("go select_default", go_sd), ("rust broadcast", bc)):
    print(f"{label:18}: slow-0's median message is {1000 * r.slow_p50:3.0f} ms old; "
          f"the last it got is #{r.last_received['slow-0']} of 0..199")"""),
    ("md", """**What to notice.** Each `Lagged(k)` matches the gap at that point exactly, so
a subscriber that needs every message knows precisely what to fetch again, from a log or
a snapshot. In Go the slow subscriber reads values about 16 x 40 ms = 0.64 s old: a full
buffer's worth of its own reads. tokio's reads are about 0.17 s old, and it ends on the
newest message (in Go it ended on #197 here; it misses the very end when the buffer is
full at that moment).

One more rule hides in `broadcast::channel(n)`: tokio rounds the capacity **up to a power
of two** (R23). `channel(5)` holds 8, `channel(100)` holds 128. `effective_capacity`
reports it:"""),
    ("code", """pd.DataFrame([{"asked": c, "tokio holds": scenarios.pubsub(
    "rust", capacity=c, messages=10).result.effective_capacity}
    for c in (1, 3, 5, 16, 17, 100)])"""),

    ("md", """### Latest-value state: only the newest matters

Sometimes the subscriber does not want every message, only the *current state*:
a configuration, a price, a health status. If the reader is slow, the updates it has
not read yet are out of date and it should skip them. tokio's `watch` channel keeps one
value: `send` replaces it, `changed().await` waits until there is a value this receiver
has not seen, and intermediate values are simply gone (R26). Go has no such channel;
the idiom is a capacity-1 channel whose writer first drains the stale value, then sends.

`scenarios.latest_value`: a writer makes 200 updates at about 100 per second; the reader
spends 50 ms on each value it reads (20 per second). The age of a value is how long ago
its update happened when the reader reads it.

""" + table(("design", "written", "what the reader gets"), LATEST_TABLE)),
    ("code", """LATEST = {f"{m} {d}": scenarios.latest_value(m, d).result
          for m in ("rust", "go") for d in LATEST_DESIGNS[m]}
pd.DataFrame([{
    "design": label, "produced": r.updates, "observed": r.observed, "skipped": r.skipped,
    "final seen": r.final_observed, "age p50 (ms)": round(1000 * r.staleness_p50, 1),
    "age max (ms)": round(1000 * r.staleness_max, 1),
    "newer updates waiting (max)": r.behind_max,
    "writer blocked (s)": round(r.writer_blocked, 2),
} for label, r in LATEST.items()])"""),
    ("md", """**What to notice.**

- *watch* reads 43 of 200 updates and skips 157, yet it is never behind: when it reads,
  no newer update exists (0 waiting), and no value it reads is older than one read
  period (45 ms here, at most 50). It sees the final value.
- *drain_replace* gives exactly the same row: the same updates, read at the same times.
  The channel's one slot always holds the latest unread value, which is what `watch`
  stores. The writer never waits.
- *buffered* observes all 200 and is always wrong: the reader works through a backlog,
  up to 157 newer updates are waiting while it reads an old one, and the values it acts on
  are seconds old. Once the 16 slots fill, the writer waits too (G2).

The age of every value read, over time:"""),
    ("code", """reads = pd.DataFrame([
    {"design": label, "model": r.model, "read at (s)": x.at, "age (ms)": 1000 * x.age}
    for label, r in LATEST.items() for x in r.reads])
alt.Chart(reads).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
    x=alt.X("read at (s):Q", title="time of the read (s)"),
    y=alt.Y("age (ms):Q", title="age of the value read (ms, log scale)",
            scale=alt.Scale(type="symlog"), axis=alt.Axis(values=[0, 10, 100, 1000, 10000])),
    color=viz.model_color(models=["go", "rust"]),
).properties(width=240, height=180).facet(
    column=alt.Column("design:N", title=None, sort=list(LATEST)),
).properties(title="Latest-value state: how old is what the reader sees?")"""),
    ("md", """**What to notice.** The *watch* and *drain_replace* panels are the same
picture: ages between 0 and 50 ms for as long as the writer runs, and the reader has
finished by 2.2 s. The *buffered* line passes half a second within the first
second and climbs to about 8 s; that reader is still busy at 10 s, working through
updates the writer made before 2.1 s. A queue is the right structure when every message
matters. When only the newest does, a queue is a list of stale values."""),

    # -- live experiment -------------------------------------------------------------------
    ("md", """## Live experiment: strategy, workers, key skew, model

Each change re-runs `scenarios.route` (300 messages, seed 1) and redraws the load per
worker and the queueing latency (send to receive) of every message. The status line shows
the headline numbers: `imbalance` (busiest / mean, in messages), `busy_imbalance` (the
same in busy time), `p50` and `p99` (arrival to end of handling, seconds) and
`unmatched`.

The models: **actor** is `labkit.routing.Router` over actors; **rust** routes by hand to
one `mpsc` per worker; **go** uses one shared channel for the one-of-N strategies
(round_robin, random, least_loaded, where the strategy is then ignored: the free goroutine
takes the next job) and a channel per goroutine for the others. In the Go model the
workers are goroutines `go-1` ... `go-N`.

Things to try:

- `consistent_hash`, raise `key_skew` from 0 to 2: one worker's bar climbs, and the tail
  of the latency histogram with it.
- `round_robin`, switch `model` between go and rust: the same jobs; Go's counts are uneven
  and its median and tail a little shorter (the spread here is 1; section 4 used 2).
- `least_loaded` in rust: uneven counts again, and the median drops to about Go's.
- `topic` with 2 workers: some topics have no subscriber (`unmatched` > 0)."""),
    ("code", """live = widgets.Dashboard(
    scenarios.route,
    controls={
        "strategy": list(STRATEGIES),
        "model": ["go", "rust", "actor"],
        "workers": ipywidgets.IntSlider(value=4, min=1, max=8, description="workers"),
        "key_skew": ipywidgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.25,
                                           description="key_skew"),
    },
    charts=["load", "latency"],
    fixed={"messages": 300, "seed": 1},
)
live"""),
    ("md", """**What to notice** in the picture it starts with (round-robin, actors, 4 workers):
the four bars are exactly level at 75 messages, and the latency histogram still has a tail:
equal counts are not equal work when service times vary."""),

    # -- exercises -------------------------------------------------------------------------
    ("md", """## Exercises

Each exercise has an answer cell and a check cell. The answers start as `None`, so the
checks say "not yet"; change the answer, run both cells, and read the verdict. Worked
solutions are at the end of the notebook.

### Exercise 1: how many keys move?

Five workers share 10 000 keys on a hash ring (100 virtual nodes each). A sixth joins.
**About what fraction of the keys change owner** (a number between 0 and 1)? And with
`hash % N` instead? Reason first, then check with `scenarios.key_movement`."""),
    ("code", """def check_movement(ring, modulo):
    if not all(isinstance(x, int | float) and 0 <= x <= 1 for x in (ring, modulo)):
        return print("❌ not yet: set ring_moved and modulo_moved to fractions between 0 and 1")
    r = scenarios.key_movement(workers=5, keys=10_000).result
    if abs(ring - r.ring_add) > 0.04:
        return print(f"❌ not yet: the ring figure is off (you said {ring:.2f}); a newcomer "
                     "takes its share of the keys from the others, and nothing else moves")
    if abs(modulo - r.modulo_add) > 0.05:
        return print(f"❌ not yet: the ring is right, but hash % N moves far more (you said "
                     f"{modulo:.2f}); a key stays only if hash % 5 == hash % 6")
    print(f"✅ correct: the ring moves {r.ring_add:.1%} (ideal 1/6 = {r.ideal_add:.1%}), "
          f"hash % N moves {r.modulo_add:.1%}: almost every key's state would have to move.")"""),
    ("code", """ring_moved = None     # your answer: fraction of keys that move on the hash ring
modulo_moved = None   # your answer: fraction that move with hash % N"""),
    ("code", """check_movement(ring_moved, modulo_moved)"""),
    ("md", """### Exercise 2: when does the shared queue win twice over?

With 4 workers at load 0.8 (`scenarios.work_queue`, default seed), **what is the smallest
spread among 0, 0.5, 1, 1.5, 2, 2.5 and 3 at which the Rust per-worker round-robin p99 is
at least twice the Go shared-queue p99?**"""),
    ("code", """SPREADS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def p99_ratio(spread):
    go_res = scenarios.work_queue("go", workers=4, spread=spread).result
    rust_res = scenarios.work_queue("rust", workers=4, spread=spread).result
    return rust_res.p99 / go_res.p99


def check_spread(answer):
    if answer not in SPREADS:
        return print(f"❌ not yet: set smallest_spread to one of {SPREADS}")
    ratio = p99_ratio(answer)
    if ratio < 2:
        return print(f"❌ not yet: at spread {answer} Rust's p99 is only {ratio:.2f}x Go's; "
                     "try more spread")
    smaller = [s for s in SPREADS if s < answer and p99_ratio(s) >= 2]
    if smaller:
        return print(f"❌ not yet: spread {smaller[0]} already gives 2x; find the smallest")
    print(f"✅ correct: at spread {answer} the per-worker p99 is {ratio:.2f}x the shared "
          "queue's. The wait in each separate queue grows with (1 + cv²); the shared queue "
          "absorbs long jobs across all workers.")"""),
    ("code", """smallest_spread = None   # your answer: one of SPREADS"""),
    ("code", """check_spread(smallest_spread)"""),
    ("md", """### Exercise 3: a deadline for four answers

The five workers of section 5 answer after 12, 45, 160, 30 and 95 ms. **What is the
shortest deadline, in whole tens of milliseconds, that gathers at least four answers?**
And **in which model** (`"go"`, `"rust"` or `"actor"`) does the remaining late worker
still finish its work?"""),
    ("code", """def check_deadline(deadline_ms, model):
    if not isinstance(deadline_ms, int) or deadline_ms <= 0 or deadline_ms % 10:
        return print("❌ not yet: set deadline_ms to a whole number of tens of ms (10, 20, ...)")
    if model not in ("go", "rust", "actor"):
        return print("❌ not yet: set late_model to 'go', 'rust' or 'actor'")
    got = scenarios.scatter_gather("go", deadline=deadline_ms / 1000, delays=DELAYS).result
    if len(got.answered) < 4:
        return print(f"❌ not yet: by {deadline_ms} ms only {len(got.answered)} answered")
    shorter = scenarios.scatter_gather("go", deadline=(deadline_ms - 10) / 1000,
                                       delays=DELAYS).result
    if len(shorter.answered) >= 4:
        return print(f"❌ not yet: {deadline_ms - 10} ms is enough too; find the shortest")
    finished = {m: scenarios.scatter_gather(m, deadline=deadline_ms / 1000, delays=DELAYS)
                .result.late_work_finished for m in ("go", "rust", "actor")}
    if not finished[model]:
        return print(f"❌ not yet: the deadline is right, but in {model} the late worker is "
                     "stopped; which model cannot interrupt a worker mid-message?")
    print(f"✅ correct: {deadline_ms} ms gathers four answers; the fifth worker is cancelled "
          f"in Go (ctx.Done) and Rust (abort), and still finishes in the {model} model.")"""),
    ("code", """deadline_ms = None   # your answer: e.g. 50
late_model = None    # your answer: "go", "rust" or "actor\""""),
    ("code", """check_deadline(deadline_ms, late_model)"""),
    ("md", """### Exercise 4: a broadcast big enough for the slow subscriber

Take the pub-sub workload of section 6 with tokio's `broadcast` (`scenarios.pubsub("rust",
capacity=...)`, everything else as it was). **What is the smallest capacity you can pass to
`broadcast::channel` so that `slow-0` misses nothing, and how many slots does tokio then
actually allocate?** Hint: how far behind is `slow-0` when the last message is sent?"""),
    ("code", """def check_broadcast(asked, held):
    if not all(isinstance(x, int) and x >= 1 for x in (asked, held)):
        return print("❌ not yet: set asked_capacity and held_capacity to whole numbers >= 1")
    r = scenarios.pubsub("rust", capacity=asked).result
    if r.missed_total:
        return print(f"❌ not yet: with channel({asked}) slow-0 still misses "
                     f"{r.missed_total} (told by {len(r.lag_reports['slow-0'])} Lagged errors)")
    if asked > 1 and not scenarios.pubsub("rust", capacity=asked - 1).result.missed_total:
        return print(f"❌ not yet: channel({asked - 1}) loses nothing either; find the smallest")
    if held != r.effective_capacity:
        return print(f"❌ not yet: {asked} is right, but channel({asked}) does not hold "
                     f"{held} values (R23)")
    print(f"✅ correct: channel({asked}) is rounded up to {held} slots (R23), enough for "
          f"slow-0's backlog; channel({asked - 1}) holds only {held // 2}, and slow-0 "
          "gets Lagged.")"""),
    ("code", """asked_capacity = None   # your answer: the n in broadcast::channel(n)
held_capacity = None    # your answer: the slots tokio allocates for it"""),
    ("code", """check_broadcast(asked_capacity, held_capacity)"""),

    # -- summary ---------------------------------------------------------------------------
    ("md", """## Summary

""" + table(("", "Go", "Rust"), SUMMARY_TABLE) + """

- A router is a choice of *which worker*; the same six strategies exist in every model,
  and each decision is a `route` row carrying the message's correlation id, as do the
  message's send and receive rows, in every model.
- Key-based routing buys affinity and pays in skew: a hot key is a hot worker, whatever the
  number of shards. A hash ring keeps key movement to about 1/N when workers come and go.
- The biggest difference between the languages is not a strategy but a queue: Go's
  channel is a shared work queue, tokio's `mpsc` is not, and with mixed service times the
  shared queue's latency tail is several times shorter.
- Fan-out shows the languages' attitudes to loss: a Go publisher either waits for its
  slowest subscriber or drops without a trace; tokio's `broadcast` never waits and tells
  the laggard exactly how much it missed. For state, `watch` (or Go's drain-and-replace
  channel) keeps only the newest value, so a slow reader is never behind.

**Where next:** `03_backpressure`: what happens when the queues in front of the workers
fill up. The rules cited here (G1-G47, R1-R40) are in `SEMANTICS.md`."""),

    # -- solutions -------------------------------------------------------------------------
    ("md", """## Solutions

Try the exercises first. These cells run the same checks with worked answers.

**Exercise 1.** The newcomer takes about 1/(N+1) = 1/6 of the keys. With `hash % N` a key
keeps its owner only when `h % 5 == h % 6`, which holds for 5 residues in 30, so about
5/6 of the keys move:"""),
    ("code", """check_movement(1 / 6, 5 / 6)"""),
    ("md", """**Exercise 2.** Compute the ratio for each spread; take the first at or above 2:"""),
    ("code", """solution_2 = next(s for s in SPREADS if p99_ratio(s) >= 2)
check_spread(solution_2)"""),
    ("md", """**Exercise 3.** Sorted, the delays are 12, 30, 45, 95 and 160 ms: the fourth answer
comes at 95 ms, so 100 ms is the shortest whole-ten deadline. Only the actor model cannot
interrupt a worker in the middle of a message:"""),
    ("code", """check_deadline(100, "actor")"""),
    ("md", """**Exercise 4.** By the time the last message is sent (about 2.1 s), `slow-0`
has handled about 2.1 x 25, or 52, of the 200: roughly 150 are still unread, so the ring
must hold more than 128 values. tokio rounds every capacity up to a power of two, so any
n from 129 to 256 gives 256 slots, and 128 is one power of two too few:"""),
    ("code", """print({c: scenarios.pubsub("rust", capacity=c).result.missed_total
       for c in (64, 128, 129, 256)})
check_broadcast(129, 256)"""),
]


if __name__ == "__main__":
    write(CELLS, "02_routing.ipynb", "routing")
