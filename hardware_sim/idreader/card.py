"""Second-generation card models and the chip's 256-byte text block (devices.md §7.1).

Three card families, told apart by the card-type flag at bytes 248–249 of the text block:

* :class:`ResidentCard` — 居民身份证, flag blank (space).
* :class:`ForeignResidentCard` — 外国人永久居留身份证: the 2017 card (flag ``I``, 15-character permit
  number: three letters + twelve digits) and the 2023 card (18-digit number ``9`` + province +
  numeric country + ``YYYYMMDD`` + sequence + MOD 11-2 check). The 2023 card carries flag ``Y`` in
  vendor SDKs; its byte layout is a reconstruction ([L], see ``FOREIGN_2023_LAYOUT``).
* :class:`HmtCard` — 港澳台居民居住证, flag ``J``.

Every text field is UCS-2 little-endian, left-aligned and padded with spaces (``20 00``) to its
width; dates are ``YYYYMMDD`` and an open-ended validity reads ``长期``. :func:`encode` builds the
block, :func:`decode` reads one back, :func:`sam_frame` wraps it as the SAM answers
``SDT_ReadBaseMsg``. Builders turn a fake :class:`~fixtures.fake.people.Person` into a resident card
and draw foreign and 港澳台 cards deterministically from a seed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import random
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from typing import Any, ClassVar, Literal

from fixtures.fake import photos
from fixtures.fake.people import Person, faker_for, person
from hardware_sim.idreader import codes
from hardware_sim.idreader import photo as photo_mod
from standard import code_tables, idcard

BLOCK_SIZE = 256
FLAG_OFFSET = 248  # bytes 248–249: the card-type flag
LONG_TERM = "长期"
REFERENCE_DAY = date(2026, 11, 1)  # "today" of the deterministic generators (as in the test fixtures)


class CardDataError(ValueError):
    """A value that does not fit the chip (too long, not UCS-2, bad date) or a malformed card JSON."""


# -- layouts -----------------------------------------------------------------------------------


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


def _pack(layout: dict[str, Slot], values: dict[str, str]) -> bytes:
    block = bytearray(" ".encode("utf-16-le") * (BLOCK_SIZE // 2))
    for name, value in values.items():
        slot = layout[name]
        if len(value) > slot.chars:
            raise CardDataError(f"{name} {value!r} is longer than {slot.chars} characters ({slot.width} bytes)")
        if any(ord(ch) > 0xFFFF or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            raise CardDataError(f"{name} {value!r} has a character outside UCS-2")
        block[slot.offset : slot.end] = value.ljust(slot.chars).encode("utf-16-le")
    return bytes(block)


def _unpack(layout: dict[str, Slot], block: bytes) -> dict[str, str]:
    return {
        name: block[slot.offset : slot.end].decode("utf-16-le", errors="replace").rstrip(" \x00")
        for name, slot in layout.items()
    }


def _ymd(value: date) -> str:
    return f"{value:%Y%m%d}"


def _parse_ymd(text: str, what: str) -> date:
    digits = text.replace("-", "").strip()
    if not re.fullmatch(r"\d{8}", digits):
        raise CardDataError(f"{what} {text!r} is not a date (YYYYMMDD or YYYY-MM-DD)")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise CardDataError(f"{what} {text!r} is not a calendar date") from exc


def _valid_to_text(value: date | None) -> str:
    return LONG_TERM if value is None else _ymd(value)


def _parse_valid_to(text: str) -> date | None:
    return None if text.strip() in (LONG_TERM, "") else _parse_ymd(text, "valid_to")


# -- card models -------------------------------------------------------------------------------

SEX_TEXT = {"1": "男", "2": "女", "0": "未知", "9": "未说明"}  # GB/T 2261.1; 0 and 9 are [L] on cards


def platform_gender(sex: str) -> int | None:
    """The platform's ``gender`` (0 男 / 1 女) for a card sex code (1 male / 2 female)."""
    return {"1": 0, "2": 1}.get(sex)


@dataclass(frozen=True)
class ResidentCard:
    name: str
    sex: str  # GB/T 2261.1 code: 1 male, 2 female
    nation: str  # GB 3304 code, 01–56, 97, 98
    birth: date
    address: str  # beyond 35 characters the rest goes to the appended address (机读追加住址)
    id_number: str
    authority: str
    valid_from: date
    valid_to: date | None  # None: 长期
    photo: bytes = field(default=b"", repr=False, compare=False)  # source image (JPEG)

    kind: ClassVar[str] = "resident"
    flag: ClassVar[str] = " "

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def number(self) -> str:
        return self.id_number

    @property
    def appended_address(self) -> str:
        """The part of the address beyond the 70-byte slot (read with ``SDT_ReadNewAppMsg``)."""
        return self.address[RESIDENT_LAYOUT["address"].chars :]


@dataclass(frozen=True)
class ForeignResidentCard:
    english_name: str
    sex: str
    permit_number: str  # 2017: AAA + 12 digits; 2023: 18 digits starting with 9
    nationality: str  # ISO 3166-1 alpha-3
    birth: date
    valid_from: date
    valid_to: date | None
    chinese_name: str = ""
    card_version: str = "01"  # 2017 layout only [L]
    authority_code: str = "1100"  # 2017 layout only: 当次申请受理机关代码 (4 digits)
    authority: str = "国家移民管理局"  # 2023 layout only [L]
    renewal_count: str = "00"  # 2023 layout only [L]
    photo: bytes = field(default=b"", repr=False, compare=False)

    kind: ClassVar[str] = "foreign"

    @property
    def version(self) -> Literal["2017", "2023"]:
        return "2023" if len(self.permit_number) == 18 else "2017"

    @property
    def flag(self) -> str:
        return "Y" if self.version == "2023" else "I"

    @property
    def display_name(self) -> str:
        return self.chinese_name or self.english_name

    @property
    def number(self) -> str:
        return self.permit_number


@dataclass(frozen=True)
class HmtCard:
    name: str
    sex: str
    birth: date
    address: str
    id_number: str  # 810000 / 820000 / 830000 + birth + sequence + check
    authority: str
    valid_from: date
    valid_to: date | None
    pass_number: str  # 港澳居民来往内地通行证 H/M + 8 digits, 台湾居民来往大陆通行证 8 digits
    issue_count: str = "01"  # 签发次数, two digits
    photo: bytes = field(default=b"", repr=False, compare=False)

    kind: ClassVar[str] = "hmt"
    flag: ClassVar[str] = "J"

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def number(self) -> str:
        return self.id_number

    @property
    def region(self) -> str | None:
        return next((r for r, (prefix, _, _) in codes.HMT_REGIONS.items() if self.id_number.startswith(prefix)), None)


Card = ResidentCard | ForeignResidentCard | HmtCard


def layout_of(card: Card) -> dict[str, Slot]:
    if isinstance(card, ResidentCard):
        return RESIDENT_LAYOUT
    if isinstance(card, HmtCard):
        return HMT_LAYOUT
    return FOREIGN_2023_LAYOUT if card.version == "2023" else FOREIGN_2017_LAYOUT


# -- the text block ----------------------------------------------------------------------------


def encode(card: Card) -> bytes:
    """The 256-byte UCS-2LE text block as the SAM returns it."""
    common = {
        "sex": card.sex,
        "birth": _ymd(card.birth),
        "valid_from": _ymd(card.valid_from),
        "valid_to": _valid_to_text(card.valid_to),
        "flag": card.flag,
    }
    if isinstance(card, ResidentCard):
        values = {
            "name": card.name,
            "nation": card.nation,
            "address": card.address[: RESIDENT_LAYOUT["address"].chars],
            "id_number": card.id_number,
            "authority": card.authority,
        }
    elif isinstance(card, HmtCard):
        values = {
            "name": card.name,
            "address": card.address,
            "id_number": card.id_number,
            "authority": card.authority,
            "pass_number": card.pass_number,
            "issue_count": card.issue_count,
        }
    elif card.version == "2023":
        head = FOREIGN_2023_LAYOUT["english_name"].chars
        values = {
            "chinese_name": card.chinese_name,
            "renewal_count": card.renewal_count,
            "english_name": card.english_name[:head],
            "english_name_more": card.english_name[head:],
            "permit_number": card.permit_number,
            "authority": card.authority,
            "nationality": card.nationality,
        }
    else:
        values = {
            "english_name": card.english_name,
            "permit_number": card.permit_number,
            "nationality": card.nationality,
            "chinese_name": card.chinese_name,
            "card_version": card.card_version,
            "authority_code": card.authority_code,
        }
    return _pack(layout_of(card), {**common, **values})


def card_flag(block: bytes) -> str:
    """The type flag at bytes 248–249 (a space for the resident card)."""
    flag = block[FLAG_OFFSET : FLAG_OFFSET + 2].decode("utf-16-le", errors="replace")
    return " " if flag in ("\x00", " ") else flag


def decode(block: bytes, *, photo: bytes = b"", appended_address: str = "") -> Card:
    """Read a text block back into a card (the photo is not in the block; pass it if you have it)."""
    if len(block) != BLOCK_SIZE:
        raise CardDataError(f"a text block is {BLOCK_SIZE} bytes, got {len(block)}")
    flag = card_flag(block)
    if flag == "J":
        v = _unpack(HMT_LAYOUT, block)
        return HmtCard(
            name=v["name"],
            sex=v["sex"],
            birth=_parse_ymd(v["birth"], "birth"),
            address=v["address"],
            id_number=v["id_number"],
            authority=v["authority"],
            valid_from=_parse_ymd(v["valid_from"], "valid_from"),
            valid_to=_parse_valid_to(v["valid_to"]),
            pass_number=v["pass_number"],
            issue_count=v["issue_count"],
            photo=photo,
        )
    if flag == "I":
        v = _unpack(FOREIGN_2017_LAYOUT, block)
        return ForeignResidentCard(
            english_name=v["english_name"],
            sex=v["sex"],
            permit_number=v["permit_number"],
            nationality=v["nationality"],
            birth=_parse_ymd(v["birth"], "birth"),
            valid_from=_parse_ymd(v["valid_from"], "valid_from"),
            valid_to=_parse_valid_to(v["valid_to"]),
            chinese_name=v["chinese_name"],
            card_version=v["card_version"],
            authority_code=v["authority_code"],
            photo=photo,
        )
    if flag == "Y":
        v = _unpack(FOREIGN_2023_LAYOUT, block)
        return ForeignResidentCard(
            english_name=v["english_name"].ljust(FOREIGN_2023_LAYOUT["english_name"].chars) + v["english_name_more"]
            if v["english_name_more"]
            else v["english_name"],
            sex=v["sex"],
            permit_number=v["permit_number"],
            nationality=v["nationality"],
            birth=_parse_ymd(v["birth"], "birth"),
            valid_from=_parse_ymd(v["valid_from"], "valid_from"),
            valid_to=_parse_valid_to(v["valid_to"]),
            chinese_name=v["chinese_name"],
            authority=v["authority"],
            renewal_count=v["renewal_count"],
            photo=photo,
        )
    if flag != " ":
        raise CardDataError(f"unknown card-type flag {flag!r} at bytes 248–249")
    v = _unpack(RESIDENT_LAYOUT, block)
    return ResidentCard(
        name=v["name"],
        sex=v["sex"],
        nation=v["nation"],
        birth=_parse_ymd(v["birth"], "birth"),
        address=v["address"] + appended_address,
        id_number=v["id_number"],
        authority=v["authority"],
        valid_from=_parse_ymd(v["valid_from"], "valid_from"),
        valid_to=_parse_valid_to(v["valid_to"]),
        photo=photo,
    )


# -- the SAM frame -----------------------------------------------------------------------------

SAM_PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
SW_OK = b"\x00\x00\x90"
SW_FIND_OK = b"\x00\x00\x9f"


@dataclass(frozen=True)
class SamFrame:
    sw: bytes
    text: bytes
    photo: bytes
    fingerprint: bytes


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def sam_frame(card: Card, *, fingerprint: bytes | None = None, sw: bytes = SW_OK) -> bytes:
    """The SAM's answer to a read: ``AA AA AA 96 69``, 2-byte length (big-endian, counting everything
    after it including the checksum), SW1–SW3, text/photo/fingerprint lengths, the 256-byte text,
    the 1024-byte photo (WLT placeholder), the optional 1024-byte fingerprint, and an XOR checksum
    of the length and body bytes ([M]: GA 467 framing)."""
    text = encode(card)
    wlt = photo_mod.wlt_placeholder(card.photo)
    fp = fingerprint or b""
    if fp and len(fp) != 1024:
        raise CardDataError("fingerprint data is 1024 bytes")
    body = sw + len(text).to_bytes(2, "big") + len(wlt).to_bytes(2, "big") + len(fp).to_bytes(2, "big")
    body += text + wlt + fp
    length = (len(body) + 1).to_bytes(2, "big")
    return SAM_PREAMBLE + length + body + bytes([_xor(length + body)])


def parse_sam_frame(frame: bytes) -> SamFrame:
    if not frame.startswith(SAM_PREAMBLE) or len(frame) < 17:
        raise CardDataError("not a SAM frame (preamble AA AA AA 96 69)")
    length = int.from_bytes(frame[5:7], "big")
    if len(frame) != 7 + length:
        raise CardDataError(f"length field says {length}, frame carries {len(frame) - 7}")
    if _xor(frame[5:-1]) != frame[-1]:
        raise CardDataError("checksum mismatch")
    sw = frame[7:10]
    text_len, photo_len, fp_len = (int.from_bytes(frame[i : i + 2], "big") for i in (10, 12, 14))
    start = 16
    text = frame[start : start + text_len]
    photo = frame[start + text_len : start + text_len + photo_len]
    fingerprint = frame[start + text_len + photo_len : start + text_len + photo_len + fp_len]
    return SamFrame(sw, text, photo, fingerprint)


# -- number checks -----------------------------------------------------------------------------

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


# -- builders and generators -------------------------------------------------------------------


def resident_from_person(p: Person) -> ResidentCard:
    return ResidentCard(
        name=p.name,
        sex="1" if p.male else "2",
        nation=codes.nation_code(p.nation),
        birth=p.birth,
        address=p.address,
        id_number=p.id_number,
        authority=p.grant_org,
        valid_from=p.valid_from,
        valid_to=None if p.valid_to == LONG_TERM else _parse_ymd(p.valid_to, "valid_to"),
        photo=p.photo,
    )


def card_from_person_json(data: Mapping[str, Any], *, photo: bytes | None = None) -> ResidentCard:
    """The resident card of a fake person given as ``Person.card_json()`` (what the fleet hands a
    device when a worker lays their card on it); CardDataError names a missing or bad field."""
    try:
        person = Person(
            name=str(data["name"]),
            id_number=str(data["id_number"]),
            male=bool(data["male"]),
            birth=_parse_ymd(str(data["birth"]), "birth"),
            nation=str(data["nation"]),
            address=str(data["address"]),
            grant_org=str(data["grant_org"]),
            valid_from=_parse_ymd(str(data["valid_from"]), "valid_from"),
            valid_to=str(data["valid_to"]),
            phone="",
            bank_code="",
            bank_name="",
            bank_card="",
            area_code="",
            photo=photo or b"",
        )
    except KeyError as exc:
        raise CardDataError(f"{exc.args[0]} is required") from None
    card = resident_from_person(person)
    return card if card.photo else replace(card, photo=photos.face(random.Random(card.number), male=person.male))


@cache
def fixture_person(index: int, seed: int = 6, today: date = REFERENCE_DAY) -> Person:
    """The ``index``-th fake worker of a seed (seed 6 and the default day give the test fixture's people)."""
    if index < 0:
        raise IndexError(index)
    rng = random.Random(seed)
    fake = faker_for(seed)
    chosen: Person | None = None
    for _ in range(index + 1):
        chosen = person(rng, fake, today)
    assert chosen is not None
    return chosen


GIVEN = ["JOHN", "MARY", "DAVID", "ANNA", "PETER", "MARIA", "JAMES", "ELENA", "AHMED", "SOFIA", "KENJI", "MINJI"]
FAMILY = ["SMITH", "BROWN", "MUELLER", "MARTIN", "ROSSI", "IVANOV", "TANAKA", "KIM", "KHAN", "NGUYEN", "SILVA"]
FOREIGN_CHINESE = ["约翰", "玛丽", "大卫", "安娜", "彼得", "玛丽亚", "詹姆斯", "叶莲娜"]
FOREIGN_CHINESE += ["艾哈迈德", "索菲亚", "健二", "敏智"]


def _validity(rng: random.Random, today: date, years: int) -> tuple[date, date]:
    issued = today - timedelta(days=rng.randrange(30, 365 * (years - 1)))
    try:
        return issued, issued.replace(year=issued.year + years)
    except ValueError:  # 29 February
        return issued, issued.replace(year=issued.year + years, day=28)


def foreign_card(
    seed: int, *, version: Literal["2017", "2023"] = "2023", today: date = REFERENCE_DAY
) -> ForeignResidentCard:
    """A foreigner permanent-residence card drawn from ``seed``. Number structure beyond the published
    pattern is ours: 2023 ``9`` + province + numeric country + birth + sequence (odd = male, [L]) + check;
    2017 alpha-3 + 4-digit authority code + ``YYMMDD`` + 2-digit sequence [L]."""
    rng = random.Random(f"foreign-{version}-{seed}")
    alpha3 = rng.choice(sorted(codes.COUNTRIES))
    numeric = codes.COUNTRIES[alpha3][0]
    male = rng.random() < 0.7
    birth = today - timedelta(days=rng.randrange(20 * 366, 60 * 365))
    province = rng.choice(sorted(p for p in code_tables.province_prefixes() if p not in ("71", "81", "82")))
    given = rng.randrange(len(GIVEN))
    english = f"{rng.choice(FAMILY)}, {GIVEN[given]}"
    chinese = FOREIGN_CHINESE[given] if rng.random() < 0.5 else ""
    valid_from, valid_to = _validity(rng, today, 10)
    per_version: dict[str, str] = {}
    if version == "2023":
        number = ""
        while not number.isdigit():  # keep to 18 digits (a check character X is possible but avoided)
            sequence = rng.randrange(50) * 2 + (1 if male else 2)
            first17 = f"9{province}{numeric}{birth:%Y%m%d}{sequence:03d}"
            number = first17 + idcard.check_char(first17)
        per_version["renewal_count"] = f"{rng.randrange(3):02d}"
    else:
        number = f"{alpha3}{province}00{birth:%y%m%d}{rng.randrange(100):02d}"
        per_version["authority_code"] = f"{province}00"
    return ForeignResidentCard(
        english_name=english,
        sex="1" if male else "2",
        permit_number=number,
        nationality=alpha3,
        birth=birth,
        valid_from=valid_from,
        valid_to=valid_to,
        chinese_name=chinese,
        photo=photos.face(rng, male=male),
        **per_version,
    )


HMT_CITIES = [
    ("广东省深圳市福田区", "深圳市公安局"),
    ("广东省珠海市香洲区", "珠海市公安局"),
    ("上海市浦东新区", "上海市公安局"),
    ("福建省厦门市思明区", "厦门市公安局"),
    ("北京市朝阳区", "北京市公安局朝阳分局"),
]


def hmt_card(seed: int, *, region: str | None = None, today: date = REFERENCE_DAY) -> HmtCard:
    """A 港澳台居民居住证 drawn from ``seed`` (region HK, MO or TW; drawn when not given)."""
    rng = random.Random(f"hmt-{seed}")
    region = region or rng.choice(sorted(codes.HMT_REGIONS))
    if region not in codes.HMT_REGIONS:
        raise CardDataError(f"region {region!r}: use one of {', '.join(sorted(codes.HMT_REGIONS))}")
    prefix, letter, _ = codes.HMT_REGIONS[region]
    male = rng.random() < 0.6
    birth = today - timedelta(days=rng.randrange(20 * 366, 60 * 365))
    fake = faker_for(seed)
    name = fake.name_male() if male else fake.name_female()
    city, police = rng.choice(HMT_CITIES)
    valid_from, valid_to = _validity(rng, today, 5)
    return HmtCard(
        name=name,
        sex="1" if male else "2",
        birth=birth,
        address=f"{city}{rng.choice(['深南大道', '人民路', '世纪大道', '环岛路'])}{rng.randrange(1, 999)}号",
        id_number=idcard.make(prefix, birth, rng.randrange(100), male),
        authority=police,
        valid_from=valid_from,
        valid_to=valid_to,
        pass_number=f"{letter}{rng.randrange(10**8):08d}",
        issue_count=f"{rng.randrange(1, 4):02d}",
        photo=photos.face(rng, male=male),
    )


# -- JSON ---------------------------------------------------------------------------------------

CERT_TYPES: dict[str, str] = {" ": "1", "I": "I", "Y": "Y", "J": "J"}  # readCard certType (reconstruction)


def card_to_json(card: Card, *, with_photo: bool = False) -> dict[str, Any]:
    """A card as the control API takes it: ``type`` plus the fields, dates ``YYYY-MM-DD``, 长期 for open."""
    data: dict[str, Any] = {"type": card.kind}
    for spec in dataclasses.fields(card):
        name = spec.name
        value = getattr(card, name)
        if name == "photo":
            if with_photo and value:
                data["photo"] = base64.b64encode(value).decode()
        elif name == "valid_to":
            data[name] = LONG_TERM if value is None else value.isoformat()
        elif isinstance(value, date):
            data[name] = value.isoformat()
        else:
            data[name] = value
    return data


def card_from_json(data: Any) -> Card:
    """Build a card from its JSON form; CardDataError names the first problem. Without ``photo``
    (Base64) a face is drawn, deterministically from the card number."""
    if not isinstance(data, dict):
        raise CardDataError("a card is a JSON object")
    kinds: dict[str, type[ResidentCard] | type[ForeignResidentCard] | type[HmtCard]] = {
        "resident": ResidentCard,
        "foreign": ForeignResidentCard,
        "hmt": HmtCard,
    }
    cls = kinds.get(str(data.get("type", "resident")))
    if cls is None:
        raise CardDataError(f"type {data.get('type')!r}: use resident, foreign or hmt")
    specs = {f.name: f for f in dataclasses.fields(cls) if f.name != "photo"}
    fields = set(specs)
    unknown = set(data) - fields - {"type", "photo"}
    if unknown:
        raise CardDataError(f"unknown field(s) for a {cls.kind} card: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name in specs:
        if name not in data:
            spec = specs[name]
            if spec.default is not MISSING or spec.default_factory is not MISSING:
                continue  # optional: the dataclass default applies
            raise CardDataError(f"{name} is required")
        raw = data[name]
        if not isinstance(raw, str):
            raise CardDataError(f"{name} must be a string")
        if name == "valid_to":
            values[name] = _parse_valid_to(raw)
        elif name in ("birth", "valid_from"):
            values[name] = _parse_ymd(raw, name)
        else:
            values[name] = raw
    if cls is ResidentCard and values.get("nation", "") not in codes.nations():
        try:
            values["nation"] = codes.nation_code(str(values.get("nation", "")))
        except KeyError as exc:
            raise CardDataError(f"nation {values.get('nation')!r} is neither a GB 3304 code nor a nation name") from exc
    if values.get("sex") not in SEX_TEXT:
        raise CardDataError("sex is 1 (male) or 2 (female)")
    photo_b64 = data.get("photo")
    if photo_b64 is not None:
        if not isinstance(photo_b64, str):
            raise CardDataError("photo must be Base64 text")
        try:
            values["photo"] = base64.b64decode(photo_b64, validate=True)
        except binascii.Error as exc:
            raise CardDataError("photo is not valid Base64") from exc
    card: Card = cls(**values)
    if not card.photo:
        rng = random.Random(card.number)
        card = replace(card, photo=photos.face(rng, male=card.sex != "2"))
    encode(card)  # raises CardDataError when a value does not fit the chip
    return card


# -- projections --------------------------------------------------------------------------------


def _photo_b64(card: Card, photo_format: str) -> str:
    data = photo_mod.bmp(card.photo) if photo_format == "bmp" else photo_mod.jpeg(card.photo)
    return base64.b64encode(data).decode()


def nation_fields(card: Card) -> tuple[str, str]:
    """(code, text) for the JSON: GB 3304 for resident cards, alpha-3 and country name for foreign
    cards, empty for 港澳台 cards (their nation slot is reserved)."""
    if isinstance(card, ResidentCard):
        return card.nation, codes.nations().get(card.nation, "")
    if isinstance(card, ForeignResidentCard):
        return card.nationality, codes.country_name(card.nationality)
    return "", ""


def platform_id_card_type(card: Card) -> str | None:
    """The platform's ``idCardType`` when one fits unambiguously: 01 for a resident card. Foreign and
    港澳台 cards have no code in 01–17 (see docs/devices/idreader.md)."""
    return "01" if isinstance(card, ResidentCard) else None


def info(card: Card, *, photo_format: str = "jpeg", cert_types: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``info`` object of ``/cgi-bin/readCard`` (the spec's keys first, then this simulator's extras)."""
    nation_code, nation_text = nation_fields(card)
    authority = card.authority_code if isinstance(card, ForeignResidentCard) and card.version == "2017" else ""
    if not authority:
        authority = card.authority
    data: dict[str, Any] = {
        "certType": (cert_types or CERT_TYPES).get(card.flag, card.flag),
        "name": card.display_name,
        "sex": SEX_TEXT.get(card.sex, ""),
        "nation": nation_text,
        "birthday": _ymd(card.birth),
        "address": card.address if not isinstance(card, ForeignResidentCard) else "",
        "idCode": card.number,
        "department": authority,
        "startDate": _ymd(card.valid_from),
        "endDate": _valid_to_text(card.valid_to),
        "Photo": _photo_b64(card, photo_format),
        # extras
        "cardTypeFlag": card.flag,
        "sexCode": card.sex,
        "gender": platform_gender(card.sex),
        "nationCode": nation_code,
        "idCardType": platform_id_card_type(card),
        "photoFormat": photo_format,
    }
    if isinstance(card, ForeignResidentCard):
        data.update(
            englishName=card.english_name,
            chineseName=card.chinese_name,
            nationality=card.nationality,
            cardVersion=card.version,
        )
        if card.version == "2023":
            data["renewalCount"] = card.renewal_count
    if isinstance(card, HmtCard):
        data.update(passNumber=card.pass_number, issueCount=card.issue_count)
    if isinstance(card, ResidentCard) and card.appended_address:
        data["appendedAddress"] = card.appended_address
    return data


def hx_content(card: Card) -> dict[str, Any]:
    """The 华视-style ``resultContent`` ([L]: key names from secondary mentions only)."""
    nation_code, _ = nation_fields(card)
    return {
        "certType": card.flag.strip(),
        "partyName": card.display_name,
        "gender": card.sex,
        "nation": nation_code,
        "bornDay": _ymd(card.birth),
        "certAddress": card.address if not isinstance(card, ForeignResidentCard) else "",
        "certNumber": card.number,
        "certOrg": card.authority if not isinstance(card, ForeignResidentCard) else card.authority_code,
        "effDate": _ymd(card.valid_from),
        "expDate": _valid_to_text(card.valid_to),
        "identityPic": _photo_b64(card, "bmp"),
    }


def platform_fields(card: Card) -> dict[str, Any]:
    """What a real-name system copies into ``ProjectWorker.Add`` (data.md §3.6) from a read card."""
    _, nation_text = nation_fields(card)
    return {
        "workerName": card.display_name,
        "idCardType": platform_id_card_type(card),
        "idCardNumber": card.number,  # AES-encrypted on the wire
        "gender": platform_gender(card.sex),
        "birthday": card.birth.isoformat(),
        "nation": nation_text if isinstance(card, ResidentCard) else "",
        "address": card.address if not isinstance(card, ForeignResidentCard) else "",
        "grantOrg": card.authority,
        "startDate": card.valid_from.isoformat(),
        "expiryDate": LONG_TERM if card.valid_to is None else card.valid_to.isoformat(),
        "headImage": base64.b64encode(photo_mod.jpeg(card.photo)).decode(),
    }
