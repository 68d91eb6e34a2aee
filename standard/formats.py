"""Text formats of the data standard: phones, bank cards, dates, URLs, Base64 images
(data.md §5.4–5.7)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
ZIP_RE = re.compile(r"^\d{6}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
WEBSITE_RE = re.compile(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/.*)?$", re.IGNORECASE)
PERSONAL_CARD_RE = re.compile(r"^\d{12,19}$")
ENTERPRISE_ACCOUNT_RE = re.compile(r"^\d{8,30}$")
CNAPS_RE = re.compile(r"^\d{12}$")
AREA_CODE_RE = re.compile(r"^\d{6}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATETIME_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3}$")
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
DATA_URI_RE = re.compile(r"^data:image/([a-zA-Z]+);base64,", re.IGNORECASE)


def is_mobile(value: str) -> bool:
    return bool(MOBILE_RE.match(value))


def is_phone(value: str) -> bool:
    return bool(MOBILE_RE.match(value) or LANDLINE_RE.match(value))


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    for d in "0123456789":
        if luhn_ok(partial + d):
            return d
    raise AssertionError("unreachable")  # pragma: no cover


# The regexes fix the exact shape; fromisoformat (C, much faster than strptime on the hot path)
# then checks the calendar.


def parse_date(value: str) -> date:
    if not DATE_RE.match(value):
        raise ValueError("yyyy-MM-dd")
    return date.fromisoformat(value)


def parse_datetime(value: str, allow_millis: bool = False) -> datetime:
    if DATETIME_RE.match(value) or (allow_millis and DATETIME_MS_RE.match(value)):
        if "." in value:
            head, _, frac = value.partition(".")
            return datetime.fromisoformat(head).replace(microsecond=int(frac.ljust(3, "0")) * 1000)
        return datetime.fromisoformat(value)
    raise ValueError("yyyy-MM-dd HH:mm:ss")


def parse_date_or_datetime(value: str) -> datetime:
    """Subcontractor times: ``yyyy-MM-dd HH:mm:ss`` per WEDS/XN, ``yyyy-MM-dd`` per GD."""
    if DATE_RE.match(value):
        return datetime.fromisoformat(value)
    return parse_datetime(value)


def parse_month(value: str) -> tuple[int, int]:
    if not MONTH_RE.match(value):
        raise ValueError("yyyy-MM")
    year, month = int(value[:4]), int(value[5:])
    if not 1 <= month <= 12:
        raise ValueError("yyyy-MM")
    return year, month


class ImageError(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # "format" or "size"


IMAGE_TYPES = ("jpg", "jpeg", "png")


def decode_image(value: str, max_bytes: int, allowed: tuple[str, ...] = IMAGE_TYPES) -> bytes:
    """Decode a Base64 image (data-URI prefix allowed) and check type and size.

    The 50 KB limit is applied to the decoded bytes (the spec leaves open whether the Base64 text
    or the bytes count; we document the decoded-bytes reading, which is the laxer one)."""
    body = value
    match = DATA_URI_RE.match(value)
    if match:
        if match.group(1).lower() not in allowed:
            raise ImageError("format")
        body = value[match.end() :]
    raw = _base64_within(body, max_bytes)
    kind = sniff_image(raw)
    if kind is None or kind not in allowed:
        raise ImageError("format")
    return raw


def sniff_image(raw: bytes) -> str | None:
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if raw.startswith(b"BM"):
        return "bmp"
    return None


def decode_base64_blob(value: str, max_bytes: int) -> bytes:
    """Attachment ``data``: any file type, Base64 (data-URI prefix allowed), size-limited."""
    body = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    return _base64_within(body, max_bytes)


def _base64_within(body: str, max_bytes: int) -> bytes:
    """Base64 text (whitespace allowed) decoded, no more than ``max_bytes`` long."""
    try:
        raw = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError("format") from exc
    if len(raw) > max_bytes:
        raise ImageError("size")
    return raw
