"""Dead letters: the record of every message that was dropped or could not be delivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ("DeadLetter",)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One lost message: what, to whom, from whom, why and when (run clock, seconds).

    The same loss is a ``dead_letter`` row in the run's trace (``actor`` = recipient,
    ``peer`` = sender, ``detail`` = reason), so ``labkit.trace.drops(run.trace)`` agrees
    with ``system.dead_letters``.
    """

    message: Any
    recipient: str
    sender: str | None
    reason: str
    time: float
    msg_id: int | None = None
