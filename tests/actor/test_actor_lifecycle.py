"""ask, stopping, failures, lifecycle hooks, shutdown, typed messages, determinism."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import labkit
from labkit.actor import (
    Actor,
    ActorError,
    ActorFailed,
    ActorRef,
    ActorSystem,
    AskTimeout,
    Context,
    Directive,
    Failure,
    Mailbox,
    Signal,
    Undeliverable,
    WrongMessageType,
)
from labkit.trace import latencies
from tests._actors import Echo

# -- ask ------------------------------------------------------------------------------------


def test_ask_returns_the_handlers_value() -> None:
    async def main() -> Any:
        async with ActorSystem() as system:
            echo = system.spawn(Echo, 2.0)
            return await echo.ask("hi", timeout=5), labkit.now()

    run = labkit.simulate(main)
    assert run.result == ("hi", 2.0)
    # The ask's enqueue and the actor's receive share a msg id: latencies() sees them.
    lat = latencies(run.trace)
    assert list(lat["latency"]) == [0.0]
    reply = run.trace.events(kind="reply")
    assert list(reply["corr_id"]) == list(lat["msg_id"])


def test_ctx_reply_answers_early_and_return_value_is_ignored() -> None:
    class Early(Actor):
        async def receive(self, msg: Any, ctx: Context) -> Any:
            ctx.reply(msg * 2)
            await anyio.sleep(1)
            return "ignored"

    async def main() -> Any:
        async with ActorSystem() as system:
            ref = system.spawn(Early)
            return await ref.ask(21), labkit.now()

    assert labkit.simulate(main).result == (42, 0.0)


def test_ask_timeout_and_late_reply_becomes_dead_letter() -> None:
    async def main() -> tuple[str, float, list[Any]]:
        async with ActorSystem() as system:
            slow = system.spawn(Echo, 3.0, name="slow")
            with pytest.raises(AskTimeout) as info:
                await slow.ask("late", timeout=1.0)
            timed_out_at = labkit.now()
            await anyio.sleep(5)
            letters = [(d.message, d.recipient, d.sender, d.reason)
                       for d in system.dead_letters]
        return str(info.value), timed_out_at, letters

    run = labkit.simulate(main)
    text, when, letters = run.result
    assert isinstance(AskTimeout("a", 1, 1.0, 1), TimeoutError)
    assert "ask to actor 'slow' timed out after 1 s" in text
    assert when == 1.0
    assert letters == [("late", "main", "slow",
                        "reply came after the asker stopped waiting (ask timed out)")]
    dead = run.trace.events(kind="dead_letter")
    assert list(dead["time"]) == [3.0]
    assert list(run.trace.events(kind="timeout")["time"]) == [1.0]


def test_ask_timeout_while_waiting_for_mailbox_space() -> None:
    async def main() -> tuple[float, list[str]]:
        async with ActorSystem() as system:
            slow = system.spawn(Echo, 10.0, mailbox=Mailbox(1))
            slow.tell("busy")
            await anyio.sleep(0)
            slow.tell("queued")
            with pytest.raises(AskTimeout):
                await slow.ask("never queued", timeout=2.0)
            when = labkit.now()
            reasons = [d.reason for d in system.dead_letters]
        return when, reasons

    when, reasons = labkit.simulate(main).result
    assert when == 2.0
    assert reasons[0] == "sender cancelled while waiting for mailbox space"


def test_ask_to_stopped_actor_and_handler_failure() -> None:
    class Boom(Actor):
        async def receive(self, msg: Any, ctx: Context) -> Any:
            return 1 // msg

    async def main() -> None:
        async with ActorSystem() as system:
            boom = system.spawn(Boom, name="boom")
            assert await boom.ask(1) == 1
            with pytest.raises(ActorFailed, match="actor 'boom' failed while handling int: "
                                                  "ZeroDivisionError") as info:
                await boom.ask(0)
            assert isinstance(info.value.__cause__, ZeroDivisionError)
            await boom.wait_stopped()
            with pytest.raises(Undeliverable, match="actor stopped"):
                await boom.ask(1, timeout=1)
            assert not boom.tell(2)

    labkit.simulate(main)


def test_ask_bad_timeout() -> None:
    async def main() -> None:
        async with ActorSystem() as system:
            ref = system.spawn(Echo)
            with pytest.raises(ValueError, match=r"timeout must be a number of seconds >= 0, "
                                                 r"got int -1"):
                await ref.ask(1, timeout=-1)

    labkit.simulate(main)


# -- stopping -------------------------------------------------------------------------------


def test_queued_messages_become_dead_letters_when_the_actor_stops() -> None:
    async def main() -> tuple[list[Any], list[tuple[Any, str]], bool, bool]:
        seen: list[Any] = []

        class Worker(Actor):
            async def receive(self, msg: Any, ctx: Context) -> None:
                await anyio.sleep(1)
                seen.append(msg)

        async with ActorSystem() as system:
            ref = system.spawn(Worker, name="w")
            for i in range(5):
                ref.tell(i)
            await anyio.sleep(1.5)         # 0 done, 1 in progress, 2..4 queued
            ref.stop()
            await ref.wait_stopped()
            after = ref.tell("too late")
            letters = [(d.message, d.reason) for d in system.dead_letters]
        return seen, letters, after, ref.is_alive

    seen, letters, after, alive = labkit.simulate(main).result
    assert seen == [0, 1]                  # the message in progress is finished
    assert letters == [(2, "actor stopped"), (3, "actor stopped"), (4, "actor stopped"),
                       ("too late", "actor stopped")]
    assert after is False and alive is False


def test_stop_with_drain_handles_queued_messages_and_refuses_new_ones() -> None:
    async def main() -> tuple[list[Any], list[tuple[Any, str]]]:
        seen: list[Any] = []

        class Worker(Actor):
            async def receive(self, msg: Any, ctx: Context) -> None:
                await anyio.sleep(1)
                seen.append(msg)

        async with ActorSystem() as system:
            ref = system.spawn(Worker)
            for i in range(3):
                ref.tell(i)
            await anyio.sleep(0.5)
            ref.stop(drain=True)
            await anyio.sleep(1)
            ref.tell("refused")
            await ref.wait_stopped()
        return seen, [(d.message, d.reason) for d in system.dead_letters]

    seen, letters = labkit.simulate(main).result
    assert seen == [0, 1, 2]
    assert letters == [("refused", "actor stopping: mailbox closed while it drains")]


def test_blocked_sender_is_released_when_the_actor_stops() -> None:
    async def main() -> tuple[bool, list[str]]:
        async with ActorSystem() as system:
            ref = system.spawn(Echo, 5.0, mailbox=Mailbox(1))
            ref.tell("a")
            await anyio.sleep(0)
            ref.tell("b")
            result: list[bool] = []
            async with anyio.create_task_group() as tg:
                async def sender() -> None:
                    result.append(await ref.send("c"))
                tg.start_soon(sender)
                await anyio.sleep(1)
                ref.stop()
        return result[0], [f"{d.message}: {d.reason}" for d in system.dead_letters]

    ok, letters = labkit.simulate(main).result
    assert ok is False
    assert sorted(letters) == ["b: actor stopped", "c: actor stopped"]


def test_exception_in_receive_stops_the_actor_by_default() -> None:
    class Fragile(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            if msg == "poison":
                raise RuntimeError("bad message")

    async def main() -> tuple[bool, list[tuple[Any, str]]]:
        async with ActorSystem() as system:
            ref = system.spawn(Fragile, name="f")
            ref.tell("ok")
            ref.tell("poison")
            ref.tell("after")
            await ref.wait_stopped()
            assert ref.statistics().failed == 1
        return ref.is_alive, [(d.message, d.reason) for d in system.dead_letters]

    run = labkit.simulate(main)
    alive, letters = run.result
    assert not alive
    assert letters == [("poison", "handler raised RuntimeError: bad message"),
                       ("after", "actor stopped")]
    fail = run.trace.events(kind="fail")
    assert list(fail["actor"]) == ["f"]
    assert list(fail["msg_type"]) == ["RuntimeError"]
    assert list(fail["detail"]) == ["receive: RuntimeError: bad message"]


@pytest.mark.parametrize(("directive", "expected"), [
    (Directive.RESUME, (["a", "c"], 2, 1)),      # state kept
    (Directive.RESTART, (["c"], 1, 2)),          # fresh instance, fresh state
])
def test_supervisor_seam(directive: Directive, expected: tuple[list[str], int, int]) -> None:
    starts: list[int] = []
    failures: list[Failure] = []

    class Stateful(Actor):
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def on_start(self, ctx: Context) -> None:
            starts.append(1)

        async def receive(self, msg: Any, ctx: Context) -> Any:
            if msg == "b":
                raise ValueError("b is bad")
            self.seen.append(msg)
            return list(self.seen)

    def supervisor(failure: Failure) -> Directive:
        failures.append(failure)
        return directive

    async def main() -> tuple[list[str], int, int]:
        async with ActorSystem(supervisor=supervisor) as system:
            ref = system.spawn(Stateful)
            ref.tell("a")
            ref.tell("b")
            seen = await ref.ask("c")
            return seen, len(seen), len(starts)

    run = labkit.simulate(main)
    assert run.result == expected
    assert [(f.message, type(f.error).__name__, f.count, f.phase) for f in failures] == [
        ("b", "ValueError", 1, "receive")]
    assert ("restart" in run.trace.kinds()) == (directive is Directive.RESTART)


def test_signals_are_a_seam_for_supervision() -> None:
    @dataclass(frozen=True)
    class Ping(Signal):
        n: int

    got: list[Any] = []

    class Listener(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            await anyio.sleep(1)
            got.append(msg)

        async def on_signal(self, signal: Signal, ctx: Context) -> None:
            got.append(signal)

    async def main() -> list[str]:
        async with ActorSystem() as system:
            ref = system.spawn(Listener, mailbox=Mailbox(1, overflow="drop_new"))
            ref.tell("a")
            await anyio.sleep(0)
            ref.tell("b")
            ref.tell("dropped")
            ref.signal(Ping(1))        # the mailbox is full; signals still get through
            await anyio.sleep(5)
            plain = system.spawn(Echo)
            plain.signal(Ping(2))      # Actor.on_signal's default: a dead letter
            await anyio.sleep(0)
            with pytest.raises(TypeError, match="use tell"):
                ref.signal("not a signal")  # type: ignore[arg-type]
        return [d.reason for d in system.dead_letters]

    reasons = labkit.simulate(main).result
    assert got == ["a", Ping(1), "b"]
    assert reasons == ["mailbox full (drop_new): dropped the new message",
                       "unhandled system signal"]


# -- lifecycle and the system ---------------------------------------------------------------


def test_lifecycle_hook_order_with_children() -> None:
    log: list[str] = []

    class Child(Actor):
        async def on_start(self, ctx: Context) -> None:
            log.append(f"start {ctx.name}")

        async def receive(self, msg: Any, ctx: Context) -> None:
            log.append(f"{ctx.name} got {msg} from {ctx.sender_name}")

        async def on_stop(self, ctx: Context) -> None:
            log.append(f"stop {ctx.name}")

    class Parent(Child):
        async def on_start(self, ctx: Context) -> None:
            await super().on_start(ctx)
            child = ctx.spawn(Child, name="child")
            child.tell("hello")
            assert ctx.children == (child,)

    async def main() -> None:
        async with ActorSystem() as system:
            system.spawn(Parent, name="parent").tell("m")
            await anyio.sleep(1)
            assert [r.name for r in system.actors] == ["parent", "child"]
        assert system.actors == ()

    run = labkit.simulate(main)
    assert log == ["start parent", "parent got m from main", "start child",
                   "child got hello from parent", "stop child", "stop parent"]
    spawns = run.trace.events(kind="spawn")
    assert list(zip(spawns["actor"], spawns["peer"], strict=True)) == [
        ("main", "parent"), ("parent", "child")]


def test_reply_to_sender_actor_and_forward() -> None:
    class Doubler(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            ctx.reply(msg * 2)   # answers an ask, or tells the sending actor

    class Front(Actor):
        """Forwards asks to the worker; tells the worker's answers back to its sender."""

        def __init__(self, worker: ActorRef, log: list[Any]) -> None:
            self.worker = worker
            self.log = log

        async def receive(self, msg: Any, ctx: Context) -> None:
            if msg == "via-tell":
                self.worker.tell(5)          # the worker's reply is told back to us
            elif isinstance(msg, int) and ctx.sender is self.worker:
                self.log.append((msg, ctx.corr_id is not None))
            else:
                ctx.forward(self.worker)     # the worker answers our asker directly

    async def main() -> tuple[Any, list[Any], list[str]]:
        log: list[Any] = []
        async with ActorSystem() as system:
            worker = system.spawn(Doubler)
            front = system.spawn(Front, worker, log)
            answer = await front.ask(21)
            front.tell("via-tell")
            await anyio.sleep(0.1)
            worker.tell(1)                   # from main: nobody to reply to
            await anyio.sleep(0.1)
        return answer, log, [d.reason for d in system.dead_letters]

    answer, log, reasons = labkit.simulate(main).result
    assert answer == 42
    assert log == [(10, True)]
    assert reasons == ["nobody to reply to: the message came from 'main', not an actor "
                       "(use ask to get a reply)"]


def test_system_shutdown_stops_every_actor_and_records_stop() -> None:
    async def main() -> tuple[list[ActorRef], int]:
        async with ActorSystem() as system:
            refs = [system.spawn(Echo) for _ in range(3)]
            await anyio.sleep(1)
        return refs, len(system.actors)

    run = labkit.simulate(main)
    refs, left = run.result
    assert left == 0 and not any(r.is_alive for r in refs)
    assert [r.name for r in refs] == ["actor-1", "actor-2", "actor-3"]
    stops = run.trace.events(kind="stop")
    assert sorted(stops["actor"]) == ["actor-1", "actor-2", "actor-3"]
    assert run.leaked == ()


def test_system_drain_on_exit() -> None:
    async def main() -> tuple[list[Any], int]:
        seen: list[Any] = []

        class Worker(Actor):
            async def receive(self, msg: Any, ctx: Context) -> None:
                await anyio.sleep(1)
                seen.append(msg)

        async with ActorSystem(drain=True) as system:
            ref = system.spawn(Worker)
            for i in range(3):
                ref.tell(i)
        return seen, len(system.dead_letters)

    assert labkit.simulate(main).result == ([0, 1, 2], 0)


def test_typed_messages_refuse_the_wrong_type() -> None:
    @dataclass
    class Inc:
        n: int

    class Counter(Actor):
        accepts = (Inc,)

        def __init__(self) -> None:
            self.total = 0

        async def receive(self, msg: Inc, ctx: Context) -> int:
            self.total += msg.n
            return self.total

    async def main() -> int:
        async with ActorSystem() as system:
            ref = system.spawn(Counter, name="counter")
            with pytest.raises(WrongMessageType, match=r"actor 'counter' \(Counter\) accepts "
                                                       r"Inc, got str 'hello'"):
                ref.tell("hello")
            with pytest.raises(TypeError):
                await ref.ask(3)
            total: int = await ref.ask(Inc(2))  # nothing was lost or broken
            return total

    assert labkit.simulate(main).result == 2
    with pytest.raises(TypeError, match="accepts must be a type or a non-empty tuple"):
        type("Bad", (Actor,), {"accepts": ("x",)})
    with pytest.raises(TypeError, match="must be 'async def receive"):
        type("Sync", (Actor,), {"receive": lambda self, msg, ctx: None})


def test_spawn_bad_input() -> None:
    async def main() -> None:
        system = ActorSystem()
        with pytest.raises(ActorError, match="spawn actors inside 'async with ActorSystem"):
            system.spawn(Echo)
        async with system:
            with pytest.raises(TypeError, match="not an instance"):
                system.spawn(Echo())  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="must return an Actor, got object"):
                system.spawn(object)  # type: ignore[arg-type]
            system.spawn(Echo, name="e")
            with pytest.raises(ValueError, match="already running"):
                system.spawn(Echo, name="e")
            with pytest.raises(TypeError, match="mailbox must be"):
                system.spawn(Echo, mailbox=8)  # type: ignore[arg-type]

    labkit.simulate(main)


def test_ask_with_no_reply_deadlocks_clearly() -> None:
    class Silent(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            await anyio.Event().wait()

    async def main() -> None:
        async with ActorSystem() as system:
            await system.spawn(Silent).ask("?")

    with pytest.raises(labkit.Deadlock, match="main: blocked on a reply from actor actor-1"):
        labkit.simulate(main)


# -- determinism and backends ---------------------------------------------------------------


async def _scenario(n: int) -> list[Any]:
    """A small pipeline: random producers, a bounded worker, asks with timeouts."""
    rng = labkit.rng()
    out: list[Any] = []
    async with ActorSystem() as system:
        worker = system.spawn(Echo, 0.1, name="worker",
                              mailbox=Mailbox(3, overflow="drop_head"))

        async def producer(k: int) -> None:
            for i in range(n):
                await anyio.sleep(rng.random())
                worker.tell((k, i))
                try:
                    out.append(await worker.ask(("ask", k, i), timeout=rng.random() / 2))
                except AskTimeout:
                    out.append("timeout")
                except Undeliverable as exc:      # evicted by drop_head
                    out.append(exc.dead_letter.reason)

        async with anyio.create_task_group() as tg:
            for k in range(3):
                tg.start_soon(producer, k)
    return out


def test_same_seed_same_trace() -> None:
    a = labkit.simulate(_scenario, 8, seed=7)
    b = labkit.simulate(_scenario, 8, seed=7)
    assert a.result == b.result
    assert a.trace.df.equals(b.trace.df)
    assert {"tell", "send", "receive", "handle_end", "reply", "dead_letter", "timeout",
            "stop"} <= set(a.trace.kinds())
    c = labkit.simulate(_scenario, 8, seed=8)
    assert not a.trace.df.equals(c.trace.df)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_real_time_backends(backend: str) -> None:
    async def main() -> tuple[int, list[str]]:
        async with ActorSystem() as system:
            counter = system.spawn(Echo, name="echo", mailbox=Mailbox(2, overflow="drop_new"))
            total = 0
            for i in range(50):
                total += await counter.ask(i, timeout=5)
            slow = system.spawn(Echo, 0.2)
            with pytest.raises(AskTimeout):
                await slow.ask("x", timeout=0.01)
            slow.stop()
            await slow.wait_stopped()
            return total, [d.reason for d in system.dead_letters]

    run = labkit.run(main, backend=backend)
    total, reasons = run.result
    assert total == sum(range(50))
    # stop() lets the message in progress finish; its reply comes too late.
    assert reasons == ["reply came after the asker stopped waiting (ask timed out)"]
    assert len(latencies(run.trace)) == 51
