"""Bad input to labkit.flow, tried as a new user would: wrong types give ``TypeError``,
values out of range ``ValueError``, both as ``NAME must be ACCEPTED, got TYPE VALUE``;
huge values either work or wait for ever."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import labkit
from labkit.flow import Credits, LoadShedder, TokenBucket, Watermarks, littles_law
from tests.badinput import Param, bad_input_tests

#: Not ints (bools and floats refused too).
NOT_INTS = [None, "3", 1.5, True, math.nan, math.inf, [1]]
#: Not numbers.
NOT_NUMBERS = [None, "0.5", True, 1j]

PARAMS = [
    Param("Credits", Credits, "initial", "an int >= 0", NOT_INTS, [-1]),
    Param("Credits.grant", lambda n: Credits().grant(n), "n", "an int >= 0", NOT_INTS, [-1]),
    Param("Credits.try_acquire", lambda n: Credits(5).try_acquire(n), "n", "an int >= 1",
          NOT_INTS, [0, -1]),
    Param("Credits.acquire", lambda n: Credits(5).acquire(n), "n", "an int >= 1", NOT_INTS,
          [0]),
    Param("Credits.done", lambda n: Credits().done(n), "n", "an int >= 1", NOT_INTS, [0]),
    Param("TokenBucket rate", TokenBucket, "rate", "a finite number > 0", NOT_NUMBERS,
          [math.nan, 0, -1.5, math.inf]),
    Param("TokenBucket burst", lambda n: TokenBucket(1.0, n), "burst",
          "an int from 1 to 1,000,000,000,000,000", NOT_INTS, [0, 10**15 + 1]),
    Param("TokenBucket.take", lambda n: TokenBucket(1.0, 3).take(n), "n",
          "an int from 1 to 3", NOT_INTS, [0, 4]),
    Param("TokenBucket.try_take", lambda n: TokenBucket(1.0, 3).try_take(n), "n",
          "an int from 1 to 3", NOT_INTS, [0, 10**30]),
    Param("Watermarks high", lambda n: Watermarks(n, 0), "high", "an int >= 1", NOT_INTS,
          [0]),
    Param("Watermarks low", lambda n: Watermarks(10, n), "low", "an int >= 0", NOT_INTS,
          [-1]),
    Param("Watermarks.update", lambda n: Watermarks(10, 1).update(n), "depth",
          "an int >= 0", NOT_INTS, [-1]),
    Param("LoadShedder threshold", LoadShedder, "threshold", "an int >= 1",
          NOT_INTS[1:], [0]),  # None: no threshold
    Param("LoadShedder probability", lambda p: LoadShedder(None, p), "probability",
          "a finite number from 0 to 1", NOT_NUMBERS, [math.nan, -0.1, 1.5, math.inf]),
    Param("LoadShedder.reason", lambda n: LoadShedder(3).reason(n), "depth", "an int >= 0",
          NOT_INTS, [-1]),
]


#: Every wrong type is a TypeError, every value out of range a ValueError.
test_a_value_of_the_wrong_type_is_a_type_error, test_a_value_out_of_range_is_a_value_error = (
    bad_input_tests(PARAMS))


def test_a_rate_so_small_that_a_token_takes_for_ever_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^rate must be a finite number >= 1e-300, "
                                         r"got float 1e-320$"):
        TokenBucket(1e-320)


@pytest.mark.parametrize(("make", "name"), [
    (lambda: Credits(name=3), "name"),  # type: ignore[arg-type]
    (lambda: TokenBucket(1.0, name=b"tb"), "name"),  # type: ignore[arg-type]
    (lambda: Watermarks(2, 1, name=None), "name"),  # type: ignore[arg-type]
    (lambda: LoadShedder(2, name=0), "name"),  # type: ignore[arg-type]
])
def test_names_must_be_strings(make: Callable[[], object], name: str) -> None:
    with pytest.raises(TypeError, match=rf"^{name} must be a string, got "):
        make()


def test_load_shedder_needs_an_actor_system_or_none() -> None:
    with pytest.raises(TypeError, match=r"^system must be an ActorSystem or None, "
                                        r"got str 'sys'$"):
        LoadShedder(3, system="sys")  # type: ignore[arg-type]
    assert LoadShedder(None, 0.5).threshold is None  # None: shed at random only


def test_littles_law_needs_a_trace_and_a_peer_name() -> None:
    with pytest.raises(TypeError, match=r"^trace must be a labkit Trace or its DataFrame "
                                        r"\(run.trace or run.trace.df\), got list \[\]$"):
        littles_law([])  # type: ignore[arg-type]

    async def main() -> None:
        await labkit.sleep(0)

    trace = labkit.simulate(main).trace
    with pytest.raises(TypeError, match=r"^peer must be a string, got int 1$"):
        littles_law(trace, peer=1)  # type: ignore[arg-type]


def test_huge_counts_work_or_wait_for_ever() -> None:
    async def main() -> list[Any]:
        credits = Credits(10**30)
        await credits.acquire(10**29)
        marks = Watermarks(10**30, 0)
        bucket = TokenBucket(1e300, 10**15)
        return [credits.outstanding, marks.update(10**30), bucket.try_take(10**15)]

    assert labkit.simulate(main).result == [9 * 10**29, "paused", True]

    async def greedy() -> None:
        await Credits(1).acquire(10**30)  # more than will ever be granted

    with pytest.raises(labkit.Deadlock, match="acquire a credit from credits-1"):
        labkit.simulate(greedy)
