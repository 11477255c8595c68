"""Routers: one logical address in front of many worker actors.

A :class:`Router` picks, for each message, which workers get it; the *strategy* is the rule::

    router = Router(RoundRobin(), workers)        # or "round_robin", "random", ...
    router.tell(job)                              # never waits (each worker's policy applies)
    await router.send(job)                        # waits for mailbox space
    answer = await router.ask(job, timeout=1.0)   # request-reply through one worker

Strategies: :class:`RoundRobin`, :class:`Random` (the run's seeded RNG), :class:`ConsistentHash`
(a hash ring with virtual nodes), :class:`Broadcast`, :class:`Topic` (``orders.*`` patterns)
and :class:`LeastLoaded` (fewest unfinished messages). :func:`scatter_gather` asks many
workers and keeps what arrives before a deadline; :class:`ShardedGroup` gives each key one
owner.

Every routing decision is a ``route`` trace row: ``actor`` = router, ``peer`` = worker,
``msg_id`` = the copy's id, ``corr_id`` = the logical message's correlation id, ``detail`` =
strategy. A told message gets a fresh correlation id shared by all its copies (a broadcast's
copies share one); an asked message's correlation id is its own id, as with ``ref.ask``.
The worker sees it as ``ctx.corr_id``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from labkit._check import (
    check_callable,
    check_int,
    check_number,
    check_seed,
    check_str,
    describe,
)
from labkit._runtime.core import Runtime, current
from labkit._runtime.rows import EventKind
from labkit.actor import (
    Actor,
    ActorFailed,
    ActorRef,
    ActorSystem,
    AskTimeout,
    Mailbox,
    PendingReply,
    Undeliverable,
)
from labkit.actor._ref import check_timeout

__all__ = (
    "MAX_KEYS",
    "MAX_SHARDS",
    "MAX_VNODES",
    "MAX_ZIPF_EXPONENT",
    "STRATEGIES",
    "Broadcast",
    "ConsistentHash",
    "Gathered",
    "LeastLoaded",
    "Random",
    "RoundRobin",
    "Router",
    "ShardedGroup",
    "Strategy",
    "Topic",
    "scatter_gather",
    "stable_hash",
    "zipf_keys",
)

_MODEL = "actor"

#: Most points per worker on a hash ring (a ring of more only costs memory and time).
MAX_VNODES = 10_000
#: Most shards :meth:`ShardedGroup.spawn` starts (each is an actor task).
MAX_SHARDS = 10_000
#: Most keys :func:`zipf_keys` draws, or draws from (each is a string in memory).
MAX_KEYS = 10_000_000
#: Largest Zipf exponent :func:`zipf_keys` takes (already at 10, nearly every draw is the
#: hottest key; far beyond, the weights overflow a float).
MAX_ZIPF_EXPONENT = 10


def stable_hash(value: object) -> int:
    """A 64-bit hash of ``str(value)`` that is the same in every process (``hash()`` of a str
    is salted per process, so a ring built on it would move between runs)."""
    digest = hashlib.blake2b(str(value).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _check_worker(what: str, worker: object) -> ActorRef:
    if not isinstance(worker, ActorRef):
        raise TypeError(f"{what} must be an ActorRef (from system.spawn), got "
                        f"{describe(worker)}")
    return worker


def _check_workers(what: str, workers: object) -> list[ActorRef]:
    """A non-empty list of distinct worker refs."""
    if not isinstance(workers, Iterable) or isinstance(workers, str | bytes):
        raise TypeError(f"{what} must be a list of ActorRefs, got {describe(workers)}")
    refs = [_check_worker(f"{what}[{k}]", ref) for k, ref in enumerate(workers)]
    if not refs:
        raise ValueError(f"{what} must be a non-empty list of ActorRefs (at least one "
                         f"worker), got {describe(workers)}")
    for i, ref in enumerate(refs):
        if ref in refs[:i]:
            raise ValueError(f"{what} must name each worker once, got worker {ref.name} twice")
    return refs


def _check_name(name: object) -> str | None:
    return None if name is None else check_str("name", name)


# -- strategies ------------------------------------------------------------------------------


@runtime_checkable
class Strategy(Protocol):
    """Chooses the workers for one message. ``key`` is what ``router.tell(msg, key=...)``
    passed (``None`` if nothing)."""

    name: str

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]: ...


class RoundRobin:
    """Each message to the next worker in turn: equal counts, blind to how busy they are."""

    name = "round_robin"

    def __init__(self) -> None:
        self._next = 0

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]:
        worker = workers[self._next % len(workers)]
        self._next = (self._next + 1) % len(workers)
        return [worker]


class Random:
    """A uniformly random worker, drawn from the run's seeded RNG: same seed, same choices."""

    name = "random"

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]:
        return [current().rng.choice(workers)]


class ConsistentHash:
    """The worker owning ``key(msg)`` (or the ``key=`` given to ``tell``) on a hash ring.

    Each worker sits on the ring at ``vnodes`` points; a key belongs to the first point
    clockwise from its hash. Adding or removing one of N workers moves only about 1/N of
    the keys, where ``hash(key) % N`` would move almost all of them.
    """

    name = "consistent_hash"

    def __init__(self, key: Callable[[Any], Hashable] | None = None, *,
                 vnodes: int = 100) -> None:
        self.key = None if key is None else check_callable("key", key)
        self.vnodes = check_int("vnodes", vnodes, minimum=1, maximum=MAX_VNODES)
        self._ring_of: tuple[str, ...] = ()
        self._points: list[int] = []
        self._owners: list[str] = []

    def _ring(self, names: tuple[str, ...]) -> None:
        if names == self._ring_of:
            return
        points = sorted((stable_hash(f"{name}#{i}"), name)
                        for name in names for i in range(self.vnodes))
        self._points = [p for p, _ in points]
        self._owners = [n for _, n in points]
        self._ring_of = names

    def owner(self, key: Any, names: Sequence[str]) -> str:
        """The name (among ``names``) that owns ``key``."""
        if not names:
            raise ValueError("a hash ring needs at least one worker")
        self._ring(tuple(names))
        i = bisect_right(self._points, stable_hash(key)) % len(self._points)
        return self._owners[i]

    def key_of(self, msg: Any, key: Any) -> Any:
        if key is not None:
            return key
        if self.key is None:
            raise ValueError("ConsistentHash needs a key: give ConsistentHash(key=fn) or "
                             "router.tell(msg, key=...)")
        return self.key(msg)

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]:
        name = self.owner(self.key_of(msg, key), [w.name for w in workers])
        return [next(w for w in workers if w.name == name)]


class Broadcast:
    """Every worker gets a copy (fan-out); the copies share one correlation id."""

    name = "broadcast"

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]:
        return list(workers)


class Topic:
    """Publish/subscribe by pattern: ``topic.subscribe("orders.*", worker)``; a message on
    topic ``orders.paid`` (``topic=fn`` of the message, or ``tell(msg, key="orders.paid")``)
    goes to every worker with a matching pattern (``fnmatch`` rules, case-sensitive)."""

    name = "topic"

    def __init__(self, topic: Callable[[Any], str] | None = None) -> None:
        self.topic = None if topic is None else check_callable("topic", topic)
        self.subscriptions: list[tuple[str, ActorRef]] = []

    def subscribe(self, pattern: str, worker: ActorRef) -> None:
        """Deliver messages whose topic matches ``pattern`` to ``worker``."""
        check_str("pattern", pattern)
        self.subscriptions.append((pattern, _check_worker("worker", worker)))

    def matches(self, topic: str) -> list[ActorRef]:
        """Subscribers of ``topic``, each once, in subscription order."""
        check_str("topic", topic, allow_empty=True)
        out: list[ActorRef] = []
        for pattern, worker in self.subscriptions:
            if fnmatch.fnmatchcase(topic, pattern) and worker not in out:
                out.append(worker)
        return out

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]:
        topic = key if key is not None else (self.topic(msg) if self.topic else None)
        if topic is None:
            raise ValueError("Topic needs the message's topic: give Topic(topic=fn) or "
                             "router.tell(msg, key='orders.paid')")
        if not isinstance(topic, str):
            raise TypeError(f"the message's topic must be a str such as 'orders.paid', got "
                            f"{describe(topic)}")
        return [w for w in self.matches(topic) if w in workers]


def _load(worker: ActorRef) -> int:
    """Messages a worker has not finished: queued (mailbox depth) plus the one in hand."""
    stats = worker.statistics()
    return stats.depth + stats.in_hand


class LeastLoaded:
    """The worker with the fewest unfinished messages: its mailbox depth plus the message
    it is handling now, so an idle worker beats a busy one with an empty mailbox (as Akka's
    smallest-mailbox router). Ties go to the earliest worker in the router's list."""

    name = "least_loaded"

    def select(self, msg: Any, key: Any, workers: Sequence[ActorRef]) -> list[ActorRef]:
        return [min(workers, key=_load)]  # min keeps the first of a tie


#: Strategies a :class:`Router` can be given by name.
STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "round_robin": RoundRobin,
    "random": Random,
    "broadcast": Broadcast,
    "least_loaded": LeastLoaded,
}


def _strategy(strategy: object) -> Strategy:
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, str) and strategy in STRATEGIES:
        return STRATEGIES[strategy]()
    accepted = (f"one of {', '.join(repr(s) for s in STRATEGIES)}, or a strategy object "
                f"such as ConsistentHash(key=fn) or Topic()")
    error = ValueError if isinstance(strategy, str) else TypeError
    raise error(f"strategy must be {accepted}, got {describe(strategy)}")


# -- the router ------------------------------------------------------------------------------


class Router:
    """``Router(strategy, workers, name=None)``: routes each message to the workers its
    strategy picks. Not an actor itself: routing happens in the caller's task, so a router
    adds no queue and no hop, and every worker's mailbox policy still applies."""

    def __init__(self, strategy: Strategy | str, workers: Sequence[ActorRef], *,
                 name: str | None = None) -> None:
        self.strategy = _strategy(strategy)
        self._workers = _check_workers("workers", workers)
        self.name = _check_name(name) or current().new_name("router")
        self.routed: Counter[str] = Counter()  #: copies routed per worker name

    def __repr__(self) -> str:
        return f"<Router {self.name} {self.strategy.name} workers={len(self._workers)}>"

    @property
    def workers(self) -> tuple[ActorRef, ...]:
        return tuple(self._workers)

    def add(self, worker: ActorRef) -> None:
        """Route to ``worker`` too (a hash ring then moves about 1/N of the keys to it)."""
        _check_worker("worker", worker)
        if worker in self._workers:
            raise ValueError(f"{worker.name} is already a worker of {self.name}")
        self._workers.append(worker)

    def remove(self, worker: ActorRef) -> None:
        """Stop routing to ``worker`` (it keeps running; stop it yourself)."""
        _check_worker("worker", worker)
        if worker not in self._workers:
            raise ValueError(f"{worker!r} is not a worker of {self.name}")
        if len(self._workers) == 1:
            raise ValueError(f"cannot remove the last worker of {self.name}; add another "
                             f"first")
        self._workers.remove(worker)

    def route(self, msg: Any, *, key: Any = None) -> list[ActorRef]:
        """The workers the strategy picks for ``msg``, sending nothing (a stateful strategy
        such as round-robin still takes its turn)."""
        return self.strategy.select(msg, key, self._workers)

    def _decide(self, rt: Runtime, msg: Any, key: Any, corr_id: int, *,
                asked: bool = False) -> list[tuple[ActorRef, int]]:
        picked = self.route(msg, key=key)
        if asked and len(picked) != 1:
            raise ValueError(f"{self.name} ({self.strategy.name}) picked {len(picked)} "
                             f"workers; ask needs exactly one (use scatter_gather for many)")
        out = []
        for worker in picked:
            worker.check(msg)
            msg_id = corr_id if asked else rt.next_msg_id()  # an ask's id is its corr id
            rt.record(EventKind.ROUTE, actor=self.name, peer=worker.name, msg_id=msg_id,
                      corr_id=corr_id, msg_type=type(msg).__name__, model=_MODEL,
                      detail=self.strategy.name)
            self.routed[worker.name] += 1
            out.append((worker, msg_id))
        if not picked:
            rt.record(EventKind.ROUTE, actor=self.name, corr_id=corr_id,
                      msg_type=type(msg).__name__, model=_MODEL,
                      detail=f"{self.strategy.name}: no worker matched")
        return out

    def tell(self, msg: Any, *, key: Any = None) -> int:
        """Route ``msg`` without waiting; returns how many workers queued a copy (a full
        mailbox applies its overflow policy; no match queues nothing)."""
        rt = current()
        corr_id = rt.next_msg_id()
        queued = 0
        for worker, msg_id in self._decide(rt, msg, key, corr_id):
            queued += worker.tell(msg, corr_id=corr_id, trace_id=msg_id)
        return queued

    async def send(self, msg: Any, *, key: Any = None) -> int:
        """Route ``msg``, waiting for mailbox space at each chosen worker in turn."""
        rt = current()
        corr_id = rt.next_msg_id()
        queued = 0
        for worker, msg_id in self._decide(rt, msg, key, corr_id):
            queued += await worker.send(msg, corr_id=corr_id, trace_id=msg_id)
        return queued

    async def ask(self, msg: Any, *, key: Any = None, timeout: float | None = None) -> Any:
        """Route ``msg`` to one worker and wait for its reply (``ref.ask``'s errors)."""
        check_timeout(timeout)  # before routing: a bad timeout routes nothing
        rt = current()
        corr_id = rt.next_msg_id()
        [(worker, msg_id)] = self._decide(rt, msg, key, corr_id, asked=True)
        # An ask's id is its correlation id: ``msg_id == corr_id`` here.
        return await worker.ask_nowait(msg, corr_id=msg_id).wait(timeout)


# -- scatter-gather --------------------------------------------------------------------------


@dataclass(frozen=True)
class Gathered:
    """What :func:`scatter_gather` collected: ``replies`` (worker name -> reply, in worker
    order) that came before the deadline, the ``late`` workers' names, and ``failed``
    (worker name -> the exception) for handlers that raised or could not be reached."""

    replies: dict[str, Any]
    late: tuple[str, ...]
    failed: dict[str, BaseException] = field(default_factory=dict)
    corr_id: int | None = None

    @property
    def complete(self) -> bool:
        """True if every worker answered in time."""
        return not self.late and not self.failed


async def scatter_gather(workers: Sequence[ActorRef], msg: Any, *, deadline: float,
                         name: str | None = None) -> Gathered:
    """Ask every worker at once and return what came back within ``deadline`` seconds: a
    partial result rather than waiting for the slowest. Late replies become dead letters.

    The copies share one correlation id (``Gathered.corr_id``), each a ``route`` row. A
    worker whose mailbox is full (``block``) gets its copy when space appears before the
    deadline, waiting in a task of its own, so it holds up no other worker's copy.
    """
    refs = _check_workers("workers", workers)
    limit = check_timeout(deadline, "deadline")
    name = _check_name(name)
    for worker in refs:
        worker.check(msg)
    rt = current()
    router_name = name or rt.new_name("scatter")
    corr_id = rt.next_msg_id()
    start = rt.now()
    posted: list[PendingReply] = []
    for worker in refs:
        msg_id = rt.next_msg_id()
        rt.record(EventKind.ROUTE, actor=router_name, peer=worker.name, msg_id=msg_id,
                  corr_id=corr_id, msg_type=type(msg).__name__, model=_MODEL,
                  detail="scatter_gather")
        pending = worker.ask_nowait(msg, corr_id=corr_id, trace_id=msg_id)
        pending.post_in_background(limit)
        posted.append(pending)
    replies: dict[str, Any] = {}
    failed: dict[str, BaseException] = {}
    late: list[str] = []
    for pending in posted:
        wname = pending.ref.name
        left = None if limit is None else max(limit - (rt.now() - start), 0.0)
        try:
            replies[wname] = await pending.wait(left, reason="scatter_gather deadline passed")
        except ActorFailed as exc:
            failed[wname] = ActorFailed(wname, msg, exc.error)
        except Undeliverable as exc:
            failed[wname] = exc
        except AskTimeout:
            late.append(wname)
    return Gathered(replies, tuple(late), failed, corr_id)


# -- sharding --------------------------------------------------------------------------------


class ShardedGroup:
    """Shards that each own their keys: ``group.shard_of(key)`` is always the same shard
    while the group is unchanged (a :class:`ConsistentHash` ring). ``group.loads`` counts
    the messages routed to each shard, which shows hot keys as skew."""

    def __init__(self, shards: Sequence[ActorRef], *, key: Callable[[Any], Hashable],
                 vnodes: int = 100, name: str | None = None) -> None:
        self.ring = ConsistentHash(check_callable("key", key), vnodes=vnodes)
        self.router = Router(self.ring, shards, name=_check_name(name)
                             or current().new_name("shards"))

    @classmethod
    def spawn(cls, system: ActorSystem, factory: Callable[..., Actor], *args: Any,
              shards: int, key: Callable[[Any], Hashable], vnodes: int = 100,
              mailbox: Callable[[], Mailbox] | None = None,
              prefix: str = "shard") -> ShardedGroup:
        """Spawn ``shards`` actors ``factory(*args)`` named ``shard-0``... and group them."""
        check_int("shards", shards, minimum=1, maximum=MAX_SHARDS)
        check_str("prefix", prefix)
        if mailbox is not None:
            check_callable("mailbox", mailbox)
        refs = [system.spawn(factory, *args, name=f"{prefix}-{i}",
                             mailbox=None if mailbox is None else mailbox())
                for i in range(shards)]
        return cls(refs, key=key, vnodes=vnodes, name=f"{prefix}-group")

    @property
    def shards(self) -> tuple[ActorRef, ...]:
        return self.router.workers

    @property
    def loads(self) -> dict[str, int]:
        """Messages routed to each shard so far, in shard order (zeros included)."""
        return {s.name: self.router.routed[s.name] for s in self.shards}

    def shard_of(self, key: Any) -> ActorRef:
        """The shard that owns ``key``."""
        return self.ring.select(None, key, self.shards)[0]

    def tell(self, msg: Any) -> int:
        """Route ``msg`` to the shard owning its key, without waiting."""
        return self.router.tell(msg)

    async def send(self, msg: Any) -> int:
        """Route ``msg`` to its shard, waiting for mailbox space."""
        return await self.router.send(msg)

    async def ask(self, msg: Any, *, timeout: float | None = None) -> Any:
        """Ask the shard owning ``msg``'s key."""
        return await self.router.ask(msg, timeout=timeout)


def zipf_keys(n: int, s: float, keys: int | Sequence[str], seed: int) -> list[str]:
    """``n`` keys drawn with Zipf weights ``1 / rank**s`` (rank 1 is the hottest) from
    ``random.Random(seed)``: same arguments, same list. ``keys`` is a list of keys or a
    count (``key-0``, ``key-1``, ...). ``s=0`` is uniform; ``s`` near 1 is web-like skew.
    ``n`` and a count of keys go up to :data:`MAX_KEYS`, ``s`` up to
    :data:`MAX_ZIPF_EXPONENT`."""
    check_int("n", n, minimum=0, maximum=MAX_KEYS)
    check_number("s (the Zipf exponent)", s, minimum=0, maximum=MAX_ZIPF_EXPONENT)
    check_seed("seed", seed)
    accepted = f"a count from 1 to {MAX_KEYS} or a non-empty list of keys"
    if isinstance(keys, int) and not isinstance(keys, bool):
        if not 1 <= keys <= MAX_KEYS:
            raise ValueError(f"keys must be {accepted}, got {describe(keys)}")
        population = [f"key-{i}" for i in range(keys)]
    elif isinstance(keys, Sequence) and not isinstance(keys, str | bytes):
        population = list(keys)
        if not population:
            raise ValueError(f"keys must be {accepted}, got {describe(keys)}")
    else:
        raise TypeError(f"keys must be {accepted}, got {describe(keys)}")
    weights = [1.0 / (rank ** s) for rank in range(1, len(population) + 1)]
    return random.Random(seed).choices(population, weights, k=n)
