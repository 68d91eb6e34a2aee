"""Cards from fake people: a resident card from a fixtures ``Person`` (or its ``card_json()``), and
foreign and 港澳台 cards drawn deterministically from a seed."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from functools import cache
from typing import Any, Literal

from fixtures.fake import photos
from fixtures.fake.people import Person, faker_for, person
from hardware_sim.idreader import codes
from hardware_sim.idreader.layouts import LONG_TERM, CardDataError, parse_ymd
from hardware_sim.idreader.models import ForeignResidentCard, HmtCard, ResidentCard
from standard import code_tables, idcard

REFERENCE_DAY = date(2026, 11, 1)  # "today" of the deterministic generators (as in the test fixtures)


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
        valid_to=None if p.valid_to == LONG_TERM else parse_ymd(p.valid_to, "valid_to"),
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
            birth=parse_ymd(str(data["birth"]), "birth"),
            nation=str(data["nation"]),
            address=str(data["address"]),
            grant_org=str(data["grant_org"]),
            valid_from=parse_ymd(str(data["valid_from"]), "valid_from"),
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
