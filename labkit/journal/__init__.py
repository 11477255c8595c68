"""Journals, snapshots, recovery and replay: state that survives a crash.

Modelled on Akka Persistence (event sourcing, snapshots, recovery) and on reliable
delivery (sequence numbers, deduplication). Everything stored is JSON: no pickle.

* :func:`open` a journal: a :class:`FileJournal` (one framed JSON line per record, with an
  fsync policy) or, for a ``.db``/``.sqlite`` path, a :class:`SqliteJournal` (WAL mode:
  another process can read while a run writes)::

      with journal.open("bank.jsonl") as j:
          seq = j.append({"kind": "deposited", "amount": 10}, kind="deposited")
          for record in j.read():
              print(record.seq, record.data)

* :class:`EventSourced`: an actor that persists events before applying them, checks its
  invariants after every event, snapshots every N events, recovers from the latest
  snapshot plus the events after it, and (``dedup``) handles a resent message once.
* :func:`replay`: rebuild a state from a journal outside any actor, with upcasters for
  old event versions.

A crash mid-append leaves a torn last line that opening cuts off (``j.recovered`` bytes);
a record damaged anywhere else raises :class:`CorruptJournal` naming the file, the byte
offset and the sequence number. Trace rows: ``journal_append``, ``snapshot``, ``replay``
(one per event replayed) and ``recovered``.
"""

from __future__ import annotations

import os

from labkit.journal._actor import EventSourced, Recovery
from labkit.journal._base import Journal
from labkit.journal._file import FileJournal
from labkit.journal._records import (
    FSYNC_POLICIES,
    CorruptJournal,
    InvariantViolation,
    Record,
    Snapshot,
)
from labkit.journal._replay import Upcasters, open_journal, replay
from labkit.journal._sqlite import SqliteJournal

__all__ = (
    "FSYNC_POLICIES",
    "CorruptJournal",
    "EventSourced",
    "FileJournal",
    "InvariantViolation",
    "Journal",
    "Record",
    "Recovery",
    "Snapshot",
    "SqliteJournal",
    "Upcasters",
    "open",
    "open_journal",
    "replay",
)


def open(path: str | os.PathLike[str], *, fsync: str = "always",
         read_only: bool = False) -> Journal:
    """Open (or create) a journal: a ``.db`` or ``.sqlite`` path is a
    :class:`SqliteJournal`, anything else a :class:`FileJournal`. ``fsync``: ``"always"``,
    ``"batch"`` or ``"never"``; ``read_only=True`` writes nothing (not even the cut of a
    torn tail)."""
    return open_journal(path, fsync=fsync, read_only=read_only)
