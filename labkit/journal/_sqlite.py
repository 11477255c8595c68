"""A journal in SQLite, from the standard library: a real database a learner can open with
any SQLite tool, and read from another process while a run writes to it.

Why WAL mode: in SQLite's default rollback mode a writer locks readers out; with a
write-ahead log, readers see the last committed state while the writer appends, which is
what "watch the journal grow from a second notebook" needs. Durability maps onto SQLite's
own setting: ``fsync="always"`` is ``synchronous=FULL`` (the WAL is synced at every commit),
``"batch"`` is ``synchronous=NORMAL`` (synced at checkpoints: a killed process loses
nothing, a power cut may lose the last commits), ``"never"`` is ``synchronous=OFF``.

Tables::

    events(seq INTEGER PRIMARY KEY, kind TEXT, version INTEGER, data TEXT, msg_id TEXT,
           crc INTEGER)      -- data and msg_id as JSON text; crc: CRC32 of data
    snapshots(seq INTEGER PRIMARY KEY, state TEXT, crc INTEGER)

SQLite recovers from a crash by itself (a torn write never becomes a row), so
:attr:`SqliteJournal.recovered` is always 0. The CRC catches a row damaged after it was
written, as the file journal's does; :class:`~labkit.journal.CorruptJournal` then names
the database and the sequence number (a database has no byte offsets: ``offset`` is None).
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from collections.abc import Iterator
from typing import Any

from labkit.journal._base import Journal
from labkit.journal._records import CorruptJournal, Record, Snapshot, decode, encode

__all__ = ("SqliteJournal",)

_SYNCHRONOUS = {"always": "FULL", "batch": "NORMAL", "never": "OFF"}
_PAGE = 512  # rows fetched per query while reading


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class SqliteJournal(Journal):
    """``SqliteJournal(path, *, fsync="always", read_only=False)``: a journal in an SQLite
    database in WAL mode (see this module's docstring). Another process may open it, with
    ``read_only=True`` or not, and read while this one writes."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: str = "always",
                 read_only: bool = False) -> None:
        super().__init__(path, fsync, read_only)
        # isolation_level=None: no implicit transactions; each append is its own, begun
        # and committed here. check_same_thread=False: in Jupyter, labkit.simulate runs in
        # a thread of its own (the kernel's loop is busy), so a journal opened in a cell is
        # used from another thread. It is used by one thread at a time (one run), which
        # SQLite's serialized mode (Python's default build) allows.
        if self.read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"no journal at {str(self.path)!r} (read_only=True "
                                        f"opens an existing journal)")
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None, timeout=10.0,
                                       check_same_thread=False)
            return
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[self.fsync]}")
            self._db.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, "
                             "kind TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT "
                             "NULL, msg_id TEXT, crc INTEGER NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY,"
                             " state TEXT NOT NULL, crc INTEGER NOT NULL)")
        except BaseException:
            self._db.close()
            raise

    def _append(self, text: str, kind: str, version: int, msg_id: int | str | None) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # the write lock first: max(seq) + 1 stays ours
        try:
            seq = int(db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]) + 1
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                       (seq, kind, version, text, None if msg_id is None else encode(msg_id),
                        _crc(text)))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")  # durable here under synchronous=FULL
        return seq

    def _read(self, after: int) -> Iterator[Record]:
        end = self._last_seq()
        seq = after
        while seq < end:
            rows = self._db.execute(
                "SELECT seq, kind, version, data, msg_id, crc FROM events WHERE seq > ? "
                "AND seq <= ? ORDER BY seq LIMIT ?", (seq, end, _PAGE)).fetchall()
            if not rows:
                return
            for row in rows:
                seq += 1
                yield self._record(row, seq)

    def _record(self, row: tuple[Any, ...], seq: int) -> Record:
        got, kind, version, data, msg_id, crc = row
        if got != seq:
            raise CorruptJournal(self.path, None, seq, f"the row with sequence number {seq} "
                                 f"is missing (the next one is {got})")
        if not isinstance(data, str) or _crc(data) != crc:
            raise CorruptJournal(self.path, None, seq, "its data does not match its CRC32")
        try:
            return Record(seq, kind, version, decode(data),
                          None if msg_id is None else decode(msg_id))
        except ValueError as exc:
            raise CorruptJournal(self.path, None, seq,
                                 f"its JSON does not parse ({exc})") from None

    def _last_seq(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])

    def _save_snapshot(self, seq: int, text: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)",
                         (seq, text, _crc(text)))

    def _load_snapshot(self) -> Snapshot | None:
        row = self._db.execute("SELECT seq, state, crc FROM snapshots ORDER BY seq DESC "
                               "LIMIT 1").fetchone()
        if row is None:
            return None
        seq, state, crc = row
        if not isinstance(state, str) or _crc(state) != crc:
            raise CorruptJournal(self.path, None, seq, "the snapshot does not match its CRC32")
        try:
            return Snapshot(seq, decode(state))
        except ValueError as exc:
            raise CorruptJournal(self.path, None, seq,
                                 f"the snapshot's JSON does not parse ({exc})") from None

    def _close(self) -> None:
        self._db.close()
