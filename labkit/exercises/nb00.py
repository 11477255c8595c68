"""Notebook 00's exercises: who ends a loop over a channel, in Go (close) and Rust (drop).

00.1: a Go-style ``add_up(count)`` sends 1..count to a summing goroutine and waits for the
total, but never closes the channel, so the goroutine's ``for range`` never ends (G16, G28).
00.2: a Rust-style ``add_up(count)`` hands Sender clones to two producer tasks and keeps the
original, so the summing task's ``recv`` never returns ``None`` (R3, R15).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labkit.exercises import Attempt, attempts, exercise, not_async_function

__all__ = ("COUNTS", "UNTIL", "judge_go_close", "judge_rust_drop")

#: The ``count`` values each check runs with (every seed of :data:`SEEDS` for each).
COUNTS = (1, 4, 10)

#: Virtual seconds after which a run that has not finished counts as hung.
UNTIL = 60.0


def _closes(attempt: Attempt, actor: str) -> int:
    """How many ``close`` rows ``actor`` wrote in the attempt's trace."""
    if attempt.run is None:
        return 0
    df = attempt.run.trace.df
    return int(((df["kind"] == "close") & (df["actor"] == actor)).sum())


def _judge(answer: Any, explain: Any) -> Iterator[str]:
    """Run ``answer(count)`` for every count of :data:`COUNTS` and every seed; at the first
    count with a failing run, yield ``explain(attempt, call, expected)`` for its first
    failure, saying which seeds failed the same way."""
    problem = not_async_function("add_up", answer)
    if problem:
        yield problem
        return
    for count in COUNTS:
        expected = count * (count + 1) // 2
        failed: dict[str, list[int]] = {}
        call = f"{getattr(answer, '__name__', 'add_up')}({count})"
        for attempt in attempts(answer, count, until=UNTIL):
            text = explain(attempt, call, expected)
            if text is not None:
                key = text.replace(f"seed {attempt.seed}", "seed {}")
                failed.setdefault(key, []).append(attempt.seed)
        for key, seeds in failed.items():
            also = "" if len(seeds) == 1 else \
                f" (the same with seeds {', '.join(map(str, seeds[1:]))})"
            yield key.replace("seed {}", f"seed {seeds[0]}") + also
        if failed:
            return


def _go_explain(attempt: Attempt, call: str, expected: int) -> str | None:
    problem = attempt.problem
    if problem is not None:
        if "deadlock" in problem and _closes(attempt, "main") == 0:
            return (f"{call}: {problem}. Nobody closed `numbers`, so `summer`'s "
                    "`async for` (Go's `for range`, G28) waits for another number forever and "
                    "never sends the total. The sender closes (G16): add `numbers.close()` "
                    "after the last send, before `await total.recv()`.")
        if "send on closed channel" in problem:
            return (f"{call}: {problem}. `numbers` was closed before the last send; "
                    "a send on a closed channel panics (G13). Close it after the loop.")
        if "close of closed channel" in problem:
            return (f"{call}: {problem}. Close `numbers` once, after the loop (G14).")
        return f"{call}: {problem}."
    assert attempt.run is not None
    if attempt.run.result != expected:
        return (f"{call} returned {attempt.run.result!r} with seed {attempt.seed}; "
                f"the expected total is {expected}.")
    if _closes(attempt, "main") == 0:
        return (f"{call} returned the right total, but main closed no channel: "
                "this exercise is about the sender saying 'no more values' with "
                "`numbers.close()` (G16), not about changing `summer`.")
    if attempt.run.leaked:
        return (f"{call}: tasks still running when it returned: "
                f"{', '.join(attempt.run.leaked)}.")
    return None


@exercise(
    "00.1",
    "close the channel so the Go-style summer's loop ends",
    hints=(
        "The deadlock report says what each goroutine waits for. `summer` loops with "
        "`async for n in numbers` (Go's `for n := range numbers`): when does that loop end?",
        "A `for range` over a channel ends only when the channel is closed and drained (G28). "
        "In Go the sender closes, once, when it has sent everything (G16).",
        "After the `for` loop that sends 1..count, call `numbers.close()`; then "
        "`await total.recv()` gets the sum.",
    ),
    praise="every run finished with the right total: main closed `numbers` after its last "
           "send, so `summer`'s loop ended and sent the total (G16, G28).",
)
def judge_go_close(add_up: Any) -> Iterator[str]:
    """00.1: ``add_up(count)`` must return 1 + ... + count, closing ``numbers`` itself."""
    yield from _judge(add_up, _go_explain)


def _rust_explain(attempt: Attempt, call: str, expected: int) -> str | None:
    problem = attempt.problem
    if problem is not None:
        if "deadlock" in problem:
            return (f"{call}: {problem}. The summing task still waits in `rx.recv()`: it "
                    "returns None only once every Sender is gone (R15), and main still holds "
                    "the original `tx`. Drop it (`tx.drop()`) once the clones are handed out, "
                    "or move it into the last producer instead of a clone. (A real tokio "
                    "program would hang here without a word: tokio has no deadlock detector.)")
        if "MovedValueError" in problem or "moved" in problem:
            return (f"{call}: {problem}. A Sender that was moved or dropped cannot "
                    "be used again (R37): clone before you hand it over.")
        return f"{call}: {problem}."
    assert attempt.run is not None
    if attempt.run.result != expected:
        return (f"{call} returned {attempt.run.result!r} with seed {attempt.seed}; "
                f"the expected total is {expected}.")
    if attempt.run.leaked:
        return (f"{call}: tasks still running when it returned: "
                f"{', '.join(attempt.run.leaked)}.")
    return None


@exercise(
    "00.2",
    "drop the Sender main keeps so the Rust-style summer's loop ends",
    hints=(
        "The deadlock report says the summing task waits to receive. Its loop is "
        "`while (n := await rx.recv()) is not None`: when does `recv` give None?",
        "`rx.recv()` gives None only when every Sender of the channel has been dropped (R15). "
        "Count the Senders: two clones went to the producers, and they drop theirs. "
        "Which one is left?",
        "main's own `tx` keeps the channel open. Add `tx.drop()` after spawning the "
        "producers (or give `tx` itself, not `tx.clone()`, to the last producer).",
    ),
    praise="every run finished with the right total: once the last Sender was dropped, "
           "`rx.recv()` gave None and the summing task returned (R15).",
)
def judge_rust_drop(add_up: Any) -> Iterator[str]:
    """00.2: ``add_up(count)`` must return 1 + ... + count; no Sender may outlive the work."""
    yield from _judge(add_up, _rust_explain)
