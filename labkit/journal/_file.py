"""An append-only journal file: one JSON record per line, framed with its length and CRC32.

A line is ``LENGTH CRC32 JSON\\n``: the byte length of the JSON text in decimal, its CRC32
in eight hex digits, the JSON object ``{"seq", "kind", "version", "data", "msg_id"}``::

    52 5f1d2c3a {"seq":1,"kind":"deposited","version":1,"data":{"amount":10},"msg_id":null}

Why each part is there:

* **One line per record, written with one ``write``.** A crash mid-write (``kill -9``, a
  power cut) can only leave the *last* line short, without its newline: a *torn tail*.
  ``append`` acknowledges a record only after its newline is written (and synced), so a
  torn tail was never acknowledged, and opening the file cuts it off
  (:attr:`FileJournal.recovered` says how many bytes).
* **Length and CRC32.** A complete line that does not check out was damaged after it was
  written (a bad disk, a hand edit). That is not a crash to recover from: opening or
  reading raises :class:`~labkit.journal.CorruptJournal` with the file, the byte offset
  and the sequence number, and nothing is skipped.
* **fsync.** ``write`` hands bytes to the OS, which survives the process being killed, but
  not the machine going down. ``fsync="always"`` syncs before ``append`` returns (a
  database's ``synchronous=FULL``); ``"batch"`` every ``batch_size`` appends and on close
  (group commit: the last few acknowledged records may be lost with the machine);
  ``"never"`` leaves it to the OS. Creating the file also syncs its directory, without
  which the file itself might not exist after a power cut.

Snapshots live beside the journal, in ``<journal file>.snapshot`` (``bank.jsonl.snapshot``),
one framed line ``{"seq", "state"}`` holding the latest snapshot. It is replaced
atomically: written to ``<journal file>.snapshot.tmp``, synced, renamed over the old one
(``os.replace``, atomic on POSIX), then the directory is synced so the rename itself is
durable. A crash leaves either the old snapshot or the new one, never half of one.

One writer per file: a second ``FileJournal`` writing the same file at the same time would
interleave lines (open it again after closing, as a restarted actor does).
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from labkit._check import check_int
from labkit.journal._base import Journal
from labkit.journal._records import CorruptJournal, Record, Snapshot, decode, encode

__all__ = ("FileJournal", "frame")

_LINE = re.compile(rb"(0|[1-9][0-9]{0,9}) ([0-9a-f]{8}) (.*)", re.DOTALL)


def frame(payload: str) -> bytes:
    """One line of a journal file: ``LENGTH CRC32 JSON\\n`` for the JSON text ``payload``."""
    body = payload.encode("utf-8")
    return b"%d %08x %s\n" % (len(body), zlib.crc32(body), body)


def _unframe(line: bytes, path: Path, offset: int, seq: int | None) -> Any:
    """The JSON value of a complete line (with its newline), or CorruptJournal."""
    match = _LINE.fullmatch(line[:-1])
    if match is None:
        raise CorruptJournal(path, offset, seq, "the line does not start with a length and a "
                             "CRC32 (LENGTH CRC32 JSON)")
    length, crc, body = int(match[1]), int(match[2], 16), match[3]
    if length != len(body):
        raise CorruptJournal(path, offset, seq, f"its length field says {length} bytes but "
                             f"the record has {len(body)}")
    actual = zlib.crc32(body)
    if crc != actual:
        raise CorruptJournal(path, offset, seq, f"its CRC32 is {actual:08x}, not the "
                             f"{crc:08x} written with it")
    try:
        return decode(body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise CorruptJournal(path, offset, seq, f"its JSON does not parse ({exc})") from None


def _record(line: bytes, path: Path, offset: int, seq: int) -> Record:
    """A complete line as the record with sequence number ``seq``, or CorruptJournal."""
    value = _unframe(line, path, offset, seq)
    if not (isinstance(value, dict) and set(value) == {"seq", "kind", "version", "data",
                                                       "msg_id"}):
        raise CorruptJournal(path, offset, seq, "its JSON is not a journal record "
                             "(seq, kind, version, data, msg_id)")
    if value["seq"] != seq:
        raise CorruptJournal(path, offset, seq, f"it holds sequence number {value['seq']!r} "
                             f"where {seq} was expected")
    kind, version, msg_id = value["kind"], value["version"], value["msg_id"]
    if not (isinstance(kind, str) and isinstance(version, int) and version >= 1
            and (msg_id is None or isinstance(msg_id, str | int))):
        raise CorruptJournal(path, offset, seq, "its kind, version or msg_id has the wrong "
                             "type")
    return Record(seq, kind, version, value["data"], msg_id)


def _sync_dir(path: Path) -> None:
    """fsync the directory holding ``path``, so a new or renamed entry in it is durable."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileJournal(Journal):
    """``FileJournal(path, *, fsync="always", batch_size=64)``: an append-only file of
    framed JSON lines (see this module's docstring). Opening checks every record: a torn
    tail is cut off (:attr:`recovered` bytes), a damaged record raises
    :class:`~labkit.journal.CorruptJournal`. ``read_only=True`` writes nothing: a torn
    tail is reported in :attr:`recovered` and left in the file, unread."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: str = "always",
                 batch_size: int = 64, read_only: bool = False) -> None:
        super().__init__(path, fsync, read_only)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        #: Where the latest snapshot lives: ``<journal file>.snapshot``.
        self.snapshot_path = self.path.with_name(self.path.name + ".snapshot")
        #: Byte offset of each record: ``_offsets[seq - 1]``.
        self._offsets: list[int] = []
        self._end = 0
        self._unsynced = 0
        existed = self.path.exists()
        if self.read_only and not existed:
            raise FileNotFoundError(f"no journal at {str(self.path)!r} (read_only=True "
                                    f"opens an existing journal)")
        flags = os.O_RDONLY if self.read_only else os.O_RDWR | os.O_CREAT | os.O_APPEND
        self._fd = os.open(self.path, flags, 0o644)
        try:
            if not existed and self.fsync != "never":
                os.fsync(self._fd)
                _sync_dir(self.path)
            self._recover()
        except BaseException:
            os.close(self._fd)
            raise

    def _recover(self) -> None:
        """Check every record, index it, and cut a torn tail off."""
        with open(self.path, "rb") as fh:  # a second, buffered reader
            for offset, line in self._lines(fh, 0):
                if not line.endswith(b"\n"):  # torn: the crash came mid-write
                    self.recovered = len(line)
                    if not self.read_only:
                        os.ftruncate(self._fd, offset)
                        if self.fsync != "never":
                            os.fsync(self._fd)
                    break
                _record(line, self.path, offset, len(self._offsets) + 1)
                self._offsets.append(offset)
                self._end = offset + len(line)

    @staticmethod
    def _lines(fh: IO[bytes], offset: int, end: int | None = None) -> Iterator[tuple[int,
                                                                                      bytes]]:
        fh.seek(offset)
        while end is None or offset < end:
            line = fh.readline()
            if not line:
                return
            yield offset, line
            offset += len(line)

    # -- events ------------------------------------------------------------------------------

    def _append(self, text: str, kind: str, version: int, msg_id: int | str | None) -> int:
        seq = len(self._offsets) + 1
        payload = (f'{{"seq":{seq},"kind":{encode(kind)},"version":{version},'
                   f'"data":{text},"msg_id":{encode(msg_id)}}}')
        line = frame(payload)
        start = self._end
        try:
            view = memoryview(line)
            while view:  # os.write may write less than asked (a full disk, a signal)
                view = view[os.write(self._fd, view):]
        except BaseException:
            os.ftruncate(self._fd, start)  # no half line left for the next append
            raise
        self._end = start + len(line)
        self._offsets.append(start)
        self._unsynced += 1
        if self.fsync == "always" or (self.fsync == "batch"
                                      and self._unsynced >= self.batch_size):
            self.sync()
        return seq

    def sync(self) -> None:
        """fsync now: every record appended so far survives a crash of the machine."""
        self._check_open()
        os.fsync(self._fd)
        self._unsynced = 0

    def _read(self, after: int) -> Iterator[Record]:
        if after >= len(self._offsets):
            return
        end = self._end
        seq = after
        with open(self.path, "rb") as fh:
            for offset, line in self._lines(fh, self._offsets[after], end):
                seq += 1
                if not line.endswith(b"\n"):
                    raise CorruptJournal(self.path, offset, seq, "the file was cut short "
                                         "while being read")
                yield _record(line, self.path, offset, seq)

    def _last_seq(self) -> int:
        return len(self._offsets)

    # -- snapshots ---------------------------------------------------------------------------

    def _save_snapshot(self, seq: int, text: str) -> None:
        tmp = self.snapshot_path.with_name(self.snapshot_path.name + ".tmp")
        line = frame(f'{{"seq":{seq},"state":{text}}}')
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync != "never":
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.snapshot_path)
        if self.fsync != "never":
            _sync_dir(self.snapshot_path)

    def _load_snapshot(self) -> Snapshot | None:
        try:
            line = self.snapshot_path.read_bytes()
        except FileNotFoundError:
            return None
        path = self.snapshot_path
        if not line.endswith(b"\n") or line.count(b"\n") != 1:
            raise CorruptJournal(path, 0, None, "a snapshot file holds exactly one line")
        value = _unframe(line, path, 0, None)
        if not (isinstance(value, dict) and set(value) == {"seq", "state"}
                and isinstance(value["seq"], int) and value["seq"] >= 0):
            raise CorruptJournal(path, 0, None, "its JSON is not a snapshot (seq, state)")
        seq = value["seq"]
        if seq > len(self._offsets):
            raise CorruptJournal(path, 0, seq, f"the snapshot covers events up to {seq} but "
                                 f"the journal ends at {len(self._offsets)}")
        return Snapshot(seq, value["state"])

    # -- closing -----------------------------------------------------------------------------

    def _close(self) -> None:
        try:
            if self._unsynced and self.fsync == "batch" and not self.read_only:
                os.fsync(self._fd)
                self._unsynced = 0
        finally:
            os.close(self._fd)
