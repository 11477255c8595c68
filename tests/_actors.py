"""Actors shared by the actor and routing tests."""

from __future__ import annotations

from typing import Any

import anyio

from labkit.actor import Actor, Context


class Echo(Actor):
    """Replies with the message after ``delay`` virtual seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def receive(self, msg: Any, ctx: Context) -> Any:
        if self.delay:
            await anyio.sleep(self.delay)
        return msg
