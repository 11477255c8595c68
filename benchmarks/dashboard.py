"""What a dashboard costs in the kernel when a slider moves (issue 13).

A slider change makes :class:`labkit.widgets.Dashboard` re-run its scenario (once per model
compared) and redraw. These workloads move a real dashboard's ``capacity`` slider ``n``
times (its run cache holds one run per model, so every move re-simulates) and time the
whole callback, as a learner's kernel runs it, three ways:

- ``live`` (after): what a dashboard does with anywidget installed (``make``, Binder): the
  charts' data from :func:`labkit.viz.compare_parts`, the spec from a template
  (:func:`labkit.viz.spec`), and only the new rows sent to the live chart
  (:func:`labkit.viz.data_updates`; without a kernel the send itself is not timed).
- ``altair`` (before): the same moves with the spec built through Altair's object model
  each time (``chart.to_dict()``), as dashboards did before the templates.
- ``svg``: a dashboard without anywidget (``live=False``): the template's spec rendered to
  SVG in the kernel by vl-convert.
- ``workers``: ``live``, with the models compared simulated side by side in worker
  processes (:mod:`labkit.workers`, ``workers=True``), as a dashboard does once its runs
  are slow; the others run them one after another in the kernel (``workers=False``).
  Nothing is worked out ahead (``look_ahead=0``): every move simulates.
- ``ahead``: ``workers`` as a learner gets it, with the runs at the next capacities
  worked out in the workers before the move (``look_ahead``); each move is timed after
  that work is done (a learner reading the charts), one step up the slider at a time.

``simulate`` times the scenario call alone (one model, no chart).
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from benchmarks.harness import BenchmarkError, Sample, clock

__all__ = ("redraw", "simulate_only")

#: The dashboard of notebook 01: producer and consumer over a bounded channel.
CHARTS = ("depth", "latency")

How = Literal["live", "altair", "svg", "workers", "ahead"]


def _dashboard(messages: int, models: tuple[str, ...], how: How) -> Any:
    from labkit import scenarios
    from labkit.widgets import Dashboard

    dash = Dashboard(scenarios.producer_consumer, controls={"capacity": range(0, 11)},
                     charts=list(CHARTS), compare_models=list(models) if len(models) > 1
                     else None, fixed={"messages": messages, "seed": 1,
                                       **({"model": models[0]} if len(models) == 1 else {})},
                     cache_size=len(models), live=how != "svg" and how != "altair",
                     workers=how in ("workers", "ahead"),
                     look_ahead=8 if how == "ahead" else 0)
    if how in ("live", "workers", "ahead") and dash.view is None:
        raise BenchmarkError("the live dashboard needs anywidget: pip install anywidget")
    if how == "altair":  # the spec built through Altair on every move, no SVG
        dash.draw = lambda: dash.chart().to_dict(validate=False)  # type: ignore[method-assign]
    return dash


def redraw(n: int, *, messages: int, models: tuple[str, ...], how: How = "live") -> Sample:
    """Move the capacity slider ``n`` times; every move re-simulates (``ahead``: takes the
    runs the workers worked out before it) and redraws."""
    dash = _dashboard(messages, models, how)
    capacity = dash.controls["capacity"]
    values = itertools.cycle([v for v in range(1, 11) if v != capacity.value])
    before = dash.simulations
    seconds = 0.0
    for _ in range(n):
        if how == "ahead" and not dash.ahead.settle(120):
            raise BenchmarkError("the runs worked out ahead did not come")
        start = clock()
        capacity.value = next(values)
        seconds += clock() - start
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
