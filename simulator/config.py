"""Simulator settings: strictness profile, windows, async delay, limits and test-only defects."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from standard.profile import STRICT, Profile

# Realistic platform bugs a conformance plan must catch (issue 5); switched on with --defect.
DEFECTS = {
    "accept-bad-signature": "accepts any signature",
    "ignore-timestamp-window": "ignores the timestamp window",
    "accept-replayed-nonce": "accepts a replayed nonce",
    "plaintext-id-in-rows": "returns ID numbers unencrypted in query rows",
    "worker-list-6": "accepts a workerList of 6",
    "page-index-one-based": "treats pageIndex as 1-based",
    "accept-future-dates": "accepts future dates",
    "leak-other-tenant": "lets an appid read another tenant's project",
    "duplicate-worker-succeeds": "returns status 20 for a duplicate worker",
    "page-size-unbounded": "accepts pageSize over 50",
    "attendance-list-21": "accepts a dataList of 21",
    "accept-aes128": "accepts the AES-128 outlier encryption",
    "result-without-team-sys-no": "answers Team.Add status 20 without teamSysNo",
    "duplicate-team-succeeds": "accepts a duplicate team name",
}


@dataclass
class Settings:
    profile: Profile = STRICT
    async_delay: float = 1.0  # seconds of simulator time with status 0 before the final status
    timestamp_window: float | None = 600.0  # ±seconds; None switches the check off
    nonce_window: float | None = 600.0  # seconds a nonce is remembered; None switches replay checks off
    max_body: int = 8 * 1024 * 1024  # bytes; larger bodies are refused before being read whole
    diagnostics: bool = True  # append the signature explainer's sentence to -2 answers
    defects: frozenset[str] = field(default_factory=frozenset)
    traffic_retention: int = 10_000  # inspection-log entries kept per process

    def defect(self, name: str) -> bool:
        return name in self.defects


def new_admin_token() -> str:
    """A token for the admin API (one per server, shared by its worker processes)."""
    return secrets.token_urlsafe(24)
