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

from collections.abc import Callable, Iterator, Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from labkit._check import check_choice, check_number, describe
from labkit._runtime.core import current, current_task
from labkit._runtime.rows import COLUMNS, RECORDED, EventKind, TraceRow

if TYPE_CHECKING:
    import pandas as pd

__all__ = (
    "COLUMNS",
    "Columns",
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

    ``derived`` keeps what other modules compute from the trace (:mod:`labkit.viz` keeps its
    chart data there, see :func:`labkit.viz.prepare`): it belongs to this trace only (a cut
    of it is a new trace, with its own) and travels with it when it is pickled, as a run
    made in a worker process is. Entries whose key starts with ``_`` stay in this process
    (large frames, quicker to make again than to carry), and so do ``df`` and the metrics'
    columns. Its values are never changed once kept.
    """

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not isinstance(rows, list | tuple):
            raise TypeError(f"rows must be a list of rows in TraceRow field order, got "
                            f"{describe(rows)}")
        width = len(COLUMNS)
        for k, row in enumerate(rows):
            if not isinstance(row, tuple) or len(row) != width:
                raise ValueError(f"rows[{k}] must be a tuple of {width} fields in TraceRow "
                                 f"order ({', '.join(COLUMNS)}), got {describe(row)}")
        self._rows: Sequence[tuple[Any, ...]] | None = rows
        self._events: list[Any] | None = None  # a run's flat event list, kept once read
        self._t0 = 0.0
        self.derived: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # the events and what travels of ``derived``; df and the columns are made again
        state = {k: v for k, v in self.__dict__.items() if k not in _LOCAL}
        if self._events is not None:
            state["_rows"] = None  # made again from the events when read
        state["derived"] = {k: v for k, v in self.derived.items() if not k.startswith("_")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("derived", {})  # a trace pickled before it had one

    @classmethod
    def recorded(cls, events: list[Any], t0: float) -> Trace:
        """The trace of a run from the runtime's flat event list (the fields of
        :data:`RECORDED` per event, times as the clock read them, ``t0`` the start)."""
        if not isinstance(events, list):
            raise TypeError(f"events must be a list, got {describe(events)}")
        if len(events) % _STRIDE:
            raise ValueError(f"events must hold {_STRIDE} fields per event "
                             f"({', '.join(RECORDED)}), got {len(events)} values")
        t0 = check_number("t0", t0, unit="seconds")
        trace = cls(())
        trace._rows = None
        trace._events = events
        trace._t0 = t0
        return trace

    @property
    def rows(self) -> Sequence[tuple[Any, ...]]:
        """The events as plain tuples in :class:`TraceRow` field order."""
        if self._rows is None:
            events, t0 = self._events or [], self._t0
            times = [t - t0 for t in events[0::_STRIDE]]
            self._rows = list(zip(times, range(len(times)),
                                  *(events[i::_STRIDE] for i in range(1, _STRIDE)),
                                  strict=True))
        return self._rows

    def __len__(self) -> int:
        if self._rows is None:
            return len(self._events or ()) // _STRIDE
        return len(self._rows)

    def __iter__(self) -> Iterator[TraceRow]:
        make = TraceRow._make
        for row in self.rows:
            yield make(row)

    def __repr__(self) -> str:
        return f"<Trace {len(self)} events>"

    def _column(self, name: str) -> Any:
        """One column's values: ``time`` (start subtracted) and ``seq`` as new numpy arrays,
        the others as a list of what was recorded."""
        import numpy as np

        events = self._events
        if events is not None:
            if name == "seq":
                return np.arange(len(events) // _STRIDE, dtype="int64")
            values = events[RECORDED.index(name)::_STRIDE]
            if name == "time":
                return np.asarray(values, dtype="float64") - self._t0
            return values
        i = COLUMNS.index(name)
        values = [row[i] for row in self.rows]
        if name in _NUMPY_COLUMNS:
            return np.asarray(values, dtype=_NUMPY_COLUMNS[name])
        return values

    @cached_property
    def df(self) -> pd.DataFrame:
        """The events as a DataFrame with the columns in :data:`COLUMNS`."""
        import pandas as pd

        n = len(self)
        columns: dict[str, Any] = {name: self._column(name) for name in _NUMPY_COLUMNS}
        for name in COLUMNS[2:]:
            values = self._column(name)
            columns[name] = (_int_array(values) if name in _INT_COLUMNS
                             else _str_array(values))
        frame = pd.DataFrame(columns, columns=list(COLUMNS), index=pd.RangeIndex(n),
                             copy=False)
        if frame["kind"].dtype != _str_dtype():
            frame["kind"] = frame["kind"].astype(str)  # plain strings, not EventKind members
        return frame

    @cached_property
    def _metric_table(self) -> Columns:
        """The columns as numpy arrays, for the metrics (:meth:`Columns.of`)."""
        return Columns(len(self), self._column)

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
        for kind in self._column("kind"):
            counts[str(kind)] = counts.get(str(kind), 0) + 1
        return counts


#: What a pickled trace leaves behind: caches made again from its events on first use.
_LOCAL = frozenset(("df", "_metric_table"))
#: The columns that are plain numpy arrays in the DataFrame, and their dtypes.
_NUMPY_COLUMNS = {"time": "float64", "seq": "int64"}
#: The columns that hold whole numbers or nothing: ``Int64`` in the DataFrame.
_INT_COLUMNS = frozenset(("msg_id", "corr_id", "depth"))


@cache
def _str_dtype() -> Any:
    """The dtype pandas gives a column of strings (``str`` in pandas 3)."""
    import pandas as pd

    return pd.Series(["a"]).dtype


def _floats(values: Any) -> Any:
    """Numbers and ``None`` (a list, an array or a Series) as ``float64``, NaN for none.

    Raises ``TypeError`` or ``ValueError`` when a value is not a number."""
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    if isinstance(values, list) and _all_none(values):
        return np.full(len(values), np.nan)  # quicker than numpy's look at each None
    return np.asarray(values, dtype="float64")


def _all_none(values: list[Any]) -> bool:
    """Whether every value is ``None`` (a quick look at three first)."""
    return (not values or (values[0] is None and values[-1] is None
                           and values[len(values) // 2] is None
                           and values.count(None) == len(values)))


def _int_array(values: list[Any]) -> Any:
    """``values`` (ints and ``None``) as an ``Int64`` array, as ``astype("Int64")`` makes it.

    Built from one float conversion (exact below 2**53); anything else takes pandas' way.
    """
    import numpy as np
    import pandas as pd

    try:
        floats = _floats(values)
    except (TypeError, ValueError):
        floats = None
    if floats is not None and floats.ndim == 1:
        missing = np.isnan(floats)
        present = floats[~missing]
        if (np.abs(present) < 2.0**53).all() and (present == np.trunc(present)).all():
            return pd.arrays.IntegerArray(np.where(missing, 0.0, floats).astype("int64"),
                                          missing)
    return pd.Series(values).astype("Int64").array


def _object_array(values: list[Any]) -> Any:
    """``values`` as an ``object`` array, one value per element. (``np.fromiter``: filling
    an empty array from a list looks into every value, several times slower on ``None``.)"""
    import numpy as np

    return np.fromiter(values, dtype=object, count=len(values))


def _str_array(values: list[Any]) -> Any:
    """``values`` (strings and ``None``) as the column pandas infers from the rows: a
    ``str`` array with NaN for ``None`` (types checked on the distinct values only), an
    ``object`` one when no value is there, pandas' own choice for anything else."""
    import numpy as np
    import pandas as pd

    array = _object_array(values)
    if _all_none(values):  # nothing to infer from (an empty trace too): object
        return array
    dtype = _str_dtype()
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "python"):
        return values
    try:
        distinct = set(values)  # few: the check of every value's type is on these
    except TypeError:
        return values
    if not all(isinstance(v, str) for v in distinct - {None}):
        return values
    if None in distinct:
        array[array == None] = np.nan  # noqa: E711 (element by element)
    try:
        return pd.arrays.StringArray(array, dtype=dtype)  # type: ignore[call-arg]
    except ValueError:  # not all strings after all: let pandas infer
        return values


class Columns:
    """A trace's columns as numpy arrays, for metrics (labkit's own and a scenario's);
    each is built on first use. ``Columns.of(trace)`` gives them.

    Times and ids are ``float64`` (NaN for none: ids are exact below 2**53), text columns
    ``object`` arrays, and :meth:`codes` numbers a text column's values in sorted order.
    A run's :class:`Trace` keeps its columns; a DataFrame's are made on each call.
    """

    def __init__(self, n: int, column: Callable[[str], Any], *,
                 msg_dtype: Any = "Int64") -> None:
        self.n = n
        self.msg_dtype = msg_dtype  # the dtype of the source's msg_id column
        self._column = column
        self._arrays: dict[str, Any] = {}
        self._codes: dict[str, tuple[Any, Any]] = {}

    @classmethod
    def of(cls, trace: Trace | pd.DataFrame) -> Columns:
        """The columns of a :class:`Trace` (kept with it) or of its DataFrame."""
        return trace._metric_table if isinstance(trace, Trace) else cls.of_frame(
            _frame(trace))

    @classmethod
    def of_frame(cls, df: pd.DataFrame) -> Columns:
        """The table of a trace's DataFrame (or a cut of it)."""
        return cls(len(df), lambda name: df[name],
                   msg_dtype=df["msg_id"].dtype if "msg_id" in df.columns else "Int64")

    def floats(self, name: str) -> Any:
        """A numeric column as ``float64``, NaN where it is empty."""
        array = self._arrays.get(name)
        if array is None:
            array = self._arrays[name] = _floats(self._column(name))
        return array

    def seq(self) -> Any:
        """The ``seq`` column as ``int64``."""
        import numpy as np

        array = self._arrays.get("seq")
        if array is None:
            array = self._arrays["seq"] = np.asarray(self._column("seq"), dtype="int64")
        return array

    def objects(self, name: str) -> Any:
        """A text column as an ``object`` array (``None`` or NaN where it is empty)."""
        import pandas as pd

        array = self._arrays.get(name)
        if array is None:
            values = self._column(name)
            if isinstance(values, pd.Series):
                array = values.to_numpy(dtype=object)
            else:
                array = _object_array(values)
            self._arrays[name] = array
        return array

    def codes(self, name: str) -> tuple[Any, Any]:
        """A text column as codes into its distinct values, sorted (-1 where empty)."""
        found = self._codes.get(name)
        if found is None:
            found = self._codes[name] = _factorize(self.objects(name))
        return found

    def isin(self, name: str, values: Sequence[Any]) -> Any:
        """Which rows hold one of ``values`` in text column ``name``."""
        import numpy as np

        codes, uniques = self.codes(name)
        wanted = [i for i, value in enumerate(uniques) if value in values]
        if len(wanted) == 1:
            return codes == wanted[0]
        return np.isin(codes, wanted)

    def equals(self, name: str, value: Any) -> Any:
        """Which rows hold ``value`` in text column ``name``."""
        return self.isin(name, (value,))

    def messages(self) -> tuple[Any, Any]:
        """Each row's message as its rank among the sorted distinct ``msg_id`` values (-1
        where there is none), and those values."""
        import numpy as np

        found = self._codes.get("msg_id")
        if found is None:
            msg = self.floats("msg_id")
            valid = ~np.isnan(msg)
            ids, inverse = np.unique(msg[valid], return_inverse=True)
            ranks = np.full(self.n, -1, dtype="int64")
            ranks[valid] = inverse
            found = self._codes["msg_id"] = (ranks, ids)
        return found


    def first_times(self, kinds: Sequence[str], times: Any = None) -> tuple[Any, Any]:
        """Per message among the rows of ``kinds``: the sorted ranks :meth:`messages` gives
        the messages and each one's earliest ``times`` (default the ``time`` column; row
        positions give each message's first row). The metrics' one per-message join."""
        import numpy as np

        keys, _ids = _message_keys(self, np.ones(self.n, dtype=bool))
        return _first_times(keys, self.floats("time") if times is None else times,
                            self.isin("kind", kinds))


def _factorize(values: Any) -> tuple[Any, Any]:
    """``values`` as codes into their distinct values in sorted order (-1 for none)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=True)
    return codes, uniques


def _message_keys(table: Columns, rows: Any, group: Any = None) -> tuple[Any, Any]:
    """One ``int64`` key per row naming its message (``msg_id``), or the pair (``group``
    code, ``msg_id``), numbered in sorted order; -1 outside ``rows`` and where either is
    empty. Returns the keys and the sorted distinct ``msg_id`` values they number."""
    import numpy as np

    ranks, ids = table.messages()
    valid = rows & (ranks >= 0)
    if group is None:
        return np.where(valid, ranks, -1), ids
    valid &= group >= 0
    return np.where(valid, group * len(ids) + ranks, -1), ids


def _distinct(ordered: Any) -> Any:
    """The distinct values of a sorted array (``np.unique`` without sorting again)."""
    import numpy as np

    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _first_times(keys: Any, times: Any, rows: Any) -> tuple[Any, Any]:
    """Per key among ``rows`` (keys >= 0): the sorted distinct keys and each one's earliest
    time (NaN-skipping, like ``groupby(key)["time"].min()``). The one per-message join of
    the metrics: when a message was sent, received, blocked, evicted..."""
    import numpy as np

    chosen = rows & (keys >= 0)
    k = keys[chosen]
    t = times[chosen]
    found = None
    if len(k) and int(k.max()) >= 4 * len(k) + 64:  # sparse keys: number them densely
        found, k = np.unique(k, return_inverse=True)
    size = int(k.max()) + 1 if len(k) else 0
    present = np.zeros(size, dtype=bool)
    present[k] = True
    earliest = np.full(size, np.inf)
    np.fmin.at(earliest, k, t)
    timed = np.zeros(size, dtype=bool)
    timed[k[~np.isnan(t)]] = True
    earliest[~timed] = np.nan  # a key seen only without a time
    at = np.flatnonzero(present)
    return (at if found is None else found[at]), earliest[at]


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
    """The DataFrame of ``trace`` (a :class:`Trace`, or already its DataFrame): what every
    metric reads. Anything else is a ``TypeError`` naming what is accepted."""
    if isinstance(trace, Trace):
        return trace.df
    import pandas as pd

    if not isinstance(trace, pd.DataFrame):
        raise TypeError(f"trace must be a labkit Trace or its DataFrame (run.trace or "
                        f"run.trace.df), got {describe(trace)}")
    return trace


def _latency_arrays(table: Columns, peer: str | None = None) -> tuple[Any, Any, Any]:
    """The messages (``msg_id``, sorted) both sent and received (on ``peer``): their ids,
    first send-like time and first receive time."""
    import numpy as np

    rows = np.ones(table.n, dtype=bool) if peer is None else table.equals("peer", peer)
    keys, ids = _message_keys(table, rows)
    times = table.floats("time")
    sent_keys, sent = _first_times(keys, times, table.isin("kind", SEND_KINDS))
    got_keys, got = _first_times(keys, times, table.isin("kind", RECEIVE_KINDS))
    both, i, j = np.intersect1d(sent_keys, got_keys, assume_unique=True,
                                return_indices=True)
    return ids[both], sent[i], got[j]


def latencies(trace: Trace | pd.DataFrame, *, peer: str | None = None) -> pd.DataFrame:
    """Per message: when it was sent, when it was received and the latency between.

    A message is matched by ``msg_id`` from its first send-like event to its receive.
    """
    import pandas as pd

    table = Columns.of(trace)
    ids, sent, got = _latency_arrays(table, peer)
    msg_id = pd.array(ids.astype("int64"), dtype="Int64")
    out = pd.DataFrame({"msg_id": msg_id if table.msg_dtype == "Int64"
                        else pd.Series(msg_id).astype(table.msg_dtype),
                        "sent": sent, "received": got, "latency": got - sent})
    return out


def latency_percentiles(trace: Trace | pd.DataFrame,
                        qs: Sequence[float] = (0.5, 0.9, 0.99)) -> dict[str, float]:
    """Latency percentiles in seconds, e.g. ``{"p50": ..., "p90": ..., "p99": ...}``."""
    import numpy as np

    _ids, sent, got = _latency_arrays(Columns.of(trace))
    lat = got - sent
    if not len(lat):
        return {f"p{round(q * 100):d}": float("nan") for q in qs}
    return {f"p{round(q * 100):d}": float(np.quantile(lat, q)) for q in qs}


def depth_over_time(trace: Trace | pd.DataFrame, peer: str | None = None) -> pd.DataFrame:
    """Queue depth after each event that reports one: columns time, peer, depth."""
    import numpy as np

    table = Columns.of(trace)
    rows = ~np.isnan(table.floats("depth"))
    if peer is not None:
        rows &= table.equals("peer", peer)
    out: pd.DataFrame = _frame(trace)[["time", "peer", "depth"]][rows]
    return out.reset_index(drop=True)


def throughput(trace: Trace | pd.DataFrame, window: float = 1.0) -> pd.DataFrame:
    """Messages received per second, in windows of ``window`` seconds."""
    import numpy as np
    import pandas as pd

    table = Columns.of(trace)
    times = table.floats("time")[table.isin("kind", RECEIVE_KINDS)]
    with np.errstate(divide="ignore", invalid="ignore"):
        bins = (times // window) * window
    starts, counts = np.unique(bins[~np.isnan(bins)], return_counts=True)
    out = pd.DataFrame({"window_start": starts, "messages": counts.astype("int64")})
    out["rate"] = out["messages"] / window
    return out


def drops(trace: Trace | pd.DataFrame) -> pd.DataFrame:
    """Every lost message (``drop`` and ``dead_letter`` events) with its reason."""
    rows = Columns.of(trace).isin("kind", ("drop", "dead_letter"))
    out: pd.DataFrame = _frame(trace)[rows]
    return out.reset_index(drop=True)
