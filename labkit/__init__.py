"""labkit: learn asynchronous message processing with actors, Go-style and Rust-style.

Run a program in deterministic virtual time with :func:`simulate`, or in real time with
:func:`run`; both return a :class:`Run` with the result and a :class:`~labkit.trace.Trace`.
The dialects live in ``labkit.go`` and ``labkit.rust``; actors in ``labkit.actor``.
"""

from __future__ import annotations

import random

from labkit._runtime import Choice, Run, Schedule, run, run_async, simulate
from labkit._runtime import current as _current
from labkit._runtime.core import RUNTIME as _RUNTIME
from labkit._runtime.core import sleep
from labkit.errors import Deadlock, LabkitError, NotInRunError
from labkit.trace import Trace

__all__ = (
    "Choice",
    "Deadlock",
    "LabkitError",
    "NotInRunError",
    "Run",
    "Schedule",
    "Trace",
    "now",
    "rng",
    "run",
    "run_async",
    "simulate",
    "sleep",
)

__version__ = "0.1.0"


def now() -> float:
    """Seconds since the current run started, on its clock (virtual under ``simulate``)."""
    rt = _RUNTIME.get()  # _current() without its call: programs read the clock often
    if rt is None:
        return _current().now()  # raises NotInRunError
    return rt._time() - rt._t0  # Runtime.now, inline: one call fewer per reading


def rng() -> random.Random:
    """The current run's seeded random generator (``random.Random(seed)``): use it for every
    random draw of the workload. The scheduler draws from its own (see :func:`simulate`), so a
    scheduling choice made differently never shifts the sequence of these draws."""
    return _current().rng
