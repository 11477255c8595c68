"""tokio tasks: ``spawn`` and ``JoinHandle``, ``JoinSet`` (R32, R33, R34).

>>> async def main():
...     handle = rust.spawn(work, 3)
...     match await handle:
...         case rust.Ok(v): ...
...         case rust.Err(e) if e.is_panic(): ...

A panic (any exception) in a spawned task is caught into its :class:`JoinError`, and the run
goes on (R33), unlike a Go goroutine (G31). ``abort()`` cancels the task at its next
``await`` (R32); dropping a handle detaches the task, it keeps running (R32, case 104).
Dropping a :class:`JoinSet` (``drop()`` or leaving ``async with``) aborts what is left (R34).

Not modelled: task-local storage, ``spawn_blocking``/``block_in_place`` (labkit has no
thread pool), ``Builder::unhandled_panic`` (unstable), and the ``'static + Send`` bound (R38,
a compile-time check). Python cannot run code when a handle is garbage-collected
deterministically, so "dropping" is the explicit ``drop()`` (or leaving ``async with``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

import anyio

from labkit._check import check_async_function, check_str
from labkit._runtime.core import TaskRecord, current, current_task
from labkit._runtime.parking import ParkingLot
from labkit._runtime.rows import EventKind
from labkit.rust._ownership import MovedValueError
from labkit.rust.result import Err, Ok, Result

__all__ = ("spawn", "JoinHandle", "JoinError", "JoinSet")

T = TypeVar("T")

_MODEL = "rust"


class JoinError(Exception):
    """Why a task produced no value: it panicked or it was cancelled (R32, R33).

    Match with ``case rust.Err(JoinError("panic", exc)):`` or test ``is_panic()`` /
    ``is_cancelled()``; ``into_panic()`` gives the exception the task raised.
    """

    __match_args__ = ("kind", "payload")

    def __init__(self, task: str, kind: str, payload: BaseException | None = None) -> None:
        super().__init__(task, kind)
        self.task = task
        self.kind = kind  # "panic" or "cancelled"
        self.payload = payload

    @property
    def id(self) -> str:
        """The task's name (tokio's ``task::Id``)."""
        return self.task

    def is_panic(self) -> bool:
        return self.kind == "panic"

    def is_cancelled(self) -> bool:
        return self.kind == "cancelled"

    def into_panic(self) -> BaseException:
        """The exception the task raised; raises ``ValueError`` if it was cancelled instead."""
        if self.payload is None:
            raise ValueError(f"`JoinError::into_panic()` on a task that was not a panic: {self}")
        return self.payload

    def try_into_panic(self) -> Result[BaseException, JoinError]:
        """``Ok(exception)`` for a panic, ``Err(self)`` otherwise."""
        return Ok(self.payload) if self.payload is not None else Err(self)

    def __str__(self) -> str:
        # tokio 1.24's texts (the id is the task's name here); tokio 1.40 and later add the
        # panic message: ``task 3 panicked with message "boom"``.
        if self.payload is not None:
            return f"task {self.task} panicked"
        return f"task {self.task} was cancelled"

    def __repr__(self) -> str:
        if self.payload is not None:
            return f"JoinError::Panic({self.task}, {self.payload!r})"
        return f"JoinError::Cancelled({self.task})"


class JoinHandle(Generic[T]):
    """The handle of a spawned task: ``await handle`` gives ``Ok(value)`` or
    ``Err(JoinError)`` (R33). ``abort()`` cancels (R32); ``drop()`` detaches (R32).

    Awaiting a finished handle returns at once without yielding; it may be awaited again.
    """

    __slots__ = ("_aborted", "_callbacks", "_dropped", "_name", "_rec", "_result", "_waiters")

    def __init__(self, name: str) -> None:
        self._name = name
        self._rec: TaskRecord | None = None
        self._result: Ok[T] | Err[JoinError] | None = None
        self._waiters = ParkingLot()
        self._callbacks: list[Callable[[JoinHandle[T]], None]] = []
        self._aborted = False
        self._dropped = False

    @property
    def id(self) -> str:
        """The task's name in traces (``task-3``), tokio's ``task::Id``."""
        return self._name

    def is_finished(self) -> bool:
        """True once the task returned, panicked or was cancelled."""
        return self._result is not None

    def abort(self) -> None:
        """Cancel the task at its next ``await`` (R32). A task that finishes first keeps
        its result; a task aborted before it first ran never runs."""
        if self._result is not None or self._aborted:
            return
        self._aborted = True
        rt = current()
        rt.record(EventKind.ABORT, actor=current_task().name, peer=self._name, model=_MODEL)
        if self._rec is not None:
            self._rec.cancel()

    def drop(self) -> None:
        """Drop the handle: the task is detached and keeps running (R32, case 104)."""
        self._dropped = True

    def __await__(self) -> Generator[Any, None, Ok[T] | Err[JoinError]]:
        return self._join().__await__()

    async def _join(self) -> Ok[T] | Err[JoinError]:
        if self._dropped:
            raise MovedValueError(f"use of a dropped JoinHandle ({self._name})")
        result = self._result
        if result is not None:
            return result
        await self._waiters.park(f"join {self._name}")
        result = self._result
        assert result is not None
        return result

    def _finish(self, result: Ok[T] | Err[JoinError]) -> None:
        self._result = result
        self._waiters.unpark_all()
        for callback in self._callbacks:
            callback(self)

    def __repr__(self) -> str:
        state = "finished" if self._result is not None else "running"
        return f"<JoinHandle {self._name} {state}>"


async def _task_body(handle: JoinHandle[T], fn: Callable[..., Awaitable[T]],
                     args: tuple[Any, ...]) -> None:
    if handle._aborted:  # aborted before it first ran: it never runs (R32)
        handle._finish(Err(JoinError(handle.id, "cancelled")))
        return
    cancelled = anyio.get_cancelled_exc_class()
    try:
        value = await fn(*args)
    except cancelled:
        handle._finish(Err(JoinError(handle.id, "cancelled")))
        raise
    except BaseException as exc:  # noqa: BLE001 - a tokio task's panic is contained (R33)
        rt = current()
        rt.record(EventKind.FAIL, actor=handle.id, msg_type=type(exc).__name__, model=_MODEL,
                  detail=f"panic kept in JoinError: {str(exc)[:160]}")
        handle._finish(Err(JoinError(handle.id, "panic", exc)))
        return
    handle._finish(Ok(value))


def spawn(fn: Callable[..., Awaitable[T]], *args: Any, name: str | None = None
          ) -> JoinHandle[T]:
    """Start ``fn(*args)`` as a task of the current run (``tokio::spawn``, R32, R33).

    Returns at once; the task starts at the next scheduling point. Its panic is kept in its
    :class:`JoinError` and does not end the run. ``fn`` must be an ``async def`` function
    (``TypeError`` here, not later inside the task).
    """
    check_async_function("fn", fn)
    if name is not None:
        check_str("name", name)
    rt = current()
    handle: JoinHandle[T] = JoinHandle("")
    rec = rt.start_task(_task_body, (handle, fn, args), prefix="task", model=_MODEL, name=name)
    handle._name = rec.name
    handle._rec = rec
    return handle


class JoinSet(Generic[T]):
    """A set of tasks whose results come out in completion order (R34).

    ``await join_next()`` gives ``Ok(v)``/``Err(JoinError)``, or ``None`` when the set is
    empty; it is cancel-safe. Leaving ``async with`` (or ``drop()``) aborts what is left.
    """

    __slots__ = ("_done", "_dropped", "_tasks", "_waiters")

    def __init__(self) -> None:
        self._tasks: dict[str, JoinHandle[T]] = {}
        self._done: deque[JoinHandle[T]] = deque()
        self._waiters = ParkingLot()
        self._dropped = False

    def _check(self) -> None:
        if self._dropped:
            raise MovedValueError("use of a dropped JoinSet")

    def spawn(self, fn: Callable[..., Awaitable[T]], *args: Any,
              name: str | None = None) -> JoinHandle[T]:
        """Spawn ``fn(*args)`` into the set. The returned handle can ``abort()`` the task;
        its result comes out of ``join_next``."""
        self._check()
        handle = spawn(fn, *args, name=name)
        self._tasks[handle.id] = handle
        handle._callbacks.append(self._on_finish)
        return handle

    def _on_finish(self, handle: JoinHandle[T]) -> None:
        if handle.id in self._tasks:
            self._done.append(handle)
            self._waiters.unpark_all()

    def __len__(self) -> int:
        return len(self._tasks)

    def len(self) -> int:
        """Tasks in the set, finished but not yet joined included."""
        return len(self._tasks)

    def is_empty(self) -> bool:
        return not self._tasks

    def try_join_next(self) -> Ok[T] | Err[JoinError] | None:
        """The next finished task's result, or ``None`` if none has finished yet."""
        if not self._done:
            return None
        handle = self._done.popleft()
        del self._tasks[handle.id]
        return handle._result

    async def join_next(self) -> Ok[T] | Err[JoinError] | None:
        """Wait for the next task to finish: its result, or ``None`` if the set is empty
        (R34). Cancel-safe: a result is only taken once this call returns it."""
        pair = await self.join_next_with_id()
        return None if pair is None else pair[1]

    async def join_next_with_id(self) -> tuple[str, Ok[T] | Err[JoinError]] | None:
        """Like :meth:`join_next`, with the task's id: ``(id, result)`` or ``None``."""
        self._check()
        while True:
            if self._done:
                handle = self._done.popleft()
                del self._tasks[handle.id]
                assert handle._result is not None
                return handle.id, handle._result
            if not self._tasks:
                return None
            await self._waiters.park("join_next on a JoinSet")

    def abort_all(self) -> None:
        """Request cancellation of every task; keep calling ``join_next`` to drain (R34)."""
        for handle in list(self._tasks.values()):
            handle.abort()

    async def shutdown(self) -> None:
        """``abort_all()``, then wait until every task has stopped (R34)."""
        self.abort_all()
        while await self.join_next() is not None:
            pass

    async def join_all(self) -> list[T]:
        """Every task's value, in completion order. On the first failure the rest are
        aborted and the panic is re-raised (a cancellation raises its JoinError), R34."""
        values: list[T] = []
        while (result := await self.join_next()) is not None:
            match result:
                case Ok(value):
                    values.append(value)
                case Err(error):
                    self.drop()
                    raise error.payload if error.payload is not None else error
        return values

    def detach_all(self) -> None:
        """Let every task outlive the set (R34)."""
        for handle in self._tasks.values():
            handle._callbacks.remove(self._on_finish)
        self._tasks.clear()
        self._done.clear()

    def drop(self) -> None:
        """Drop the set: every task still in it is aborted (R34, case 106)."""
        if not self._dropped:
            self.abort_all()
            self._dropped = True

    async def __aenter__(self) -> JoinSet[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop()

    def __repr__(self) -> str:
        return f"<JoinSet {len(self._tasks)} tasks>"
