"""Bad input: clear TypeError/ValueError messages, and the public names of the contract."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import labkit
from labkit import go


@pytest.mark.parametrize("cap", [-1, -100])
def test_negative_capacity_is_value_error(cap: int) -> None:
    with pytest.raises(ValueError, match=r"capacity must be an int >= 0"):
        go.Chan(cap)


@pytest.mark.parametrize("cap", [1.5, "3", None, True])
def test_non_int_capacity_is_type_error(cap: Any) -> None:
    with pytest.raises(TypeError, match=r"capacity must be an int"):
        go.Chan(cap)


def test_select_rejects_non_cases() -> None:
    async def main() -> None:
        ch: go.Chan[int] = go.Chan(1)
        await go.select(ch.recv())  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"go.Recv\(ch\)"):
        labkit.simulate(main)


def test_select_case_needs_a_chan() -> None:
    with pytest.raises(TypeError, match=r"go\.Chan"):
        go.Recv([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"go\.Chan"):
        go.Send("ch", 1)  # type: ignore[arg-type]


def test_go_with_a_coroutine_is_type_error() -> None:
    async def worker() -> None:
        pass

    async def main() -> None:
        go.go(worker())  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"go.go\(worker, x\)"):
        labkit.simulate(main)


def test_go_with_non_callable() -> None:
    async def main() -> None:
        go.go(42)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="fn must be a function, got int 42"):
        labkit.simulate(main)


def _in_run(call: Callable[[], object]) -> None:
    async def main() -> None:
        call()

    labkit.simulate(main)


def _in_run_async(call: Callable[[], Awaitable[object]]) -> None:
    async def main() -> None:
        await call()

    labkit.simulate(main)


#: Calls taking a Go duration in seconds, each with the bad value ``v``.
DURATIONS: dict[str, Callable[[Any], object]] = {
    "after": go.after,
    "Timer": go.Timer,
    "Timer.reset": lambda v: go.Timer(1).reset(v),
    "Ticker": go.Ticker,
    "Ticker.reset": lambda v: go.Ticker(1).reset(v),
    "with_timeout": lambda v: go.with_timeout(go.background(), v),
    "with_deadline": lambda v: go.with_deadline(go.background(), v),
}
BAD_DURATIONS: list[tuple[object, type[Exception]]] = [
    ("1s", TypeError), (None, TypeError), (True, TypeError), ([1], TypeError),
    (math.nan, ValueError), (10**400, ValueError),
]


@pytest.mark.parametrize(("value", "error"), BAD_DURATIONS)
@pytest.mark.parametrize("call", list(DURATIONS))
def test_durations_are_numbers_of_seconds(call: str, value: object,
                                          error: type[Exception]) -> None:
    """Wrong type: TypeError; NaN or an int too large for a float: ValueError. The message
    names the parameter (``seconds``, or ``when`` for a deadline)."""
    with pytest.raises(error) as info:
        _in_run(lambda: DURATIONS[call](value))
    assert type(info.value) is error
    assert re.match(r"(seconds|when) must be a (finite )?number of seconds", str(info.value))


@pytest.mark.parametrize(("value", "error"), BAD_DURATIONS)
def test_sleep_takes_seconds(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="seconds must be a number of seconds"):
        _in_run_async(lambda: go.sleep(value))  # type: ignore[arg-type]


def test_negative_durations_mean_now_as_in_go() -> None:
    """G45: a timer with a duration <= 0 fires at once; a deadline in the past has passed;
    ``time.Sleep`` of a negative duration returns at once."""
    async def main() -> tuple[float, float, object]:
        await go.sleep(-5)
        slept = labkit.now()
        t, _ok = await go.after(-1).recv()
        ctx, cancel = go.with_timeout(go.background(), -2.0)
        cancel()
        return slept, t, ctx.err()

    assert labkit.simulate(main).result == (0.0, 0.0, go.DeadlineExceeded)


@pytest.mark.parametrize("bad", [0, -1, -math.inf])
def test_ticker_needs_positive_interval(bad: float) -> None:
    """Go panics on a non-positive ticker period; here it is a ValueError."""
    with pytest.raises(ValueError, match=r"seconds must be a number of seconds > 0"):
        _in_run(lambda: go.Ticker(bad))


@pytest.mark.parametrize("call", [
    lambda: go.after(1, asynctimerchan=1),  # type: ignore[arg-type]
    lambda: go.Timer(1, asynctimerchan="yes"),  # type: ignore[arg-type]
    lambda: go.Ticker(1, asynctimerchan=None),  # type: ignore[arg-type]
])
def test_asynctimerchan_is_true_or_false(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match="asynctimerchan must be True or False"):
        _in_run(call)


@pytest.mark.parametrize("call", [
    lambda: go.with_cancel(None),  # type: ignore[arg-type]
    lambda: go.with_cancel_cause("ctx"),  # type: ignore[arg-type]
    lambda: go.with_timeout(1.0, 2.0),  # type: ignore[arg-type]
    lambda: go.with_deadline({}, 2.0),  # type: ignore[arg-type]
    lambda: go.with_value(None, "k", 1),  # type: ignore[arg-type]
])
def test_contexts_derive_from_a_context(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match=r"parent must be a go\.Context"):
        _in_run(call)


def test_context_values_need_a_hashable_key_and_cause_a_context() -> None:
    with pytest.raises(TypeError, match="key must be a hashable value other than None"):
        go.with_value(go.background(), None, 1)
    with pytest.raises(TypeError, match="key must be a hashable value"):
        go.with_value(go.background(), ["k"], 1)
    with pytest.raises(TypeError, match=r"ctx must be a go\.Context"):
        go.cause("ctx")  # type: ignore[arg-type]


def test_waitgroup_and_limit_need_ints() -> None:
    with pytest.raises(TypeError):
        go.WaitGroup().add(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        go.ErrGroup().set_limit("2")  # type: ignore[arg-type]


def test_design_contract_names_exist() -> None:
    names = ["Chan", "nil", "select", "Recv", "Send", "Selected", "go", "Panic", "panic",
             "recover", "Deadlock", "background", "with_cancel", "with_timeout",
             "with_deadline", "with_cancel_cause", "cause", "Canceled", "DeadlineExceeded",
             "WaitGroup", "ErrGroup", "errgroup_with_context", "after", "Ticker"]
    for name in names:
        assert name in go.__all__, name
        assert hasattr(go, name), name
    assert isinstance(go.__all__, tuple)
    assert sorted(go.__all__) == sorted(set(go.__all__))
    for name in go.__all__:
        assert hasattr(go, name), name
