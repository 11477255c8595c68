"""Rebuilding state from a journal: :func:`replay`, the loop an event-sourced actor's
recovery runs too, and upcasting (Akka's ``EventAdapter``).

Upcasting: an event's ``version`` says what shape its data has. When the shape changes
(``{"amount": 10}`` becomes ``{"cents": 1000}``), the old records stay as written (a
journal is never rewritten) and an *upcaster* turns each old event into the current shape
as it is read, so ``apply`` only ever knows the current one::

    upcast = {("deposited", 1): lambda d: {"kind": "deposited", "cents": d["amount"] * 100}}
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from labkit._check import check_callable, check_int, describe
from labkit._runtime.rows import EventKind
from labkit.journal._base import Journal, check_path, record_row
from labkit.journal._records import InvariantViolation, Record

__all__ = ("Upcasters", "check_upcast", "open_journal", "replay", "replayed", "upcasted")

#: ``(kind, version) -> function(old data) -> data in the current shape``.
Upcasters = Mapping[tuple[str, int], Callable[[Any], Any]]


def open_journal(path: str | os.PathLike[str], *, fsync: str = "always",
                 read_only: bool = False) -> Journal:
    """``labkit.journal.open``: a ``.db`` or ``.sqlite`` path opens a
    :class:`SqliteJournal`, anything else a :class:`FileJournal`."""
    from labkit.journal._file import FileJournal
    from labkit.journal._sqlite import SqliteJournal

    where = check_path(path)
    if where.suffix.lower() in (".db", ".sqlite"):
        return SqliteJournal(where, fsync=fsync, read_only=read_only)
    return FileJournal(where, fsync=fsync, read_only=read_only)


def check_upcast(name: str, value: object) -> dict[tuple[str, int], Callable[[Any], Any]]:
    """``None`` or a mapping of ``(kind, version)`` to a function."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of (kind, version) -> function, got "
                        f"{describe(value)}")
    out = {}
    for key, fn in value.items():
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str)
                and isinstance(key[1], int) and not isinstance(key[1], bool)):
            raise TypeError(f"{name} keys must be (kind, version) pairs such as "
                            f"('deposited', 1), got {describe(key)}")
        out[(key[0], check_int(f"{name}[{key!r}] version", key[1], minimum=1))] = \
            check_callable(f"{name}[{key!r}]", fn)
    return out


def upcasted(record: Record, upcast: Upcasters) -> Any:
    """The record's data in the current shape: through its upcaster if it has one."""
    fn = upcast.get((record.kind, record.version))
    return record.data if fn is None else fn(record.data)


def checked(check: Callable[[Any], None] | None, state: Any, seq: int) -> None:
    """Run ``check(state)``; an :class:`InvariantViolation` learns the event's ``seq``."""
    if check is None:
        return
    try:
        check(state)
    except InvariantViolation as exc:
        if exc.seq is None:
            raise InvariantViolation(exc.message, seq=seq) from exc
        raise


def replayed(journal: Journal, after: int, state: Any, apply: Callable[[Any, Any], Any],
             check: Callable[[Any], None] | None, upcast: Upcasters,
             until: int | None = None,
             actor: str | None = None) -> Iterator[tuple[Record, Any, Any]]:
    """Apply the events after ``after`` (up to ``until``) one by one, checking each state:
    yields ``(record, data, state)`` after each. One ``replay`` trace row per event."""
    for record in journal.read(after):
        if until is not None and record.seq > until:
            return
        data = upcasted(record, upcast)
        state = apply(state, data)
        checked(check, state, record.seq)
        record_row(EventKind.REPLAY, journal.name,
                   f"seq {record.seq}: {record.kind} v{record.version}", actor=actor)
        yield record, data, state


def replay(source: Journal | str | os.PathLike[str], apply: Callable[[Any, Any], Any],
           initial: Any, *, check: Callable[[Any], None] | None = None,
           upcast: Upcasters | None = None, until: int | None = None) -> Any:
    """Rebuild a state from a journal, outside any actor: ``apply(state, data)`` for each
    event from the first, starting from ``initial``; ``check(state)`` after each (an
    :class:`InvariantViolation` names the event's sequence number); ``upcast`` turns old
    event versions into the current shape; ``until=k`` stops after event ``k``.

    ``source`` is a journal, or a path opened read-only (a torn tail is left in the file
    and not replayed)::

        balance = journal.replay("bank.jsonl", lambda s, e: s + e["amount"], 0)
    """
    apply = check_callable("apply", apply)
    if check is not None:
        check = check_callable("check", check)
    table = check_upcast("upcast", upcast)
    if until is not None:
        until = check_int("until", until, minimum=0)
    if isinstance(source, Journal):
        return _replay(source, apply, initial, check, table, until)
    with open_journal(check_path(source), read_only=True) as journal:
        return _replay(journal, apply, initial, check, table, until)


def _replay(journal: Journal, apply: Callable[[Any, Any], Any], initial: Any,
            check: Callable[[Any], None] | None, upcast: Upcasters,
            until: int | None) -> Any:
    state = initial
    for _record, _data, after in replayed(journal, 0, initial, apply, check, upcast, until):
        state = after
    return state
