"""Background upkeep while the server runs: forget nonces that left the replay window and rate
windows that are over (both tables would otherwise grow for ever, and a growing random-key index
slows every write), and checkpoint the SQLite WAL from a thread of its own, so that the commit of
a request never pays for a checkpoint."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import delete, text

from simulator.clock import Clock
from simulator.config import Settings
from simulator.nonce_book import PRUNE_MARGIN_S
from simulator.store import Store, nonce_log, nonces, rate_hits

log = logging.getLogger("jzgr.simulator")


class Upkeep:
    def __init__(self, store: Store, settings: Settings, clock: Clock, interval: float = 1.0) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="jzgr-upkeep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run_once(self) -> None:
        now = self.clock.timestamp()
        window = self.settings.nonce_window
        # Only rows no check can need any more: a nonce older than the window is accepted again
        # anyway, and rate windows are minutes.
        with self.store.tx() as conn:
            if window is not None:
                cutoff = now - window - PRUNE_MARGIN_S
                conn.execute(delete(nonces).where(nonces.c.seen_at < cutoff))
                conn.execute(delete(nonce_log).where(nonce_log.c.seen_at < cutoff))
            conn.execute(delete(rate_hits).where(rate_hits.c.window < int(now // 60) - 1))
        if self.store.engine.dialect.name == "sqlite":
            with self.store.engine.connect() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
        self.rounds += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # upkeep must never take the server down; it tries again
                log.exception("upkeep failed")
