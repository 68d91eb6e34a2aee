"""The pass marks of a load run (a YAML or JSON file; ``--thresholds``) and the verdict against
them: which marks a run's summary breaches. A file that makes no sense is refused before any load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from standard.terminal import UsageProblem

Millis = Annotated[float, Field(gt=0, le=3_600_000, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, strict=True)]


class Thresholds(BaseModel):
    """Upload latencies are measured from the moment each upload was due (open loop), end-to-end
    lateness from the moment the gate recognised the worker (docs/loadtests.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    p95_ms: Millis = 1_000.0
    p99_ms: Millis = 2_000.0
    error_rate: Share = 0.01  # failed requests (transport errors, HTTP ≥ 500, code ≠ 0) over all
    lost: Count = 0  # clock-ins acknowledged or sent that the platform does not hold
    duplicated: Count = 0  # clock-ins the platform holds more than once
    deadline_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)] = 60.0  # gate → acknowledged
    late_rate: Share = 0.0  # clock-ins acknowledged after the deadline, over all

    def breaches(self, summary: dict[str, Any]) -> list[str]:
        """One line per mark the run missed (empty: passed)."""
        out = []
        for key, limit, unit in (("p95_ms", self.p95_ms, "ms"), ("p99_ms", self.p99_ms, "ms")):
            value = summary.get(key)
            if value is None or value > limit:
                out.append(f"{key} {_shown(value)} {unit} > {limit:g} {unit}")
        for key, limit in (("error_rate", self.error_rate), ("late_rate", self.late_rate)):
            if summary[key] > limit:
                out.append(f"{key} {summary[key]:.4f} > {limit:g}")
        for key, count in (("lost", self.lost), ("duplicated", self.duplicated)):
            if summary[key] > count:
                out.append(f"{key} {summary[key]} > {count}")
        return out


def _shown(value: float | None) -> str:
    return "n/a (no upload answered)" if value is None else f"{value:.1f}"


def load(path: Path | None) -> Thresholds:
    """The thresholds in ``path`` (the defaults when none), or a one-line UsageProblem."""
    if path is None:
        return Thresholds()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageProblem(f"cannot read --thresholds {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"--thresholds {path} is not YAML or JSON: {str(exc).splitlines()[0]}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise UsageProblem(f"--thresholds {path} must be a mapping of marks (p95_ms: 500, lost: 0, …)")
    try:
        return Thresholds.model_validate(doc)
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise UsageProblem(f"--thresholds {path}: {wrong}") from None
