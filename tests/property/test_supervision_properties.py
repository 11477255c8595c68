"""Property tests for labkit.supervision over random failure schedules (virtual time).

* Intensity (OTP MaxR/MaxT): a supervisor escalates at the first failure that would make
  more than ``intensity`` restarts within ``period`` seconds (that failure included), and
  never otherwise.
* Backoff (Akka ``restartWithBackoff``): the k-th consecutive restart waits between
  ``min(max, min * 2**k)`` and ``(1 + random_factor)`` times that; ``k`` counts the
  restarts since the child last ran ``reset_after`` seconds without failing.

Hypothesis settings come from tests/conftest.py (derandomized by default).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import labkit
from labkit.actor import Actor, ActorSystem, Context
from labkit.supervision import Backoff, Child, Escalation, Supervisor, which_children

# Gaps between failures in half seconds: sums stay exact in binary floating point, so a
# failure exactly ``period`` seconds after another is on the window's edge, as OTP's is.
gaps_st = st.lists(st.integers(1, 16).map(lambda n: n * 0.5), min_size=1, max_size=12)


class Crashy(Actor):
    def __init__(self, starts: list[float]) -> None:
        self.starts = starts

    async def on_start(self, ctx: Context) -> None:
        self.starts.append(labkit.now())

    async def receive(self, msg: Any, ctx: Context) -> None:
        raise RuntimeError("crash")


async def fail_on_schedule(gaps: list[float], starts: list[float],
                           options: dict[str, Any]) -> None:
    """Fail the child after each gap (counted from its latest start)."""
    async with ActorSystem() as system:
        sup = system.spawn(Supervisor, [Child(Crashy, starts, name="c")], name="sup",
                           **options)
        for n, gap in enumerate(gaps, start=1):
            while len(starts) < n:  # until (re)started; an escalation ends the run
                await labkit.sleep(0.125)
            await labkit.sleep(starts[-1] + gap - labkit.now())
            ref = (await which_children(sup))[0].ref
            assert ref is not None
            ref.tell("boom")
        while len(starts) <= len(gaps):
            await labkit.sleep(0.125)


def expected_escalation(times: list[float], intensity: int, period: float) -> int | None:
    """Index of the failure that escalates: the first with more than ``intensity``
    failures in ``[t - period, t]``."""
    for i, t in enumerate(times):
        if sum(1 for u in times[:i + 1] if u >= t - period) > intensity:
            return i
    return None


@given(gaps=gaps_st, intensity=st.integers(0, 3), period=st.integers(1, 10).map(float))
def test_a_supervisor_escalates_exactly_when_restarts_exceed_its_intensity(
        gaps: list[float], intensity: int, period: float) -> None:
    times, now = [], 0.0
    for gap in gaps:  # no backoff: each restart is immediate
        now += gap
        times.append(now)
    expected = expected_escalation(times, intensity, period)
    options = {"intensity": intensity, "period": period}
    starts: list[float] = []
    if expected is None:
        labkit.simulate(fail_on_schedule, gaps, starts, options)
        assert starts == [0.0, *times]
        return
    with pytest.raises(Escalation) as caught:
        labkit.simulate(fail_on_schedule, gaps, starts, options)
    assert caught.value.restarts == intensity + 1
    run = caught.value.run
    assert list(run.trace.events(kind="escalate")["time"]) == [times[expected]]
    assert starts == [0.0, *times[:expected]]


@given(gaps=gaps_st,
       low=st.floats(0.01, 2.0), spread=st.floats(1.0, 50.0),
       random_factor=st.sampled_from([0.0, 0.2, 1.0]),
       reset_after=st.one_of(st.none(), st.floats(0.5, 8.0)),
       seed=st.integers(0, 2**16))
def test_backoff_delays_stay_within_their_bounds(
        gaps: list[float], low: float, spread: float, random_factor: float,
        reset_after: float | None, seed: int) -> None:
    backoff = Backoff(min=low, max=low * spread, random_factor=random_factor,
                      reset_after=reset_after)
    starts: list[float] = []
    options = {"intensity": 10**6, "period": 1.0, "backoff": backoff}
    run = labkit.simulate(fail_on_schedule, gaps, starts, options, seed=seed)
    delays = [float(re.search(r"delay (\S+) s", d).group(1))  # type: ignore[union-attr]
              for d in run.trace.events(kind="restart")["detail"]]
    assert len(delays) == len(gaps)
    k = 0
    for n, (gap, delay) in enumerate(zip(gaps, delays, strict=True)):
        if gap >= backoff.reset_seconds:
            k = 0
        base = min(backoff.max, backoff.min * 2 ** k)
        assert base * (1 - 1e-5) <= delay <= base * (1 + random_factor) * (1 + 1e-5)
        # the restart came that long after the failure
        assert starts[n + 1] == pytest.approx(starts[n] + gap + delay, rel=1e-5)
        k += 1
