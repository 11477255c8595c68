"""Binder configuration (``binder/``): checked offline, then exercised in a fresh environment.

repo2docker facts these tests rely on: when ``binder/`` exists, files at the repository root
(``pyproject.toml`` included) are ignored; an ``environment.yml`` silently wins over
``requirements.txt``; without ``runtime.txt`` the Python is 3.10, too old for pandas 3 and
altair 6; ``repo2docker --no-build --debug <dir>`` prints the Dockerfile without Docker.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
RUNTIME = BINDER / "runtime.txt"
REQUIREMENTS = BINDER / "requirements.txt"
POSTBUILD = BINDER / "postBuild"
BINDER_PYTHON = (3, 12)

# What the notebooks need; labkit itself comes from postBuild, not from requirements.txt.
NOTEBOOK_PACKAGES = {"jupyterlab", "ipywidgets", "anyio", "pandas", "altair", "vl-convert-python",
                     "anywidget"}

# Test tools installed next to binder/requirements.txt in the fresh environment (not on Binder).
TEST_TOOLS = ("pytest==9.2.0", "nbval==0.11.0")

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)$")


def _pins() -> dict[str, str]:
    """binder/requirements.txt as {canonical name: version}; fails on any line that is not a pin."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(REQUIREMENTS.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"requirements.txt:{number}: {raw!r} is not an exact pin (name==version)"
        name = canonicalize_name(match["name"])
        assert name not in pins, f"requirements.txt:{number}: {name} pinned twice"
        pins[name] = match["version"]
    return pins


# --------------------------------------------------------------------------- offline checks


def test_runtime_pins_python_312() -> None:
    assert RUNTIME.read_text().strip() == "python-{}.{}".format(*BINDER_PYTHON)


def test_no_environment_file_overrides_requirements() -> None:
    # environment.yml (or a Pipfile) in binder/ would silently win over requirements.txt.
    shadowing = {"environment.yml", "environment.yaml", "Pipfile", "Pipfile.lock"}
    assert not shadowing & {p.name for p in BINDER.iterdir()}


def test_requirements_are_exact_pins_of_what_the_notebooks_need() -> None:
    pins = _pins()
    missing = {canonicalize_name(n) for n in NOTEBOOK_PACKAGES} - pins.keys()
    assert not missing, f"binder/requirements.txt lacks {sorted(missing)}"
    assert "labkit" not in pins, "labkit is installed from the checkout by postBuild"


def test_requirements_satisfy_labkit_dependencies() -> None:
    # Root pyproject.toml is ignored on Binder: its runtime and notebook dependencies must be
    # pinned here, at versions its specifiers accept.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["notebooks"]]
    pins = _pins()
    for spec in map(Requirement, declared):
        name = canonicalize_name(spec.name)
        assert name in pins, f"{spec} (pyproject.toml) is not pinned in binder/requirements.txt"
        assert spec.specifier.contains(pins[name], prereleases=True), (
            f"binder/requirements.txt pins {name}=={pins[name]}, pyproject.toml wants {spec}"
        )


def test_postbuild_is_executable_and_installs_labkit_from_the_checkout() -> None:
    assert os.access(POSTBUILD, os.X_OK), "binder/postBuild must be executable"
    text = POSTBUILD.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    commands = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    install = [c for c in commands if re.search(r"\bpip install\b", c)]
    assert len(install) == 1, install
    assert "--no-deps" in install[0]
    assert re.search(r"(^|\s)(-e\s+)?\.$", install[0]), "postBuild must install the repo root"
    subprocess.run(["bash", "-n", str(POSTBUILD)], check=True)


@pytest.mark.skipif(
    importlib.util.find_spec("repo2docker") is None,
    reason="jupyter-repo2docker is not installed (pip install jupyter-repo2docker)",
)
def test_repo2docker_dockerfile() -> None:
    # --no-build renders the Dockerfile repo2docker would build, without Docker or network.
    proc = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    dockerfile = proc.stdout
    assert "FROM " in dockerfile
    assert "Building conda environment for python=3.12" in proc.stderr, proc.stderr
    # The base environment is copied in from a lock file per Python version; its name is
    # escaped in COPY sources ("-2e" for ".", "-2d" for "-"), hence the decoding.
    decoded = re.sub(r"-([0-9a-f]{2})", lambda m: chr(int(m[1], 16)), dockerfile)
    locks = set(re.findall(r"environment\.py-(\d+\.\d+)-linux-64\.lock", decoded))
    assert locks == {"3.12"}, f"base environment lock files: {sorted(locks)}"
    assert re.search(r'pip install --no-cache-dir -r "?binder/requirements\.txt"?', dockerfile)
    assert re.search(r"^RUN \./binder/postBuild$", dockerfile, re.MULTILINE)
    # The root pyproject.toml is not used by repo2docker: labkit comes from postBuild only.
    assert "pyproject.toml" not in dockerfile


# --------------------------------------------------------------------------- fresh environment


def _python_version(exe: str) -> tuple[int, int] | None:
    """(major, minor) of a working interpreter with venv and ensurepip, else None."""
    try:
        out = subprocess.run(
            [exe, "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a version that is not selected
    return (int(out[0]), int(out[1])) if len(out) == 2 else None


def _find_binder_python() -> str:
    """A Python 3.12 (Binder's), or this interpreter when there is none."""

    def version_key(path: str) -> tuple[int, ...]:
        match = re.search(r"/versions/(\d+(?:\.\d+)*)", path)
        return tuple(int(p) for p in match[1].split(".")) if match else ()

    name = "python{}.{}".format(*BINDER_PYTHON)
    pattern = "~/.pyenv/versions/{}.{}*/bin/".format(*BINDER_PYTHON) + name
    pyenv = sorted(glob.glob(os.path.expanduser(pattern)), key=version_key, reverse=True)
    candidates = [shutil.which(name), *pyenv, f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    for exe in candidates:
        if exe and _python_version(exe) == BINDER_PYTHON:
            return exe
    return sys.executable


@pytest.fixture(scope="module")
def binder_venv() -> Iterator[Path]:
    """A virtual environment built like the Binder image: requirements.txt, then postBuild.

    Cached under .venv-binder/, keyed by the interpreter, the checkout's path and the contents
    of requirements.txt and postBuild; labkit is installed editable (as postBuild does), so
    changes to labkit/ need no rebuild.
    """
    python = _find_binder_python()
    version = _python_version(python)
    assert version is not None
    digest = hashlib.sha256()
    digest.update(f"{version}\n{os.path.realpath(python)}\n{TEST_TOOLS}\n{ROOT}\n".encode())
    digest.update(REQUIREMENTS.read_bytes())
    digest.update(POSTBUILD.read_bytes())
    cache = ROOT / ".venv-binder"
    venv = cache / "py{}.{}-{}".format(*version, digest.hexdigest()[:12])
    stamp = venv / ".labkit-binder-complete"
    cache.mkdir(exist_ok=True)
    (cache / ".gitignore").write_text("# created by tests/test_binder.py\n*\n")
    env = _venv_env(venv)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs must not build the same venv at once
        if not stamp.exists():
            for stale in cache.iterdir():
                if stale.is_dir():
                    shutil.rmtree(stale)
            subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run(
                [*pip, "-r", str(REQUIREMENTS), *TEST_TOOLS], env=env, check=True, timeout=600
            )
            # postBuild itself, run as repo2docker runs it: `python` is the environment's.
            subprocess.run([str(POSTBUILD)], cwd=ROOT, env=env, check=True, timeout=300)
            stamp.write_text(python + "\n")
    yield venv


def _venv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _sanitizer_args() -> list[str]:
    """The sanitizer file `make nbval` uses, if it uses one."""
    match = re.search(r"--nbval-sanitize-with[= ](\S+)", (ROOT / "Makefile").read_text())
    return [f"--nbval-sanitize-with={match[1]}"] if match else []


@pytest.mark.binder
@pytest.mark.slow
def test_notebooks_pass_nbval_in_binder_environment(binder_venv: Path) -> None:
    python = binder_venv / "bin" / "python"
    env = _venv_env(binder_venv)
    probe = "import sys, labkit; print(*sys.version_info[:2]); print(labkit.__file__)"
    where = subprocess.run(
        [str(python), "-c", probe],
        cwd=ROOT / "notebooks",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    if _find_binder_python() != sys.executable:
        assert where[0] == "{} {}".format(*BINDER_PYTHON)
    # Editable install from the checkout: the notebooks run against this labkit source.
    assert Path(where[1]).resolve() == (ROOT / "labkit" / "__init__.py").resolve()
    # --nbval-current-env: the kernel is this environment's Python, whatever kernel specs
    # exist elsewhere on the machine.
    proc = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            *_sanitizer_args(),
            "-p",
            "no:cacheprovider",
            "-q",
            "notebooks",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
