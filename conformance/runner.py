"""Run a plan against a target: each check in catalogue order, with its evidence, timing and
verdict; waivers applied. A run passes when at least one check passed and no check of a gating
severity (``must``, or ``must`` and ``should`` with fail-on should) failed or erred; its verdict
line names every failed check, recommendations included, so a PASS cannot hide one."""

from __future__ import annotations

import difflib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from conformance.catalogue import CATALOGUE_VERSION, Check, CheckFailed, CheckSkipped, all_checks
from conformance.target import Exchange, Target
from conformance.waivers import Waiver
from standard.requirements import Severity

Status = Literal["passed", "failed", "error", "skipped", "waived"]
GATING: dict[Severity, tuple[Severity, ...]] = {"must": ("must",), "should": ("must", "should")}


class SelectionError(ValueError):
    """``only`` names a check or area that does not exist, or selects no check of the plan."""


@dataclass
class Result:
    check: Check
    status: Status
    message: str
    exchanges: list[Exchange]
    duration: float
    waiver: Waiver | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.check
        return {
            "id": c.id,
            "statement": c.statement,
            "requirement": c.requirement.id,
            "clause": c.clause,
            "severity": c.severity,
            "area": c.area,
            "status": self.status,
            "message": self.message,
            "duration_s": round(self.duration, 3),
            "waiver": None
            if self.waiver is None
            else {"reason": self.waiver.reason, "expires": self.waiver.expires.isoformat()},
            "evidence": [e.to_json() for e in self.exchanges],
        }


@dataclass
class Run:
    plan: str
    profile: str
    target_url: str
    seed: int
    started: datetime
    finished: datetime | None = None
    results: list[Result] = field(default_factory=list)
    fail_on: Severity = "must"  # the lowest severity whose failure fails the run

    def failed(self, severity: Severity) -> list[Result]:
        """Checks of ``severity`` that failed or erred (waived ones are not among them)."""
        return [r for r in self.results if r.status in ("failed", "error") and r.check.severity == severity]

    @property
    def ok(self) -> bool:
        passed = any(r.status == "passed" for r in self.results)
        return passed and not any(self.failed(s) for s in GATING[self.fail_on])

    def verdict(self) -> str:
        """One line: PASS or FAIL, and every failed check by id, e.g.
        ``PASS with 1 failed recommendation: NONCE-01``."""
        musts, shoulds = self.failed("must"), self.failed("should")
        parts = [_named(musts, "requirement"), _named(shoulds, "recommendation")]
        named = "; ".join(p for p in parts if p)
        if self.ok:
            return "PASS" + (f" with {named}" if named else "")
        if named:
            gate = " (fail on should)" if self.fail_on == "should" and not musts else ""
            return f"FAIL{gate}: {named}"
        counts = self.counts()
        rest = ", ".join(f"{counts[s]} {s}" for s in ("skipped", "waived") if counts[s]) or "the plan selected none"
        return f"FAIL: no check passed ({rest})"

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("passed", "failed", "error", "skipped", "waived")}
        for r in self.results:
            out[r.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "profile": self.profile,
            "target": self.target_url,
            "seed": self.seed,
            "catalogue_version": CATALOGUE_VERSION,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "ok": self.ok,
            "fail_on": self.fail_on,
            "verdict": self.verdict(),
            "counts": self.counts(),
            "results": [r.to_json() for r in self.results],
        }


def _named(results: list[Result], kind: str) -> str:
    if not results:
        return ""
    ids = ", ".join(r.check.id + (" (error)" if r.status == "error" else "") for r in results)
    return f"{len(results)} failed {kind}{'s' if len(results) > 1 else ''}: {ids}"


def select(plan: str, profile: str, only: list[str] | None = None) -> list[Check]:
    """The checks of ``plan`` under ``profile``, narrowed to ``only`` (check ids or areas, any
    letter case); SelectionError when a name is unknown or names no check of the plan."""
    catalogue = all_checks()
    checks = [c for c in catalogue.values() if c.in_plan(plan, profile)]
    if not only:
        return checks
    names = {c.id.lower(): c.id for c in catalogue.values()} | {c.area.lower(): c.area for c in catalogue.values()}
    unknown = [w for w in only if w.lower() not in names]
    if unknown:
        close = {m for w in unknown for m in difflib.get_close_matches(w.lower(), names, n=2, cutoff=0.6)}
        hint = f" (did you mean {', '.join(sorted(names[m] for m in close))}?)" if close else ""
        raise SelectionError(
            f"unknown check id or area {', '.join(unknown)}{hint}; `jzgr conform list` shows every check and area"
        )
    wanted = {names[w.lower()] for w in only}
    outside = sorted(w for w in wanted if w in catalogue and not catalogue[w].in_plan(plan, profile))
    if outside:
        raise SelectionError(f"{', '.join(outside)} not in the {plan} plan under profile {profile}")
    chosen = [c for c in checks if c.id in wanted or c.area in wanted]
    if not chosen:
        raise SelectionError(f"no check of the {plan} plan under profile {profile} is in {', '.join(sorted(wanted))}")
    return chosen


def run_check(target: Target, check: Check) -> Result:
    target.exchanges = []
    started = time.perf_counter()
    try:
        check.run(target)
        status: Status = "passed"
        message = ""
    except CheckFailed as exc:
        status, message = "failed", str(exc)
    except CheckSkipped as exc:
        status, message = "skipped", str(exc)
    except Exception as exc:  # a broken target must not stop the plan: record it as an error
        status = "error"
        message = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc)[-3:])
    return Result(check, status, message, list(target.exchanges), time.perf_counter() - started)


def run(
    target: Target,
    *,
    plan: str = "full",
    only: list[str] | None = None,
    waivers: dict[str, Waiver] | None = None,
    seed: int = 0,
    fail_on: Severity = "must",
    progress: Callable[[Result, int, int], None] | None = None,
) -> Run:
    target.cache.setdefault("seed", seed)
    record = Run(plan, target.profile.name, target.url, seed, target.clock(), fail_on=fail_on)
    checks = select(plan, target.profile.name, only)
    for i, check in enumerate(checks, 1):
        result = run_check(target, check)
        waiver = (waivers or {}).get(check.id)
        if waiver is not None and result.status != "skipped":
            # Waived is reported as waived whatever the outcome, never as passed.
            outcome = result.status
            result.status, result.waiver = "waived", waiver
            result.message = f"[outcome without the waiver: {outcome}] {result.message}".rstrip()
        record.results.append(result)
        if progress:
            progress(result, i, len(checks))
    record.finished = target.clock()
    return record
