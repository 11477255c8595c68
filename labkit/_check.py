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
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

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
    "check_sequence",
    "check_str",
    "describe",
    "returns_coroutine",
)

T = TypeVar("T")


def describe(value: object) -> str:
    """``value`` as an error message shows it: its type and repr (``float nan``)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def accepted_range(kind: str, minimum: float | None, maximum: float | None, *,
                   above: bool = False, below: bool = False) -> str:
    """``"an int >= 0"``, ``"a number > 0"``, ``"an int from 1 to 64"``,
    ``"a number > 0 and < 1"`` (``above``/``below``: the bound itself is refused)."""
    low = f"{'>' if above else '>='} {_bound(minimum)}" if minimum is not None else ""
    high = f"{'<' if below else '<='} {_bound(maximum)}" if maximum is not None else ""
    if low and high:
        if not above and not below:
            return f"{kind} from {_bound(minimum)} to {_bound(maximum)}"
        return f"{kind} {low} and {high}"
    if low or high:
        return f"{kind} {low or high}"
    return kind


def _bound(x: float | None) -> str:
    """A bound as a learner reads it: ``10000`` and ``0.5`` as ``:g`` writes them, but a
    whole number that ``:g`` would put in e-notation written out: ``1,000,000``."""
    assert x is not None
    text = f"{x:g}"
    if "e" in text and float(x).is_integer() and abs(x) < 1e16:
        return f"{int(x):,}"
    return text


def _fail(name: str, accepted: str, value: object, error: type[Exception]) -> Exception:
    return error(f"{name} must be {accepted}, got {describe(value)}")


def check_int(name: str, value: object, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An ``int`` (bools refused) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, accepted_range("an int", minimum, maximum), value, TypeError)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(name, accepted_range("an int", minimum, maximum), value, ValueError)
    return value


def check_number(name: str, value: object, *, minimum: float | None = None,
                 maximum: float | None = None, above: bool = False, below: bool = False,
                 allow_inf: bool = False, unit: str = "") -> float:
    """A real number (int or float, bools refused): never NaN; infinite only with
    ``allow_inf``; at least ``minimum`` (more than it with ``above``), at most ``maximum``
    (less than it with ``below``). ``unit`` names what it counts in messages
    (``"seconds"``)."""

    def refuse(error: type[Exception]) -> Exception:  # the message is built only to fail
        kind = "a number" if allow_inf else "a finite number"
        if unit:
            kind += f" of {unit}"
        accepted = accepted_range(kind, minimum, maximum, above=above, below=below)
        return _fail(name, accepted, value, error)

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(TypeError)
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float (10**400): out of any range
        raise refuse(ValueError) from None
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise refuse(ValueError)
    if minimum is not None and (number <= minimum if above else number < minimum):
        raise refuse(ValueError)
    if maximum is not None and (number >= maximum if below else number > maximum):
        raise refuse(ValueError)
    return number


def check_seconds(name: str, value: object, *, allow_inf: bool = True,
                  allow_negative: bool = False, above_zero: bool = False) -> float:
    """A duration or time on the run's clock, in seconds: ``>= 0`` (``> 0`` with
    ``above_zero``; any sign with ``allow_negative``, as Go's timers take), never NaN;
    ``inf`` means "never" unless ``allow_inf`` is false."""
    if type(value) is float and 0.0 < value < math.inf:
        # Accepted under every option: a simulation's sleeps and timers come by here, and
        # the full check below would cost them more than the rest of a virtual sleep.
        return value
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
    if isinstance(value, str) and value in options:
        return value
    accepted = "one of " + ", ".join(repr(a) for a in options)
    raise _fail(name, accepted, value, TypeError if not isinstance(value, str) else ValueError)


def check_sequence(name: str, value: object, check_item: Callable[[str, object], T], *,
                   allow_empty: bool = False) -> list[T]:
    """A list or tuple (a string is refused), non-empty unless ``allow_empty``, each item
    checked by ``check_item("NAME[k]", item)``: ``delays[1] must be ...``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _fail(name, "a list", value, TypeError)
    if not value and not allow_empty:
        raise _fail(name, "a non-empty list", value, ValueError)
    return [check_item(f"{name}[{k}]", item) for k, item in enumerate(value)]


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
    if getattr(value, "_labkit_returns_coroutine", False):  # see returns_coroutine
        return value
    if (not inspect.isroutine(value) and not inspect.isclass(value)
            and inspect.iscoroutinefunction(getattr(value, "__call__", None))):  # noqa: B004
        return value
    raise _fail(name, "an async function (async def)", value, TypeError)


F = TypeVar("F", bound=Callable[..., Any])


def returns_coroutine(fn: F) -> F:
    """Mark a plain function that returns a coroutine (``def recv(self): return
    self._receive(...)``, a receive without an extra coroutine frame) so that
    :func:`check_async_function` takes it, and its bound methods, as an async function
    (``inspect.markcoroutinefunction`` does this from Python 3.12 on)."""
    fn._labkit_returns_coroutine = True  # type: ignore[attr-defined]
    return fn
