"""Go select: G18, G20-G27, conformance cases B26-B40, and ports of golang/go test/chan
(sieve2.go, select4-7.go, doubleselect.go)."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

import anyio
import pytest

import labkit
from labkit import go

from .helpers import sim, still_blocked

# -- G18: nil cases ----------------------------------------------------------------------------


def test_g18_nil_case_is_never_chosen() -> None:
    async def main() -> set[int]:
        ready: go.Chan[int] = go.Chan(1)
        chosen: set[int] = set()
        for _ in range(200):
            await ready.send(1)
            s = await go.select(go.Recv(go.nil), go.Send(go.nil, 5), go.Recv(None),
                                go.Recv(ready))
            chosen.add(s.index)
        return chosen

    assert sim(main) == {3}


def test_g18_case_29_only_nil_cases_with_default_take_default() -> None:
    async def main() -> int:
        s = await go.select(go.Recv(go.nil), go.Send(go.nil, 1), default=True)
        return s.index

    assert sim(main) == -1


@pytest.mark.parametrize("cases", ["recv", "send", "both"])
def test_g18_case_31_only_nil_cases_block_forever(cases: str) -> None:
    async def main() -> bool:
        options: dict[str, list[go.Case]] = {
            "recv": [go.Recv(go.nil)], "send": [go.Send(go.nil, 1)],
            "both": [go.Recv(go.nil), go.Send(go.nil, 1)]}
        picked = options[cases]
        return await still_blocked(lambda: go.select(*picked))

    assert sim(main) is True


def test_g18_disabling_a_case_by_setting_it_to_nil() -> None:
    async def main() -> list[int]:
        a: go.Chan[int] = go.Chan(0)
        b: go.Chan[int] = go.Chan(0)

        async def feed(ch: go.Chan[int], values: list[int]) -> None:
            for v in values:
                await ch.send(v)
            ch.close()

        go.go(feed, a, [1, 2, 3])
        go.go(feed, b, [10, 20])
        got: list[int] = []
        ca: go.Chan[int] = a
        cb: go.Chan[int] = b
        while ca or cb:
            s = await go.select(go.Recv(ca), go.Recv(cb))
            if not s.ok:  # closed: disable the case (the merge idiom)
                if s.index == 0:
                    ca = go.nil
                else:
                    cb = go.nil
                continue
            got.append(s.value)
        return got

    assert sorted(sim(main)) == [1, 2, 3, 10, 20]


# -- G20: evaluation order ---------------------------------------------------------------------


def test_g20_case_40_operands_evaluated_once_in_source_order() -> None:
    async def main() -> tuple[list[str], int]:
        log: list[str] = []
        c: go.Chan[int] = go.Chan(1)
        idle: go.Chan[int] = go.Chan(0)

        def chan(name: str, ch: go.Chan[int]) -> go.Chan[int]:
            log.append(f"chan {name}")
            return ch

        def val(name: str, v: int) -> int:
            log.append(f"value {name}")
            return v

        async def later() -> None:
            await go.sleep(1)
            await c.send(42)

        go.go(later)
        s = await go.select(
            go.Recv(chan("r1", idle)),
            go.Send(chan("s1", idle), val("s1", 1)),
            go.Recv(chan("r2", c)),
            go.Send(chan("s2", go.nil), val("s2", 2)),
        )
        log.append("assign target")  # a receive case's target is assigned after the choice
        return log, s.index

    log, index = sim(main)
    assert log == ["chan r1", "chan s1", "value s1", "chan r2", "chan s2", "value s2",
                   "assign target"]
    assert index == 2


def test_case_26_select4_receive_target_not_evaluated_for_losing_case() -> None:
    async def main() -> tuple[Any, bool]:
        c: go.Chan[int] = go.Chan(1)
        c1: go.Chan[int] = go.Chan(0)
        await c.send(42)
        called = False

        def f() -> list[int]:
            nonlocal called
            called = True
            return [0]

        s = await go.select(go.Recv(c1), go.Recv(c))
        if s.index == 0:
            f()[0] = s.value
            x = None
        else:
            x = s.value
        return x, called

    assert sim(main) == (42, False)


# -- G21: uniform random choice ------------------------------------------------------------------


def _two_ready_counts(seed: int, n: int = 10_000) -> Counter[int]:
    async def main() -> Counter[int]:
        a: go.Chan[int] = go.Chan(1)
        b: go.Chan[int] = go.Chan(1)
        counts: Counter[int] = Counter()
        for _ in range(n):
            if not len(a):
                await a.send(1)
            if not len(b):
                await b.send(2)
            counts[(await go.select(go.Recv(a), go.Recv(b))).index] += 1
        return counts

    return labkit.simulate(main, seed=seed).result


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_g21_case_27_two_ready_cases_about_half_each(seed: int) -> None:
    counts = _two_ready_counts(seed)
    assert counts[0] + counts[1] == 10_000
    # binomial(10000, 0.5): sd 50; 4700..5300 is 6 sd, generous and still able to fail.
    assert 4700 <= counts[0] <= 5300


def test_g21_fixed_seed_gives_the_same_choices() -> None:
    assert _two_ready_counts(7, 2000) == _two_ready_counts(7, 2000)
    assert _two_ready_counts(7, 2000) != _two_ready_counts(8, 2000)


def test_g21_two_receives_and_a_ready_send_about_a_third_each() -> None:
    async def main() -> Counter[int]:
        a: go.Chan[int] = go.Chan(1)
        b: go.Chan[int] = go.Chan(1)
        out: go.Chan[int] = go.Chan(1)
        counts: Counter[int] = Counter()
        for _ in range(9000):
            if not len(a):
                await a.send(1)
            if not len(b):
                await b.send(2)
            if len(out):
                await out.recv()
            counts[(await go.select(go.Recv(a), go.Recv(b), go.Send(out, 3))).index] += 1
        return counts

    counts = sim(main, seed=11)
    for i in range(3):
        assert 2700 <= counts[i] <= 3300, counts


# -- G22: default -------------------------------------------------------------------------------


def test_g22_case_28_ready_case_wins_over_default() -> None:
    async def main() -> set[int]:
        c: go.Chan[int] = go.Chan(1)
        seen = set()
        for i in range(100):
            await c.send(i)
            seen.add((await go.select(go.Recv(c), default=True)).index)
        return seen

    assert sim(main) == {0}


def test_g22_case_30_empty_select_blocks_forever() -> None:
    async def main() -> bool:
        return await still_blocked(go.select)

    assert sim(main) is True


def test_g22_empty_select_in_main_is_a_deadlock() -> None:
    async def main() -> None:
        await go.select()

    with pytest.raises(labkit.Deadlock, match="all goroutines are asleep"):
        sim(main)


def test_g22_select_without_default_waits_for_a_case() -> None:
    async def main() -> tuple[int, Any, float]:
        a: go.Chan[str] = go.Chan(0)
        b: go.Chan[str] = go.Chan(0)

        async def later() -> None:
            await go.sleep(2)
            await b.send("late")

        go.go(later)
        s = await go.select(go.Recv(a), go.Recv(b))
        return s.index, s.value, labkit.now()

    assert sim(main) == (1, "late", 2.0)


# -- G23: closed channels -------------------------------------------------------------------------


def test_g23_closed_recv_case_is_always_ready_with_zero() -> None:
    async def main() -> list[Any]:
        c: go.Chan[int] = go.Chan(0, zero=0)
        idle: go.Chan[int] = go.Chan(0)
        c.close()
        return [tuple(await go.select(go.Recv(idle), go.Recv(c))) for _ in range(5)]

    assert sim(main) == [(1, 0, False)] * 5


def test_g23_case_33_send_case_on_closed_channel_panics() -> None:
    async def main() -> None:
        c: go.Chan[int] = go.Chan(1)
        c.close()
        await go.select(go.Send(c, 1))

    with pytest.raises(go.Panic, match="send on closed channel"):
        sim(main)


def test_g23_send_case_on_closed_channel_panics_even_with_default() -> None:
    async def main() -> None:
        c: go.Chan[int] = go.Chan(0)
        c.close()
        await go.select(go.Send(c, 1), default=True)

    with pytest.raises(go.Panic, match="send on closed channel"):
        sim(main)


def test_g23_waiting_send_case_panics_when_channel_closed() -> None:
    async def main() -> Any:
        c: go.Chan[int] = go.Chan(0)
        idle: go.Chan[int] = go.Chan(0)
        caught: list[Any] = []

        async def selector() -> None:
            with go.recover() as r:
                await go.select(go.Send(c, 1), go.Recv(idle))
            caught.append(r.value)

        go.go(selector)
        await go.sleep(1)
        c.close()
        await go.sleep(1)
        return caught, len(idle.channel.receivers)  # type: ignore[union-attr]

    assert sim(main) == (["send on closed channel"], 0)


def test_g23_waiting_recv_case_wakes_on_close() -> None:
    async def main() -> tuple[int, Any, bool]:
        c: go.Chan[int] = go.Chan(0, zero=0)

        async def closer() -> None:
            await go.sleep(1)
            c.close()

        go.go(closer)
        i, v, ok = await go.select(go.Recv(go.Chan(0)), go.Recv(c))
        return i, v, ok

    assert sim(main) == (1, 0, False)


# -- G24: a select does not pair with itself ------------------------------------------------


def test_g24_select_send_and_recv_on_same_unbuffered_channel_blocks() -> None:
    async def main() -> bool:
        c: go.Chan[int] = go.Chan(0)
        return await still_blocked(lambda: go.select(go.Send(c, 1), go.Recv(c)))

    assert sim(main) is True


def test_g24_self_pairing_alone_is_a_deadlock() -> None:
    async def main() -> None:
        c: go.Chan[int] = go.Chan(0)
        await go.select(go.Recv(c), go.Send(c, 1))

    with pytest.raises(labkit.Deadlock):
        sim(main)


def test_g24_blocked_self_select_pairs_with_a_real_counterpart() -> None:
    async def main() -> tuple[int, Any]:
        c: go.Chan[int] = go.Chan(0)
        result: go.Chan[tuple[int, Any]] = go.Chan(1)

        async def selector() -> None:
            s = await go.select(go.Send(c, 1), go.Recv(c))
            await result.send((s.index, s.value))

        go.go(selector)
        await go.sleep(1)
        await c.send(99)  # pairs with the select's receive case
        return (await result.recv())[0]

    assert sim(main) == (1, 99)


# -- G25: doubleselect.go: exactly one commit ---------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_g25_doubleselect_each_value_received_exactly_once(seed: int) -> None:
    n_senders, per_sender = 4, 300

    async def main() -> Counter[int]:
        chans: list[go.Chan[int]] = [go.Chan(0) for _ in range(4)]
        seen: Counter[int] = Counter()
        wg = go.WaitGroup()

        async def sender(base: int) -> None:
            for i in range(per_sender):
                await go.select(*(go.Send(c, base + i) for c in chans))

        async def plain_receiver(c: go.Chan[int]) -> None:
            async for v in c:
                seen[v] += 1

        async def select_receiver() -> None:
            live = list(chans)
            while any(live):
                s = await go.select(*(go.Recv(c) for c in live))
                if s.ok:
                    seen[s.value] += 1
                else:
                    live[s.index] = go.nil

        for k in range(n_senders):
            wg.go(sender, k * 10_000)
        done = go.WaitGroup()
        done.go(plain_receiver, chans[0])
        done.go(plain_receiver, chans[1])
        done.go(select_receiver)
        done.go(select_receiver)
        await wg.wait()
        for c in chans:
            c.close()
        await done.wait()
        for c in chans:  # no stale waiter survives (G26)
            assert not c.channel.receivers and not c.channel.senders  # type: ignore[union-attr]
        return seen

    seen = sim(main, seed=seed)
    expected = {k * 10_000 + i for k in range(n_senders) for i in range(per_sender)}
    assert set(seen) == expected
    assert set(seen.values()) == {1}


# -- G26: select6.go: no stale waiters --------------------------------------------------------


def test_g26_select6_losing_case_leaves_no_stale_waiter() -> None:
    async def main() -> str:
        c1: go.Chan[bool] = go.Chan(0)
        c2: go.Chan[bool] = go.Chan(0)
        c3: go.Chan[bool] = go.Chan(0)

        async def first() -> None:
            await c1.recv()

        async def second() -> None:
            s = await go.select(go.Recv(c1), go.Recv(c2))
            if s.index == 0:
                go.panic("dummy")
            await c3.send(True)
            await c1.recv()

        go.go(first)
        go.go(second)
        go.go(c2.send, True)
        await c3.recv()
        await c1.send(True)
        await c1.send(True)  # with a stale waiter from the select, this never completes
        return "ok"

    assert sim(main) == "ok"


def test_g26_waiters_removed_after_select_returns() -> None:
    async def main() -> list[tuple[int, int]]:
        chans: list[go.Chan[int]] = [go.Chan(0) for _ in range(3)]
        go.go(chans[1].send, 5)
        s = await go.select(go.Recv(chans[0]), go.Recv(chans[1]), go.Send(chans[2], 1))
        assert (s.index, s.value) == (1, 5)
        return [(len(c.channel.receivers), len(c.channel.senders))  # type: ignore[union-attr]
                for c in chans]

    assert sim(main) == [(0, 0)] * 3


def test_g26_waiters_removed_when_select_is_cancelled() -> None:
    async def main() -> list[int]:
        a: go.Chan[int] = go.Chan(0)
        b: go.Chan[int] = go.Chan(0)
        go.go(go.select, go.Recv(a), go.Send(b, 1))
        await go.sleep(1)
        return [len(a.channel.receivers), len(b.channel.senders)]  # type: ignore[union-attr]

    # main returns while the goroutine's select waits: the goroutine is cancelled.
    run = labkit.simulate(main)
    assert run.result == [1, 1]
    assert run.leaked == ("go-1",)


def test_g27_repeated_selects_do_not_accumulate_waiters() -> None:
    async def main() -> int:
        busy: go.Chan[int] = go.Chan(0)
        idle: go.Chan[int] = go.Chan(0)

        async def feeder() -> None:
            for i in range(5000):
                await busy.send(i)

        go.go(feeder)
        worst = 0
        for _ in range(5000):
            await go.select(go.Recv(idle), go.Recv(busy))
            worst = max(worst, len(idle.channel.receivers))  # type: ignore[union-attr]
        return worst

    assert sim(main) == 0


# -- case 36: select7.go: every sender style with every receiver style --------------------------


SENDERS = ["plain", "select1", "select2"]
RECEIVERS = ["plain", "select1", "select2"]


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("receiver", RECEIVERS)
def test_case_36_select7_all_styles_complete(sender: str, receiver: str) -> None:
    async def main() -> Any:
        c: go.Chan[int] = go.Chan(0)
        idle: go.Chan[int] = go.Chan(0)
        got: go.Chan[int] = go.Chan(1)

        async def recv() -> None:
            if receiver == "plain":
                v, _ = await c.recv()
            elif receiver == "select1":
                v = (await go.select(go.Recv(c))).value
            else:
                v = (await go.select(go.Recv(c), go.Recv(idle))).value
            await got.send(v)

        go.go(recv)  # the receiver starts first
        await go.sleep(0.1)
        if sender == "plain":
            await c.send(1)
        elif sender == "select1":
            await go.select(go.Send(c, 1))
        else:
            await go.select(go.Send(c, 1), go.Recv(idle))
        return (await got.recv())[0]

    assert sim(main) == 1


# -- case 39: select5.go: default placement -----------------------------------------------------


@pytest.mark.parametrize("buffered", [True, False])
def test_case_39_select5_default_first_or_last(buffered: bool) -> None:
    async def main() -> list[tuple[int, Any]]:
        c: go.Chan[int] = go.Chan(1)
        dummy: go.Chan[int] = go.Chan(0)
        out = []
        for _ in range(2):  # Python has one default; "first or last" is just the flag
            if buffered:
                await c.send(17)
            s = await go.select(go.Recv(go.nil), go.Recv(dummy), go.Recv(c),
                                go.Send(go.nil, 1), default=True)
            out.append((s.index, s.value))
        return out

    expected = [(2, 17), (2, 17)] if buffered else [(-1, None), (-1, None)]
    assert sim(main) == expected


# -- case 18: sieve2.go with a send proxy whose out case is nil when empty ----------------------


def _sendproxy(out: go.Chan[int]) -> go.Chan[int]:
    proxy: go.Chan[int] = go.Chan(10)

    async def run() -> None:
        buf: deque[int] = deque()
        while True:
            if not buf:
                v, _ = await proxy.recv()
                buf.append(v)
            # the out case is disabled (nil) whenever the buffer is empty (G18)
            c = out if buf else go.nil
            e = buf[0] if buf else 0
            s = await go.select(go.Send(c, e), go.Recv(proxy))
            if s.index == 0:
                buf.popleft()
            else:
                buf.append(s.value)

    go.go(run)
    return proxy.send_only()


def test_case_18_sieve2_first_25_primes() -> None:
    async def main() -> list[int]:
        async def generate(ch: go.Chan[int]) -> None:
            i = 2
            while True:
                await ch.send(i)
                i += 1

        async def keep(inp: go.Chan[int], out: go.Chan[int], prime: int) -> None:
            async for i in inp:
                if i % prime:
                    await out.send(i)

        ch: go.Chan[int] = go.Chan(5)
        go.go(generate, ch)
        primes = []
        for _ in range(25):
            prime, _ok = await ch.recv()
            primes.append(prime)
            nxt: go.Chan[int] = go.Chan(5)
            go.go(keep, ch.recv_only(), _sendproxy(nxt), prime)
            ch = nxt
        return primes

    assert sim(main) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61,
                         67, 71, 73, 79, 83, 89, 97]


# -- misc --------------------------------------------------------------------------------------


def test_selected_unpacks() -> None:
    async def main() -> tuple[int, Any, bool]:
        c: go.Chan[str] = go.Chan(1)
        await c.send("v")
        i, v, ok = await go.select(go.Recv(c))
        return i, v, ok

    assert sim(main) == (0, "v", True)


def test_selected_send_case_result() -> None:
    async def main() -> tuple[int, Any, bool]:
        c: go.Chan[str] = go.Chan(1)
        s = await go.select(go.Send(c, "x"))
        assert (await c.recv()) == ("x", True)
        return s.index, s.value, s.ok

    assert sim(main) == (0, None, True)


def test_select_on_context_done_none_is_a_nil_case() -> None:
    async def main() -> int:
        return (await go.select(go.Recv(go.background().done()), default=True)).index

    assert sim(main) == -1


def test_select_cancelled_after_commit_does_not_lose_the_value() -> None:
    """A select woken with a value and then cancelled either returns the value or gives it
    back to the channel: it is never lost."""

    async def main() -> Any:
        c: go.Chan[int] = go.Chan(0)
        scope = anyio.CancelScope()

        async def sender() -> None:
            await go.sleep(1)
            await c.send(7)  # commits the select's receive case...
            scope.cancel()  # ...and cancels the select before it runs again

        go.go(sender)
        got = None
        with scope:
            got = (await go.select(go.Recv(c), go.Recv(go.Chan(0)))).value
            await go.sleep(0)
        if got is None:
            got, _ = await c.recv()
        return got

    assert sim(main) == 7
