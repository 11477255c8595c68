"""Each notebook is a jupytext pair: ``notebooks/NN_name.md`` (MyST markdown, the source a
person edits) and ``notebooks/NN_name.ipynb`` (the same cells with their outputs, for nbval,
GitHub and Binder). These tests fail when the two drift apart."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))
OUTPUTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
FORMATS = "ipynb,md:myst"


def _read_source(path: Path) -> nbformat.NotebookNode:
    notebook: nbformat.NotebookNode = jupytext.read(path)
    return notebook


def _read_executed(path: Path) -> nbformat.NotebookNode:
    notebook: nbformat.NotebookNode = nbformat.read(  # type: ignore[no-untyped-call]
        path, as_version=4)
    return notebook


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in nb.cells]


def test_every_notebook_has_both_halves() -> None:
    assert SOURCES, "no notebooks/NN_*.md found"
    assert [p.stem for p in SOURCES] == [p.stem for p in OUTPUTS]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_pair_has_the_same_cells(source: Path) -> None:
    text = _read_source(source)
    executed = _read_executed(source.with_suffix(".ipynb"))
    want, got = _cells(text), _cells(executed)
    for index, (a, b) in enumerate(zip(want, got, strict=False)):
        assert a == b, (
            f"{source.name} and its .ipynb differ at cell {index}: run "
            f"`jupytext --sync {source.name}` and re-execute (make notebooks)")
    assert len(want) == len(got), (
        f"{source.name} has {len(want)} cells, its .ipynb {len(got)}: run `make notebooks`")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_pair_is_declared_to_jupytext(source: Path) -> None:
    # JupyterLab (with jupytext installed) saves both files when either is edited only if
    # both declare the pairing.
    text = _read_source(source)
    executed = _read_executed(source.with_suffix(".ipynb"))
    assert text.metadata["jupytext"]["formats"] == FORMATS
    assert executed.metadata["jupytext"]["formats"] == FORMATS


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_was_executed(source: Path) -> None:
    # nbval compares outputs: a code cell without an execution count was never run.
    executed = _read_executed(source.with_suffix(".ipynb"))
    unrun = [i for i, cell in enumerate(executed.cells)
             if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"{source.with_suffix('.ipynb').name}: cells {unrun} were not executed"


def test_saving_in_jupyterlab_updates_the_markdown_source(tmp_path: Path) -> None:
    # JupyterLab saves through the server's contents manager; with jupytext installed that is
    # jupytext's, which writes every file of the pair.
    import asyncio

    from jupytext import AsyncTextFileContentsManager

    source = SOURCES[0]
    for path in (source, source.with_suffix(".ipynb")):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    edit = "An edit made in JupyterLab."

    async def edit_and_save() -> None:
        manager = AsyncTextFileContentsManager(root_dir=str(tmp_path))
        name = source.with_suffix(".ipynb").name
        model = await manager.get(name)
        model["content"].cells[0].source += "\n\n" + edit
        await manager.save(model, name)

    asyncio.run(edit_and_save())
    assert edit in (tmp_path / source.name).read_text()
