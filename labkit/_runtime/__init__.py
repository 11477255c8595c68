"""labkit's runtime: clocks, task bookkeeping and the trace recorder (private)."""

from __future__ import annotations

from labkit._runtime.core import (
    Choice,
    Run,
    Runtime,
    Schedule,
    TaskRecord,
    current,
    current_or_none,
    current_task,
)
from labkit._runtime.entry import run, run_async, simulate

__all__ = (
    "Choice",
    "Run",
    "Runtime",
    "Schedule",
    "TaskRecord",
    "current",
    "current_or_none",
    "current_task",
    "run",
    "run_async",
    "simulate",
)
