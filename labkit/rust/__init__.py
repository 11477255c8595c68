"""The Rust dialect: tokio-style channels, tasks and cancellation, ``Result``, ownership.

``from labkit import rust`` and then ``rust.mpsc.channel(8)``, ``rust.oneshot.channel()``,
``rust.spawn(...)``, ``await rust.select(...)``. Rules R1-R40 in docs/rules.md.

Everything that queues has ``statistics()``, a frozen record with labkit's one naming scheme
(``depth``, ``peak_depth``, ``sent``, ``received``, ``senders_waiting``,
``receivers_waiting`` or ``tasks_waiting``, ``closed``): :class:`MpscStatistics`,
:class:`SemaphoreStatistics`, :class:`BroadcastStatistics`, :class:`WatchStatistics`.
"""

from __future__ import annotations

from labkit.rust import broadcast, mpsc, oneshot, watch
from labkit.rust._enum import (
    NonExhaustiveMatch,
    check_exhaustive,
    enum,
    match_exhaustive,
    variants,
)
from labkit.rust._ownership import MovedValueError, NotSendError, Owned, not_send, transfer
from labkit.rust._select import AllBranchesDisabled, Branch, select
from labkit.rust._sync import (
    AcquireError,
    CancellationToken,
    DropGuard,
    Semaphore,
    SemaphorePermit,
    SemaphoreStatistics,
    TryAcquireError,
)
from labkit.rust._task import JoinError, JoinHandle, JoinSet, spawn
from labkit.rust._time import Elapsed, Interval, interval, sleep, sleep_until, timeout
from labkit.rust.broadcast import BroadcastStatistics
from labkit.rust.mpsc import MpscStatistics
from labkit.rust.result import Err, Ok, Result, UnwrapError
from labkit.rust.watch import WatchStatistics

__all__ = (
    "AcquireError",
    "AllBranchesDisabled",
    "Branch",
    "BroadcastStatistics",
    "CancellationToken",
    "DropGuard",
    "Elapsed",
    "Err",
    "Interval",
    "JoinError",
    "JoinHandle",
    "JoinSet",
    "MovedValueError",
    "MpscStatistics",
    "NonExhaustiveMatch",
    "NotSendError",
    "Ok",
    "Owned",
    "Result",
    "Semaphore",
    "SemaphorePermit",
    "SemaphoreStatistics",
    "TryAcquireError",
    "UnwrapError",
    "WatchStatistics",
    "broadcast",
    "check_exhaustive",
    "enum",
    "interval",
    "match_exhaustive",
    "mpsc",
    "not_send",
    "oneshot",
    "select",
    "sleep",
    "sleep_until",
    "spawn",
    "timeout",
    "transfer",
    "variants",
    "watch",
)
