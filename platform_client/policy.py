"""Retry and polling policies: jittered exponential backoff under a deadline."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Transport errors, HTTP 5xx and code -5 are retried; -1…-4 never are."""

    deadline: float = 60.0  # seconds for one logical call, retries included
    initial: float = 0.5
    factor: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.5  # each delay is scaled by a random factor in [1 - jitter, 1]
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        base = min(self.max_delay, self.initial * self.factor**attempt)
        return base * (1 - self.jitter * self.rng.random())


@dataclass(frozen=True)
class PollPolicy:
    """How ``AsyncHandleResult.Query`` is polled until status 20 or 10."""

    first_delay: float = 0.5
    factor: float = 1.5
    max_interval: float = 5.0
    deadline: float = 120.0

    def interval(self, attempt: int) -> float:
        return min(self.max_interval, self.first_delay * self.factor**attempt)
