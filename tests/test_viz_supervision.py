"""viz.lifecycle_chart and viz.breaker_chart: specs built from supervision trace rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("altair")

import labkit
from labkit import viz
from labkit.actor import Actor, ActorSystem, Context
from labkit.supervision import Backoff, Child, CircuitBreaker, Supervisor, which_children


class Crash(Actor):
    async def receive(self, msg: Any, ctx: Context) -> None:
        raise ValueError("crash")


async def tree() -> None:
    """top(w, inner(x)): x fails at 1 (backoff), at 2 (inner escalates, top restarts it)
    and at 3 (backoff); everything stops at 4."""
    async with ActorSystem() as system:
        inner = Child(Supervisor, [Child(Crash, name="x")], intensity=1,
                      backoff=Backoff(0.5, 2), name="inner")
        top = system.spawn(Supervisor, [Child(Crash, name="w"), inner], intensity=3,
                           name="top")
        await labkit.sleep(1)
        for _ in range(3):
            sub = (await which_children(top))[1].ref
            assert sub is not None
            x = (await which_children(sub))[0].ref
            assert x is not None
            x.tell(1)
            await labkit.sleep(1)


@pytest.fixture(scope="module")
def tree_run() -> labkit.Run[None]:
    return labkit.simulate(tree)


def dataset(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = spec["datasets"][layer["data"]["name"]]
    return values


def test_lifecycle_chart_lanes_spans_and_marks(tree_run: labkit.Run[None]) -> None:
    spec = viz.lifecycle_chart(tree_run).to_dict()
    bars, marks = spec["layer"]
    assert spec["title"].startswith("Actor lifecycle")
    assert bars["encoding"]["x"]["title"] == "time (s)"
    assert bars["encoding"]["y"]["title"] == "actor"
    assert bars["encoding"]["y"]["sort"] == ["top", "w", "inner", "x"]  # spawn order
    spans = [(r["lane"], r["what"], r["start"], r["end"]) for r in dataset(spec, bars)]
    spawns = tree_run.trace.events(kind="spawn")
    back = [round(t, 9) for t in spawns[spawns["peer"] == "x"]["time"] if t % 1]
    assert back == pytest.approx([1.5844422, 3.5757954])  # 0.5 s * (1 + 0.2 u)
    assert spans == [
        ("top", "running", 0.0, 4.0), ("w", "running", 0.0, 4.0),
        ("inner", "running", 0.0, 2.0), ("x", "running", 0.0, 1.0),
        ("x", "running", back[0], 2.0), ("inner", "running", 2.0, 4.0),
        ("x", "running", 2.0, 3.0), ("x", "running", back[1], 4.0),
        ("x", "backoff", 1.0, back[0]), ("x", "backoff", 3.0, back[1])]
    got = [(r["lane"], r["what"], r["time"]) for r in dataset(spec, marks)]
    assert got == [("x", "fail", 1.0), ("x", "restart", 1.0), ("x", "fail", 2.0),
                   ("inner", "escalate", 2.0), ("inner", "restart", 2.0),
                   ("x", "fail", 3.0), ("x", "restart", 3.0), ("x", "stop", 4.0),
                   ("inner", "stop", 4.0), ("w", "stop", 4.0)]
    tips = {t["title"] for t in marks["encoding"]["tooltip"]}
    assert {"actor", "event", "time (s)", "why"} <= tips
    color = bars["encoding"]["color"]["scale"]
    assert color["domain"] == ["running", "backoff", "fail", "restart", "escalate", "stop"]
    assert color["range"][0] == viz.PALETTE["actor"]


def test_lifecycle_chart_is_deterministic_and_takes_a_trace_or_a_frame(
        tree_run: labkit.Run[None]) -> None:
    again = labkit.simulate(tree)
    spec = json.dumps(viz.lifecycle_chart(tree_run).to_dict(), sort_keys=True)
    assert json.dumps(viz.lifecycle_chart(again).to_dict(), sort_keys=True) == spec
    from_trace = viz.lifecycle_chart(tree_run.trace).to_dict()
    from_frame = viz.lifecycle_chart(tree_run.trace.df).to_dict()
    assert from_trace == from_frame
    with pytest.raises(ValueError, match=r"^limit must be an int >= 1, got int 0$"):
        viz.lifecycle_chart(tree_run, limit=0)
    with pytest.raises(TypeError, match=r"^expected a labkit Trace"):
        viz.lifecycle_chart([])  # type: ignore[arg-type]


async def flaky_dependency() -> None:
    async def fail() -> None:
        raise ValueError("down")

    async def ok() -> int:
        return 1

    db = CircuitBreaker(max_failures=2, reset_timeout=2, backoff_factor=2, name="db")
    cache = CircuitBreaker(max_failures=1, reset_timeout=1, name="cache")
    for fn in (fail, fail):
        try:
            await db.call(fn)
        except ValueError:
            pass
    await labkit.sleep(3)  # half-open at 2, first read at 3: the chart says 2
    try:
        await db.call(fail)
    except ValueError:
        pass
    try:
        await cache.call(fail)
    except ValueError:
        pass
    await labkit.sleep(5)  # timeout 4: trial possible from 7
    await db.call(ok)
    await labkit.sleep(1)


def test_breaker_chart_states_over_time() -> None:
    run = labkit.simulate(flaky_dependency)
    spec = viz.breaker_chart(run).to_dict()
    assert spec["title"] == "Circuit breaker state over time"
    assert spec["encoding"]["x"]["title"] == "time (s)"
    assert spec["encoding"]["y"]["sort"] == ["db", "cache"]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["closed", "half_open", "open"]
    rows = [(r["breaker"], r["state"], r["start"], r["end"])
            for r in spec["datasets"][spec["data"]["name"]]]
    assert rows == [
        ("db", "open", 0.0, 2.0), ("db", "half_open", 2.0, 3.0), ("db", "open", 3.0, 7.0),
        ("db", "half_open", 7.0, 8.0), ("db", "closed", 8.0, 9.0),
        # cache: never read after it opened, yet half-open from 4 on
        ("cache", "closed", 0.0, 3.0), ("cache", "open", 3.0, 4.0),
        ("cache", "half_open", 4.0, 9.0)]
    tips = {t["title"] for t in spec["encoding"]["tooltip"]}
    assert {"breaker", "state", "from (s)", "to (s)", "why"} <= tips
    one = viz.breaker_chart(run, "cache").to_dict()
    assert one["title"] == "Circuit breaker state over time: cache"
    with pytest.raises(ValueError, match=r"^no circuit breaker named 'api' in this trace; "
                                         r"breakers: \['db', 'cache'\]$"):
        viz.breaker_chart(run, "api")
