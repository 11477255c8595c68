"""labkit.codeview: a scenario's functions shown side by side, from their real source."""

from __future__ import annotations

import re
from typing import Any

import pytest

from labkit import codeview
from labkit.scenarios import tour


async def _go_twin(n: int) -> int:
    return n + 1


async def _rust_twin(n: int) -> int:
    return n + 2


def test_text_form_shows_each_column_under_its_heading() -> None:
    view = codeview.side_by_side(go=_go_twin, rust=[_rust_twin, _go_twin])
    assert str(view) == (
        "Go-style\n--------\nasync def _go_twin(n: int) -> int:\n    return n + 1\n\n"
        "Rust-style\n----------\nasync def _rust_twin(n: int) -> int:\n    return n + 2"
        "\n\n\nasync def _go_twin(n: int) -> int:\n    return n + 1")


def test_html_form_is_two_highlighted_columns_without_ids() -> None:
    page = codeview.side_by_side(go=tour.ping_pong, rust=_rust_twin)._repr_html_()
    assert page.count("<th") == 2 and "Go-style" in page and "Rust-style" in page
    assert "width:50%" in page
    assert 'style="color:' in page  # inline colours: no stylesheet needed
    assert not re.search(r"0x[0-9a-f]{6,}", page)
    assert page == codeview.side_by_side(go=tour.ping_pong, rust=_rust_twin)._repr_html_()


def test_titles_and_actor_column() -> None:
    view = codeview.side_by_side(actor=_go_twin, titles={"actor": "Actors"})
    assert view.columns[0][0] == "Actors"


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({}, TypeError, "at least one of go=, rust=, actor="),
    ({"go": 3}, TypeError, "go must be a function or a non-empty sequence of functions, got int 3"),
    ({"go": []}, TypeError, "go must be a function or a non-empty sequence"),
    ({"rust": [_go_twin, "x"]}, TypeError, "rust must hold functions only, got str 'x'"),
    ({"go": len}, TypeError, "function must be a def or a class"),
    ({"go": _go_twin, "titles": {"java": "J"}}, ValueError, "titles key must be one of"),
    ({"go": _go_twin, "titles": {"go": ""}}, ValueError, r"titles\['go'\] must be"),
])
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        codeview.side_by_side(**kwargs)


def test_a_function_without_a_source_file_is_explained() -> None:
    namespace: dict[str, Any] = {}
    exec("async def typed_in_a_cell():\n    pass\n", namespace)
    with pytest.raises(ValueError, match="has no source file"):
        codeview.side_by_side(go=namespace["typed_in_a_cell"])
