"""Message enums with exhaustive matching (R39): Rust's ``enum`` + ``match`` for actors.

Decorate a class whose nested classes are its variants. Each variant becomes a frozen
dataclass that subclasses the enum, so it works with ``isinstance`` and in ``match``:

>>> @enum
... class Msg:
...     class Ping: ...
...     class Put:
...         key: str
...         value: int
...     class Stop: ...
>>> Msg.Put("a", 1)
Msg.Put(key='a', value=1)
>>> match Msg.Put("a", 1):
...     case Msg.Put(key, value):
...         print(key, value)
a 1

Rust rejects a ``match`` that misses a variant (E0004). labkit checks when the handlers are
registered: :func:`match_exhaustive` (or an actor base calling :func:`check_exhaustive`)
raises :class:`NonExhaustiveMatch` naming what is missing, before any message flows.

>>> match_exhaustive(Msg, {Msg.Ping: print, Msg.Put: print})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
NonExhaustiveMatch: non-exhaustive patterns: `Msg.Stop` not covered (E0004); ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from labkit.errors import LabkitError

__all__ = (
    "NonExhaustiveMatch",
    "check_exhaustive",
    "enum",
    "is_enum",
    "match_exhaustive",
    "variant_name",
    "variants",
)

C = TypeVar("C", bound=type)

WILDCARD = "_"

# Attributes a class body gets for free, or that dataclass regenerates: not copied over.
_SKIP = frozenset({
    "__dict__", "__weakref__", "__module__", "__qualname__", "__doc__",
    "__dataclass_fields__", "__dataclass_params__", "__match_args__", "__init__",
    "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__slots__",
})


class NonExhaustiveMatch(LabkitError, TypeError):
    """Handlers miss some variants of a message enum (Rust's E0004, R39).

    ``missing`` names the variants not covered, in declaration order.
    """

    def __init__(self, enum_name: str, missing: Iterable[str]) -> None:
        self.enum_name = enum_name
        self.missing = tuple(missing)
        names = ", ".join(f"`{enum_name}.{m}`" for m in self.missing)
        super().__init__(
            f"non-exhaustive patterns: {names} not covered (E0004); add a handler for "
            f"{'it' if len(self.missing) == 1 else 'them'}, or a \"_\" wildcard handler")


def enum(cls: C) -> C:
    """Make ``cls`` a message enum: its nested classes become its variants (R39).

    Variants are frozen dataclasses subclassing ``cls`` (fields from their annotations),
    usable in ``match`` (``case Msg.Put(key, value):``). ``cls`` itself cannot be
    instantiated; ``variants(cls)`` lists the variants in declaration order.
    """
    if not isinstance(cls, type):
        raise TypeError(f"@rust.enum decorates a class, got {cls!r}")
    found: list[type] = []
    prefix = f"{cls.__qualname__}."
    for name, attr in list(vars(cls).items()):
        if isinstance(attr, type) and attr.__qualname__ == prefix + name:
            namespace = {k: v for k, v in vars(attr).items() if k not in _SKIP}
            namespace["__qualname__"] = attr.__qualname__
            namespace["__module__"] = attr.__module__
            namespace["__doc__"] = attr.__doc__ or f"The ``{name}`` variant of ``{cls.__name__}``."
            namespace["__annotations__"] = dict(vars(attr).get("__annotations__", {}))
            variant = type(name, (*_own_bases(attr), cls), namespace)
            variant = dataclasses.dataclass(frozen=True)(variant)
            variant.__enum__ = cls  # type: ignore[attr-defined]
            setattr(cls, name, variant)
            found.append(variant)
    if not found:
        raise TypeError(
            f"@rust.enum found no variants in {cls.__name__}: declare each variant as a "
            f"nested class, e.g. `class Stop: ...`")
    cls.__variants__ = tuple(found)  # type: ignore[attr-defined]
    enum_cls = cls

    def __new__(klass: type, *args: Any, **kwargs: Any) -> Any:
        if klass is enum_cls:
            raise TypeError(
                f"{enum_cls.__name__} is an enum: build one of its variants, e.g. "
                f"{enum_cls.__name__}.{found[0].__name__}(...)")
        return object.__new__(klass)

    cls.__new__ = __new__  # type: ignore[assignment]
    return cls


def _own_bases(attr: type) -> tuple[type, ...]:
    return tuple(b for b in attr.__bases__ if b is not object)


def is_enum(obj: object) -> bool:
    """True for a class decorated with :func:`enum`."""
    return isinstance(obj, type) and "__variants__" in vars(obj)


def variants(enum_type: type) -> tuple[type, ...]:
    """The variants of a message enum, in declaration order."""
    if not is_enum(enum_type):
        raise TypeError(f"{enum_type!r} is not a @rust.enum class")
    return vars(enum_type)["__variants__"]  # type: ignore[no-any-return]


def variant_name(variant: type | str) -> str:
    return variant if isinstance(variant, str) else variant.__name__


def _resolve(enum_type: type, key: object) -> type | None:
    """The variant a handler key stands for (``None`` for the wildcard)."""
    all_variants = variants(enum_type)
    if key == WILDCARD or key is Ellipsis:
        return None
    if isinstance(key, str):
        for v in all_variants:
            if v.__name__ == key:
                return v
    elif key in all_variants:
        return key
    raise TypeError(
        f"{key!r} is not a variant of {enum_type.__name__} (its variants: "
        f"{', '.join(v.__name__ for v in all_variants)}) (E0599)")


def check_exhaustive(enum_type: type, covered: Iterable[type | str]) -> None:
    """Raise :class:`NonExhaustiveMatch` unless ``covered`` names every variant (R39).

    ``covered`` holds variant classes or names; ``"_"`` (or ``...``) is a wildcard that
    covers the rest, as ``_ =>`` does in Rust. For an actor base class to call when the
    class is created (``__init_subclass__``), so a missing handler fails before any message.
    """
    seen: set[type] = set()
    for key in covered:
        variant = _resolve(enum_type, key)
        if variant is None:
            return
        seen.add(variant)
    missing = [v.__name__ for v in variants(enum_type) if v not in seen]
    if missing:
        raise NonExhaustiveMatch(enum_type.__name__, missing)


def match_exhaustive(enum_type: type,
                     handlers: Mapping[Any, Callable[..., Any]]) -> Callable[..., Any]:
    """Check that ``handlers`` cover every variant (R39), and return a dispatcher.

    ``handlers`` maps variant classes (or names, or ``"_"`` for the rest) to callables.
    ``dispatch(msg, *args)`` calls the handler of ``msg``'s variant with ``(msg, *args)``
    and returns its result (await it for async handlers). A message that is not a variant
    of ``enum_type`` raises ``TypeError`` (mismatched types, E0308).
    """
    table: dict[type, Callable[..., Any]] = {}
    fallback: Callable[..., Any] | None = None
    for key, fn in handlers.items():
        if not callable(fn):
            raise TypeError(f"the handler for {key!r} must be callable, got {fn!r}")
        variant = _resolve(enum_type, key)
        if variant is None:
            fallback = fn
        else:
            table[variant] = fn
    if fallback is None:
        check_exhaustive(enum_type, table)
    else:
        for v in variants(enum_type):
            table.setdefault(v, fallback)
    name = enum_type.__name__

    def dispatch(msg: Any, *args: Any) -> Any:
        fn = table.get(type(msg))
        if fn is None:
            raise TypeError(f"mismatched types: expected a {name} variant, got {msg!r} (E0308)")
        return fn(msg, *args)

    dispatch.__name__ = f"match_{name}"
    dispatch.__doc__ = f"Dispatch a {name} message to its handler."
    return dispatch
