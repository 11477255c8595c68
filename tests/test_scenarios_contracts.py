"""labkit.scenarios.message_contracts: a new message kind meets a type switch (Go), an
exhaustive match (Rust, R39) and a typed actor mailbox (SEMANTICS section 4, contrast 1)."""

from __future__ import annotations

import pytest

from labkit import rust, scenarios
from labkit.scenarios.mailboxes import HANDLERS, Msg, OldMsg

REQUESTS = ("Ping", "Put", "Get")


def contract(model: str, handler: str = "stale", **kw: object) -> scenarios.MessageContractsResult:
    return scenarios.message_contracts(model, handler=handler, **kw).result  # type: ignore[arg-type]


def requests(counts: dict[str, int]) -> int:
    return sum(counts[k] for k in REQUESTS)


# -- Go: the default branch swallows the new kind ----------------------------------------------


@pytest.mark.parametrize("handler", ["stale", "wildcard"])
def test_r39_go_type_switch_silently_ignores_exactly_the_stop(handler: str) -> None:
    run = scenarios.message_contracts("go", handler=handler, messages=12, stop_after=6)
    r = run.result
    assert r.sent == {"Ping": 3, "Put": 5, "Get": 4, "Stop": 1}
    assert r.ignored == {"Ping": 0, "Put": 0, "Get": 0, "Stop": 1}
    assert r.silently_ignored == 1
    assert r.handled == {**r.sent, "Stop": 0}  # every request was served, as if nothing new
    assert sum(r.refused.values()) == 0 and r.error is None and r.missing == ()
    assert not r.rejected_at_registration
    assert r.work_after_stop == 6  # the 6 requests sent after Stop were all served
    assert not r.stopped and not r.finished
    assert run.leaked == ("go-1",)  # the worker never exits


def test_r39_go_silent_drop_leaves_only_the_receive_in_the_trace() -> None:
    df = scenarios.message_contracts("go").trace.df
    stop_rows = df[df["msg_type"] == "Stop"]
    assert list(stop_rows["kind"]) == ["send", "receive"]  # no drop, no error, nothing else
    assert not df["kind"].isin(["drop", "dead_letter", "fail", "reject"]).any()


def test_go_updated_switch_stops_and_later_sends_see_done() -> None:
    run = scenarios.message_contracts("go", handler="updated", messages=12, stop_after=4)
    r = run.result
    assert r.stopped and r.finished and run.leaked == ()
    assert r.handled["Stop"] == 1 and requests(r.handled) == 4
    assert requests(r.refused) == 8 and r.silently_ignored == 0
    assert r.work_after_stop == 0


# -- Rust: the stale handler table is refused before any message flows ----------------------


def test_r39_rust_rejects_stale_handler_table_at_registration() -> None:
    run = scenarios.message_contracts("rust", handler="stale")
    r = run.result
    assert r.rejected_at_registration
    assert r.missing == ("Stop",)
    assert r.error is not None and "`Msg.Stop` not covered" in r.error and "E0004" in r.error
    assert r.processed == 0 and r.silently_ignored == 0 and r.work_after_stop == 0
    assert sum(r.sent.values()) == 0  # nothing was sent at all
    assert not r.stopped and not r.finished
    assert run.trace.df.empty and run.elapsed == 0.0 and run.leaked == ()


def test_rust_registration_error_is_the_library_error() -> None:
    """The scenario reports exactly what ``match_exhaustive`` raises (case 78)."""
    with pytest.raises(rust.NonExhaustiveMatch) as info:
        rust.match_exhaustive(Msg, {Msg.Ping: print, Msg.Put: print, Msg.Get: print})
    assert contract("rust").error == str(info.value)


def test_rust_updated_handler_stops_on_stop_and_refuses_later_sends() -> None:
    run = scenarios.message_contracts("rust", handler="updated", messages=12, stop_after=6)
    r = run.result
    assert not r.rejected_at_registration and r.error is None
    assert r.stopped and r.finished and run.leaked == ()
    assert r.handled["Stop"] == 1 and requests(r.handled) == 6
    assert requests(r.refused) == 6  # Err(SendError(v)): each later send handed back
    assert r.silently_ignored == 0 and r.work_after_stop == 0


def test_rust_wildcard_arm_brings_back_the_silent_drop() -> None:
    """``_ => {}`` makes any match exhaustive, so Stop is ignored like Go's default; the
    worker still ends, when main drops the last Sender (R3)."""
    r = contract("rust", "wildcard")
    go_r = contract("go", "wildcard")
    assert not r.rejected_at_registration
    assert r.ignored == go_r.ignored == {"Ping": 0, "Put": 0, "Get": 0, "Stop": 1}
    assert r.work_after_stop == go_r.work_after_stop == 6
    assert not r.stopped and r.finished
    assert not go_r.finished


# -- actor layer: refused at tell, at run time -------------------------------------------------


def test_actor_stale_accepts_refuses_stop_at_tell() -> None:
    run = scenarios.message_contracts("actor", handler="stale")
    r = run.result
    assert r.refused["Stop"] == 1 and r.silently_ignored == 0
    assert r.error is not None and r.error.startswith("WrongMessageType")
    assert "Stop" in r.error
    assert not r.rejected_at_registration  # it ran: the refusal came at run time
    assert r.work_after_stop == 6 and not r.stopped and not r.finished
    rejects = run.trace.df[run.trace.df["kind"] == "reject"]
    assert list(rejects["msg_type"]) == ["Stop"]


def test_actor_updated_stops_and_later_messages_are_dead_letters() -> None:
    run = scenarios.message_contracts("actor", handler="updated")
    r = run.result
    assert r.stopped and r.finished
    dead = run.trace.df[run.trace.df["kind"] == "dead_letter"]
    assert len(dead) == requests(r.refused) == 6
    assert set(dead["detail"]) == {"actor stopped"}


# -- every model, every handler ----------------------------------------------------------------


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
@pytest.mark.parametrize("handler", HANDLERS)
def test_every_send_is_accounted_for(model: str, handler: str) -> None:
    r = contract(model, handler, messages=20, stop_after=7)
    for kind in r.protocol:
        assert r.sent[kind] == r.handled[kind] + r.ignored[kind] + r.refused[kind], kind
    assert r.processed == sum(r.handled.values())
    assert r.silently_ignored == sum(r.ignored.values())


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
@pytest.mark.parametrize("handler", ["stale", "wildcard"])
def test_old_protocol_serves_everything_and_ends(model: str, handler: str) -> None:
    r = contract(model, handler, new_variant=False, messages=10)
    assert r.protocol == ("Ping", "Put", "Get")
    assert r.handled == r.sent and requests(r.sent) == 10
    assert r.silently_ignored == 0 and not r.rejected_at_registration
    assert r.finished and not r.stopped


def test_old_protocol_enum_has_no_stop() -> None:
    assert [v.__name__ for v in (OldMsg.Ping, OldMsg.Put, OldMsg.Get)] == list(REQUESTS)
    assert not hasattr(OldMsg, "Stop") and hasattr(Msg, "Stop")


@pytest.mark.parametrize("model", ["go", "rust", "actor"])
def test_deterministic_and_seed_changes_workload(model: str) -> None:
    a = scenarios.message_contracts(model, handler="updated", messages=30, seed=3)
    b = scenarios.message_contracts(model, handler="updated", messages=30, seed=3)
    assert a.result == b.result
    assert a.trace.df.equals(b.trace.df)
    c = scenarios.message_contracts(model, handler="updated", messages=30, seed=4)
    assert c.result.sent != a.result.sent


@pytest.mark.parametrize("stop_after", [0, 5, 9])
def test_stop_position_sets_work_after_stop(stop_after: int) -> None:
    assert contract("go", messages=9, stop_after=stop_after).work_after_stop == 9 - stop_after
    assert contract("rust", "updated", messages=9,
                    stop_after=stop_after).work_after_stop == 0
