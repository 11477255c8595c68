"""Scenario runs in worker processes (labkit.workers), and the dashboard that uses them: a
run made in a worker is the run made here, row for row; a scenario's error is raised here
as it would be without workers; a worker that dies, an argument that does not pickle or a
function a worker cannot import falls back to running here, and nothing is lost."""

from __future__ import annotations

import functools
import os
import signal
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
    assert len(workers._idle) == 2 and not workers._busy  # back, ready for the next


def test_a_scenarios_error_is_raised_here_and_the_worker_stays() -> None:
    bad = {"model": "go", "capacity": -1, "messages": 10}
    results = workers.run(scenarios.producer_consumer, [bad, CALLS[0]])
    with pytest.raises(ValueError, match="capacity"):
        results[0]()
    _same(results[1](), scenarios.producer_consumer(**CALLS[0]))
    assert len(workers._idle) == 2


def test_a_killed_worker_is_replaced_and_its_call_made_here() -> None:
    workers.warm_up()
    victim = workers._idle[0]
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    got = [r() for r in workers.run(scenarios.producer_consumer, CALLS)]  # a new one
    _same(got[0], scenarios.producer_consumer(**CALLS[0]))
    # killed while it works: its call is made here instead
    results = workers.run(scenarios.producer_consumer, CALLS)
    os.kill(workers._busy[0].process.pid, signal.SIGKILL)
    for result, kwargs in zip(results, CALLS, strict=True):
        _same(result(), scenarios.producer_consumer(**kwargs))
    assert all(w.process.poll() is None for w in workers._idle)


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


def test_more_calls_than_cores_run_here_and_abandoned_calls_are_not_trusted() -> None:
    calls = [dict(CALLS[0], seed=s) for s in range(3)]
    got = [r() for r in workers.run(scenarios.producer_consumer, calls)]
    for run, kwargs in zip(got, calls, strict=True):
        _same(run, scenarios.producer_consumer(**kwargs))
    workers.run(scenarios.producer_consumer, CALLS)  # never collected (an interrupt)
    abandoned = list(workers._busy)
    assert len(abandoned) == 2
    results = workers.run(scenarios.producer_consumer, CALLS)
    assert all(w.process.poll() is not None for w in abandoned)  # stopped, not reused
    for result, kwargs in zip(results, CALLS, strict=True):
        _same(result(), scenarios.producer_consumer(**kwargs))


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
    dash = _dashboard()
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
