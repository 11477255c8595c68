"""Bad input to the Rust dialect, tried as a new user would: every count, capacity and
duration refuses a wrong type with ``TypeError`` and an out-of-range value with
``ValueError``, both saying ``NAME must be ACCEPTED, got TYPE VALUE``; huge values and
infinities either work or wait for ever, as they would in tokio."""

from __future__ import annotations

import gc
import math
import warnings
from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import Semaphore, broadcast, mpsc, watch
from tests.badinput import Param, bad_input_tests, run


async def _nothing() -> int:
    return 1


def _sender() -> mpsc.Sender[Any]:
    return mpsc.channel(1)[0]  # a fresh channel for each try


def _std_receiver() -> mpsc.StdReceiver[Any]:
    return mpsc.std_channel()[1]


#: Not ints (bools and floats refused too, as in Rust).
NOT_INTS = [None, "3", 1.5, True, math.nan, math.inf]
#: Not numbers of seconds.
NOT_SECONDS = [None, "1s", True, 2j, [1.0]]
#: Out of range for a count that may be 0 or must be at least 1.
BELOW_0 = [-1, -(10**30)]
BELOW_1 = [0, -1]

PARAMS = [
    Param("mpsc.channel", mpsc.channel, "mpsc channel capacity", "an int >= 1", NOT_INTS,
          BELOW_1),
    Param("mpsc.sync_channel", mpsc.sync_channel, "sync_channel capacity", "an int >= 0",
          NOT_INTS, BELOW_0),
    Param("broadcast.channel", broadcast.channel, "broadcast channel capacity",
          "an int >= 1", NOT_INTS, BELOW_1),
    Param("Sender.reserve_many", lambda n: _sender().reserve_many(n), "n", "an int >= 0",
          NOT_INTS, BELOW_0),
    Param("Sender.try_reserve_many", lambda n: _sender().try_reserve_many(n), "n",
          "an int >= 0", NOT_INTS, BELOW_0),
    Param("Receiver.recv_many", lambda n: mpsc.channel(1)[1].recv_many([], n), "limit",
          "an int >= 0", NOT_INTS, BELOW_0),
    Param("Semaphore", Semaphore, "permits", "an int >= 0", NOT_INTS, BELOW_0),
    Param("Semaphore.add_permits", lambda n: Semaphore(1).add_permits(n), "n",
          "an int >= 0", NOT_INTS, BELOW_0),
    Param("Semaphore.forget_permits", lambda n: Semaphore(1).forget_permits(n), "n",
          "an int >= 0", NOT_INTS, BELOW_0),
    Param("Semaphore.acquire_many", lambda n: Semaphore(1).acquire_many(n), "n",
          "an int >= 0", NOT_INTS, BELOW_0),
    Param("Semaphore.try_acquire_many", lambda n: Semaphore(1).try_acquire_many(n), "n",
          "an int >= 0", NOT_INTS, BELOW_0),
    Param("rust.sleep", rust.sleep, "seconds", "a number of seconds >= 0", NOT_SECONDS,
          [math.nan, -1, -0.5, -math.inf]),
    Param("rust.timeout", lambda s: rust.timeout(s, _nothing()), "seconds",
          "a number of seconds >= 0", NOT_SECONDS, [math.nan, -1, -math.inf]),
    Param("rust.sleep_until", rust.sleep_until, "deadline", "a number of seconds",
          NOT_SECONDS, [math.nan]),
    Param("rust.interval", rust.interval, "period", "a finite number of seconds > 0",
          NOT_SECONDS, [math.nan, 0, -1, math.inf]),
    Param("Interval start", lambda s: rust.Interval(1.0, start=s), "start",
          "a finite number of seconds", NOT_SECONDS[1:], [math.nan, math.inf]),  # None: now
    Param("Sender.send_timeout", lambda s: _sender().send_timeout("v", s), "seconds",
          "a number of seconds >= 0", NOT_SECONDS, [math.nan, -1]),
    Param("StdReceiver.recv_timeout", lambda s: _std_receiver().recv_timeout(s), "seconds",
          "a number of seconds >= 0", NOT_SECONDS, [math.nan, -1]),
]


#: Every wrong type is a TypeError, every value out of range a ValueError.
test_a_value_of_the_wrong_type_is_a_type_error, test_a_value_out_of_range_is_a_value_error = (
    bad_input_tests(PARAMS))


def test_r36_an_interval_started_at_none_starts_now() -> None:
    async def main() -> float:
        await rust.sleep(2)
        return rust.Interval(1.0, start=None).deadline()

    assert labkit.simulate(main).result == 2.0


def test_r36_a_rejected_timeout_does_not_leave_its_coroutine_unawaited() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError):
            run(lambda s: rust.timeout(s, _nothing()), -1)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_huge_values_work_as_in_tokio() -> None:
    async def main() -> list[Any]:
        tx, rx = mpsc.channel(10**30)
        btx, brx = broadcast.channel(10**30)  # rounded up to a power of two (R23)
        btx.send("x")
        sem = Semaphore(10**30)
        permit = await sem.acquire_many(10**29)
        too_many = await tx.reserve_many(10**30 + 1)  # more than max_capacity: Err (R13)
        return [(await brx.recv()).unwrap(), sem.available_permits(), permit.num_permits(),
                too_many, tx.capacity(), rx.statistics().capacity]

    assert labkit.simulate(main).result == [
        "x", 9 * 10**29, 10**29, rust.Err(mpsc.SendError(None)), 10**30, 10**30]


def test_a_huge_timeout_is_still_waiting_when_the_run_stops() -> None:
    async def main() -> Any:
        _tx, rx = mpsc.channel(1)
        return await rust.timeout(10**30, rx.recv())

    assert not labkit.simulate(main, until=5).completed


def test_inf_waits_for_ever_and_zero_does_not_wait() -> None:
    async def main() -> list[Any]:
        _tx, rx = mpsc.channel(1)
        zero = await rust.timeout(0, rx.recv())
        quick = await rust.timeout(math.inf, _nothing())
        await rust.sleep(0)
        await rust.sleep_until(-math.inf)  # a deadline long past: at once
        return [zero, quick, labkit.now()]

    assert labkit.simulate(main).result == [rust.Err(rust.Elapsed()), rust.Ok(1), 0.0]


# -- functions where a function is expected -------------------------------------------------


def plain(x: int) -> int:
    return x


def test_r32_spawn_refuses_a_plain_function_at_the_call() -> None:
    async def main() -> None:
        rust.spawn(plain, 1)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"^fn must be an async function \(async def\), "
                                        r"got function <function plain"):
        labkit.simulate(main)


@pytest.mark.parametrize("bad", [None, 42, "work", _nothing()])
def test_r34_joinset_spawn_refuses_what_is_not_an_async_function(bad: Any) -> None:
    async def main() -> int:
        tasks: rust.JoinSet[Any] = rust.JoinSet()
        with pytest.raises(TypeError, match=r"^fn must be an async function \(async def\)"):
            tasks.spawn(bad)
        return len(tasks)

    try:
        assert labkit.simulate(main).result == 0  # nothing was started
    finally:
        if hasattr(bad, "close"):
            bad.close()


@pytest.mark.parametrize(("bad", "error"), [(5, TypeError), ("", ValueError)])
def test_spawn_refuses_a_name_that_is_not_a_non_empty_string(bad: Any,
                                                             error: type[Exception]) -> None:
    async def main() -> None:
        rust.spawn(_nothing, name=bad)

    with pytest.raises(error, match=r"^name must be a"):
        labkit.simulate(main)


def test_r26_watch_callbacks_must_be_callable() -> None:
    async def main() -> None:
        tx, rx = watch.channel(0)
        with pytest.raises(TypeError, match=r"^modify must be a function, got int 3$"):
            tx.send_modify(3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^modify must be a function, got NoneType"):
            tx.send_if_modified(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^predicate must be a function, got str 'x'$"):
            await rx.wait_for("x")  # type: ignore[arg-type]
        assert tx.statistics().sent == 0  # nothing was stored

    labkit.simulate(main)


def test_r19_recv_many_needs_a_list_to_fill() -> None:
    async def main() -> None:
        _tx, rx = mpsc.channel(1)
        await rx.recv_many((), 2)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"^buffer must be a list, got tuple \(\)$"):
        labkit.simulate(main)


def test_r36_missed_tick_behaviour_must_be_one_of_three() -> None:
    async def main() -> None:
        rust.interval(1.0, "drop")

    with pytest.raises(ValueError, match=r"^missed must be one of 'burst', 'skip', 'delay', "
                                         r"got str 'drop'$"):
        labkit.simulate(main)
