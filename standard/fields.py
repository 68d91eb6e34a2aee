"""Field types of the data standard, each carrying its own rule.

A field is declared once, e.g. ``idCardNumber: IdNumber("idCardType")``, and the declaration
says everything: required or not, format, code table, limits, and whether it travels
AES-encrypted (the ``ENCRYPTED`` marker that ``standard.payload`` uses to encrypt and decrypt a
whole payload). Validators read the validation context: ``profile`` (strict/lenient) and
``now`` (the platform's clock, so "not in the future" follows a simulated clock).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, NoReturn

from pydantic import (
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from standard import code_tables, credit_code, errors, formats, idcard
from standard.envelope import now_beijing
from standard.profile import STRICT, Profile


@dataclass(frozen=True)
class Encrypted:
    """Marks a field that travels AES-encrypted (interface.md §4.2)."""


ENCRYPTED = Encrypted()


def fail(kind: str, text: str) -> NoReturn:
    raise PydanticCustomError("jzgr", "{text}", {"kind": kind, "text": text})


def profile_of(info: ValidationInfo) -> Profile:
    ctx = info.context or {}
    profile = ctx.get("profile", STRICT)
    return profile if isinstance(profile, Profile) else STRICT


def now_of(info: ValidationInfo) -> datetime:
    """The platform's "now" as naive Beijing time."""
    ctx = info.context or {}
    moment = ctx.get("now")
    if not isinstance(moment, datetime):
        moment = now_beijing()
    return moment if moment.tzinfo is None else moment.astimezone(now_beijing().tzinfo).replace(tzinfo=None)


class Rule:
    """A field rule: validates after the type (like pydantic's AfterValidator) and adds what JSON
    Schema can say about it (enum, pattern, format) to the model's schema, so the OpenAPI document
    of the standard is derived from the same declaration and fuzzers generate valid data."""

    __slots__ = ("func", "schema", "with_info")

    def __init__(self, func: Callable[..., Any], schema: dict[str, Any] | None = None) -> None:
        self.func = func
        self.schema = schema or {}
        self.with_info = len(inspect.signature(func).parameters) == 2

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        inner = handler(source)
        if self.with_info:
            return core_schema.with_info_after_validator_function(self.func, inner)
        return core_schema.no_info_after_validator_function(self.func, inner)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        result = handler(schema)
        result.update(self.schema)
        return result


# ---- text ---------------------------------------------------------------------------------


def _text(value: str) -> str:
    # A NUL is no character of the data standard's text (and PostgreSQL cannot store one): refused
    # here, for every text field, so that both databases answer the same -1.
    if "\x00" in value:
        fail("nul", errors.NUL)
    return value


TEXT = Rule(_text)
Str = Annotated[str, StringConstraints(min_length=1), TEXT]
Name = Annotated[str, StringConstraints(min_length=1, max_length=50), TEXT]
CorpName = Annotated[str, StringConstraints(min_length=1, max_length=200), TEXT]
ProjectName = Annotated[str, StringConstraints(min_length=1, max_length=300), TEXT]
Address = Annotated[str, StringConstraints(min_length=1, max_length=200), TEXT]
Remark = Annotated[str, StringConstraints(min_length=1, max_length=1000), TEXT]
PhoneText = Annotated[str, StringConstraints(min_length=1, max_length=30), TEXT]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100), TEXT]


def _mobile(value: str) -> str:
    if not formats.is_mobile(value):
        fail("format", errors.FORMAT)
    return value


def _phone(value: str) -> str:
    if not formats.is_phone(value):
        fail("format", errors.FORMAT)
    return value


Mobile = Annotated[str, StringConstraints(min_length=1), Rule(_mobile, {"pattern": formats.MOBILE_RE.pattern}), TEXT]
Phone = Annotated[str, StringConstraints(min_length=1), Rule(_phone, {"format": "phone"}), TEXT]


def _pattern(regex: Any) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not regex.match(value):
            fail("format", errors.FORMAT)
        return value

    return check


ZipCode = Annotated[str, Rule(_pattern(formats.ZIP_RE), {"pattern": formats.ZIP_RE.pattern}), TEXT]
Email = Annotated[str, StringConstraints(max_length=100), Rule(_pattern(formats.EMAIL_RE), {"format": "email"}), TEXT]
WebSite = Annotated[
    str, StringConstraints(max_length=200), Rule(_pattern(formats.WEBSITE_RE), {"format": "website"}), TEXT
]
CnapsCode = Annotated[str, Rule(_pattern(formats.CNAPS_RE), {"pattern": formats.CNAPS_RE.pattern}), TEXT]

# ---- codes --------------------------------------------------------------------------------


def code(table: str) -> Rule:
    """Membership of a string code in a code table."""
    label = code_tables.TABLE_LABELS.get(table, table)
    members = code_tables.table(table)

    def check(value: str) -> str:
        if value not in members:
            fail("code", errors.bad_code(label))
        return value

    return Rule(check, {"enum": sorted(members), "x-code-table": table})


def int_code(table: str) -> Rule:
    """An int-typed code (workRole, type, contractPeriodType, unit, yes/no); either JSON type is accepted."""
    label = code_tables.TABLE_LABELS.get(table, table)
    members = code_tables.table(table)

    def check(value: int) -> int:
        if str(value) not in members:
            fail("code", errors.bad_code(label))
        return value

    return Rule(check, {"enum": sorted(int(c) for c in members), "x-code-table": table})


YesNo = Annotated[int, int_code("isNot")]


def _direction(value: Any, info: ValidationInfo) -> Any:
    # Strict: the string "01"/"02". Lenient also takes the int 1/2 (JSG).
    if isinstance(value, int) and not isinstance(value, bool) and profile_of(info).direction_as_int:
        return f"{value:02d}"
    return value


Direction = Annotated[Str, BeforeValidator(_direction), code("attendanceDirection")]


def _area_code(value: str) -> str:
    if (
        not formats.AREA_CODE_RE.match(value)
        or value[:2] not in code_tables.province_prefixes()
        or value.endswith("0000")
    ):
        fail("code", errors.AREA_CODE)
    return value


AreaCode = Annotated[str, StringConstraints(min_length=1), Rule(_area_code, {"format": "gb2260"}), TEXT]


def _corp_code(value: str) -> str:
    try:
        return credit_code.validate_corp_code(value)
    except credit_code.CreditCodeError as exc:
        fail(exc.kind, errors.ID_TEXTS.get(exc.kind, errors.FORMAT))


CorpCode = Annotated[str, StringConstraints(min_length=1), Rule(_corp_code, {"format": "uscc"}), TEXT]

# ---- identity numbers (encrypted) ---------------------------------------------------------


def id_number(type_field: str) -> Rule:
    """An ID number checked according to the sibling ``type_field`` (GB 11643 for type 01)."""

    def check(value: str, info: ValidationInfo) -> str:
        id_type = info.data.get(type_field)
        if id_type == "01":
            try:
                idcard.validate(value, now_of(info).date())
            except idcard.IdNumberError as exc:
                fail(exc.kind, errors.ID_TEXTS.get(exc.kind, errors.FORMAT))
            return value.upper()
        if len(value) > 30:
            fail("too_long", errors.too_long(30))
        return value

    return Rule(check, {"format": "gb11643"})


def _personal_card(value: str) -> str:
    # Luhn is a warning only (data.md §5.5): not enforced here.
    if not formats.PERSONAL_CARD_RE.match(value):
        fail("format", errors.FORMAT)
    return value


def _enterprise_account(value: str) -> str:
    if not formats.ENTERPRISE_ACCOUNT_RE.match(value):
        fail("format", errors.FORMAT)
    return value


BankCard = Annotated[
    str, ENCRYPTED, StringConstraints(min_length=1), Rule(_personal_card, {"pattern": r"^62\d{14,17}$"}), TEXT
]
EnterpriseAccount = Annotated[
    str,
    ENCRYPTED,
    StringConstraints(min_length=1),
    Rule(_enterprise_account, {"pattern": formats.ENTERPRISE_ACCOUNT_RE.pattern}),
    TEXT,
]
EncryptedText = Annotated[str, ENCRYPTED, StringConstraints(min_length=1, max_length=100), TEXT]

# ---- dates --------------------------------------------------------------------------------


def _date(value: str) -> str:
    try:
        formats.parse_date(value)
    except ValueError:
        fail("format", errors.FORMAT)
    return value


DateStr = Annotated[str, StringConstraints(min_length=1), Rule(_date, {"format": "date"}), TEXT]


def not_future_date(text: str = errors.FUTURE_DAY) -> Rule:
    def check(value: str, info: ValidationInfo) -> str:
        try:
            day = formats.parse_date(value)
        except ValueError:
            fail("format", errors.FORMAT)
        if day > now_of(info).date():
            fail("future", text)
        return value

    return Rule(check, {"format": "past-date"})


def _datetime(value: str) -> str:
    try:
        formats.parse_datetime(value)
    except ValueError:
        fail("format", errors.FORMAT)
    return value


DateTimeStr = Annotated[str, StringConstraints(min_length=1), Rule(_datetime, {"format": "jzgr-datetime"}), TEXT]


def _date_or_datetime(value: str) -> str:
    try:
        formats.parse_date_or_datetime(value)
    except ValueError:
        fail("format", errors.FORMAT)
    return value


DateOrDateTime = Annotated[
    str, StringConstraints(min_length=1), Rule(_date_or_datetime, {"format": "jzgr-datetime"}), TEXT
]


def _exit_time(value: str, info: ValidationInfo) -> str:
    try:
        moment = formats.parse_date_or_datetime(value)
    except ValueError:
        fail("format", errors.FORMAT)
    if moment > now_of(info):
        fail("future", "最晚为当前时间!")
    return value


SubcontractorExitTime = Annotated[
    str, StringConstraints(min_length=1), Rule(_exit_time, {"format": "past-datetime"}), TEXT
]


def _attendance_time(value: str, info: ValidationInfo) -> str:
    try:
        moment = formats.parse_datetime(value, allow_millis=profile_of(info).attendance_millis)
    except ValueError:
        fail("format", errors.FORMAT)
    if moment > now_of(info):
        fail("future", errors.FUTURE_NOW)
    return value


AttendanceTime = Annotated[
    str, StringConstraints(min_length=1), Rule(_attendance_time, {"format": "past-datetime"}), TEXT
]


def _month(value: str) -> str:
    try:
        formats.parse_month(value)
    except ValueError:
        fail("format", errors.FORMAT)
    return value


MonthStr = Annotated[str, StringConstraints(min_length=1), Rule(_month, {"pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}), TEXT]


def _pay_month(value: str, info: ValidationInfo) -> str:
    try:
        year, month = formats.parse_month(value)
    except ValueError:
        fail("format", errors.FORMAT)
    today = now_of(info).date()
    if (year, month) > (today.year, today.month):
        fail("future", errors.FUTURE_TODAY)
    return value


PayMonth = Annotated[str, StringConstraints(min_length=1), Rule(_pay_month, {"format": "past-month"}), TEXT]


def _back_pay_month(value: str) -> str:
    # XN sends yyyy-MM-dd here; tolerated (data.md §3.11).
    try:
        formats.parse_month(value[:7] if formats.DATE_RE.match(value) else value)
    except ValueError:
        fail("format", errors.FORMAT)
    return value


BackPayMonth = Annotated[
    str, StringConstraints(min_length=1), Rule(_back_pay_month, {"pattern": r"^\d{4}-(0[1-9]|1[0-2])$"})
]

# ---- images and files ---------------------------------------------------------------------

KB = 1024


def image(max_kb: int, *, url_switch: bool = False) -> Rule:
    """A Base64 jpg/jpeg/png (data-URI prefix allowed), at most ``max_kb`` KB decoded."""

    def check(value: str, info: ValidationInfo) -> str:
        if url_switch and value.startswith(("http://", "https://")) and profile_of(info).head_image_url:
            return value
        try:
            formats.decode_image(value, max_kb * KB)
        except formats.ImageError as exc:
            if exc.kind == "size":
                fail("image_size", errors.image_too_big(max_kb))
            fail("image_format", errors.IMAGE_FORMAT)
        return value

    return Rule(check, {"format": "jpeg-base64", "x-max-kb": max_kb})


def blob(max_kb: int) -> Rule:
    def check(value: str) -> str:
        try:
            formats.decode_base64_blob(value, max_kb * KB)
        except formats.ImageError as exc:
            if exc.kind == "size":
                fail("image_size", errors.image_too_big(max_kb))
            fail("format", errors.FORMAT)
        return value

    return Rule(check, {"format": "base64-blob", "x-max-kb": max_kb})


# ---- numbers ------------------------------------------------------------------------------

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=73, le=136)]
Latitude = Annotated[float, Field(ge=3, le=54)]
TeamSysNo = Annotated[int, Field(ge=1, le=9_999_999_999)]  # platform-assigned, 9–10 digits


def today_of(info: ValidationInfo) -> date:
    return now_of(info).date()
