"""The ISAPI web server of the virtual terminal: one raw ASGI app for every device in the process.

The device is chosen by the local address the connection arrived on (``scope["server"]``), then:
Digest authentication (except ``/SDK/activateStatus``), routing, the handler. Every failure — bad
JSON/XML, broken multipart, unknown person, unknown path, a bug — becomes the device's own error
envelope (JSON with ``?format=json``, XML ``ResponseStatus`` otherwise); nothing escapes as a bare
500. Every request is journalled as ``http_in``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from hardware_sim.device import BEIJING, Enrolled
from hardware_sim.isapi import messages as m
from hardware_sim.isapi.firmware import DeviceError
from hardware_sim.isapi.messages import AcsRecord

if TYPE_CHECKING:
    from hardware_sim.isapi.device import HttpHost, IsapiDevice
    from hardware_sim.isapi.server import IsapiServer

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 4 * 1024 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024
JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "application/xml; charset=UTF-8"


class IsapiError(Exception):
    def __init__(self, error: DeviceError, detail: str = "") -> None:
        super().__init__(detail or error.message or error.sub_status_code)
        self.error = error
        self.detail = detail


@dataclass
class Request:
    device: IsapiDevice
    method: str
    path: str
    raw_uri: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client: str
    params: list[str] = field(default_factory=list)

    @property
    def wants_json(self) -> bool:
        return self.query.get("format", "").lower() == "json"

    def json(self) -> Any:
        if not self.wants_json and self.device.fw.require_format_json:
            raise IsapiError(m.FORMAT_JSON_REQUIRED)
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IsapiError(m.BAD_JSON, f"malformed JSON: {exc}") from None

    def json_object(self, key: str | None = None) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise IsapiError(m.BAD_JSON_CONTENT, "the body must be a JSON object")
        if key is None:
            return data
        inner = data.get(key)
        if not isinstance(inner, dict):
            raise IsapiError(m.BAD_JSON_CONTENT, f"the body must be {{{key!r}: {{…}}}}")
        return inner

    def xml(self) -> Any:
        try:
            return m.parse_xml(self.body)
        except ValueError as exc:
            raise IsapiError(m.BAD_XML, f"malformed XML: {exc}") from None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]


# -- response helpers ---------------------------------------------------------------------------
def ok(req: Request, payload: dict[str, Any] | None = None) -> Response:
    if req.wants_json:
        body = m.status_json("", None)
        if payload:
            body.update(payload)
        return Response(200, m.dumps(body), JSON_TYPE)
    return Response(200, m.status_xml(req.device.fw.xml_namespace, req.path, None), XML_TYPE)


def json_reply(payload: dict[str, Any]) -> Response:
    return Response(200, m.dumps(payload), JSON_TYPE)


def xml_reply(req: Request, root: str, fields: dict[str, Any]) -> Response:
    return Response(200, m.to_xml(root, fields, req.device.fw.xml_namespace), XML_TYPE)


def error_response(
    device: IsapiDevice | None, path: str, wants_json: bool, error: DeviceError, detail: str = "", **extra: Any
) -> Response:
    ns = device.fw.xml_namespace if device is not None else "http://www.isapi.org/ver20/XMLSchema"
    if wants_json:
        return Response(error.http_status, m.dumps(m.status_json(path, error, detail, **extra)), JSON_TYPE)
    return Response(error.http_status, m.status_xml(ns, path, error, detail, **extra), XML_TYPE)


def _int(value: Any, name: str, default: int | None = None, *, low: int = 0) -> int:
    if value is None:
        if default is None:
            raise IsapiError(m.BAD_PARAMETERS, f"{name} is required")
        return default
    if isinstance(value, bool):
        raise IsapiError(m.BAD_PARAMETERS, f"{name} must be a number")
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise IsapiError(m.BAD_PARAMETERS, f"{name} must be a number") from None
    if out < low:
        raise IsapiError(m.BAD_PARAMETERS, f"{name} must be ≥ {low}")
    return out


def _str(value: Any, name: str, *, required: bool = True, max_len: int = 64) -> str:
    if value is None or value == "":
        if required:
            raise IsapiError(m.BAD_PARAMETERS, f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise IsapiError(m.BAD_PARAMETERS, f"{name} must be a string")
    if len(value) > max_len:
        raise IsapiError(m.BAD_PARAMETERS, f"{name} is longer than {max_len}")
    return value


def parse_time(value: Any, name: str, zone: tzinfo = BEIJING) -> datetime:
    """An ISAPI time; one without an offset is in ``zone`` (the device's own, +08:00)."""
    if not isinstance(value, str) or not value:
        raise IsapiError(m.BAD_PARAMETERS, f"{name} must be a time like 2026-02-24T19:45:13+08:00")
    text = value.strip().replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise IsapiError(m.BAD_PARAMETERS, f"{name} {value!r} is not a valid time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def _page(items: list[Any], cond: dict[str, Any], cap: int) -> tuple[list[Any], dict[str, Any]]:
    """Apply searchResultPosition/maxResults (capped at the device maximum): the page and the status fields."""
    position = _int(cond.get("searchResultPosition"), "searchResultPosition", 0)
    wanted = _int(cond.get("maxResults"), "maxResults", cap, low=1)
    page = items[position : position + min(wanted, cap)]
    total = len(items)
    if not page:
        status = "NO MATCH"
    elif position + len(page) < total:
        status = "MORE"
    else:
        status = "OK"
    return page, {
        "searchID": str(cond.get("searchID", "")),
        "responseStatusStrg": status,
        "numOfMatches": len(page),
        "totalMatches": total,
    }


# -- system -------------------------------------------------------------------------------------
async def activate_status(req: Request) -> Response:
    return xml_reply(req, "ActivateStatus", {"Activated": True})


async def user_check(req: Request) -> Response:
    return xml_reply(
        req,
        "userCheck",
        {"statusValue": 200, "statusString": "OK", "isDefaultPassword": False, "isRiskPassword": False},
    )


async def device_info(req: Request) -> Response:
    d = req.device
    fw = d.fw
    return xml_reply(
        req,
        "DeviceInfo",
        {
            "deviceName": d.identity.device_name,
            "deviceID": d.uuid,
            "deviceDescription": fw.device_description,
            "deviceLocation": "hangzhou",
            "model": fw.model,
            "serialNumber": d.serial_number,
            "macAddress": d.identity.mac,
            "firmwareVersion": fw.firmware_version,
            "firmwareReleasedDate": fw.firmware_build,
            "encoderVersion": "V2.0",
            "encoderReleasedDate": fw.firmware_build,
            "deviceType": "ACS",
            "subDeviceType": "accessControlTerminal",
            "telecontrolID": 255,
            "localZoneNum": 2,
            "alarmOutNum": 2,
            "electroLockNum": 1,
            "RS485Num": 1,
            "manufacturer": "hikvision",
            "OEMCode": 1,
            "marketType": 1,
        },
    )


async def get_time(req: Request) -> Response:
    d = req.device
    return xml_reply(req, "Time", {"timeMode": d.time_mode, "localTime": m.iso(d.clock.now()), "timeZone": d.time_zone})


async def put_time(req: Request) -> Response:
    d = req.device
    root = req.xml()
    if root.tag != "Time":
        raise IsapiError(m.BAD_XML_CONTENT, "the root element must be Time")
    mode = m.xml_text(root, "timeMode", "manual")
    if mode not in ("manual", "NTP"):
        raise IsapiError(m.BAD_XML_CONTENT, f"timeMode {mode!r}")
    zone = m.xml_text(root, "timeZone", d.time_zone)
    local_time = m.xml_text(root, "localTime")
    if mode == "manual":
        if not local_time:
            raise IsapiError(m.BAD_XML_CONTENT, "localTime is required in manual mode")
        try:
            when = parse_time(local_time, "localTime")
        except IsapiError as exc:
            raise IsapiError(m.BAD_XML_CONTENT, exc.detail) from None
        before = d.clock.now()
        d.clock.set(when)
        d.log("time_set", before=before.isoformat(), after=d.clock.now().isoformat(), zone=zone)
    d.time_mode, d.time_zone = mode, zone
    return ok(req)


async def get_ntp(req: Request) -> Response:
    servers = req.device.ntp_servers or [
        {"id": 1, "addressingFormatType": "ipaddress", "ipAddress": "0.0.0.0", "portNo": 123, "synchronizeInterval": 60}
    ]
    return xml_reply(req, "NTPServerList", {"NTPServer": servers})


async def put_ntp(req: Request) -> Response:
    root = req.xml()
    servers = [m.xml_to_dict(el) for el in root.iter("NTPServer")]
    req.device.ntp_servers = servers
    return ok(req)


async def system_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return xml_reply(
        req,
        "DeviceCap",
        {
            "SysCap": {"isSupportDst": True, "NetworkCap": {"isSupportWireless": False}},
            "EventCap": {"isSupportHttpHostNotification": True},
            "isSupportSubscribeEvent": True,
            "isSupportIDCardInfoEvent": fw.has_id_card_reader,
            "isSupportAcsUpdate": True,
            "isSupportFDLib": True,
            "isSupportUserInfo": True,
        },
    )


async def reboot(req: Request) -> Response:
    resp = ok(req)
    # after the answer has left: powering off resets the device's connections, this one included
    asyncio.get_running_loop().call_later(0.05, req.device.reboot, 1.0)
    resp.headers.append((b"connection", b"close"))
    return resp


async def remote_door(req: Request) -> Response:
    root = req.xml()
    cmd = m.xml_text(root, "cmd")
    if cmd not in ("open", "close", "alwaysOpen", "alwaysClose", "resume"):
        raise IsapiError(m.BAD_XML_CONTENT, f"cmd {cmd!r}")
    req.device.doors_opened += cmd == "open"
    req.device.log("door", door=req.params[0], cmd=cmd)
    return ok(req)


# -- access-control capabilities -----------------------------------------------------------------
async def acs_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return xml_reply(
        req,
        "AccessControl",
        {
            "isSupportUserInfo": True,
            "isSupportCardInfo": True,
            "isSupportFDLib": True,
            "isSupportAcsEvent": True,
            "isSupportAcsEventTotalNum": True,
            "isSupportRemoteControlDoor": True,
            "isSupportCaptureCardInfo": True,
            "isSupportCaptureFace": True,
            "isSupportAntiSneakCfg": True,
            "isSupportQRCodeEncryption": "QR" in fw.model,
            "isSupportUserInfoDetailDelete": True,
            "isSupportIDCardInfoEvent": fw.has_id_card_reader,
        },
    )


_FUNCTIONS = {"@opt": "post,delete,put,get,setUp"}


async def user_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return json_reply(
        {
            "UserInfo": {
                "supportFunction": _FUNCTIONS,
                "maxRecordNum": fw.user_capacity,
                "UserInfoSearchCond": {"maxResults": {"@min": 1, "@max": fw.user_search_max}},
                "employeeNo": {"@min": 1, "@max": 32},
                "name": {"@min": 1, "@max": 32},
                "userType": {"@opt": "normal,visitor,blackList"},
                "gender": {"@opt": "male,female,unknown"},
                "numOfCard": {"@min": 0, "@max": fw.cards_per_person},
                "numOfFace": {"@min": 0, "@max": 1},
                "UserInfoDetailDelete": {"mode": {"@opt": "all,byEmployeeNo"}},
            }
        }
    )


async def card_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return json_reply(
        {
            "CardInfo": {
                "supportFunction": _FUNCTIONS,
                "maxRecordNum": fw.card_capacity,
                "numberPerPerson": fw.cards_per_person,
                "cardNo": {"@min": 1, "@max": 32},
                "cardType": {"@opt": "normalCard,patrolCard,hijackCard,superCard,dismissingCard,visitorCard,blockList"},
                "CardInfoSearchCond": {"maxResults": {"@min": 1, "@max": fw.card_search_max}},
            }
        }
    )


async def fdlib_capabilities(req: Request) -> Response:
    fw = req.device.fw
    return json_reply(
        {
            "requestURL": req.path,
            "statusCode": 1,
            "statusString": "OK",
            "subStatusCode": "ok",
            "FDNameMaxLen": 64,
            "customInfoMaxLen": 256,
            "FDMaxNum": fw.face_libraries,
            "FDRecordDataMaxNum": fw.face_capacity,
            "supportFDFunction": _FUNCTIONS,
            "isSuportFDSearch": True,  # sic, as devices spell it [M]
            "isSupportFDSearchDataPackage": False,
            "faceLibType": {"@opt": ",".join(fw.face_lib_types)},
            "FaceDataRecord": {"maxPictureSize": fw.max_face_bytes, "pictureFormat": {"@opt": "jpeg"}},
            "FDSearchCond": {"maxResults": {"@min": 1, "@max": fw.face_search_max}},
        }
    )


# -- persons -------------------------------------------------------------------------------------
_USER_TYPES = {"normal", "visitor", "blackList", "blockList"}
_GENDERS = {"male", "female", "unknown"}


def _user_info(req: Request) -> dict[str, Any]:
    info = req.json_object("UserInfo")
    info["employeeNo"] = _str(info.get("employeeNo"), "employeeNo", max_len=32)
    if "name" in info:
        _str(info["name"], "name", required=False, max_len=128)
    if "userType" in info and info["userType"] not in _USER_TYPES:
        raise IsapiError(m.BAD_PARAMETERS, f"userType {info['userType']!r}")
    if "gender" in info and info["gender"] not in _GENDERS:
        raise IsapiError(m.BAD_PARAMETERS, f"gender {info['gender']!r}")
    valid = info.get("Valid")
    if valid is not None:
        if not isinstance(valid, dict):
            raise IsapiError(m.BAD_PARAMETERS, "Valid must be an object")
        for key in ("beginTime", "endTime"):
            if key in valid:
                parse_time(valid[key], f"Valid.{key}")
    return info


def _store_person(d: IsapiDevice, info: dict[str, Any], existing: Enrolled | None) -> Enrolled:
    if existing is None:
        person = Enrolled(employee_no=info["employeeNo"])
        d.enrolled[person.employee_no] = person
    else:
        person = existing
    stored: dict[str, Any] = dict(person.extra.get("UserInfo", {}))
    stored.update({k: v for k, v in info.items() if k not in ("numOfCard", "numOfFace", "numOfFP")})
    person.extra["UserInfo"] = stored
    person.name = str(stored.get("name", person.name))
    person.gender = str(stored.get("gender", person.gender))
    person.blocklisted = stored.get("userType") == "blackList"
    person.valid_from, person.valid_to = _validity(stored.get("Valid"))
    return person


def _validity(valid: Any) -> tuple[datetime | None, datetime | None]:
    """``Valid`` as the gate applies it: ``enable: false`` (or no ``Valid``) means no window; local
    times are the device's zone (+08:00), ``timeType: UTC`` makes offset-less times UTC."""
    if not isinstance(valid, dict) or valid.get("enable") is False:
        return None, None
    zone = UTC if str(valid.get("timeType", "local")).upper() == "UTC" else BEIJING
    begin, end = (parse_time(valid[k], f"Valid.{k}", zone) if valid.get(k) else None for k in ("beginTime", "endTime"))
    return begin, end


def _person_view(d: IsapiDevice, person: Enrolled) -> dict[str, Any]:
    stored = person.extra.get("UserInfo", {})
    view: dict[str, Any] = {
        "employeeNo": person.employee_no,
        "name": person.name,
        "userType": "normal",
        "closeDelayEnabled": False,
        "Valid": {  # not issued: no window, which is what the gate applies (_validity)
            "enable": False,
            "beginTime": "2020-01-01T00:00:00",
            "endTime": "2037-12-31T23:59:59",
            "timeType": "local",
        },
        "belongGroup": "",
        "password": "",
        "doorRight": "1",
        "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}],
        "maxOpenDoorTime": 0,
        "openDoorTime": 0,
        "roomNumber": 0,
        "floorNumber": 0,
        "localUIRight": False,
        "gender": person.gender,
    }
    view.update({k: v for k, v in stored.items() if k != "password"})
    view["numOfCard"] = len(d.cards_of(person.employee_no)) or (1 if person.card_no else 0)
    view["numOfFace"] = 1 if person.face else 0
    view["numOfFP"] = 0
    return view


async def user_record(req: Request) -> Response:
    d = req.device
    info = _user_info(req)
    no = info["employeeNo"]
    if no in d.enrolled:
        raise IsapiError(d.fw.duplicate_person, f"employeeNo {no} already exists")
    if len(d.enrolled) >= d.fw.user_capacity:
        raise IsapiError(d.fw.person_capacity_full, f"the device holds {d.fw.user_capacity} persons")
    _store_person(d, info, None)
    d.log("person_added", employee_no=no)
    return ok(req)


async def user_modify(req: Request) -> Response:
    d = req.device
    info = _user_info(req)
    person = d.enrolled.get(info["employeeNo"])
    if person is None:
        raise IsapiError(d.fw.person_not_found, f"employeeNo {info['employeeNo']} does not exist")
    _store_person(d, info, person)
    d.log("person_modified", employee_no=person.employee_no)
    return ok(req)


async def user_setup(req: Request) -> Response:
    d = req.device
    info = _user_info(req)
    person = d.enrolled.get(info["employeeNo"])
    if person is None and len(d.enrolled) >= d.fw.user_capacity:
        raise IsapiError(d.fw.person_capacity_full, f"the device holds {d.fw.user_capacity} persons")
    _store_person(d, info, person)
    d.log("person_set_up", employee_no=info["employeeNo"], created=person is None)
    return ok(req)


def _employee_list(cond: dict[str, Any], key: str = "EmployeeNoList") -> list[str] | None:
    raw = cond.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise IsapiError(m.BAD_PARAMETERS, f"{key} must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise IsapiError(m.BAD_PARAMETERS, f"{key} items are objects")
        out.append(_str(item.get("employeeNo"), f"{key}[].employeeNo", max_len=32))
    return out


async def user_search(req: Request) -> Response:
    d = req.device
    cond = req.json_object("UserInfoSearchCond")
    wanted = _employee_list(cond)
    if wanted is None:
        people = list(d.enrolled.values())
    else:
        people = [d.enrolled[no] for no in wanted if no in d.enrolled]
    fuzzy = cond.get("fuzzySearch")
    if isinstance(fuzzy, str) and fuzzy:
        people = [p for p in people if fuzzy in p.name or fuzzy in p.employee_no]
    page, status = _page(people, cond, d.fw.user_search_max)
    result: dict[str, Any] = dict(status)
    if page:
        result["UserInfo"] = [_person_view(d, p) for p in page]
    return json_reply({"UserInfoSearch": result})


async def user_count(req: Request) -> Response:
    d = req.device
    return json_reply({"UserInfoCount": {"userNumber": len(d.enrolled), "bindFaceUserNumber": d.face_count()}})


async def user_delete(req: Request) -> Response:
    d = req.device
    cond = req.json_object("UserInfoDetail")
    mode = cond.get("mode")
    if mode not in ("all", "byEmployeeNo"):
        raise IsapiError(m.BAD_PARAMETERS, "mode must be 'all' or 'byEmployeeNo'")
    nos = _employee_list(cond)
    if mode == "byEmployeeNo" and not nos:
        raise IsapiError(m.BAD_PARAMETERS, "EmployeeNoList is required with mode byEmployeeNo")
    job = d.delete_job
    if job is not None and not job.applied:
        raise IsapiError(m.DEVICE_BUSY, "a delete is in progress")
    d.start_delete(mode, nos)
    d.log("delete_started", mode=mode, count=len(nos or []))
    return ok(req)


async def user_delete_process(req: Request) -> Response:
    d = req.device
    d.settle_delete()
    job = d.delete_job
    if job is None or job.applied:
        body: dict[str, Any] = {"status": "failed" if job and job.failed else "success"}
        if d.fw.delete_reports_percent:
            body["percent"] = 100
    else:
        body = {"status": "processing"}
        if d.fw.delete_reports_percent:
            left = max(job.due - _now(), 0.0)
            total = max(d.fw.delete_process_s, 1e-6)
            body["percent"] = min(99, int(100 * (1 - left / total)))
    return json_reply({"UserInfoDetailDeleteProcess": body})


def _now() -> float:
    return time.monotonic()


# -- cards ---------------------------------------------------------------------------------------
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
    info["employeeNo"] = _str(info.get("employeeNo"), "employeeNo", max_len=32)
    info["cardNo"] = _str(info.get("cardNo"), "cardNo", max_len=32)
    if "cardType" in info and info["cardType"] not in _CARD_TYPES:
        raise IsapiError(m.BAD_PARAMETERS, f"cardType {info['cardType']!r}")
    return info


def _store_card(d: IsapiDevice, info: dict[str, Any], *, create: bool, update: bool) -> None:
    from hardware_sim.isapi.device import CardRecord

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


async def card_record(req: Request) -> Response:
    _store_card(req.device, _card_info(req), create=True, update=False)
    return ok(req)


async def card_modify(req: Request) -> Response:
    _store_card(req.device, _card_info(req), create=False, update=True)
    return ok(req)


async def card_setup(req: Request) -> Response:
    _store_card(req.device, _card_info(req), create=True, update=True)
    return ok(req)


def _card_list(cond: dict[str, Any]) -> list[str] | None:
    raw = cond.get("CardNoList")
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise IsapiError(m.BAD_PARAMETERS, "CardNoList must be a list of {cardNo}")
    return [_str(i.get("cardNo"), "CardNoList[].cardNo", max_len=32) for i in raw]


async def card_search(req: Request) -> Response:
    d = req.device
    cond = req.json_object("CardInfoSearchCond")
    nos, card_nos = _employee_list(cond), _card_list(cond)
    cards = [
        c
        for c in d.cards.values()
        if (nos is None or c.employee_no in nos) and (card_nos is None or c.card_no in card_nos)
    ]
    page, status = _page(cards, cond, d.fw.card_search_max)
    result: dict[str, Any] = dict(status)
    if page:
        result["CardInfo"] = [
            {"employeeNo": c.employee_no, "cardNo": c.card_no, "leaderCard": "", "cardType": c.card_type} for c in page
        ]
    return json_reply({"CardInfoSearch": result})


async def card_count(req: Request) -> Response:
    d = req.device
    no = req.query.get("employeeNo")
    count = len(d.cards_of(no)) if no else len(d.cards)
    return json_reply({"CardInfoCount": {"cardNumber": count}})


async def card_delete(req: Request) -> Response:
    d = req.device
    cond = req.json_object("CardInfoDelCond")
    nos, card_nos = _employee_list(cond), _card_list(cond)
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


# -- faces ---------------------------------------------------------------------------------------
async def fdlib_get(req: Request) -> Response:
    d = req.device
    libs = [
        {"FDID": lib.fdid, "faceLibType": lib.face_lib_type, "name": lib.name, "customInfo": lib.custom_info}
        for lib in d.face_libs.values()
    ]
    return json_reply({**m.status_json("", None), "FDLib": libs})


async def fdlib_post(req: Request) -> Response:
    from hardware_sim.isapi.device import FaceLib

    d = req.device
    body = req.json_object()
    lib_type = body.get("faceLibType", "blackFD")
    if lib_type not in d.fw.face_lib_types:
        raise IsapiError(m.BAD_PARAMETERS, f"faceLibType {lib_type!r}")
    if len(d.face_libs) >= d.fw.face_libraries:
        raise IsapiError(d.fw.face_capacity_full, f"the device holds {d.fw.face_libraries} face libraries")
    fdid = str(max(int(k) for k in d.face_libs) + 1 if d.face_libs else 1)
    name = _str(body.get("name"), "name", required=False)
    d.face_libs[fdid] = FaceLib(
        fdid, lib_type, name, _str(body.get("customInfo"), "customInfo", required=False, max_len=256)
    )
    return ok(req, {"FDID": fdid})


def _face_meta(req: Request, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise IsapiError(m.BAD_JSON_CONTENT, "FaceDataRecord must be a JSON object")
    d = req.device
    fdid = str(record.get("FDID", req.query.get("FDID", "1")))
    if fdid not in d.face_libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    lib_type = record.get("faceLibType", req.query.get("faceLibType", "blackFD"))
    if lib_type not in d.fw.face_lib_types:
        raise IsapiError(m.BAD_PARAMETERS, f"faceLibType {lib_type!r}")
    record["FDID"] = fdid
    record["FPID"] = _str(record.get("FPID"), "FPID", max_len=32)
    return record


async def _face_upload(req: Request) -> tuple[dict[str, Any], bytes]:
    """The face record JSON and the JPEG: multipart (JSON part ``FaceDataRecord`` + the first image
    part, whatever its name) or a JSON body with ``faceURL`` that the device downloads."""
    d = req.device
    ctype = req.headers.get("content-type", "")
    boundary = m.boundary_of(ctype)
    if boundary is None:
        if ctype.startswith("multipart/"):
            raise IsapiError(m.BAD_MULTIPART, "multipart without a boundary")
        record = _face_meta(req, req.json())
        url = record.get("faceURL")
        if not url:
            raise IsapiError(m.BAD_PARAMETERS, "no picture: send multipart with an image part, or faceURL")
        if not d.fw.accept_face_url:
            raise IsapiError(m.NOT_SUPPORTED, "faceURL is not supported by this firmware")
        return record, await _download(req, str(url))
    try:
        parts = m.parse_multipart(req.body, boundary, strict=d.fw.strict_multipart)
    except m.MultipartError as exc:
        raise IsapiError(m.BAD_MULTIPART, str(exc)) from None
    json_part = next((p for p in parts if p.name == "FaceDataRecord"), None)
    if json_part is None:
        json_part = next((p for p in parts if p.content_type in ("application/json", "text/plain", "")), None)
    if json_part is None:
        raise IsapiError(m.BAD_MULTIPART, "no FaceDataRecord part")
    try:
        record = json.loads(json_part.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IsapiError(m.BAD_JSON, f"FaceDataRecord is not JSON: {exc}") from None
    record = _face_meta(req, record)
    image = next((p for p in parts if p.content_type.startswith("image/")), None)
    if image is None:
        image = next((p for p in parts if p is not json_part and p.body[:2] == b"\xff\xd8"), None)
    if image is None:
        if record.get("faceURL"):
            return record, await _download(req, str(record["faceURL"]))
        raise IsapiError(m.BAD_MULTIPART, "no image part")
    return record, image.body


async def _download(req: Request, url: str) -> bytes:
    import httpx

    fw = req.device.fw
    try:
        async with httpx.AsyncClient(timeout=fw.push_timeout_s) as client:
            resp = await client.get(url)
    except (httpx.HTTPError, ValueError) as exc:
        raise IsapiError(fw.face_url_failed, f"downloading {url}: {exc}") from None
    if resp.status_code != 200:
        raise IsapiError(fw.face_url_failed, f"downloading {url}: HTTP {resp.status_code}")
    return resp.content


def _check_face(req: Request, data: bytes) -> None:
    fw = req.device.fw
    if len(data) > fw.max_face_bytes:
        raise IsapiError(fw.face_too_large, f"the picture has {len(data)} bytes; at most {fw.max_face_bytes}")
    size = m.jpeg_size(data)
    if size is None:
        raise IsapiError(fw.face_not_jpeg, "the picture is not a JPEG")
    if min(size) < fw.min_face_pixels:
        raise IsapiError(fw.face_too_small, f"the picture is {size[0]}x{size[1]}; at least {fw.min_face_pixels} px")
    if fw.face_model_failure_rate and req.device.rng.random() < fw.face_model_failure_rate:
        raise IsapiError(fw.face_model_failed, "face modelling failed (quality)")


async def _store_face(req: Request, *, update: bool) -> Response:
    from hardware_sim.isapi.device import FaceRecord

    d = req.device
    record, data = await _face_upload(req)
    fdid, fpid = record["FDID"], record["FPID"]
    person = d.enrolled.get(fpid)
    if fdid == "1":
        exists = person is not None and person.face is not None
    else:
        exists = fpid in d.face_libs[fdid].records
    if exists and not update:
        raise IsapiError(d.fw.face_exists, f"FPID {fpid} already has a face in FDID {fdid}")
    if person is None and d.fw.face_requires_person:
        raise IsapiError(d.fw.person_not_found, f"employeeNo {fpid} does not exist; add the person first")
    if not exists and d.face_count(fdid) >= d.fw.face_capacity:
        raise IsapiError(d.fw.face_capacity_full, f"FDID {fdid} holds {d.fw.face_capacity} faces (FDRecordDataMaxNum)")
    _check_face(req, data)
    if d.fw.face_enrol_delay_s:
        await asyncio.sleep(d.fw.face_enrol_delay_s)
    meta = {k: v for k, v in record.items() if k not in ("FDID", "FPID")}
    if fdid == "1":
        if person is None:
            person = d.enrolled[fpid] = Enrolled(employee_no=fpid, name=str(record.get("name", "")))
        person.face = data
        person.extra["face"] = meta
    else:
        d.face_libs[fdid].records[fpid] = FaceRecord(fpid, data, meta)
    d.log("face_set", fdid=fdid, fpid=fpid, bytes=len(data), created=not exists)
    return ok(req, {"FPID": fpid})


async def face_record(req: Request) -> Response:
    return await _store_face(req, update=False)


async def face_setup(req: Request) -> Response:
    return await _store_face(req, update=True)


def _faces(d: IsapiDevice, fdid: str) -> list[tuple[str, bytes, dict[str, Any]]]:
    if fdid == "1":
        return [(p.employee_no, p.face, p.extra.get("face", {})) for p in d.enrolled.values() if p.face]
    lib = d.face_libs.get(fdid)
    return [(r.fpid, r.data, r.meta) for r in lib.records.values()] if lib else []


async def face_search(req: Request) -> Response:
    d = req.device
    cond = req.json_object()
    if isinstance(cond.get("FDSearchCond"), dict):
        cond = cond["FDSearchCond"]
    fdid = str(cond.get("FDID", "1"))
    if fdid not in d.face_libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    faces = _faces(d, fdid)
    fpid = cond.get("FPID")
    if fpid:
        faces = [f for f in faces if f[0] == fpid]
    name = cond.get("name")
    if isinstance(name, str) and name:
        faces = [f for f in faces if name in str(f[2].get("name", d.enrolled.get(f[0], Enrolled("")).name))]
    page, status = _page(faces, cond, d.fw.face_search_max)
    status.pop("searchID")
    host = req.headers.get("host") or f"{d.identity.ip}:{d.port}"
    matches = [
        {
            "FPID": no,
            "faceURL": f"http://{host}/LOCALS/pic/enrlFace/{fdid}/{no}.jpg",
            "name": str(meta.get("name", d.enrolled.get(no, Enrolled(no)).name)),
            "modelData": "",
        }
        for no, _, meta in page
    ]
    body: dict[str, Any] = {**m.status_json("", None), **status}
    if matches:
        body["MatchList"] = matches
    return json_reply(body)


async def face_count(req: Request) -> Response:
    d = req.device
    fdid = req.query.get("FDID")
    libs = [d.face_libs[fdid]] if fdid in d.face_libs else ([] if fdid else list(d.face_libs.values()))
    if fdid and not libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    info = [
        {
            "FDID": lib.fdid,
            "faceLibType": lib.face_lib_type,
            "name": lib.name,
            "recordDataNumber": d.face_count(lib.fdid),
        }
        for lib in libs
    ]
    return json_reply({**m.status_json("", None), "FDRecordDataInfo": info})


async def face_delete(req: Request) -> Response:
    d = req.device
    body = req.json_object()
    fdid = str(req.query.get("FDID", body.get("FDID", "1")))
    if fdid not in d.face_libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    raw = body.get("FPID")
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise IsapiError(m.BAD_PARAMETERS, 'the body must be {"FPID":[{"value":"<employeeNo>"}]}')
    removed = 0
    for item in raw:
        fpid = _str(item.get("value"), "FPID[].value", max_len=32)
        if fdid == "1":
            person = d.enrolled.get(fpid)
            if person is not None and person.face is not None:
                person.face = None
                person.extra.pop("face", None)
                removed += 1
        elif d.face_libs[fdid].records.pop(fpid, None) is not None:
            removed += 1
    d.log("faces_deleted", fdid=fdid, removed=removed)
    return ok(req)


async def enrolled_picture(req: Request) -> Response:
    fdid, name = req.params
    fpid = name.rsplit(".", 1)[0]
    face = next((data for no, data, _ in _faces(req.device, fdid) if no == fpid), None)
    if face is None:
        raise IsapiError(m.INVALID_ID, f"no face {fpid} in FDID {fdid}")
    return Response(200, face, "image/jpeg")


async def event_picture(req: Request) -> Response:
    name = req.params[0].split("@", 1)[0].rsplit(".", 1)[0]
    try:
        serial = int(name)
    except ValueError:
        raise IsapiError(m.INVALID_ID, f"no picture {name}") from None
    data = req.device.pictures.get(serial)
    if data is None:
        raise IsapiError(m.INVALID_ID, f"no picture for serialNo {serial}")
    return Response(200, data, "image/jpeg")


# -- listening hosts -----------------------------------------------------------------------------
_HOST_FIELDS = (
    "id",
    "url",
    "protocolType",
    "parameterFormatType",
    "addressingFormatType",
    "hostName",
    "ipAddress",
    "portNo",
    "httpAuthenticationMethod",
)


def _host_view(host: HttpHost) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": host.id,
        "url": host.url,
        "protocolType": host.protocol_type,
        "parameterFormatType": host.parameter_format_type,
        "addressingFormatType": host.addressing_format_type,
    }
    if host.addressing_format_type.lower() == "hostname":
        view["hostName"] = host.host_name
    else:
        view["ipAddress"] = host.ip_address
    view["portNo"] = host.port_no
    view["httpAuthenticationMethod"] = host.http_authentication_method
    view.update(host.extra)
    return view


def _host_from(d: IsapiDevice, fields: dict[str, Any], default_id: str | None = None) -> HttpHost:
    import ipaddress

    from hardware_sim.isapi.device import HttpHost

    host_id = str(fields.get("id") or default_id or "")
    if not host_id.isdigit() or not 1 <= int(host_id) <= d.fw.max_http_hosts:
        raise IsapiError(m.BAD_XML_CONTENT, f"id must be 1..{d.fw.max_http_hosts}")
    url = str(fields.get("url") or "/")
    if not url.startswith("/"):
        raise IsapiError(m.BAD_XML_CONTENT, "url is the path on the listening host and starts with /")
    protocol = str(fields.get("protocolType") or "HTTP").upper()
    if protocol not in ("HTTP", "HTTPS"):
        raise IsapiError(m.BAD_XML_CONTENT, f"protocolType {protocol!r}")
    fmt = str(fields.get("parameterFormatType") or "XML").upper()
    if fmt not in ("XML", "JSON"):
        raise IsapiError(m.BAD_XML_CONTENT, f"parameterFormatType {fmt!r}")
    addressing = str(fields.get("addressingFormatType") or "ipaddress")
    if addressing.lower() not in ("ipaddress", "hostname"):
        raise IsapiError(m.BAD_XML_CONTENT, f"addressingFormatType {addressing!r}")
    ip, name = str(fields.get("ipAddress") or ""), str(fields.get("hostName") or "")
    if addressing.lower() == "ipaddress":
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise IsapiError(m.BAD_XML_CONTENT, f"ipAddress {ip!r} is not an IP address") from None
    elif not name:
        raise IsapiError(m.BAD_XML_CONTENT, "hostName is required with addressingFormatType hostname")
    try:
        port = int(fields.get("portNo") or 80)
    except (TypeError, ValueError):
        raise IsapiError(m.BAD_XML_CONTENT, "portNo must be a number") from None
    if not 1 <= port <= 65535:
        raise IsapiError(m.BAD_XML_CONTENT, f"portNo {port}")
    extra = {k: v for k, v in fields.items() if k not in _HOST_FIELDS}
    return HttpHost(
        host_id,
        url,
        protocol,
        fmt,
        addressing,
        ip,
        name,
        port,
        str(fields.get("httpAuthenticationMethod") or "none"),
        extra,
    )


def _hosts_in(req: Request, single: bool) -> list[dict[str, Any]]:
    if req.wants_json:
        data = req.json_object()
        if single:
            inner = data.get("HttpHostNotification", data)
            return [inner] if isinstance(inner, dict) else []
        raw = data.get("HttpHostNotificationList", [])
        if isinstance(raw, dict):
            raw = [raw]
        items = raw if isinstance(raw, list) else []
        return [i.get("HttpHostNotification", i) for i in items if isinstance(i, dict)]
    root = req.xml()
    if single:
        if root.tag != "HttpHostNotification":
            raise IsapiError(m.BAD_XML_CONTENT, "the root element must be HttpHostNotification")
        return [m.xml_to_dict(root)]
    if root.tag != "HttpHostNotificationList":
        raise IsapiError(m.BAD_XML_CONTENT, "the root element must be HttpHostNotificationList")
    return [m.xml_to_dict(el) for el in root.findall("HttpHostNotification")]


def _hosts_reply(req: Request, hosts: list[HttpHost]) -> Response:
    views = [_host_view(h) for h in hosts]
    if req.wants_json:
        return json_reply({"HttpHostNotificationList": [{"HttpHostNotification": v} for v in views]})
    return xml_reply(req, "HttpHostNotificationList", {"HttpHostNotification": views})


async def hosts_get(req: Request) -> Response:
    return _hosts_reply(req, list(req.device.http_hosts.values()))


async def hosts_put(req: Request) -> Response:
    d = req.device
    items = _hosts_in(req, single=False)
    if len(items) > d.fw.max_http_hosts:
        raise IsapiError(m.BAD_XML_CONTENT, f"at most {d.fw.max_http_hosts} listening hosts")
    hosts = [_host_from(d, fields) for fields in items]
    d.http_hosts = {h.id: h for h in sorted(hosts, key=lambda h: int(h.id))}
    d.hosts_changed()
    d.log("http_hosts", hosts=[_host_view(h) for h in hosts])
    return ok(req)


async def host_get(req: Request) -> Response:
    host = req.device.http_hosts.get(req.params[0])
    if host is None:
        raise IsapiError(m.INVALID_ID, f"no listening host {req.params[0]}")
    if req.wants_json:
        return json_reply({"HttpHostNotification": _host_view(host)})
    return xml_reply(req, "HttpHostNotification", _host_view(host))


async def host_put(req: Request) -> Response:
    d = req.device
    items = _hosts_in(req, single=True)
    if not items:
        raise IsapiError(m.BAD_XML_CONTENT, "no HttpHostNotification")
    fields = dict(items[0])
    fields["id"] = req.params[0]
    host = _host_from(d, fields, req.params[0])
    d.http_hosts[host.id] = host
    d.http_hosts = dict(sorted(d.http_hosts.items(), key=lambda kv: int(kv[0])))
    d.hosts_changed()
    d.log("http_hosts", hosts=[_host_view(h) for h in d.http_hosts.values()])
    return ok(req)


async def host_delete(req: Request) -> Response:
    d = req.device
    if d.http_hosts.pop(req.params[0], None) is None:
        raise IsapiError(m.INVALID_ID, f"no listening host {req.params[0]}")
    d.hosts_changed()
    return ok(req)


async def host_test(req: Request) -> Response:
    d = req.device
    host = d.http_hosts.get(req.params[0])
    if req.body.strip():
        items = _hosts_in(req, single=True)
        if items:
            host = _host_from(d, {**items[0], "id": req.params[0]}, req.params[0])
    if host is None:
        raise IsapiError(m.INVALID_ID, f"no listening host {req.params[0]}")
    good, detail = await d.send_test(host)
    if not good:
        raise IsapiError(m.EVENT_HOST_FAILED, f"test notification to {host.address}:{host.port_no}{host.url}: {detail}")
    if req.wants_json:
        return json_reply({"HttpHostTestResult": {"errorDescription": "ok"}})
    return xml_reply(req, "HttpHostTestResult", {"errorDescription": "ok"})


# -- event log (backfill) ------------------------------------------------------------------------
def _acs_events(req: Request, cond: dict[str, Any]) -> list[AcsRecord]:
    d = req.device
    major = _int(cond.get("major"), "major", 0)
    minor = _int(cond.get("minor"), "minor", 0)
    start = parse_time(cond["startTime"], "startTime").timestamp() if cond.get("startTime") else None
    end = parse_time(cond["endTime"], "endTime").timestamp() if cond.get("endTime") else None
    begin_sn = end_sn = None
    if d.fw.acs_event_serial_filter:
        if cond.get("beginSerialNo") is not None:
            begin_sn = _int(cond["beginSerialNo"], "beginSerialNo")
        if cond.get("endSerialNo") is not None:
            end_sn = _int(cond["endSerialNo"], "endSerialNo")
    employee = cond.get("employeeNoString")
    if major not in (0, 5):
        return []
    out = []
    for ev in d.history:
        if minor and ev.minor != minor:
            continue
        if start is not None and ev.at_ts < start:
            continue
        if end is not None and ev.at_ts > end:
            continue
        if begin_sn is not None and ev.serial_no < begin_sn:
            continue
        if end_sn is not None and ev.serial_no > end_sn:
            continue
        if employee and ev.employee_no != employee:
            continue
        out.append(ev)
    if cond.get("timeReverseOrder") is True:
        out.reverse()
    return out


def _acs_row(req: Request, ev: AcsRecord) -> dict[str, Any]:
    """One ``InfoList`` row, rendered from the same log entry as the live push."""
    d = req.device
    row: dict[str, Any] = {"major": 5, "minor": ev.minor, "time": ev.at}
    row.update(m.person_fields(d.fw, ev))
    row.update(serialNo=ev.serial_no, type=0)
    picture = d.pictures.get(ev.serial_no)
    if picture is not None:
        host = req.headers.get("host") or f"{d.identity.ip}:{d.port}"
        row["pictureURL"] = f"http://{host}/LOCALS/pic/acsLinkCap/{ev.serial_no}.jpeg"
    row["picturesNumber"] = 1 if picture is not None else 0
    return row


async def acs_event(req: Request) -> Response:
    d = req.device
    cond = req.json_object("AcsEventCond")
    if cond.get("searchID") in (None, ""):
        raise IsapiError(m.BAD_PARAMETERS, "searchID is required")
    events = _acs_events(req, cond)
    page, status = _page(events, cond, d.fw.acs_event_search_max)
    result: dict[str, Any] = dict(status)
    if page:
        result["InfoList"] = [_acs_row(req, ev) for ev in page]
    return json_reply({"AcsEvent": result})


async def acs_event_total(req: Request) -> Response:
    cond = req.json_object("AcsEventTotalNumCond")
    return json_reply({"AcsEventTotalNum": {"totalNum": len(_acs_events(req, cond))}})


# -- routing -------------------------------------------------------------------------------------
AC = "/ISAPI/AccessControl"
FD = "/ISAPI/Intelligent/FDLib"
HOSTS = "/ISAPI/Event/notification/httpHosts"

ROUTES: dict[str, dict[str, Handler]] = {
    "/SDK/activateStatus": {"GET": activate_status},
    "/ISAPI/Security/userCheck": {"GET": user_check},
    "/ISAPI/System/deviceInfo": {"GET": device_info},
    "/ISAPI/System/time": {"GET": get_time, "PUT": put_time},
    "/ISAPI/System/time/ntpServers": {"GET": get_ntp, "PUT": put_ntp},
    "/ISAPI/System/capabilities": {"GET": system_capabilities},
    "/ISAPI/System/reboot": {"PUT": reboot},
    f"{AC}/capabilities": {"GET": acs_capabilities},
    f"{AC}/UserInfo/capabilities": {"GET": user_capabilities},
    f"{AC}/UserInfo/Record": {"POST": user_record},
    f"{AC}/UserInfo/Modify": {"PUT": user_modify},
    f"{AC}/UserInfo/SetUp": {"PUT": user_setup},
    f"{AC}/UserInfo/Search": {"POST": user_search},
    f"{AC}/UserInfo/Count": {"GET": user_count},
    f"{AC}/UserInfoDetail/Delete": {"PUT": user_delete},
    f"{AC}/UserInfoDetail/DeleteProcess": {"GET": user_delete_process},
    f"{AC}/CardInfo/capabilities": {"GET": card_capabilities},
    f"{AC}/CardInfo/Record": {"POST": card_record},
    f"{AC}/CardInfo/Modify": {"PUT": card_modify},
    f"{AC}/CardInfo/SetUp": {"PUT": card_setup},
    f"{AC}/CardInfo/Search": {"POST": card_search},
    f"{AC}/CardInfo/Count": {"GET": card_count},
    f"{AC}/CardInfo/Delete": {"PUT": card_delete},
    f"{AC}/AcsEvent": {"POST": acs_event},
    f"{AC}/AcsEventTotalNum": {"POST": acs_event_total},
    FD: {"GET": fdlib_get, "POST": fdlib_post},
    f"{FD}/capabilities": {"GET": fdlib_capabilities},
    f"{FD}/FaceDataRecord": {"POST": face_record},
    f"{FD}/FDSetUp": {"PUT": face_setup},
    f"{FD}/FDSearch": {"POST": face_search},
    f"{FD}/Count": {"GET": face_count},
    f"{FD}/FDSearch/Delete": {"PUT": face_delete},
    HOSTS: {"GET": hosts_get, "PUT": hosts_put},
}

# parametrised paths: (regex, {method: handler}); the groups become Request.params
PATTERNS: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(rf"^{HOSTS}/(\d+)$"), {"GET": host_get, "PUT": host_put, "DELETE": host_delete}),
    (re.compile(rf"^{HOSTS}/(\d+)/test$"), {"POST": host_test}),
    (re.compile(rf"^{AC}/RemoteControl/door/(\d+)$"), {"PUT": remote_door}),
    (re.compile(r"^/LOCALS/pic/enrlFace/(\d+)/([^/]+)$"), {"GET": enrolled_picture}),
    (re.compile(r"^/LOCALS/pic/acsLinkCap/([^/]+)$"), {"GET": event_picture}),
]

# resources that answer JSON even without ?format=json (their only representation)
JSON_ONLY = {
    f"{AC}/UserInfo/capabilities",
    f"{AC}/CardInfo/capabilities",
    f"{FD}/capabilities",
    FD,
    f"{FD}/Count",
    f"{AC}/UserInfo/Count",
    f"{AC}/CardInfo/Count",
    f"{AC}/UserInfoDetail/DeleteProcess",
}
NO_AUTH = {"/SDK/activateStatus"}

_HTML_401 = (
    b"<!DOCTYPE html>\n<html><head><title>Document Error: Unauthorized</title></head>\n"
    b"<body><h2>Access Error: 401 -- Unauthorized</h2>\n<p>Authentication Error</p>\n</body>\n</html>\n"
)


def route(method: str, path: str) -> tuple[Handler | None, list[str], bool]:
    """(handler, params, path_known)."""
    methods = ROUTES.get(path)
    params: list[str] = []
    if methods is None:
        for pattern, table in PATTERNS:
            match = pattern.match(path)
            if match:
                methods, params = table, list(match.groups())
                break
    if methods is None:
        return None, [], False
    return methods.get(method), params, True


class IsapiApp:
    """The raw ASGI callable shared by every device of an :class:`~hardware_sim.isapi.server.IsapiServer`."""

    def __init__(self, server: IsapiServer) -> None:
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        local = scope.get("server") or ("", 0)
        device = self.server.lookup(str(local[0]), int(local[1] or 0))
        path = unquote(scope["path"])
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        wants_json = query.get("format", "").lower() == "json"
        if device is None:
            await self._send(send, error_response(None, path, wants_json, m.NOT_SUPPORTED, "no device here"), True)
            return
        if not device.online:  # normally the protocol resets first; this is the fallback
            resp = Response(503, b"", "text/plain", [(b"connection", b"close")])
            await self._send(send, resp, True)
            device.log("http_in", method=scope["method"], path=path, status=503, note="offline")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        raw_uri = scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (
            f"?{query_string}" if query_string else ""
        )
        client = str((scope.get("client") or ("?", 0))[0])
        device.requests += 1
        close = False
        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = MAX_BODY + 1
        body = await self._read_body(receive, declared)
        if body is None:  # drained (so the client reads our answer) but not kept
            resp = error_response(device, path, wants_json, m.MESSAGE_TOO_LONG, f"at most {MAX_BODY} bytes")
            close = True
        else:
            req = Request(device, method, path, raw_uri, query, headers, body, client)
            resp = await self._handle(req)
        extra = [(b"keep-alive", device.fw.keep_alive_header.encode())]
        if device.fw.server_header:
            extra.append((b"server", device.fw.server_header.encode()))
        resp.headers.extend(extra)
        await self._send(send, resp, close)
        device.log("http_in", method=method, path=path, status=resp.status)

    async def _read_body(self, receive: Receive, declared: int) -> bytes | None:
        """The body, or None when it is larger than MAX_BODY (then up to DRAIN_LIMIT is read and dropped)."""
        chunks: list[bytes] = []
        size = 0
        keep = 0 <= declared <= MAX_BODY
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                keep = False
                chunks.clear()
            if keep:
                chunks.append(chunk)
            if not message.get("more_body", False) or size > DRAIN_LIMIT:
                break
        return b"".join(chunks) if keep else None

    async def _handle(self, req: Request) -> Response:
        d = req.device
        handler, params, known = route(req.method, req.path)
        wants_json = req.wants_json or req.path in JSON_ONLY
        if req.path not in NO_AUTH:
            denied = self._authenticate(req, wants_json)
            if denied is not None:
                return denied
        if not known:
            return error_response(d, req.path, wants_json, m.NOT_SUPPORTED, f"{req.path} is not supported")
        if handler is None:
            return error_response(d, req.path, wants_json, m.METHOD_NOT_ALLOWED, f"{req.method} {req.path}")
        req.params = params
        if req.path in JSON_ONLY:
            req.query.setdefault("format", "json")
        d.settle_delete()
        try:
            return await handler(req)
        except IsapiError as exc:
            return error_response(d, req.path, req.wants_json, exc.error, exc.detail)
        except Exception as exc:  # a simulator bug must still look like a device answer
            d.log("http_error", method=req.method, path=req.path, error=f"{type(exc).__name__}: {exc}")
            return error_response(d, req.path, req.wants_json, m.DEVICE_ERROR, f"{type(exc).__name__}")

    def _authenticate(self, req: Request, wants_json: bool) -> Response | None:
        d = req.device
        verdict = d.auth.check(req.method, req.raw_uri, req.headers.get("authorization"), req.client)
        if verdict.ok:
            return None
        if verdict.outcome in ("failed", "locked"):
            d.log("auth_failed", outcome=verdict.outcome, reason=verdict.reason, client=req.client)
        if verdict.outcome == "locked":
            resp = error_response(
                d,
                req.path,
                wants_json,
                m.USER_LOCKED,
                f"locked for {int(verdict.unlock_in) + 1} s",
                lockStatus="lock",
                unlockTime=int(verdict.unlock_in) + 1,
            )
        elif d.fw.unauthorized_body == "html":
            resp = Response(401, _HTML_401, "text/html")
        else:
            resp = error_response(d, req.path, wants_json, m.BAD_AUTHORIZATION, verdict.reason)
        resp.status = 401
        for challenge in d.auth.challenges(stale=verdict.outcome == "stale"):
            resp.headers.append((b"www-authenticate", challenge.encode("latin-1")))
        return resp

    async def _send(self, send: Send, resp: Response, close: bool) -> None:
        headers = [
            (b"content-type", resp.content_type.encode("latin-1")),
            (b"content-length", str(len(resp.body)).encode()),
            *resp.headers,
        ]
        if close and not any(k == b"connection" for k, _ in headers):
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})
