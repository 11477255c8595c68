"""labkit.exercises: the check machinery, every notebook's checks against the reference
solutions (notebooks/solutions/nbNN.py) and a wrong answer, and the committed notebooks
showing each exercise unsolved."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

from labkit import exercises, go
from labkit.exercises import Verdict

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("nb[0-9][0-9].py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"exercises\.check\(\s*[\"'](\d\d\.\d+)[\"']")


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"solutions_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answers(kind: str) -> list[tuple[str, tuple[Any, ...]]]:
    found = []
    for path in SOLUTIONS:
        table: dict[str, tuple[Any, ...]] = getattr(_load(path), kind)
        found += sorted(table.items())
    return found


# -- the machinery ---------------------------------------------------------------------


async def _deadlocks() -> None:
    ch: go.Chan[int] = go.Chan()
    await ch.send(1)


async def _panics() -> None:
    go.panic("boom")


async def _runs_long() -> None:
    await go.sleep(100)


async def _fine() -> int:
    await go.sleep(1)
    return 7


def test_attempt_turns_failures_into_sentences() -> None:
    dead = exercises.attempt(_deadlocks, seed=3)
    assert dead.problem == ("with seed 3 every task blocked at t=0 s (deadlock): "
                            "main waits to send to chan-1")
    assert exercises.attempt(_panics, seed=0).problem == (
        "with seed 0 a goroutine panicked: boom")
    assert exercises.attempt(_runs_long, seed=0, until=5).problem == (
        "with seed 0 the program was still running at t=5 s: it never finished")
    fine = exercises.attempt(_fine, seed=0)
    assert fine.problem is None and fine.run is not None and fine.run.result == 7
    assert [a.seed for a in exercises.attempts(_fine)] == list(exercises.SEEDS)


def test_not_async_function_names_the_fix() -> None:
    def plain() -> None: ...

    assert exercises.not_async_function("producer", _fine) is None
    assert exercises.not_async_function("producer", plain) == (
        "producer must be an `async def` function, got `def plain` (add `async`)")
    assert exercises.not_async_function("producer", 3) == (
        "producer must be an `async def` function, got int 3")


def test_registry_verdicts_and_hints() -> None:
    @exercises.exercise("98.1", "return seven", hints=("look at _fine", "return 7"),
                        praise="it returns 7")
    def judge(answer: Any) -> list[str]:
        problem = exercises.not_async_function("answer", answer)
        if problem:
            return [problem]
        return [a.problem or f"with seed {a.seed} it did not return 7"
                for a in exercises.attempts(answer, seeds=(0, 1))
                if a.problem or a.run is None or a.run.result != 7]

    right = exercises.check("98.1", _fine)
    assert isinstance(right, Verdict) and right and right.findings == ("it returns 7",)
    assert str(right) == "Exercise 98.1 (return seven): ✅ right.\n  - it returns 7"
    wrong = exercises.check("98.1", _deadlocks)
    assert not wrong and len(wrong.findings) == 2
    assert str(wrong).startswith("Exercise 98.1 (return seven): ❌ not yet.\n  - with seed 0")
    assert str(exercises.hint("98.1")) == (
        "Hint 1 of 2 for exercise 98.1: look at _fine (hint('98.1', 2) says more)")
    assert str(exercises.hint("98.1", 2)) == "Hint 2 of 2 for exercise 98.1: return 7"
    with pytest.raises(ValueError, match="level must be"):
        exercises.hint("98.1", 3)
    with pytest.raises(ValueError, match="defined twice"):
        exercises.exercise("98.1", "again", hints=("h",), praise="p")(judge)


@pytest.mark.parametrize(("key", "error", "match"), [
    ("1.1", ValueError, "key must look like '01.2'"),
    ("97.1", ValueError, "key must name an exercise, got '97.1'"),
    (11, TypeError, "key must be a string"),
])
def test_bad_keys(key: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        exercises.check(key)


# -- every notebook's exercises ----------------------------------------------------------


@pytest.mark.parametrize(("key", "answer"), _answers("SOLUTIONS"), ids=lambda v: str(v)[:8])
def test_reference_solution_passes(key: str, answer: tuple[Any, ...]) -> None:
    verdict = exercises.check(key, *answer)
    assert verdict.passed, str(verdict)


@pytest.mark.parametrize(("key", "answer"), _answers("WRONG"), ids=lambda v: str(v)[:8])
def test_wrong_answer_fails_with_a_reason(key: str, answer: tuple[Any, ...]) -> None:
    verdict = exercises.check(key, *answer)
    assert not verdict.passed
    assert verdict.findings and all(len(f) > 20 for f in verdict.findings), str(verdict)


def _checked_in_notebooks() -> dict[str, str]:
    keys = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        for cell in nb.cells:
            if cell.cell_type == "code":
                for key in CHECK_CALL.findall(cell.source):
                    keys[key] = path.name
    return keys


def test_every_exercise_has_a_solution_a_wrong_answer_and_a_notebook() -> None:
    solved = dict(_answers("SOLUTIONS"))
    wrong = dict(_answers("WRONG"))
    in_notebooks = _checked_in_notebooks()
    for key in in_notebooks:
        exercises.get(key)
    notebook_keys = {k for k in exercises.catalogue() if not k.startswith("98.")}
    assert notebook_keys, "no exercises are defined"
    assert notebook_keys == set(solved) == set(wrong) == set(in_notebooks)
    per_notebook = {name[:2] for name in in_notebooks.values()}
    assert per_notebook == {p.name[:2] for p in NOTEBOOKS}, "every notebook has an exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_show_exercises_unsolved(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                           for o in cell.outputs)
            assert "❌ not yet" in text, f"{path.name}: a check cell shows {text[:200]!r}"
