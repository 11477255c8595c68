"""The runtime: virtual time, determinism, the Run record, task bookkeeping, backends."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import anyio
import pytest

import labkit
from labkit._runtime import current
from labkit.channel import Channel
from labkit.trace import COLUMNS, EventKind, Trace, record
from tests import _det_scenario
from tests.badinput import Param, bad_input_tests

HERE = Path(__file__).parent


# -- virtual time --------------------------------------------------------------------------


def test_ten_virtual_hours_take_no_real_time() -> None:
    async def main() -> float:
        await anyio.sleep(10 * 3600)
        return labkit.now()

    started = time.monotonic()
    run = labkit.simulate(main)
    assert run.result == 36000.0
    assert run.elapsed == 36000.0
    assert run.virtual
    # A real sleep would take ten hours; the virtual clock jumps straight to the timer.
    assert time.monotonic() - started < 600


def test_virtual_clock_is_exact_for_many_small_sleeps() -> None:
    async def main() -> float:
        for _ in range(1000):
            await anyio.sleep(0.25)
        return labkit.now()

    assert labkit.simulate(main).result == 250.0


def test_timers_due_at_the_same_instant_fire_in_scheduling_order() -> None:
    order: list[int] = []

    async def sleeper(i: int) -> None:
        await anyio.sleep(5.0)
        order.append(i)

    async def main() -> None:
        for i in range(200):
            current().start_task(sleeper, (i,), prefix="t", model=None)
        await anyio.sleep(10)

    labkit.simulate(main)
    assert order == list(range(200))


def test_loop_call_at_ties_keep_scheduling_order() -> None:
    fired: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        when = loop.time() + 1.0
        # Scheduled in a scrambled order of due times, with many exact ties.
        for i in range(300):
            loop.call_at(when + (i % 3), fired.append, i)
        await anyio.sleep(5)

    labkit.simulate(main)
    expected = sorted(range(300), key=lambda i: (i % 3, i))
    assert fired == expected


def test_cancelled_timers_never_fire_nor_move_the_clock() -> None:
    """500 timeouts that are cancelled before they fall due (more than the virtual loop
    keeps before compacting its timer heap) leave the clock where the real work ends."""

    async def main() -> tuple[int, float]:
        finished = 0
        for i in range(500):
            with anyio.move_on_after(10 + i):
                await anyio.sleep(0.001)
            finished += 1
        await anyio.sleep(1)
        return finished, labkit.now()

    run = labkit.simulate(main)
    finished, clock = run.result
    assert finished == 500
    assert clock == pytest.approx(1.5)
    assert run.elapsed == pytest.approx(1.5)


def test_cancelled_sleeps_never_wake_nor_move_the_clock() -> None:
    """500 of labkit's own sleeps (the loop keeps their futures as its timers) cancelled
    before they fall due, more than the loop keeps before compacting its timer heap: none
    moves the clock, and a timer due at the same instant as a cancelled sleep still fires."""

    async def main() -> tuple[int, float, list[float]]:
        finished = 0
        fired: list[float] = []
        for i in range(500):
            with anyio.move_on_after(0.001):
                await labkit.sleep(10 + i)
            finished += 1
        loop = asyncio.get_running_loop()
        loop.call_later(9.5, lambda: fired.append(labkit.now()))
        with anyio.move_on_after(1):
            await labkit.sleep(9.5)
        await labkit.sleep(9)
        return finished, labkit.now(), fired

    run = labkit.simulate(main)
    finished, clock, fired = run.result
    assert finished == 500
    assert clock == pytest.approx(10.5)
    assert fired == [pytest.approx(10.0)]


def test_the_virtual_loops_ready_handles_are_asyncios() -> None:
    """call_soon's handles, made without Handle's constructor, fill every slot it fills,
    with the same values (a slot added by a later Python would be left unset)."""
    from labkit._runtime.vloop import VirtualEventLoop, _ready

    loop = VirtualEventLoop()
    try:
        context = contextvars.copy_context()
        ours = _ready(print, (1, 2), loop, context)
        theirs = asyncio.Handle(print, (1, 2), loop, context)
        slots = [s for s in asyncio.Handle.__slots__ if s != "__weakref__"]
        assert [getattr(ours, s) for s in slots] == [getattr(theirs, s) for s in slots]
        assert isinstance(ours, asyncio.Handle) and repr(ours).endswith(" print(1, 2)>")
        assert _ready(print, (), loop, None)._context is not None  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_a_simulation_hears_other_threads_and_signals() -> None:
    """The virtual loop skips polling its wake-up pipe when nothing else is registered;
    a call from another thread and a signal handler on the loop still get through."""

    async def main() -> tuple[list[int], list[int]]:
        got: list[int] = []

        async def ticker() -> None:
            for _ in range(3):
                await anyio.sleep(1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            token = anyio.lowlevel.current_token()

            def work() -> None:
                time.sleep(0.01)
                anyio.from_thread.run_sync(got.append, 1, token=token)

            thread = threading.Thread(target=work)
            thread.start()
            while not got:
                await anyio.sleep(0.001)
            thread.join()
        seen: list[int] = []
        with anyio.open_signal_receiver(signal.SIGUSR1) as signals:
            os.kill(os.getpid(), signal.SIGUSR1)
            async for number in signals:
                seen.append(int(number))
                break
        return got, seen

    assert labkit.simulate(main).result == ([1], [int(signal.SIGUSR1)])


def test_until_stops_the_run_at_that_virtual_time() -> None:
    async def forever() -> None:
        while True:
            await anyio.sleep(1)

    async def main() -> str:
        current().start_task(forever, (), prefix="ticker", model=None)
        await anyio.sleep(100)
        return "finished"

    run = labkit.simulate(main, until=12.5)
    assert not run.completed
    assert run.result is None
    assert run.elapsed == 12.5
    assert run.leaked == ("ticker-1",)


# -- the Run record and the trace -----------------------------------------------------------


def test_run_record_fields() -> None:
    async def main(x: int) -> int:
        await anyio.sleep(2)
        return x * 2

    run = labkit.simulate(main, 21, seed=7)
    assert (run.result, run.seed, run.elapsed, run.leaked, run.completed) == (42, 7, 2.0, (), True)


def test_trace_dataframe_has_the_design_columns() -> None:
    async def main() -> None:
        ch: Channel[str] = Channel(2, name="box")
        await ch.send("a")
        await ch.recv()

    df = labkit.simulate(main).trace.df
    assert list(df.columns) == list(COLUMNS)
    for name in ("time", "seq", "kind", "actor", "peer", "msg_id", "corr_id", "msg_type",
                 "depth", "model"):
        assert name in df.columns
    assert list(df["kind"]) == ["send", "receive"]
    assert list(df["peer"]) == ["box", "box"]
    assert list(df["actor"]) == ["main", "main"]
    assert df["msg_id"].iloc[0] == df["msg_id"].iloc[1]
    assert list(df["depth"]) == [1, 0]
    assert list(df["seq"]) == [0, 1]


def test_a_runs_trace_reads_the_same_as_a_trace_of_its_rows() -> None:
    """A run's trace is read from the runtime's flat event list; rows, length, kinds, the
    DataFrame and iteration agree with a ``Trace`` built from the same rows by hand."""

    async def main() -> None:
        ch: Channel[str] = Channel(1, name="box")
        await ch.send("a", corr_id=7)
        await anyio.sleep(0.5)
        await ch.recv()
        record(EventKind.NOTE, detail="done")

    trace = labkit.simulate(main).trace
    assert len(trace) == 3
    assert trace.rows == [(0.0, 0, "send", "main", "box", 1, 7, "str", 1, None, None),
                          (0.5, 1, "receive", "main", "box", 1, 7, "str", 0, None, None),
                          (0.5, 2, "note", "main", None, None, None, None, None, None, "done")]
    by_hand = Trace(list(trace.rows))
    assert len(by_hand) == len(trace)
    assert list(by_hand) == list(trace)
    assert by_hand.kinds() == trace.kinds() == {"send": 1, "receive": 1, "note": 1}
    assert by_hand.df.equals(trace.df)
    assert list(trace.df.dtypes) == list(by_hand.df.dtypes)


#: Values of the wrong kind for Trace and Trace.recorded (typed Any: the point is to pass them).
_BAD: dict[str, Any] = {"int": 42, "lists": [[0.0] * 11], "tuple": (), "text": "0"}


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: Trace(_BAD["int"]), TypeError,
     "rows must be a list of rows in TraceRow field order"),
    (lambda: Trace([(0.0, 0, "send")]), ValueError, r"rows\[0\] must be a tuple of 11 fields"),
    (lambda: Trace(_BAD["lists"]), ValueError, r"rows\[0\] must be a tuple of 11 fields"),
    (lambda: Trace.recorded(_BAD["tuple"], 0.0), TypeError, "events must be a list, got tuple"),
    (lambda: Trace.recorded([0.0, "send"], 0.0), ValueError,
     "events must hold 10 fields per event"),
    (lambda: Trace.recorded([], _BAD["text"]), TypeError,
     "t0 must be a finite number of seconds"),
])
def test_a_trace_refuses_rows_it_cannot_read(make: Any, error: type[Exception],
                                             message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_real_time_trace_starts_at_zero() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(1)
        await ch.send(1)

    run = labkit.run(main)
    assert 0.0 <= run.trace.rows[0][0] < 1.0
    assert run.trace.df["time"].iloc[0] == run.trace.rows[0][0]


def test_trace_can_be_switched_off() -> None:
    async def main() -> None:
        ch: Channel[int] = Channel(1)
        await ch.send(1)
        await ch.recv()

    assert len(labkit.simulate(main, trace=False).trace) == 0


def test_leaked_tasks_are_named_and_cancelled_when_main_returns() -> None:
    cancelled: list[str] = []

    async def stuck() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.append("stuck")

    async def main() -> None:
        current().start_task(stuck, (), prefix="go", model="go")
        await anyio.sleep(1)

    run = labkit.simulate(main)
    assert run.leaked == ("go-1",)
    assert cancelled == ["stuck"]


def test_exception_in_a_task_ends_the_run_and_keeps_the_partial_trace() -> None:
    async def boom() -> None:
        await anyio.sleep(3)
        raise ZeroDivisionError("poison message")

    async def main() -> None:
        current().start_task(boom, (), prefix="go", model="go")
        await anyio.sleep(100)

    with pytest.raises(ZeroDivisionError, match="poison message") as info:
        labkit.simulate(main)
    run = info.value.run  # type: ignore[attr-defined]
    assert run.elapsed == 3.0
    assert "fail" in run.trace.kinds()
    assert any("go-1" in note for note in info.value.__notes__)


def test_exception_in_main_propagates_unchanged() -> None:
    async def main() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        labkit.simulate(main)


def test_deadlock_is_reported_with_what_each_task_waits_on() -> None:
    async def receiver(ch: Channel[int]) -> None:
        await ch.recv()

    async def main() -> None:
        a: Channel[int] = Channel(0, name="a")
        b: Channel[int] = Channel(0, name="b")
        current().start_task(receiver, (a,), prefix="go", model="go")
        await b.recv()

    with pytest.raises(labkit.Deadlock) as info:
        labkit.simulate(main)
    message = str(info.value)
    assert message.startswith("all goroutines are asleep - deadlock!")
    assert "main: blocked on receive from b" in message
    assert "go-1: blocked on receive from a" in message


def test_awaiting_outside_a_run_raises_a_clear_error() -> None:
    ch: Channel[int] = Channel(1)

    async def outside() -> None:
        await ch.send(1)

    with pytest.raises(labkit.NotInRunError, match=r"labkit\.simulate"):
        anyio.run(outside)
    with pytest.raises(labkit.NotInRunError):
        labkit.now()


async def _nothing() -> None:
    return None


def _plain() -> None:
    return None


def _returns_a_coroutine() -> Coroutine[Any, Any, None]:
    return _nothing()  # a plain function, even if calling it gives a coroutine


test_sleep_refuses_wrong_types, test_sleep_refuses_values_out_of_range = bad_input_tests([
    Param("labkit.sleep", labkit.sleep, "seconds", "a number of seconds",
          [None, "1s", True, 2j, [1.0]], [math.nan]),
])


def test_sleep_takes_any_duration_a_number_gives() -> None:
    """Negative and zero durations only yield (asyncio's rule); inf sleeps for ever, so
    a run whose main sleeps for ever is a deadlock, reported at once."""

    async def main() -> float:
        await labkit.sleep(-3)
        await labkit.sleep(0)
        await labkit.sleep(2)
        await labkit.sleep(1e-9)
        return labkit.now()

    assert labkit.simulate(main).result == pytest.approx(2 + 1e-9)

    async def forever() -> None:
        await labkit.sleep(math.inf)

    with pytest.raises(labkit.Deadlock) as err:
        labkit.simulate(forever)
    assert err.value.at == 0


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"seed": "1"}, TypeError, "seed must be an int or None, got str '1'"),
    ({"seed": 1.5}, TypeError, "seed must be an int or None, got float 1.5"),
    ({"seed": True}, TypeError, "seed must be an int or None, got bool True"),
    ({"until": -1}, ValueError, "until must be a number of seconds >= 0, got int -1"),
    ({"until": float("nan")}, ValueError, "until must be a number of seconds >= 0, got float nan"),
    ({"until": "10"}, TypeError, "until must be a number of seconds >= 0, got str '10'"),
    ({"until": True}, TypeError, "until must be"),
    ({"trace": "yes"}, TypeError, "trace must be True or False, got str 'yes'"),
    ({"trace": 1}, TypeError, "trace must be True or False, got int 1"),
    ({"trace": None}, TypeError, "trace must be True or False"),
])
def test_simulate_refuses_bad_arguments(kwargs: dict[str, Any], error: type[Exception],
                                        message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        labkit.simulate(_nothing, **kwargs)


@pytest.mark.parametrize("main", [42, None, "main", _plain, _returns_a_coroutine, print])
def test_main_must_be_an_async_function_for_every_way_to_run(main: Any) -> None:
    message = "main must be an async function (async def)"
    with pytest.raises(TypeError, match=re.escape(message)):
        labkit.simulate(main)
    with pytest.raises(TypeError, match=re.escape(message)):
        labkit.run(main)
    coro = labkit.run_async(main)
    with pytest.raises(TypeError, match=re.escape(message)):
        asyncio.run(coro)


def test_async_callables_other_than_functions_are_accepted_as_main() -> None:
    class Job:
        async def __call__(self, x: int) -> int:
            return x

        async def method(self, x: int) -> int:
            return x + 1

    assert labkit.simulate(Job(), 1).result == 1
    assert labkit.simulate(Job().method, 1).result == 2
    assert labkit.simulate(functools.partial(Job().method, 2)).result == 3


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"backend": "gevent"}, ValueError,
     "backend must be one of 'asyncio', 'trio', got str 'gevent'"),
    ({"backend": None}, TypeError, "backend must be one of 'asyncio', 'trio', got NoneType None"),
    ({"seed": "0"}, TypeError, "seed must be an int or None"),
    ({"trace": 0}, TypeError, "trace must be True or False"),
])
def test_run_refuses_bad_arguments(kwargs: dict[str, Any], error: type[Exception],
                                   message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        labkit.run(_nothing, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": 2.0}, "seed must be an int or None"),
    ({"trace": "no"}, "trace must be True or False"),
])
def test_run_async_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        asyncio.run(labkit.run_async(_nothing, **kwargs))


# -- running inside an event loop (a Jupyter kernel) ----------------------------------------


async def _sleepy_main() -> tuple[float, int]:
    await anyio.sleep(30)
    return labkit.now(), labkit.rng().randint(0, 10**9)


def test_simulate_works_inside_a_running_asyncio_loop() -> None:
    async def kernel_cell() -> labkit.Run[tuple[float, int]]:
        # A notebook cell runs on the kernel's loop; simulate must not need that loop.
        return labkit.simulate(_sleepy_main, seed=3)

    inside = asyncio.run(kernel_cell())
    outside = labkit.simulate(_sleepy_main, seed=3)
    assert inside.result == outside.result
    assert inside.result[0] == 30.0


def test_simulate_works_inside_a_running_trio_loop() -> None:
    async def cell() -> labkit.Run[tuple[float, int]]:
        return labkit.simulate(_sleepy_main, seed=3)

    inside = anyio.run(cell, backend="trio")
    assert inside.result == labkit.simulate(_sleepy_main, seed=3).result


def test_real_time_run_inside_a_running_loop() -> None:
    async def quick() -> str:
        await anyio.sleep(0.001)
        return "done"

    async def cell() -> labkit.Run[str]:
        return labkit.run(quick)

    run = asyncio.run(cell())
    assert run.result == "done"
    assert not run.virtual


# -- determinism ----------------------------------------------------------------------------


def _trace_in_subprocess(seed: int, hashseed: str) -> str:
    # The labkit under test, not whichever one is installed.
    path = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, str(HERE / "_det_scenario.py"), str(seed)],
                         capture_output=True, text=True, env=env, check=True, timeout=120)
    return out.stdout


def test_same_seed_same_trace_across_processes() -> None:
    first = _trace_in_subprocess(11, "1")
    second = _trace_in_subprocess(11, "12345")
    assert first.count("\n") > 400
    assert first == second


def test_different_seed_gives_a_different_trace() -> None:
    assert _trace_in_subprocess(11, "1") != _trace_in_subprocess(12, "1")


def test_same_seed_same_trace_in_one_process() -> None:
    assert _det_scenario.trace_csv(5) == _det_scenario.trace_csv(5)


# -- real time on both backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_in_real_time_on_each_backend(backend: str) -> None:
    async def main() -> list[int]:
        ch: Channel[int] = Channel(0)

        async def producer() -> None:
            for i in range(5):
                await ch.send(i)

        current().start_task(producer, (), prefix="p", model=None)
        return [(await ch.recv())[0] for _ in range(5)]

    run = labkit.run(main, backend=backend)
    assert run.result == [0, 1, 2, 3, 4]
    assert not run.virtual
    assert run.elapsed >= 0


@pytest.mark.anyio
async def test_run_async_on_the_current_loop() -> None:
    async def main() -> int:
        ch: Channel[int] = Channel(1)
        await ch.send(41)
        return int((await ch.recv())[0]) + 1

    run = await labkit.run_async(main)
    assert run.result == 42
    with pytest.raises(labkit.NotInRunError):
        labkit.now()  # the run's context does not leak into the caller


def test_leaked_tasks_unwind_in_start_order_every_time() -> None:
    async def idle() -> None:
        await anyio.sleep_forever()

    async def main() -> None:
        for _ in range(40):
            current().start_task(idle, (), prefix="go", model="go")
        await anyio.sleep(1)

    def stops() -> list[str]:
        df = labkit.simulate(main).trace.df
        return list(df[df["kind"] == "stop"]["actor"])

    first = stops()
    assert first == [f"go-{i}" for i in range(1, 41)]
    for _ in range(5):
        assert stops() == first


def test_a_deadlocked_run_names_the_tasks_still_running() -> None:
    async def stuck(ch: Channel[int]) -> None:
        await ch.recv()

    async def main() -> None:
        ch: Channel[int] = Channel(0, name="never")
        current().start_task(stuck, (ch,), prefix="go", model="go")
        await ch.recv()

    with pytest.raises(labkit.Deadlock) as info:
        labkit.simulate(main)
    assert info.value.run is not None
    assert info.value.run.leaked == ("go-1",)


def test_an_interrupt_ends_a_simulation_after_its_step_and_leaves_nothing_behind() -> None:
    """``vloop.interrupt_running`` (what a signal handler calls: a worker's stop) ends a
    simulation with ``KeyboardInterrupt`` once the step under way is done, at any step:
    not a false deadlock, not a run that goes on; the next simulation is the whole run.
    (Raised in the middle of the loop's own code, the interrupt could leave a task that
    can never be woken, and the run's clean-up waiting for it for ever.)"""
    from labkit import go
    from labkit._runtime.vloop import interrupt_running

    async def main(at: int) -> int:
        ch: go.Chan[int] = go.Chan(1)

        async def producer() -> None:
            for i in range(40):
                await go.sleep(0.001)
                await ch.send(i)
            ch.close()

        go.go(producer)
        got = 0
        async for _ in ch:
            got += 1
            if got == at:
                interrupt_running()
            await go.sleep(0.002)
        return got

    whole = labkit.simulate(main, 0)
    assert whole.result == 40
    for at in range(1, 41, 3):
        with pytest.raises(KeyboardInterrupt):
            labkit.simulate(main, at)
    again = labkit.simulate(main, 0)
    assert again.result == 40 and again.trace.df.equals(whole.trace.df)
    with pytest.raises(KeyboardInterrupt):  # outside a simulation: at once
        interrupt_running()


def test_ctrl_c_during_a_simulation_is_a_keyboard_interrupt_after_the_step() -> None:
    """SIGINT (Ctrl-C, a Jupyter kernel's interrupt) during a simulation on the main
    thread: ``KeyboardInterrupt`` from the loop between steps, not an ``InvalidStateError``
    from a wake-up the signal handler cut in two; the handler is put back after."""
    from labkit import scenarios

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    for delay in (0.05, 0.13, 0.21):
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):  # long before its seconds of run
                scenarios.producer_consumer(model="rust", capacity=1, messages=300_000)
        finally:
            timer.join()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert scenarios.producer_consumer(model="rust", capacity=1, messages=50).result.delivered == 50
