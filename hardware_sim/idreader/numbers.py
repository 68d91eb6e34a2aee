"""Number checks of the card families that are not resident ID numbers (whose rules are
:mod:`standard.idcard`): permanent-residence and 港澳台 numbers."""

from __future__ import annotations

import re
from datetime import date

from standard import code_tables, idcard

PR_2017 = re.compile(r"^[A-Z]{3}\d{12}$")
PR_2023 = re.compile(r"^9\d{16}[0-9X]$")


def permit_number_problem(number: str) -> str | None:
    """None for a well-formed permanent-residence number, else what is wrong with it."""
    if PR_2017.match(number):
        return None
    if not PR_2023.match(number):
        return "neither AAA+12 digits (2017) nor 9+17 digits (2023)"
    if number[1:3] not in code_tables.province_prefixes():
        return f"province code {number[1:3]} unknown"
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return f"birth date {number[6:14]} is not a date"
    if idcard.check_char(number[:17]) != number[17]:
        return f"check digit should be {idcard.check_char(number[:17])}"
    return None


def hmt_number_problem(number: str) -> str | None:
    if not re.fullmatch(r"8[123]0000\d{11}[0-9X]", number):
        return "not 810000/820000/830000 + 12 characters"
    if idcard.check_char(number[:17]) != number[17]:
        return f"check digit should be {idcard.check_char(number[:17])}"
    return None
