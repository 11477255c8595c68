"""The ``labkit`` command: list, show and run scenarios headless; files it writes."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labkit import scenarios
from labkit.cli import CliError, main, parse_params


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
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
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
    assert err.startswith("labkit: error: producer_consumer:") and "capacity" in err
    err = fail_cli(capsys, "run", "overload", "model=go", "--models", "go")
    assert "not both" in err
    err = fail_cli(capsys, "run", "ping_pong", "--chart", "pie", "--out", str(tmp_path))
    assert "unknown chart 'pie'" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = fail_cli(capsys, "run", "ping_pong", "--trace", str(blocker / "t.csv"))
    assert "cannot write the trace" in err


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
