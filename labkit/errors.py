"""Exceptions shared by every part of labkit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ("Deadlock", "LabkitError", "NotInRunError")


class LabkitError(Exception):
    """Base class for errors raised by labkit itself (not by the Go or Rust model).

    ``run`` is the partial :class:`~labkit.Run` when the error ended a run (its trace up to
    the error), else ``None``. (Typed ``Any``: a ``labkit.Run``, which imports this module.)
    """

    run: Any = None


class NotInRunError(LabkitError, RuntimeError):
    """A labkit primitive was awaited outside ``labkit.simulate()`` / ``labkit.run()``."""


class Deadlock(LabkitError, RuntimeError):
    """Every task is blocked on a labkit primitive and no timer will ever fire (G33).

    The message keeps the Go runtime's wording, followed by what each task waits on.
    ``blocked`` maps each blocked task's name to what it waits on (``{"main": "receive
    from chan-1"}``), in the order the tasks started; ``at`` is the time on the run's clock
    when every task was found blocked; ``run`` is the partial :class:`~labkit.Run` up to the
    deadlock (its trace included), set when the run ends.
    """

    def __init__(self, blocked: Mapping[str, str], *, at: float = 0.0) -> None:
        self.blocked: dict[str, str] = dict(blocked)
        self.at = at
        self.run = None
        lines = ["all goroutines are asleep - deadlock!", ""]
        lines += [f"  {task}: blocked on {what}" for task, what in self.blocked.items()]
        super().__init__("\n".join(lines))
