"""The one wait queue: a FIFO of parked tasks (trio's ``ParkingLot``, with weights).

Every labkit object that makes tasks wait keeps its waiters in a :class:`ParkingLot`: a
channel's receivers and senders, a Rust ``Semaphore``, flow-control ``Credits``,
``Watermarks``, a ``JoinSet``, an actor's watchers. The rules of waiting are written here
once:

* **FIFO.** Waiters are served in arrival order (G4, R10, R35).
* **Weighted requests.** A waiter may ask for ``weight`` units (slots, permits, credits);
  :meth:`ParkingLot.grant` serves the head while it fits and never lets a small request
  overtake a big one at the head (tokio's fair semaphore, R35).
* **Cancel-safe hand-back.** A task cancelled while parked either was not served yet (it
  leaves the queue; if it stood at the head, the owner serves those behind it again, since
  a big request at the head may have held them back) or was served just as the
  cancellation landed (what it was handed goes back to the owner, which hands it on, R30).
* **Shared wake-up slots.** One :class:`~labkit._runtime.core.Parker` may stand in several
  lots at once (one Go or Rust ``select``): the first lot to wake it wins, the others find
  it no longer pending and skip it (G25, G26).

A waiter that is woken is removed from the lot by the waker; gone waiters (woken by another
lot, or cancelled) are skipped lazily at the head, so no wake-up scans the whole queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from labkit._runtime.core import RUNTIME, TASK, Parker, current, current_task, unblocked

__all__ = ("ParkingLot", "ParkingLotStatistics", "Waiter")


class Waiter:
    """One parked request: the task's wake-up slot, the ``select`` case it stands for, and
    what it waits with: a value (a blocked send) or a ``weight`` of units to be granted."""

    __slots__ = ("case", "msg_id", "parker", "value", "weight")

    def __init__(self, parker: Parker, case: int = 0, value: Any = None, msg_id: int = 0,
                 weight: int = 0) -> None:
        self.parker = parker
        self.case = case
        self.value = value
        self.msg_id = msg_id
        self.weight = weight

    def __repr__(self) -> str:
        return f"<Waiter case={self.case} weight={self.weight}>"


@dataclass(frozen=True)
class ParkingLotStatistics:
    """``tasks_waiting``: parked tasks still pending; ``units_waiting``: the sum of their
    requests' weights."""

    tasks_waiting: int
    units_waiting: int


class ParkingLot:
    """A FIFO of :class:`Waiter` s. See the module docstring for the rules it keeps.

    ``waiters`` is the queue itself, a list: wait queues are short, and an empty deque costs
    ~760 bytes where a list costs ~56 (an idle actor's mailbox has a lot). Hot paths test
    ``if lot.waiters:`` (no Python call) rather than ``if lot:``.
    """

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: list[Waiter] = []

    # -- looking ---------------------------------------------------------------------------

    def __len__(self) -> int:
        """Entries in the queue, gone ones not yet skipped included (see :meth:`purge`)."""
        return len(self.waiters)

    def __bool__(self) -> bool:
        return bool(self.waiters)

    def __iter__(self) -> Iterator[Waiter]:
        return iter(self.waiters)

    def purge(self) -> None:
        """Skip the gone waiters at the head (woken elsewhere, or cancelled)."""
        waiters = self.waiters
        while waiters and not waiters[0].parker.pending:
            del waiters[0]

    def first(self) -> Waiter | None:
        """The first waiter still pending, or ``None``."""
        self.purge()
        return self.waiters[0] if self.waiters else None

    def pending(self) -> list[Waiter]:
        """The waiters still pending, in order."""
        return [w for w in self.waiters if w.parker.pending]

    def statistics(self) -> ParkingLotStatistics:
        waiting = self.pending()
        return ParkingLotStatistics(tasks_waiting=len(waiting),
                                    units_waiting=sum(w.weight for w in waiting))

    # -- queueing and withdrawing ----------------------------------------------------------

    def add(self, waiter: Waiter) -> None:
        """Queue ``waiter`` at the back (its task waits on ``waiter.parker`` itself)."""
        self.waiters.append(waiter)

    def remove(self, parker: Parker) -> bool:
        """Withdraw every waiter of ``parker``; ``True`` if one stood first among the
        pending, so the owner should serve the queue again (those behind may fit now)."""
        waiters = self.waiters
        if not waiters:
            return False
        at_head = False
        for w in waiters:  # a cancelled parker is no longer pending: look by identity
            if w.parker is parker:
                at_head = True
                break
            if w.parker.pending:
                break
        waiters[:] = [w for w in waiters if w.parker is not parker]
        return at_head

    # -- waking ----------------------------------------------------------------------------

    def pop(self) -> Waiter | None:
        """Take the first pending waiter off the queue without waking it (a caller that
        decides, from its request, what to wake it with)."""
        waiters = self.waiters
        while waiters:
            w = waiters.pop(0)
            if w.parker.pending:
                return w
        return None

    def unpark(self, result: Any = None) -> Waiter | None:
        """Wake the first pending waiter with ``(case, result)``; return it, or ``None``
        when nobody waits."""
        waiters = self.waiters
        while waiters:
            w = waiters.pop(0)
            if w.parker.wake((w.case, result)):
                return w
        return None

    def unpark_all(self, result: Any = None) -> int:
        """Wake every pending waiter with ``(case, result)``; return how many woke."""
        waiters, self.waiters = self.waiters, []
        woken = 0
        for w in waiters:
            woken += w.parker.wake((w.case, result))
        return woken

    def grant(self, available: int | float, result: Any = None) -> int:
        """Wake waiters from the head while the head's ``weight`` fits in ``available``;
        return the units granted. A request that does not fit stops the loop: nobody
        overtakes it (R35)."""
        waiters = self.waiters
        granted = 0
        while waiters:
            w = waiters[0]
            if not w.parker.pending:
                del waiters[0]
                continue
            if w.weight > available - granted:
                break
            del waiters[0]
            if w.parker.wake((w.case, result)):
                granted += w.weight
        return granted

    # -- parking ---------------------------------------------------------------------------

    def join(self, what: object, *, weight: int = 0, value: Any = None,
             msg_id: int = 0) -> Parker:
        """Queue the current task and note ``what`` it waits for (deadlock reports); return
        its wake-up slot, for ``await parker.wait()``. :meth:`park` is ``join``, the wait
        and :meth:`leave`; a hot path that must not keep :meth:`park`'s frame parked (an
        idle receiver) writes those three steps itself."""
        parker = (RUNTIME.get() or current()).parker()
        self.waiters.append(Waiter(parker, 0, value, msg_id, weight))
        TASK.get().blocked_on = what  # blocking(what), inlined: every wait passes here
        return parker

    def leave(self, parker: Parker, *, refund: Callable[[Any], None] | None = None,
              reserve: Callable[[], None] | None = None) -> None:
        """The current task, queued with :meth:`join`, was cancelled while it waited (or
        lost its Rust ``select``): if it had been woken already, ``refund(result)`` gives
        back what it was handed; if not, it leaves the queue, and ``reserve()`` serves the
        queue again when it stood at the head (those behind it may fit now)."""
        current_task().blocked_on = None
        if parker.woken:
            if refund is not None:
                refund(parker.result()[1])
        elif self.remove(parker) and reserve is not None:
            reserve()

    async def park(self, what: object, *, weight: int = 0, value: Any = None,
                   msg_id: int = 0, refund: Callable[[Any], None] | None = None,
                   reserve: Callable[[], None] | None = None) -> Any:
        """Queue the current task and wait until it is woken; return what it was woken
        with (the ``result`` given to :meth:`unpark` or :meth:`grant`).

        ``what`` names the wait in deadlock reports (``("receive from", chan)``).
        Cancelled while parked, it :meth:`leave` s with ``refund`` and ``reserve``, and the
        cancellation propagates.
        """
        parker = self.join(what, weight=weight, value=value, msg_id=msg_id)
        try:
            _case, result = await parker.wait()
            unblocked(current_task())  # a lost Rust select branch raises here: see leave
        except BaseException:
            self.leave(parker, refund=refund, reserve=reserve)
            raise
        return result
