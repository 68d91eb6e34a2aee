"""GB 11643 ID numbers, GB 32100 credit codes, phones and bank cards (data.md §5)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standard import credit_code, formats, idcard


def test_worked_example_id_number() -> None:
    assert idcard.check_char("11010519850612003") == "4"
    parsed = idcard.parse("110105198506120034")
    assert parsed.birth_date == date(1985, 6, 12) and parsed.gender == 0 and parsed.area_code == "110105"


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("110101199003071234", "check_digit"),  # the interface.md example: valid form ends in 3
        ("11010119900307123", "format"),
        ("990101199003071233", "area"),
        ("110101199002301230", "birth_date"),  # 30 February
        ("110101209901011230", "birth_date"),  # in the future
        ("110101199003071233 ", "format"),
    ],
)
def test_invalid_id_numbers_name_their_defect(number: str, kind: str) -> None:
    with pytest.raises(idcard.IdNumberError) as info:
        idcard.parse(number, today=date(2026, 1, 1))
    assert info.value.kind == kind


def test_lowercase_x_is_accepted_as_check_character() -> None:
    first17 = "37140219900101002"
    number = idcard.make("371402", date(1990, 1, 1), 0, male=True)
    assert number.startswith("371402199001010")
    assert idcard.parse(number).number == number
    if idcard.check_char(first17) == "X":
        assert idcard.parse(first17 + "x").number.endswith("X")


@given(
    area=st.sampled_from(["371402", "371471", "110105", "510107"]),
    birth=st.dates(min_value=date(1960, 1, 1), max_value=date(2008, 12, 31)),
    seq=st.integers(0, 99),
    male=st.booleans(),
)
def test_made_numbers_parse_back(area: str, birth: date, seq: int, male: bool) -> None:
    parsed = idcard.parse(idcard.make(area, birth, seq, male))
    assert parsed.birth_date == birth and parsed.gender == (0 if male else 1) and parsed.area_code == area


def test_worked_example_credit_code() -> None:
    assert credit_code.org_check_char("MA01AB2C") == "3"
    assert credit_code.make_uscc("110105", "MA01AB2C") == "91110105MA01AB2C3F"
    assert credit_code.validate_uscc("91110105MA01AB2C3F") == "91110105MA01AB2C3F"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("91110105MA01AB2C3E", "check_digit"),
        ("91110105MA01AB2C4?", "format"),
        ("91110105MA01ABIC3F", "format"),  # I is not in the alphabet
        ("12345678", "format"),
    ],
)
def test_invalid_credit_codes(code: str, kind: str) -> None:
    with pytest.raises(credit_code.CreditCodeError) as info:
        credit_code.validate_corp_code(code)
    assert info.value.kind == kind


def test_embedded_organisation_code_is_checked() -> None:
    # A credit code whose own check character is right but whose embedded org code check is wrong.
    first17 = "91110105MA01AB2C4"
    code = first17 + credit_code.uscc_check_char(first17)
    with pytest.raises(credit_code.CreditCodeError) as info:
        credit_code.validate_uscc(code)
    assert info.value.kind == "org_check_digit"


def test_organisation_code_alone_with_and_without_dash() -> None:
    assert credit_code.validate_corp_code("MA01AB2C-3") == "MA01AB2C3"
    assert credit_code.validate_corp_code("MA01AB2C3") == "MA01AB2C3"
    with pytest.raises(credit_code.CreditCodeError):
        credit_code.validate_corp_code("MA01AB2C-4")


@pytest.mark.parametrize(
    ("phone", "ok"), [("13912345678", True), ("19912345678", True), ("12912345678", False), ("1391234567", False)]
)
def test_mobile(phone: str, ok: bool) -> None:
    assert formats.is_mobile(phone) is ok


@pytest.mark.parametrize("phone", ["0534-2345678", "05342345678", "010-12345678-123", "13912345678"])
def test_landline_or_mobile(phone: str) -> None:
    assert formats.is_phone(phone)


def test_luhn() -> None:
    assert formats.luhn_ok("6217000010012345677")
    assert not formats.luhn_ok("6217000010012345678")
    assert formats.luhn_check_digit("621700001001234567") == "7"
