"""tokio's ``select!``: wait for the first of several awaitables, cancel the rest (R27-R30).

>>> idx, value = await rust.select(rx.recv(), rust.sleep(1.0))
>>> idx, value = await rust.select(token.cancelled(), work.recv(), biased=True)
>>> idx, value = await rust.select(
...     rust.Branch(rx.recv(), matches=lambda v: v is not None),   # `Some(v) = rx.recv()`
...     rust.Branch(tx.send(x), when=have_x),                       # `, if have_x`
...     else_="all disabled")                                       # `else => ...`

The first branch to complete (and match its pattern) wins and the others are cancelled: a
losing ``tx.send(v)`` loses ``v`` (R11), a losing ``rx.recv()`` loses nothing (R30).
By default the branches are tried from a random start, so a ready branch cannot starve the
others; ``biased=True`` tries them in declaration order (R28). The start is a scheduling
choice (``Runtime.choose``): drawn from the run's scheduler generator, or replayed from a
given schedule, where choice 0 is declaration order.

How it runs: each branch runs in a child task of the selecting task. Python cannot poll a
coroutine piecewise the way tokio polls futures, so this is the closest faithful shape: the
children start in the fairness order, a child that finds the select already won does not
start its awaitable, and a child woken after another branch won raises at its wake-up point
(the core's park guard), so a cancel-safe primitive takes back what the wake handed it.

Not modelled: a blocked ``send`` woken with its value delivered in the same instant another
branch wins has really sent its value (tokio would drop it); select always yields once to
the scheduler, even when a branch is ready, because each branch runs as a child task.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Final, Generic, TypeVar

import anyio

from labkit._runtime.core import _PARK_GUARD, current

__all__ = ("AllBranchesDisabled", "Branch", "select")

T = TypeVar("T")

_NO_ELSE: Final = object()


class AllBranchesDisabled(RuntimeError):
    """Every branch of a ``select`` was disabled and there is no ``else_`` (R29; tokio
    panics with "all branches are disabled and there is no else branch")."""


class Branch(Generic[T]):
    """A ``select`` branch with a precondition and a pattern (R29).

    ``when=False`` disables the branch (the awaitable is closed unawaited, but, as in tokio,
    it was still evaluated). ``matches`` is the pattern: a predicate on the result, or a
    class the result must be an instance of (``matches=rust.Ok``). A result that does not
    match disables the branch for the rest of the call and is dropped.
    """

    __slots__ = ("awaitable", "matches", "when")

    def __init__(self, awaitable: Awaitable[T], *, when: bool = True,
                 matches: Callable[[T], object] | type | None = None) -> None:
        self.awaitable = awaitable
        self.when = when
        self.matches = matches

    def accepts(self, value: T) -> bool:
        """Does ``value`` match this branch's pattern?"""
        matches = self.matches
        if matches is None:
            return True
        if isinstance(matches, type):
            return isinstance(value, matches)
        return bool(matches(value))

    def __repr__(self) -> str:
        return f"Branch({self.awaitable!r}, when={self.when!r})"


class _BranchLost(BaseException):
    """Raised inside a branch woken after the select was already won (never escapes)."""


def _discard(awaitable: Awaitable[Any]) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()


class _Select:
    __slots__ = ("done", "error", "index", "live", "scope", "value")

    def __init__(self, live: int) -> None:
        self.done = False
        self.live = live
        self.index = -1
        self.value: Any = None
        self.error: BaseException | None = None
        self.scope: anyio.CancelScope | None = None

    def finish(self) -> None:
        self.done = True
        if self.scope is not None:
            self.scope.cancel()

    async def run_branch(self, index: int, branch: Branch[Any]) -> None:
        if self.done:  # another branch won before this one was tried (R27)
            _discard(branch.awaitable)
            return
        outer = _PARK_GUARD.get()

        def guard() -> None:
            if self.done:
                raise _BranchLost
            if outer is not None:
                outer()

        _PARK_GUARD.set(guard)
        try:
            value = await branch.awaitable
        except _BranchLost:
            return
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:  # noqa: BLE001 - re-raised by select() in the caller
            if not self.done:
                self.error = exc
                self.finish()
            return
        if self.done:
            return
        if not branch.accepts(value):  # the pattern failed: disabled for this call (R29)
            self.live -= 1
            if self.live == 0:
                self.finish()
            return
        self.index = index
        self.value = value
        self.finish()


async def select(*branches: Awaitable[Any] | Branch[Any], biased: bool = False,
                 else_: Any = _NO_ELSE) -> tuple[int, Any]:
    """Wait for the first branch to complete and return ``(index, value)`` (R27).

    The others are cancelled. Random start by default, declaration order with
    ``biased=True`` (R28). Branches may be :class:`Branch` objects with ``when=`` and
    ``matches=`` (R29); when every branch is disabled, ``(-1, else_)`` is returned, or
    :class:`AllBranchesDisabled` is raised when no ``else_`` was given.
    """
    items = [b if isinstance(b, Branch) else Branch(b) for b in branches]
    try:
        rt = current()
    except BaseException:
        for branch in items:
            _discard(branch.awaitable)
        raise
    active: list[int] = []
    for i, branch in enumerate(items):
        if branch.when:
            active.append(i)
        else:
            _discard(branch.awaitable)
    if active:
        if not biased and len(active) > 1:
            start = rt.choose(len(active), "select")
            active = active[start:] + active[:start]
        state = _Select(len(active))
        async with anyio.create_task_group() as tg:
            state.scope = tg.cancel_scope
            for i in active:
                tg.start_soon(state.run_branch, i, items[i])
        if state.error is not None:
            raise state.error
        if state.index >= 0:
            return state.index, state.value
    if else_ is not _NO_ELSE:
        return -1, else_
    raise AllBranchesDisabled(
        "all branches of rust.select() are disabled and there is no else_ branch "
        "(tokio panics here); pass else_=... to handle it")
