"""The Rust dialect: tokio-style channels, tasks and cancellation, ``Result``, ownership.

``from labkit import rust`` and then ``rust.mpsc.channel(8)``, ``rust.oneshot.channel()``,
``rust.spawn(...)``, ``await rust.select(...)``. Rules R1-R40 in SEMANTICS.md.
"""

from __future__ import annotations

from labkit.rust import broadcast, mpsc, oneshot, watch
from labkit.rust._enum import NonExhaustiveMatch, enum, match_exhaustive
from labkit.rust._ownership import MovedValueError, Owned
from labkit.rust._select import select
from labkit.rust._sync import CancellationToken, Semaphore
from labkit.rust._task import JoinError, JoinHandle, JoinSet, spawn
from labkit.rust._time import interval
from labkit.rust.result import Err, Ok, Result, UnwrapError

__all__ = (
    "CancellationToken",
    "Err",
    "JoinError",
    "JoinHandle",
    "JoinSet",
    "MovedValueError",
    "NonExhaustiveMatch",
    "Ok",
    "Owned",
    "Result",
    "Semaphore",
    "UnwrapError",
    "broadcast",
    "enum",
    "interval",
    "match_exhaustive",
    "mpsc",
    "oneshot",
    "select",
    "spawn",
    "watch",
)
