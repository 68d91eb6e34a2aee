#!/usr/bin/env python3
"""Rebuild fixtures/data/clauses.json — the index of the specification's clauses that the code,
the requirements and the reports cite (``interface.md §5.3``) — from the specification documents.

Run by a developer when the specification changes (``python3 scripts/build-clause-index.py
../shared/spec``); nothing reads the specification itself at run or test time."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DOCUMENTS = ("interface.md", "data.md", "devices.md")
HEADING = re.compile(r"^(#{2,4}) (\d+(?:\.\d+)*)\.? +(.+?)\s*$")
ITEM = re.compile(r"^(\d+)\. +(.+)$")  # a numbered item of a section without sub-headings (§16.3)
CONFIDENCE = re.compile(r"\[(H|M|L)\]")


def _excerpt(lines: list[str]) -> str:
    text = " ".join(line.strip() for line in lines if line.strip() and not line.startswith("|--"))
    return text[:400] + ("…" if len(text) > 400 else "")


def index(path: Path) -> dict[str, dict[str, str]]:
    clauses: dict[str, dict[str, str]] = {}
    current: str | None = None
    body: list[str] = []
    has_sub: set[str] = set()

    def close() -> None:
        if current is not None:
            clauses[current]["text"] = _excerpt(body)

    for line in path.read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading:
            close()
            current, title = heading.group(2), heading.group(3)
            if "." in current:
                has_sub.add(current.split(".")[0])
            found = CONFIDENCE.search(title)
            clauses[current] = {"title": CONFIDENCE.sub("", title).strip()}
            if found:
                clauses[current]["confidence"] = found.group(1)
            body = []
            continue
        item = ITEM.match(line)
        if item and current is not None and "." not in current and current not in has_sub:
            clauses[f"{current}.{item.group(1)}"] = {"title": item.group(2)[:160], "text": _excerpt([item.group(2)])}
        body.append(line)
    close()
    return clauses


def main(spec: Path, out: Path) -> None:
    data = {name: index(spec / name) for name in DOCUMENTS}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{out}: {sum(len(v) for v in data.values())} clauses")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared" / "spec", here / "fixtures/data/clauses.json"
    )
