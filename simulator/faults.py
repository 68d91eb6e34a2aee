"""Fault injection: rules per tenant and method, scheduled on the simulator clock — latency,
HTTP 5xx, -5 bursts, connection reset, read timeout (no answer), async results stuck at 0 or
failing with a message, and maintenance windows. Each injected fault is reported so the
inspection log can pair it with what the client did next."""

from __future__ import annotations

import random
import threading
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["latency", "http_error", "rate_limit", "reset", "timeout", "async_stuck", "async_fail", "maintenance"]
KINDS: tuple[str, ...] = (
    "latency",
    "http_error",
    "rate_limit",
    "reset",
    "timeout",
    "async_stuck",
    "async_fail",
    "maintenance",
)
TRANSPORT_KINDS = {"latency", "http_error", "reset", "timeout", "maintenance"}


@dataclass
class Fault:
    kind: str
    appid: str | None = None  # None: every tenant
    method: str | None = None  # None: every method (case-insensitive)
    start: float | None = None  # simulator timestamps; None: open-ended
    end: float | None = None
    count: int | None = None  # how many times it fires; None: unlimited
    probability: float = 1.0
    latency_ms: float = 0.0  # latency: fixed part
    jitter_ms: float = 0.0  # latency: random extra in [0, jitter]
    status: int = 503  # http_error
    message: str = "处理失败"  # async_fail
    timeout_s: float = 60.0  # timeout: how long the answer is withheld (bounded)
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
        return asdict(self)


class FaultError(ValueError):
    """A fault rule is malformed."""


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    _next: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spec: dict[str, Any]) -> Fault:
        if spec.get("kind") not in KINDS:
            raise FaultError(f"kind must be one of {', '.join(KINDS)}")
        known = set(Fault.__dataclass_fields__) - {"id", "fired"}
        unknown = set(spec) - known
        if unknown:
            raise FaultError(f"unknown fields {sorted(unknown)}")
        try:
            fault = Fault(**spec)
        except TypeError as exc:
            raise FaultError(str(exc)) from None
        if not 0 <= fault.probability <= 1 or fault.timeout_s > 300 or fault.latency_ms + fault.jitter_ms > 300_000:
            raise FaultError("probability is 0–1, timeout at most 300 s, latency at most 300 s")
        with self._lock:
            fault.id = self._next
            self._next += 1
            self.rules.append(fault)
        return fault

    def remove(self, fault_id: int | None = None) -> None:
        with self._lock:
            self.rules = [] if fault_id is None else [f for f in self.rules if f.id != fault_id]

    def pick(self, appid: str, method: str, now: float, kinds: Collection[str]) -> Fault | None:
        """The first matching rule of the given kinds that fires now (its counter advances)."""
        if not self.rules:
            return None
        with self._lock:
            for fault in self.rules:
                if fault.kind in kinds and fault.matches(appid, method, now) and self.rng.random() < fault.probability:
                    fault.fired += 1
                    return fault
        return None

    def delay_s(self, fault: Fault) -> float:
        return (fault.latency_ms + self.rng.random() * fault.jitter_ms) / 1000
