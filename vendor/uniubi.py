"""Uniubi (宇泛) WO / Uface callback terminals as the vendor drives them: set the recognition
callback to our listener, create each worker with their face over the device's local form API
(``pass`` on every call), and read the recognition callbacks (docs/devices/callback.md)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from standard.envelope import BEIJING

log = logging.getLogger("jzgr.vendor.uniubi")

ACK = {"result": 1, "success": True}  # what makes the terminal forget a callback
KINDS = {"face_0": "face_pass", "card_0": "card_pass", "face_2": "stranger"}
STRANGER = "STRANGERBABY"


@dataclass(frozen=True)
class Terminal:
    device_id: str
    url: str  # the device-local API, e.g. http://192.168.1.50:8090
    password: str


async def _call(http: httpx.AsyncClient, terminal: Terminal, path: str, **fields: str) -> None:
    response = await http.post(terminal.url + path, data={"pass": terminal.password, **fields})
    doc = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or not doc.get("success"):
        raise RuntimeError(f"{path}: HTTP {response.status_code}: {response.text[:200]}")


async def provision(terminal: Terminal, callback: str, people: list[dict[str, Any]], timeout: float = 10.0) -> None:
    """Point the terminal's recognition callback at ``callback`` and create ``people`` with faces."""
    async with httpx.AsyncClient(timeout=timeout) as http:
        await _call(http, terminal, "/setIdentifyCallBack", callbackUrl=callback, base64Enable="1")
        for p in people:
            person = {"id": p["employee_no"], "name": p["name"], "idcardNum": p.get("id_number") or ""}
            try:
                await _call(http, terminal, "/person/create", person=json.dumps(person, ensure_ascii=False))
            except RuntimeError:
                await _call(http, terminal, "/person/update", person=json.dumps(person, ensure_ascii=False))
            if p.get("photo"):
                face = {"personId": p["employee_no"], "faceId": f"{p['employee_no']}-1", "imgBase64": p["photo"]}
                await _call(http, terminal, "/face/create", **face)
    log.info("%s: %d people, callback %s", terminal.device_id, len(people), callback)


@dataclass(frozen=True)
class Recognition:
    device_key: str
    serial_no: int  # the callback carries none: derived from what identifies it
    kind: str
    employee_no: str | None
    moment: str  # Beijing time


def parse(body: bytes) -> Recognition | None:
    """One form-encoded recognition callback; None when it is not one."""
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        key, at_ms, kind_code = form["deviceKey"], int(form["time"]), form["type"]
    except (KeyError, ValueError):
        return None
    person = form.get("personId") or None
    kind = KINDS.get(kind_code, kind_code)
    if person == STRANGER:
        person, kind = None, "stranger" if kind_code != "face_0" else kind
    elif kind_code == "face_2":
        kind = "liveness_fail"  # a known person refused by the terminal
    moment = datetime.fromtimestamp(at_ms / 1000, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    serial = int(hashlib.sha1(f"{key}\t{at_ms}\t{person}\t{kind_code}".encode()).hexdigest()[:15], 16)
    return Recognition(key, serial, kind, person, moment)
