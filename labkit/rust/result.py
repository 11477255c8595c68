"""Rust's ``Result``: ``Ok(value)`` or ``Err(error)``, usable in ``match`` (R5, R9, R37).

>>> match Ok(3):
...     case Ok(v):
...         print("got", v)
...     case Err(e):
...         print("failed", e)
got 3
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NoReturn, TypeAlias, TypeVar

__all__ = ("Err", "Ok", "Result", "UnwrapError")

T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)
T = TypeVar("T")
E = TypeVar("E")
U = TypeVar("U")


class UnwrapError(Exception):
    """``unwrap``/``expect`` on the wrong variant (a Rust panic in the real language)."""


class Ok(Generic[T_co]):
    """The success variant of a :data:`Result`."""

    __slots__ = ("value",)
    __match_args__ = ("value",)

    def __init__(self, value: T_co) -> None:
        self.value = value

    def is_ok(self) -> bool:
        return True

    def is_err(self) -> bool:
        return False

    def unwrap(self) -> T_co:
        return self.value

    def unwrap_err(self) -> NoReturn:
        raise UnwrapError(f"called `Result.unwrap_err()` on an `Ok` value: {self.value!r}")

    def expect(self, msg: str) -> T_co:
        return self.value

    def unwrap_or(self, default: Any) -> T_co:
        return self.value

    def expect_err(self, msg: str) -> NoReturn:
        raise UnwrapError(f"{msg}: {self.value!r}")

    def unwrap_or_else(self, fn: Callable[[Any], Any]) -> T_co:
        return self.value

    def is_ok_and(self, pred: Callable[[T_co], object]) -> bool:
        return bool(pred(self.value))

    def is_err_and(self, pred: Callable[[Any], object]) -> bool:
        return False

    def map(self, fn: Callable[[T_co], U]) -> Ok[U]:
        """``Ok(fn(value))``."""
        return Ok(fn(self.value))

    def map_err(self, fn: Callable[[Any], Any]) -> Ok[T_co]:
        return self

    def and_then(self, fn: Callable[[T_co], U]) -> U:
        """``fn(value)``, which returns a ``Result`` itself."""
        return fn(self.value)

    def ok(self) -> T_co | None:
        return self.value

    def err(self) -> None:
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ok) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Ok", self.value))

    def __repr__(self) -> str:
        return f"Ok({self.value!r})"


class Err(Generic[E_co]):
    """The failure variant of a :data:`Result`; ``error`` often carries the unsent value."""

    __slots__ = ("error",)
    __match_args__ = ("error",)

    def __init__(self, error: E_co) -> None:
        self.error = error

    def is_ok(self) -> bool:
        return False

    def is_err(self) -> bool:
        return True

    def unwrap(self) -> NoReturn:
        raise UnwrapError(f"called `Result.unwrap()` on an `Err` value: {self.error!r}")

    def unwrap_err(self) -> E_co:
        return self.error

    def expect(self, msg: str) -> NoReturn:
        raise UnwrapError(f"{msg}: {self.error!r}")

    def unwrap_or(self, default: Any) -> Any:
        return default

    def expect_err(self, msg: str) -> E_co:
        return self.error

    def unwrap_or_else(self, fn: Callable[[E_co], U]) -> U:
        """``fn(error)``: compute a fallback from the error."""
        return fn(self.error)

    def is_ok_and(self, pred: Callable[[Any], object]) -> bool:
        return False

    def is_err_and(self, pred: Callable[[E_co], object]) -> bool:
        return bool(pred(self.error))

    def map(self, fn: Callable[[Any], Any]) -> Err[E_co]:
        return self

    def map_err(self, fn: Callable[[E_co], U]) -> Err[U]:
        """``Err(fn(error))``."""
        return Err(fn(self.error))

    def and_then(self, fn: Callable[[Any], Any]) -> Err[E_co]:
        return self

    def ok(self) -> None:
        return None

    def err(self) -> E_co:
        return self.error

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and other.error == self.error

    def __hash__(self) -> int:
        return hash(("Err", self.error))

    def __repr__(self) -> str:
        return f"Err({self.error!r})"


Result: TypeAlias = Ok[T] | Err[E]
