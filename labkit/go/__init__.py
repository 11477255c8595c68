"""The Go dialect: goroutines, channels, ``select``, ``context``, WaitGroup, errgroup, timers.

``from labkit import go``, then write Go in Python::

    async def main() -> int:
        ch = go.Chan(0)                       # make(chan int)
        go.go(worker, ch)                     # go worker(ch)
        v, ok = await ch.recv()               # v, ok := <-ch
        s = await go.select(go.Recv(ch), go.Send(out, v), default=True)
        return v

    labkit.simulate(main, seed=1)             # deterministic virtual time

The rules modelled are G1-G47 of docs/rules.md; each docstring names its rules. Choices:

* Any exception escaping a goroutine is a panic: it ends the whole run, and
  ``simulate``/``run`` raise it (G31). ``with go.recover() as r:`` stops panics raised in its
  block, in its own goroutine only (G32); Python exceptions count as Go runtime errors.
* Timers follow Go 1.23+ (G47): timer channels report ``cap == 0`` and ``stop()`` leaves no
  stale tick; ``asynctimerchan=True`` gives the Go 1.19 buffered behaviour (G46).
* Blocked senders are served FIFO (G4), as the Go runtime does, though the spec is silent.
* ``select`` picks among ready cases with the run's scheduler (``Runtime.choose``, G21): a
  generator derived from the seed, apart from ``labkit.rng()``, so a seed fixes every
  choice, and a recorded ``run.schedule`` replays them.

Modelled differently, because Python is not Go:

* G9: direction views raise ``TypeError`` at run time instead of failing to compile.
* G10: there are no element types; a zero-size signal is a ``None`` value, and ``zero=``
  gives each channel its element type's zero value (G12).
* G32: ``recover()`` is a ``with`` block rather than a deferred call; it only sees panics
  raised inside the block, so, as in Go, it never sees another goroutine's panic.
* Goroutines are not preempted: a goroutine spinning on non-blocking operations should
  ``await go.gosched()`` between tries.

Not modelled, and why:

* G8 (memory model, happens-before): Python on one event loop has no data races; every
  channel operation is sequentially consistent, a strictly stronger guarantee.
* G16 is a convention (only senders close); nothing enforces it, as in Go.
* G27 (no memory leak per select): Python memory is not measured; the tests check instead
  that a finished select leaves no waiter behind on any channel (G26).
* G33 is exact under ``labkit.simulate`` (virtual time): ``go.Deadlock`` is raised when
  every task is blocked and no timer is pending. Under ``labkit.run`` (real time) a
  deadlocked program just hangs.
* G38's Go 1.21 additions (``WithDeadlineCause``, ``WithTimeoutCause``, ``AfterFunc``,
  ``WithoutCancel``) and G40's WaitGroup misuse checks ("reused before previous Wait has
  returned") are not provided.
"""

from __future__ import annotations

from labkit.errors import Deadlock
from labkit.go._context import (
    CancelCauseFunc,
    Canceled,
    CanceledError,
    CancelFunc,
    Context,
    ContextError,
    DeadlineExceeded,
    DeadlineExceededError,
    background,
    cause,
    todo,
    with_cancel,
    with_cancel_cause,
    with_deadline,
    with_timeout,
    with_value,
)
from labkit.go._goroutine import go, gosched, sleep
from labkit.go._panic import Panic, PanicNilError, Recovery, panic, recover
from labkit.go._select import Case, Recv, Selected, Send, select
from labkit.go._sync import ErrGroup, WaitGroup, errgroup_with_context
from labkit.go._time import Ticker, Timer, TimerChan, after
from labkit.go.chan import Chan, ChanStatistics, nil

__all__ = (
    "CancelCauseFunc",
    "CancelFunc",
    "Canceled",
    "CanceledError",
    "Case",
    "Chan",
    "ChanStatistics",
    "Context",
    "ContextError",
    "Deadlock",
    "DeadlineExceeded",
    "DeadlineExceededError",
    "ErrGroup",
    "Panic",
    "PanicNilError",
    "Recovery",
    "Recv",
    "Selected",
    "Send",
    "Ticker",
    "Timer",
    "TimerChan",
    "WaitGroup",
    "after",
    "background",
    "cause",
    "errgroup_with_context",
    "go",
    "gosched",
    "nil",
    "panic",
    "recover",
    "select",
    "sleep",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_timeout",
    "with_value",
)
