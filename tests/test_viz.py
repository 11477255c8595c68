"""labkit.viz: chart specs (fields, encodings, titles, palette), determinism, size caps and
offline rendering. Specs are checked, not pixels."""

from __future__ import annotations

import json
from typing import Any

import anyio
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


def assert_palette(color: dict[str, Any]) -> None:
    assert color["field"] == "model"
    assert color["scale"]["domain"] == list(viz.PALETTE)
    assert color["scale"]["range"] == list(viz.PALETTE.values())


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
    assert_palette(enc["color"])
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
    assert_palette(enc["color"])
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
    assert_palette(bars["encoding"]["color"])
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
    assert_palette(enc["color"])
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
    assert_palette(enc["color"])
    arrows = dataset(spec, lines)
    assert len(arrows) == 12
    assert {(r["sender"], r["receiver"]) for r in arrows} == {("go-1", "main")}
    assert all(r["received"] >= r["sent"] for r in arrows)
    assert [r["msg_id"] for r in arrows] == sorted(r["msg_id"] for r in arrows)
    assert enc["x"]["scale"]["domain"] == ["main", "go-1"]  # order of first appearance
    assert heads["encoding"]["shape"]["field"] == "direction"
    assert len(dataset(spec, lifelines)) == 2


# -- comparison -----------------------------------------------------------------------------


@pytest.mark.parametrize("chart", sorted(viz.CHARTS))
def test_compare_shares_scales(chart: str, go_run: labkit.Run[int],
                               rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"Go": go_run, "Rust": rust_run.trace}, chart=chart).to_dict()
    panels = spec.get("hconcat") or spec["vconcat"]
    assert [p["title"] for p in panels] == ["Go", "Rust"]
    assert spec["title"].startswith("Go vs Rust: ")
    scale = spec["resolve"]["scale"]
    assert scale["color"] == "shared"
    lane = {"timeline": "y", "sequence": "x"}.get(chart)
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
    with pytest.raises(ValueError, match="unknown chart"):
        viz.compare({"Go": go_run}, chart="pie")


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
    assert "peak per" in spec["title"]["subtitle"]


def test_compare_ten_thousand_is_small(big_run: labkit.Run[int],
                                       rust_run: labkit.Run[int]) -> None:
    spec = viz.compare({"big": big_run, "small": rust_run}, chart="timeline").to_dict()
    assert rows(spec) <= 2 * 3 * 150


def test_bad_inputs_say_what_to_do(go_run: labkit.Run[int]) -> None:
    with pytest.raises(TypeError, match=r"run\.trace"):
        viz.timeline(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        viz.sequence_diagram(go_run, limit=0)


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
        with pytest.raises(ValueError, match="mode"):
            viz.enable_offline("html")  # type: ignore[arg-type]
    finally:
        alt.renderers.enable(before)
