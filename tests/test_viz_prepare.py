"""viz.prepare: the chart data of one run, made in advance and kept with its trace, so that a
run made in a worker process (and pickled back) draws exactly what a fresh run draws."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

pytest.importorskip("altair")

from labkit import scenarios, viz
from labkit.trace import Trace
from labkit.widgets import truncate
from tests.test_viz_fast import OPTIONS, assert_same_parts, assert_same_spec


def _run(model: str, messages: int = 150) -> Any:
    return scenarios.producer_consumer(model=model, capacity=3, messages=messages, seed=1)


def _round_trip(run: Any) -> Any:
    return pickle.loads(pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL))


CHARTS = [(chart, options) for chart, variants in OPTIONS.items() for options in variants]


@pytest.mark.parametrize("messages", [150, 10_000])
def test_a_prepared_pickled_run_draws_what_a_fresh_run_draws(messages: int) -> None:
    for chart, options in CHARTS:
        fresh = {m: _run(m, messages) for m in ("go", "rust")}
        made = {m: _run(m, messages) for m in ("go", "rust")}
        for run in made.values():
            viz.prepare(run, [(chart, options)])
        came = {m: _round_trip(r) for m, r in made.items()}
        for run in came.values():  # the large frames stayed behind: nothing of them came
            assert not [k for k in run.trace.derived if k.startswith("_")]
            assert "df" not in vars(run.trace)
        where = f"{chart}{options}"
        assert_same_parts(viz.parts(chart, came["go"], **options),
                          viz.parts(chart, fresh["go"], **options), where)
        new, old = viz.compare_parts(came, chart=chart, **options), \
            viz.compare_parts(fresh, chart=chart, **options)
        assert_same_parts(new, old, where)
        assert_same_spec(new, old)


def test_what_travels_is_what_the_latency_and_depth_charts_need() -> None:
    run = _run("go", 2_000)
    viz.prepare(run, ["depth", "latency"])
    came = _round_trip(run)
    travelled = set(came.trace.derived)
    assert {"latencies", "latency_marks_by_time", "span"} <= travelled
    assert any(k.startswith("depth ") for k in travelled)
    viz.compare_parts({"Go": came, "Rust": came}, chart="depth")
    viz.compare_parts({"Go": came, "Rust": came}, chart="latency")
    # drawing them made no events frame here: everything came with the run
    assert "_events" not in came.trace.derived


def test_a_cut_trace_has_its_own_data() -> None:
    run = _run("rust")
    viz.prepare(run, ["depth", "latency", "throughput"])
    cut = truncate(run, run.elapsed / 2)
    assert cut.trace is not run.trace and not cut.trace.derived
    fresh_cut = truncate(_run("rust"), run.elapsed / 2)
    for chart, options in CHARTS:
        assert_same_parts(viz.parts(chart, cut, **options),
                          viz.parts(chart, fresh_cut, **options), f"{chart}{options}")
    # and the whole run's data is still the whole run's
    for chart, options in CHARTS:
        assert_same_parts(viz.parts(chart, run, **options),
                          viz.parts(chart, _run("rust"), **options), f"{chart}{options}")


def test_parts_do_not_share_kept_frames_for_writing() -> None:
    run = _run("go")
    first = viz.parts("depth", run)
    first.frames["lines"]["depth"] = 0  # a caller changing its parts...
    # ...changes nothing kept
    assert_same_parts(viz.parts("depth", run), viz.parts("depth", _run("go")))


def test_prepare_and_prepared_check_what_they_get() -> None:
    run = _run("go")
    viz.prepare(run, [])
    viz.prepare(run, ("depth", ("latency", {"kind": "ecdf"})))
    with pytest.raises(ValueError, match="charts\\[0\\]"):
        viz.prepare(run, ["pie"])
    with pytest.raises(TypeError, match="charts"):
        viz.prepare(run, "depth")
    with pytest.raises(TypeError):
        viz.prepare(object(), ["depth"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        viz.prepare(run, [("depth", ["max_points"])])  # type: ignore[list-item]
    made = viz.prepared(scenarios.producer_consumer,
                        {"model": "go", "capacity": 3, "messages": 150, "seed": 1},
                        ["depth", "latency"])
    assert "latencies" in made.trace.derived
    assert_same_parts(viz.compare_parts({"a": _round_trip(made)}, chart="latency"),
                      viz.compare_parts({"a": _run("go")}, chart="latency"))


def test_a_frame_keeps_nothing_and_a_trace_of_rows_pickles() -> None:
    df = _run("go").trace.df
    viz.prepare(df, ["depth"])  # nothing kept, nothing wrong
    trace = Trace(list(_run("go").trace.rows))
    viz.prepare(trace, ["latency"])
    came = _round_trip(trace)
    assert came.rows == trace.rows and "latencies" in came.derived
    assert_same_parts(viz.parts("latency", came), viz.parts("latency", trace))


def test_a_pickled_trace_makes_its_rows_again() -> None:
    trace = _run("go").trace
    rows = list(trace.rows)  # read: kept as tuples, which need not travel
    came = _round_trip(trace)
    assert came._rows is None and list(came.rows) == rows and len(came) == len(trace)


def test_a_trace_pickled_without_derived_data_gets_its_own() -> None:
    trace = _run("go").trace
    state = dict(vars(trace))
    del state["derived"]  # as an older labkit pickled it
    old = Trace.__new__(Trace)
    old.__setstate__(state)
    assert old.derived == {}
    assert_same_parts(viz.parts("latency", old), viz.parts("latency", _run("go")))
