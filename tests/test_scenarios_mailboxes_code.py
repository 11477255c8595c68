"""Notebook 01 shows the mailboxes scenarios' Go-style and Rust-style functions with
labkit.codeview: each shown function must be one the scenario really runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from labkit import codeview, scenarios
from labkit.scenarios import mailboxes

RUNS: list[tuple[str, Callable[[str], Any]]] = [
    ("producer, consumer_main", lambda m: scenarios.producer_consumer(m, capacity=2,
                                                                      messages=5)),
    ("fifo_producer, fifo_main", scenarios.fifo_order),
    ("stream_producer, shutdown_main", lambda m: scenarios.who_closes(m, mistake=False)),
    ("select_main", lambda m: scenarios.select_fairness(m, iterations=10)),
    ("replier, server, ask_main", lambda m: scenarios.ask_reply(m, requests=3)),
    ("late_reader, edit_after_send", scenarios.ownership),
    ("contracts_main", lambda m: scenarios.message_contracts(m, handler="updated")),
]
EXTRA = {"go": ["fifo_closer", "range_consumer", "type_switch_worker"],
         "rust": ["consumer_with_own_handle", "match_worker"]}


@pytest.mark.parametrize("model", ["go", "rust"])
@pytest.mark.parametrize(("names", "run"), RUNS, ids=[r[0] for r in RUNS])
def test_shown_functions_are_the_ones_that_run(model: str, names: str,
                                               run: Callable[[str], Any],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    called: set[str] = set()
    wanted = [f"{model}_{n}" for n in names.split(", ")]
    for name in wanted + [f"{model}_{n}" for n in EXTRA[model]]:
        original = getattr(mailboxes, name)

        async def wrapper(*args: Any, _name: str = name, _fn: Any = original) -> Any:
            called.add(_name)
            return await _fn(*args)

        monkeypatch.setattr(mailboxes, name, functools.wraps(original)(wrapper))
    run(model)
    assert set(wanted) <= called


def test_codeview_shows_each_pair() -> None:
    view = codeview.side_by_side(go=[mailboxes.go_producer, mailboxes.go_consumer_main],
                                 rust=[mailboxes.rust_producer, mailboxes.rust_consumer_main])
    text = str(view)
    assert "ch.close()" in text and "with tx:" in text
    assert "(G11, G16)" in text and "(R3)" in text
