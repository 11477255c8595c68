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

:func:`real_side_by_side` puts the real Go and tokio programs of the repository's ``real/``
folder (highlighted as Go and Rust) beside labkit's twin of them (:mod:`labkit.real`), the
twin in the middle: the code that runs in the notebook::

    codeview.real_side_by_side("ping_pong")              # real Go | labkit twin | real Rust
    codeview.real_side_by_side("ping_pong", model="go")  # real Go | labkit twin
"""

from __future__ import annotations

import html
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from labkit._check import check_choice, check_str, describe

__all__ = ("LANGUAGES", "TITLES", "CodeView", "real_side_by_side", "side_by_side", "source_of")

#: Column headings, in the order columns are drawn.
TITLES = {"go": "Go-style", "rust": "Rust-style", "actor": "Actor"}

#: The languages a column can be highlighted as.
LANGUAGES = ("python", "go", "rust")

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


def _highlight(code: str, language: str = "python") -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import GoLexer, PythonLexer, RustLexer

    lexer = {"python": PythonLexer, "go": GoLexer, "rust": RustLexer}[language]()
    formatter = HtmlFormatter(noclasses=True, nobackground=True, style="friendly")
    return str(highlight(code, lexer, formatter))


@dataclass(frozen=True)
class CodeView:
    """Columns of source code, shown as a highlighted table in Jupyter and as text elsewhere."""

    columns: tuple[tuple[str, str], ...]  # (heading, source)
    #: Each column's language (:data:`LANGUAGES`); empty: every column is Python.
    languages: tuple[str, ...] = ()

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
        languages = self.languages or ("python",) * len(self.columns)
        cells = "".join(
            f'<td style="vertical-align:top;text-align:left;font-size:12px">'
            f"{_highlight(code, language)}</td>"
            for (_, code), language in zip(self.columns, languages, strict=True))
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


_LANGUAGE_NAMES = {"go": "Go", "rust": "Rust (tokio)"}


def real_side_by_side(case: str, model: str | None = None) -> CodeView:
    """The real program(s) of a :mod:`labkit.real` case beside labkit's twin, in columns.

    ``model`` ``"go"`` or ``"rust"``: the real program (``real/go/cmd/CASE/main.go`` or
    ``real/rust/src/bin/CASE.rs``) and labkit's twin of it (``labkit/real.py``, the code the
    notebook runs). ``model`` None: every real program the case has, the twins in the middle
    (real Go | labkit twins | real Rust). Headings say which file each column is from. Needs
    no toolchain: the sources are read from the checkout.
    """
    from labkit import real

    check_str("case", case)
    if case not in real.CASES:
        raise ValueError(f"no real case named {case!r}; the cases: {', '.join(real.CASES)}")
    if model is not None:
        check_choice("model", model, real.MODELS)
    models = real.CASES[case].models if model is None else (model,)
    if model is not None and model not in models:
        real.twin_functions(case, model)  # raises: the case has no such program
    files: list[tuple[str, str, str]] = []
    for m in models:
        path = real.source_path(case, m)
        if not path.is_file():
            raise FileNotFoundError(f"the real program {path} is not here: its sources come "
                                    f"with a checkout of labkit (real/), not with an installed "
                                    f"package")
        where = path.relative_to(real.ROOT).as_posix()
        files.append((f"real {_LANGUAGE_NAMES[m]}: {where}",
                      path.read_text(encoding="utf-8").rstrip(), m))
    twins = "\n\n\n".join(source_of(f) for m in models for f in real.twin_functions(case, m))
    label = "labkit twins" if len(models) == 2 else "labkit twin"
    middle = (f"{label} (this runs): labkit/real.py", twins, "python")
    ordered = [files[0], middle, *files[1:]]
    return CodeView(tuple((h, c) for h, c, _ in ordered),
                    tuple(lang for _, _, lang in ordered))
