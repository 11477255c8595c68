"""labkit.viz: chart specs (fields, encodings, titles, palette), determinism, size caps and
offline rendering. Specs are checked, not pixels."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import anyio
import pandas as pd
import pytest

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

import labkit
from labkit import go, rust, viz
from labkit.trace import latency_percentiles

# -- workloads: one producer, one slower consumer, the same in both models ------------------


async def go_producer(ch: go.Chan[int], n: int) -> None:
    for i in range(n):
        await ch.send(i)
        await go.sleep(0.001)
    ch.close()


async def go_main(n: int, cap: int) -> int:
    ch: go.Chan[int] = go.Chan(cap)
    go.go(go_producer, ch, n)
    got = 0
    async for v in ch:
        await go.sleep(0.0025 if v % 2 else 0.0005)
        got += 1
    return got


async def rust_producer(tx: Any, n: int) -> None:
    with tx:
        for i in range(n):
            await tx.send(i)
            await anyio.sleep(0.001)


async def rust_main(n: int, cap: int) -> int:
    tx, rx = rust.mpsc.channel(cap)
    rust.spawn(rust_producer, tx, n)
    got = 0
    while (v := await rx.recv()) is not None:
        await anyio.sleep(0.0025 if v % 2 else 0.0005)
        got += 1
    return got


@pytest.fixture(scope="module")
def go_run() -> labkit.Run[int]:
    return labkit.simulate(go_main, 40, 2, seed=1)


@pytest.fixture(scope="module")
def rust_run() -> labkit.Run[int]:
    return labkit.simulate(rust_main, 40, 2, seed=1)


@pytest.fixture(scope="module")
def big_run() -> labkit.Run[int]:
    run = labkit.simulate(rust_main, 10_000, 4, seed=0)
    assert run.result == 10_000
    return run


# -- helpers --------------------------------------------------------------------------------


def rows(spec: dict[str, Any]) -> int:
    """How many data rows a spec embeds (datasets and inline values)."""
    total = sum(len(v) for v in spec.get("datasets", {}).values())

    def walk(node: Any) -> int:
        if isinstance(node, dict):
            inline = node.get("data", {})
            n = len(inline["values"]) if isinstance(inline, dict) and "values" in inline else 0
            return n + sum(walk(v) for k, v in node.items() if k != "datasets")
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0

    return total + walk(spec)


def dataset(spec: dict[str, Any], layer: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    node = layer if layer is not None else spec
    values: list[dict[str, Any]] = spec["datasets"][node["data"]["name"]]
    return values


def assert_palette(color: dict[str, Any], models: list[str] | None = None) -> None:
    """Palette colours, in palette order; the legend lists ``models`` (default: all)."""
    assert color["field"] == "model"
    domain = color["scale"]["domain"]
    assert domain == (list(viz.PALETTE) if models is None else models)
    assert color["scale"]["range"] == [viz.PALETTE[m] for m in domain]


def axis_title(enc: dict[str, Any], channel: str) -> str:
    title: str = enc[channel]["title"]
    return title


# -- palette --------------------------------------------------------------------------------


def test_palette_is_fixed_and_covers_every_model() -> None:
    assert list(viz.PALETTE) == ["go", "rust", "actor", "other"]
    assert len(set(viz.PALETTE.values())) == 4
    color = viz.model_color().to_dict()
    assert isinstance(color, dict)
    assert_palette(color)
    assert isinstance(viz.__all__, tuple)
    for name in viz.__all__:
        assert hasattr(viz, name)


# -- each chart -----------------------------------------------------------------------------


def test_timeline_spec(go_run: labkit.Run[int]) -> None:
    spec = viz.timeline(go_run).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert "waited" in spec["title"]
    enc = spec["encoding"]
    assert enc["x"]["field"] == "start" and enc["x2"]["field"] == "end"
    assert axis_title(enc, "x") == "time (s)"
    assert enc["y"]["field"] == "lane" and axis_title(enc, "y") == "actor"
    assert_palette(enc["color"], ["go"])
    assert {t["field"] for t in enc["tooltip"]} >= {"msg_id", "phase", "duration_ms"}
    data = dataset(spec)
    phases = {r["phase"] for r in data}
    assert phases == {"blocked", "waiting", "handling"}
    # every received message has one waiting and one handling bar, on the receiver's lane
    waiting = [r for r in data if r["phase"] == "waiting"]
    assert len(waiting) == 40 and {r["lane"] for r in waiting} == {"main"}
    blocked = [r for r in data if r["phase"] == "blocked"]
    assert {r["lane"] for r in blocked} == {"go-1"}
    assert all(r["end"] >= r["start"] for r in data)
    assert {r["model"] for r in data} == {"go"}


def test_timeline_waiting_bar_matches_latency(go_run: labkit.Run[int]) -> None:
    data = dataset(viz.timeline(go_run).to_dict())
    lat = labkit.trace.latencies(go_run.trace).set_index("msg_id")["latency"]
    for r in data:
        if r["phase"] == "waiting":
            assert r["duration_ms"] == pytest.approx(lat[r["msg_id"]] * 1000)


def test_depth_chart_spec(go_run: labkit.Run[int]) -> None:
    spec = viz.depth_chart(go_run).to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["mark"]["interpolate"] == "step-after"
    enc = spec["encoding"]
    assert axis_title(enc, "x") == "time (s)"
    assert axis_title(enc, "y") == "depth (messages)"
    assert_palette(enc["color"], ["go"])
    assert "tooltip" in enc
    data = dataset(spec)
    assert {r["queue"] for r in data} == {"chan-1"}
    assert max(r["depth"] for r in data) == 2  # the channel's capacity
    assert spec["title"] == "Queue depth over time"
    one = viz.depth_chart(go_run, peer="chan-1").to_dict()
    assert one["title"] == "Queue depth over time: chan-1"
    with pytest.raises(ValueError, match="no queue named"):
        viz.depth_chart(go_run, peer="nope")


def test_depth_chart_uses_the_mailbox_for_actor_rows() -> None:
    from labkit.actor import Actor, ActorSystem, Mailbox

    class Slow(Actor):
        async def receive(self, msg: Any, ctx: Any) -> None:
            await anyio.sleep(0.01)

    async def main() -> None:
        async with ActorSystem() as system:
            ref = system.spawn(Slow, mailbox=Mailbox(2, overflow="drop_new"))
            for i in range(5):
                ref.tell(i)
            await ref.send(99)

    run = labkit.simulate(main)
    spec = viz.depth_chart(run).to_dict()
    data = dataset(spec)
    assert {r["queue"] for r in data} == {"actor-1"}
    assert {r["model"] for r in data} == {"actor"}
    # timeline and sequence diagram work on actor traces too (handle_end ends handling)
    tl = dataset(viz.timeline(run).to_dict())
    handling = [r for r in tl if r["phase"] == "handling"]
    assert handling and all(r["duration_ms"] == pytest.approx(10) for r in handling)
    seq = viz.sequence_diagram(run).to_dict()
    crosses = dataset(seq, seq["layer"][3])
    assert {r["kind"] for r in crosses} == {"dead_letter"}


def test_latency_chart_marks_percentiles(go_run: labkit.Run[int]) -> None:
    spec = viz.latency_chart(go_run).to_dict()
    assert "p50" in spec["title"]
    bars, rules, labels = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    assert axis_title(bars["encoding"], "x") == "latency (ms)"
    assert axis_title(bars["encoding"], "y") == "messages"
    assert_palette(bars["encoding"]["color"], ["go"])
    assert "tooltip" in bars["encoding"]
    assert sum(r["messages"] for r in dataset(spec, bars)) == 40
    assert rules["mark"]["type"] == "rule"
    marks = {r["percentile"]: r["value_ms"] for r in dataset(spec, rules)}
    expected = latency_percentiles(go_run.trace)
    assert set(marks) == {"p50", "p90", "p99"}
    for key, seconds in expected.items():
        assert marks[key] == pytest.approx(seconds * 1000)
    texts = [r["label"] for r in dataset(spec, labels)]
    assert any(t.startswith("p99 = ") and t.endswith(" ms") for t in texts)


def test_latency_ecdf(go_run: labkit.Run[int]) -> None:
    spec = viz.latency_chart(go_run, kind="ecdf").to_dict()
    line = spec["layer"][0]
    assert line["mark"]["type"] == "line"
    assert axis_title(line["encoding"], "y") == "fraction of messages"
    data = dataset(spec, line)
    assert len(data) == 101 and data[-1]["fraction"] == 1.0


def test_throughput_chart(go_run: labkit.Run[int]) -> None:
    spec = viz.throughput_chart(go_run, window=0.01).to_dict()
    enc = spec["encoding"]
    assert axis_title(enc, "x") == "time (s)"
    assert axis_title(enc, "y") == "throughput (messages/s)"
    assert_palette(enc["color"], ["go"])
    assert "Throughput" in spec["title"] and "10 ms" in spec["title"]
    data = dataset(spec)
    assert sum(r["messages"] for r in data) == 40
    assert all(r["rate"] == pytest.approx(r["messages"] / 0.01) for r in data)
    starts = [r["window_start"] for r in data]
    assert starts == sorted(starts) and starts[0] == 0.0  # empty windows are zero, not gaps
    with pytest.raises(ValueError, match="window"):
        viz.throughput_chart(go_run, window=0)


def test_sequence_diagram(go_run: labkit.Run[int]) -> None:
    spec = viz.sequence_diagram(go_run, limit=12).to_dict()
    assert spec["title"] == "Message sequence (first 12 messages)"
    lifelines, lines, heads, _crosses = spec["layer"]
    enc = lines["encoding"]
    assert enc["x"]["field"] == "sender" and enc["x2"]["field"] == "receiver"
    assert enc["y"]["field"] == "sent" and enc["y2"]["field"] == "received"
    assert enc["y"]["scale"]["reverse"] is True  # time runs downwards
    assert axis_title(enc, "y") == "time (s)" and axis_title(enc, "x") == "actor"
    assert_palette(enc["color"], ["go"])
    arrows = dataset(spec, lines)
    assert len(arrows) == 12
    assert {(r["sender"], r["receiver"]) for r in arrows} == {("go-1", "main")}
    assert all(r["received"] >= r["sent"] for r in arrows)
    assert [r["msg_id"] for r in arrows] == sorted(r["msg_id"] for r in arrows)
    assert enc["x"]["scale"]["domain"] == ["main", "go-1"]  # order of first appearance
    assert heads["encoding"]["shape"]["field"] == "direction"
    assert len(dataset(spec, lifelines)) == 2


def test_sequence_diagram_draws_replies_timeouts_and_late_replies() -> None:
    from labkit.actor import Actor, ActorSystem, AskTimeout, Context

    class Echo(Actor):
        async def receive(self, msg: Any, ctx: Context) -> Any:
            await anyio.sleep(msg)
            return msg

    async def main() -> None:
        async with ActorSystem() as system:
            quick, slow = system.spawn(Echo, name="quick"), system.spawn(Echo, name="slow")
            await quick.ask(0.01, timeout=1.0)
            with pytest.raises(AskTimeout):
                await slow.ask(0.5, timeout=0.1)
            await anyio.sleep(1)

    spec = viz.sequence_diagram(labkit.simulate(main), limit=5).to_dict()
    _lifelines, lines, heads, marks = spec["layer"]
    arrows = dataset(spec, lines)
    kinds = sorted((r["arrow"], r["sender"], r["receiver"]) for r in arrows)
    assert kinds == [("late reply", "slow", "main"), ("message", "main", "quick"),
                     ("message", "main", "slow"), ("reply", "quick", "main")]
    reply = next(r for r in arrows if r["arrow"] == "reply")
    assert reply["sent"] == reply["received"] == pytest.approx(0.01)
    assert lines["encoding"]["strokeDash"]["field"] == "arrow"
    # no arrowhead where a late reply ends: a cross (its dead letter) is drawn there
    assert heads["transform"] == [{"filter": "(datum.arrow !== 'late reply')"}]
    # an ask and its reply (in time or late) share one path: a click on one picks both
    paths = {(r["arrow"], r["receiver"]): r["path"] for r in arrows}
    assert paths[("message", "quick")] == paths[("reply", "main")] != ""
    assert paths[("message", "slow")] == paths[("late reply", "main")] != ""
    assert paths[("message", "quick")] != paths[("message", "slow")]
    events = sorted((r["kind"], r["lane"], r["time"]) for r in dataset(spec, marks))
    assert events == [("dead_letter", "main", pytest.approx(0.51)),
                      ("timeout", "main", pytest.approx(0.11))]
    assert spec["resolve"] == {"scale": {"shape": "independent"}}


# -- comparison -----------------------------------------------------------------------------


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_compare_shares_scales(chart: str, go_run: labkit.Run[int],
                               rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"Go": go_run, "Rust": rust_run.trace}, chart=chart).to_dict()
    panels = spec.get("hconcat") or spec["vconcat"]
    assert [p["title"] if isinstance(p["title"], str) else p["title"]["text"]
            for p in panels] == ["Go", "Rust"]
    assert spec["title"].startswith("Go vs Rust: ")
    scale = spec["resolve"]["scale"]
    assert scale["color"] == "shared"
    lane = {"timeline": "y", "sequence": "x", "load": "x"}.get(chart)
    for axis in ("x", "y"):
        assert scale[axis] == ("independent" if axis == lane else "shared")
    models: set[str] = set()
    for name, values in spec["datasets"].items():
        models |= {r["model"] for r in values if "model" in r}
        del name
    assert models == {"go", "rust"}


def test_compare_aligns_bins(go_run: labkit.Run[int], rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"Go": go_run, "Rust": rust_run}, chart="throughput").to_dict()
    windows = [{r["window_end"] - r["window_start"] for r in dataset(spec, p)}
               for p in spec["hconcat"]]
    assert len({round(w, 9) for ws in windows for w in ws}) == 1
    with pytest.raises(ValueError, match="chart must be one of 'timeline', 'depth'"):
        viz.compare({"Go": go_run}, chart="pie")
    assert viz.compare({"Go": go_run}, title="").to_dict()["title"] == ""  # no heading


# -- determinism and size -------------------------------------------------------------------


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_same_seed_same_spec(chart: str) -> None:
    a = viz.CHARTS[chart](labkit.simulate(go_main, 30, 3, seed=7)).to_dict()
    b = viz.CHARTS[chart](labkit.simulate(go_main, 30, 3, seed=7)).to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    text = json.dumps(a)
    assert "altair-viz" not in text and "param_" not in text


def test_compare_is_deterministic() -> None:
    def build() -> str:
        runs = {"Go": labkit.simulate(go_main, 20, 2), "Rust": labkit.simulate(rust_main, 20, 2)}
        return json.dumps(viz.compare(runs, chart="latency").to_dict(), sort_keys=True)

    assert build() == build()


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_ten_thousand_messages_give_a_small_spec(chart: str, big_run: labkit.Run[int]) -> None:
    spec = viz.CHARTS[chart](big_run).to_dict()
    assert rows(spec) <= 1000
    assert rows(spec) > 0


def test_depth_chart_downsamples(big_run: labkit.Run[int]) -> None:
    spec = viz.depth_chart(big_run, max_points=100).to_dict()
    assert len(dataset(spec)) <= 100
    assert spec["title"]["subtitle"] == "peak of each of 100 equal time bins"


def test_compare_ten_thousand_is_small(big_run: labkit.Run[int],
                                       rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"big": big_run, "small": rust_run}, chart="timeline").to_dict()
    assert rows(spec) <= 2 * 3 * 150


def test_bad_inputs_say_what_to_do(go_run: labkit.Run[int]) -> None:
    with pytest.raises(TypeError, match=r"run\.trace"):
        viz.timeline(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be an int >= 1, got int 0"):
        viz.sequence_diagram(go_run, limit=0)


_SIZE = [("600", TypeError), (600.0, TypeError), (True, TypeError), (0, ValueError),
         (-1, ValueError), (10**6, ValueError)]
_CAP = [("5", TypeError), (2.5, TypeError), (None, TypeError), (0, ValueError),
        (-3, ValueError)]
_TITLE = [(5, TypeError), (["a"], TypeError)]
BAD_OPTIONS: list[tuple[str, str, object, type[Exception]]] = [
    *[("timeline", "limit", v, e) for v, e in _CAP],
    *[("timeline", "width", v, e) for v, e in _SIZE],
    *[("timeline", "title", v, e) for v, e in _TITLE],
    *[("depth_chart", option, v, e) for option in ("max_points", "max_queues") for v, e in _CAP],
    *[("depth_chart", option, v, e) for option in ("width", "height") for v, e in _SIZE],
    ("depth_chart", "peer", 3, TypeError),
    ("latency_chart", "kind", "pie", ValueError), ("latency_chart", "kind", 1, TypeError),
    *[("latency_chart", "bins", v, e) for v, e in _CAP],
    *[("latency_chart", "bin_width_ms", v, e) for v, e in [
        ("1", TypeError), (math.nan, ValueError), (math.inf, ValueError), (0, ValueError),
        (-1.0, ValueError)]],
    *[("throughput_chart", "window", v, e) for v, e in [
        ("1", TypeError), (True, TypeError), (math.nan, ValueError), (math.inf, ValueError),
        (0, ValueError), (-0.5, ValueError), (10**400, ValueError)]],
    *[("throughput_chart", "max_points", v, e) for v, e in _CAP],
    *[("throughput_chart", "height", v, e) for v, e in _SIZE],
    *[("sequence_diagram", "limit", v, e) for v, e in _CAP],
    *[("sequence_diagram", "lane_width", v, e) for v, e in _SIZE],
    *[("load_chart", "actors", v, e) for v, e in [("main", TypeError), ([1], TypeError)]],
    ("load_chart", "model", 1, TypeError), ("load_chart", "noun", "", ValueError),
    ("load_chart", "noun", None, TypeError),
    *[("load_chart", "width", v, e) for v, e in _SIZE],
]


@pytest.mark.parametrize(("builder", "option", "value", "error"), BAD_OPTIONS,
                         ids=[f"{b}-{o}={v!r}"[:60] for b, o, v, _ in BAD_OPTIONS])
def test_every_bad_builder_option_names_itself(go_run: labkit.Run[int], builder: str,
                                               option: str, value: object,
                                               error: type[Exception]) -> None:
    """Wrong type: TypeError; out of range: ValueError; the message names the option."""
    with pytest.raises(error) as info:
        getattr(viz, builder)(go_run, **{option: value})
    assert type(info.value) is error
    assert re.match(rf"{option}(\[\d+\])? must be ", str(info.value)), info.value


def test_compare_sweep_and_rendering_refuse_bad_options(go_run: labkit.Run[int]) -> None:
    with pytest.raises(TypeError, match="chart must be one of"):
        viz.compare({"Go": go_run}, chart=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="runs must be a dict"):
        viz.compare([go_run])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one run"):
        viz.compare({})
    with pytest.raises(ValueError, match="direction must be one of 'horizontal', 'vertical'"):
        viz.compare({"Go": go_run}, direction="diagonal")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="the depth chart has no option 'limit'"):
        viz.compare({"Go": go_run}, chart="depth", limit=3)
    with pytest.raises(ValueError, match="bins must be an int >= 1"):
        viz.compare({"Go": go_run}, chart="latency", bins=0)
    with pytest.raises(TypeError, match="max_points must be an int"):
        viz.compare({"Go": go_run}, chart="throughput", max_points="9")
    df = pd.DataFrame({"model": ["go"], "workers": [1], "p99_ms": [1.0]})
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        viz.sweep_chart([{"workers": 1}], "workers", "p99_ms")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="x must be a string"):
        viz.sweep_chart(df, 1, "p99_ms")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"y\[0\] must be a string"):
        viz.sweep_chart(df, "workers", [1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="log_y must be True or False"):
        viz.sweep_chart(df, "workers", "p99_ms", log_y="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="height must be an int from 1 to 10000"):
        viz.sweep_chart(df, "workers", "p99_ms", height=0)
    with pytest.raises(TypeError, match="chart must be an Altair chart"):
        viz.to_svg(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        viz.to_png(viz.timeline(go_run), scale=0)
    with pytest.raises(ValueError, match="scale must be"):
        viz.to_png(viz.timeline(go_run), scale=math.inf)
    with pytest.raises(TypeError, match="models must be a list"):
        viz.model_color(models="go")


# -- offline rendering ----------------------------------------------------------------------


def test_to_svg_and_png(go_run: labkit.Run[int], rust_run: labkit.Run[int]) -> None:
    chart = viz.compare({"Go": go_run, "Rust": rust_run}, chart="depth")
    svg = viz.to_svg(chart)
    assert svg.startswith("<svg")
    assert "Go vs Rust" in svg
    assert viz.to_svg(chart) == svg  # no random ids: nbval can compare it
    png = viz.to_png(viz.sequence_diagram(go_run, limit=5))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_enable_offline_renders_svg(go_run: labkit.Run[int]) -> None:
    import altair as alt

    before = alt.renderers.active
    try:
        assert viz.enable_offline() == "labkit-svg"
        bundle = viz.throughput_chart(go_run)._repr_mimebundle_()
        mimes = bundle[0] if isinstance(bundle, tuple) else bundle
        assert mimes is not None
        assert mimes["image/svg+xml"].startswith("<svg")
        assert "text/html" not in mimes
        with pytest.raises(ValueError, match="mode must be one of 'svg', 'png', 'widget'"):
            viz.enable_offline("html")  # type: ignore[arg-type]
    finally:
        alt.renderers.enable(before)


# -- legends, load and sweeps ----------------------------------------------------------------


def _colors(node: Any) -> list[dict[str, Any]]:
    """Every colour encoding in a spec."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        color = node.get("encoding", {}).get("color")
        if isinstance(color, dict) and "scale" in color:
            found.append(color)
        for key, value in node.items():
            if key != "datasets":
                found += _colors(value)
    elif isinstance(node, list):
        for value in node:
            found += _colors(value)
    return found


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_compare_legend_lists_the_models_shown_in_their_colours(
        chart: str, go_run: labkit.Run[int], rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"Go": go_run, "Rust": rust_run}, chart=chart).to_dict()
    colors = _colors(spec)
    assert colors
    for color in colors:  # each panel names both models, so the shared scale stays right
        assert_palette(color, ["go", "rust"])
    alone = viz.CHARTS[chart](rust_run).to_dict()
    for color in _colors(alone):
        assert_palette(color, ["rust"])


def _load_run(workers: int, skewed: bool) -> labkit.Run[None]:
    async def main() -> None:
        chans = [go.Chan[int](100) for _ in range(workers)]
        wg = go.WaitGroup()

        async def worker(ch: go.Chan[int]) -> None:
            async for _ in ch:
                await go.sleep(0.001)
            wg.done()

        for ch in chans:
            wg.add(1)
            go.go(worker, ch)
        for i in range(40):
            hot = 0 if i % 2 else 1 + (i // 2) % (workers - 1)
            await chans[hot if skewed else i % workers].send(i)
        for ch in chans:
            ch.close()
        await wg.wait()

    return labkit.simulate(main, seed=0)


def test_load_chart_counts_receives_per_worker() -> None:
    spec = viz.load_chart(_load_run(4, skewed=False)).to_dict()
    bars, even = spec["layer"]
    values = dataset(spec, bars)
    assert sorted(r["messages"] for r in values) == [10, 10, 10, 10]
    assert {r["model"] for r in values} == {"go"}
    assert dataset(spec, even) == [{"even": 10.0}]
    assert spec["title"]["subtitle"] == "40 messages on 4 workers; max / mean = 1.00"
    skewed = viz.load_chart(_load_run(4, skewed=True)).to_dict()
    counts = sorted(r["messages"] for r in dataset(skewed, skewed["layer"][0]))
    assert counts == [6, 7, 7, 20]
    assert skewed["title"]["subtitle"].endswith("max / mean = 2.00")


def test_load_chart_from_counts_and_bad_input() -> None:
    spec = viz.load_chart({"a": 1, "b": 3}, model="rust", actors=["b", "a", "c"]).to_dict()
    values = dataset(spec, spec["layer"][0])
    assert [(r["actor"], r["messages"]) for r in values] == [("b", 3), ("a", 1), ("c", 0)]
    assert_palette(spec["layer"][0]["encoding"]["color"], ["rust"])
    with pytest.raises(ValueError, match=r"the count of 'a' must be an int >= 0, got int -1"):
        viz.load_chart({"a": -1})
    with pytest.raises(TypeError, match=r"the count of 'a' must be an int >= 0, got str '3'"):
        viz.load_chart({"a": "3"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="no actor named"):
        viz.load_chart(_load_run(2, skewed=False), actors=["nobody"])


def test_sweep_chart_folds_metrics_and_facets() -> None:
    df = pd.DataFrame([{"model": m, "workers": w, "spread": s, "p50_ms": 1.0 * w,
                        "p99_ms": 10.0 * w + (m == "go")}
                       for m in ("go", "rust") for w in (1, 2, 4) for s in (0.0, 2.0)])
    spec = viz.sweep_chart(df, "workers", ["p50_ms", "p99_ms"], column="spread").to_dict()
    assert spec["facet"]["column"]["field"] == "spread"
    values = spec["datasets"][spec["data"]["name"]]
    assert len(values) == len(df) * 2
    assert {r["metric"] for r in values} == {"p50_ms", "p99_ms"}
    lines = spec["spec"]["layer"][0]
    assert lines["encoding"]["strokeDash"]["field"] == "metric"
    assert_palette(lines["encoding"]["color"], ["go", "rust"])
    assert lines["encoding"]["x"]["type"] == "quantitative"
    assert "legend" not in lines["encoding"]["strokeDash"]
    single = viz.sweep_chart(df, "workers", "p99_ms", color="spread", log_y=True).to_dict()
    assert single["layer"][0]["encoding"]["strokeDash"]["legend"] is None
    assert single["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    assert single["layer"][0]["encoding"]["color"]["field"] == "spread"
    with pytest.raises(ValueError, match="not in the frame"):
        viz.sweep_chart(df, "workers", "p999_ms")
    with pytest.raises(ValueError, match="y is empty"):
        viz.sweep_chart(df, "workers", [])


def test_depth_chart_draws_only_queues_messages_were_sent_into() -> None:
    run = _load_run(2, skewed=False)  # its WaitGroup records a close row with a depth
    assert (run.trace.df["peer"].astype(str).str.startswith("waitgroup")).any()
    spec = viz.depth_chart(run).to_dict()
    queues = {r["queue"] for r in dataset(spec)}
    assert queues and not any(q.startswith("waitgroup") for q in queues)


def test_latency_labels_never_use_exponents() -> None:
    async def main() -> None:
        tx, rx = rust.mpsc.channel(1000)
        for i in range(50):
            await tx.send(i)
        await anyio.sleep(1.5)
        while rx.try_recv().is_ok():
            await anyio.sleep(0.01)

    spec = viz.latency_chart(labkit.simulate(main, seed=0)).to_dict()
    labels = [r["label"] for values in spec["datasets"].values() for r in values
              if "label" in r]
    assert labels and all("e+" not in label for label in labels)
    assert "p50 = 1,745 ms" in labels


def test_depth_chart_legend_only_for_several_queues(go_run: labkit.Run[int]) -> None:
    one = viz.depth_chart(go_run).to_dict()
    assert one["encoding"]["strokeDash"]["legend"] is None
    two = viz.depth_chart(_load_run(2, skewed=False)).to_dict()
    assert "legend" not in two["encoding"]["strokeDash"]
    assert len({r["queue"] for r in dataset(two)}) == 2


def _svg_width(title: str, font: str | None = None) -> float:
    spec: dict[str, Any] = {"data": {"values": [{"a": 1}]}, "mark": "point", "width": 1,
                            "height": 1, "title": {"text": title, "fontSize": 20}}
    if font is not None:
        spec["config"] = {"font": font}
    svg = viz.to_svg(spec)
    head = svg[:svg.index(">")]
    return float(head.split('width="', 1)[1].split('"', 1)[0])


def test_charts_are_laid_out_with_labkits_own_font() -> None:
    """The layout must not depend on the fonts a machine has (nbval compares SVGs strictly):
    every chart names FONT, whose first entry is the font shipped in labkit/fonts, and text
    is measured with that font's advance widths."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    fonts = sorted((Path(viz.__file__).parent / "fonts").glob("*.ttf"))
    assert [f.name for f in fonts] == ["LabkitSans-Bold.ttf", "LabkitSans-Regular.ttf"]
    bold = TTFont(fonts[0])
    assert bold["name"].getDebugName(1) == viz.FONT.split(",")[0] == "Labkit Sans"

    svg = viz.to_svg({"data": {"values": [{"a": "x"}]}, "mark": "text",
                      "encoding": {"text": {"field": "a"}}, "title": "t"})
    assert f'font-family="{viz.FONT}"' in svg
    # 20 more bold "M"s at 20 px widen the chart by 20 advances of the shipped font's M.
    per_em = bold["hmtx"]["M"][0] / bold["head"].unitsPerEm
    grown = _svg_width("M" * 40) - _svg_width("M" * 20)
    assert abs(grown - 20 * 20 * per_em) <= 2.0  # each width is rounded to a pixel
    # A spec that names its own font keeps it.
    assert _svg_width("M" * 20, font="Labkit Sans") == _svg_width("M" * 20)


# -- exploring: tooltips, zoom, legend, message paths ----------------------------------------


def units(node: Any) -> list[dict[str, Any]]:
    """Every unit spec (a mark with an encoding) in a spec."""
    if isinstance(node, dict):
        found = [node] if "mark" in node and "encoding" in node else []
        return found + [u for k, v in node.items() if k != "datasets" for u in units(v)]
    if isinstance(node, list):
        return [u for v in node for u in units(v)]
    return []


#: Charts whose x axis is time (zoomed and panned together); the sequence diagram's is y.
TIME_AXIS = {"timeline": "x", "depth": "x", "throughput": "x", "sequence": "y"}


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_compared_panels_share_zoom_legend_and_message_picks(
        chart: str, go_run: labkit.Run[int], rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"Go": go_run, "Rust": rust_run}, chart=chart).to_dict()
    panels = spec.get("hconcat") or spec["vconcat"]
    names = [p["name"] if "name" in p else p["layer"][0]["name"]
             if "name" in p["layer"][0] else p["layer"][1]["name"] for p in panels]
    params = {p["name"]: p for p in spec["params"]}
    # one parameter of each kind, in every panel (a zoom in one panel zooms the other)
    for param in params.values():
        assert param["views"] == names
    hide = params.pop(viz.PARAMS["hide"])
    assert hide["bind"] == "legend" and hide["select"]["fields"] == ["model"]
    axis = TIME_AXIS.get(chart)
    if axis is not None:
        zoom = params.pop(viz.PARAMS["zoom"] if axis == "x" else viz.PARAMS["zoom_y"])
        assert zoom["bind"] == "scales" and zoom["select"]["encodings"] == [axis]
    if chart in ("timeline", "sequence"):
        pick = params.pop(viz.PARAMS["path"])
        assert pick["select"]["fields"] == ["path"] and pick["select"]["on"] == "click"
    assert params == {}
    # every mark with data about messages says what it is when hovered
    for unit in units(spec):
        if unit["encoding"].get("text"):
            continue  # a label's text: its rule has the tooltip
        assert unit["encoding"].get("tooltip"), unit["mark"]


def test_a_hidden_model_fades_and_a_picked_message_is_outlined(go_run: labkit.Run[int]) -> None:
    spec = viz.timeline(go_run).to_dict()
    enc = spec["encoding"]
    assert enc["opacity"]["condition"] == {"param": viz.PARAMS["hide"], "empty": False,
                                           "value": pytest.approx(0.06)}
    assert enc["opacity"]["field"] == "phase"  # otherwise the phase sets it, as before
    assert enc["stroke"]["condition"]["param"] == viz.PARAMS["path"]
    assert enc["stroke"]["condition"]["empty"] is False  # nothing outlined at first
    titles = {t["title"] for t in enc["tooltip"]}
    assert {"actor", "message id", "correlation id", "model", "from (s)", "to (s)"} <= titles
    for row in dataset(spec):
        corr, msg = row.get("corr_id"), row["msg_id"]
        assert row["path"] == (f"c{corr}" if corr is not None else f"m{msg}")
    depth = viz.depth_chart(go_run).to_dict()
    tips = {t["title"] for t in depth["encoding"]["tooltip"]}
    assert {"queue", "time (s)", "depth (messages)", "event", "by", "message id",
            "model"} <= tips


def test_a_zoomable_chart_renders_the_same_svg_twice(go_run: labkit.Run[int],
                                                     rust_run: labkit.Run[int]) -> None:
    # Vega numbers clip paths per process; to_svg numbers them per picture.
    chart = viz.compare({"Go": go_run, "Rust": rust_run}, chart="timeline")
    first = viz.to_svg(chart)
    viz.to_svg(viz.depth_chart(go_run))
    assert viz.to_svg(chart) == first
    assert 'clip-path="url(#clip1)"' in first


def test_to_html_is_interactive_and_offline(go_run: labkit.Run[int]) -> None:
    page = viz.to_html(viz.depth_chart(go_run), title="depth <1>")
    assert "<title>depth &lt;1&gt;</title>" in page
    assert re.search(r"<script[^>]*\bsrc=", page) is None and "<link" not in page
    assert f'"{viz.PARAMS["zoom"]}"' in page
    assert page.count("<svg") >= 1 and "<noscript>" in page


def test_a_command_sent_again_after_a_crash_is_a_second_arrow() -> None:
    """Notebook 05: the bank crashes handling command 16; the client sends it again, with
    the same id, once the bank is back. The sequence diagram draws both deliveries (and
    every other command once), so a click on command 16 shows its whole path."""
    from labkit import scenarios

    run = scenarios.crash_recovery(crash_at=16)
    arrows = viz.parts("sequence", run, limit=40).frames["arrows"]
    messages = arrows[arrows["arrow"] == "message"]
    sixteen = messages[messages["msg_id"] == 16]
    assert len(sixteen) == 2
    first, again = sixteen.iloc[0], sixteen.iloc[1]
    assert again["sent_at"] > first["received_at"]  # after the crash and the recovery
    assert set(messages["msg_id"].value_counts().drop(16).tolist()) == {1}
    assert arrows[arrows["corr_id"] == 16]["arrow"].tolist() == ["message", "message", "reply"]
