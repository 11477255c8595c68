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


# -- real Go and real tokio beside labkit's twin (issue 12) -------------------------------


def test_real_side_by_side_puts_the_twins_between_the_real_programs() -> None:
    from labkit import real

    view = codeview.real_side_by_side("ping_pong")
    headings = [h for h, _ in view.columns]
    assert headings == ["real Go: real/go/cmd/ping_pong/main.go",
                        "labkit twins (this runs): labkit/real.py",
                        "real Rust (tokio): real/rust/src/bin/ping_pong.rs"]
    assert view.languages == ("go", "python", "rust")
    assert view.columns[0][1] == real.source_path("ping_pong", "go").read_text().rstrip()
    assert "async def _go_ping_pong" in view.columns[1][1]
    assert "async def _rust_ping_pong" in view.columns[1][1]
    assert "tokio::spawn(pong(rx))" in view.columns[2][1]
    text = str(view)
    assert text.index("real Go:") < text.index("labkit twins") < text.index("real Rust")


def test_real_side_by_side_one_model_shows_every_function_of_its_twin() -> None:
    view = codeview.real_side_by_side("who_closes", model="go")
    assert [lang for lang in view.languages] == ["go", "python"]
    assert view.columns[1][0] == "labkit twin (this runs): labkit/real.py"
    assert "def _go_who_closes" in view.columns[1][1] and "def _go_range" in view.columns[1][1]
    rust_only = codeview.real_side_by_side("broadcast_lag")
    assert rust_only.languages == ("rust", "python")


def test_real_side_by_side_html_highlights_go_and_rust_inline_and_deterministically() -> None:
    page = codeview.real_side_by_side("try_send")._repr_html_()
    assert page.count("<th") == 3 and "width:33%" in page
    assert 'style="color:' in page and "<style" not in page  # inline: no stylesheet
    # Go's and Rust's keywords are highlighted as such (Python's lexer would not see `func`)
    assert re.search(r'<span style="[^"]*">func</span>', page)
    assert re.search(r'<span style="[^"]*">fn</span>', page)
    assert not re.search(r"0x[0-9a-f]{6,}", page)
    assert page == codeview.real_side_by_side("try_send")._repr_html_()


@pytest.mark.parametrize(("args", "error", "match"), [
    (("nope",), ValueError, "no real case named 'nope'"),
    (("ping_pong", "java"), ValueError, "model must be one of"),
    (("broadcast_lag", "go"), ValueError, "has no go program"),
    ((3,), TypeError, "case must be"),
])
def test_real_side_by_side_bad_arguments(args: tuple[Any, ...], error: type[Exception],
                                         match: str) -> None:
    with pytest.raises(error, match=match):
        codeview.real_side_by_side(*args)


def test_real_side_by_side_without_the_sources_says_why(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Any) -> None:
    from labkit import real

    monkeypatch.setattr(real, "REAL", tmp_path / "real")
    with pytest.raises(FileNotFoundError, match="come with a checkout of labkit"):
        codeview.real_side_by_side("ping_pong", "go")
