"""Run a plan against a target: each check in catalogue order, with its evidence, timing and
verdict; waivers applied; the exit verdict is "every must check passed or is waived"."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from conformance.catalogue import CATALOGUE_VERSION, Check, CheckFailed, CheckSkipped, all_checks
from conformance.target import Exchange, Target
from conformance.waivers import Waiver

Status = Literal["passed", "failed", "error", "skipped", "waived"]


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

    @property
    def ok(self) -> bool:
        return all(r.status in ("passed", "waived", "skipped") for r in self.results if r.check.severity == "must")

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
            "counts": self.counts(),
            "results": [r.to_json() for r in self.results],
        }


def select(plan: str, profile: str, only: list[str] | None = None) -> list[Check]:
    checks = [c for c in all_checks().values() if c.in_plan(plan, profile)]
    if only:
        wanted = set(only)
        checks = [c for c in checks if c.id in wanted or c.area in wanted]
    return checks


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
    progress: Callable[[Result, int, int], None] | None = None,
    today: date | None = None,
) -> Run:
    target.cache.setdefault("seed", seed)
    record = Run(plan, target.profile.name, target.url, seed, datetime.now(UTC))
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
    record.finished = datetime.now(UTC)
    return record
