"""The public hooks routers use: ``corr_id``/``msg_id`` on tell/send/ask, ``ask_nowait``."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import labkit
from labkit._runtime.core import current
from labkit.actor import (
    Actor,
    ActorFailed,
    ActorSystem,
    AskTimeout,
    Context,
    Mailbox,
    PendingReply,
    Undeliverable,
)
from labkit.actor import _ref as ref_module


class Echo(Actor):
    """Replies with the message after ``delay`` virtual seconds; notes each ``corr_id``."""

    def __init__(self, seen: list[tuple[Any, int | None]], delay: float = 0.0) -> None:
        self.seen = seen
        self.delay = delay

    async def receive(self, msg: Any, ctx: Context) -> Any:
        self.seen.append((msg, ctx.corr_id))
        if msg == "boom":
            raise ValueError("boom")
        if self.delay:
            await anyio.sleep(self.delay)
        return msg


def test_pending_reply_is_public() -> None:
    assert "PendingReply" in labkit.actor.__all__
    assert PendingReply is ref_module.PendingReply


def test_tell_and_send_carry_corr_id_to_ctx_and_trace() -> None:
    seen: list[tuple[Any, int | None]] = []

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            echo = system.spawn(Echo, seen, name="echo")
            assert echo.tell("plain")
            assert echo.tell("told", corr_id=1000)
            assert await echo.send("sent", corr_id=1001)
            assert echo.tell("own id", corr_id=1002, msg_id=2000)

    df = labkit.simulate(main).trace.df
    assert seen == [("plain", None), ("told", 1000), ("sent", 1001), ("own id", 1002)]
    tells = df[(df.kind == "tell") & (df.peer == "echo")]
    assert list(tells.corr_id.isna()) == [True, False, False]
    assert list(tells.corr_id.dropna().astype(int)) == [1000, 1002]
    assert int(tells.msg_id.iloc[-1]) == 2000
    sends = df[(df.kind == "send") & (df.peer == "echo")]
    assert list(sends.corr_id.astype(int)) == [1001]
    handled = df[(df.actor == "echo") & df.corr_id.notna()]
    assert {1000, 1001, 1002} <= set(handled.corr_id.astype(int))


def test_ask_with_corr_id_uses_it_as_its_id() -> None:
    seen: list[tuple[Any, int | None]] = []

    async def main() -> Any:
        async with ActorSystem() as system:
            echo = system.spawn(Echo, seen, name="echo")
            corr = current().next_msg_id()
            return corr, await echo.ask("q", corr_id=corr, timeout=1.0)

    run = labkit.simulate(main)
    corr, answer = run.result
    assert answer == "q"
    assert seen == [("q", corr)]
    replies = run.trace.events(kind="reply")
    assert list(replies.corr_id.astype(int)) == [corr]


def test_ask_nowait_wait_returns_the_reply() -> None:
    seen: list[tuple[Any, int | None]] = []

    async def main() -> list[Any]:
        async with ActorSystem() as system:
            echoes = [system.spawn(Echo, seen, 0.5 * (i + 1), name=f"e{i}") for i in range(3)]
            pending = [e.ask_nowait(f"m{i}") for i, e in enumerate(echoes)]
            assert all(isinstance(p, PendingReply) and not p.done for p in pending)
            answers = [await p.wait(5.0) for p in pending]
            assert all(p.done for p in pending)
            assert labkit.now() == 1.5  # asked all at once: the slowest sets the time
            assert [p.corr_id for p in pending] == [p.msg_id for p in pending]
            assert [p.ref for p in pending] == echoes
            return answers

    assert labkit.simulate(main).result == ["m0", "m1", "m2"]
    assert all(c is not None for _, c in seen)  # an ask's id is its correlation id


def test_ask_nowait_shared_corr_id_and_own_msg_ids() -> None:
    seen: list[tuple[Any, int | None]] = []

    async def main() -> tuple[int, list[int]]:
        async with ActorSystem() as system:
            echoes = [system.spawn(Echo, seen, name=f"e{i}") for i in range(2)]
            rt = current()
            corr = rt.next_msg_id()
            pending = [e.ask_nowait("x", corr_id=corr, msg_id=rt.next_msg_id())
                       for e in echoes]
            assert [await p.wait() for p in pending] == ["x", "x"]
            return corr, [p.msg_id for p in pending]

    run = labkit.simulate(main)
    corr, ids = run.result
    assert seen == [("x", corr), ("x", corr)]
    assert corr not in ids and len(set(ids)) == 2
    sends = run.trace.events(kind="send")
    asked = sends[sends.msg_id.isin(ids)]
    assert set(asked.corr_id.astype(int)) == {corr}


def test_ask_nowait_times_out_and_late_reply_becomes_dead_letter() -> None:
    async def main() -> tuple[str, float, list[Any]]:
        async with ActorSystem() as system:
            slow = system.spawn(Echo, [], 3.0, name="slow")
            pending = slow.ask_nowait("late")
            with pytest.raises(AskTimeout) as info:
                await pending.wait(1.0)
            timed_out_at = labkit.now()
            await anyio.sleep(5)
            letters = [(d.message, d.recipient, d.sender, d.reason)
                       for d in system.dead_letters]
        return str(info.value), timed_out_at, letters

    run = labkit.simulate(main)
    text, when, letters = run.result
    assert "ask to actor 'slow' timed out after 1 s" in text
    assert when == 1.0
    assert letters == [("late", "main", "slow",
                        "reply came after the asker stopped waiting (ask timed out)")]
    timeouts = run.trace.events(kind="timeout")
    assert list(timeouts["time"]) == [1.0]
    assert list(timeouts.detail) == ["ask timed out"]
    assert list(run.trace.events(kind="dead_letter")["time"]) == [3.0]


def test_ask_nowait_raises_like_ask() -> None:
    async def main() -> None:
        async with ActorSystem() as system:
            echo = system.spawn(Echo, [], name="echo")
            with pytest.raises(ActorFailed) as failed:
                await echo.ask_nowait("boom").wait(1.0)
            assert isinstance(failed.value.error, ValueError)
            echo.stop()
            await echo.wait_stopped()
            with pytest.raises(Undeliverable):
                await echo.ask_nowait("gone").wait()
            with pytest.raises(ValueError, match="timeout"):
                await echo.ask_nowait("x").wait(-1)

    labkit.simulate(main)


def test_ask_nowait_on_full_mailbox_waits_for_space_within_the_timeout() -> None:
    async def main() -> tuple[list[Any], float]:
        async with ActorSystem() as system:
            slow = system.spawn(Echo, [], 2.0, name="slow", mailbox=Mailbox(1))
            slow.tell("busy")            # being handled until t=2
            await anyio.sleep(0)
            slow.tell("queued")          # fills the mailbox until t=2
            pending = slow.ask_nowait("waits")
            assert not pending.done
            with pytest.raises(AskTimeout):
                await pending.wait(1.0)
            when = labkit.now()
            await anyio.sleep(10)
            return [d.reason for d in system.dead_letters], when

    reasons, when = labkit.simulate(main).result
    assert when == 1.0
    assert reasons == ["sender cancelled while waiting for mailbox space"]
