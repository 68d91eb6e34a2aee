"""The record of everything a fleet did: device actions, requests received and sent, as JSON Lines.

A plan compares it with the platform's inspection log ("what happened at the gate" against "what
reached the platform"), so every entry carries the device id, a monotonic sequence and wall time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


class Journal:
    """Append-only; bounded in memory (``keep`` newest entries), complete on disk when given a path."""

    def __init__(self, path: Path | None = None, *, keep: int = 100_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._seq = 0
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def record(self, device: str, kind: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, "at": round(time.time(), 6), "device": device, "kind": kind, **fields}
            self._entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        return entry

    def entries(self, device: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._entries)
        return [e for e in items if (device is None or e["device"] == device) and (kind is None or e["kind"] == kind)]

    def lines(self) -> Iterator[str]:
        for entry in self.entries():
            yield json.dumps(entry, ensure_ascii=False, default=str)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
