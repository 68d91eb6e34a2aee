"""What a card looks like outside the chip: its JSON form (the control API's), the reader services'
``info`` and ``hx`` views, and the platform's worker fields."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import random
from dataclasses import MISSING, replace
from datetime import date
from typing import Any

from fixtures.fake import photos
from hardware_sim.idreader import codes
from hardware_sim.idreader import photo as photo_mod
from hardware_sim.idreader.chip import encode
from hardware_sim.idreader.layouts import LONG_TERM, CardDataError, parse_valid_to, parse_ymd, valid_to_text, ymd
from hardware_sim.idreader.models import SEX_TEXT, Card, ForeignResidentCard, HmtCard, ResidentCard, platform_gender

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
            values[name] = parse_valid_to(raw)
        elif name in ("birth", "valid_from"):
            values[name] = parse_ymd(raw, name)
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
        "birthday": ymd(card.birth),
        "address": card.address if not isinstance(card, ForeignResidentCard) else "",
        "idCode": card.number,
        "department": authority,
        "startDate": ymd(card.valid_from),
        "endDate": valid_to_text(card.valid_to),
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
        "bornDay": ymd(card.birth),
        "certAddress": card.address if not isinstance(card, ForeignResidentCard) else "",
        "certNumber": card.number,
        "certOrg": card.authority if not isinstance(card, ForeignResidentCard) else card.authority_code,
        "effDate": ymd(card.valid_from),
        "expDate": valid_to_text(card.valid_to),
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
