"""A generic HTTP-callback face terminal, described by a small template (YAML or dict).

Many domestic face terminals differ only in paths and JSON shapes: they push recognition records
to a URL the vendor configured (Uniubi ``callbackUrl``), or they poll a keepalive and pull their
tasks (FC HTTPv2), and some expose a device-local API for issuing people and faces. A template
says which, declaratively (:mod:`hardware_sim.callback.template`); this module is the device that
runs it, :mod:`hardware_sim.callback.engine` renders its bodies and
:mod:`hardware_sim.callback.local_api` serves its local API:

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
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Self, Unpack

import httpx

from hardware_sim.callback.engine import dig, form_value, json_of, merge, render, same, summarise
from hardware_sim.callback.local_api import LocalApi
from hardware_sim.callback.template import (
    AckRule,
    KeepaliveSpec,
    RequestSpec,
    Template,
    load_template,
)
from hardware_sim.device import (
    Device,
    DeviceOptions,
    DeviceSettings,
    Enrolled,
    Event,
    SiteEntry,
    cancel,
    settings_of,
)


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
        self._local_api: LocalApi | None = None
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
        if self.template.local_api is not None and self._local_api is None:
            self._local_api = LocalApi(self)
            await self._local_api.start()
        if self.template.keepalive is not None and (self._keepalive_task is None or self._keepalive_task.done()):
            self._keepalive_task = asyncio.create_task(self._keepalive_loop(), name=f"keepalive-{self.device_id}")
        self.start_sender()
        self.log("started", template=self.template.name, server_url=self.server_url, local_port=self.local_port)

    async def stop(self) -> None:
        await self.stop_sender()
        await cancel(self._keepalive_task)
        self._keepalive_task = None
        if self._local_api is not None:
            await self._local_api.stop()
            self._local_api = None
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
    def device_context(self) -> dict[str, Any]:
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
            **self.device_context(),
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
            data = {k: v for k, v in ((k, form_value(v)) for k, v in rendered.items()) if v is not None}
            if spec.encoding == "form":
                kwargs["data"] = data
            else:  # every field as a form-data part (no filename), then the picture
                parts: dict[str, Any] = {k: (None, v) for k, v in data.items()}
                for name in files or {}:
                    if photo:
                        parts[name] = (f"{context.get('serial_no', 'photo')}.jpg", photo, "image/jpeg")
                kwargs["files"] = parts
        preview = summarise(rendered)
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
            parsed = json_of(response)
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
        return False, last, json_of(last) if last is not None else None

    @staticmethod
    def _acknowledged(rule: AckRule, response: httpx.Response, parsed: Any) -> bool:
        if response.status_code not in rule.status:
            return False
        if rule.text is not None and response.text.strip() != rule.text:
            return False
        return all(same(dig(parsed, path), expected) for path, expected in rule.json_.items())

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
        body = merge(spec.body, spec.kinds.get(event.kind, {}))
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
        context = self.device_context()
        if not self._url(spec, context):
            return  # no heartbeat URL configured
        try:
            ok, response, parsed = await self._send("keepalive", spec, context)
        except (ConnectionError, LookupError):
            self._ka_ok.clear()
            return
        if spec.silence is not None and response is not None:
            value = dig(parsed, spec.silence.field)
            if any(same(value, v) for v in spec.silence.values):
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
            ok, _, parsed = await self._send(f"pull:{name}", spec, self.device_context())
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
                error = await self.upsert(fields, create=None)
                (failed if error else done).append(employee_no)
        if spec.report is not None:
            context = {**self.device_context(), "ids": done, "count": len(done), "failed": failed}
            with contextlib.suppress(ConnectionError, LookupError):
                await self._send(f"report:{name}", spec.report, context)

    async def upsert(self, fields: dict[str, Any], *, create: bool | None) -> str | None:
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
            return await self.set_face(person, fields)
        return None

    async def set_face(self, person: Enrolled, fields: dict[str, Any]) -> str | None:
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

    @property
    def local_url(self) -> str:
        return f"http://{self.listen_host}:{self.local_port}"
