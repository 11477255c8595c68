"""What ``make bench`` measures: groups of workloads, their peers, counts and targets.

A :class:`Group` is one table: the same job done by every peer and by every labkit facade,
measured with the same metric(s). Peer rows come first; each labkit row gets its ratio
against every peer of its group, from the same run. Targets are issue 8's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Protocol

from benchmarks import actors, channels, dashboard, peers
from benchmarks.harness import (
    KB_HEAP_PER_ACTOR,
    KB_PER_ACTOR,
    MICROS_PER_OP,
    MILLIS_PER_OP,
    RATE,
    Metric,
    Sample,
    Workload,
)

__all__ = (
    "IDLE_ACTORS",
    "DASHBOARD_SIZES",
    "MEMORY_TARGET_KB",
    "SIM_ACTOR_TARGET",
    "SIM_TARGET",
    "Bench",
    "Group",
    "Target",
    "TracedWorkload",
    "suite",
)

#: Idle actors spawned by the spawn-time and memory benchmarks.
IDLE_ACTORS = 100_000
#: Simulated deliveries per wall second that virtual time must reach, trace on.
SIM_TARGET = 400_000.0
#: Simulated deliveries per second for actors (``send`` to a bounded mailbox).
SIM_ACTOR_TARGET = 300_000.0
#: Messages per run in the dashboard group, and slider moves per round at that size.
DASHBOARD_SIZES = ((150, 10), (2_000, 3), (10_000, 3))
#: Wall time a one-model, 150-message scenario call must stay under (issue 13).
SIMULATE_TARGET_MS = 5.0
#: Memory per idle actor that labkit must stay under (an idle asyncio task + Queue).
MEMORY_TARGET_KB = 3.5


class TracedWorkload(Protocol):
    """A labkit real-time workload: ``workload(n, trace=...)``."""

    def __call__(self, n: int, *, trace: bool = ...) -> Sample: ...


@dataclass(frozen=True)
class Target:
    """A goal for one figure: ``ratio`` against ``peer`` at least ``at_least``, or the
    figure itself within ``limit`` (at least for rates, at most for times and sizes)."""

    text: str
    peer: str | None = None
    at_least: float = 1.0
    limit: float | None = None

    def met(self, metric: Metric, value: float, ratios: dict[str, float]) -> bool | None:
        """Whether ``value`` meets the target; ``None`` when its peer was not measured."""
        if self.limit is not None:
            return value >= self.limit if metric.higher_is_better else value <= self.limit
        ratio = ratios.get(self.peer or "")
        return None if ratio is None else ratio >= self.at_least


@dataclass(frozen=True)
class Bench:
    """One row: a workload run ``n`` times per round (``quick_n`` with ``--quick``)."""

    name: str
    workload: Workload
    n: int
    quick_n: int
    peer: bool = False
    #: Per metric unit: the target this row must meet.
    targets: tuple[tuple[str, Target], ...] = ()

    def target(self, unit: str) -> Target | None:
        return dict(self.targets).get(unit)


@dataclass(frozen=True)
class Group:
    """One table: rows measured with the same metrics, peers first."""

    key: str
    title: str
    metrics: tuple[Metric, ...]
    benches: tuple[Bench, ...]
    note: str = ""
    rounds: int = 5
    warmup: int = 1
    #: Run every round in a fresh interpreter (RSS deltas are meaningless otherwise).
    isolated: bool = False

    @property
    def peers(self) -> tuple[Bench, ...]:
        return tuple(b for b in self.benches if b.peer)


def _labkit_pair(name: str, fn: TracedWorkload, n: int, quick_n: int,
                 targets: tuple[tuple[str, Target], ...] = (),
                 traced: tuple[tuple[str, Target], ...] = ()) -> tuple[Bench, Bench]:
    """The trace-off row (judged against ``targets``) and the trace-on row (``traced``)."""
    return (Bench(f"{name}, trace off", partial(fn, trace=False), n, quick_n, targets=targets),
            Bench(f"{name}, trace on", partial(fn, trace=True), n, quick_n, targets=traced))


def _oneway() -> Group:
    n, q = 200_000, 10_000
    beat_queue = (("msg/s", Target(">= asyncio.Queue", peer="asyncio.Queue")),)
    traced = (("msg/s", Target(">= 0.7x asyncio.Queue", peer="asyncio.Queue", at_least=0.7)),)
    return Group(
        "oneway", "One-way throughput: a task sends n messages, another receives them",
        (RATE,),
        (
            Bench("asyncio.Queue", peers.oneway_asyncio_queue, n, q, peer=True),
            Bench("asyncio.Queue + 2 rows", peers.oneway_asyncio_queue_rows, n, q, peer=True),
            Bench("deque+Event", peers.oneway_deque_event, n, q, peer=True),
            Bench("anyio stream", peers.oneway_anyio_stream, 40_000, q, peer=True),
            Bench("Pykka tell", peers.oneway_pykka_tell, 50_000, q, peer=True),
            *_labkit_pair("core Channel", channels.oneway_channel, n, q, beat_queue, traced),
            *_labkit_pair("go.Chan", channels.oneway_go, n, q, beat_queue, traced),
            *_labkit_pair("rust.mpsc", channels.oneway_rust, n, q, beat_queue, traced),
            *_labkit_pair("actor tell", actors.oneway_tell, n, q, beat_queue, traced),
        ),
        note=f"bounded queues hold {peers.CAPACITY}; unbounded mailboxes yield every "
             f"{peers.CAPACITY} messages; Pykka and actor tell end with one ask for the count",
    )


def _roundtrip() -> Group:
    n, q = 20_000, 1_000
    beat_queue = (("us", Target(">= asyncio.Queue", peer="asyncio.Queue")),)
    beat_pykka = (("us", Target(">= 3x Pykka ask", peer="Pykka ask", at_least=3.0)),)
    return Group(
        "roundtrip", "Ping-pong round trip: send a request, wait for the reply",
        (MICROS_PER_OP,),
        (
            Bench("asyncio.Queue", peers.roundtrip_asyncio_queue, n, q, peer=True),
            Bench("deque+Event", peers.roundtrip_deque_event, n, q, peer=True),
            Bench("anyio stream", peers.roundtrip_anyio_stream, 5_000, q, peer=True),
            Bench("Pykka ask", peers.roundtrip_pykka_ask, 10_000, q, peer=True),
            *_labkit_pair("core Channel", channels.roundtrip_channel, n, q, beat_queue),
            *_labkit_pair("go.Chan", channels.roundtrip_go, n, q, beat_queue),
            *_labkit_pair("rust.mpsc", channels.roundtrip_rust, n, q, beat_queue),
            *_labkit_pair("actor tell ping-pong", actors.roundtrip_tell, n, q, beat_queue),
            *_labkit_pair("actor ask", actors.roundtrip_ask, n, q, beat_pykka),
        ),
        note="two queues (or mailboxes) and a server task echoing each request",
    )


def _simulation() -> Group:
    n, q = 100_000, 5_000
    fast = (("msg/s", Target(f">= {SIM_TARGET / 1e3:.0f} k/s", limit=SIM_TARGET)),)
    fast_actors = (("msg/s", Target(f">= {SIM_ACTOR_TARGET / 1e3:.0f} k/s",
                                    limit=SIM_ACTOR_TARGET)),)
    return Group(
        "sim", "Simulated deliveries per wall second: labkit.simulate, trace on unless said",
        (RATE,),
        (
            Bench("core Channel", channels.sim_channel, n, q, targets=fast),
            Bench("go.Chan", channels.sim_go, n, q, targets=fast),
            Bench("rust.mpsc", channels.sim_rust, n, q, targets=fast),
            Bench("actors (send)", actors.sim_actors, n, q, targets=fast_actors),
            # Not judged: how fast the same runs are with nothing recorded, so the cost of
            # the trace (and how far the targets are from the bare runtime) can be read.
            Bench("core Channel, trace off", partial(channels.sim_channel, trace=False), n, q),
            Bench("actors (send), trace off", partial(actors.sim_actors, trace=False), n, q),
        ),
        note=f"{channels.SIM_PRODUCERS} producers -> 1 consumer over a queue of "
             f"{channels.SIM_CAPACITY}; each producer sleeps {channels.SIM_PAUSE * 1e3:g} "
             f"virtual ms every {channels.SIM_BURST} sends; wall time of the whole simulate()",
    )


def _idle() -> Group:
    n, q = IDLE_ACTORS, 5_000
    within = Target(f"<= {MEMORY_TARGET_KB} KB", limit=MEMORY_TARGET_KB)
    small = ((KB_PER_ACTOR.unit, within), (KB_HEAP_PER_ACTOR.unit, within))
    return Group(
        "idle", "Idle actors: spawn n actors that each wait on an empty mailbox",
        (MICROS_PER_OP, KB_PER_ACTOR),
        (
            Bench("asyncio task+Queue", peers.idle_asyncio_tasks, n, q, peer=True),
            Bench("go.Chan goroutine, trace off", partial(channels.idle_go, trace=False),
                  n, q, targets=small),
            Bench("rust.mpsc task, trace off", partial(channels.idle_rust, trace=False),
                  n, q, targets=small),
            Bench("actor, trace off", partial(actors.idle_actors, trace=False), n, q,
                  targets=small),
            Bench("actor, trace on", partial(actors.idle_actors, trace=True), n, q),
        ),
        note="us = wall time per spawn until every actor is parked; KB = RSS growth per "
             "actor; each round in a fresh interpreter",
        rounds=2, warmup=0, isolated=True,
    )


def _dashboard() -> Group:
    rows: list[Bench] = [Bench(
        "simulate, 150 messages, Go", partial(dashboard.simulate_only, messages=150), 20, 1,
        targets=(("ms", Target(f"<= {SIMULATE_TARGET_MS:g} ms", limit=SIMULATE_TARGET_MS)),))]
    for messages, moves in DASHBOARD_SIZES:
        for models in (("go",), ("go", "rust")):
            label = f"{messages} messages, {' + '.join(m.capitalize() for m in models)}"
            hows: tuple[tuple[dashboard.How, str], ...] = (
                ("altair", "before: spec through Altair"),
                ("live", "after: template, new rows to the live chart"),
                ("svg", "after, no anywidget: template + SVG"))
            if len(models) > 1:
                hows += (("workers", "after: live, the models in worker processes"),)
            hows += (("ahead", "after: in workers, the next capacities worked out ahead"),)
            for how, what in hows:
                rows.append(Bench(f"{label}: {what}",
                                  partial(dashboard.redraw, messages=messages, models=models,
                                          how=how), moves, 1))
    return Group(
        "dashboard", "A dashboard's slider move, kernel side: re-simulate and redraw",
        (MILLIS_PER_OP,), tuple(rows),
        note="notebook 01's producer_consumer dashboard (depth + latency charts), its "
             "capacity slider moved n times; ms per move (per call for simulate)",
        rounds=3, warmup=1)


def suite() -> tuple[Group, ...]:
    """Every group, in the order ``make bench`` runs and prints them."""
    return (_oneway(), _roundtrip(), _simulation(), _idle(), _dashboard())
