"""Notebook 01 (mailboxes): the checks of its exercises.

01.1 add the missing ``close`` to a Go-style producer; 01.2 stop a Rust-style consumer's own
``Sender`` from keeping its mailbox open; 01.3 size a buffer for every seed, not one; 01.4
the smallest reply buffer that leaks no Go replier; 01.5 what a ``_`` arm does with
``Stop``; 01.6 a biased ``select`` that puts a shutdown token first. Each check runs the
learner's answer over :data:`labkit.exercises.SEEDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import labkit
from labkit import go, rust, scenarios
from labkit.exercises import SEEDS, attempt, exercise, not_async_function

__all__ = (
    "BURSTS",
    "CANCEL_AT",
    "JOBS",
    "N",
    "PATIENCE",
)

#: Values each exercise's producer sends.
N = 5
#: How long (virtual s) ``main`` waits for the consumer before it gives up.
PATIENCE = 1.0


def _seed_list(seeds: list[int]) -> str:
    if len(seeds) == len(SEEDS):
        return "every seed"
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return "seeds " + ", ".join(str(s) for s in seeds[:-1]) + f" and {seeds[-1]}"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# == 01.1: add the missing close (G11, G13, G14, G16, G28) ================================


async def _go_consumer(jobs: go.Chan[int], got: list[int], done: go.Chan[None],
                       work: list[float]) -> None:
    async for v in jobs:  # for v := range jobs: ends only once jobs is closed (G28)
        got.append(v)
        await go.sleep(work[len(got) - 1])
    done.close()


async def _go_close_main(producer: Callable[..., Any], got: list[int]) -> bool:
    rng = labkit.rng()
    work = [rng.uniform(0.0, 0.020) for _ in range(N + 1)]
    jobs: go.Chan[int] = go.Chan(0, name="jobs")
    done: go.Chan[None] = go.Chan(0, name="done")
    go.go(producer, jobs, N)
    go.go(_go_consumer, jobs, got, done, work)
    sel = await go.select(go.Recv(done), go.Recv(go.after(PATIENCE)))
    return sel.index == 0  # False: main gave up waiting


@exercise(
    "01.1", "add the missing close",
    hints=(
        "The consumer reads with `async for v in jobs` (Go's `for v := range jobs`). When "
        "does such a loop end? Only the producer knows that no more values will come.",
        "In Go the sender closes the channel, exactly once, after its last send (G16); "
        "`range` then drains what is left and stops (G28).",
        "Add `jobs.close()` after the `for` loop, not inside it: a send on a closed channel "
        "panics (G13), and so does a second close (G14).",
    ),
    praise="the producer closes `jobs` once, after its last send: the consumer's range loop "
           "drains every value and ends, with every seed (G16, G28). In Rust there is no "
           "close: the last Sender's drop ends the stream (R3).",
)
def _judge_close(producer: object) -> Iterator[str]:
    problem = not_async_function("producer", producer)
    if problem:
        yield problem
        return
    hung: list[int] = []
    for seed in SEEDS:
        got: list[int] = []
        result = attempt(_go_close_main, producer, got, seed=seed)
        if result.problem:
            if "send on closed channel" in result.problem:
                yield (f"{result.problem}: `jobs` was closed before the last send, and a "
                       f"send on a closed channel panics (G13); close after the loop")
            elif "close of closed channel" in result.problem:
                yield (f"{result.problem}: close `jobs` exactly once (G14), after the loop")
            else:
                yield result.problem
            return
        assert result.run is not None
        if got != list(range(N)):
            yield (f"with seed {seed} the consumer received {got}, not the {N} values "
                   f"{list(range(N))} in order: send each of 0..{N - 1} once")
            return
        if not result.run.result:
            hung.append(seed)
    if hung:
        yield (f"with {_seed_list(hung)} the consumer received all {N} values and then "
               f"waited forever: nobody closed `jobs`, so its range loop never ends (G16, "
               f"G28); add `jobs.close()` after the producer's last send")


# == 01.2: a Sender that keeps its own mailbox open (R3, R15, R20) =======================


async def _rust_producer(tx: Any, gaps: list[float]) -> None:
    with tx:  # dropped when the producer is done
        for i, gap in enumerate(gaps):
            await rust.sleep(gap)
            (await tx.send(i)).unwrap()


async def _rust_drop_main(consumer: Callable[..., Any], got: list[int],
                          counts: dict[str, int]) -> bool:
    rng = labkit.rng()
    gaps = [rng.uniform(0.0, 0.020) for _ in range(N)]
    tx, rx = rust.mpsc.channel(1)
    probe = tx.downgrade()  # the check's own WeakSender, to count the handles left
    me = tx.clone()  # the consumer's handle to its own mailbox
    task = rust.spawn(consumer, rx, me, got, name="consumer")
    rust.spawn(_rust_producer, tx, gaps, name="producer")
    outcome = await rust.timeout(PATIENCE, task)
    counts["strong"] = probe.strong_count()
    counts["weak"] = probe.weak_count() - 1
    if outcome.is_ok():
        outcome.unwrap().unwrap()  # a panic in the consumer must not pass for a clean end
    return outcome.is_ok()


@exercise(
    "01.2", "the consumer's own Sender",
    hints=(
        "`recv()` returns `None` only once every `Sender` of the channel has been dropped "
        "(R3, R15). Count the Senders still alive when the producer is done.",
        "The consumer's `me` is a strong Sender to its own mailbox, and it is dropped only "
        "after the loop, which is waiting for all Senders to be dropped. A WeakSender does "
        "not keep the channel open (R20).",
        "At the top of the consumer: `weak = me.downgrade()` then `me.drop()`. Later, to "
        "re-queue work, `weak.upgrade()` gives a Sender back while the channel is open.",
    ),
    praise="the consumer keeps no strong Sender to its own mailbox, so the producer's drop is "
           "the last one and `recv()` returns `None`, with every seed (R3, R15). A WeakSender "
           "(`me.downgrade()`, R20) keeps the way to re-queue work without keeping the "
           "channel open.",
)
def _judge_own_sender(consumer: object) -> Iterator[str]:
    problem = not_async_function("consumer", consumer)
    if problem:
        yield problem
        return
    hung: list[int] = []
    counts: dict[str, int] = {}
    for seed in SEEDS:
        got: list[int] = []
        result = attempt(_rust_drop_main, consumer, got, counts, seed=seed)
        if result.problem:
            yield result.problem
            return
        assert result.run is not None
        if got != list(range(N)):
            yield (f"with seed {seed} the consumer collected {got}, not the {N} values "
                   f"{list(range(N))}: append every value `recv()` returns")
            return
        if not result.run.result:
            hung.append(seed)
    if not hung:
        return
    where = (f"with {_seed_list(hung)} the consumer received all {N} values and then "
             f"waited in `recv()` forever")
    if counts.get("weak", 0) > 0 and counts.get("strong", 0) > 0:
        yield (f"{where}: you made a WeakSender, but `me` itself is still a strong Sender. "
               f"`downgrade()` borrows, it does not consume: call `me.drop()` after it (R20)")
    else:
        yield (f"{where}: `me`, a strong Sender to the consumer's own channel, is alive "
               f"until after the loop, so the last Sender is never dropped and `recv()` never "
               f"returns `None` (R3, R15); keep a WeakSender instead: `weak = "
               f"me.downgrade()` then `me.drop()` (R20)")


# == 01.3: a buffer for every seed (G2, R9) ==============================================

#: The workload of 01.3: a consumer faster on average than its producer.
BURSTS: dict[str, Any] = {"producer_rate": 10.0, "consumer_rate": 12.0, "messages": 200}


def _blocked(capacity: int, seed: int) -> dict[str, int]:
    return {model: scenarios.producer_consumer(model, capacity=capacity, seed=seed,
                                               **BURSTS).result.blocked_sends
            for model in ("go", "rust")}


@exercise(
    "01.3", "a buffer for every seed",
    hints=(
        "Run `scenarios.producer_consumer(model, capacity=c, seed=s, **BURSTS)` and read "
        "`result.blocked_sends`; the burst that fills the buffer is different with each seed.",
        "For each seed in 0..4 find the smallest capacity with `blocked_sends == 0`; the "
        "answer must work for all of them at once.",
        "`max(next(c for c in range(60) if blocked(c, s) == 0) for s in range(5))`, with "
        "`blocked` a function of yours returning `blocked_sends`.",
    ),
    praise="that many slots absorbs the worst burst of all five seeds, in Go and in Rust alike "
           "(a bounded FIFO queue is the same in both). One seed alone would have told you a "
           "smaller number: size buffers for bursts you have measured over many runs, and "
           "remember every slot adds latency.",
)
def _judge_capacity(capacity: object) -> Iterator[str]:
    if not _is_count(capacity):
        yield (f"smallest_capacity must be a whole number of slots (0 or more), got "
               f"{capacity!r}")
        return
    assert isinstance(capacity, int)
    counts = {seed: _blocked(capacity, seed) for seed in SEEDS}
    still = {seed: n for seed, n in counts.items() if any(n.values())}
    if still:
        worst = "; ".join(f"seed {s}: Go {n['go']}, Rust {n['rust']}"
                          for s, n in still.items())
        yield (f"at capacity {capacity} the producer still blocks with {_seed_list(list(still))}"
               f" (blocked sends, {worst}); try more slots")
        return
    if capacity > 0 and not any(any(_blocked(capacity - 1, s).values()) for s in SEEDS):
        yield (f"capacity {capacity} works for every seed, but so does {capacity - 1}; "
               f"find the smallest")


# == 01.4: the smallest reply buffer (G1, G2) ============================================


@exercise(
    "01.4", "stop the replier leak",
    hints=(
        "A replier blocks when nobody will ever receive its reply. What lets a Go send "
        "complete with no receiver at all?",
        "A buffered channel's send completes as soon as there is a free slot (G2). How many "
        "replies does one reply channel ever carry?",
        "Try `scenarios.ask_reply('go', reply_buffer=b, seed=s).result.blocked_repliers` for "
        "b = 0, 1, 2 and a few seeds.",
    ),
    praise="one slot holds the one reply, so a late replier parks it and returns, with every "
           "seed; the channel is garbage once nobody refers to it. Rust's oneshot gets there "
           "by design: `send` never waits (R22).",
)
def _judge_reply_buffer(buffer: object) -> Iterator[str]:
    if not _is_count(buffer):
        yield f"reply_buffer must be a buffer size (0 or more), got {buffer!r}"
        return
    assert isinstance(buffer, int)

    def leaks(b: int) -> dict[int, int]:
        return {seed: n for seed in SEEDS
                if (n := scenarios.ask_reply("go", reply_buffer=b, seed=seed)
                    .result.blocked_repliers)}

    still = leaks(buffer)
    if still:
        worst = ", ".join(f"seed {s}: {n}" for s, n in still.items())
        yield (f"with reply_buffer={buffer} Go repliers still block forever ({worst} "
               f"leaked); each one waits for a caller that has left")
    elif buffer > 0 and not leaks(buffer - 1):
        yield f"reply_buffer={buffer - 1} leaks no replier either; find the smallest"


# == 01.5: the wildcard arm (R39) ========================================================


@exercise(
    "01.5", "the wildcard arm",
    hints=(
        "A `_` arm matches every variant the other arms do not name, `Stop` included, and "
        "`_ => {}` does nothing with it.",
        "With `stop_after=4` and 12 requests, how many requests are sent after the Stop? "
        "Does the worker treat them any differently from the first 4?",
        "Run `scenarios.message_contracts('rust', handler='wildcard', messages=12, "
        "stop_after=4).result` and read `work_after_stop` and `stopped`.",
    ),
    praise="`_` swallows the Stop exactly as Go's `default` does, so every later request is "
           "served, and the worker ends only when the last Sender is dropped (R3), not because "
           "of the Stop. Exhaustiveness protects you only while no arm says `_`.",
)
def _judge_wildcard(served: object, stopped: object) -> Iterator[str]:
    if not _is_count(served) or not isinstance(stopped, bool):
        yield ("set served_after_stop to a count and stopped_by_stop to True or False, got "
               f"{served!r} and {stopped!r}")
        return
    results = [scenarios.message_contracts("rust", handler="wildcard", messages=12,
                                           stop_after=4, seed=s).result for s in SEEDS]
    if any(served != r.work_after_stop for r in results):
        yield (f"{served} is not the number of requests served after the Stop; which "
               f"requests come after it, and what does `_` do with the Stop?")
    elif any(stopped != r.stopped for r in results):
        yield ("the count is right, but look again at what `_ => {}` does with the Stop: "
               "does the worker return because of it?")


# == 01.6: a biased select with a token (R28, R30, R31) ==================================

#: When 01.6's token is cancelled (virtual s): between two 1 ms jobs, never on a boundary.
CANCEL_AT = 0.0205
#: Jobs queued for 01.6's worker: far more than it can handle before the token fires.
JOBS = 100


async def _rust_token_main(worker: Callable[..., Any], handled: list[int],
                           at_cancel: list[int]) -> bool:
    token = rust.CancellationToken()
    tx, jobs = rust.mpsc.unbounded_channel()
    for job in range(JOBS):  # the data input is always ready
        tx.send(job).unwrap()
    task = rust.spawn(worker, token.clone(), jobs, handled, name="worker")
    await rust.sleep(CANCEL_AT)
    token.cancel()
    at_cancel.append(len(handled))
    outcome = await rust.timeout(PATIENCE, task)
    if outcome.is_ok():
        outcome.unwrap().unwrap()
    tx.drop()
    return outcome.is_ok()


@exercise(
    "01.6", "shutdown first: a biased select",
    hints=(
        "Both branches are ready once the token is cancelled, because `jobs` always holds "
        "work. Which one does `rust.select` pick then, by default (R28)?",
        "By default select! starts from a random branch, so the worker sometimes takes one "
        "more job after the shutdown. With `biased=True` it tries the branches in the order "
        "written: make sure the order is the one you want.",
        "`index, job = await rust.select(token.cancelled(), jobs.recv(), biased=True)`; "
        "return when `index == 0`. The token branch comes first.",
    ),
    praise="with `biased=True` and the token first, the worker stops at the first select after "
           "the shutdown, with every seed (R28). Bias is safe here because the first branch "
           "fires once; a busy first branch would starve the others. `cancelled()` and "
           "`recv()` are cancel-safe, so the losing branch loses no job (R30).",
)
def _judge_biased_select(worker: object) -> Iterator[str]:
    problem = not_async_function("worker", worker)
    if problem:
        yield problem
        return
    late: dict[int, int] = {}
    hung: list[int] = []
    for seed in SEEDS:
        handled: list[int] = []
        at_cancel: list[int] = []
        result = attempt(_rust_token_main, worker, handled, at_cancel, seed=seed)
        if result.problem:
            yield result.problem
            return
        assert result.run is not None
        if handled != list(range(len(handled))):
            yield (f"with seed {seed} the worker handled jobs {handled[:8]}...: append each "
                   f"job `recv()` returns, in order")
            return
        if not handled or not at_cancel or at_cancel[0] == 0:
            yield (f"with seed {seed} the worker handled no job before the shutdown: it "
                   f"should take jobs until the token is cancelled")
            return
        if not result.run.result:
            hung.append(seed)
        elif len(handled) > at_cancel[0]:
            late[seed] = len(handled) - at_cancel[0]
    drained = [seed for seed, n in late.items() if n >= 5]
    if hung:
        yield (f"with {_seed_list(hung)} the worker never stopped after the token was "
               f"cancelled: select on `token.cancelled()` in every round, and return when "
               f"that branch wins")
    elif drained:
        yield (f"with {_seed_list(drained)} the worker went on taking jobs long after the "
               f"token was cancelled ({late[drained[0]]} more with seed {drained[0]}), and "
               f"stopped only when `jobs` ran dry. With `biased=True` select tries the "
               f"branches in the order written (R28) and `jobs` is always ready, so a token "
               f"branch after it starves: put `token.cancelled()` first")
    elif late:
        counts = ", ".join(f"seed {s}: {n}" for s, n in late.items())
        yield (f"with {_seed_list(list(late))} the worker took more jobs after the token "
               f"was cancelled ({counts}): by default select starts from a random branch "
               f"(R28), so a ready `jobs` can win over the token; pass `biased=True` with "
               f"`token.cancelled()` as the first branch")
