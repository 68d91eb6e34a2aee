"""The simulator's controllable clock: real time, shifted and/or sped up, or frozen — so tests
set "now" instead of sleeping (timestamp windows, future-date rules, async delays)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from standard.envelope import BEIJING


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # serialises changes; readers take the anchor tuple whole
        real = time.time()
        self._anchor: tuple[float, float, float] = (real, real, 1.0)  # real, simulated, speed

    def timestamp(self) -> float:
        real, simulated, speed = self._anchor  # one read: a change replaces the tuple whole
        return simulated + (time.time() - real) * speed

    def now(self) -> datetime:
        """Aware Beijing time."""
        return datetime.fromtimestamp(self.timestamp(), BEIJING)

    def set(self, moment: datetime, speed: float | None = None) -> None:
        with self._lock:
            self._anchor = (time.time(), moment.timestamp(), self._anchor[2] if speed is None else speed)

    def advance(self, seconds: float) -> None:
        self.set(self.now() + timedelta(seconds=seconds))

    @property
    def speed(self) -> float:
        return self._anchor[2]

    def set_speed(self, speed: float) -> None:
        self.set(self.now(), speed)

    def freeze(self) -> None:
        self.set_speed(0.0)

    def reset(self) -> None:
        with self._lock:
            real = time.time()
            self._anchor = (real, real, 1.0)
