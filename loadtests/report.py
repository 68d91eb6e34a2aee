"""The HTML report of a load run: verdict, the figures beside locust's own request statistics,
and three inline-SVG charts over the run (throughput, latency percentiles, backlog)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader

WIDTH, HEIGHT, PAD = 720, 180, 40
LINES = {"p50_ms": "#2e7d32", "p95_ms": "#ef6c00", "p99_ms": "#c62828"}


def chart(series: list[dict[str, Any]], fields: dict[str, str], unit: str) -> dict[str, Any]:
    """Polylines of ``fields`` (name → colour) over time in a WIDTH × HEIGHT box, with its scale."""
    top = max([float(p[f]) for p in series for f in fields if p.get(f) is not None] or [1.0]) or 1.0
    span = max(1, len(series) - 1)
    lines = []
    for name, colour in fields.items():
        points = " ".join(
            f"{PAD + (WIDTH - PAD - 10) * p['t'] / span:.1f},{HEIGHT - 20 - (HEIGHT - 30) * float(p[name]) / top:.1f}"
            for p in series
            if p.get(name) is not None
        )
        lines.append({"name": name, "colour": colour, "points": points})
    return {"lines": lines, "top": top, "unit": unit, "seconds": span, "width": WIDTH, "height": HEIGHT, "pad": PAD}


def render(summary: dict[str, Any], meta: dict[str, Any], locust_rows: list[dict[str, Any]]) -> str:
    env = Environment(loader=PackageLoader("loadtests", "templates"), autoescape=True)  # error texts come from the SUT
    series = summary.get("series", [])
    charts = [
        ("Throughput (uploads acknowledged per second)", chart(series, {"acked": "#1565c0"}, "/s")),
        ("Upload latency from the moment it was due (p50, p95, p99 per second)", chart(series, LINES, "ms")),
        ("Backlog (uploads due, not yet acknowledged)", chart(series, {"backlog": "#6a1b9a"}, "")),
    ]
    figures = {k: v for k, v in summary.items() if k != "series"}
    return env.get_template("report.html.j2").render(figures=figures, meta=meta, charts=charts, locust=locust_rows)


def write(path: Path, summary: dict[str, Any], meta: dict[str, Any], locust_rows: list[dict[str, Any]]) -> None:
    path.write_text(render(summary, meta, locust_rows), encoding="utf-8")
