"""ISAPI bodies: the response envelope (JSON and XML ``ResponseStatus``), a small dict↔XML mapping,
a multipart parser for face uploads, and the pushed ``AccessControllerEvent`` (JSON, XML, multipart).

Everything here is pure (bytes in, bytes out) so the push path and the handlers share it and it can
be tested without sockets.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring as defused_fromstring
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from hardware_sim.isapi.firmware import DeviceError, Firmware

STATUS_STRINGS = {
    1: "OK",
    2: "Device Busy",
    3: "Device Error",
    4: "Invalid Operation",
    5: "Invalid Format",  # "Invalid XML Format" / "Invalid JSON Format" on different firmware [L]
    6: "Invalid Content",
    7: "Reboot Required",
}

# Errors every profile shares. The codes follow the "first hex digit repeats statusCode" rule [H];
# the sub-status strings for 4/5/6 below are the ISAPI generic ones as far as known [L].
NOT_SUPPORTED = DeviceError(4, "notSupport", 0x40000001, 403, "the URL or method is not supported")
BAD_AUTHORIZATION = DeviceError(4, "badAuthorization", 0x40000003, 401, "authentication failed")
USER_LOCKED = DeviceError(4, "userLocked", 0x40000004, 401, "too many failed logins; locked")  # made up
METHOD_NOT_ALLOWED = DeviceError(4, "methodNotAllowed", 0x40000006, 405, "method not allowed")
BAD_JSON = DeviceError(5, "badJsonFormat", 0x50000001, 400, "the body is not valid JSON")
BAD_XML = DeviceError(5, "badXmlFormat", 0x50000001, 400, "the body is not valid XML")
BAD_PARAMETERS = DeviceError(6, "badParameters", 0x60000001, 400, "invalid parameter")
BAD_XML_CONTENT = DeviceError(6, "badXmlContent", 0x60000003, 400, "invalid XML content")
BAD_JSON_CONTENT = DeviceError(6, "badJsonContent", 0x60000005, 400, "invalid JSON content")
INVALID_ID = DeviceError(6, "invalidID", 0x60000004, 400, "no such id")
BAD_MULTIPART = DeviceError(6, "badMultipart", 0x60000040, 400, "the multipart body is malformed")  # made up
MESSAGE_TOO_LONG = DeviceError(6, "messageTooLong", 0x60000041, 413, "the request body is too large")  # made up
FORMAT_JSON_REQUIRED = DeviceError(5, "badXmlFormat", 0x50000001, 400, "this resource takes ?format=json")
DEVICE_BUSY = DeviceError(2, "deviceBusy", 0x20000001, 503, "the device is busy")
DEVICE_ERROR = DeviceError(3, "deviceError", 0x30000001, 500, "internal device error")
EVENT_HOST_FAILED = DeviceError(
    3, "connectServerFail", 0x30000002, 400, "could not reach the listening host"
)  # made up

_JSON_SEP = (",", ":")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=_JSON_SEP).encode("utf-8")


# -- envelopes ------------------------------------------------------------------------------------
def status_json(request_url: str, error: DeviceError | None = None, detail: str = "", **extra: Any) -> dict[str, Any]:
    if error is None:
        body: dict[str, Any] = {"statusCode": 1, "statusString": "OK", "subStatusCode": "ok"}
    else:
        body = {
            "statusCode": error.status_code,
            "statusString": STATUS_STRINGS.get(error.status_code, "Invalid Content"),
            "subStatusCode": error.sub_status_code,
            "errorCode": error.error_code,
            "errorMsg": detail or error.message or error.sub_status_code,
        }
    body.update(extra)
    if request_url and error is not None:
        body = {"requestURL": request_url, **body}
    return body


def status_xml(ns: str, request_url: str, error: DeviceError | None = None, detail: str = "", **extra: Any) -> bytes:
    fields: dict[str, Any] = {"requestURL": request_url}
    fields.update({k: v for k, v in status_json("", error, detail).items()})
    fields.update(extra)
    return to_xml("ResponseStatus", fields, ns)


# -- XML --------------------------------------------------------------------------------------
def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_body(out: list[str], name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        attrs = "".join(f' {k[1:]}="{_xml_value(v)}"' for k, v in value.items() if k.startswith("@"))
        out.append(f"<{name}{attrs}>")
        for key, child in value.items():
            if not key.startswith("@"):
                _xml_body(out, key, child)
        out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        for item in value:
            _xml_body(out, name, item)
    elif value is None:
        out.append(f"<{name}/>")
    else:
        out.append(f"<{name}>{_xml_value(value)}</{name}>")


def to_xml(root: str, fields: Mapping[str, Any], ns: str | None = None) -> bytes:
    """``{"a": 1, "B": {"c": [1, 2]}}`` → ``<root><a>1</a><B><c>1</c><c>2</c></B></root>``."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    attrs = ' version="2.0"' + (f' xmlns="{ns}"' if ns else "")
    out.append(f"<{root}{attrs}>")
    for key, value in fields.items():
        _xml_body(out, key, value)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes) -> ET.Element:
    """Parse (defusedxml: no DTD, no entities, no external references) and strip namespaces;
    raises ``ValueError`` on anything that is not one plain XML document."""
    try:
        root = defused_fromstring(body, forbid_dtd=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise ValueError("DTDs are not accepted") from None
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from None
    for el in root.iter():
        el.tag = local(el.tag)
    return root


def xml_text(el: ET.Element | None, name: str, default: str = "") -> str:
    if el is None:
        return default
    child = el.find(name)
    if child is None or child.text is None:
        return default
    return child.text.strip()


def xml_to_dict(el: ET.Element) -> dict[str, Any]:
    """Element children as a dict (repeated children become lists; leaves are strings)."""
    out: dict[str, Any] = {}
    for child in el:
        value: Any = xml_to_dict(child) if len(child) else (child.text or "").strip()
        if child.tag in out:
            prev = out[child.tag]
            out[child.tag] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = value
    return out


# -- multipart --------------------------------------------------------------------------------
@dataclass
class Part:
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def name(self) -> str:
        return _disposition_param(self.headers.get("content-disposition", ""), "name")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _disposition_param(value: str, key: str) -> str:
    for item in value.split(";")[1:]:
        k, _, v = item.strip().partition("=")
        if k.strip().lower() == key:
            return v.strip().strip('"')
    return ""


def boundary_of(content_type: str) -> str | None:
    main, *params = content_type.split(";")
    if not main.strip().lower().startswith("multipart/"):
        return None
    for param in params:
        k, _, v = param.strip().partition("=")
        if k.strip().lower() == "boundary" and v.strip():
            return v.strip().strip('"')
    return None


class MultipartError(ValueError):
    pass


def parse_multipart(body: bytes, boundary: str, *, strict: bool = False) -> list[Part]:
    """Split a multipart body (python-multipart does the parsing). ``strict``: a binary part must
    declare its own ``Content-Length`` and the body must hold exactly that many bytes (the firmware
    quirk of devices.md §2.4)."""
    delim = b"--" + boundary.encode("latin-1")
    if not body.startswith(delim):  # a preamble before the first boundary is allowed (RFC 2046)
        start = body.find(b"\r\n" + delim)
        if start < 0:
            raise MultipartError("the boundary does not occur in the body")
        body = body[start + 2 :]
    parts: list[Part] = []
    headers: dict[str, str] = {}
    name = bytearray()
    value = bytearray()
    data = bytearray()
    ended = False

    def header_end() -> None:
        headers[name.decode("latin-1").strip().lower()] = value.decode("utf-8", "replace").strip()
        name.clear()
        value.clear()

    def part_end() -> None:
        parts.append(Part(dict(headers), bytes(data)))
        headers.clear()
        data.clear()

    def end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary.encode("latin-1"),
        {
            "on_header_field": lambda b, lo, hi: name.extend(b[lo:hi]),
            "on_header_value": lambda b, lo, hi: value.extend(b[lo:hi]),
            "on_header_end": header_end,
            "on_part_data": lambda b, lo, hi: data.extend(b[lo:hi]),
            "on_part_end": part_end,
            "on_end": end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise MultipartError(f"malformed multipart: {exc}") from None
    if not ended:
        raise MultipartError("the closing boundary is missing")
    for part in parts:
        _check_length(part, strict)
    if not parts:
        raise MultipartError("no parts")
    return parts


def _check_length(part: Part, strict: bool) -> None:
    declared = part.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise MultipartError("bad part Content-Length") from None
        if strict and length != len(part.body):
            raise MultipartError(f"part Content-Length {length} but {len(part.body)} bytes before the boundary")
    elif strict and not part.headers.get("content-type", "").lower().startswith(("application/json", "text/")):
        raise MultipartError("binary part without Content-Length (rejected in strict mode)")


def build_multipart(boundary: str, parts: Iterable[tuple[str, str, bytes, str | None]]) -> bytes:
    """``(name, content_type, body, filename)`` → a multipart/form-data body with per-part Content-Length."""
    b = boundary.encode("latin-1")
    chunks: list[bytes] = []
    for name, ctype, data, filename in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(
            b"--%s\r\nContent-Disposition: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (b, disp.encode("utf-8"), ctype.encode("latin-1"), len(data))
        )
        chunks.append(data)
        chunks.append(b"\r\n")
    chunks.append(b"--%s--\r\n" % b)
    return b"".join(chunks)


# -- JPEG ------------------------------------------------------------------------------------
def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOF marker, or None when ``data`` is not a baseline/progressive JPEG."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seg = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if i + 9 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        if marker == 0xD9 or seg < 2:
            return None
        i += 2 + seg
    return None


# -- pushed events ----------------------------------------------------------------------------
def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Identity:
    """How the device describes itself in pushed events and deviceInfo."""

    device_name: str
    device_id: str  # a UUID-like string
    serial_number: str
    mac: str
    ip: str
    port: int


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a setattr call per field on the event path
class AcsRecord:
    """One entry of the device's event log, decided once when the event happens: the live push
    and the ``AcsEvent`` search both render it, so they cannot disagree. No picture bytes."""

    serial_no: int
    at: str  # ISO 8601 with the device's offset
    at_ts: float
    kind: str  # the verdict (hardware_sim.recognition.Verdict)
    minor: int  # subEventType / minor; major is always 5
    employee_no: str | None  # set only when the event names the person
    name: str | None
    user_type: str | None
    card_no: str | None
    face: bool  # a face presentation (mask, FaceRect)
    attendance_status: str
    id_card: dict[str, Any] | None = None


def person_fields(fw: Firmware, rec: AcsRecord) -> dict[str, Any]:
    """The fields the push's ``AccessControllerEvent`` and the search's ``InfoList`` row share."""
    out: dict[str, Any] = {}
    if rec.employee_no is not None:
        out["name"] = rec.name or ""
        out["employeeNoString"] = rec.employee_no
        out["userType"] = rec.user_type or "normal"
    if rec.card_no:
        out.update(cardNo=rec.card_no, cardType=1, cardReaderKind=1)
    out.update(cardReaderNo=1, doorNo=1, verifyNo=1, currentVerifyMode=fw.verify_mode)
    out["attendanceStatus"] = rec.attendance_status
    out["statusValue"] = 0
    if rec.face:
        out["mask"] = "no"
    return out


def event_envelope(
    fw: Firmware, me: Identity, rec: AcsRecord, *, current: bool, photo: bytes | None, post_count: int = 1
) -> dict[str, Any]:
    """The outer alert plus the nested ``AccessControllerEvent`` (or ``IDCardInfoEvent``) of devices.md §2.5."""
    has_photo = bool(photo)
    inner: dict[str, Any] = {"deviceName": me.device_name, "majorEventType": 5, "subEventType": rec.minor}
    inner.update(person_fields(fw, rec))
    inner["verifyMode"] = fw.verify_mode
    inner["serialNo"] = rec.serial_no
    if fw.include_front_serial_no:
        inner["frontSerialNo"] = max(rec.serial_no - 1, 0)
    inner["currentEvent"] = bool(current)
    inner["label"] = ""
    inner["purePwdVerifyEnable"] = True
    if rec.face:
        if fw.include_helmet:
            inner["helmet"] = "yes"
        if has_photo:
            inner["FaceRect"] = {"height": 0.42, "width": 0.36, "x": 0.32, "y": 0.2}
    inner["picturesNumber"] = 1 if has_photo else 0
    envelope: dict[str, Any] = {
        "ipAddress": me.ip,
        "portNo": me.port,
        "protocol": "HTTP",
        "macAddress": me.mac,
        "channelID": 1,
        "dateTime": rec.at,
        "activePostCount": post_count,
    }
    if fw.include_device_id:
        envelope["deviceID"] = me.device_id
    if rec.id_card is not None:
        inner["IDCardInfo"] = dict(rec.id_card)
        envelope.update(eventType="IDCardInfoEvent", eventState="active", eventDescription="ID Card Information Event")
        envelope["IDCardInfoEvent"] = inner
    else:
        envelope.update(
            eventType="AccessControllerEvent", eventState="active", eventDescription="Access Controller Event"
        )
        envelope["AccessControllerEvent"] = inner
    return envelope


def event_body(fw: Firmware, envelope: Mapping[str, Any], photo: bytes | None, *, as_xml: bool) -> tuple[str, bytes]:
    """(Content-Type, body) of one push: bare JSON/XML without a picture, multipart with one."""
    if as_xml:
        data, ctype = to_xml("EventNotificationAlert", envelope, fw.xml_namespace), "application/xml; charset=UTF-8"
    else:
        data, ctype = dumps(envelope), "application/json; charset=UTF-8"
    if not photo and not fw.multipart_without_picture:
        return ctype, data
    parts: list[tuple[str, str, bytes, str | None]] = [(fw.event_part_name, ctype.split(";")[0], data, None)]
    if photo:
        parts.append((fw.picture_part_name, "image/jpeg", photo, f"{fw.picture_part_name}.jpg"))
    boundary = fw.multipart_boundary
    return f"multipart/form-data; boundary={boundary}", build_multipart(boundary, parts)
