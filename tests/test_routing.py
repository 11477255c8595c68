"""Routers, scatter-gather, sharding and the Zipf key generator (labkit.routing)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest

import labkit
from labkit import routing
from labkit.actor import Actor, ActorRef, ActorSystem, Context, Mailbox
from labkit.routing import (
    Broadcast,
    ConsistentHash,
    Gathered,
    LeastLoaded,
    Random,
    RoundRobin,
    Router,
    ShardedGroup,
    Topic,
    scatter_gather,
    stable_hash,
    zipf_keys,
)


class Worker(Actor):
    """Records (its name, message, corr id); takes ``delay`` virtual seconds per message."""

    def __init__(self, seen: list[tuple[str, Any, int | None]], delay: float = 0.0) -> None:
        self.seen = seen
        self.delay = delay

    async def receive(self, msg: Any, ctx: Context) -> Any:
        if self.delay:
            await anyio.sleep(self.delay)
        self.seen.append((ctx.name, msg, ctx.corr_id))
        return f"{ctx.name}:{msg}"


def _run_router(strategy: Any, n_workers: int, messages: list[Any], *, seed: int = 0,
                keys: list[Any] | None = None) -> list[tuple[str, Any, int | None]]:
    seen: list[tuple[str, Any, int | None]] = []

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            workers = [system.spawn(Worker, seen, name=f"w{i}") for i in range(n_workers)]
            router = Router(strategy, workers, name="r")
            for i, msg in enumerate(messages):
                router.tell(msg, key=None if keys is None else keys[i])

    labkit.simulate(main, seed=seed)
    return seen


def test_module_declares_tuple_all() -> None:
    assert isinstance(routing.__all__, tuple)
    assert all(hasattr(routing, name) for name in routing.__all__)


def test_round_robin_takes_turns() -> None:
    seen = _run_router(RoundRobin(), 3, list(range(9)))
    by_worker = {w: [m for n, m, _ in seen if n == w] for w in ("w0", "w1", "w2")}
    assert by_worker == {"w0": [0, 3, 6], "w1": [1, 4, 7], "w2": [2, 5, 8]}


def test_strategy_by_name() -> None:
    seen = _run_router("round_robin", 2, ["a", "b"])
    assert sorted((n, m) for n, m, _ in seen) == [("w0", "a"), ("w1", "b")]


def test_random_is_reproducible_with_the_seed_and_uses_every_worker() -> None:
    def picks(seed: int) -> list[str]:
        return [n for n, _, _ in _run_router(Random(), 4, list(range(200)), seed=seed)]

    first = picks(7)
    assert first == picks(7)
    assert first != picks(8)
    counts = Counter(first)
    assert set(counts) == {"w0", "w1", "w2", "w3"}
    assert all(20 <= c <= 80 for c in counts.values())  # 50 expected each


def test_consistent_hash_sends_a_key_to_one_worker() -> None:
    msgs = [{"user": f"u{i % 10}", "n": i} for i in range(100)]
    seen = _run_router(ConsistentHash(key=lambda m: m["user"], vnodes=50), 4, msgs)
    owners: dict[str, set[str]] = {}
    for name, msg, _ in seen:
        owners.setdefault(msg["user"], set()).add(name)
    assert all(len(names) == 1 for names in owners.values())
    assert len(seen) == 100


def test_consistent_hash_explicit_key() -> None:
    seen = _run_router(ConsistentHash(), 3, ["x", "y", "z", "x"], keys=["k1", "k2", "k3", "k1"])
    first = next(n for n, m, _ in seen if m == "x")
    assert [n for n, m, _ in seen if m == "x"] == [first, first]


def test_stable_hash_is_not_salted() -> None:
    assert stable_hash("orders") == 15396940609477705549  # the same in every process
    assert 0 <= stable_hash(12345) < 2**64


@pytest.mark.parametrize("n", [4, 8])
def test_consistent_hash_moves_about_one_nth_of_keys(n: int) -> None:
    ring = ConsistentHash(vnodes=100)
    keys = [f"key-{i}" for i in range(10_000)]
    names = [f"w{i}" for i in range(n)]
    before = [ring.owner(k, names) for k in keys]
    added = [ring.owner(k, [*names, "new"]) for k in keys]
    moved_add = sum(a != b for a, b in zip(before, added, strict=True)) / len(keys)
    # every moved key moved to the new worker: nothing reshuffled between old workers
    assert all(a == b or a == "new" for b, a in zip(before, added, strict=True))
    assert 0.5 / (n + 1) < moved_add < 2.0 / (n + 1)
    removed = [ring.owner(k, names[1:]) for k in keys]
    moved_rm = sum(a != b for a, b in zip(before, removed, strict=True)) / len(keys)
    assert all(a == b or b == "w0" for b, a in zip(before, removed, strict=True))
    assert 0.5 / n < moved_rm < 2.0 / n
    # modulo hashing, for contrast, moves most keys
    mod_moved = sum(stable_hash(k) % n != stable_hash(k) % (n + 1) for k in keys) / len(keys)
    assert mod_moved > 0.5


def test_consistent_hash_balances_with_vnodes() -> None:
    ring = ConsistentHash(vnodes=200)
    names = [f"w{i}" for i in range(4)]
    counts = Counter(ring.owner(f"key-{i}", names) for i in range(10_000))
    assert all(1500 < c < 3500 for c in counts.values())


def test_broadcast_reaches_all_with_one_correlation_id() -> None:
    captured: dict[str, Any] = {}
    seen: list[tuple[str, Any, int | None]] = []

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            workers = [system.spawn(Worker, seen, name=f"w{i}") for i in range(3)]
            router = Router(Broadcast(), workers, name="fan")
            captured["queued"] = router.tell("hello")
            router.tell("again")

    run = labkit.simulate(main)
    assert captured["queued"] == 3
    hello = [(n, c) for n, m, c in seen if m == "hello"]
    assert sorted(n for n, _ in hello) == ["w0", "w1", "w2"]
    corr_ids = {c for _, c in hello}
    assert len(corr_ids) == 1 and None not in corr_ids
    again = {c for _, m, c in seen if m == "again"}
    assert len(again) == 1 and again != corr_ids
    df = run.trace.df
    routes = df[(df.kind == "route") & (df.actor == "fan")]
    assert len(routes) == 6
    assert set(routes.corr_id) == corr_ids | again
    assert routes.msg_id.is_unique  # each copy has its own message id
    assert set(routes.detail) == {"broadcast"}


def test_topic_pattern_subscriptions() -> None:
    seen: list[tuple[str, Any, int | None]] = []
    captured: dict[str, int] = {}

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            orders = system.spawn(Worker, seen, name="orders")
            paid = system.spawn(Worker, seen, name="paid")
            audit = system.spawn(Worker, seen, name="audit")
            topic = Topic(topic=lambda m: m[0])
            topic.subscribe("orders.*", orders)
            topic.subscribe("*.paid", paid)
            topic.subscribe("*", audit)
            router = Router(topic, [orders, paid, audit], name="bus")
            router.tell(("orders.new", 1))
            router.tell(("orders.paid", 2))
            router.tell(("users.paid", 3))
            captured["none"] = router.tell(("x", 4), key="billing.refund")
            captured["bad"] = Router(Topic(), [orders]).tell("nothing", key="zzz")

    run = labkit.simulate(main)
    got = sorted((n, m[1] if isinstance(m, tuple) else m) for n, m, _ in seen)
    assert got == [("audit", 1), ("audit", 2), ("audit", 3), ("audit", 4),
                   ("orders", 1), ("orders", 2), ("paid", 2), ("paid", 3)]
    assert captured == {"none": 1, "bad": 0}
    df = run.trace.df
    assert ((df.kind == "route") & df.peer.isna()
            & df.detail.str.contains("no worker matched")).sum() == 1


def test_least_loaded_prefers_the_emptiest_mailbox() -> None:
    seen: list[tuple[str, Any, int | None]] = []
    picked: list[str] = []

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            workers = [system.spawn(Worker, seen, 1.0, name=f"w{i}") for i in range(3)]
            for _ in range(3):
                workers[0].tell("busy")
            workers[1].tell("busy")
            router = Router(LeastLoaded(), workers, name="ll")
            for i in range(4):
                picked.append(router.route(i)[0].name)
                router.tell(i)

    labkit.simulate(main)
    # depths 3,1,0 -> w2; then 3,1,1 -> w1 (tie to the earlier worker); 3,2,1 -> w2; 3,2,2 -> w1
    assert picked == ["w2", "w1", "w2", "w1"]


def test_ask_through_router_replies_with_correlation() -> None:
    seen: list[tuple[str, Any, int | None]] = []
    answers: list[Any] = []

    async def main() -> None:
        async with ActorSystem() as system:
            workers = [system.spawn(Worker, seen, name=f"w{i}") for i in range(2)]
            router = Router("round_robin", workers, name="r")
            answers.append(await router.ask("a", timeout=1))
            answers.append(await router.ask("b"))
            assert await router.send("c") == 1
            await anyio.sleep(0.1)

    run = labkit.simulate(main)
    assert answers == ["w0:a", "w1:b"]
    df = run.trace.df
    routes = df[df.kind == "route"]
    replies = df[df.kind == "reply"]
    assert list(routes.peer) == ["w0", "w1", "w0"]
    # an ask's correlation id is its own id, carried by the route row and the reply
    asked = routes.iloc[:2]
    assert list(asked.corr_id) == list(asked.msg_id)
    assert list(replies.corr_id) == list(asked.corr_id)
    assert [c for _, _, c in seen] == list(routes.corr_id)


def test_ask_timeout_raises() -> None:
    async def main() -> None:
        async with ActorSystem() as system:
            slow = system.spawn(Worker, [], 5.0, name="slow")
            await Router("round_robin", [slow]).ask("x", timeout=1.0)

    with pytest.raises(TimeoutError):
        labkit.simulate(main)


def test_route_events_carry_correlation_ids() -> None:
    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            workers = [system.spawn(Worker, [], name=f"w{i}") for i in range(2)]
            router = Router("random", workers, name="rnd")
            for i in range(5):
                router.tell(i)

    df = labkit.simulate(main).trace.df
    routes = df[df.kind == "route"]
    assert len(routes) == 5
    assert routes.corr_id.notna().all() and routes.corr_id.is_unique
    assert set(routes.detail) == {"random"} and set(routes.model) == {"actor"}
    tells = df[(df.kind == "tell") & df.msg_id.isin(routes.msg_id)]
    assert list(tells.corr_id) == list(routes.corr_id)  # the enqueue row carries it too


def test_scatter_gather_returns_partial_results_at_the_deadline() -> None:
    result: dict[str, Any] = {}

    async def main() -> None:
        async with ActorSystem() as system:
            workers = [system.spawn(Worker, [], delay, name=f"w{i}")
                       for i, delay in enumerate([0.5, 3.0, 1.0, 5.0])]
            result["g"] = await scatter_gather(workers, "q", deadline=2.0, name="sg")

    run = labkit.simulate(main)
    g: Gathered = result["g"]
    assert g.replies == {"w0": "w0:q", "w2": "w2:q"}
    assert g.late == ("w1", "w3")
    assert not g.complete and not g.failed
    df = run.trace.df
    routes = df[(df.kind == "route") & (df.actor == "sg")]
    assert set(routes.corr_id) == {g.corr_id}
    timeouts = df[df.kind == "timeout"]
    assert sorted(timeouts.peer) == ["w1", "w3"]


def test_scatter_gather_all_in_time() -> None:
    async def main() -> Gathered:
        async with ActorSystem() as system:
            workers = [system.spawn(Worker, [], 0.1, name=f"w{i}") for i in range(3)]
            return await scatter_gather(workers, 1, deadline=1.0)

    g = labkit.simulate(main).result
    assert g.complete and list(g.replies) == ["w0", "w1", "w2"]


def test_sharded_group_owns_keys_and_counts_load() -> None:
    out: dict[str, Any] = {}
    keys = zipf_keys(2000, 1.2, 50, seed=3)

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            seen: list[tuple[str, Any, int | None]] = []
            group = ShardedGroup.spawn(system, Worker, seen, shards=4, key=lambda m: m)
            out["owner"] = {k: group.shard_of(k).name for k in set(keys)}
            for k in keys:
                group.tell(k)
            out["loads"] = group.loads
            out["seen"] = seen

    labkit.simulate(main)
    owner = out["owner"]
    assert all(owner[m] == name for name, m, _ in out["seen"])
    loads = out["loads"]
    assert list(loads) == ["shard-0", "shard-1", "shard-2", "shard-3"]
    assert sum(loads.values()) == 2000
    hot_shard = owner["key-0"]
    assert loads[hot_shard] == max(loads.values())
    assert max(loads.values()) > 1.5 * (2000 / 4)  # the hot key skews its shard


def test_zipf_keys_deterministic_and_skewed() -> None:
    a = zipf_keys(10_000, 1.0, 100, seed=1)
    assert a == zipf_keys(10_000, 1.0, 100, seed=1)
    assert a != zipf_keys(10_000, 1.0, 100, seed=2)
    counts = Counter(a)
    assert counts.most_common(1)[0][0] == "key-0"
    assert counts["key-0"] > 5 * counts["key-9"]
    uniform = Counter(zipf_keys(10_000, 0.0, 10, seed=1))
    assert max(uniform.values()) < 1.3 * min(uniform.values())
    assert set(zipf_keys(50, 1.0, ["a", "b"], seed=0)) <= {"a", "b"}
    assert zipf_keys(3, 0.0, ("a", "b"), seed=1) == zipf_keys(3, 0.0, ["a", "b"], seed=1)


def test_ask_that_cannot_pick_one_worker_records_no_route() -> None:
    async def main() -> list[str]:
        async with ActorSystem() as system:
            workers = [system.spawn(Worker, [], name=f"w{i}") for i in range(2)]
            with pytest.raises(ValueError, match="exactly one"):
                await Router(Broadcast(), workers, name="b").ask("x")
        return []

    run = labkit.simulate(main)
    assert run.trace.events("route").empty


def test_add_and_remove_workers() -> None:
    seen: list[tuple[str, Any, int | None]] = []

    async def main() -> list[ActorRef]:
        async with ActorSystem(drain=True) as system:
            a, b, c = (system.spawn(Worker, seen, name=n) for n in "abc")
            router = Router(RoundRobin(), [a, b], name="r")
            router.add(c)
            with pytest.raises(ValueError, match="already"):
                router.add(c)
            for i in range(3):
                router.tell(i)
            router.remove(a)
            for i in range(3, 5):
                router.tell(i)
            return list(router.workers)

    run = labkit.simulate(main)
    assert [w.name for w in run.result] == ["b", "c"]
    assert sorted(n for n, _, _ in seen) == ["a", "b", "b", "c", "c"]


class Flaky(Actor):
    async def receive(self, msg: Any, ctx: Context) -> Any:
        raise RuntimeError("boom")


def test_scatter_gather_failures_and_late_replies_become_dead_letters() -> None:
    async def main() -> tuple[Gathered, list[str]]:
        async with ActorSystem() as system:
            ok = system.spawn(Worker, [], 0.1, name="ok")
            bad = system.spawn(Flaky, name="bad")
            slow = system.spawn(Worker, [], 2.0, name="slow")
            g = await scatter_gather([ok, bad, slow], "q", deadline=1.0)
            await anyio.sleep(2.0)  # let the slow reply arrive after the deadline
            return g, [d.reason for d in system.dead_letters]

    g, reasons = labkit.simulate(main).result
    assert g.replies == {"ok": "ok:q"} and g.late == ("slow",)
    assert list(g.failed) == ["bad"]
    assert any("after the asker stopped waiting" in r for r in reasons)


def test_same_seed_same_trace() -> None:
    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            workers = [system.spawn(Worker, [], 0.2, name=f"w{i}") for i in range(3)]
            router = Router(Random(), workers, name="r")
            for i in range(20):
                router.tell(i)
            await scatter_gather(workers, "q", deadline=1.0)

    a = labkit.simulate(main, seed=5).trace.df
    b = labkit.simulate(main, seed=5).trace.df
    assert a.equals(b)


def test_least_loaded_counts_the_message_in_hand() -> None:
    picked: list[str] = []

    async def main() -> None:
        async with ActorSystem(drain=True) as system:
            workers = [system.spawn(Worker, [], 1.0, name=f"w{i}") for i in range(2)]
            router = Router(LeastLoaded(), workers, name="ll")
            router.tell("a")  # both idle and empty: the tie goes to w0
            await anyio.sleep(0.1)  # w0 now handles "a"; both mailboxes are empty
            picked.extend(w.name for w in router.route("b"))
            router.tell("b")
            await anyio.sleep(0.1)
            picked.extend(w.name for w in router.route("c"))  # both busy: the first again

    labkit.simulate(main)
    assert picked == ["w1", "w0"]


def test_least_loaded_is_not_fooled_by_dropped_messages() -> None:
    """A drop_new refusal is a dead letter that never entered the mailbox: the worker still
    has its message in hand and its queued one, more than a worker with one in hand."""
    picked: list[str] = []

    async def main() -> tuple[int, int]:
        async with ActorSystem() as system:
            a = system.spawn(Worker, [], 5.0, name="a", mailbox=Mailbox(1, "drop_new"))
            b = system.spawn(Worker, [], 5.0, name="b")
            a.tell("x")
            b.tell("x")
            await anyio.sleep(0.1)  # both handle their first message
            a.tell("queued")
            assert not a.tell("refused")  # full: a dead letter
            picked.extend(w.name for w in Router(LeastLoaded(), [a, b]).route("next"))
            return a.statistics().in_hand, b.statistics().in_hand

    assert labkit.simulate(main).result == (1, 1)
    assert picked == ["b"]


def test_scatter_gather_a_full_mailbox_holds_up_no_other_worker() -> None:
    """The copies go out at once: a worker whose blocking mailbox is full (and stays full
    past the deadline) is late, and the workers after it in the list still answer."""
    async def main() -> Gathered:
        async with ActorSystem() as system:
            busy = system.spawn(Worker, [], 5.0, name="busy", mailbox=Mailbox(1, "block"))
            fast = [system.spawn(Worker, [], 0.01, name=f"fast{i}") for i in range(2)]
            busy.tell("job")
            await anyio.sleep(0)
            busy.tell("job")  # one in hand, one queued: full
            return await scatter_gather([busy, *fast], "q", deadline=1.0)

    run = labkit.simulate(main)
    assert run.result.replies == {"fast0": "fast0:q", "fast1": "fast1:q"}
    assert run.result.late == ("busy",)
    assert run.elapsed >= 1.0
    # busy's copy never got in: a dead letter that says so, under the same correlation id
    dead = run.trace.events("dead_letter")
    assert (dead["corr_id"] == run.result.corr_id).any()


def test_scatter_gather_copy_gets_in_when_space_appears_in_time() -> None:
    async def main() -> Gathered:
        async with ActorSystem() as system:
            busy = system.spawn(Worker, [], 0.2, name="busy", mailbox=Mailbox(1, "block"))
            fast = system.spawn(Worker, [], 0.01, name="fast")
            busy.tell("job")
            await anyio.sleep(0)
            busy.tell("job")
            return await scatter_gather([busy, fast], "q", deadline=1.0)

    run = labkit.simulate(main)
    assert run.result.complete
    assert run.result.replies == {"busy": "busy:q", "fast": "fast:q"}
