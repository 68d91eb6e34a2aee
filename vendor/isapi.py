"""Hikvision ISAPI face gates as the vendor drives them: point the gate's listening host at our
receiver, issue every worker (UserInfo/SetUp) with their face (FDLib/FDSetUp, multipart), and
read the AccessControllerEvent pushes that come back (JSON, or multipart with the capture)."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from standard.envelope import BEIJING

log = logging.getLogger("jzgr.vendor.isapi")

AC = "/ISAPI/AccessControl"
FD = "/ISAPI/Intelligent/FDLib"
BOUNDARY = "jzgrvendorboundary"

# ISAPI minor codes of major 5 the vendor reads (devices' own codes; unknown ones are kept as such)
KINDS = {75: "face_pass", 76: "stranger", 104: "liveness_fail", 1: "card_pass", 38: "card_pass", 9: "card_unknown"}


@dataclass(frozen=True)
class Gate:
    device_id: str
    url: str
    direction: str  # in | out
    username: str
    password: str


def listening_host(receiver: str) -> dict[str, Any]:
    """The HttpHostNotification that makes a gate push JSON events to ``receiver``."""
    parts = urllib.parse.urlsplit(receiver)
    return {
        "id": "1",
        "url": parts.path or "/",
        "protocolType": "HTTP",
        "parameterFormatType": "JSON",
        "addressingFormatType": "ipaddress",
        "ipAddress": parts.hostname or "127.0.0.1",
        "portNo": parts.port or 80,
        "httpAuthenticationMethod": "none",
    }


def _checked(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response.text[:200]}")


async def provision(gate: Gate, receiver: str, people: list[dict[str, Any]], timeout: float = 10.0) -> int:
    """Configure ``gate`` to push to ``receiver`` and issue ``people`` (employee_no, name, photo
    as base64 JPEG) with their faces; returns how many faces were issued."""
    faces = 0
    auth = httpx.DigestAuth(gate.username, gate.password)
    async with httpx.AsyncClient(base_url=gate.url, auth=auth, timeout=timeout) as http:
        hosts = {"HttpHostNotificationList": [{"HttpHostNotification": listening_host(receiver)}]}
        _checked(await http.put("/ISAPI/Event/notification/httpHosts?format=json", json=hosts), "httpHosts")
        for person in people:
            info = {
                "employeeNo": person["employee_no"],
                "name": person["name"],
                "userType": "normal",
                "Valid": {"enable": True, "beginTime": "2020-01-01T00:00:00", "endTime": "2037-12-31T23:59:59"},
                "doorRight": "1",
                "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}],
            }
            _checked(await http.put(f"{AC}/UserInfo/SetUp?format=json", json={"UserInfo": info}), "UserInfo")
            if person.get("photo"):
                record = {"faceLibType": "blackFD", "FDID": "1", "FPID": person["employee_no"]}
                body = _multipart(record, base64.b64decode(person["photo"]))
                headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
                _checked(await http.put(f"{FD}/FDSetUp?format=json", content=body, headers=headers), "FDSetUp")
                faces += 1
    log.info("%s: %d people, %d faces, pushing to %s", gate.device_id, len(people), faces, receiver)
    return faces


def _multipart(record: dict[str, Any], jpeg: bytes) -> bytes:
    head = json.dumps(record).encode()
    return b"".join(
        [
            f"--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="FaceDataRecord"\r\n',
            b"Content-Type: application/json\r\n",
            f"Content-Length: {len(head)}\r\n\r\n".encode(),
            head,
            f"\r\n--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="img"; filename="face.jpg"\r\n',
            b"Content-Type: image/jpeg\r\n",
            f"Content-Length: {len(jpeg)}\r\n\r\n".encode(),
            jpeg,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
    )


@dataclass(frozen=True)
class Pushed:
    """One AccessControllerEvent as the vendor keeps it."""

    device_name: str
    serial_no: int
    kind: str
    employee_no: str | None
    moment: str  # Beijing time, yyyy-MM-dd HH:mm:ss
    current: bool


def event_json(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The event JSON of a push: the body itself, or the JSON part of a multipart push."""
    if content_type.startswith("multipart/"):
        boundary = content_type.partition("boundary=")[2].strip().strip('"')
        for part in body.split(b"--" + boundary.encode()):
            head, _, rest = part.partition(b"\r\n\r\n")
            if b"json" in head.lower() or rest.lstrip().startswith(b"{"):
                try:
                    value = json.loads(rest.rstrip(b"\r\n-"))
                except ValueError:
                    continue
                return value if isinstance(value, dict) else None
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_event(doc: dict[str, Any]) -> Pushed | None:
    """An AccessControllerEvent push; None for heartbeats, ID-card events and other alerts."""
    inner = doc.get("AccessControllerEvent")
    if doc.get("eventType") != "AccessControllerEvent" or not isinstance(inner, dict):
        return None
    try:
        serial = int(inner["serialNo"])
        at = datetime.fromisoformat(str(doc["dateTime"]))
    except (KeyError, TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=BEIJING)  # a device without an offset speaks local (Beijing) time
    minor = inner.get("subEventType")
    kind = KINDS.get(minor, f"minor-{minor}") if isinstance(minor, int) else "unknown"
    employee = inner.get("employeeNoString")
    return Pushed(
        device_name=str(inner.get("deviceName") or f"{doc.get('ipAddress')}:{doc.get('portNo')}"),
        serial_no=serial,
        kind=kind,
        employee_no=str(employee) if employee else None,
        moment=at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        current=bool(inner.get("currentEvent", True)),
    )
