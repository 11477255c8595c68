"""Go context: G34-G39 and cases C41-C47."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import labkit
from labkit import go

from .helpers import sim, still_blocked


class MyErr(Exception):
    pass


def test_g34_case_43_background_done_is_none() -> None:
    bg = go.background()
    assert bg.done() is None
    assert bg.err() is None and bg.deadline() is None
    assert go.cause(bg) is None
    assert go.todo().done() is None


def test_g34_case_43_done_is_the_same_channel_each_call() -> None:
    ctx, cancel = go.with_cancel(go.background())
    assert ctx.done() is ctx.done()
    done = ctx.done()
    assert done is not None
    with pytest.raises(TypeError):
        done.close()  # a receive-only channel
    cancel()
    assert ctx.done() is done


def test_g34_background_done_never_ready_in_select() -> None:
    async def main() -> bool:
        return await still_blocked(lambda: go.select(go.Recv(go.background().done())))

    assert sim(main) is True


def test_g34_cancel_closes_done_and_wakes_every_waiter() -> None:
    async def main() -> list[tuple[int, float]]:
        ctx, cancel = go.with_cancel(go.background())
        woke: list[tuple[int, float]] = []

        async def worker(i: int) -> None:
            await ctx.done().recv()  # type: ignore[union-attr]
            woke.append((i, labkit.now()))

        for i in range(3):
            go.go(worker, i)
        await go.sleep(4)
        cancel()
        await go.sleep(0)
        return woke

    assert sim(main) == [(0, 4.0), (1, 4.0), (2, 4.0)]


def test_g35_err_none_until_done_then_stable() -> None:
    ctx, cancel = go.with_cancel(go.background())
    assert ctx.err() is None
    cancel()
    assert ctx.err() is go.Canceled
    assert str(ctx.err()) == "context canceled"
    cancel()
    assert ctx.err() is go.Canceled


def test_g36_case_41_cancelling_child_leaves_parent() -> None:
    p, _cp = go.with_cancel(go.background())
    c, cc = go.with_cancel(p)
    cc()
    assert c.err() == go.Canceled
    assert p.err() is None


def test_g36_cancelling_parent_cancels_all_descendants() -> None:
    p, cp = go.with_cancel(go.background())
    c1, _ = go.with_cancel(p)
    c2, _ = go.with_cancel(go.with_value(c1, "k", "v"))
    sibling, _ = go.with_cancel(go.background())
    cp()
    assert c1.err() is go.Canceled and c2.err() is go.Canceled
    assert sibling.err() is None
    assert c2.value("k") == "v"


def test_g36_child_of_cancelled_parent_starts_cancelled() -> None:
    p, cp = go.with_cancel(go.background())
    cp()
    c, _ = go.with_cancel(p)
    assert c.err() is go.Canceled


def test_g37_with_timeout_fires_deadline_exceeded() -> None:
    async def main() -> tuple[float, Any, Any]:
        ctx, cancel = go.with_timeout(go.background(), 2.5)
        deadline = ctx.deadline()
        await ctx.done().recv()  # type: ignore[union-attr]
        cancel()  # after the deadline: changes nothing
        return labkit.now(), deadline, ctx.err()

    t, deadline, err = sim(main)
    assert t == 2.5 and deadline == 2.5
    assert err is go.DeadlineExceeded
    assert str(err) == "context deadline exceeded"


def test_g37_with_deadline_on_run_clock() -> None:
    async def main() -> float:
        await go.sleep(1)
        ctx, _ = go.with_deadline(go.background(), labkit.now() + 3)
        await ctx.done().recv()  # type: ignore[union-attr]
        return labkit.now()

    assert sim(main) == 4.0


def test_g37_earlier_parent_deadline_wins() -> None:
    async def main() -> tuple[Any, Any, Any, float]:
        parent, _ = go.with_timeout(go.background(), 1)
        child, _ = go.with_timeout(parent, 3600)
        await child.done().recv()  # type: ignore[union-attr]
        return child.deadline(), parent.deadline(), child.err(), labkit.now()

    assert sim(main) == (1.0, 1.0, go.DeadlineExceeded, 1.0)


def test_g37_case_45_cancel_before_deadline_is_canceled() -> None:
    async def main() -> tuple[Any, Any]:
        ctx, cancel = go.with_deadline(go.background(), labkit.now() + 3600)
        cancel()
        await go.sleep(7200)  # the stopped timer never fires
        return ctx.err(), go.cause(ctx)

    assert sim(main) == (go.Canceled, go.Canceled)


def test_g37_deadline_in_the_past_is_already_exceeded() -> None:
    async def main() -> Any:
        ctx, _ = go.with_timeout(go.background(), -1)
        return ctx.err()

    assert sim(main) is go.DeadlineExceeded


def test_g37_cancelled_deadline_timer_does_not_keep_the_run_alive() -> None:
    async def main() -> None:
        _ctx, cancel = go.with_timeout(go.background(), 100)
        cancel()
        await go.nil.recv()

    with pytest.raises(go.Deadlock):
        sim(main)


def test_g38_case_47_cancel_cause_first_wins() -> None:
    ctx, cancel = go.with_cancel_cause(go.background())
    my, other = MyErr("my"), MyErr("other")
    cancel(my)
    cancel(other)
    assert ctx.err() is go.Canceled
    assert go.cause(ctx) is my


def test_g38_case_47_cancel_none_cause_is_canceled() -> None:
    ctx, cancel = go.with_cancel_cause(go.background())
    assert go.cause(ctx) is None
    cancel(None)
    assert go.cause(ctx) is go.Canceled


def test_g38_parent_cause_inherited() -> None:
    parent, cancel = go.with_cancel_cause(go.background())
    child, _ = go.with_cancel(parent)
    grandchild, gcancel = go.with_cancel_cause(child)
    err = MyErr("root cause")
    cancel(err)
    gcancel(MyErr("too late"))
    assert go.cause(child) is err and go.cause(grandchild) is err
    assert child.err() is go.Canceled


def test_g38_deadline_cause_is_deadline_exceeded() -> None:
    async def main() -> Any:
        ctx, _ = go.with_timeout(go.background(), 1)
        await go.sleep(2)
        return go.cause(ctx)

    assert sim(main) is go.DeadlineExceeded


def test_g39_cancellation_is_cooperative_work_can_still_win() -> None:
    """With ctx.done() and out<-v both ready, select keeps picking work about half the time."""

    async def main() -> Counter[int]:
        ctx, cancel = go.with_cancel(go.background())
        cancel()
        out: go.Chan[int] = go.Chan(1)
        counts: Counter[int] = Counter()
        for i in range(2000):
            if len(out):
                await out.recv()
            counts[(await go.select(go.Recv(ctx.done()), go.Send(out, i))).index] += 1
        return counts

    counts = sim(main, seed=3)
    assert 850 <= counts[1] <= 1150


def test_g39_goroutine_ignoring_context_keeps_running() -> None:
    async def main() -> int:
        ctx, cancel = go.with_cancel(go.background())
        ticks: list[int] = []

        async def stubborn() -> None:
            for i in range(5):  # never looks at ctx
                await go.sleep(1)
                ticks.append(i)

        go.go(stubborn)
        cancel()
        await go.sleep(10)
        assert ctx.err() is go.Canceled
        return len(ticks)

    assert sim(main) == 5


def test_context_repr() -> None:
    ctx, _ = go.with_cancel(go.background())
    assert repr(ctx) == "context.Background.WithCancel"
