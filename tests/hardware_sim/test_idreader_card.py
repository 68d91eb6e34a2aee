"""The virtual ID-card reader's card side: the 256-byte UCS-2LE text block (devices.md §7.1),
permanent-residence numbers, photos, the SAM frame and the JSON projections."""

from __future__ import annotations

import base64
import dataclasses
import io
import struct
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fixtures.fake.people import Person
from hardware_sim.idreader import card as c
from hardware_sim.idreader import codes, photo


def ucs2(text: str, width: int) -> bytes:
    return text.ljust(width // 2).encode("utf-16-le")


@pytest.fixture(scope="module")
def resident() -> c.ResidentCard:
    return c.ResidentCard(
        name="张三",
        sex="1",
        nation="01",
        birth=date(1985, 6, 12),
        address="北京市东城区东华门街道1号",
        id_number="110105198506120034",
        authority="北京市公安局东城分局",
        valid_from=date(2015, 3, 1),
        valid_to=date(2035, 3, 1),
    )


# -- resident card -----------------------------------------------------------------------------


def test_resident_block_field_offsets(resident: c.ResidentCard) -> None:
    block = c.encode(resident)
    assert len(block) == 256
    assert block[0:30] == ucs2("张三", 30)
    assert block[0:4] == "张三".encode("utf-16-le") and block[4:6] == b" \x00"  # UCS-2LE, space padding
    assert block[30:32] == b"1\x00"
    assert block[32:36] == b"0\x001\x00"
    assert block[36:52] == ucs2("19850612", 16)
    assert block[52:122] == ucs2("北京市东城区东华门街道1号", 70)
    assert block[122:158] == ucs2("110105198506120034", 36)
    assert block[158:188] == ucs2("北京市公安局东城分局", 30)
    assert block[188:204] == ucs2("20150301", 16)
    assert block[204:220] == ucs2("20350301", 16)
    assert block[220:256] == b" \x00" * 18  # reserved, incl. the blank type flag at 248–249
    assert c.card_flag(block) == " "


def test_resident_long_term_validity(resident: c.ResidentCard) -> None:
    card = dataclasses.replace(resident, valid_to=None)
    block = c.encode(card)
    assert block[204:220] == "长期".encode("utf-16-le") + b" \x00" * 6
    back = c.decode(block)
    assert back == card and back.valid_to is None
    assert c.info(card)["endDate"] == "长期"


def test_resident_round_trip_and_long_address(resident: c.ResidentCard) -> None:
    assert c.decode(c.encode(resident)) == resident
    long = dataclasses.replace(resident, address="山东省德州市德城区" + "新华路" * 10 + "1号")
    assert len(long.address) > 35
    block = c.encode(long)
    decoded = c.decode(block)
    assert isinstance(decoded, c.ResidentCard) and decoded.address == long.address[:35]
    assert long.appended_address == long.address[35:]
    assert c.decode(block, appended_address=long.appended_address) == long


def test_resident_from_fixture_people(people: list[Person]) -> None:
    for p in people:
        card = c.resident_from_person(p)
        assert card.sex == ("1" if p.male else "2")
        assert codes.nation_text(card.nation) == p.nation
        assert c.decode(c.encode(card)) == card
        projection = c.info(card)
        assert projection["gender"] == p.gender  # the platform's 0 男 / 1 女
        assert projection["nation"] == p.nation and projection["nationCode"] == card.nation
        assert projection["idCode"] == p.id_number and projection["idCardType"] == "01"
    long_term = dataclasses.replace(people[0], valid_to="长期")
    assert c.resident_from_person(long_term).valid_to is None


def test_values_that_do_not_fit_the_chip(resident: c.ResidentCard) -> None:
    with pytest.raises(c.CardDataError, match="longer than 15"):
        c.encode(dataclasses.replace(resident, name="欧阳" * 8))
    with pytest.raises(c.CardDataError, match="UCS-2"):
        c.encode(dataclasses.replace(resident, name="𠀀三"))  # outside the BMP
    with pytest.raises(c.CardDataError, match="256"):
        c.decode(b"\x20\x00" * 100)
    block = bytearray(c.encode(resident))
    block[248:250] = "Z".encode("utf-16-le")
    with pytest.raises(c.CardDataError, match="flag"):
        c.decode(bytes(block))


def test_nation_table_gb3304() -> None:
    table = codes.nations()
    assert len(table) == 58
    assert table["01"] == "汉" and table["02"] == "蒙古" and table["56"] == "基诺"
    assert table["97"] == "其他" and table["98"] == "外国血统中国籍人士"
    assert codes.nation_code("汉族") == "01" and codes.nation_code("维吾尔") == "05"
    with pytest.raises(KeyError):
        codes.nation_code("火星")


# -- foreign permanent-residence cards -----------------------------------------------------------


@pytest.mark.parametrize("number", ["932682198501010017", "911124198108030024", "CAN110019810803"])
def test_permit_number_specimens_validate(number: str) -> None:
    assert c.permit_number_problem(number) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("932682198501010018", "check digit should be 7"),
        ("911124198108030025", "check digit should be 4"),
        ("999124198108030024", "province"),
        ("911124198113030024", "birth date"),
        ("CA1110019810803", "neither"),
        ("11124198108030024", "neither"),
    ],
)
def test_permit_number_defects(number: str, problem: str) -> None:
    assert problem in (c.permit_number_problem(number) or "")


def test_foreign_2017_layout() -> None:
    card = c.ForeignResidentCard(
        english_name="SMITH, JOHN",
        sex="1",
        permit_number="CAN110019810803",
        nationality="CAN",
        birth=date(1981, 8, 3),
        valid_from=date(2017, 5, 1),
        valid_to=date(2027, 5, 1),
        chinese_name="约翰",
        card_version="01",
        authority_code="1100",
    )
    block = c.encode(card)
    assert card.version == "2017" and card.flag == "I"
    assert block[0:120] == ucs2("SMITH, JOHN", 120)
    assert block[120:122] == b"1\x00"
    assert block[122:152] == ucs2("CAN110019810803", 30)
    assert block[152:158] == ucs2("CAN", 6)
    assert block[158:188] == ucs2("约翰", 30)
    assert block[188:204] == ucs2("20170501", 16)
    assert block[204:220] == ucs2("20270501", 16)
    assert block[220:236] == ucs2("19810803", 16)
    assert block[236:240] == ucs2("01", 4)
    assert block[240:248] == ucs2("1100", 8)
    assert block[248:250] == b"I\x00"
    assert c.decode(block) == card
    projection = c.info(card)
    assert projection["certType"] == "I" and projection["nation"] == "加拿大" and projection["nationCode"] == "CAN"
    assert projection["englishName"] == "SMITH, JOHN" and projection["name"] == "约翰"


def test_foreign_2023_card_flag_and_round_trip() -> None:
    card = c.ForeignResidentCard(
        english_name="ALSAUD, FAHAD ABDULLAH MOHAMMED BIN KHALID",  # 42 characters: spills past 35
        sex="1",
        permit_number="932682198501010017",
        nationality="SAU",
        birth=date(1985, 1, 1),
        valid_from=date(2023, 12, 1),
        valid_to=date(2033, 12, 1),
    )
    block = c.encode(card)
    assert card.version == "2023" and block[248:250] == b"Y\x00"
    assert block[122:158] == ucs2("932682198501010017", 36)
    assert c.decode(block) == card


def test_generated_foreign_cards_are_valid_and_deterministic() -> None:
    for version in ("2017", "2023"):
        for seed in range(10):
            card = c.foreign_card(seed, version=version)
            assert card == c.foreign_card(seed, version=version)
            assert card.version == version
            assert c.permit_number_problem(card.permit_number) is None
            assert c.decode(c.encode(card)) == card
            if version == "2023":
                assert card.permit_number.isdigit() and card.permit_number[3:6] == codes.COUNTRIES[card.nationality][0]


# -- 港澳台居民居住证 ------------------------------------------------------------------------------


def test_hmt_layout() -> None:
    card = c.hmt_card(3, region="HK")
    block = c.encode(card)
    assert card.flag == "J" and block[248:250] == b"J\x00"
    assert block[32:36] == b" \x00 \x00"  # nation slot reserved
    assert block[122:158] == ucs2(card.id_number, 36) and card.id_number.startswith("810000")
    assert block[220:238] == ucs2(card.pass_number, 18) and card.pass_number.startswith("H")
    assert block[238:242] == ucs2(card.issue_count, 4)
    assert c.hmt_number_problem(card.id_number) is None
    assert c.decode(block) == card
    projection = c.info(card)
    assert projection["certType"] == "J" and projection["passNumber"] == card.pass_number
    assert projection["nation"] == "" and projection["idCardType"] is None


@pytest.mark.parametrize(("region", "prefix"), [("HK", "810000"), ("MO", "820000"), ("TW", "830000")])
def test_hmt_regions(region: str, prefix: str) -> None:
    card = c.hmt_card(1, region=region)
    assert card.id_number.startswith(prefix) and card.region == region
    assert c.hmt_card(1, region=region) == card


# -- property tests ----------------------------------------------------------------------------

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFFFF, exclude_categories=("Cs", "Zs", "Cc")),
        max_size=max_size,
    )


@settings(max_examples=60, deadline=None)
@given(
    name=_text(15),
    sex=st.sampled_from(["1", "2"]),
    nation=st.sampled_from(sorted(codes.nations())),
    birth=dates,
    address=_text(35),
    number=_text(18),
    authority=_text(15),
    valid_from=dates,
    valid_to=st.none() | dates,
)
def test_resident_round_trip_property(
    name: str,
    sex: str,
    nation: str,
    birth: date,
    address: str,
    number: str,
    authority: str,
    valid_from: date,
    valid_to: date | None,
) -> None:
    card = c.ResidentCard(name, sex, nation, birth, address, number, authority, valid_from, valid_to)
    block = c.encode(card)
    assert len(block) == 256 and c.card_flag(block) == " "
    assert c.decode(block) == card


@settings(max_examples=40, deadline=None)
@given(english=_text(60), chinese=_text(15), alpha3=st.sampled_from(sorted(codes.COUNTRIES)), birth=dates)
def test_foreign_2017_round_trip_property(english: str, chinese: str, alpha3: str, birth: date) -> None:
    card = c.ForeignResidentCard(english, "2", f"{alpha3}110019810803", alpha3, birth, birth, None, chinese)
    assert c.decode(c.encode(card)) == card


@settings(max_examples=40, deadline=None)
@given(name=_text(15), address=_text(35), pass_number=_text(9), count=st.from_regex(r"\A[0-9]{2}\Z"), birth=dates)
def test_hmt_round_trip_property(name: str, address: str, pass_number: str, count: str, birth: date) -> None:
    card = c.HmtCard(name, "1", birth, address, "810000198001010015", "深圳市公安局", birth, birth, pass_number, count)
    assert c.decode(c.encode(card)) == card


# -- photos and the SAM frame ------------------------------------------------------------------


def test_bmp_is_102_by_126_24_bit(people: list[Person]) -> None:
    data = photo.bmp(people[0].photo)
    assert len(data) == 38_862 == photo.BMP_SIZE
    assert data[:2] == b"BM"
    file_size, offset = struct.unpack_from("<I4xI", data, 2)
    width, height, _planes, bits = struct.unpack_from("<iiHH", data, 18)
    assert (file_size, offset, width, abs(height), bits) == (38_862, 54, 102, 126, 24)
    assert (len(data) - offset) == 308 * 126  # rows padded from 306 to 308 bytes
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (102, 126) and img.mode == "RGB"
    assert len(photo.bmp(b"")) == 38_862  # no photo: a white card


def test_jpeg_and_wlt_placeholder(people: list[Person]) -> None:
    with Image.open(io.BytesIO(photo.jpeg(people[1].photo))) as img:
        assert img.format == "JPEG" and img.size == (102, 126)
    wlt = photo.wlt_placeholder(people[1].photo)
    assert len(wlt) == 1024 and wlt == photo.wlt_placeholder(people[1].photo)
    assert wlt != photo.wlt_placeholder(people[2].photo)


def test_sam_frame(people: list[Person]) -> None:
    card = c.resident_from_person(people[0])
    frame = c.sam_frame(card)
    assert frame[:5] == bytes.fromhex("AAAAAA9669")
    length = int.from_bytes(frame[5:7], "big")
    assert length == len(frame) - 7 == 3 + 6 + 256 + 1024 + 1
    assert frame[7:10] == bytes.fromhex("000090")
    assert frame[10:16] == bytes.fromhex("0100 0400 0000")
    assert frame[16:272] == c.encode(card)
    parsed = c.parse_sam_frame(frame)
    assert parsed.sw == c.SW_OK and parsed.text == c.encode(card) and len(parsed.photo) == 1024
    assert parsed.fingerprint == b""
    with_fp = c.parse_sam_frame(c.sam_frame(card, fingerprint=bytes(1024)))
    assert len(with_fp.fingerprint) == 1024
    broken = bytearray(frame)
    broken[100] ^= 0xFF
    with pytest.raises(c.CardDataError, match="checksum"):
        c.parse_sam_frame(bytes(broken))
    with pytest.raises(c.CardDataError, match="preamble"):
        c.parse_sam_frame(b"\x00" * 40)


# -- JSON ---------------------------------------------------------------------------------------


def test_card_json_round_trip(people: list[Person]) -> None:
    for card in (
        c.resident_from_person(people[2]),
        c.foreign_card(4),
        c.foreign_card(4, version="2017"),
        c.hmt_card(5),
    ):
        data = c.card_to_json(card, with_photo=True)
        back = c.card_from_json(data)
        assert back == card and back.photo == card.photo
    bare = c.card_from_json(c.card_to_json(c.hmt_card(6)))
    assert bare.photo  # a face is drawn when none is given


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"type": "passport"}, "type"),
        ({"type": "resident", "name": "张三"}, "required"),
        ({"type": "hmt", "bogus": 1}, "unknown field"),
        ({"type": "resident", "name": 1}, "string"),
    ],
)
def test_card_json_errors(data: object, message: str) -> None:
    with pytest.raises(c.CardDataError, match=message):
        c.card_from_json(data)


def test_card_json_field_errors(resident: c.ResidentCard) -> None:
    good = c.card_to_json(resident)
    for key, value, message in [
        ("birth", "1985-13-01", "calendar"),
        ("valid_from", "yesterday", "date"),
        ("nation", "火星", "nation"),
        ("sex", "M", "sex"),
        ("name", "欧" * 16, "longer"),
    ]:
        with pytest.raises(c.CardDataError, match=message):
            c.card_from_json({**good, key: value})
    with pytest.raises(c.CardDataError, match="Base64"):
        c.card_from_json({**good, "photo": "@@@"})
    han = c.card_from_json({**good, "nation": "汉族"})
    assert isinstance(han, c.ResidentCard) and han.nation == "01"


def test_platform_fields(people: list[Person]) -> None:
    p = people[0]
    fields = c.platform_fields(c.resident_from_person(p))
    assert fields["idCardType"] == "01" and fields["idCardNumber"] == p.id_number
    assert fields["gender"] == p.gender and fields["nation"] == p.nation and fields["grantOrg"] == p.grant_org
    assert fields["startDate"] == p.valid_from.isoformat() and fields["expiryDate"] == p.valid_to
    assert base64.b64decode(fields["headImage"])[:2] == b"\xff\xd8"
    hx = c.hx_content(c.resident_from_person(p))
    assert hx["partyName"] == p.name and hx["certNumber"] == p.id_number and hx["gender"] in ("1", "2")
