"""Property tests for labkit.channel.Channel and actor mailboxes (labkit.actor.Mailbox).

What a user relies on: every message handed to a channel or a mailbox is delivered or
reported (a failed status, a cancelled send, a dead letter, a ``MailboxFull``, a ``False``
return) exactly once, nothing silently lost or duplicated, and what is delivered keeps each
sender's order. Scenarios are scripts of timed operations run under ``labkit.simulate``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio
from hypothesis import example, given
from hypothesis import strategies as st

import labkit
from labkit import go
from labkit.actor import (
    OVERFLOW_POLICIES,
    Actor,
    ActorSystem,
    Context,
    DeadLetter,
    Mailbox,
    MailboxFull,
    MailboxStatistics,
)
from labkit.channel import CLOSED, FULL, OK, Channel
from labkit.trace import drops

capacities_st = st.sampled_from([None, 0, 1, 2, 3])
gaps_st = st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0])
timeouts_st = st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]))

# -- Channel: every value received once or reported to its sender ----------------------------

# (how, gap before it, timeout for a blocking send); how is "send" (await send) or "try".
ChannelOp = tuple[str, float, float | None]
channel_ops_st = st.lists(st.tuples(st.sampled_from(["send", "send", "try"]), gaps_st,
                                    timeouts_st), max_size=12)


@given(capacity=capacities_st, producers=st.lists(channel_ops_st, min_size=1, max_size=3),
       # A receive's timeout is > 0: a consumer that timed out at once and did not sleep
       # would spin without ever letting the virtual clock move.
       consumer=st.lists(st.tuples(gaps_st, st.one_of(st.none(), st.sampled_from(
           [0.25, 0.5, 1.0, 2.0]))), min_size=1, max_size=6))
def test_channel_values_are_received_once_or_reported_and_keep_their_order(
        capacity: int | None, producers: list[list[ChannelOp]],
        consumer: list[tuple[float, float | None]]) -> None:
    async def main() -> tuple[dict[tuple[int, int], str], list[tuple[int, int]], Channel[Any]]:
        ch: Channel[tuple[int, int]] = Channel(capacity, name="q")
        outcome: dict[tuple[int, int], str] = {}
        received: list[tuple[int, int]] = []
        finished = anyio.Event()
        running = [len(producers)]

        async def producer(p: int, ops: list[ChannelOp]) -> None:
            for i, (how, gap, timeout) in enumerate(ops):
                value = (p, i)
                await labkit.sleep(gap)
                if how == "try":
                    status = ch.send_nowait(value)
                    assert status in (OK, FULL)
                    outcome[value] = "sent" if status == OK else "full"
                elif timeout is None:
                    assert await ch.send(value) == OK
                    outcome[value] = "sent"
                else:
                    outcome[value] = "cancelled"  # unless the send returns
                    with anyio.move_on_after(timeout):
                        assert await ch.send(value) == OK
                        outcome[value] = "sent"
            running[0] -= 1
            if not running[0]:
                finished.set()

        async def closer() -> None:
            await finished.wait()
            ch.close()

        for p, ops in enumerate(producers):
            go.go(producer, p, ops)
        go.go(closer)
        step = 0
        while True:
            service, timeout = consumer[step % len(consumer)]
            step += 1
            status: int | None = None  # None: the receive timed out
            value: Any = None
            if timeout is None:
                status, value = _status_of(await ch.recv())
            else:
                with anyio.move_on_after(timeout):
                    status, value = _status_of(await ch.recv())
            if status == CLOSED:
                return outcome, received, ch
            if status == OK:
                received.append(value)
            await labkit.sleep(service)

    run = labkit.simulate(main)
    outcome, received, ch = run.result
    assert len(outcome) == sum(len(ops) for ops in producers)  # every op reached an outcome
    counts = Counter(received)
    assert all(c == 1 for c in counts.values()), [v for v, c in counts.items() if c > 1]
    # Received exactly the values whose sender was told they were sent; a send reported
    # as cancelled or FULL never arrives.
    assert set(received) == {v for v, o in outcome.items() if o == "sent"}
    for p in range(len(producers)):
        mine = [i for q, i in received if q == p]
        assert mine == sorted(mine)  # FIFO per sender
    stats = ch.statistics()
    assert stats.sent == stats.received == len(received)
    assert stats.depth == 0 and stats.senders_waiting == 0 and stats.closed
    # Each cancelled send is one "drop" row in the trace, and nothing else is.
    lost = drops(run.trace)
    assert len(lost) == sum(o == "cancelled" for o in outcome.values())
    assert set(lost["detail"]) <= {"send cancelled while waiting"}


# -- Channel: a waiting sender gets a slot as soon as it is first in line ----------------------

# (what, n, timeout): "send" a value, "reserve" n slots, "release" one held slot, "recv" one
# value out of the buffer, or "sleep" n steps.
SlotOp = tuple[str, int, float | None]
STEP = 0.5
HALF = STEP / 2

slot_ops_st = st.lists(st.one_of(
    st.tuples(st.just("send"), st.just(1), st.one_of(st.none(),
                                                      st.integers(1, 6).map(lambda k: k * STEP))),
    st.tuples(st.just("reserve"), st.integers(1, 3),
              st.one_of(st.none(), st.integers(1, 6).map(lambda k: k * STEP))),
    st.tuples(st.just("release"), st.just(1), st.none()),
    st.tuples(st.just("recv"), st.just(1), st.none()),
    st.tuples(st.just("sleep"), st.integers(1, 4), st.none()),
), max_size=25)


@dataclass
class _Request:
    index: int
    what: str
    need: int  # slots: 1 for a value, n for a reservation
    state: str = "waiting"  # then "done" or "gave_up"


@given(capacity=st.integers(1, 4), ops=slot_ops_st)
# A reservation that gives up at the head of the line must let the send behind it have the
# free slot: here the send should complete at t = 1.5.
@example(capacity=2, ops=[("reserve", 2, 3 * STEP), ("send", 1, None), ("release", 1, None),
                          ("sleep", 4, None)])
def test_channel_waiting_senders_get_free_slots_in_arrival_order(capacity: int,
                                                                  ops: list[SlotOp]) -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(capacity, name="q")
        assert ch.reserve_nowait(capacity) == OK  # every slot starts held by main
        held = capacity
        requests: list[_Request] = []
        sent: list[int] = []
        received: list[int] = []

        async def requester(r: _Request, timeout: float | None) -> None:
            nonlocal held
            with anyio.move_on_after(timeout):  # None: no time limit
                if r.what == "send":
                    assert await ch.send(r.index) == OK
                    sent.append(r.index)
                else:
                    assert await ch.reserve(r.need) == OK
                    held += r.need  # main holds them from now on
                r.state = "done"
            if r.state != "done":
                r.state = "gave_up"

        for what, n, timeout in ops:
            if what in ("send", "reserve"):
                r = _Request(len(requests), what, min(n, capacity))
                requests.append(r)
                go.go(requester, r, timeout)
            elif what == "release":
                if held:
                    held -= 1
                    ch.release(1)
            elif what == "recv":
                status, value, _msg_id = ch.take()
                if status == OK:
                    received.append(value)
            else:
                await labkit.sleep(n * STEP)
            await labkit.sleep(HALF)  # settled: no timer is due at the check

            pending = [r for r in requests if r.state == "waiting"]
            stats = ch.statistics()
            assert stats.reserved == held
            assert stats.depth + stats.reserved <= capacity
            assert stats.senders_waiting == len(pending)
            # Nothing lost, nothing doubled: the buffer holds exactly what was sent and not
            # yet received, in send order.
            assert received + [v for _id, v in ch.buffer] == sent
            # FIFO: no request was served while an earlier one still waits ...
            for r in requests:
                if r.state == "done":
                    assert all(q.state != "waiting" for q in requests[:r.index]), r
            # ... and the first one waiting waits only if its slots are not there.
            if pending:
                assert pending[0].need > ch.free(), (pending[0], stats)
            await labkit.sleep(HALF)

    labkit.simulate(main)


# -- mailboxes: every message delivered or reported exactly once --------------------------------


class _Keeper(Actor):
    """Records each message it handles, taking a service time per message."""

    def __init__(self, services: list[float], handled: list[Any]) -> None:
        self.services = services
        self.handled = handled

    async def receive(self, msg: Any, ctx: Context) -> None:
        self.handled.append(msg)
        await labkit.sleep(self.services[len(self.handled) % len(self.services)])


# (tell or await send, gap before it)
MailOp = tuple[bool, float]
mail_ops_st = st.lists(st.tuples(st.booleans(), gaps_st), max_size=12)


@given(capacity=capacities_st, policy=st.sampled_from(OVERFLOW_POLICIES),
       senders=st.lists(mail_ops_st, min_size=1, max_size=3),
       services=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=1, max_size=4))
def test_mailbox_messages_are_delivered_or_reported_exactly_once_in_order(
        capacity: int | None, policy: Any, senders: list[list[MailOp]],
        services: list[float]) -> None:
    async def main() -> tuple[dict[tuple[int, int], str], list[Any], list[DeadLetter],
                              MailboxStatistics]:
        handled: list[Any] = []
        outcome: dict[tuple[int, int], str] = {}
        async with ActorSystem(drain=True) as system:
            ref = system.spawn(_Keeper, services, handled, name="box",
                               mailbox=Mailbox(capacity, overflow=policy))
            done = anyio.Event()
            running = [len(senders)]

            async def sender(s: int, ops: list[MailOp]) -> None:
                for i, (tell, gap) in enumerate(ops):
                    msg = (s, i)
                    await labkit.sleep(gap)
                    if not tell:
                        outcome[msg] = "queued" if await ref.send(msg) else "refused"
                        continue
                    try:
                        outcome[msg] = "queued" if ref.tell(msg) else "refused"
                    except MailboxFull as exc:
                        assert exc.message == msg  # the caller gets its message back
                        outcome[msg] = "rejected"
                running[0] -= 1
                if not running[0]:
                    done.set()

            for s, ops in enumerate(senders):
                go.go(sender, s, ops)
            await done.wait()
        # drain=True: the actor handled everything still queued before it stopped.
        return outcome, handled, list(system.dead_letters), ref.statistics()

    run = labkit.simulate(main)
    outcome, handled, letters, stats = run.result
    assert len(outcome) == sum(len(ops) for ops in senders)
    dead = [d.message for d in letters]
    # Each message ends exactly once: handled, a dead letter, or handed back by MailboxFull.
    ends = Counter([*handled, *dead, *(m for m, o in outcome.items() if o == "rejected")])
    once = Counter(list(outcome))
    assert ends == once, (ends - once, once - ends)  # (duplicated, lost)
    reasons = {d.message: d.reason for d in letters}
    for msg, o in outcome.items():
        if o == "refused":  # tell said False: it is a dead letter, with the reason
            assert msg in reasons and reasons[msg].startswith("mailbox full"), (msg, reasons)
        elif o == "rejected":
            assert policy == "fail"
        elif msg in reasons:  # queued, then evicted by a newer message
            assert policy in ("drop_head", "drop_tail")
            assert "evicted" in reasons[msg]
    if policy in ("block", "fail") or capacity is None:
        assert all(outcome[m] == "refused" for m in dead)  # nothing queued is ever lost
    # Each sender's messages are handled in the order it sent them.
    for s in range(len(senders)):
        mine = [i for q, i in handled if q == s]
        assert mine == sorted(mine)
    assert stats.processed == len(handled)
    assert stats.dropped == len(letters)
    assert stats.rejected == sum(o == "rejected" for o in outcome.values())
    assert stats.enqueued == sum(o == "queued" for o in outcome.values())
    assert stats.depth == 0 and stats.senders_waiting == 0
    # The trace says the same as the dead-letter list, message by message.
    lost = drops(run.trace)
    assert list(lost["kind"]) == ["dead_letter"] * len(letters)
    assert list(lost["msg_id"]) == [d.msg_id for d in letters]
    assert list(lost["detail"]) == [d.reason for d in letters]


def _status_of(got: tuple[Any, bool]) -> tuple[int, Any]:
    """A receive's ``(value, ok)`` as ``(OK, value)`` or ``(CLOSED, None)``."""
    value, ok = got
    return (OK, value) if ok else (CLOSED, None)
