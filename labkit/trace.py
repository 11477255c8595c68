"""Trace: the event rows of one run, as a pandas DataFrame, and metrics over them.

Every runtime event is one :class:`TraceRow`: ``time`` (run clock, seconds), ``seq`` (order
of recording), ``kind`` (an :class:`EventKind`: spawn, send, block, unblock, receive, drop,
close, handle_end, ...), ``actor`` (the task that acted), ``peer`` (the channel, mailbox or
task acted on), ``msg_id``, ``corr_id``, ``msg_type``, ``depth`` (queue depth after the
event), ``model`` (``go``, ``rust`` or ``actor``) and ``detail`` (a reason, e.g. why a
message was dropped).

A scenario adds rows of its own with :func:`record` (a routing decision made by hand, a
loss it counted itself): the same call the runtime uses. :func:`current_task_name` and
:func:`new_corr_id` give it what such a row names; :func:`blocked_tasks` says what each task
waits on right now, as a :class:`labkit.Deadlock` report would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from labkit._check import check_choice
from labkit._runtime.core import current, current_task
from labkit._runtime.rows import COLUMNS, RECORDED, EventKind, TraceRow

if TYPE_CHECKING:
    import pandas as pd

__all__ = (
    "COLUMNS",
    "RECEIVE_KINDS",
    "SEND_KINDS",
    "EventKind",
    "Trace",
    "TraceRow",
    "blocked_tasks",
    "current_task_name",
    "depth_over_time",
    "drops",
    "latencies",
    "latency_percentiles",
    "new_corr_id",
    "record",
    "throughput",
)

_STRIDE = len(RECORDED)

#: Event kinds that mark a message entering a queue, and leaving it for a consumer.
SEND_KINDS = ("send", "tell")
RECEIVE_KINDS = ("receive",)


class Trace:
    """The recorded events of a run. ``trace.df`` is a pandas DataFrame, one row per event.

    ``Trace(rows)`` takes rows in :class:`TraceRow` field order (a cut of another trace, a
    test's own); a run's trace is :meth:`recorded` straight from the runtime's event list,
    and its ``rows`` are built only when something reads them.
    """

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._rows: Sequence[tuple[Any, ...]] | None = rows
        self._events: list[Any] = []
        self._t0 = 0.0

    @classmethod
    def recorded(cls, events: list[Any], t0: float) -> Trace:
        """The trace of a run from the runtime's flat event list (the fields of
        :data:`RECORDED` per event, times as the clock read them, ``t0`` the start)."""
        trace = cls(())
        trace._rows = None
        trace._events = events
        trace._t0 = t0
        return trace

    @property
    def rows(self) -> Sequence[tuple[Any, ...]]:
        """The events as plain tuples in :class:`TraceRow` field order."""
        if self._rows is None:
            events, t0 = self._events, self._t0
            times = [t - t0 for t in events[0::_STRIDE]]
            self._rows = list(zip(times, range(len(times)),
                                  *(events[i::_STRIDE] for i in range(1, _STRIDE)),
                                  strict=True))
        return self._rows

    def __len__(self) -> int:
        if self._rows is None:
            return len(self._events) // _STRIDE
        return len(self._rows)

    def __iter__(self) -> Iterator[TraceRow]:
        make = TraceRow._make
        for row in self.rows:
            yield make(row)

    def __repr__(self) -> str:
        return f"<Trace {len(self)} events>"

    @cached_property
    def df(self) -> pd.DataFrame:
        """The events as a DataFrame with the columns in :data:`COLUMNS`."""
        import numpy as np
        import pandas as pd

        if self._rows is None:  # column by column, straight from the event list
            events = self._events
            n = len(events) // _STRIDE
            columns: dict[str, Any] = {
                name: events[i::_STRIDE] for i, name in enumerate(RECORDED)}
            columns["time"] = np.asarray(columns["time"], dtype="float64") - self._t0
            columns["seq"] = np.arange(n, dtype="int64")
            frame = pd.DataFrame(columns, columns=list(COLUMNS), index=pd.RangeIndex(n))
        else:
            frame = pd.DataFrame.from_records(list(self._rows), columns=list(COLUMNS))
            frame["time"] = frame["time"].astype("float64")
            frame["seq"] = frame["seq"].astype("int64")
        frame["kind"] = frame["kind"].astype(str)  # plain strings, not EventKind members
        for col in ("msg_id", "corr_id", "depth"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def events(self, kind: str | None = None, *, actor: str | None = None,
               peer: str | None = None) -> pd.DataFrame:
        """The rows of one ``kind`` (and optionally one actor or peer)."""
        df = self.df
        mask = df["kind"].notna()
        if kind is not None:
            mask &= df["kind"] == kind
        if actor is not None:
            mask &= df["actor"] == actor
        if peer is not None:
            mask &= df["peer"] == peer
        return df[mask].reset_index(drop=True)

    def kinds(self) -> dict[str, int]:
        """How many events of each kind, in order of first appearance."""
        counts: dict[str, int] = {}
        kinds = (row[2] for row in self.rows) if self._rows is not None else (
            self._events[1::_STRIDE])
        for kind in kinds:
            counts[str(kind)] = counts.get(str(kind), 0) + 1
        return counts


_KINDS = tuple(k.value for k in EventKind)


def record(kind: EventKind | str, *, actor: str | None = None, peer: str | None = None,
           msg_id: int | None = None, corr_id: int | None = None, msg_type: str | None = None,
           depth: int | None = None, model: str | None = None,
           detail: str | None = None) -> None:
    """Add a row to the current run's trace, as the runtime does for its own events.

    ``kind`` is an :class:`EventKind` (or its value, ``"route"``); ``actor`` defaults to
    the task running now. For a scenario's own bookkeeping: a routing decision it made by
    hand, a loss it counted, a remark (``EventKind.NOTE`` with ``detail``).
    """
    kind = EventKind(check_choice("kind", kind, _KINDS))
    current().record(kind, actor=current_task().name if actor is None else actor, peer=peer,
                     msg_id=msg_id, corr_id=corr_id, msg_type=msg_type, depth=depth,
                     model=model, detail=detail)


def current_task_name() -> str:
    """The name of the task running now, as the trace's ``actor`` column shows it: ``main``,
    ``go-2``, a tokio task's or an actor's name. Raises ``NotInRunError`` outside a run."""
    current()
    return current_task().name


def new_corr_id() -> int:
    """A fresh correlation id, unique within the run (drawn from the same counter as
    message ids): tag every row of one request with it, e.g. the copies of a scatter."""
    return current().next_msg_id()


def blocked_tasks() -> dict[str, str]:
    """What each task of the current run waits on now, for the tasks parked on a labkit
    primitive (``{"go-1": "receive from chan-1"}``), in the order they started: the same
    words as :attr:`labkit.Deadlock.blocked`."""
    return current().blocked(parked_only=True)


def _frame(trace: Trace | pd.DataFrame) -> pd.DataFrame:
    return trace.df if isinstance(trace, Trace) else trace


def latencies(trace: Trace | pd.DataFrame, *, peer: str | None = None) -> pd.DataFrame:
    """Per message: when it was sent, when it was received and the latency between.

    A message is matched by ``msg_id`` from its first send-like event to its receive.
    """
    import pandas as pd

    df = _frame(trace)
    if peer is not None:
        df = df[df["peer"] == peer]
    sent = df[df["kind"].isin(SEND_KINDS)].groupby("msg_id", sort=True)["time"].min()
    got = df[df["kind"].isin(RECEIVE_KINDS)].groupby("msg_id", sort=True)["time"].min()
    out = pd.concat({"sent": sent, "received": got}, axis=1, join="inner").reset_index()
    out["latency"] = out["received"] - out["sent"]
    return out


def latency_percentiles(trace: Trace | pd.DataFrame,
                        qs: Sequence[float] = (0.5, 0.9, 0.99)) -> dict[str, float]:
    """Latency percentiles in seconds, e.g. ``{"p50": ..., "p90": ..., "p99": ...}``."""
    lat = latencies(trace)["latency"]
    if lat.empty:
        return {f"p{round(q * 100):d}": float("nan") for q in qs}
    return {f"p{round(q * 100):d}": float(lat.quantile(q)) for q in qs}


def depth_over_time(trace: Trace | pd.DataFrame, peer: str | None = None) -> pd.DataFrame:
    """Queue depth after each event that reports one: columns time, peer, depth."""
    df = _frame(trace)
    rows = df[df["depth"].notna()]
    if peer is not None:
        rows = rows[rows["peer"] == peer]
    return rows[["time", "peer", "depth"]].reset_index(drop=True)


def throughput(trace: Trace | pd.DataFrame, window: float = 1.0) -> pd.DataFrame:
    """Messages received per second, in windows of ``window`` seconds."""
    df = _frame(trace)
    got = df[df["kind"].isin(RECEIVE_KINDS)]
    bins = (got["time"] // window) * window
    counts = got.groupby(bins).size()
    out = counts.rename("messages").reset_index().rename(columns={"time": "window_start"})
    out["rate"] = out["messages"] / window
    return out


def drops(trace: Trace | pd.DataFrame) -> pd.DataFrame:
    """Every lost message (``drop`` and ``dead_letter`` events) with its reason."""
    df = _frame(trace)
    return df[df["kind"].isin(("drop", "dead_letter"))].reset_index(drop=True)
