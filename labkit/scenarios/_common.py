"""Helpers every scenario module shares: parameter checks and runs that may hang."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import labkit
from labkit import Deadlock, Run

__all__ = (
    "INTERVALS",
    "check_choice",
    "check_count",
    "check_model",
    "check_positive",
    "interval",
    "paced_workload",
    "percentile",
    "simulate_may_hang",
    "with_result",
)

T = TypeVar("T")

#: How a paced party draws the gap between two steps.
INTERVALS = ("exponential", "fixed")


def check_model(model: object, allowed: tuple[str, ...]) -> str:
    """``model`` must be one of ``allowed`` ("go", "rust", "actor")."""
    if model not in allowed:
        raise ValueError(f"unknown model {model!r}: choose one of "
                         f"{', '.join(repr(m) for m in allowed)}")
    return str(model)


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    """``value`` must be one of ``allowed``; the message names the parameter."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}, "
                         f"got {value!r}")
    return str(value)


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """An ``int`` of at least ``minimum`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0 with ``allow_zero``), in seconds or per second."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return float(value)


def interval(rng: random.Random, mean: float, kind: str) -> float:
    """One gap of mean ``mean`` seconds: exponential (a Poisson process) or fixed."""
    if kind == "fixed":
        return mean
    return rng.expovariate(1.0 / mean)


def paced_workload(n: int, in_rate: float, out_rate: float,
                   pacing: str) -> tuple[list[float], list[float]]:
    """The gaps before each of ``n`` arrivals (mean ``1/in_rate``) and the time to handle
    each (mean ``1/out_rate``), drawn up front from the run's RNG so that every model sees
    exactly the same workload for one seed."""
    rng = labkit.rng()
    gaps = [interval(rng, 1.0 / in_rate, pacing) for _ in range(n)]
    work = [interval(rng, 1.0 / out_rate, pacing) for _ in range(n)]
    return gaps, work


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (as pandas and numpy compute it); NaN
    for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def with_result(run: Run[Any], result: T) -> Run[T]:
    """``run`` with its ``result`` replaced (a run stopped by a deadlock has none)."""
    return dataclasses.replace(run, result=result)


def simulate_may_hang(main: Callable[..., Awaitable[T]], *args: Any, seed: int
                      ) -> tuple[Run[T | None], dict[str, str]]:
    """Simulate ``main``; a :class:`labkit.Deadlock` does not escape.

    Returns the run (on a deadlock, the partial run the exception carries, whose result is
    ``None``) and, on a deadlock, what each task was blocked on, from the report (G33).
    """
    try:
        return labkit.simulate(main, *args, seed=seed), {}
    except Deadlock as exc:
        run: Run[T | None] = exc.run
        return run, exc.blocked
