"""Argument checks: one validator per kind of value, one rule for all of labkit.

A value of the wrong type raises ``TypeError``; a value of the right type but out of range
raises ``ValueError``. Both messages have one shape, naming the parameter and what it
accepts: ``capacity must be an int >= 0, got -1``. Bools are refused wherever a number is
expected (``True`` is an ``int`` in Python, but never a capacity).

Every layer (Go, Rust, actors, routing, flow, scenarios, viz, CLI) validates through here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

__all__ = (
    "accepted_range",
    "check_async_function",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_int",
    "check_number",
    "check_optional_seconds",
    "check_seconds",
    "check_seed",
    "check_str",
    "describe",
)


def describe(value: object) -> str:
    """``value`` as an error message shows it: its type and repr (``float nan``)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def accepted_range(kind: str, minimum: float | None, maximum: float | None, *,
                   above: bool = False) -> str:
    """``"an int >= 0"``, ``"a number > 0"``, ``"an int from 1 to 64"``."""
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{kind} {'>' if above else '>='} {minimum:g}"
    if maximum is not None:
        return f"{kind} <= {maximum:g}"
    return kind


def _fail(name: str, accepted: str, value: object, error: type[Exception]) -> Exception:
    return error(f"{name} must be {accepted}, got {describe(value)}")


def check_int(name: str, value: object, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An ``int`` (bools refused) within ``[minimum, maximum]``."""
    accepted = accepted_range("an int", minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, accepted, value, TypeError)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(name, accepted, value, ValueError)
    return value


def check_number(name: str, value: object, *, minimum: float | None = None,
                 maximum: float | None = None, above: bool = False,
                 allow_inf: bool = False, unit: str = "") -> float:
    """A real number (int or float, bools refused): never NaN; infinite only with
    ``allow_inf``; at least ``minimum`` (more than it with ``above``), at most ``maximum``.
    ``unit`` names what it counts in messages (``"seconds"``)."""
    kind = "a number" if allow_inf else "a finite number"
    if unit:
        kind += f" of {unit}"
    accepted = accepted_range(kind, minimum, maximum, above=above)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, accepted, value, TypeError)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise _fail(name, accepted, value, ValueError)
    if minimum is not None and (value <= minimum if above else value < minimum):
        raise _fail(name, accepted, value, ValueError)
    if maximum is not None and value > maximum:
        raise _fail(name, accepted, value, ValueError)
    return float(value)


def check_seconds(name: str, value: object, *, allow_inf: bool = True,
                  allow_negative: bool = False, above_zero: bool = False) -> float:
    """A duration or time on the run's clock, in seconds: ``>= 0`` (``> 0`` with
    ``above_zero``; any sign with ``allow_negative``, as Go's timers take), never NaN;
    ``inf`` means "never" unless ``allow_inf`` is false."""
    if allow_negative:
        return check_number(name, value, allow_inf=allow_inf, unit="seconds")
    return check_number(name, value, minimum=0, above=above_zero, allow_inf=allow_inf,
                        unit="seconds")


def check_optional_seconds(name: str, value: object, *, allow_inf: bool = True,
                           above_zero: bool = False) -> float | None:
    """``None`` (no limit) or :func:`check_seconds`."""
    if value is None:
        return None
    return check_seconds(name, value, allow_inf=allow_inf, above_zero=above_zero)


def check_seed(name: str, value: object) -> int | None:
    """A random seed: an ``int`` or ``None`` (a fresh, unrepeatable seed)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, "an int or None", value, TypeError)
    return value


def check_bool(name: str, value: object) -> bool:
    """``True`` or ``False`` (not ``0``/``1``, not ``"no"``)."""
    if not isinstance(value, bool):
        raise _fail(name, "True or False", value, TypeError)
    return value


def check_str(name: str, value: object, *, allow_empty: bool = False) -> str:
    """A string (non-empty unless ``allow_empty``)."""
    if not isinstance(value, str):
        raise _fail(name, "a string", value, TypeError)
    if not value and not allow_empty:
        raise _fail(name, "a non-empty string", value, ValueError)
    return value


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """One of the strings in ``allowed``."""
    options = tuple(allowed)
    accepted = "one of " + ", ".join(repr(a) for a in options)
    if not isinstance(value, str):
        raise _fail(name, accepted, value, TypeError)
    if value not in options:
        raise _fail(name, accepted, value, ValueError)
    return value


def check_callable(name: str, value: object) -> Callable[..., Any]:
    """Something that can be called."""
    if not callable(value):
        raise _fail(name, "a function", value, TypeError)
    return value


def check_async_function(name: str, value: object) -> Callable[..., Any]:
    """An ``async def`` function (a bound method, a ``functools.partial`` of one, or an
    object whose ``__call__`` is one): the body of a goroutine, task or run. A plain
    ``def`` function is refused here rather than failing later inside the task. A
    ``lambda`` is let through: it cannot be ``async``, and ``lambda: main(3)`` (a call
    that makes a coroutine) is an everyday way to pass arguments."""
    if not callable(value):
        raise _fail(name, "an async function (async def)", value, TypeError)
    if inspect.iscoroutinefunction(value):  # unwraps bound methods and partials
        return value
    if inspect.isfunction(value) and value.__name__ == "<lambda>":
        return value
    if (not inspect.isroutine(value) and not inspect.isclass(value)
            and inspect.iscoroutinefunction(getattr(value, "__call__", None))):  # noqa: B004
        return value
    raise _fail(name, "an async function (async def)", value, TypeError)
