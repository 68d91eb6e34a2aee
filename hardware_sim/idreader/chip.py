"""The text block codec, pure: :func:`encode` a card into the chip's 256 bytes, :func:`decode` them
back (the card-type flag at bytes 248–249 says which family)."""

from __future__ import annotations

from hardware_sim.idreader.layouts import (
    BLOCK_SIZE,
    FLAG_OFFSET,
    FOREIGN_2017_LAYOUT,
    FOREIGN_2023_LAYOUT,
    HMT_LAYOUT,
    RESIDENT_LAYOUT,
    CardDataError,
    pack,
    parse_valid_to,
    parse_ymd,
    unpack,
    valid_to_text,
    ymd,
)
from hardware_sim.idreader.models import Card, ForeignResidentCard, HmtCard, ResidentCard, layout_of


def encode(card: Card) -> bytes:
    """The 256-byte UCS-2LE text block as the SAM returns it."""
    common = {
        "sex": card.sex,
        "birth": ymd(card.birth),
        "valid_from": ymd(card.valid_from),
        "valid_to": valid_to_text(card.valid_to),
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
    return pack(layout_of(card), {**common, **values})


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
        v = unpack(HMT_LAYOUT, block)
        return HmtCard(
            name=v["name"],
            sex=v["sex"],
            birth=parse_ymd(v["birth"], "birth"),
            address=v["address"],
            id_number=v["id_number"],
            authority=v["authority"],
            valid_from=parse_ymd(v["valid_from"], "valid_from"),
            valid_to=parse_valid_to(v["valid_to"]),
            pass_number=v["pass_number"],
            issue_count=v["issue_count"],
            photo=photo,
        )
    if flag == "I":
        v = unpack(FOREIGN_2017_LAYOUT, block)
        return ForeignResidentCard(
            english_name=v["english_name"],
            sex=v["sex"],
            permit_number=v["permit_number"],
            nationality=v["nationality"],
            birth=parse_ymd(v["birth"], "birth"),
            valid_from=parse_ymd(v["valid_from"], "valid_from"),
            valid_to=parse_valid_to(v["valid_to"]),
            chinese_name=v["chinese_name"],
            card_version=v["card_version"],
            authority_code=v["authority_code"],
            photo=photo,
        )
    if flag == "Y":
        v = unpack(FOREIGN_2023_LAYOUT, block)
        return ForeignResidentCard(
            english_name=v["english_name"].ljust(FOREIGN_2023_LAYOUT["english_name"].chars) + v["english_name_more"]
            if v["english_name_more"]
            else v["english_name"],
            sex=v["sex"],
            permit_number=v["permit_number"],
            nationality=v["nationality"],
            birth=parse_ymd(v["birth"], "birth"),
            valid_from=parse_ymd(v["valid_from"], "valid_from"),
            valid_to=parse_valid_to(v["valid_to"]),
            chinese_name=v["chinese_name"],
            authority=v["authority"],
            renewal_count=v["renewal_count"],
            photo=photo,
        )
    if flag != " ":
        raise CardDataError(f"unknown card-type flag {flag!r} at bytes 248–249")
    v = unpack(RESIDENT_LAYOUT, block)
    return ResidentCard(
        name=v["name"],
        sex=v["sex"],
        nation=v["nation"],
        birth=parse_ymd(v["birth"], "birth"),
        address=v["address"] + appended_address,
        id_number=v["id_number"],
        authority=v["authority"],
        valid_from=parse_ymd(v["valid_from"], "valid_from"),
        valid_to=parse_valid_to(v["valid_to"]),
        photo=photo,
    )
