"""Bad input to labkit.supervision: every option gives a TypeError (wrong type) or a
ValueError (right type, out of range) naming the argument and what it accepts."""

from __future__ import annotations

import math
from typing import Any

import pytest

import labkit
from labkit.actor import Actor, ActorSystem, Context
from labkit.supervision import Backoff, Child, CircuitBreaker, Supervisor, which_children
from tests.badinput import Param, bad_input_tests

NOT_INTS = [None, "3", 1.5, True, math.nan, [1]]
NOT_NUMBERS = [None, "0.5", True, 1j]


class W(Actor):
    async def receive(self, msg: Any, ctx: Context) -> Any:
        return msg


def sup(**options: Any) -> Supervisor:
    return Supervisor([Child(W, name="w")], **options)


PARAMS = [
    Param("Child.name", lambda v: Child(W, name=v), "name", "a string", [None, 3], []),
    Param("Child.restart", lambda v: Child(W, name="w", restart=v), "restart",
          "one of 'permanent', 'transient', 'temporary'", [None, 1], ["always", ""]),
    Param("Child.shutdown", lambda v: Child(W, name="w", shutdown=v), "shutdown",
          "a number of seconds >= 0 or 'brutal_kill'", [None, True, [1]],
          [-1, math.nan, "kill"]),
    Param("Supervisor.strategy", lambda v: sup(strategy=v), "strategy",
          "one of 'one_for_one', 'one_for_all', 'rest_for_one'", [None, 1],
          ["all_for_one", "simple_one_for_one"]),
    Param("Supervisor.intensity", lambda v: sup(intensity=v), "intensity", "an int >= 0",
          NOT_INTS, [-1]),
    Param("Supervisor.period", lambda v: sup(period=v), "period",
          "a finite number of seconds > 0", NOT_NUMBERS, [0, -1, math.nan, math.inf]),
    Param("Supervisor.children", Supervisor, "children", "a list",
          [None, "ab", 3], []),
    Param("Backoff.min", lambda v: Backoff(min=v), "backoff min",
          "a finite number of seconds > 0", NOT_NUMBERS, [0, -1, math.nan, math.inf]),
    Param("Backoff.max", lambda v: Backoff(min=0.01, max=v), "backoff max",
          "a finite number of seconds > 0", NOT_NUMBERS, [0, math.nan, math.inf]),
    Param("Backoff.random_factor", lambda v: Backoff(random_factor=v),
          "backoff random_factor", "a finite number >= 0", NOT_NUMBERS, [-0.1, math.nan]),
    Param("Backoff.reset_after", lambda v: Backoff(reset_after=v), "backoff reset_after",
          "a finite number of seconds > 0", ["1", True], [0, math.inf]),
    Param("CircuitBreaker.max_failures", lambda v: CircuitBreaker(max_failures=v),
          "max_failures", "an int >= 1", NOT_INTS, [0, -1]),
    Param("CircuitBreaker.call_timeout", lambda v: CircuitBreaker(call_timeout=v),
          "call_timeout", "a number of seconds > 0", NOT_NUMBERS, [0, -1, math.nan]),
    Param("CircuitBreaker.reset_timeout", lambda v: CircuitBreaker(reset_timeout=v),
          "reset_timeout", "a finite number of seconds > 0", NOT_NUMBERS,
          [0, math.nan, math.inf]),
    Param("CircuitBreaker.backoff_factor", lambda v: CircuitBreaker(backoff_factor=v),
          "backoff_factor", "a finite number >= 1", NOT_NUMBERS, [0.5, math.nan, math.inf]),
    Param("CircuitBreaker.max_reset_timeout",
          lambda v: CircuitBreaker(max_reset_timeout=v), "max_reset_timeout",
          "a number of seconds > 0", ["1", True], [0, math.nan]),
    Param("CircuitBreaker.name", lambda v: CircuitBreaker(name=v), "name", "a string",
          [3], []),
]

#: Every wrong type is a TypeError, every value out of range a ValueError.
test_a_value_of_the_wrong_type_is_a_type_error, test_a_value_out_of_range_is_a_value_error = (
    bad_input_tests(PARAMS))


@pytest.mark.parametrize(("make", "error", "text"), [
    (lambda: Supervisor([Child(W, name="w"), Child(W, name="w")]), ValueError,
     "children must have distinct names; 'w' is given twice"),
    (lambda: Supervisor([W]), TypeError,  # type: ignore[list-item]
     "children[0] must be a labkit.supervision.Child, got type "),
    (lambda: sup(backoff=1.0), TypeError,
     "backoff must be a labkit.supervision.Backoff or None, got float 1.0"),
    (lambda: Backoff(min=2, max=1), ValueError, "backoff min must be <= max (1 s), got int 2"),
    (lambda: Child(W(), name="w"), TypeError,  # type: ignore[arg-type]
     "factory must be an Actor subclass or a function returning an actor, got W "),
    (lambda: Child(W, name="w", mailbox=4), TypeError,  # type: ignore[arg-type]
     "mailbox must be a labkit.actor.Mailbox or None, got int 4"),
    (lambda: CircuitBreaker(reset_timeout=5, max_reset_timeout=2), ValueError,
     "max_reset_timeout must be >= reset_timeout (5 s) or None, got float 2.0"),
])
def test_other_bad_arguments(make: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error) as caught:
        make()
    assert str(caught.value).startswith(text)


def test_a_bad_supervisor_option_raises_at_spawn() -> None:
    async def main() -> None:
        async with ActorSystem() as system:
            system.spawn(Supervisor, [], strategy="one_for_none")

    with pytest.raises(ValueError, match=r"^strategy must be one of 'one_for_one', "):
        labkit.simulate(main)


def test_breaker_call_takes_an_async_function() -> None:
    async def main() -> None:
        await CircuitBreaker().call(print, "hi")

    with pytest.raises(TypeError, match=r"^fn must be an async function \(async def\)"):
        labkit.simulate(main)


def test_which_children_takes_an_actor_ref() -> None:
    async def main() -> None:
        await which_children("sup")  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"^ref must be the ActorRef of a Supervisor, got str"):
        labkit.simulate(main)
