"""Bad input to routers, scatter-gather, sharding and ``zipf_keys``, tried as a new user
would: a TypeError for the wrong type, a ValueError for a value out of range, each naming
the parameter and what it accepts; edge values (``deadline=math.inf``, ``0``) are defined."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest

import labkit
from labkit.actor import ActorRef, ActorSystem
from labkit.routing import (
    MAX_KEYS,
    MAX_SHARDS,
    MAX_VNODES,
    ConsistentHash,
    Router,
    ShardedGroup,
    Topic,
    scatter_gather,
    zipf_keys,
)
from tests._actors import Echo

Case = Callable[[ActorSystem, ActorRef, ActorRef], Any]


def _with_workers(case: Case) -> Any:
    """Run ``case(system, a, b)`` (sync or async) inside a run with two Echo workers."""

    async def main() -> Any:
        async with ActorSystem() as system:
            a = system.spawn(Echo, name="a")
            b = system.spawn(Echo, 1.0, name="b")
            got = case(system, a, b)
            return await got if inspect.isawaitable(got) else got

    return labkit.simulate(main).result


STRATEGY = (r"strategy must be one of 'round_robin', 'random', 'broadcast', 'least_loaded', or "
            r"a strategy object such as ConsistentHash\(key=fn\) or Topic\(\)")
SECONDS = "a number of seconds >= 0"
KEYS = f"a count from 1 to {MAX_KEYS} or a non-empty list of keys"

# (id, call, error, message): each message is the whole "NAME must be ACCEPTED, got ..." line.
BAD: list[tuple[str, Case, type[Exception], str]] = [
    ("router_strategy_unknown", lambda s, a, b: Router("fastest", [a]), ValueError,
     f"{STRATEGY}, got str 'fastest'"),
    ("router_strategy_int", lambda s, a, b: Router(3, [a]), TypeError,  # type: ignore[arg-type]
     f"{STRATEGY}, got int 3"),
    ("router_workers_none", lambda s, a, b: Router("random", None), TypeError,  # type: ignore[arg-type]
     "workers must be a list of ActorRefs, got NoneType None"),
    ("router_workers_str", lambda s, a, b: Router("random", "ab"), TypeError,  # type: ignore[arg-type]
     "workers must be a list of ActorRefs, got str 'ab'"),
    ("router_workers_empty", lambda s, a, b: Router("random", ()), ValueError,
     r"workers must be a non-empty list of ActorRefs \(at least one worker\), got tuple \(\)"),
    ("router_workers_item", lambda s, a, b: Router("random", [a, "b"]), TypeError,  # type: ignore[list-item]
     r"workers\[1\] must be an ActorRef \(from system.spawn\), got str 'b'"),
    ("router_workers_twice", lambda s, a, b: Router("random", [a, b, a]), ValueError,
     "workers must name each worker once, got worker a twice"),
    ("router_name_empty", lambda s, a, b: Router("random", [a], name=""), ValueError,
     "name must be a non-empty string, got str ''"),
    ("router_add_str", lambda s, a, b: Router("random", [a]).add("b"), TypeError,  # type: ignore[arg-type]
     r"worker must be an ActorRef \(from system.spawn\), got str 'b'"),
    ("router_remove_none", lambda s, a, b: Router("random", [a, b]).remove(None), TypeError,  # type: ignore[arg-type]
     r"worker must be an ActorRef \(from system.spawn\), got NoneType None"),
    ("router_ask_timeout_nan", lambda s, a, b: Router("random", [a]).ask(1, timeout=math.nan),
     ValueError, f"timeout must be {SECONDS}, got float nan"),
    ("router_ask_timeout_str", lambda s, a, b: Router("random", [a]).ask(1, timeout="1"),  # type: ignore[arg-type]
     TypeError, f"timeout must be {SECONDS}, got str '1'"),
    ("router_ask_timeout_negative", lambda s, a, b: Router("random", [a]).ask(1, timeout=-3),
     ValueError, f"timeout must be {SECONDS}, got int -3"),
    ("hash_vnodes_zero", lambda s, a, b: ConsistentHash(vnodes=0), ValueError,
     f"vnodes must be an int from 1 to {MAX_VNODES}, got int 0"),
    ("hash_vnodes_float", lambda s, a, b: ConsistentHash(vnodes=1.5), TypeError,  # type: ignore[arg-type]
     f"vnodes must be an int from 1 to {MAX_VNODES}, got float 1.5"),
    ("hash_vnodes_huge", lambda s, a, b: ConsistentHash(vnodes=10**9), ValueError,
     f"vnodes must be an int from 1 to {MAX_VNODES}, got int 1000000000"),
    ("hash_key_str", lambda s, a, b: ConsistentHash(key="id"), TypeError,  # type: ignore[arg-type]
     "key must be a function, got str 'id'"),
    ("topic_fn_int", lambda s, a, b: Topic(topic=5), TypeError,  # type: ignore[arg-type]
     "topic must be a function, got int 5"),
    ("topic_pattern_empty", lambda s, a, b: Topic().subscribe("", a), ValueError,
     "pattern must be a non-empty string, got str ''"),
    ("topic_pattern_int", lambda s, a, b: Topic().subscribe(1, a), TypeError,  # type: ignore[arg-type]
     "pattern must be a string, got int 1"),
    ("topic_worker_str", lambda s, a, b: Topic().subscribe("x.*", "a"), TypeError,  # type: ignore[arg-type]
     r"worker must be an ActorRef \(from system.spawn\), got str 'a'"),
    ("topic_of_message_int", lambda s, a, b: Router(Topic(), [a]).tell("x", key=5), TypeError,
     "the message's topic must be a str such as 'orders.paid', got int 5"),
    ("hash_without_key", lambda s, a, b: Router(ConsistentHash(), [a]).tell("x"), ValueError,
     r"ConsistentHash needs a key: give ConsistentHash\(key=fn\) or router.tell\(msg, "
     r"key=...\)"),
    ("topic_without_topic", lambda s, a, b: Router(Topic(), [a]).tell("x"), ValueError,
     r"Topic needs the message's topic: give Topic\(topic=fn\) or router.tell\(msg, "
     r"key='orders.paid'\)"),
    ("router_remove_last", lambda s, a, b: Router("random", [a], name="r").remove(a),
     ValueError, "cannot remove the last worker of r; add another first"),
    ("router_remove_stranger", lambda s, a, b: Router("random", [a], name="r").remove(b),
     ValueError, r"<ActorRef b \(alive\)> is not a worker of r"),
    ("router_add_twice", lambda s, a, b: Router("random", [a], name="r").add(a),
     ValueError, "a is already a worker of r"),
    ("router_ask_picks_two", lambda s, a, b: Router("broadcast", [a, b], name="r").ask(1),
     ValueError, r"r \(broadcast\) picked 2 workers; ask needs exactly one \(use "
                 r"scatter_gather for many\)"),
    ("scatter_deadline_nan", lambda s, a, b: scatter_gather([a], 1, deadline=math.nan),
     ValueError, f"deadline must be {SECONDS}, got float nan"),
    ("scatter_deadline_bool", lambda s, a, b: scatter_gather([a], 1, deadline=True), TypeError,
     f"deadline must be {SECONDS}, got bool True"),
    ("scatter_deadline_negative", lambda s, a, b: scatter_gather([a], 1, deadline=-0.5),
     ValueError, f"deadline must be {SECONDS}, got float -0.5"),
    ("scatter_workers_empty", lambda s, a, b: scatter_gather([], 1, deadline=1), ValueError,
     r"workers must be a non-empty list of ActorRefs \(at least one worker\), got list \[\]"),
    ("scatter_name_int", lambda s, a, b: scatter_gather([a], 1, deadline=1, name=7), TypeError,  # type: ignore[arg-type]
     "name must be a string, got int 7"),
    ("shards_key_none", lambda s, a, b: ShardedGroup([a], key=None), TypeError,  # type: ignore[arg-type]
     "key must be a function, got NoneType None"),
    ("shards_zero", lambda s, a, b: ShardedGroup.spawn(s, Echo, shards=0, key=str), ValueError,
     f"shards must be an int from 1 to {MAX_SHARDS}, got int 0"),
    ("shards_float", lambda s, a, b: ShardedGroup.spawn(s, Echo, shards=2.0, key=str),  # type: ignore[arg-type]
     TypeError, f"shards must be an int from 1 to {MAX_SHARDS}, got float 2.0"),
    ("shards_huge", lambda s, a, b: ShardedGroup.spawn(s, Echo, shards=10**12, key=str),
     ValueError, f"shards must be an int from 1 to {MAX_SHARDS}, got int 1000000000000"),
    ("shards_mailbox", lambda s, a, b: ShardedGroup.spawn(s, Echo, shards=1, key=str,
                                                          mailbox=8),  # type: ignore[arg-type]
     TypeError, "mailbox must be a function, got int 8"),
]


@pytest.mark.parametrize(("call", "error", "text"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_input_gives_a_clear_error(call: Case, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=f"^{text}$"):
        _with_workers(call)


@pytest.mark.parametrize(("args", "error", "text"), [
    ((-1, 1.0, 10, 0), ValueError, "n must be an int from 0 to"),
    ((10**12, 1.0, 10, 0), ValueError, "n must be an int from 0 to"),
    ((2.0, 1.0, 10, 0), TypeError, "n must be an int from 0 to"),
    ((5, math.inf, 10, 0), ValueError, r"s \(the Zipf exponent\) must be a finite number from 0 "
                                       r"to 10, got float inf"),
    ((5, 1e30, 10, 0), ValueError, r"s \(the Zipf exponent\) must be a finite number from 0 "
                                   r"to 10, got float 1e\+30"),
    ((5, -0.5, 10, 0), ValueError, r"s \(the Zipf exponent\)"),
    ((5, "1", 10, 0), TypeError, r"s \(the Zipf exponent\)"),
    ((5, 1.0, 0, 0), ValueError, f"keys must be {KEYS}, got int 0"),
    ((5, 1.0, 10**12, 0), ValueError, f"keys must be {KEYS}, got int 1000000000000"),
    ((5, 1.0, [], 0), ValueError, rf"keys must be {KEYS}, got list \[\]"),
    ((5, 1.0, None, 0), TypeError, f"keys must be {KEYS}, got NoneType None"),
    ((5, 1.0, 2.5, 0), TypeError, f"keys must be {KEYS}, got float 2.5"),
    ((5, 1.0, "abc", 0), TypeError, f"keys must be {KEYS}, got str 'abc'"),
    ((5, True, 10, 0), TypeError, r"s \(the Zipf exponent\) must be a finite number from 0 to "
                                  r"10, got bool True"),
    ((5, math.nan, 10, 0), ValueError, r"s \(the Zipf exponent\)"),
    ((5, 1.0, 10, "seed"), TypeError, "seed must be an int or None, got str 'seed'"),
])
def test_zipf_keys_bad_input(args: tuple[Any, ...], error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=f"^{text}"):
        zipf_keys(*args)


def test_zipf_keys_at_the_largest_exponent_draws_the_hottest_key() -> None:
    keys = zipf_keys(1000, 10, 10, seed=1)
    assert keys.count("key-0") > 990


def test_scatter_gather_deadline_inf_waits_for_every_reply() -> None:
    async def main() -> tuple[dict[str, Any], tuple[str, ...], float]:
        async with ActorSystem() as system:
            workers = [system.spawn(Echo, float(i), name=f"w{i}") for i in range(3)]
            got = await scatter_gather(workers, "q", deadline=math.inf)
            return got.replies, got.late, labkit.now()

    assert labkit.simulate(main).result == ({"w0": "q", "w1": "q", "w2": "q"}, (), 2.0)


def test_scatter_gather_deadline_zero_keeps_only_replies_already_in() -> None:
    async def main() -> tuple[dict[str, Any], tuple[str, ...]]:
        async with ActorSystem() as system:
            workers = [system.spawn(Echo, name=f"w{i}") for i in range(2)]
            got = await scatter_gather(workers, "q", deadline=0)
            return got.replies, got.late

    assert labkit.simulate(main).result == ({}, ("w0", "w1"))


def test_router_ask_timeout_inf_waits_as_long_as_it_takes() -> None:
    async def main() -> tuple[Any, float]:
        async with ActorSystem() as system:
            router = Router("round_robin", [system.spawn(Echo, 1e6)])
            return await router.ask("late", timeout=math.inf), labkit.now()

    assert labkit.simulate(main).result == ("late", 1e6)


def test_a_bad_timeout_routes_nothing() -> None:
    async def main() -> int:
        async with ActorSystem() as system:
            router = Router("round_robin", [system.spawn(Echo)], name="r")
            with pytest.raises(ValueError):
                await router.ask("x", timeout=-1)
            return sum(router.routed.values())

    run = labkit.simulate(main)
    assert run.result == 0
    assert not [r for r in run.trace if r.kind == "route"]
