"""Message enums and exhaustive matching (R39, case 78)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import labkit
from labkit import rust
from labkit.rust import NonExhaustiveMatch
from labkit.rust._enum import check_exhaustive, is_enum, variants


@rust.enum
class Msg:
    """A small actor protocol."""

    class Ping:
        pass

    class Put:
        key: str
        value: int

    class Stop:
        reason: str = "asked"


def test_case_78_missing_variant_raises_at_registration() -> None:
    with pytest.raises(NonExhaustiveMatch, match="Stop") as info:
        rust.match_exhaustive(Msg, {Msg.Ping: lambda m: None, Msg.Put: lambda m: None})
    assert info.value.missing == ("Stop",)
    assert "E0004" in str(info.value)


def test_r39_names_all_missing_variants_in_order() -> None:
    with pytest.raises(NonExhaustiveMatch) as info:
        rust.match_exhaustive(Msg, {Msg.Put: print})
    assert info.value.missing == ("Ping", "Stop")


def test_r39_exhaustive_dispatch() -> None:
    dispatch = rust.match_exhaustive(Msg, {
        Msg.Ping: lambda m: "pong",
        Msg.Put: lambda m, store: store.__setitem__(m.key, m.value),
        "Stop": lambda m, *_: f"stop: {m.reason}",
    })
    store: dict[str, int] = {}
    assert dispatch(Msg.Ping()) == "pong"
    dispatch(Msg.Put("a", 1), store)  # type: ignore[call-arg]  # variants are dataclasses at run time
    assert store == {"a": 1}
    assert dispatch(Msg.Stop()) == "stop: asked"
    with pytest.raises(TypeError, match="E0308"):
        dispatch("not a Msg")


def test_r39_wildcard_covers_the_rest() -> None:
    dispatch = rust.match_exhaustive(Msg, {Msg.Ping: lambda m: "ping", "_": lambda m: "other"})
    assert dispatch(Msg.Ping()) == "ping"
    assert dispatch(Msg.Stop()) == "other"


def test_r39_unknown_handler_key_rejected() -> None:
    @rust.enum
    class Other:
        class A:
            pass

    with pytest.raises(TypeError, match="not a variant"):
        rust.match_exhaustive(Msg, {Other.A: print})
    with pytest.raises(TypeError, match="not a variant"):
        check_exhaustive(Msg, ["Nope"])


def test_r39_check_exhaustive_for_actor_bases() -> None:
    check_exhaustive(Msg, ["Ping", Msg.Put, "Stop"])
    check_exhaustive(Msg, ["_"])

    class Actor:
        handles: Any = None

        def __init_subclass__(cls) -> None:
            names = [n[3:].capitalize() for n in vars(cls) if n.startswith("on_")]
            check_exhaustive(cls.handles, names)

    with pytest.raises(NonExhaustiveMatch, match="Stop"):
        class Store(Actor):
            handles = Msg

            def on_ping(self) -> None: ...
            def on_put(self) -> None: ...


def test_variants_are_dataclasses_usable_in_match() -> None:
    m = Msg.Put("k", 2)  # type: ignore[call-arg]  # variants are dataclasses at run time
    assert dataclasses.is_dataclass(m)
    assert isinstance(m, Msg)
    assert m == Msg.Put("k", 2)
    assert repr(m) == "Msg.Put(key='k', value=2)"
    match m:
        case Msg.Ping():
            pytest.fail("wrong variant")
        case Msg.Put(key, value):
            assert (key, value) == ("k", 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.key = "x"
    assert variants(Msg) == (Msg.Ping, Msg.Put, Msg.Stop)
    assert is_enum(Msg) and not is_enum(int)


def test_enum_class_itself_not_instantiable() -> None:
    with pytest.raises(TypeError, match="variants"):
        Msg()


def test_enum_without_variants_rejected() -> None:
    with pytest.raises(TypeError, match="no variants"):
        @rust.enum
        class Empty:
            x = 1


def test_enum_messages_through_mpsc_actor() -> None:
    async def main() -> dict[str, int]:
        tx, rx = rust.mpsc.channel(8)
        store: dict[str, int] = {}
        handle = rust.match_exhaustive(Msg, {
            Msg.Ping: lambda m: None,
            Msg.Put: lambda m: store.__setitem__(m.key, m.value),
            Msg.Stop: lambda m: "stop",
        })
        put_a = Msg.Put("a", 1)  # type: ignore[call-arg]  # variants are dataclasses at run time
        put_b = Msg.Put("b", 2)  # type: ignore[call-arg]
        for msg in (Msg.Ping(), put_a, put_b, Msg.Stop()):
            await tx.send(msg)
        while (got := await rx.recv()) is not None:
            if handle(got) == "stop":
                break
        return store

    assert labkit.simulate(main).result == {"a": 1, "b": 2}
