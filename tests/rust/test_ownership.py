"""Ownership emulation: Owned, transfer, MovedValueError (R37), opt-in Send check (R38)."""

from __future__ import annotations

import gc
import sys

import pytest

from labkit import rust
from labkit.errors import LabkitError
from labkit.rust import MovedValueError, Owned
from labkit.rust._ownership import NotSend, NotSendError, check_send, not_send, transfer


def test_r37_transfer_spends_owned_and_returns_live() -> None:
    a = Owned([1, 2])
    b = transfer(a)
    assert b is not a
    assert b.value == [1, 2]
    assert a.is_moved
    assert not b.is_moved
    with pytest.raises(MovedValueError, match="moved"):
        _ = a.value


def test_r37_transfer_of_plain_value_is_identity() -> None:
    obj = object()
    assert transfer(obj) is obj
    assert transfer(None) is None


def test_r37_transfer_of_moved_value_raises() -> None:
    a = Owned("x")
    transfer(a)
    with pytest.raises(MovedValueError):
        transfer(a)


def test_r37_moved_handle_releases_value() -> None:
    class Big:
        pass

    obj = Big()
    base = sys.getrefcount(obj)
    a = Owned(obj)
    b = transfer(a)
    gc.collect()
    assert sys.getrefcount(obj) == base + 1  # only b holds it
    del b
    gc.collect()
    assert sys.getrefcount(obj) == base
    assert "Big" in repr(a)
    with pytest.raises(MovedValueError, match="Big"):
        _ = a.value


def test_r37_take_and_move() -> None:
    a = Owned(3)
    assert a.take() == 3
    with pytest.raises(MovedValueError):
        a.take()
    c = Owned("v")
    d = c.move()
    assert d.value == "v"
    with pytest.raises(MovedValueError):
        c.move()


def test_r37_owned_match_and_equality() -> None:
    match Owned(5):
        case Owned(v):
            assert v == 5
    assert Owned(1) == Owned(1)
    assert Owned(1) != Owned(2)
    assert repr(Owned(1)) == "Owned(1)"


def test_moved_value_error_is_labkit_error() -> None:
    assert issubclass(MovedValueError, LabkitError)
    assert rust.MovedValueError is MovedValueError


def test_r38_opt_in_not_send_check() -> None:
    @not_send
    class Rc:
        pass

    class Local(NotSend):
        pass

    with pytest.raises(NotSendError, match="Rc"):
        transfer(Rc())
    with pytest.raises(NotSendError):
        check_send(Owned(Local()))
    with pytest.raises(TypeError):  # NotSendError is a TypeError too
        transfer(Owned(Local()))
    check_send(42)  # unmarked values pass: R38 is not checked in general
