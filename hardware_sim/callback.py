"""A generic HTTP-callback face terminal, described by a small template (YAML or dict).

Many domestic face terminals differ only in paths and JSON shapes: they push recognition records
to a URL the vendor configured (Uniubi ``callbackUrl``), or they poll a keepalive and pull their
tasks (FC HTTPv2), and some expose a device-local API for issuing people and faces. A template
says which, declaratively; this module runs it:

* ``records`` — how one event is pushed (URL, JSON / form / multipart body with placeholders such
  as ``{employee_no}`` or ``{time_ms}``, photo part) and what counts as an acknowledgement;
* ``keepalive`` — optional heartbeat; it may gate records (FC: the backlog flows only after a good
  keepalive, a failure sleeps until the next one), silence the device (``Success`` 401/403) and
  trigger ``pulls`` (download people to add or delete);
* ``local_api`` — optional device-side HTTP server (starlette on uvicorn) whose routes map request
  fields onto a fixed set of actions (add person, add face, set callback URL …).

Built-in templates live in ``hardware_sim/templates/*.yaml`` (``uniubi-wo``, ``fc-httpv2``);
``docs/devices/callback.md`` shows how a vendor writes their own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import socket
import string
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self, Unpack
from urllib.parse import parse_qsl

import httpx
import uvicorn
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hardware_sim.device import (
    BEIJING,
    Device,
    DeviceOptions,
    DeviceSettings,
    Direction,
    Enrolled,
    Event,
    EventKind,
    SiteEntry,
    settings_of,
)

__all__ = ["BUILTIN_TEMPLATES", "CallbackDevice", "Template", "TemplateError", "load_template"]

BUILTIN_TEMPLATES = ("uniubi-wo", "fc-httpv2")

# What a body may refer to. Device placeholders are available everywhere, event ones in records.
DEVICE_PLACEHOLDERS = frozenset(
    "device_sn device_id device_ip server_url now_ms now_unix now_str person_count face_count person_max "
    "face_max".split()
)
EVENT_PLACEHOLDERS = frozenset(
    "serial_no employee_no name time_ms time_unix time_str time_iso direction direction_code event_type_code "
    "kind photo_b64 photo_len card_no id_number id_card_json current current_int attempts".split()
)
REPORT_PLACEHOLDERS = frozenset({"ids", "count", "failed"})
PERSON_FIELDS = frozenset(
    {"employee_no", "name", "id_number", "card_no", "photo_b64", "photo_url", "gender", "face_id"}
)


class TemplateError(ValueError):
    """A template that cannot be used, with every problem listed."""


# -- the template model ---------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckRule(_Strict):
    """Acknowledged when the status is listed and every ``json`` path (dotted) has that value."""

    status: list[int] = [200]
    json_: dict[str, Any] = Field(default_factory=dict, alias="json")
    text: str | None = None  # alternatively the exact (stripped) body text

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SilenceRule(_Strict):
    field: str
    values: list[Any]


class RequestSpec(_Strict):
    method: Literal["POST", "PUT", "GET"] = "POST"
    url: str  # absolute, a placeholder such as "{callback_url}", or a path joined to server_url
    encoding: Literal["json", "form", "multipart"] = "json"
    body: dict[str, Any] = Field(default_factory=dict)
    ack: AckRule = Field(default_factory=AckRule)


class RecordsSpec(RequestSpec):
    files: dict[str, Literal["photo"]] = Field(default_factory=dict)  # multipart part name → source
    kinds: dict[EventKind, dict[str, Any]] = Field(default_factory=dict)  # per-kind body overrides
    skip_kinds: list[EventKind] = Field(default_factory=list)  # never pushed (acknowledged locally)

    @model_validator(mode="after")
    def _files_need_multipart(self) -> RecordsSpec:
        if self.files and self.encoding != "multipart":
            raise ValueError("records.files needs encoding: multipart")
        return self


class Trigger(_Strict):
    field: str  # keepalive reply field; a truthy, non-zero value runs the pull
    pull: str


class KeepaliveSpec(RequestSpec):
    interval: float = Field(20.0, gt=0)
    silence: SilenceRule | None = None
    gate_records: bool = False  # records only after a good keepalive; a failure waits for the next
    triggers: list[Trigger] = Field(default_factory=list)


class ReportSpec(RequestSpec):
    pass


class PullSpec(RequestSpec):
    action: Literal["add_person", "delete_person", "none"] = "none"
    items: str | None = None  # dotted path of the list in the reply
    fields: dict[str, str] = Field(default_factory=dict)  # person field → item key (dotted)
    delete_all_field: str | None = None
    report: ReportSpec | None = None

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - PERSON_FIELDS
        if unknown:
            raise ValueError(f"unknown person field(s) {sorted(unknown)}; known: {sorted(PERSON_FIELDS)}")
        return value


LocalAction = Literal[
    "device_key",
    "set_var",
    "set_time",
    "set_password",
    "store",
    "add_person",
    "update_person",
    "delete_person",
    "find_person",
    "add_face",
    "delete_face",
    "reset",
    "ok",
]


class LocalRoute(_Strict):
    path: str
    action: LocalAction
    methods: list[str] = ["GET", "POST"]
    fields: dict[str, str] = Field(default_factory=dict)  # parameter → request field (dotted, JSON-in-form ok)
    all_value: str | None = None  # this employee_no means "everyone" (delete / find)
    output: dict[str, str] = Field(default_factory=dict)  # find_person: reply key → person field
    auth: bool = True  # False: no password needed (e.g. Uniubi /getDeviceKey)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("a local route path starts with /")
        return value


class LocalApi(_Strict):
    port: int = Field(8090, ge=0, le=65535)
    encoding: Literal["form", "json"] = "form"
    password_field: str | None = None
    password_var: str = "password"
    ok: dict[str, Any] = Field(default_factory=lambda: {"result": 1, "success": True, "data": "{data}"})
    error: dict[str, Any] = Field(default_factory=lambda: {"result": 0, "success": False, "msg": "{msg}"})
    routes: list[LocalRoute]


class Transport(_Strict):
    timeout: float = Field(5.0, gt=0)
    retries: int = Field(0, ge=0, le=20)  # extra attempts per request
    retry_gap: float = Field(0.0, ge=0)  # pause between those attempts
    retry_delay: float = Field(5.0, ge=0)  # pause after a failed delivery before the next try


class Capacity(_Strict):
    persons: int = Field(10_000, gt=0)
    faces: int = Field(10_000, gt=0)


def _default_direction_codes() -> dict[Direction, Any]:
    return {"in": 1, "out": 0}


class Template(_Strict):
    name: str
    description: str = ""
    vars: dict[str, str] = Field(default_factory=dict)
    direction_codes: dict[Direction, Any] = Field(default_factory=_default_direction_codes)
    event_type_codes: dict[EventKind, Any] = Field(default_factory=dict)
    time_format: str = "%Y-%m-%d %H:%M:%S"
    transport: Transport = Field(default_factory=Transport)
    records: RecordsSpec
    keepalive: KeepaliveSpec | None = None
    pulls: dict[str, PullSpec] = Field(default_factory=dict)
    local_api: LocalApi | None = None
    capacity: Capacity = Field(default_factory=Capacity)

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        problems: list[str] = []
        device = DEVICE_PLACEHOLDERS | set(self.vars)
        problems += _check_placeholders("records", self.records, device | EVENT_PLACEHOLDERS)
        for kind, override in self.records.kinds.items():
            problems += _unknown(f"records.kinds.{kind}", override, device | EVENT_PLACEHOLDERS)
        if self.keepalive is not None:
            problems += _check_placeholders("keepalive", self.keepalive, device)
            for trigger in self.keepalive.triggers:
                if trigger.pull not in self.pulls:
                    problems.append(f"keepalive.triggers: pull {trigger.pull!r} is not defined under pulls")
        for name, pull in self.pulls.items():
            problems += _check_placeholders(f"pulls.{name}", pull, device)
            if pull.report is not None:
                problems += _check_placeholders(f"pulls.{name}.report", pull.report, device | REPORT_PLACEHOLDERS)
            if pull.action != "none" and not pull.items and not pull.delete_all_field:
                problems.append(f"pulls.{name}: action {pull.action} needs items (the list's path in the reply)")
        if self.local_api is not None:
            for route in self.local_api.routes:
                if route.action == "set_var":
                    missing = set(route.fields) - set(self.vars)
                    if missing:
                        problems.append(f"local_api {route.path}: set_var names undeclared vars {sorted(missing)}")
            problems += _unknown("local_api.ok", self.local_api.ok, device | {"data", "msg"})
            problems += _unknown("local_api.error", self.local_api.error, device | {"data", "msg"})
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _placeholders(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        for _, name, _, _ in string.Formatter().parse(value):
            if name is not None:
                yield name
    elif isinstance(value, dict):
        for item in value.values():
            yield from _placeholders(item)
    elif isinstance(value, list):
        for item in value:
            yield from _placeholders(item)


def _unknown(where: str, value: Any, known: frozenset[str] | set[str]) -> list[str]:
    try:
        bad = sorted({name for name in _placeholders(value) if name not in known})
    except ValueError as exc:  # unbalanced braces
        return [f"{where}: {exc}"]
    return [f"{where}: unknown placeholder {{{name}}}" for name in bad]


def _check_placeholders(where: str, spec: RequestSpec, known: frozenset[str] | set[str]) -> list[str]:
    return _unknown(f"{where}.url", spec.url, known) + _unknown(f"{where}.body", spec.body, known)


def load_template(template: str | Path | dict[str, Any] | Template) -> Template:
    """A built-in name (``uniubi-wo``), a path to a YAML file, a dict or a ready :class:`Template`."""
    if isinstance(template, Template):
        return template
    source = "<dict>"
    if isinstance(template, dict):
        data: Any = template
    else:
        text: str
        if isinstance(template, str) and template in BUILTIN_TEMPLATES:
            source = f"built-in {template}"
            text = resources.files("hardware_sim").joinpath(f"templates/{template}.yaml").read_text("utf-8")
        else:
            path = Path(template)
            if not path.is_file():
                raise TemplateError(
                    f"template {template!r} is neither a built-in ({', '.join(BUILTIN_TEMPLATES)}) nor a file"
                )
            source = str(path)
            text = path.read_text("utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TemplateError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: a template is a mapping, got {type(data).__name__}")
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "(template)"
            lines.append(f"  {where}: {error['msg']}")
        raise TemplateError(f"{source}: invalid callback template\n" + "\n".join(lines)) from None


# -- rendering ------------------------------------------------------------------------------------
def render(value: Any, context: dict[str, Any]) -> Any:
    """Fill placeholders. A string that is exactly one placeholder keeps the value's type (numbers
    stay numbers, ``None`` becomes null); otherwise placeholders are formatted into the text."""
    if isinstance(value, str):
        parsed = list(string.Formatter().parse(value))
        if len(parsed) == 1 and parsed[0][0] == "" and parsed[0][1] and not parsed[0][2] and not parsed[0][3]:
            return context.get(parsed[0][1])
        if not any(name for _, name, _, _ in parsed):
            return value.replace("{{", "{").replace("}}", "}")
        safe = {k: ("" if v is None else v) for k, v in context.items()}
        return value.format_map(safe)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def dig(data: Any, path: str) -> Any:
    """``a.b.c`` in nested dicts; a string holding JSON (form fields often do) is parsed on the way."""
    current = data
    for part in path.split("."):
        if isinstance(current, str):
            try:
                current = json.loads(current)
            except ValueError:
                return None
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _same(actual: Any, expected: Any) -> bool:
    if actual == expected and type(actual) is type(expected):
        return True
    return actual is not None and str(actual).lower() == str(expected).lower()


def _form_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handling: a fleet runs many of these inside one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


# -- the device -----------------------------------------------------------------------------------
class CallbackDevice(Device):
    """A face terminal whose protocol is a :class:`Template`."""

    kind = "callback"

    def __init__(
        self,
        device_id: str,
        *,
        template: str | Path | dict[str, Any] | Template,
        server_url: str | None = None,
        device_sn: str | None = None,
        vars: dict[str, str] | None = None,
        listen_host: str = "127.0.0.1",
        local_port: int | None = None,
        device_ip: str | None = None,
        keepalive_interval: float | None = None,
        request_timeout: float | None = None,
        retries: int | None = None,
        settings: DeviceSettings | None = None,
        **base: Unpack[DeviceOptions],
    ) -> None:
        self.template = load_template(template)
        chosen = settings_of(settings, base).or_defaults(retry_delay=self.template.transport.retry_delay)
        super().__init__(device_id, replace(chosen, batch_size=1))  # one record per request in every template
        self.server_url = (server_url or "").rstrip("/")
        self.device_sn = device_sn or device_id
        self.vars: dict[str, str] = {**self.template.vars, **(vars or {})}
        self.listen_host = listen_host
        self.local_port = (
            local_port if local_port is not None else (self.template.local_api.port if self.template.local_api else 0)
        )
        self.device_ip = device_ip or listen_host
        ka = self.template.keepalive
        self.keepalive_interval = keepalive_interval if keepalive_interval is not None else (ka.interval if ka else 0)
        self.request_timeout = request_timeout if request_timeout is not None else self.template.transport.timeout
        self.retries = retries if retries is not None else self.template.transport.retries
        self.config: dict[str, Any] = {}
        self.silenced = False
        self.keepalives_ok = 0
        self._ka_ok = asyncio.Event()
        self._vars_changed = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._server: _QuietServer | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._io = asyncio.Lock()  # the device keeps exactly one connection to the server (FC)

    @classmethod
    def from_site(cls, entry: SiteEntry) -> Self:
        """A terminal that calls the site's callback URL and serves its local API at ``host``/``port``."""
        options = entry.options()
        options.setdefault("listen_host", entry.config.host)
        if entry.config.port is not None:
            options.setdefault("local_port", entry.config.port)
        if entry.vendor_url and "server_url" not in options:
            options["server_url"] = entry.vendor_url
        return cls.create(entry, options)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.request_timeout), limits=httpx.Limits(max_connections=1)
            )
        if self.template.local_api is not None and self._server is None:
            await self._start_local_api()
        if self.template.keepalive is not None and (self._keepalive_task is None or self._keepalive_task.done()):
            self._keepalive_task = asyncio.create_task(self._keepalive_loop(), name=f"keepalive-{self.device_id}")
        self.start_sender()
        self.log("started", template=self.template.name, server_url=self.server_url, local_port=self.local_port)

    async def stop(self) -> None:
        await self.stop_sender()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive_task
            self._keepalive_task = None
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server_task, 5)
            self._server = self._server_task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self.log("stopped")

    def power_off(self) -> None:
        self._ka_ok.clear()
        super().power_off()

    def set_vars(self, **values: str) -> None:
        self.vars.update(values)
        self.log("vars_set", **values)
        self._vars_changed.set()
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {**super().status(), "template": self.template.name, "silenced": self.silenced, "vars": dict(self.vars)}

    # -- contexts ------------------------------------------------------------------------------
    def _device_context(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            **self.vars,
            "device_sn": self.device_sn,
            "device_id": self.device_id,
            "device_ip": self.device_ip,
            "server_url": self.server_url,
            "now_ms": int(now.timestamp() * 1000),
            "now_unix": int(now.timestamp()),
            "now_str": now.strftime(self.template.time_format),
            "person_count": len(self.enrolled),
            "face_count": sum(1 for p in self.enrolled.values() if p.face),
            "person_max": self.template.capacity.persons,
            "face_max": self.template.capacity.faces,
        }

    def _event_context(self, event: Event) -> dict[str, Any]:
        person = self.enrolled.get(event.employee_no) if event.employee_no else None
        id_number = (event.id_card or {}).get("id_number") or (person.id_number if person else None)
        return {
            **self._device_context(),
            "serial_no": event.serial_no,
            "employee_no": event.employee_no,
            "name": event.name,
            "time_ms": int(event.at.timestamp() * 1000),
            "time_unix": int(event.at.timestamp()),
            "time_str": event.at.strftime(self.template.time_format),
            "time_iso": event.at.isoformat(),
            "direction": event.direction,
            "direction_code": self.template.direction_codes.get(event.direction),
            "event_type_code": self.template.event_type_codes.get(event.kind, event.kind.value),
            "kind": event.kind.value,
            "photo_b64": base64.b64encode(event.photo).decode() if event.photo else None,
            "photo_len": len(event.photo) if event.photo else 0,
            "card_no": event.card_no or (person.card_no if person else None),
            "id_number": id_number,
            "id_card_json": json.dumps(event.id_card, ensure_ascii=False, default=str) if event.id_card else None,
            "current": event.current,
            "current_int": 1 if event.current else 0,
            "attempts": event.attempts,
        }

    def _url(self, spec: RequestSpec, context: dict[str, Any]) -> str:
        url = str(render(spec.url, context) or "").strip()
        if not url or url.startswith(("http://", "https://")):
            return url
        return f"{self.server_url}{url if url.startswith('/') else '/' + url}" if self.server_url else ""

    # -- HTTP ----------------------------------------------------------------------------------
    async def _send(
        self,
        what: str,
        spec: RequestSpec,
        context: dict[str, Any],
        *,
        body: dict[str, Any] | None = None,
        photo: bytes | None = None,
        files: Mapping[str, str] | None = None,
    ) -> tuple[bool, httpx.Response | None, Any]:
        """One request with the template's timeout and retries; returns (acknowledged, response, JSON)."""
        url = self._url(spec, context)
        if not url:
            raise LookupError(f"{what}: no URL configured yet ({spec.url})")
        rendered = render(spec.body if body is None else body, context)
        kwargs: dict[str, Any] = {}
        if spec.encoding == "json":
            kwargs["json"] = rendered
        else:
            data = {k: v for k, v in ((k, _form_value(v)) for k, v in rendered.items()) if v is not None}
            if spec.encoding == "form":
                kwargs["data"] = data
            else:  # every field as a form-data part (no filename), then the picture
                parts: dict[str, Any] = {k: (None, v) for k, v in data.items()}
                for name in files or {}:
                    if photo:
                        parts[name] = (f"{context.get('serial_no', 'photo')}.jpg", photo, "image/jpeg")
                kwargs["files"] = parts
        preview = _summarise(rendered)
        last: httpx.Response | None = None
        for attempt in range(1 + self.retries):
            if not self.online:
                raise ConnectionError("network down" if self.powered else "powered off")
            assert self._client is not None
            try:
                async with self._io:
                    response = await self._client.request(spec.method, url, **kwargs)
            except httpx.HTTPError as exc:
                self.log(
                    "callback_failed", what=what, url=url, attempt=attempt + 1, error=f"{type(exc).__name__}: {exc}"
                )
                if attempt < self.retries:
                    await asyncio.sleep(self.template.transport.retry_gap)
                continue
            last = response
            parsed = _json(response)
            ok = self._acknowledged(spec.ack, response, parsed)
            self.log(
                "callback_exchange",
                what=what,
                method=spec.method,
                url=url,
                body=preview,
                attempt=attempt + 1,
                status=response.status_code,
                reply=response.text[:2000],
                acknowledged=ok,
            )
            if ok:
                return True, response, parsed
            if attempt < self.retries:
                await asyncio.sleep(self.template.transport.retry_gap)
        return False, last, _json(last) if last is not None else None

    @staticmethod
    def _acknowledged(rule: AckRule, response: httpx.Response, parsed: Any) -> bool:
        if response.status_code not in rule.status:
            return False
        if rule.text is not None and response.text.strip() != rule.text:
            return False
        return all(_same(dig(parsed, path), expected) for path, expected in rule.json_.items())

    # -- records ---------------------------------------------------------------------------------
    async def deliver(self, events: list[Event]) -> int:
        event = events[0]
        spec = self.template.records
        if event.kind in spec.skip_kinds:
            self.log("callback_not_pushed", serial_no=event.serial_no, event=event.kind)
            return 1
        gate = self.template.keepalive is not None and self.template.keepalive.gate_records
        if gate:
            await self._ka_ok.wait()  # sleep until the next good keepalive
        context = self._event_context(event)
        if not self._url(spec, context):  # no callback URL yet: hold the events until one is set
            self._vars_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._vars_changed.wait(), max(self.retry_delay, 0.05))
            return 0
        body = _merge(spec.body, spec.kinds.get(event.kind, {}))
        ok, _, _ = await self._send("record", spec, context, body=body, photo=event.photo, files=spec.files)
        if not ok and gate:
            self._ka_ok.clear()
        return 1 if ok else 0

    # -- keepalive and pulls --------------------------------------------------------------------
    async def _keepalive_loop(self) -> None:
        spec = self.template.keepalive
        assert spec is not None
        while True:
            try:
                if self.online:
                    await self._keepalive_once(spec)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never crash: a bad reply is a failed keepalive
                self._ka_ok.clear()
                self.log("keepalive_error", error=f"{type(exc).__name__}: {exc}")
            self._vars_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._vars_changed.wait(), max(self.keepalive_interval, 0.01))

    async def _keepalive_once(self, spec: KeepaliveSpec) -> None:
        context = self._device_context()
        if not self._url(spec, context):
            return  # no heartbeat URL configured
        try:
            ok, response, parsed = await self._send("keepalive", spec, context)
        except (ConnectionError, LookupError):
            self._ka_ok.clear()
            return
        if spec.silence is not None and response is not None:
            value = dig(parsed, spec.silence.field)
            if any(_same(value, v) for v in spec.silence.values):
                if not self.silenced:
                    self.log("silenced", field=spec.silence.field, value=value)
                self.silenced = True
                self._ka_ok.clear()
                return
        if not ok:
            self._ka_ok.clear()
            return
        if self.silenced:
            self.log("unsilenced")
        self.silenced = False
        self.keepalives_ok += 1
        for trigger in spec.triggers:
            value = dig(parsed, trigger.field)
            if value not in (None, 0, "0", False, "", "false"):
                await self._pull(trigger.pull)
        self._ka_ok.set()  # the backlog may flow now

    async def _pull(self, name: str) -> None:
        spec = self.template.pulls[name]
        try:
            ok, _, parsed = await self._send(f"pull:{name}", spec, self._device_context())
        except (ConnectionError, LookupError) as exc:
            self.log("pull_failed", pull=name, error=str(exc))
            return
        if not ok:
            return
        done: list[str] = []
        failed: list[str] = []
        if spec.delete_all_field and dig(parsed, spec.delete_all_field) not in (None, 0, "0", False, ""):
            done = list(self.enrolled)
            self.enrolled.clear()
            self.log("people_deleted_all", count=len(done))
        items = dig(parsed, spec.items) if spec.items else None
        for item in items if isinstance(items, list) else []:
            fields = (
                {"employee_no": item}
                if not isinstance(item, dict)
                else {key: dig(item, path) for key, path in spec.fields.items()}
            )
            employee_no = str(fields.get("employee_no") or "")
            if spec.action == "delete_person":
                removed = self.enrolled.pop(employee_no, None)
                (done if removed else failed).append(employee_no)
                self.log("person_deleted", employee_no=employee_no, existed=removed is not None, via=name)
            elif spec.action == "add_person":
                error = await self._upsert(fields, create=None)
                (failed if error else done).append(employee_no)
        if spec.report is not None:
            context = {**self._device_context(), "ids": done, "count": len(done), "failed": failed}
            with contextlib.suppress(ConnectionError, LookupError):
                await self._send(f"report:{name}", spec.report, context)

    async def _upsert(self, fields: dict[str, Any], *, create: bool | None) -> str | None:
        """Add or change a person (and face); ``create`` True = must be new, False = must exist."""
        employee_no = str(fields.get("employee_no") or "").strip()
        if not employee_no:
            return "employee_no missing"
        person = self.enrolled.get(employee_no)
        if create is True and person is not None:
            return "person already exists"
        if create is False and person is None:
            return "person not found"
        if person is None and len(self.enrolled) >= self.template.capacity.persons:
            self.log("capacity_full", what="persons", limit=self.template.capacity.persons)
            return "person capacity full"
        person = person or Enrolled(employee_no=employee_no)
        for key in ("name", "id_number", "card_no", "gender"):
            if fields.get(key) not in (None, ""):
                setattr(person, key, str(fields[key]))
        self.enrolled[employee_no] = person
        self.log("person_upserted", employee_no=employee_no, name=person.name)
        if fields.get("photo_b64") or fields.get("photo_url"):
            return await self._set_face(person, fields)
        return None

    async def _set_face(self, person: Enrolled, fields: dict[str, Any]) -> str | None:
        photo: bytes | None = None
        if fields.get("photo_b64"):
            text = str(fields["photo_b64"])
            text = text.split(",", 1)[1] if text.startswith("data:") else text
            try:
                photo = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                return "photo is not Base64"
        elif fields.get("photo_url") and self._client is not None:
            url = str(fields["photo_url"])
            if not url.startswith(("http://", "https://")):
                url = self.server_url + ("" if url.startswith("/") else "/") + url
            try:
                response = await self._client.get(url)
            except httpx.HTTPError as exc:
                return f"photo download failed: {exc}"
            if response.status_code != 200:
                return f"photo download failed: HTTP {response.status_code}"
            photo = response.content
        if photo is None or not (photo.startswith(b"\xff\xd8") or photo.startswith(b"\x89PNG")):
            return "no face found in the photo"
        if person.face is None and sum(1 for p in self.enrolled.values() if p.face) >= self.template.capacity.faces:
            return "face capacity full"
        person.face = photo
        if fields.get("face_id"):
            person.extra["face_id"] = str(fields["face_id"])
        self.log("face_enrolled", employee_no=person.employee_no, photo_bytes=len(photo))
        return None

    # -- the device-local API ---------------------------------------------------------------------
    async def _start_local_api(self) -> None:
        api = self.template.local_api
        assert api is not None
        routes = [Route(r.path, self._route_handler(r), methods=[m.upper() for m in r.methods]) for r in api.routes]
        app = Starlette(routes=routes)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.listen_host, self.local_port))
        self.local_port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = _QuietServer(config)
        self._server_task = asyncio.create_task(self._server.serve(sockets=[sock]), name=f"api-{self.device_id}")
        deadline = time.monotonic() + 5
        while not self._server.started and not self._server_task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    @property
    def local_url(self) -> str:
        return f"http://{self.listen_host}:{self.local_port}"

    def _route_handler(self, route: LocalRoute) -> Any:
        async def handler(request: Request) -> Response:
            return await self._handle(route, request)

        return handler

    async def _handle(self, route: LocalRoute, request: Request) -> Response:
        api = self.template.local_api
        assert api is not None
        params: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        try:
            if raw and (api.encoding == "json" or raw.lstrip().startswith(b"{")):
                loaded = json.loads(raw)
                if isinstance(loaded, dict):
                    params.update(loaded)
            elif raw:  # urlencoded, parsed here (starlette's form parser needs python-multipart)
                params.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
        except (ValueError, UnicodeDecodeError) as exc:
            return self._reply(route, False, msg=f"bad request body: {exc}")
        self.log("local_request", path=route.path, action=route.action, params=_summarise(params))
        if not self.powered:
            return Response(status_code=503)
        if api.password_field is not None and route.auth:
            expected = self.vars.get(api.password_var, "")
            if str(params.get(api.password_field, "")) != expected:
                return self._reply(route, False, msg="password error")
        fields = {key: dig(params, path) for key, path in route.fields.items()}
        try:
            ok, data, msg = await self._act(route, fields)
        except Exception as exc:  # a request that breaks an action is that request's error
            ok, data, msg = False, None, f"{type(exc).__name__}: {exc}"
        return self._reply(route, ok, data=data, msg=msg)

    async def _act(self, route: LocalRoute, fields: dict[str, Any]) -> tuple[bool, Any, str]:
        action = route.action
        employee_no = str(fields.get("employee_no") or "")
        if action == "device_key":
            return True, self.device_sn, ""
        if action == "ok":
            return True, None, ""
        if action == "store":
            self.config.update({k: v for k, v in fields.items() if v is not None})
            return True, None, ""
        if action == "set_var":
            values = {k: str(v) for k, v in fields.items() if v is not None}
            if not values:
                return False, None, "missing parameter"
            self.set_vars(**values)
            return True, None, ""
        if action == "set_password":
            api = self.template.local_api
            assert api is not None
            if str(fields.get("old") or "") != self.vars.get(api.password_var, "") or not fields.get("new"):
                return False, None, "old password wrong"
            self.vars[api.password_var] = str(fields["new"])
            return True, None, ""
        if action == "set_time":
            try:
                ms = float(str(fields.get("timestamp_ms")))
            except ValueError:
                return False, None, "bad timestamp"
            self.clock.set(datetime.fromtimestamp(ms / 1000, BEIJING))
            self.log("clock_set", at=self.clock.now().isoformat())
            return True, None, ""
        if action in ("add_person", "update_person"):
            error = await self._upsert(fields, create=action == "add_person")
            return error is None, None, error or ""
        if action == "delete_person":
            if route.all_value is not None and employee_no == route.all_value:
                self.enrolled.clear()
                return True, None, ""
            if self.enrolled.pop(employee_no, None) is None:
                return False, None, "person not found"
            return True, None, ""
        if action == "find_person":
            people = list(self.enrolled.values())
            if not (route.all_value is not None and employee_no == route.all_value):
                people = [p for p in people if p.employee_no == employee_no]
            rows = [{key: getattr(p, attr, None) for key, attr in route.output.items()} for p in people]
            return True, rows, ""
        if action == "add_face":
            person = self.enrolled.get(employee_no)
            if person is None:
                return False, None, "person not found"
            error = await self._set_face(person, fields)
            return error is None, None, error or ""
        if action == "delete_face":
            person = self.enrolled.get(employee_no)
            if person is None:
                return False, None, "person not found"
            person.face = None
            return True, None, ""
        if action == "reset":
            self.enrolled.clear()
            return True, None, ""
        return False, None, f"unsupported action {action}"

    def _reply(self, route: LocalRoute, ok: bool, *, data: Any = None, msg: str = "") -> Response:
        api = self.template.local_api
        assert api is not None
        context = {**self._device_context(), "data": data, "msg": msg}
        body = render(api.ok if ok else api.error, context)
        self.log("local_reply", path=route.path, ok=ok, msg=msg)
        return JSONResponse(body)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _json(response: httpx.Response | None) -> Any:
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _summarise(value: Any) -> Any:
    """Journal view: long strings (Base64 photos) shown by length."""
    if isinstance(value, str):
        return value if len(value) <= 200 else f"<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: _summarise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_summarise(v) for v in value]
    return value
