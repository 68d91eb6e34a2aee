"""Resident identity card numbers, GB 11643-1999 (data.md §5.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul

from standard.code_tables import province_prefixes
from standard.envelope import today_beijing

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# ASCII digits only, as in the platform's Java patterns (Python's \d alone takes any script's digits)
PATTERN = re.compile(r"^[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[0-9X]$", re.ASCII)


class IdNumberError(ValueError):
    """An invalid ID number; ``kind`` names the defect (format, area, birth_date, check_digit)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


_ZERO_BIAS = ord("0") * sum(WEIGHTS)


def check_char(first17: str) -> str:
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the check character is computed over 17 ASCII digits")
    # digits as their byte values, the '0' offset taken off once: a third of int() per digit
    total = sum(map(mul, first17.encode(), WEIGHTS)) - _ZERO_BIAS
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class IdNumber:
    number: str
    area_code: str
    birth_date: date
    gender: int  # 0 男, 1 女 (the platform's gender table)


def parse(number: str, today: date | None = None) -> IdNumber:
    """Validate an 18-character resident ID; raise IdNumberError naming the defect."""
    value, born = _checked(number, today)
    return IdNumber(value, value[:6], born, 0 if int(value[16]) % 2 else 1)


def validate(number: str, today: date | None = None) -> None:
    """As ``parse``, without building the result (the platform's validator runs it per record)."""
    _checked(number, today)


def _checked(number: str, today: date | None) -> tuple[str, date]:
    value = number.upper()
    if not PATTERN.match(value):
        raise IdNumberError("format", "身份证号码格式不正确")
    if value[:2] not in province_prefixes():
        raise IdNumberError("area", "身份证号码地区码不正确")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise IdNumberError("birth_date", "身份证号码出生日期不正确") from exc
    if born > (today or today_beijing()):
        raise IdNumberError("birth_date", "身份证号码出生日期不能大于当天")
    if check_char(value[:17]) != value[17]:
        raise IdNumberError("check_digit", "身份证号码校验位不正确")
    return value, born


def make(area_code: str, birth: date, sequence: int, male: bool) -> str:
    """Build a valid number from parts; ``sequence`` 0–99 picks the two order digits."""
    order = f"{sequence % 100:02d}{(1 if male else 0) + 2 * (sequence % 5)}"
    first17 = f"{area_code}{birth:%Y%m%d}{order}"
    return first17 + check_char(first17)
