"""``python -m benchmarks`` (``make bench``): measure labkit against its peers.

    python -m benchmarks                 # everything, about 3 minutes on 2 cores
    python -m benchmarks --quick         # smoke run: tiny counts, one round
    python -m benchmarks --only roundtrip --only "go.Chan"
    python -m benchmarks --tracemalloc   # also count idle-actor memory with tracemalloc
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.report import (
    RATIO_NOTE,
    machine,
    render_group,
    render_summary,
    to_json,
    write_json,
)
from benchmarks.runner import Row, Settings, run_group, select
from benchmarks.suite import Group, suite
from labkit.cli import ArgumentParser, fail

RESULTS = Path(__file__).parent / "results"
PROG = "python -m benchmarks"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog=PROG, description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts and one round: checks that everything runs")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="a group (oneway, roundtrip, sim, idle, dashboard) or part of a "
                             "row name; repeatable; peers of the chosen rows always run")
    parser.add_argument("--rounds", type=_rounds, default=None,
                        help="measured rounds per row (default: 5, idle actors 2)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="add an idle-actor memory round counted by tracemalloc (slow)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json",
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list groups and rows, then exit")
    return parser.parse_args(argv)


def _rounds(text: str) -> int:
    """``--rounds``: a whole number from 1 to 1000."""
    rounds = int(text) if text.strip().isdigit() else 0
    if not 1 <= rounds <= 1000:
        raise argparse.ArgumentTypeError(f"must be an int from 1 to 1000, got {text!r}")
    return rounds


def _check_writable(path: Path) -> None:
    """Fail now, not after minutes of measuring, if the results cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        fail(f"cannot write the results to {path}: {exc.strerror or exc}", prog=PROG)


def _list(groups: tuple[Group, ...]) -> None:
    for group in groups:
        print(f"{group.key}: {group.title}")
        for bench in group.benches:
            print(f"    {'peer  ' if bench.peer else 'labkit'} {bench.name}")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    groups = suite()
    if args.list:
        _list(groups)
        return 0
    picked = select(groups, args.only)
    if not picked:
        fail(f"--only {' '.join(args.only)} matches no benchmark; see --list", prog=PROG)
    _check_writable(args.json)
    settings = Settings(quick=args.quick, rounds=args.rounds, tracemalloc=args.tracemalloc)
    info = machine()
    start = time.perf_counter()
    results: list[tuple[Group, list[Row]]] = []
    for group, benches in picked:
        results.append((group, run_group(group, benches, settings, _log)))
    info["wall_seconds"] = round(time.perf_counter() - start, 1)
    print(f"labkit benchmarks (commit {info['labkit_commit']}): Python {info['python']} on "
          f"{info['cores']} cores ({info['cpu']}), load average at start "
          f"{info['load_average_at_start']}, took {info['wall_seconds']} s")
    print(RATIO_NOTE)
    for group, rows in results:
        print()
        print(render_group(group, rows, settings))
    print()
    print(render_summary(results))
    write_json(to_json(results, settings, info), args.json)
    print(f"\nresults written to {args.json}")
    failed = any(row.error for _group, rows in results for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
