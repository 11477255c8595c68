"""What a journal holds (:class:`Record`, :class:`Snapshot`), what goes wrong
(:class:`CorruptJournal`, :class:`InvariantViolation`), and the one JSON encoder.

Events and snapshots are JSON and nothing else: JSON is readable by any language (the Go
and Rust versions of a ledger can read the same file), and it cannot smuggle code into a
process the way pickle can. The encoder here is strict: whatever JSON cannot give back
unchanged (a set, a tuple's identity, an ``int`` dict key, ``NaN``) is refused with a
``TypeError`` *before* anything is written, so a journal never holds a value that replays
differently from how it was written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

from labkit._check import check_int, check_str, describe

__all__ = (
    "FSYNC_POLICIES",
    "CorruptJournal",
    "InvariantViolation",
    "Record",
    "Snapshot",
    "check_msg_id",
    "decode",
    "encode",
)

#: ``"always"``: fsync before ``append`` returns (survives a crash of the machine);
#: ``"batch"``: fsync every ``batch_size`` appends and on close (survives a crash of the
#: process, not of the machine, for the last few); ``"never"``: leave it to the OS.
FSYNC_POLICIES: tuple[str, ...] = ("always", "batch", "never")


class Record(NamedTuple):
    """One event in a journal: its sequence number (1, 2, ...), its kind and version (for
    upcasting), its JSON ``data``, and the sender's message id, if any (for dedup)."""

    seq: int
    kind: str
    version: int
    data: Any
    msg_id: int | str | None


class Snapshot(NamedTuple):
    """A saved state: everything up to and including event ``seq`` applied."""

    seq: int
    state: Any


class CorruptJournal(Exception):
    """A complete record that fails its check (length, CRC32, JSON or sequence number).

    Attributes, so code never parses the message: ``path`` (the file), ``offset`` (the
    byte where the bad record starts), ``seq`` (the sequence number the record should have
    had) and ``reason``. A damaged record is never skipped: what follows it cannot be
    trusted to mean what it meant when it was written.
    """

    def __init__(self, path: str | Path, offset: int | None, seq: int | None,
                 reason: str) -> None:
        self.path = str(path)
        self.offset = offset  #: None in a database, which has rows rather than bytes
        self.seq = seq        #: None where no sequence number applies (a snapshot file)
        self.reason = reason
        where = "the record" if offset is None else f"the record at byte offset {offset}"
        which = "" if seq is None else f" (sequence number {seq})"
        fix = ("restore it from a backup" if offset is None else
               f"restore the file from a backup, or keep the records before it by "
               f"truncating the file to {offset} bytes")
        super().__init__(f"{self.path}: {where}{which} is damaged: {reason}. Nothing after "
                         f"it can be trusted; {fix}")


class InvariantViolation(Exception):
    """Raised by an event-sourced ``check(state)``: the state broke a rule (a negative
    balance). ``seq`` is the sequence number of the event whose ``apply`` broke it, when
    known (during replay, and live once the event is in the journal)."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        self.seq = seq
        self.message = message
        super().__init__(message if seq is None else f"{message} (after event {seq})")


def _walk(value: object, where: str) -> None:
    """Raise TypeError at the first part of ``value`` JSON cannot give back unchanged."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {describe(value)}: JSON has no NaN or infinity; "
                            f"store None or a string instead")
        return
    if isinstance(value, list | tuple):
        for k, item in enumerate(value):
            _walk(item, f"{where}[{k}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {describe(key)}: JSON object keys are "
                                f"strings; use str keys (or a list of pairs)")
            _walk(item, f"{where}[{key!r}]")
        return
    raise TypeError(f"{where} is {describe(value)}, which JSON cannot represent; use dicts, "
                    f"lists, str, int, float, bool and None (a dataclass: "
                    f"dataclasses.asdict(x))")


def encode(value: object, what: str = "data") -> str:
    """``value`` as compact JSON text; TypeError (naming where) if JSON cannot hold it."""
    _walk(value, what)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode(text: str | bytes) -> Any:
    """JSON text back to Python values (``json.loads``; no other decoder anywhere)."""
    return json.loads(text)


def check_msg_id(value: object) -> int | str | None:
    """A sender's message id: ``None``, an int ``>= 0`` or a non-empty string."""
    if value is None:
        return None
    if isinstance(value, str):
        return check_str("msg_id", value)
    if isinstance(value, int) and not isinstance(value, bool):
        return check_int("msg_id", value, minimum=0)
    raise TypeError(f"msg_id must be None, an int >= 0 or a non-empty string, got "
                    f"{describe(value)}")
