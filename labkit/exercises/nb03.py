"""Notebook 03 (backpressure): the checks of its exercises.

03.1 write drain-and-replace (``drop_head``) for a Go-style channel; 03.2 size a
``drop_head`` mailbox for a latency budget that holds on every seed; 03.3 Little's law by
hand. Each check runs the learner's answer over :data:`labkit.exercises.SEEDS` (03.3 judges
a number with a margin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import labkit
from labkit import go, scenarios
from labkit.exercises import SEEDS, attempt, exercise, not_async_function

__all__ = ("BUDGET", "CAPACITY", "EXPECTED", "MESSAGES", "SERVICE", "mild_run")

#: 03.1: messages the producer offers, the channel's capacity, the consumer's time each.
MESSAGES = 12
CAPACITY = 3
SERVICE = 1.0


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# == 03.1: drain-and-replace in Go (G2, G22) ================================================


async def _drop_head_main(send_latest: Callable[..., Any]) -> tuple[list[int], float]:
    """A producer offers MESSAGES values within a fraction of a second through
    ``send_latest`` into a channel of CAPACITY; the consumer takes one per SERVICE s."""
    rng = labkit.rng()
    gaps = [rng.uniform(0.005, 0.030) for _ in range(MESSAGES)]
    ch: go.Chan[int] = go.Chan(CAPACITY, name="latest")
    got: list[int] = []
    waited = [0.0]

    async def producer() -> None:
        for v, gap in enumerate(gaps):
            await go.sleep(gap)
            start = labkit.now()
            await send_latest(ch, v)
            waited[0] = max(waited[0], labkit.now() - start)
        ch.close()

    go.go(producer)
    async for v in ch:
        got.append(v)
        await go.sleep(SERVICE)
    return got, waited[0]


#: What the consumer gets when the channel keeps the newest: the first value (taken at
#: once by the waiting consumer), then the last CAPACITY.
EXPECTED = [0, *range(MESSAGES - CAPACITY, MESSAGES)]


@exercise(
    "03.1", "drain-and-replace: drop the oldest, in Go",
    hints=(
        "Look at what the starting code does when the channel is full: `select` runs its "
        "`default`, and `v` is simply not sent. That keeps the OLDEST values (drop_new). "
        "To keep the newest, something must leave the channel to make room for `v`.",
        "In Go the producer can receive from its own channel: a receive in a `select` with "
        "`default` (`go.select(go.Recv(ch), default=True)`) takes the oldest value if there "
        "is one and never waits (G22). Then try the send again.",
        "Loop: `while (await go.select(go.Send(ch, v), default=True)).index == -1:` "
        "`await go.select(go.Recv(ch), default=True)`. The loop matters when the consumer or "
        "another producer races you between the drain and the send.",
    ),
    praise="`send_latest` never waits, and when the channel is full it evicts the oldest "
           "queued value to make room: the consumer gets the newest values, with every seed. "
           "That is drain-and-replace, Go's hand-written drop_head; tokio's mpsc cannot do "
           "it from the sending side (only the one Receiver can take values out), which is "
           "one reason tokio has `watch` for 'latest value wins'.",
)
def _judge_drop_head(send_latest: object) -> Iterator[str]:
    problem = not_async_function("send_latest", send_latest)
    if problem:
        yield problem
        return
    for seed in SEEDS:
        result = attempt(_drop_head_main, send_latest, seed=seed, until=60.0)
        if result.problem:
            yield result.problem
            return
        assert result.run is not None
        got, waited = result.run.result
        if waited > 0:
            yield (f"with seed {seed} a call of send_latest waited {waited:.2f} s on the full "
                   "channel: it must never wait. `await ch.send(v)` is `ch <- v`, which "
                   "blocks (G2); use a `select` with `default` (G22)")
            return
        if got == EXPECTED:
            continue
        oldest = [0, *range(1, CAPACITY + 1)]
        if got == oldest:
            yield (f"with seed {seed} the consumer got {got}: the OLDEST values survived "
                   f"and {MESSAGES - len(got)} new ones were dropped (that is drop_new). "
                   f"Drop-head keeps the newest, {EXPECTED}: when the send's default runs, "
                   "take the oldest value out of the channel, then send again")
        elif len(got) > len(EXPECTED) or sorted(set(got)) != got:
            yield (f"with seed {seed} the consumer got {got}, expected {EXPECTED}: a value "
                   "arrived twice or out of order")
        elif len(got) < len(EXPECTED):
            yield (f"with seed {seed} the consumer got only {got}, expected {EXPECTED}: you "
                   "drained values when there was still room. Drain only when the send's "
                   "`default` ran (the channel was full)")
        else:
            yield (f"with seed {seed} the consumer got {got}, expected {EXPECTED}: the "
                   f"channel of {CAPACITY} should end up holding the newest {CAPACITY}")
        return


# == 03.2: a capacity for a latency budget, on every seed ===================================

#: 03.2: the p99 budget in seconds.
BUDGET = 0.55


def _p99(capacity: int, seed: int) -> float:
    return scenarios.overload("actor", "drop_head", arrival_rate=20.0, service_rate=10.0,
                              capacity=capacity, messages=200,
                              seed=seed).result.p99_latency


def _worst(capacity: int) -> tuple[float, int]:
    return max((_p99(capacity, seed), seed) for seed in SEEDS)


@exercise(
    "03.2", "a capacity for a latency budget, on every seed",
    hints=(
        "Under overload a drop_head mailbox is always nearly full, so a delivered message "
        "waits behind about `capacity - 1` others. How long does the consumer take for "
        "one, on average?",
        "10 per second is 0.1 s each, so the wait is roughly capacity x 0.1 s; the p99 "
        "adds the unlucky schedules. Try the estimate with "
        "`scenarios.overload('actor', 'drop_head', capacity=c, seed=s)` for s in 0..4.",
        "Write a loop over capacities 1 to 10 and seeds 0 to 4 and keep the capacities "
        "whose worst p99 is at or under 0.55 s; the answer is the largest of those.",
    ),
    praise="that capacity keeps the p99 within 0.55 s on every seed, and one more slot "
           "breaks it on at least one: under overload a bounded queue's latency is set by "
           "its capacity, and the tail by the schedule; size it from the budget with a "
           "margin, never from one lucky run.",
)
def _judge_capacity(answer: object) -> Iterator[str]:
    if not _is_count(answer):
        yield f"set largest_capacity to a whole number of slots (1 or more), got {answer!r}"
        return
    assert isinstance(answer, int)
    worst, seed = _worst(answer)
    if worst > BUDGET:
        yield (f"at capacity {answer} the p99 is {worst:.3f} s with seed {seed}, over the "
               f"{BUDGET} s budget: try fewer slots")
        return
    more, seed = _worst(answer + 1)
    if more <= BUDGET:
        yield (f"capacity {answer} meets the budget on every seed, and so does {answer + 1} "
               f"(worst p99 {more:.3f} s): find the largest")


# == 03.3: Little's law by hand ==============================================================


def mild_run() -> Any:
    """The run of exercise 03.3: a Rust unbounded channel at load 1.2."""
    return scenarios.overload("rust", "unbounded", arrival_rate=12.0, service_rate=10.0,
                              messages=300, seed=2).result


@exercise(
    "03.3", "Little's law by hand",
    hints=(
        "Little's law relates three numbers: L (mean messages in the queue), λ (messages "
        "per second through it) and W (mean time each spends in it).",
        "L = λ W. You know L and λ; solve for W.",
        "mean_wait = mild.mean_depth / mild.little_lambda",
    ),
    praise="W = L / λ: a depth gauge and a rate counter give the mean time in the queue "
           "without timing a single message; it matches the time measured on the trace "
           "(`little_w`).",
)
def _judge_little(answer: object) -> Iterator[str]:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        yield f"set mean_wait to a number of seconds, got {answer!r}"
        return
    run = mild_run()
    if abs(answer - run.little_w) > 0.02 * run.little_w:
        if abs(answer - run.mean_depth * run.little_lambda) < 1e-6 * max(1.0, answer):
            yield (f"{answer:.3f} is L x λ, which is not a time: L = λ W, so W = L / λ")
        else:
            yield (f"{answer} s is more than 2 % away from the mean time in the queue: "
                   "Little's law is L = λ W, solve it for W")
