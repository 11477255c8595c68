"""Live differential tests (issue 12): build the real Go and tokio programs of ``real/``,
run them, and compare what they print with the golden files (``data/real``) and with
labkit's twins.

They need Go (``apt-get install golang-go``), cargo and tokio's sources (``apt-get install
librust-tokio-dev``, plus ``cargo`` if there is none). Without them these tests skip and
say what to install; with ``LABKIT_REQUIRE_REAL=1`` (as ``.ci/run`` sets) a missing
toolchain is a failure. Builds are cached in ``real/.build`` (gitignored).
"""

from __future__ import annotations

import functools
import os
import re
import time
from pathlib import Path

import pytest

from labkit import real
from labkit.real import CASES, compare, golden, known, run_real, twin
from tests.rust.test_texts import TOKIO_TEXTS
from tests.test_real_golden import PAIRS, _id


def _need(model: str) -> None:
    why = real.missing(model)
    if why is None:
        return
    if os.environ.get("LABKIT_REQUIRE_REAL") == "1":
        pytest.fail(f"LABKIT_REQUIRE_REAL=1 but the real {model} programs cannot be built: "
                    f"{why} (see .ci/run)")
    pytest.skip(f"real {model} programs not built here: {why}")


@functools.cache
def _live(case: str, model: str) -> list[real.Event]:
    return run_real(case, model)


@pytest.mark.parametrize(("case", "model"), PAIRS, ids=[_id(*p) for p in PAIRS])
def test_real_program_prints_what_was_recorded(case: str, model: str) -> None:
    _need(model)
    live, recorded = _live(case, model), golden(case, model)
    problems = compare(case, model, recorded, live)
    assert not problems, "\n".join(problems)
    assert [e for e in live if known(case, model, e)] == \
        [e for e in recorded if known(case, model, e)]
    assert {e["model"] for e in live} == {model}


@pytest.mark.parametrize(("case", "model"), PAIRS, ids=[_id(*p) for p in PAIRS])
def test_real_program_and_labkit_twin_agree(case: str, model: str) -> None:
    _need(model)
    problems = compare(case, model, _live(case, model), twin(case, model))
    assert not problems, "\n".join(problems)


def test_both_projects_build_from_cold_in_under_a_minute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need("go")
    _need("rust")
    monkeypatch.setattr(real, "BUILD", tmp_path / "build")  # cold: empty caches
    start = time.monotonic()
    go_bins = real.build("go")
    rust_bins = real.build("rust")
    took = time.monotonic() - start
    for case, info in CASES.items():
        for model, folder in (("go", go_bins), ("rust", rust_bins)):
            if model in info.models:
                assert (folder / case).is_file(), f"{model} {case} was not built"
    assert took < 60, f"building both projects from cold took {took:.1f} s"


def _tokio_sources() -> str:
    _need("rust")
    tokio = sorted(real.CARGO_REGISTRY.glob("tokio-1.*"))[-1] / "src"
    return "\n".join(p.read_text(encoding="utf-8") for p in tokio.rglob("*.rs")
                     if "error" in p.name or p.name in ("broadcast.rs", "watch.rs",
                                                        "oneshot.rs",
                                                        "batch_semaphore.rs"))


@pytest.mark.parametrize(("rust_type", "text"), [(t[0], t[2]) for t in TOKIO_TEXTS],
                         ids=[t[0] for t in TOKIO_TEXTS])
def test_r9_r24_r33_labkit_texts_are_in_the_vendored_tokio_sources(rust_type: str,
                                                                  text: str) -> None:
    sources = _tokio_sources()
    pattern = re.sub(r"\d+", "{}", text)  # "channel lagged by 2" -> "channel lagged by {}"
    assert f'"{pattern}"' in sources, f"{rust_type}: {text!r} is not tokio's text"


# -- without the toolchains --------------------------------------------------------------


@pytest.mark.parametrize(("model", "install"), [
    ("go", "apt-get install golang-go"),
    ("rust", "apt-get install (librust-tokio-dev )?cargo")])  # tokio's sources only if absent
def test_missing_toolchain_skips_saying_what_to_install(
        model: str, install: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("labkit.real.shutil.which", lambda _name: None)
    monkeypatch.delenv("LABKIT_REQUIRE_REAL", raising=False)
    with pytest.raises(pytest.skip.Exception, match=install):
        _need(model)
    with pytest.raises(real.ToolchainMissing, match=install):
        real.build(model)


def test_missing_toolchain_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("labkit.real.shutil.which", lambda _name: None)
    monkeypatch.setenv("LABKIT_REQUIRE_REAL", "1")
    with pytest.raises(pytest.fail.Exception, match=r"LABKIT_REQUIRE_REAL=1 .*golang-go"):
        _need("go")
