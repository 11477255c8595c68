"""Bad input to the actor layer, tried as a new user would: every count, id, timeout and
option gives a TypeError (wrong type) or a ValueError (right type, out of range) naming the
parameter and what it accepts, or a well-defined behaviour (``timeout=math.inf`` waits)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import labkit
from labkit.actor import (
    Actor,
    ActorRef,
    ActorSystem,
    AskTimeout,
    Context,
    Mailbox,
)
from tests._actors import Echo

Case = Callable[[ActorSystem, ActorRef], Any]


def _in_a_system(case: Case) -> Any:
    """Run ``case(system, echo)`` (sync or async) inside a run, with one Echo actor."""

    async def main() -> Any:
        async with ActorSystem() as system:
            echo = system.spawn(Echo, name="echo")
            got = case(system, echo)
            return await got if inspect.isawaitable(got) else got

    return labkit.simulate(main).result


def _no_op(*args: Any) -> None:
    return None


POLICIES = "'block', 'drop_new', 'drop_head', 'drop_tail', 'fail'"
SECONDS = "a number of seconds >= 0"

# (id, call, error, message): each message is the whole "NAME must be ACCEPTED, got ..." line.
BAD: list[tuple[str, Case, type[Exception], str]] = [
    ("mailbox_capacity_negative", lambda s, e: Mailbox(-1), ValueError,
     "mailbox capacity must be an int >= 0, got int -1"),
    ("mailbox_capacity_float", lambda s, e: Mailbox(2.5), TypeError,  # type: ignore[arg-type]
     "mailbox capacity must be an int >= 0, got float 2.5"),
    ("mailbox_capacity_nan", lambda s, e: Mailbox(math.nan), TypeError,  # type: ignore[arg-type]
     "mailbox capacity must be an int >= 0, got float nan"),
    ("mailbox_capacity_inf", lambda s, e: Mailbox(math.inf), TypeError,  # type: ignore[arg-type]
     "mailbox capacity must be an int >= 0, got float inf"),
    ("mailbox_overflow_unknown", lambda s, e: Mailbox(1, "drop"),  # type: ignore[arg-type]
     ValueError, f"overflow must be one of {POLICIES}, got str 'drop'"),
    ("system_name_empty", lambda s, e: ActorSystem(""), ValueError,
     "name must be a non-empty string, got str ''"),
    ("system_name_int", lambda s, e: ActorSystem(5), TypeError,  # type: ignore[arg-type]
     "name must be a string, got int 5"),
    ("system_drain_str", lambda s, e: ActorSystem(drain="no"), TypeError,  # type: ignore[arg-type]
     "drain must be True or False, got str 'no'"),
    ("system_supervisor", lambda s, e: ActorSystem(supervisor=3), TypeError,  # type: ignore[arg-type]
     "supervisor must be a function, got int 3"),
    ("spawn_name_empty", lambda s, e: s.spawn(Echo, name=""), ValueError,
     "actor name must be a non-empty string, got str ''"),
    ("spawn_name_int", lambda s, e: s.spawn(Echo, name=1), TypeError,  # type: ignore[arg-type]
     "actor name must be a string, got int 1"),
    ("spawn_mailbox_int", lambda s, e: s.spawn(Echo, mailbox=8), TypeError,  # type: ignore[arg-type]
     "mailbox must be a labkit.actor.Mailbox or None, got int 8"),
    ("spawn_supervisor", lambda s, e: s.spawn(Echo, supervisor="stop"), TypeError,  # type: ignore[arg-type]
     "supervisor must be a function, got str 'stop'"),
    ("spawn_factory", lambda s, e: s.spawn(3), TypeError,  # type: ignore[arg-type]
     "spawn takes an Actor subclass or a factory, got int 3"),
    ("tell_corr_id_str", lambda s, e: e.tell(1, corr_id="a"), TypeError,  # type: ignore[arg-type]
     "corr_id must be an int >= 0, got str 'a'"),
    ("tell_corr_id_negative", lambda s, e: e.tell(1, corr_id=-1), ValueError,
     "corr_id must be an int >= 0, got int -1"),
    ("tell_msg_id_float", lambda s, e: e.tell(1, msg_id=1.0), TypeError,  # type: ignore[arg-type]
     "msg_id must be an int >= 0, got float 1.0"),
    ("tell_sender_str", lambda s, e: e.tell(1, sender="bob"), TypeError,  # type: ignore[arg-type]
     "sender must be an ActorRef or None, got str 'bob'"),
    ("send_corr_id_bool", lambda s, e: e.send(1, corr_id=True), TypeError,
     "corr_id must be an int >= 0, got bool True"),
    ("send_msg_id_negative", lambda s, e: e.send(1, msg_id=-5), ValueError,
     "msg_id must be an int >= 0, got int -5"),
    ("ask_timeout_str", lambda s, e: e.ask(1, timeout="1"), TypeError,  # type: ignore[arg-type]
     f"timeout must be {SECONDS}, got str '1'"),
    ("ask_timeout_bool", lambda s, e: e.ask(1, timeout=True), TypeError,
     f"timeout must be {SECONDS}, got bool True"),
    ("ask_timeout_nan", lambda s, e: e.ask(1, timeout=math.nan), ValueError,
     f"timeout must be {SECONDS}, got float nan"),
    ("ask_timeout_negative", lambda s, e: e.ask(1, timeout=-1), ValueError,
     f"timeout must be {SECONDS}, got int -1"),
    ("ask_timeout_minus_inf", lambda s, e: e.ask(1, timeout=-math.inf), ValueError,
     f"timeout must be {SECONDS}, got float -inf"),
    ("ask_corr_id", lambda s, e: e.ask(1, corr_id=2.0), TypeError,  # type: ignore[arg-type]
     "corr_id must be an int >= 0, got float 2.0"),
    ("ask_nowait_msg_id", lambda s, e: e.ask_nowait(1, msg_id="7"), TypeError,  # type: ignore[arg-type]
     "msg_id must be an int >= 0, got str '7'"),
    ("pending_wait_nan", lambda s, e: e.ask_nowait(1).wait(math.nan), ValueError,
     f"timeout must be {SECONDS}, got float nan"),
    ("pending_wait_posted_str", lambda s, e: e.ask_nowait(1).wait_posted("1"),  # type: ignore[arg-type]
     TypeError, f"timeout must be {SECONDS}, got str '1'"),
    ("post_in_background_negative", lambda s, e: e.ask_nowait(1).post_in_background(-2),
     ValueError, f"timeout must be {SECONDS}, got int -2"),
    ("stop_drain_str", lambda s, e: e.stop(drain="yes"), TypeError,  # type: ignore[arg-type]
     "drain must be True or False, got str 'yes'"),
    ("shutdown_drain_int", lambda s, e: s.shutdown(drain=1), TypeError,  # type: ignore[arg-type]
     "drain must be True or False, got int 1"),
    ("signal_str", lambda s, e: e.signal("stop"), TypeError,  # type: ignore[arg-type]
     r"signal must be a labkit.actor.Signal \(use tell\(\) for user messages\), got str 'stop'"),
    ("dead_letter_recipient", lambda s, e: s.dead_letter(1, None, "why"), TypeError,  # type: ignore[arg-type]
     "recipient must be a string, got NoneType None"),
    ("dead_letter_reason_empty", lambda s, e: s.dead_letter(1, "echo", ""), ValueError,
     "reason must be a non-empty string, got str ''"),
    ("dead_letter_msg_id", lambda s, e: s.dead_letter(1, "echo", "why", msg_id=-1),
     ValueError, "msg_id must be an int >= 0, got int -1"),
    ("lookup_int", lambda s, e: s.lookup(1), TypeError,  # type: ignore[arg-type]
     "name must be a string, got int 1"),
]


@pytest.mark.parametrize(("call", "error", "text"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_input_gives_a_clear_error(call: Case, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=f"^{text}$"):
        _in_a_system(call)


def test_bad_input_records_and_sends_nothing() -> None:
    """A refused tell or ask queues nothing and writes no row about the actor."""

    async def main() -> int:
        async with ActorSystem() as system:
            echo = system.spawn(Echo, name="echo")
            with pytest.raises(TypeError):
                echo.tell("x", corr_id="a")  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                await echo.ask("x", timeout=-1)
            return echo.statistics().enqueued

    run = labkit.simulate(main)
    assert run.result == 0
    about_echo = {r.kind for r in run.trace if "echo" in (r.actor, r.peer)}
    assert about_echo == {"spawn", "stop"}


def test_accepts_must_be_types() -> None:
    with pytest.raises(TypeError, match=r"^Bad.accepts must be a type or a non-empty tuple of "
                                        r"types, got tuple \(<class 'int'>, 5\)$"):
        type("Bad", (Actor,), {"accepts": (int, 5)})
    with pytest.raises(ValueError, match=r"^Empty.accepts must be a type or a non-empty tuple "
                                         r"of types, got an empty tuple"):
        type("Empty", (Actor,), {"accepts": ()})


def test_forward_to_a_non_ref_is_refused() -> None:
    class Forwarder(Actor):
        async def receive(self, msg: Any, ctx: Context) -> Any:
            with pytest.raises(TypeError, match=r"^to must be an ActorRef, got str 'echo'$"):
                ctx.forward("echo")  # type: ignore[arg-type]
            return "refused"

    async def main() -> Any:
        async with ActorSystem() as system:
            return await system.spawn(Forwarder).ask("x")

    assert labkit.simulate(main).result == "refused"


def test_a_supervisor_must_return_a_directive() -> None:
    class Boom(Actor):
        async def receive(self, msg: Any, ctx: Context) -> Any:
            raise RuntimeError("boom")

    async def main() -> None:
        async with ActorSystem(supervisor=_no_op) as system:  # type: ignore[arg-type]
            system.spawn(Boom).tell(1)
            await anyio.sleep(1)

    with pytest.raises(TypeError, match=r"^a supervisor must return a labkit\.actor\.Directive, "
                                        r"got NoneType None\n"):
        labkit.simulate(main)


# -- well-defined behaviour at the edges -------------------------------------------------------


def test_ask_timeout_inf_waits_as_long_as_it_takes() -> None:
    async def main() -> tuple[Any, float]:
        async with ActorSystem() as system:
            slow = system.spawn(Echo, 1e6)
            return await slow.ask("late", timeout=math.inf), labkit.now()

    assert labkit.simulate(main).result == ("late", 1e6)


def test_ask_timeout_inf_to_an_actor_that_never_answers_is_a_deadlock() -> None:
    """No timer is set for ``inf``: the run ends as any all-blocked program does (G33)."""

    class Silent(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            await anyio.Event().wait()

    async def main() -> None:
        async with ActorSystem() as system:
            await system.spawn(Silent, name="silent").ask("?", timeout=math.inf)

    with pytest.raises(labkit.Deadlock, match="main: blocked on a reply from actor silent"):
        labkit.simulate(main)


def test_ask_timeout_zero_takes_only_an_answer_already_in() -> None:
    async def main() -> tuple[Any, str]:
        async with ActorSystem() as system:
            echo = system.spawn(Echo)
            with pytest.raises(AskTimeout) as info:
                await echo.ask("now?", timeout=0)
            pending = echo.ask_nowait("later")
            await anyio.sleep(0.5)  # the echo answers meanwhile
            return await pending.wait(0), str(info.value)

    answer, text = labkit.simulate(main).result
    assert answer == "later"
    assert "timed out after 0 s" in text


def test_huge_values_are_accepted_as_what_they_say() -> None:
    async def main() -> tuple[Any, bool, int]:
        async with ActorSystem() as system:
            echo = system.spawn(Echo, 2.0, mailbox=Mailbox(10**30))
            queued = echo.tell("x", corr_id=10**30, msg_id=10**30)
            answer = await echo.ask("y", timeout=1e300)
            return answer, queued, echo.statistics().capacity or 0

    answer, queued, capacity = labkit.simulate(main).result
    assert (answer, queued, capacity) == ("y", True, 10**30)


@pytest.mark.parametrize("timeout", [None, math.inf, 1e300])
def test_pending_reply_waits_without_a_limit(timeout: float | None) -> None:
    async def main() -> Any:
        async with ActorSystem() as system:
            pending = system.spawn(Echo, 5.0).ask_nowait("x")
            return await pending.wait(timeout)

    assert labkit.simulate(main).result == "x"
