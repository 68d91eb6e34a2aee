"""The check catalogue: every check has a stable id, a one-line statement of what it sends and
expects, the requirement it tests (``standard.requirements``: the clause and severity come from
there) and an oracle that can fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from standard import requirements
from standard.requirements import Requirement, Severity

if TYPE_CHECKING:
    from conformance.target import Target

PLANS = ("smoke", "full")  # the server plans; a check names others (the client plans) in ``plans``
CATALOGUE_VERSION = "1"


class CheckFailed(AssertionError):
    """The oracle saw the platform answer otherwise than the standard requires."""


class CheckSkipped(Exception):
    """The check does not apply to this target (e.g. a switch the profile turns off)."""


@dataclass(frozen=True)
class Check:
    id: str
    statement: str
    requirement: Requirement
    area: str
    run: Callable[[Target], None]
    smoke: bool = False
    profiles: frozenset[str] = field(default_factory=lambda: frozenset({"strict", "lenient"}))
    plans: frozenset[str] = frozenset(PLANS)

    @property
    def clause(self) -> str:
        return self.requirement.clause

    @property
    def severity(self) -> Severity:
        return self.requirement.severity

    def in_plan(self, plan: str, profile: str) -> bool:
        return profile in self.profiles and plan in self.plans and (plan != "smoke" or self.smoke)


REGISTRY: dict[str, Check] = {}


def check(
    check_id: str,
    statement: str,
    *,
    requirement: str,
    area: str,
    smoke: bool = False,
    profiles: tuple[str, ...] = ("strict", "lenient"),
    plans: tuple[str, ...] = PLANS,
) -> Callable[[Callable[[Target], None]], Callable[[Target], None]]:
    """Register a check function under a stable id, testing ``requirement`` (a ``REQ-…`` id of
    ``standard.requirements``; an unknown one fails at import)."""
    tested = requirements.get(requirement)
    if check_id.startswith(requirements.PREFIX):
        raise ValueError(f"check id {check_id}: {requirements.PREFIX}… ids are requirements, not checks")

    def register(fn: Callable[[Target], None]) -> Callable[[Target], None]:
        if check_id in REGISTRY:
            raise ValueError(f"duplicate check id {check_id}")
        REGISTRY[check_id] = Check(check_id, statement, tested, area, fn, smoke, frozenset(profiles), frozenset(plans))
        return fn

    return register


def expect(condition: bool, message: str) -> None:
    """The oracle: fail the check with a message saying what was expected and what came."""
    if not condition:
        raise CheckFailed(message)


def all_checks() -> dict[str, Check]:
    """Every registered check, importing the check modules once."""
    from conformance import checks  # noqa: F401  (registers by import)
    from conformance.client import checks as client_checks  # noqa: F401

    return dict(sorted(REGISTRY.items(), key=lambda kv: _sort_key(kv[0])))


def _sort_key(check_id: str) -> tuple[str, int]:
    area, _, number = check_id.rpartition("-")
    return area, int(number) if number.isdigit() else 0
