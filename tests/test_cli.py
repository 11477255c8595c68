"""The ``labkit`` command: list, show and run scenarios headless; files it writes."""

from __future__ import annotations

import inspect
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labkit import scenarios
from labkit.cli import CliError, main, parse_bool, parse_params


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    out: str = capsys.readouterr().out
    return out


def fail_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == 2
    err: str = capsys.readouterr().err
    return err


def test_list_names_every_scenario_with_its_description(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    lines = run_cli(capsys, "list").splitlines()
    assert len(lines) == len(scenarios.SCENARIOS)
    for line, (name, description) in zip(lines, scenarios.DESCRIPTIONS.items(), strict=True):
        assert line.split()[0] == name
        assert line.endswith(description)


def test_show_gives_parameters_defaults_and_docs(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(capsys, "show", "producer_consumer")
    for param in inspect.signature(scenarios.producer_consumer).parameters.values():
        assert f"  {param.name}={param.default!r}" in out
    assert "seed=0" in out
    assert "Go" in out  # the docstring


def test_run_prints_the_same_numbers_as_the_scenario(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    out = run_cli(capsys, "run", "producer_consumer", "capacity=3", "messages=40", "--seed", "2")
    expected = scenarios.producer_consumer(capacity=3, messages=40, seed=2).result
    assert out.startswith("producer_consumer (seed 2):")
    fields = dict(line.split(None, 1) for line in out.splitlines()[1:]
                  if not line.startswith(("  trace rows", "  virtual seconds")))
    assert fields["delivered"] == str(expected.delivered)
    assert fields["peak_depth"] == str(expected.peak_depth)
    assert fields["producer_blocked"] == f"{expected.producer_blocked:.6g}"
    assert fields["channel"] == expected.channel
    assert out == run_cli(capsys, "run", "producer_consumer", "capacity=3", "messages=40",
                          "--seed", "2")  # deterministic


def test_run_json_with_models_and_params(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(capsys, "run", "overload", "policy=block", "arrival_rate=20",
                  "messages=60", "--models", "go", "rust", "--json")
    data = json.loads(out)
    assert data["params"]["arrival_rate"] == 20.0
    assert list(data["runs"]) == ["go", "rust"]
    for model, summary in data["runs"].items():
        expected = scenarios.overload(model, "block", arrival_rate=20.0, messages=60,
                                      seed=0).result
        assert summary["result"]["model"] == model
        assert summary["result"]["delivered"] == expected.delivered == 60
        assert summary["result"]["producer_wait"] == pytest.approx(expected.producer_wait)
        assert summary["completed"] is True


def test_run_writes_trace_and_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    trace = tmp_path / "deep" / "trace.csv"
    out = run_cli(capsys, "run", "producer_consumer", "messages=30", "--models", "go", "rust",
                  "--trace", str(trace), "--chart", "depth", "latency",
                  "--out", str(tmp_path / "charts"))
    df = pd.read_csv(trace)
    assert set(df["run"]) == {"go", "rust"}
    assert {"time", "kind", "actor", "peer", "msg_id"} <= set(df.columns)
    for kind in ("depth", "latency"):
        svg = (tmp_path / "charts" / f"producer_consumer-{kind}.svg").read_text()
        assert svg.startswith("<svg") and "rust" in svg and "go" in svg
        assert f"chart written to {tmp_path / 'charts'}" in out
    run_cli(capsys, "run", "ping_pong", "--chart", "sequence", "--format", "html",
            "--out", str(tmp_path))
    page = (tmp_path / "ping_pong-sequence.html").read_text()
    # interactive and offline: Vega inlined, nothing loaded from elsewhere; the static SVG
    # for a browser without JavaScript
    assert page.lower().startswith("<!doctype html>") and "<noscript>\n<svg" in page
    assert "<title>ping_pong-sequence</title>" in page and '"time_zoom_y"' in page
    assert "<script" in page and not re.search(r"<script[^>]*\bsrc=", page)
    assert "<link" not in page
    run_cli(capsys, "run", "ping_pong", "--chart", "timeline", "--format", "png",
            "--out", str(tmp_path))
    assert (tmp_path / "ping_pong-timeline.png").read_bytes().startswith(b"\x89PNG")


def test_mistakes_get_a_clear_error_and_exit_code_2(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    err = fail_cli(capsys, "run", "producer_consumr")
    assert "no scenario named 'producer_consumr'" in err and "producer_consumer" in err
    err = fail_cli(capsys, "run", "producer_consumer", "capasity=3")
    assert "no parameter 'capasity'" in err and "did you mean capacity" in err
    err = fail_cli(capsys, "run", "producer_consumer", "capacity")
    assert "name=value" in err
    err = fail_cli(capsys, "run", "producer_consumer", "capacity=-1")
    assert err == ("labkit: error: producer_consumer: capacity must be an int from 0 to "
                   "1,000,000, got int -1\n")
    err = fail_cli(capsys, "run", "overload", "model=go", "--models", "go")
    assert "not both" in err
    err = fail_cli(capsys, "run", "ping_pong", "--chart", "pie", "--out", str(tmp_path))
    assert "unknown chart 'pie'" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = fail_cli(capsys, "run", "ping_pong", "--trace", str(blocker / "t.csv"))
    assert "cannot create the folder of the trace file" in err
    err = fail_cli(capsys, "run", "ping_pong", "--chart", "depth", "--out", str(blocker))
    assert "cannot create the chart folder" in err


BLOCKER = "blocker-file"  # a file: no folder can be made below it

#: Command lines with a mistake, and a piece of the one line that says what it is.
MISTAKES = [
    ([], "the following arguments are required"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run"], "the following arguments are required: name"),
    (["run", "nope"], "no scenario named 'nope'"),
    (["show", "nope"], "no scenario named 'nope'"),
    (["run", "ping_pong", "speed=3"], "ping_pong has no parameter 'speed'"),
    (["run", "ping_pong", "rounds=3", "rounds=4"], "given twice"),
    (["run", "ping_pong", "rounds="], "rounds= has no value"),
    (["run", "ping_pong", "seed=3"], "give the seed as --seed 3"),
    (["run", "ping_pong", "rounds=lots"], "rounds must be an int from 0 to 1,000,000, got str"),
    (["run", "ping_pong", "rounds=1e400"], "rounds must be an int"),
    (["run", "ping_pong", "hit_time=nan"], "hit_time must be a finite number of seconds"),
    (["run", "ping_pong", "hit_time=-inf"], "hit_time must be a finite number of seconds"),
    (["run", "ping_pong", "hit_time=" + "9" * 500], "hit_time must be a finite number"),
    (["run", "ping_pong", "model=[" * 3000], "model must be one of"),
    (["run", "who_closes", "mistake=maybe"],
     "mistake is true or false (also yes/no, on/off, 1/0), got 'maybe'"),
    (["run", "who_closes", "mistake=2"], "mistake is true or false"),
    (["run", "ping_pong", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["run", "ping_pong", "--seed", "1.5"], "argument --seed: invalid int value"),
    (["run", "ping_pong", "--models", "java"], "model must be one of"),
    (["run", "ping_pong", "--models", "go", "go"], "--models names go twice"),
    (["run", "rate_limit", "--models", "go"], "rate_limit has no model parameter"),
    (["run", "ping_pong", "--chart"], "argument --chart: expected at least one argument"),
    (["run", "ping_pong", "--chart", "depth", "--format", "gif"], "invalid choice: 'gif'"),
    (["run", "ping_pong", "--format", "png"], "--format is for chart files"),
    (["run", "ping_pong", "--out", "charts"], "--out is for chart files"),
    (["run", "ping_pong", "--chart", "depth", "--out", f"{BLOCKER}/charts"],
     "cannot create the chart folder"),
    (["run", "ping_pong", "--trace", f"{BLOCKER}/deep/t.csv"],
     "cannot create the folder of the trace file"),
    (["run", "ping_pong", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("argv", "says"), MISTAKES, ids=[" ".join(a)[:40] for a, _ in MISTAKES])
def test_a_mistake_is_one_line_on_stderr_and_exit_code_2(
        argv: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / BLOCKER).write_text("")
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran, nothing half-printed
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n")
    assert captured.err.startswith("labkit") and ": error: " in captured.err
    assert says in captured.err
    assert list(tmp_path.iterdir()) == [tmp_path / BLOCKER]  # and nothing was written


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_every_parameter_with_a_bad_value_is_one_line(name: str,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """No value typed for any parameter gets a traceback: it runs or it is one line."""
    fn = scenarios.SCENARIOS[name]
    for param in inspect.signature(fn).parameters:
        if param == "seed":
            continue
        for text in ("abc", "-1", "nan", "-inf", "1e400", "[", "{}", "2.5j", "9" * 400):
            code: int | str | None
            try:
                code = main(["run", name, f"{param}={text}", "--json"])
            except SystemExit as exc:
                code = exc.code
            err = capsys.readouterr().err
            assert code in (0, 2), (param, text)
            if code == 2:
                assert err.count("\n") == 1 and param in err, (param, text, err)


@pytest.mark.parametrize(("text", "value"), [
    ("no", False), ("NO", False), ("false", False), ("False", False), ("off", False),
    ("0", False), ("yes", True), ("Yes", True), ("true", True), ("TRUE", True), ("on", True),
    ("1", True), (" no ", False),
])
def test_bool_parameters_take_true_false_yes_no_on_off_1_0(text: str, value: bool) -> None:
    assert parse_params(scenarios.who_closes, [f"mistake={text}"]) == {"mistake": value}
    assert parse_bool("mistake", text) is value


def test_mistake_no_runs_the_fixed_program(capsys: pytest.CaptureFixture[str]) -> None:
    """``mistake=no`` is False: the producer closes the channel and nothing hangs (G28)."""
    data = json.loads(run_cli(capsys, "run", "who_closes", "mistake=no", "--json"))
    result = data["runs"]["who_closes"]["result"]
    assert result["mistake"] is False and result["hung"] is False and result["received"] == 3
    data = json.loads(run_cli(capsys, "run", "who_closes", "mistake=yes", "--json"))
    assert data["runs"]["who_closes"]["result"]["hung"] is True


def test_words_for_infinity_and_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """``inf`` is a float (an unlimited patience); ``none`` is None."""
    assert parse_params(scenarios.who_closes, ["patience=inf"]) == {"patience": math.inf}
    assert parse_params(scenarios.who_closes, ["patience=None"]) == {"patience": None}
    data = json.loads(run_cli(capsys, "run", "who_closes", "patience=inf", "--json"))
    assert data["runs"]["who_closes"]["result"]["deadlock"] is True


def test_a_bad_argument_in_a_fresh_process_has_no_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "labkit", "run", "who_closes",
                           "mistake=perhaps"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == ("labkit: error: mistake is true or false (also yes/no, on/off, "
                           "1/0), got 'perhaps'\n")


def test_parse_params_types() -> None:
    kwargs = parse_params(scenarios.overload, ["arrival_rate=20", "capacity=5",
                                               "policy=drop_head", "pacing=fixed"])
    assert kwargs == {"arrival_rate": 20.0, "capacity": 5, "policy": "drop_head",
                      "pacing": "fixed"}
    assert isinstance(kwargs["arrival_rate"], float)
    kwargs = parse_params(scenarios.scatter_gather, ["delays=[0.01, 0.2]", "model=go"])
    assert kwargs == {"delays": [0.01, 0.2], "model": "go"}
    with pytest.raises(CliError, match="given twice"):
        parse_params(scenarios.overload, ["capacity=1", "capacity=2"])


def test_python_dash_m_labkit_runs_in_a_fresh_process() -> None:
    done = subprocess.run([sys.executable, "-m", "labkit", "run", "fifo_order", "--json"],
                          capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(done.stdout)["scenario"] == "fifo_order"


# -- labkit real: a real Go/tokio program beside its labkit twin ----------------------------


def test_real_lists_the_cases_with_their_models_and_rules(capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    from labkit import real

    lines = run_cli(capsys, "real").splitlines()
    assert [line.split()[0] for line in lines] == list(real.CASES)
    assert "rust" in lines[list(real.CASES).index("broadcast_lag")].split()[1]
    assert "G33" in lines[list(real.CASES).index("who_closes")]


def test_real_golden_shows_the_recorded_run_and_the_twin(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    out = run_cli(capsys, "real", "who_closes", "--model", "go", "--golden")
    assert out.startswith("== real go (recorded)\n")
    assert "== labkit-go (its twin, seed 0)" in out
    assert out.count("fatal error: all goroutines are asleep - deadlock!") == 2
    assert "-- go and labkit-go agree" in out
    assert "rust" not in out


def test_real_golden_names_the_known_differences(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(capsys, "real", "ownership", "--golden")
    assert "-- known difference (received): labkit's go.Chan passes" in out
    assert "-- known difference (use_after_move): Python has no borrow checker" in out
    assert "-- go and labkit-go agree" in out and "-- rust and labkit-rust agree" in out


def test_real_json_prints_only_the_lines(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(capsys, "real", "panic_blast", "--golden", "--json")
    models = [json.loads(line)["model"] for line in out.splitlines()]
    assert set(models) == {"go", "labkit-go", "rust", "labkit-rust"}


@pytest.mark.parametrize(("argv", "message"), [
    (["real", "pingpong"], "no real case named 'pingpong'; did you mean ping_pong?"),
    (["real", "watch_latest", "--model", "go"], "case watch_latest has no go program"),
])
def test_real_mistakes_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                    message: str) -> None:
    err = fail_cli(capsys, *argv)
    assert message in err and err.count("\n") == 1


def test_real_without_toolchains_says_what_to_install(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("labkit.real.shutil.which", lambda _name: None)
    err = fail_cli(capsys, "real", "ping_pong")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "go: no `go` on PATH: apt-get install golang-go" in err
    assert "rust: no `cargo` on PATH" in err and "cargo" in err
    assert "--golden" in err
    err = fail_cli(capsys, "real", "broadcast_lag")
    assert "golang-go" not in err  # only what this case needs


def test_real_runs_the_real_programs_when_the_toolchains_are_here(
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_real_live import _need

    _need("go")
    _need("rust")
    out = run_cli(capsys, "real", "panic_blast")
    assert "== real go (ran now)" in out and "== real rust (ran now)" in out
    assert '"stderr":"panic: boom"' in out
    assert "-- go and labkit-go agree" in out and "-- rust and labkit-rust agree" in out


def test_real_exits_1_when_real_and_twin_differ(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import real

    monkeypatch.setattr(real, "twin", lambda case, model, seed=0: [])
    assert main(["real", "ping_pong", "--model", "go", "--golden"]) == 1
    assert "-- go and labkit-go DIFFER:" in capsys.readouterr().out
