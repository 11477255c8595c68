"""Scenario runs in worker processes (labkit.workers), and the dashboard that uses them: a
run made in a worker is the run made here, row for row; a scenario's error is raised here
as it would be without workers; a worker that dies, an argument that does not pickle or a
function a worker cannot import falls back to running here, and nothing is lost."""

from __future__ import annotations

import functools
import gc
import os
import signal
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from labkit import Run, scenarios, workers

pytest.importorskip("ipywidgets")

from labkit import widgets
from labkit.widgets import Dashboard

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers run even where this test machine has one core (they are processes)."""
    monkeypatch.setattr(workers, "cpus", lambda: 2)


def _idle() -> bool:
    """Every worker is alive and free for the next call."""
    return all(w.job is None and w.process.poll() is None for w in workers._workers)


def _same(a: Run[Any], b: Run[Any]) -> None:
    assert a.result == b.result
    pd.testing.assert_frame_equal(a.trace.df, b.trace.df)
    assert (a.seed, a.elapsed, a.leaked, a.completed, a.schedule) == \
        (b.seed, b.elapsed, b.leaked, b.completed, b.schedule)


CALLS: list[dict[str, Any]] = [{"model": "go", "capacity": 2, "messages": 300, "seed": 4},
         {"model": "rust", "capacity": 0, "messages": 300, "seed": 4}]


def test_a_run_made_in_a_worker_is_the_run_made_here() -> None:
    got = [result() for result in workers.run(scenarios.producer_consumer, CALLS)]
    for run, kwargs in zip(got, CALLS, strict=True):
        _same(run, scenarios.producer_consumer(**kwargs))
    assert len(workers._workers) == 2 and _idle()  # back, ready for the next


def test_a_scenarios_error_is_raised_here_and_the_worker_stays() -> None:
    bad = {"model": "go", "capacity": -1, "messages": 10}
    results = workers.run(scenarios.producer_consumer, [bad, CALLS[0]])
    with pytest.raises(ValueError, match="capacity"):
        results[0]()
    _same(results[1](), scenarios.producer_consumer(**CALLS[0]))
    assert len(workers._workers) == 2 and _idle()


def test_a_killed_worker_is_replaced_and_its_call_made_here() -> None:
    workers.warm_up()
    victim = workers._workers[0]
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    got = [r() for r in workers.run(scenarios.producer_consumer, CALLS)]  # a new one
    _same(got[0], scenarios.producer_consumer(**CALLS[0]))
    assert victim not in workers._workers
    # killed while it works: its call is made here instead
    (result,) = workers.run(_nap, [{"seconds": 0.5}])
    (busy,) = (w for w in workers._workers if w.job is not None)
    os.kill(busy.process.pid, signal.SIGKILL)
    assert result() == 0.5
    assert busy not in workers._workers
    workers.warm_up()
    assert len(workers._workers) == 2 and _idle()


def test_calls_a_worker_cannot_take_are_made_here() -> None:
    def local(**kwargs: Any) -> Run[Any]:  # not importable by another process
        return scenarios.producer_consumer(**kwargs)

    assert not workers.portable(local)
    assert not workers.portable(lambda: None)
    assert workers.portable(scenarios.producer_consumer)
    assert workers.portable(functools.partial(scenarios.producer_consumer, messages=3))
    (result,) = workers.run(local, [CALLS[0]])
    _same(result(), scenarios.producer_consumer(**CALLS[0]))
    # an argument that does not pickle
    (result,) = workers.run(_echo, [{"value": lambda: 7}])
    assert result()() == 7


def _echo(value: Any) -> Any:
    return value


def test_more_calls_than_cores_wait_for_a_worker_and_abandoned_calls_hold_none() -> None:
    calls = [dict(CALLS[0], seed=s) for s in range(3)]
    got = [r() for r in workers.run(scenarios.producer_consumer, calls)]
    for run, kwargs in zip(got, calls, strict=True):
        _same(run, scenarios.producer_consumer(**kwargs))
    assert len(workers._workers) == 2  # one per core, never more
    pids = {w.process.pid for w in workers._workers}
    workers.run(scenarios.producer_consumer, CALLS)  # never collected (an interrupt)
    results = workers.run(scenarios.producer_consumer, CALLS)
    for result, kwargs in zip(results, CALLS, strict=True):
        _same(result(), scenarios.producer_consumer(**kwargs))
    # the abandoned calls' answers were read all the same: the same workers, free again
    assert {w.process.pid for w in workers._workers} == pids
    assert _wait_until(_idle)


def _wait_until(done: Any, seconds: float = 60.0) -> bool:
    """Poll ``done()`` until it is true (a worker's answer comes on another thread)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _nap(seconds: float) -> float:
    """A call that takes ``seconds`` of a worker's time (a long run, in short)."""
    time.sleep(seconds)
    return seconds


# -- calls made ahead -------------------------------------------------------------------------

def test_a_call_made_ahead_is_the_run_made_here() -> None:
    ahead = workers.Ahead()
    wanted = {("go", 2): CALLS[0], ("rust", 0): CALLS[1]}
    assert ahead.want(scenarios.producer_consumer, wanted) == {}
    assert ("go", 2) in ahead and ("go", 3) not in ahead
    assert ahead.settle(60) and ahead.pending() == 0
    result = ahead.take(("go", 2))
    assert result is not None and ("go", 2) not in ahead
    _same(result(), scenarios.producer_consumer(**CALLS[0]))
    assert ahead.take(("go", 2)) is None  # taken once
    # taken before it is done: it waits for it
    ahead.want(scenarios.producer_consumer, {"later": dict(CALLS[0], seed=9)})
    result = ahead.take("later")
    assert result is not None
    _same(result(), scenarios.producer_consumer(**dict(CALLS[0], seed=9)))
    assert _wait_until(_idle)


def test_calls_no_longer_wanted_are_kept_when_made_and_stopped_when_not() -> None:
    ahead = workers.Ahead()
    ahead.want(scenarios.producer_consumer, {"made": CALLS[0]})
    assert ahead.settle(60)
    kept = ahead.want(_nap, {"long": {"seconds": 60.0}})  # "made" is forgotten: kept
    assert list(kept) == ["made"]
    _same(kept["made"], scenarios.producer_consumer(**CALLS[0]))
    assert _wait_until(lambda: any(w.job is not None for w in workers._workers))
    assert ahead.want(_nap, {}) == {}  # "long" forgotten under way: stopped
    assert _wait_until(_idle, 10.0)  # not after its 60 s
    assert ahead.pending() == 0


def test_a_call_someone_waits_for_stops_a_call_made_ahead_which_is_made_again_later() -> None:
    ahead = workers.Ahead()
    ahead.want(_nap, {1: {"seconds": 60.0}, 2: {"seconds": 60.0}, 3: {"seconds": 0.0}})
    assert _wait_until(lambda: all(w.job is not None for w in workers._workers))
    (result,) = workers.run(scenarios.producer_consumer, [CALLS[0]])
    # both workers were busy for a minute: one stopped its call for this one
    _same(result(), scenarios.producer_consumer(**CALLS[0]))
    assert ahead.pending() == 3
    # the stopped call is made again once a worker is free, before call 3
    assert _wait_until(lambda: all(w.job is not None and w.job.kwargs == {"seconds": 60.0}
                                   for w in workers._workers))
    assert [job.kwargs for job in workers._ahead] == [{"seconds": 0.0}]
    ahead.want(_nap, {3: {"seconds": 0.0}})
    assert ahead.settle(10.0)  # 1 and 2 stopped, 3 made
    taken = ahead.take(3)
    assert taken is not None and taken() == 0.0
    # a worker stopped mid-call makes the next one right
    _same(workers.run(scenarios.producer_consumer, [CALLS[1]])[0](),
          scenarios.producer_consumer(**CALLS[1]))


def test_a_worker_stopped_in_the_middle_of_a_run_makes_its_next_runs_right() -> None:
    ahead = workers.Ahead()
    long = {"model": "go", "capacity": 1, "messages": 300_000, "seed": 1}  # seconds
    ahead.want(scenarios.producer_consumer, {"long": long})
    assert _wait_until(lambda: any(w.job is not None for w in workers._workers))
    time.sleep(0.3)  # well into the run
    calls = [dict(CALLS[0], seed=s) for s in (11, 12)]
    results = workers.run(scenarios.producer_consumer, calls)  # both workers: one stops
    for result, kwargs in zip(results, calls, strict=True):
        _same(result(), scenarios.producer_consumer(**kwargs))
    assert ahead.pending() == 1  # made again, from the start
    ahead.want(scenarios.producer_consumer, {})
    assert _wait_until(_idle, 10.0)
    for result, kwargs in zip(workers.run(scenarios.producer_consumer, CALLS), CALLS,
                              strict=True):
        _same(result(), scenarios.producer_consumer(**kwargs))


def test_calls_made_ahead_for_an_owner_that_is_gone_are_stopped() -> None:
    ahead = workers.Ahead()
    ahead.want(_nap, {1: {"seconds": 60.0}, 2: {"seconds": 60.0}, 3: {"seconds": 60.0}})
    assert _wait_until(lambda: all(w.job is not None for w in workers._workers))
    del ahead
    gc.collect()
    assert _wait_until(_idle, 10.0), [(w.job and (w.job.kwargs, w.job.stopping, w.job.wanted),
                                       w.process.poll()) for w in workers._workers]
    assert not workers._ahead


def test_a_stop_that_comes_before_its_call_stops_it_and_only_it() -> None:
    worker = workers._Worker()  # still starting
    try:
        os.write(worker.stops, workers._LENGTH.pack(1))  # stop call 1, not yet sent
        workers._write(worker.requests, (1, _nap, {"seconds": 60.0}))
        assert not worker.answer().ok  # at once, not after a minute
        workers._write(worker.requests, (2, _nap, {"seconds": 0.0}))
        answer = worker.answer()
        assert answer.ok and answer.value == 0.0
        assert worker.process.poll() is None
    finally:
        worker.stop()


def test_on_one_core_nothing_is_made_ahead_and_every_call_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "cpus", lambda: 1)
    ahead = workers.Ahead()
    assert ahead.want(scenarios.producer_consumer, {"x": CALLS[0]}) == {}
    assert "x" not in ahead and ahead.take("x") is None
    started = len(workers._workers)
    (result,) = workers.run(scenarios.producer_consumer, [CALLS[0]])
    _same(result(), scenarios.producer_consumer(**CALLS[0]))
    assert len(workers._workers) == started  # no worker was asked


def test_cores_follow_affinity_and_a_cgroup_quota(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real cpus()
    affinity = len(os.sched_getaffinity(0))
    v2, v1_quota, v1_period = tmp_path / "cpu.max", tmp_path / "quota", tmp_path / "period"
    monkeypatch.setattr(workers, "_CPU_MAX", v2)
    monkeypatch.setattr(workers, "_CFS_QUOTA", v1_quota)
    monkeypatch.setattr(workers, "_CFS_PERIOD", v1_period)
    assert workers.cpus() == affinity  # no cgroup file
    v2.write_text("max 100000\n")
    assert workers.cpus() == affinity
    v2.write_text("150000 100000\n")  # one and a half cores' time: one
    assert workers.cpus() == 1
    v2.write_text("50000 100000\n")
    assert workers.cpus() == 1
    v2.write_text("not a quota\n")
    assert workers.cpus() == affinity
    v2.unlink()  # cgroup v1
    v1_quota.write_text("-1\n")
    v1_period.write_text("100000\n")
    assert workers.cpus() == affinity
    v1_quota.write_text("100000\n")
    assert workers.cpus() == 1


# -- the dashboard --------------------------------------------------------------------------

def _dashboard(**kwargs: Any) -> Dashboard:
    return Dashboard(scenarios.producer_consumer, controls={"capacity": range(0, 6)},
                     charts="depth", compare_models=["go", "rust"],
                     fixed={"messages": 200, "seed": 2}, live=False, **kwargs)


def test_a_dashboard_in_workers_shows_what_it_shows_without() -> None:
    here, there = _dashboard(workers=False), _dashboard(workers=True)
    for value in (1, 4):
        here.controls["capacity"].value = value
        there.controls["capacity"].value = value
        assert list(here.runs) == list(there.runs) == ["Go", "Rust"]
        for label in here.runs:
            _same(here.runs[label], there.runs[label])
        assert here.svg == there.svg and here.status.value == there.status.value
    assert here.in_workers == 0 and there.in_workers == there.simulations == 6


def test_a_dashboard_uses_workers_once_its_runs_are_slow(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(widgets, "WORKERS_AFTER", 60.0)
    dash = _dashboard(look_ahead=0)
    dash.controls["capacity"].value = 2
    assert dash.in_workers == 0  # 200 messages: quick enough here
    monkeypatch.setattr(widgets, "WORKERS_AFTER", 0.0)
    dash.controls["capacity"].value = 3  # the runs of the last refresh took >= 0 s
    assert dash.in_workers == 2
    dash.controls["capacity"].value = 2  # both from the run cache: nothing simulated
    assert dash.in_workers == 2
    monkeypatch.setattr(widgets, "WORKERS_AFTER", 60.0)  # the workers' runs were quick
    dash.controls["capacity"].value = 4
    dash.controls["capacity"].value = 5
    assert dash.in_workers == 2


def test_a_scenarios_error_in_a_worker_is_shown_as_without_workers() -> None:
    dashes = [Dashboard(scenarios.overload, controls={"policy": ["block", "drop_head"]},
                        charts="depth", compare_models=["go", "rust", "actor"],
                        fixed={"messages": 40, "seed": 1}, live=False, workers=w)
              for w in (False, True)]
    for dash in dashes:  # a Go channel and tokio's mpsc never evict a queued value
        dash.controls["policy"].value = "drop_head"
        assert list(dash.skipped) == ["Go", "Rust"] and list(dash.runs) == ["Actor"]
    assert dashes[1].in_workers == 6
    assert dashes[0].skipped == dashes[1].skipped
    assert dashes[0].status.value == dashes[1].status.value


def test_workers_must_be_a_bool_or_none_and_need_an_importable_scenario() -> None:
    with pytest.raises(TypeError, match="workers must be True, False or None"):
        _dashboard(workers="yes")

    def mine(model: str = "go", capacity: int = 1) -> Run[Any]:
        return scenarios.producer_consumer(model=model, capacity=capacity, messages=5)

    with pytest.raises(ValueError, match="another process can import"):
        Dashboard(mine, controls={"capacity": range(1, 3)}, charts="depth",
                  compare_models=["go", "rust"], live=False, workers=True)
    dash = Dashboard(mine, controls={"capacity": range(1, 3)}, charts="depth",
                     compare_models=["go", "rust"], live=False)  # None: runs here
    dash.controls["capacity"].value = 2
    assert dash.in_workers == 0 and list(dash.runs) == ["Go", "Rust"]


def test_a_dashboard_works_out_the_next_values_ahead_and_shows_the_same_runs() -> None:
    here, there = _dashboard(workers=False), _dashboard(workers=True, look_ahead=3)
    assert here.ahead.pending() == 0 and (("go", (("capacity", 1),))) not in here.ahead
    assert there.ahead.settle(60)  # capacity 0 shown: 1, 2 and 3 worked out, each model
    assert all(there._key(m, {"capacity": c}) in there.ahead
               for m in ("go", "rust") for c in (1, 2, 3))
    for value in (1, 2):
        here.controls["capacity"].value = value
        there.controls["capacity"].value = value
        for label in here.runs:
            _same(here.runs[label], there.runs[label])
        assert here.svg == there.svg and here.status.value == there.status.value
    assert there.worked_ahead == 4 and there.in_workers == there.simulations == 6
    # at 2 it wants 3 (still wanted), 4 and 5 (1 and 0 are cached)
    assert all(there._key("go", {"capacity": c}) in there.ahead for c in (3, 4, 5))
    assert there._key("go", {"capacity": 1}) not in there.ahead
    there.controls["capacity"].value = 5
    assert there.worked_ahead == 6 and there.in_workers == 8
    assert there.ahead.settle(60)
    there.controls["capacity"].value = 0  # cached: nothing made
    assert there.in_workers == 8
    assert there.ahead.settle(60)
    off = _dashboard(workers=True, look_ahead=0)
    assert off._key("go", {"capacity": 1}) not in off.ahead and off.ahead.settle(0)


def test_a_one_model_dashboard_works_out_its_next_runs_ahead_too() -> None:
    def one(**kwargs: Any) -> Dashboard:
        return Dashboard(scenarios.producer_consumer, controls={"capacity": range(0, 6)},
                         charts="latency", fixed={"messages": 200, "seed": 2, "model": "rust"},
                         live=False, **kwargs)

    here, there = one(workers=False), one(workers=True, look_ahead=2)
    assert there.ahead.settle(60)
    here.controls["capacity"].value = there.controls["capacity"].value = 2
    _same(here.runs[""], there.runs[""])
    assert there.worked_ahead == 1 and there.in_workers == 1  # the first ran here
    assert here.svg == there.svg


def test_long_runs_are_worked_out_fewer_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.widgets import _settings_ahead

    assert widgets.AHEAD_SECONDS == 4.0
    assert _settings_ahead(8, 0.26) == 8  # 10 000 messages, two models: all 8
    assert _settings_ahead(8, 1.0) == 4
    assert _settings_ahead(8, 2.6) == 1  # 100 000 messages: one
    assert _settings_ahead(8, 5.0) == 0  # longer than the budget: none
    assert _settings_ahead(3, 0.0) == 3 and _settings_ahead(0, 0.1) == 0
    monkeypatch.setattr(widgets, "AHEAD_SECONDS", 0.0)
    dash = _dashboard(workers=True, look_ahead=5)
    dash.controls["capacity"].value = 2
    assert dash.ahead.pending() == 0 and dash._key("go", {"capacity": 3}) not in dash.ahead


def test_look_ahead_is_a_count() -> None:
    with pytest.raises(TypeError, match="look_ahead"):
        _dashboard(look_ahead="4")
    with pytest.raises(ValueError, match="look_ahead"):
        _dashboard(look_ahead=-1)


def test_the_settings_worked_out_ahead_are_the_nearest_first() -> None:
    import ipywidgets

    from labkit.widgets import _nearby

    slider = ipywidgets.IntSlider(value=2, min=0, max=10, step=2)
    assert list(_nearby({"a": slider})) == [{"a": v} for v in (4, 0, 6, 8, 10)]
    choice = ipywidgets.Dropdown(options=[("one", 1), ("two", 2), ("three", 3)], value=1)
    both = list(_nearby({"a": slider, "b": choice}))
    assert both[:5] == [{"a": 4, "b": 1}, {"a": 0, "b": 1}, {"a": 2, "b": 2},
                        {"a": 6, "b": 1}, {"a": 2, "b": 3}]
    assert len(both) == 7
    assert list(_nearby({"c": ipywidgets.Checkbox(value=True)})) == [{"c": False}]
    assert list(_nearby({"f": ipywidgets.FloatSlider(value=0.5)})) == []  # too many
    wide = ipywidgets.IntSlider(value=5, min=0, max=10**12)  # a range, not a list
    assert next(_nearby({"n": wide})) == {"n": 6}
