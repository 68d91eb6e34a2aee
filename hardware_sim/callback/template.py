"""The callback terminal's template: the schema (pydantic) a vendor writes in YAML, its placeholder
check, and :func:`load_template` for the built-in templates, files and dicts."""

from __future__ import annotations

import string
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardware_sim.device import Direction, EventKind

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
