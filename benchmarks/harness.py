"""The one measuring loop every benchmark goes through.

A *workload* is a plain function ``workload(n) -> Sample``: it does ``n`` operations (messages
delivered, round trips, actors spawned), times only that span with ``time.perf_counter``, and
says how many it really did. The harness repeats it (warm-up rounds first, discarded), turns
each sample into a figure with a :class:`Metric` and keeps the median and the spread.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

__all__ = (
    "KB_HEAP_PER_ACTOR",
    "KB_PER_ACTOR",
    "MICROS_PER_OP",
    "MILLIS_PER_OP",
    "RATE",
    "BenchmarkError",
    "Metric",
    "Sample",
    "Stats",
    "Runner",
    "Workload",
    "clock",
    "collect",
    "memory_held",
    "memory_now",
    "run_once",
)

#: The wall clock every workload times itself with.
clock = time.perf_counter


class BenchmarkError(RuntimeError):
    """A workload did not do what it was asked (a lost message, a wrong count)."""


@dataclass(frozen=True)
class Sample:
    """What one run of a workload did: ``count`` operations in ``seconds`` of wall time,
    and, for memory workloads, the ``bytes`` still allocated while the actors sat idle."""

    count: int
    seconds: float
    bytes: int = 0


Workload = Callable[[int], Sample]


@dataclass(frozen=True)
class Metric:
    """How a :class:`Sample` becomes one figure, and which direction is better."""

    unit: str
    higher_is_better: bool
    of: Callable[[Sample], float]
    fmt: Callable[[float], str]

    def ratio(self, labkit: float, peer: float) -> float:
        """How many times better ``labkit`` is than ``peer`` (> 1: labkit is better)."""
        if self.higher_is_better:
            return labkit / peer
        return peer / labkit


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M/s"
    return f"{value / 1e3:.0f} k/s"


#: Messages (or deliveries) per wall second.
RATE = Metric("msg/s", True, lambda s: s.count / s.seconds, _fmt_rate)
#: Wall microseconds per operation (a round trip, a spawn).
MICROS_PER_OP = Metric("us", False, lambda s: s.seconds / s.count * 1e6,
                       lambda v: f"{v:.2f} us")
#: Wall milliseconds per operation (a dashboard's redraw).
MILLIS_PER_OP = Metric("ms", False, lambda s: s.seconds / s.count * 1e3,
                       lambda v: f"{v:.1f} ms")
#: Kibibytes of resident memory per idle actor (RSS growth in a fresh interpreter).
KB_PER_ACTOR = Metric("KB", False, lambda s: s.bytes / s.count / 1024, lambda v: f"{v:.2f} KB")
#: Kibibytes of Python heap per idle actor, as tracemalloc counts them.
KB_HEAP_PER_ACTOR = Metric("KB heap", False, lambda s: s.bytes / s.count / 1024,
                           lambda v: f"{v:.2f} KB")


@dataclass(frozen=True)
class Stats:
    """The figures of the measured rounds: median, lowest, highest."""

    median: float
    low: float
    high: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values), tuple(values))

    @property
    def spread(self) -> float:
        """Half the range, relative to the median (``0.03`` reads as +-3%)."""
        return (self.high - self.low) / 2 / self.median if self.median else 0.0


def memory_now() -> int:
    """Bytes in use now: tracemalloc's count while it traces, else the resident set size.

    A memory workload reads it before spawning its actors, then calls :func:`memory_held`
    once they all sit idle. The RSS is only meaningful in a fresh interpreter (freed memory
    is reused), which is why the idle-actor benchmarks run each round in one.
    """
    if tracemalloc.is_tracing():
        return tracemalloc.get_traced_memory()[0]
    return _rss()


def memory_held(before: int) -> int:
    """Bytes taken since ``before`` (a :func:`memory_now` reading). Stops tracemalloc: the
    teardown that follows is not measured and need not pay for tracing."""
    held = memory_now() - before
    tracemalloc.stop()
    return held


def _rss() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak RSS is the best stand-in
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_once(workload: Workload, n: int, *, trace_memory: bool = False) -> Sample:
    """Run ``workload(n)`` once on a freshly collected heap and check its count."""
    gc.collect()
    if trace_memory:
        tracemalloc.start()
    try:
        sample = workload(n)
    finally:
        tracemalloc.stop()
    if sample.count != n:
        raise BenchmarkError(f"asked for {n} operations, the workload reported {sample.count}")
    if sample.seconds <= 0:
        raise BenchmarkError(f"the workload reported {sample.seconds} s; the clock is broken")
    return sample


Runner = Callable[[Workload, int], Sample]


def collect(workload: Workload, n: int, *, rounds: int, warmup: int,
            runner: Runner = run_once) -> list[Sample]:
    """``rounds`` samples of ``workload(n)``, after ``warmup`` discarded runs."""
    for _ in range(warmup):
        runner(workload, n)
    return [runner(workload, n) for _ in range(rounds)]
