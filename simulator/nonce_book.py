"""Replay memory on SQLite: the nonces each appid sent within the window, decided in memory and
logged append-only (``nonce_log``), so a write no longer inserts a random key into a B-tree.

On SQLite one process serves a file (``--workers`` needs PostgreSQL, which keeps the shared
``nonces`` upsert) and its writers are serialised by the store's write lock, under which every
call here runs. A random key dirtied one B-tree page per request, which COMMIT then wrote to the
WAL: about 45 µs of CPU per upload at 50,000 remembered nonces (``benchmarks/sim_commit.py``).
The log is read back on first use, so replays are still refused after a restart.
"""

from __future__ import annotations

from collections import deque
from typing import Any

Key = tuple[str, str]
LOG_INSERT = "INSERT INTO nonce_log (appid, nonce, seen_at) VALUES (?, ?, ?)"
LOG_READ = "SELECT appid, nonce, seen_at FROM nonce_log ORDER BY seen_at"
PRUNE_MARGIN_S = 60.0  # kept past the window, as upkeep keeps the log's rows


class NonceBook:
    def __init__(self) -> None:
        self._seen: dict[Key, float] = {}
        self._order: deque[tuple[float, Key]] = deque()  # arrival order, to forget expired keys
        self._added: list[tuple[Key, float]] = []  # this transaction's, undone on rollback
        self._loaded = False

    def remember(self, cursor: Any, appid: str, nonce: str, now: float, window: float) -> bool:
        """True when the nonce is new for ``appid`` (or last seen outside the window), and then
        logged in the caller's transaction. The caller holds the store's write lock."""
        if not self._loaded:
            self._load(cursor)
        key = (appid, nonce)
        last = self._seen.get(key)
        if last is not None and last >= now - window:
            return False
        self._seen[key] = now
        self._order.append((now, key))
        self._added.append((key, now))
        cursor.execute(LOG_INSERT, (appid, nonce, now))
        self._forget(now - window - PRUNE_MARGIN_S)
        return True

    def settle(self, committed: bool) -> None:
        """The transaction ended: keep what it added, or forget it (it was never stored)."""
        if not committed:
            for key, at in self._added:
                if self._seen.get(key) == at:
                    del self._seen[key]
        self._added = []

    def clear(self) -> None:
        """Forget the memory (the admin reset deletes the log); the log is read again at the next
        use, so a reset that rolls back loses nothing."""
        self._seen = {}
        self._order.clear()
        self._added = []
        self._loaded = False

    def __len__(self) -> int:
        return len(self._seen)

    def _load(self, cursor: Any) -> None:
        cursor.execute(LOG_READ)
        for appid, nonce, at in cursor.fetchall():
            self._seen[(appid, nonce)] = at
            self._order.append((at, (appid, nonce)))
        self._loaded = True

    def _forget(self, cutoff: float) -> None:
        order, seen = self._order, self._seen
        while order and order[0][0] < cutoff:
            at, key = order.popleft()
            if seen.get(key) == at:
                del seen[key]
