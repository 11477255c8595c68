"""Run the selected groups and turn samples into rows: figures, ratios, targets met."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.harness import KB_HEAP_PER_ACTOR, Metric, Runner, Sample, Stats, collect, run_once
from benchmarks.isolated import run_isolated, run_isolated_traced
from benchmarks.suite import Bench, Group

__all__ = ("Figure", "Row", "Settings", "run_group", "select")


@dataclass(frozen=True)
class Settings:
    """How hard to measure: ``quick`` smoke counts, rounds, and optional tracemalloc."""

    quick: bool = False
    rounds: int | None = None
    tracemalloc: bool = False

    def rounds_for(self, group: Group) -> tuple[int, int]:
        """``(rounds, warmup)`` for ``group``."""
        if self.rounds is not None:
            return self.rounds, min(group.warmup, 1)
        if self.quick:
            return 1, 0
        return group.rounds, group.warmup

    def n_for(self, bench: Bench) -> int:
        return bench.quick_n if self.quick else bench.n


@dataclass(frozen=True)
class Figure:
    """One metric of one row: its statistics, ratios against each peer, target verdict."""

    metric: Metric
    stats: Stats
    ratios: dict[str, float] = field(default_factory=dict)
    target: str | None = None
    met: bool | None = None


@dataclass
class Row:
    """One benchmark's result in a group; ``error`` is set if the workload failed."""

    bench: Bench
    n: int
    figures: dict[str, Figure] = field(default_factory=dict)
    error: str | None = None


Log = Callable[[str], None]


def select(groups: tuple[Group, ...], only: list[str]) -> list[tuple[Group, list[Bench]]]:
    """The benches ``--only`` picks: a whole group by key, or rows by name (case-insensitive
    substring) together with their group's peers, so ratios still come from this run."""
    tokens = [t.lower() for t in only]
    picked = []
    for group in groups:
        if not tokens or group.key in tokens:
            picked.append((group, list(group.benches)))
            continue
        named = [b for b in group.benches if any(t in b.name.lower() for t in tokens)]
        if named:
            picked.append((group, [b for b in group.benches if b.peer or b in named]))
    return picked


def _samples(group: Group, bench: Bench, settings: Settings, runner: Runner) -> list[Sample]:
    rounds, warmup = settings.rounds_for(group)
    return collect(bench.workload, settings.n_for(bench), rounds=rounds, warmup=warmup,
                   runner=runner)


def _measure(group: Group, bench: Bench, settings: Settings, log: Log) -> Row:
    row = Row(bench, settings.n_for(bench))
    log(f"  {bench.name} (n={row.n:,}) ...")
    try:
        samples = _samples(group, bench, settings, run_isolated if group.isolated else run_once)
        for metric in group.metrics:
            row.figures[metric.unit] = Figure(metric, Stats.of([metric.of(s) for s in samples]))
        if group.isolated and settings.tracemalloc:
            traced = run_isolated_traced(bench.workload, row.n)
            row.figures[KB_HEAP_PER_ACTOR.unit] = Figure(
                KB_HEAP_PER_ACTOR, Stats.of([KB_HEAP_PER_ACTOR.of(traced)]))
    except Exception as exc:
        row.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log("".join(traceback.format_exception(exc)))
    return row


def _judge(row: Row, peers: dict[str, Row]) -> None:
    """Fill in ratios against every peer and the target verdict, metric by metric."""
    for unit, fig in list(row.figures.items()):
        ratios = {}
        for name, peer in peers.items():
            peer_fig = peer.figures.get(unit)
            if peer_fig is not None and peer is not row:
                ratios[name] = fig.metric.ratio(fig.stats.median, peer_fig.stats.median)
        target = row.bench.target(unit)
        row.figures[unit] = Figure(
            fig.metric, fig.stats, ratios, target.text if target else None,
            target.met(fig.metric, fig.stats.median, ratios) if target else None)


def run_group(group: Group, benches: list[Bench], settings: Settings, log: Log) -> list[Row]:
    """Measure ``benches`` of ``group`` (peers first) and judge the labkit rows."""
    log(f"{group.title}")
    rows = [_measure(group, bench, settings, log) for bench in benches]
    peers = {r.bench.name: r for r in rows if r.bench.peer and r.error is None}
    for row in rows:
        if not row.bench.peer:
            _judge(row, peers)
    return rows
