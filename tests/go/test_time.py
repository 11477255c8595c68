"""Timers: G45-G47 (labkit models Go 1.23+ timer channels; asynctimerchan=True gives 1.19)."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit import go

from .helpers import sim, still_blocked


def test_g45_after_receives_the_time_once() -> None:
    async def main() -> tuple[Any, bool, float, bool]:
        c = go.after(1.5)
        v, ok = await c.recv()
        t = labkit.now()
        return v, ok, t, await still_blocked(c.recv)

    v, ok, t, blocked_after = sim(main)
    assert (v, ok, t) == (1.5, True, 1.5)
    assert blocked_after  # only one value, and the channel is never closed


def test_g45_after_as_select_timeout() -> None:
    async def main() -> tuple[int, float]:
        work: go.Chan[int] = go.Chan(0)
        s = await go.select(go.Recv(work), go.Recv(go.after(0.2)))
        return s.index, labkit.now()

    assert sim(main) == (1, 0.2)


def test_g45_late_receiver_still_gets_the_value() -> None:
    async def main() -> tuple[Any, float]:
        c = go.after(1)
        await go.sleep(5)
        v, _ = await c.recv()
        return v, labkit.now()

    assert sim(main) == (1.0, 5.0)


def test_g46_ticker_ticks_on_schedule() -> None:
    async def main() -> list[float]:
        t = go.Ticker(0.01)
        got = [(await t.c.recv())[0] for _ in range(5)]
        t.stop()
        return got

    assert sim(main) == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])


def test_g46_ticker_drops_ticks_for_slow_receiver() -> None:
    async def main() -> tuple[list[float], Any]:
        t = go.Ticker(0.01)
        await go.sleep(0.105)  # about 10 ticks happen; at most one waits
        first, _ = await t.c.recv()
        pending = await go.select(go.Recv(t.c), default=True)
        nxt, _ = await t.c.recv()
        t.stop()
        return [first, nxt], pending.index

    (first, nxt), pending = sim(main)
    assert first == pytest.approx(0.01)  # the oldest tick was kept; the rest were dropped
    assert pending == -1  # ticks do not queue up
    assert nxt == pytest.approx(0.11)


def test_g46_dropped_ticks_are_traced() -> None:
    async def main() -> None:
        t = go.Ticker(1)
        await go.sleep(5.5)
        t.stop()

    rows = list(labkit.simulate(main).trace)
    kinds = [r.kind for r in rows if r.actor == "ticker-1"]
    assert kinds == ["send", "drop", "drop", "drop", "drop"]


def test_g46_stop_does_not_close_and_stops_ticking() -> None:
    async def main() -> bool:
        t = go.Ticker(1)
        await t.c.recv()
        t.stop()
        return await still_blocked(t.c.recv)

    assert sim(main) is True


def test_g46_reset_changes_period() -> None:
    async def main() -> list[float]:
        t = go.Ticker(1)
        await t.c.recv()
        t.reset(5)
        got = [(await t.c.recv())[0], (await t.c.recv())[0]]
        t.stop()
        return got

    assert sim(main) == [6.0, 11.0]


def test_g47_timer_channels_report_cap_and_len_zero() -> None:
    async def main() -> tuple[int, int, int]:
        t = go.Ticker(1)
        await go.sleep(2.5)
        c = t.c
        result = (c.cap, len(c), (await go.select(go.Recv(c), default=True)).index)
        t.stop()
        return result

    assert sim(main) == (0, 0, 0)


def test_g47_no_stale_tick_after_stop() -> None:
    async def main() -> int:
        t = go.Ticker(1)
        await go.sleep(1.5)  # one tick is waiting, unread
        t.stop()
        return (await go.select(go.Recv(t.c), default=True)).index

    assert sim(main) == -1


def test_g47_timer_stop_and_reset() -> None:
    async def main() -> tuple[bool, int, bool, float]:
        t = go.Timer(1)
        stopped = t.stop()
        await go.sleep(2)
        nothing = (await go.select(go.Recv(t.c), default=True)).index
        t.reset(3)
        await t.c.recv()
        return stopped, nothing, t.stop(), labkit.now()

    assert sim(main) == (True, -1, False, 5.0)


def test_g46_asynctimerchan_gives_go_1_19_buffered_channel() -> None:
    async def main() -> tuple[int, int, int]:
        t = go.Ticker(1, asynctimerchan=True)
        await go.sleep(3.5)
        n = len(t.c)
        t.stop()  # Go 1.19: the buffered tick survives Stop
        stale = (await go.select(go.Recv(t.c), default=True)).index
        return t.c.cap, n, stale

    assert sim(main) == (1, 1, 0)


def test_running_ticker_keeps_virtual_time_moving() -> None:
    async def main() -> None:
        go.Ticker(1)
        await go.nil.recv()  # a live ticker is a pending timer: no deadlock, as in Go

    run = labkit.simulate(main, until=50)
    assert not run.completed
    assert run.elapsed == 50.0
