"""Death watch (Akka ``context.watch``, Erlang monitors): ``ctx.watch(ref)`` delivers
``Terminated(ref, reason, error)`` as an ordinary message when ``ref`` stops."""

from __future__ import annotations

from typing import Any

import pytest

import labkit
from labkit.actor import Actor, ActorRef, ActorSystem, Context, Mailbox, Terminated


class Mortal(Actor):
    async def receive(self, msg: Any, ctx: Context) -> None:
        if msg == "boom":
            raise RuntimeError("boom")
        if msg == "quit":
            ctx.stop()


class Watcher(Actor):
    """``("watch", ref)`` / ``("unwatch", ref)``; logs what it receives."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    async def receive(self, msg: Any, ctx: Context) -> None:
        match msg:
            case ("watch", ActorRef() as ref):
                ctx.watch(ref)
            case ("unwatch", ActorRef() as ref):
                ctx.unwatch(ref)
            case Terminated(ref, reason, error):
                self.log.append((ref.name, reason, type(error).__name__ if error else None))
            case _:
                self.log.append(msg)


async def watch_then(how: str, log: list[Any]) -> None:
    async with ActorSystem() as system:
        target = system.spawn(Mortal, name="target")
        watcher = system.spawn(Watcher, log, name="watcher", mailbox=Mailbox(1))
        watcher.tell(("watch", target))
        await labkit.sleep(1)
        if how == "stop":
            target.stop()
        else:
            target.tell(how)
        await target.wait_stopped()
        await labkit.sleep(1)


@pytest.mark.parametrize(("how", "expected"), [
    ("stop", ("target", "normal", None)),
    ("quit", ("target", "normal", None)),
    ("boom", ("target", "failed", "RuntimeError")),
])
def test_a_watcher_receives_terminated_with_the_reason(how: str,
                                                        expected: tuple[Any, ...]) -> None:
    log: list[Any] = []
    labkit.simulate(watch_then, how, log)
    assert log == [expected]


def test_watching_a_stopped_actor_delivers_terminated_at_once() -> None:
    log: list[Any] = []

    async def main() -> None:
        async with ActorSystem() as system:
            target = system.spawn(Mortal, name="target")
            target.tell("boom")
            await target.wait_stopped()
            watcher = system.spawn(Watcher, log, name="watcher")
            watcher.tell(("watch", target))
            await labkit.sleep(0)  # the watch is handled: Terminated is queued then
            watcher.tell("after")
            await labkit.sleep(1)

    labkit.simulate(main)
    assert log == [("target", "failed", "RuntimeError"), "after"]


def test_terminated_is_an_ordinary_message_in_order_with_the_others() -> None:
    log: list[Any] = []

    async def main() -> None:
        async with ActorSystem() as system:
            target = system.spawn(Mortal, name="target")
            watcher = system.spawn(Watcher, log, name="watcher")
            watcher.tell(("watch", target))
            await labkit.sleep(0)
            watcher.tell("before")
            target.stop()
            await target.wait_stopped()
            watcher.tell("after")
            await labkit.sleep(1)

    run = labkit.simulate(main)
    assert log == ["before", ("target", "normal", None), "after"]
    tells = run.trace.events(kind="tell")
    assert "Terminated" in set(tells["msg_type"])


def test_unwatch_and_watching_twice() -> None:
    log: list[Any] = []

    async def main() -> None:
        async with ActorSystem() as system:
            a = system.spawn(Mortal, name="a")
            b = system.spawn(Mortal, name="b")
            watcher = system.spawn(Watcher, log, name="watcher")
            for msg in (("watch", a), ("watch", a), ("watch", b), ("unwatch", b)):
                watcher.tell(msg)
            await labkit.sleep(0)
            a.stop()
            b.stop()
            await labkit.sleep(1)

    labkit.simulate(main)
    assert log == [("a", "normal", None)]


def test_terminated_of_a_full_mailbox_is_not_lost() -> None:
    log: list[Any] = []

    class Slow(Watcher):
        async def receive(self, msg: Any, ctx: Context) -> None:
            await labkit.sleep(1)
            await super().receive(msg, ctx)

    async def main() -> None:
        async with ActorSystem() as system:
            target = system.spawn(Mortal, name="target")
            watcher = system.spawn(Slow, log, name="watcher",
                                   mailbox=Mailbox(1, overflow="drop_new"))
            watcher.tell(("watch", target))
            await labkit.sleep(1.5)
            watcher.tell("filler")
            target.stop()
            await labkit.sleep(5)

    labkit.simulate(main)
    assert log == ["filler", ("target", "normal", None)]


def test_watch_takes_an_actor_ref() -> None:
    class Bad(Actor):
        async def receive(self, msg: Any, ctx: Context) -> Any:
            ctx.watch(msg)

    async def main() -> None:
        async with ActorSystem() as system:
            await system.spawn(Bad).ask("not a ref")

    with pytest.raises(Exception, match=r"ref must be an ActorRef, got str 'not a ref'"):
        labkit.simulate(main)
