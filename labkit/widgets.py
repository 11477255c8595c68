"""Live dashboards: ipywidgets controls bound to a scenario, its charts redrawn in place.

A :class:`Dashboard` calls a scenario (a pure function of keyword parameters, see
:mod:`labkit.scenarios`) with the values of its controls, draws the run with
:mod:`labkit.viz` and redraws whenever a control moves::

    from labkit import scenarios, widgets
    widgets.Dashboard(
        scenarios.producer_consumer,
        controls={"capacity": range(0, 11), "producer_rate": (1.0, 50.0),
                  "consumer_rate": (1.0, 50.0)},
        charts=["timeline", "depth"],
        compare_models=["go", "rust"],          # one panel per model, shared axes
        fixed={"messages": 200, "seed": 1},
    )

``compare_models`` can also be a widget whose value is the models to compare (an
``ipywidgets.Dropdown`` with options such as ``("Go vs Rust", ("go", "rust"))``, or a
``SelectMultiple``): the learner picks the models, and the panels follow. A model that cannot
run the chosen parameters (a policy it does not have, say) is left out of the picture, and
the status line says why.

Controls are ipywidgets (any ``ValueWidget``) or shorthands: ``range(a, b)`` and
``(min, max)`` / ``(min, max, step)`` of ints give an ``IntSlider``, floats a
``FloatSlider``, a ``list`` a ``Dropdown`` and a ``bool`` a ``Checkbox``; a shorthand starts
at the scenario's default for that parameter when it is in range. A Play button and a time
slider scrub through virtual time: the charts show the rows complete by the chosen instant,
on the whole run's axes. Virtual time is a parameter of the charts' spec
(:data:`labkit.viz.PARAMS` ``"time"``), so in the browser each frame is Vega filtering
rows, with no kernel round trip; scrubbing never re-simulates. (A chart made by a function
of the notebook is redrawn by the kernel from the trace cut at the instant, :func:`truncate`.)

Why it looks like this (speed, nbval, and viewing without a kernel):

- With a kernel the charts are live: one ``alt.JupyterChart`` (an anywidget, in offline
  mode: Vega comes from vl-convert's bundle, no CDN) drawn by Vega in the browser, with the
  tooltips, zoom, legend and message picks of :mod:`labkit.viz`. The kernel renders no
  picture and builds no chart through Altair on a slider move: the spec comes from a
  template (:func:`labkit.viz.spec`), and when only its data changed the chart gets only
  the new rows (:func:`labkit.viz.data_updates`), which Vega redraws in place. A small
  invisible widget links the Play button and the time slider to the chart's time
  parameter in the browser. (Without ``anywidget`` installed, or with ``live=False``, the
  charts are an SVG rendered by :func:`labkit.viz.to_svg` in an ``ipywidgets.Image``,
  replaced on each change.) No ``interact``, no printing into an
  ``Output``, no ``clear_output``, no display updates: nbval cannot validate those, while
  widget views are not compared at all.
- Displaying a dashboard emits the widget view **and** an ``image/svg+xml`` of the charts as
  they are at display time (rendered then, once), so GitHub and nbviewer show a picture,
  and nbval compares a deterministic SVG (no random ids, no wall-clock values). The widget
  state, which holds Vega's 0.9 MB bundle per live chart, is not committed:
  ``tools/strip_widget_state.py`` removes it.
- Errors raised by the scenario (a bad parameter combination) are shown in the status line
  instead of escaping from a widget callback, where nobody would see them. Mistakes in the
  dashboard's own configuration (a control for a parameter the scenario does not have, a
  slider from NaN, ``steps=0``) raise at once, when it is built: ``TypeError`` for a value
  of the wrong type, ``ValueError`` for one out of range, as everywhere in labkit.
"""

from __future__ import annotations

import dataclasses
import html
import importlib.util
import inspect
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeAlias, TypeVar, cast, overload

import altair as alt
import ipywidgets

from labkit import Run, viz
from labkit import workers as pool
from labkit._check import (
    check_callable,
    check_int,
    check_number,
    check_sequence,
    check_str,
    describe,
)
from labkit.trace import Columns, Trace

__all__ = (
    "MAX_STEPS",
    "MODEL_LABELS",
    "AHEAD_SECONDS",
    "WORKERS_AFTER",
    "ChartSpec",
    "ControlSpec",
    "Dashboard",
    "as_control",
    "truncate",
)

T = TypeVar("T")

#: A control: an ipywidgets value widget, or a shorthand (range, (min, max[, step]), list,
#: bool) that :func:`as_control` turns into one.
ControlSpec: TypeAlias = "ipywidgets.ValueWidget | range | tuple[Any, ...] | list[Any] | bool"
#: A chart: a key of :data:`labkit.viz.CHARTS` (``"depth"``), such a key with options for its
#: builder (``("timeline", {"limit": 20})``, also in compare mode) or a function
#: ``Run -> chart``.
ChartSpec: TypeAlias = "str | tuple[str, Mapping[str, Any]] | Callable[[Run[Any]], Any]"

#: The most frames of the Play button (``steps``): one per redraw.
MAX_STEPS = 1_000
#: A dashboard comparing models (``workers=None``) simulates them side by side in worker
#: processes, one core each, once a refresh's runs took this many seconds of wall time
#: (and here again once the workers' took less).
WORKERS_AFTER = 0.05
#: A dashboard works out at most this many seconds of runs ahead (``look_ahead``), as its
#: last runs took: fewer settings when runs are long, whose results are big too (a
#: 10 000-message run takes about 0.13 s and 5 MB; the default 8 settings fit).
AHEAD_SECONDS = 4.0
#: Panel titles for ``compare_models`` (the colours come from the trace's ``model`` column).
MODEL_LABELS: Mapping[str, str] = {"go": "Go", "rust": "Rust", "actor": "Actor"}

#: ``viz.depth_chart`` -> ``"depth"``: a builder passed as a function still compares with
#: shared bins and axes through :func:`labkit.viz.compare`.
_CHART_NAMES: dict[Any, str] = {fn: name for name, fn in viz.CHARTS.items()}
_TIME_AXIS = "time (s)"


# -- cutting a run at an instant -------------------------------------------------------------

@overload
def truncate(source: Trace, at: float) -> Trace: ...
@overload
def truncate(source: Run[T], at: float) -> Run[T]: ...
def truncate(source: Trace | Run[T], at: float) -> Trace | Run[T]:
    """The trace (or run) as it stood at virtual time ``at``: only events at or before ``at``.

    A cut run keeps its ``result`` (the headline numbers of the whole run), has
    ``elapsed = min(elapsed, at)`` and ``completed = False`` when the cut falls before its
    end. Cutting at or after the last event returns ``source`` itself.
    """
    at = check_number("at", at, allow_inf=True, unit="seconds")
    if isinstance(source, Trace):
        if not source.rows or _last(source) <= at:
            return source
        return Trace([row for row in source if row.time <= at])
    if isinstance(source, Run):
        trace = truncate(source.trace, at)
        if trace is source.trace and source.elapsed <= at:
            return source
        return dataclasses.replace(source, trace=trace, elapsed=min(source.elapsed, at),
                                   completed=source.completed and source.elapsed <= at)
    raise TypeError(f"source must be a labkit Run or Trace, got {describe(source)}")


def _last(trace: Trace) -> float:
    """The time of the trace's last event (0 for none)."""
    times = Columns.of(trace).floats("time")
    return float(times.max()) if len(times) else 0.0


def _end(run: Run[Any]) -> float:
    """The last instant worth showing: the run's elapsed time or its last event."""
    return float(max(run.elapsed, _last(run.trace)))


# -- controls --------------------------------------------------------------------------------

def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


#: Pixels per character of a control's label (JupyterLab's 13 px UI font, generously), a
#: slider's track and its readout, and a dropdown's box: a control is as wide as its label
#: plus these, so that a long label never squeezes the track to nothing.
_LABEL_PX, _TRACK_PX, _READOUT_PX, _BOX_PX = 7.5, 200, 64, 180


def _fit(widget: ipywidgets.ValueWidget) -> ipywidgets.ValueWidget:
    """Give a slider or a dropdown room for its whole label and a usable track (unless the
    caller set a width or a label width): ``description_width: initial`` shows the label
    in full, and the width is the label's plus the track's, at most the window's."""
    slider = isinstance(widget, ipywidgets.IntSlider | ipywidgets.FloatSlider
                        | ipywidgets.SelectionSlider | ipywidgets.FloatLogSlider)
    if not (slider or isinstance(widget, ipywidgets.Dropdown)):
        return widget
    style = getattr(widget, "style", None)
    if style is not None and not getattr(style, "description_width", "x"):
        style.description_width = "initial"
    if widget.layout.width is None:
        label = math.ceil(_LABEL_PX * len(getattr(widget, "description", "") or "")) + 8
        room = _TRACK_PX + _READOUT_PX if slider else _BOX_PX
        widget.layout.width = f"{label + room}px"
        widget.layout.max_width = "100%"
    return widget


def as_control(spec: ControlSpec, *, name: str, default: Any = None) -> ipywidgets.ValueWidget:
    """The widget for one scenario parameter ``name``.

    ``range(a, b[, s])`` and an all-int ``(min, max[, step])`` give an ``IntSlider``, a tuple
    with a float a ``FloatSlider``, a ``list`` of options (or ``(label, value)`` pairs) a
    ``Dropdown``, a ``bool`` a ``Checkbox``; a widget is used as it is. The shorthand starts
    at ``default`` (the scenario's default) when that is a valid value, else at its first.
    Sliders update on release, not while dragging, so each change simulates once. A slider
    or dropdown shows its whole label and keeps a usable track (unless given a width).
    """
    return _fit(_control(spec, name=name, default=default))


def _control(spec: ControlSpec, *, name: str, default: Any = None) -> ipywidgets.ValueWidget:
    name = check_str("name", name)
    style = {"description_width": "initial"}
    if isinstance(spec, ipywidgets.ValueWidget):
        if getattr(spec, "description", None) == "":
            spec.description = name
        return spec
    if isinstance(spec, bool):
        return ipywidgets.Checkbox(value=spec, description=name, style=style)
    if isinstance(spec, range):
        if not spec:
            raise ValueError(f"control {name!r}: {spec!r} is empty; give at least one value")
        value = default if isinstance(default, int) and default in spec else spec[0]
        lo, hi = min(spec[0], spec[-1]), max(spec[0], spec[-1])
        return ipywidgets.IntSlider(value=value, min=lo, max=hi, step=abs(spec.step),
                                    description=name, continuous_update=False, style=style)
    if isinstance(spec, tuple) and len(spec) in (2, 3) and all(_is_number(x) for x in spec):
        for part, x in zip(("min", "max", "step"), spec, strict=False):
            check_number(f"control {name!r}: {part}", x, above=part == "step",
                         minimum=0 if part == "step" else None)
        lo, hi = spec[0], spec[1]
        if lo > hi:
            raise ValueError(f"control {name!r}: min {lo!r} is above max {hi!r}; "
                             "write (min, max) or (min, max, step)")
        inside = _is_number(default) and lo <= default <= hi
        if all(isinstance(x, int) for x in spec):
            step = spec[2] if len(spec) == 3 else 1
            return ipywidgets.IntSlider(value=default if inside else lo, min=lo, max=hi,
                                        step=step, description=name,
                                        continuous_update=False, style=style)
        step = spec[2] if len(spec) == 3 else (hi - lo) / 100 or 0.1
        return ipywidgets.FloatSlider(value=default if inside else lo, min=lo, max=hi,
                                      step=step, description=name,
                                      continuous_update=False, style=style)
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"control {name!r}: the list of options is empty")
        dropdown = ipywidgets.Dropdown(options=spec, description=name, style=style)
        values = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in spec]
        if default is not None and default in values:
            dropdown.value = default
        return dropdown
    raise TypeError(
        f"control {name!r}: cannot make a widget from {spec!r}; give an ipywidgets widget, "
        "range(a, b), (min, max), (min, max, step), a list of options or a bool")


def _scenario_params(scenario: Callable[..., Any]) -> dict[str, Any] | None:
    """The scenario's keyword parameters and their defaults (``inspect.Parameter.empty``
    for none); ``None`` when it takes any keyword (``**kwargs``) or has no signature."""
    try:
        params = inspect.signature(scenario).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name: p.default for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          inspect.Parameter.KEYWORD_ONLY)}


def _check_names(what: str, names: object, scenario: Callable[..., Any],
                 params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``controls`` or ``fixed``: a mapping whose keys are the scenario's parameters."""
    if not isinstance(names, Mapping):
        raise TypeError(f"{what} must be a dict of parameter -> value, got {describe(names)}")
    for name in names:
        check_str(f"a key of {what}", name)
        if params is not None and name not in params:
            label = getattr(scenario, "__name__", "the scenario")
            raise ValueError(f"{what}: {label} has no parameter {name!r}; its parameters: "
                             f"{', '.join(params)}")
    return dict(names)


def _check_charts(charts: object) -> tuple[ChartSpec, ...]:
    """One chart or a non-empty list of them (see :func:`_check_chart`)."""
    single = isinstance(charts, str) or callable(charts) or (
        isinstance(charts, tuple) and len(charts) == 2 and isinstance(charts[0], str)
        and isinstance(charts[1], Mapping))
    if single:
        return (_check_chart("charts", charts),)
    return tuple(check_sequence("charts", charts, _check_chart))


def _check_chart(name: str, chart: object) -> ChartSpec:
    """A key of :data:`labkit.viz.CHARTS`, ``(key, {option: value})`` or a function."""
    if callable(chart):
        return cast("ChartSpec", chart)
    key = chart[0] if isinstance(chart, tuple) and chart else chart
    if isinstance(chart, tuple) and not (len(chart) == 2 and isinstance(chart[1], Mapping)):
        raise TypeError(f"{name}: a chart with options is (name, {{option: value}}), "
                        f"got {describe(chart)}")
    if not isinstance(key, str):
        raise TypeError(f"{name} must be a chart name such as 'depth', (name, {{option: "
                        f"value}}) or a function Run -> chart, got {describe(chart)}")
    if key not in viz.CHARTS:
        raise ValueError(f"unknown chart {key!r}; choose one of {sorted(viz.CHARTS)} or pass "
                         "a function Run -> chart")
    return cast("ChartSpec", chart)


def _model_name(name: str, value: object) -> str:
    return check_str(name, value)


# -- pinning the time axis while scrubbing ---------------------------------------------------

def _units(spec: Mapping[str, Any], data: Any = None) -> Iterator[tuple[dict[str, Any], Any]]:
    """Every unit spec with an encoding, in document order, with the data it draws."""
    data = spec.get("data", data)
    encoding = spec.get("encoding")
    if isinstance(encoding, dict):
        yield spec, data  # type: ignore[misc]
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, ()):
            yield from _units(child, data)


def _time_fields(unit: Mapping[str, Any]) -> list[str]:
    """The fields of ``unit``'s x axis when that axis is time (labkit's "time (s)" title)."""
    x = unit["encoding"].get("x")
    if not isinstance(x, dict) or x.get("type") != "quantitative":
        return []
    axis = x.get("axis")
    title = axis.get("title") if isinstance(axis, dict) else x.get("title")
    if title != _TIME_AXIS:
        return []
    fields = [x.get("field")]
    x2 = unit["encoding"].get("x2")
    if isinstance(x2, dict):
        fields.append(x2.get("field"))
    return [f for f in fields if isinstance(f, str)]


def _time_domains(spec: Mapping[str, Any]) -> list[float | None]:
    """Per unit (document order): the largest time its x axis shows, or ``None``."""
    datasets = spec.get("datasets", {})
    out: list[float | None] = []
    for unit, data in _units(spec):
        fields = _time_fields(unit)
        rows = datasets.get(data.get("name")) if isinstance(data, dict) else None
        if not fields or not isinstance(rows, list):
            out.append(None)
            continue
        values = [r[f] for r in rows for f in fields
                  if isinstance(r.get(f), int | float) and math.isfinite(r[f])]
        out.append(max(values, default=None))
    return out


def _pin_time_axes(spec: dict[str, Any], domains: list[float | None]) -> None:
    """Give every time x axis of ``spec`` the extent it had over the whole run, so that the
    axes stay still while scrubbing and the picture grows into them."""
    units = list(_units(spec))
    if len(units) != len(domains):
        return
    for (unit, _), top in zip(units, domains, strict=True):
        if top is None or not _time_fields(unit):
            continue
        x = unit["encoding"]["x"]
        scale = dict(x.get("scale") or {})
        lo = min(0.0, float(scale.get("domainMin", 0.0)))
        scale["domain"] = [lo, top]
        scale.pop("domainMin", None)
        scale.pop("domainMax", None)
        x["scale"] = scale


# -- the dashboard ---------------------------------------------------------------------------

class Dashboard:
    """Controls bound to ``scenario``; its ``charts`` redrawn in place when one changes.

    ``controls`` maps scenario parameters to widgets or shorthands (:func:`as_control`);
    ``fixed`` gives parameters that do not change. ``charts`` is one chart or a sequence:
    keys of :data:`labkit.viz.CHARTS` or functions ``Run -> alt.Chart``. With
    ``compare_models`` the scenario runs once per model (``model=...``) and each chart puts
    the runs side by side on shared axes (:func:`labkit.viz.compare`). ``compare_models`` is
    a sequence of model names, or a widget whose value is one (or a single name): then the
    models are a control too, shown first. In compare mode a model whose run raises is left
    out and its error shown in the status line (``skipped``); only when every model fails
    does the dashboard keep the last charts that worked and set ``error``.

    Show it as the last expression of a cell (or ``dash.widget``). Attributes for code and
    tests: ``controls`` (name -> widget), ``models`` (the models widget, or ``None``),
    ``compare_models`` (the models compared now, or ``None``), ``play`` and ``time``
    (virtual-time scrubbing), ``view`` (the live ``alt.JupyterChart``, or ``None``),
    ``image`` (the charts as SVG when not live), ``spec`` (the Vega-Lite spec shown),
    ``status`` (headline numbers or the error), ``runs`` (label -> Run, as simulated),
    ``skipped`` (label -> error, models left out), ``svg`` (rendered on demand), ``error``,
    ``simulations`` (scenario calls so far), ``in_workers`` (how many of them ran in worker
    processes).

    ``live``: ``None`` (default) draws the charts in the browser when anywidget is
    installed, ``True`` requires it, ``False`` always renders SVG in the kernel.

    ``workers``: with several models compared, their runs can be simulated side by side in
    worker processes, one core each (a run depends only on its parameters and seed, so it
    is the same run). ``None`` (default) does so once a refresh's runs took
    :data:`WORKERS_AFTER` seconds or more (thousands of messages), on a machine with two
    cores or more, for a scenario another process can import (a function of a module);
    ``True`` always, ``False`` never.

    ``look_ahead``: while the runs go to worker processes, the dashboard also works out,
    in them, the runs at this many other settings of the controls not in its run cache
    (one control moved a step, then two, each way; for every model compared), while the
    learner reads: a move to one of those draws at once. A move to another value stops
    that work for the runs it needs. ``0``: none. Fewer when runs are long: at most
    :data:`AHEAD_SECONDS` of runs, as long as the last ones took. Attributes ``worked_ahead`` (runs
    shown that were worked out ahead) and ``ahead`` (the calls under way,
    :class:`labkit.workers.Ahead`).
    """

    def __init__(self, scenario: Callable[..., Run[Any]],
                 controls: Mapping[str, ControlSpec],
                 charts: ChartSpec | Sequence[ChartSpec],
                 *, compare_models: Sequence[str] | ipywidgets.ValueWidget | None = None,
                 fixed: Mapping[str, Any] | None = None,
                 steps: int = 40, interval_ms: int = 250, cache_size: int = 16,
                 live: bool | None = None, workers: bool | None = None,
                 look_ahead: int = 8) -> None:
        self.scenario = check_callable("scenario", scenario)
        params = _scenario_params(scenario)
        controls = _check_names("controls", controls, scenario, params)
        self.fixed: dict[str, Any] = _check_names("fixed", fixed or {}, scenario, params)
        self.models: ipywidgets.ValueWidget | None = None
        self._models: tuple[str, ...] | None = None
        if isinstance(compare_models, ipywidgets.ValueWidget):
            self.models = as_control(compare_models, name="models")
        elif compare_models is not None:  # a list of models, such as ["go", "rust"]
            self._models = tuple(check_sequence("compare_models", compare_models,
                                                _model_name))
        clash = sorted(set(controls) & set(self.fixed))
        if clash:
            raise ValueError(f"parameters {clash} are both controls and fixed; keep one")
        comparing = self.models is not None or self._models is not None
        if comparing and ("model" in controls or "model" in self.fixed):
            raise ValueError("with compare_models the dashboard sets model= itself; "
                             "remove 'model' from controls and fixed")
        self.charts: tuple[ChartSpec, ...] = _check_charts(charts)
        self.steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
        interval_ms = check_int("interval_ms", interval_ms, minimum=1, maximum=60_000)
        self.cache_size = check_int("cache_size", cache_size, minimum=1, maximum=1_000)
        if live is not None and not isinstance(live, bool):
            raise TypeError(f"live must be True, False or None (live when anywidget is "
                            f"installed), got {describe(live)}")
        self._want_live = live
        if workers is not None and not isinstance(workers, bool):
            raise TypeError(f"workers must be True, False or None (in workers when the runs "
                            f"are slow), got {describe(workers)}")
        self._portable = pool.portable(self.scenario)
        if workers and not self._portable:
            raise ValueError("workers=True needs a scenario that another process can import "
                             "by name (a function of a module, not one defined in the "
                             "notebook); use workers=None to run it here")
        self.workers = workers
        self.look_ahead = check_int("look_ahead", look_ahead, minimum=0, maximum=100)
        self.ahead = pool.Ahead()

        defaults = {name: default for name, default in (params or {}).items()
                    if default is not inspect.Parameter.empty}
        self.controls: dict[str, ipywidgets.ValueWidget] = {
            name: as_control(spec, name=name, default=defaults.get(name))
            for name, spec in controls.items()}
        self.play = ipywidgets.Play(value=steps, min=0, max=steps, step=1,
                                    interval=interval_ms, description="play")
        self.time = ipywidgets.FloatSlider(value=0.0, min=0.0, max=0.0, step=None,
                                           description=_TIME_AXIS, readout_format=".3f",
                                           continuous_update=False,
                                           style={"description_width": "initial"},
                                           layout=ipywidgets.Layout(width="420px",
                                                                    max_width="100%"))
        self.image = ipywidgets.Image(value=b"", format="svg+xml")
        self.status = ipywidgets.HTML(value="")
        shown = ([self.models] if self.models is not None else []) + list(self.controls.values())
        # Controls wrap onto more rows as the window narrows; each keeps its width.
        wrap = ipywidgets.Layout(flex_flow="row wrap", align_items="center",
                                 grid_gap="2px 16px")
        self.widget = ipywidgets.VBox([
            ipywidgets.HBox(shown, layout=wrap),
            ipywidgets.HBox([self.play, self.time], layout=wrap),
            self.image,
            self.status,
        ])

        self.runs: dict[str, Run[Any]] = {}
        self.skipped: dict[str, str] = {}
        #: The live chart (an ``alt.JupyterChart``) once drawn, or ``None`` (SVG image).
        self.view: Any | None = None
        self.spec: dict[str, Any] | None = None
        self._svg: tuple[int, str] | None = None  # (version of the spec, its SVG)
        self._version = 0
        self.error: str | None = None
        self.simulations = 0
        self.in_workers = 0
        self.worked_ahead = 0
        # wall seconds of the slowest run of this refresh (so far), and of the last one
        # that simulated anything: whether the next one's runs go to workers
        self._seconds = 0.0
        self._last_seconds = 0.0
        if workers and comparing:
            pool.warm_up()
        self._cache: OrderedDict[Hashable, Run[Any]] = OrderedDict()
        # per piece drawn through Altair: its time axes' extent over the whole runs
        self._full_domains: dict[int, list[float | None]] = {}
        # how to draw the charts of these runs (see _pieces)
        self._whole: list[tuple[str, Any]] | None = None
        self._sent: dict[str, Any] | None = None  # the spec the live chart has now
        self._clock: Any | None = None
        self._headlines: dict[int, tuple[Run[Any], str]] = {}
        self._end = 0.0
        self._quiet = False

        for widget in shown:
            widget.observe(self._on_control, names="value")
        self.play.observe(self._on_play, names="value")
        self.time.observe(self._on_time, names="value")
        self.refresh()

    # -- parameters and runs ---------------------------------------------------------------

    @property
    def compare_models(self) -> tuple[str, ...] | None:
        """The models compared side by side now (read from ``models`` when it is a widget),
        or ``None`` when the dashboard shows one run."""
        if self.models is None:
            return self._models
        value = self.models.value
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    @property
    def params(self) -> dict[str, Any]:
        """The keyword arguments the scenario gets now (without ``model`` in compare mode)."""
        return self._call(None)

    def _values(self) -> dict[str, Any]:
        """The controls' values now (name -> value)."""
        return {name: w.value for name, w in self.controls.items()}

    def _key(self, model: str | None, values: Mapping[str, Any] | None = None) -> Hashable:
        """The run cache's key for ``model`` at the controls' ``values`` (default: now),
        or ``None`` for a value that cannot be hashed (the run is not cached)."""
        key: Hashable = (model, tuple((values or self._values()).items()))
        try:
            hash(key)
        except TypeError:  # an unhashable option value: run it, do not cache it
            return None
        return key

    def _call(self, model: str | None,
              values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The scenario's keyword arguments for ``model`` (``None``: as the controls say)
        at the controls' ``values`` (default: now)."""
        params = dict(self.fixed)
        params.update(values or self._values())
        if model is not None:
            params["model"] = model
        return params

    def _prepared(self, model: str | None,
                  values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The keyword arguments of :func:`labkit.viz.prepared` for a worker: the run at
        ``values`` with its charts' data worked out there too."""
        charts = [entry for entry in (_chart_entry(c) for c in self.charts) if entry]
        return {"scenario": self.scenario, "params": self._call(model, values),
                "charts": charts}

    def _store(self, key: Hashable, run: object) -> Run[Any]:
        """Check what the scenario returned and keep it in the run cache."""
        if not isinstance(run, Run):
            raise TypeError(f"{getattr(self.scenario, '__name__', 'scenario')} returned "
                            f"{type(run).__name__}, not a labkit Run")
        if key is not None:
            self._cache[key] = run
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return run

    def _simulate(self, model: str | None) -> Run[Any]:
        """The run for ``model`` at the controls' values: from the run cache, from the
        calls worked out ahead, else simulated here."""
        key = self._key(model)
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ahead = self.ahead.take(key) if key is not None else None
        if ahead is not None:
            self.simulations += 1
            self.in_workers += 1
            self.worked_ahead += 1
            try:
                return self._store(key, ahead())
            finally:  # how long the run took in its worker, not the wait for it
                self._seconds = max(self._seconds, ahead.seconds)
        self.simulations += 1
        start = time.perf_counter()
        try:
            run = self.scenario(**self._call(model))
        finally:
            self._seconds = max(self._seconds, time.perf_counter() - start)
        return self._store(key, run)

    def _simulate_all(self, models: Sequence[str]) -> dict[str, Callable[[], Run[Any]]]:
        """For each model, a function that gives its run. Models not in the run cache are
        simulated side by side in worker processes when that pays (:attr:`workers`), else
        one after another here, each when its function is called."""
        missing = [m for m in models if (k := self._key(m)) is None
                   or (k not in self._cache and k not in self.ahead)]
        if len(missing) < 2 or not self._in_workers():
            return {m: partial(self._simulate, m) for m in models}
        # each worker also works out its run's chart data (viz.prepare), in parallel
        results = dict(zip(missing, pool.run(viz.prepared, [
            self._prepared(m) for m in missing]), strict=True))
        self.simulations += len(missing)
        self.in_workers += len(missing)
        return {m: partial(self._collect, self._key(m), results[m]) if m in results
                else partial(self._simulate, m) for m in models}

    def _collect(self, key: Hashable, result: pool.Call) -> Run[Any]:
        try:
            run = result()
        finally:  # how long the run took in its worker (not a worker's start)
            self._seconds = max(self._seconds, result.seconds)
        return self._store(key, run)

    def _in_workers(self) -> bool:
        """Whether to use worker processes now: to simulate several models side by side,
        and to work out runs ahead."""
        if self.workers is False or not self._portable:
            return False
        return self.workers is True or self._last_seconds >= WORKERS_AFTER

    def refresh(self) -> None:
        """Run the scenario for the current control values (from the cache when it can)
        and redraw at the end of the run. Errors go to the status line."""
        models = self.compare_models
        runs: dict[str, Run[Any]] = {}
        skipped: dict[str, str] = {}
        self._seconds = 0.0
        if models is None:
            try:
                runs[""] = self._simulate(None)
            except Exception as exc:  # noqa: BLE001 - a widget callback has nobody to raise to
                self._fail(_describe(exc))
                return
        elif not models:
            self._fail("no model chosen: choose at least one model to compare")
            return
        else:
            for model, simulated in self._simulate_all(models).items():
                label = MODEL_LABELS.get(model, model)
                try:
                    runs[label] = simulated()
                except Exception as exc:  # noqa: BLE001 - shown in the status line
                    skipped[label] = _describe(exc)
        if self._seconds > 0:  # something was simulated, not all from the caches
            self._last_seconds = self._seconds
            if self.workers is None and self._in_workers():
                pool.warm_up()  # the next move's runs go to the workers
        if not runs:  # every model compared failed
            only = len(skipped) == 1
            self._fail("\n".join(text if only else f"{label}: {text}"
                                  for label, text in skipped.items()))
            return
        self.runs = runs
        self.skipped = skipped
        self._end = max(_end(run) for run in runs.values())
        self._quiet = True
        # Move both scrubbers to the end without a redraw per trait change, each in one
        # message: the browser never sees the new maximum and step with the old value, a
        # value it would clamp or round, which the clock would show as an instant
        # before the end (a flash of the old run, cut there).
        try:
            with self.time.hold_sync(), self.play.hold_sync():
                self.time.max = self._end
                self.time.step = self._end / self.steps if self._end > 0 else None
                self.time.value = self._end
                self.play.value = self.steps
        finally:
            self._quiet = False
        self._full_domains = {}
        self._whole = None
        self.draw()
        self._look_ahead()

    def _look_ahead(self) -> None:
        """Have the workers work out the runs at the controls' next settings not in the
        run cache (:attr:`look_ahead` of them, nearest first), in place of those wanted
        before; runs already made that are no longer wanted go to the run cache."""
        calls: dict[Hashable, dict[str, Any]] = {}
        models = self.compare_models or (None,)
        most = _settings_ahead(self.look_ahead, self._last_seconds * len(models))
        if most > 0 and self._in_workers():
            settings = 0
            for values in _nearby(self.controls):
                keys = [(m, k) for m in models if (k := self._key(m, values)) is not None]
                missing = [(m, k) for m, k in keys if k not in self._cache]
                calls.update((k, self._prepared(m, values)) for m, k in missing)
                settings += bool(missing)
                if settings == most:
                    break
        for key, run in self.ahead.want(viz.prepared, calls).items():
            if isinstance(run, Run):
                self._store(key, run)

    # -- drawing ----------------------------------------------------------------------------

    def parts(self) -> viz.Parts | None:
        """The charts of the current runs taken apart (:class:`labkit.viz.Parts`), or
        ``None`` when one is a function of the notebook's (drawn through Altair)."""
        return _stacked([self._parts(entry) for entry in self.charts])

    def _parts(self, chart: ChartSpec) -> viz.Parts | None:
        """One chart of the current runs taken apart, or ``None`` for a notebook's own."""
        entry = _chart_entry(chart)
        if entry is None:
            return None
        name, options = (entry, {}) if isinstance(entry, str) else entry
        if self.compare_models is None:
            return viz.parts(name, self.runs[""], **options)
        return viz.compare_parts(self.runs, chart=name, **options)

    def _pieces(self) -> list[tuple[str, Any]]:
        """How to draw the charts, worked out once per set of runs: one ``("timed",
        spec)`` with virtual time a parameter (labkit's charts from their templates, a
        notebook's own chart whose x axis is virtual time through Altair), or
        ``("altair", entry)`` for a notebook's chart to build from the runs cut at each
        instant; one piece per chart when the charts mix the two kinds (they are put side
        by side in one spec, ``_concat``), else one for all."""
        found = [self._parts(entry) for entry in self.charts]
        whole = _stacked(found)
        if whole is not None:
            return [("timed", viz.spec(whole))]
        return [("timed", viz.spec(parts)) if parts is not None else self._piece(i, entry)
                for i, (entry, parts) in enumerate(zip(self.charts, found, strict=True))]

    def _piece(self, index: int, entry: ChartSpec) -> tuple[str, Any]:
        """A notebook's own chart: timed when its x axis is virtual time, else built at
        each instant; either way built once for the whole runs (``("altair", (entry,
        spec))``: that spec is what the whole runs show)."""
        spec = dict(self._chart(entry, self.runs).to_dict(validate=False))
        timed = viz.with_time(spec)
        if timed is not None:
            return ("timed", timed)
        self._full_domains[index] = _time_domains(spec)
        return ("altair", (entry, spec))

    def _chart(self, chart: ChartSpec, runs: Mapping[str, Run[Any]]) -> Any:
        options: Mapping[str, Any] = {}
        if isinstance(chart, tuple):
            chart, options = chart
        build = viz.CHARTS[chart] if isinstance(chart, str) else chart
        if self.compare_models is None:
            return build(runs[""], **options)
        name = chart if isinstance(chart, str) else _CHART_NAMES.get(chart)
        if name is not None:
            return viz.compare(runs, chart=name, **options)
        panels = [build(run).properties(title=label) for label, run in runs.items()]
        viz.share_palette(panels)
        shared = viz.share_params(panels)
        combined = alt.hconcat(*panels).resolve_scale(color="shared")
        combined.params = shared
        return combined

    def chart(self, at: float | None = None) -> Any:
        """The charts (one Altair chart, stacked when several) with traces cut at ``at``."""
        runs = self.runs if at is None else {k: truncate(r, at) for k, r in self.runs.items()}
        charts = [self._chart(c, runs) for c in self.charts]
        return charts[0] if len(charts) == 1 else alt.vconcat(*charts)

    def draw(self) -> None:
        """Redraw the charts at the time slider's instant (no simulation).

        The labkit charts come from :func:`labkit.viz.spec`'s templates, with virtual time
        a parameter of the spec: a new instant changes one value (in the browser, the
        Play button and the time slider set it themselves, with no kernel round trip).
        A chart made by a function of the notebook is built through Altair, once per run
        when its x axis is virtual time (:func:`labkit.viz.with_time`), else at every
        instant from the runs cut there (:func:`truncate`). Beside labkit's charts, each
        keeps its own piece of one spec (``_concat``), so a new run is new rows for both."""
        if not self.runs:
            return
        at = float(self.time.value)
        whole = at >= self._end
        try:
            if self._whole is None:
                self._whole = self._pieces()
            timed = all(kind == "timed" for kind, _ in self._whole)
            specs = [piece if kind == "timed" else self._drawn(i, piece, None if whole else at)
                     for i, (kind, piece) in enumerate(self._whole)]
            spec = specs[0] if len(specs) == 1 else _concat(specs)
            if spec is None:  # pieces that do not fit in one spec: all through Altair
                timed = False
                spec = dict(self.chart(None if whole else at).to_dict(validate=False))
            if not whole and any(kind == "timed" for kind, _ in self._whole):
                spec = _at(spec, at)  # the same spec, another instant
            self._show(spec, timed=timed)
        except Exception as exc:  # noqa: BLE001 - shown in the status line instead
            self._fail(_describe(exc))
            return
        self.error = None
        self.status.value = self._status_html(at)

    def _drawn(self, index: int, piece: tuple[ChartSpec, dict[str, Any]],
               at: float | None) -> dict[str, Any]:
        """A notebook's chart without a time axis (``piece``: it and its spec for the
        whole runs), built through Altair from the runs cut at ``at`` (``None``: whole,
        the spec built already), its time axes kept at the whole runs' extent."""
        entry, whole = piece
        if at is None:
            return whole
        runs = {k: truncate(r, at) for k, r in self.runs.items()}
        # Altair's schema validation would take most of a redraw's time; labkit's builders
        # are validated by the tests, and the spec is the same without it.
        spec = dict(self._chart(entry, runs).to_dict(validate=False))
        if self._full_domains.get(index):
            _pin_time_axes(spec, self._full_domains[index])
        return spec

    def _show(self, spec: dict[str, Any], *, timed: bool = False) -> None:
        """Send ``spec`` to the live chart (the browser redraws), or render it as SVG. A
        live chart whose spec differs only in data gets only the new rows; one whose spec
        has the time parameter gets nothing when only the instant changed (the browser
        has set it from the Play button or the time slider)."""
        self._version += 1
        if self.view is None and self._want_live is not False and self.spec is None:
            self.view = _live_view(spec)
            if self.view is None and self._want_live:
                raise RuntimeError("live=True needs anywidget: pip install anywidget")
            if self.view is not None:
                children = list(self.widget.children)
                children[children.index(self.image)] = self.view
                self.widget.children = tuple(children)
                self._clock = _clock(self.play, self.time, self.view)
            self._sent = spec
        elif self.view is not None:
            scrubbed = timed and self._sent is not None and _at(self._sent, _now(spec)) == spec
            if not scrubbed:
                updates = viz.data_updates(self._sent, spec) if self._sent else None
                if updates is None:
                    self.view.spec = spec
                elif updates:
                    self.view._py_to_js_updates = updates
                self._sent = spec
        self.spec = spec
        if self.view is None:
            self._svg = (self._version, viz.to_svg(spec))
            self.image.value = self._svg[1].encode("utf-8")

    @property
    def svg(self) -> str:
        """The charts as SVG, as they are now ("" before any chart): rendered on demand
        when the charts are live (for the notebook's static picture), once per change."""
        if self.spec is None:
            return ""
        if self._svg is None or self._svg[0] != self._version:
            self._svg = (self._version, viz.to_svg(self.spec))
        return self._svg[1]

    def _fail(self, error: str) -> None:
        self.error = error
        shown = "the charts show the last parameters that worked" if self.spec else \
            "no chart yet"
        text = "<br>".join(html.escape(line) for line in error.split("\n"))
        self.status.value = (f'<span style="color:#CE422B"><b>{text}</b>'
                             f"</span> ({shown})")

    def _status_html(self, at: float) -> str:
        lines = []
        for label, run in self.runs.items():
            head = f"<b>{html.escape(label)}</b>: " if label else ""
            lines.append(head + html.escape(self._headline(run)))
        for label, error in self.skipped.items():
            lines.append(f"<b>{html.escape(label)}</b>: "
                         f'<span style="color:#CE422B">{html.escape(error)}</span> '
                         "(no panel: this model cannot run these parameters)")
        if at < self._end:
            lines.append(f"showing the trace up to t = {at:.4g} s of {self._end:.4g} s "
                         "(numbers above are for the whole run)")
        return "<br>".join(lines)

    def _headline(self, run: Run[Any]) -> str:
        """The run's numbers in words, worked out once per run (scrubbing redraws often)."""
        found = self._headlines.get(id(run))
        if found is not None and found[0] is run:
            return found[1]
        text = _headline(run.result)
        if "latency" in self.charts:
            text += " · " + _charted_latency(run)
        if len(self._headlines) >= 2 * self.cache_size + 4:
            self._headlines.pop(next(iter(self._headlines)))
        self._headlines[id(run)] = (run, text)
        return text

    # -- callbacks ----------------------------------------------------------------------------

    def _on_control(self, _change: Mapping[str, Any]) -> None:
        self.refresh()

    def _on_play(self, change: Mapping[str, Any]) -> None:
        if self._quiet:
            return
        self.time.value = self._end * int(change["new"]) / self.steps

    def _on_time(self, _change: Mapping[str, Any]) -> None:
        if not self._quiet:
            self.draw()

    # -- display ------------------------------------------------------------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **_kwargs: Any) -> dict[str, Any]:
        """The live widget, plus the charts as SVG for viewers without a kernel (GitHub,
        nbviewer) and for nbval, which compares the SVG and skips the widget view."""
        name = getattr(self.scenario, "__name__", "scenario")
        bundle: dict[str, Any] = {"text/plain": f"<labkit Dashboard: {name}>"}
        view = self.widget._repr_mimebundle_()
        if isinstance(view, dict):
            bundle.update({k: v for k, v in view.items() if k != "text/plain"})
        if self.svg:
            bundle["image/svg+xml"] = self.svg
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]


def _now(spec: Mapping[str, Any]) -> float | None:
    """The instant a spec from :func:`labkit.viz.spec` shows (``None``: all of it)."""
    for param in spec.get("params", ()):
        if param.get("name") == viz.PARAMS["time"]:
            return cast("float | None", param.get("value"))
    return None


def _at(spec: Mapping[str, Any], at: float | None) -> dict[str, Any]:
    """``spec`` (from :func:`labkit.viz.spec`) showing instant ``at``: a shallow copy with
    one parameter value changed."""
    params = [{**p, "value": at} if p.get("name") == viz.PARAMS["time"] else p
              for p in spec.get("params", ())]
    return {**spec, "params": params}


#: The top-level keys of a Vega-Lite spec that belong to the whole document, not a view.
_DOCUMENT_KEYS = ("$schema", "config", "datasets", "params")
#: Names a piece's spec gives its datasets and views: Altair's (``data-<hash>``,
#: ``view_<n>``, new at every build) and labkit's templates' (``labkit_<role>``).
_GIVEN_NAME = re.compile(r"^(data-[0-9a-f]+|view_\w+|labkit_\w+)$")


def _concat(specs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The pieces' Vega-Lite specs one under the other in one spec, or ``None`` when they
    do not fit together (a parameter of one name defined two ways). Each piece's datasets
    and views are renamed by their place (``c<i>_...``), so that the next run's spec has
    the same names and a live chart takes only its new rows (:func:`labkit.viz.
    data_updates`); a parameter defined alike in several pieces (the time, the zoom, the
    legend, the message pick) becomes one, over all their views."""
    out: dict[str, Any] = {"$schema": specs[0].get("$schema"), "datasets": {},
                           "vconcat": [], "params": []}
    config: dict[str, Any] = {}
    params: dict[str, dict[str, Any]] = {}
    for i, piece in enumerate(specs):
        names = {name: f"c{i}_{k}" for k, name in enumerate(_given_names(piece))}
        renamed = _rename(piece, names)
        for key, value in renamed.get("config", {}).items():
            config.setdefault(key, value)
        for name, rows in renamed.get("datasets", {}).items():
            out["datasets"][name] = rows
        for param in renamed.get("params", ()):
            found = params.get(param["name"])
            if found is None:
                params[param["name"]] = dict(param)
                out["params"].append(params[param["name"]])
            elif {k: v for k, v in found.items() if k != "views"} != \
                    {k: v for k, v in param.items() if k != "views"}:
                return None
            elif "views" in param:
                found["views"] = [*found.get("views", []), *param["views"]]
        out["vconcat"].append({k: v for k, v in renamed.items() if k not in _DOCUMENT_KEYS})
    if config:
        out["config"] = config
    if not out["params"]:
        del out["params"]
    return out


def _given_names(spec: Mapping[str, Any]) -> list[str]:
    """The dataset and view names in ``spec``, in the order they first appear."""
    found: dict[str, None] = dict.fromkeys(spec.get("datasets", {}))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasets":
                    continue
                if key == "name" and isinstance(value, str) and _GIVEN_NAME.match(value):
                    found.setdefault(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return list(found)


def _rename(node: Any, names: Mapping[str, str]) -> Any:
    """A copy of ``node`` with every string in ``names`` replaced (datasets' rows are
    copied as they are)."""
    if isinstance(node, dict):
        return {k: ({names.get(n, n): rows for n, rows in v.items()}
                    if k == "datasets" and isinstance(v, dict) else _rename(v, names))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, names) for v in node]
    if isinstance(node, str):
        return names.get(node, node)
    return node


_OFFLINE = False


def _live_view(spec: dict[str, Any]) -> Any | None:
    """An ``alt.JupyterChart`` showing ``spec`` in offline mode, or ``None`` without
    anywidget. It is given the spec alone, not an Altair chart, so that it does not
    report zooms and clicks to the kernel: they stay in the browser."""
    global _OFFLINE
    if importlib.util.find_spec("anywidget") is None:  # JupyterChart is an anywidget
        return None
    if not _OFFLINE:  # Vega, Vega-Lite and vega-embed from vl-convert: no CDN
        alt.JupyterChart.enable_offline()
        _OFFLINE = True
    # No action menu: its "open in the editor" links lead out of the notebook. SVG, not
    # canvas: marks stay elements a browser test (or a screen reader) can find.
    view = alt.JupyterChart(cast(Any, None), embed_options={"actions": False,
                                                            "renderer": "svg"})
    view.spec = spec
    return view


#: The browser side of scrubbing: when the Play button or the time slider moves, set the
#: live chart's time parameter (through the chart's ``_params``, which altair's widget
#: passes to Vega) in the browser itself. Nothing is sent to the kernel for a frame.
_CLOCK_JS = """
async function linked(model, name) {
  const ref = model.get(name);
  const id = typeof ref === "string" ? ref.replace(/^IPY_MODEL_/, "") : ref.model_id;
  return await model.widget_manager.get_model(id);
}
export default {
  async initialize({ model }) {
    const [play, time, chart] = await Promise.all(
      ["play", "time", "chart"].map(name => linked(model, name)));
    const param = model.get("param");
    const show = t => {
      const value = t >= time.get("max") ? null : t;
      chart.set("_params", {...(chart.get("_params") ?? {}), [param]: value});
    };
    play.on("change:value", () =>
      show(time.get("max") * play.get("value") / Math.max(1, play.get("max"))));
    time.on("change:value", () => show(time.get("value")));
  },
};
"""


def _clock(play: ipywidgets.Play, time: ipywidgets.FloatSlider, view: Any) -> Any:
    """The (invisible) widget that links ``play`` and ``time`` to the live chart's time
    parameter in the browser (see ``_CLOCK_JS``)."""
    import anywidget
    import traitlets

    class Clock(anywidget.AnyWidget):
        _esm = _CLOCK_JS
        play = traitlets.Instance(ipywidgets.Play).tag(sync=True,
                                                       **ipywidgets.widget_serialization)
        time = traitlets.Instance(ipywidgets.FloatSlider).tag(
            sync=True, **ipywidgets.widget_serialization)
        chart = traitlets.Instance(ipywidgets.DOMWidget).tag(sync=True,
                                                             **ipywidgets.widget_serialization)
        param = traitlets.Unicode(viz.PARAMS["time"]).tag(sync=True)

    return Clock(play=play, time=time, chart=view)


def _settings_ahead(look_ahead: int, seconds: float) -> int:
    """How many settings to work out ahead, each ``seconds`` of runs: ``look_ahead``, or
    fewer to stay within :data:`AHEAD_SECONDS`."""
    if seconds <= 0:
        return look_ahead
    return min(look_ahead, int(AHEAD_SECONDS / seconds))


def _options(widget: ipywidgets.ValueWidget) -> Sequence[Any] | None:
    """The values a control can take, in order (an int slider's as a ``range``, however
    long), or ``None`` when they are not known or too many to list (a float slider's)."""
    if isinstance(widget, ipywidgets.Checkbox | ipywidgets.ToggleButton):
        return (False, True)
    if isinstance(widget, ipywidgets.IntSlider):
        return range(widget.min, widget.max + 1, widget.step or 1)
    values = getattr(widget, "_options_values", None)  # a selection widget's values
    return values if isinstance(values, tuple) else None


def _nearby(controls: Mapping[str, ipywidgets.ValueWidget]) -> Iterator[dict[str, Any]]:
    """The settings of the controls near their values now, nearest first: each control in
    turn moved one step up, one down, then two, and so on (the others as they are)."""
    now = {name: w.value for name, w in controls.items()}
    ranges = {}
    for name, widget in controls.items():
        options = _options(widget)
        if options is not None and now[name] in options:
            ranges[name] = (options, options.index(now[name]))
    for distance in range(1, max((len(o) for o, _ in ranges.values()), default=0)):
        for name, (options, at) in ranges.items():
            for index in (at + distance, at - distance):
                if 0 <= index < len(options):
                    yield {**now, name: options[index]}


def _stacked(found: list[viz.Parts | None]) -> viz.Parts | None:
    """The charts' parts one above the other, or ``None`` when one has none."""
    if any(parts is None for parts in found):
        return None
    whole = cast("list[viz.Parts]", found)
    return whole[0] if len(whole) == 1 else viz.stack_parts(whole)


def _chart_entry(chart: ChartSpec) -> viz.ChartEntry | None:
    """A dashboard's chart as :func:`labkit.viz.prepare` takes it (a name, or a name and
    its options), or ``None`` for a notebook's own chart."""
    found, options = chart if isinstance(chart, tuple) else (chart, None)
    name = found if isinstance(found, str) else _CHART_NAMES.get(found)
    if name is None:
        return None
    return name if options is None else (name, dict(options))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


#: Words in a result field's name that make a float a duration in virtual seconds.
_SECONDS = ("latency", "elapsed", "blocked", "idle", "wait", "time", "busy")


def _field_text(name: str, value: object) -> str:
    """One result field in words with its unit: ``producer wait 1.2 s``, ``memory held
    11 KiB`` (result dataclasses keep times in virtual seconds)."""
    words = name.replace("_", " ")
    if name.endswith("_bytes") and isinstance(value, int):
        return f"{words.removesuffix(' bytes')} {value / 1024:.4g} KiB"
    if isinstance(value, float):
        unit = " s" if any(w in name for w in _SECONDS) else ""
        return f"{words} {value:.4g}{unit}"
    return f"{words} {value}"


def _headline(result: Any) -> str:
    """The scalar fields of a scenario's result dataclass, in words with their units."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        parts = []
        for field in dataclasses.fields(result):
            value = getattr(result, field.name)
            if isinstance(value, bool | int | float | str):
                parts.append(_field_text(field.name, value))
        return " · ".join(parts)
    text = repr(result)
    return text if len(text) <= 200 else text[:197] + "..."


def _charted_latency(run: Run[Any]) -> str:
    """The latency the latency chart draws (send to receive, per message), in the chart's
    words, so that the status line and the chart agree on what "latency" is."""
    pct = viz.charted_latency(run)
    if any(math.isnan(v) for v in pct.values()):
        return "charted latency (send to receive): no message received"
    return (f"charted latency (send to receive): p50 {pct['p50'] * 1000:.4g} ms · "
            f"p99 {pct['p99'] * 1000:.4g} ms")
