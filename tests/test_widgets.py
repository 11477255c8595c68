"""labkit.widgets: a dashboard re-runs its scenario when a control changes, scrubs virtual
time without re-simulating, compares models, shows errors in its status line and displays a
deterministic SVG for viewers without a kernel. ipywidgets works without a kernel."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("altair")
pytest.importorskip("vl_convert")

import ipywidgets

from labkit import Run, scenarios, viz
from labkit.trace import Trace, latency_percentiles
from labkit.widgets import Dashboard, as_control, truncate

# -- a small fake scenario: n messages sent at `rate` per second, each received 0.5 s later --


@dataclass(frozen=True)
class FakeResult:
    model: str
    n: int
    rate: float
    label: str


class Fake:
    """A scenario that records its calls and can be told to fail."""

    def __init__(self, fail_at_n: int | None = None, fail_model: str | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_at_n = fail_at_n
        self.fail_model = fail_model  # None: every model fails at fail_at_n

    def __call__(self, model: str = "go", n: int = 3, rate: float = 2.0,
                 label: str = "a", *, seed: int = 0) -> Run[FakeResult]:
        self.calls.append({"model": model, "n": n, "rate": rate, "label": label,
                           "seed": seed})
        if n == self.fail_at_n and self.fail_model in (None, model):
            raise ValueError(f"n={n} is not allowed with rate={rate} in {model}; "
                             "choose another n")
        rows: list[tuple[Any, ...]] = [(0.0, 0, "spawn", "main", "producer", None, None,
                                        None, None, model, None)]
        for i in range(n):
            t = i / rate
            rows.append((t, len(rows), "send", "producer", "chan-1", i + 1, None, "int", 1,
                         model, None))
            rows.append((t + 0.5, len(rows), "receive", "main", "chan-1", i + 1, None, "int",
                         0, model, None))
        rows.sort(key=lambda r: (r[0], r[1]))
        rows = [(r[0], seq, *r[2:]) for seq, r in enumerate(rows)]
        end = max(r[0] for r in rows)
        return Run(result=FakeResult(model, n, rate, label), trace=Trace(rows), seed=seed,
                   elapsed=end, leaked=(), virtual=True)

    @property
    def __name__(self) -> str:  # scenarios are named in the dashboard's text/plain
        return "fake"


def fake_dashboard(fake: Fake, **kwargs: Any) -> Dashboard:
    """A dashboard on the fake scenario; its charts an SVG image unless ``live=True``."""
    controls: dict[str, Any] = {"n": range(1, 9), "rate": (1.0, 4.0), "label": ["a", "b"]}
    kwargs.setdefault("live", False)
    return Dashboard(fake, controls, kwargs.pop("charts", "depth"), **kwargs)


# -- building -----------------------------------------------------------------------------


def test_dashboard_builds_widgets_from_shorthands_at_scenario_defaults() -> None:
    fake = Fake()
    dash = fake_dashboard(fake, fixed={"seed": 7})
    n, rate, label = dash.controls["n"], dash.controls["rate"], dash.controls["label"]
    assert isinstance(n, ipywidgets.IntSlider) and (n.min, n.max, n.value) == (1, 8, 3)
    assert isinstance(rate, ipywidgets.FloatSlider) and rate.value == 2.0
    assert isinstance(label, ipywidgets.Dropdown) and label.value == "a"
    assert isinstance(dash.widget, ipywidgets.VBox)
    assert isinstance(dash.play, ipywidgets.Play)
    assert fake.calls == [{"model": "go", "n": 3, "rate": 2.0, "label": "a", "seed": 7}]
    assert dash.svg.startswith("<svg") and dash.image.value == dash.svg.encode()
    assert dash.image.format == "svg+xml"
    assert "n 3" in dash.status.value and dash.error is None
    assert dash.time.value == dash.time.max == pytest.approx(1.5)


def test_as_control_shorthands_and_refusals() -> None:
    assert isinstance(as_control((1, 10, 2), name="k"), ipywidgets.IntSlider)
    assert isinstance(as_control(True, name="flag"), ipywidgets.Checkbox)
    toggle = ipywidgets.ToggleButtons(options=["go", "rust"])
    assert as_control(toggle, name="model") is toggle
    assert toggle.description == "model"
    with pytest.raises(TypeError, match="cannot make a widget"):
        as_control("nope", name="x")
    with pytest.raises(ValueError, match="empty"):
        as_control(range(0), name="x")
    with pytest.raises(ValueError, match="above max"):
        as_control((5, 1), name="x")


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="both controls and fixed"):
        Dashboard(Fake(), {"n": range(1, 3)}, "depth", fixed={"n": 2})
    with pytest.raises(ValueError, match="sets model"):
        Dashboard(Fake(), {"model": ["go", "rust"]}, "depth", compare_models=["go", "rust"])
    with pytest.raises(ValueError, match="unknown chart"):
        Dashboard(Fake(), {"n": range(1, 3)}, "pie")
    with pytest.raises(ValueError, match="unknown chart"):
        Dashboard(Fake(), {"n": range(1, 3)}, [("pie", {"limit": 3})])
    with pytest.raises(TypeError, match=r"\(name, \{option: value\}\)"):
        Dashboard(Fake(), {"n": range(1, 3)}, [("timeline", 3)])  # type: ignore[list-item]


#: Dashboard options with bad values: (option, value, error, the message's start).
BAD_DASHBOARD: list[tuple[str, object, type[Exception], str]] = [
    ("scenario", 42, TypeError, "scenario must be a function"),
    ("controls", [("n", range(3))], TypeError, "controls must be a dict"),
    ("controls", {"speed": range(1, 3)}, ValueError, "controls: fake has no parameter 'speed'"),
    ("controls", {1: range(1, 3)}, TypeError, "a key of controls must be a string"),
    ("fixed", {"sede": 3}, ValueError, "fixed: fake has no parameter 'sede'"),
    ("fixed", "seed=3", TypeError, "fixed must be a dict"),
    ("compare_models", "go", TypeError, "compare_models must be a list"),
    ("compare_models", [], ValueError, "compare_models must be a non-empty list"),
    ("compare_models", ["go", 3], TypeError, "compare_models[1] must be a string"),
    ("charts", 5, TypeError, "charts must be a list"),
    ("charts", [], ValueError, "charts must be a non-empty list"),
    ("charts", [5], TypeError, "charts[0] must be a chart name"),
    ("charts", ["pie"], ValueError, "unknown chart 'pie'"),
    ("steps", 0, ValueError, "steps must be an int from 1 to 1000"),
    ("steps", 10**9, ValueError, "steps must be an int from 1 to 1000"),
    ("steps", 2.5, TypeError, "steps must be an int"),
    ("steps", None, TypeError, "steps must be an int"),
    ("steps", True, TypeError, "steps must be an int"),
    ("interval_ms", -250, ValueError, "interval_ms must be an int from 1 to 60000"),
    ("interval_ms", "250", TypeError, "interval_ms must be an int"),
    ("cache_size", 0, ValueError, "cache_size must be an int from 1 to 1000"),
    ("cache_size", math.inf, TypeError, "cache_size must be an int"),
]


@pytest.mark.parametrize(("option", "value", "error", "says"), BAD_DASHBOARD,
                         ids=[f"{o}={v!r}"[:40] for o, v, _, _ in BAD_DASHBOARD])
def test_a_bad_dashboard_option_is_refused_when_built(option: str, value: object,
                                                      error: type[Exception],
                                                      says: str) -> None:
    """Configuration mistakes raise at once (not in a widget callback, where nobody would
    see them): TypeError for a wrong type, ValueError out of range."""
    kwargs: dict[str, Any] = {"scenario": Fake(), "controls": {"n": range(1, 3)},
                              "charts": "depth", option: value}
    with pytest.raises(error) as info:
        Dashboard(**kwargs)
    assert type(info.value) is error and str(info.value).startswith(says), info.value


@pytest.mark.parametrize(("spec", "error", "says"), [
    ((0, math.nan), ValueError, "control 'x': max must be a finite number"),
    ((math.inf, 1.0), ValueError, "control 'x': min must be a finite number"),
    ((1, 10, 0), ValueError, "control 'x': step must be a finite number > 0"),
    ((0.0, 1.0, -0.1), ValueError, "control 'x': step must be a finite number > 0"),
    ((5, 1), ValueError, "control 'x': min 5 is above max 1"),
    (("a", "b"), TypeError, "control 'x': cannot make a widget"),
    (None, TypeError, "control 'x': cannot make a widget"),
    ([], ValueError, "control 'x': the list of options is empty"),
    (range(0), ValueError, "control 'x': range(0, 0) is empty"),
])
def test_a_bad_control_shorthand_says_what_to_write(spec: Any, error: type[Exception],
                                                    says: str) -> None:
    with pytest.raises(error) as info:
        as_control(spec, name="x")
    assert str(info.value).startswith(says), info.value


def test_as_control_needs_a_name() -> None:
    with pytest.raises(TypeError, match="name must be a string"):
        as_control(range(3), name=3)  # type: ignore[arg-type]


def test_truncate_takes_a_time_in_seconds() -> None:
    run = scenarios.ping_pong("go")
    assert truncate(run, math.inf) is run
    assert len(truncate(run, -1.0).trace) == 0  # before the start: nothing yet
    with pytest.raises(ValueError, match="at must be a number of seconds, got float nan"):
        truncate(run, math.nan)
    with pytest.raises(TypeError, match="at must be a number of seconds, got str '1'"):
        truncate(run, "1")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="source must be a labkit Run or Trace"):
        truncate([1, 2], 1.0)  # type: ignore[call-overload]


# -- changing a control re-runs the scenario and redraws in place --------------------------


def test_changing_a_control_reruns_with_the_new_value_and_redraws() -> None:
    fake = Fake()
    dash = fake_dashboard(fake)
    image, status, svg = dash.image, dash.status, dash.svg
    dash.controls["n"].value = 6
    assert fake.calls[-1]["n"] == 6
    assert dash.svg != svg and dash.image is image and dash.status is status
    assert image.value == dash.svg.encode()
    assert "n 6" in status.value
    dash.controls["label"].value = "b"
    assert fake.calls[-1] == {"model": "go", "n": 6, "rate": 2.0, "label": "b", "seed": 0}
    assert dash.time.value == dash.time.max == pytest.approx(5 / 2.0 + 0.5)


def test_real_scenario_reruns_with_the_new_capacity() -> None:
    dash = Dashboard(scenarios.producer_consumer,
                     {"capacity": range(0, 6), "pacing": ["exponential", "fixed"]},
                     ["depth", "timeline"], fixed={"model": "go", "messages": 60, "seed": 1})
    assert dash.controls["capacity"].value == 0
    assert dash.runs[""].result.capacity == 0
    before = dash.svg
    dash.controls["capacity"].value = 4
    result = dash.runs[""].result
    assert result.capacity == 4 and result.channel == "make(chan T, 4)"
    assert "make(chan T, 4)" in dash.status.value
    assert dash.svg != before


def test_status_line_speaks_words_with_units_and_the_charts_latency() -> None:
    dash = Dashboard(scenarios.producer_consumer, {"capacity": range(0, 3)},
                     ["latency"], fixed={"model": "go", "messages": 40, "seed": 1})
    status = dash.status.value
    result = dash.runs[""].result
    assert "_" not in status.split("make(chan")[0]  # no raw field names
    assert f"mean latency {result.mean_latency:.4g} s" in status
    assert f"producer blocked {result.producer_blocked:.4g} s" in status
    pct = latency_percentiles(dash.runs[""].trace, (0.5, 0.99))
    assert (f"charted latency (send to receive): p50 {pct['p50'] * 1000:.4g} ms · "
            f"p99 {pct['p99'] * 1000:.4g} ms") in status
    no_latency_chart = Dashboard(scenarios.producer_consumer, {"capacity": range(0, 3)},
                                 ["depth"], fixed={"model": "go", "messages": 40, "seed": 1})
    assert "charted latency" not in no_latency_chart.status.value


# -- scrubbing virtual time ------------------------------------------------------------------


def test_truncate_cuts_runs_and_traces_at_an_instant() -> None:
    run = scenarios.producer_consumer("rust", capacity=2, messages=40, seed=3)
    cut = truncate(run, 1.0)
    assert 0 < len(cut.trace) < len(run.trace)
    assert all(row[0] <= 1.0 for row in cut.trace.rows)
    assert cut.trace.rows == [row for row in run.trace.rows if row[0] <= 1.0]
    assert cut.elapsed == 1.0 and not cut.completed and cut.result is run.result
    assert truncate(run, run.elapsed + 1) is run
    assert truncate(run.trace, 1.0).rows == cut.trace.rows
    with pytest.raises(TypeError):
        truncate("trace", 1.0)  # type: ignore[call-overload]


def test_play_scrubs_the_trace_without_resimulating() -> None:
    fake = Fake()
    dash = fake_dashboard(fake, charts=["depth", viz.timeline], steps=10)
    dash.controls["n"].value = 8  # sends at 0 .. 3.5 s, last receive at 4.0 s
    calls, full_svg = len(fake.calls), dash.svg
    dash.play.value = 5
    assert dash.time.value == pytest.approx(2.0)
    assert len(fake.calls) == calls
    assert dash.svg != full_svg
    assert "up to t = 2 s of 4 s" in dash.status.value
    depth = dash.chart(dash.time.value).to_dict()
    shown = [r["time"] for rows in depth["datasets"].values() for r in rows if "depth" in r]
    assert shown and max(shown) <= 2.0
    dash.play.value = 10
    assert dash.svg == full_svg and "up to" not in dash.status.value


# -- compare mode ----------------------------------------------------------------------------


def test_compare_mode_runs_each_model_and_draws_one_panel_per_model() -> None:
    fake = Fake()
    dash = fake_dashboard(fake, compare_models=["go", "rust"])
    assert [c["model"] for c in fake.calls] == ["go", "rust"]
    assert list(dash.runs) == ["Go", "Rust"]
    spec = dash.chart().to_dict()
    assert [p["title"] for p in spec["hconcat"]] == ["Go", "Rust"]
    dash.controls["n"].value = 5
    assert [(c["model"], c["n"]) for c in fake.calls[2:]] == [("go", 5), ("rust", 5)]
    assert "<b>Go</b>" in dash.status.value and "<b>Rust</b>" in dash.status.value


def test_models_widget_chooses_the_models_compared() -> None:
    fake = Fake()
    models = ipywidgets.Dropdown(options=[("Go vs Rust", ("go", "rust")),
                                          ("Rust alone", "rust"),
                                          ("all three", ("go", "rust", "actor"))])
    dash = fake_dashboard(fake, compare_models=models)
    assert dash.models is models and dash.models.description == "models"
    assert dash.widget.children[0].children[0] is models  # shown first, before the controls
    assert dash.compare_models == ("go", "rust") and list(dash.runs) == ["Go", "Rust"]
    models.value = "rust"  # a single name is one model
    compared: tuple[str, ...] | None = dash.compare_models
    assert compared == ("rust",) and list(dash.runs) == ["Rust"]
    assert [p["title"] for p in dash.chart().to_dict()["hconcat"]] == ["Rust"]
    assert "<b>Go</b>" not in dash.status.value
    models.value = ("go", "rust", "actor")
    assert list(dash.runs) == ["Go", "Rust", "Actor"]
    assert [c["model"] for c in fake.calls] == ["go", "rust", "actor"]  # the rest cached
    dash.controls["n"].value = 5
    assert [(c["model"], c["n"]) for c in fake.calls[3:]] == [("go", 5), ("rust", 5),
                                                              ("actor", 5)]
    assert "model" not in dash.params


def test_an_empty_model_choice_is_an_error_in_the_status_line() -> None:
    models = ipywidgets.SelectMultiple(options=["go", "rust"], value=["go"])
    dash = fake_dashboard(Fake(), compare_models=models)
    good = dash.svg
    models.value = ()
    assert dash.error is not None and "choose at least one model" in dash.error
    assert dash.svg == good
    models.value = ("go", "rust")
    assert dash.error is None and list(dash.runs) == ["Go", "Rust"]
    with pytest.raises(ValueError, match="sets model"):
        Dashboard(Fake(), {"model": ["go"]}, "depth", compare_models=models)


def test_a_model_that_cannot_run_is_left_out_and_explained() -> None:
    fake = Fake(fail_at_n=4, fail_model="go")
    dash = fake_dashboard(fake, compare_models=["go", "rust"])
    dash.controls["n"].value = 4  # must not raise
    assert list(dash.runs) == ["Rust"] and dash.error is None
    assert list(dash.skipped) == ["Go"] and "n=4 is not allowed" in dash.skipped["Go"]
    assert [p["title"] for p in dash.chart().to_dict()["hconcat"]] == ["Rust"]
    status = dash.status.value
    assert "<b>Rust</b>: model rust" in status
    assert "<b>Go</b>" in status and "ValueError: n=4 is not allowed" in status
    assert "no panel" in status
    dash.controls["n"].value = 5
    assert list(dash.runs) == ["Go", "Rust"] and dash.skipped == {}
    assert "no panel" not in dash.status.value


def test_when_every_model_fails_the_last_charts_stay() -> None:
    fake = Fake(fail_at_n=4)
    dash = fake_dashboard(fake, compare_models=["go", "rust"])
    good, runs = dash.svg, dash.runs
    dash.controls["n"].value = 4
    assert dash.svg == good and dash.runs is runs
    assert dash.error is not None
    assert dash.error.splitlines() == [
        "Go: ValueError: n=4 is not allowed with rate=2.0 in go; choose another n",
        "Rust: ValueError: n=4 is not allowed with rate=2.0 in rust; choose another n"]
    assert "the charts show the last parameters that worked" in dash.status.value
    assert "<br>" in dash.status.value
    single = fake_dashboard(Fake(fail_at_n=4), compare_models=["go"])
    single.controls["n"].value = 4
    assert single.error == ("ValueError: n=4 is not allowed with rate=2.0 in go; "
                            "choose another n")


def test_compare_mode_with_a_custom_chart_function() -> None:
    def lanes(run: Run[Any]) -> Any:
        return viz.depth_chart(run, title="custom")

    dash = Dashboard(scenarios.producer_consumer, {"capacity": range(0, 4)}, [lanes],
                     compare_models=["go", "rust"], fixed={"messages": 30, "seed": 2})
    spec = dash.chart().to_dict()
    assert [p["title"] for p in spec["hconcat"]] == ["Go", "Rust"]
    models = {r["model"] for rows in spec["datasets"].values() for r in rows if "model" in r}
    assert models == {"go", "rust"}
    for panel in spec["hconcat"]:  # each panel's colours come from the whole palette
        scale = panel["encoding"]["color"]["scale"]
        assert scale["domain"] == ["go", "rust"]
        assert scale["range"] == [viz.PALETTE["go"], viz.PALETTE["rust"]]


def test_chart_options_reach_the_builder_in_both_modes() -> None:
    fixed = {"messages": 40, "seed": 2}
    for compare in (None, ["go", "rust"]):
        dash = Dashboard(scenarios.producer_consumer, {"capacity": range(0, 4)},
                         [("timeline", {"limit": 5}), "depth"], compare_models=compare,
                         fixed=fixed if compare else {**fixed, "model": "go"})
        spec = dash.chart().to_dict()
        assert len(spec["vconcat"]) == 2  # timeline above depth
        messages = {r["msg_id"] for rows in spec["datasets"].values() for r in rows
                    if "phase" in r}
        assert 0 < len(messages) <= 5


# -- display -----------------------------------------------------------------------------


def test_mimebundle_has_the_widget_and_a_deterministic_svg() -> None:
    def build() -> Dashboard:
        return Dashboard(scenarios.producer_consumer, {"capacity": range(0, 6)},
                         ["timeline", "depth"], compare_models=["go", "rust"],
                         fixed={"messages": 50, "seed": 1})

    first, second = build()._repr_mimebundle_(), build()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in first
    assert first["image/svg+xml"].startswith("<svg")
    assert first["image/svg+xml"] == second["image/svg+xml"]
    assert first["text/plain"] == "<labkit Dashboard: producer_consumer>"
    assert "altair-viz" not in first["image/svg+xml"]


# -- errors ------------------------------------------------------------------------------


def test_scenario_errors_land_in_the_status_line() -> None:
    fake = Fake(fail_at_n=4)
    dash = fake_dashboard(fake)
    good = dash.svg
    dash.controls["n"].value = 4  # must not raise
    assert dash.error is not None and "n=4 is not allowed" in dash.error
    assert "n=4 is not allowed" in dash.status.value and "ValueError" in dash.status.value
    assert dash.svg == good  # the last chart that worked stays
    dash.controls["n"].value = 5
    assert dash.error is None and "n 5" in dash.status.value


def test_a_failing_first_run_shows_the_error_and_no_image() -> None:
    dash = Dashboard(scenarios.producer_consumer, {"pacing": ["bursty", "fixed"]}, "depth",
                     fixed={"messages": 10})
    assert dash.error is not None and "pacing must be one of" in dash.error
    assert "no chart yet" in dash.status.value
    assert "image/svg+xml" not in dash._repr_mimebundle_()
    dash.controls["pacing"].value = "fixed"
    assert dash.error is None and dash.svg


# -- the cache ---------------------------------------------------------------------------


def test_cache_avoids_rerunning_seen_parameters() -> None:
    fake = Fake()
    dash = fake_dashboard(fake, compare_models=["go", "rust"])
    dash.controls["n"].value = 5
    dash.controls["n"].value = 3
    dash.controls["n"].value = 5
    assert len(fake.calls) == 4 and dash.simulations == 4
    assert [c["n"] for c in fake.calls] == [3, 3, 5, 5]


def test_cache_is_least_recently_used() -> None:
    fake = Fake()
    dash = fake_dashboard(fake, cache_size=2)
    dash.controls["n"].value = 4   # cache: 3, 4
    dash.controls["n"].value = 3   # hit; 4 is now the oldest
    dash.controls["n"].value = 5   # evicts 4
    dash.controls["n"].value = 3   # hit
    dash.controls["n"].value = 4   # miss
    assert [c["n"] for c in fake.calls] == [3, 4, 5, 4]


def test_sliders_show_their_whole_label_and_keep_a_usable_track() -> None:
    long = as_control(ipywidgets.FloatSlider(description="arrival rate (messages/s)"),
                      name="arrival_rate")
    assert long.style.description_width == "initial"  # the label in full
    width = int(long.layout.width.removesuffix("px"))
    short = as_control((1, 5), name="n")
    # the track and readout keep the same room, whatever the label's length
    assert width - int(short.layout.width.removesuffix("px")) >= 7 * (25 - 1)
    assert long.layout.max_width == "100%"  # never wider than the window
    fixed = as_control(ipywidgets.IntSlider(description="n",
                                            layout=ipywidgets.Layout(width="100px")), name="n")
    assert fixed.layout.width == "100px"  # the caller's width is kept
    assert as_control(True, name="flag").layout.width is None  # a checkbox sizes itself
    dash = fake_dashboard(Fake())
    rows = dash.widget.children[:2]
    assert all(row.layout.flex_flow == "row wrap" for row in rows)  # controls wrap



# -- live charts (alt.JupyterChart, offline) ------------------------------------------------


def test_live_charts_get_each_new_spec_and_no_kernel_svg() -> None:
    pytest.importorskip("anywidget")
    import altair as alt

    fake = Fake()
    dash = fake_dashboard(fake, live=True)
    view: Any = dash.view
    assert view is not None
    assert isinstance(view, alt.JupyterChart) and view in dash.widget.children
    assert dash.image not in dash.widget.children
    assert view.embed_options == {"actions": False, "renderer": "svg"}  # no links out
    assert "cdn" not in view._esm[:2000].lower()  # Vega from vl-convert's bundle
    first = view.spec
    assert first == dash.spec
    dash.controls["n"].value = 6
    assert dash._svg is None  # no SVG rendered in the kernel
    # the same shape of chart: the browser gets only the new rows and axis extents
    assert view.spec is first
    updates = view._py_to_js_updates
    assert {u["namespace"] for u in updates} == {"data", "signal"}
    assert _applied(first, updates) == dash.spec
    assert dash.view is view  # the same widget
    # the static picture for viewers without a kernel, rendered when displayed
    bundle = dash._repr_mimebundle_()
    assert bundle["image/svg+xml"] == dash.svg and dash.svg.startswith("<svg")
    assert "application/vnd.jupyter.widget-view+json" in bundle


def _applied(spec: dict[str, Any], updates: list[dict[str, Any]]) -> dict[str, Any]:
    """``spec`` after a live chart applies ``updates`` (new rows, new parameter values)."""
    out = {**spec, "datasets": dict(spec["datasets"]), "params": [dict(p) for p in
                                                                   spec["params"]]}
    for update in updates:
        assert update["scope"] == []
        if update["namespace"] == "data":
            assert update["name"] in out["datasets"]
            out["datasets"][update["name"]] = update["value"]
        else:
            (param,) = [p for p in out["params"] if p["name"] == update["name"]]
            param["value"] = update["value"]
    return out


def test_a_live_chart_gets_a_whole_spec_when_its_shape_changes() -> None:
    pytest.importorskip("anywidget")
    fake = Fake()
    dash = fake_dashboard(fake, live=True, charts=["depth", "latency"],
                          compare_models=ipywidgets.SelectMultiple(
                              options=["go", "rust"], value=["go", "rust"]))
    view: Any = dash.view
    dash.controls["n"].value = 5  # new rows
    assert dash.spec is not None and view.spec is not dash.spec
    assert _applied(view.spec, view._py_to_js_updates) == dash.spec
    assert dash.models is not None
    dash.models.value = ("rust",)  # one panel: another shape
    assert view.spec == dash.spec and len(dash.spec["vconcat"][0]["hconcat"]) == 1


def test_scrubbing_a_live_chart_sends_nothing_from_the_kernel() -> None:
    pytest.importorskip("anywidget")
    fake = Fake()
    dash = fake_dashboard(fake, live=True, charts=["depth", "timeline"], steps=10)
    view: Any = dash.view
    dash.controls["n"].value = 8  # sends at 0 .. 3.5 s, last receive at 4.0 s
    spec, updates, calls = view.spec, view._py_to_js_updates, len(fake.calls)
    dash.play.value = 5
    # the browser sets the time parameter itself (the clock widget links the Play button
    # and the time slider to the chart); the kernel's spec says the same instant
    assert view.spec is spec and view._py_to_js_updates is updates
    assert len(fake.calls) == calls
    assert dash.spec is not None
    (time,) = [p for p in dash.spec["params"] if p["name"] == viz.PARAMS["time"]]
    assert time["value"] == pytest.approx(2.0)
    assert "up to t = 2 s of 4 s" in dash.status.value
    clock: Any = dash._clock
    assert (clock.play, clock.time, clock.chart) == (dash.play, dash.time, view)
    assert clock.param == viz.PARAMS["time"] and "initialize" in clock._esm
    dash.play.value = 10
    assert time["value"] is not None and _now_shown(dash.spec) is None


def _now_shown(spec: dict[str, Any] | None) -> Any:
    assert spec is not None
    (time,) = [p for p in spec["params"] if p["name"] == viz.PARAMS["time"]]
    return time["value"]


def test_live_is_true_false_or_none() -> None:
    with pytest.raises(TypeError, match="live must be True, False or None"):
        fake_dashboard(Fake(), live="yes")


def test_a_notebooks_own_time_chart_scrubs_in_the_browser_too() -> None:
    pytest.importorskip("anywidget")
    import altair as alt
    import pandas as pd

    def sent_chart(run: Run[Any]) -> Any:  # a notebook's own chart, time on x
        frame = pd.DataFrame({"sent at": [r[0] for r in run.trace.rows if r[2] == "send"]})
        return alt.Chart(frame).mark_tick().encode(
            x=alt.X("sent at:Q", title="virtual time (s)"))

    fake = Fake()
    dash = fake_dashboard(fake, live=True, charts=[sent_chart], steps=10)
    view: Any = dash.view
    spec = view.spec
    dash.play.value = 5
    assert view.spec is spec  # the browser sets the instant itself
    assert _now_shown(dash.spec) == pytest.approx(dash.time.value)
    plain = fake_dashboard(Fake(), charts=[sent_chart], steps=10)
    whole = plain.svg
    plain.play.value = 2
    assert plain.svg != whole  # without a kernel-side cut: the rows after the instant go


def _counts_chart(run: Run[Any]) -> Any:  # a notebook's own chart, no time axis
    import altair as alt
    import pandas as pd

    kinds = pd.Series([r[2] for r in run.trace.rows]).value_counts().sort_index()
    return alt.Chart(pd.DataFrame({"kind": kinds.index, "rows": kinds.to_numpy()})).mark_bar(
    ).encode(x="kind:N", y="rows:Q").properties(title="rows per kind")


def test_a_notebooks_chart_beside_labkits_gets_only_new_rows_too() -> None:
    pytest.importorskip("anywidget")
    fake = Fake()
    dash = fake_dashboard(fake, live=True, charts=[_counts_chart, "timeline"], steps=10)
    view: Any = dash.view
    spec = dash.spec
    assert spec is not None and len(spec["vconcat"]) == 2
    assert spec["vconcat"][0]["title"] == "rows per kind"
    # every dataset and view named by its place: the next run's spec has the same names
    assert all(name.startswith(("c0_", "c1_")) for name in spec["datasets"])
    dash.controls["n"].value = 6
    assert view.spec is spec  # not rebuilt: the new rows of both charts only
    updates = view._py_to_js_updates
    assert {u["name"] for u in updates if u["namespace"] == "data"} >= {
        next(n for n in spec["datasets"] if n.startswith("c0_"))}
    assert _applied(spec, updates) == dash.spec
    # scrubbing: labkit's chart by the time parameter, the notebook's rebuilt from the cut
    dash.play.value = 2
    assert _now_shown(dash.spec) == pytest.approx(dash.time.value)
    assert dash.error is None and dash.svg.startswith("<svg")
    # the static picture is both charts, as one drawn through Altair shows them
    plain = fake_dashboard(Fake(), charts=[_counts_chart, "timeline"])
    assert "rows per kind" in plain.svg and "When each message waited" in plain.svg


def test_charts_that_do_not_fit_in_one_spec_are_drawn_through_altair() -> None:
    from labkit.widgets import _concat

    a = {"$schema": "s", "params": [{"name": "p", "value": 1}], "mark": "bar",
         "datasets": {"data-00aa": [{"x": 1}]}, "data": {"name": "data-00aa"}}
    b = {"$schema": "s", "params": [{"name": "p", "value": 2}], "mark": "line"}
    assert _concat([a, b]) is None  # one name, two meanings
    same = _concat([a, {**b, "params": [{"name": "p", "value": 1}]}])
    assert same is not None and same["params"] == [{"name": "p", "value": 1}]
    assert same["datasets"] == {"c0_0": [{"x": 1}]}
    assert same["vconcat"][0] == {"mark": "bar", "data": {"name": "c0_0"}}


def test_another_worker_count_is_new_rows_for_a_live_chart() -> None:
    """Notebook 02's dashboard (load, timeline and latency of one `route` run): moving the
    workers slider changes the lanes, the load chart's bars and its subtitle, which are
    data and parameter values of one spec, so the live chart is sent no new spec (a new
    spec is compiled and embedded again in the browser, about 70 ms)."""
    pytest.importorskip("anywidget")
    dash = Dashboard(
        scenarios.route,
        controls={"workers": ipywidgets.IntSlider(value=4, min=1, max=8,
                                                  description="workers")},
        charts=["load", ("timeline", {"limit": 30}), "latency"],
        fixed={"messages": 120, "seed": 1}, live=True)
    view: Any = dash.view
    assert view is not None
    sent = view.spec
    shown = sent  # what the browser shows: the spec, then each move's updates applied
    for workers in (5, 8, 6):
        dash.controls["workers"].value = workers
        assert dash.error is None
        assert view.spec is sent, workers  # no new spec for the browser
        updates = view._py_to_js_updates
        shown = _applied(shown, updates)
        assert shown == dash.spec
        changed = {u["name"] for u in updates}
        assert {"labkit_0_order", "labkit_0_subtitle", "labkit_1_lanes"} <= changed
    # lanes and bars follow the count
    lanes = next(p["value"] for p in shown["params"] if p["name"] == "labkit_1_lanes")
    assert len(lanes) >= 6
