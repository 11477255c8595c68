"""viz.recovery_chart and viz.delivery_chart: specs from the frames journal scenarios make."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("altair")

import pandas as pd

from labkit import viz

RECOVERY = pd.DataFrame({
    "backend": ["file", "file", "file", "sqlite", "sqlite", "sqlite"],
    "snapshot_every": [10, 100, 1000, 10, 100, 1000],
    "recovery_s": [0.01, 0.1, 1.0, 0.02, 0.2, 2.0],
    "events_replayed": [9, 99, 999, 9, 99, 999],
})
DELIVERY = pd.DataFrame({
    "mode": ["at-most-once", "at-least-once", "effectively-once"] * 2,
    "model": ["go"] * 3 + ["rust"] * 3,
    "sent": [100] * 6,
    "duplicates": [0, 4, 0, 0, 3, 0],
    "losses": [5, 0, 0, 4, 0, 0],
})


def _spec(chart: Any) -> dict[str, Any]:
    return dict(chart.to_dict())


def _encodings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for part in [spec.get("spec", spec), *spec.get("layer", [])]:
        if "encoding" in part:
            found.append(part["encoding"])
    return found


def test_recovery_chart_titles_units_tooltips() -> None:
    spec = _spec(viz.recovery_chart(RECOVERY, color="backend"))
    assert spec["title"] == "Recovery time against snapshot interval"
    [enc, _points] = _encodings(spec)
    assert enc["x"]["title"] == "snapshot interval (events)"
    assert enc["y"]["title"] == "recovery time (s)"
    assert [t["title"] for t in enc["tooltip"]] == [
        "backend", "snapshot every (events)", "recovery time (s)", "events replayed"]
    replayed = _spec(viz.recovery_chart(RECOVERY, y="events_replayed", title="T"))
    assert replayed["title"] == "T"
    assert _encodings(replayed)[0]["y"]["title"] == "events replayed on recovery"


def test_delivery_chart_titles_units_palette_tooltips() -> None:
    spec = _spec(viz.delivery_chart(DELIVERY))
    assert spec["title"] == "Duplicates and losses per delivery guarantee"
    enc = spec["spec"]["encoding"]
    assert enc["x"]["title"] == "delivery guarantee"
    assert enc["x"]["sort"] == ["at-most-once", "at-least-once", "effectively-once"]
    assert enc["y"]["title"] == "messages"
    assert enc["color"]["scale"] == {"domain": ["go", "rust"],
                                     "range": [viz.PALETTE["go"], viz.PALETTE["rust"]]}
    assert [t["title"] for t in enc["tooltip"]] == [
        "guarantee", "model", "count", "messages", "messages sent"]
    rows = next(iter(spec["datasets"].values()))
    lost = {(r["mode"], r["model"]): r["messages"] for r in rows if r["count"] == "losses"}
    assert lost[("at-most-once", "go")] == 5 and lost[("effectively-once", "rust")] == 0


@pytest.mark.parametrize("build", [lambda: viz.recovery_chart(RECOVERY, color="backend"),
                                   lambda: viz.delivery_chart(DELIVERY)])
def test_journal_charts_are_deterministic_and_render(build: Any) -> None:
    first, second = json.dumps(_spec(build()), sort_keys=True), json.dumps(
        _spec(build()), sort_keys=True)
    assert first == second
    assert viz.to_svg(build()).startswith("<svg")


#: The module without its type hints: these calls pass wrong types on purpose.
untyped: Any = viz


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: untyped.recovery_chart([1]), TypeError, "df must be a pandas DataFrame"),
    (lambda: viz.recovery_chart(RECOVERY.drop(columns="recovery_s")), ValueError,
     "needs the columns"),
    (lambda: viz.recovery_chart(RECOVERY, y="speed"), ValueError,
     "y must be one of 'recovery_s', 'events_replayed'"),
    (lambda: viz.recovery_chart(RECOVERY, width=0), ValueError, "width must be an int"),
    (lambda: viz.delivery_chart(DELIVERY.drop(columns="losses")), ValueError,
     r"\['losses'\] missing"),
    (lambda: untyped.delivery_chart("frame"), TypeError, "df must be a pandas DataFrame"),
])
def test_bad_inputs(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
