"""labkit.viz's chart data against the pandas code it replaced, on real runs.

The chart parts are computed on numpy columns (labkit.trace.Columns) so that a dashboard
redraws a 10 000-message run quickly; the functions below are the row-by-row and pandas
versions they replaced, kept here only as the reference. Every Parts frame (values, dtypes,
row and column order, index), every text fill and every final spec must be the same.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from types import MappingProxyType
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("altair")

from labkit import scenarios, viz
from labkit._check import check_choice, check_int, check_number, check_str
from labkit.scenarios import faults
from labkit.trace import RECEIVE_KINDS, SEND_KINDS, Trace, latency_percentiles

# -- the reference: what viz computed before, row by row and with pandas ----------------------
# Verbatim but for ``viz.`` before the module's own names; ``reference()`` puts them in place.

def ref_events(source: viz.Source) -> pd.DataFrame:
    """The events frame (in ``reference()``: made by ``ref_make_events``)."""
    return viz._Data(source).events()


def ref_path_keys(df: pd.DataFrame) -> list[str]:
    out = []
    for corr, msg in zip(df["corr_id"].tolist(), df["msg_id"].tolist(), strict=True):
        if viz._text(corr):
            out.append(f"c{int(corr)}")
        elif viz._text(msg):
            out.append(f"m{int(msg)}")
        else:
            out.append("")
    return out


def ref_id(value: object) -> int | None:
    return None if not viz._text(value) else int(cast("int", value))


def ref_slow_messages(df: pd.DataFrame) -> pd.DataFrame:
    """The messages (one row per message sent and received) with pandas' own operations."""
    cols = ["msg_id", "time", "seq", "actor", "queue", "model", "msg_type", "corr_id"]
    sent = df[df["kind"].isin(SEND_KINDS) & df["msg_id"].notna()][cols]
    sent = sent.drop_duplicates("msg_id", keep="first")
    got = df[df["kind"].isin(RECEIVE_KINDS) & df["msg_id"].notna()][
        ["msg_id", "time", "seq", "actor"]]
    got = got.drop_duplicates("msg_id", keep="first")
    msgs = sent.merge(got, on="msg_id", how="inner", suffixes=("_sent", "_got"))
    msgs = msgs.rename(columns={
        "time_sent": "sent", "time_got": "received", "actor_sent": "sender",
        "actor_got": "receiver", "seq_sent": "send_seq", "seq_got": "receive_seq"})
    return msgs.reset_index(drop=True)


def messages_of(df: pd.DataFrame, rows: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    """The messages the charts match (``viz._Data.message_rows()``: each one's first send
    and receive rows), as the frame the references make."""
    sent, got = rows

    def take(column: str, at: np.ndarray) -> Any:
        return df[column].array.take(at)

    return pd.DataFrame({
        "msg_id": take("msg_id", sent), "sent": take("time", sent),
        "send_seq": take("seq", sent), "sender": take("actor", sent),
        "queue": take("queue", sent), "model": take("model", sent),
        "msg_type": take("msg_type", sent), "corr_id": take("corr_id", sent),
        "received": take("time", got), "receive_seq": take("seq", got),
        "receiver": take("actor", got)})


def ref_make_events(source: viz.Source) -> pd.DataFrame:
    df = viz._frame(source).sort_values("seq", kind="stable")
    out = df.copy()
    owner_side = (out["model"] == "actor") & out["kind"].isin(viz._OWNER_SIDE_KINDS)
    out["queue"] = out["peer"].where(~owner_side, out["actor"])
    out["model"] = out["model"].where(out["model"].isin(list(viz.PALETTE)), "other")
    return out


def ref_make_messages(df: pd.DataFrame, _table: Any = None, _rows: Any = None) -> pd.DataFrame:
    # The rows of each message's first send and first receive, found in one pass over two
    # columns, then taken with two ``iloc``s: the frame pandas' filter, drop_duplicates and
    # merge would give (_slow_messages), column for column, in a fraction of the time.
    first_sent: dict[Any, int] = {}
    first_got: dict[Any, int] = {}
    for i, (kind, msg) in enumerate(zip(df["kind"].tolist(), df["msg_id"].tolist(),
                                        strict=True)):
        if msg is None or msg is pd.NA or msg != msg:
            continue
        if kind in SEND_KINDS:
            first_sent.setdefault(msg, i)
        elif kind in RECEIVE_KINDS:
            first_got.setdefault(msg, i)
    pairs = [(i, first_got[msg]) for msg, i in first_sent.items() if msg in first_got]
    sent = df.iloc[[i for i, _ in pairs]]
    got = df.iloc[[j for _, j in pairs]]
    columns = {"msg_id": sent["msg_id"], "sent": sent["time"], "send_seq": sent["seq"],
               "sender": sent["actor"], "queue": sent["queue"], "model": sent["model"],
               "msg_type": sent["msg_type"], "corr_id": sent["corr_id"],
               "received": got["time"], "receive_seq": got["seq"], "receiver": got["actor"]}
    return pd.DataFrame({k: v.reset_index(drop=True) for k, v in columns.items()})


def ref_lanes(df: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """``names`` in order of each actor's first appearance in the trace."""
    wanted = set(names)
    order: list[str] = []
    for name in df["actor"].tolist():
        if name in wanted and name not in order:
            order.append(name)
    order.extend(sorted(wanted - set(order)))
    return order


def ref_timeline_parts(source: viz.Source, *, limit: int = 150, title: str | None = None,
                    width: int = 600) -> viz.Parts:
    limit = viz._how_many("limit", limit)
    title = viz._optional_str("title", title)
    width = viz._pixels("width", width)
    df = ref_events(source)
    end = viz._end_time(df)
    msgs = ref_make_messages(df).sort_values("receive_seq", kind="stable").head(limit)

    # Handled until handle_end (actors) or the receiver's next event (a goroutine or task
    # that received a value is busy with it until it does something else).
    next_time = df.groupby("actor", sort=False)["time"].shift(-1)
    after = dict(zip(df["seq"].tolist(), next_time.tolist(), strict=True))
    ends_at = df[df["kind"] == "handle_end"].drop_duplicates("msg_id")
    ended = dict(zip(ends_at["msg_id"].tolist(), ends_at["time"].tolist(), strict=True))

    def handled_at(msg_id: int, receive_seq: int) -> float:
        done = ended.get(msg_id)
        if done is None:
            done = after.get(receive_seq)
        return end if done is None or math.isnan(done) else float(done)

    handled = [handled_at(i, s) for i, s in
               zip(msgs["msg_id"].tolist(), msgs["receive_seq"].tolist(), strict=True)]

    shown = set(msgs["msg_id"].tolist())
    blocks = df[(df["kind"] == "block") & df["msg_id"].isin(shown)]
    blocks = blocks.drop_duplicates(["actor", "msg_id"])
    unblocks = df[(df["kind"] == "unblock") & df["msg_id"].isin(shown)]
    unblocks = unblocks.drop_duplicates(["actor", "msg_id"])[["actor", "msg_id", "time"]]
    blocked = blocks.merge(unblocks, on=["actor", "msg_id"], how="left",
                           suffixes=("", "_end"))

    rows: list[dict[str, Any]] = []

    def add(lane: Any, phase: str, start: Any, stop: Any, msg: Any) -> None:
        start, stop = float(start), float(stop)
        rows.append({
            "lane": str(lane), "phase": phase, "start": viz._r(start), "end": viz._r(stop),
            "duration_ms": viz._r((stop - start) * 1000), "msg_id": int(msg["msg_id"]),
            "corr_id": ref_id(msg["corr_id"]), "msg_type": viz._text(msg["msg_type"]),
            "queue": viz._text(msg["queue"]), "model": str(msg["model"])})

    for block in blocked.to_dict("records"):
        stop = end if pd.isna(block["time_end"]) else block["time_end"]
        add(block["actor"], "blocked", block["time"], stop, block)
    for msg, done in zip(msgs.to_dict("records"), handled, strict=True):
        add(msg["receiver"], "waiting", msg["sent"], msg["received"], msg)
        add(msg["receiver"], "handling", msg["received"], done, msg)
    data = pd.DataFrame(rows, columns=["lane", "phase", "start", "end", "duration_ms",
                                       "msg_id", "corr_id", "msg_type", "queue", "model"])
    data["corr_id"] = data["corr_id"].astype("Int64")
    data["path"] = ref_path_keys(data)
    lanes = ref_lanes(df, data["lane"].unique().tolist())
    return viz.Parts("timeline", viz._shape(models=tuple(viz._present(data)), width=width),
                 {"bars": data},
                 {"title": title or f"When each message waited and was handled "
                                    f"(first {limit} messages)", "lanes": lanes})


def ref_depth_parts(source: viz.Source, peer: str | None = None, *,
                    max_points: int = viz.MAX_POINTS, max_queues: int = 8,
                    title: str | None = None, width: int = 600,
                    height: int = 220) -> viz.Parts:
    peer = viz._optional_str("peer", peer)
    max_points = viz._how_many("max_points", max_points)
    max_queues = viz._how_many("max_queues", max_queues)
    title = viz._optional_str("title", title)
    width, height = viz._pixels("width", width), viz._pixels("height", height)
    df = ref_events(source)
    rows = df[df["depth"].notna() & df["queue"].notna()]
    # A queue is something messages were sent into; other rows with a depth (a WaitGroup's
    # close, a watermark's pause) are not queues to draw.
    queues = set(df.loc[df["kind"].isin(SEND_KINDS), "queue"].dropna())
    rows = rows[rows["queue"].isin(queues)]
    if peer is not None:
        rows = rows[rows["queue"] == peer]
        if rows.empty and not (df["queue"] == peer).any():
            known = sorted(df.loc[df["depth"].notna(), "queue"].dropna().unique().tolist())
            raise ValueError(f"no queue named {peer!r} in this trace; queues: {known}")
    busiest = rows.groupby("queue").size().reset_index(name="n")
    busiest = busiest.sort_values(["n", "queue"], ascending=[False, True],
                                  kind="stable").head(max_queues)
    keep = set(busiest["queue"].tolist())
    rows = rows[rows["queue"].isin(keep)]
    # Several events at one instant: the depth after the last one is what the queue held.
    rows = rows.drop_duplicates(["queue", "time"], keep="last")
    end = viz._end_time(df)
    start = float(df["time"].min()) if len(df) else 0.0
    parts: list[pd.DataFrame] = []
    binned = False
    for queue in sorted(keep):
        q = rows[rows["queue"] == queue]
        model = q["model"].iloc[0]
        series = pd.DataFrame({"time": q["time"].astype("float64"),
                               "depth": q["depth"].astype("int64"),
                               "kind": q["kind"].astype(str), "actor": q["actor"].map(viz._text),
                               "msg_id": q["msg_id"].astype("Int64")})
        if len(series) > max_points and end > start:
            binned = True
            width_s = (end - start) / max_points
            idx = ((series["time"] - start) // width_s).clip(upper=max_points - 1)
            series = series.groupby(idx).agg(depth=("depth", "max")).reset_index()
            series["time"] = start + series["time"] * width_s
            series["kind"], series["actor"] = "peak of bin", ""
            series["msg_id"] = pd.array([None] * len(series), dtype="Int64")
        series["queue"] = str(queue)
        series["model"] = str(model)
        parts.append(series)
    cols = ["time", "depth", "queue", "model", "kind", "actor", "msg_id"]
    data = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    data["time"] = data["time"].map(viz._r)
    label = title or ("Queue depth over time" + (f": {peer}" if peer else ""))
    subtitle = f"peak of each of {max_points} equal time bins" if binned else ""
    return viz.Parts("depth", viz._shape(models=tuple(viz._present(data)), queues=len(keep) > 1,
                                 subtitled=bool(subtitle), width=width, height=height),
                 {"lines": data}, {"title": label, "subtitle": subtitle})


def ref_slot_ends(times: np.ndarray, end: float) -> np.ndarray:
    """For each time, the end of its slot: ``end`` cut into :data:`viz._SLOTS` equal slots."""
    if end <= 0:
        return np.zeros(len(times))
    width = end / viz._SLOTS
    index = np.clip(np.ceil(times / width - 1e-9), 0, viz._SLOTS)
    return np.array([viz._r(i * width) for i in index.tolist()])


def ref_latency_by_time(df: pd.DataFrame, lat: pd.DataFrame, step: float,
                     marks: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The histogram's counts per (model, bin, time slot), and the percentile rules as they
    stood at the end of each slot (the last ones, ``until`` null, are the whole run's)."""
    msgs = ref_make_messages(df)
    received = msgs["received"].to_numpy(dtype="float64")
    at = viz._slot_ends(received, viz._end_time(df))
    idx = np.floor(lat["latency_ms"].to_numpy(dtype="float64") / step + 1e-9).astype(int)
    counts = sorted(Counter(zip(lat["model"].astype(str).tolist(), idx.tolist(), at.tolist(),
                                strict=True)).items())
    bars = pd.DataFrame({
        "bin_start": [viz._r(b * step) for (_, b, _), _ in counts],
        "bin_end": [viz._r((b + 1) * step) for (_, b, _), _ in counts],
        "messages": pd.array([n for _, n in counts], dtype="int64"),
        "model": [m for (m, _, _), _ in counts], "at": [a for (_, _, a), _ in counts]})
    order = np.argsort(received, kind="stable")
    seconds = (received - msgs["sent"].to_numpy(dtype="float64"))[order]
    ends = sorted(set(at.tolist()))
    rows: list[dict[str, Any]] = []
    qs = [float(p[1:]) / 100 for p in marks["percentile"]]
    for i, slot in enumerate(ends):
        until = ends[i + 1] if i + 1 < len(ends) else None
        if until is None:  # the whole run: exactly the chart's own rules
            values = marks["value_ms"].tolist()
        else:
            shown = seconds[: int(np.searchsorted(received[order], slot, side="right"))]
            if not len(shown):
                continue
            values = [viz._r(v * 1000) for v in np.quantile(shown, qs)]
        for (p, y), v in zip(zip(marks["percentile"], marks["label_y"], strict=True), values,
                             strict=True):
            rows.append({"percentile": p, "value_ms": v, "label_y": int(y),
                         "label": f"{p} = {viz._ms_text(v)} ms", "from": slot, "until": until})
    cols = ["percentile", "value_ms", "label_y", "label", "from", "until"]
    return {"bars_by_time": bars, "marks_by_time": pd.DataFrame(rows, columns=cols)}


def ref_percentiles(df: pd.DataFrame) -> dict[str, float]:
    msgs = ref_make_messages(df)
    seconds = msgs["received"] - msgs["sent"]
    if seconds.empty:
        return latency_percentiles(df)
    return {f"p{round(q * 100):d}": float(seconds.quantile(q)) for q in (0.5, 0.9, 0.99)}


def ref_make_latency_ms(df: pd.DataFrame) -> pd.DataFrame:
    msgs = ref_make_messages(df)
    return pd.DataFrame({
        "latency_ms": (msgs["received"] - msgs["sent"]).astype("float64") * 1000,
        "model": msgs["model"].astype(str),
    })


def ref_latency_parts(source: viz.Source, *, kind: Literal["histogram", "ecdf"] = "histogram",
                   bins: int = 30, bin_width_ms: float | None = None,
                   title: str | None = None, width: int = 500, height: int = 220) -> viz.Parts:
    kind = cast("Literal['histogram', 'ecdf']", check_choice("kind", kind, ("histogram", "ecdf")))
    bins = viz._how_many("bins", bins)
    if bin_width_ms is not None:
        bin_width_ms = check_number("bin_width_ms", bin_width_ms, minimum=0, above=True)
    title = viz._optional_str("title", title)
    width, height = viz._pixels("width", width), viz._pixels("height", height)
    df = ref_events(source)
    lat = ref_make_latency_ms(df)
    top = float(lat["latency_ms"].max()) if len(lat) else 0.0
    step = bin_width_ms if bin_width_ms else viz._nice(top / bins) if top > 0 else 1.0
    parts = []
    if kind == "histogram":
        for model, group in sorted(lat.groupby("model"), key=lambda kv: str(kv[0])):
            idx = np.floor(group["latency_ms"].to_numpy() / step + 1e-9).astype(int)
            counts = pd.Series(idx).value_counts().sort_index()
            parts.append(pd.DataFrame({
                "bin_start": [viz._r(i * step) for i in counts.index],
                "bin_end": [viz._r((i + 1) * step) for i in counts.index],
                "messages": counts.to_numpy().astype(int),
                "model": str(model)}))
        cols = ["bin_start", "bin_end", "messages", "model"]
    else:
        qs = np.linspace(0.0, 1.0, 101)
        for model, group in sorted(lat.groupby("model"), key=lambda kv: str(kv[0])):
            values = np.quantile(group["latency_ms"].to_numpy(), qs)
            parts.append(pd.DataFrame({"latency_ms": [viz._r(v) for v in values],
                                       "fraction": [viz._r(q) for q in qs], "model": str(model)}))
        cols = ["latency_ms", "fraction", "model"]
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    pct = ref_percentiles(df)
    marks = pd.DataFrame({
        "percentile": list(pct),
        "value_ms": [viz._r(v * 1000) for v in pct.values()],
        "label_y": [4 + 14 * i for i in range(len(pct))],
    })
    marks = marks[marks["value_ms"].notna()]
    marks["label"] = [f"{p} = {viz._ms_text(v)} ms" for p, v in
                      zip(marks["percentile"], marks["value_ms"], strict=True)]
    frames = {"bars": data, "marks": marks}
    if kind == "histogram":  # for scrubbing: the same bars and rules at each instant
        frames.update(ref_latency_by_time(df, lat, step, marks))
    return viz.Parts("latency", viz._shape(kind=kind, models=tuple(viz._present(data)), width=width,
                                   height=height),
                 frames,
                 {"title": title or "Latency from send to receive, with p50 / p90 / p99"})


def ref_throughput_parts(source: viz.Source, window: float | None = None, *,
                      max_points: int = viz.MAX_POINTS, title: str | None = None,
                      width: int = 600, height: int = 200) -> viz.Parts:
    if window is not None:
        window = check_number("window", window, minimum=0, above=True, unit="seconds")
    max_points = viz._how_many("max_points", max_points)
    title = viz._optional_str("title", title)
    width, height = viz._pixels("width", width), viz._pixels("height", height)
    df = ref_events(source)
    start = 0.0
    end = viz._end_time(df)
    duration = end - start
    widened = False
    if window is None:
        window = viz._auto_window(duration, max_points)
    elif duration / window > max_points:
        window = viz._nice(duration / max_points)
        widened = True
    got = df[df["kind"].isin(RECEIVE_KINDS)]
    n_windows = max(1, math.floor(duration / window + 1e-9) + 1)
    parts = []
    for model in sorted(set(got["model"].tolist())):
        times = got.loc[got["model"] == model, "time"].to_numpy(dtype="float64")
        idx = np.floor((times - start) / window + 1e-9).astype(int)
        counts = np.bincount(idx, minlength=n_windows)[:n_windows]
        parts.append(pd.DataFrame({
            "window_start": [viz._r(start + i * window) for i in range(n_windows)],
            "window_end": [viz._r(start + (i + 1) * window) for i in range(n_windows)],
            "messages": counts.astype(int),
            "rate": [viz._r(c / window) for c in counts],
            "model": model}))
    cols = ["window_start", "window_end", "messages", "rate", "model"]
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    label = title or (f"Throughput: messages received per second "
                      f"({viz._seconds_label(window)} windows)")
    if widened:
        label += " (window widened to keep the chart small)"
    return viz.Parts("throughput", viz._shape(models=tuple(viz._present(data)), width=width,
                                              height=height),
                 {"lines": data}, {"title": label})


def ref_stack_flat_arrows(arrows: pd.DataFrame, *, unit: float) -> None:
    """Move apart, in place, arrows a sequence diagram would draw on one line.

    An arrow that takes no time is flat; two flat arrows at the same instant between the
    same two lanes (pong -> ping, then the next ping -> pong) would be drawn on one line.
    They are drawn one under the other, ``unit`` seconds apart, in the order they were sent:
    ``sent`` and ``received`` become where each arrow is drawn. The true times stay in
    ``sent_at`` and ``received_at`` (the tooltips); every other arrow is drawn at them."""
    arrows["sent_at"], arrows["received_at"] = arrows["sent"], arrows["received"]
    flat = arrows[arrows["sent"] == arrows["received"]]
    if not len(flat):
        return
    pair = ["\n".join(sorted((s, r))) for s, r in zip(flat["sender"], flat["receiver"],
                                                      strict=True)]
    keyed = flat.assign(pair=pair).sort_values("order", kind="stable")
    rank = keyed.groupby(["sent", "pair"]).cumcount().reindex(arrows.index, fill_value=0)
    arrows["sent"] = (arrows["sent"] + rank * unit).map(viz._r)
    arrows["received"] = (arrows["received"] + rank * unit).map(viz._r)


def ref_with_deliveries_again(df: pd.DataFrame, msgs: pd.DataFrame) -> pd.DataFrame:
    """``msgs`` and the later deliveries of the same messages (the k-th send of a message
    id with its k-th receive, k > 1: a resend after a crash), in order of sending."""
    shown = df["msg_id"].isin(set(msgs["msg_id"].tolist()))
    sends = df[df["kind"].isin(SEND_KINDS) & shown]
    gets = df[df["kind"].isin(RECEIVE_KINDS) & shown]
    sends = sends.assign(k=sends.groupby("msg_id").cumcount())
    gets = gets.assign(k=gets.groupby("msg_id").cumcount())
    again = sends[sends["k"] > 0].merge(gets[gets["k"] > 0][["msg_id", "k", "time", "seq",
                                                             "actor"]],
                                        on=["msg_id", "k"], suffixes=("_sent", "_got"))
    again = again.rename(columns={
        "time_sent": "sent", "time_got": "received", "actor_sent": "sender",
        "actor_got": "receiver", "seq_sent": "send_seq", "seq_got": "receive_seq"})
    if not len(again):
        return msgs
    both = pd.concat([msgs, again[list(msgs.columns)]], ignore_index=True)
    return both.sort_values("send_seq", kind="stable").reset_index(drop=True)


def ref_sequence_parts(source: viz.Source, *, limit: int = 30, title: str | None = None,
                    lane_width: int = 140, height: int = 420) -> viz.Parts:
    limit = viz._how_many("limit", limit)
    title = viz._optional_str("title", title)
    lane_width, height = viz._pixels("lane_width", lane_width), viz._pixels("height", height)
    df = ref_events(source)
    msgs = ref_make_messages(df).sort_values("send_seq", kind="stable").head(limit)
    msgs = ref_with_deliveries_again(df, msgs)
    asks = set(msgs["corr_id"].dropna().tolist())
    of_asks = df["corr_id"].isin(asks)
    replies = df[(df["kind"] == "reply") & of_asks & df["peer"].notna()]
    # A reply has no message id: a dead letter without one is a reply nobody waited for.
    late = df[(df["kind"] == "dead_letter") & df["msg_id"].isna() & of_asks
              & df["peer"].notna()]
    timeouts = df[(df["kind"] == "timeout") & of_asks]
    last = max([float(msgs["received"].max()) if len(msgs) else viz._end_time(df),
                *replies["time"].tolist(), *late["time"].tolist(),
                *timeouts["time"].tolist()])
    lost = df[df["kind"].isin(viz._LOST_KINDS) & (df["time"] <= last)].head(limit)
    lanes = ref_lanes(df, msgs["sender"].tolist() + msgs["receiver"].tolist()
                   + replies["actor"].tolist() + replies["peer"].tolist()
                   + late["peer"].tolist() + lost["actor"].tolist()
                   + timeouts["actor"].tolist())
    pos = {name: i for i, name in enumerate(lanes)}
    back = pd.concat([replies.assign(arrow="reply"), late.assign(arrow="late reply")])
    # A late reply's row is the asker's (actor) about the replier (peer); a reply's the
    # replier's about the asker.
    is_late = back["arrow"] == "late reply"
    arrows = pd.concat([pd.DataFrame({
        "sender": msgs["sender"].astype(str), "receiver": msgs["receiver"].astype(str),
        "sent": msgs["sent"].map(viz._r), "received": msgs["received"].map(viz._r),
        "latency_ms": ((msgs["received"] - msgs["sent"]) * 1000).map(viz._r),
        "msg_id": msgs["msg_id"].astype(int), "corr_id": msgs["corr_id"].astype("Int64"),
        "msg_type": msgs["msg_type"].map(viz._text),
        "queue": msgs["queue"].map(viz._text), "model": msgs["model"].astype(str),
        "arrow": "message", "order": msgs["send_seq"].astype(int),
    }), pd.DataFrame({
        "sender": back["peer"].where(is_late, back["actor"]).astype(str),
        "receiver": back["actor"].where(is_late, back["peer"]).astype(str),
        "sent": back["time"].map(viz._r), "received": back["time"].map(viz._r),
        "latency_ms": 0.0, "msg_id": None, "corr_id": back["corr_id"].astype("Int64"),
        "msg_type": back["msg_type"].map(viz._text),
        "queue": "", "model": back["model"].astype(str), "arrow": back["arrow"],
        "order": back["seq"].astype(int),
    })], ignore_index=True)
    arrows["direction"] = [
        "self" if pos[s] == pos[r] else ("right" if pos[s] < pos[r] else "left")
        for s, r in zip(arrows["sender"], arrows["receiver"], strict=True)]
    top = viz._r(float(df["time"].min())) if len(df) else 0.0
    ref_stack_flat_arrows(arrows, unit=viz._STACK_PX / height * ((last - top) or 1e-3))
    arrows = arrows.drop(columns="order")
    arrows["corr_id"] = arrows["corr_id"].astype("Int64")
    arrows["msg_id"] = arrows["msg_id"].astype("Int64")
    arrows["path"] = ref_path_keys(arrows)
    bottom = max([viz._r(last), *arrows["received"].tolist()])
    life = pd.DataFrame({"lane": lanes, "from": [top] * len(lanes),
                         "to": [bottom] * len(lanes)})
    marks = pd.concat([lost, timeouts])
    drops = pd.DataFrame({
        "lane": marks["actor"].astype(str), "time": marks["time"].map(viz._r),
        "kind": marks["kind"].astype(str), "msg_type": marks["msg_type"].map(viz._text),
        "detail": marks["detail"].map(viz._text), "peer": marks["peer"].map(viz._text),
        "msg_id": marks["msg_id"].astype("Int64"), "corr_id": marks["corr_id"].astype("Int64"),
        "model": marks["model"].astype(str)})
    drops["path"] = ref_path_keys(drops)
    # Everything at one instant: arrows are only stacked apart, so the axis shows that instant.
    instant = bool(last - top == 0 and bottom > top)
    return viz.Parts("sequence", viz._shape(models=tuple(viz._present(arrows)), instant=instant,
                                    width=max(240, lane_width * len(lanes)), height=height),
                 {"life": life, "arrows": arrows, "drops": drops},
                 {"title": title or f"Message sequence (first {limit} messages)",
                  "lanes": lanes, "instant": [top]})


def ref_load_counts(source: viz.Source | Mapping[str, int], actors: Sequence[str] | None,
                 model: str | None) -> pd.DataFrame:
    """``actor, messages, model`` rows: receives per actor (or the given counts), in lane
    order (``actors``, else first appearance)."""
    if isinstance(source, Mapping):
        for key, value in source.items():
            check_int(f"the count of {key!r}", value, minimum=0)
        names = list(actors) if actors is not None else [str(k) for k in source]
        colour = model if model in viz.PALETTE else "other"
        return pd.DataFrame({"actor": names,
                             "messages": [int(source.get(n, 0)) for n in names],
                             "model": [colour] * len(names)})
    df = ref_events(source)
    got = df[df["kind"].isin(RECEIVE_KINDS)]
    counts = got.groupby("actor", sort=False).size()
    models = got.groupby("actor", sort=False)["model"].first()
    if actors is None:
        names = ref_lanes(got, [str(a) for a in counts.index])
    else:
        names = list(actors)
        unknown = sorted(set(names) - set(df["actor"].dropna().astype(str)))
        if unknown:
            known = sorted(str(a) for a in counts.index)
            raise ValueError(f"no actor named {unknown} in this trace; actors that "
                             f"received messages: {known}")
    fallback = model if model in viz.PALETTE else "other"
    return pd.DataFrame({
        "actor": names,
        "messages": [int(counts.get(n, 0)) for n in names],
        "model": [str(models.get(n, fallback)) if model is None else fallback
                  for n in names]})


def ref_load_by_time(source: viz.Source, data: pd.DataFrame) -> pd.DataFrame:
    """Receives per (worker, time slot), with a zero row at 0 s for every worker so that
    each bar keeps its place while scrubbing."""
    df = ref_events(source)
    got = df[df["kind"].isin(RECEIVE_KINDS) & df["actor"].isin(set(data["actor"]))]
    at = viz._slot_ends(got["time"].to_numpy(dtype="float64"), viz._end_time(df))
    counts = sorted(Counter(zip(got["actor"].astype(str).tolist(), at.tolist(),
                                strict=True)).items())
    model = dict(zip(data["actor"], data["model"], strict=True))
    actors = data["actor"].tolist() + [a for (a, _), _ in counts]
    return pd.DataFrame({
        "actor": actors,
        "messages": pd.array([0] * len(data) + [n for _, n in counts], dtype="int64"),
        "model": [model[a] for a in actors],
        "at": [0.0] * len(data) + [t for (_, t), _ in counts]})


def ref_load_parts(source: viz.Source | Mapping[str, int], *,
                   actors: Sequence[str] | None = None, model: str | None = None,
                   title: str | None = None, noun: str = "worker", width: int | None = None,
                   height: int = 200) -> viz.Parts:
    # (ref_load_counts and ref_load_by_time called by name: viz's take other arguments)
    if actors is not None:
        actors = viz._names("actors", actors)
    model = viz._optional_str("model", model)
    title = viz._optional_str("title", title)
    noun = check_str("noun", noun)
    if width is not None:
        width = viz._pixels("width", width)
    height = viz._pixels("height", height)
    data = ref_load_counts(source, actors, model)
    total = int(data["messages"].sum())
    mean = total / len(data) if len(data) else 0.0
    data["share"] = [round(m / total, 6) if total else 0.0 for m in data["messages"]]
    peak = int(data["messages"].max()) if len(data) else 0
    subtitle = (f"{total} messages on {len(data)} {noun}s; max / mean = {peak / mean:.2f}"
                if mean else "no messages")
    frames = {"bars": data, "even": pd.DataFrame({"even": [viz._r(mean)]})}
    if not isinstance(source, Mapping) and model is None:
        frames["bars_by_time"] = ref_load_by_time(source, data)
    # The width follows the number of workers: a fill, not the template's shape, so that
    # another worker count does not build another template through Altair.
    return viz.Parts("load", viz._shape(models=tuple(viz._present(data)), noun=noun,
                                        height=height),
                     frames,
                     {"title": title or f"Messages handled per {noun}", "subtitle": subtitle,
                      "order": data["actor"].tolist(),
                      # the width rule of today's viz (56 px a bar, at least 200 px)
                      "width": width if width is not None else
                      200 if 56 * len(data) <= 200 else {"step": 56}})



_REFERENCE: dict[str, Callable[..., Any]] = {
    "_make_events": ref_make_events,
    "_slot_ends": ref_slot_ends,
}
_REFERENCE_PARTS: dict[str, Callable[..., viz.Parts]] = {
    "timeline": ref_timeline_parts, "depth": ref_depth_parts, "sequence": ref_sequence_parts,
    "latency": ref_latency_parts, "throughput": ref_throughput_parts, "load": ref_load_parts}


@contextmanager
def reference() -> Iterator[None]:
    """viz with the reference functions in place of the fast ones. (Give it sources of its
    own: what a trace's charts derive is kept with the trace.)"""
    saved = {name: getattr(viz, name) for name in [*_REFERENCE, "_PARTS"]}
    try:
        for name, function in _REFERENCE.items():
            setattr(viz, name, function)
        viz._PARTS = MappingProxyType({**saved["_PARTS"], **_REFERENCE_PARTS})
        yield
    finally:
        for name, value in saved.items():
            setattr(viz, name, value)


# -- comparing -----------------------------------------------------------------------------------

def assert_same_frame(new: pd.DataFrame, old: pd.DataFrame, where: str) -> None:
    assert type(new.index) is type(old.index), where
    assert list(new.columns) == list(old.columns), where
    assert [str(d) for d in new.dtypes] == [str(d) for d in old.dtypes], where
    pd.testing.assert_frame_equal(new, old, check_exact=True, check_index_type=True,
                                  check_column_type=True, obj=where)


def assert_same_parts(new: viz.Parts, old: viz.Parts, where: str = "parts") -> None:
    assert (new.name, new.shape) == (old.name, old.shape), where
    assert json.dumps(new.fills, sort_keys=True) == json.dumps(old.fills, sort_keys=True), where
    assert list(new.frames) == list(old.frames), where
    for role in old.frames:
        assert_same_frame(new.frames[role], old.frames[role], f"{where}.{role}")
    assert len(new.children) == len(old.children), where
    for i, (a, b) in enumerate(zip(new.children, old.children, strict=True)):
        assert_same_parts(a, b, f"{where}[{i}]")


def assert_same_spec(new: viz.Parts, old: viz.Parts) -> None:
    assert json.dumps(viz.spec(new), sort_keys=True) == json.dumps(viz.spec(old),
                                                                  sort_keys=True)


def fresh(make: Callable[[], Any]) -> tuple[Any, Any]:
    """Two equal runs from ``make``: one for the fast code, one for the reference."""
    return make(), make()


# -- runs ----------------------------------------------------------------------------------------

#: Scenario runs of every kind the charts meet: channels and mailboxes, blocking, drops and
#: dead letters, routing, asks and replies, timeouts, several queues, the actor layer.
SCENARIOS: dict[str, Callable[[], Any]] = {
    "producer_consumer-go": lambda: scenarios.producer_consumer(
        model="go", capacity=3, messages=150, seed=1),
    "producer_consumer-rust": lambda: scenarios.producer_consumer(
        model="rust", capacity=3, messages=150, seed=1),
    "producer_consumer-go-unbuffered": lambda: scenarios.producer_consumer(
        model="go", capacity=0, messages=40, seed=2),
    "overload-actor-drop_head": lambda: scenarios.overload(policy="drop_head", messages=150),
    "overload-go": lambda: scenarios.overload(model="go", messages=150),
    "route-actor": lambda: scenarios.route(model="actor", messages=120, seed=2),
    "route-rust": lambda: scenarios.route(model="rust", messages=120, seed=2),
    "ping_pong-go": lambda: scenarios.ping_pong(model="go"),
    "ping_pong-rust": lambda: scenarios.ping_pong(model="rust"),
    "ping_pong-actor": lambda: scenarios.ping_pong(model="actor"),
    "ask_reply-go": lambda: scenarios.ask_reply(model="go"),
    "scatter_gather-actor": lambda: scenarios.scatter_gather(model="actor"),
    "scatter_gather-go": lambda: scenarios.scatter_gather(model="go"),
    "poison-actor": lambda: scenarios.poison(model="actor"),
    "pubsub-rust": lambda: scenarios.pubsub(model="rust", messages=100),
    "pubsub-go": lambda: scenarios.pubsub(model="go", messages=100),
    "delivery-rust": lambda: scenarios.delivery(model="rust", messages=60),
    "work_queue-go": lambda: scenarios.work_queue(model="go", messages=300),
}

#: Options that take other paths: binned depth, a named queue, an ECDF, short limits.
OPTIONS: dict[str, list[dict[str, Any]]] = {
    "timeline": [{}, {"limit": 7}],
    "depth": [{}, {"max_points": 5}, {"max_queues": 1}],
    "latency": [{}, {"kind": "ecdf"}, {"bins": 3}],
    "throughput": [{}],
    "sequence": [{}, {"limit": 4}],
    "load": [{}],
}


def _same_chart(chart: str, options: dict[str, Any], new_source: Any, old_source: Any,
                *, spec: bool = True) -> None:
    new = viz.parts(chart, new_source, **options)
    with reference():
        old = viz.parts(chart, old_source, **options)
    assert_same_parts(new, old, f"{chart}{options}")
    if spec:
        assert_same_spec(new, old)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_chart_is_what_the_reference_gives(name: str) -> None:
    for chart, variants in OPTIONS.items():
        for options in variants:
            new_run, old_run = fresh(SCENARIOS[name])
            _same_chart(chart, options, new_run, old_run)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_events_and_messages_are_what_the_reference_gives(name: str) -> None:
    run = SCENARIOS[name]()
    events = ref_events(run)  # viz's own events frame (outside reference())
    assert_same_frame(events, ref_make_events(run), "events")
    # the messages the charts match, from the run's columns, as the references find them
    found = messages_of(events, viz._Data(run).message_rows())
    assert_same_frame(found, ref_make_messages(events), "messages")
    assert_same_frame(found, ref_slow_messages(events), "messages")


@pytest.mark.parametrize("model", ["go", "rust"])
@pytest.mark.parametrize("messages", [150, 10_000])
def test_compared_charts_at_dashboard_sizes(model: str, messages: int) -> None:
    """The dashboards' comparisons, Go and Rust side by side, small and big."""
    def runs() -> dict[str, Any]:
        return {m: scenarios.producer_consumer(model=m, capacity=3, messages=messages, seed=1)
                for m in (model, "rust" if model == "go" else "go")}

    for chart in OPTIONS:
        new_runs, old_runs = fresh(runs)
        new = viz.compare_parts(new_runs, chart=chart)
        with reference():
            old = viz.compare_parts(old_runs, chart=chart)
        assert_same_parts(new, old, chart)
        assert_same_spec(new, old)


#: The runs notebooks 00, 04 and 05 draw sequence diagrams of: ping-pong at one instant
#: (flat arrows stacked apart), every poison design, the crash-recovery set-ups.
SEQUENCE_RUNS: dict[str, Callable[[], Any]] = {
    **{f"ping_pong-{m}-instant": partial(scenarios.ping_pong, m, rounds=5, hit_time=0.0)
       for m in ("go", "rust", "actor")},
    **{f"poison-{m}-{d}": partial(scenarios.poison, m, d)
       for m, designs in faults.DESIGNS.items() for d in designs},
    "crash_recovery-file": scenarios.crash_recovery,
    "crash_recovery-no-dedup": partial(scenarios.crash_recovery, dedup=False),
    "crash_recovery-sqlite": partial(scenarios.crash_recovery, backend="sqlite"),
    "crash_recovery-memory": partial(scenarios.crash_recovery, persistent=False),
    "crash_recovery-early-snapshots": partial(scenarios.crash_recovery, 3, snapshot_every=5),
    "overload-go-frame-reversed": lambda: cast(pd.DataFrame, scenarios.overload(
        model="go", messages=150).trace.df.iloc[::-1].reset_index(drop=True)),
    "poison-actor-frame-reversed": lambda: cast(pd.DataFrame, scenarios.poison(
        "actor", "none").trace.df.iloc[::-1].reset_index(drop=True)),
}


@pytest.mark.parametrize("name", sorted(SEQUENCE_RUNS))
def test_the_notebooks_sequence_diagrams(name: str) -> None:
    for options in ({}, {"limit": 30, "lane_width": 90}, {"limit": 40, "height": 560},
                    {"limit": 1000}):
        new_run, old_run = fresh(SEQUENCE_RUNS[name])
        _same_chart("sequence", options, new_run, old_run)


@pytest.mark.parametrize("hit_time", [0.0, 0.01])
def test_compared_ping_pong_sequences(hit_time: float) -> None:
    def runs() -> dict[str, Any]:
        return {label: scenarios.ping_pong(model, rounds=4, hit_time=hit_time)
                for label, model in (("Go", "go"), ("Rust", "rust"))}

    new_runs, old_runs = fresh(runs)
    new = viz.compare_parts(new_runs, chart="sequence")
    with reference():
        old = viz.compare_parts(old_runs, chart="sequence")
    assert_same_parts(new, old, "sequence")
    assert_same_spec(new, old)


# -- edge cases ----------------------------------------------------------------------------------

def _rows(*events: tuple[Any, ...]) -> Trace:
    """A trace of hand-written rows: (time, kind, actor, peer, msg_id, depth, model)."""
    return Trace([(t, i, kind, actor, peer, msg, None, None, depth, model, None)
                  for i, (t, kind, actor, peer, msg, depth, model) in enumerate(events)])


EDGE_CASES: dict[str, Callable[[], Any]] = {
    "empty": lambda: Trace([]),
    "never-received": lambda: _rows(
        (0.0, "spawn", "main", None, None, None, "go"),
        (0.1, "send", "main", "chan-1", 1, 1, "go"),
        (0.2, "send", "main", "chan-1", 2, 2, "go"),
        (0.3, "close", "main", "chan-1", None, None, "go")),
    "sent-twice-received-once": lambda: _rows(
        (0.0, "send", "p", "chan-1", 1, 1, "rust"),
        (0.0, "send", "p", "chan-1", 2, 2, "rust"),
        (0.1, "send", "p", "chan-1", 1, 3, "rust"),
        (0.1, "receive", "c", "chan-1", 2, 2, "rust"),
        (0.1, "receive", "c", "chan-1", 1, 1, "rust"),
        (0.4, "receive", "c", "chan-1", 1, 0, "rust"),
        (0.5, "receive", "c", "chan-1", 9, 0, "rust")),
    "unknown-model": lambda: _rows(
        (0.0, "send", "p", "q", 1, 1, "erlang"),
        (0.0, "send", "p", "q", 2, 2, None),
        (0.2, "receive", "c", "q", 1, 1, "erlang"),
        (0.3, "receive", "c", "q", 2, 0, None)),
}


def _frame_with_nan_ids() -> pd.DataFrame:
    """A trace frame with float message ids, some NaN, its rows out of ``seq`` order."""
    df = scenarios.producer_consumer(model="go", capacity=2, messages=30, seed=3).trace.df
    df = df.copy()
    msg = df["msg_id"].astype("float64")
    msg[msg % 7 == 3] = np.nan
    df["msg_id"] = msg
    return cast(pd.DataFrame, df.iloc[::-1].reset_index(drop=True))


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_are_what_the_reference_gives(name: str) -> None:
    for chart, variants in OPTIONS.items():
        for options in variants:
            new_source, old_source = fresh(EDGE_CASES[name])
            try:
                with reference():
                    viz.parts(chart, old_source, **options)
            except (ValueError, KeyError, TypeError) as error:  # the reference refused
                with pytest.raises(type(error)):
                    viz.parts(chart, new_source, **options)
                continue
            _same_chart(chart, options, new_source, old_source, spec=False)


def test_a_frame_with_nan_message_ids_out_of_order() -> None:
    frame = _frame_with_nan_ids()
    events = ref_events(frame)
    assert_same_frame(events, ref_make_events(frame), "events")
    found = messages_of(events, viz._Data(frame).message_rows())
    assert_same_frame(found, ref_make_messages(events), "messages")
    for chart, variants in OPTIONS.items():
        for options in variants:
            _same_chart(chart, options, frame, frame.copy())


def test_a_named_queue_and_one_that_is_not_there() -> None:
    new_run, old_run = fresh(SCENARIOS["route-rust"])
    queue = str(ref_events(new_run).query("kind == 'send'")["queue"].iloc[0])
    _same_chart("depth", {"peer": queue}, new_run, old_run)
    with pytest.raises(ValueError, match="no queue named 'nowhere'"):
        viz.parts("depth", new_run, peer="nowhere")


def test_load_chart_options_are_what_the_reference_gives() -> None:
    """Named workers (one that never received, the dispatcher left out), a model, counts
    given as a mapping, and the error for an actor the trace does not have."""
    run = SCENARIOS["route-actor"]
    workers = sorted({str(a) for a in viz._Data(run()).actors() if str(a).startswith("w")})
    # (a model= chart gets a height of its own: its template key is the uncoloured one's,
    # which draws from bars_by_time, a frame a model= chart does not have)
    variants: list[dict[str, Any]] = [
        {"actors": [*workers[::-1], "main"]}, {"actors": workers[:1]},
        {"model": "rust", "height": 180}, {"noun": "shard", "width": 300}]
    for options in variants:
        _same_chart("load", options, *fresh(run))
    given: list[tuple[dict[str, int], dict[str, Any]]] = [
        ({"a": 3, "b": 0, "c": 5}, {}),
        ({"a": 3, "b": 1}, {"actors": ["b", "z", "a"], "height": 181}),
        ({"x": 2}, {"model": "weird", "height": 182}), ({}, {})]
    for counts, options in given:
        _same_chart("load", options, dict(counts), dict(counts))
    with pytest.raises(ValueError, match=r"no actor named \['nobody'\] in this trace; actors "
                                         r"that received messages: \['worker-0', "):
        viz.parts("load", run(), actors=["nobody", "worker-0"])


def test_quantiles_of_sorted_values_are_numpys() -> None:
    """The per-slot percentile rules come from viz._sorted_quantiles, which must give
    np.quantile's floats exactly."""
    rng = np.random.default_rng(7)
    qs = np.array([0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0])
    samples = [rng.exponential(0.01, n) for n in (1, 2, 3, 7, 100, 1001)]
    samples += [np.array([0.1, 0.1, 0.1]), np.round(rng.random(50), 2),
                np.array([0.2, np.nan, 0.1]), np.array([1e-9, 1e9, -3.0, np.inf])]
    for values in samples:
        in_order = np.sort(values)  # NaN last, as argsort leaves them

        def value_at(ranks: np.ndarray, in_order: np.ndarray = in_order) -> np.ndarray:
            return cast(np.ndarray, in_order[ranks])

        with np.errstate(invalid="ignore"):
            expected = np.quantile(values, qs)
            got = viz._sorted_quantiles(value_at, len(values), qs)
        assert got.tobytes() == expected.tobytes() or (
            np.isnan(expected).all() and np.isnan(got).all()), values


def test_quantiles_of_every_prefix_are_numpys() -> None:
    """The latency chart's rules per time slot: viz._latency_prefix_quantiles gives, for
    each count, np.quantile of the first that many values, in one pass over the slots (in
    chunks for long runs)."""
    rng = np.random.default_rng(11)
    qs = np.array([0.5, 0.9, 0.99])
    for n, slots in [(1, 1), (2, 2), (7, 5), (150, 48), (30_000, 50), (250_000, 9)]:
        values = rng.exponential(0.01, n)
        if n > 100:
            values[rng.integers(0, n, 2)] = np.nan  # a prefix with NaN has NaN quantiles
        by_latency = np.argsort(values, kind="stable")
        shown = np.sort(rng.integers(1, n + 1, slots))
        got = viz._latency_prefix_quantiles(values[by_latency], by_latency, shown, qs)
        with np.errstate(invalid="ignore"):
            expected = np.array([np.quantile(values[:k], qs) for k in shown])
        assert got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True), n
    empty = viz._latency_prefix_quantiles(np.array([]), np.array([], dtype=np.intp),
                                          np.array([], dtype=np.intp), qs)
    assert empty.shape == (0, 3)
