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
(00_start_here), :mod:`.mailboxes` (01_mailboxes), :mod:`.routing` (02_routing),
:mod:`.backpressure` (03_backpressure), :mod:`.supervision` and :mod:`.faults`
(04_supervision), :mod:`.replay` and :mod:`.reliability` (05_replay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit import Run
from labkit.scenarios.backpressure import (
    CreditFlowResult,
    LoadSheddingResult,
    NonblockingResult,
    OverloadResult,
    RateLimitResult,
    WatermarksResult,
    credit_flow,
    load_shedding,
    nonblocking,
    overload,
    rate_limit,
    watermarks,
)
from labkit.scenarios.faults import PoisonResult, StormResult, dependency_storm, poison
from labkit.scenarios.mailboxes import (
    AskReplyResult,
    FifoResult,
    MessageContractsResult,
    OwnershipResult,
    ProducerConsumerResult,
    SelectFairnessResult,
    WhoClosesResult,
    ask_reply,
    fifo_order,
    message_contracts,
    ownership,
    producer_consumer,
    select_fairness,
    who_closes,
)
from labkit.scenarios.reliability import DeliveryResult, delivery, delivery_table
from labkit.scenarios.replay import CrashResult, UpcastResult, crash_recovery, upcasting
from labkit.scenarios.routing import (
    KeyMovementResult,
    LatestValueResult,
    PubSubResult,
    RouteResult,
    ScatterGatherResult,
    ShardingResult,
    WorkQueueResult,
    key_movement,
    latest_value,
    pubsub,
    route,
    scatter_gather,
    sharding,
    work_queue,
    work_queue_sweep,
)
from labkit.scenarios.supervision import (
    BackoffMailboxResult,
    BackoffRestartsResult,
    BreakerResult,
    EscalationResult,
    RestartTypeResult,
    StrategiesResult,
    backoff_mailbox,
    backoff_restarts,
    breaker,
    escalation,
    restart_types,
    strategies,
)
from labkit.scenarios.tour import Exchange, PingPongResult, ping_pong

__all__ = (
    "DESCRIPTIONS",
    "SCENARIOS",
    "AskReplyResult",
    "Exchange",
    "FifoResult",
    "MessageContractsResult",
    "OwnershipResult",
    "PingPongResult",
    "ProducerConsumerResult",
    "SelectFairnessResult",
    "WhoClosesResult",
    "ask_reply",
    "fifo_order",
    "message_contracts",
    "ownership",
    "ping_pong",
    "producer_consumer",
    "select_fairness",
    "who_closes",
    # 02 routing
    "KeyMovementResult",
    "LatestValueResult",
    "PubSubResult",
    "RouteResult",
    "ScatterGatherResult",
    "ShardingResult",
    "WorkQueueResult",
    "key_movement",
    "latest_value",
    "pubsub",
    "route",
    "scatter_gather",
    "sharding",
    "work_queue",
    "work_queue_sweep",
    # 03 backpressure
    "CreditFlowResult",
    "LoadSheddingResult",
    "NonblockingResult",
    "OverloadResult",
    "RateLimitResult",
    "WatermarksResult",
    "credit_flow",
    "load_shedding",
    "nonblocking",
    "overload",
    "rate_limit",
    "watermarks",
    # 04 supervision
    "PoisonResult",
    "StormResult",
    "dependency_storm",
    "poison",
    "BackoffMailboxResult",
    "BackoffRestartsResult",
    "BreakerResult",
    "EscalationResult",
    "RestartTypeResult",
    "StrategiesResult",
    "backoff_mailbox",
    "backoff_restarts",
    "breaker",
    "escalation",
    "restart_types",
    "strategies",
    # 05 replay
    "CrashResult",
    "UpcastResult",
    "crash_recovery",
    "upcasting",
    "DeliveryResult",
    "delivery",
    "delivery_table",
)

#: Every scenario by name: ``SCENARIOS[name](**params, seed=0) -> Run``.
SCENARIOS: dict[str, Callable[..., Run[Any]]] = {
    "ping_pong": ping_pong,
    "producer_consumer": producer_consumer,
    "fifo_order": fifo_order,
    "who_closes": who_closes,
    "message_contracts": message_contracts,
    "select_fairness": select_fairness,
    "ask_reply": ask_reply,
    "ownership": ownership,
    "work_queue": work_queue,
    "route": route,
    "sharding": sharding,
    "key_movement": key_movement,
    "scatter_gather": scatter_gather,
    "pubsub": pubsub,
    "latest_value": latest_value,
    "overload": overload,
    "nonblocking": nonblocking,
    "credit_flow": credit_flow,
    "rate_limit": rate_limit,
    "watermarks": watermarks,
    "load_shedding": load_shedding,
    "poison": poison,
    "dependency_storm": dependency_storm,
    "strategies": strategies,
    "escalation": escalation,
    "restart_types": restart_types,
    "backoff_restarts": backoff_restarts,
    "backoff_mailbox": backoff_mailbox,
    "breaker": breaker,
    "crash_recovery": crash_recovery,
    "upcasting": upcasting,
    "delivery": delivery,
}

#: One line per scenario, for listings (``labkit list``).
DESCRIPTIONS: dict[str, str] = {
    "ping_pong": "00 tour: two parties exchange a ball (Go channels, Rust oneshot, actors)",
    "producer_consumer": "01 mailboxes: buffered vs rendezvous channel, paced producer and "
                         "consumer (G1, G2, R2, R8)",
    "fifo_order": "01 mailboxes: per-sender FIFO order with several senders (G3, R10)",
    "who_closes": "01 mailboxes: forgotten close (Go) vs stray Sender clone (Rust), and the "
                  "fixes (G16, R3, R20)",
    "message_contracts": "01 mailboxes: a new Stop variant, ignored by a Go type switch's "
                         "default vs rejected by an exhaustive Rust match (R39)",
    "select_fairness": "01 mailboxes: uniform select vs biased starvation on two ready "
                       "inputs (G21, R28)",
    "ask_reply": "01 mailboxes: reply channel in the message vs oneshot reply, after caller "
                 "timeouts (R22, R40)",
    "ownership": "01 mailboxes: a message mutated after send (Go) vs a move (Rust, R37)",
    "work_queue": "02 routing: one shared chan for N goroutines vs N per-worker mpsc queues, "
                  "latency tails (G7, R1, R8)",
    "route": "02 routing: round-robin, random, hash, least-loaded, broadcast, topic routers "
             "in Go, Rust and actors",
    "sharding": "02 routing: a sharded actor group under Zipf-skewed keys, hot shard load",
    "key_movement": "02 routing: keys moved when a worker joins or leaves, hash ring vs "
                    "modulo",
    "scatter_gather": "02 routing: fan out, keep the replies in by a deadline (G39, R32, R34)",
    "pubsub": "02 routing: fan-out with a slow subscriber, Go blocking or silent select-default "
              "drop vs broadcast Lagged(k) (G15, G22, R23, R24)",
    "latest_value": "02 routing: last-writer-wins state for a slow reader, watch vs Go cap-1 "
                    "drain-and-replace vs a buffered backlog (R26)",
    "overload": "03 backpressure: a producer faster than its consumer under each overflow "
                "policy, Go vs Rust vs actor (G2, G22, R9, R12, R21)",
    "nonblocking": "03 backpressure: build then select-default or try_send Full(v) vs a "
                   "slot before the work (semaphore channel, reserve), wasted work (G22, "
                   "R12, R13)",
    "credit_flow": "03 backpressure: consumer-granted credits, request(n) style, bound what "
                   "is in flight",
    "rate_limit": "03 backpressure: a token bucket admits at most rate * T + burst",
    "watermarks": "03 backpressure: pause at a high mark, resume at a low one (hysteresis)",
    "load_shedding": "03 backpressure: shed load early, with a reason in the dead letters",
    "poison": "04 supervision: a poison job in a worker pool, Go crash / recover loop / "
              "errgroup vs Rust bare tasks / JoinSet vs actor supervisor (G31, G32, G42, "
              "R33, R34)",
    "dependency_storm": "04 supervision: restarts against a dependency that is down, "
                        "storm vs intensity vs backoff vs circuit breaker",
    "strategies": "04 supervision: one_for_one, one_for_all, rest_for_one on three children "
                  "when one fails (OTP)",
    "escalation": "04 supervision: restarts counted in an intensity window, escalation to "
                  "the parent supervisor, and the end of the run at the top (G31)",
    "restart_types": "04 supervision: permanent, transient, temporary children after a "
                     "failure or a normal stop",
    "backoff_restarts": "04 supervision: restarts with exponential backoff and seeded jitter "
                        "while a dependency is down (Akka restartWithBackoff)",
    "backoff_mailbox": "04 supervision: the failing message becomes a dead letter; messages "
                       "sent during the backoff arrive in order after the restart",
    "breaker": "04 supervision: a circuit breaker in front of a database that goes down: "
               "fast failures vs waiting for errors",
    "crash_recovery": "05 replay: an event-sourced bank crashes after persisting, before "
                      "answering; recovery from its journal (file or SQLite, snapshots), "
                      "the resend with or without dedup, or state in memory only",
    "upcasting": "05 replay: the current bank recovers from a journal of version-1 events, "
                 "with or without an upcaster",
    "delivery": "05 replay: at-most-once vs at-least-once (ack via reply channel or oneshot, "
                "resend) vs effectively-once (dedup) with crashing consumers, duplicates and "
                "losses (R22, R33, R34, G32)",
}
