"""Altair charts over a :class:`~labkit.trace.Trace`: what happened to every message, drawn.

Every builder takes a ``Trace``, a ``Run`` (its ``.trace`` is used) or a trace DataFrame and
returns an Altair chart with a title, axis titles with units and tooltips::

    run = labkit.simulate(main)
    viz.timeline(run)            # per-actor lanes: when each message waited, was handled
    viz.depth_chart(run)         # queue depth over time (step line), per channel/mailbox
    viz.latency_chart(run)       # latency histogram with p50/p90/p99 rules
    viz.throughput_chart(run)    # messages received per second over time
    viz.sequence_diagram(run)    # actors as lanes, time downwards, messages as arrows
    viz.compare({"Go": go_run, "Rust": rust_run}, chart="depth")   # shared axes
    viz.lifecycle_chart(run)     # an actor tree: running, backoff, failures, restarts
    viz.breaker_chart(run)       # a circuit breaker's state over time
    viz.recovery_chart(df)       # recovery time against snapshot interval (journal)
    viz.delivery_chart(df)       # duplicates and losses per delivery guarantee

Colours: one fixed palette, :data:`PALETTE`, maps the trace's ``model`` column (``go``,
``rust``, ``actor``; anything else is ``other``) to the same colour in every chart of every
notebook, so a learner reads "cyan is Go, rust-red is Rust" once.

Size: every chart caps its data (``limit`` messages, ``max_points`` points, pre-binned
histograms), so a 10 000-message trace still gives a spec of a few hundred rows.

Exploring (in a browser, with a kernel or in a ``--chart html`` page): every mark has a
tooltip; the time axis zooms (wheel) and pans (drag), and side-by-side panels zoom together;
clicking a message highlights every row of its path (same correlation id, or same message
id when it has none) in every panel, double-click clears; clicking a model in the legend
hides it, clicking again shows it. These are Vega-Lite parameters with fixed names
(:data:`PARAMS`); their initial state draws exactly the static picture. A spec drawn from
a template (:func:`spec`, what dashboards use) has one more: virtual time, so that the
browser itself can show the run up to any instant.

Redrawing fast: every builder of :data:`CHARTS` and :func:`compare` comes apart into its
data and the few values that fix its shape (:func:`parts`, :func:`compare_parts`,
:class:`Parts`); :func:`spec` builds each shape's spec once through Altair and then only
fills copies of it with new rows (text and lanes that change with the run, such as a load
chart's subtitle or a timeline's actors, are parameters of the spec), and
:func:`data_updates` tells a live chart only the rows and values that changed. The rows
are worked out on numpy columns of the run's events and plain lists, without pandas. What
a chart derives from one run (its columns, messages, latencies, percentiles, a depth
chart's lines) is kept with the run's trace (``Trace.derived``), so
that several charts of one run make it once; :func:`prepare` makes it in advance, where
the run was made (a worker process, :func:`prepared`), and the compact part of it comes
back with the pickled run, leaving :func:`compare_parts` only what depends on all the runs.

Determinism: the specs hold no random names. Data is embedded as DataFrames, which Altair
names by a hash of their content; parameters have fixed names and the views that share them
are named by Altair from a hash of their content, so the same trace gives the same
``chart.to_dict()``.

Offline rendering (the choice, and why): :func:`enable_offline` registers a renderer,
``labkit-svg``, that turns each chart into an SVG with vl-convert (Vega bundled in a Rust
library; no CDN, no browser, no network: remote URLs are refused). The SVG is

- shown by JupyterLab with no internet access,
- shown where a notebook is viewed without a kernel (GitHub, nbviewer), and
- free of random ids (unlike the ``html`` renderer's ``altair-viz-<id>``), so nbval can
  compare it.

The price is interactivity (no tooltips or zoom in the SVG; :func:`to_html` keeps it).
``enable_offline("png")`` emits a PNG instead (nbval skips PNGs). ``enable_offline("widget")`` uses
``alt.JupyterChart.enable_offline()``, which is live and offline but only shows with a kernel
and stores about 0.9 MB of JavaScript per chart in the notebook's widget state (strip it
with ``nbstripout --keep-output --keep-count``). Altair's ``mimetype`` renderer is not used:
it emits Vega-Lite v6, which JupyterLab 4 does not render. :func:`to_svg` and :func:`to_png`
give the static images directly.
"""

from __future__ import annotations

import base64
import html
import inspect
import json
import math
import re
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias, cast

import altair as alt
import numpy as np
import pandas as pd
from altair.utils.schemapi import SchemaBase

from labkit._check import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_sequence,
    check_str,
    describe,
)
from labkit.trace import (
    RECEIVE_KINDS,
    SEND_KINDS,
    Columns,
    Trace,
)

if TYPE_CHECKING:
    from labkit import Run

__all__ = (
    "CHARTS",
    "ChartEntry",
    "FONT",
    "MAX_PIXELS",
    "MAX_POINTS",
    "NEUTRAL",
    "PALETTE",
    "PARAMS",
    "Parts",
    "Source",
    "breaker_chart",
    "build",
    "charted_latency",
    "compare",
    "compare_parts",
    "data_updates",
    "delivery_chart",
    "depth_chart",
    "enable_offline",
    "latency_chart",
    "lifecycle_chart",
    "load_chart",
    "model_color",
    "parts",
    "prepare",
    "prepared",
    "recovery_chart",
    "sequence_diagram",
    "share_palette",
    "share_params",
    "spec",
    "stack_parts",
    "sweep_chart",
    "throughput_chart",
    "timeline",
    "to_html",
    "to_png",
    "to_svg",
    "with_time",
)

#: What every builder draws: a trace, a run (its ``.trace``) or a trace DataFrame.
Source: TypeAlias = "Trace | Run[Any] | pd.DataFrame"

#: Model -> colour, the same in every chart: Go's gopher cyan, Rust's rust red, a violet for
#: the actor layer, grey for anything else.
PALETTE: Mapping[str, str] = MappingProxyType({
    "go": "#00ADD8",
    "rust": "#CE422B",
    "actor": "#7B5EA7",
    "other": "#8C8C8C",
})
#: Colour for scaffolding that belongs to no model (lifelines, percentile rules, drops).
NEUTRAL = "#4D4D4D"
#: Font stack of every chart. vl-convert measures text with the first entry, labkit's own
#: "Labkit Sans" (Liberation Sans 2.1.5 renamed, in ``labkit/fonts``; see
#: ``tools/make_chart_font.py``), so the layout does not depend on the fonts a machine has;
#: browsers draw the SVG with the next, metric-compatible, entries.
FONT = "Labkit Sans, Liberation Sans, Arial, Helvetica, sans-serif"
#: Default cap on the points a chart embeds (per series).
MAX_POINTS = 400
#: The largest width or height a chart takes, in pixels: more would be slow to render and
#: larger than any screen.
MAX_PIXELS = 10_000

_PHASES = ("blocked", "waiting", "handling")
#: In the actor layer, these rows are recorded by the mailbox owner (``actor``), with the
#: sender as ``peer``; on channels ``peer`` is always the channel.
_OWNER_SIDE_KINDS = ("receive", "handle_end", "dead_letter", "reply", "fail", "restart")
_LOST_KINDS = ("drop", "dead_letter")


# -- options ---------------------------------------------------------------------------------
# Every option goes through labkit._check: a wrong type is a TypeError, a value out of range
# a ValueError, and the message names the option.

def _pixels(name: str, value: object) -> int:
    """A width or height in pixels, 1 to :data:`MAX_PIXELS`."""
    return check_int(name, value, minimum=1, maximum=MAX_PIXELS)


def _how_many(name: str, value: object) -> int:
    """A cap such as ``limit``, ``bins`` or ``max_points``: an int >= 1."""
    return check_int(name, value, minimum=1)


def _optional_str(name: str, value: object) -> str | None:
    """``None`` or a string (a title, a queue's name)."""
    return None if value is None else check_str(name, value, allow_empty=True)


def _names(name: str, value: object) -> list[str]:
    """A list of names (actors, models)."""
    return check_sequence(name, value, check_str, allow_empty=True)


# -- palette ---------------------------------------------------------------------------------

def model_color(field: str = "model", *, title: str = "model",
                models: Sequence[str] | None = None) -> alt.Color:
    """The colour channel every labkit chart uses: ``field`` mapped through :data:`PALETTE`.

    ``models`` limits the legend to the models a chart shows (still in palette order and
    colours); by default it lists them all."""
    field = check_str("field", field)
    title = check_str("title", title, allow_empty=True)
    if models is not None:
        models = _names("models", models)
    domain = list(PALETTE) if models is None else [m for m in PALETTE if m in set(models)]
    return alt.Color(f"{field}:N", title=title, scale=_palette_scale(domain))


def _palette_scale(domain: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(domain), range=[PALETTE[m] for m in domain])


def _present(data: pd.DataFrame) -> list[str]:
    """The models a chart's data shows (its legend lists only those)."""
    if "model" not in data.columns:
        return []
    return [str(m) for m in data["model"].dropna().unique()]


def _palette_colors(node: Any) -> Iterator[alt.Color]:
    """Every palette colour channel in a chart (layers and concatenations included)."""
    if isinstance(node, alt.Color):
        scale = node._kwds.get("scale")
        if isinstance(scale, alt.Scale) and isinstance(scale._kwds.get("domain"), list) \
                and all(m in PALETTE for m in scale._kwds["domain"]):
            yield node
        return
    if isinstance(node, SchemaBase):
        node = node._kwds
    if isinstance(node, dict):
        for value in node.values():
            yield from _palette_colors(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _palette_colors(value)


def share_palette(panels: Sequence[Any]) -> None:
    """Before putting charts side by side with a shared colour scale, give every palette
    colour channel in ``panels`` the union of their models. (Vega-Lite unions the domains of
    a shared scale but not the ranges: the second panel's model would take the first's
    colour.) :func:`compare` does this for you."""
    colors = [c for panel in panels for c in _palette_colors(panel)]
    shown = {m for c in colors for m in c._kwds["scale"]._kwds["domain"]}
    for color in colors:
        color["scale"] = _palette_scale([m for m in PALETTE if m in shown])


# -- exploring: zoom, legend, message paths ----------------------------------------------------

#: The chart parameters every labkit chart may carry, by role. Fixed names keep specs
#: deterministic and let side-by-side panels share one parameter (one zoom, one pick).
PARAMS: Mapping[str, str] = MappingProxyType({
    "zoom": "time_zoom",          # wheel zooms, drag pans the time (x) axis
    "zoom_y": "time_zoom_y",      # the same for a sequence diagram, whose time runs down
    "hide": "hidden_models",      # legend clicks: the models hidden
    "path": "message_path",       # a clicked message: its path (correlation or message id)
    "time": "virtual_time",       # scrubbing: the instant shown, seconds (null: all of it)
})
# Side-by-side panels share these parameters on purpose (one zoom, one legend, one pick):
# Altair merges parameters of the same name and configuration into one, and warns each time.
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Automatically deduplicated selection parameter")

#: How visible a model hidden from the legend stays (a trace of it, so that it is missed).
_HIDDEN_OPACITY = 0.06


def _zoom(axis: Literal["x", "y"] = "x") -> Any:
    """The time axis's zoom and pan (an interval selection bound to the scales)."""
    name = PARAMS["zoom"] if axis == "x" else PARAMS["zoom_y"]
    return alt.selection_interval(name=name, bind="scales", encodings=[axis])


def _hide_models() -> Any:
    """Legend clicks toggle a model in and out of this set; its marks fade out."""
    return alt.selection_point(name=PARAMS["hide"], fields=["model"], bind="legend",
                               toggle="true", empty=False)


def _pick_path() -> Any:
    """A click on a message picks its path (``path``: correlation id, else message id);
    a double click clears it."""
    return alt.selection_point(name=PARAMS["path"], fields=["path"], on="click",
                               clear="dblclick", empty=False)


def _visible(shown: Any = 1.0) -> Any:
    """Opacity: ``shown`` (a value or an opacity encoding) unless the model is hidden."""
    hidden = {"param": PARAMS["hide"], "empty": False, "value": _HIDDEN_OPACITY}
    if isinstance(shown, int | float):
        return alt.Opacity(condition=hidden, value=float(shown))
    base = shown.to_dict() if hasattr(shown, "to_dict") else dict(shown)
    return alt.Opacity(condition=hidden, **base)


# -- data preparation ------------------------------------------------------------------------

def _frame(source: Source) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, Trace):
        return source.df
    trace = getattr(source, "trace", None)
    if isinstance(trace, Trace):
        return trace.df
    raise TypeError(
        f"expected a labkit Trace, a Run or a trace DataFrame, got {type(source).__name__}; "
        "pass run.trace or run.trace.df")


class _Data:
    """What the charts derive from one source, each made on first use and kept.

    A trace's (or run's) derived data is kept in the trace itself (:attr:`Trace.derived`),
    so a dashboard's several charts, and a comparison that reads latencies twice, make it
    once; and what :func:`prepare` made in a worker process comes back with the run. Large
    frames (the events, their columns, the messages) are kept under ``_`` keys, which stay in
    the process that made them; the compact results the charts take from them (latencies,
    percentiles, a depth chart's lines) travel. A cut trace is another trace, with its own.
    A DataFrame keeps nothing: its data lives as long as this object. Callers never change
    what they get (every builder makes new frames from it)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        trace = source if isinstance(source, Trace) else getattr(source, "trace", None)
        if isinstance(trace, Trace):
            self.kept = trace.derived
        else:
            _frame(source)  # a TypeError now for anything else
            self.kept = {}

    def get(self, what: str, make: Callable[[], Any]) -> Any:
        """``make()``, once per source and ``what`` (keys starting ``_`` stay local)."""
        found = self.kept.get(what)
        if found is None:
            found = self.kept[what] = make()
        return found

    def events(self) -> pd.DataFrame:
        """The events frame (:func:`_make_events`)."""
        return cast(pd.DataFrame, self.get("_events", lambda: _make_events(self.source)))

    def table(self) -> Columns:
        """The events' columns as numpy arrays (:class:`labkit.trace.Columns`), with the
        events frame's ``queue`` and folded ``model``: what the charts filter, group and
        match rows on. A run's are made from its recorded events, with no DataFrame."""
        return cast(Columns, self.get("_table", self._make_table))

    def _make_table(self) -> Columns:
        trace = self.source if isinstance(self.source, Trace) else \
            getattr(self.source, "trace", None)
        if not isinstance(trace, Trace) or trace._events is None:  # rows of any order
            return Columns.of_frame(self.events())
        return Columns(len(trace), lambda name: _event_column(trace, name))

    def message_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Each message that was sent and received, as rows of :meth:`table`: its first
        send and first receive, in order of sending (:func:`_message_rows`)."""
        return cast("tuple[np.ndarray, np.ndarray]",
                    self.get("_message_rows", lambda: _message_rows(self.table())))

    def actors(self) -> dict[str, int]:
        """Each actor's name and the row it first appears in, in that order."""
        def make() -> dict[str, int]:
            first: dict[str, int] = {}
            for i, name in enumerate(self.table().objects("actor").tolist()):
                if name not in first and isinstance(name, str):  # not None or NaN
                    first[name] = i
            return first
        return cast("dict[str, int]", self.get("_actors", make))

    def span(self) -> tuple[float, float]:
        """The first and last event's times (0, 0 for none)."""
        def make() -> tuple[float, float]:
            times = self.table().floats("time")  # NaN-skipping, as pandas' min and max
            if not len(times):
                return 0.0, 0.0
            return float(np.fmin.reduce(times)), float(np.fmax.reduce(times))
        return cast("tuple[float, float]", self.get("span", make))

    def latencies(self) -> _Latencies:
        """Every message's latency and what the latency chart marks (:class:`_Latencies`)."""
        return cast(_Latencies, self.get("latencies", lambda: _make_latencies(self)))


def _make_events(source: Source) -> pd.DataFrame:
    df = _frame(source)
    # a new frame (pandas copies a column on write); sorted by seq if it is not yet
    out = df.copy(deep=False) if df["seq"].is_monotonic_increasing else \
        df.sort_values("seq", kind="stable")
    owner_side = (out["model"] == "actor") & out["kind"].isin(_OWNER_SIDE_KINDS)
    out["queue"] = out["peer"].where(~owner_side, out["actor"])
    out["model"] = out["model"].where(out["model"].isin(list(PALETTE)), "other")
    return out


def _event_column(trace: Trace, name: str) -> Any:
    """One column of a run's events as :func:`_make_events` has it: ``queue`` (the channel
    or mailbox a row is about) and ``model`` (outside the palette: ``other``) made from the
    trace's own columns (:meth:`Columns.of`, which the trace keeps), the others as the
    trace records them."""
    raw = Columns.of(trace)
    if name == "queue":
        owner = raw.equals("model", "actor") & raw.isin("kind", _OWNER_SIDE_KINDS)
        return np.where(owner, raw.objects("actor"), raw.objects("peer"))
    if name == "model":
        model, models = raw.codes("model")
        folded = [m if m in PALETTE else "other" for m in models.tolist()]
        return np.array([*folded, "other"], dtype=object)[model]  # code -1: no model
    return trace._column(name)


class _Table:
    """A chart's rows as columns of JSON values (Python numbers and strings, ``None`` where
    empty): what :func:`spec` embeds with no DataFrame in between. :meth:`frame` is the
    DataFrame :attr:`Parts.frames` shows (``dtypes``: the columns pandas would not infer,
    such as ``Int64`` ids)."""

    __slots__ = ("columns", "dtypes")

    def __init__(self, columns: dict[str, list[Any]],
                 dtypes: Mapping[str, str] | None = None) -> None:
        self.columns = columns
        self.dtypes = dict(dtypes or {})  # a plain dict: a kept table pickles with its run

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def frame(self) -> pd.DataFrame:
        """The rows as a new DataFrame."""
        data = {name: values if name not in self.dtypes or self.dtypes[name] == "object"
                else pd.array(values, dtype=cast(Any, self.dtypes[name]))
                for name, values in self.columns.items()}
        frame = pd.DataFrame(data, columns=list(self.columns), index=pd.RangeIndex(len(self)))
        for name, dtype in self.dtypes.items():
            if dtype == "object":  # pandas would infer str from strings
                frame[name] = frame[name].astype(object)
        return frame

    def records(self) -> list[dict[str, Any]]:
        """The rows as Altair embeds them (what :func:`_records` gives of :meth:`frame`)."""
        names = list(self.columns)
        return [dict(zip(names, row, strict=True))
                for row in zip(*self.columns.values(), strict=True)]

    def take(self, rows: Sequence[int]) -> _Table:
        """The rows at positions ``rows``, in that order."""
        return _Table({name: [values[i] for i in rows]
                       for name, values in self.columns.items()}, self.dtypes)


class _Frames(Mapping[str, pd.DataFrame]):
    """A chart's data by role (:attr:`Parts.frames`): DataFrames, made from a
    :class:`_Table` on first asking; :meth:`records` gives a table's rows without one."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, pd.DataFrame | _Table]) -> None:
        self._items = dict(items)

    def __getitem__(self, role: str) -> pd.DataFrame:
        found = self._items[role]
        if isinstance(found, _Table):
            found = self._items[role] = found.frame()
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def records(self, role: str) -> list[dict[str, Any]]:
        """The rows of ``role`` as :func:`spec` embeds them."""
        found = self._items[role]
        return found.records() if isinstance(found, _Table) else _records(found)


def _frame_records(frames: Mapping[str, pd.DataFrame], role: str) -> list[dict[str, Any]]:
    return frames.records(role) if isinstance(frames, _Frames) else _records(frames[role])


def _end_time(df: pd.DataFrame) -> float:
    return float(df["time"].max()) if len(df) else 0.0


def _r(x: float) -> float:
    """Round a clock value so float noise (0.30000000000000004) stays out of specs."""
    return round(float(x), 9)


def _rounded(values: np.ndarray) -> list[float | None]:
    """Numbers as a chart embeds them: rounded (:func:`_r`), ``None`` where NaN."""
    return [None if math.isnan(v) else _r(v) for v in values.tolist()]


def _ids(values: np.ndarray) -> list[int | None]:
    """Message or correlation ids (floats, NaN for none) as a chart embeds them."""
    return [None if math.isnan(i) else int(i) for i in values.tolist()]


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        or value is pd.NA else str(value)


def _message_rows(table: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Each message that was sent and received: the rows of its first send and its first
    receive, in order of sending."""
    # The trace metrics' join (Columns.first_times) over row positions instead of times.
    at = np.arange(table.n, dtype="float64")
    sent_keys, sent_at = table.first_times(SEND_KINDS, at)
    got_keys, got_at = table.first_times(RECEIVE_KINDS, at)
    _both, i, j = np.intersect1d(sent_keys, got_keys, assume_unique=True,
                                 return_indices=True)
    order = np.argsort(sent_at[i], kind="stable")  # in order of sending
    return sent_at[i][order].astype(np.intp), got_at[j][order].astype(np.intp)


def _nice(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``x``."""
    if x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        step = m * 10.0 ** exp
        if step >= x * (1 - 1e-12):
            return float(f"{step:.12g}")
    return float(f"{10.0 ** (exp + 1):.12g}")


def _ms_text(ms: float) -> str:
    """A latency in ms for a label: three significant digits, never an exponent
    (1140 rather than 1.14e+03)."""
    if ms >= 100:
        return f"{ms:,.0f}"
    return f"{ms:.3g}" if ms >= 0.001 else f"{ms:.6f}".rstrip("0").rstrip(".")


def _seconds_label(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:g} ms" if ms < 1000 else f"{seconds:g} s"


# -- charts taken apart: data, text and shape ------------------------------------------------
# Every builder of CHARTS is two steps: ``_<chart>_parts`` computes the data (DataFrames), the
# text that depends on it (titles, lanes) and the few values that fix the chart's shape (the
# models shown, options), and ``_<chart>_build`` makes the Altair chart from those. The public
# builders do both. A dashboard redraws many runs of one shape: :func:`spec` builds the
# Vega-Lite spec of a shape once with Altair (a template) and, for each new run, only puts the
# new rows and text into a copy of it (see "Redrawing fast" below).

class Parts(NamedTuple):
    """A chart taken apart for redrawing: ``name`` (a key of :data:`CHARTS`, ``"compare"``
    or ``"stack"``), ``shape`` (hashable values that fix the spec's structure: models shown,
    options), ``frames`` (role -> its data), ``fills`` (name -> text, a number or a list of
    names that depends on the data: titles, lanes, a width), ``children`` (the panels of a
    comparison, the charts of a stack). Made by :func:`parts`, :func:`compare_parts`,
    :func:`stack_parts`."""

    name: str
    shape: tuple[tuple[str, Hashable], ...]
    frames: Mapping[str, pd.DataFrame]
    fills: Mapping[str, Any]  # JSON values put in the template as they are
    children: tuple[Parts, ...] = ()

    def get(self, key: str) -> Any:
        """A shape value by name."""
        return dict(self.shape)[key]


def _shape(**values: Hashable) -> tuple[tuple[str, Hashable], ...]:
    return tuple(values.items())


# -- timeline --------------------------------------------------------------------------------

def timeline(source: Source, *, limit: int = 150, title: str | None = None,
             width: int = 600) -> alt.Chart:
    """Per-actor lanes: for each of the first ``limit`` messages (in order of receipt), when
    it **waited** in its queue (send -> receive, on the receiver's lane), when it was
    **handled** (receive -> ``handle_end``, or the receiver's next event), and when a sender
    was **blocked** on a full queue (block -> unblock, on the sender's lane)."""
    return cast(alt.Chart, build(_timeline_parts(source, limit=limit, title=title,
                                                 width=width)))


def _timeline_parts(source: Source, *, limit: int = 150, title: str | None = None,
                    width: int = 600) -> Parts:
    limit = _how_many("limit", limit)
    title = _optional_str("title", title)
    width = _pixels("width", width)
    data = _Data(source)
    table = data.table()
    end = data.span()[1]
    sent, got = data.message_rows()
    first = np.argsort(table.seq()[got], kind="stable")[:limit]  # in order of receipt
    sent, got = sent[first], got[first]
    ranks, ids = table.messages()
    shown = np.zeros(len(ids) + 1, dtype=bool)  # the messages shown, by rank (-1: the last)
    shown[ranks[sent]] = True
    blocks, unblocked = _timeline_blocks(table, shown, end)
    times = table.floats("time")
    # rows whose fields a bar shows, its lane's row, and its span
    fields = np.concatenate((blocks, np.repeat(sent, 2)))
    lanes = np.concatenate((blocks, np.repeat(got, 2)))
    starts = np.concatenate((times[blocks], np.stack((times[sent], times[got]), 1).ravel()))
    stops = np.concatenate((unblocked, np.stack((
        times[got], _timeline_handled(data, sent, got, shown, end)), 1).ravel()))
    msg_id = [int(m) for m in table.floats("msg_id")[fields].tolist()]
    corr_id = _ids(table.floats("corr_id")[fields])
    models = [str(m) for m in table.objects("model")[fields].tolist()]
    lane = [str(a) for a in table.objects("actor")[lanes].tolist()]
    bars = _Table({
        "lane": lane, "phase": ["blocked"] * len(blocks) + ["waiting", "handling"] * len(sent),
        "start": _rounded(starts), "end": _rounded(stops),
        "duration_ms": _rounded((stops - starts) * 1000), "msg_id": msg_id,
        "corr_id": corr_id,
        "msg_type": [_text(t) for t in table.objects("msg_type")[fields].tolist()],
        "queue": [_text(q) for q in table.objects("queue")[fields].tolist()], "model": models,
        "path": _paths(corr_id, msg_id)},
        _TIMELINE_DTYPES if len(fields) else _TIMELINE_EMPTY)
    return Parts("timeline", _shape(models=tuple(dict.fromkeys(models)), width=width),
                 _Frames({"bars": bars}),
                 {"title": title or f"When each message waited and was handled "
                                    f"(first {limit} messages)",
                  "lanes": _lanes(data, lane)})


#: The timeline's columns pandas would not infer (floats that may be all empty, ids), and
#: those of no bars (as a frame of no rows has them).
_TIMELINE_DTYPES = MappingProxyType({"start": "float64", "end": "float64",
                                     "duration_ms": "float64", "corr_id": "Int64"})
_TIMELINE_EMPTY = MappingProxyType({
    **{name: "object" for name in ("lane", "phase", "start", "end", "duration_ms", "msg_id",
                                   "msg_type", "queue", "model")},
    "corr_id": "Int64", "path": "float64"})


def _timeline_handled(data: _Data, sent: np.ndarray, got: np.ndarray, shown: np.ndarray,
                      end: float) -> np.ndarray:
    """When each message (its send and receive rows; ``shown``: their ranks) was handled:
    its first ``handle_end`` (actors), else the receiver's next event (a goroutine or task
    that received a value is busy with it until it does something else), else ``end``."""
    table = data.table()
    ranks = table.messages()[0]
    seq = table.seq()
    # the next event after the last row with the receive's seq (rows are in seq order)
    after = _timeline_next_times(data)[np.searchsorted(seq, seq[got], side="right") - 1]
    ends = np.flatnonzero(table.equals("kind", "handle_end"))
    ends = ends[shown[ranks[ends]]]
    ended: dict[int, float] = {}
    for rank, time in zip(ranks[ends].tolist(), table.floats("time")[ends].tolist(),
                          strict=True):
        ended.setdefault(rank, time)
    done = np.array([ended.get(rank, time) for rank, time in
                     zip(ranks[sent].tolist(), after.tolist(), strict=True)], dtype="float64")
    done[np.isnan(done)] = end
    return done


def _timeline_next_times(data: _Data) -> np.ndarray:
    """For each row, the time of its actor's next row (NaN for the last, or no actor)."""
    def make() -> np.ndarray:
        table = data.table()
        codes = table.codes("actor")[0]
        order = np.argsort(codes, kind="stable")  # each actor's rows, in order
        later = np.full(table.n, np.nan)
        here, then = order[:-1], order[1:]
        same = (codes[here] == codes[then]) & (codes[here] >= 0)
        later[here[same]] = table.floats("time")[then[same]]
        return later
    return cast(np.ndarray, data.get("_timeline_next_times", make))


def _timeline_blocks(table: Columns, shown: np.ndarray,
                     end: float) -> tuple[np.ndarray, np.ndarray]:
    """The first ``block`` row of each (sender, message) among the messages ``shown`` (by
    rank), and when each ended: that sender's first ``unblock`` of it, else ``end``."""
    ranks = table.messages()[0]
    actors = table.codes("actor")[0]

    def first(kind: str) -> dict[tuple[int, int], int]:
        rows = np.flatnonzero(table.equals("kind", kind))
        rows = rows[shown[ranks[rows]]]
        found: dict[tuple[int, int], int] = {}
        for row, key in zip(rows.tolist(), zip(actors[rows].tolist(), ranks[rows].tolist(),
                                               strict=True), strict=True):
            found.setdefault(key, row)
        return found

    blocks = first("block")
    unblocks = first("unblock")
    rows = np.array(list(blocks.values()), dtype=np.intp)
    ends = np.array([unblocks.get(key, -1) for key in blocks], dtype=np.intp)
    stops = np.where(ends >= 0, table.floats("time")[ends], np.nan)
    stops[np.isnan(stops)] = end
    return rows, stops


def _timeline_build(parts: Parts) -> alt.Chart:
    data, lanes = parts.frames["bars"], parts.fills["lanes"]
    pick = _pick_path()
    bars = alt.Chart(data).mark_bar(height={"band": 0.28}, stroke="white", strokeWidth=0.5)
    chart: alt.Chart = bars.encode(
        x=alt.X("start:Q", title="time (s)"),
        x2="end:Q",
        # lanes as the scale's domain, not a sort: a template makes the domain a parameter
        # (_lift_fills), so that other lanes are a new value, not a new spec
        y=alt.Y("lane:N", title="actor", scale=alt.Scale(domain=lanes)),
        yOffset=alt.YOffset("phase:N", sort=list(_PHASES),
                            scale=alt.Scale(domain=list(_PHASES))),
        color=model_color(models=parts.get("models")),
        opacity=_visible(alt.Opacity(
            "phase:N", title="phase",
            # monotonic, so Vega-Lite uses it as given: the work solid, a blocked
            # sender strong, a waiting message faint
            scale=alt.Scale(domain=["handling", "blocked", "waiting"],
                            range=[1.0, 0.7, 0.3]))),
        # the clicked message's path, outlined in every lane and panel
        stroke=alt.condition(pick, alt.value(NEUTRAL), alt.value("white")),
        strokeWidth=alt.condition(pick, alt.value(2.5), alt.value(0.5)),
        tooltip=[
            alt.Tooltip("lane:N", title="actor"),
            alt.Tooltip("phase:N", title="phase"),
            alt.Tooltip("msg_id:Q", title="message id"),
            alt.Tooltip("corr_id:Q", title="correlation id"),
            alt.Tooltip("msg_type:N", title="type"),
            alt.Tooltip("queue:N", title="queue"),
            alt.Tooltip("model:N", title="model"),
            alt.Tooltip("start:Q", title="from (s)", format=".6~f"),
            alt.Tooltip("end:Q", title="to (s)", format=".6~f"),
            alt.Tooltip("duration_ms:Q", title="duration (ms)", format=".3~f"),
        ],
    ).add_params(_zoom(), _hide_models(), pick).properties(
        title=parts.fills["title"], width=parts.get("width"))
    return chart


# -- depth -----------------------------------------------------------------------------------

def depth_chart(source: Source, peer: str | None = None, *, max_points: int = MAX_POINTS,
                max_queues: int = 8, title: str | None = None, width: int = 600,
                height: int = 220) -> alt.Chart:
    """Queue depth (messages waiting) over time as a step line, one line per channel or
    mailbox (``peer``: only that one). A queue with more than ``max_points`` changes is
    shown as its peak depth per time bin; at most ``max_queues`` queues (the busiest)."""
    return cast(alt.Chart, build(_depth_parts(
        source, peer, max_points=max_points, max_queues=max_queues, title=title, width=width,
        height=height)))


def _depth_parts(source: Source, peer: str | None = None, *, max_points: int = MAX_POINTS,
                 max_queues: int = 8, title: str | None = None, width: int = 600,
                 height: int = 220) -> Parts:
    peer = _optional_str("peer", peer)
    max_points = _how_many("max_points", max_points)
    max_queues = _how_many("max_queues", max_queues)
    title = _optional_str("title", title)
    width, height = _pixels("width", width), _pixels("height", height)
    lines = _depth_lines(_Data(source), peer, max_points, max_queues)
    label = title or ("Queue depth over time" + (f": {peer}" if peer else ""))
    # the same words for every run of this size: a new run changes only the data, which a
    # live chart takes without being rebuilt (data_updates)
    subtitle = f"peak of each of {max_points} equal time bins" if lines.binned else ""
    return Parts("depth", _shape(models=lines.models, queues=lines.queues > 1,
                                 subtitled=bool(subtitle), width=width, height=height),
                 _Frames({"lines": lines.data}),  # read only: the kept table stays as it is
                 {"title": label, "subtitle": subtitle})


class _DepthLines(NamedTuple):
    """A depth chart's data for one run and one choice of queues and points: the same
    in every panel it is drawn in, so it is kept with the trace (:class:`_Data`)."""

    data: _Table                # the "lines" rows
    models: tuple[str, ...]     # the models it shows
    queues: int                 # how many queues it draws
    binned: bool                # whether a queue is drawn as its peak per time bin


def _depth_lines(data: _Data, peer: str | None, max_points: int,
                 max_queues: int) -> _DepthLines:
    return cast(_DepthLines, data.get(f"depth {peer!r} {max_points} {max_queues}",
                                      lambda: _make_depth_lines(data, peer, max_points,
                                                                max_queues)))


def _make_depth_lines(source: _Data, peer: str | None, max_points: int,
                      max_queues: int) -> _DepthLines:
    table = source.table()
    queue, names = table.codes("queue")
    depth = table.floats("depth")
    # A queue is something messages were sent into; other rows with a depth (a WaitGroup's
    # close, a watermark's pause) are not queues to draw.
    is_queue = np.zeros(len(names) + 1, dtype=bool)  # the last one stands for "no queue"
    is_queue[queue[table.isin("kind", SEND_KINDS) & (queue >= 0)]] = True
    rows = ~np.isnan(depth) & is_queue[queue]
    if peer is not None:
        named = np.flatnonzero(names == peer)
        rows &= np.isin(queue, named)
        if not rows.any() and not len(named):
            known = sorted(names[np.unique(queue[~np.isnan(depth) & (queue >= 0)])].tolist())
            raise ValueError(f"no queue named {peer!r} in this trace; queues: {known}")
    # the busiest queues first (names in sorted order: codes), at most max_queues of them
    counts = np.bincount(queue[rows], minlength=len(names))
    seen = np.flatnonzero(counts)
    keep = np.sort(seen[np.lexsort((seen, -counts[seen]))][:max_queues])
    # Several events at one instant: the depth after the last one is what the queue held.
    times = table.floats("time")
    at = _last_at_each_instant(queue, times, rows & np.isin(queue, keep))
    start, end = source.span()
    model_of = table.objects("model")
    cols: dict[str, list[Any]] = {name: [] for name in (
        "time", "depth", "queue", "model", "kind", "actor", "msg_id")}
    models: list[str] = []
    binned = False
    for code in keep.tolist():
        q = at[queue[at] == code]
        n = len(q)
        if n > max_points and end > start:
            binned = True
            width_s = (end - start) / max_points
            found, peak = _peak_per_bin(times[q] - start, depth[q], width_s, max_points)
            n = len(found)
            cols["time"] += _rounded(start + found * width_s)
            cols["depth"] += peak.tolist()
            cols["kind"] += ["peak of bin"] * n
            cols["actor"] += [""] * n
            cols["msg_id"] += [None] * n
        else:
            cols["time"] += _rounded(times[q])
            cols["depth"] += depth[q].astype("int64").tolist()
            cols["kind"] += [k if isinstance(k, str) else _text(k) or None
                             for k in table.objects("kind")[q].tolist()]
            cols["actor"] += [_text(a) for a in table.objects("actor")[q].tolist()]
            cols["msg_id"] += _ids(table.floats("msg_id")[q])
        model = str(model_of[q[0]])
        cols["queue"] += [str(names[code])] * n
        cols["model"] += [model] * n
        if n:
            models.append(model)
    # the frame the pandas version made: nullable ids, and nothing inferred when empty
    dtypes = {"time": "float64", "msg_id": "Int64"} if len(keep) else \
        dict.fromkeys(cols, "object")
    return _DepthLines(_Table(cols, dtypes), tuple(dict.fromkeys(models)), len(keep), binned)


def _last_at_each_instant(group: np.ndarray, times: np.ndarray,
                          rows: np.ndarray) -> np.ndarray:
    """The positions among ``rows`` that are the last of their ``group`` at their time, in
    order: the rows ``drop_duplicates([group, time], keep="last")`` keeps."""
    at = np.flatnonzero(rows)
    g, t = group[at], times[at]
    order = np.lexsort((t, g))  # stable: by group, then time, then position
    g, t = g[order], t[order]
    last = np.ones(len(at), dtype=bool)
    same_time = (t[1:] == t[:-1]) | (np.isnan(t[1:]) & np.isnan(t[:-1]))
    last[:-1] = (g[1:] != g[:-1]) | ~same_time
    return np.sort(at[order[last]])


def _peak_per_bin(offsets: np.ndarray, depth: np.ndarray, width: float,
                  bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The peak depth per time bin (``width`` seconds, at most ``bins``): each bin's number
    (float) and its peak (``int64``), as ``groupby(offsets // width).max()`` gives them (bins
    in order; rows without a time left out)."""
    index = np.floor_divide(offsets, width)
    index = np.where(index > bins - 1, float(bins - 1), index)
    index, depth = index[~np.isnan(index)], depth[~np.isnan(index)].astype("int64")
    found, inverse = np.unique(index, return_inverse=True)
    peak = np.full(len(found), np.iinfo("int64").min)
    np.maximum.at(peak, inverse, depth)
    return found, peak


def _depth_build(parts: Parts) -> alt.Chart:
    data, label, subtitle = parts.frames["lines"], parts.fills["title"], parts.fills["subtitle"]
    chart: alt.Chart = alt.Chart(data).mark_line(interpolate="step-after", point=False).encode(
        x=alt.X("time:Q", title="time (s)"),
        y=alt.Y("depth:Q", title="depth (messages)",
                axis=alt.Axis(tickMinStep=1, format="d")),
        color=model_color(models=parts.get("models")),
        # one queue needs no legend (its name is in the tooltip); several are told apart
        strokeDash=alt.StrokeDash("queue:N", title="queue",
                                  legend=alt.Undefined if parts.get("queues") else None),
        detail="queue:N",
        opacity=_visible(),
        tooltip=[
            alt.Tooltip("queue:N", title="queue"),
            alt.Tooltip("time:Q", title="time (s)", format=".6~f"),
            alt.Tooltip("depth:Q", title="depth (messages)"),
            alt.Tooltip("kind:N", title="event"),
            alt.Tooltip("actor:N", title="by"),
            alt.Tooltip("msg_id:Q", title="message id"),
            alt.Tooltip("model:N", title="model"),
        ],
    ).add_params(_zoom(), _hide_models()).properties(
        title=alt.TitleParams(label, subtitle=subtitle) if parts.get("subtitled") else label,
        width=parts.get("width"), height=parts.get("height"))
    return chart


# -- latency ---------------------------------------------------------------------------------

def charted_latency(source: Source) -> dict[str, float]:
    """The latency percentiles :func:`latency_chart` marks (``p50``, ``p90``, ``p99``, in
    seconds): :func:`labkit.trace.latency_percentiles`, worked out once per trace drawn."""
    return dict(_Data(source).latencies().percentiles)


class _Latencies(NamedTuple):
    """What the latency chart draws of one run, whatever its bins: kept with the trace
    (:class:`_Data`), compact enough to come back from a worker with the run."""

    ms: np.ndarray                   # each matched message's latency (ms), in order of sending
    model: np.ndarray                # its model, a code into ``models``
    models: np.ndarray               # the models (str), sorted
    at: np.ndarray                   # the end of the time slot it was received in
    top: float                       # the largest latency (ms; 0 for none)
    percentiles: dict[str, float]    # p50 / p90 / p99 in seconds
    marks: _Table                    # the percentile rules and their labels


def _make_latencies(data: _Data) -> _Latencies:
    table = data.table()
    sent_rows, got_rows = data.message_rows()
    times = table.floats("time")
    received = times[got_rows]
    seconds = received - times[sent_rows]
    ms = seconds * 1000
    codes, names = table.codes("model")
    used, model = np.unique(codes[sent_rows], return_inverse=True)  # the models, sorted
    # labkit.trace.latency_percentiles' latencies, and pandas' NaN-skipping quantiles of
    # them (latency_percentiles gives NaN for no message)
    timed = seconds[~np.isnan(seconds)]
    values = np.quantile(timed, _LATENCY_QS).tolist() if len(timed) else \
        [math.nan] * len(_LATENCY_QS)
    pct = {f"p{round(q * 100):d}": float(v) for q, v in zip(_LATENCY_QS, values, strict=True)}
    shown = [(p, _r(v * 1000), 4 + 14 * i) for i, (p, v) in enumerate(pct.items())
             if not math.isnan(v)]
    marks = _Table({"percentile": [p for p, _, _ in shown], "value_ms": [v for _, v, _ in shown],
                    "label_y": [y for _, _, y in shown],
                    "label": [f"{p} = {_ms_text(v)} ms" for p, v, _ in shown]},
                   {} if shown else {"percentile": "str", "value_ms": "float64",
                                     "label_y": "int64", "label": "float64"})
    top = float(np.fmax.reduce(ms)) if len(ms) else 0.0  # NaN-skipping, as pandas' max
    small = np.int8 if len(used) < 128 else np.intp  # a few models: a byte each to carry
    return _Latencies(ms, model.astype(small), np.asarray(names[used], dtype=object),
                      _slot_ends(received, data.span()[1]), top, pct, marks)


#: The percentiles the latency chart marks.
_LATENCY_QS = (0.5, 0.9, 0.99)


def latency_chart(source: Source, *, kind: Literal["histogram", "ecdf"] = "histogram",
                  bins: int = 30, bin_width_ms: float | None = None,
                  title: str | None = None, width: int = 500,
                  height: int = 220) -> alt.LayerChart:
    """Latency (send -> receive) of every message, as a histogram (or an ECDF), with the
    p50, p90 and p99 marked as labelled rules (the values of
    :func:`labkit.trace.latency_percentiles`, in ms). Data is binned here, so the spec
    holds at most ``bins`` bars (or 101 ECDF points) per model, however long the trace."""
    return cast(alt.LayerChart, build(_latency_parts(
        source, kind=kind, bins=bins, bin_width_ms=bin_width_ms, title=title, width=width,
        height=height)))


def _latency_parts(source: Source, *, kind: Literal["histogram", "ecdf"] = "histogram",
                   bins: int = 30, bin_width_ms: float | None = None,
                   title: str | None = None, width: int = 500, height: int = 220) -> Parts:
    kind = cast("Literal['histogram', 'ecdf']", check_choice("kind", kind, ("histogram", "ecdf")))
    bins = _how_many("bins", bins)
    if bin_width_ms is not None:
        bin_width_ms = check_number("bin_width_ms", bin_width_ms, minimum=0, above=True)
    title = _optional_str("title", title)
    width, height = _pixels("width", width), _pixels("height", height)
    data = _Data(source)
    lat = data.latencies()
    step = bin_width_ms if bin_width_ms else _nice(lat.top / bins) if lat.top > 0 else 1.0
    models = lat.models.tolist()
    frames: dict[str, _Table] = {}
    if kind == "histogram":
        bin_of = _bin_of(lat.ms, step)
        first, counts = _count_rows(lat.model, bin_of)  # by model, then bin
        starts, ends = _latency_edges(bin_of[first].tolist(), step)
        frames["bars"] = _Table({"bin_start": starts, "bin_end": ends,
                                 "messages": counts.tolist(),
                                 "model": [models[m] for m in lat.model[first].tolist()]},
                                {} if len(first) else dict.fromkeys(_LATENCY_BARS, "object"))
    else:
        latency: list[Any] = []
        for code in range(len(models)):
            latency += _rounded(np.quantile(lat.ms[lat.model == code], _ECDF_QS))
        frames["bars"] = _Table({
            "latency_ms": latency, "fraction": _ECDF_FRACTIONS * len(models),
            "model": [str(m) for m in models for _ in range(len(_ECDF_QS))]},
            {"latency_ms": "float64"} if models else dict.fromkeys(_LATENCY_ECDF, "object"))
    frames["marks"] = lat.marks  # read only: the kept table stays as it is
    if kind == "histogram":  # for scrubbing: the same bars and rules at each instant
        frames["bars_by_time"] = _bars_by_time(lat, bin_of, step)
        frames["marks_by_time"] = _marks_by_time(data)
    return Parts("latency", _shape(kind=kind, models=tuple(str(m) for m in models), width=width,
                                   height=height),
                 _Frames(frames),
                 {"title": title or "Latency from send to receive, with p50 / p90 / p99"})


_LATENCY_BARS = ("bin_start", "bin_end", "messages", "model")
_LATENCY_ECDF = ("latency_ms", "fraction", "model")
#: The ECDF's points: these quantiles of each model's latencies.
_ECDF_QS = np.linspace(0.0, 1.0, 101)
_ECDF_FRACTIONS = [_r(q) for q in _ECDF_QS.tolist()]  # as embedded


def _latency_edges(bins: list[int], step: float) -> tuple[list[float], list[float]]:
    """Each histogram bin's start and end (ms), rounded once per bin."""
    edges = {i: (_r(i * step), _r((i + 1) * step)) for i in set(bins)}
    return [edges[i][0] for i in bins], [edges[i][1] for i in bins]


def _bin_of(ms: np.ndarray, step: float) -> np.ndarray:
    """Each latency's histogram bin (``step`` ms wide; bin ``i`` starts at ``i * step``)."""
    return np.floor(ms / step + 1e-9).astype(int)


#: Time slots of the charts that count (latency bins, messages per worker): scrubbing
#: shows the counts of the slots that ended by the instant shown.
_SLOTS = 50


def _slot_ends(times: np.ndarray, end: float) -> np.ndarray:
    """For each time, the end of its slot: ``end`` cut into :data:`_SLOTS` equal slots."""
    if end <= 0:
        return np.zeros(len(times))
    width = end / _SLOTS
    index = np.clip(np.ceil(times / width - 1e-9), 0, _SLOTS)
    ends = np.array([_r(i * width) for i in range(_SLOTS + 1)])  # rounded once per slot
    out = np.full(len(times), np.nan)  # no time, no slot
    timed = ~np.isnan(index)
    # copysign: a time of 0 is in slot -0.0 (ceil of a tiny negative), and stays so
    out[timed] = np.copysign(ends[index[timed].astype(np.intp)], index[timed])
    return out


def _count_rows(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by equal values of ``keys`` (arrays, the first one most significant),
    groups in sorted order: one row of each group and how many rows it has. What
    ``sorted(Counter(zip(*keys)).items())`` counts, without a tuple per row."""
    order = np.lexsort(keys[::-1])
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for key in keys:
        ordered = key[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    first = np.flatnonzero(new)
    return order[first], np.diff(np.append(first, len(order)))


def _bars_by_time(lat: _Latencies, bin_of: np.ndarray, step: float) -> _Table:
    """The histogram's counts per (model, bin, time slot)."""
    first, counts = _count_rows(lat.model, bin_of, lat.at)
    starts, ends = _latency_edges(bin_of[first].tolist(), step)
    models = lat.models.tolist()
    at = lat.at[first]
    return _Table({
        "bin_start": starts, "bin_end": ends, "messages": counts.tolist(),
        "model": [models[m] for m in lat.model[first].tolist()],
        "at": [None if math.isnan(t) else t for t in at.tolist()]},
        {"messages": "int64", "at": "float64"} if len(first) else {"messages": "int64"})


def _marks_by_time(data: _Data) -> _Table:
    """The percentile rules as they stood at the end of each time slot (the last ones,
    ``until`` null, are the whole run's): the same whatever the bins, so kept."""
    return cast(_Table, data.get("latency_marks_by_time", lambda: _make_marks_by_time(data)))


def _make_marks_by_time(data: _Data) -> _Table:
    lat = data.latencies()
    marks = lat.marks.columns
    names, heights = marks["percentile"], marks["label_y"]
    sent_rows, got_rows = data.message_rows()
    times = data.table().floats("time")
    received = times[got_rows]
    order = np.argsort(received, kind="stable")
    seconds = (received - times[sent_rows])[order]
    arrived = received[order]
    by_latency = np.argsort(seconds, kind="stable")
    in_order = seconds[by_latency]
    ends = np.unique(lat.at).tolist()
    # every slot but the last (the whole run: exactly the chart's own rules) that shows a
    # message: the quantiles of its first ``shown`` arrivals, all slots at once
    shown = np.searchsorted(arrived, ends[:-1], side="right")
    some = np.flatnonzero(shown)
    qs = np.asarray([float(p[1:]) / 100 for p in names], dtype="float64")
    values = _latency_prefix_quantiles(in_order, by_latency, shown[some], qs).tolist()
    values = [[_r(v * 1000) for v in row] for row in values]
    slots = some.tolist()
    if ends:
        values.append(marks["value_ms"])
        slots.append(len(ends) - 1)
    cols: dict[str, list[Any]] = {name: [] for name in (
        "percentile", "value_ms", "label_y", "label", "from", "until")}
    for i, row in zip(slots, values, strict=True):
        until = ends[i + 1] if i + 1 < len(ends) else None
        cols["percentile"] += names
        cols["value_ms"] += row
        cols["label_y"] += heights
        cols["label"] += [f"{p} = {_ms_text(v)} ms" for p, v in zip(names, row, strict=True)]
        cols["from"] += [ends[i]] * len(names)
        cols["until"] += [until] * len(names)
    # the frame the pandas version made from these rows: NaN (null) where a float is missing
    timed = [name for name in ("value_ms", "from", "until")
             if any(v is not None for v in cols[name])]
    for name in timed:
        cols[name] = [None if v is None or math.isnan(v) else v for v in cols[name]]
    return _Table(cols, dict.fromkeys(timed, "float64") if cols["percentile"] else
                  dict.fromkeys(cols, "object"))


def _latency_prefix_quantiles(in_order: np.ndarray, by_latency: np.ndarray,
                              shown: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """For each count in ``shown``, ``np.quantile`` (``qs``) of the first that many
    arrivals, one row each: ``in_order`` holds the values sorted (NaN last), ``by_latency``
    each one's place in order of arrival."""
    n = len(in_order)
    step = max(1, (1 << 20) // max(n, 1))  # rows at a time: about a million cells
    out = [np.empty((0, len(qs)))]
    for first in range(0, len(shown), step):
        counts = shown[first:first + step]
        # where each row's arrivals stand in latency order, row after row (flat)
        found = np.flatnonzero(by_latency[None, :] < counts[:, None])
        before = (np.cumsum(counts) - counts)[:, None]  # the rows above hold these
        row_start = (np.arange(len(counts)) * n)[:, None]

        def value_at(ranks: np.ndarray, found: np.ndarray = found, before: np.ndarray = before,
                     row_start: np.ndarray = row_start) -> np.ndarray:
            return cast(np.ndarray, in_order[found[before + ranks] - row_start])

        out.append(_sorted_quantiles(value_at, counts, qs))
    return np.concatenate(out)


def _sorted_quantiles(value_at: Callable[[np.ndarray], np.ndarray], n: int | np.ndarray,
                      qs: np.ndarray) -> np.ndarray:
    """``np.quantile(values, qs)`` of ``n`` values (linear method) given ``value_at(ranks)``,
    the values of those ranks in sorted order (NaN last): numpy's own arithmetic, step by
    step, so the same floats, without sorting or copying the values for each call. ``n``
    may be an array of counts: a row of quantiles for each (``value_at`` gets a row of
    ranks for each)."""
    count = np.asarray(n)[..., None]
    virtual = (count - 1) * qs
    previous = np.floor(virtual)
    last = virtual >= count - 1
    # numpy takes index -1 there, the last value; its gamma is from that -1
    gamma = virtual - np.where(last, -1, previous).astype(np.intp)
    following = np.where(last, count - 1, previous + 1)
    previous = np.where(last, count - 1, previous)
    a = value_at(previous.astype(np.intp))
    b = value_at(following.astype(np.intp))
    diff = b - a
    out = a + diff * gamma
    high = gamma >= 0.5
    out[high] = (b - diff * (1 - gamma))[high]
    # numpy: NaN in, NaN out
    return np.where(np.isnan(value_at((count - 1).astype(np.intp))), np.nan, out)


def _latency_build(parts: Parts) -> alt.LayerChart:
    data, marks = parts.frames["bars"], parts.frames["marks"]
    color = model_color(models=parts.get("models"))
    if parts.get("kind") == "histogram":
        base = alt.Chart(data).mark_bar(opacity=0.85, binSpacing=1).encode(
            x=alt.X("bin_start:Q", title="latency (ms)"),
            x2="bin_end:Q",
            y=alt.Y("messages:Q", title="messages", stack=None,
                    axis=alt.Axis(tickMinStep=1, format="d")),
            y2=alt.datum(0),
            color=color,
            opacity=_visible(0.85),
            tooltip=[
                alt.Tooltip("bin_start:Q", title="from (ms)", format=".3~f"),
                alt.Tooltip("bin_end:Q", title="to (ms)", format=".3~f"),
                alt.Tooltip("messages:Q", title="messages"),
                alt.Tooltip("model:N", title="model"),
            ])
    else:
        base = alt.Chart(data).mark_line(interpolate="step-after").encode(
            x=alt.X("latency_ms:Q", title="latency (ms)"),
            y=alt.Y("fraction:Q", title="fraction of messages", axis=alt.Axis(format="%")),
            color=color,
            opacity=_visible(),
            tooltip=[
                alt.Tooltip("latency_ms:Q", title="latency (ms)", format=".3~f"),
                alt.Tooltip("fraction:Q", title="fraction", format=".0%"),
                alt.Tooltip("model:N", title="model"),
            ])
    rules = alt.Chart(marks).mark_rule(color=NEUTRAL, strokeDash=[4, 3]).encode(
        x=alt.X("value_ms:Q", title="latency (ms)"),
        tooltip=[alt.Tooltip("percentile:N", title="percentile"),
                 alt.Tooltip("value_ms:Q", title="latency (ms)", format=".3~f")])
    labels = alt.Chart(marks).mark_text(align="left", baseline="top", dx=4,
                                        color=NEUTRAL, fontSize=11).encode(
        x=alt.X("value_ms:Q", title="latency (ms)"),
        y=alt.Y("label_y:Q", scale=None),
        text="label:N")
    return alt.LayerChart(layer=[base.add_params(_hide_models()), rules, labels]).properties(
        title=parts.fills["title"], width=parts.get("width"), height=parts.get("height"))


# -- throughput ------------------------------------------------------------------------------

def _auto_window(duration: float, max_points: int) -> float:
    return _nice(duration / 50) if duration > 0 else 1.0


def throughput_chart(source: Source, window: float | None = None, *,
                     max_points: int = MAX_POINTS, title: str | None = None,
                     width: int = 600, height: int = 200) -> alt.Chart:
    """Messages received per second over time, counted in windows of ``window`` seconds
    (default: a round number giving about 50 windows). Empty windows count as zero. A window
    so small that it would give more than ``max_points`` points is widened, and the title
    says so."""
    return cast(alt.Chart, build(_throughput_parts(
        source, window, max_points=max_points, title=title, width=width, height=height)))


def _throughput_parts(source: Source, window: float | None = None, *,
                      max_points: int = MAX_POINTS, title: str | None = None,
                      width: int = 600, height: int = 200) -> Parts:
    if window is not None:
        window = check_number("window", window, minimum=0, above=True, unit="seconds")
    max_points = _how_many("max_points", max_points)
    title = _optional_str("title", title)
    width, height = _pixels("width", width), _pixels("height", height)
    derived = _Data(source)
    start = 0.0
    end = derived.span()[1]
    duration = end - start
    widened = False
    if window is None:
        window = _auto_window(duration, max_points)
    elif duration / window > max_points:
        window = _nice(duration / max_points)
        widened = True
    n_windows = max(1, math.floor(duration / window + 1e-9) + 1)
    parts = []
    for model, times in _receive_times(derived).items():
        idx = np.floor((times - start) / window + 1e-9).astype(int)
        counts = np.bincount(idx, minlength=n_windows)[:n_windows]
        parts.append(pd.DataFrame({
            "window_start": [_r(start + i * window) for i in range(n_windows)],
            "window_end": [_r(start + (i + 1) * window) for i in range(n_windows)],
            "messages": counts.astype(int),
            "rate": [_r(c / window) for c in counts],
            "model": model}))
    cols = ["window_start", "window_end", "messages", "rate", "model"]
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    label = title or f"Throughput: messages received per second ({_seconds_label(window)} windows)"
    if widened:
        label += " (window widened to keep the chart small)"
    return Parts("throughput", _shape(models=tuple(_present(data)), width=width, height=height),
                 {"lines": data}, {"title": label})


def _receive_times(data: _Data) -> dict[str, np.ndarray]:
    """Model -> the times of its receives (models sorted): the same whatever the window,
    so kept with the trace (:class:`_Data`)."""
    def make() -> dict[str, np.ndarray]:
        df = data.events()
        got = df[df["kind"].isin(RECEIVE_KINDS)]
        return {model: got.loc[got["model"] == model, "time"].to_numpy(dtype="float64")
                for model in sorted(set(got["model"].tolist()))}
    return cast("dict[str, np.ndarray]", data.get("receive_times", make))


def _throughput_build(parts: Parts) -> alt.Chart:
    chart: alt.Chart = alt.Chart(parts.frames["lines"]).mark_line(
        interpolate="step-after", point=False).encode(
        x=alt.X("window_start:Q", title="time (s)"),
        y=alt.Y("rate:Q", title="throughput (messages/s)"),
        color=model_color(models=parts.get("models")),
        opacity=_visible(),
        tooltip=[
            alt.Tooltip("window_start:Q", title="from (s)", format=".6~f"),
            alt.Tooltip("window_end:Q", title="to (s)", format=".6~f"),
            alt.Tooltip("messages:Q", title="messages received"),
            alt.Tooltip("rate:Q", title="rate (messages/s)", format=".4~g"),
            alt.Tooltip("model:N", title="model"),
        ],
    ).add_params(_zoom(), _hide_models()).properties(
        title=parts.fills["title"], width=parts.get("width"), height=parts.get("height"))
    return chart


# -- sequence diagram ------------------------------------------------------------------------

#: How far apart (pixels) a sequence diagram draws flat arrows that share an instant and a
#: pair of lanes (a reply and the next request at the same virtual time).
_STACK_PX = 9


def _stack_flat_arrows(arrows: dict[str, list[Any]], order: Sequence[int], *,
                       unit: float) -> None:
    """Move apart, in place, arrows a sequence diagram would draw on one line.

    An arrow that takes no time is flat; two flat arrows at the same instant between the
    same two lanes (pong -> ping, then the next ping -> pong) would be drawn on one line.
    They are drawn one under the other, ``unit`` seconds apart, in the order they were sent
    (``order``): ``sent`` and ``received`` become where each arrow is drawn. The true times
    stay in ``sent_at`` and ``received_at`` (the tooltips); every other arrow is drawn at
    them. ``arrows``: the arrows' columns."""
    sent, received = arrows["sent"], arrows["received"]
    arrows["sent_at"], arrows["received_at"] = list(sent), list(received)
    flat = [i for i, (s, r) in enumerate(zip(sent, received, strict=True)) if s == r]
    if not flat:
        return
    flat.sort(key=order.__getitem__)  # stable: in order of sending, then of rows
    senders, receivers = arrows["sender"], arrows["receiver"]
    rank = [0] * len(sent)
    seen: dict[tuple[float, str], int] = {}
    for i in flat:
        key = (sent[i], "\n".join(sorted((senders[i], receivers[i]))))
        rank[i] = seen.get(key, 0)
        seen[key] = rank[i] + 1
    arrows["sent"] = [_r(t + k * unit) for t, k in zip(sent, rank, strict=True)]
    arrows["received"] = [_r(t + k * unit) for t, k in zip(received, rank, strict=True)]


def sequence_diagram(source: Source, *, limit: int = 30, title: str | None = None,
                     lane_width: int = 140, height: int = 420) -> alt.LayerChart:
    """Actors as lanes (x), time running downwards (y), and each of the first ``limit``
    messages (in order of sending) as a line from the sender's lane at send time to the
    receiver's lane at receive time, with an arrowhead at the receiver. Replies to those
    messages' asks are dashed arrows back to the asker; a reply that came after the asker
    stopped waiting ends in a cross (a dead letter), and the asker's timeout is a diamond.
    Lost messages (``drop``, ``dead_letter``) in that span are crosses."""
    return cast(alt.LayerChart, build(_sequence_parts(
        source, limit=limit, title=title, lane_width=lane_width, height=height)))


def _sequence_parts(source: Source, *, limit: int = 30, title: str | None = None,
                    lane_width: int = 140, height: int = 420) -> Parts:
    limit = _how_many("limit", limit)
    title = _optional_str("title", title)
    lane_width, height = _pixels("lane_width", lane_width), _pixels("height", height)
    data = _Data(source)
    table = data.table()
    # the first messages sent, each with every delivery (a resend with the same id)
    sent, got = _sequence_deliveries(table, data.message_rows()[0][:limit])
    times, corr = table.floats("time"), table.floats("corr_id")
    actor, peer = table.objects("actor"), table.objects("peer")
    asks = corr[sent]
    asks = asks[~np.isnan(asks)]
    replies = late = timeouts = np.zeros(0, dtype=np.intp)
    if len(asks):
        of_asks = np.isin(corr, asks)

        def with_peer(rows: np.ndarray) -> np.ndarray:
            at = np.flatnonzero(rows)
            return cast(np.ndarray, at[pd.notna(peer[at])])

        replies = with_peer(table.equals("kind", "reply") & of_asks)
        # A reply has no message id: a dead letter without one is a reply nobody waited for.
        late = with_peer(table.equals("kind", "dead_letter")
                         & np.isnan(table.floats("msg_id")) & of_asks)
        timeouts = np.flatnonzero(table.equals("kind", "timeout") & of_asks)
    last = max([float(np.fmax.reduce(times[got])) if len(got) else data.span()[1],
                *times[replies].tolist(), *times[late].tolist(), *times[timeouts].tolist()])
    lost_all = np.flatnonzero(table.isin("kind", _LOST_KINDS) & (times <= last))
    lost = lost_all[:limit]
    lanes = _lanes(data, [
        *actor[np.concatenate([sent, got, replies, lost, timeouts])].tolist(),
        *peer[np.concatenate([replies, late])].tolist()])
    pos = {name: i for i, name in enumerate(lanes)}
    # The arrows: the messages, then the replies to their asks, then the late replies. A
    # reply's row is the replier's (actor) about the asker (peer); a late reply's the
    # asker's about the replier.
    rows = np.concatenate([sent, replies, late])
    back = len(replies) + len(late)
    sender = [str(a) for a in actor[sent].tolist() + actor[replies].tolist()
              + peer[late].tolist()]
    receiver = [str(a) for a in actor[got].tolist() + peer[replies].tolist()
                + actor[late].tolist()]
    at_back = times[rows[len(sent):]].tolist()
    corr_id = _ids(corr[rows])
    msg_id: list[int | None] = [int(m) for m in table.floats("msg_id")[sent].tolist()]
    msg_id += [None] * back
    arrows: dict[str, list[Any]] = {
        "sender": sender, "receiver": receiver,
        "sent": [_r(t) for t in times[sent].tolist() + at_back],
        "received": [_r(t) for t in times[got].tolist() + at_back],
        "latency_ms": [_r(ms) for ms in ((times[got] - times[sent]) * 1000).tolist()]
        + [0.0] * back,
        "msg_id": msg_id, "corr_id": corr_id,
        "msg_type": [_text(v) for v in table.objects("msg_type")[rows].tolist()],
        # a send's queue is its peer (the row is never the mailbox owner's)
        "queue": [_text(v) for v in peer[sent].tolist()] + [""] * back,
        "model": [str(m) for m in table.objects("model")[rows].tolist()],
        "arrow": ["message"] * len(sent) + ["reply"] * len(replies)
        + ["late reply"] * len(late),
        "direction": ["self" if pos[s] == pos[r] else ("right" if pos[s] < pos[r] else "left")
                      for s, r in zip(sender, receiver, strict=True)]}
    top = _r(data.span()[0])
    _stack_flat_arrows(arrows, table.seq()[rows].tolist(),
                       unit=_STACK_PX / height * ((last - top) or 1e-3))
    arrows["path"] = _paths(corr_id, msg_id)
    bottom = max([_r(last), *arrows["received"]])
    marks = np.concatenate([lost, timeouts])
    drops: dict[str, list[Any]] = {
        "lane": [str(a) for a in actor[marks].tolist()],
        "time": [_r(t) for t in times[marks].tolist()],
        "kind": [str(k) for k in table.objects("kind")[marks].tolist()],
        **{name: [_text(v) for v in table.objects(name)[marks].tolist()]
           for name in ("msg_type", "detail", "peer")},
        **{name: _ids(table.floats(name)[marks]) for name in ("msg_id", "corr_id")},
        "model": [str(m) for m in table.objects("model")[marks].tolist()]}
    drops["path"] = _paths(drops["corr_id"], drops["msg_id"])
    # the dtypes pandas gave the columns, which an empty column keeps
    ids = {"msg_id": "Int64", "corr_id": "Int64", "model": "str"}
    # Everything at one instant: arrows are only stacked apart, so the axis shows that instant.
    instant = bool(last - top == 0 and bottom > top)
    return Parts("sequence", _shape(models=tuple(dict.fromkeys(arrows["model"])),
                                    instant=instant, width=max(240, lane_width * len(lanes)),
                                    height=height),
                 _Frames({
                     "life": _Table({"lane": lanes, "from": [top] * len(lanes),
                                     "to": [bottom] * len(lanes)}),
                     "arrows": _Table(arrows, {
                         "sender": "str", "receiver": "str", "arrow": "str", **ids,
                         "msg_type": _sequence_dtype(data, "msg_type", len(sent), back),
                         "queue": _sequence_dtype(data, "queue", len(sent))}),
                     "drops": _SequenceTable(drops, {
                         "lane": "str", "kind": "str", **ids,
                         **{name: _sequence_dtype(data, name, len(marks))
                            for name in ("msg_type", "detail", "peer")}},
                         (_sequence_index(data), lost_all, limit, timeouts))}),
                 {"title": title or f"Message sequence (first {limit} messages)",
                  "lanes": lanes, "instant": [top]})


def _sequence_deliveries(table: Columns, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The deliveries of the messages first sent at rows ``first``: each message's k-th send
    and its k-th receive (a command sent again with the same id, after its receiver
    crashed, is a second arrow), as (send rows, receive rows) in order of sending."""
    ranks = table.messages()[0]
    shown = np.isin(ranks, ranks[first])

    def rows_of(kinds: Sequence[str]) -> dict[int, list[int]]:
        at = np.flatnonzero(shown & table.isin("kind", kinds))
        found: dict[int, list[int]] = {}
        for row, rank in zip(at.tolist(), ranks[at].tolist(), strict=True):
            found.setdefault(rank, []).append(row)
        return found

    sends, receives = rows_of(SEND_KINDS), rows_of(RECEIVE_KINDS)
    pairs = sorted(pair for rank in ranks[first].tolist()
                   # a send not received (yet): no arrow, as for a lost message
                   for pair in zip(sends[rank], receives.get(rank, ()), strict=False))
    return (np.array([s for s, _ in pairs], dtype=np.intp),
            np.array([r for _, r in pairs], dtype=np.intp))


def _lanes(data: _Data, names: Iterable[str]) -> list[str]:
    """``names`` in order of each actor's first appearance in the trace, then the others
    sorted: the lanes of a timeline or a sequence diagram."""
    wanted = set(names)
    order = [name for name in data.actors() if name in wanted]
    order.extend(sorted(wanted - set(order)))
    return order


def _paths(corr_ids: Iterable[int | None], msg_ids: Iterable[int | None]) -> list[str]:
    """Each row's path key (what a click on a message picks, :data:`PARAMS` ``"path"``):
    ``c<corr_id>`` when it has a correlation id (an ask, its reply), else ``m<msg_id>``,
    else empty."""
    return [f"c{corr}" if corr is not None else f"m{msg}" if msg is not None else ""
            for corr, msg in zip(corr_ids, msg_ids, strict=True)]


def _sequence_events(data: _Data) -> pd.DataFrame | None:
    """The events frame, if it was made (a run's charts are drawn without it)."""
    return cast("pd.DataFrame | None", data.kept.get("_events"))


def _sequence_dtype(data: _Data, name: str, *parts: int) -> str:
    """The dtype pandas gave a text column of the chart made of ``parts`` (their lengths),
    each the ``_text`` of some rows of the events' column ``name``: ``str``, but an empty
    part kept the events column's dtype (a run's: ``object`` when no row has a value)."""
    if all(parts):
        return "str"
    events = _sequence_events(data)
    if events is not None:
        dtype = str(events[name].dtype)
    else:
        def make() -> str:  # a run's queue column has its peer column's dtype
            values = data.table().objects("peer" if name == "queue" else name).tolist()
            return "object" if values.count(None) == len(values) else "str"
        dtype = cast(str, data.get(f"_sequence {name} dtype", make))
    return dtype if dtype == "str" or not any(parts) else "object"


def _sequence_index(data: _Data) -> pd.Index:
    """The events frame's index (a run's: its rows, numbered)."""
    events = _sequence_events(data)
    return pd.RangeIndex(data.table().n) if events is None else events.index


class _SequenceTable(_Table):
    """A :class:`_Table` whose frame has, for the drops, the rows' labels in the events
    frame as its index (``labels``: the events' index, the rows of the lost messages, of
    which the first ``limit`` are shown, and of the timeouts)."""

    __slots__ = ("labels",)

    def __init__(self, columns: dict[str, list[Any]], dtypes: Mapping[str, str],
                 labels: tuple[pd.Index, np.ndarray, int, np.ndarray]) -> None:
        super().__init__(columns, dtypes)
        self.labels = labels

    def frame(self) -> pd.DataFrame:
        frame = super().frame()
        if len(frame):
            index, lost, limit, timeouts = self.labels
            frame.index = index.take(lost)[:limit].append(index.take(timeouts))
        return frame


def _sequence_build(parts: Parts) -> alt.LayerChart:
    life, arrows, drops = (parts.frames[k] for k in ("life", "arrows", "drops"))
    lanes, models = parts.fills["lanes"], parts.get("models")
    pick = _pick_path()
    x_lane = alt.Scale(domain=lanes)
    y_time = alt.Scale(reverse=True)
    y_axis = alt.Axis(values=parts.fills["instant"]) if parts.get("instant") else alt.Undefined
    tips = [
        alt.Tooltip("msg_id:Q", title="message id"),
        alt.Tooltip("corr_id:Q", title="correlation id"),
        alt.Tooltip("msg_type:N", title="type"),
        alt.Tooltip("sender:N", title="from"),
        alt.Tooltip("receiver:N", title="to"),
        alt.Tooltip("queue:N", title="via"),
        alt.Tooltip("sent_at:Q", title="sent (s)", format=".6~f"),
        alt.Tooltip("received_at:Q", title="received (s)", format=".6~f"),
        alt.Tooltip("latency_ms:Q", title="latency (ms)", format=".3~f"),
        alt.Tooltip("model:N", title="model"),
    ]
    lifelines = alt.Chart(life).mark_rule(color=NEUTRAL, strokeDash=[2, 4],
                                          opacity=0.6).encode(
        x=alt.X("lane:N", title="actor", scale=x_lane,
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("from:Q", title="time (s)", scale=y_time, axis=y_axis),
        y2="to:Q", tooltip=[alt.Tooltip("lane:N", title="actor")])
    lines = alt.Chart(arrows).mark_rule().encode(
        x=alt.X("sender:N", title="actor", scale=x_lane),
        x2="receiver:N",
        y=alt.Y("sent:Q", title="time (s)", scale=y_time, axis=y_axis),
        y2="received:Q",
        color=model_color(models=models),
        strokeDash=alt.StrokeDash("arrow:N", legend=None, scale=alt.Scale(
            domain=["message", "reply", "late reply"], range=[[1, 0], [5, 3], [5, 3]])),
        # the clicked message's path (an ask, its forwards and its reply) drawn thick
        strokeWidth=alt.condition(pick, alt.value(4.0), alt.value(1.5)),
        opacity=_visible(),
        tooltip=[*tips, alt.Tooltip("arrow:N", title="what")]).add_params(
        _zoom("y"), _hide_models(), pick)
    heads = alt.Chart(arrows).transform_filter(
        alt.datum.arrow != "late reply").mark_point(filled=True, size=70, opacity=1).encode(
        x=alt.X("receiver:N", title="actor", scale=x_lane),
        y=alt.Y("received:Q", title="time (s)", scale=y_time, axis=y_axis),
        shape=alt.Shape("direction:N", legend=None, scale=alt.Scale(
            domain=["right", "left", "self"],
            range=["triangle-right", "triangle-left", "circle"])),
        color=model_color(models=models),
        opacity=_visible(),
        tooltip=tips)
    crosses = alt.Chart(drops).mark_point(filled=True, size=90, color=NEUTRAL).encode(
        x=alt.X("lane:N", title="actor", scale=x_lane),
        y=alt.Y("time:Q", title="time (s)", scale=y_time, axis=y_axis),
        shape=alt.Shape("kind:N", legend=None, scale=alt.Scale(
            domain=["drop", "dead_letter", "timeout"], range=["cross", "cross", "diamond"])),
        tooltip=[alt.Tooltip("kind:N", title="event"),
                 alt.Tooltip("lane:N", title="actor"),
                 alt.Tooltip("peer:N", title="peer"),
                 alt.Tooltip("msg_id:Q", title="message id"),
                 alt.Tooltip("corr_id:Q", title="correlation id"),
                 alt.Tooltip("msg_type:N", title="type"),
                 alt.Tooltip("detail:N", title="why"),
                 alt.Tooltip("time:Q", title="time (s)", format=".6~f")])
    layered = alt.LayerChart(layer=[lifelines, lines, heads, crosses]).properties(
        title=parts.fills["title"], width=parts.get("width"), height=parts.get("height"))
    # arrowheads and loss marks use different shapes: one shape scale each
    return cast(alt.LayerChart, layered.resolve_scale(shape="independent"))


# -- load ------------------------------------------------------------------------------------

def _load_counts(source: _Data | Mapping[str, int], actors: Sequence[str] | None,
                 model: str | None) -> dict[str, list[Any]]:
    """``actor, messages, model`` columns: receives per actor (or the given counts), in lane
    order (``actors``, else first appearance)."""
    if isinstance(source, Mapping):
        for key, value in source.items():
            check_int(f"the count of {key!r}", value, minimum=0)
        names = list(actors) if actors is not None else [str(k) for k in source]
        colour = model if model in PALETTE else "other"
        return {"actor": names, "messages": [int(source.get(n, 0)) for n in names],
                "model": [colour] * len(names)}
    table = source.table()
    codes, known = table.codes("actor")
    got = np.flatnonzero(table.isin("kind", RECEIVE_KINDS))
    got = got[codes[got] >= 0]
    # each receiver, in order of its first receive: how many, and that receive's model
    firsts = np.sort(np.unique(codes[got], return_index=True)[1])
    receivers = known[codes[got[firsts]]].tolist()
    counts = dict(zip(receivers, np.bincount(codes[got])[codes[got[firsts]]].tolist(),
                      strict=True))
    models = dict(zip(receivers, table.objects("model")[got[firsts]].tolist(), strict=True))
    if actors is None:
        wanted = {str(a) for a in receivers}
        names = [a for a in receivers if a in wanted]  # as _lanes orders them: text first
        names.extend(sorted(wanted - set(names)))
    else:
        names = list(actors)
        unknown = sorted(set(names) - {str(a) for a in known.tolist()})
        if unknown:
            raise ValueError(f"no actor named {unknown} in this trace; actors that "
                             f"received messages: {sorted(str(a) for a in receivers)}")
    fallback = model if model in PALETTE else "other"
    return {"actor": names, "messages": [int(counts.get(n, 0)) for n in names],
            "model": [str(models.get(n, fallback)) if model is None else fallback
                      for n in names]}


def load_chart(source: Source | Mapping[str, int], *, actors: Sequence[str] | None = None,
               model: str | None = None, title: str | None = None, noun: str = "worker",
               width: int | None = None, height: int = 200) -> alt.LayerChart:
    """Messages handled per worker (or shard) as bars, with a dashed rule at the even share.

    ``source`` is a run, trace or trace frame (each actor's ``receive`` rows are counted) or
    a mapping ``{worker: count}``. ``actors`` picks and orders the bars (a dispatcher that
    also receives can be left out, and a worker that never received shows only when named);
    ``model`` colours them (default: the trace's model); ``noun`` names a bar ("shard").
    The subtitle gives the imbalance, max / mean: 1.0 is a perfectly even spread. The
    default ``width`` is 56 px per bar, at least 200 px.
    """
    return cast(alt.LayerChart, build(_load_parts(
        source, actors=actors, model=model, title=title, noun=noun, width=width,
        height=height)))


def _load_parts(source: Source | Mapping[str, int], *, actors: Sequence[str] | None = None,
                model: str | None = None, title: str | None = None, noun: str = "worker",
                width: int | None = None, height: int = 200) -> Parts:
    if actors is not None:
        actors = _names("actors", actors)
    model = _optional_str("model", model)
    title = _optional_str("title", title)
    noun = check_str("noun", noun)
    if width is not None:
        width = _pixels("width", width)
    height = _pixels("height", height)
    counted = source if isinstance(source, Mapping) else _Data(source)
    data = _load_counts(counted, actors, model)
    messages, count = data["messages"], len(data["actor"])
    total = sum(messages)
    mean = total / count if count else 0.0
    data["share"] = [round(m / total, 6) if total else 0.0 for m in messages]
    subtitle = (f"{total} messages on {count} {noun}s; max / mean = "
                f"{max(messages) / mean:.2f}" if mean else "no messages")
    frames = {"bars": _Table(data), "even": _Table({"even": [_r(mean)]})}
    if isinstance(counted, _Data) and model is None:
        frames["bars_by_time"] = _load_by_time(counted, data)
    # The width follows the number of workers: at least 200 px, else 56 px per bar (a
    # step, which Vega-Lite multiplies by the bars it draws). A fill, not the template's
    # shape, so that another worker count builds no other template through Altair; and
    # from 4 workers on the same value, so that a live chart takes another count as new
    # rows and lanes (data_updates), not a new spec.
    return Parts("load", _shape(models=tuple(dict.fromkeys(data["model"])), noun=noun,
                                height=height),
                 _Frames(frames),
                 {"title": title or f"Messages handled per {noun}", "subtitle": subtitle,
                  "order": list(data["actor"]),
                  "width": width if width is not None else
                  200 if 56 * count <= 200 else {"step": 56}})


def _load_by_time(data: _Data, bars: Mapping[str, list[Any]]) -> _Table:
    """Receives per (worker, time slot), with a zero row at 0 s for every worker so that
    each bar keeps its place while scrubbing."""
    table = data.table()
    codes, known = table.codes("actor")
    names = bars["actor"]
    code = {name: i for i, name in enumerate(known.tolist())}
    shown = np.zeros(len(known) + 1, dtype=bool)  # by actor code (-1: the last)
    shown[[code[n] for n in set(names) if n in code]] = True
    got = np.flatnonzero(table.isin("kind", RECEIVE_KINDS))
    got = got[shown[codes[got]]]
    at = _slot_ends(table.floats("time")[got], data.span()[1])
    first, counts = _count_rows(codes[got], at)  # codes sort as the names (all text)
    model = dict(zip(names, bars["model"], strict=True))
    actors = names + [str(a) for a in known[codes[got[first]]].tolist()]
    return _Table({"actor": actors, "messages": [0] * len(names) + counts.tolist(),
                   "model": [model[a] for a in actors],
                   "at": [0.0] * len(names) + [None if math.isnan(t) else t
                                               for t in at[first].tolist()]},
                  _LOAD_DTYPES)


#: The load chart's columns per time slot that pandas would not infer when empty.
_LOAD_DTYPES = MappingProxyType({"messages": "int64", "at": "float64"})


def _load_build(parts: Parts) -> alt.LayerChart:
    data, noun = parts.frames["bars"], parts.get("noun")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("actor:N", title=noun, scale=alt.Scale(domain=parts.fills["order"]),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("messages:Q", title="messages handled", axis=alt.Axis(tickMinStep=1)),
        color=model_color(models=parts.get("models")),
        opacity=_visible(),
        tooltip=[alt.Tooltip("actor:N", title=noun),
                 alt.Tooltip("messages:Q", title="messages"),
                 alt.Tooltip("share:Q", title="share", format=".1%"),
                 alt.Tooltip("model:N", title="model")]).add_params(_hide_models())
    even = alt.Chart(parts.frames["even"]).mark_rule(
        color=NEUTRAL, strokeDash=[4, 3]).encode(
        y=alt.Y("even:Q"), tooltip=[alt.Tooltip("even:Q", title="even share", format=".1f")])
    chart = alt.LayerChart(layer=[bars, even]).properties(
        title=alt.TitleParams(parts.fills["title"], subtitle=parts.fills["subtitle"]),
        height=parts.get("height"))
    # set, not through properties(): in a template the width is a marker string, which
    # properties() would refuse
    chart.width = parts.fills["width"]
    return chart


# -- parameter sweeps ------------------------------------------------------------------------

def sweep_chart(df: pd.DataFrame, x: str, y: str | Sequence[str], *, color: str = "model",
                column: str | None = None, title: str | None = None, log_y: bool = False,
                y_title: str | None = None, width: int = 260,
                height: int = 200) -> alt.LayerChart | alt.FacetChart:
    """A metric (or several) against a parameter, one line per ``color`` group.

    ``df`` has one row per run (e.g. ``model, workers, spread, p50_ms, p99_ms``). ``y`` is a
    column or a list of columns; several are folded into one axis and told apart by dash
    (``metric``). ``color="model"`` uses :data:`PALETTE`; ``column`` facets into panels that
    share their axes. Numeric ``x`` is a quantitative axis, anything else ordinal.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, one row per run, got {describe(df)}")
    x, color = check_str("x", x), check_str("color", color)
    metrics = [check_str("y", y)] if isinstance(y, str) else _names("y", y)
    if not metrics:
        raise ValueError("y is empty; name at least one metric column, e.g. 'p99_ms'")
    column = _optional_str("column", column) or None
    title, y_title = _optional_str("title", title), _optional_str("y_title", y_title)
    log_y = check_bool("log_y", log_y)
    width, height = _pixels("width", width), _pixels("height", height)
    wanted = [x, color, *metrics, *([column] if column else [])]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} not in the frame; it has {list(df.columns)}")
    keys = [c for c in dict.fromkeys([x, color, *([column] if column else [])])]
    data = df[keys + metrics].melt(id_vars=keys, value_vars=metrics, var_name="metric",
                                   value_name="value")
    data = data.dropna(subset=["value"])
    data["value"] = data["value"].astype("float64").map(_r)
    if color == "model":
        data["model"] = data["model"].where(data["model"].isin(list(PALETTE)), "other")
        colour: alt.Color = model_color(models=_present(data))
    else:
        colour = alt.Color(f"{color}:N", title=color)
    numeric = pd.api.types.is_numeric_dtype(df[x])
    x_enc = alt.X(f"{x}:{'Q' if numeric else 'O'}", title=x)
    if numeric:
        x_enc = alt.X(f"{x}:Q", title=x, axis=alt.Axis(values=sorted(
            {_r(v) for v in df[x].dropna().tolist()})))
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=True)
    label = y_title or (metrics[0] if len(metrics) == 1 else "value")
    tooltip = [alt.Tooltip(f"{c}:N", title=c) for c in keys if c != x]
    tooltip += [alt.Tooltip(f"{x}:{'Q' if numeric else 'O'}", title=x),
                alt.Tooltip("metric:N", title="metric"),
                alt.Tooltip("value:Q", title="value", format=".4~f")]
    enc: dict[str, Any] = {"x": x_enc, "y": alt.Y("value:Q", title=label, scale=scale),
                           "color": colour, "detail": f"{color}:N", "tooltip": tooltip}
    # Lines carry the dash legend (one entry per metric); points only mark the runs.
    lines = alt.Chart().mark_line().encode(
        strokeDash=alt.StrokeDash("metric:N", title="metric", sort=metrics,
                                  legend=None if len(metrics) == 1 else alt.Undefined), **enc)
    points = alt.Chart().mark_point(filled=True, size=36).encode(
        shape=alt.Shape("metric:N", legend=None, sort=metrics), **enc)
    layered = cast("alt.LayerChart", alt.layer(lines, points, data=data)).properties(
        width=width, height=height)
    heading = title or f"{label} vs {x}"
    if column:
        faceted: alt.FacetChart = layered.facet(
            column=alt.Column(f"{column}:O", title=column)).properties(title=heading)
        return faceted
    single: alt.LayerChart = layered.properties(title=heading)
    return single


# -- supervision -----------------------------------------------------------------------------

#: Colours of the lifecycle chart: an actor's states (bars) and events (marks). Running is
#: the actor layer's violet from :data:`PALETTE`; a backoff wait a pale violet.
_LIFECYCLE = MappingProxyType({
    "running": PALETTE["actor"],
    "backoff": "#CDBFE3",
    "fail": "#D62728",
    "restart": "#2CA02C",
    "escalate": "#FF7F0E",
    "stop": NEUTRAL,
})
_LIFECYCLE_SHAPES = MappingProxyType({
    "fail": "cross", "restart": "circle", "escalate": "triangle-up", "stop": "square"})
#: A breaker's states, as a traffic light.
_BREAKER = MappingProxyType({"closed": "#59A14F", "half_open": "#EDC948", "open": "#E15759"})
_DELAY = re.compile(r"delay (\S+) s")
_AT = re.compile(r"at t=(\S+) s")
_TRIAL = re.compile(r"trial at t=(\S+) s")


def _run_end(source: Source, df: pd.DataFrame) -> float:
    """When the run ended: a ``Run`` knows (its last row may come earlier); else the last
    row's time."""
    elapsed = getattr(source, "elapsed", None)
    end = _end_time(df)
    return max(end, float(elapsed)) if isinstance(elapsed, int | float) else end


def _seconds_in(pattern: re.Pattern[str], text: object) -> float | None:
    found = pattern.search(_text(text))
    return None if found is None else float(found.group(1).rstrip(")"))


def lifecycle_chart(source: Source, *, limit: int = 500, title: str | None = None,
                    width: int = 600) -> alt.LayerChart:
    """An actor tree's lifecycle over time: one lane per actor (in spawn order), a bar for
    each incarnation **running** (its task's spawn to its stop) and for each **backoff**
    wait (a ``restart`` row's delay), and marks for each **fail**, **restart**,
    **escalate** (on the supervisor's lane) and supervisor **stop** (with its reason in the
    tooltip). OTP supervision and Akka backoff, drawn from the trace rows of
    ``labkit.supervision``; at most ``limit`` bars and ``limit`` marks."""
    limit = _how_many("limit", limit)
    title = _optional_str("title", title)
    width = _pixels("width", width)
    df = _frame(source).sort_values("seq", kind="stable")
    end = _run_end(source, df)
    actor_rows = df["model"] == "actor"
    spawns = df[(df["kind"] == "spawn") & actor_rows & df["peer"].notna()]
    lanes = list(dict.fromkeys(str(p) for p in spawns["peer"]
                               if not str(p).startswith("post-")))
    wanted = set(lanes)
    ends = df[(df["kind"] == "stop") & df["peer"].isna() & df["actor"].isin(wanted)]
    bars: list[dict[str, Any]] = []
    started = spawns[spawns["peer"].isin(wanted)]
    for name, seq, time in zip(started["peer"].tolist(), started["seq"].tolist(),
                               started["time"].tolist(), strict=True):
        later = ends[(ends["actor"] == name) & (ends["seq"] > seq)]
        stop = float(later["time"].iloc[0]) if len(later) else end
        bars.append({"lane": str(name), "what": "running", "start": _r(time),
                     "end": _r(stop), "detail": ""})
    events = df[actor_rows & df["actor"].isin(wanted) & (
        (df["kind"].isin(("fail", "restart", "escalate")))
        | ((df["kind"] == "stop") & df["peer"].notna()))]
    restarts = events[events["kind"] == "restart"]
    for name, seq, time, detail in zip(restarts["actor"].tolist(), restarts["seq"].tolist(),
                                       restarts["time"].tolist(),
                                       restarts["detail"].tolist(), strict=True):
        delay = _seconds_in(_DELAY, detail)
        if delay:  # until the restart (the detail's delay is rounded), if it came
            again = spawns[(spawns["peer"] == name) & (spawns["seq"] > seq)]
            until = float(again["time"].iloc[0]) if len(again) else min(time + delay, end)
            bars.append({"lane": str(name), "what": "backoff", "start": _r(time),
                         "end": _r(until), "detail": _text(detail)})
    columns = ["lane", "what", "start", "end", "duration_ms", "detail"]
    spans = pd.DataFrame(bars, columns=[*columns[:4], "detail"]).head(limit)
    spans["duration_ms"] = ((spans["end"] - spans["start"]) * 1000).map(_r)
    spans = spans[columns]
    # A supervisor's exit by Escalation is its escalate mark: no second (fail) mark.
    events = events[~((events["kind"] == "fail") & (events["msg_type"] == "Escalation"))]
    marks = pd.DataFrame({
        "lane": events["actor"].astype(str), "what": events["kind"].astype(str),
        "time": events["time"].map(_r), "cause": events["msg_type"].map(_text),
        "detail": events["detail"].map(_text)}).head(limit).reset_index(drop=True)
    # a failure and its restart come at one instant: failures above the bar, the
    # supervisor's answers below
    marks["offset"] = [-6 if w in ("fail", "escalate") else 6 for w in marks["what"]]
    shown = [w for w in _LIFECYCLE if w in set(spans["what"]) | set(marks["what"])]
    color = alt.Color("what:N", title="state / event", scale=alt.Scale(
        domain=shown, range=[_LIFECYCLE[w] for w in shown]))
    y = alt.Y("lane:N", title="actor", sort=lanes)
    running = alt.Chart(spans).mark_bar(height={"band": 0.5}).encode(
        x=alt.X("start:Q", title="time (s)"), x2="end:Q", y=y, color=color,
        tooltip=[alt.Tooltip("lane:N", title="actor"), alt.Tooltip("what:N", title="state"),
                 alt.Tooltip("start:Q", title="from (s)", format=".6~f"),
                 alt.Tooltip("end:Q", title="to (s)", format=".6~f"),
                 alt.Tooltip("duration_ms:Q", title="duration (ms)", format=".3~f"),
                 alt.Tooltip("detail:N", title="why")])
    points = alt.Chart(marks).mark_point(filled=True, size=90, opacity=1).encode(
        x=alt.X("time:Q", title="time (s)"), y=y, color=color,
        yOffset=alt.YOffset("offset:Q", scale=None),
        shape=alt.Shape("what:N", legend=None, scale=alt.Scale(
            domain=list(_LIFECYCLE_SHAPES), range=list(_LIFECYCLE_SHAPES.values()))),
        tooltip=[alt.Tooltip("lane:N", title="actor"), alt.Tooltip("what:N", title="event"),
                 alt.Tooltip("time:Q", title="time (s)", format=".6~f"),
                 alt.Tooltip("cause:N", title="error"), alt.Tooltip("detail:N", title="why")])
    chart = alt.LayerChart(layer=[running, points]).properties(
        title=title or "Actor lifecycle: running, backoff waits, failures, restarts, "
                       "escalations",
        width=width, height=max(60, 28 * len(lanes)))
    return chart


def _breaker_spans(rows: pd.DataFrame, start: float, end: float) -> list[dict[str, Any]]:
    """One breaker's state spans from its ``breaker`` rows (``"old -> new: why"``). The
    breaker turns half-open when its timeout passes, read or not: an open span ends at its
    ``trial at t=...``, and a later ``open -> half_open`` row starts at its ``at t=...``."""
    changes: list[tuple[float, str, str]] = []
    for at, detail in zip(rows["time"].tolist(), rows["detail"].tolist(), strict=True):
        head, _, why = _text(detail).partition(": ")
        state = head.split(" -> ")[-1].strip()
        time = float(at)
        if state == "half_open":
            time = _seconds_in(_AT, why) or time
        changes.append((time, state, why))
        if state == "open":
            trial = _seconds_in(_TRIAL, why)
            if trial is not None:
                changes.append((trial, "half_open", "reset timeout passed"))
    spans: list[dict[str, Any]] = []
    state, since, why = "closed", start, ""
    for time, new, reason in sorted(changes, key=lambda c: c[0]):
        if new == state:
            continue
        if time > since:
            spans.append({"state": state, "start": _r(since), "end": _r(time), "why": why})
        state, since, why = new, time, reason
    if end > since:
        spans.append({"state": state, "start": _r(since), "end": _r(end), "why": why})
    return spans


def breaker_chart(source: Source, breaker: str | None = None, *, title: str | None = None,
                  width: int = 600) -> alt.Chart:
    """A circuit breaker's state over time (Akka ``CircuitBreaker``): closed, open and
    half-open as coloured spans, one lane per breaker (``breaker``: only that one), from
    the ``breaker`` rows of ``labkit.supervision.CircuitBreaker``."""
    breaker = _optional_str("breaker", breaker)
    title = _optional_str("title", title)
    width = _pixels("width", width)
    df = _frame(source).sort_values("seq", kind="stable")
    rows = df[df["kind"] == "breaker"]
    names = list(dict.fromkeys(str(a) for a in rows["actor"]))
    if breaker is not None:
        if breaker not in names:
            raise ValueError(f"no circuit breaker named {breaker!r} in this trace; "
                             f"breakers: {names}")
        names = [breaker]
    start = float(df["time"].min()) if len(df) else 0.0
    end = _run_end(source, df)
    spans = [{"breaker": name, **span} for name in names
             for span in _breaker_spans(rows[rows["actor"] == name], start, end)]
    data = pd.DataFrame(spans, columns=["breaker", "state", "start", "end", "why"])
    data["duration_s"] = (data["end"] - data["start"]).map(_r)
    chart: alt.Chart = alt.Chart(data).mark_bar(height={"band": 0.6}).encode(
        x=alt.X("start:Q", title="time (s)"), x2="end:Q",
        y=alt.Y("breaker:N", title="breaker", sort=names),
        color=alt.Color("state:N", title="state", scale=alt.Scale(
            domain=list(_BREAKER), range=list(_BREAKER.values()))),
        tooltip=[alt.Tooltip("breaker:N", title="breaker"),
                 alt.Tooltip("state:N", title="state"),
                 alt.Tooltip("start:Q", title="from (s)", format=".6~f"),
                 alt.Tooltip("end:Q", title="to (s)", format=".6~f"),
                 alt.Tooltip("duration_s:Q", title="duration (s)", format=".6~f"),
                 alt.Tooltip("why:N", title="why")],
    ).properties(title=title or "Circuit breaker state over time" + (
        f": {breaker}" if breaker else ""), width=width, height=max(40, 32 * len(names)))
    return chart


# -- journal and replay ----------------------------------------------------------------------

def _frame_with(name: str, df: object, columns: Sequence[str], what: str) -> pd.DataFrame:
    """``df`` checked: a DataFrame that has ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, {what}, got {describe(df)}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} needs the columns {list(columns)}; {missing} missing "
                         f"(it has {list(df.columns)})")
    return df


def recovery_chart(df: pd.DataFrame, *, y: str = "recovery_s", color: str | None = None,
                   title: str | None = None, width: int = 420,
                   height: int = 240) -> alt.LayerChart:
    """Recovery time against snapshot interval: how long an event-sourced actor takes to
    get its state back (latest snapshot + the events after it) when it snapshots every
    ``snapshot_every`` events. Frequent snapshots mean few events to replay, at the price
    of writing snapshots while running.

    ``df``: one row per run, with ``snapshot_every`` (events between snapshots) and ``y``
    (``"recovery_s"``, seconds on the run's clock; or ``"events_replayed"``, a count);
    ``events_replayed`` is shown in the tooltip when present. ``color`` names a column
    that tells lines apart (``"model"`` uses :data:`PALETTE`; ``"backend"``...)."""
    y = check_choice("y", y, ("recovery_s", "events_replayed"))
    color = _optional_str("color", color) or None
    title = _optional_str("title", title)
    width, height = _pixels("width", width), _pixels("height", height)
    keys = ["snapshot_every", y, *([color] if color else [])]
    frame = _frame_with("df", df, keys, "one row per run (snapshot_every, recovery_s)")
    extra = ["events_replayed"] if "events_replayed" in frame.columns and y != \
        "events_replayed" else []
    data = frame[list(dict.fromkeys(keys + extra))].dropna(subset=["snapshot_every", y])
    data = data.sort_values([*([color] if color else []), "snapshot_every"], kind="stable")
    data = data.reset_index(drop=True)
    data[y] = data[y].astype("float64").map(_r)
    label = "recovery time (s)" if y == "recovery_s" else "events replayed on recovery"
    enc: dict[str, Any] = {
        "x": alt.X("snapshot_every:Q", title="snapshot interval (events)",
                   axis=alt.Axis(values=sorted({_r(v) for v in data["snapshot_every"]}))),
        "y": alt.Y(f"{y}:Q", title=label, scale=alt.Scale(zero=True)),
        "tooltip": [*([alt.Tooltip(f"{color}:N", title=color)] if color else []),
                    alt.Tooltip("snapshot_every:Q", title="snapshot every (events)"),
                    alt.Tooltip(f"{y}:Q", title=label, format=".6~f"),
                    *[alt.Tooltip(f"{c}:Q", title="events replayed") for c in extra]]}
    if color == "model":
        data["model"] = data["model"].where(data["model"].isin(list(PALETTE)), "other")
        enc["color"] = model_color(models=_present(data))
    elif color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    else:
        enc["color"] = alt.value(PALETTE["actor"])
    lines = alt.Chart().mark_line().encode(**enc)
    points = alt.Chart().mark_point(filled=True, size=40).encode(**enc)
    chart = cast("alt.LayerChart", alt.layer(lines, points, data=data)).properties(
        title=title or "Recovery time against snapshot interval", width=width,
        height=height)
    return chart


#: The delivery guarantees in the order a learner meets them.
_GUARANTEES = ("at-most-once", "at-least-once", "effectively-once")


def delivery_chart(df: pd.DataFrame, *, title: str | None = None, width: int = 220,
                   height: int = 220) -> alt.FacetChart:
    """Duplicates and losses per delivery guarantee: one panel per count, a bar per
    guarantee (``mode``) and model. At-most-once loses what a crashed worker held;
    at-least-once resends it and so handles some twice; effectively-once (resend +
    dedup) shows neither.

    ``df``: one row per run with ``mode`` (``"at-most-once"``, ``"at-least-once"``,
    ``"effectively-once"``, or any other label), ``model`` (``"go"``, ``"rust"``,
    ``"actor"``: coloured by :data:`PALETTE`), ``duplicates`` and ``losses`` (message
    counts); ``sent`` is shown in the tooltip when present."""
    title = _optional_str("title", title)
    width, height = _pixels("width", width), _pixels("height", height)
    frame = _frame_with("df", df, ["mode", "model", "duplicates", "losses"],
                        "one row per run (mode, model, duplicates, losses)")
    extra = ["sent"] if "sent" in frame.columns else []
    data = frame[["mode", "model", *extra, "duplicates", "losses"]].melt(
        id_vars=["mode", "model", *extra], value_vars=["duplicates", "losses"],
        var_name="count", value_name="messages")
    data["model"] = data["model"].where(data["model"].isin(list(PALETTE)), "other")
    data["mode"] = data["mode"].astype(str)
    data["messages"] = data["messages"].fillna(0).astype("int64")
    modes = [m for m in _GUARANTEES if m in set(data["mode"])]
    modes += sorted(set(data["mode"]) - set(modes))
    models = [m for m in PALETTE if m in set(data["model"])]
    data = data.sort_values(["count", "mode", "model"], kind="stable").reset_index(drop=True)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("mode:N", title="delivery guarantee", sort=modes,
                axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("model:N", sort=models),
        y=alt.Y("messages:Q", title="messages", axis=alt.Axis(tickMinStep=1)),
        color=model_color(models=models),
        tooltip=[alt.Tooltip("mode:N", title="guarantee"),
                 alt.Tooltip("model:N", title="model"),
                 alt.Tooltip("count:N", title="count"),
                 alt.Tooltip("messages:Q", title="messages"),
                 *[alt.Tooltip(f"{c}:Q", title="messages sent") for c in extra]],
    ).properties(width=width, height=height)
    chart: alt.FacetChart = bars.facet(
        column=alt.Column("count:N", title=None, sort=["duplicates", "losses"])).properties(
        title=title or "Duplicates and losses per delivery guarantee")
    return chart


# -- comparison ------------------------------------------------------------------------------

#: The chart builders :func:`compare` knows by name.
CHARTS: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "timeline": timeline,
    "depth": depth_chart,
    "latency": latency_chart,
    "throughput": throughput_chart,
    "sequence": sequence_diagram,
    "load": load_chart,
})
#: Which axis of each chart holds actor lanes (kept per panel; the time/value axes are shared).
_LANE_AXIS = {"timeline": "y", "sequence": "x", "load": "x"}
#: Charts 600 px wide by default, narrowed by :func:`compare` to fit side by side.
_WIDE = ("depth", "latency", "throughput")


def compare(runs: Mapping[str, Source],
            chart: str = "depth",
            *, direction: Literal["horizontal", "vertical"] | None = None,
            title: str | None = None, **options: Any) -> alt.HConcatChart | alt.VConcatChart:
    """Two (or more) runs of one workload side by side on shared axes, coloured by model from
    :data:`PALETTE`: ``compare({"Go": go_run, "Rust": rust_run}, chart="latency")``.

    Each panel is titled by its key. Time and value scales are shared (``resolve_scale``),
    so equal lengths mean equal seconds, messages or ms in every panel; actor lanes stay per
    panel. Throughput windows and latency bins are computed once for all runs so the bars
    line up. ``chart`` is a key of :data:`CHARTS`; ``options`` go to its builder
    (``limit=``, ``window=``, ...).
    """
    return cast("alt.HConcatChart | alt.VConcatChart", build(compare_parts(
        runs, chart, direction=direction, title=title, **options)))


def compare_parts(runs: Mapping[str, Source], chart: str = "depth",
                  *, direction: Literal["horizontal", "vertical"] | None = None,
                  title: str | None = None, **options: Any) -> Parts:
    """:func:`compare` taken apart (see :class:`Parts`): ``build(compare_parts(...))`` is
    ``compare(...)``, and :func:`spec` draws it from a template."""
    chart = check_choice("chart", chart, CHARTS)
    if not isinstance(runs, Mapping):
        raise TypeError(f"runs must be a dict of label -> run, e.g. {{'Go': go_run, 'Rust': "
                        f"rust_run}}, got {describe(runs)}")
    if not runs:
        raise ValueError("compare needs at least one run, e.g. {'Go': go_run, 'Rust': rust_run}")
    if direction is not None:
        direction = cast("Literal['horizontal', 'vertical']",
                         check_choice("direction", direction, ("horizontal", "vertical")))
    title = _optional_str("title", title)
    builder = CHARTS[chart]
    known = [name for name in inspect.signature(builder).parameters if name != "source"]
    for name in options:
        if name not in known or name == "title":
            raise TypeError(f"the {chart} chart has no option {name!r} (compare sets the "
                            f"titles); its options: {', '.join(o for o in known if o != 'title')}")
    datas = {label: _Data(src) for label, src in runs.items()}
    opts = dict(options)
    if chart == "throughput" and opts.get("window") is None:
        longest = max(data.span()[1] for data in datas.values())
        opts["window"] = _auto_window(longest, _how_many("max_points",
                                                         opts.get("max_points", MAX_POINTS)))
    if chart == "latency" and opts.get("bin_width_ms") is None:
        tops = [lat.top for lat in (data.latencies() for data in datas.values())
                if len(lat.ms)]
        top = max(tops, default=0.0)
        bins = _how_many("bins", opts.get("bins", 30))
        opts["bin_width_ms"] = _nice(top / bins) if top > 0 else 1.0
    if direction is None:
        direction = "vertical" if chart == "timeline" else "horizontal"
    if direction == "horizontal" and chart in _WIDE and "width" not in opts:
        # side by side, the panels share about one notebook width
        opts["width"] = min(600, max(240, 840 // len(datas)))
    # each panel from its run (what it derives is kept with the trace: _Data)
    panels = tuple(_PARTS[chart](src, title=str(label), **opts) for label, src in runs.items())
    heading = title if title is not None else \
        f"{' vs '.join(str(k) for k in runs)}: {_TITLES[chart]}"
    return Parts("compare", _shape(chart=chart, direction=direction), {},
                 {"title": heading}, panels)


def _compare_build(parts: Parts) -> alt.HConcatChart | alt.VConcatChart:
    chart, direction, heading = parts.get("chart"), parts.get("direction"), parts.fills["title"]
    panels = [build(panel) for panel in parts.children]
    share_palette(panels)
    # One zoom, one legend and one message pick for all the panels: a parameter at the top
    # listing every panel's view (the time scale is shared, so a zoom in one zooms all).
    shared = share_params(panels, chart)
    combined: alt.HConcatChart | alt.VConcatChart
    if direction == "vertical":
        combined = alt.vconcat(*panels, title=heading)
    else:
        combined = alt.hconcat(*panels, title=heading)
    lane = _LANE_AXIS.get(chart)
    resolved: alt.HConcatChart | alt.VConcatChart = combined.resolve_scale(
        x="independent" if lane == "x" else "shared",
        y="independent" if lane == "y" else "shared",
        color="shared",
        # queue names differ between runs: each panel's first queue gets a solid line
        strokeDash="independent",
    )
    resolved.params = shared
    return resolved


def share_params(panels: Sequence[Any], name: str = "panel") -> list[Any]:
    """Before putting charts side by side, take their parameters (zoom, legend, message
    pick) off ``panels`` and return them as one top-level parameter per name, listing every
    panel's view: give them to the concatenation (``combined.params = ...``), and a zoom or a
    pick in one panel acts in all. Views are named ``<name>_<panel>`` (a layer:
    ``<name>_<layer>_<panel>``, which Altair's renaming of layers in a concatenation leaves
    as it is). :func:`compare` does this for you."""
    name = check_str("name", name)
    shared: dict[str, tuple[dict[str, Any], list[str]]] = {}

    def add(param: Any, view: str) -> None:
        definition = {k: v for k, v in param.to_dict().items() if k != "views"}
        shared.setdefault(definition["name"], (definition, []))[1].append(view)

    for i, panel in enumerate(panels):
        params = panel.params if panel.params is not alt.Undefined else []
        if isinstance(panel, alt.LayerChart):
            for param in params:  # already lifted to the layer chart, with their views
                for j, layer in enumerate(panel.layer):
                    if layer.name in (param.views or []):
                        add(param, f"{name}_{j}_{i}")
            for j, layer in enumerate(panel.layer):
                if any(layer.name in (p.views or []) for p in params):
                    layer.name = f"{name}_{j}_{i}"
        else:
            panel.name = f"{name}_{i}"
            for param in params:
                add(param, panel.name)
        panel.params = alt.Undefined
    # from the panels' own (valid) parameters: no schema validation, which costs ms
    return [alt.TopLevelSelectionParameter.from_dict({**definition, "views": views},
                                                     validate=False)
            for definition, views in shared.values()]


_TITLES = {
    "timeline": "when each message waited and was handled",
    "depth": "queue depth over time",
    "latency": "latency from send to receive",
    "throughput": "messages received per second",
    "sequence": "message sequence",
    "load": "messages handled per worker",
}


# -- redrawing fast: templates ----------------------------------------------------------------
# Building a spec through Altair's object model costs far more than computing its data (it
# validates channels, deep-copies sub-charts, hashes every dataset): about 60 % of a two-panel
# dashboard's redraw. A dashboard redraws runs of one shape over and over, so :func:`spec`
# builds each shape once, with marker rows for data and marker strings for text (the
# template), and then only copies the template with the new rows and text put in. Datasets
# get names by their role (``labkit_<path>``), the same for every run, so a live chart can be
# sent only the new rows (:func:`data_updates`). The result equals ``build(parts).to_dict()``
# but for those dataset names (tests/test_viz.py checks it, chart by chart).

#: Parts makers and builders by name (``CHARTS`` keys, ``compare``, ``stack``).
_PARTS: Mapping[str, Callable[..., Parts]] = MappingProxyType({
    "timeline": _timeline_parts,
    "depth": _depth_parts,
    "latency": _latency_parts,
    "throughput": _throughput_parts,
    "sequence": _sequence_parts,
    "load": _load_parts,
})


def _stack_build(parts: Parts) -> alt.VConcatChart:
    return alt.vconcat(*(build(child) for child in parts.children))


_BUILDS: Mapping[str, Callable[[Parts], Any]] = MappingProxyType({
    "timeline": _timeline_build,
    "depth": _depth_build,
    "latency": _latency_build,
    "throughput": _throughput_build,
    "sequence": _sequence_build,
    "load": _load_build,
    "compare": _compare_build,
    "stack": _stack_build,
})

#: Where a chart's rows sit in virtual time, for scrubbing (:data:`PARAMS` ``"time"``):
#: (chart, data role) -> the field that says when a row is complete. Rows of other roles
#: (lifelines, latency bins, load bars) are the same at every instant.
_TIMED: Mapping[tuple[str, str], str] = MappingProxyType({
    ("timeline", "bars"): "end",
    ("depth", "lines"): "time",
    ("throughput", "lines"): "window_end",
    ("sequence", "arrows"): "received",
    ("sequence", "drops"): "time",
})


def parts(chart: str, source: Source, **options: Any) -> Parts:
    """The chart ``CHARTS[chart](source, **options)`` taken apart (see :class:`Parts`):
    ``build(parts(...))`` is that chart, and :func:`spec` draws it from a template."""
    chart = check_choice("chart", chart, _PARTS)
    return _PARTS[chart](source, **options)


#: A chart to get ready for (:func:`prepare`): a key of :data:`CHARTS`, or one with its
#: options, as a dashboard lists its charts (``("latency", {"kind": "ecdf"})``).
ChartEntry: TypeAlias = "str | tuple[str, Mapping[str, Any]]"


def prepare(source: Source, charts: Sequence[ChartEntry]) -> None:
    """Work out now, and keep with the trace, what each of ``charts`` (keys of
    :data:`CHARTS`, or ``(key, options)``) draws of this one run whatever it is compared
    with: a depth chart's lines, every message's latency, the percentiles and how they
    grew, receive times. A run made in a worker process and prepared there comes back
    (pickled) with them, so that :func:`compare_parts` here only does what depends on all
    the runs (shared bins, windows, widths). Nothing is drawn; preparing twice costs
    nothing. (Of timeline, sequence and load only this process's frames are made: they do
    not travel.) A DataFrame keeps nothing: prepare its :class:`Trace` instead."""
    _Data(source)  # a TypeError for anything but a trace, run or frame
    entries = check_sequence("charts", charts, _chart_entry, allow_empty=True)
    for name, options in entries:
        parts(name, source, **options)


def _chart_entry(name: str, value: object) -> tuple[str, dict[str, Any]]:
    chart, options = value if isinstance(value, tuple) and len(value) == 2 else (value, {})
    if not isinstance(options, Mapping):
        raise TypeError(f"{name} must be a chart name or (name, options), with options a "
                        f"dict, got {describe(value)}")
    return check_choice(name, chart, CHARTS), dict(options)


def prepared(scenario: Callable[..., Run[Any]], params: Mapping[str, Any],
             charts: Sequence[ChartEntry]) -> Run[Any]:
    """``scenario(**params)``, with :func:`prepare` done for ``charts``: what a worker
    process is asked for (``labkit.workers.run(viz.prepared, [{"scenario": ...,
    "params": ..., "charts": ...}])``), so that the run comes back ready to draw."""
    run = scenario(**params)
    prepare(run, charts)
    return run


def stack_parts(charts: Sequence[Parts]) -> Parts:
    """Several charts' parts, one above the other (``alt.vconcat``)."""
    children = tuple(check_sequence("charts", charts, _check_parts))
    return Parts("stack", (), {}, {}, children)


def _check_parts(name: str, value: object) -> Parts:
    if not isinstance(value, Parts):
        raise TypeError(f"{name} must be viz.Parts (from viz.parts or viz.compare_parts), "
                        f"got {describe(value)}")
    return value


def build(chart: Parts) -> Any:
    """The Altair chart of ``chart``'s parts."""
    return _BUILDS[_check_parts("chart", chart).name](chart)


def _key(chart: Parts) -> Hashable:
    """What fixes a chart's template: its name, shape, data roles (a load chart coloured by
    ``model=`` has no counts per time slot) and its children's."""
    return (chart.name, chart.shape, tuple(chart.frames),
            tuple(_key(c) for c in chart.children))


_MARK = "__labkit_role__"
_HOLE = "\x00labkit:"


def _flat(chart: Parts, path: str = "") -> Iterator[tuple[str, str, Parts]]:
    """Every (path, chart name, parts) in ``chart``, children after their parent."""
    yield path, chart.name, chart
    for i, child in enumerate(chart.children):
        yield from _flat(child, f"{path}{i}_")


def _placeholder(chart: Parts, path: str = "") -> Parts:
    """``chart`` with marker rows for its data and marker strings for its text."""
    frames = {role: pd.DataFrame({_MARK: [f"{path}{role}"]}) for role in chart.frames}
    fills = {name: [f"{_HOLE}{path}{name}"] if isinstance(value, list)
             else f"{_HOLE}{path}{name}" for name, value in chart.fills.items()}
    children = tuple(_placeholder(c, f"{path}{i}_") for i, c in enumerate(chart.children))
    return chart._replace(frames=frames, fills=fills, children=children)


class _Template(NamedTuple):
    spec: dict[str, Any]                    # the spec, datasets empty, text as markers
    datasets: dict[str, tuple[str, str]]    # dataset name -> (path, role)
    extents: list[tuple[int, str, list[str]]]  # time axes: (param index, dataset, fields)


_TEMPLATES: dict[Hashable, _Template] = {}
_MAX_TEMPLATES = 64


def _template(chart: Parts) -> _Template:
    key = _key(chart)
    found = _TEMPLATES.get(key)
    if found is not None:
        return found
    spec: dict[str, Any] = build(_placeholder(chart)).to_dict(validate=False)
    names: dict[str, str] = {}
    datasets: dict[str, tuple[str, str]] = {}
    roles = {f"{path}{role}": (path, role) for path, _, c in _flat(chart) for role in c.frames}
    for old, rows in spec.pop("datasets", {}).items():
        if len(rows) == 1 and set(rows[0]) == {_MARK} and rows[0][_MARK] in roles:
            name = "labkit_" + rows[0][_MARK]
            names[old] = name
            datasets[name] = roles[rows[0][_MARK]]
    _rename_data(spec, names)
    kinds = {path: name for path, name, _ in _flat(chart)}
    timed = {name: _TIMED[(kinds[path], role)] for name, (path, role) in datasets.items()
             if (kinds[path], role) in _TIMED}
    _count_by_time(spec, datasets, kinds, {p: c for p, _, c in _flat(chart)})
    extents = _add_time_param(spec, lambda _unit, dataset: timed.get(dataset or ""))
    assert extents is not None  # always
    _lift_fills(spec)
    if len(_TEMPLATES) >= _MAX_TEMPLATES:
        _TEMPLATES.pop(next(iter(_TEMPLATES)))
    _TEMPLATES[key] = _Template(spec, datasets, extents)
    return _TEMPLATES[key]


def _lift_fills(spec: dict[str, Any]) -> None:
    """Make the text and lists a template fills in where Vega-Lite takes an expression
    (a subtitle; a scale's domain: actor lanes, workers in order) parameters of the spec,
    ``labkit_<path><name>``, that the fills set: another run's subtitle or lanes are then
    new parameter values, which a live chart takes without being rebuilt
    (:func:`data_updates`), not a new spec."""
    params = spec["params"]
    lifted: set[str] = set()

    def lift(marker: str, value: Any) -> dict[str, str]:
        name = "labkit_" + marker.removeprefix(_HOLE)
        if name not in lifted:
            lifted.add(name)
            params.append({"name": name, "value": value})
        return {"expr": name}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            subtitle, domain = node.get("subtitle"), node.get("domain")
            if isinstance(subtitle, str) and subtitle.startswith(_HOLE):
                node["subtitle"] = lift(subtitle, subtitle)
            if isinstance(domain, list) and len(domain) == 1 and \
                    isinstance(domain[0], str) and domain[0].startswith(_HOLE):
                node["domain"] = lift(domain[0], domain)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in spec.items() if k != "params"})


#: Charts that count things over the whole run (latency bins, messages per worker) are
#: drawn, in a template, from their counts per time slot (the parts' ``<role>_by_time``
#: frame): these transforms keep the slots that ended by the instant shown and add them
#: up, which at ``null`` (all of it) gives the chart's own rows.
_KEEP_SLOTS = {"filter": f"{PARAMS['time']} === null || datum.at <= {PARAMS['time']}"}
_BY_TIME: Mapping[tuple[str, str], list[dict[str, Any]]] = MappingProxyType({
    ("latency", "bars"): [_KEEP_SLOTS, {
        "aggregate": [{"op": "sum", "field": "messages", "as": "messages"}],
        "groupby": ["bin_start", "bin_end", "model"]}],
    ("latency", "marks"): [{"filter": (
        f"{PARAMS['time']} === null ? datum.until === null : datum.from <= {PARAMS['time']}"
        f" && (datum.until === null || {PARAMS['time']} < datum.until)")}],
    ("load", "bars"): [_KEEP_SLOTS, {
        "aggregate": [{"op": "sum", "field": "messages", "as": "messages"}],
        "groupby": ["actor", "model"]}, {
        "joinaggregate": [{"op": "sum", "field": "messages", "as": "total"}]}, {
        "calculate": "datum.total ? round(datum.messages / datum.total * 1e6) / 1e6 : 0",
        "as": "share"}],
})


def _count_by_time(spec: dict[str, Any], datasets: dict[str, tuple[str, str]],
                   kinds: Mapping[str, str], by_path: Mapping[str, Parts]) -> None:
    """Draw the counting charts' units from their counts per time slot (see _BY_TIME)."""
    switch: dict[str, str] = {}
    for name, (path, role) in list(datasets.items()):
        if (kinds[path], role) in _BY_TIME and f"{role}_by_time" in by_path[path].frames:
            switch[name] = f"{name}_by_time"
            datasets[f"{name}_by_time"] = (path, f"{role}_by_time")
    used: set[str] = set()
    for unit, data in _units(spec):
        found = data.get("name") if isinstance(data, dict) else None
        if not isinstance(found, str):
            continue
        if found in switch and unit.get("data") is data:
            unit["data"] = {**unit["data"], "name": switch[found]}
            path, role = datasets[found]
            unit["transform"] = [dict(t) for t in _BY_TIME[(kinds[path], role)]] + \
                list(unit.get("transform", []))
            found = switch[found]
        used.add(found)
    for name in list(datasets):
        if name not in used:
            del datasets[name]


def _rename_data(node: Any, names: Mapping[str, str]) -> None:
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") in names:
            node["data"] = {**data, "name": names[data["name"]]}
        for value in node.values():
            _rename_data(value, names)
    elif isinstance(node, list):
        for value in node:
            _rename_data(value, names)


def _units(spec: Mapping[str, Any], data: Any = None) -> Iterator[tuple[dict[str, Any], Any]]:
    """Every unit spec with an encoding, in document order, with the data it draws."""
    data = spec.get("data", data)
    if isinstance(spec.get("encoding"), dict):
        yield cast("dict[str, Any]", spec), data
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, ()):
            yield from _units(child, data)


def _time_x(unit: Mapping[str, Any], *, loose: bool = False) -> list[str]:
    """The fields of ``unit``'s x axis when it is quantitative virtual time: titled
    "time (s)" (labkit's charts) or, ``loose``, any title with "time (s" in it (a
    notebook's own "virtual time (s)"); x2's field last. Empty for anything else."""
    x = unit["encoding"].get("x")
    if not isinstance(x, dict) or x.get("type") != "quantitative" or x.get("aggregate"):
        return []
    title = x.get("title", (x.get("axis") or {}).get("title"))
    if not isinstance(title, str) or not (title == "time (s)" or (loose and "time (s" in title)):
        return []
    x2 = unit["encoding"].get("x2")
    return [f for f in (x.get("field"), x2.get("field") if isinstance(x2, dict) else None)
            if isinstance(f, str)]


def _add_time_param(spec: dict[str, Any], field_of: Callable[[dict[str, Any], str | None],
                                                             str | None], *,
                    always: bool = True) -> list[tuple[int, str, list[str]]] | None:
    """Make virtual time a parameter of ``spec`` (:data:`PARAMS` ``"time"``, seconds;
    ``null`` shows everything): every unit for which ``field_of(unit, dataset)`` names a
    field keeps only the rows with that field at or before the instant, and its time axis
    keeps the whole run's extent (a parameter per axis, set from the data), so the picture
    grows into still axes. The extents, or ``None`` when no unit is timed and not
    ``always``."""
    name = PARAMS["time"]
    params: list[Any] = list(spec.get("params", []))
    params.append({"name": name, "value": None})
    extents: list[tuple[int, str, list[str]]] = []
    timed = False
    for unit, data in _units(spec):
        dataset = data.get("name") if isinstance(data, dict) else None
        field = field_of(unit, dataset if isinstance(dataset, str) else None)
        if field is None:
            continue
        timed = True
        unit["transform"] = [{"filter": f"{name} === null || datum[{json.dumps(field)}] <= "
                                        f"{name}"}, *unit.get("transform", [])]
        x = unit["encoding"]["x"]
        fields = _time_x(unit, loose=True)
        if not fields or not isinstance(dataset, str) or "bin" in x:
            continue
        extent = f"{name}_extent_{len(extents)}"
        params.append({"name": extent, "value": 0})
        x["scale"] = {**(x.get("scale") or {}), "domain": {"expr": f"[0, {extent}]"},
                      "nice": True}
        extents.append((len(params) - 1, dataset, fields))
    if not (timed or always):
        return None
    spec["params"] = params
    return extents


def with_time(chart: Mapping[str, Any]) -> dict[str, Any] | None:
    """A copy of a chart's Vega-Lite spec (``chart.to_dict()``, e.g. a notebook's own chart)
    with virtual time as a parameter, as :func:`spec` gives labkit's charts: every view
    whose x axis is quantitative virtual time (its title has "time (s" in it, as in
    "virtual time (s)") keeps the rows at or before the instant (x2's field if it has one,
    else x's). ``None`` when no view has such an axis."""
    if not isinstance(chart, Mapping):
        raise TypeError(f"chart must be a Vega-Lite spec (a dict), got {describe(chart)}")
    out: dict[str, Any] = json.loads(json.dumps(chart))

    def field_of(unit: dict[str, Any], _dataset: str | None) -> str | None:
        fields = _time_x(unit, loose=True)
        return fields[-1] if fields else None

    extents = _add_time_param(out, field_of, always=False)
    if extents is None:
        return None
    _set_time(out, extents, None)
    return out


def _fill(node: Any, fills: Mapping[str, Any]) -> Any:
    """A copy of a template node with its marker strings replaced by their values."""
    if isinstance(node, dict):
        return {k: _fill(v, fills) for k, v in node.items()}
    if isinstance(node, list):
        if len(node) == 1 and isinstance(node[0], str) and node[0].startswith(_HOLE):
            return list(fills[node[0]])
        return [_fill(v, fills) for v in node]
    if isinstance(node, str) and node.startswith(_HOLE):
        return fills[node]
    return node


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as Altair embeds them (``alt.utils.data.to_values``: Python numbers,
    NaN, infinities and NA as null), column by column, several times faster."""
    columns: list[list[Any]] = []
    for name in frame.columns:
        column = _column(frame[name])
        if column is None:  # dates, categories...: as Altair does it
            from altair.utils.data import to_values

            return cast("list[dict[str, Any]]", to_values(frame)["values"])
        columns.append(column)
    names = [str(c) for c in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] \
        if columns else [{} for _ in range(len(frame))]


def _column(series: pd.Series) -> list[Any] | None:
    """One column as JSON values, as Altair's sanitising gives them; ``None`` for a dtype
    left to Altair."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iub":
            return series.tolist()
        if dtype.kind == "f":
            values = series.tolist()
            if np.isfinite(series.to_numpy()).all():
                return values
            return [v if math.isfinite(v) else None for v in values]
        if dtype.kind != "O":
            return None
        out: list[Any] = []
        for v in series.tolist():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                out.append(None)
            elif isinstance(v, np.generic):
                out.append(v.item())
            elif isinstance(v, np.ndarray):
                out.append(v.tolist())
            else:
                out.append(v)
        return out
    if str(dtype) not in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
                          "UInt64", "Float32", "Float64", "string", "str", "boolean"):
        return None
    values = series.tolist()  # Python numbers and str; pd.NA or NaN where missing
    missing = series.isna().to_numpy()
    if not missing.any():
        return values
    return [None if gone else v for v, gone in zip(values, missing.tolist(), strict=True)]


def spec(chart: Parts, *, at: float | None = None) -> dict[str, Any]:
    """The Vega-Lite spec of ``chart``'s parts, from a template built once per shape.

    Equal to ``build(chart).to_dict()`` except that datasets are named by role
    (``labkit_<path>``) and virtual time is a parameter, :data:`PARAMS` ``"time"``: ``at``
    (seconds) shows the rows complete by then, on the whole run's axes; ``None`` shows
    everything, the same picture as the built chart."""
    chart = _check_parts("chart", chart)
    if at is not None:
        at = check_number("at", at, unit="seconds")
    template = _template(chart)
    by_path = {path: c for path, _, c in _flat(chart)}
    fills = {f"{_HOLE}{path}{name}": value for path, c in by_path.items()
             for name, value in c.fills.items()}
    out: dict[str, Any] = _fill(template.spec, fills)
    out["datasets"] = {name: _frame_records(by_path[path].frames, role)
                       for name, (path, role) in template.datasets.items()}
    _set_time(out, template.extents, at)
    return out


def _set_time(out: dict[str, Any], extents: Sequence[tuple[int, str, list[str]]],
              at: float | None) -> None:
    params = out["params"]
    for param in params:
        if param.get("name") == PARAMS["time"]:
            param["value"] = at
    for index, dataset, fields in extents:
        values = [row[f] for row in out.get("datasets", {}).get(dataset, ())
                  for f in fields if isinstance(row.get(f), int | float)]
        params[index]["value"] = max(values, default=0)


def data_updates(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """What turns the live chart of spec ``old`` into ``new``, both from :func:`spec`: the
    datasets and parameter values that changed, as ``alt.JupyterChart`` takes them
    (``_py_to_js_updates``); ``None`` when anything else differs (send the whole spec)."""
    for name, value in (("old", old), ("new", new)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a Vega-Lite spec (a dict, from viz.spec), got "
                            f"{describe(value)}")
    rest = [k for k in set(old) | set(new) if k not in ("datasets", "params")]
    if any(old.get(k) != new.get(k) for k in rest):
        return None
    old_params, new_params = old.get("params", []), new.get("params", [])
    if len(old_params) != len(new_params) or old.get("datasets", {}).keys() != \
            new.get("datasets", {}).keys():
        return None
    updates: list[dict[str, Any]] = []
    for before, after in zip(old_params, new_params, strict=True):
        if {k: v for k, v in before.items() if k != "value"} != \
                {k: v for k, v in after.items() if k != "value"}:
            return None
        if before.get("value") != after.get("value") and "select" not in after:
            updates.append({"namespace": "signal", "name": after["name"], "scope": [],
                            "value": after.get("value")})
    old_data = old.get("datasets", {})
    for name, rows in new.get("datasets", {}).items():
        if rows != old_data[name]:
            updates.append({"namespace": "data", "name": name, "scope": [], "value": rows})
    # data first, then the parameters that read it (extents, time)
    return [u for u in updates if u["namespace"] == "data"] + \
        [u for u in updates if u["namespace"] == "signal"]


# -- offline rendering -----------------------------------------------------------------------

def _vl_version() -> str | None:
    import vl_convert as vlc

    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vlc.get_vegalite_versions() else None


_FONTS_REGISTERED = False


def _vlc() -> Any:
    """vl-convert, with labkit's chart font registered (once per process)."""
    global _FONTS_REGISTERED
    import vl_convert as vlc

    if not _FONTS_REGISTERED:
        vlc.register_font_directory(str(Path(__file__).resolve().parent / "fonts"))
        _FONTS_REGISTERED = True
    return vlc


def _spec(chart: alt.TopLevelMixin | Mapping[str, Any]) -> dict[str, Any]:
    """The Vega-Lite spec, with :data:`FONT` as its default font unless it names one."""
    if not isinstance(chart, Mapping) and not callable(getattr(chart, "to_dict", None)):
        raise TypeError(f"chart must be an Altair chart or a Vega-Lite spec (a dict), got "
                        f"{describe(chart)}")
    spec = dict(chart) if isinstance(chart, Mapping) else dict(chart.to_dict())
    config = dict(spec.get("config") or {})
    config.setdefault("font", FONT)
    spec["config"] = config
    return spec


def to_svg(chart: alt.TopLevelMixin | Mapping[str, Any]) -> str:
    """The chart as an SVG document, rendered offline by vl-convert (no network access).
    Text is laid out with labkit's own font, so the SVG is the same on every machine."""
    vlc = _vlc()
    svg = vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version(), allowed_base_urls=[])
    return _renumber_clips(str(svg))


_CLIP = re.compile(r'(?<=id=")clip(\d+)(?=")|(?<=url\(#)clip(\d+)(?=\))')


def _renumber_clips(svg: str) -> str:
    """Number the SVG's clip paths 1, 2, ... in document order. Vega counts clip paths
    across every chart a process renders, and a zoomable (scale-bound) chart clips its marks,
    so without this the same chart would get other ids on a second render, and nbval would
    see a change."""
    numbers: dict[str, str] = {}

    def renumber(found: re.Match[str]) -> str:
        number = found.group(1) or found.group(2)
        return "clip" + numbers.setdefault(number, str(len(numbers) + 1))

    return _CLIP.sub(renumber, svg)


def to_png(chart: alt.TopLevelMixin | Mapping[str, Any], *, scale: float = 1.0) -> bytes:
    """The chart as PNG bytes, rendered offline by vl-convert (no network access);
    ``scale`` multiplies its size (2 for a sharp picture on a high-density screen)."""
    scale = check_number("scale", scale, minimum=0, above=True, maximum=10)
    vlc = _vlc()
    png = vlc.vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale,
                              allowed_base_urls=[])
    return bytes(png)


def to_html(chart: alt.TopLevelMixin | Mapping[str, Any], *, title: str = "labkit chart") -> str:
    """The chart as a self-contained, interactive web page: tooltips, zoom and pan, legend
    and message picks (see the module docstring). Vega, Vega-Lite and vega-embed come
    inlined from vl-convert's bundle, so the page loads nothing from the network; the
    static SVG is inside ``<noscript>`` for a browser without JavaScript."""
    title = check_str("title", title)
    vlc = _vlc()
    spec = _spec(chart)
    page = str(vlc.vegalite_to_html(spec, vl_version=_vl_version(), bundle=True))
    page = page.replace("<title>Chart</title>", f"<title>{html.escape(title)}</title>", 1)
    fallback = f"<noscript>\n{to_svg(spec)}\n</noscript>\n</body>"
    head, tail = page.rsplit("</body>", 1)
    return head + fallback + tail


def _svg_renderer(spec: dict[str, Any], **_metadata: Any) -> dict[str, str]:
    return {"image/svg+xml": to_svg(spec), "text/plain": "<labkit chart>"}


def _png_renderer(spec: dict[str, Any], **_metadata: Any) -> dict[str, str]:
    png = base64.b64encode(to_png(spec, scale=2.0)).decode("ascii")
    return {"image/png": png, "text/plain": "<labkit chart>"}


def enable_offline(mode: Literal["svg", "png", "widget"] = "svg") -> str:
    """Make Altair charts display in Jupyter with no internet access; returns the renderer
    name. ``svg`` (default) and ``png`` render static images with vl-convert: they show
    without a kernel (GitHub, nbviewer) and hold no random ids. ``widget`` is the live
    ``alt.JupyterChart`` with its JavaScript bundled (strip widget state before committing).
    See the module docstring for why SVG is the default."""
    check_choice("mode", mode, ("svg", "png", "widget"))
    if mode == "svg":
        alt.renderers.register("labkit-svg", _svg_renderer)
        alt.renderers.enable("labkit-svg")
        return "labkit-svg"
    if mode == "png":
        alt.renderers.register("labkit-png", _png_renderer)
        alt.renderers.enable("labkit-png")
        return "labkit-png"
    alt.JupyterChart.enable_offline()  # mode == "widget"
    alt.renderers.enable("jupyter", offline=True)
    return "jupyter"
