"""What a dashboard costs in the kernel when a slider moves (issue 13).

A slider change makes :class:`labkit.widgets.Dashboard` re-run its scenario (once per model
compared) and redraw: build the Vega-Lite spec with :mod:`labkit.viz`, then render it to
SVG with vl-convert (a dashboard without anywidget, ``live=False``) or send the spec to
the browser (a live dashboard). These workloads move a real dashboard's ``capacity``
slider ``n`` times (its run cache holds one run per model, so every move re-simulates) and
time the whole callback, as a learner's kernel runs it. ``spec only`` rows stop at the
spec: a live dashboard's kernel work, less sending the spec over the comm. ``simulate``
times the scenario call alone (one model, no chart).
"""

from __future__ import annotations

import itertools
from typing import Any

from benchmarks.harness import BenchmarkError, Sample, clock

__all__ = ("redraw", "simulate_only")

#: The dashboard of notebook 01: producer and consumer over a bounded channel.
CHARTS = ("depth", "latency")


def _dashboard(messages: int, models: tuple[str, ...], svg: bool) -> Any:
    from labkit import scenarios
    from labkit.widgets import Dashboard

    dash = Dashboard(scenarios.producer_consumer, controls={"capacity": range(0, 11)},
                     charts=list(CHARTS), compare_models=list(models) if len(models) > 1
                     else None, fixed={"messages": messages, "seed": 1,
                                       **({"model": models[0]} if len(models) == 1 else {})},
                     cache_size=len(models), live=False)
    if not svg:  # the spec is built, the kernel-side SVG skipped
        dash.draw = lambda: dash.chart().to_dict(validate=False)  # type: ignore[method-assign]
    return dash


def redraw(n: int, *, messages: int, models: tuple[str, ...], svg: bool = True) -> Sample:
    """Move the capacity slider ``n`` times; every move re-simulates and redraws."""
    dash = _dashboard(messages, models, svg)
    capacity = dash.controls["capacity"]
    values = itertools.cycle([v for v in range(1, 11) if v != capacity.value])
    before = dash.simulations
    start = clock()
    for _ in range(n):
        capacity.value = next(values)
    seconds = clock() - start
    if dash.error is not None:
        raise BenchmarkError(f"the dashboard failed: {dash.error}")
    done = (dash.simulations - before) // len(models)
    return Sample(done, seconds)


def simulate_only(n: int, *, messages: int = 150) -> Sample:
    """``n`` calls of the scenario alone (one model): the simulation and its numbers."""
    from labkit import scenarios

    start = clock()
    for i in range(n):
        scenarios.producer_consumer(model="go", capacity=1 + i % 10, messages=messages,
                                    seed=1)
    return Sample(n, clock() - start)
