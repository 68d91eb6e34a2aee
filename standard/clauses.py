"""The specification's clauses that code, requirements and reports cite (``interface.md §5.3``),
resolved against the index the repository ships (``fixtures/data/clauses.json``, rebuilt with
``scripts/build-clause-index.py``), so every reference can be shown with its title and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from standard.data_files import load_json

# "interface.md §2.3, §5.2" cites two clauses of one document; "data.md §3" one.
REFERENCE = re.compile(r"\b(interface|data|devices)\.md((?:(?:\s*,\s*|\s+and\s+|\s*/\s*|\s+)§\s?\d+(?:\.\d+)*)+)")
_SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Clause:
    document: str
    section: str
    title: str
    text: str
    confidence: str | None

    @property
    def reference(self) -> str:
        return f"{self.document} §{self.section}"


class UnknownClause(KeyError):
    """A reference to a clause the specification does not have."""


def references(text: str) -> list[tuple[str, str]]:
    """Every ``(document, section)`` cited in ``text``."""
    return [(f"{m.group(1)}.md", section) for m in REFERENCE.finditer(text) for section in _SECTION.findall(m.group(2))]


def resolve(document: str, section: str) -> Clause:
    entry = load_json("clauses.json").get(document, {}).get(section)
    if entry is None:
        raise UnknownClause(f"{document} §{section}")
    return Clause(document, section, entry["title"], entry.get("text", ""), entry.get("confidence"))


def cited(text: str) -> list[Clause]:
    """The clauses ``text`` cites, resolved (UnknownClause for one that does not exist)."""
    return [resolve(document, section) for document, section in references(text)]
