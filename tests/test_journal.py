"""labkit.journal storage: the file format (length + CRC32 framing, torn tails, damaged
records), fsync policies, SQLite in WAL mode, snapshots, ``replay`` and its upcasters,
trace rows, and bad inputs. The event-sourced actor is in ``test_journal_actor.py``; real
crashes (``kill -9``) in ``test_journal_crash.py``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import pytest

import labkit
from labkit import journal
from labkit.journal import (
    CorruptJournal,
    FileJournal,
    InvariantViolation,
    Record,
    Snapshot,
    SqliteJournal,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["jsonl", "db"])
def jpath(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A fresh journal path for each backend."""
    return tmp_path / f"j.{request.param}"


def fill(path: Path, n: int, **options: Any) -> None:
    with journal.open(path, **options) as j:
        for k in range(1, n + 1):
            assert j.append({"kind": "added", "n": k}, kind="added") == k


# -- both backends ---------------------------------------------------------------------------

def test_open_picks_the_backend_by_suffix(tmp_path: Path) -> None:
    for name, cls in [("a.jsonl", FileJournal), ("a.log", FileJournal),
                      ("a.db", SqliteJournal), ("a.SQLITE", SqliteJournal)]:
        with journal.open(tmp_path / name) as j:
            assert type(j) is cls
        assert j.closed


def test_append_read_round_trip(jpath: Path) -> None:
    with journal.open(jpath) as j:
        assert j.last_seq == 0
        assert j.append({"kind": "a", "x": [1, 2.5, None, True, "é"]}, kind="a") == 1
        assert j.append("plain", kind="b", version=2, msg_id="order-7") == 2
        assert j.append(3, kind="c", msg_id=42) == 3
        assert j.last_seq == 3
        records = list(j.read())
    assert records == [Record(1, "a", 1, {"kind": "a", "x": [1, 2.5, None, True, "é"]}, None),
                       Record(2, "b", 2, "plain", "order-7"), Record(3, "c", 1, 3, 42)]
    with journal.open(jpath) as j:  # reopened: the same records, numbering goes on
        assert [r.seq for r in j.read(after=1)] == [2, 3]
        assert list(j.read(after=3)) == [] and list(j.read(after=99)) == []
        assert j.append(None, kind="d") == 4


def test_non_json_data_raises_type_error_before_writing(jpath: Path) -> None:
    with journal.open(jpath) as j:
        j.append({"ok": 1}, kind="a")
        for bad, where in [({1: "int key"}, "key int 1"), ({"s": {1, 2}}, "data['s']"),
                           ([float("nan")], "data[0]"), (object(), "data is object"),
                           ({"b": b"bytes"}, "data['b']")]:
            with pytest.raises(TypeError, match="JSON") as info:
                j.append(bad, kind="a")
            assert where in str(info.value)
        assert j.last_seq == 1
    if jpath.suffix == ".jsonl":
        assert jpath.read_bytes().count(b"\n") == 1


def test_snapshots_save_and_load(jpath: Path) -> None:
    with journal.open(jpath) as j:
        assert j.load_snapshot() is None
        fill_into(j, 5)
        j.save_snapshot(3, {"total": 6})
        j.save_snapshot(5, {"total": 15})
        assert j.load_snapshot() == Snapshot(5, {"total": 15})
        with pytest.raises(ValueError, match="seq must be an int from 0 to 5, got int 6"):
            j.save_snapshot(6, {})
        with pytest.raises(TypeError, match="state"):
            j.save_snapshot(1, {"s": {1}})
    with journal.open(jpath) as j:
        assert j.load_snapshot() == Snapshot(5, {"total": 15})


def fill_into(j: journal.Journal, n: int) -> None:
    for k in range(1, n + 1):
        j.append({"n": k}, kind="added")


def test_closed_and_read_only_journals_refuse_writes(jpath: Path) -> None:
    fill(jpath, 2)
    with journal.open(jpath, read_only=True) as j:
        assert [r.seq for r in j.read()] == [1, 2]
        with pytest.raises(ValueError, match="read_only"):
            j.append(1, kind="a")
    j.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        j.append(1, kind="a")
    with pytest.raises(FileNotFoundError):
        journal.open(jpath.with_name("missing" + jpath.suffix), read_only=True)


def test_trace_rows_inside_a_run(jpath: Path) -> None:
    async def main() -> None:
        with journal.open(jpath) as j:
            j.append({"n": 1}, kind="added")
            j.save_snapshot(1, {"n": 1})
            journal.replay(j, lambda s, e: s + e["n"], 0)

    df = labkit.simulate(main).trace.df
    rows = df[df["kind"].isin(["journal_append", "snapshot", "replay"])]
    assert list(rows["kind"]) == ["journal_append", "snapshot", "replay"]
    assert set(rows["peer"]) == {jpath.name}
    assert list(rows["detail"]) == ["seq 1: added v1", "seq 1", "seq 1: added v1"]


# -- the file format ---------------------------------------------------------------------------

def test_file_lines_are_length_crc_json(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    fill(path, 2)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    for seq, line in enumerate(lines[:2], start=1):
        length, crc, body = line.split(b" ", 2)
        assert int(length) == len(body)
        assert int(crc, 16) == zlib.crc32(body)
        assert json.loads(body) == {"seq": seq, "kind": "added", "version": 1,
                                    "data": {"kind": "added", "n": seq}, "msg_id": None}


@pytest.mark.parametrize("cut", [1, 10, 30, "newline"])
def test_torn_tail_is_cut_off_and_reported(tmp_path: Path, cut: int | str) -> None:
    path = tmp_path / "j.jsonl"
    fill(path, 3)
    whole = path.read_bytes()
    third = whole.index(b"\n", whole.index(b"\n") + 1) + 1  # where record 3 starts
    tail = len(whole) - third
    kept = tail - 1 if cut == "newline" else int(cut)  # only the newline missing: torn too
    path.write_bytes(whole[:third + kept])
    with FileJournal(path) as j:
        assert j.recovered == kept
        assert j.last_seq == 2
        assert [r.seq for r in j.read()] == [1, 2]
        assert j.append({"n": 3}, kind="added") == 3  # numbering goes on where it was cut
    assert path.read_bytes()[:third] == whole[:third]
    with FileJournal(path) as j:
        assert j.recovered == 0 and j.last_seq == 3


def test_read_only_open_leaves_a_torn_tail_in_place(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    fill(path, 2)
    path.write_bytes(path.read_bytes() + b"40 0000")
    size = path.stat().st_size
    with journal.open(path, read_only=True) as j:
        assert j.recovered == 7 and j.last_seq == 2
    assert path.stat().st_size == size
    assert journal.replay(path, lambda s, e: s + e["n"], 0) == 3
    assert path.stat().st_size == size


def _damage(path: Path, seq: int, how: str) -> int:
    """Damage record ``seq`` of a file journal; return its byte offset."""
    lines = path.read_bytes().split(b"\n")[:-1]
    offset = sum(len(line) + 1 for line in lines[:seq - 1])
    line = lines[seq - 1]
    if how == "flip":  # one bit in the JSON: the CRC catches it
        k = len(line) - 5
        line = line[:k] + bytes([line[k] ^ 0x01]) + line[k + 1:]
    elif how == "length":
        length, rest = line.split(b" ", 1)
        line = str(int(length) + 1).encode() + b" " + rest
    elif how == "header":
        line = b"garbage"
    elif how == "seq":  # a well-framed record with the wrong sequence number
        body = json.loads(line.split(b" ", 2)[2])
        body["seq"] = 99
        text = json.dumps(body, separators=(",", ":")).encode()
        line = b"%d %08x %s" % (len(text), zlib.crc32(text), text)
    lines[seq - 1] = line
    path.write_bytes(b"\n".join(lines) + b"\n")
    return offset


@pytest.mark.parametrize("how", ["flip", "length", "header", "seq"])
@pytest.mark.parametrize("seq", [2, 5], ids=["middle", "last"])
def test_a_damaged_complete_record_raises_corrupt_journal(tmp_path: Path, how: str,
                                                          seq: int) -> None:
    path = tmp_path / "bank.jsonl"
    fill(path, 5)
    before = path.read_bytes()
    offset = _damage(path, seq, how)
    damaged = path.read_bytes()
    with pytest.raises(CorruptJournal) as info:
        FileJournal(path)
    error = info.value
    assert (error.path, error.offset, error.seq) == (str(path), offset, seq)
    text = str(error)
    assert str(path) in text and f"byte offset {offset}" in text
    assert f"sequence number {seq}" in text
    assert path.read_bytes() == damaged  # never "repaired" behind the user's back
    assert before != damaged


def test_damage_after_open_is_caught_by_read(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    fill(path, 3)
    with FileJournal(path) as j:
        offset = _damage(path, 3, "flip")
        records = j.read()
        assert next(records).seq == 1 and next(records).seq == 2
        with pytest.raises(CorruptJournal) as info:
            next(records)
        assert (info.value.offset, info.value.seq) == (offset, 3)


def test_file_snapshot_lives_beside_the_journal_and_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    j = FileJournal(path)
    with j:
        fill_into(j, 2)
        j.save_snapshot(2, {"n": 3})
        assert j.snapshot_path == tmp_path / "bank.jsonl.snapshot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.jsonl", "bank.jsonl.snapshot"]
    snap = j.snapshot_path
    snap.write_bytes(snap.read_bytes().replace(b'"n":3', b'"n":4'))
    with FileJournal(path) as j, pytest.raises(CorruptJournal, match="CRC32") as info:
        j.load_snapshot()
    assert info.value.path == str(snap)


def test_fsync_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)

    def appends(policy: str, n: int, **options: Any) -> tuple[int, int]:
        path = tmp_path / f"{policy}-{len(calls)}.jsonl"
        FileJournal(path, fsync=policy, **options).close()  # creating syncs file and dir
        calls.clear()
        j = FileJournal(path, fsync=policy, **options)
        for k in range(n):
            j.append(k, kind="n")
        during = len(calls)
        j.close()
        return during, len(calls) - during

    assert appends("always", 10) == (10, 0)
    assert appends("batch", 10, batch_size=4) == (2, 1)   # after 4 and 8; the rest on close
    assert appends("batch", 8, batch_size=4) == (2, 0)
    assert appends("never", 10) == (0, 0)
    calls.clear()
    FileJournal(tmp_path / "new.jsonl", fsync="never").close()
    assert calls == []
    calls.clear()
    FileJournal(tmp_path / "new2.jsonl").close()
    assert len(calls) == 2  # the new file and its directory


# -- SQLite --------------------------------------------------------------------------------------

def test_sqlite_is_in_wal_mode_and_readable_from_a_second_connection(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    with SqliteJournal(path) as j:
        j.append({"n": 1}, kind="added")
        other = sqlite3.connect(path)
        try:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            other.execute("BEGIN")  # a read transaction held open while the writer goes on
            assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 1
            j.append({"n": 2}, kind="added")  # not blocked by the reader
            assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 1
            other.execute("COMMIT")
            assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 2
        finally:
            other.close()
        with SqliteJournal(path, read_only=True) as reader:
            assert [r.seq for r in reader.read()] == [1, 2]


def test_sqlite_readable_by_another_process_while_a_run_writes(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    writer = textwrap.dedent(f"""
        import sys
        from labkit import journal
        with journal.open({str(path)!r}) as j:
            for k in range(1, 201):
                j.append({{"n": k}}, kind="added")
                if k == 50:
                    print("half", flush=True)
                    sys.stdin.readline()       # wait while the reader reads
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", writer], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "half"
        with journal.open(path, read_only=True) as reader:  # the writer holds it open
            assert [r.seq for r in reader.read()] == list(range(1, 51))
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
    with journal.open(path, read_only=True) as reader:
        assert reader.last_seq == 200


def test_sqlite_damaged_row_raises_corrupt_journal(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    fill(path, 3)
    db = sqlite3.connect(path)
    db.execute("""UPDATE events SET data = '{"kind":"added","n":20}' WHERE seq = 2""")
    db.commit()
    db.close()
    with journal.open(path) as j, pytest.raises(CorruptJournal) as info:
        list(j.read())
    assert (info.value.path, info.value.seq, info.value.offset) == (str(path), 2, None)
    assert "sequence number 2" in str(info.value)


# -- replay ---------------------------------------------------------------------------------

def _total(state: int, event: dict[str, Any]) -> int:
    return state + int(event["n"])


def test_replay_from_a_journal_or_a_path(jpath: Path) -> None:
    fill(jpath, 4)
    assert journal.replay(jpath, _total, 0) == 10
    assert journal.replay(str(jpath), _total, 100, until=2) == 103
    with journal.open(jpath) as j:
        assert journal.replay(j, _total, 0, until=0) == 0
        assert not j.closed  # a journal passed in stays open for its owner


def test_replay_checks_invariants_and_names_the_sequence_number(jpath: Path) -> None:
    fill(jpath, 4)

    def at_most_5(state: int) -> None:
        if state > 5:
            raise InvariantViolation(f"total {state} is over 5")

    with pytest.raises(InvariantViolation) as info:
        journal.replay(jpath, _total, 0, check=at_most_5)
    assert info.value.seq == 3 and "after event 3" in str(info.value)


def test_replay_upcasts_old_event_versions(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    with journal.open(path) as j:
        j.append({"kind": "deposited", "amount": 2}, kind="deposited", version=1)
        j.append({"kind": "deposited", "cents": 150}, kind="deposited", version=2)

    def cents(state: int, event: dict[str, Any]) -> int:
        return state + int(event["cents"])

    with pytest.raises(KeyError):
        journal.replay(path, cents, 0)
    upcast = {("deposited", 1): lambda d: {"kind": "deposited", "cents": d["amount"] * 100}}
    assert journal.replay(path, cents, 0, upcast=upcast) == 350


# -- bad inputs ---------------------------------------------------------------------------------

#: The module without its type hints: these calls pass wrong types on purpose.
untyped: Any = journal


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda p: untyped.open(p, fsync="sometimes"), ValueError,
     "fsync must be one of 'always', 'batch', 'never', got str 'sometimes'"),
    (lambda p: untyped.open(p, fsync=True), TypeError, "fsync must be one of"),
    (lambda p: untyped.open(3), TypeError, "path must be a str or a pathlib.Path"),
    (lambda p: untyped.open(""), ValueError, "path must be a non-empty string"),
    (lambda p: untyped.open(p, read_only="no"), TypeError, "read_only must be True or False"),
    (lambda p: untyped.FileJournal(p, batch_size=0), ValueError, "batch_size must be an int >= 1"),
    (lambda p: untyped.open(p).append(1, kind=""), ValueError, "kind must be a non-empty"),
    (lambda p: untyped.open(p).append(1, kind=3), TypeError, "kind must be a string"),
    (lambda p: untyped.open(p).append(1, kind="a", version=0), ValueError,
     "version must be an int >= 1, got int 0"),
    (lambda p: untyped.open(p).append(1, kind="a", version=1.0), TypeError, "version must be"),
    (lambda p: untyped.open(p).append(1, kind="a", msg_id=1.5), TypeError,
     "msg_id must be None, an int >= 0 or a non-empty string"),
    (lambda p: untyped.open(p).append(1, kind="a", msg_id=-1), ValueError, "msg_id must be"),
    (lambda p: untyped.open(p).append(1, kind="a", msg_id=True), TypeError, "msg_id must be"),
    (lambda p: list(untyped.open(p).read(after=-1)), ValueError, "after must be an int >= 0"),
    (lambda p: untyped.open(p).save_snapshot(-1, {}), ValueError, "seq must be an int"),
    (lambda p: untyped.replay(p, "apply", 0), TypeError, "apply must be a function"),
    (lambda p: untyped.replay(p, _total, 0, until=-1), ValueError, "until must be an int >= 0"),
    (lambda p: untyped.replay(p, _total, 0, upcast=[1]), TypeError, "upcast must be a dict"),
    (lambda p: untyped.replay(p, _total, 0, upcast={"a": abs}), TypeError,
     "upcast keys must be \\(kind, version\\) pairs"),
    (lambda p: untyped.replay(p, _total, 0, upcast={("a", 1): 3}), TypeError,
     "must be a function"),
])
def test_bad_inputs(tmp_path: Path, call: Any, error: type[Exception], message: str) -> None:
    path = tmp_path / "j.jsonl"
    path.touch()
    with pytest.raises(error, match=message):
        call(path)


def test_sqlite_journal_opened_in_one_thread_is_used_in_another(tmp_path: Path) -> None:
    # In Jupyter, labkit.simulate runs in a thread of its own: a journal opened in a cell
    # is appended to from that thread.
    import threading

    j = journal.SqliteJournal(tmp_path / "bank.db")
    got: list[int] = []
    worker = threading.Thread(target=lambda: got.append(j.append({"n": 1}, kind="x")))
    worker.start()
    worker.join()
    assert got == [1]
    assert [r.data for r in j.read()] == [{"n": 1}]
    j.close()
