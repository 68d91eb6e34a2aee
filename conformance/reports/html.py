"""A self-contained HTML report: summary, a chart of results by area, and every check with the
request and response that prove its verdict."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader

from conformance.runner import Run

COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6a1b9a", "skipped": "#9e9e9e", "waived": "#ef6c00"}


def _chart(run: Run) -> list[dict[str, Any]]:
    """Per area: stacked bar segments (status, count, x offset, width) in a 0–100 scale."""
    areas: dict[str, Counter[str]] = {}
    for r in run.results:
        areas.setdefault(r.check.area, Counter())[r.status] += 1
    rows = []
    for area, counts in sorted(areas.items()):
        total = sum(counts.values())
        x = 0.0
        segments = []
        for status in COLOURS:
            if counts[status]:
                width = 100.0 * counts[status] / total
                segments.append(
                    {"status": status, "count": counts[status], "x": x, "width": width, "colour": COLOURS[status]}
                )
                x += width
        rows.append({"area": area, "total": total, "segments": segments})
    return rows


def render(run: Run, meta: dict[str, Any]) -> str:
    # Always escape: the page shows statements with <placeholders> and bodies from the platform under test.
    env = Environment(loader=PackageLoader("conformance", "templates"), autoescape=True)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}  # Chinese as Chinese, not \u escapes
    return env.get_template("report.html.j2").render(run=run.to_json(), chart=_chart(run), colours=COLOURS, meta=meta)


def write(run: Run, path: Path, meta: dict[str, Any]) -> None:
    path.write_text(render(run, meta), encoding="utf-8")
