"""Every benchmark workload runs on a handful of messages and counts them right.

No timing assertions: only that each workload does its ``n`` operations, reports a positive
wall time (so a positive rate), and that the harness and report hold together.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.harness import RATE, collect, run_once
from benchmarks.isolated import reference, resolve
from benchmarks.suite import Bench, suite

N = 40

BENCHES = [(group.key, bench) for group in suite() for bench in group.benches]


@pytest.mark.parametrize(("group", "bench"), BENCHES,
                         ids=[f"{key}:{bench.name}" for key, bench in BENCHES])
def test_workload_counts_every_operation(group: str, bench: Bench) -> None:
    n = min(N, bench.quick_n)  # a dashboard's redraw is counted in ones
    sample = bench.workload(n)
    assert sample.count == n
    assert sample.seconds > 0
    assert RATE.of(sample) > 0


def test_harness_rejects_a_wrong_count() -> None:
    from benchmarks.harness import BenchmarkError, Sample

    with pytest.raises(BenchmarkError, match="asked for 5"):
        run_once(lambda n: Sample(n - 1, 0.1), 5)


def test_collect_discards_warmup_rounds() -> None:
    from benchmarks.harness import Sample

    calls: list[int] = []

    def workload(n: int) -> Sample:
        calls.append(n)
        return Sample(n, 0.5 * len(calls))

    samples = collect(workload, 3, rounds=2, warmup=1)
    assert [s.seconds for s in samples] == [1.0, 1.5]


def test_workload_reference_round_trips() -> None:
    bench = next(b for _key, b in BENCHES if "trace on" in b.name)
    ref, keywords = reference(bench.workload)
    assert keywords == {"trace": True}
    assert resolve(ref, keywords)(N).count == N


@pytest.mark.slow
def test_quick_run_of_one_group_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    assert main(["--quick", "--only", "roundtrip", "--json", str(out)]) == 0
    assert '"key": "roundtrip"' in out.read_text()


@pytest.mark.parametrize(("argv", "says"), [
    (["--rounds", "0"], "argument --rounds: must be an int from 1 to 1000, got '0'"),
    (["--rounds", "many"], "argument --rounds: must be an int from 1 to 1000"),
    (["--only", "no-such-row"], "--only no-such-row matches no benchmark"),
    (["--only", "roundtrip", "--json", "BLOCKER/results.json"], "cannot write the results"),
    (["--fast"], "unrecognized arguments: --fast"),
])
def test_a_bad_argument_is_one_line_and_exit_code_2(argv: list[str], says: str,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    """Checked before anything is measured: no traceback, no minutes lost."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exc:
        main([a.replace("BLOCKER", str(blocker)) for a in argv])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("python -m benchmarks: error: ")
    assert captured.err.count("\n") == 1 and says in captured.err
