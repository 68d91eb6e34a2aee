"""What every ISAPI resource handler works with: the request and response records, the device's
error envelope, field readers that fail as the device fails, paging, and the route table each
resource module adds its handlers to (``@ROUTES.handles(method, path)`` next to the handler)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from hardware_sim.device import BEIJING
from hardware_sim.isapi import messages as m
from hardware_sim.isapi.firmware import DeviceError

if TYPE_CHECKING:
    from hardware_sim.isapi.device import IsapiDevice

AC = "/ISAPI/AccessControl"
FD = "/ISAPI/Intelligent/FDLib"
HOSTS = "/ISAPI/Event/notification/httpHosts"

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


@dataclass
class Resource:
    """One path of the terminal: its handler per method; ``json_only`` resources answer JSON even
    without ``?format=json`` (their only representation); ``auth=False`` skips Digest."""

    methods: dict[str, Handler] = field(default_factory=dict)
    json_only: bool = False
    auth: bool = True


class Routes:
    """The terminal's route table: exact paths, and patterns whose groups become ``Request.params``."""

    def __init__(self) -> None:
        self.exact: dict[str, Resource] = {}
        self.patterns: list[tuple[re.Pattern[str], Resource]] = []

    def handles(
        self, method: str, path: str, *, json_only: bool = False, auth: bool = True
    ) -> Callable[[Handler], Handler]:
        """Route ``method path`` to the decorated handler; a path with a ``(group)`` is a pattern."""

        def register(handler: Handler) -> Handler:
            resource = self._resource(path)
            if method in resource.methods:
                raise ValueError(f"{method} {path} is routed twice")
            resource.methods[method] = handler
            resource.json_only |= json_only
            resource.auth &= auth
            return handler

        return register

    def _resource(self, path: str) -> Resource:
        if "(" not in path:
            return self.exact.setdefault(path, Resource())
        pattern = re.compile(f"^{path}$")
        for known, resource in self.patterns:
            if known.pattern == pattern.pattern:
                return resource
        resource = Resource()
        self.patterns.append((pattern, resource))
        return resource

    def match(self, path: str) -> tuple[Resource | None, list[str]]:
        """The resource at ``path`` (None when the terminal has no such path) and the pattern's groups."""
        resource = self.exact.get(path)
        if resource is not None:
            return resource, []
        for pattern, candidate in self.patterns:
            found = pattern.match(path)
            if found:
                return candidate, list(found.groups())
        return None, []


ROUTES = Routes()


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


def int_field(value: Any, name: str, default: int | None = None, *, low: int = 0) -> int:
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


def str_field(value: Any, name: str, *, required: bool = True, max_len: int = 64) -> str:
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


def paginate(items: list[Any], cond: dict[str, Any], cap: int) -> tuple[list[Any], dict[str, Any]]:
    """Apply searchResultPosition/maxResults (capped at the device maximum): the page and the status fields."""
    position = int_field(cond.get("searchResultPosition"), "searchResultPosition", 0)
    wanted = int_field(cond.get("maxResults"), "maxResults", cap, low=1)
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


def employee_list(cond: dict[str, Any], key: str = "EmployeeNoList") -> list[str] | None:
    raw = cond.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise IsapiError(m.BAD_PARAMETERS, f"{key} must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise IsapiError(m.BAD_PARAMETERS, f"{key} items are objects")
        out.append(str_field(item.get("employeeNo"), f"{key}[].employeeNo", max_len=32))
    return out
