"""Helpers for the Go-dialect tests: run in virtual time, and check that an op blocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import labkit
from labkit import go

#: Long enough, in virtual seconds, that "still waiting" means "blocked for good".
FOREVER = 10_000.0


def sim(main: Callable[..., Awaitable[Any]], *args: Any, seed: int = 0) -> Any:
    """Run ``main`` under labkit.simulate and return its result."""
    return labkit.simulate(main, *args, seed=seed).result


async def still_blocked(op: Callable[[], Awaitable[Any]], wait: float = FOREVER) -> bool:
    """Start ``op()`` in a goroutine; True if it has not finished after ``wait`` virtual s."""
    finished: list[Any] = []

    async def runner() -> None:
        finished.append(await op())

    go.go(runner)
    await go.sleep(wait)
    return not finished
