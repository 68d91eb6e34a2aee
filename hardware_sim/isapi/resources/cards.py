"""Cards (``CardInfo``): issue, modify, search, count and delete a person's cards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hardware_sim.isapi import messages as m
from hardware_sim.isapi.http import (
    AC,
    ROUTES,
    IsapiError,
    Request,
    Response,
    employee_list,
    json_reply,
    ok,
    paginate,
    str_field,
)
from hardware_sim.isapi.records import CardRecord

if TYPE_CHECKING:
    from hardware_sim.isapi.device import IsapiDevice


_CARD_TYPES = {
    "normalCard",
    "patrolCard",
    "hijackCard",
    "superCard",
    "dismissingCard",
    "emergencyCard",
    "visitorCard",
    "blackListCard",
    "blockList",
}


def _card_info(req: Request) -> dict[str, Any]:
    info = req.json_object("CardInfo")
    info["employeeNo"] = str_field(info.get("employeeNo"), "employeeNo", max_len=32)
    info["cardNo"] = str_field(info.get("cardNo"), "cardNo", max_len=32)
    if "cardType" in info and info["cardType"] not in _CARD_TYPES:
        raise IsapiError(m.BAD_PARAMETERS, f"cardType {info['cardType']!r}")
    return info


def _store_card(d: IsapiDevice, info: dict[str, Any], *, create: bool, update: bool) -> None:
    no, card_no = info["employeeNo"], info["cardNo"]
    person = d.enrolled.get(no)
    if person is None:
        raise IsapiError(d.fw.person_not_found, f"employeeNo {no} does not exist; add the person first")
    existing = d.cards.get(card_no)
    if existing is not None and not update:
        raise IsapiError(d.fw.duplicate_card, f"cardNo {card_no} already exists")
    if existing is None and not create:
        raise IsapiError(d.fw.card_not_found, f"cardNo {card_no} does not exist")
    if existing is not None and existing.employee_no != no:
        raise IsapiError(d.fw.duplicate_card, f"cardNo {card_no} belongs to employeeNo {existing.employee_no}")
    if existing is None:
        if d.fw.cards_per_person != 255 and len(d.cards_of(no)) >= d.fw.cards_per_person:
            raise IsapiError(d.fw.cards_per_person_full, f"employeeNo {no} already has {d.fw.cards_per_person} cards")
        if len(d.cards) >= d.fw.card_capacity:
            raise IsapiError(d.fw.cards_per_person_full, f"the device holds {d.fw.card_capacity} cards")
    extra = {k: v for k, v in info.items() if k not in ("employeeNo", "cardNo", "cardType")}
    d.cards[card_no] = CardRecord(card_no, no, str(info.get("cardType", "normalCard")), extra)
    if person.card_no is None:
        person.card_no = card_no


@ROUTES.handles("POST", f"{AC}/CardInfo/Record")
async def card_record(req: Request) -> Response:
    _store_card(req.device, _card_info(req), create=True, update=False)
    return ok(req)


@ROUTES.handles("PUT", f"{AC}/CardInfo/Modify")
async def card_modify(req: Request) -> Response:
    _store_card(req.device, _card_info(req), create=False, update=True)
    return ok(req)


@ROUTES.handles("PUT", f"{AC}/CardInfo/SetUp")
async def card_setup(req: Request) -> Response:
    _store_card(req.device, _card_info(req), create=True, update=True)
    return ok(req)


def _card_list(cond: dict[str, Any]) -> list[str] | None:
    raw = cond.get("CardNoList")
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise IsapiError(m.BAD_PARAMETERS, "CardNoList must be a list of {cardNo}")
    return [str_field(i.get("cardNo"), "CardNoList[].cardNo", max_len=32) for i in raw]


@ROUTES.handles("POST", f"{AC}/CardInfo/Search")
async def card_search(req: Request) -> Response:
    d = req.device
    cond = req.json_object("CardInfoSearchCond")
    nos, card_nos = employee_list(cond), _card_list(cond)
    cards = [
        c
        for c in d.cards.values()
        if (nos is None or c.employee_no in nos) and (card_nos is None or c.card_no in card_nos)
    ]
    page, status = paginate(cards, cond, d.fw.card_search_max)
    result: dict[str, Any] = dict(status)
    if page:
        result["CardInfo"] = [
            {"employeeNo": c.employee_no, "cardNo": c.card_no, "leaderCard": "", "cardType": c.card_type} for c in page
        ]
    return json_reply({"CardInfoSearch": result})


@ROUTES.handles("GET", f"{AC}/CardInfo/Count", json_only=True)
async def card_count(req: Request) -> Response:
    d = req.device
    no = req.query.get("employeeNo")
    count = len(d.cards_of(no)) if no else len(d.cards)
    return json_reply({"CardInfoCount": {"cardNumber": count}})


@ROUTES.handles("PUT", f"{AC}/CardInfo/Delete")
async def card_delete(req: Request) -> Response:
    d = req.device
    cond = req.json_object("CardInfoDelCond")
    nos, card_nos = employee_list(cond), _card_list(cond)
    if nos is None and card_nos is None:
        raise IsapiError(m.BAD_PARAMETERS, "EmployeeNoList or CardNoList is required")
    for card in list(d.cards.values()):
        if (nos is not None and card.employee_no in nos) or (card_nos is not None and card.card_no in card_nos):
            del d.cards[card.card_no]
            person = d.enrolled.get(card.employee_no)
            if person is not None and person.card_no == card.card_no:
                rest = d.cards_of(card.employee_no)
                person.card_no = rest[0].card_no if rest else None
    return ok(req)
