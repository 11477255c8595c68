"""Exercises: you write or fix a Go-style or Rust-style function; a check runs it in
:func:`labkit.simulate`, over several seeds, and says precisely what is right or wrong.

In a notebook::

    from labkit import exercises
    exercises.hint("01.1")             # the first hint; hint("01.1", 2) the next one
    exercises.check("01.1", producer)  # runs your function and prints a verdict

Each notebook's exercises live in ``labkit.exercises.nbNN`` (loaded on first use); the
reference solutions are in ``notebooks/solutions/nbNN.py``, and the tests run every check
against its solution and against a wrong answer. A check judges over several seeds
(:data:`SEEDS`), so an answer that only works for one schedule is not passed.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import labkit
from labkit import Deadlock, Run
from labkit._check import check_int, check_str, describe
from labkit.go import Panic

__all__ = (
    "SEEDS",
    "Attempt",
    "Exercise",
    "Hint",
    "Verdict",
    "attempt",
    "attempts",
    "blocked_text",
    "catalogue",
    "check",
    "exercise",
    "get",
    "hint",
    "innermost",
    "not_async_function",
)

#: The seeds every check runs an answer with.
SEEDS = (0, 1, 2, 3, 4)

_KEY = re.compile(r"^(\d\d)\.(\d+)$")


@dataclass(frozen=True)
class Verdict:
    """What a check found: ``passed``, and one line per finding (or the praise when right)."""

    key: str
    title: str
    passed: bool
    findings: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "✅ right" if self.passed else "❌ not yet"
        lines = [f"Exercise {self.key} ({self.title}): {mark}."]
        lines += [f"  - {finding}" for finding in self.findings]
        return "\n".join(lines)

    __repr__ = __str__


@dataclass(frozen=True)
class Hint:
    """One hint of an exercise's graded hints (1 gently points, the last nearly answers)."""

    key: str
    level: int
    count: int
    text: str

    def __str__(self) -> str:
        more = (f" (hint({self.key!r}, {self.level + 1}) says more)"
                if self.level < self.count else "")
        return f"Hint {self.level} of {self.count} for exercise {self.key}: {self.text}{more}"

    __repr__ = __str__


@dataclass(frozen=True)
class Exercise:
    """An exercise: ``judge(*answers)`` yields each problem found; none means right."""

    key: str
    title: str
    judge: Callable[..., Iterable[str]]
    hints: tuple[str, ...]
    praise: str

    def check(self, *answers: Any) -> Verdict:
        """Run the judge on the learner's answer(s)."""
        problems = tuple(self.judge(*answers))
        return Verdict(self.key, self.title, not problems, problems or (self.praise,))

    def hint(self, level: int = 1) -> Hint:
        """Hint number ``level`` (1 to ``len(hints)``)."""
        level = check_int("level", level, minimum=1, maximum=len(self.hints))
        return Hint(self.key, level, len(self.hints), self.hints[level - 1])


_EXERCISES: dict[str, Exercise] = {}


def exercise(key: str, title: str, *, hints: Iterable[str], praise: str
             ) -> Callable[[Callable[..., Iterable[str]]], Callable[..., Iterable[str]]]:
    """Register the decorated judge as exercise ``key`` (``"NN.M"``: notebook NN, number M)."""
    if not _KEY.match(check_str("key", key)):
        raise ValueError(f"key must look like '01.2' (notebook.number), got {key!r}")
    hint_list = tuple(hints)
    if not hint_list:
        raise ValueError(f"exercise {key} needs at least one hint")

    def register(judge: Callable[..., Iterable[str]]) -> Callable[..., Iterable[str]]:
        if key in _EXERCISES:
            raise ValueError(f"exercise {key} is defined twice")
        _EXERCISES[key] = Exercise(key, title, judge, hint_list, praise)
        return judge

    return register


def get(key: str) -> Exercise:
    """Exercise ``key`` (``"01.1"``), loading its notebook's module on first use."""
    match = _KEY.match(check_str("key", key))
    if match is None:
        raise ValueError(f"key must look like '01.2' (notebook.number), got {key!r}")
    if key not in _EXERCISES:
        try:
            importlib.import_module(f"labkit.exercises.nb{match[1]}")
        except ModuleNotFoundError:
            pass
    if key not in _EXERCISES:
        known = ", ".join(sorted(_EXERCISES)) or "none loaded"
        raise ValueError(f"key must name an exercise, got {key!r} (known: {known})")
    return _EXERCISES[key]


def catalogue() -> dict[str, Exercise]:
    """Every exercise of every notebook, by key (loads every ``labkit.exercises.nbNN``)."""
    for module in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"nb\d\d", module.name):
            importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(_EXERCISES.items()))


def check(key: str, *answers: Any) -> Verdict:
    """Check your answer(s) to exercise ``key``; the verdict says what is right or wrong."""
    return get(key).check(*answers)


def hint(key: str, level: int = 1) -> Hint:
    """Hint ``level`` for exercise ``key``: 1 points the way, the last nearly answers."""
    return get(key).hint(level)


# -- running an answer -------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One run of a learner's program: its :class:`~labkit.Run`, or what went wrong, in words."""

    seed: int
    run: Run[Any] | None
    problem: str | None


def innermost(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (what a task group
    wraps a learner's error in), else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def blocked_text(exc: Deadlock) -> str:
    """What each task of a deadlock waits on, in words: ``main waits to send to chan-1``."""
    return "; ".join(f"{task} waits to {what}" for task, what in exc.blocked.items())


def attempt(main: Callable[..., Awaitable[Any]], *args: Any, seed: int,
            until: float | None = None) -> Attempt:
    """Run ``main(*args)`` in :func:`labkit.simulate`; a deadlock, a panic, an exception or a
    run still going at ``until`` becomes a one-line ``problem`` instead of a traceback."""
    try:
        run = labkit.simulate(main, *args, seed=seed, until=until)
    except Deadlock as exc:
        return Attempt(seed, exc.run, f"with seed {seed} every task blocked at "
                                      f"t={exc.at:g} s (deadlock): {blocked_text(exc)}")
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
        leaf = innermost(exc)
        if isinstance(leaf, Panic):
            return Attempt(seed, None, f"with seed {seed} a goroutine panicked: {leaf}")
        return Attempt(seed, None, f"with seed {seed} your code raised "
                                   f"{type(leaf).__name__}: {leaf}")
    if not run.completed:
        return Attempt(seed, run, f"with seed {seed} the program was still running at "
                                  f"t={until:g} s: it never finished")
    return Attempt(seed, run, None)


def attempts(main: Callable[..., Awaitable[Any]], *args: Any,
             seeds: Iterable[int] = SEEDS, until: float | None = None) -> list[Attempt]:
    """:func:`attempt` once per seed."""
    return [attempt(main, *args, seed=seed, until=until) for seed in seeds]


def not_async_function(name: str, answer: object) -> str | None:
    """A problem text if ``answer`` is not an ``async def`` function, else None."""
    if inspect.iscoroutinefunction(answer):
        return None
    if inspect.isfunction(answer):
        return (f"{name} must be an `async def` function, got `def {answer.__name__}` "
                f"(add `async`)")
    return f"{name} must be an `async def` function, got {describe(answer)}"
