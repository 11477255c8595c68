"""Ownership as a teaching aid: ``Owned`` values that are *moved* by a send (R37, R38).

Rust refuses to compile a use of a moved value (E0382). Python cannot, so labkit checks at
run time: sending an :class:`Owned` through a Rust-dialect channel spends the sender's handle
(touching ``.value`` then raises :class:`MovedValueError`) and the receiver gets a fresh,
live ``Owned``. A failed send hands the live value back inside its error (R5, R9, R12, R22).

>>> a = Owned([1, 2])
>>> b = transfer(a)          # what every Rust-dialect send does to its value
>>> b.value
[1, 2]
>>> a.value  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
MovedValueError: use of moved value: Owned(list) was moved by a send; ...

R38 (``T: Send``, ``F: 'static``) is a compile-time check in Rust and cannot be checked in
Python in general. As an opt-in aid, mark a type with :func:`not_send` (Rust's ``Rc`` is the
classic example); every Rust-dialect send then refuses its instances with :class:`NotSendError`.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from labkit.errors import LabkitError

__all__ = (
    "MovedValueError",
    "NotSend",
    "NotSendError",
    "Owned",
    "check_send",
    "not_send",
    "transfer",
)

T = TypeVar("T")
C = TypeVar("C", bound=type)


class MovedValueError(LabkitError, RuntimeError):
    """Use of a value after it was moved (Rust's compile error E0382, R37).

    Raised when an ``Owned`` handle is touched after a send moved it, when a consumed
    ``oneshot::Sender`` is used again (R22), and when a dropped handle is used.
    """


class NotSendError(LabkitError, TypeError):
    """A value of a type marked :func:`not_send` was sent to another task (R38, E0277)."""


class Owned(Generic[T]):
    """A value with one owner. A Rust-dialect send moves it (R37).

    ``.value`` reads it (raises :class:`MovedValueError` once moved); ``take()`` moves the
    raw value out; ``move()`` is ``let b = a;``: it spends this handle and returns a new one.
    """

    __slots__ = ("_moved_by", "_type_name", "_value")
    __match_args__ = ("value",)

    def __init__(self, value: T) -> None:
        self._value: T | None = value
        self._type_name = type(value).__name__
        self._moved_by: str | None = None

    @property
    def value(self) -> T:
        """The owned value; raises :class:`MovedValueError` once this handle was moved."""
        if self._moved_by is not None:
            raise MovedValueError(
                f"use of moved value: Owned({self._type_name}) was moved by "
                f"{self._moved_by}; use the handle the receiver got (or the one handed "
                f"back inside the send's error) instead")
        return self._value  # type: ignore[return-value]

    @property
    def is_moved(self) -> bool:
        """True once this handle was spent by a move."""
        return self._moved_by is not None

    def _spend(self, by: str) -> T:
        value = self.value  # raises if already moved
        self._moved_by = by
        self._value = None  # the spent handle must not keep the value alive
        return value

    def move(self, by: str = "a move") -> Owned[T]:
        """Spend this handle and return a fresh live one holding the same value."""
        return Owned(self._spend(by))

    def take(self) -> T:
        """Move the raw value out of the box, spending the handle."""
        return self._spend("take()")

    def __repr__(self) -> str:
        if self._moved_by is not None:
            return f"Owned(<moved {self._type_name}>)"
        return f"Owned({self._value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Owned):
            return NotImplemented
        return bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]


class NotSend:
    """Mixin marking a class as not ``Send`` (like ``Rc``): opt-in R38 check."""

    __slots__ = ()


_NOT_SEND: tuple[type, ...] = (NotSend,)


def not_send(cls: C) -> C:
    """Class decorator: refuse instances of ``cls`` in every Rust-dialect send (R38)."""
    global _NOT_SEND
    if cls not in _NOT_SEND:
        _NOT_SEND = (*_NOT_SEND, cls)
    return cls


def check_send(value: object) -> None:
    """Raise :class:`NotSendError` if ``value`` (or the value in an ``Owned``) is not Send.

    Only types marked with :func:`not_send` or :class:`NotSend` are refused: Python cannot
    know which objects are safe to share, so R38 is otherwise not checked.
    """
    inner = value._value if isinstance(value, Owned) else value
    if isinstance(inner, _NOT_SEND):
        raise NotSendError(
            f"`{type(inner).__name__}` cannot be sent between tasks safely (it is marked "
            f"not Send, like Rust's Rc; error E0277): send an owned copy instead")


def transfer(value: T) -> T:
    """What a Rust-dialect send does to its value: move it (R37).

    An :class:`Owned` is spent and a fresh live ``Owned`` is returned (send that one, or
    hand it back inside the send's error); any other value is returned unchanged. Sending
    an already-moved ``Owned`` raises :class:`MovedValueError`; a value marked not Send
    raises :class:`NotSendError` (R38, opt-in).
    """
    if isinstance(value, Owned):
        check_send(value)
        return value.move("a send")  # type: ignore[return-value]
    if isinstance(value, _NOT_SEND):
        check_send(value)
    return value
