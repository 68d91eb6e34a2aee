"""The simulator's controllable clock: real time, shifted and/or sped up, or frozen — so tests
set "now" instead of sleeping (timestamp windows, future-date rules, async delays)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from standard.envelope import BEIJING


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._anchor_real = time.time()
        self._anchor_sim = self._anchor_real
        self._speed = 1.0

    def timestamp(self) -> float:
        with self._lock:
            return self._anchor_sim + (time.time() - self._anchor_real) * self._speed

    def now(self) -> datetime:
        """Aware Beijing time."""
        return datetime.fromtimestamp(self.timestamp(), BEIJING)

    def set(self, moment: datetime, speed: float | None = None) -> None:
        with self._lock:
            self._anchor_real = time.time()
            self._anchor_sim = moment.timestamp()
            if speed is not None:
                self._speed = speed

    def advance(self, seconds: float) -> None:
        self.set(self.now() + timedelta(seconds=seconds))

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def set_speed(self, speed: float) -> None:
        self.set(self.now(), speed)

    def freeze(self) -> None:
        self.set_speed(0.0)

    def reset(self) -> None:
        with self._lock:
            self._anchor_real = self._anchor_sim = time.time()
            self._speed = 1.0
