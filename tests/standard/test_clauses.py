"""Every clause the repository cites exists in the specification's index it ships (issue 14: 76
references pointed at a document that was not in the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

from standard import clauses

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".j2", ".toml"}
SKIP = {".venv", ".git", "node_modules", "out", "build", "dist"}


def _files() -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*")
        if p.suffix in SUFFIXES and p.is_file() and not SKIP.intersection(p.relative_to(ROOT).parts)
    ]


def test_every_cited_clause_resolves() -> None:
    unknown: list[str] = []
    count = 0
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for document, section in clauses.references(text):
            count += 1
            try:
                clauses.resolve(document, section)
            except clauses.UnknownClause:
                unknown.append(f"{path.relative_to(ROOT)}: {document} §{section}")
    assert count >= 100  # the scan sees the tree's references
    assert not unknown, unknown


def test_references_are_read_as_written() -> None:
    assert clauses.references("see interface.md §2.3, §5.2 and data.md §3") == [
        ("interface.md", "2.3"),
        ("interface.md", "5.2"),
        ("data.md", "3"),
    ]
    clause = clauses.resolve("interface.md", "5.3")
    assert clause.title == "Message grammar and known texts" and clause.reference == "interface.md §5.3"
    assert clauses.resolve("interface.md", "3.1").confidence == "H"
    with pytest.raises(clauses.UnknownClause):
        clauses.resolve("interface.md", "99.1")
    with pytest.raises(clauses.UnknownClause):
        clauses.cited("interface.md §2.3, " + "§42")  # split: the scan above reads this file too
