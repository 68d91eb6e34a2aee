"""Replay memory on SQLite: the nonces each appid sent within the window, decided in memory and
logged append-only (``nonce_log``), so a write no longer inserts a random key into a B-tree.

On SQLite one process serves a file (``--workers`` needs PostgreSQL, which keeps the shared
``nonces`` upsert) and its writers are serialised by the store's write lock, under which every
call here runs. A random key dirtied one B-tree page per request, which COMMIT then wrote to the
WAL: about 45 µs of CPU per upload at 50,000 remembered nonces (``benchmarks/sim_commit.py``).
The log is read back on first use, so replays are still refused after a restart.

The memory holds no tuples: keys are strings and arrival order two deques of floats and strings.
A remembered nonce then gives the cyclic garbage collector nothing to track, where a tuple key
and an order tuple per request had it walk millions of them (benchmarks/README.md).
"""

from __future__ import annotations

from collections import deque
from typing import Any

SEPARATOR = "\x00"  # in neither an appid nor a nonce (printable ASCII, ENV-03)
LOG_INSERT = "INSERT INTO nonce_log (appid, nonce, seen_at) VALUES (?, ?, ?)"
LOG_READ = "SELECT appid, nonce, seen_at FROM nonce_log ORDER BY seen_at"
PRUNE_MARGIN_S = 60.0  # sightings kept past the window, here and by upkeep in the tables


class NonceBook:
    def __init__(self) -> None:
        self._seen: dict[str, float] = {}  # appid SEPARATOR nonce -> last seen (epoch seconds)
        # arrival order, to forget expired keys: two deques, not one of tuples (see above)
        self._times: deque[float] = deque()
        self._keys: deque[str] = deque()
        self._added: list[tuple[str, float]] = []  # this transaction's, undone on rollback
        self._loaded = False

    def remember(
        self, cursor: Any, appid: str, nonce: str, now: float, window: float, log: list[Any] | None = None
    ) -> bool:
        """True when the nonce is new for ``appid`` (or last seen outside the window), and then
        logged in the caller's transaction: at once, or appended to ``log`` for the caller to
        insert with the batch's other rows (``LOG_INSERT``) before it commits. The caller holds
        the store's write lock."""
        if not self._loaded:
            self._load(cursor)
        key = appid + SEPARATOR + nonce
        last = self._seen.get(key)
        if last is not None and last >= now - window:
            return False
        self._seen[key] = now
        self._times.append(now)
        self._keys.append(key)
        self._added.append((key, now))
        if log is None:
            cursor.execute(LOG_INSERT, (appid, nonce, now))
        else:
            log.append((appid, nonce, now))
        self._forget(now - window - PRUNE_MARGIN_S)
        return True

    def settle(self, committed: bool) -> None:
        """The transaction ended: keep what it added, or forget it (it was never stored)."""
        if not committed:  # their places in the order are skipped by _forget (the times differ)
            for key, at in self._added:
                if self._seen.get(key) == at:
                    del self._seen[key]
        self._added = []

    def clear(self) -> None:
        """Forget the memory (the admin reset deletes the log); the log is read again at the next
        use, so a reset that rolls back loses nothing."""
        self._seen = {}
        self._times.clear()
        self._keys.clear()
        self._added = []
        self._loaded = False

    def __len__(self) -> int:
        return len(self._seen)

    def _load(self, cursor: Any) -> None:
        cursor.execute(LOG_READ)
        for appid, nonce, at in cursor.fetchall():
            key = appid + SEPARATOR + nonce
            self._seen[key] = at
            self._times.append(at)
            self._keys.append(key)
        self._loaded = True

    def _forget(self, cutoff: float) -> None:
        times, keys, seen = self._times, self._keys, self._seen
        while times and times[0] < cutoff:
            at, key = times.popleft(), keys.popleft()
            if seen.get(key) == at:
                del seen[key]
