"""The code a chart came from, shown beside its twin: Go-style and Rust-style side by side.

A notebook shows the scenario functions it runs by passing the functions themselves, so
what the learner reads is the code that ran and can never drift from it::

    from labkit import codeview
    from labkit.scenarios import tour
    codeview.side_by_side(go=tour.go_ping_pong, rust=tour.rust_ping_pong)

Each column is one or more functions (a sequence is shown in order), read with
:func:`inspect.getsource` and highlighted by Pygments with inline styles (no stylesheet, so
the colours survive a notebook viewed without a kernel). The plain-text form, which nbval
also compares, lists the columns one after another. Output holds no ids or addresses.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from labkit._check import check_choice, check_str, describe

__all__ = ("TITLES", "CodeView", "side_by_side", "source_of")

#: Column headings, in the order columns are drawn.
TITLES = {"go": "Go-style", "rust": "Rust-style", "actor": "Actor"}

_Functions = Callable[..., Any] | Sequence[Callable[..., Any]]


def source_of(function: Callable[..., Any]) -> str:
    """The source text of ``function`` (a def or class), dedented, without trailing space."""
    target = inspect.unwrap(function)
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        raise TypeError(f"function must be a def or a class defined in a file, "
                        f"got {describe(function)}")
    try:
        text = inspect.getsource(target)
    except OSError as exc:
        raise ValueError(f"function {target.__qualname__} has no source file to show "
                         f"(defined in a notebook cell or a REPL?)") from exc
    return textwrap.dedent(text).rstrip()


def _sources(name: str, value: _Functions) -> str:
    functions = [value] if callable(value) else value
    if isinstance(functions, str | bytes) or not isinstance(functions, Sequence) or not functions:
        raise TypeError(f"{name} must be a function or a non-empty sequence of functions, "
                        f"got {describe(value)}")
    parts = []
    for item in functions:
        if not callable(item):
            raise TypeError(f"{name} must hold functions only, got {describe(item)}")
        parts.append(source_of(item))
    return "\n\n\n".join(parts)


def _highlight(code: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(noclasses=True, nobackground=True, style="friendly")
    return str(highlight(code, PythonLexer(), formatter))


@dataclass(frozen=True)
class CodeView:
    """Columns of source code, shown as a highlighted table in Jupyter and as text elsewhere."""

    columns: tuple[tuple[str, str], ...]  # (heading, source)

    def __str__(self) -> str:
        blocks = []
        for heading, code in self.columns:
            rule = "-" * max(len(heading), 8)
            blocks.append(f"{heading}\n{rule}\n{code}")
        return "\n\n".join(blocks)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        width = f"{100 // len(self.columns)}%"
        heads = "".join(
            f'<th style="text-align:left;width:{width}">{html.escape(heading)}</th>'
            for heading, _ in self.columns)
        cells = "".join(
            f'<td style="vertical-align:top;text-align:left;font-size:12px">'
            f"{_highlight(code)}</td>"
            for _, code in self.columns)
        return (f'<table class="labkit-code" style="width:100%;table-layout:fixed">'
                f"<tr>{heads}</tr><tr>{cells}</tr></table>")


def side_by_side(*, go: _Functions | None = None, rust: _Functions | None = None,
                 actor: _Functions | None = None,
                 titles: dict[str, str] | None = None) -> CodeView:
    """The Go-style, Rust-style (and actor) functions of one scenario, in columns.

    Each argument is a function or a sequence of functions; at least one is required.
    ``titles`` replaces column headings (keys ``go``, ``rust``, ``actor``).
    """
    given = {"go": go, "rust": rust, "actor": actor}
    headings = dict(TITLES)
    if titles is not None:
        if not isinstance(titles, dict):
            raise TypeError(f"titles must be a dict of column -> heading, got {describe(titles)}")
        for key, heading in titles.items():
            check_choice("titles key", key, TITLES)
            headings[key] = check_str(f"titles[{key!r}]", heading)
    columns = tuple((headings[key], _sources(key, value))
                    for key, value in given.items() if value is not None)
    if not columns:
        raise TypeError("side_by_side needs at least one of go=, rust=, actor=")
    return CodeView(columns)
