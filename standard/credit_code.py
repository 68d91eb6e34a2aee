"""Unified social credit codes, GB 32100-2015, with the embedded GB 11714 organisation code
(data.md §5.3)."""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
ORG_RE = re.compile(r"^[0-9A-Z]{8}-?[0-9X]$")


class CreditCodeError(ValueError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def org_check_char(body8: str) -> str:
    total = 0
    for ch, weight in zip(body8, ORG_WEIGHTS, strict=True):
        value = int(ch) if ch.isdigit() else 10 + ord(ch) - ord("A")
        total += value * weight
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_check_char(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_org_code(code: str) -> str:
    """Validate a 9-character organisation code (dash allowed); return it without the dash."""
    if not ORG_RE.match(code):
        raise CreditCodeError("format", "组织机构代码格式不正确")
    plain = code.replace("-", "")
    if org_check_char(plain[:8]) != plain[8]:
        raise CreditCodeError("org_check_digit", "组织机构代码校验码不正确")
    return plain


def validate_uscc(code: str) -> str:
    if not USCC_RE.match(code):
        raise CreditCodeError("format", "统一社会信用代码格式不正确")
    if uscc_check_char(code[:17]) != code[17]:
        raise CreditCodeError("check_digit", "统一社会信用代码校验码不正确")
    body = code[8:16]
    if re.fullmatch(r"[0-9A-Z]{8}", body) and org_check_char(body) != code[16]:
        raise CreditCodeError("org_check_digit", "统一社会信用代码中的组织机构代码校验码不正确")
    return code


def validate_corp_code(code: str) -> str:
    """A corpCode: an 18-character credit code, or a 9-character organisation code."""
    if len(code) == 18:
        return validate_uscc(code)
    if len(code) in (9, 10):
        return validate_org_code(code)
    raise CreditCodeError("format", "统一社会信用代码格式不正确")


def make_uscc(area_code: str, org_body8: str, registration: str = "91") -> str:
    org = org_body8 + org_check_char(org_body8)
    first17 = registration + area_code + org
    return first17 + uscc_check_char(first17)
