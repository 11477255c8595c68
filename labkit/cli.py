"""The ``labkit`` command: list, explain and run the scenarios headless, write charts to files.

::

    labkit list                                    # every scenario, one line each
    labkit show overload                           # its parameters, defaults and docs
    labkit run overload policy=drop_head capacity=5 --seed 3
    labkit run producer_consumer capacity=0 --models go rust --chart timeline depth
    labkit run work_queue spread=2 --trace trace.csv --json
    labkit real                                    # the real Go/tokio programs' cases
    labkit real try_send --model rust              # real tokio beside its labkit twin

``run`` prints the scenario's headline numbers (``--json``: as JSON), and can save the trace
as CSV (``--trace``) and charts (``--chart``, one of :data:`labkit.viz.CHARTS`) as SVG, PNG
or a self-contained HTML page (``--format``), rendered offline. With ``--models`` the
scenario runs once per model and each chart compares them side by side. Parameters are
``name=value``; values are Python literals (``5``, ``0.5``, ``[0.1, 0.2]``, ``None``,
``inf``) or else strings (``policy=drop_head``); a true-or-false parameter takes ``true``
or ``false`` (also ``yes``/``no``, ``on``/``off``, ``1``/``0``). Everything runs in virtual
time: the same command prints the same numbers and writes the same files on every machine.

``real`` builds and runs a real Go or tokio program of the repository's ``real/`` folder and
its labkit twin (:mod:`labkit.real`), prints both outputs (JSON lines) and whether they
agree; ``--golden`` shows the recorded real output instead, for machines without Go or
cargo. Without the toolchains it says what to install (one line, exit code 2).

A mistake on the command line (an unknown scenario or parameter, a bad value, a folder that
cannot be written) is one line on stderr, ``labkit: error: ...``, and exit code 2.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import difflib
import inspect
import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from labkit import Run

__all__ = ("BOOL_WORDS", "FORMATS", "ArgumentParser", "CliError", "fail", "main", "parse_bool",
           "parse_params")

#: Chart file formats (``--format``).
FORMATS = ("svg", "png", "html")
#: How a true-or-false parameter may be written (any case): word -> value.
BOOL_WORDS: Mapping[str, bool] = MappingProxyType({
    "true": True, "yes": True, "on": True, "1": True,
    "false": False, "no": False, "off": False, "0": False})


class CliError(Exception):
    """A mistake in the command line, reported as ``labkit: error: ...`` with exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (``labkit run: error: ...``) and exit code
    2, as every other mistake is; ``--help`` still shows the usage. (``python -m
    benchmarks`` uses it too.)"""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see {self.prog} --help)", prog=self.prog)


def _scenarios() -> tuple[dict[str, Callable[..., Run[Any]]], dict[str, str]]:
    from labkit import scenarios

    return scenarios.SCENARIOS, scenarios.DESCRIPTIONS


def _scenario(name: str) -> Callable[..., Run[Any]]:
    known, _ = _scenarios()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CliError(f"no scenario named {name!r}{hint} (`labkit list` shows them all)")
    return known[name]


_WORDS = {"true": True, "false": False, "none": None, "null": None,
          "inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _literal(text: str) -> Any:
    """``5`` -> 5, ``[1, 2]`` -> [1, 2], ``true`` -> True, ``none`` -> None, ``inf`` ->
    ``math.inf``, else the text itself (a string)."""
    lowered = text.strip().lower()
    if lowered in _WORDS:
        return _WORDS[lowered]
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return text  # not a literal: a string such as drop_head


def parse_bool(name: str, text: str) -> bool:
    """``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0`` (any case) -> bool;
    anything else is a :class:`CliError`."""
    value = BOOL_WORDS.get(text.strip().lower())
    if value is None:
        raise CliError(f"{name} is true or false (also yes/no, on/off, 1/0), got {text!r}")
    return value


def parse_params(fn: Callable[..., Any], pairs: Sequence[str]) -> dict[str, Any]:
    """``["capacity=5", "policy=drop_head"]`` -> keyword arguments for scenario ``fn``.

    Names must be parameters of ``fn`` (but the seed is ``--seed``); a parameter whose
    default is a bool is read by :func:`parse_bool`; a value whose default is a float may be
    written as an int (``rate=20``) and stays a float, so results do not depend on the
    spelling.
    """
    params = inspect.signature(fn).parameters
    accepted = [p for p in params if params[p].kind in (inspect.Parameter.KEYWORD_ONLY,
                                                         inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise CliError(f"parameters are name=value, got {pair!r}")
        if name not in accepted:
            close = difflib.get_close_matches(name, accepted, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise CliError(f"{fn.__name__} has no parameter {name!r}{hint}; its parameters: "
                           f"{', '.join(accepted)}")
        if name in kwargs:
            raise CliError(f"parameter {name!r} given twice")
        if name == "seed":
            raise CliError(f"give the seed as --seed {text.strip() or 'N'}, not seed={text}")
        if not text.strip():
            raise CliError(f"{name}= has no value; write e.g. {name}={params[name].default!r}")
        default = params[name].default
        if isinstance(default, bool):
            kwargs[name] = parse_bool(name, text)
            continue
        value = _literal(text)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            with contextlib.suppress(OverflowError):  # too large: the scenario refuses it
                value = float(value)
        kwargs[name] = value
    return kwargs


def _plain(value: Any) -> Any:
    """A result field as JSON-friendly data (tuples as lists, non-finite floats as text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return repr(value)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple) and len(value) > 12:
        shown = ", ".join(_fmt(v) for v in value[:12])
        return f"[{shown}, ... ({len(value)} in all)]"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _result_lines(run: Run[Any]) -> list[str]:
    result = run.result
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    else:
        fields = {"result": result}
    fields.update({"trace rows": len(run.trace), "virtual seconds": run.elapsed})
    width = max(len(k) for k in fields)
    return [f"  {k:<{width}}  {_fmt(v)}" for k, v in fields.items()]


def _summary(run: Run[Any]) -> dict[str, Any]:
    result = _plain(run.result)
    return {"result": result, "seed": run.seed, "virtual_seconds": run.elapsed,
            "trace_rows": len(run.trace), "completed": run.completed,
            "leaked": list(run.leaked)}


# -- commands ---------------------------------------------------------------------------------

def _cmd_list(_args: argparse.Namespace) -> int:
    known, descriptions = _scenarios()
    width = max(len(name) for name in known)
    for name in known:
        print(f"{name:<{width}}  {descriptions.get(name, '')}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    fn = _scenario(args.name)
    _, descriptions = _scenarios()
    print(f"{args.name}: {descriptions.get(args.name, '')}\n")
    print("parameters (name=default):")
    for p in inspect.signature(fn).parameters.values():
        default = "(required)" if p.default is inspect.Parameter.empty else repr(p.default)
        print(f"  {p.name}={default}")
    doc = inspect.getdoc(fn)
    if doc:
        print("\n" + textwrap.indent(doc, "  "))
    return 0


def _write_chart(chart: Any, path: Path, fmt: str) -> None:
    from labkit import viz

    if fmt == "svg":
        path.write_text(viz.to_svg(chart), encoding="utf-8")
    elif fmt == "png":
        path.write_bytes(viz.to_png(chart))
    else:  # the interactive chart, its JavaScript inlined: no CDN
        path.write_text(viz.to_html(chart, title=path.stem), encoding="utf-8")


def _check_outputs(args: argparse.Namespace) -> None:
    """Everything the run will write, checked before it runs: chart kinds, the chart
    folder and the trace file's folder (a mistake costs no simulation)."""
    if not args.chart:
        for option, given in (("--out", args.out is not None),
                              ("--format", args.format is not None)):
            if given:
                raise CliError(f"{option} is for chart files: add --chart KIND")
    else:
        try:
            from labkit import viz
        except ImportError as exc:  # altair and vl-convert come with the notebooks extra
            raise CliError(f"charts need the notebooks extra ({exc}); "
                           "pip install 'labkit[notebooks]'") from exc
        unknown = [c for c in args.chart if c not in viz.CHARTS]
        if unknown:
            raise CliError(f"unknown chart {unknown[0]!r}; choose from {', '.join(viz.CHARTS)}")
        _folder(Path(args.out or "."), "the chart folder")
    if args.trace:
        _folder(Path(args.trace).parent, "the folder of the trace file")


def _folder(path: Path, what: str) -> None:
    """Create ``path`` (and its parents) if need be; it must be a writable folder."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create {what} {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise CliError(f"cannot write in {what} {path}: permission denied")


def _charts(args: argparse.Namespace, runs: dict[str, Run[Any]]) -> list[Path]:
    if not args.chart:
        return []
    from labkit import viz

    out = Path(args.out or ".")
    fmt = args.format or "svg"
    written = []
    for kind in args.chart:
        if len(runs) == 1:
            chart = viz.CHARTS[kind](next(iter(runs.values())))
        else:
            chart = viz.compare(runs, chart=kind)
        path = out / f"{args.name}-{kind}.{fmt}"
        try:
            _write_chart(chart, path, fmt)
        except OSError as exc:
            raise CliError(f"cannot write the chart to {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


def _check_models(fn: Callable[..., Run[Any]], name: str, models: list[str] | None,
                  kwargs: dict[str, Any]) -> None:
    if not models:
        return
    if "model" not in inspect.signature(fn).parameters:
        raise CliError(f"{name} has no model parameter, so --models does not apply to it")
    if "model" in kwargs:
        raise CliError("give the model either as model=... or with --models, not both")
    twice = sorted({m for m in models if models.count(m) > 1})
    if twice:
        raise CliError(f"--models names {', '.join(twice)} twice; name each model once")


def _cmd_run(args: argparse.Namespace) -> int:
    fn = _scenario(args.name)
    kwargs = parse_params(fn, args.params)
    _check_models(fn, args.name, args.models, kwargs)
    _check_outputs(args)
    kwargs["seed"] = args.seed
    runs: dict[str, Run[Any]] = {}
    for model in args.models or [None]:
        call = dict(kwargs) if model is None else {**kwargs, "model": model}
        try:
            run = fn(**call)
        except (ValueError, TypeError) as exc:  # a bad value: the scenario says which
            raise CliError(f"{args.name}: {exc}") from exc
        runs[model or args.name] = run
    if args.trace:
        frames = []
        for label, run in runs.items():
            df = run.trace.df
            frames.append(df.assign(run=label) if len(runs) > 1 else df)
        import pandas as pd

        path = Path(args.trace)
        try:
            pd.concat(frames, ignore_index=True).to_csv(path, index=False)
        except OSError as exc:
            raise CliError(f"cannot write the trace to {path}: {exc}") from exc
    written = _charts(args, runs)
    if args.json:
        payload: dict[str, Any] = {"scenario": args.name, "params": _plain(kwargs)}
        payload["runs"] = {label: _summary(run) for label, run in runs.items()}
        payload["files"] = [str(p) for p in ([Path(args.trace)] if args.trace else [])
                            + written]
        print(json.dumps(payload, indent=2))
        return 0
    for label, run in runs.items():
        print(f"{label}:" if len(runs) > 1 else f"{args.name} (seed {args.seed}):")
        print("\n".join(_result_lines(run)))
    if args.trace:
        print(f"trace written to {args.trace}")
    for path in written:
        print(f"chart written to {path}")
    return 0


def _cmd_real(args: argparse.Namespace) -> int:
    from labkit import real

    if args.name is None:
        width = max(len(name) for name in real.CASES)
        for name, case in real.CASES.items():
            print(f"{name:<{width}}  {'+'.join(case.models):<9}  {' '.join(case.rules)}: "
                  f"{case.shows}")
        return 0
    if args.name not in real.CASES:
        close = difflib.get_close_matches(args.name, real.CASES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CliError(f"no real case named {args.name!r}{hint} (`labkit real` lists them)")
    case = real.CASES[args.name]
    models = [args.model] if args.model else list(case.models)
    if args.model and args.model not in case.models:
        raise CliError(f"case {args.name} has no {args.model} program (it has: "
                       f"{', '.join(case.models)})")
    if not args.golden:
        lacking = [f"{m}: {why}" for m in models if (why := real.missing(m))]
        if lacking:
            raise CliError(f"cannot run the real programs of {args.name}: "
                           f"{'; '.join(lacking)} (or add --golden to show the recorded "
                           f"real output)")
    agree = True
    for model in models:
        try:
            ran = real.golden(args.name, model) if args.golden else real.run_real(args.name,
                                                                                   model)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            raise CliError(f"the real {model} program of {args.name} failed: {exc}") from exc
        ours = real.twin(args.name, model, seed=args.seed)
        problems = real.compare(args.name, model, ran, ours)
        agree = agree and not problems
        if args.json:
            print(real.lines(ran + ours), end="")
            continue
        where = "recorded" if args.golden else "ran now"
        print(f"== real {model} ({where})")
        print(real.lines(ran), end="")
        print(f"== labkit-{model} (its twin, seed {args.seed})")
        print(real.lines(ours), end="")
        for diff in real.KNOWN_DIFFERENCES:
            if diff.case == args.name and diff.model == model:
                print(f"-- known difference ({diff.event}): {diff.reason}")
        verdict = "agree" if not problems else "DIFFER:\n  " + "\n  ".join(problems)
        print(f"-- {model} and labkit-{model} {verdict}\n")
    return 0 if agree else 1


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="labkit", description="Run labkit's scenarios headless, in virtual time.",
        epilog="Examples:\n  labkit list\n  labkit show overload\n"
               "  labkit run overload policy=drop_head --models go rust --chart depth",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True,
                                metavar="{list,show,run,real}")
    sub.add_parser("list", help="every scenario with a one-line description")
    show = sub.add_parser("show", help="a scenario's parameters, defaults and documentation")
    show.add_argument("name")
    run = sub.add_parser("run", help="run a scenario and print its headline numbers")
    run.add_argument("name")
    run.add_argument("params", nargs="*", metavar="name=value",
                     help="scenario parameters, e.g. capacity=5 policy=drop_head")
    run.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    run.add_argument("--models", nargs="+", metavar="MODEL",
                     help="run once per model (go, rust, actor) and compare them")
    run.add_argument("--trace", metavar="FILE.csv", help="write the trace as CSV")
    run.add_argument("--chart", nargs="+", metavar="KIND",
                     help="charts to write: timeline, depth, latency, throughput, "
                          "sequence, load")
    run.add_argument("--format", choices=FORMATS,
                     help="chart file format (default: svg)")
    run.add_argument("--out", help="folder for chart files (default: .)")
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    real = sub.add_parser("real", help="a real Go/tokio program beside its labkit twin")
    real.add_argument("name", nargs="?", help="the case (none: list the cases)")
    real.add_argument("--model", choices=("go", "rust"),
                      help="only this real model (default: every one the case has)")
    real.add_argument("--golden", action="store_true",
                      help="show the recorded real output instead of building and running")
    real.add_argument("--seed", type=int, default=0, help="the twin's seed (default: 0)")
    real.add_argument("--json", action="store_true", help="print only the JSON lines")
    return parser


def fail(message: str, *, prog: str = "labkit") -> NoReturn:
    """Report a mistake as one line on stderr (``PROG: error: MESSAGE``) and exit with
    code 2."""
    line = " ".join(message.split())
    print(f"{prog}: error: {line}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labkit`` command (and ``python -m labkit``)."""
    args = _parser().parse_args(argv)
    commands = {"list": _cmd_list, "show": _cmd_show, "run": _cmd_run, "real": _cmd_real}
    try:
        return commands[args.command](args)
    except CliError as exc:
        fail(str(exc))
    except BrokenPipeError:  # `labkit run ... | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # Ctrl-C during a long run: no traceback for that either
        print("labkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
