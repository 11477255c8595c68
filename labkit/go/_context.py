"""Go's ``context``: cancellation trees, deadlines and causes (G34-G39).

A context is cancelled by closing its ``done()`` channel, the one-to-many broadcast of G15.
Cancellation is cooperative (G39): it does nothing to a goroutine that never selects on
``ctx.done()`` or checks ``ctx.err()``.

Example::

    ctx, cancel = go.with_timeout(go.background(), 2.0)
    s = await go.select(go.Recv(ctx.done()), go.Recv(results))
    if s.index == 0:
        print(ctx.err())        # context deadline exceeded
    cancel()                    # always release the context's resources

Not modelled: ``WithDeadlineCause``, ``WithTimeoutCause``, ``AfterFunc`` and
``WithoutCancel`` (Go 1.21 additions, G38).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from labkit._check import describe
from labkit._runtime.core import current, current_or_none
from labkit._runtime.rows import EventKind
from labkit.go._time import call_later, check_duration
from labkit.go.chan import Chan

__all__ = (
    "CancelCauseFunc",
    "CancelFunc",
    "Canceled",
    "CanceledError",
    "Context",
    "ContextError",
    "DeadlineExceeded",
    "DeadlineExceededError",
    "background",
    "cause",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_timeout",
    "with_value",
)


class ContextError(Exception):
    """Base class of the two context error values."""


class CanceledError(ContextError):
    """The type of :data:`Canceled`."""


class DeadlineExceededError(ContextError, TimeoutError):
    """The type of :data:`DeadlineExceeded`."""


#: ``context.Canceled``: ``ctx.err()`` after a cancel (G35). Compare with ``is`` or ``==``.
Canceled = CanceledError("context canceled")
#: ``context.DeadlineExceeded``: ``ctx.err()`` after the deadline passed (G35, G37).
DeadlineExceeded = DeadlineExceededError("context deadline exceeded")

CancelFunc = Callable[[], None]
CancelCauseFunc = Callable[..., None]


class _DoneChan(Chan[None]):
    """A context's done channel (named ``done-N`` in traces)."""

    __slots__ = ()

    @classmethod
    def _prefix(cls) -> str:
        return "done"


class Context:
    """A Go ``context.Context``. This base class is ``Background()``: never cancelled."""

    def done(self) -> Chan[None] | None:
        """A receive-only channel closed on cancellation; ``None`` if never cancelled (G34).

        Successive calls return the same channel. ``None`` works as a nil case in
        ``select`` (never ready).
        """
        return None

    def err(self) -> ContextError | None:
        """``None`` until ``done()`` is closed; then ``Canceled`` or ``DeadlineExceeded``,
        for ever after (G35)."""
        return None

    def deadline(self) -> float | None:
        """When the context will be cancelled, on the run's clock (``labkit.now()``)."""
        return None

    def value(self, key: object) -> Any:
        """The value stored under ``key`` by ``with_value`` here or in an ancestor."""
        return None

    def _cancel_ctx(self) -> _CancelCtx | None:
        """The nearest cancellable context: itself or an ancestor (None for background)."""
        return None

    def __repr__(self) -> str:
        return "context.Background"


class _TodoCtx(Context):
    def __repr__(self) -> str:
        return "context.TODO"


_BACKGROUND = Context()
_TODO = _TodoCtx()


def background() -> Context:
    """``context.Background()``: the root; never cancelled, no deadline, ``done()`` None."""
    return _BACKGROUND


def todo() -> Context:
    """``context.TODO()``: like ``background()``, for code not yet given a context."""
    return _TODO


class _ValueCtx(Context):
    def __init__(self, parent: Context, key: object, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def done(self) -> Chan[None] | None:
        return self._parent.done()

    def err(self) -> ContextError | None:
        return self._parent.err()

    def deadline(self) -> float | None:
        return self._parent.deadline()

    def value(self, key: object) -> Any:
        return self._val if key == self._key else self._parent.value(key)

    def _cancel_ctx(self) -> _CancelCtx | None:
        return self._parent._cancel_ctx()

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


def _check_parent(parent: object, name: str = "parent") -> Context:
    """A context to derive from: ``go.background()``, ``go.todo()`` or one made from them."""
    if not isinstance(parent, Context):
        raise TypeError(f"{name} must be a go.Context (go.background(), go.todo() or a "
                        f"context made from one), got {describe(parent)}")
    return parent


def with_value(parent: Context, key: object, val: Any) -> Context:
    """``context.WithValue``: a child carrying ``key -> val``; cancelled with its parent.
    ``key`` must not be ``None`` and must be hashable (Go: comparable; a nil key panics)."""
    parent = _check_parent(parent)
    if key is None:
        raise TypeError("key must be a hashable value other than None (Go panics on a nil "
                        "key), got NoneType None")
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"key must be a hashable value other than None (Go: comparable), got "
                        f"{describe(key)}") from None
    return _ValueCtx(parent, key, val)


class _CancelCtx(Context):
    """A cancellable context: a node of the cancellation tree (G36)."""

    def __init__(self, parent: Context, kind: str, deadline: float | None = None) -> None:
        self._parent = parent
        self._kind = kind
        self._deadline = deadline
        self._chan: Chan[None] = _DoneChan(0)
        self._done = self._chan.recv_only()
        self._err: ContextError | None = None
        self._cause: object = None
        self._children: dict[_CancelCtx, None] = {}  # insertion-ordered: deterministic
        self._timer: anyio.CancelScope | None = None
        rt = current_or_none()
        self.name = rt.new_name("ctx") if rt is not None else "ctx"
        owner = parent._cancel_ctx()
        if owner is not None:
            if owner._err is not None:  # a child of a cancelled context starts cancelled
                self._cancel(False, owner._err, owner._cause)
            else:
                owner._children[self] = None

    def done(self) -> Chan[None]:
        return self._done

    def err(self) -> ContextError | None:
        return self._err

    def deadline(self) -> float | None:
        return self._deadline if self._deadline is not None else self._parent.deadline()

    def value(self, key: object) -> Any:
        return self._parent.value(key)

    def _cancel_ctx(self) -> _CancelCtx:
        return self

    def _cancel(self, remove_from_parent: bool, err: ContextError, cause: object) -> None:
        """Cancel this context and its descendants; the first cancellation wins (G36, G38)."""
        if self._err is not None:
            return
        self._err = err
        self._cause = err if cause is None else cause
        self._chan.close()
        rt = current_or_none()
        if rt is not None:
            rt.record(EventKind.CANCEL, actor=self.name, model="go", detail=str(self._cause)[:200])
        children = list(self._children)
        self._children.clear()
        for child in children:  # a parent's cause is inherited by its children (G38)
            child._cancel(False, err, self._cause)
        if remove_from_parent:
            owner = self._parent._cancel_ctx()
            if owner is not None:
                owner._children.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __repr__(self) -> str:
        return f"{self._parent!r}.{self._kind}"


def _canceller(ctx: _CancelCtx) -> CancelFunc:
    def cancel() -> None:
        ctx._cancel(True, Canceled, None)

    return cancel


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """``context.WithCancel``: a child and its ``cancel()`` (idempotent). Cancelling the
    parent cancels the child; cancelling the child never touches the parent (G36)."""
    ctx = _CancelCtx(_check_parent(parent), "WithCancel")
    return ctx, _canceller(ctx)


def with_cancel_cause(parent: Context) -> tuple[Context, CancelCauseFunc]:
    """``context.WithCancelCause``: ``cancel(err)`` records ``err`` as the cause; ``err()``
    is still ``Canceled``. ``cancel(None)`` makes the cause ``Canceled`` (G38)."""
    ctx = _CancelCtx(_check_parent(parent), "WithCancelCause")

    def cancel(cause: object = None) -> None:
        ctx._cancel(True, Canceled, cause)

    return ctx, cancel


def with_deadline(parent: Context, when: float) -> tuple[Context, CancelFunc]:
    """``context.WithDeadline``: cancelled with ``DeadlineExceeded`` at ``when`` on the run's
    clock (``labkit.now()``). If the parent's deadline is earlier, the child is in effect
    the parent (G37). Cancelled earlier, its error is ``Canceled``."""
    parent = _check_parent(parent)
    when = check_duration("when", when)
    parent_deadline = parent.deadline()
    if parent_deadline is not None and parent_deadline <= when:
        ctx = _CancelCtx(parent, "WithDeadline")  # deadline() is the parent's
        return ctx, _canceller(ctx)
    rt = current()
    ctx = _CancelCtx(parent, "WithDeadline", when)
    delay = when - rt.now()
    if delay <= 0:
        ctx._cancel(True, DeadlineExceeded, None)
    elif ctx._err is None:
        ctx._timer = call_later(rt, delay, lambda: ctx._cancel(True, DeadlineExceeded, None))
    return ctx, _canceller(ctx)


def with_timeout(parent: Context, seconds: float) -> tuple[Context, CancelFunc]:
    """``context.WithTimeout``: ``with_deadline(parent, labkit.now() + seconds)`` (G37)."""
    parent = _check_parent(parent)
    seconds = check_duration("seconds", seconds)
    return with_deadline(parent, current().now() + seconds)


def cause(ctx: Context) -> object:
    """``context.Cause``: why ``ctx`` was cancelled; ``None`` if it was not (G38)."""
    owner = _check_parent(ctx, "ctx")._cancel_ctx()
    if owner is None:
        return ctx.err()
    return owner._cause
