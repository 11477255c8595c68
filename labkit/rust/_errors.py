"""The three shapes of error the Rust dialect's channels return inside ``Err(...)``.

* :class:`ValueCarryingError`: a failed send hands the value back (``SendError(v)``, R5, R9).
* :class:`UnitError`: an enum whose variants carry nothing (``TryRecvError.Empty``).
* :class:`PlainError`: no fields at all, so every instance is equal (``RecvError()``).

All compare by value, so ``result == Err(SendError(1))`` and ``case Err(...)`` both work.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class ValueCarryingError(Exception, Generic[T]):
    """An error that gives the unsent value back in ``.value`` (Rust's ``SendError(T)``)."""

    __match_args__ = ("value",)

    def __init__(self, value: T) -> None:
        super().__init__()
        self.value = value

    def into_inner(self) -> T:
        """The value that could not be sent."""
        return self.value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value

    def __hash__(self) -> int:
        try:
            return hash((type(self).__qualname__, self.value))
        except TypeError:  # an unhashable value: equal errors still hash alike
            return hash(type(self).__qualname__)

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({self.value!r})"


class UnitError(Exception):
    """Base of error enums whose variants carry nothing (``TryRecvError.Empty``): each
    variant is one instance, named by ``kind``."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.kind))

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.kind}"


class PlainError(Exception):
    """An error with no fields (Rust's ``RecvError``, ``Elapsed``): all instances are equal.

    Match with ``case Err(RecvError()):``.
    """

    __match_args__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__qualname__)

    def __repr__(self) -> str:
        return type(self).__name__


def name_variants(base: type, **variants: type) -> None:
    """Attach variant classes to ``base`` (``TrySendError.Full``), named as Rust spells them."""
    for name, cls in variants.items():
        cls.__name__ = name
        cls.__qualname__ = f"{base.__qualname__}.{name}"
        setattr(base, name, cls)
