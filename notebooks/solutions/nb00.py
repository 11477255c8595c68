"""Reference solutions to notebook 00's exercises (try the hints first:
``exercises.hint("00.1")``, then 2, then 3).

``SOLUTIONS`` maps each exercise to the arguments ``exercises.check`` takes; ``WRONG`` holds a
typical wrong answer to each (the code as the notebook gives it).
"""

from __future__ import annotations

from typing import Any

from labkit import go, rust

# -- 00.1: Go-style, the sender closes ----------------------------------------------------


async def summer(numbers: go.Chan[int], total: go.Chan[int]) -> None:
    s = 0
    async for n in numbers:         # for n := range numbers
        s += n
    await total.send(s)             # total <- s


async def add_up(count: int) -> int:
    numbers: go.Chan[int] = go.Chan()
    total: go.Chan[int] = go.Chan()
    go.go(summer, numbers, total)
    for n in range(1, count + 1):
        await numbers.send(n)
    numbers.close()                 # the fix: no more numbers, so summer's loop ends (G16)
    result, _ok = await total.recv()
    return result


async def add_up_without_close(count: int) -> int:
    numbers: go.Chan[int] = go.Chan()
    total: go.Chan[int] = go.Chan()
    go.go(summer, numbers, total)
    for n in range(1, count + 1):
        await numbers.send(n)
    result, _ok = await total.recv()
    return result


# -- 00.2: Rust-style, the last Sender is dropped ------------------------------------------


async def producer(tx: Any, numbers: range) -> None:
    for n in numbers:
        (await tx.send(n)).unwrap()
    tx.drop()                       # this clone is done


async def rust_summer(rx: Any) -> int:
    total = 0
    while (n := await rx.recv()) is not None:   # None once every Sender is gone (R15)
        total += n
    return total


async def rust_add_up(count: int) -> int:
    tx, rx = rust.mpsc.channel(4)
    adder = rust.spawn(rust_summer, rx, name="summer")
    rust.spawn(producer, tx.clone(), range(1, count + 1, 2), name="odd")
    rust.spawn(producer, tx.clone(), range(2, count + 1, 2), name="even")
    tx.drop()                       # the fix: main's Sender no longer keeps the channel open
    result: int = (await adder).unwrap()
    return result


async def rust_add_up_keeping_tx(count: int) -> int:
    tx, rx = rust.mpsc.channel(4)
    adder = rust.spawn(rust_summer, rx, name="summer")
    rust.spawn(producer, tx.clone(), range(1, count + 1, 2), name="odd")
    rust.spawn(producer, tx.clone(), range(2, count + 1, 2), name="even")
    result: int = (await adder).unwrap()
    return result


SOLUTIONS = {"00.1": (add_up,), "00.2": (rust_add_up,)}
WRONG = {"00.1": (add_up_without_close,), "00.2": (rust_add_up_keeping_tx,)}
