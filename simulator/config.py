"""Simulator settings: strictness profile, windows, async delay, limits and test-only defects."""

from __future__ import annotations

import enum
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


class KeyMatch(enum.StrEnum):
    """How the keys inside ``data`` are matched to the standard's field names (docs/strictness.md).
    Exact is the spec's default (``Specialty`` as published); case-insensitive is how fastjson
    binds JSON keys by default (Jackson with ``ACCEPT_CASE_INSENSITIVE_PROPERTIES``)."""

    EXACT = "exact"
    CASE_INSENSITIVE = "case-insensitive"


@dataclass
class Settings:
    profile: Profile = STRICT
    async_delay: float = 1.0  # seconds of simulator time with status 0 before the final status
    timestamp_window: float | None = 600.0  # ±seconds; None switches the check off
    nonce_window: float | None = 600.0  # seconds a nonce is remembered; None switches replay checks off
    max_body: int = 8 * 1024 * 1024  # bytes; larger bodies are refused before being read whole
    diagnostics: bool = True  # explain -2 (the signature), TS-01 (the offset) and -1 (keys not read, undecryptable)
    defects: frozenset[str] = field(default_factory=frozenset)
    traffic_retention: int = 10_000  # inspection-log entries kept per process
    key_match: KeyMatch | None = None  # None: the profile's (strict exact, lenient case-insensitive)
    _parse_profile: tuple[Profile, KeyMatch, Profile] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def defect(self, name: str) -> bool:
        return name in self.defects

    def parse_profile(self) -> Profile:
        """The profile the payload pipeline runs with: ``profile`` with ``key_match`` applied."""
        profile, match = self.profile, self.key_match
        if match is None:
            return profile
        cached = self._parse_profile
        if cached is None or cached[0] is not profile or cached[1] is not match:  # dataclass replace is slow
            cached = (profile, match, profile.with_(case_insensitive_keys=match is KeyMatch.CASE_INSENSITIVE))
            self._parse_profile = cached
        return cached[2]


def new_admin_token() -> str:
    """A token for the admin API (one per server, shared by its worker processes)."""
    return secrets.token_urlsafe(24)
