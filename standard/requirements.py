"""The one registry of requirements (``fixtures/data/requirements.yaml``): each rule of the
standard under one ``REQ-…`` id, with its statement, severity and the clauses it comes from,
resolved through ``standard.clauses``. Simulator steps and conformance checks point at these ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal, cast

import yaml

from standard import clauses
from standard.data_files import load_text

Severity = Literal["must", "should"]
PREFIX = "REQ-"


@dataclass(frozen=True)
class Requirement:
    id: str
    statement: str
    severity: Severity
    clause: str  # as written: the clauses cited and any other source (vectors.json cases)
    clauses: tuple[clauses.Clause, ...]
    not_tested: str | None = None  # why no conformance check tests it, when none does


class UnknownRequirement(KeyError):
    """An id the registry does not have."""


class BadRegistry(ValueError):
    """The requirements file breaks its own rules (an id twice, a clause that does not resolve)."""


def parse(text: str) -> dict[str, Requirement]:
    """The requirements of a requirements file, by id; BadRegistry naming the first broken entry."""
    out: dict[str, Requirement] = {}
    for item in yaml.safe_load(text)["requirements"]:
        rid = str(item.get("id", ""))
        if not rid.startswith(PREFIX):
            raise BadRegistry(f"requirement {rid or '(no id)'}: ids start with {PREFIX}")
        if rid in out:
            raise BadRegistry(f"requirement {rid} is defined twice")
        severity = item.get("severity")
        if severity not in ("must", "should"):
            raise BadRegistry(f"{rid}: severity is must or should, not {severity!r}")
        clause = str(item.get("clause") or "")
        try:
            cited = tuple(clauses.cited(clause))
        except clauses.UnknownClause as exc:
            raise BadRegistry(f"{rid}: clause {exc.args[0]} does not resolve") from None
        if not cited:
            raise BadRegistry(f"{rid}: cites no clause of the specification ({clause!r})")
        statement = str(item.get("statement") or "").strip()
        if not statement.endswith("."):
            raise BadRegistry(f"{rid}: the statement is one sentence ending in a full stop")
        reason = str(item.get("not_tested") or "").strip() or None
        out[rid] = Requirement(rid, statement, cast(Severity, severity), clause, cited, reason)
    return out


@cache
def registry() -> dict[str, Requirement]:
    """Every requirement, by id (the shipped file, read once per process)."""
    return parse(load_text("requirements.yaml"))


def get(requirement_id: str) -> Requirement:
    found = registry().get(requirement_id)
    if found is None:
        raise UnknownRequirement(requirement_id)
    return found


def enforced(requirement_id: str) -> str:
    """``requirement_id`` once it is known to the registry (UnknownRequirement at import time
    for one that is not): how code that records a verdict names the rule."""
    return get(requirement_id).id


# Which requirement a refused payload breaks, by its first field error's kind (standard.errors):
# the id the inspection log and the console show for a -1 about the data.
_BY_KIND = {
    "missing": "REQ-FMT-01",
    "check_digit": "REQ-FMT-02",
    "birth_date": "REQ-FMT-02",
    "org_check_digit": "REQ-FMT-02",
    "code": "REQ-FMT-03",
    "id_type_unsupported": "REQ-FMT-06",
    "image_format": "REQ-LIM-04",
    "image_size": "REQ-LIM-04",
    "future": "REQ-RULE-05",
    "decrypt": "REQ-AES-01",
}
_LIST_LIMITS = {"ProjectWorker.Add": "REQ-LIM-01", "WorkerAttendance.Add": "REQ-LIM-02"}
_DATED = ("date", "Date", "Time", "Month")  # field names of dates, times and months (data.md §5.6)


def breached_by(method: str, kind: str, path: tuple[str | int, ...]) -> str:
    """The requirement a field error of ``kind`` at ``path`` in a ``method`` payload breaks; any
    other breach of the data standard (a type, a length, a range, NUL) is malformed input."""
    field = str(path[-1]) if path else ""
    if kind == "too_many":
        return _LIST_LIMITS.get(method, "REQ-LIM-03")
    if kind == "area":  # an area code: the field's own, or the first six digits of an ID number
        return "REQ-FMT-05" if field == "areaCode" else "REQ-FMT-02"
    if kind == "format" and field.endswith(_DATED):
        return "REQ-FMT-04"
    return _BY_KIND.get(kind, "REQ-ENV-06")


def collisions(registries: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Ids that stand for two rules: each registry maps the ids it uses (requirement, step or
    check ids) to the requirement each stands for; the requirements themselves stand for
    themselves. One line per id, naming the registries that disagree."""
    meanings: dict[str, dict[str, str]] = {}
    for name, ids in {"requirements": {rid: rid for rid in registry()}, **registries}.items():
        for used, requirement in ids.items():
            meanings.setdefault(used, {})[name] = requirement
    return [
        f"{used}: " + ", ".join(f"{name} → {requirement}" for name, requirement in sorted(seen.items()))
        for used, seen in sorted(meanings.items())
        if len(set(seen.values())) > 1
    ]
