"""CancellationToken (R31, case 101) and Semaphore (R35)."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust._select import select
from labkit.rust._sync import (
    AcquireError,
    CancellationToken,
    Semaphore,
    SemaphorePermit,
    TryAcquireError,
)
from labkit.rust._task import spawn
from labkit.rust._time import sleep

# -- CancellationToken ----------------------------------------------------------------------


def test_r31_cancel_sets_is_cancelled_and_is_idempotent() -> None:
    async def main() -> Any:
        token = CancellationToken()
        before = token.is_cancelled()
        token.cancel()
        token.cancel()
        return before, token.is_cancelled()

    run = labkit.simulate(main)
    assert run.result == (False, True)
    cancels = [r for r in run.trace if r.kind == "cancel"]
    assert len(cancels) == 1 and cancels[0].peer == "token-1"


def test_case_101_child_token_semantics() -> None:
    async def main() -> Any:
        token = CancellationToken()
        child = token.child_token()
        child.cancel()
        after_child = (token.is_cancelled(), child.is_cancelled())
        token.cancel()
        after_parent = (token.is_cancelled(), child.is_cancelled())
        late_child = token.child_token()
        t0 = labkit.now()
        await token.cancelled()  # returns at once on a cancelled token
        return after_child, after_parent, late_child.is_cancelled(), labkit.now() - t0

    assert labkit.simulate(main).result == ((False, True), (True, True), True, 0.0)


def test_r31_cancelling_a_parent_reaches_grandchildren() -> None:
    async def main() -> Any:
        root = CancellationToken()
        grandchild = root.child_token().child_token()
        sibling = CancellationToken()
        root.cancel()
        return grandchild.is_cancelled(), sibling.is_cancelled()

    assert labkit.simulate(main).result == (True, False)


def test_r31_clones_share_state() -> None:
    async def main() -> Any:
        token = CancellationToken()
        clone = token.clone()
        clone.cancel()
        return token.is_cancelled(), token == clone, token == CancellationToken()

    assert labkit.simulate(main).result == (True, True, False)


def test_r31_cancelled_wakes_every_waiter_at_the_cancel_time() -> None:
    async def waiter(token: CancellationToken) -> float:
        await token.cancelled()
        return labkit.now()

    async def main() -> Any:
        token = CancellationToken()
        handles = [spawn(waiter, token.clone()), spawn(waiter, token.child_token())]
        await sleep(3)
        blocked = [not h.is_finished() for h in handles]
        token.cancel()
        return blocked, [(await h).unwrap() for h in handles]

    assert labkit.simulate(main).result == ([True, True], [3.0, 3.0])


def test_r31_cancelled_on_a_cancelled_token_does_not_yield() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def other() -> None:
            order.append("other task ran")

        token = CancellationToken()
        token.cancel()
        spawn(other)
        await token.cancelled()
        order.append("main after cancelled()")
        await sleep(0)
        return order

    assert labkit.simulate(main).result == ["main after cancelled()", "other task ran"]


def test_r31_waiting_for_a_token_nobody_cancels_is_a_deadlock() -> None:
    async def main() -> None:
        await CancellationToken().cancelled()

    with pytest.raises(labkit.Deadlock, match="cancelled"):
        labkit.simulate(main)


def test_r31_drop_guard_cancels_on_drop_unless_disarmed() -> None:
    async def main() -> Any:
        a, b, c = CancellationToken(), CancellationToken(), CancellationToken()
        a.drop_guard().drop()
        kept = b.drop_guard().disarm()
        with c.drop_guard():
            inside = c.is_cancelled()
        return a.is_cancelled(), b.is_cancelled(), kept == b, inside, c.is_cancelled()

    assert labkit.simulate(main).result == (True, False, True, False, True)


def test_r31_dropping_a_token_does_not_cancel_it() -> None:
    async def main() -> bool:
        token = CancellationToken()
        token.clone().drop()
        return token.is_cancelled()

    assert labkit.simulate(main).result is False


def test_r31_run_until_cancelled() -> None:
    progress: list[str] = []

    async def work(delay: float) -> str:
        await sleep(delay)
        progress.append(f"work {delay} done")
        return "value"

    async def main() -> Any:
        token = CancellationToken()
        completed = await token.run_until_cancelled(work(1))

        async def cancel_at(t: float) -> None:
            await sleep(t)
            token.cancel()

        spawn(cancel_at, 1)
        interrupted = await token.run_until_cancelled(work(10))
        already = await token.run_until_cancelled(work(0))
        return completed, interrupted, already, labkit.now()

    assert labkit.simulate(main).result == ("value", None, None, 2.0)
    assert progress == ["work 1 done"]


def test_r14_in_spirit_token_beats_work_with_biased_select() -> None:
    """Contrast 14: with ``biased`` and the token first, no work is done after cancel."""

    async def main() -> int:
        token = CancellationToken()
        tx, rx = rust.mpsc.unbounded_channel()
        for i in range(100):
            tx.send(i)
        done = 0
        while True:
            if done == 10:
                token.cancel()
            idx, _ = await select(token.cancelled(), rx.recv(), biased=True)
            if idx == 0:
                return done
            done += 1

    assert labkit.simulate(main).result == 10


# -- Semaphore ------------------------------------------------------------------------------


def test_r35_acquire_and_release() -> None:
    async def main() -> Any:
        sem = Semaphore(2)
        p1 = await sem.acquire()
        p2 = await sem.acquire()
        zero = sem.available_permits()
        p1.release()
        p1.release()  # a second release does nothing
        one = sem.available_permits()
        with p2:
            pass
        return zero, one, sem.available_permits(), p2.num_permits()

    assert labkit.simulate(main).result == (0, 1, 2, 1)


def test_r35_permits_go_out_in_request_order() -> None:
    async def worker(sem: Semaphore, name: str, order: list[str]) -> None:
        permit = await sem.acquire()
        order.append(f"{name}@{labkit.now():g}")
        await sleep(1)
        permit.release()

    async def main() -> list[str]:
        sem = Semaphore(1)
        order: list[str] = []
        for name in "abcde":
            spawn(worker, sem, name, order)
            await sleep(0.1)  # request order a, b, c, d, e
        await sleep(10)
        return order

    assert labkit.simulate(main).result == ["a@0", "b@1", "c@2", "d@3", "e@4"]


def test_r35_acquire_many_is_not_overtaken_by_smaller_requests() -> None:
    async def main() -> list[str]:
        sem = Semaphore(2)
        held = await sem.acquire_many(2)
        order: list[str] = []

        async def want(n: int, name: str) -> None:
            p = await sem.acquire_many(n)
            order.append(name)
            await sleep(1)
            p.release()

        spawn(want, 2, "big")
        await sleep(0.1)
        spawn(want, 1, "small")
        await sleep(0.1)
        held.release()  # frees 2 at once: the big request at the head takes both
        small_try = sem.try_acquire()
        await sleep(5)
        return [*order, repr(small_try.unwrap_err())]

    assert labkit.simulate(main).result == ["big", "small", "TryAcquireError.NoPermits"]


def test_r35_one_permit_freed_is_not_given_past_a_bigger_head() -> None:
    async def main() -> Any:
        sem = Semaphore(3)
        a = await sem.acquire()
        b = await sem.acquire_many(2)
        big = spawn(sem.acquire_many, 3)
        await sleep(0.1)
        small = spawn(sem.acquire)
        await sleep(0.1)
        a.release()  # 1 free, head wants 3: nobody moves (R35)
        await sleep(1)
        stage1 = (big.is_finished(), small.is_finished(), sem.available_permits())
        b.release()
        await sleep(1)
        stage2 = (big.is_finished(), small.is_finished())
        (await big).unwrap().release()
        await sleep(1)
        return stage1, stage2, small.is_finished()

    assert labkit.simulate(main).result == ((False, False, 1), (True, False), True)


def test_r35_try_acquire_reports_no_permits_and_closed() -> None:
    async def main() -> list[Any]:
        sem = Semaphore(1)
        first = sem.try_acquire()
        second = sem.try_acquire()
        sem.close()
        third = sem.try_acquire_many(1)
        out = []
        for r in (first, second, third):
            match r:
                case rust.Ok(SemaphorePermit()):
                    out.append("permit")
                case rust.Err(TryAcquireError.NoPermits):
                    out.append("no permits")
                case rust.Err(TryAcquireError.Closed):
                    out.append("closed")
        return out

    assert labkit.simulate(main).result == ["permit", "no permits", "closed"]


def test_r35_close_fails_waiting_and_later_acquires() -> None:
    async def waiter(sem: Semaphore) -> str:
        try:
            await sem.acquire()
        except AcquireError:
            return f"AcquireError at {labkit.now():g}"
        return "got a permit"

    async def main() -> Any:
        sem = Semaphore(0)
        handle = spawn(waiter, sem)
        await sleep(2)
        sem.close()
        result = await handle
        try:
            await sem.acquire()
        except AcquireError:
            later = "raised"
        return result.unwrap(), later, sem.is_closed()

    assert labkit.simulate(main).result == ("AcquireError at 2", "raised", True)


def test_r30_a_cancelled_acquire_loses_its_place() -> None:
    async def main() -> Any:
        sem = Semaphore(0)
        idx, _ = await select(sem.acquire(), sleep(1))
        assert idx == 1
        later = spawn(sem.acquire)
        await sleep(0.5)
        sem.add_permits(1)
        permit = (await later).unwrap()
        return permit.num_permits(), sem.available_permits()

    assert labkit.simulate(main).result == (1, 0)


def test_r35_try_acquire_does_not_jump_the_queue() -> None:
    async def main() -> Any:
        sem = Semaphore(1)
        held = await sem.acquire_many(1)
        spawn(sem.acquire_many, 2)
        await sleep(0.1)
        sem.add_permits(1)  # 1 free (plus 1 held); the waiter wants 2
        cut_in = sem.try_acquire()
        held.release()
        await sleep(0.1)
        return repr(cut_in.unwrap_err()), sem.available_permits()

    assert labkit.simulate(main).result == ("TryAcquireError.NoPermits", 0)


def test_r35_uncontended_acquire_does_not_yield() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def other() -> None:
            order.append("other")

        sem = Semaphore(1)
        spawn(other)
        await sem.acquire()
        order.append("main acquired")
        await sleep(0)
        return order

    assert labkit.simulate(main).result == ["main acquired", "other"]


def test_semaphore_rejects_bad_permit_counts() -> None:
    with pytest.raises(ValueError):
        Semaphore(-1)
    with pytest.raises(TypeError):
        Semaphore(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_r35_semaphore_and_token_in_real_time(backend: str) -> None:
    async def main() -> Any:
        sem = Semaphore(1)
        token = CancellationToken()
        permit = await sem.acquire()
        waiter = spawn(sem.acquire)

        async def canceller() -> None:
            await sleep(0.001)
            token.cancel()

        spawn(canceller)
        await token.cancelled()
        permit.release()
        return (await waiter).unwrap().num_permits()

    assert labkit.run(main, backend=backend).result == 1
