"""Helpers every scenario module shares: parameter checks and runs that may hang.

Every check goes through :mod:`labkit._check` (wrong type -> ``TypeError``, out of range
-> ``ValueError``, one message shape); the helpers here only fix what a scenario's
parameter of each kind accepts, so that ``messages``, ``arrival_rate`` or ``service`` mean
the same thing in every scenario.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import labkit
from labkit import Deadlock, Run
from labkit._check import check_choice, check_int, check_number, check_seed

__all__ = (
    "INTERVALS",
    "MAX_COUNT",
    "MAX_PARTIES",
    "MAX_SECONDS",
    "MAX_SKEW",
    "MAX_SPREAD",
    "MIN_RATE",
    "check_count",
    "check_fraction",
    "check_model",
    "check_offered",
    "check_parties",
    "check_rate",
    "check_seconds",
    "check_skew",
    "check_spread",
    "check_workload",
    "interval",
    "intervals",
    "paced_workload",
    "percentile",
    "simulate",
    "simulate_may_hang",
    "with_result",
)

T = TypeVar("T")

#: How a paced party draws the gap between two steps.
INTERVALS = ("exponential", "fixed")
#: The most messages, keys, rounds or parties a scenario takes: a run of that size already
#: takes seconds; more would look like a hang.
MAX_COUNT = 1_000_000
#: The widest spread of service times (coefficient of variation) a scenario draws.
MAX_SPREAD = 10
#: The steepest Zipf exponent for keys: at 10 the hottest key already takes nearly all.
MAX_SKEW = 10
#: The most workers, producers, subscribers or shards (tasks) a scenario starts.
MAX_PARTIES = 10_000
#: The longest duration a scenario parameter takes, in seconds (about eleven days of
#: virtual time): sums of such times never overflow to infinity.
MAX_SECONDS = 1_000_000
#: The slowest rate a scenario takes, per second: one event in :data:`MAX_SECONDS`.
MIN_RATE = 1 / MAX_SECONDS


def check_model(model: object, allowed: tuple[str, ...]) -> str:
    """``model`` must be one of ``allowed`` ("go", "rust", "actor")."""
    return check_choice("model", model, allowed)


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """An ``int`` from ``minimum`` to :data:`MAX_COUNT` (bools refused)."""
    return check_int(name, value, minimum=minimum, maximum=MAX_COUNT)


def check_seconds(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A finite duration in seconds: > 0 (>= 0 with ``allow_zero``), <= :data:`MAX_SECONDS`."""
    return check_number(name, value, minimum=0, above=not allow_zero, maximum=MAX_SECONDS,
                        unit="seconds")


def check_rate(name: str, value: object) -> float:
    """A rate in events per second: finite, at least :data:`MIN_RATE`."""
    return check_number(name, value, minimum=MIN_RATE, unit="events per second")


def check_spread(name: str, value: object) -> float:
    """A coefficient of variation of service times (0: all alike, 1: exponential), from 0
    to :data:`MAX_SPREAD`."""
    return check_number(name, value, minimum=0, maximum=MAX_SPREAD)


def check_skew(name: str, value: object) -> float:
    """A Zipf exponent for keys (0: uniform, 1: web-like), from 0 to :data:`MAX_SKEW`."""
    return check_number(name, value, minimum=0, maximum=MAX_SKEW)


def check_fraction(name: str, value: object, *, allow_zero: bool = False,
                   allow_one: bool = False) -> float:
    """A number between 0 and 1 (a load, a probability); 0 and 1 themselves only with
    ``allow_zero`` / ``allow_one``."""
    return check_number(name, value, minimum=0, maximum=1, above=not allow_zero,
                        below=not allow_one)


def check_parties(name: str, value: object, *, minimum: int = 1) -> int:
    """How many workers, producers, subscribers or shards: an ``int`` from ``minimum`` to
    :data:`MAX_PARTIES` (each is a task of its own)."""
    return check_int(name, value, minimum=minimum, maximum=MAX_PARTIES)


def check_workload(messages: object, in_rate: object, out_rate: object, pacing: object, *,
                   names: tuple[str, str, str] = ("messages", "arrival_rate", "service_rate"),
                   min_messages: int = 1) -> tuple[int, float, float, str]:
    """The parameters of a :func:`paced_workload`, checked: how many messages, the two
    rates (named ``names``) and the ``pacing`` (one of :data:`INTERVALS`)."""
    return (check_count(names[0], messages, minimum=min_messages),
            check_rate(names[1], in_rate), check_rate(names[2], out_rate),
            check_choice("pacing", pacing, INTERVALS))


def check_offered(name: str, value: object, model: str,
                  offered: Mapping[str, tuple[str, ...]], *,
                  why: Mapping[tuple[str, str], str] | None = None,
                  optional: bool = False) -> str:
    """A ``name`` (a policy, a design, a strategy) that ``model`` offers, one of
    ``offered[model]``; with ``optional``, ``None`` is the model's first. One that only
    another model offers is a ``ValueError`` saying why (``why[model, value]``, else which
    model has it) and what ``model`` offers instead."""
    if value is None and optional:
        return offered[model][0]
    known = tuple(dict.fromkeys(v for values in offered.values() for v in values))
    choice = check_choice(name, value, known)
    if choice in offered[model]:
        return choice
    owners = " and ".join(m for m, values in offered.items() if choice in values)
    reason = (why or {}).get((model, choice), f"it is a {owners} {name}")
    choices = ", ".join(repr(v) for v in offered[model])
    raise ValueError(f"model {model!r} has no {name} {choice!r}: {reason} "
                     f"(model {model!r} offers {choices})")


def interval(rng: random.Random, mean: float, kind: str) -> float:
    """One gap of mean ``mean`` seconds: exponential (a Poisson process) or fixed."""
    if kind == "fixed":
        return mean
    return rng.expovariate(1.0 / mean)


def intervals(rng: random.Random, n: int, mean: float, kind: str) -> list[float]:
    """``n`` gaps drawn one after another as :func:`interval` draws each (the same values,
    without a call per draw)."""
    if kind == "fixed":
        return [mean] * n
    rate = 1.0 / mean
    return [rng.expovariate(rate) for _ in range(n)]


def paced_workload(n: int, in_rate: float, out_rate: float,
                   pacing: str) -> tuple[list[float], list[float]]:
    """The gaps before each of ``n`` arrivals (mean ``1/in_rate``) and the time to handle
    each (mean ``1/out_rate``), drawn up front from the run's RNG so that every model sees
    exactly the same workload for one seed."""
    rng = labkit.rng()
    gaps = intervals(rng, n, 1.0 / in_rate, pacing)
    work = intervals(rng, n, 1.0 / out_rate, pacing)
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


def simulate(main: Callable[..., Awaitable[T]], *args: Any, seed: object) -> Run[T]:
    """:func:`labkit.simulate` with the scenario's ``seed`` checked first (an int, or
    ``None`` for a fresh one)."""
    return labkit.simulate(main, *args, seed=check_seed("seed", seed))


def simulate_may_hang(main: Callable[..., Awaitable[T]], *args: Any, seed: object
                      ) -> tuple[Run[T | None], dict[str, str]]:
    """Simulate ``main``; a :class:`labkit.Deadlock` does not escape.

    Returns the run (on a deadlock, the partial run the exception carries, whose result is
    ``None``) and, on a deadlock, what each task was blocked on, from the report (G33).
    """
    try:
        return simulate(main, *args, seed=seed), {}
    except Deadlock as exc:
        run: Run[T | None] = exc.run
        return run, exc.blocked
