"""What every journal does, whatever holds its bytes: check what it is given, number the
records, and put ``journal_append`` and ``snapshot`` rows in the trace of the run it is
used in (outside any run it records nothing: a journal also works in plain scripts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from labkit._check import check_bool, check_choice, check_int, check_str, describe
from labkit._runtime.core import current_or_none, current_task
from labkit._runtime.rows import EventKind
from labkit.journal._records import FSYNC_POLICIES, Record, Snapshot, check_msg_id, encode

__all__ = ("Journal", "check_path", "record_row")


def check_path(path: object) -> Path:
    """A file path: a ``str`` or an ``os.PathLike`` (``pathlib.Path``)."""
    if isinstance(path, str):
        check_str("path", path)
        return Path(path)
    if isinstance(path, os.PathLike):
        return Path(os.fspath(path))
    raise TypeError(f"path must be a str or a pathlib.Path, got {describe(path)}")


def record_row(kind: EventKind, peer: str, detail: str, *, actor: str | None = None) -> None:
    """A trace row about a journal, if this code runs inside a labkit run."""
    rt = current_or_none()
    if rt is not None:
        rt.record(kind, actor=current_task().name if actor is None else actor, peer=peer,
                  detail=detail)


class Journal:
    """The interface both backends share (:class:`FileJournal`, :class:`SqliteJournal`).

    ``append`` returns the new sequence number (1, 2, ...) once the record is durable
    under the fsync policy; ``read(after)`` yields :class:`Record` s in order; snapshots
    are saved and loaded as :class:`Snapshot` s. A context manager: ``with
    journal.open(path) as j: ...`` closes it.
    """

    path: Path
    fsync: str
    #: Bytes of a torn last record cut off when the journal was opened (0: none).
    recovered: int = 0

    def __init__(self, path: object, fsync: object, read_only: object) -> None:
        self.path = check_path(path)
        self.fsync = check_choice("fsync", fsync, FSYNC_POLICIES)
        #: Opened only to read: nothing is written (a torn tail is left in place).
        self.read_only = check_bool("read_only", read_only)
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"last_seq={self.last_seq}"
        return f"<{type(self).__name__} {str(self.path)!r} ({state})>"

    @property
    def name(self) -> str:
        """The file's name, as trace rows show the journal (``peer``)."""
        return self.path.name

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"journal {str(self.path)!r} is closed; open it again with "
                             f"labkit.journal.open(path)")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise ValueError(f"journal {str(self.path)!r} was opened with read_only=True; "
                             f"open it with read_only=False to write")

    # -- events ------------------------------------------------------------------------------

    def append(self, data: Any, *, kind: str, version: int = 1,
               msg_id: int | str | None = None) -> int:
        """Add one event; return its sequence number once it is durable under the fsync
        policy. ``data`` must be JSON (TypeError before anything is written); ``kind``
        names the event, ``version`` its shape (for upcasting), ``msg_id`` the sender's
        message id (for deduplication)."""
        kind = check_str("kind", kind)
        version = check_int("version", version, minimum=1)
        msg_id = check_msg_id(msg_id)
        text = encode(data)
        self._check_writable()
        seq = self._append(text, kind, version, msg_id)
        record_row(EventKind.JOURNAL_APPEND, self.name, f"seq {seq}: {kind} v{version}")
        return seq

    def read(self, after: int = 0) -> Iterator[Record]:
        """The records with a sequence number above ``after``, in order (those there when
        the read starts)."""
        after = check_int("after", after, minimum=0)
        self._check_open()
        return self._read(after)

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record (0 for an empty journal)."""
        self._check_open()
        return self._last_seq()

    # -- snapshots ---------------------------------------------------------------------------

    def save_snapshot(self, seq: int, state: Any) -> None:
        """Save ``state`` as the result of applying events 1..``seq`` (an int from 0 to
        ``last_seq``). ``state`` must be JSON. The latest snapshot is what
        :meth:`load_snapshot` returns."""
        self._check_writable()
        last = self._last_seq()
        seq = check_int("seq", seq, minimum=0, maximum=last)
        text = encode(state, "state")
        self._save_snapshot(seq, text)
        record_row(EventKind.SNAPSHOT, self.name, f"seq {seq}")

    def load_snapshot(self) -> Snapshot | None:
        """The latest snapshot, or ``None`` if none was saved."""
        self._check_open()
        return self._load_snapshot()

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Make everything durable (under the policy) and release the file. Idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- what a backend provides ----------------------------------------------------------------

    def _append(self, text: str, kind: str, version: int, msg_id: int | str | None) -> int:
        raise NotImplementedError

    def _read(self, after: int) -> Iterator[Record]:
        raise NotImplementedError

    def _last_seq(self) -> int:
        raise NotImplementedError

    def _save_snapshot(self, seq: int, text: str) -> None:
        raise NotImplementedError

    def _load_snapshot(self) -> Snapshot | None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError
