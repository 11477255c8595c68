"""labkit.viz templates: a chart taken apart (viz.parts, viz.compare_parts) and drawn from a
template (viz.spec) is the chart Altair builds, with datasets named by role and virtual time
a parameter; viz.data_updates tells a live chart only what changed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

from labkit import scenarios, viz

#: Altair names layer views from a hash of their content (data included): not a change.
_VIEW = re.compile(r"view_[0-9a-f]{16}")


def _runs(capacity: int = 3, messages: int = 60) -> dict[str, Any]:
    return {label: scenarios.producer_consumer(model=model, capacity=capacity,
                                               messages=messages, seed=1)
            for label, model in (("Go", "go"), ("Rust", "rust"))}


def _resolved(spec: dict[str, Any]) -> Any:
    """``spec`` with every dataset reference replaced by its rows, and without the time
    parameter and what reads it: what is drawn, whatever the datasets are called."""
    spec = json.loads(json.dumps(spec))
    datasets = spec.pop("datasets", {})
    # a template's subtitles and lanes are parameters (viz._lift_fills): their values
    lifted = {p["name"]: p["value"] for p in spec.get("params", ())
              if p["name"].startswith("labkit_")}
    if "params" in spec:
        spec["params"] = [p for p in spec["params"] if p["name"] not in lifted]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for key in ("subtitle", "domain"):
                value = node.get(key)
                if isinstance(value, dict) and value.get("expr") in lifted:
                    node[key] = lifted[value["expr"]]
            data = node.get("data")
            if isinstance(data, dict) and "name" in data:
                node["data"] = datasets[data["name"]]
            if isinstance(node.get("transform"), list):
                node["transform"] = [t for t in node["transform"]
                                     if viz.PARAMS["time"] not in json.dumps(t)]
                if not node["transform"]:
                    del node["transform"]
            scale = node.get("scale")
            domain = scale.get("domain") if isinstance(scale, dict) else None
            if isinstance(scale, dict) and isinstance(domain, dict) and \
                    domain.get("expr") in lifted:
                scale["domain"] = lifted[domain["expr"]]
            elif isinstance(scale, dict) and "expr" in json.dumps(domain):
                del scale["domain"], scale["nice"]
                if not scale:
                    del node["scale"]
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node if not (isinstance(v, dict) and str(
                v.get("name", "")).startswith(viz.PARAMS["time"]))]
        return node

    return json.loads(_VIEW.sub("view", json.dumps(walk(spec))))


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_a_template_draws_the_chart_altair_builds(chart: str) -> None:
    runs = _runs()
    # another run of the same shape comes from the same template, with other rows
    for parts in (viz.parts(chart, runs["Go"]), viz.compare_parts(runs, chart),
                  viz.compare_parts(_runs(capacity=1), chart)):
        built = viz.build(parts).to_dict(validate=False)
        counted = any(k.endswith("_by_time") for k in _roles(parts))
        for _ in range(2):  # the second from the cached template
            drawn = viz.spec(parts)
            if not counted:  # the very spec Altair builds
                assert _resolved(drawn) == _resolved(built)
            assert set(drawn["datasets"]) <= {f"labkit_{k}" for k in _roles(parts)}
        # counting charts (latency bins, load) add up their counts per time slot: the
        # same picture
        assert _VIEW.sub("v", viz.to_svg(drawn)) == _VIEW.sub("v", viz.to_svg(built))
    assert counted == (chart in ("latency", "load"))


def _roles(parts: viz.Parts, path: str = "") -> list[str]:
    found = [f"{path}{role}" for role in parts.frames]
    for i, child in enumerate(parts.children):
        found += _roles(child, f"{path}{i}_")
    return found


def test_the_compare_and_chart_builders_are_their_parts_built() -> None:
    runs = _runs()
    assert viz.compare(runs, "depth").to_dict() == \
        viz.build(viz.compare_parts(runs, "depth")).to_dict()
    assert viz.timeline(runs["Go"], limit=5).to_dict() == \
        viz.build(viz.parts("timeline", runs["Go"], limit=5)).to_dict()


def test_virtual_time_is_a_parameter_that_filters_rows_on_still_axes() -> None:
    runs = _runs()
    parts = viz.stack_parts([viz.compare_parts(runs, "timeline", limit=10),
                             viz.compare_parts(runs, "depth")])
    whole, cut = viz.spec(parts), viz.spec(parts, at=0.5)
    params = {p["name"]: p.get("value") for p in cut["params"]}
    assert params[viz.PARAMS["time"]] == 0.5
    assert {p["name"]: p.get("value") for p in whole["params"]}[viz.PARAMS["time"]] is None
    extents = [v for k, v in params.items() if k.startswith(viz.PARAMS["time"] + "_extent")]
    assert len(extents) == 4 and all(v > 0.5 for v in extents)  # the whole run's axes
    assert whole["datasets"] == cut["datasets"]
    assert viz.to_svg(cut) != viz.to_svg(whole)
    assert viz.to_svg(viz.spec(parts, at=100.0)) != viz.to_svg(cut)


@pytest.mark.parametrize("chart", ["latency", "load"])
def test_counting_charts_count_what_happened_by_the_instant(chart: str) -> None:
    run = _runs(messages=150)["Go"]
    parts = viz.parts(chart, run)
    whole = viz.to_svg(viz.spec(parts))
    early = viz.to_svg(viz.spec(parts, at=run.elapsed / 3))
    assert early != whole
    assert viz.to_svg(viz.spec(parts, at=run.elapsed)) == whole
    # the whole run's counts are the chart's own
    by_time = parts.frames["bars_by_time"]
    sums = by_time.groupby([c for c in by_time.columns if c not in ("messages", "at")],
                           sort=False)["messages"].sum()
    assert int(sums.sum()) == int(parts.frames["bars"]["messages"].sum())


def test_data_updates_send_rows_and_values_or_ask_for_the_whole_spec() -> None:
    first = viz.spec(viz.compare_parts(_runs(capacity=3), "depth"))
    second = viz.spec(viz.compare_parts(_runs(capacity=1), "depth"))
    updates = viz.data_updates(first, second)
    assert updates is not None and updates[0]["namespace"] == "data"
    assert {u["name"] for u in updates if u["namespace"] == "data"} <= set(second["datasets"])
    assert viz.data_updates(first, first) == []
    one_panel = viz.spec(viz.compare_parts({"Go": _runs()["Go"]}, "depth"))
    assert viz.data_updates(first, one_panel) is None
    no_data = {"mark": "point"}
    assert viz.data_updates(no_data, dict(no_data)) == []
    with pytest.raises(TypeError, match=r"^new must be a Vega-Lite spec .*, got int 2$"):
        viz.data_updates(first, 2)  # type: ignore[arg-type]


def test_parts_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="chart"):
        viz.parts("pie", _runs()["Go"])
    with pytest.raises(TypeError, match=r"chart must be viz\.Parts"):
        viz.spec({"mark": "bar"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="charts must be a non-empty list"):
        viz.stack_parts([])
    with pytest.raises(TypeError, match="at"):
        viz.spec(viz.parts("depth", _runs()["Go"]), at="now")  # type: ignore[arg-type]


def test_with_time_gives_a_notebooks_own_time_chart_the_time_parameter() -> None:
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame({"time (s)": [0.0, 1.0, 2.0, 3.0], "alive": [3, 2, 2, 1]})
    chart = alt.Chart(frame).mark_line().encode(
        x=alt.X("time (s):Q", title="virtual time (s)"), y="alive:Q")
    spec = chart.to_dict(validate=False)
    timed = viz.with_time(spec)
    assert timed is not None and timed is not spec
    assert viz.to_svg(timed) == viz.to_svg(spec)  # null: the whole run, the same picture
    cut = {**timed, "params": [{**p, "value": 1.5} if p["name"] == viz.PARAMS["time"] else p
                               for p in timed["params"]]}
    assert viz.to_svg(cut) != viz.to_svg(spec)
    # no time axis: nothing to scrub
    assert viz.with_time(alt.Chart(frame).mark_bar().encode(x="alive:Q", y="count()")
                         .to_dict(validate=False)) is None
    with pytest.raises(TypeError, match="chart must be a Vega-Lite spec"):
        viz.with_time(chart)


def test_rows_become_the_json_values_altair_embeds() -> None:
    import numpy as np
    import pandas as pd
    from altair.utils.data import to_values

    frame = pd.DataFrame({
        "int": [1, 2, 3], "float": [1.5, np.nan, np.inf], "bool": [True, False, True],
        "Int64": pd.array([1, None, 3], dtype="Int64"),
        "string": pd.array(["x", None, "z"], dtype="string"), "object": ["p", None, np.nan],
        "Float64": pd.array([1.5, None, 2.0], dtype="Float64")})
    ours, altairs = viz._records(frame), to_values(frame)["values"]
    assert json.dumps(ours) == json.dumps(altairs)
    assert ours[1] == {"int": 2, "float": None, "bool": False, "Int64": None, "string": None,
                       "object": None, "Float64": None}


def test_another_worker_count_reuses_the_load_charts_template() -> None:
    """The load chart's width follows the number of workers (56 px a bar, at least 200):
    one template for every count (a template is built through Altair, about 90 ms), and
    from 4 workers on, another count is new rows and parameter values for a live chart,
    not a new spec."""
    templates = set()
    specs = {}
    for workers in (2, 3, 4, 5, 8):
        run = scenarios.route(model="go", workers=workers, messages=60, seed=1)
        found = viz.parts("load", run)
        specs[workers] = viz.spec(found)
        assert specs[workers]["width"] == viz.load_chart(run).to_dict()["width"] \
            == (200 if workers <= 3 else {"step": 56})
        # drawn 56 px a bar: the picture's width grows with the workers
        drawn = re.search(r'<svg[^>]* width="([\d.]+)"', viz.to_svg(specs[workers]))
        assert drawn is not None
        width = float(drawn[1])
        assert width >= 56 * workers
        templates.add(id(viz._template(found)))
    assert len(templates) == 1
    for few, more in ((2, 3), (4, 5), (5, 8)):
        updates = viz.data_updates(specs[few], specs[more])
        assert updates is not None, (few, more)
        changed = {u["name"] for u in updates}
        assert {"labkit_bars_by_time", "labkit_order", "labkit_subtitle"} <= changed
    assert viz.data_updates(specs[3], specs[4]) is None  # 200 px, then 56 px a bar


def test_a_coloured_load_chart_has_a_template_of_its_own() -> None:
    """``model=`` colours the bars and drops the counts per time slot: another template,
    in either order."""
    run = scenarios.route(model="go", workers=3, messages=60, seed=1)
    for first, second in (({}, {"model": "go"}), ({"model": "go"}, {})):
        viz._TEMPLATES.clear()
        for options in (first, second):
            parts = viz.parts("load", run, height=123, **options)
            drawn = viz.spec(parts)
            assert set(drawn["datasets"]) <= {f"labkit_{role}" for role in parts.frames}
            assert ("labkit_bars_by_time" in drawn["datasets"]) == ("model" not in options)
