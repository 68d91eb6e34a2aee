"""Strictness profiles for the points the specification leaves uncertain (spec README table).

``strict`` is the standard as written (the default); ``lenient`` is what the real platform is
known or believed to accept. Every switch is documented in docs/strictness.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    case_insensitive_keys: bool = False  # `Specialty` vs `specialty`, `PayBankCardNumber`
    direction_as_int: bool = False  # attendance direction 1/2 instead of "01"/"02"
    attendance_millis: bool = False  # attendance date with .fff
    all_id_types: bool = False  # ProjectWorker.Add idCardType other than 01
    head_image_url: bool = False  # headImage given as an HTTP URL
    page_index_one_based: bool = False
    aes128_fallback: bool = False  # decrypt with the AES-128 outlier when AES-256 fails
    attendance_before_entry: bool = False  # accept attendance for a worker with no entry record

    def with_(self, **changes: Any) -> Profile:
        return replace(self, **changes)


STRICT = Profile("strict")
LENIENT = Profile(
    "lenient",
    case_insensitive_keys=True,
    direction_as_int=True,
    attendance_millis=True,
    all_id_types=True,
    head_image_url=True,
    page_index_one_based=True,
    aes128_fallback=True,
    attendance_before_entry=True,
)
PROFILES: dict[str, Profile] = {p.name: p for p in (STRICT, LENIENT)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
