"""The inspection log: every request and answer with tenant, method, decoded data (secrets and
ID/card numbers masked), timings, the verdict of each check, the received keys that were not
read as sent, the async status answered and any injected fault. Bounded, in
memory per process; exportable as JSON Lines."""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from standard import methods, payload
from standard.envelope import BEIJING
from standard.payload import KeyNote

MASKED_FORM_KEYS = {"appsecret": "***", "sign": None, "corpsign": None}


def mask_number(value: str) -> str:
    """``371402198506120034`` → ``3714**********0034``."""
    return value if len(value) <= 8 else value[:4] + "*" * (len(value) - 8) + value[-4:]


def masked_data(method: str, data: Any) -> Any:
    """Mask every field the standard encrypts (ID and card numbers) in decoded data."""
    spec = methods.get(method)
    if spec is None or not isinstance(data, dict):
        return data
    return payload.transform(spec.request, data, lambda v, _p: mask_number(v))


def masked_form(form: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, value in form.items():
        if key in MASKED_FORM_KEYS:
            out[key] = MASKED_FORM_KEYS[key] or (value[:8] + "…" if len(value) > 8 else value)
        elif key == "data":
            out[key] = value[:2000]
        else:
            out[key] = value
    return out


@dataclass(slots=True)  # ten thousand of them are kept
class Entry:
    id: int
    at_s: float  # simulator time, epoch seconds
    client_ip: str
    appid: str
    method: str
    code: int | None
    message: str
    check_id: str
    # check id, verdict, check id, verdict…: one flat tuple of strings, which the cyclic garbage
    # collector stops tracking at its first look (a list of pairs stayed tracked, eight objects
    # per request walked by every collection while the entry lives)
    verdicts: tuple[str, ...]
    form: dict[str, str]  # as received; masked by to_json
    data: Any  # decoded plaintext, when the request got that far; masked by to_json
    duration_ms: float
    http_status: int = 200
    fault: dict[str, Any] | None = None  # the injected fault, when one was
    serial: str | None = None  # requestSerialCode given or asked about
    keys: tuple[KeyNote, ...] = ()  # received keys not read as sent: ignored, near misses, case-matched
    async_status: int | None = None  # the status an AsyncHandleResult.Query answered (0, 10, 20)

    @property
    def at(self) -> str:
        """Simulator time, ISO 8601 in Beijing time (formatted when looked at, not per request)."""
        return datetime.fromtimestamp(self.at_s, BEIJING).isoformat(timespec="milliseconds")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "client_ip": self.client_ip,
            "appid": self.appid,
            "method": self.method,
            "code": self.code,
            "message": self.message,
            "check_id": self.check_id,
            "verdicts": [
                {"check": c, "verdict": v} for c, v in zip(self.verdicts[::2], self.verdicts[1::2], strict=True)
            ],
            "form": masked_form(self.form),
            "data": masked_data(self.method, self.data),
            "duration_ms": round(self.duration_ms, 2),
            "http_status": self.http_status,
            "fault": self.fault,
            "serial": self.serial,
            "keys": [note.to_json() for note in self.keys],
            "async_status": self.async_status,
        }


@dataclass
class TrafficLog:
    retention: int = 10_000
    _entries: deque[Entry] = field(init=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._entries = deque(maxlen=self.retention)

    def add(self, entry: Entry) -> Entry:
        """Number ``entry`` and keep it (the oldest goes when the log is full)."""
        with self._lock:
            entry.id = next(self._ids)
            self._entries.append(entry)
        return entry

    def query(
        self,
        *,
        appid: str | None = None,
        method: str | None = None,
        since_id: int = 0,
        limit: int = 200,
        newest_first: bool = True,
    ) -> list[Entry]:
        with self._lock:
            items: Iterable[Entry] = list(self._entries)
        picked = [
            e
            for e in items
            if e.id > since_id
            and (appid is None or e.appid == appid)
            and (method is None or e.method.lower() == method.lower())
        ]
        if newest_first:
            picked.reverse()
        return picked[:limit]

    def jsonl(self, **filters: Any) -> str:
        rows = self.query(newest_first=False, limit=self.retention, **filters)
        return "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in rows)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
