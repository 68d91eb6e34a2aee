"""``site.yaml``: one construction site's virtual devices, where they push, and who works there.

A site file names the project (code and name), the vendor endpoints the devices talk to (the
vendor's event receiver for push devices, its iclock server for ZK devices), the roster (a dataset
written by ``jzgr fixtures generate``, or ``generate: {seed, workers}`` to make one in memory) and
the devices. ``count:`` stamps many devices out of one entry (ids with a numeric suffix, ports and
lanes incrementing), so a file of a dozen lines describes a fleet of thousands.

Errors come back as :class:`SiteError` — file, path inside the file, message — never a traceback.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardware_sim import kinds
from hardware_sim.device import DeviceSettings

DEFAULT_PORT_BASE = 18000
MAX_DEVICES = 20_000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class SiteError(ValueError):
    """A site file that cannot be used; ``problems`` are ``(path, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {path}: {message}" if path else f"{source}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Vendor(_Model):
    """Where devices reach the vendor's real-name system (the system under test)."""

    receiver: str | None = Field(
        None, description="URL of the vendor's event receiver: ISAPI httpHosts target / callback URL"
    )
    iclock: str | None = Field(None, description="base URL of the vendor's iclock (ZKTeco PUSH) server")
    callback: str | None = Field(None, description="callback URL for generic HTTP-callback terminals")

    @field_validator("receiver", "iclock", "callback")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    def for_kind(self, kind: str) -> str | None:
        if kind == "iclock":
            return self.iclock
        if kind == "callback":
            return self.callback or self.receiver
        return self.receiver


class Generate(_Model):
    seed: int = 2018
    workers: int = Field(20, ge=1, le=200_000)
    project_count: int = Field(1, ge=1, le=1000)
    today: date | None = Field(
        None, description="reference date of the dataset (ages, validity); same seed + today, same people"
    )


class Roster(_Model):
    """Who works on the site: what the people in front of the gates look like."""

    dataset: Path | None = Field(None, description="a dataset directory or dataset.json from `jzgr fixtures generate`")
    generate: Generate | None = None
    project_code: str | None = Field(
        None, description="only this project's workers (default: the site's project if the roster has it, else all)"
    )
    preload: bool = Field(
        False, description="put the roster straight into every device (instead of waiting for the vendor to issue it)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Roster:
        if (self.dataset is None) == (self.generate is None):
            raise ValueError("give exactly one of `dataset` (a path) or `generate` ({seed, workers})")
        return self


class Window(_Model):
    """A flow of people through the gates: arrivals between start and end, most around peak."""

    start: time
    peak: time
    end: time
    spread_minutes: float | None = Field(
        None, gt=0, description="standard deviation of the bell (default: a quarter of the window)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if not self.start <= self.peak <= self.end or self.start == self.end:
            raise ValueError("needs start ≤ peak ≤ end and start < end")
        return self


def _window(start: str, peak: str, end: str) -> Window:
    return Window(start=time.fromisoformat(start), peak=time.fromisoformat(peak), end=time.fromisoformat(end))


class Schedule(_Model):
    morning: Window = _window("06:30", "07:00", "07:30")
    lunch_out: Window = _window("11:30", "11:45", "12:10")
    lunch_in: Window = _window("12:30", "12:50", "13:10")
    evening: Window = _window("17:30", "17:50", "18:40")
    lane_rate_per_min: float = Field(25, gt=0, le=120, description="people one lane lets through per minute")


class DeviceSpec(_Model):
    """One entry of ``devices:``; with ``count`` > 1 it stands for that many devices."""

    id: str = Field(description="device id; with count, a numeric suffix is added (or use {n} / {n:03d} in the id)")
    kind: str
    direction: Literal["in", "out"] = "in"
    lane: int | None = Field(None, ge=0, description="turnstile lane; people per minute are capped per lane")
    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=0, le=65535, description="listening port (devices that serve, e.g. ISAPI)")
    count: int = Field(1, ge=1, le=MAX_DEVICES)
    drift_ppm: float = Field(0.0, ge=-1000, le=1000)
    offset_s: float = Field(0.0, description="clock offset from true time at start, seconds")
    buffer_limit: int | None = Field(None, ge=1, description="events kept while offline (default: the class's)")
    batch_size: int | None = Field(None, ge=1, le=10_000, description="events per upload (default: the class's)")
    retry_delay: float | None = Field(None, ge=0, description="seconds between failed uploads (default: the class's)")
    vendor_url: str | None = Field(None, description="override the site's vendor endpoint for this device")
    options: dict[str, Any] = Field(default_factory=dict, description="passed to the device class as keyword arguments")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        probe = re.sub(r"\{n(:[0-9]*d)?\}", "1", value)
        if not _ID.match(probe):
            raise ValueError("use letters, digits, '-', '_', '.', ':' (at most 64), starting with a letter or digit")
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in kinds.KINDS:
            raise ValueError(f"unknown device kind {value!r}; known: {', '.join(sorted(kinds.KINDS))}")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            if value != "localhost":
                raise ValueError("use an IP address (127.0.0.x, 0.0.0.0 or a LAN address) or localhost") from None
            return value
        if address.version != 4:
            raise ValueError("use an IPv4 address")
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"device_id", "settings", *DeviceSettings.names()}
        clash = sorted(reserved & set(value))
        if clash:
            raise ValueError(f"{', '.join(clash)} are device settings, not options: set them on the device entry")
        return value

    @model_validator(mode="after")
    def _ports(self) -> DeviceSpec:
        if self.port and self.port + self.count - 1 > 65535:
            raise ValueError(f"ports {self.port}…{self.port + self.count - 1} run past 65535")
        return self

    def expand(self) -> list[DeviceConfig]:
        """The concrete devices this entry stands for."""
        if self.count == 1 and "{n" not in self.id:
            return [self._one(self.id, 0)]
        width = len(str(self.count))
        out = []
        for i in range(self.count):
            n = i + 1
            name = self.id.format(n=n) if "{n" in self.id else f"{self.id}-{n:0{width}d}"
            out.append(self._one(name, i))
        return out

    def _one(self, device_id: str, i: int) -> DeviceConfig:
        return DeviceConfig(
            id=device_id,
            kind=self.kind,
            direction=self.direction,
            lane=None if self.lane is None else self.lane + i,
            host=self.host,
            port=None if self.port is None else (self.port + i if self.port else 0),
            drift_ppm=self.drift_ppm,
            offset_s=self.offset_s,
            buffer_limit=self.buffer_limit,
            batch_size=self.batch_size,
            retry_delay=self.retry_delay,
            vendor_url=self.vendor_url,
            options=dict(self.options),
        )


class DeviceConfig(_Model):
    """One concrete device after ``count`` expansion."""

    id: str
    kind: str
    direction: Literal["in", "out"]
    lane: int | None
    host: str
    port: int | None
    drift_ppm: float
    offset_s: float
    buffer_limit: int | None
    batch_size: int | None
    retry_delay: float | None
    vendor_url: str | None
    options: dict[str, Any]

    @property
    def lane_key(self) -> str:
        """People per minute are capped per lane; a device without a lane is a lane of its own."""
        return f"lane-{self.lane}" if self.lane is not None else self.id

    @property
    def url(self) -> str | None:
        return f"http://{self.host}:{self.port}" if self.port else None


class Site(_Model):
    site: str = Field(description="site or project name, as on the permit")
    project_code: str = Field(description="the project code the platform assigned (项目编码)")
    vendor: Vendor = Field(default_factory=Vendor)
    roster: Roster | None = None
    schedule: Schedule = Field(default_factory=Schedule)
    devices: list[DeviceSpec] = Field(min_length=1)

    @field_validator("project_code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        if isinstance(value, int):
            value = str(value)  # an unquoted code in YAML
        if isinstance(value, str) and not re.fullmatch(r"[0-9A-Za-z]{6,32}", value):
            raise ValueError("a project code is 6–32 letters or digits (e.g. 371428202611243708)")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Site:
        total = sum(spec.count for spec in self.devices)
        if total > MAX_DEVICES:
            raise ValueError(f"{total} devices: at most {MAX_DEVICES} in one fleet")
        seen_ids: dict[str, int] = {}
        seen_ports: dict[tuple[str, int], str] = {}
        problems: list[str] = []
        for index, spec in enumerate(self.devices):
            for device in spec.expand():
                if device.id in seen_ids:
                    problems.append(
                        f"devices[{index}]: id {device.id!r} already used by devices[{seen_ids[device.id]}]"
                    )
                seen_ids[device.id] = index
                if device.port:
                    key = (device.host, device.port)
                    if key in seen_ports:
                        where = f"{device.host}:{device.port} ({device.id})"
                        problems.append(f"devices[{index}]: {where} already used by {seen_ports[key]}")
                    seen_ports[key] = device.id
                if len(problems) >= 10:
                    break
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def expanded(self) -> list[DeviceConfig]:
        return [device for spec in self.devices for device in spec.expand()]


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in {"function-after", "function-before"}:
            continue
        else:
            out += f".{part}" if out else part
    return out


def parse(data: Any, source: str = "site.yaml", *, base: Path | None = None) -> Site:
    """Validate already-loaded YAML/JSON data; relative roster paths resolve against ``base``."""
    if not isinstance(data, dict):
        raise SiteError(source, [("", "expected a mapping with site, project_code, devices …")])
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown setting (check the spelling)"
            problems.append((_loc(tuple(error["loc"])), message))
        raise SiteError(source, problems) from None
    if site.roster is not None and site.roster.dataset is not None and base is not None:
        path = site.roster.dataset if site.roster.dataset.is_absolute() else base / site.roster.dataset
        site = site.model_copy(update={"roster": site.roster.model_copy(update={"dataset": path})})
    return site


def load(path: Path) -> Site:
    """Read and validate a site file; :class:`SiteError` says what is wrong and where."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteError(source, [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteError(source, [("", f"cannot read: {exc}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SiteError(source, [(where, f"not valid YAML: {problem}")]) from None
    return parse(data, source, base=path.parent)


def sample(name: str = "dezhou-4-gates") -> Path:
    """Path of a sample site file shipped with the package."""
    return Path(__file__).parent / "sites" / f"{name}.yaml"
