"""Print the results as plain-text tables and save them as JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.runner import Figure, Row, Settings
from benchmarks.suite import Group

__all__ = ("RATIO_NOTE", "machine", "render_group", "render_summary", "to_json", "write_json")

RATIO_NOTE = ("ratios: how many times better labkit is than each peer (labkit/peer for "
              "rates, peer/labkit for times and sizes): above 1x labkit is better")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions: dict[str, str | None] = {}
    for dist in ("labkit", "anyio", "pykka"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "labkit_commit": _commit(),
    }


def _commit() -> str | None:
    """The checked-out commit, with ``+dirty`` if ``labkit/`` has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "labkit"], cwd=root,
                               check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}+dirty" if dirty else head


def _table(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in body)])


def _verdict(fig: Figure) -> str:
    return {True: "yes", False: "NO", None: "?"}[fig.met] if fig.target else ""


def _cells(row: Row, unit: str, peer_names: list[str]) -> list[str]:
    name = f"{row.bench.name} (peer)" if row.bench.peer else f"labkit {row.bench.name}"
    fig = row.figures.get(unit)
    if row.error is not None or fig is None:
        return [name, f"{row.n:,}", "failed", (row.error or "")[:60], *[""] * len(peer_names),
                "", ""]
    ratios = [f"{fig.ratios[p]:.2f}x" if p in fig.ratios else "" for p in peer_names]
    return [name, f"{row.n:,}", fig.metric.fmt(fig.stats.median), f"+-{fig.stats.spread:.0%}",
            *ratios, fig.target or "", _verdict(fig)]


def render_group(group: Group, rows: list[Row], settings: Settings) -> str:
    """One table per metric of ``group``: peers first, then labkit rows with ratios."""
    rounds, warmup = settings.rounds_for(group)
    peer_names = [r.bench.name for r in rows if r.bench.peer]
    units = list(dict.fromkeys(u for r in rows for u in r.figures)) or [
        m.unit for m in group.metrics]
    parts = [f"== {group.title} =="]
    if group.note:
        parts.append(f"   {group.note}")
    for unit in units:
        metric = next((f.metric for r in rows for u, f in r.figures.items() if u == unit), None)
        better = "" if metric is None else (
            "higher is better" if metric.higher_is_better else "lower is better")
        parts.append(f"   [{unit}, {better}; median of {rounds} round(s) after {warmup} "
                     f"warm-up; spread = half the min-max range]")
        headers = ["benchmark", "n", unit, "spread", *[f"vs {p}" for p in peer_names],
                   "target", "met"]
        parts.append(_table(headers, [_cells(r, unit, peer_names) for r in rows]))
    return "\n".join(parts)


def render_summary(results: list[tuple[Group, list[Row]]]) -> str:
    """Every target and whether it was met, with the figure."""
    lines = ["== Targets (issue 8) =="]
    for group, rows in results:
        for row in rows:
            for fig in row.figures.values():
                if fig.target:
                    lines.append(f"  [{_verdict(fig):>3}] {group.key:<9} {row.bench.name:<36} "
                                 f"{fig.metric.fmt(fig.stats.median):>11}  target "
                                 f"{fig.target}" + _ratio_hint(fig))
            if row.error and not row.bench.peer:
                lines.append(f"  [err] {group.key:<9} {row.bench.name:<36} {row.error}")
    return "\n".join(lines)


def _ratio_hint(fig: Figure) -> str:
    ratio = next((fig.ratios[p] for p in fig.ratios if p in (fig.target or "")), None)
    return "" if ratio is None else f" (ratio {ratio:.2f}x)"


def _figure_json(fig: Figure) -> dict[str, Any]:
    stats = fig.stats
    return {
        "unit": fig.metric.unit,
        "higher_is_better": fig.metric.higher_is_better,
        "median": stats.median, "low": stats.low, "high": stats.high,
        "spread": stats.spread, "values": list(stats.values),
        "ratios": fig.ratios, "target": fig.target, "met": fig.met,
    }


def to_json(results: list[tuple[Group, list[Row]]], settings: Settings,
            info: dict[str, Any]) -> dict[str, Any]:
    return {
        "machine": info,
        "settings": {"quick": settings.quick, "rounds": settings.rounds,
                     "tracemalloc": settings.tracemalloc},
        "ratio_definition": RATIO_NOTE,
        "groups": [
            {
                "key": group.key, "title": group.title, "note": group.note,
                "rounds": settings.rounds_for(group)[0],
                "warmup": settings.rounds_for(group)[1],
                "rows": [
                    {"name": row.bench.name, "peer": row.bench.peer, "n": row.n,
                     "error": row.error,
                     "figures": {u: _figure_json(f) for u, f in row.figures.items()}}
                    for row in rows
                ],
            }
            for group, rows in results
        ],
    }


def write_json(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
