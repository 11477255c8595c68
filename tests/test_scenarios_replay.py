"""labkit.scenarios.replay: the event-sourced bank, its crash and recovery, snapshots,
dedup of the resend, backends, and upcasting (notebook 05)."""

from __future__ import annotations

from pathlib import Path

import pytest

import labkit
from labkit import journal, scenarios
from labkit.journal import InvariantViolation
from labkit.scenarios import replay


def test_bank_command_apply_check() -> None:
    bank = replay.Bank("unused.jsonl")
    state = bank.apply({}, {"kind": "deposited", "account": "alice", "cents": 500})
    assert state == {"alice": 500}
    assert bank.command(state, {"op": "transfer", "from": "alice", "to": "bob",
                                "cents": 200}) == [
        {"kind": "transferred", "from": "alice", "to": "bob", "cents": 200}]
    with pytest.raises(replay.Rejected, match=r"alice has 5\.00, cannot withdraw 6\.00"):
        bank.command(state, {"op": "withdraw", "account": "alice", "cents": 600})
    with pytest.raises(replay.Rejected, match="not a command"):
        bank.command(state, {"op": "deposit", "account": "alice", "cents": -1})
    before = dict(state)
    after = bank.apply(state, {"kind": "transferred", "from": "alice", "to": "bob",
                               "cents": 200})
    assert state == before and after == {"alice": 300, "bob": 200}  # pure: a new dict
    with pytest.raises(InvariantViolation, match=r"bob is at -0\.01"):
        bank.check({"bob": -1})
    assert replay.euros(1250) == "12.50" and replay.euros(-5) == "-0.05"


def test_recovery_from_the_journal_gives_the_right_balances() -> None:
    r = scenarios.crash_recovery().result
    assert r.correct and r.duplicates == 0 and r.lost == 0
    assert r.crash_at == 16 and r.crashed_at == pytest.approx(0.016)
    assert (r.events_replayed, r.snapshot_seq) == (15, None)
    assert r.recovery_s == pytest.approx(15 * replay.REPLAY_S)
    assert r.events == r.expected_events == r.accepted == 34


def test_without_dedup_the_resend_counts_twice() -> None:
    r = scenarios.crash_recovery(dedup=False).result
    assert not r.correct and r.duplicates == 1 and r.lost == 0
    diff = {a: dict(r.balances)[a] - dict(r.expected)[a] for a in replay.ACCOUNTS}
    assert diff == {"alice": 0, "bob": 0, "carol": 5400}  # command 16: deposit 54.00 to carol


def test_a_crash_after_a_rejected_command_changes_nothing() -> None:
    r = scenarios.crash_recovery(crash_at=20, dedup=False).result
    assert r.correct and r.duplicates == 0


def test_state_in_memory_only_is_lost_in_the_crash() -> None:
    r = scenarios.crash_recovery(persistent=False).result
    assert not r.correct and r.events_replayed == 0 and r.lost > 0


@pytest.mark.parametrize("backend", replay.BACKENDS)
def test_backends_agree(backend: str) -> None:
    a = scenarios.crash_recovery(backend=backend, dedup=False).result
    b = scenarios.crash_recovery(backend="file", dedup=False).result
    assert a.balances == b.balances and a.events == b.events and a.backend == backend


def test_snapshots_shorten_recovery() -> None:
    rows = [scenarios.crash_recovery(40, commands=40, snapshot_every=k).result
            for k in (None, 20, 5, 1)]
    assert [r.events_replayed for r in rows] == [34, 14, 4, 0]
    assert [r.snapshots for r in rows] == [0, 1, 6, 34]
    assert rows[0].recovery_s == pytest.approx(34 * replay.REPLAY_S)
    assert rows[2].recovery_s == pytest.approx(4 * replay.REPLAY_S + replay.SNAPSHOT_S)
    assert all(r.correct for r in rows)


def test_the_trace_has_the_journal_rows_and_no_paths() -> None:
    run = scenarios.crash_recovery(snapshot_every=4, backend="sqlite")
    df = run.trace.df
    kinds = set(df["kind"])
    assert {"journal_append", "snapshot", "replay", "recovered", "restart"} <= kinds
    peers = set(df.loc[df["kind"].isin(["journal_append", "recovered"]), "peer"])
    assert peers == {"bank.db"}
    assert not df["detail"].fillna("").str.contains("/tmp|labkit-replay-").any()


def test_upcasting() -> None:
    good = scenarios.upcasting().result
    assert good.recovered and good.events_replayed == 10 and good.versions == (1,)
    bad = scenarios.upcasting(upcast=False).result
    assert not bad.recovered and bad.balances == ()
    assert bad.error == "on_start: KeyError: 'account'"


def test_draw_commands_is_seeded() -> None:
    async def draw() -> list[object]:
        return list(replay.draw_commands(5))

    assert labkit.simulate(draw, seed=1).result == labkit.simulate(draw, seed=1).result
    assert labkit.simulate(draw, seed=1).result != labkit.simulate(draw, seed=2).result


def test_write_data_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("wrote ") == len(replay.DATA_FILES)
    with journal.open(tmp_path / "bank.jsonl", read_only=True) as j:
        assert j.last_seq == 20


def test_the_final_balances_query_has_numbers_of_its_own() -> None:
    """The commands are numbered 1..n by the client (a resend keeps its number); the final
    query is n + 1, so a click on command 1 in notebook 05's sequence diagram outlines
    command 1's path only."""
    run = scenarios.crash_recovery(crash_at=5, commands=12)
    sends = run.trace.events("send")
    commands = sends[sends["msg_type"] == "dict"]
    query = sends[sends["msg_type"] == "str"]
    assert sorted(set(commands["msg_id"].tolist())) == list(range(1, 13))
    assert query["msg_id"].tolist() == [13] and query["corr_id"].tolist() == [13]
    replies = run.trace.events("reply")
    assert replies["corr_id"].tolist().count(13) == 1
