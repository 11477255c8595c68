"""labkit.journal.EventSourced (Akka Persistence): persist, then apply; invariants checked
after every apply, live and during recovery; snapshots; recovery = latest snapshot + the
events after it; deduplication by the sender's message id (effectively-once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

import labkit
from labkit import journal
from labkit.actor import ActorFailed, ActorSystem
from labkit.journal import EventSourced, InvariantViolation, Recovery, Snapshot

State = dict[str, Any]


@dataclass
class Withdrawn:
    amount: int


class Account(EventSourced):
    """A bank account: ``{"op": "deposit"|"withdraw", "amount": n}`` or ``"balance"``."""

    def initial_state(self) -> State:
        return {"balance": 0}

    def command(self, state: State, msg: Any) -> list[Any]:
        if msg == "balance":
            return []
        if msg.get("op") == "withdraw":
            if msg["amount"] > state["balance"]:
                raise ValueError("insufficient funds")
            return [Withdrawn(msg["amount"])]
        if msg.get("op") == "deposit2":  # two events for one message
            return [{"kind": "deposited", "amount": msg["amount"]}] * 2
        return [{"kind": "deposited", "amount": msg["amount"]}]

    def apply(self, state: State, event: dict[str, Any]) -> State:
        sign = -1 if event["kind"] == "Withdrawn" else 1
        return {"balance": state["balance"] + sign * event["amount"]}

    def check(self, state: State) -> None:
        if state["balance"] < 0:
            raise InvariantViolation(f"negative balance {state['balance']}")


def run(main: Any) -> Any:
    return labkit.simulate(main).result


def test_live_persist_then_apply_and_reply_the_new_state(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"

    async def main() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Account, path)
            got = [await acct.ask({"op": "deposit", "amount": 10}),
                   await acct.ask({"op": "withdraw", "amount": 3}),
                   await acct.ask("balance")]
            acct.stop()
            return got

    assert run(main) == [{"balance": 10}, {"balance": 7}, {"balance": 7}]
    with journal.open(path) as j:
        assert [(r.seq, r.kind, r.data) for r in j.read()] == [
            (1, "deposited", {"kind": "deposited", "amount": 10}),
            (2, "Withdrawn", {"kind": "Withdrawn", "amount": 3})]


def test_a_rejected_command_persists_nothing_and_the_actor_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"

    async def main() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Account, path)
            await acct.ask({"op": "deposit", "amount": 5})
            with pytest.raises(ActorFailed) as info:
                await acct.ask({"op": "withdraw", "amount": 50})
            assert isinstance(info.value.__cause__, ValueError)
            acct.tell({"op": "withdraw", "amount": 50})  # rejected too, nobody to tell
            balance = await acct.ask("balance")
            acct.stop()
            return balance

    result = labkit.simulate(main)
    assert result.result == {"balance": 5}
    df = result.trace.df
    assert len(df[df["kind"] == "reject"]) == 2
    with journal.open(path) as j:
        assert j.last_seq == 1


@pytest.mark.parametrize("suffix", ["jsonl", "db"])
def test_recovery_is_the_latest_snapshot_plus_the_events_after_it(tmp_path: Path,
                                                                  suffix: str) -> None:
    path = tmp_path / f"bank.{suffix}"

    class Snapshotting(Account):
        snapshot_every = 3

    async def first() -> None:
        async with ActorSystem() as system:
            acct = system.spawn(Snapshotting, path)
            for k in range(1, 8):  # 7 events: snapshots after 3 and 6
                await acct.ask({"op": "deposit", "amount": k})
            acct.stop()

    run(first)
    with journal.open(path) as j:
        snap = j.load_snapshot()
    assert snap is not None and snap.seq == 6
    assert snap.state["state"] == {"balance": 21}

    async def second() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Snapshotting, path)
            balance = await acct.ask("balance")
            acct.stop()
            return balance

    result = labkit.simulate(second)
    assert result.result == {"balance": 28}
    df = result.trace.df
    assert list(df[df["kind"] == "replay"]["detail"]) == ["seq 7: deposited v1"]
    [recovered] = df[df["kind"] == "recovered"]["detail"]
    assert recovered == "Snapshotting: 1 events replayed, snapshot at seq 6"


def test_persistence_id_from_the_class_or_the_argument(tmp_path: Path) -> None:
    class Named(Account):
        persistence_id = "acct-7"

    assert Named(tmp_path / "a.jsonl").persistence_id == "acct-7"
    assert Named(tmp_path / "a.jsonl", persistence_id="x").persistence_id == "x"
    assert Account(tmp_path / "a.jsonl").persistence_id == "Account"


def test_recovery_without_a_snapshot_replays_everything(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    with journal.open(path) as j:
        for amount in (1, 2, 3):
            j.append({"kind": "deposited", "amount": amount}, kind="deposited")
    seen: list[Any] = []

    async def main() -> None:
        async with ActorSystem() as system:
            acct = system.spawn(Account, path)
            seen.append(await acct.ask("balance"))
            acct.stop()

    df = labkit.simulate(main).trace.df
    assert seen == [{"balance": 6}]
    assert len(df[df["kind"] == "replay"]) == 3
    assert "3 events replayed, no snapshot" in df[df["kind"] == "recovered"]["detail"].iloc[0]


def test_recovery_info_and_a_journal_object_left_open(tmp_path: Path) -> None:
    j = journal.open(tmp_path / "bank.jsonl")
    j.append({"kind": "deposited", "amount": 4}, kind="deposited")
    j.save_snapshot(1, {"persistence_id": "x", "state": {"balance": 4}, "handled": []})
    j.append({"kind": "deposited", "amount": 1}, kind="deposited")
    made: list[Account] = []

    def factory() -> Account:
        made.append(Account(j))
        return made[-1]

    async def main() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(factory)
            state = await acct.ask({"op": "deposit", "amount": 10})
            acct.stop()
            return state

    assert run(main) == {"balance": 15}
    assert made[0].recovery == Recovery(events=1, snapshot_seq=1, last_seq=2)
    assert made[0].seq == 3 and not j.closed
    j.close()


def test_invariant_violation_live_fails_the_actor(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"

    class Careless(Account):
        def command(self, state: State, msg: Any) -> list[Any]:
            return [Withdrawn(msg)]  # no balance check: the invariant catches it

    async def main() -> None:
        async with ActorSystem() as system:
            acct = system.spawn(Careless, path)
            with pytest.raises(ActorFailed) as info:
                await acct.ask(5)
            error = info.value.__cause__
            assert isinstance(error, InvariantViolation) and error.seq == 1
            await acct.wait_stopped()

    run(main)
    with journal.open(path) as j:
        assert j.last_seq == 1  # persisted before it was applied: recovery will meet it


def test_invariant_violation_during_recovery_names_the_sequence_number(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    with journal.open(path) as j:
        j.append({"kind": "deposited", "amount": 5}, kind="deposited")
        j.append({"kind": "Withdrawn", "amount": 3}, kind="Withdrawn")
        j.append({"kind": "Withdrawn", "amount": 4}, kind="Withdrawn")  # balance -2

    async def main() -> None:
        async with ActorSystem() as system:
            acct = system.spawn(Account, path)
            await acct.wait_stopped()

    result = labkit.simulate(main)
    df = result.trace.df
    fails = df[df["kind"] == "fail"]
    assert len(fails) == 1
    assert "after event 3" in fails["detail"].iloc[0]
    assert len(df[df["kind"] == "replay"]) == 2  # events 1 and 2 replayed cleanly


def test_dedup_by_sender_msg_id_survives_snapshots_and_recovery(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"

    class Deduped(Account):
        dedup = True
        snapshot_every = 2

    async def first() -> list[Any]:
        async with ActorSystem() as system:
            acct = system.spawn(Deduped, path)
            got = [await acct.ask({"op": "deposit", "amount": 10}, msg_id=1),
                   await acct.ask({"op": "deposit", "amount": 10}, msg_id=1),  # resent
                   await acct.ask({"op": "deposit2", "amount": 1}, msg_id=2),
                   await acct.ask({"op": "deposit", "amount": 5}, msg_id=3)]
            acct.tell({"op": "deposit", "amount": 5}, msg_id=3)  # resent as a tell
            acct.tell({"op": "deposit", "amount": 7})  # no id: handled every time
            acct.tell({"op": "deposit", "amount": 7})
            got.append(await acct.ask("balance"))
            acct.stop()
            return got

    assert run(first) == [{"balance": 10}, {"balance": 10}, {"balance": 12},
                          {"balance": 17}, {"balance": 31}]
    with journal.open(path) as j:
        assert [r.msg_id for r in j.read()] == [1, 2, 2, 3, None, None]
        snap = j.load_snapshot()
    assert snap is not None and snap.seq == 5  # taken after events 3 and 5
    assert [key for key, _answer in snap.state["handled"]] == [1, 2, 3]

    async def second() -> list[Any]:
        async with ActorSystem() as system:
            acct = system.spawn(Deduped, path)
            got = [await acct.ask({"op": "deposit2", "amount": 1}, msg_id=2),  # old answer
                   await acct.ask({"op": "deposit", "amount": 1}, msg_id=4),
                   await acct.ask("balance")]
            acct.stop()
            return got

    assert run(second) == [{"balance": 12}, {"balance": 32}, {"balance": 32}]


def test_dedup_table_is_rebuilt_from_events_without_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"

    class Deduped(Account):
        dedup = True

        def reply(self, state: State, events: list[Any]) -> Any:
            return ["ok", state["balance"], len(events)]

        def dedup_key(self, msg: Any) -> str | None:
            return msg.get("ref") if isinstance(msg, dict) else None

    async def first() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Deduped, path)
            await acct.ask({"op": "deposit2", "amount": 3, "ref": "a"})
            got = await acct.ask({"op": "deposit", "amount": 4, "ref": "b"})
            acct.stop()
            return got

    assert run(first) == ["ok", 10, 1]

    async def second() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Deduped, path)
            got = [await acct.ask({"op": "deposit2", "amount": 3, "ref": "a"}),
                   await acct.ask({"op": "deposit", "amount": 4, "ref": "b"}),
                   await acct.ask("balance")]
            acct.stop()
            return got

    assert run(second) == [["ok", 6, 2], ["ok", 10, 1], ["ok", 10, 0]]


def test_without_dedup_a_redelivery_is_applied_twice(tmp_path: Path) -> None:
    async def main() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Account, tmp_path / "bank.jsonl", dedup=False)
            await acct.ask({"op": "deposit", "amount": 10}, msg_id=1)
            got = await acct.ask({"op": "deposit", "amount": 10}, msg_id=1)
            acct.stop()
            return got

    assert run(main) == {"balance": 20}


def test_run_assigned_ids_are_never_used_for_dedup(tmp_path: Path) -> None:
    """Trace ids restart in every run: a second run's messages would otherwise look like
    the first run's and be dropped."""
    path = tmp_path / "bank.jsonl"

    class Deduped(Account):
        dedup = True

    async def main() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(Deduped, path)
            got = await acct.ask({"op": "deposit", "amount": 1})
            acct.stop()
            return got

    assert run(main) == {"balance": 1}
    assert run(main) == {"balance": 2}
    with journal.open(path) as j:
        assert [r.msg_id for r in j.read()] == [None, None]


def test_recovery_upcasts_old_events(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    with journal.open(path) as j:
        j.append({"kind": "deposited", "dollars": 2}, kind="deposited", version=1)

    class V2(Account):
        event_version = 2
        upcast: ClassVar[journal.Upcasters] = {
            ("deposited", 1): lambda d: {"kind": "deposited", "amount": d["dollars"]}}

    async def main() -> Any:
        async with ActorSystem() as system:
            acct = system.spawn(V2, path)
            got = await acct.ask({"op": "deposit", "amount": 3})
            acct.stop()
            return got

    assert run(main) == {"balance": 5}
    with journal.open(path) as j:
        assert [r.version for r in j.read()] == [1, 2]


def test_snapshot_from_elsewhere_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    with journal.open(path) as j:
        j.save_snapshot(0, {"balance": 3})
        assert j.load_snapshot() == Snapshot(0, {"balance": 3})

    async def main() -> None:
        async with ActorSystem() as system:
            acct = system.spawn(Account, path)
            await acct.wait_stopped()

    df = labkit.simulate(main).trace.df
    assert "not saved by an EventSourced actor" in df[df["kind"] == "fail"]["detail"].iloc[0]


#: The class without its type hints: these calls pass wrong types on purpose.
Untyped: Any = Account


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda p: Untyped(3), TypeError, "path must be a str or a pathlib.Path"),
    (lambda p: Account(p, snapshot_every=0), ValueError, "snapshot_every must be an int >= 1"),
    (lambda p: Untyped(p, snapshot_every=2.0), TypeError, "snapshot_every must be an int"),
    (lambda p: Untyped(p, dedup=1), TypeError, "dedup must be True or False"),
    (lambda p: Account(p, persistence_id=""), ValueError, "persistence_id must be a non-empty"),
])
def test_bad_constructor_arguments(tmp_path: Path, make: Any, error: type[Exception],
                                   message: str) -> None:
    with pytest.raises(error, match=message):
        make(tmp_path / "bank.jsonl")


def test_bad_class_attributes() -> None:
    with pytest.raises(ValueError, match=r"Bad\.snapshot_every must be an int >= 1"):
        type("Bad", (Account,), {"snapshot_every": 0})
    with pytest.raises(TypeError, match=r"Bad\.dedup must be True or False"):
        type("Bad", (Account,), {"dedup": "yes"})
    with pytest.raises(TypeError, match=r"Bad\.upcast keys must be"):
        type("Bad", (Account,), {"upcast": {"deposited": abs}})


def test_bad_events_fail_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"

    class Sloppy(Account):
        def command(self, state: State, msg: Any) -> list[Any]:
            return [{"kind": "deposited", "amount": 1}, msg]

    async def main() -> list[str]:
        async with ActorSystem() as system:
            out = []
            for bad in ({"amount": 1}, {"kind": "x", "when": {1, 2}}, 42):
                acct = system.spawn(Sloppy, path)
                with pytest.raises(ActorFailed) as info:
                    await acct.ask(bad)
                out.append(str(info.value.__cause__))
                await acct.wait_stopped()
            return out

    messages = run(main)
    assert "needs a 'kind' key" in messages[0]
    assert "event['when']" in messages[1] and "JSON" in messages[1]
    assert "dicts with a 'kind' key or dataclass instances" in messages[2]
    with journal.open(path) as j:
        assert j.last_seq == 0
