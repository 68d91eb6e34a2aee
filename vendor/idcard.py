"""Enrolment at the site office from a second-generation ID-card reader: read the card through
the reader's local HTTP service (``POST /cgi-bin/readCard``, docs/devices/idreader.md) and turn
what the chip holds into a ``ProjectWorker.Add`` item; the clerk adds what no card carries (the
phone number, the trade)."""

from __future__ import annotations

from typing import Any

import httpx


class CardNotRead(RuntimeError):
    """The reader answered, but without a card (none placed, read already, reader off)."""


async def read_card(reader_url: str, timeout: float = 10.0) -> dict[str, Any]:
    """The ``info`` object of one read."""
    async with httpx.AsyncClient(timeout=timeout) as http:
        response = await http.post(reader_url.rstrip("/") + "/cgi-bin/readCard", json={})
    doc = response.json()
    result = doc.get("result") or {}
    if response.status_code != 200 or result.get("resultFlag") != 0:
        raise CardNotRead(f"{result.get('resultFlag')}: {result.get('errorMsg') or response.text[:100]}")
    info: dict[str, Any] = doc["info"]
    return info


def _date(chip: str) -> str:
    """``YYYYMMDD`` as on the chip → ``yyyy-MM-dd``; ``长期`` stays as it is."""
    chip = chip.strip()
    return f"{chip[:4]}-{chip[4:6]}-{chip[6:8]}" if len(chip) == 8 and chip.isdigit() else chip


def worker_item(info: dict[str, Any], *, work_type: str, cell_phone: str, leader: bool = False) -> dict[str, Any]:
    """The workerList item of a resident ID card (the only card type the platform takes)."""
    if info.get("idCardType") != "01":
        raise CardNotRead("only the resident identity card (居民身份证) can be enrolled on the platform")
    return {
        "workerName": info["name"],
        "isTeamLeader": 1 if leader else 0,
        "idCardType": "01",
        "idCardNumber": info["idCode"],
        "workType": work_type,
        "workRole": 20,
        "nation": info["nation"],
        "address": info["address"],
        "headImage": "data:image/jpeg;base64," + info["Photo"],
        "politicsType": "13",
        "cellPhone": cell_phone,
        "cultureLevelType": "99",
        "grantOrg": info["department"],
        "startDate": _date(info["startDate"]),
        "expiryDate": _date(info["endDate"]),
    }
