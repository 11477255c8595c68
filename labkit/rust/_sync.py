"""``CancellationToken`` (tokio-util, R31) and the fair ``Semaphore`` (R35).

A token is cooperative cancellation: nothing stops until code checks ``is_cancelled()`` or
awaits ``cancelled()``. Clones share one state; a child is cancelled with its parent, never
the other way round. The semaphore hands out permits strictly in request order, a large
``acquire_many`` included, so small requests cannot overtake it.

Not modelled: ``cancelled_owned``/``WaitForCancellationFutureOwned`` (Python has no lifetimes,
``cancelled()`` serves both), ``Semaphore::MAX_PERMITS`` overflow panics, and ``OwnedPermit``
(a ``SemaphorePermit`` is not tied to a borrow here). Dropping relies on explicit ``drop()``,
``release()`` or ``with``: Python has no deterministic destructors.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from labkit._check import check_int
from labkit._runtime.core import current, current_or_none, current_task
from labkit._runtime.parking import ParkingLot
from labkit._runtime.rows import EventKind
from labkit.rust._errors import PlainError, UnitError
from labkit.rust.result import Err, Ok, Result

__all__ = (
    "AcquireError",
    "CancellationToken",
    "DropGuard",
    "Semaphore",
    "SemaphorePermit",
    "SemaphoreStatistics",
    "TryAcquireError",
)

T = TypeVar("T")

_MODEL = "rust"


# -- CancellationToken ----------------------------------------------------------------------


class _TokenNode:
    """The state one token and all its clones share."""

    __slots__ = ("cancelled", "children", "name", "parent", "waiters")

    def __init__(self, parent: _TokenNode | None) -> None:
        self.cancelled = False
        self.children: list[_TokenNode] = []
        self.waiters = ParkingLot()
        self.parent = parent
        self.name: str | None = None

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        self.waiters.unpark_all()
        children, self.children = self.children, []
        for child in children:
            child.cancel()


class CancellationToken:
    """Cooperative cancellation shared by clones (R31).

    ``cancel()`` is idempotent; ``await cancelled()`` returns at once (without yielding) if
    the token is already cancelled; ``child_token()`` is cancelled with this token.
    """

    __slots__ = ("_node",)

    def __init__(self) -> None:
        self._node = _TokenNode(None)

    @classmethod
    def _from(cls, node: _TokenNode) -> CancellationToken:
        token = cls.__new__(cls)
        token._node = node
        return token

    def _name(self) -> str | None:
        node = self._node
        if node.name is None:
            rt = current_or_none()
            if rt is not None:
                node.name = rt.new_name("token")
        return node.name

    def cancel(self) -> None:
        """Cancel this token, its clones and every child token (R31)."""
        node = self._node
        if node.cancelled:
            return
        rt = current_or_none()
        if rt is not None:
            rt.record(EventKind.CANCEL, actor=current_task().name, peer=self._name(), model=_MODEL)
        node.cancel()

    def is_cancelled(self) -> bool:
        return self._node.cancelled

    async def cancelled(self) -> None:
        """Wait until the token is cancelled; cancel-safe (R30, R31)."""
        node = self._node
        if not node.cancelled:
            await node.waiters.park(f"cancelled() on {self._name()}")

    def child_token(self) -> CancellationToken:
        """A token cancelled when this one is; cancelling it leaves this one alone. A child
        of a cancelled token starts cancelled (R31, case 101)."""
        node = self._node
        child = _TokenNode(node)
        if node.cancelled:
            child.cancelled = True
        else:
            node.children.append(child)
        return CancellationToken._from(child)

    def clone(self) -> CancellationToken:
        """Another handle on the same token: cancelling either cancels both (R31)."""
        return CancellationToken._from(self._node)

    def drop(self) -> None:
        """Drop this handle. A token is not cancelled by being dropped (use a guard)."""

    def drop_guard(self) -> DropGuard:
        """A guard that cancels the token when it is dropped (``drop()`` or ``with``)."""
        return DropGuard(self)

    async def run_until_cancelled(self, awaitable: Awaitable[T]) -> T | None:
        """Run ``awaitable`` until it completes (its value) or the token is cancelled
        (``None``, and the awaitable is cancelled). Cancellation is checked first (R31)."""
        from labkit.rust._select import _discard, select

        if self._node.cancelled:
            _discard(awaitable)
            return None
        index, value = await select(self.cancelled(), awaitable, biased=True)
        return None if index == 0 else value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CancellationToken) and other._node is self._node

    def __hash__(self) -> int:
        return id(self._node)

    def __repr__(self) -> str:
        state = "cancelled" if self._node.cancelled else "active"
        return f"<CancellationToken {state}>"


class DropGuard:
    """Cancels its token when dropped, unless ``disarm()``-ed first (R31)."""

    __slots__ = ("_token",)

    def __init__(self, token: CancellationToken) -> None:
        self._token: CancellationToken | None = token

    def disarm(self) -> CancellationToken:
        """Give the token back without cancelling it."""
        token = self._token
        if token is None:
            raise ValueError("this DropGuard was already dropped or disarmed")
        self._token = None
        return token

    def drop(self) -> None:
        """Drop the guard: cancel the token."""
        token, self._token = self._token, None
        if token is not None:
            token.cancel()

    def __enter__(self) -> DropGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


# -- Semaphore ------------------------------------------------------------------------------


class AcquireError(PlainError):
    """The semaphore was closed (R35)."""

    __repr__ = Exception.__repr__  # ``AcquireError()``, as it always printed

    def __str__(self) -> str:
        return "semaphore closed"


class TryAcquireError(UnitError):
    """``try_acquire`` got nothing: ``TryAcquireError.NoPermits`` or ``.Closed`` (R35).

    Use in ``match``: ``case Err(TryAcquireError.NoPermits):``.
    """

    __slots__ = ()

    NoPermits: ClassVar[TryAcquireError]
    Closed: ClassVar[TryAcquireError]

    def __str__(self) -> str:
        return "no permits available" if self.kind == "NoPermits" else "semaphore closed"


TryAcquireError.NoPermits = TryAcquireError("NoPermits")
TryAcquireError.Closed = TryAcquireError("Closed")

_GRANTED = 1
_CLOSED = 2


@dataclass(frozen=True)
class SemaphoreStatistics:
    """A snapshot of a :class:`Semaphore`: permits free now, tasks waiting in ``acquire``
    and the permits they ask for, and whether it is closed (R35)."""

    name: str
    permits_available: int
    tasks_waiting: int
    permits_waiting: int
    closed: bool


class Semaphore:
    """A counting semaphore that is fair: permits go out in request order (R35).

    >>> permit = await sem.acquire()   # ... then permit.release()
    >>> with await sem.acquire():       # released when the block ends
    ...     ...

    ``acquire``/``acquire_many`` raise :class:`AcquireError` once the semaphore is closed.
    Cancelling a waiting ``acquire`` loses its place in the queue (R30). The waiters stand
    in a :class:`~labkit._runtime.parking.ParkingLot`, whose ``grant`` keeps the order.
    """

    __slots__ = ("_closed", "_name", "_permits", "_waiters")

    def __init__(self, permits: int) -> None:
        self._permits = check_int("permits", permits, minimum=0)
        self._waiters = ParkingLot()
        self._closed = False
        self._name: str | None = None

    def _trace_name(self) -> str:
        if self._name is None:
            self._name = current().new_name("sem")
        return self._name

    def available_permits(self) -> int:
        return self._permits

    def is_closed(self) -> bool:
        return self._closed

    def add_permits(self, n: int) -> None:
        """Add ``n`` permits, handing them to waiters in request order."""
        self._permits += check_int("n", n, minimum=0)
        self._grant()

    def forget_permits(self, n: int) -> int:
        """Remove up to ``n`` available permits; returns how many were removed."""
        taken = min(check_int("n", n, minimum=0), self._permits)
        self._permits -= taken
        return taken

    def close(self) -> None:
        """Close: every waiting and later ``acquire`` fails with :class:`AcquireError`."""
        if self._closed:
            return
        self._closed = True
        self._waiters.unpark_all(_CLOSED)

    def statistics(self) -> SemaphoreStatistics:
        """Permits free, tasks waiting and the permits they ask for, closed (R35)."""
        waiting = self._waiters.statistics()
        name = self._trace_name() if current_or_none() is not None else self._name
        return SemaphoreStatistics(
            name=name or "<unnamed sem>", permits_available=self._permits,
            tasks_waiting=waiting.tasks_waiting, permits_waiting=waiting.units_waiting,
            closed=self._closed)

    def try_acquire(self) -> Result[SemaphorePermit, TryAcquireError]:
        """``Ok(permit)``, ``Err(TryAcquireError.NoPermits)`` or ``.Closed`` (R35)."""
        return self.try_acquire_many(1)

    def try_acquire_many(self, n: int) -> Result[SemaphorePermit, TryAcquireError]:
        """``n`` permits now, or an error; never overtakes a waiting ``acquire`` (R35)."""
        check_int("n", n, minimum=0)
        if self._closed:
            return Err(TryAcquireError.Closed)
        if self._permits >= n and self._waiters.first() is None:
            self._permits -= n
            return Ok(SemaphorePermit(self, n))
        return Err(TryAcquireError.NoPermits)

    async def acquire(self) -> SemaphorePermit:
        """Wait for one permit, in request order (R35)."""
        return await self.acquire_many(1)

    async def acquire_many(self, n: int) -> SemaphorePermit:
        """Wait for ``n`` permits at once; later requests queue behind it (R35)."""
        check_int("n", n, minimum=0)
        if self._closed:
            raise AcquireError
        if self._permits >= n and self._waiters.first() is None:
            self._permits -= n
            return SemaphorePermit(self, n)
        rt = current()
        name = self._trace_name()
        rt.record(EventKind.BLOCK, actor=current_task().name, peer=name, model=_MODEL,
                  detail=f"acquire {n}")

        def refund(status: Any) -> None:  # granted just as the wait was cancelled
            if status == _GRANTED:
                self.release_permits(n)

        status = await self._waiters.park(f"acquire {n} on {name}", weight=n, refund=refund,
                                          reserve=self._grant)
        if status == _CLOSED:
            raise AcquireError
        rt.record(EventKind.UNBLOCK, actor=current_task().name, peer=name, model=_MODEL,
                  detail=f"acquire {n}")
        return SemaphorePermit(self, n)

    def release_permits(self, n: int) -> None:
        """Return ``n`` permits (what dropping a permit does)."""
        self._permits += n
        self._grant()

    def _grant(self) -> None:
        """Hand free permits to the waiters in order; nobody overtakes the head (R35)."""
        if self._waiters:
            self._permits -= self._waiters.grant(self._permits, _GRANTED)

    def __repr__(self) -> str:
        waiting = self._waiters.statistics().tasks_waiting
        return f"<Semaphore permits={self._permits} waiting={waiting}>"


class SemaphorePermit:
    """Permits held from a :class:`Semaphore`; ``release()`` (or leaving ``with``) returns
    them (tokio returns them on drop, R35)."""

    __slots__ = ("_n", "_sem")

    def __init__(self, sem: Semaphore, n: int) -> None:
        self._sem: Semaphore | None = sem
        self._n = n

    def num_permits(self) -> int:
        return self._n

    def release(self) -> None:
        """Give the permits back (dropping the permit). A second call does nothing."""
        sem, self._sem = self._sem, None
        if sem is not None and self._n:
            sem.release_permits(self._n)

    drop = release

    def forget(self) -> None:
        """Keep the permits out of the semaphore for good."""
        self._sem = None

    def __enter__(self) -> SemaphorePermit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<SemaphorePermit {self._n}{'' if self._sem else ' released'}>"
