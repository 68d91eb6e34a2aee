"""Waivers: check ids excused with a reason until an expiry date. A waived check is reported as
waived, never as passed; an expired waiver is ignored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Waiver:
    check: str
    reason: str
    expires: date

    def active(self, today: date) -> bool:
        return today <= self.expires


class WaiverError(ValueError):
    """The waiver file is malformed."""


def load(path: Path) -> list[Waiver]:
    """YAML: ``waivers: [{check: SIG-05, reason: "…", expires: 2027-01-31}]``."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise WaiverError(f"{path}: {exc}") from None
    items = doc.get("waivers", []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise WaiverError(f"{path}: expected a mapping with a 'waivers' list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not {"check", "reason", "expires"} <= item.keys():
            raise WaiverError(f"{path}: waiver {i} needs check, reason and expires")
        expires = item["expires"]
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                raise WaiverError(f"{path}: waiver {i}: expires must be YYYY-MM-DD") from None
        if not isinstance(expires, date):
            raise WaiverError(f"{path}: waiver {i}: expires must be a date")
        if not str(item["reason"]).strip():
            raise WaiverError(f"{path}: waiver {i}: a reason is required")
        out.append(Waiver(str(item["check"]), str(item["reason"]), expires))
    return out


def active(waivers: list[Waiver], today: date) -> dict[str, Waiver]:
    return {w.check: w for w in waivers if w.active(today)}
