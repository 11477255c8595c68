"""labkit's twins against what real Go and real tokio did (issue 12), on every machine.

``data/real/CASE.MODEL.jsonl`` holds the output of the real programs in ``real/`` (recorded
with the toolchains named in ``data/real/manifest.json``); each test runs labkit's twin of
one program and compares it with :func:`labkit.real.compare`: exactly, apart from the
real schedule's choices (select fairness as a share within a bound, work queues as
invariants and orders) and task ids. Test ids name the case, the model and its rules.
Known differences are strict expected failures: fixing one turns its test red until the
entry in :data:`labkit.real.KNOWN_DIFFERENCES` goes.
"""

from __future__ import annotations

import json

import pytest

from labkit import real
from labkit.real import CASES, GOLDEN, KNOWN_DIFFERENCES, compare, golden, twin

PAIRS = [(case, model) for case, info in CASES.items() for model in info.models]


def _id(case: str, model: str) -> str:
    rules = [r for r in CASES[case].rules if r[0] == ("G" if model == "go" else "R")]
    return "-".join([case, model, *rules])


@pytest.mark.parametrize(("case", "model"), PAIRS, ids=[_id(*p) for p in PAIRS])
def test_twin_behaves_as_the_real_runtime_did(case: str, model: str) -> None:
    problems = compare(case, model, golden(case, model), twin(case, model))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "known", [pytest.param(k, id=f"{k.case}-{k.model}-{k.event}",
                           marks=pytest.mark.xfail(strict=True, reason=k.reason))
              for k in KNOWN_DIFFERENCES])
def test_known_difference(known: real.KnownDifference) -> None:
    recorded = [e for e in golden(known.case, known.model) if known.matches(e)]
    ours = [e for e in twin(known.case, known.model) if known.matches(e)]
    assert recorded, "the golden file has no such event: the entry is stale"
    assert len(ours) == len(recorded)
    strip = [{k: v for k, v in e.items() if k != "model"} for e in recorded]
    assert strip == [{k: v for k, v in e.items() if k != "model"} for e in ours]


def test_manifest_lists_every_golden_file_and_the_toolchains() -> None:
    manifest = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cases"] == {c: list(i.models) for c, i in CASES.items()}
    assert manifest["toolchains"]["go"].startswith("go version go1.")
    assert manifest["toolchains"]["tokio"].startswith("1.")
    assert "rustc" in manifest["toolchains"]
    files = {p.name for p in GOLDEN.glob("*.jsonl")}
    assert files == {f"{c}.{m}.jsonl" for c, m in PAIRS}


@pytest.mark.parametrize(("case", "model"), PAIRS, ids=[_id(*p) for p in PAIRS])
def test_golden_and_twin_lines_share_one_shape(case: str, model: str) -> None:
    for events, who in ((golden(case, model), model), (twin(case, model), f"labkit-{model}")):
        assert events
        for ev in events:
            assert ev["case"] == case and ev["model"] == who
            assert isinstance(ev["event"], str) and ev["event"]
            assert all(isinstance(v, int | str | bool | list) for v in ev.values())
        text = real.lines(events)
        assert real.parse(text) == events
        assert text.splitlines()[0] == json.dumps(events[0], sort_keys=True,
                                                  separators=(",", ":"))


def test_every_case_cites_rules_that_exist() -> None:
    from tests.test_rules import EXPECTED

    for case, info in CASES.items():
        assert info.rules and set(info.rules) <= set(EXPECTED), case
        if "rust" in info.models:
            assert any(r.startswith("R") for r in info.rules), case


# -- the comparison itself catches differences ------------------------------------------


def test_compare_reports_a_changed_event() -> None:
    recorded = golden("ping_pong", "go")
    changed = [dict(e) for e in recorded]
    changed[-1]["ball"] = 4
    problems = compare("ping_pong", "go", recorded, changed)
    assert len(problems) == 1 and "event 6" in problems[0]
    assert compare("ping_pong", "go", recorded, changed[:-1])  # a missing event too


def test_compare_reads_task_ids_as_n() -> None:
    recorded = golden("panic_blast", "rust")
    assert any(e.get("display") == "task 1 panicked" for e in recorded)
    ours = twin("panic_blast", "rust")
    assert any(e.get("display") == "task bad panicked" for e in ours)
    assert not compare("panic_blast", "rust", recorded, ours)


def test_g21_r28_compare_holds_random_select_to_a_share_within_the_bound() -> None:
    recorded = golden("select_fairness", "rust")
    ours = twin("select_fairness", "rust")
    lopsided = [dict(e, first=1400) if e["mode"] == "random" else e for e in ours]
    assert compare("select_fairness", "rust", recorded, lopsided)
    unbiased = [dict(e, first=1000) if e["mode"] == "biased" else e for e in ours]
    assert compare("select_fairness", "rust", recorded, unbiased)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_g21_r28_twin_shares_stay_in_the_bound_whatever_the_seed(seed: int) -> None:
    for model in ("go", "rust"):
        assert not compare("select_fairness", model, golden("select_fairness", model),
                           twin("select_fairness", model, seed=seed))


def test_g7_compare_checks_the_work_queue_invariants() -> None:
    ours = twin("work_queue", "go")
    swapped = [dict(e, count=12 - e["count"])
               if e["event"] == "jobs" and e["layout"] == "shared" else e for e in ours]
    assert any("fast worker more" in p for p in compare("work_queue", "go", ours, swapped))


def test_unknown_case_or_model_is_refused() -> None:
    with pytest.raises(ValueError, match="no case named 'nope'"):
        twin("nope", "go")
    with pytest.raises(ValueError, match="model is one of go, rust"):
        twin("ping_pong", "java")
    with pytest.raises(ValueError, match="has no go program"):
        twin("broadcast_lag", "go")


def test_real_readme_lists_every_case_with_its_rules() -> None:
    readme = (real.REAL / "README.md").read_text(encoding="utf-8")
    for case, info in CASES.items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{case}` |")),
                   None)
        assert row is not None, f"real/README.md has no row for {case}"
        assert ", ".join(info.rules) in row, case
    for known in KNOWN_DIFFERENCES:
        assert f"`{known.case}`/{known.model}" in readme


# -- for the notebooks: the recorded outcome beside the twin's, without a toolchain -------


def test_compare_table_puts_the_recorded_lines_beside_the_twins() -> None:
    table = real.compare_table("ping_pong")
    assert list(table.columns) == ["model", "event", "real", "labkit", "same"]
    assert list(table["model"]) == ["go"] * 7 + ["rust"] * 7
    assert set(table["same"]) == {"="}
    first = table.iloc[0]
    assert (first["event"], first["real"], first["labkit"]) == ("hit", 'ball=0 by="ping"',
                                                                'ball=0 by="ping"')
    assert real.compare_table("ping_pong").equals(table)  # deterministic


def test_compare_table_says_known_differences_with_their_reason() -> None:
    table = real.compare_table("ownership")
    struct = table.iloc[0]
    assert (struct["real"], struct["labkit"]) == ('kind="struct" value=1',
                                                  'kind="struct" value=99')
    assert struct["same"].startswith("known difference: labkit's go.Chan passes")
    moved = table[table["event"] == "use_after_move"].iloc[0]
    assert moved["real"] == 'outcome="rejected" when="compile"'
    assert "E0382" in moved["same"]
    zero = real.compare_table("rendezvous", "rust").iloc[-1]
    assert "panic" in zero["real"] and "ValueError" in zero["labkit"]


def test_compare_table_reads_schedule_dependent_cases_as_compare_does() -> None:
    fair = real.compare_table("select_fairness")
    assert list(fair["same"]) == ["≈ share within ±0.05 of 1/2"] * 2 + ["="]
    assert (fair["model"] == "rust").sum() == 2
    assert set(real.compare_table("work_queue", "go")["same"]) <= {
        "=", "≈ same invariants and order"}


def test_compare_table_marks_a_missing_or_changed_line(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = golden("ping_pong", "go")
    monkeypatch.setattr(real, "golden", lambda case, model: [*recorded[:-1],
                                                             dict(recorded[-1], ball=4)])
    table = real.compare_table("ping_pong", "go")
    assert list(table["same"])[-1] == "≠"
    monkeypatch.setattr(real, "golden", lambda case, model: recorded[:-1])
    last = real.compare_table("ping_pong", "go").iloc[-1]
    assert (last["real"], last["same"]) == ("—", "≠")


def test_twin_functions_and_source_paths_name_what_runs() -> None:
    for case, info in CASES.items():
        for model in info.models:
            functions = real.twin_functions(case, model)
            assert functions[0] is real._TWIN_SOURCES.get((case, model), functions)[0]
            assert real.source_path(case, model).is_file()
    assert real.source_path("ping_pong", "go").as_posix().endswith(
        "real/go/cmd/ping_pong/main.go")
    with pytest.raises(ValueError, match="no case named"):
        real.compare_table("nope")
