"""Go panics: ``panic(value)`` and ``recover()`` (G31, G32).

A Go panic is the exception :class:`Panic`. Any other Python exception escaping a goroutine
is treated the same way, like a Go runtime error (index out of range, nil dereference): it
ends the whole run (G31) unless a ``recover()`` in the *same* goroutine stops it (G32).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, NoReturn

__all__ = ("Panic", "PanicNilError", "Recovery", "panic", "recover")


class Panic(Exception):
    """A Go panic carrying ``value``; ``str(p)`` is the value's text, as Go prints it.

    Runtime panics raised by labkit keep Go's wording: ``send on closed channel``,
    ``close of closed channel``, ``close of nil channel``,
    ``sync: negative WaitGroup counter``.
    """

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return str(self.value)


class PanicNilError(Exception):
    """The value of ``panic(None)``: since Go 1.21 ``recover()`` then returns non-nil (G32)."""

    def __init__(self) -> None:
        super().__init__("panic called with nil argument (use GODEBUG=panicnil=1 to override)")


def panic(value: object) -> NoReturn:
    """Start a panic in the current goroutine (G31). ``panic(None)`` is a PanicNilError."""
    raise Panic(PanicNilError() if value is None else value)


class Recovery:
    """The context manager returned by :func:`recover`.

    After the ``with`` block, ``.value`` is the panic value that was stopped (``None`` when
    nothing panicked) and ``.exception`` the exception itself.
    """

    __slots__ = ("exception", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.exception: BaseException | None = None

    @property
    def panicked(self) -> bool:
        """True when a panic was stopped by this ``recover()``."""
        return self.exception is not None

    def __enter__(self) -> Recovery:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        # Cancellation (anyio's cancel exception) is a BaseException, not a panic: let it go.
        if exc is None or not isinstance(exc, Exception):
            return False
        self.exception = exc
        self.value = exc.value if isinstance(exc, Panic) else exc
        return True

    def __repr__(self) -> str:
        return f"<recover value={self.value!r}>"


def recover() -> Recovery:
    """Stop a panic raised inside the ``with`` block, in this goroutine only (G32).

    Go's ``defer func() { r = recover() }()`` becomes::

        with go.recover() as r:
            risky()
        if r.value is not None: ...

    A panic in *another* goroutine never reaches this block: it ends the run (G31).
    """
    return Recovery()
