"""Notebook 05 (replay): a bank as an event-sourced actor, crashed and recovered.

* :class:`Bank`: named accounts in cents, as an :class:`~labkit.journal.EventSourced` actor:
  ``command`` decides (a deposit, a withdrawal, a transfer; one that would overdraw an
  account is rejected), ``apply`` changes the state, ``check`` holds the invariant (no
  balance below zero) after every event, live and in replay.
* :func:`crash_recovery`: a client sends seeded commands; after the one numbered
  ``crash_at`` the bank crashes (its events are in the journal, its answer is lost) and is
  restarted; it recovers from the journal (latest snapshot + the events after it) and the
  client sends the unanswered command again. With ``dedup`` the resend has no second
  effect; with ``persistent=False`` the state was only in memory and is gone.
* :func:`upcasting`: a journal written by the first version of the bank (amounts in
  whole euros under ``"amount"``), recovered by the current one (cents under ``"cents"``),
  with or without an upcaster.
* :func:`write_data`: the recorded journals in the project's ``data/`` folder
  (``tools/make_data.py`` calls it).

Recovery time is modelled on the run's clock, so that it means something and is the same
on every machine: :data:`REPLAY_S` per event replayed, :data:`SNAPSHOT_S` to load a
snapshot (and to save one while running), :data:`COMMAND_S` per command handled (one
append, one fsync). The journals of a scenario live in a temporary directory (written with
``fsync="never"``: durability itself is tested in ``tests/test_journal_crash.py``); no
path ever reaches a result or the trace, only the file's name.

The classes and functions a learner reads in the notebook (:class:`Bank`, :func:`client`,
:class:`CrashingBank`, :func:`bank_run`, :func:`deposited_v1`, :func:`withdrawn_v1`,
:class:`BankV1`) are the ones that run.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import labkit
from labkit import Run, journal
from labkit._check import check_bool, check_choice, check_int
from labkit.actor import ActorError, ActorFailed, ActorSystem, Context, Directive, Failure
from labkit.journal import EventSourced, InvariantViolation, Journal, Recovery
from labkit.scenarios._common import check_count, simulate, with_result

__all__ = (
    "ACCOUNTS",
    "BACKENDS",
    "COMMAND_S",
    "DATA_FILES",
    "REPLAY_S",
    "SNAPSHOT_S",
    "State",
    "UPCAST",
    "Bank",
    "BankV1",
    "CrashLog",
    "CrashResult",
    "CrashingBank",
    "Rejected",
    "UpcastResult",
    "bank_run",
    "client",
    "deposited_v1",
    "draw_commands",
    "crash_recovery",
    "euros",
    "expected_state",
    "main",
    "open_backend",
    "restart_always",
    "upcasting",
    "v1_events",
    "withdrawn_v1",
    "write_data",
)

#: The accounts the seeded commands use.
ACCOUNTS = ("alice", "bob", "carol")
#: Where a scenario's journal lives: an append-only file or an SQLite database.
BACKENDS = ("file", "sqlite")
#: Modelled cost of handling one command: decide, one append (an fsync), apply (seconds).
COMMAND_S = 0.001
#: Modelled cost of replaying one event on recovery: read, decode, apply, check (seconds).
REPLAY_S = 0.0002
#: Modelled cost of loading a snapshot on recovery, or of saving one while running (seconds).
SNAPSHOT_S = 0.002

#: A bank's state: account -> cents.
State = dict[str, int]


class Rejected(Exception):
    """A command the bank refuses (nothing is persisted): an overdraft, an unknown op."""


def euros(cents: int) -> str:
    """``1250`` -> ``"12.50"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


# == the bank ==================================================================================


class Bank(EventSourced):
    """Accounts in cents. Invariant: no balance is ever below zero."""

    event_version = 2  # version 1 stored whole euros under "amount" (see UPCAST)
    persistence_id = "bank"

    def initial_state(self) -> State:
        return {}  # account -> cents; an account appears with its first deposit

    def command(self, state: State, msg: Any) -> list[dict[str, Any]]:
        """Decide: the events a command leads to, or raise Rejected (nothing persisted)."""
        match msg:
            case "balances":
                return []
            case {"op": "deposit", "account": str(to), "cents": int(cents)} if cents > 0:
                return [{"kind": "deposited", "account": to, "cents": cents}]
            case {"op": "withdraw", "account": str(of), "cents": int(cents)} if cents > 0:
                if state.get(of, 0) < cents:
                    raise Rejected(f"{of} has {euros(state.get(of, 0))}, "
                                   f"cannot withdraw {euros(cents)}")
                return [{"kind": "withdrawn", "account": of, "cents": cents}]
            case {"op": "transfer", "from": str(of), "to": str(to), "cents": int(cents)} \
                    if cents > 0 and of != to:
                if state.get(of, 0) < cents:
                    raise Rejected(f"{of} has {euros(state.get(of, 0))}, "
                                   f"cannot transfer {euros(cents)}")
                # one event, not two: a crash can never leave half a transfer
                return [{"kind": "transferred", "from": of, "to": to, "cents": cents}]
        raise Rejected(f"not a command: {msg!r}")

    def apply(self, state: State, event: dict[str, Any]) -> State:
        """The state after one event: a new dict (pure; it runs again at every recovery)."""
        new = dict(state)
        match event["kind"]:
            case "deposited":
                new[event["account"]] = new.get(event["account"], 0) + event["cents"]
            case "withdrawn":
                new[event["account"]] = new.get(event["account"], 0) - event["cents"]
            case "transferred":
                new[event["from"]] = new.get(event["from"], 0) - event["cents"]
                new[event["to"]] = new.get(event["to"], 0) + event["cents"]
        return new

    def check(self, state: State) -> None:
        """The invariant, after every apply, live and during replay."""
        for account, cents in state.items():
            if cents < 0:
                raise InvariantViolation(f"{account} is at {euros(cents)}")


def deposited_v1(old: dict[str, Any]) -> dict[str, Any]:
    """Version 1 of `deposited` (whole euros under "amount", "acct") as version 2."""
    return {"kind": "deposited", "account": old["acct"], "cents": old["amount"] * 100}


def withdrawn_v1(old: dict[str, Any]) -> dict[str, Any]:
    """Version 1 of `withdrawn` as version 2."""
    return {"kind": "withdrawn", "account": old["acct"], "cents": old["amount"] * 100}


#: The upcasters, by (kind, version): each turns an old event into the current shape as it
#: is read (Akka's EventAdapter); version 1 had no transfers.
UPCAST: journal.Upcasters = {("deposited", 1): deposited_v1, ("withdrawn", 1): withdrawn_v1}


class BankV1(Bank):
    """The current bank, able to read old journals: version-1 events go through UPCAST."""

    upcast: ClassVar[journal.Upcasters] = UPCAST


# == the workload ================================================================================


def draw_commands(n: int) -> list[dict[str, Any]]:
    """``n`` commands drawn from the run's seeded generator: deposits, withdrawals and
    transfers between :data:`ACCOUNTS`, in whole euros (some of them overdraw: rejected)."""
    rng = labkit.rng()
    out: list[dict[str, Any]] = []
    for _ in range(n):
        cents = rng.randint(1, 60) * 100
        op = rng.choices(("deposit", "withdraw", "transfer"), weights=(4, 3, 3))[0]
        if op == "transfer":
            of, to = rng.sample(ACCOUNTS, 2)
            out.append({"op": op, "from": of, "to": to, "cents": cents})
        else:
            out.append({"op": op, "account": rng.choice(ACCOUNTS), "cents": cents})
    return out


def expected_state(cmds: Sequence[Any]) -> tuple[State, int]:
    """What the commands lead to, each handled exactly once (no actor, no journal): the
    state and the number of events."""
    bank = Bank("unused.jsonl")  # never started: only its pure methods are used
    state: State = bank.initial_state()
    events = 0
    for msg in cmds:
        try:
            new_events = bank.command(state, msg)
        except Rejected:
            continue
        for event in new_events:
            state = bank.apply(state, event)
            events += 1
    return state, events


async def client(bank: Any, cmds: Sequence[Any], answers: list[Any]) -> None:
    """Send each command with its number as msg_id; if the bank crashed before answering,
    send the same command, with the same id, again (at-least-once)."""
    for msg_id, msg in enumerate(cmds, start=1):
        while True:
            try:
                answers.append(await bank.ask(msg, msg_id=msg_id))
                break
            except ActorFailed as err:
                if isinstance(err.__cause__, Rejected):
                    answers.append(None)  # refused: nothing to resend
                    break
                # crashed: did it happen? the client cannot know; it sends again


@dataclass
class CrashLog:
    """What the harness notes: when the bank crashed, and when each start was over (the
    state recovered) with how it recovered."""

    crashed_at: list[float] = field(default_factory=list)
    ready_at: list[float] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)


class CrashingBank(Bank):
    """The bank with its modelled costs, crashing once: after the command numbered
    `crash_at` is handled (its events are in the journal), before its answer goes out."""

    def __init__(self, store: Callable[[], Journal], crash_at: int, log: CrashLog,
                 **options: Any) -> None:
        super().__init__(store(), **options)
        self.crash_at, self.log = crash_at, log

    async def on_start(self, ctx: Context) -> None:
        await super().on_start(ctx)  # recovery: latest snapshot + the events after it
        assert self.recovery is not None
        loaded = 0 if self.recovery.snapshot_seq is None else 1
        await labkit.sleep(self.recovery.events * REPLAY_S + loaded * SNAPSHOT_S)
        self.log.recoveries.append(self.recovery)
        self.log.ready_at.append(labkit.now())

    async def receive(self, msg: Any, ctx: Context) -> Any:
        await labkit.sleep(COMMAND_S)
        answer = await super().receive(msg, ctx)  # command, persist, apply, check
        if ctx.dedup_id == self.crash_at and not self.log.crashed_at:
            self.log.crashed_at.append(labkit.now())
            raise RuntimeError(f"crash after command {self.crash_at}")  # answer lost
        return answer

def restart_always(failure: Failure) -> Directive:
    """The bank's supervisor: restart it after any failure (a new instance)."""
    return Directive.RESTART


async def bank_run(store: Callable[[], Journal], cmds: Sequence[Any], crash_at: int,
                   log: CrashLog, answers: list[Any], **options: Any) -> State:
    """The client against a CrashingBank that is restarted after its crash: a fresh
    instance, so whatever it held in memory is gone; the journal is not."""
    async with ActorSystem() as system:
        bank = system.spawn(CrashingBank, store, crash_at, log, name="bank",
                            supervisor=restart_always, **options)
        await client(bank, cmds, answers)
        # a number of its own, after the commands' (an ask numbered by the system would start
        # at 1 again: the commands took their numbers themselves)
        state: State = await bank.ask("balances", msg_id=len(cmds) + 1)
        bank.stop()
        return state


# == crash and recovery ========================================================================


def open_backend(folder: Path, backend: str, *, fsync: str = "never") -> Journal:
    """A journal named ``bank.jsonl`` (``"file"``) or ``bank.db`` (``"sqlite"``) in
    ``folder``."""
    name = "bank.jsonl" if backend == "file" else "bank.db"
    return journal.open(folder / name, fsync=fsync)


@dataclass(frozen=True)
class CrashResult:
    """What :func:`crash_recovery` saw. Times are on the run's clock (virtual seconds).

    ``accepted``/``rejected``: commands the bank took or refused (resends counted once);
    ``crashed_at``: when it crashed; ``events_replayed``, ``snapshot_seq`` (``None``: no
    snapshot) and ``recovery_s``: how it got its state back; ``snapshots``: snapshots
    written while running; ``events``: events in the journal the final state rests on,
    ``expected_events``: events if every command had counted once; ``duplicates`` and
    ``lost``: the difference, either way; ``balances`` and ``expected``: final and right
    balances as ``(account, cents)`` pairs; ``correct``: they agree."""

    backend: str
    persistent: bool
    dedup: bool
    snapshot_every: int | None
    commands: int
    crash_at: int
    accepted: int
    rejected: int
    crashed_at: float
    events_replayed: int
    snapshot_seq: int | None
    recovery_s: float
    snapshots: int
    events: int
    expected_events: int
    duplicates: int
    lost: int
    correct: bool
    balances: tuple[tuple[str, int], ...]
    expected: tuple[tuple[str, int], ...]


def _pairs(state: State) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(state.items()))


def crash_recovery(crash_at: int = 16, *, commands: int = 40,
                   snapshot_every: int | None = None, dedup: bool = True,
                   backend: str = "file", persistent: bool = True,
                   seed: int | None = 0) -> Run[CrashResult]:
    """A bank handles ``commands`` seeded commands and crashes once, after handling command
    ``crash_at`` and before answering it; it is restarted, recovers from its journal
    (``backend`` ``"file"`` or ``"sqlite"``; the latest snapshot, taken every
    ``snapshot_every`` events, + the events after it), and the client resends the
    unanswered command with the same id. ``dedup`` handles it once (effectively-once);
    without, it counts twice. ``persistent=False`` keeps the state in memory only (an
    in-memory database, new at each start): the crash loses everything before it."""
    commands_ = check_count("commands", commands, minimum=1)
    crash_at = check_int("crash_at", crash_at, minimum=1, maximum=commands_)
    if snapshot_every is not None:
        snapshot_every = check_count("snapshot_every", snapshot_every, minimum=1)
    dedup = check_bool("dedup", dedup)
    backend = check_choice("backend", backend, BACKENDS)
    persistent = check_bool("persistent", persistent)
    answers: list[Any] = []
    log = CrashLog()
    with tempfile.TemporaryDirectory(prefix="labkit-replay-") as tmp:
        opened: list[Journal] = []  # opened inside the run (SQLite: in the run's thread)

        def store() -> Journal:
            if persistent and opened:
                return opened[0]  # the same journal at every start
            # the journal, or (memory only) a new, empty in-memory database at every start
            opened.append(open_backend(Path(tmp), backend) if persistent else
                          journal.SqliteJournal(":memory:", fsync="never"))
            return opened[-1]

        async def main() -> tuple[State, list[Any], int]:
            cmds = draw_commands(commands_)
            try:
                state = await bank_run(store, cmds, crash_at, log, answers,
                                       snapshot_every=snapshot_every, dedup=dedup)
                return state, cmds, opened[-1].last_seq
            finally:
                for j in opened:
                    j.close()

        run = simulate(main, seed=seed)
    final, cmds, events = run.result
    expected, expected_events = expected_state(cmds)
    recovery = log.recoveries[-1]
    rejected = sum(a is None for a in answers)
    snapshots = run.trace.kinds().get("snapshot", 0)
    return with_result(run, CrashResult(
        backend=backend, persistent=persistent, dedup=dedup, snapshot_every=snapshot_every,
        commands=commands_, crash_at=crash_at, accepted=len(answers) - rejected,
        rejected=rejected, crashed_at=round(log.crashed_at[0], 9),
        events_replayed=recovery.events, snapshot_seq=recovery.snapshot_seq,
        recovery_s=round(log.ready_at[-1] - log.crashed_at[0], 9), snapshots=snapshots,
        events=events, expected_events=expected_events,
        duplicates=max(0, events - expected_events), lost=max(0, expected_events - events),
        correct=final == expected, balances=_pairs(final), expected=_pairs(expected)))


# == upcasting ==================================================================================


def v1_events(n: int) -> list[dict[str, Any]]:
    """``n`` events as version 1 of the bank wrote them (whole euros, ``"acct"``), drawn
    from the run's seeded generator; no withdrawal overdraws (version 1 had no transfers)."""
    rng = labkit.rng()
    balances = dict.fromkeys(ACCOUNTS, 0)
    out: list[dict[str, Any]] = []
    for _ in range(n):
        acct = rng.choice(ACCOUNTS)
        if balances[acct] >= 10 and rng.random() < 0.4:
            amount = rng.randint(1, balances[acct])
            balances[acct] -= amount
            out.append({"kind": "withdrawn", "acct": acct, "amount": amount})
        else:
            amount = rng.randint(5, 80)
            balances[acct] += amount
            out.append({"kind": "deposited", "acct": acct, "amount": amount})
    return out


@dataclass(frozen=True)
class UpcastResult:
    """What :func:`upcasting` saw: ``recovered`` (the bank started), its ``balances``, the
    ``versions`` of the events in the journal, and the ``error`` recovery stopped with."""

    upcast: bool
    events: int
    recovered: bool
    events_replayed: int
    balances: tuple[tuple[str, int], ...]
    versions: tuple[int, ...]
    error: str


def upcasting(upcast: bool = True, *, events: int = 10,
              seed: int | None = 0) -> Run[UpcastResult]:
    """A journal of ``events`` version-1 events (whole euros under ``"amount"``), then the
    current bank (version 2: cents under ``"cents"``) starts on it: with ``upcast``
    (:data:`UPCAST`) every old event is turned into the current shape as it is read; without,
    ``apply`` meets a shape it does not know and recovery fails, naming the event."""
    upcast = check_bool("upcast", upcast)
    events = check_count("events", events, minimum=1)
    answer: list[State] = []

    with tempfile.TemporaryDirectory(prefix="labkit-replay-") as tmp:
        path = Path(tmp) / "bank_v1.jsonl"

        async def main() -> None:
            with journal.open(path, fsync="never") as old:
                for event in v1_events(events):
                    old.append(event, kind=event["kind"], version=1)
            async with ActorSystem() as system:
                bank = system.spawn(BankV1 if upcast else Bank, path, name="bank")
                try:
                    answer.append(await bank.ask("balances"))
                except ActorError:
                    pass  # recovery failed: the bank stopped before it could answer
                bank.stop()

        run = simulate(main, seed=seed)
        with journal.open(path, read_only=True) as j:
            versions = tuple(sorted({r.version for r in j.read()}))
    df = run.trace.df
    fails = df[df["kind"] == "fail"]["detail"]
    error = str(fails.iloc[0]) if len(fails) else ""
    return with_result(run, UpcastResult(
        upcast, events, recovered=bool(answer), events_replayed=int((df["kind"] ==
                                                                     "replay").sum()),
        balances=_pairs(answer[0]) if answer else (), versions=versions, error=error))


# == the recorded journals in data/ ===============================================================

#: The files :func:`write_data` writes, and what each one is.
DATA_FILES = {
    "bank.jsonl": "a bank ledger: 24 seeded commands (deposits, withdrawals, transfers) "
                  "handled by Bank with dedup, as version-2 events",
    "bank.jsonl.snapshot": "its latest snapshot (one every 8 events: at event 16), with "
                           "the dedup table",
    "bank_torn.jsonl": "bank.jsonl with its last record cut short (a crash mid-write)",
    "bank_damaged.jsonl": "bank.jsonl with one digit changed inside record 7: a complete "
                          "record whose CRC32 fails",
    "bank_v1.jsonl": "12 events written by version 1 of the bank (whole euros under "
                     "'amount', 'acct'), which UPCAST turns into version 2",
}


async def _record_bank(path: Path) -> None:
    class Recorded(Bank):
        snapshot_every = 8
        dedup = True

    with journal.open(path, fsync="never") as store:
        async with ActorSystem() as system:
            bank = system.spawn(Recorded, store, name="bank", persistence_id="bank")
            for msg_id, msg in enumerate(draw_commands(24), start=1):
                try:
                    await bank.ask(msg, msg_id=msg_id)
                except ActorFailed:
                    pass  # rejected: nothing persisted
            bank.stop()


async def _record_v1(path: Path) -> None:
    with journal.open(path, fsync="never") as old:
        for event in v1_events(12):
            old.append(event, kind=event["kind"], version=1)


def write_data(folder: str | Path) -> list[Path]:
    """(Re)write the recorded journals of ``data/`` into ``folder``: the same bytes every
    time (seed 0; JSON and framing are deterministic). Returns the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        (out / name).unlink(missing_ok=True)
    bank = out / "bank.jsonl"
    labkit.simulate(_record_bank, bank, seed=0)
    labkit.simulate(_record_v1, out / "bank_v1.jsonl", seed=0)
    data = bank.read_bytes()
    lines = data.splitlines(keepends=True)
    last = lines[-1]
    (out / "bank_torn.jsonl").write_bytes(b"".join(lines[:-1]) + last[: len(last) // 2])
    seventh = lines[6]
    head, _, rest = seventh.partition(b'"cents":')
    digit = rest[:1]
    changed = b"9" if digit != b"9" else b"8"
    lines[6] = head + b'"cents":' + changed + rest[1:]
    (out / "bank_damaged.jsonl").write_bytes(b"".join(lines))
    return [out / name for name in DATA_FILES]


def main(argv: Sequence[str] | None = None) -> int:
    """``python tools/make_data.py [folder]``: rewrite the recorded journals (default
    ``data/``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else Path("data")
    for path in write_data(folder):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0
