"""Bad input: clear TypeError/ValueError messages, and the public names of the contract."""

from __future__ import annotations

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

    with pytest.raises(TypeError, match="needs a function"):
        labkit.simulate(main)


def test_outside_a_run_is_not_in_run_error() -> None:
    with pytest.raises(labkit.NotInRunError):
        go.go(go.sleep, 1)
    with pytest.raises(labkit.NotInRunError):
        go.after(1)
    with pytest.raises(labkit.NotInRunError):
        go.with_timeout(go.background(), 1)


@pytest.mark.parametrize("bad", [0, -1])
def test_ticker_needs_positive_interval(bad: float) -> None:
    async def main() -> None:
        go.Ticker(bad)

    with pytest.raises(ValueError, match="non-positive interval"):
        labkit.simulate(main)


@pytest.mark.parametrize("bad", ["1s", None, True, float("nan")])
def test_durations_must_be_numbers(bad: Any) -> None:
    async def main() -> None:
        go.after(bad)

    with pytest.raises(TypeError, match="number of seconds"):
        labkit.simulate(main)


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
