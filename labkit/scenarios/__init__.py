"""Scenarios: the experiments the notebooks run, as pure functions returning a ``Run``.

Each scenario takes keyword parameters and a ``seed``, calls :func:`labkit.simulate` and
returns the :class:`labkit.Run`; its ``result`` is a small frozen dataclass of headline
numbers (virtual seconds, never wall-clock). Notebooks, widgets, the CLI, tests and
benchmarks all call these same functions::

    from labkit import scenarios
    run = scenarios.producer_consumer("rust", capacity=0, messages=1000, seed=1)
    run.result.producer_blocked, run.trace.df

:data:`SCENARIOS` maps each scenario's name to its function and :data:`DESCRIPTIONS` to a
one-line description (for ``labkit list``). Modules follow the notebooks: :mod:`.tour`
(00_start_here) and :mod:`.mailboxes` (01_mailboxes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit._runtime import Run
from labkit.scenarios.mailboxes import (
    AskReplyResult,
    FifoResult,
    OwnershipResult,
    ProducerConsumerResult,
    SelectFairnessResult,
    WhoClosesResult,
    ask_reply,
    fifo_order,
    ownership,
    producer_consumer,
    select_fairness,
    who_closes,
)
from labkit.scenarios.tour import Exchange, PingPongResult, ping_pong

__all__ = (
    "DESCRIPTIONS",
    "SCENARIOS",
    "AskReplyResult",
    "Exchange",
    "FifoResult",
    "OwnershipResult",
    "PingPongResult",
    "ProducerConsumerResult",
    "SelectFairnessResult",
    "WhoClosesResult",
    "ask_reply",
    "fifo_order",
    "ownership",
    "ping_pong",
    "producer_consumer",
    "select_fairness",
    "who_closes",
)

#: Every scenario by name: ``SCENARIOS[name](**params, seed=0) -> Run``.
SCENARIOS: dict[str, Callable[..., Run[Any]]] = {
    "ping_pong": ping_pong,
    "producer_consumer": producer_consumer,
    "fifo_order": fifo_order,
    "who_closes": who_closes,
    "select_fairness": select_fairness,
    "ask_reply": ask_reply,
    "ownership": ownership,
}

#: One line per scenario, for listings (``labkit list``).
DESCRIPTIONS: dict[str, str] = {
    "ping_pong": "00 tour: two parties exchange a ball (Go channels, Rust oneshot, actors)",
    "producer_consumer": "01 mailboxes: buffered vs rendezvous channel, paced producer and "
                         "consumer (G1, G2, R2, R8)",
    "fifo_order": "01 mailboxes: per-sender FIFO order with several senders (G3, R10)",
    "who_closes": "01 mailboxes: forgotten close (Go) vs stray Sender clone (Rust), and the "
                  "fixes (G16, R3, R20)",
    "select_fairness": "01 mailboxes: uniform select vs biased starvation on two ready "
                       "inputs (G21, R28)",
    "ask_reply": "01 mailboxes: reply channel in the message vs oneshot reply, after caller "
                 "timeouts (R22, R40)",
    "ownership": "01 mailboxes: a message mutated after send (Go) vs a move (Rust, R37)",
}
