"""Result: Ok / Err, usable in match (R5, R9, R37)."""

from __future__ import annotations

import pytest

from labkit import rust
from labkit.rust import Err, Ok, UnwrapError


def test_ok_basics() -> None:
    r = Ok(3)
    assert r.is_ok() and not r.is_err()
    assert r.unwrap() == 3
    assert r.expect("no") == 3
    assert r.unwrap_or(0) == 3
    assert r.ok() == 3
    assert r.err() is None  # type: ignore[func-returns-value]  # always None: checked
    with pytest.raises(UnwrapError, match="unwrap_err"):
        r.unwrap_err()
    with pytest.raises(UnwrapError, match="wanted err"):
        r.expect_err("wanted err")


def test_err_basics() -> None:
    r = Err("boom")
    assert r.is_err() and not r.is_ok()
    assert r.unwrap_err() == "boom"
    assert r.expect_err("x") == "boom"
    assert r.unwrap_or(0) == 0
    assert r.unwrap_or_else(len) == 4
    assert r.ok() is None  # type: ignore[func-returns-value]  # always None: checked
    assert r.err() == "boom"
    with pytest.raises(UnwrapError, match="boom"):
        r.unwrap()
    with pytest.raises(UnwrapError, match="context: 'boom'"):
        r.expect("context")


def test_combinators() -> None:
    assert Ok(2).map(lambda v: v * 10) == Ok(20)
    assert Err("e").map(lambda v: v * 10) == Err("e")
    assert Err("e").map_err(str.upper) == Err("E")
    assert Ok(1).map_err(str.upper) == Ok(1)
    assert Ok(2).and_then(lambda v: Ok(v + 1)) == Ok(3)
    assert Ok(2).and_then(lambda v: Err("no")) == Err("no")
    assert Err("e").and_then(Ok) == Err("e")
    assert Ok(2).is_ok_and(lambda v: v > 1)
    assert not Err(2).is_ok_and(lambda v: True)
    assert Err(2).is_err_and(lambda e: e == 2)
    assert Ok(5).unwrap_or_else(lambda e: 0) == 5


def test_match_and_equality() -> None:
    def describe(r: rust.Result[int, str]) -> str:
        match r:
            case Ok(v):
                return f"ok {v}"
            case Err(e):
                return f"err {e}"
        return "unreachable"

    assert describe(Ok(1)) == "ok 1"
    assert describe(Err("x")) == "err x"
    assert Ok(1) == Ok(1) and Ok(1) != Err(1)
    assert hash(Ok(1)) == hash(Ok(1))
    assert repr(Err("x")) == "Err('x')"
