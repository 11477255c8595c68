"""Mailbox overflow policies under overload, the system lane, dead letters, statistics."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import labkit
from labkit.actor import (
    Actor,
    ActorSystem,
    Context,
    DeadLetter,
    Mailbox,
    MailboxFull,
    MailboxStatistics,
)
from labkit.trace import drops


class Recorder(Actor):
    """Handles each message in 1 virtual second and remembers what it saw."""

    def __init__(self, seen: list[Any], delay: float = 1.0) -> None:
        self.seen = seen
        self.delay = delay

    async def receive(self, msg: Any, ctx: Context) -> Any:
        await anyio.sleep(self.delay)
        self.seen.append(msg)
        return msg


async def _overload(policy: str) -> tuple[list[Any], list[bool], list[DeadLetter],
                                          MailboxStatistics]:
    """Tell 0..5 at once to a busy actor with room for 2 queued messages."""
    seen: list[Any] = []
    async with ActorSystem() as system:
        ref = system.spawn(Recorder, seen, name="worker",
                           mailbox=Mailbox(2, overflow=policy))  # type: ignore[arg-type]
        ref.tell("first")
        await anyio.sleep(0.5)  # the worker is now busy with "first"; the mailbox is empty
        accepted = [ref.tell(i) for i in range(5)]
        stats = ref.statistics()
        await anyio.sleep(10)  # let it work through what was kept
    return seen, accepted, list(system.dead_letters), stats


@pytest.mark.parametrize(("policy", "kept", "lost", "reason"), [
    ("drop_new", [0, 1], [2, 3, 4], "mailbox full (drop_new)"),
    ("drop_head", [3, 4], [0, 1, 2], "mailbox full (drop_head): evicted the oldest"),
    ("drop_tail", [0, 4], [1, 2, 3], "mailbox full (drop_tail): evicted the newest"),
    ("block", [0, 1], [2, 3, 4], "mailbox full (block): tell cannot wait; use"),
])
def test_overflow_policy_under_overload(policy: str, kept: list[int], lost: list[int],
                                        reason: str) -> None:
    run = labkit.simulate(_overload, policy)
    seen, accepted, letters, stats = run.result
    assert seen == ["first", *kept]
    assert [d.message for d in letters] == lost
    assert all(d.reason.startswith(reason) for d in letters)
    assert all(d.recipient == "worker" and d.sender == "main" for d in letters)
    if policy in ("drop_head", "drop_tail"):
        assert accepted == [True] * 5  # the new message is always queued
    else:
        assert accepted == [True, True, False, False, False]
    assert stats.depth == 2 and stats.peak_depth == 2
    assert stats.dropped == 3 and stats.overflow == policy and stats.capacity == 2
    # The trace says the same as the list, message by message, with the reason.
    rows = drops(run.trace)
    assert list(rows["kind"]) == ["dead_letter"] * 3
    assert list(rows["msg_id"]) == [d.msg_id for d in letters]
    assert list(rows["detail"]) == [d.reason for d in letters]
    assert set(rows["actor"]) == {"worker"} and set(rows["model"]) == {"actor"}


def test_fail_policy_raises_and_loses_nothing() -> None:
    async def main() -> tuple[list[Any], list[Any], MailboxStatistics, int]:
        seen: list[Any] = []
        refused: list[Any] = []
        async with ActorSystem() as system:
            ref = system.spawn(Recorder, seen, mailbox=Mailbox(2, overflow="fail"))
            ref.tell("first")
            await anyio.sleep(0.5)
            for i in range(4):
                try:
                    ref.tell(i)
                except MailboxFull as exc:
                    assert "overflow='fail'" in str(exc) and "send" in str(exc)
                    refused.append(exc.message)
            stats = ref.statistics()
            await anyio.sleep(10)
        return seen, refused, stats, len(system.dead_letters)

    run = labkit.simulate(main)
    seen, refused, stats, n_dead = run.result
    assert seen == ["first", 0, 1]
    assert refused == [2, 3]
    assert n_dead == 0 and stats.rejected == 2 and stats.dropped == 0
    assert run.trace.kinds()["reject"] == 2


def test_send_blocks_until_space_then_proceeds() -> None:
    async def main() -> list[tuple[float, str]]:
        log: list[tuple[float, str]] = []
        async with ActorSystem() as system:
            ref = system.spawn(Recorder, [], mailbox=Mailbox(1, overflow="drop_new"))
            ref.tell("a")           # taken by the actor at once
            await anyio.sleep(0)
            ref.tell("b")           # fills the one slot
            assert ref.statistics().senders_waiting == 0
            async with anyio.create_task_group() as tg:
                async def sender() -> None:
                    log.append((labkit.now(), "send start"))
                    assert await ref.send("c")
                    log.append((labkit.now(), "send done"))

                tg.start_soon(sender)
                await anyio.sleep(0.5)
                assert ref.statistics().senders_waiting == 1
        return log

    run = labkit.simulate(main)
    # "a" is handled during [0, 1]; at t=1 the actor takes "b", freeing the slot for "c".
    assert run.result == [(0.0, "send start"), (1.0, "send done")]
    kinds = run.trace.events(kind="block")
    assert list(kinds["detail"]) == ["mailbox full"]


def test_system_lane_is_never_lost_and_goes_first() -> None:
    async def main() -> tuple[list[Any], list[DeadLetter], bool]:
        seen: list[Any] = []
        async with ActorSystem() as system:
            ref = system.spawn(Recorder, seen, mailbox=Mailbox(2, overflow="drop_new"))
            ref.tell("first")
            await anyio.sleep(0.5)
            for i in range(10):
                ref.tell(i)                # mailbox full: 0, 1 queued, the rest dropped
            ref.stop()                     # overflow does not touch the system lane
            assert ref.statistics().system_depth == 1
            await ref.wait_stopped()
            alive = ref.is_alive
        return seen, list(system.dead_letters), alive

    seen, letters, alive = labkit.simulate(main).result
    assert seen == ["first"]            # stop went ahead of the queued 0 and 1
    assert not alive
    stopped = [d.message for d in letters if d.reason == "actor stopped"]
    assert stopped == [0, 1]
    assert len(letters) == 10


def test_unbounded_and_rendezvous_mailboxes() -> None:
    async def main() -> tuple[list[Any], list[bool], int]:
        seen: list[Any] = []
        async with ActorSystem() as system:
            free = system.spawn(Recorder, seen, mailbox=Mailbox())
            for i in range(100):
                free.tell(i)
            rendezvous = system.spawn(Recorder, [], mailbox=Mailbox(0, overflow="drop_new"))
            await anyio.sleep(0)          # the actor is now waiting for a message
            handed = [rendezvous.tell("x"), rendezvous.tell("y")]  # y: nobody waiting
            await anyio.sleep(200)
        return seen, handed, free.statistics().peak_depth

    seen, handed, peak = labkit.simulate(main).result
    assert seen == list(range(100))
    assert handed == [True, False]
    assert peak == 100  # all were queued before the actor's task first ran


def test_statistics_record() -> None:
    async def main() -> tuple[MailboxStatistics, MailboxStatistics]:
        async with ActorSystem() as system:
            ref = system.spawn(Recorder, [], name="w", mailbox=Mailbox(3, overflow="drop_head"))
            for i in range(5):
                ref.tell(i)
            before = ref.statistics()
            await anyio.sleep(10)
            after = ref.statistics()
            assert system.statistics() == (after,)
        return before, after

    before, after = labkit.simulate(main).result
    assert before == MailboxStatistics(
        name="w", capacity=3, overflow="drop_head", depth=3, peak_depth=3, system_depth=0,
        enqueued=5, processed=0, failed=0, dropped=2, rejected=0, senders_waiting=0,
        closed=False)
    assert after.depth == 0 and after.processed == 3 and after.peak_depth == 3
    assert before.in_hand == after.in_hand == 0


@pytest.mark.parametrize(("capacity", "error", "text"), [
    (-1, ValueError, "mailbox capacity must be an int >= 0"),
    (2.5, TypeError, "mailbox capacity must be an int"),
    ("3", TypeError, "mailbox capacity must be an int"),
    (True, TypeError, "mailbox capacity must be an int"),
])
def test_bad_capacity(capacity: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        Mailbox(capacity)


def test_bad_overflow_policy() -> None:
    policies = "'block', 'drop_new', 'drop_head', 'drop_tail', 'fail'"
    with pytest.raises(ValueError, match=f"overflow must be one of {policies}, got str "
                                         f"'drop_oldest'"):
        Mailbox(4, overflow="drop_oldest")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"overflow must be one of {policies}, got NoneType"):
        Mailbox(4, overflow=None)  # type: ignore[arg-type]


def test_a_mailbox_belongs_to_one_actor() -> None:
    async def main() -> None:
        box = Mailbox(4)
        async with ActorSystem() as system:
            system.spawn(Recorder, [], mailbox=box)
            with pytest.raises(ValueError, match="already belongs to actor"):
                system.spawn(Recorder, [], mailbox=box)

    labkit.simulate(main)
