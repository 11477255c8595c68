"""Crash safety, for real: a subprocess appends to a journal with ``fsync="always"`` and
prints each sequence number ``append`` acknowledged; the test kills it with SIGKILL at a
random instant (seeded delays), reopens the journal, and checks that every acknowledged
append is there, intact, and that nothing corrupt is ever returned (opening cuts a torn
tail; it must never raise ``CorruptJournal`` after a crash).

Records vary from a few bytes to 40 KB, and every eighth is 2 MB, long enough to write that
a kill can land in the middle of it and leave a real torn tail (the cut itself is also
tested on hand-made files in ``test_journal.py``).
Every other trial reopens the file the previous trial crashed, so appending after a
recovery is crashed too. ``LABKIT_CRASH_TRIALS=200 pytest tests/test_journal_crash.py``
runs more trials (the SQLite journal gets half as many: each costs more).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from labkit import journal

ROOT = Path(__file__).resolve().parent.parent
TRIALS = int(os.environ.get("LABKIT_CRASH_TRIALS", "20"))
SEED = 11

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

PAYLOAD = textwrap.dedent("""
    def payload(seq):
        big = seq % 8 == 0  # a few MB: a kill can land in the middle of its write
        return {"seq": seq, "pad": "x" * (2_000_000 if big else (seq * 7919) % 40000)}
""")

WRITER = PAYLOAD + textwrap.dedent("""
    import sys
    from labkit import journal

    with journal.open(sys.argv[1], fsync="always") as j:
        seq = j.last_seq
        print("ready", seq, flush=True)
        while True:
            seq += 1
            acknowledged = j.append(payload(seq), kind="rec", msg_id=seq)
            assert acknowledged == seq
            print(acknowledged, flush=True)
""")

_namespace: dict[str, Any] = {}
exec(PAYLOAD, _namespace)  # the same records the writer appends
payload = _namespace["payload"]


def crash_once(path: Path, delay: float) -> list[int]:
    """Run a writer on ``path``, SIGKILL it ``delay`` s after it is ready; return the
    sequence numbers it acknowledged (complete lines on its stdout)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env,
                            stdout=subprocess.PIPE)
    lines: list[bytes] = []
    ready = threading.Event()

    def drain() -> None:  # keep the pipe empty so the writer never blocks on it
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            ready.set()
        ready.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert ready.wait(30), "the writer did not start"
        assert lines and lines[0].startswith(b"ready"), lines[:1]
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        reader.join(10)
    assert proc.returncode == -signal.SIGKILL, "the writer ended before it was killed"
    return [int(line) for line in lines[1:] if line.endswith(b"\n")]


def check_after_crash(path: Path, acknowledged: list[int]) -> int:
    """Reopen ``path`` and check every record; return how many bytes recovery dropped."""
    with journal.open(path) as j:  # a CorruptJournal here fails the test
        records = list(j.read())
        dropped = j.recovered
        assert j.last_seq == len(records)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    for record in records:
        assert (record.kind, record.msg_id, record.data) == ("rec", record.seq,
                                                             payload(record.seq))
    if acknowledged:
        assert acknowledged == list(range(acknowledged[0], acknowledged[-1] + 1))
        assert acknowledged[-1] <= len(records), (
            f"acknowledged seq {acknowledged[-1]} lost: the journal ends at {len(records)}")
    return dropped


@pytest.mark.parametrize(("suffix", "trials"), [("jsonl", TRIALS),
                                                ("db", max(1, TRIALS // 2))])
def test_every_acknowledged_append_survives_kill_9(tmp_path: Path, suffix: str,
                                                    trials: int) -> None:
    rng = random.Random(f"{SEED}-{suffix}")
    acknowledged_total = 0
    for trial in range(trials):
        path = tmp_path / f"trial-{trial // 2}.{suffix}"  # every other trial reuses a file
        acknowledged = crash_once(path, rng.uniform(0.0, 0.25))
        acknowledged_total += len(acknowledged)
        check_after_crash(path, acknowledged)
        check_after_crash(path, [])  # a second open finds nothing more to recover
    assert acknowledged_total > 0  # the kills did not all come before the first append
