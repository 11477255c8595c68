"""``tokio::sync::oneshot``: one value, sent once, from one task to another (R22, R40).

``tx.send(v)`` consumes the sender: it never waits, returns ``Ok(None)``, or ``Err(v)``
(the live value) when the receiver is gone; using ``tx`` again raises
:class:`~labkit.rust.MovedValueError`. ``await rx`` gives ``Ok(v)``, or ``Err(RecvError())``
when the sender was dropped unsent. The usual reply path of a request (R40):

>>> import labkit
>>> async def main():
...     tx, rx = channel()
...     tx.send("pong")
...     return await rx
>>> labkit.simulate(main).result
Ok('pong')

Built on :class:`labkit.channel.Channel` with one slot, closed as soon as the value is in
(the sender is spent), so receivers see ``Ok`` once and ``Closed`` after.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar, Generic, TypeVar

from labkit._runtime.core import current, current_task
from labkit._runtime.rows import EventKind
from labkit.channel import EMPTY, OK, Channel
from labkit.rust._errors import UnitError
from labkit.rust._handles import Handle, Notify
from labkit.rust._ownership import MovedValueError, transfer
from labkit.rust.mpsc import RecvError
from labkit.rust.result import Err, Ok, Result

__all__ = ("Receiver", "RecvError", "Sender", "TryRecvError", "channel")

T = TypeVar("T")


class TryRecvError(UnitError):
    """``rx.try_recv()`` failed: ``TryRecvError.Empty`` (nothing yet) or ``.Closed`` (the
    sender was dropped, or the value was already taken) (R22)."""

    Empty: ClassVar[TryRecvError]
    Closed: ClassVar[TryRecvError]

    def __str__(self) -> str:
        return "channel empty" if self.kind == "Empty" else "channel closed"


TryRecvError.Empty = TryRecvError("Empty")
TryRecvError.Closed = TryRecvError("Closed")


class _State(Generic[T]):
    __slots__ = ("chan", "done", "rx_closed", "rx_gone")

    def __init__(self) -> None:
        self.chan: Channel[T] = Channel(1, model="rust", prefix="oneshot")
        self.rx_closed = False
        self.done = False  # the receiver got its value (or its error)
        self.rx_gone = Notify()

    def record(self, kind: EventKind, detail: str, value: object = None) -> None:
        rt = current()
        if rt.trace_on:
            rt.record(kind, actor=current_task().name, peer=self.chan.name_in(rt),
                      msg_type=None if value is None else type(value).__name__,
                      depth=len(self.chan.buffer), model="rust", detail=detail)


class Sender(Handle[_State[T]]):
    """The sending half: ``send`` once (R22). Sending or dropping spends it."""

    __slots__ = ()

    def _moved(self) -> MovedValueError:
        return MovedValueError(
            "use of moved value: a oneshot Sender is consumed by send() or drop(); "
            "it can send only once (make a new oneshot.channel() for another value)")

    def send(self, value: T) -> Result[None, T]:
        """Send the one value, never waiting: ``Ok(None)``, or ``Err(value)`` if the receiver
        was closed or dropped (R22). Consumes the sender."""
        state = self._live()
        self._dropped = True
        value = transfer(value)
        if state.rx_closed:
            return Err(value)
        state.chan.send_nowait(value)  # one empty slot: cannot be full
        state.chan.close()  # the sender is gone
        return Ok(None)

    def _release(self) -> None:
        """Dropped unsent: the receiver gets ``Err(RecvError())``."""
        state = self._shared
        state.chan.close()
        state.record(EventKind.CLOSE, "sender dropped")

    def is_closed(self) -> bool:
        """True once the receiver was closed or dropped: the reply is no longer wanted."""
        return self._shared.rx_closed

    async def closed(self) -> None:
        """Wait until the receiver is closed or dropped (R22: abandon work nobody wants)."""
        state = self._shared
        await state.rx_gone.wait(f"closed() on {state.chan.name_in(current())}")

    def __repr__(self) -> str:
        return f"<oneshot.Sender {self._shared.chan.name}{' spent' if self._dropped else ''}>"


class Receiver(Handle[_State[T]]):
    """The receiving half: ``await rx`` (or ``await rx.recv()``) once (R22)."""

    __slots__ = ()

    family = "oneshot"

    def _awaitable(self) -> _State[T]:
        state = self._live()
        if state.done:
            raise MovedValueError(
                "a oneshot Receiver can be awaited only once, and it already completed")
        return state

    async def recv(self) -> Result[T, RecvError]:
        """``Ok(v)``, or ``Err(RecvError())`` if the sender was dropped unsent (R22).

        Cancel-safe: cancelled while waiting, the value stays for the next await (R30).
        """
        state = self._awaitable()
        value, ok = await state.chan.recv()
        state.done = True
        return Ok(value) if ok else Err(RecvError(tokio=True))

    def __await__(self) -> Generator[Any, None, Result[T, RecvError]]:
        return self.recv().__await__()

    def try_recv(self) -> Result[T, TryRecvError]:
        """``Ok(v)``, ``Err(TryRecvError.Empty)``, or ``Err(TryRecvError.Closed)`` when the
        sender is gone or the value was already taken (R22)."""
        state = self._live()
        status, value = state.chan.recv_nowait()
        if status is OK:
            state.done = True
            return Ok(value)
        if status is EMPTY:
            return Err(TryRecvError.Empty)
        return Err(TryRecvError.Closed)

    def close(self) -> None:
        """Refuse the value from now on: a later ``send`` fails with ``Err(v)``; a value sent
        before the close is still received (R22)."""
        state = self._shared
        if not state.rx_closed:
            state.rx_closed = True
            state.chan.close()  # nothing more can arrive; a value already in stays
            state.record(EventKind.CLOSE, "receiver closed")
            state.rx_gone.fire()

    def _release(self) -> None:
        """Dropping the receiver closes it, and drops a value already sent."""
        self.close()
        state = self._shared
        items = state.chan.drain()
        for _msg_id, value in items:
            state.record(EventKind.DROP, "receiver dropped", value)
        items.clear()

    def is_terminated(self) -> bool:
        """True once the receiver has yielded its value or error."""
        return self._shared.done

    def __repr__(self) -> str:
        return f"<oneshot.Receiver {self._shared.chan.name}>"


def channel() -> tuple[Sender[Any], Receiver[Any]]:
    """``tokio::sync::oneshot::channel()``: a one-value channel (R22)."""
    state: _State[Any] = _State()
    return Sender(state), Receiver(state)
