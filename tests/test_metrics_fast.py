"""The trace metrics and ``Trace.df`` against a plain pandas reference, on real runs.

The library computes them on numpy columns (for speed on every dashboard redraw); the
functions below are the straightforward pandas versions they replaced, kept here only as
the reference: every number, column, dtype and value must be the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import anyio
import numpy as np
import pandas as pd
import pytest

import labkit
import labkit.trace as trace_module
from labkit import scenarios
from labkit._check import describe
from labkit.channel import Channel
from labkit.flow import LittlesLaw, littles_law
from labkit.scenarios.backpressure import OFFERED, messages_held
from labkit.scenarios.tour import Exchange
from labkit.trace import (
    COLUMNS,
    RECEIVE_KINDS,
    SEND_KINDS,
    EventKind,
    Trace,
    depth_over_time,
    drops,
    latencies,
    latency_percentiles,
    record,
    throughput,
)

# -- the reference: plain pandas --------------------------------------------------------------


def ref_df(trace: Trace) -> pd.DataFrame:
    """The DataFrame as pandas infers it from the rows, then cast column by column."""
    frame = pd.DataFrame.from_records(list(trace.rows), columns=list(COLUMNS))
    frame["time"] = frame["time"].astype("float64")
    frame["seq"] = frame["seq"].astype("int64")
    frame["kind"] = frame["kind"].astype(str)
    for col in ("msg_id", "corr_id", "depth"):
        frame[col] = frame[col].astype("Int64")
    return frame


def ref_latencies(df: pd.DataFrame, peer: str | None = None) -> pd.DataFrame:
    if peer is not None:
        df = df[df["peer"] == peer]
    sent = df[df["kind"].isin(SEND_KINDS)].groupby("msg_id", sort=True)["time"].min()
    got = df[df["kind"].isin(RECEIVE_KINDS)].groupby("msg_id", sort=True)["time"].min()
    out = pd.concat({"sent": sent, "received": got}, axis=1, join="inner").reset_index()
    out["latency"] = out["received"] - out["sent"]
    return out


def ref_latency_percentiles(df: pd.DataFrame, qs: tuple[float, ...] = (0.5, 0.9, 0.99)
                            ) -> dict[str, float]:
    lat = ref_latencies(df)["latency"]
    if lat.empty:
        return {f"p{round(q * 100):d}": float("nan") for q in qs}
    return {f"p{round(q * 100):d}": float(lat.quantile(q)) for q in qs}


def ref_depth_over_time(df: pd.DataFrame, peer: str | None = None) -> pd.DataFrame:
    rows = df[df["depth"].notna()]
    if peer is not None:
        rows = rows[rows["peer"] == peer]
    return rows[["time", "peer", "depth"]].reset_index(drop=True)


def ref_throughput(df: pd.DataFrame, window: float = 1.0) -> pd.DataFrame:
    got = df[df["kind"].isin(RECEIVE_KINDS)]
    bins = (got["time"] // window) * window
    counts = got.groupby(bins).size()
    out = counts.rename("messages").reset_index().rename(columns={"time": "window_start"})
    out["rate"] = out["messages"] / window
    return out


def ref_drops(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["kind"].isin(("drop", "dead_letter"))].reset_index(drop=True)


_OWNER_SIDE_KINDS = ("receive", "handle_end", "dead_letter", "reply", "fail", "restart")


def ref_littles_law(df: pd.DataFrame, peer: str | None = None) -> LittlesLaw:
    owner_side = (df["model"] == "actor") & df["kind"].isin(_OWNER_SIDE_KINDS)
    df = df.assign(queue=df["peer"].where(~owner_side, df["actor"]))
    if peer is not None:
        df = df[df["queue"] == peer]
    where = f" on {peer!r}" if peer is not None else ""
    rows = df[df["msg_id"].notna()]
    key = ["queue", "msg_id"]
    sent = rows[rows["kind"].isin(SEND_KINDS)].groupby(key, sort=True)["time"].min()
    blocked = rows[rows["kind"] == "block"].groupby(key, sort=True)["time"].min()
    admitted = rows[rows["kind"] == "unblock"].groupby(key, sort=True)["time"].min()
    entered = sent.drop(blocked.index.difference(admitted.index), errors="ignore")
    late = admitted.index.intersection(entered.index)
    entered.loc[late] = admitted.loc[late]
    received = rows[rows["kind"].isin(RECEIVE_KINDS)].groupby(key, sort=True)["time"].min()
    evicted = rows[rows["kind"] == "dead_letter"].groupby(key, sort=True)["time"].min()
    left = received.combine_first(evicted)
    both = entered.index.intersection(left.index)
    if received.index.intersection(entered.index).empty:
        raise ValueError(f"no message was both sent and received in this trace{where}: "
                         "Little's law needs traffic")
    t_in = entered.loc[both].to_numpy(dtype=float)
    t_out = left.loc[both].to_numpy(dtype=float)
    start = float(entered.min())
    end = float(t_out.max())
    span = end - start
    if span <= 0:
        raise ValueError("every message entered and left at the same instant: "
                         "run longer to measure rates")
    lam = len(both) / span
    wait = float((t_out - t_in).mean())
    queues = set(entered.index.get_level_values("queue"))
    depths = df[df["depth"].notna() & df["queue"].isin(queues)]
    area = 0.0
    for _name, q in depths.groupby("queue", sort=True):
        times = q["time"].to_numpy(dtype=float)
        values = q["depth"].to_numpy(dtype=float)
        ends = np.append(times[1:], end)
        lo = np.maximum(times, start)
        hi = np.minimum(ends, end)
        area += float((values * np.clip(hi - lo, 0.0, None)).sum())
    mean_depth = area / span
    predicted = lam * wait
    scale = max(mean_depth, predicted)
    error = 0.0 if scale == 0 else abs(mean_depth - predicted) / scale
    return LittlesLaw(mean_depth, lam, wait, error)


def ref_messages_held(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values("seq")
    instants = np.unique(df["time"].to_numpy(dtype=float))
    depths = df[df["depth"].notna()]
    values = np.concatenate(([0], depths["depth"].to_numpy(dtype=np.int64)))
    queued = values[np.searchsorted(depths["time"].to_numpy(dtype=float), instants,
                                    side="right")]
    ided = df[df["msg_id"].notna()][["seq", "time", "msg_id", "kind"]]
    blocks = ided[ided["kind"] == "block"]
    after = blocks.merge(ided[ided["kind"] != "block"], on="msg_id", suffixes=("", "_next"))
    left = after[after["seq_next"] > after["seq"]].groupby("seq")["time_next"].min()
    starts = np.sort(blocks["time"].to_numpy(dtype=float))
    ends = np.sort(blocks["seq"].map(left).fillna(np.inf).to_numpy(dtype=float))
    in_hand = (np.searchsorted(starts, instants, side="right")
               - np.searchsorted(ends, instants, side="right")).astype(np.int64)
    return pd.DataFrame({"time": instants, "queued": queued, "in_hand": in_hand,
                         "held": queued + in_hand})


# -- comparing --------------------------------------------------------------------------------


def same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns, dtypes, index and values: missing values of the same kind (None/NaN)."""
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
    for col in got.columns:
        if got[col].dtype == object or isinstance(got[col].dtype, pd.StringDtype):
            a = got[col].to_numpy(dtype=object)
            b = want[col].to_numpy(dtype=object)
            assert [type(x) for x in a] == [type(x) for x in b], col


def same_float(got: float, want: float) -> None:
    assert (math.isnan(got) and math.isnan(want)) or got == want, (got, want)


def same_outcome(fast: Callable[..., Any], ref: Callable[..., Any], source: Any,
                 frame: pd.DataFrame, *args: Any) -> None:
    """``fast(source, *args)`` and ``ref(frame, *args)`` return equal values, or both raise
    the same exception with the same message."""
    try:
        want = ref(frame, *args)
    except (ValueError, TypeError) as exc:
        with pytest.raises(type(exc)) as info:
            fast(source, *args)
        assert str(info.value) == str(exc)
        return
    got = fast(source, *args)
    if isinstance(want, pd.DataFrame):
        same_frame(got, want)
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            same_float(got[k], want[k])
    else:
        assert type(got) is type(want)
        for a, b in zip(got, want, strict=True):
            same_float(a, b)


#: Each metric and its reference, with the extra arguments to try.
METRICS: list[tuple[Callable[..., Any], Callable[..., Any], list[tuple[Any, ...]]]] = [
    (latencies, ref_latencies, [()]),
    (latency_percentiles, ref_latency_percentiles, [(), ((0.25, 0.5, 0.75, 1.0),)]),
    (depth_over_time, ref_depth_over_time, [()]),
    (throughput, ref_throughput, [(1.0,), (0.25,), (3,)]),
    (drops, ref_drops, [()]),
    (littles_law, ref_littles_law, [()]),
    (messages_held, ref_messages_held, [()]),
]
#: The metrics that take a ``peer``.
BY_PEER: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (lambda s, p: latencies(s, peer=p), ref_latencies),
    (depth_over_time, ref_depth_over_time),
    (littles_law, ref_littles_law),
]


def check_all(trace: Trace) -> None:
    """Every metric on ``trace``, on its DataFrame, on a reordered copy of it and on a cut
    of it, against the reference on the same input."""
    want_df = ref_df(trace)
    same_frame(trace.df, want_df)
    same_frame(Trace(list(trace.rows)).df, want_df)
    df = trace.df
    rng = np.random.default_rng(0)
    shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    half = df[df["time"] <= df["time"].max() / 2] if len(df) else df
    peers = [*df["peer"].dropna().unique()[:3], "nobody"]
    sources: list[tuple[Any, pd.DataFrame]] = [
        (trace, df), (df, df), (shuffled, shuffled), (half, half)]
    for source, frame in sources:
        for fast, ref, argsets in METRICS:
            for args in argsets:
                same_outcome(fast, ref, source, frame, *args)
        for fast, ref in BY_PEER:
            for peer in peers:
                same_outcome(fast, ref, source, frame, peer)


# -- real runs --------------------------------------------------------------------------------

PAIRS = [(m, p) for m, policies in OFFERED.items() for p in policies]


@pytest.mark.parametrize(("model", "policy"), PAIRS)
@pytest.mark.parametrize("seed", [0, 7])
def test_overload_metrics_match_the_reference(model: str, policy: str, seed: int) -> None:
    run = scenarios.overload(model, policy, messages=120, capacity=4, arrival_rate=30,
                             seed=seed)
    check_all(run.trace)


@pytest.mark.parametrize(("model", "policy"), [("go", "block"), ("actor", "drop_head"),
                                               ("rust", "unbounded")])
def test_overload_result_is_the_reference_computation(model: str, policy: str) -> None:
    run = scenarios.overload(model, policy, messages=300, seed=2)
    res, df = run.result, ref_df(run.trace)
    law = ref_littles_law(df)
    pct = ref_latency_percentiles(df)
    assert (res.mean_depth, res.little_lambda, res.little_w, res.little_error) == law
    assert (res.p50_latency, res.p90_latency, res.p99_latency) == tuple(pct.values())
    assert res.peak_depth == int(df["depth"].dropna().max())
    assert res.peak_held == int(ref_messages_held(df)["held"].max())
    assert res.losses_recorded == len(ref_drops(df)) + int((df["kind"] == "reject").sum())


SCENARIOS: dict[str, Callable[[], labkit.Run[Any]]] = {
    "producer_consumer_go": lambda: scenarios.producer_consumer("go", capacity=3, seed=1),
    "producer_consumer_rust": lambda: scenarios.producer_consumer("rust", capacity=0, seed=2),
    "ping_pong": lambda: scenarios.ping_pong(model="rust"),
    "route": lambda: scenarios.route(messages=120, seed=1),
    "route_go": lambda: scenarios.route("least_loaded", model="go", messages=120, seed=3),
    "nonblocking": lambda: scenarios.nonblocking("rust", "try_reserve", messages=80),
    "credit_flow": lambda: scenarios.credit_flow(messages=60),
    "watermarks": lambda: scenarios.watermarks(messages=60),
    "load_shedding": lambda: scenarios.load_shedding(messages=60),
    "rate_limit": lambda: scenarios.rate_limit(messages=40),
    "poison": lambda: scenarios.poison(messages=30, seed=0),
    "dependency_storm": lambda: scenarios.dependency_storm(requests=40, seed=0),
    "pubsub": lambda: scenarios.pubsub(messages=30),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_other_scenarios_metrics_match_the_reference(name: str) -> None:
    check_all(SCENARIOS[name]().trace)


# -- edge cases -------------------------------------------------------------------------------


def test_empty_trace() -> None:
    check_all(Trace([]))


def test_one_message() -> None:
    async def main() -> None:
        ch: Channel[str] = Channel(1, name="box")
        await ch.send("a")
        await anyio.sleep(0.5)
        await ch.recv()

    check_all(labkit.simulate(main).trace)


def test_no_receives() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(5, name="box")
        for i in range(3):
            await ch.send(i)
            await anyio.sleep(0.1)

    check_all(labkit.simulate(main).trace)


def test_drops_only() -> None:
    async def main() -> None:
        for i in range(4):
            record(EventKind.DROP, peer="box", msg_id=i + 1, msg_type="int", depth=0,
                   detail="full")
            await anyio.sleep(0.1)

    trace = labkit.simulate(main).trace
    check_all(trace)
    assert len(drops(trace)) == 4


def test_rows_by_hand_with_gaps_and_odd_values() -> None:
    """A hand-made trace: EventKind members, a peer never named, ids out of order, times
    that go back (a merged trace), a message received twice, a block never unblocked."""
    rows = [
        (0.0, 0, EventKind.SEND, "p", "q", 5, None, "int", 1, "go", None),
        (0.2, 1, "send", "p", "q", 3, 9, "int", 2, "go", None),
        (0.1, 2, "block", "p", "q", 4, None, "int", None, "go", "full"),
        (0.5, 3, "receive", "c", "q", 5, None, "int", 1, "go", None),
        (0.7, 4, "receive", "c", "q", 3, 9, "int", 0, "go", None),
        (0.6, 5, "receive", "c", "q", 3, 9, "int", 0, "go", None),
        (0.9, 6, "dead_letter", "c", None, 4, None, None, None, None, "gone"),
        (1.0, 7, "note", "main", None, None, None, None, None, None, None),
    ]
    check_all(Trace(rows))


def test_all_none_columns_stay_object() -> None:
    trace = Trace([(0.0, 0, "note", "main", None, None, None, None, None, None, None)])
    same_frame(trace.df, ref_df(trace))
    assert trace.df["model"].dtype == object


def test_df_of_a_recorded_trace_after_its_rows_were_read() -> None:
    run = scenarios.overload("go", "block", messages=40)
    rows = run.trace.rows
    assert len(rows) == len(run.trace)
    same_frame(run.trace.df, ref_df(run.trace))


@pytest.mark.parametrize("metric", [
    trace_module.latencies, trace_module.latency_percentiles, trace_module.throughput,
    trace_module.drops, trace_module.depth_over_time, trace_module.Columns.of, littles_law,
    messages_held,
], ids=lambda f: f.__qualname__)
@pytest.mark.parametrize("bad", [None, 42, "trace", [1, 2, 3]], ids=repr)
def test_every_metric_refuses_what_is_not_a_trace(metric: Callable[[Any], Any],
                                                  bad: object) -> None:
    message = ("trace must be a labkit Trace or its DataFrame (run.trace or run.trace.df), "
               f"got {describe(bad)}")
    with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
        metric(bad)


def test_littles_law_bad_input_still_names_the_parameter() -> None:
    with pytest.raises(TypeError, match="trace must be a labkit Trace"):
        littles_law([1, 2, 3])  # type: ignore[arg-type]
    run = scenarios.overload("go", "block", messages=20)
    with pytest.raises(TypeError, match="peer"):
        littles_law(run.trace, 3)  # type: ignore[arg-type]


# -- the scenarios' own post-processing ---------------------------------------------------------


def ref_exchanges(df: pd.DataFrame, parties: dict[str, str]) -> tuple[Exchange, ...]:
    sends = df[(df["kind"] == "send") & df["msg_id"].notna()]
    got = df[(df["kind"] == "receive") & df["msg_id"].notna()].drop_duplicates("msg_id")
    when = dict(zip(got["msg_id"].tolist(), got["time"].tolist(), strict=True))
    flights = [(int(seq), str(actor), float(t), float(when[mid]))
               for seq, actor, t, mid in zip(sends["seq"], sends["actor"], sends["time"],
                                             sends["msg_id"], strict=True)]
    replies = df[df["kind"] == "reply"]
    flights += [(int(seq), str(actor), float(t), float(t))
                for seq, actor, t in zip(replies["seq"], replies["actor"], replies["time"],
                                         strict=True)]
    other = {"ping": "pong", "pong": "ping"}
    return tuple(Exchange(k // 2, parties[actor], other[parties[actor]], (k + 1) // 2, sent, got)
                 for k, (_seq, actor, sent, got) in enumerate(sorted(flights)))


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
@pytest.mark.parametrize("rounds", [0, 1, 5])
def test_ping_pong_exchanges_match_the_reference(model: str, rounds: int) -> None:
    run = scenarios.ping_pong(model=model, rounds=rounds)
    want = ref_exchanges(ref_df(run.trace), run.result.parties)
    assert run.result.exchanges == want
    assert repr(run.result.exchanges) == repr(want)  # the same types too (float, not numpy)


def ref_count(df: pd.DataFrame, kind: str) -> int:
    return int((df["kind"] == kind).sum()) if len(df) else 0


@pytest.mark.parametrize("policy", ["storm", "intensity", "backoff", "breaker"])
def test_dependency_storm_counts_match_the_reference(policy: str) -> None:
    run = scenarios.dependency_storm(policy, "actor", requests=60, seed=0)
    df = ref_df(run.trace)
    assert run.result.restarts == ref_count(df, "restart")
    opened = int(((df["kind"] == "breaker") & df["detail"].str.contains("-> open")).sum())
    assert run.result.breaker_opened == opened
    assert (opened > 0) == (policy == "breaker")


def test_poison_and_crash_recovery_counts_match_the_reference() -> None:
    run = scenarios.poison(model="actor", design="one_for_one", messages=30, seed=0)
    assert run.result.restarts == ref_count(ref_df(run.trace), "restart") > 0
    crash = scenarios.crash_recovery(16, commands=40, snapshot_every=5, seed=0)
    assert crash.result.snapshots == ref_count(ref_df(crash.trace), "snapshot") > 0


def test_a_frame_with_other_dtypes_or_fewer_columns() -> None:
    """A DataFrame built elsewhere: ids as floats, or only the columns a metric reads."""
    df = scenarios.overload("go", "block", messages=50).trace.df
    floats = df.assign(msg_id=df["msg_id"].astype("float64"))
    same_frame(latencies(floats), ref_latencies(floats))
    same_outcome(littles_law, ref_littles_law, floats, floats)
    slim = df[["time", "kind"]]
    same_frame(throughput(slim, 0.5), ref_throughput(slim, 0.5))
    same_frame(drops(slim), ref_drops(slim))
