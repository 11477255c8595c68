"""Shared helpers for the notebook generators (tools/make_*.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A markdown table (kept as data so the source lines stay short)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def build(cells: list[tuple[str, str]], id_prefix: str) -> nbformat.NotebookNode:
    """A notebook from ``(kind, source)`` pairs, kind "md" or "code", with stable cell ids
    (regenerating changes no line needlessly)."""
    nodes = [new_markdown_cell(src) if kind == "md" else new_code_cell(src)
             for kind, src in cells]
    for i, cell in enumerate(nodes):
        cell.id = f"{id_prefix}-{i:02d}"
    nb = new_notebook(cells=nodes)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write(cells: list[tuple[str, str]], filename: str, id_prefix: str) -> None:
    """Write ``notebooks/<filename>`` (sources only; ``make notebooks`` executes it)."""
    out = NOTEBOOKS / filename
    nbformat.write(build(cells, id_prefix), out)
    print(f"wrote {out.name}")
