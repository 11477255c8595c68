"""labkit.supervision: OTP supervisor semantics and Akka's restart backoff, in virtual time.

Each test names the rule it checks (OTP ``supervisor``: start order, shutdown order,
strategies, restart types, intensity and escalation; Akka: ``restartWithBackoff``, the
mailbox surviving a restart). The children record what happened to them in ``log``, and the
tests assert that order.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

import labkit
from labkit.actor import (
    Actor,
    ActorRef,
    ActorSystem,
    Context,
    Directive,
    Failure,
    Mailbox,
    Terminated,
)
from labkit.supervision import (
    Backoff,
    Child,
    ChildInfo,
    Escalation,
    Supervisor,
    which_children,
)

Log = list[tuple[Any, ...]]


class Worker(Actor):
    """Logs its lifecycle; ``"boom"`` raises, ``"quit"`` stops it normally."""

    def __init__(self, log: Log, start_time: float = 0.0, stop_time: float = 0.0) -> None:
        self.log = log
        self.start_time = start_time
        self.stop_time = stop_time

    async def on_start(self, ctx: Context) -> None:
        self.log.append(("start", ctx.name))
        if self.start_time:
            await labkit.sleep(self.start_time)
            self.log.append(("started", ctx.name))

    async def receive(self, msg: Any, ctx: Context) -> Any:
        if msg == "boom":
            raise ValueError(f"{ctx.name} boom")
        if msg == "quit":
            ctx.stop()
            return None
        self.log.append(("got", ctx.name, msg))
        return msg

    async def on_stop(self, ctx: Context) -> None:
        self.log.append(("stop", ctx.name))
        if self.stop_time:
            await labkit.sleep(self.stop_time)
            self.log.append(("stopped", ctx.name))


def kids(log: Log, *names: str, **options: Any) -> list[Child]:
    return [Child(Worker, log, name=n, **options) for n in names]


async def child(sup: ActorRef, name: str) -> ActorRef:
    for info in await which_children(sup):
        if info.name == name:
            assert info.ref is not None
            return info.ref
    raise AssertionError(f"no child {name}")


def rows(run: labkit.Run[Any], *kinds: str) -> list[tuple[Any, ...]]:
    df = run.trace.events()
    df = df[df["kind"].isin(kinds) & (df["model"] == "actor") & df["peer"].notna()]
    return list(df[["time", "kind", "actor", "peer", "detail"]].itertuples(index=False,
                                                                          name=None))


# -- start and stop order -----------------------------------------------------------------------


def test_children_start_in_list_order_each_on_start_returning_before_the_next() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            children = [Child(Worker, log, 1.0, name=n) for n in "abc"]
            system.spawn(Supervisor, children, name="sup")
            await labkit.sleep(5)

    labkit.simulate(main)
    assert log[:6] == [("start", "a"), ("started", "a"), ("start", "b"), ("started", "b"),
                       ("start", "c"), ("started", "c")]


def test_children_stop_in_reverse_order_one_at_a_time() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            children = [Child(Worker, log, 0.0, 1.0, name=n) for n in "abc"]
            system.spawn(Supervisor, children, name="sup")
            await labkit.sleep(1)

    run = labkit.simulate(main)
    assert log[3:] == [("stop", "c"), ("stopped", "c"), ("stop", "b"), ("stopped", "b"),
                       ("stop", "a"), ("stopped", "a")]
    assert run.elapsed == 4.0  # three orderly stops of 1 s each, one after the other


def test_a_stop_longer_than_shutdown_is_cancelled_after_shutdown_seconds() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            system.spawn(Supervisor, [Child(Worker, log, 0.0, 10.0, name="slow", shutdown=2)],
                         name="sup")
            await labkit.sleep(1)

    run = labkit.simulate(main)
    assert log == [("start", "slow"), ("stop", "slow")]  # never reached "stopped"
    assert run.elapsed == 3.0
    assert rows(run, "stop")[-1][1:] == ("stop", "slow", "sup",
                                         "supervisor stopping: killed after its shutdown "
                                         "time (2 s)")


def test_brutal_kill_cancels_at_once_without_on_stop() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            system.spawn(Supervisor, [Child(Worker, log, 0.0, 10.0, name="k",
                                            shutdown="brutal_kill")], name="sup")
            await labkit.sleep(1)

    run = labkit.simulate(main)
    assert log == [("start", "k")]
    assert run.elapsed == 1.0
    assert rows(run, "stop")[-1][4] == "supervisor stopping: brutal_kill"


# -- strategies ---------------------------------------------------------------------------------


async def fail_b(strategy: str, log: Log) -> list[ChildInfo]:
    async with ActorSystem() as system:
        sup = system.spawn(Supervisor, kids(log, "a", "b", "c"), strategy=strategy,
                           name="sup")
        await labkit.sleep(1)
        log.append(("--",))
        (await child(sup, "b")).tell("boom")
        await labkit.sleep(1)
        log.append(("--",))
        return await which_children(sup)


def _after_failure(log: Log) -> Log:
    first = log.index(("--",))
    return log[first + 1:log.index(("--",), first + 1)]


def test_one_for_one_restarts_only_the_failed_child() -> None:
    log: Log = []
    run = labkit.simulate(fail_b, "one_for_one", log)
    assert _after_failure(log) == [("stop", "b"), ("start", "b")]
    assert [(i.name, i.restarts) for i in run.result] == [("a", 0), ("b", 1), ("c", 0)]


def test_one_for_all_stops_the_others_in_reverse_order_then_restarts_all_in_order() -> None:
    log: Log = []
    run = labkit.simulate(fail_b, "one_for_all", log)
    assert _after_failure(log) == [("stop", "b"), ("stop", "c"), ("stop", "a"),
                                   ("start", "a"), ("start", "b"), ("start", "c")]
    assert [(i.name, i.restarts) for i in run.result] == [("a", 1), ("b", 1), ("c", 1)]


def test_rest_for_one_restarts_the_failed_child_and_those_after_it() -> None:
    log: Log = []
    run = labkit.simulate(fail_b, "rest_for_one", log)
    assert _after_failure(log) == [("stop", "b"), ("stop", "c"), ("start", "b"),
                                   ("start", "c")]
    assert [(i.name, i.restarts) for i in run.result] == [("a", 0), ("b", 1), ("c", 1)]
    restarts = rows(run, "restart")
    assert [(r[2], r[3]) for r in restarts] == [("b", "sup"), ("c", "sup")]
    assert restarts[0][4] == "rest_for_one after b failed (ValueError); delay 0 s"


def test_a_restarted_child_keeps_its_ref_and_its_mailbox() -> None:
    log: Log = []

    async def main() -> tuple[bool, Any]:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "w"), name="sup")
            await labkit.sleep(0)
            w = await child(sup, "w")
            w.tell("boom")
            w.tell("after")
            answer = await w.ask("ask")
            return (await child(sup, "w")) is w, answer

    run = labkit.simulate(main)
    assert run.result == (True, "ask")
    assert [e for e in log if e[0] == "got"] == [("got", "w", "after"), ("got", "w", "ask")]


# -- restart types ------------------------------------------------------------------------------


@pytest.mark.parametrize(("restart", "after_failure", "after_quit"), [
    ("permanent", True, True),
    ("transient", True, False),
    ("temporary", False, False),
])
def test_restart_types(restart: str, after_failure: bool, after_quit: bool) -> None:
    """OTP: permanent always, transient only after an abnormal exit, temporary never."""

    async def scenario(msg: str) -> tuple[list[str], bool]:
        log: Log = []
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "w", restart=restart), name="sup")
            await labkit.sleep(0)
            (await child(sup, "w")).tell(msg)
            await labkit.sleep(1)
            infos = await which_children(sup)
            restarted = log.count(("start", "w")) == 2
            return [i.name for i in infos if i.ref is not None], restarted

    failed = labkit.simulate(scenario, "boom")
    quit_ = labkit.simulate(scenario, "quit")
    assert failed.result[1] is after_failure
    assert quit_.result[1] is after_quit
    if restart == "temporary":  # OTP forgets a temporary child once it has stopped
        assert failed.result[0] == quit_.result[0] == []


def test_a_child_not_restarted_is_reported_with_its_queued_messages() -> None:
    """A supervisor never hides an error: a stop row says why, queued messages become
    dead letters, a watcher learns the reason."""
    log: Log = []

    class Watcher(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            if isinstance(msg, ActorRef):
                ctx.watch(msg)
            else:
                log.append(("watcher", msg.reason, type(msg.error).__name__))

    async def main() -> list[tuple[str, str]]:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, [Child(Worker, log, 0.0, 1.0, name="t",
                                                  restart="temporary")], name="sup")
            await labkit.sleep(0)
            t = await child(sup, "t")
            watcher = system.spawn(Watcher, name="watcher")
            watcher.tell(t)
            await labkit.sleep(0)
            t.tell("boom")
            t.tell("queued")
            await labkit.sleep(2)
            return [(d.message, d.reason) for d in system.dead_letters]

    run = labkit.simulate(main)
    assert run.result == [
        ("boom", "handler raised ValueError: t boom"),
        ("queued", "actor stopped: temporary child not restarted after a failure "
                   "(ValueError: t boom)")]
    assert ("watcher", "failed", "ValueError") in log
    assert rows(run, "stop")[0][2:] == (
        "t", "sup", "temporary child not restarted after a failure (ValueError: t boom)")


def test_a_failure_in_on_start_is_a_failure_like_any_other() -> None:
    starts: list[float] = []

    class Flaky(Actor):
        async def on_start(self, ctx: Context) -> None:
            starts.append(labkit.now())
            if len(starts) < 3:
                raise RuntimeError("not yet")

        async def receive(self, msg: Any, ctx: Context) -> Any:
            return msg

    async def main() -> Any:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, [Child(Flaky, name="f")], intensity=5,
                               backoff=Backoff(min=1, max=8, random_factor=0), name="sup")
            await labkit.sleep(10)
            return await (await child(sup, "f")).ask("hi")

    run = labkit.simulate(main)
    assert run.result == "hi"
    assert starts == [0.0, 1.0, 3.0]  # backoff 1 s, then 2 s
    assert [r[4] for r in rows(run, "restart")] == [
        "one_for_one after f failed (RuntimeError); delay 1 s",
        "one_for_one after f failed (RuntimeError); delay 2 s"]


# -- intensity and escalation -----------------------------------------------------------------


async def fail_at(times: list[float], intensity: int = 1, period: float = 5.0) -> int:
    log: Log = []
    async with ActorSystem() as system:
        sup = system.spawn(Supervisor, kids(log, "w"), intensity=intensity, period=period,
                           name="sup")
        now = 0.0
        for t in times:
            await labkit.sleep(t - now)
            now = t
            (await child(sup, "w")).tell("boom")
        await labkit.sleep(0.5)
        return log.count(("start", "w"))


def test_restarts_within_the_intensity_are_made() -> None:
    # OTP defaults (1 restart in 5 s): failures 5.5 s apart are each restarted
    assert labkit.simulate(fail_at, [1.0, 6.5, 12.0]).result == 4


def test_more_restarts_than_intensity_within_period_end_the_run_with_escalation() -> None:
    with pytest.raises(Escalation) as caught:
        labkit.simulate(fail_at, [1.0, 3.0])
    err = caught.value
    assert (err.supervisor, err.child, err.restarts, err.intensity) == ("sup", "w", 2, 1)
    assert str(err) == ("supervisor 'sup' gave up: child 'w' failed, 2 restarts within 5 s "
                        "is more than its intensity allows (1); it stopped its children "
                        "and escalated")
    assert isinstance(err.__cause__, ValueError)
    run = err.run
    escalations = run.trace.events(kind="escalate")
    assert list(escalations["actor"]) == ["sup"]
    assert list(escalations["time"]) == [3.0]


def test_intensity_zero_escalates_on_the_first_failure() -> None:
    with pytest.raises(Escalation):
        labkit.simulate(fail_at, [1.0], 0)


def test_an_escalation_stops_the_children_in_reverse_order_first() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "a", "b", "c"), intensity=0, name="sup")
            await labkit.sleep(1)
            (await child(sup, "a")).tell("boom")
            await labkit.sleep(1)

    with pytest.raises(Escalation):
        labkit.simulate(main)
    assert log[3:] == [("stop", "a"), ("stop", "c"), ("stop", "b")]


def test_a_nested_supervisor_escalates_to_its_parent_which_restarts_it() -> None:
    log: Log = []

    async def main() -> tuple[list[ChildInfo], list[ChildInfo]]:
        async with ActorSystem() as system:
            inner = Child(Supervisor, kids(log, "x", "y"), name="inner")
            top = system.spawn(Supervisor, [Child(Worker, log, name="w"), inner],
                               strategy="one_for_one", intensity=3, name="top")
            await labkit.sleep(1)
            x = await child(await child(top, "inner"), "x")
            x.tell("boom")
            await labkit.sleep(1)
            x.tell("boom")  # second failure within 5 s: the inner supervisor gives up
            await labkit.sleep(1)
            return await which_children(top), await which_children(await child(top, "inner"))

    run = labkit.simulate(main)
    top, inner = run.result
    assert [(i.name, i.restarts) for i in top] == [("w", 0), ("inner", 1)]
    assert [(i.name, i.restarts) for i in inner] == [("x", 0), ("y", 0)]  # a fresh tree
    assert log.count(("start", "x")) == 3
    escalate = run.trace.events(kind="escalate")
    assert list(zip(escalate["actor"], escalate["peer"], strict=True)) == [("inner", "x")]
    restarts = rows(run, "restart")
    assert restarts[-1][2:] == ("inner", "top",
                                "one_for_one after inner escalated (Escalation); delay 0 s")


def test_two_levels_of_escalation_end_the_run() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            inner = Child(Supervisor, kids(log, "x"), intensity=0, name="inner")
            top = system.spawn(Supervisor, [inner], intensity=0, name="top")
            await labkit.sleep(1)
            (await child(await child(top, "inner"), "x")).tell("boom")
            await labkit.sleep(1)

    with pytest.raises(Escalation) as caught:
        labkit.simulate(main)
    assert (caught.value.supervisor, caught.value.child) == ("top", "inner")
    assert isinstance(caught.value.__cause__, Escalation)


def test_a_system_supervisor_returning_restart_restarts_the_whole_tree() -> None:
    log: Log = []
    seen: list[str] = []

    def restart_tree(failure: Failure) -> Directive:
        seen.append(type(failure.error).__name__)
        return Directive.RESTART

    async def main() -> list[ChildInfo]:
        async with ActorSystem(supervisor=restart_tree) as system:
            sup = system.spawn(Supervisor, kids(log, "a", "b"), intensity=0, name="sup")
            await labkit.sleep(1)
            (await child(sup, "b")).tell("boom")
            await labkit.sleep(1)
            return await which_children(sup)

    run = labkit.simulate(main)
    assert seen == ["Escalation"]
    assert [(i.name, i.ref is not None, i.restarts) for i in run.result] == [
        ("a", True, 0), ("b", True, 0)]
    assert log.count(("start", "a")) == log.count(("start", "b")) == 2


# -- backoff ------------------------------------------------------------------------------------


def test_backoff_delays_are_exact_under_a_seed() -> None:
    backoff = Backoff(min=0.5, max=3.0, random_factor=0.2, reset_after=100)
    starts: list[float] = []

    class Crash(Actor):
        async def on_start(self, ctx: Context) -> None:
            starts.append(labkit.now())

        async def receive(self, msg: Any, ctx: Context) -> Any:
            raise RuntimeError("crash")

    async def main() -> None:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, [Child(Crash, name="c")], intensity=100,
                               period=100, backoff=backoff, name="sup")
            for _ in range(5):
                await labkit.sleep(10)  # < reset_after: k keeps growing
                (await child(sup, "c")).tell("x")
            await labkit.sleep(5)

    labkit.simulate(main, seed=7)
    rng = random.Random(7)
    expected = [min(3.0, 0.5 * 2 ** k) * (1 + 0.2 * rng.random()) for k in range(5)]
    failures = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert starts[0] == 0.0
    assert starts[1:] == pytest.approx([f + d for f, d in zip(failures, expected, strict=True)])
    assert backoff.delay(0, 0.0) == 0.5 and backoff.delay(9, 0.999) <= 3.0 * 1.2


def test_backoff_count_resets_after_running_reset_after_seconds() -> None:
    starts: list[float] = []

    class Crash(Actor):
        async def on_start(self, ctx: Context) -> None:
            starts.append(labkit.now())

        async def receive(self, msg: Any, ctx: Context) -> Any:
            raise RuntimeError("crash")

    async def main() -> None:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, [Child(Crash, name="c")], intensity=100,
                               period=100,
                               backoff=Backoff(min=1, max=8, random_factor=0, reset_after=5),
                               name="sup")
            for wait in (1, 2, 8):
                await labkit.sleep(wait)
                (await child(sup, "c")).tell("x")
            await labkit.sleep(2)

    labkit.simulate(main)
    # failures at 1 (ran 1 s: k=0, 1 s), 3 (ran 1 s: k=1, 2 s) and 11 (ran 6 s >= 5: k back
    # to 0, 1 s)
    assert starts == [0.0, 2.0, 5.0, 12.0]


def test_messages_sent_during_backoff_wait_and_arrive_in_order() -> None:
    log: Log = []

    async def main() -> list[tuple[str, str]]:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "w"),
                               backoff=Backoff(min=2, max=2, random_factor=0), name="sup")
            await labkit.sleep(0)
            w = await child(sup, "w")
            w.tell("boom")
            await labkit.sleep(0.5)
            assert [i.ref for i in await which_children(sup)] == [None]  # in backoff
            for n in range(4):
                w.tell(n)
            await labkit.sleep(0.5)
            assert w.statistics().depth == 4
            await labkit.sleep(2)
            return [(d.message, d.reason) for d in system.dead_letters]

    run = labkit.simulate(main)
    assert [e for e in log if e[0] == "got"] == [("got", "w", n) for n in range(4)]
    assert run.result == [("boom", "handler raised ValueError: w boom")]
    assert rows(run, "restart")[0][4] == "one_for_one after w failed (ValueError); delay 2 s"


def test_an_ask_to_a_failing_child_raises_and_its_message_is_a_dead_letter() -> None:
    log: Log = []

    async def main() -> str:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "w"), name="sup")
            await labkit.sleep(0)
            try:
                await (await child(sup, "w")).ask("boom")
            except Exception as exc:  # the test looks at it
                return f"{type(exc).__name__}: {system.dead_letters[0].reason}"
            return "no error"

    assert labkit.simulate(main).result == "ActorFailed: handler raised ValueError: w boom"


# -- the supervisor's own surface -----------------------------------------------------------------


def test_spawn_passes_keyword_arguments_and_a_supervisor_nests_via_ctx_spawn() -> None:
    log: Log = []

    class Root(Actor):
        async def on_start(self, ctx: Context) -> None:
            self.sup = ctx.spawn(Supervisor, kids(log, "a"), strategy="one_for_all",
                                 intensity=2, name="sup")

        async def receive(self, msg: Any, ctx: Context) -> Any:
            return await which_children(self.sup)

    async def main() -> list[str]:
        async with ActorSystem() as system:
            root = system.spawn(Root, name="root")
            infos = await root.ask("?")
            sup = system.lookup("sup")
            assert sup is not None
            actor = sup._cell.actor
            assert isinstance(actor, Supervisor)
            assert (actor.strategy, actor.intensity) == ("one_for_all", 2)
            return [i.name for i in infos]

    assert labkit.simulate(main).result == ["a"]


def test_user_messages_to_a_supervisor_become_dead_letters() -> None:
    async def main() -> list[str]:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, [], name="sup")
            sup.tell("hello")
            await labkit.sleep(0)
            return [d.reason for d in system.dead_letters]

    assert labkit.simulate(main).result == [
        "a Supervisor handles no user messages; send to its children (see which_children)"]


def test_a_child_mailbox_spec_is_a_template() -> None:
    async def main() -> tuple[int | None, str]:
        async with ActorSystem() as system:
            box = Mailbox(2, overflow="drop_new")
            sup = system.spawn(Supervisor, [Child(Worker, [], name="w", mailbox=box)],
                               name="sup")
            await labkit.sleep(0)
            stats = (await child(sup, "w")).statistics()
            return stats.capacity, stats.overflow

    assert labkit.simulate(main).result == (2, "drop_new")


def test_which_children_of_an_actor_that_is_not_a_supervisor() -> None:
    async def main() -> None:
        async with ActorSystem() as system:
            w = system.spawn(Worker, [], name="w")
            await which_children(w)

    with pytest.raises(TypeError, match=r"^ref must be the ActorRef of a Supervisor, got the "
                                        r"ref of Worker 'w'$"):
        labkit.simulate(main)


def test_terminated_reaches_a_watcher_of_an_escalating_supervisor() -> None:
    got: list[tuple[str, str]] = []

    class Watcher(Actor):
        async def receive(self, msg: Any, ctx: Context) -> None:
            if isinstance(msg, Terminated):
                got.append((msg.ref.name, msg.reason))
            else:
                ctx.watch(msg)

    def keep_going(failure: Failure) -> Directive:
        return Directive.STOP  # stop the escalating supervisor, the run goes on

    async def main() -> None:
        async with ActorSystem(supervisor=keep_going) as system:
            sup = system.spawn(Supervisor, kids([], "w"), intensity=0, name="sup")
            system.spawn(Watcher, name="watcher").tell(sup)
            await labkit.sleep(1)
            (await child(sup, "w")).tell("boom")
            await labkit.sleep(1)

    labkit.simulate(main)
    assert got == [("sup", "escalated")]


def test_stopping_a_supervisor_during_a_backoff_wait_reports_the_queued_messages() -> None:
    log: Log = []

    async def main() -> list[tuple[str, str]]:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "w"),
                               backoff=Backoff(min=5, max=5, random_factor=0), name="sup")
            await labkit.sleep(0)
            w = await child(sup, "w")
            w.tell("boom")
            w.tell("waiting")
            await labkit.sleep(1)
            sup.stop()
            await sup.wait_stopped()
            return [(d.message, d.reason) for d in system.dead_letters]

    run = labkit.simulate(main)
    assert run.result == [("boom", "handler raised ValueError: w boom"),
                          ("waiting", "actor stopped")]
    assert run.elapsed == 1.0  # the backoff timer was cancelled
    assert log.count(("start", "w")) == 1


def test_a_permanent_child_that_stops_normally_is_restarted_and_counts() -> None:
    log: Log = []

    async def main() -> None:
        async with ActorSystem() as system:
            sup = system.spawn(Supervisor, kids(log, "w"), name="sup")
            for _ in range(2):
                await labkit.sleep(1)
                (await child(sup, "w")).tell("quit")
            await labkit.sleep(1)

    with pytest.raises(Escalation):  # two restarts within 5 s: more than intensity 1
        labkit.simulate(main)
    assert log.count(("start", "w")) == 2


def test_a_killed_nested_supervisor_restarts_once_its_old_children_have_stopped() -> None:
    log: Log = []

    async def main() -> list[ChildInfo]:
        async with ActorSystem() as system:
            inner = Child(Supervisor, [Child(Worker, log, 0.0, 1.0, name="x")],
                          shutdown="brutal_kill", name="inner")
            top = system.spawn(Supervisor, [inner, Child(Worker, log, name="w")],
                               strategy="one_for_all", name="top")
            await labkit.sleep(1)
            (await child(top, "w")).tell("boom")
            await labkit.sleep(3)
            return await which_children(await child(top, "inner"))

    run = labkit.simulate(main)
    assert [(i.name, i.ref is not None) for i in run.result] == [("x", True)]
    # x's orderly stop (1 s) finished before the new inner started a new x
    assert log[2:6] == [("stop", "w"), ("stop", "x"), ("stopped", "x"), ("start", "x")]
