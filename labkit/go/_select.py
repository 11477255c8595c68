"""Go ``select`` over ``Recv`` and ``Send`` cases (G18, G20-G27).

Go::

    select {
    case v, ok := <-in:   ...
    case out <- x:        ...
    default:              ...
    }

labkit::

    s = await go.select(go.Recv(inp), go.Send(out, x), default=True)
    if s.index == 0: v, ok = s.value, s.ok
    elif s.index == 1: ...
    else: ...               # s.index == -1: default ran

How it works (the commit protocol of ``runtime/select.go``, on the core channel):

1. The case operands were evaluated once, in order, when the cases were built (G20).
2. Collect the ready cases; nil channels are never ready (G18). If any, pick one uniformly
   at random (G21) and do it without waiting. The pick is a scheduling choice
   (``Runtime.choose``): drawn from the run's scheduler generator, or replayed from a
   given schedule, where choice 0 is the first ready case.
3. Else take ``default`` if there is one (G22).
4. Else park on *one* wake-up slot shared by a waiter on every case's channel. The first
   counterpart to fill the slot commits exactly that case (G25); then every leftover waiter
   is withdrawn (G26), also when the wait is cancelled.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labkit._runtime.core import current, current_task
from labkit._runtime.rows import EventKind
from labkit.channel import CLOSED, Channel
from labkit.go._panic import Panic
from labkit.go.chan import Chan, block_forever, nil

__all__ = ("Case", "Recv", "Selected", "Send", "select")


def _as_chan(ch: Chan[Any] | None, what: str) -> Chan[Any]:
    if ch is None:  # a background context's done() is None: treat it as nil
        return nil
    if not isinstance(ch, Chan):
        raise TypeError(f"go.{what} needs a go.Chan (or None/go.nil), got "
                        f"{type(ch).__name__} {ch!r}")
    return ch


@dataclass(frozen=True, slots=True, init=False)
class Recv:
    """A receive case ``case v, ok := <-ch`` (``ch`` may be nil or ``None``: never ready)."""

    chan: Chan[Any]

    def __init__(self, chan: Chan[Any] | None) -> None:
        chan = _as_chan(chan, "Recv")
        chan.check_can_recv()
        object.__setattr__(self, "chan", chan)


@dataclass(frozen=True, slots=True, init=False)
class Send:
    """A send case ``case ch <- value``; ``value`` is evaluated when the case is built (G20)."""

    chan: Chan[Any]
    value: Any

    def __init__(self, chan: Chan[Any] | None, value: Any) -> None:
        chan = _as_chan(chan, "Send")
        chan.check_can_send()
        object.__setattr__(self, "chan", chan)
        object.__setattr__(self, "value", value)


Case = Recv | Send


@dataclass(frozen=True, slots=True)
class Selected:
    """What ``select`` did: the chosen case's ``index`` (-1 for default).

    For a receive case, ``value``/``ok`` are the received pair (``ok`` False when the
    channel was closed and drained, G23). For a send case ``value`` is ``None`` and ``ok``
    True; for default ``(-1, None, False)``. Unpacks: ``i, v, ok = await go.select(...)``.
    """

    index: int
    value: Any
    ok: bool

    def __iter__(self) -> Iterator[Any]:
        return iter((self.index, self.value, self.ok))


_DEFAULT = Selected(-1, None, False)


def _check_cases(cases: tuple[Any, ...]) -> None:
    for i, case in enumerate(cases):
        if not isinstance(case, (Recv, Send)):
            if inspect.iscoroutine(case):
                case.close()
                raise TypeError(
                    f"select case {i} is a coroutine: pass go.Recv(ch) or go.Send(ch, v), "
                    "not ch.recv()/ch.send(v)")
            raise TypeError(f"select case {i} must be go.Recv(ch) or go.Send(ch, v), got "
                            f"{type(case).__name__} {case!r}")


def _try_case(i: int, case: Case) -> Selected | None:
    """Do case ``i`` now if it can proceed; ``None`` if it would wait."""
    if isinstance(case, Recv):
        got = case.chan._try_recv()
        if got is None:
            return None
        return Selected(i, got[0], got[1])
    if case.chan._try_send(case.value):  # panics on a closed channel (G23)
        return Selected(i, None, True)
    return None


async def select(*cases: Case, default: bool = False) -> Selected:
    """Wait until one case can proceed and do exactly that one (G20-G26).

    Ready cases are chosen uniformly at random by the run's scheduler (G21); nil
    channels are never ready (G18); with ``default=True`` it never waits (G22). A send case
    on a closed channel panics if chosen (G23). ``select()`` with no cases, or only nil
    cases, blocks forever (G22, G18). Doing it needs no wait when a case is ready: the fast
    path does not yield to the event loop.
    """
    _check_cases(cases)
    rt = current()

    # 1-2: the ready cases, in order; then a uniform pick (G21).
    ready: list[int] = []
    for i, case in enumerate(cases):
        ch = case.chan._ch
        if ch is None:
            continue
        if ch.ready_recv() if isinstance(case, Recv) else ch.ready_send():
            ready.append(i)
    while ready:
        k = rt.choose(len(ready), "select") if len(ready) > 1 else 0
        i = ready.pop(k)
        done = _try_case(i, cases[i])
        if done is not None:
            return done

    # 3: nothing ready.
    if default:
        return _DEFAULT

    # 4: wait on every non-nil case with one shared wake-up slot.
    live = [(i, case, case.chan._ch) for i, case in enumerate(cases)
            if case.chan._ch is not None]
    if not live:
        await block_forever("select (no cases)" if not cases else "select on nil channels")
    parker = rt.parker()
    msg_ids: dict[int, int] = {}
    for i, case, ch in live:
        if isinstance(case, Recv):
            ch.add_recv_waiter(parker, i)
        else:
            msg_ids[i] = rt.next_msg_id()
            ch.add_send_waiter(parker, i, case.value, msg_ids[i])
    rt.record(EventKind.BLOCK, actor=current_task().name, model="go", detail="select")
    try:
        index, payload = await rt.park(parker, "select")
    except BaseException:
        if parker.woken:
            index, payload = parker.result()
            case = cases[index]
            ch = case.chan._ch
            if isinstance(case, Recv) and payload != CLOSED and ch is not None:
                ch.give_back(payload[0], payload[1])  # the value must not be lost
        raise
    finally:
        for _i, _case, ch in live:  # withdraw the losing cases' waiters (G26)
            ch.remove_waiters(parker)

    case = cases[index]
    chan: Channel[Any] | None = case.chan._ch
    assert chan is not None
    if isinstance(case, Recv):
        if payload == CLOSED:
            return Selected(index, case.chan.zero, False)
        value, msg_id = payload
        if rt.trace_on:
            chan.record(rt, EventKind.RECEIVE, msg_id, value, detail="select")
        return Selected(index, value, True)
    if payload == CLOSED:  # closed while this select waited to send (G13, G23)
        raise Panic("send on closed channel")
    if rt.trace_on:
        chan.record(rt, EventKind.SEND, msg_ids[index], case.value, detail="select")
    return Selected(index, None, True)
