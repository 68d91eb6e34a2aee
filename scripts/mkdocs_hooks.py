"""mkdocs hook: drop nav entries whose page is not in docs/ (pages other branches are still writing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _present(items: list[Any], docs: Path) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            (title, value), *_ = item.items()
            if isinstance(value, list):
                inner = _present(value, docs)
                if inner:
                    kept.append({title: inner})
            elif (docs / value).is_file() or "://" in value:
                kept.append(item)
        elif (docs / item).is_file():
            kept.append(item)
    return kept


def on_config(config: Any) -> Any:
    config["nav"] = _present(config["nav"] or [], Path(config["docs_dir"]))
    return config
