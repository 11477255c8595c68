"""Run one workload round in a fresh interpreter (the idle-actor benchmarks).

A process's resident set only grows by what a round really needs when nothing freed by an
earlier round is lying around to be reused, so memory rounds each get their own process::

    python -m benchmarks.isolated benchmarks.channels:idle_go 100000 '{"trace": false}'

prints the :class:`~benchmarks.harness.Sample` as one JSON line. ``--tracemalloc`` counts
the Python heap with tracemalloc instead of the RSS (exact, but several times slower).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import os
import subprocess
import sys
from typing import Any

from benchmarks.harness import Sample, Workload, run_once

__all__ = ("main", "reference", "resolve", "run_isolated", "run_isolated_traced")


def reference(workload: Workload) -> tuple[str, dict[str, Any]]:
    """``("module:function", keyword arguments)`` naming ``workload`` for another process."""
    keywords: dict[str, Any] = {}
    fn: Any = workload
    if isinstance(fn, functools.partial):
        keywords = dict(fn.keywords)
        fn = fn.func
    return f"{fn.__module__}:{fn.__qualname__}", keywords


def resolve(ref: str, keywords: dict[str, Any]) -> Workload:
    """The workload that :func:`reference` named."""
    module, _, name = ref.partition(":")
    fn: Workload = getattr(importlib.import_module(module), name)
    return functools.partial(fn, **keywords) if keywords else fn


def _spawn(workload: Workload, n: int, traced: bool) -> Sample:
    ref, keywords = reference(workload)
    args = [sys.executable, "-m", "benchmarks.isolated", ref, str(n), json.dumps(keywords)]
    if traced:
        args.append("--tracemalloc")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{ref} failed in its own process:\n{done.stderr.strip()}")
    return Sample(**json.loads(done.stdout.strip().splitlines()[-1]))


def run_isolated(workload: Workload, n: int) -> Sample:
    """One round of ``workload(n)`` in a fresh interpreter; memory by RSS."""
    return _spawn(workload, n, traced=False)


def run_isolated_traced(workload: Workload, n: int) -> Sample:
    """One round of ``workload(n)`` in a fresh interpreter; memory by tracemalloc."""
    return _spawn(workload, n, traced=True)


def main(argv: list[str]) -> None:
    ref, n, keywords = argv[0], int(argv[1]), json.loads(argv[2])
    sample = run_once(resolve(ref, keywords), n, trace_memory="--tracemalloc" in argv)
    print(json.dumps(dataclasses.asdict(sample)), flush=True)
    os._exit(0)  # skip freeing 100 000 actors one by one: the process is done


if __name__ == "__main__":
    main(sys.argv[1:])
