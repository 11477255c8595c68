"""Normalise executed notebooks before they are committed: ``strip_widget_state.py NB...``.

After ``jupyter nbconvert --execute`` a notebook holds things that are large, random or
wall-clock, none of which nbval compares or a reader needs:

- ``metadata.widgets``: the state of every ipywidgets model (with Altair's offline widget
  renderer, about 0.9 MB of JavaScript per chart);
- ``application/vnd.jupyter.widget-view+json`` outputs: a random model id that points into
  that state. Without the state a notebook opened without a kernel would show "model not
  found"; with the view removed it shows the static SVG the dashboard also emits;
- ``metadata.execution`` of each cell: wall-clock timestamps recorded by nbclient.

Execution counts and every other output are kept (nbval needs them). The notebook is
rewritten only when something changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip(nb: nbformat.NotebookNode) -> bool:
    """Remove widget state, widget views and timing metadata in place; True if changed."""
    changed = nb.metadata.pop("widgets", None) is not None
    for cell in nb.cells:
        if cell.metadata.pop("execution", None) is not None:
            changed = True
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                # The output itself stays (nbval compares how many there are), with its
                # text/plain and any static image.
                del data[WIDGET_VIEW]
                changed = True
    return changed


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: strip_widget_state.py NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for name in paths:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        if strip(nb):
            nbformat.write(nb, path)
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
