"""Fault injection: rules per tenant and method, scheduled on the simulator clock — latency,
HTTP 5xx, -5 bursts, connection reset, read timeout (no answer), async results stuck at 0 or
failing with a message, and maintenance windows. Each injected fault is reported so the
inspection log can pair it with what the client did next."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Kind = Literal["latency", "http_error", "rate_limit", "reset", "timeout", "async_stuck", "async_fail", "maintenance"]
KINDS: tuple[str, ...] = get_args(Kind)
MAX_LATENCY_MS = 300_000

# Where a fault strikes: on arrival, before anything is read (transport); after the checks, as
# the platform's -5 (rate); on an accepted asynchronous write, in the job it leaves (async).
Stage = Literal["transport", "rate", "async"]
STAGE_OF: dict[str, Stage] = {
    "latency": "transport",
    "http_error": "transport",
    "reset": "transport",
    "timeout": "transport",
    "maintenance": "transport",
    "rate_limit": "rate",
    "async_stuck": "async",
    "async_fail": "async",
}
TRANSPORT_KINDS = frozenset(kind for kind, stage in STAGE_OF.items() if stage == "transport")


class FaultSpec(BaseModel):
    """A fault rule as it is asked for (``POST /admin/api/faults``); the admin API's document is
    generated from this model, so what it says and what is accepted cannot differ."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind
    appid: str | None = Field(None, description="only this tenant; none: every tenant")
    method: str | None = Field(None, description="only this method (case-insensitive); none: every method")
    start: float | None = Field(None, description="from this simulator timestamp; none: now")
    end: float | None = Field(None, description="until this simulator timestamp; none: open-ended")
    count: Annotated[int, Field(ge=0)] | None = Field(None, description="how many times it fires; none: unlimited")
    probability: Annotated[float, Field(ge=0, le=1)] = 1.0
    latency_ms: Annotated[float, Field(ge=0, le=MAX_LATENCY_MS)] = Field(0.0, description="latency: fixed part")
    jitter_ms: Annotated[float, Field(ge=0, le=MAX_LATENCY_MS)] = Field(
        0.0, description="latency: random extra in [0, jitter]"
    )
    status: Annotated[int, Field(ge=500, le=599)] = Field(503, description="http_error: the HTTP status")
    message: Annotated[str, Field(max_length=200)] = Field("处理失败", description="async_fail: the failure message")
    timeout_s: Annotated[float, Field(ge=0, le=300)] = Field(
        60.0, description="timeout: how long the answer is withheld"
    )

    @model_validator(mode="after")
    def _bounded_latency(self) -> FaultSpec:
        if self.latency_ms + self.jitter_ms > MAX_LATENCY_MS:
            raise ValueError("latency_ms + jitter_ms is at most 300000 (300 s)")
        return self


class Fault(FaultSpec):
    """A rule in force: its spec, its id and how often it has fired."""

    id: int = 0
    fired: int = 0

    def matches(self, appid: str, method: str, now: float) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if (self.start is not None and now < self.start) or (self.end is not None and now >= self.end):
            return False
        if self.appid is not None and self.appid != appid:
            return False
        return self.method is None or self.method.lower() == method.lower()

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


class FaultError(ValueError):
    """A fault rule is malformed."""


def problems(exc: ValidationError) -> str:
    """A validation error as one line: ``field: what is wrong; …``."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    _next: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spec: dict[str, Any] | FaultSpec) -> Fault:
        try:
            checked = spec if isinstance(spec, FaultSpec) else FaultSpec.model_validate(spec)
        except ValidationError as exc:
            raise FaultError(problems(exc)) from None
        fault = Fault(**checked.model_dump())
        with self._lock:
            fault.id = self._next
            self._next += 1
            self.rules.append(fault)
        return fault

    def remove(self, fault_id: int | None = None) -> None:
        with self._lock:
            self.rules = [] if fault_id is None else [f for f in self.rules if f.id != fault_id]

    def pick(self, stage: Stage, appid: str, method: str, now: float) -> Fault | None:
        """The one place a fault is chosen: the first rule of ``stage`` that matches the request
        and fires now (its counter advances); None at once when no rule is configured."""
        if not self.rules:
            return None
        with self._lock:
            for fault in self.rules:
                if (
                    STAGE_OF[fault.kind] == stage
                    and fault.matches(appid, method, now)
                    and self.rng.random() < fault.probability
                ):
                    fault.fired += 1
                    return fault
        return None

    def delay_s(self, fault: Fault) -> float:
        return (fault.latency_ms + self.rng.random() * fault.jitter_ms) / 1000
