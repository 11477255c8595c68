"""Helpers for the bad-input tests: run one call inside a run, and the uniform message."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import pytest

import labkit
from labkit._check import describe

#: One call with the value under test (its result is awaited if it is a coroutine).
Op = Callable[[Any], Any]


async def _call(op: Op, value: Any) -> Any:
    got = op(value)
    if isinstance(got, Awaitable):
        got = await got
    return got


def run(op: Op, value: Any) -> Any:
    """``op(value)`` inside a simulated run, awaited if it is a coroutine."""
    return labkit.simulate(_call, op, value).result


def message(name: str, accepted: str, value: Any) -> str:
    """The regex of labkit's one error message: ``NAME must be ACCEPTED, got TYPE VALUE``."""
    return "^" + re.escape(f"{name} must be {accepted}, got {describe(value)}") + "$"


class Param(NamedTuple):
    """One parameter of one public call: ``op(value)`` passes ``value`` as ``name``, which
    accepts ``accepted``; ``wrong_types`` must raise ``TypeError``, ``out_of_range``
    ``ValueError``."""

    what: str
    op: Op
    name: str
    accepted: str
    wrong_types: list[Any]
    out_of_range: list[Any]


def _cases(params: list[Param], which: str) -> list[Any]:
    """``pytest.param(op, name, accepted, value)`` for every value of ``which``
    (``"wrong_types"`` or ``"out_of_range"``) of every parameter."""
    return [pytest.param(p.op, p.name, p.accepted, bad, id=f"{p.what}-{bad!r}")
            for p in params for bad in getattr(p, which)]


def bad_input_tests(params: list[Param]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two tests of a module's :class:`Param` table, to bind to ``test_*`` names:
    every wrong type raises ``TypeError`` and every value out of range ``ValueError``,
    each with the uniform message."""

    @pytest.mark.parametrize(("op", "name", "accepted", "bad"), _cases(params, "wrong_types"))
    def wrong_type(op: Op, name: str, accepted: str, bad: Any) -> None:
        with pytest.raises(TypeError, match=message(name, accepted, bad)):
            run(op, bad)

    @pytest.mark.parametrize(("op", "name", "accepted", "bad"), _cases(params, "out_of_range"))
    def out_of_range(op: Op, name: str, accepted: str, bad: Any) -> None:
        with pytest.raises(ValueError, match=message(name, accepted, bad)):
            run(op, bad)

    return wrong_type, out_of_range
