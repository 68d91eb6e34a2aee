"""The chip's 256-byte text block, laid out: the slots of each card family (UCS-2 little-endian, space-
padded) and the field formats (``YYYYMMDD``, 长期), with the error every card problem raises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

BLOCK_SIZE = 256
FLAG_OFFSET = 248  # bytes 248–249: the card-type flag
LONG_TERM = "长期"


class CardDataError(ValueError):
    """A value that does not fit the chip (too long, not UCS-2, bad date) or a malformed card JSON."""


@dataclass(frozen=True)
class Slot:
    name: str
    offset: int
    width: int  # bytes; a slot holds width // 2 UCS-2 characters

    @property
    def chars(self) -> int:
        return self.width // 2

    @property
    def end(self) -> int:
        return self.offset + self.width


def _layout(*slots: tuple[str, int]) -> dict[str, Slot]:
    out: dict[str, Slot] = {}
    offset = 0
    for name, width in slots:
        out[name] = Slot(name, offset, width)
        offset += width
    assert offset == BLOCK_SIZE, offset
    assert out["flag"].offset == FLAG_OFFSET
    return out


# Resident card: name 30, sex 2, nation 4, birth 16, address 70, ID number 36, authority 30,
# valid from 16, valid to 16, reserved 36 (whose bytes 248–249 are the type flag).
RESIDENT_LAYOUT = _layout(
    ("name", 30),
    ("sex", 2),
    ("nation", 4),
    ("birth", 16),
    ("address", 70),
    ("id_number", 36),
    ("authority", 30),
    ("valid_from", 16),
    ("valid_to", 16),
    ("reserved", 28),
    ("flag", 2),
    ("reserved_tail", 6),
)

# Foreigner permanent-residence card, 2017 layout (flag I).
FOREIGN_2017_LAYOUT = _layout(
    ("english_name", 120),
    ("sex", 2),
    ("permit_number", 30),
    ("nationality", 6),
    ("chinese_name", 30),
    ("valid_from", 16),
    ("valid_to", 16),
    ("birth", 16),
    ("card_version", 4),
    ("authority_code", 8),
    ("flag", 2),
    ("reserved", 6),
)

# Foreigner permanent-residence card, 2023 (flag Y). RECONSTRUCTION [L]: the 18-digit number needs
# 36 bytes, which the 2017 layout lacks; vendor SDKs list the 2023 card like the resident card
# (Chinese name, sex, renewal count, birth, English name, number, authority, validity) followed by
# the rest of the English name and the nationality. Verify against a real card before relying on it.
FOREIGN_2023_LAYOUT = _layout(
    ("chinese_name", 30),
    ("sex", 2),
    ("renewal_count", 4),
    ("birth", 16),
    ("english_name", 70),
    ("permit_number", 36),
    ("authority", 30),
    ("valid_from", 16),
    ("valid_to", 16),
    ("english_name_more", 22),
    ("nationality", 6),
    ("flag", 2),
    ("reserved", 6),
)

# 港澳台居民居住证 (flag J): the resident layout with the nation slot reserved, then the pass
# number (18 B) and the issue count (4 B).
HMT_LAYOUT = _layout(
    ("name", 30),
    ("sex", 2),
    ("reserved_nation", 4),
    ("birth", 16),
    ("address", 70),
    ("id_number", 36),
    ("authority", 30),
    ("valid_from", 16),
    ("valid_to", 16),
    ("pass_number", 18),
    ("issue_count", 4),
    ("reserved", 6),
    ("flag", 2),
    ("reserved_tail", 6),
)


def pack(layout: dict[str, Slot], values: dict[str, str]) -> bytes:
    block = bytearray(" ".encode("utf-16-le") * (BLOCK_SIZE // 2))
    for name, value in values.items():
        slot = layout[name]
        if len(value) > slot.chars:
            raise CardDataError(f"{name} {value!r} is longer than {slot.chars} characters ({slot.width} bytes)")
        if any(ord(ch) > 0xFFFF or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            raise CardDataError(f"{name} {value!r} has a character outside UCS-2")
        block[slot.offset : slot.end] = value.ljust(slot.chars).encode("utf-16-le")
    return bytes(block)


def unpack(layout: dict[str, Slot], block: bytes) -> dict[str, str]:
    return {
        name: block[slot.offset : slot.end].decode("utf-16-le", errors="replace").rstrip(" \x00")
        for name, slot in layout.items()
    }


def ymd(value: date) -> str:
    return f"{value:%Y%m%d}"


def parse_ymd(text: str, what: str) -> date:
    digits = text.replace("-", "").strip()
    if not re.fullmatch(r"\d{8}", digits):
        raise CardDataError(f"{what} {text!r} is not a date (YYYYMMDD or YYYY-MM-DD)")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise CardDataError(f"{what} {text!r} is not a calendar date") from exc


def valid_to_text(value: date | None) -> str:
    return LONG_TERM if value is None else ymd(value)


def parse_valid_to(text: str) -> date | None:
    return None if text.strip() in (LONG_TERM, "") else parse_ymd(text, "valid_to")
